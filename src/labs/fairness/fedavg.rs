//! A logistic-regression classifier trained by federated averaging, with penalties on a soft
//! global and a soft local demographic-parity gap.
//!
//! The objective is `mean log-loss + lambda_local * sum_k (n_k / N) gap_k(w)^2 +
//! lambda_global * G(w)^2`, where gap_k is client k's own gap in mean P(Yhat = 1) between
//! Z = 1 and Z = 0, and G the same gap over all records. Each round the server broadcasts the
//! weights, the global gap G and the group sizes (aggregate statistics only); each client takes
//! `local_steps` full-batch gradient steps on its log-loss, its own gap penalty, and the global
//! penalty's gradient 2 lambda G (N / n_k) grad g_k (g_k: its share of G, G held at the
//! broadcast value); the server averages the weights by client size. With one local step this
//! is exactly gradient descent on the objective. Yhat thresholds P(Yhat = 1) at 1/2.

use super::aglfop::{Scores, scores};
use super::data::Dataset;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    pub lambda_global: f64,
    pub lambda_local: f64,
    pub rounds: u32,
    pub local_steps: u32,
    pub learning_rate: f64,
    /// Whether Z is one of the model's inputs.
    pub sensitive_input: bool,
}

/// One round's figures (on the training records, hard predictions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RoundScores {
    pub round: u32,
    pub scores: Scores,
}

pub const INPUTS: usize = 4;

