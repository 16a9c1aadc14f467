//! A training run with periodic evaluation: what the CLI prints and the page plots.

use serde::Serialize;
use web_time::Instant;

use super::env::{Hypergrid, RewardSpec, Target};
use super::metrics::{
    ModesFound, jsd, jsd_between, jsd_noise_floor, l1_between, l1_noise_floor, l1_sum,
};
use super::sample::{exact_terminal_distribution, histogram, sample_terminals};
use super::train::{TrainConfig, Trainer};

/// One evaluation of the current policy.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    pub trajectories: u64,
    /// L1 (summed over states) of the policy's exact terminal distribution (forward dynamic
    /// programming, `sample::exact_terminal_distribution`) to the target: the primary metric.
    /// `None` when the grid is too large to enumerate.
    pub l1_exact: Option<f64>,
    /// Jensen-Shannon divergence (nats) of the exact terminal distribution to the target.
    pub jsd_exact: Option<f64>,
    /// L1 of a histogram of `eval_samples` fresh samples (see `metrics::l1_sum`): noisy.
    pub l1: Option<f64>,
    /// JSD (nats) of that histogram.
    pub jsd: Option<f64>,
    /// What a perfect sampler's histogram of `eval_samples` scores (exact expectation): the
    /// sampled L1 cannot be read below this.
    pub l1_noise_floor: Option<f64>,
    /// The same for the JSD (first-order approximation).
    pub jsd_noise_floor: Option<f64>,
    /// The learned log Z: TB's parameter, or log F(s0) of the flow head under DB.
    pub logz: f64,
    /// Which of the two `logz` is.
    pub logz_source: &'static str,
    pub logz_true: Option<f64>,
    pub loss: f64,
    pub modes_found: usize,
    pub modes_total: usize,
    pub eval_samples: usize,
    pub trajectories_per_s: f64,
}

pub struct TrainingRun {
    pub trainer: Trainer,
    pub target: Option<Target>,
    pub modes: Option<ModesFound>,
    /// Training wall time only (evaluation excluded), seconds.
    pub train_seconds: f64,
    last_loss: f64,
    eval_seed: u32,
}

impl TrainingRun {
    pub fn new(grid: Hypergrid, reward: RewardSpec, config: TrainConfig) -> Self {
        let target = Target::enumerate(grid, &reward);
        let modes = target.as_ref().map(ModesFound::new);
        let eval_seed = (crate::rng::hash_u64(config.seed, 77) & 0xffff_ffff) as u32;
        Self {
            trainer: Trainer::new(grid, reward, config),
            target,
            modes,
            train_seconds: 0.0,
            last_loss: 0.0,
            eval_seed,
        }
    }

    /// Trains one batch; records modes reached by its trajectories.
    pub fn iterate(&mut self) {
        let started = Instant::now();
        let stats = self.trainer.iterate();
        self.train_seconds += started.elapsed().as_secs_f64();
        self.last_loss = stats.loss;
        if let (Some(target), Some(modes)) = (&self.target, &mut self.modes) {
            let grid = self.trainer.grid();
            for x in &self.trainer.last_terminals {
                modes.record(target, grid.index(x));
            }
        }
    }

    /// Training throughput so far (wall time of training only).
    pub fn trajectories_per_s(&self) -> f64 {
        if self.train_seconds > 0.0 {
            self.trainer.trajectories as f64 / self.train_seconds
        } else {
            0.0
        }
    }

    /// (last loss, learned log Z): no sampling.
    pub fn evaluate_cheap(&self) -> (f64, f64) {
        (self.last_loss, self.trainer.log_z_estimate())
    }

    /// The policy's exact terminal distribution against the target, then `samples` fresh
    /// trajectories (no exploration) against it.
    pub fn evaluate(&self, samples: usize) -> Evaluation {
        let model = &self.trainer.model;
        let mut evaluation = Evaluation {
            trajectories: self.trainer.trajectories,
            l1_exact: None,
            jsd_exact: None,
            l1: None,
            jsd: None,
            l1_noise_floor: None,
            jsd_noise_floor: None,
            logz: self.trainer.log_z_estimate(),
            logz_source: self.trainer.log_z_source(),
            logz_true: self.target.as_ref().map(|t| t.log_z),
            loss: self.last_loss,
            modes_found: self.modes.as_ref().map_or(0, |m| m.count),
            modes_total: self.modes.as_ref().map_or(0, ModesFound::total),
            eval_samples: samples,
            trajectories_per_s: self.trajectories_per_s(),
        };
        if let Some(target) = &self.target {
            let exact = exact_terminal_distribution(model);
            evaluation.l1_exact = Some(l1_between(&target.probabilities, &exact));
            evaluation.jsd_exact = Some(jsd_between(&target.probabilities, &exact));
            let terminals = sample_terminals(model, self.eval_seed, 0, samples);
            let counts = histogram(&model.grid, &terminals);
            evaluation.l1 = Some(l1_sum(target, &counts));
            evaluation.jsd = Some(jsd(target, &counts));
            evaluation.l1_noise_floor = Some(l1_noise_floor(&target.probabilities, samples));
            evaluation.jsd_noise_floor = Some(jsd_noise_floor(&target.probabilities, samples));
        }
        evaluation
    }
}
