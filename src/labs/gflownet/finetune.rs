//! Fine-tuning a frozen OC-GFN to a downstream reward R with the amortized predictor
//! (reconstructed from Pan et al., ICLR 2024):
//!
//! - N(s'|s): an MLP over the state with D+1 outputs log N(a|s); the fine-tuned policy is
//!   pi(a|s) = softmax over valid actions of log N(a|s).
//! - Q(y|s,a): an MLP over [state, action] giving one categorical per coordinate of the
//!   outcome y (a product distribution, so it scales to any grid).
//! - Loss per (visited state, each valid action, outcome y drawn from a mixture of Q and
//!   uniform over outcomes reachable after the action):
//!   (log N(a|s) + log Q(y|s,a) - log R(y) - log F(s|y) - log P_F(a|s,y))^2.
//!
//! For a proposal with full support the minimiser satisfies N(a|s) Q(y|s,a) = R(y) F(s|y)
//! P_F(a|s,y) for every y, so N(a|s) = sum_y R(y) F(s|y) P_F(a|s,y): the exact conversion
//! (`oc::exact_conversion`), without enumerating outcomes.

use super::env::{Hypergrid, MAX_NDIM, RewardSpec, State, Target};
use super::metrics::ModesFound;
use super::model::{choose_action, masked_log_softmax};
use super::oc::OcModel;
use crate::nn::{Activation, Adam, ForwardCache, Mlp, MlpSpec};
use crate::rng::{hash3, unit_f32};

#[derive(Clone, Debug)]
pub struct FineTuneConfig {
    pub batch: usize,
    pub hidden: usize,
    pub lr: f32,
    pub epsilon: f32,
    /// Share of outcomes drawn uniformly (the rest from Q).
    pub uniform_share: f32,
    /// Outcomes drawn per (state, action) pair.
    pub outcomes_per_pair: usize,
    pub seed: u64,
}

impl Default for FineTuneConfig {
    fn default() -> Self {
        Self {
            batch: 16,
            hidden: 128,
            lr: 1e-3,
            epsilon: 0.05,
            uniform_share: 0.3,
            outcomes_per_pair: 4,
            seed: 0,
        }
    }
}

pub struct FineTuner {
    pub oc: OcModel,
    pub reward: RewardSpec,
    pub n_net: Mlp,
    pub q_net: Mlp,
    adam_n: Adam,
    adam_q: Adam,
    pub config: FineTuneConfig,
    pub trajectories: u64,
    pub modes: Option<ModesFound>,
    pub target: Option<Target>,
    pub last_terminals: Vec<State>,
}

struct Visit {
    state: State,
    action: usize,
}

impl FineTuner {
    pub fn new(oc: OcModel, reward: RewardSpec, config: FineTuneConfig) -> Self {
        let grid = oc.grid;
        let n_net = Mlp::new(
            MlpSpec {
                inputs: grid.encoding_len(),
                hidden: vec![config.hidden; 2],
                outputs: grid.n_actions(),
                activation: Activation::Relu,
            },
            config.seed ^ 0x11,
        );
        let q_net = Mlp::new(
            MlpSpec {
                inputs: grid.encoding_len() + grid.n_actions(),
                hidden: vec![config.hidden; 2],
                outputs: grid.encoding_len(),
                activation: Activation::Relu,
            },
            config.seed ^ 0x22,
        );
        let target = Target::enumerate(grid, &reward);
        Self {
            adam_n: Adam::for_mlp(&n_net, config.lr),
            adam_q: Adam::for_mlp(&q_net, config.lr),
            modes: target.as_ref().map(ModesFound::new),
            target,
            oc,
            reward,
            n_net,
            q_net,
            config,
            trajectories: 0,
            last_terminals: Vec::new(),
        }
    }

    pub fn grid(&self) -> Hypergrid {
        self.oc.grid
    }

    fn seed32(&self) -> u32 {
        (self.config.seed ^ (self.config.seed >> 32)) as u32 ^ 0xF1E7
    }