pub struct FedAvg {
    pub config: TrainConfig,
    pub weights: [f64; INPUTS],
    pub round: u32,
    pub history: Vec<RoundScores>,
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

fn inputs(x: [f64; 2], z: usize, sensitive_input: bool) -> [f64; INPUTS] {
    let z = if sensitive_input { z as f64 } else { 0.0 };
    [x[0], x[1], z, 1.0]
}

fn dot(a: &[f64; INPUTS], b: &[f64; INPUTS]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl FedAvg {
    pub fn new(config: TrainConfig) -> Self {
        Self {
            config,
            weights: [0.0; INPUTS],
            round: 0,
            history: Vec::new(),
        }
    }

    pub fn done(&self) -> bool {
        self.round >= self.config.rounds
    }

    pub fn prob(&self, x: [f64; 2], z: usize) -> f64 {
        sigmoid(dot(
            &self.weights,
            &inputs(x, z, self.config.sensitive_input),
        ))
    }

    /// The joint P(S, Z, Y, Yhat) of the current model on `data`, laid out as in
    /// [`super::aglfop::Data::with_predictions`].
    pub fn joint(&self, data: &Dataset) -> Vec<f64> {
        let mut out = vec![0.0; data.clients * 8];
        let w = 1.0 / data.records.len().max(1) as f64;
        for r in &data.records {
            let yhat = usize::from(self.prob(r.x, r.z) >= 0.5);
            out[((r.client * 2 + r.z) * 2 + r.y) * 2 + yhat] += w;
        }
        out
    }

    /// Global soft gap and group sizes, the statistics the server broadcasts.
    fn global_gap(&self, data: &Dataset, w: &[f64; INPUTS]) -> (f64, [f64; 2]) {
        let mut sums = [0.0; 2];
        let mut counts = [0.0; 2];
        for r in &data.records {
            sums[r.z] += sigmoid(dot(w, &inputs(r.x, r.z, self.config.sensitive_input)));
            counts[r.z] += 1.0;
        }
        let mean = |z: usize| {
            if counts[z] > 0.0 {
                sums[z] / counts[z]
            } else {
                0.0
            }
        };
        (mean(1) - mean(0), counts)
    }

    /// One federated round.
    pub fn round(&mut self, data: &Dataset) {
        let c = self.config;
        let (gap_global, group_counts) = self.global_gap(data, &self.weights);
        // Penalties add curvature ~ lambda: dividing the step keeps gradient descent stable
        // (a fixed step makes strong penalties oscillate between rounds).
        let step = c.learning_rate / (1.0 + c.lambda_global + c.lambda_local);
        let mut next = [0.0; INPUTS];
        let total = data.records.len().max(1) as f64;
        for k in 0..data.clients {
            let local: Vec<_> = data.records.iter().filter(|r| r.client == k).collect();
            if local.is_empty() {
                continue;
            }
            let n = local.len() as f64;
            let local_counts = [0, 1].map(|z| local.iter().filter(|r| r.z == z).count() as f64);
            let feats: Vec<[f64; INPUTS]> = local
                .iter()
                .map(|r| inputs(r.x, r.z, c.sensitive_input))
                .collect();
            // Averaged with weight n_k / N, client k's global-penalty gradient
            // 2 lambda G (N / n_k) grad g_k sums to the centralised 2 lambda G grad G.
            let global_weight = total / n;
            let mut w = self.weights;
            for _ in 0..c.local_steps {
                let mut grad = [0.0; INPUTS];
                // Soft gaps and their gradients.
                let mut local_gap = 0.0;
                let mut local_gap_grad = [0.0; INPUTS];
                let mut global_share_grad = [0.0; INPUTS];
                for (r, f) in local.iter().zip(&feats) {
                    let p = sigmoid(dot(&w, f));
                    let dp = p * (1.0 - p);
                    for j in 0..INPUTS {
                        grad[j] += (p - r.y as f64) * f[j] / n;
                    }
                    let sign = if r.z == 1 { 1.0 } else { -1.0 };
                    if local_counts[r.z] > 0.0 && local_counts[1 - r.z] > 0.0 {
                        let coef = sign / local_counts[r.z];
                        local_gap += coef * p;
                        for j in 0..INPUTS {
                            local_gap_grad[j] += coef * dp * f[j];
                        }
                    }
                    if group_counts[r.z] > 0.0 {
                        let coef = sign / group_counts[r.z];
                        for j in 0..INPUTS {
                            global_share_grad[j] += coef * dp * f[j];
                        }
                    }
                }
                for j in 0..INPUTS {
                    grad[j] += 2.0 * c.lambda_local * local_gap * local_gap_grad[j]
                        + 2.0 * c.lambda_global * gap_global * global_weight * global_share_grad[j];
                }
                for j in 0..INPUTS {
                    w[j] -= step * grad[j];
                }
            }
            for j in 0..INPUTS {
                next[j] += w[j] * n / total;
            }
        }
        self.weights = next;
        self.round += 1;
        self.history.push(RoundScores {
            round: self.round,
            scores: scores(data.clients, &self.joint(data)),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::fairness::data::{Scenario, generate};

    fn config(lambda_global: f64, lambda_local: f64) -> TrainConfig {
        TrainConfig {
            lambda_global,
            lambda_local,
            rounds: 60,
            local_steps: 5,
            learning_rate: 0.1,
            sensitive_input: true,
        }
    }

    fn train(data: &Dataset, c: TrainConfig) -> Scores {
        let mut f = FedAvg::new(c);
        while !f.done() {
            f.round(data);
        }
        f.history.last().expect("rounds ran").scores
    }

    #[test]
    fn learns_and_penalties_reduce_their_disparity() {
        let data = generate(Scenario::Heterogeneous, 1000, 0.95, &[], 1);
        let plain = train(&data, config(0.0, 0.0));
        assert!(plain.accuracy > 0.85, "{plain:?}");
        let global = train(&data, config(20.0, 0.0));
        assert!(
            global.global_disparity < 0.5 * plain.global_disparity,
            "{plain:?} {global:?}"
        );
        let local = train(&data, config(0.0, 20.0));
        assert!(
            local.local_disparity < 0.5 * plain.local_disparity,
            "{plain:?} {local:?}"
        );
    }

    /// With one local step, federated averaging is gradient descent on the centralised
    /// objective: the same records in two clients or in one give the same weights when only
    /// the global penalty is on (the local penalty depends on the partition by definition).
    #[test]
    fn one_local_step_is_centralised_gradient_descent() {
        let split = generate(Scenario::Heterogeneous, 600, 0.95, &[], 4);
        let mut pooled = split.clone();
        pooled.clients = 1;
        pooled.records.iter_mut().for_each(|r| r.client = 0);
        let c = TrainConfig {
            local_steps: 1,
            rounds: 30,
            ..config(5.0, 0.0)
        };
        let (mut a, mut b) = (FedAvg::new(c), FedAvg::new(c));
        while !a.done() {
            a.round(&split);
            b.round(&pooled);
        }
        for j in 0..INPUTS {
            assert!(
                (a.weights[j] - b.weights[j]).abs() < 1e-12,
                "{:?} vs {:?}",
                a.weights,
                b.weights
            );
        }
    }
}
