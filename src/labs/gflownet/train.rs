//! Training a GFlowNet on the hypergrid: batched on-policy rollouts (with epsilon exploration)
//! and trajectory balance or detailed balance, on the CPU. One `iterate` call is one batch;
//! the page runs as many as fit in a frame's work budget.

use serde::{Deserialize, Serialize};

use super::env::{Hypergrid, MAX_NDIM, RewardSpec, State};
use super::model::{BackwardPolicy, Loss, Model, choose_action, masked_log_softmax};
use super::rollout::lock_step;
use crate::nn::{Adam, BackwardScratch, ForwardCache, Gradients};
use crate::rng::{hash3, unit_f32};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub loss: Loss,
    pub batch: usize,
    pub hidden: usize,
    pub hidden_layers: usize,
    pub lr: f32,
    pub lr_log_z: f32,
    /// Trajectories over which both step sizes halve; 0 keeps them constant (the reference's
    /// set-up). Why offered: at constant Adam step sizes the 2D H=8 fit reaches an exact L1 of
    /// about 6e-4 (median of five seeds) by 20,000 trajectories and then spikes to 0.01-0.1 and back for as long as it
    /// trains, as torchgfn does (docs/BENCHMARKS.md); a half-life of 20,000 keeps it converged.
    #[serde(default)]
    pub lr_half_life: u64,
    /// Probability of a uniformly random valid action at each step (off-policy exploration).
    pub epsilon: f32,
    /// Uniform or learned P_B.
    pub backward: BackwardPolicy,
    pub seed: u64,
}

impl Default for TrainConfig {
    /// The page's defaults (`settings.rs`), torchgfn's reference set-up: TB, batch 16,
    /// 2 x 256, Adam 1e-3 and 0.1 for log Z.
    fn default() -> Self {
        super::settings::GfnSettings::default().train_config()
    }
}

/// The fraction of the configured step sizes used after `trajectories` trajectories: halved
/// every `half_life` trajectories, 1 when `half_life` is 0 (constant step sizes).
pub fn step_size_factor(trajectories: u64, half_life: u64) -> f32 {
    if half_life == 0 {
        return 1.0;
    }
    0.5f64.powf(trajectories as f64 / half_life as f64) as f32
}

/// What one training iteration reports.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct IterationStats {
    pub loss: f64,
    pub log_z: f64,
}

/// One step of the batch: which trajectory each forward row belongs to, and what it did.
#[derive(Default)]
struct StepRecord {
    /// This step's first row in the batch's forward cache (its rows follow in order).
    first_row: usize,
    trajectory: Vec<usize>,
    action: Vec<usize>,
    /// Masked log-probabilities of every action (rows x n_actions).
    log_probs: Vec<f32>,
}

pub struct Trainer {
    pub model: Model,
    pub config: TrainConfig,
    reward: RewardSpec,
    adam: Adam,
    adam_log_z: Adam,
    grads: Gradients,
    steps: Vec<StepRecord>,
    /// All steps' forward rows, appended step by step as the rollout runs them, for one
    /// backward pass per batch.
    combined: ForwardCache,
    backward_scratch: BackwardScratch,
    input: Vec<f32>,
    grad_rows: Vec<f32>,
    /// Trajectories trained on so far (also the RNG stream of the next one).
    pub trajectories: u64,
    /// Terminal states of the last batch (for modes found and the live heat map).
    pub last_terminals: Vec<State>,
    /// The states visited by each trajectory of the last batch, origin first (for drawing).
    pub last_paths: Vec<Vec<State>>,
    /// Seconds spent per phase (rollout, loss + backward, optimiser), for `bench gfn`.
    pub phase_seconds: [f64; 3],
}

impl Trainer {
    pub fn new(grid: Hypergrid, reward: RewardSpec, config: TrainConfig) -> Self {
        let model = Model::new(
            grid,
            config.hidden,
            config.hidden_layers,
            config.backward,
            config.seed,
        );
        let adam = Adam::for_mlp(&model.policy, config.lr);
        let grads = model.policy.zero_gradients();
        Self {
            adam_log_z: Adam::new(1, config.lr_log_z),
            model,
            reward,
            adam,
            grads,
            config,
            steps: Vec::new(),
            combined: ForwardCache::default(),
            backward_scratch: BackwardScratch::default(),
            input: Vec::new(),
            grad_rows: Vec::new(),
            trajectories: 0,
            last_terminals: Vec::new(),
            last_paths: Vec::new(),
            phase_seconds: [0.0; 3],
        }
    }

