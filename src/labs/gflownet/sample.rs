//! Sampling terminal states from a trained policy (no exploration): the Rust reference of the
//! GPU sampler (`gpu.rs`, `shaders/gfn_step.wgsl`). Trajectory i draws its uniforms from
//! `hash3(seed, i, step)`, so the GPU and this reference take the same decisions whenever
//! their logits agree to the last bit, and the same distribution always.

use super::env::{Hypergrid, State};
use super::model::{Model, masked_log_softmax};
use super::rollout::lock_step;
use crate::nn::ForwardCache;
use crate::rng::{hash3, unit_f32};

/// Trajectories advanced together per forward pass (bounds memory, keeps GEMMs large).
pub const CHUNK: usize = 2048;

/// The action chosen from logits `row` in state `x` with uniform `u`: the first valid action
/// whose cumulative probability exceeds u (the last valid one if rounding leaves u above all).
/// The GPU kernel implements exactly this order of operations.
pub fn sample_action(
    grid: &Hypergrid,
    x: &State,
    row: &[f32],
    u: f32,
    log_probs: &mut [f32],
) -> usize {
    masked_log_softmax(grid, x, row, log_probs);
    let mut cumulative = 0.0f32;
    let mut last_valid = grid.stop_action();
    for (a, &lp) in log_probs.iter().enumerate().take(grid.n_actions()) {
        if !grid.is_valid(x, a) {
            continue;
        }
        last_valid = a;
        cumulative += lp.exp();
        if u < cumulative {
            return a;
        }
    }
    last_valid
}

/// Samples trajectories `first..first + count` and returns their terminal states.
pub fn sample_terminals(model: &Model, seed: u32, first: u32, count: usize) -> Vec<State> {
    let grid = model.grid;
    let outputs = model.outputs();
    let mut terminals = Vec::with_capacity(count);
    let mut cache = ForwardCache::default();
    let mut input = Vec::new();
    let mut log_probs = vec![0.0f32; grid.n_actions()];
    for chunk_start in (0..count).step_by(CHUNK) {
        let n = CHUNK.min(count - chunk_start);
        let chunk = lock_step(&grid, n, |step, active, states| {
            input.resize(active.len() * grid.encoding_len(), 0.0);
            for (r, &t) in active.iter().enumerate() {
                grid.encode_into(
                    &states[t],
                    &mut input[r * grid.encoding_len()..(r + 1) * grid.encoding_len()],
                );
            }
            model.policy.forward(&input, active.len(), &mut cache);
            let out = cache.output();
            active
                .iter()
                .enumerate()
                .map(|(r, &t)| {
                    let stream = first.wrapping_add((chunk_start + t) as u32);
                    let u = unit_f32(hash3(seed, stream, step));
                    sample_action(
                        &grid,
                        &states[t],
                        &out[r * outputs..(r + 1) * outputs],
                        u,
                        &mut log_probs,
                    )
                })
                .collect()
        });
        terminals.extend(chunk);
    }
    terminals
}

/// Histogram of terminal states over the grid's state indices.
pub fn histogram(grid: &Hypergrid, terminals: &[State]) -> Vec<u32> {
    let mut counts = vec![0u32; grid.n_states()];
    for x in terminals {
        counts[grid.index(x)] += 1;
    }
    counts
}

/// The exact distribution of terminal states under the policy (no exploration), by forward
/// dynamic programming over the grid: P(reach s) flows to successors in order of |s|_1, and
/// P(end at s) = P(reach s) P(stop | s). Independent of the samplers, so it checks both.
/// Needs an enumerable grid.
pub fn exact_terminal_distribution(model: &Model) -> Vec<f64> {
    let mut exact = ExactDistribution::new(model.clone());
    loop {
        if let Some(distribution) = exact.advance(CHUNK) {
            return distribution;
        }
    }
}

