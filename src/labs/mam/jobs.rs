//! The page's MaM training as a background job (`crate::jobs`): energy-based training runs in a
//! Web Worker (a thread natively); the page gets each step's figures, the error against exact
//! marginals on small lattices, and a copy of the networks a few times a second for its
//! queries, heat maps and samples.

use serde::{Deserialize, Serialize};
use web_time::{Duration, Instant};

use super::ising::{Exact, Ising, MAX_EXACT_SIZE};
use super::nets::MamNets;
use super::quality::against_exact;
use super::train::{StepStats, TrainConfig, Trainer};
use crate::jobs::{Job, Step, wire};
use crate::nn::Mlp;

/// How often the page gets a fresh copy of the networks (its answers follow training). Once a
/// second: an 8x8 lattice's two networks are about 1 MB of base64, which the page's main thread
/// parses (its queries used to follow training every 500 ms).
const SNAPSHOT_EVERY: Duration = Duration::from_millis(1000);
/// Steps between evaluations against exact marginals (L <= 4).
const QUALITY_EVERY: usize = 250;

/// Both networks in the weights-file format (f32, exact).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetsSnapshot {
    pub size: usize,
    #[serde(with = "wire::base64")]
    pub marginal: Vec<u8>,
    #[serde(with = "wire::base64")]
    pub conditional: Vec<u8>,
}

impl NetsSnapshot {
    pub fn of(nets: &MamNets) -> Self {
        Self {
            size: nets.size,
            marginal: nets.marginal.to_bytes(),
            conditional: nets.conditional.to_bytes(),
        }
    }

    pub fn nets(&self) -> Result<MamNets, String> {
        let marginal = Mlp::from_bytes(&self.marginal).map_err(|e| e.to_string())?;
        let conditional = Mlp::from_bytes(&self.conditional).map_err(|e| e.to_string())?;
        MamNets::from_parts(self.size, marginal, conditional)
    }
}

/// What the page trains: its target and the training seed (the configuration is the
/// shipped models' for that size).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSpec {
    pub size: usize,
    pub coupling: f64,
    pub field: f64,
    pub seed: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TrainUpdate {
    pub steps: usize,
    pub batch: usize,
    /// The exact log Z where the transfer matrix gives it (the steps then carry KL estimates).
    pub log_z: Option<f64>,
    /// The steps trained since the last update.
    pub stats: Vec<StepStats>,
    /// (step, mean |log p - exact|) over 200 queries, on lattices up to 4x4.
    pub quality: Vec<(usize, f64)>,
    pub nets: Option<NetsSnapshot>,
}

pub struct TrainJob {
    trainer: Trainer,
    exact: Option<Exact>,
    last_snapshot: Option<Instant>,
}

impl Job for TrainJob {
    const KIND: &'static str = "mam-train";
    type Spec = TrainSpec;
    type Update = TrainUpdate;
    type Control = ();

    fn start(spec: TrainSpec) -> Result<Self, String> {
        let model = Ising::new(spec.size, spec.coupling, spec.field)?;
        let exact = (model.size <= MAX_EXACT_SIZE)
            .then(|| Exact::new(model).ok())
            .flatten();
        Ok(Self {
            trainer: Trainer::new(model, TrainConfig::for_size(model.size, spec.seed)),
            exact,
            last_snapshot: None,
        })
    }