    /// Samples a batch from the fine-tuned policy, trains N and Q on its transitions.
    pub fn iterate(&mut self) -> f64 {
        let visits = self.rollout();
        // Every valid action of every visited state, several outcomes each: the loss holds for
        // each (s, a, y), so one rollout teaches N about actions it did not take and about
        // outcomes it never reached (that is where the pre-training pays off).
        let grid = self.grid();
        let mut pairs =
            Vec::with_capacity(visits.len() * grid.n_actions() * self.config.outcomes_per_pair);
        for v in &visits {
            for a in (0..grid.n_actions()).filter(|&a| grid.is_valid(&v.state, a)) {
                for _ in 0..self.config.outcomes_per_pair.max(1) {
                    pairs.push(Visit {
                        state: v.state,
                        action: a,
                    });
                }
            }
        }
        let loss = self.train_on(&pairs);
        self.trajectories += self.config.batch as u64;
        loss
    }

    fn rollout(&mut self) -> Vec<Visit> {
        let grid = self.grid();
        let batch = self.config.batch.max(1);
        let seed = self.seed32();
        let mut states: Vec<State> = vec![[0; MAX_NDIM]; batch];
        let mut active: Vec<usize> = (0..batch).collect();
        let mut visits = Vec::new();
        let mut input = Vec::new();
        let mut log_probs = vec![0.0f32; grid.n_actions()];
        let mut step = 0u32;
        while !active.is_empty() {
            input.resize(active.len() * grid.encoding_len(), 0.0);
            for (r, &t) in active.iter().enumerate() {
                grid.encode_into(
                    &states[t],
                    &mut input[r * grid.encoding_len()..(r + 1) * grid.encoding_len()],
                );
            }
            let out = self.n_net.predict(&input, active.len());
            let mut still = Vec::new();
            for (r, &t) in active.iter().enumerate() {
                let x = states[t];
                masked_log_softmax(
                    &grid,
                    &x,
                    &out[r * grid.n_actions()..(r + 1) * grid.n_actions()],
                    &mut log_probs,
                );
                let stream = (self.trajectories + t as u64) as u32;
                let u_explore = unit_f32(hash3(seed, stream, 2 * step));
                let u_action = unit_f32(hash3(seed, stream, 2 * step + 1));
                let a = choose_action(
                    &grid,
                    &x,
                    &log_probs,
                    self.config.epsilon,
                    u_explore,
                    u_action,
                );
                visits.push(Visit {
                    state: x,
                    action: a,
                });
                if a != grid.stop_action() {
                    states[t][a] += 1;
                    still.push(t);
                }
            }
            active = still;
            step += 1;
        }
        if let (Some(target), Some(modes)) = (&self.target, &mut self.modes) {
            for x in &states {
                modes.record(target, grid.index(x));
            }
        }
        self.last_terminals = states;
        visits
    }

    fn train_on(&mut self, visits: &[Visit]) -> f64 {
        let grid = self.grid();
        let (d, h, n_actions) = (grid.ndim, grid.height, grid.n_actions());
        let width_n = grid.encoding_len();
        let width_q = width_n + n_actions;
        let rows = visits.len();
        let mut input_n = vec![0.0f32; rows * width_n];
        let mut input_q = vec![0.0f32; rows * width_q];
        for (i, v) in visits.iter().enumerate() {
            grid.encode_into(&v.state, &mut input_n[i * width_n..(i + 1) * width_n]);
            let row = &mut input_q[i * width_q..(i + 1) * width_q];
            grid.encode_into(&v.state, &mut row[..width_n]);
            row[width_n..].fill(0.0);
            row[width_n + v.action] = 1.0;
        }
        let (mut cache_n, mut cache_q) = (ForwardCache::default(), ForwardCache::default());
        self.n_net.forward(&input_n, rows, &mut cache_n);
        self.q_net.forward(&input_q, rows, &mut cache_q);
        let out_n = cache_n.output().to_vec();
        let out_q = cache_q.output().to_vec();
        let (outcomes, q_log_probs) = self.draw_outcomes(visits, &out_q, width_n);
        let pairs: Vec<(State, State)> = visits
            .iter()
            .zip(&outcomes)
            .map(|(v, y)| (v.state, *y))
            .collect();
        let oc_out = self.oc.predict(&pairs);
        let oc_outputs = self.oc.outputs();
        let mut grad_n = vec![0.0f32; rows * n_actions];
        let mut grad_q = vec![0.0f32; rows * width_n];
        let mut log_probs = vec![0.0f32; n_actions];
        let norm = rows.max(1) as f64;
        let mut loss = 0.0;
        for (i, v) in visits.iter().enumerate() {
            let y = outcomes[i];
            let row = &oc_out[i * oc_outputs..(i + 1) * oc_outputs];
            masked_log_softmax(&grid, &v.state, row, &mut log_probs);
            let log_f = f64::from(row[n_actions]);
            let log_pf = f64::from(log_probs[v.action]).max(-80.0);
            let log_r = self.reward.reward(&grid, &y).max(f64::MIN_POSITIVE).ln();
            let log_q: f64 = (0..d)
                .map(|dim| f64::from(q_log_probs[i][dim * h + usize::from(y[dim])]))
                .sum();
            let log_n = f64::from(out_n[i * n_actions + v.action]);
            let delta = log_n + log_q - log_r - log_f - log_pf;
            loss += delta * delta;
            let scale = (2.0 * delta / norm) as f32;
            grad_n[i * n_actions + v.action] = scale;
            if v.action == grid.stop_action() {
                continue; // Q is fixed (y = s) for the stop action
            }
            for dim in 0..d {
                for c in 0..h {
                    // exp(-inf) = 0 outside the support: no gradient there.
                    let p = q_log_probs[i][dim * h + c].exp();
                    let indicator = if c == usize::from(y[dim]) { 1.0 } else { 0.0 };
                    grad_q[i * width_n + dim * h + c] = scale * (indicator - p);
                }
            }
        }
        let mut grads_n = self.n_net.zero_gradients();
        self.n_net.backward(&cache_n, &grad_n, &mut grads_n);
        self.adam_n.step_mlp(&mut self.n_net, &grads_n);
        let mut grads_q = self.q_net.zero_gradients();
        self.q_net.backward(&cache_q, &grad_q, &mut grads_q);
        self.adam_q.step_mlp(&mut self.q_net, &grads_q);
        loss / norm
    }