    pub fn grid(&self) -> Hypergrid {
        self.model.grid
    }

    /// The current estimate of log Z: TB learns it as a parameter; under DB it is the flow
    /// head's log F(s0) at the origin (DB never touches the TB parameter, which stays 0).
    pub fn log_z_estimate(&self) -> f64 {
        match self.config.loss {
            Loss::Tb => f64::from(self.model.log_z),
            Loss::Db => f64::from(self.model.log_flow_at_origin()),
        }
    }

    /// What [`Self::log_z_estimate`] reads, for the JSON and the page.
    pub fn log_z_source(&self) -> &'static str {
        match self.config.loss {
            Loss::Tb => "tb_parameter",
            Loss::Db => "db_log_flow_at_origin",
        }
    }

    /// Samples the next batch and computes its loss and gradients (into `self.grads`) without
    /// updating anything: returns (loss, dLoss/dlogZ).
    fn loss_and_gradients(&mut self) -> (f64, f32) {
        let batch = self.config.batch.max(1);
        let started = web_time::Instant::now();
        let n_steps = self.rollout(batch);
        let rolled = web_time::Instant::now();
        self.grads.zero();
        let result = match self.config.loss {
            Loss::Tb => self.trajectory_balance(batch, n_steps),
            Loss::Db => self.detailed_balance(batch, n_steps),
        };
        self.phase_seconds[0] += (rolled - started).as_secs_f64();
        self.phase_seconds[1] += rolled.elapsed().as_secs_f64();
        result
    }

    /// Samples a batch, computes the loss and takes one Adam step.
    pub fn iterate(&mut self) -> IterationStats {
        let batch = self.config.batch.max(1);
        let (loss, grad_log_z) = self.loss_and_gradients();
        let started = web_time::Instant::now();
        let factor = step_size_factor(self.trajectories, self.config.lr_half_life);
        self.adam.lr = self.config.lr * factor;
        self.adam_log_z.lr = self.config.lr_log_z * factor;
        self.adam.step_mlp(&mut self.model.policy, &self.grads);
        if self.config.loss == Loss::Tb {
            let mut log_z = [self.model.log_z];
            self.adam_log_z.step(&mut log_z, &[grad_log_z]);
            self.model.log_z = log_z[0];
        }
        self.phase_seconds[2] += started.elapsed().as_secs_f64();
        self.trajectories += batch as u64;
        IterationStats {
            loss,
            log_z: f64::from(self.model.log_z),
        }
    }

    /// Runs `batch` trajectories in lock-step, recording every step's forward pass for the
    /// backward pass; returns the number of steps taken.
    fn rollout(&mut self, batch: usize) -> usize {
        let grid = self.model.grid;
        let outputs = self.model.outputs();
        let n_actions = grid.n_actions();
        let width = grid.encoding_len();
        let seed = self.config.seed as u32 ^ (self.config.seed >> 32) as u32;
        let mut log_probs = vec![0.0f32; n_actions];
        self.last_paths.resize(batch, Vec::new());
        self.last_paths.truncate(batch);
        for path in &mut self.last_paths {
            path.clear();
            path.push([0; MAX_NDIM]);
        }
        let (model, config, trajectories) = (&self.model, &self.config, self.trajectories);
        let (steps, input, paths) = (&mut self.steps, &mut self.input, &mut self.last_paths);
        let combined = &mut self.combined;
        combined.clear();
        let mut taken = 0;
        let terminals = lock_step(&grid, batch, |step, active, states| {
            let step = step as usize;
            taken = step + 1;
            if steps.len() <= step {
                steps.push(StepRecord::default());
            }
            let rows = active.len();
            input.resize(rows * width, 0.0);
            for (r, &t) in active.iter().enumerate() {
                grid.encode_into(&states[t], &mut input[r * width..(r + 1) * width]);
            }
            let record = &mut steps[step];
            record.first_row = combined.batch;
            let out = model.policy.forward_append(input, rows, combined);
            record.trajectory.clear();
            record.action.clear();
            record.log_probs.clear();
            let mut actions = Vec::with_capacity(rows);
            for (r, &t) in active.iter().enumerate() {
                let x = states[t];
                masked_log_softmax(
                    &grid,
                    &x,
                    &out[r * outputs..r * outputs + n_actions],
                    &mut log_probs,
                );
                let stream = (trajectories + t as u64) as u32;
                let counter = 2 * step as u32;
                let u_explore = unit_f32(hash3(seed, stream, counter));
                let u_action = unit_f32(hash3(seed, stream, counter + 1));
                let action =
                    choose_action(&grid, &x, &log_probs, config.epsilon, u_explore, u_action);
                record.trajectory.push(t);
                record.action.push(action);
                record.log_probs.extend_from_slice(&log_probs);
                if action != grid.stop_action() {
                    let mut next = x;
                    next[action] += 1;
                    paths[t].push(next);
                }
                actions.push(action);
            }
            actions
        });
        self.last_terminals = terminals;
        taken
    }

    fn log_reward(&self, x: &State) -> f64 {
        self.reward
            .reward(&self.model.grid, x)
            .max(f64::MIN_POSITIVE)
            .ln()
    }

    /// The row of each trajectory in each step (`usize::MAX` once it has stopped): where
    /// log F(s') and P_B(s | s') of a transition's next state are.
    fn rows_of(&self, batch: usize, n_steps: usize) -> Vec<Vec<usize>> {
        self.steps[..n_steps]
            .iter()
            .map(|record| {
                let mut rows = vec![usize::MAX; batch];
                for (r, &t) in record.trajectory.iter().enumerate() {
                    rows[t] = r;
                }
                rows
            })
            .collect()
    }

    /// log P_B(s | s') of every step's non-stop transitions (0 for stops), with the parents'
    /// probabilities kept for the gradient of a learned P_B: [step][row] -> (log P_B, probs).
    fn backward_terms(&self, row_of: &[Vec<usize>], n_steps: usize) -> Vec<Vec<(f64, Vec<f32>)>> {
        let grid = self.model.grid;
        let outputs = self.model.outputs();
        let mut states: Vec<State> = vec![[0; MAX_NDIM]; row_of.first().map_or(0, Vec::len)];
        let mut terms = Vec::with_capacity(n_steps);
        for (s, record) in self.steps[..n_steps].iter().enumerate() {
            let mut step_terms = Vec::with_capacity(record.trajectory.len());
            for (&t, &a) in record.trajectory.iter().zip(&record.action) {
                if a == grid.stop_action() {
                    step_terms.push((0.0, Vec::new()));
                    continue;
                }
                states[t][a] += 1;
                let next_row = row_of[s + 1][t];
                let out = self.step_output(s + 1);
                let row = &out[next_row * outputs..(next_row + 1) * outputs];
                let mut probs = vec![0.0f32; grid.ndim];
                let log_pb = self.model.log_backward(&states[t], row, a, &mut probs);
                step_terms.push((log_pb, probs));
            }
            terms.push(step_terms);
        }
        terms
    }

    /// A learned P_B's share of the gradient: a transition with loss weight `scale` (d loss /
    /// d log P_B) moves the backward logits of its next state's row: scale (1[k = a] - p_k).
    fn add_backward_gradient(
        &self,
        rows: &mut [f32],
        next_row: usize,
        action: usize,
        probs: &[f32],
        scale: f32,
    ) {
        if self.model.backward == BackwardPolicy::Uniform {
            return;
        }
        let outputs = self.model.outputs();
        let first = self.model.backward_index();
        for (k, &p) in probs.iter().enumerate() {
            let indicator = if k == action { 1.0 } else { 0.0 };
            rows[next_row * outputs + first + k] += scale * (indicator - p);
        }
    }

    /// Offsets of each step's rows in `grad_rows` (steps' rows are concatenated).
    fn row_offsets(&self, n_steps: usize) -> Vec<usize> {
        let outputs = self.model.outputs();
        let mut offsets = Vec::with_capacity(n_steps + 1);
        let mut at = 0;
        for record in &self.steps[..n_steps] {
            offsets.push(at);
            at += record.trajectory.len() * outputs;
        }
        offsets.push(at);
        offsets
    }

    /// (log Z + sum log P_F - log R - sum log P_B)^2 averaged over the batch; P_B uniform over
    /// parents or learned. Fills the parameter gradients; returns (loss, dLoss/dlogZ).
    fn trajectory_balance(&mut self, batch: usize, n_steps: usize) -> (f64, f32) {
        let grid = self.model.grid;
        let n_actions = grid.n_actions();
        let row_of = self.rows_of(batch, n_steps);
        let backward = self.backward_terms(&row_of, n_steps);
        let mut sum_log_pf = vec![0.0f64; batch];
        let mut sum_log_pb = vec![0.0f64; batch];
        let mut states: Vec<State> = vec![[0; MAX_NDIM]; batch];
        for (s, record) in self.steps[..n_steps].iter().enumerate() {
            for (r, (&t, &a)) in record.trajectory.iter().zip(&record.action).enumerate() {
                sum_log_pf[t] += f64::from(record.log_probs[r * n_actions + a]);
                if a != grid.stop_action() {
                    states[t][a] += 1;
                    sum_log_pb[t] += backward[s][r].0;
                }
            }
        }
        let log_z = f64::from(self.model.log_z);
        let deltas: Vec<f64> = (0..batch)
            .map(|t| log_z + sum_log_pf[t] - self.log_reward(&states[t]) - sum_log_pb[t])
            .collect();
        let loss = deltas.iter().map(|d| d * d).sum::<f64>() / batch as f64;
        let grad_log_z = (2.0 * deltas.iter().sum::<f64>() / batch as f64) as f32;
        let outputs = self.model.outputs();
        let offsets = self.row_offsets(n_steps);
        let mut grad_rows = std::mem::take(&mut self.grad_rows);
        grad_rows.clear();
        grad_rows.resize(offsets[n_steps], 0.0);
        for (s, record) in self.steps[..n_steps].iter().enumerate() {
            let rows = &mut grad_rows[offsets[s]..offsets[s + 1]];
            for (r, (&t, &a)) in record.trajectory.iter().zip(&record.action).enumerate() {
                // d(delta^2)/d logit_b = 2 delta (1[b = a] - p_b); invalid actions have p = 0.
                let scale = (2.0 * deltas[t] / batch as f64) as f32;
                for b in 0..n_actions {
                    let p = record.log_probs[r * n_actions + b].exp();
                    let indicator = if b == a { 1.0 } else { 0.0 };
                    rows[r * outputs + b] = scale * (indicator - p);
                }
            }
        }
        // A learned P_B: -log P_B enters delta, so its logits get -scale (1[k = a] - p_k).
        for (s, record) in self.steps[..n_steps].iter().enumerate() {
            for (r, (&t, &a)) in record.trajectory.iter().zip(&record.action).enumerate() {
                if a == grid.stop_action() {
                    continue;
                }
                let scale = -(2.0 * deltas[t] / batch as f64) as f32;
                let rows = &mut grad_rows[offsets[s + 1]..offsets[s + 2]];
                self.add_backward_gradient(rows, row_of[s + 1][t], a, &backward[s][r].1, scale);
            }
        }
        self.grad_rows = grad_rows;
        self.backward_all(n_steps);
        (loss, grad_log_z)
    }

    /// One backward pass over every step's rows (`grad_rows` holds them in step order, as the
    /// rollout appended them to `combined`).
    fn backward_all(&mut self, n_steps: usize) {
        debug_assert_eq!(
            self.combined.batch,
            self.steps[..n_steps]
                .iter()
                .map(|r| r.trajectory.len())
                .sum::<usize>()
        );
        self.model.policy.backward_with(
            &self.combined,
            &self.grad_rows,
            &mut self.grads,
            &mut self.backward_scratch,
        );
    }

    /// Step `s`'s forward outputs (its rows x outputs) in the batch's cache.
    fn step_output(&self, s: usize) -> &[f32] {
        let outputs = self.model.outputs();
        let record = &self.steps[s];
        let first = record.first_row * outputs;
        &self.combined.output()[first..first + record.trajectory.len() * outputs]
    }

    /// Detailed balance: for each transition s -> s' the squared residual
    /// log F(s) + log P_F(s'|s) - log F(s') - log P_B(s|s'), and at the stop
    /// log F(x) + log P_F(stop|x) - log R(x); averaged over all transitions of the batch.
    fn detailed_balance(&mut self, batch: usize, n_steps: usize) -> (f64, f32) {
        let grid = self.model.grid;
        let n_actions = grid.n_actions();
        let outputs = self.model.outputs();
        let flow = self.model.flow_index();
        let row_of = self.rows_of(batch, n_steps);
        let backward = self.backward_terms(&row_of, n_steps);
        let transitions: usize = self.steps[..n_steps]
            .iter()
            .map(|r| r.trajectory.len())
            .sum();
        let norm = transitions.max(1) as f64;
        let mut states: Vec<State> = vec![[0; MAX_NDIM]; batch];
        // deltas[step][row]
        let mut deltas: Vec<Vec<f64>> = Vec::with_capacity(n_steps);
        let mut loss = 0.0;
        for (s, record) in self.steps[..n_steps].iter().enumerate() {
            let out = self.step_output(s);
            let mut step_deltas = Vec::with_capacity(record.trajectory.len());
            for (r, (&t, &a)) in record.trajectory.iter().zip(&record.action).enumerate() {
                let log_f = f64::from(out[r * outputs + flow]);
                let log_pf = f64::from(record.log_probs[r * n_actions + a]);
                let delta = if a == grid.stop_action() {
                    log_f + log_pf - self.log_reward(&states[t])
                } else {
                    states[t][a] += 1;
                    let next_row = row_of[s + 1][t];
                    let log_f_next = f64::from(self.step_output(s + 1)[next_row * outputs + flow]);
                    log_f + log_pf - log_f_next - backward[s][r].0
                };
                loss += delta * delta;
                step_deltas.push(delta);
            }
            deltas.push(step_deltas);
        }
        let offsets = self.row_offsets(n_steps);
        let mut grad_rows = std::mem::take(&mut self.grad_rows);
        grad_rows.clear();
        grad_rows.resize(offsets[n_steps], 0.0);
        for (s, record) in self.steps[..n_steps].iter().enumerate() {
            let rows = &mut grad_rows[offsets[s]..offsets[s + 1]];
            for (r, &a) in record.action.iter().enumerate() {
                let scale = (2.0 * deltas[s][r] / norm) as f32;
                for b in 0..n_actions {
                    let p = record.log_probs[r * n_actions + b].exp();
                    let indicator = if b == a { 1.0 } else { 0.0 };
                    rows[r * outputs + b] = scale * (indicator - p);
                }
                rows[r * outputs + flow] += scale;
            }
            // This row's state was s' of the previous step's transition: -2 delta_prev on its
            // flow, and (learned P_B) on its backward logits.
            if s > 0 {
                for (r_prev, (&t, &a)) in self.steps[s - 1]
                    .trajectory
                    .iter()
                    .zip(&self.steps[s - 1].action)
                    .enumerate()
                {
                    let r = row_of[s][t];
                    if r == usize::MAX || a == grid.stop_action() {
                        continue;
                    }
                    let scale = (2.0 * deltas[s - 1][r_prev] / norm) as f32;
                    rows[r * outputs + flow] -= scale;
                    self.add_backward_gradient(rows, r, a, &backward[s - 1][r_prev].1, -scale);
                }
            }
        }
        self.grad_rows = grad_rows;
        self.backward_all(n_steps);
        (loss / norm, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trainer(loss: Loss) -> Trainer {
        trainer_with(loss, BackwardPolicy::Uniform)
    }

    fn trainer_with(loss: Loss, backward: BackwardPolicy) -> Trainer {
        let config = TrainConfig {
            loss,
            backward,
            batch: 6,
            hidden: 8,
            hidden_layers: 2,
            epsilon: 0.2,
            seed: 5,
            ..TrainConfig::default()
        };
        let mut t = Trainer::new(
            Hypergrid::new(2, 4),
            RewardSpec::Standard {
                r0: 0.1,
                r1: 0.5,
                r2: 2.0,
            },
            config,
        );
        t.model.log_z = 0.7;
        t
    }

    /// The loss of the same batch (same RNG streams) with parameter `index` moved by `h`.
    fn loss_with(t: &Trainer, index: usize, h: f32) -> f64 {
        let mut u = Trainer::new(t.grid(), t.reward.clone(), t.config.clone());
        u.model = t.model.clone();
        if let Some(p) = u.model.policy.parameters_mut().nth(index) {
            *p += h;
        }
        u.trajectories = t.trajectories;
        u.loss_and_gradients().0
    }

    #[test]
    fn a_half_life_halves_both_step_sizes() {
        assert_eq!(step_size_factor(12_345, 0), 1.0);
        assert_eq!(step_size_factor(0, 1000), 1.0);
        assert_eq!(step_size_factor(1000, 1000), 0.5);
        assert_eq!(step_size_factor(3000, 1000), 0.125);
        assert!((step_size_factor(500, 1000) - 0.5f32.sqrt()).abs() < 1e-7);
        // The trainer's steps use it: batches of 6, so the third step starts at 12
        // trajectories, two half-lives of 6.
        let mut t = trainer(Loss::Tb);
        t.config.lr_half_life = 6;
        for _ in 0..3 {
            t.iterate();
        }
        assert_eq!(t.adam.lr, t.config.lr * 0.25);
        assert_eq!(t.adam_log_z.lr, t.config.lr_log_z * 0.25);
        // Without one, the configured step sizes to the bit.
        let mut t = trainer(Loss::Tb);
        t.iterate();
        assert_eq!(t.adam.lr, t.config.lr);
        assert_eq!(t.adam_log_z.lr, t.config.lr_log_z);
    }

    #[test]
    fn loss_gradients_match_finite_differences() {
        for (loss, backward) in [
            (Loss::Tb, BackwardPolicy::Uniform),
            (Loss::Db, BackwardPolicy::Uniform),
            (Loss::Tb, BackwardPolicy::Learned),
            (Loss::Db, BackwardPolicy::Learned),
        ] {
            let mut t = trainer_with(loss, backward);
            let (_, grad_log_z) = t.loss_and_gradients();
            let analytic: Vec<f32> = t
                .grads
                .layers
                .iter()
                .flat_map(|l| l.weights.iter().chain(&l.bias))
                .copied()
                .collect();
            let h = 1e-2f32;
            let mut checked = 0;
            for index in (0..analytic.len()).step_by(7) {
                let numeric =
                    (loss_with(&t, index, h) - loss_with(&t, index, -h)) / (2.0 * f64::from(h));
                let a = f64::from(analytic[index]);
                assert!(
                    (numeric - a).abs() <= 2e-2 * (1.0 + a.abs()),
                    "{loss:?} {backward:?} parameter {index}: analytic {a}, numeric {numeric}"
                );
                checked += 1;
            }
            assert!(checked > 20);
            // Every output bias, the backward logits' included (the last `outputs` values).
            let outputs = t.model.outputs();
            for index in analytic.len() - outputs..analytic.len() {
                let numeric =
                    (loss_with(&t, index, h) - loss_with(&t, index, -h)) / (2.0 * f64::from(h));
                let a = f64::from(analytic[index]);
                assert!(
                    (numeric - a).abs() <= 2e-2 * (1.0 + a.abs()),
                    "{loss:?} {backward:?} output bias {index}: analytic {a}, numeric {numeric}"
                );
            }
            if loss == Loss::Tb {
                // dL/dlogZ against a finite difference in log Z.
                let mut plus = Trainer::new(t.grid(), t.reward.clone(), t.config.clone());
                plus.model = t.model.clone();
                plus.model.log_z += h;
                let mut minus = Trainer::new(t.grid(), t.reward.clone(), t.config.clone());
                minus.model = t.model.clone();
                minus.model.log_z -= h;
                let numeric = (plus.loss_and_gradients().0 - minus.loss_and_gradients().0)
                    / (2.0 * f64::from(h));
                assert!(
                    (numeric - f64::from(grad_log_z)).abs() < 1e-3 * (1.0 + numeric.abs()),
                    "{numeric} vs {grad_log_z}"
                );
            }
        }
    }

    #[test]
    fn trajectories_end_inside_the_grid_and_are_reproducible() {
        let mut a = trainer(Loss::Tb);
        let mut b = trainer(Loss::Tb);
        for _ in 0..5 {
            let sa = a.iterate();
            let sb = b.iterate();
            assert_eq!(sa.loss, sb.loss);
            assert_eq!(a.last_terminals, b.last_terminals);
            assert!(
                a.last_terminals
                    .iter()
                    .all(|x| x[..2].iter().all(|&c| c < 4))
            );
            assert!(sa.loss.is_finite());
        }
    }
}