    fn step(&mut self, budget: Duration) -> Step<TrainUpdate> {
        let deadline = Instant::now() + budget;
        let mut stats = Vec::new();
        let mut quality = Vec::new();
        // At least one step, so a slow lattice still moves.
        loop {
            let step = self.trainer.step();
            if !step.reverse_gap.is_finite() || !step.self_consistency.is_finite() {
                return Step::failed(format!(
                    "training diverged at step {}: restart (a new seed may help)",
                    step.step
                ));
            }
            stats.push(step);
            if let Some(exact) = &self.exact
                && self.trainer.steps.is_multiple_of(QUALITY_EVERY)
            {
                let q = against_exact(&self.trainer.nets, exact, 200, 99);
                quality.push((self.trainer.steps, q.mean_abs_error));
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        let snapshot_due = self
            .last_snapshot
            .is_none_or(|at| at.elapsed() >= SNAPSHOT_EVERY);
        let nets = snapshot_due.then(|| {
            self.last_snapshot = Some(Instant::now());
            NetsSnapshot::of(&self.trainer.nets)
        });
        Step::running(TrainUpdate {
            steps: self.trainer.steps,
            batch: self.trainer.config.batch,
            log_z: self.trainer.log_z,
            stats,
            quality,
            nets,
        })
    }
}

/// The page's view of a training run: what the job reported.
pub struct PageTraining {
    pub spec: TrainSpec,
    /// The latest copy of the networks (they answer the page's queries).
    pub nets: MamNets,
    pub steps: usize,
    pub batch: usize,
    pub log_z: Option<f64>,
    /// One entry per step.
    pub history: Vec<StepStats>,
    pub quality_history: Vec<(usize, f64)>,
    pub error: Option<String>,
}

impl PageTraining {
    /// The networks before any training step (the job's first copy replaces them).
    pub fn new(spec: TrainSpec) -> Self {
        let config = TrainConfig::for_size(spec.size, spec.seed);
        Self {
            nets: MamNets::new(spec.size, &config.hidden, config.seed),
            spec,
            steps: 0,
            batch: config.batch,
            log_z: None,
            history: Vec::new(),
            quality_history: Vec::new(),
            error: None,
        }
    }

    /// Takes an update; true when the networks changed.
    pub fn take(&mut self, update: TrainUpdate) -> bool {
        self.steps = update.steps;
        self.batch = update.batch;
        self.log_z = update.log_z;
        self.history.extend(update.stats);
        self.quality_history.extend(update.quality);
        match update.nets.map(|n| n.nets()) {
            Some(Ok(nets)) => {
                self.nets = nets;
                true
            }
            Some(Err(e)) => {
                self.error = Some(format!("unreadable networks from the worker: {e}"));
                false
            }
            None => false,
        }
    }

    /// A smoothed view of the last `window` steps, as `Trainer::recent` gives it.
    pub fn recent(&self, window: usize) -> Option<StepStats> {
        super::train::recent(&self.history, self.log_z, window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{Event, JobHandle, poll_until};

    #[test]
    fn the_worker_trains_as_the_trainer_does() {
        let spec = TrainSpec {
            size: 3,
            coupling: 0.1,
            field: 0.2,
            seed: 5,
        };
        let mut handle = JobHandle::<TrainJob>::default();
        handle.start(&spec, false);
        let mut page = PageTraining::new(spec.clone());
        let events = poll_until(
            &mut handle,
            |e| matches!(e, Event::Update(u) if u.steps >= 30),
        );
        handle.stop();
        for event in events {
            match event {
                Event::Update(update) => {
                    page.take(update);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(page.steps >= 30, "{} steps", page.steps);
        assert_eq!(page.history.len(), page.steps);
        // The same seed trained here gives the same steps.
        let model = Ising::new(3, 0.1, 0.2).unwrap();
        let mut trainer = Trainer::new(model, TrainConfig::for_size(3, 5));
        for reported in &page.history[..30] {
            assert_eq!(&trainer.step(), reported);
        }
        assert_eq!(page.log_z, trainer.log_z);
        assert!(page.log_z.is_some());
    }

    #[test]
    fn snapshots_round_trip_and_bad_ones_are_refused() {
        let nets = MamNets::new(3, &[16, 16], 1);
        let snapshot = NetsSnapshot::of(&nets);
        assert_eq!(snapshot.nets().unwrap(), nets);
        let wrong = NetsSnapshot {
            size: 4,
            ..snapshot
        };
        assert!(wrong.nets().unwrap_err().contains("lattice"));
        assert!(
            TrainJob::start(TrainSpec {
                size: 99,
                coupling: 0.1,
                field: 0.0,
                seed: 0
            })
            .is_err()
        );
    }
}