/// [`exact_terminal_distribution`] a slice at a time: the policy's logits for `rows` states
/// per call, the dynamic programming once all are in (the page: no frame over its budget).
pub struct ExactDistribution {
    model: Model,
    logits: Vec<f32>,
    input: Vec<f32>,
    next_state: usize,
}

impl ExactDistribution {
    pub fn new(model: Model) -> Self {
        Self {
            model,
            logits: Vec::new(),
            input: Vec::new(),
            next_state: 0,
        }
    }

    /// Share of the states whose logits are in.
    pub fn fraction(&self) -> f64 {
        self.next_state as f64 / self.model.grid.n_states().max(1) as f64
    }

    /// Forward passes over up to `rows` more states; the distribution once all are done.
    pub fn advance(&mut self, rows: usize) -> Option<Vec<f64>> {
        let grid = self.model.grid;
        let n = grid.n_states();
        let width = grid.encoding_len();
        let count = rows.max(1).min(n - self.next_state);
        if count > 0 {
            self.input.resize(count * width, 0.0);
            for r in 0..count {
                let x = grid.state(self.next_state + r);
                grid.encode_into(&x, &mut self.input[r * width..(r + 1) * width]);
            }
            let out = self.model.policy.predict(&self.input, count);
            self.logits.extend_from_slice(&out);
            self.next_state += count;
        }
        (self.next_state == n)
            .then(|| terminal_distribution(&grid, &self.logits, self.model.outputs()))
    }
}

/// The terminal distribution of a policy given as per-state rows of `stride` values whose
/// first D+1 are action logits (or log-probabilities), by the same forward dynamic
/// programming.
pub fn terminal_distribution(grid: &Hypergrid, logits: &[f32], stride: usize) -> Vec<f64> {
    let grid = *grid;
    let n = grid.n_states();
    let outputs = stride;
    // States sorted by coordinate sum: every predecessor comes first.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| {
        grid.state(i)[..grid.ndim]
            .iter()
            .map(|&c| usize::from(c))
            .sum::<usize>()
    });
    let mut reach = vec![0.0f64; n];
    reach[0] = 1.0;
    let mut terminal = vec![0.0f64; n];
    let mut log_probs = vec![0.0f32; grid.n_actions()];
    for i in order {
        let x = grid.state(i);
        masked_log_softmax(
            &grid,
            &x,
            &logits[i * outputs..(i + 1) * outputs],
            &mut log_probs,
        );
        for a in 0..grid.n_actions() {
            if !grid.is_valid(&x, a) {
                continue;
            }
            let p = f64::from(log_probs[a]).exp() * reach[i];
            if a == grid.stop_action() {
                terminal[i] += p;
            } else {
                let mut y = x;
                y[a] += 1;
                reach[grid.index(&y)] += p;
            }
        }
    }
    terminal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::gflownet::env::Hypergrid;
    use crate::labs::gflownet::metrics::{l1_between, l1_noise_floor};
    use crate::labs::gflownet::model::BackwardPolicy;

    #[test]
    fn the_exact_distribution_is_what_the_sampler_draws() {
        let model = Model::new(Hypergrid::new(2, 5), 16, 2, BackwardPolicy::Uniform, 3);
        let exact = exact_terminal_distribution(&model);
        assert!((exact.iter().sum::<f64>() - 1.0).abs() < 1e-5);
        // Sliced in small steps: the same numbers.
        let mut sliced = ExactDistribution::new(model.clone());
        let by_slices = loop {
            if let Some(d) = sliced.advance(7) {
                break d;
            }
        };
        assert_eq!(by_slices, exact);
        // An independent check: the sampler's histogram sits at the noise floor around it.
        let n = 20_000;
        let counts = histogram(&model.grid, &sample_terminals(&model, 9, 0, n));
        let sampled: Vec<f64> = counts.iter().map(|&c| f64::from(c) / n as f64).collect();
        let l1 = l1_between(&exact, &sampled);
        let floor = l1_noise_floor(&exact, n);
        assert!(l1 < 1.5 * floor, "sampled L1 {l1} against floor {floor}");
    }
}
