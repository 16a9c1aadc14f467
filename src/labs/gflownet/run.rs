//! A training run with periodic evaluation: what the CLI prints and the page plots.

use serde::Serialize;
use web_time::Instant;

use super::env::{Hypergrid, RewardSpec, Target};
use super::metrics::{ModesFound, jsd, l1_sum};
use super::sample::{histogram, sample_terminals};
use super::train::{TrainConfig, Trainer};

/// One evaluation of the current policy.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    pub trajectories: u64,
    /// L1 summed over states (see `metrics::l1_sum`); `None` when the grid is too large.
    pub l1: Option<f64>,
    /// Jensen-Shannon divergence in nats.
    pub jsd: Option<f64>,
    pub logz: f64,
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
        (self.last_loss, f64::from(self.trainer.model.log_z))
    }

    /// Samples `samples` fresh trajectories (no exploration) and compares with the target.
    pub fn evaluate(&self, samples: usize) -> Evaluation {
        let model = &self.trainer.model;
        let (l1, jsd_value) = match &self.target {
            Some(target) => {
                let terminals = sample_terminals(model, self.eval_seed, 0, samples);
                let counts = histogram(&model.grid, &terminals);
                (Some(l1_sum(target, &counts)), Some(jsd(target, &counts)))
            }
            None => (None, None),
        };
        Evaluation {
            trajectories: self.trainer.trajectories,
            l1,
            jsd: jsd_value,
            logz: f64::from(model.log_z),
            logz_true: self.target.as_ref().map(|t| t.log_z),
            loss: self.last_loss,
            modes_found: self.modes.as_ref().map_or(0, |m| m.count),
            modes_total: self.modes.as_ref().map_or(0, ModesFound::total),
            eval_samples: samples,
            trajectories_per_s: self.trajectories_per_s(),
        }
    }
}
