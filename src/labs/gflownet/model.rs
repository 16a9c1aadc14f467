//! The GFlowNet's parameters: a policy MLP over the one-hot state (D+1 action logits, plus a
//! state-flow output log F(s) for detailed balance) and a learned log Z (trajectory balance).

use serde::{Deserialize, Serialize};

use super::env::{Hypergrid, State};
use crate::nn::{Activation, Mlp, MlpSpec};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Trajectory balance (Malkin et al., 2022).
    Tb,
    /// Detailed balance with a learned state flow (Bengio et al., 2021).
    Db,
}

/// The backward policy P_B(s | s') over the parents of s'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackwardPolicy {
    /// Uniform over the parents (the paper's and torchgfn's `constant_pb` set-up).
    Uniform,
    /// Learned: D more outputs, a masked softmax over the coordinates that can be decremented
    /// (torchgfn's default).
    Learned,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub grid: Hypergrid,
    pub policy: Mlp,
    pub log_z: f32,
    pub backward: BackwardPolicy,
}

impl Model {
    pub fn new(
        grid: Hypergrid,
        hidden: usize,
        hidden_layers: usize,
        backward: BackwardPolicy,
        seed: u64,
    ) -> Self {
        let backward_outputs = match backward {
            BackwardPolicy::Uniform => 0,
            BackwardPolicy::Learned => grid.ndim,
        };
        let spec = MlpSpec {
            inputs: grid.encoding_len(),
            hidden: vec![hidden; hidden_layers],
            // D + 1 logits, one log-flow output (unused by TB, which learns log Z instead),
            // and D backward logits when P_B is learned.
            outputs: grid.n_actions() + 1 + backward_outputs,
            activation: Activation::Relu,
            residual: false,
        };
        Self {
            grid,
            policy: Mlp::new(spec, seed),
            log_z: 0.0,
            backward,
        }
    }

    pub fn outputs(&self) -> usize {
        self.policy.spec.outputs
    }

    /// Index of the first backward logit in an output row (learned P_B only).
    pub fn backward_index(&self) -> usize {
        self.grid.n_actions() + 1
    }

    /// log P_B(s | s') for the parent s = s' - e_d, and every parent's probability in
    /// `probs` (0 for coordinates that cannot be decremented). `row` is s''s output row.
    pub fn log_backward(&self, s_next: &State, row: &[f32], d: usize, probs: &mut [f32]) -> f64 {
        let ndim = self.grid.ndim;
        let parents = || (0..ndim).filter(|&k| s_next[k] > 0);
        match self.backward {
            BackwardPolicy::Uniform => {
                let n = parents().count().max(1) as f32;
                for k in 0..ndim {
                    probs[k] = if s_next[k] > 0 { 1.0 / n } else { 0.0 };
                }
                -f64::from(n).ln()
            }
            BackwardPolicy::Learned => {
                let logits = &row[self.backward_index()..self.backward_index() + ndim];
                let max = parents()
                    .map(|k| logits[k])
                    .fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = parents().map(|k| (logits[k] - max).exp()).sum();
                let log_sum = max + sum.ln();
                for k in 0..ndim {
                    probs[k] = if s_next[k] > 0 {
                        (logits[k] - log_sum).exp()
                    } else {
                        0.0
                    };
                }
                f64::from(logits[d] - log_sum)
            }
        }
    }

    /// Index of log F(s) in an output row.
    pub fn flow_index(&self) -> usize {
        self.grid.n_actions()
    }

    /// log F(s0) of the flow head: detailed balance's estimate of log Z (F(s0) = Z).
    pub fn log_flow_at_origin(&self) -> f32 {
        let mut input = vec![0.0f32; self.grid.encoding_len()];
        self.grid
            .encode_into(&[0; super::env::MAX_NDIM], &mut input);
        self.policy
            .predict(&input, 1)
            .get(self.flow_index())
            .copied()
            .unwrap_or(0.0)
    }
}

/// Masked log-softmax of the action logits in `row` for state `x`, written into `log_probs`
/// (invalid actions get -inf). Returns nothing; the probabilities are `exp(log_probs)`.
pub fn masked_log_softmax(grid: &Hypergrid, x: &State, row: &[f32], log_probs: &mut [f32]) {
    let n = grid.n_actions();
    let mut max = f32::NEG_INFINITY;
    for a in 0..n {
        if grid.is_valid(x, a) {
            max = max.max(row[a]);
        }
    }
    let mut sum = 0.0f32;
    for a in 0..n {
        if grid.is_valid(x, a) {
            sum += (row[a] - max).exp();
        }
    }
    let log_sum = max + sum.ln();
    for a in 0..n {
        log_probs[a] = if grid.is_valid(x, a) {
            row[a] - log_sum
        } else {
            f32::NEG_INFINITY
        };
    }
}

/// Picks an action: with probability `epsilon` uniformly among valid ones, else from the
/// policy. `u_explore` and `u_action` are uniforms in [0, 1).
pub fn choose_action(
    grid: &Hypergrid,
    x: &State,
    log_probs: &[f32],
    epsilon: f32,
    u_explore: f32,
    u_action: f32,
) -> usize {
    let n = grid.n_actions();
    if u_explore < epsilon {
        let valid = (0..n).filter(|&a| grid.is_valid(x, a)).count();
        let pick = ((u_action * valid as f32) as usize).min(valid - 1);
        return (0..n)
            .filter(|&a| grid.is_valid(x, a))
            .nth(pick)
            .unwrap_or(grid.stop_action());
    }
    let mut cumulative = 0.0f32;
    let mut last_valid = grid.stop_action();
    for a in 0..n {
        if !grid.is_valid(x, a) {
            continue;
        }
        last_valid = a;
        cumulative += log_probs[a].exp();
        if u_action < cumulative {
            return a;
        }
    }
    // Rounding left the cumulative sum just under u: the last valid action.
    last_valid
}