    /// One outcome per visit, drawn per coordinate from Q (or, for `uniform_share` of the
    /// visits, uniformly over the values still reachable), with log Q of every value.
    fn draw_outcomes(
        &self,
        visits: &[Visit],
        out_q: &[f32],
        width_n: usize,
    ) -> (Vec<State>, Vec<Vec<f32>>) {
        let grid = self.grid();
        let (d, h) = (grid.ndim, grid.height);
        let rows = visits.len();
        let seed = self.seed32() ^ 0x0A11;
        let mut outcomes: Vec<State> = Vec::with_capacity(rows);
        let mut q_log_probs: Vec<Vec<f32>> = Vec::with_capacity(rows);
        for (i, v) in visits.iter().enumerate() {
            let mut floor = v.state;
            if v.action != grid.stop_action() {
                floor[v.action] += 1;
            }
            let stream = (self.trajectories as u32)
                .wrapping_mul(7919)
                .wrapping_add(i as u32);
            let uniform = unit_f32(hash3(seed, stream, 0)) < self.config.uniform_share;
            let mut y = [0u16; MAX_NDIM];
            // log Q over the support: coordinates below `floor` cannot be reached after the
            // action (increments only), so Q is renormalised over y_d >= floor_d; the stop
            // action's outcome is the state itself (Q = 1 there, log Q = 0 below).
            let mut lp_all = vec![f32::NEG_INFINITY; d * h];
            let stop = v.action == grid.stop_action();
            for dim in 0..d {
                let lo = usize::from(floor[dim]);
                if stop {
                    y[dim] = floor[dim];
                    lp_all[dim * h + lo] = 0.0;
                    continue;
                }
                let logits = &out_q[i * width_n + dim * h..i * width_n + (dim + 1) * h];
                let m = logits[lo..]
                    .iter()
                    .copied()
                    .fold(f32::NEG_INFINITY, f32::max);
                let lse = m + logits[lo..].iter().map(|l| (l - m).exp()).sum::<f32>().ln();
                for c in lo..h {
                    lp_all[dim * h + c] = logits[c] - lse;
                }
                let u = unit_f32(hash3(seed, stream, 1 + dim as u32));
                y[dim] = if uniform {
                    (lo + ((u * (h - lo) as f32) as usize).min(h - lo - 1)) as u16
                } else {
                    let mut cumulative = 0.0;
                    let mut pick = h - 1;
                    for c in lo..h {
                        cumulative += lp_all[dim * h + c].exp();
                        if u < cumulative {
                            pick = c;
                            break;
                        }
                    }
                    pick as u16
                };
            }
            outcomes.push(y);
            q_log_probs.push(lp_all);
        }
        (outcomes, q_log_probs)
    }
}
