//! The page's GFlowNet work as background jobs (`crate::jobs`): training in one worker, each
//! evaluation (the exact terminal distribution, and the samples when the page has no hardware
//! GPU) in another, so training never waits for an evaluation. The page only draws.

use serde::{Deserialize, Serialize};
use web_time::{Duration, Instant};

use super::env::{Hypergrid, MAX_NDIM, RewardSpec, Target};
use super::lab::CurvePoint;
use super::metrics::{jsd, jsd_between, l1_between, l1_noise_floor, l1_sum};
use super::model::{BackwardPolicy, Model};
use super::run::TrainingRun;
use super::sample::{CHUNK, ExactDistribution, histogram, sample_terminals};
use super::train::TrainConfig;
use crate::jobs::{Job, Step, wire};
use crate::nn::Mlp;

/// Grids up to this many states get the exact terminal distribution in the page (the CLI has no
/// limit below the enumeration's 2^20).
pub const MAX_EXACT_STATES: usize = 1 << 16;
/// States whose logits one slice of the exact distribution computes.
const EXACT_ROWS_PER_SLICE: usize = 256;

/// A copy of the policy, as it crosses between workers and the page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub trajectories: u64,
    pub grid: Hypergrid,
    pub backward: BackwardPolicy,
    pub log_z: f32,
    /// The policy network in the weights-file format (f32, exact), base64. Kept as text: the
    /// page passes it from the training worker to the evaluating one without decoding it
    /// (decoding and encoding it again cost the page's main thread several milliseconds).
    pub policy_base64: String,
}

impl Snapshot {
    pub fn of(model: &Model, trajectories: u64) -> Self {
        Self {
            trajectories,
            grid: model.grid,
            backward: model.backward,
            log_z: model.log_z,
            policy_base64: wire::base64::encode(&model.policy.to_bytes()),
        }
    }

    pub fn model(&self) -> Result<Model, String> {
        check_grid(&self.grid)?;
        let bytes = wire::base64::decode(&self.policy_base64)?;
        let policy = Mlp::from_bytes(&bytes).map_err(|e| e.to_string())?;
        let model = Model {
            grid: self.grid,
            policy,
            log_z: self.log_z,
            backward: self.backward,
        };
        let expected = Model::new(self.grid, 1, 1, self.backward, 0);
        if model.policy.spec.inputs != expected.policy.spec.inputs
            || model.outputs() != expected.outputs()
        {
            return Err("the snapshot's network does not fit its grid".into());
        }
        Ok(model)
    }
}

/// Grids a message may name (a worker's messages are checked as any input is).
fn check_grid(grid: &Hypergrid) -> Result<(), String> {
    if !(1..=MAX_NDIM).contains(&grid.ndim) || !(2..=256).contains(&grid.height) {
        return Err(format!(
            "grid {}D H={} is outside 1..={MAX_NDIM} dimensions, heights 2..=256",
            grid.ndim, grid.height
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Training

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainSpec {
    pub grid: Hypergrid,
    pub reward: RewardSpec,
    pub config: TrainConfig,
    /// A snapshot for evaluation every this many trajectories.
    pub eval_every: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum TrainControl {
    EvalEvery(u64),
    /// A snapshot in the next update (or at once while paused): "Evaluate now".
    SnapshotNow,
    /// The page's evaluator is free: the next eval point sends a snapshot. Until then eval
    /// points pass without one (a snapshot the page would only drop costs its main thread).
    EvaluatorFree,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TrainUpdate {
    pub trajectories: u64,
    /// One point per batch trained since the last update.
    pub curve: Vec<CurvePoint>,
    /// TB's learned log Z, or log F(s0) under DB.
    pub log_z: f64,
    pub modes_found: Option<usize>,
    /// The worker's training time so far (evaluation excluded), seconds.
    pub train_seconds: f64,
    /// The last batch's trajectories over the first two coordinates.
    pub paths: Vec<Vec<(f32, f32)>>,
    pub snapshot: Option<Snapshot>,
}

pub struct TrainJob {
    run: TrainingRun,
    eval_every: u64,
    next_eval_at: u64,
    snapshot_now: bool,
    /// Whether the page can take a snapshot for evaluation (see `TrainControl::EvaluatorFree`).
    evaluator_free: bool,
}

impl TrainJob {
    fn update(&mut self, curve: Vec<CurvePoint>) -> TrainUpdate {
        let trainer = &self.run.trainer;
        let snapshot = std::mem::take(&mut self.snapshot_now)
            .then(|| Snapshot::of(&trainer.model, trainer.trajectories));
        TrainUpdate {
            trajectories: trainer.trajectories,
            curve,
            log_z: trainer.log_z_estimate(),
            modes_found: self.run.modes.as_ref().map(|m| m.count),
            train_seconds: self.run.train_seconds,
            paths: paths(&trainer.last_paths),
            snapshot,
        }
    }
}

fn paths(last: &[Vec<super::env::State>]) -> Vec<Vec<(f32, f32)>> {
    last.iter()
        .map(|path| {
            path.iter()
                .map(|x| (f32::from(x[0]), f32::from(x[1.min(MAX_NDIM - 1)])))
                .collect()
        })
        .collect()
}

impl Job for TrainJob {
    const KIND: &'static str = "gfn-train";
    type Spec = TrainSpec;
    type Update = TrainUpdate;
    type Control = TrainControl;

    fn start(spec: TrainSpec) -> Result<Self, String> {
        check_grid(&spec.grid)?;
        if spec.config.batch == 0 || spec.config.hidden == 0 || spec.config.hidden_layers == 0 {
            return Err("batch, hidden units and layers must be positive".into());
        }
        Ok(Self {
            run: TrainingRun::new(spec.grid, spec.reward, spec.config),
            eval_every: spec.eval_every.max(1),
            next_eval_at: 0,
            snapshot_now: false,
            evaluator_free: true,
        })
    }

    fn step(&mut self, budget: Duration) -> Step<TrainUpdate> {
        let deadline = Instant::now() + budget;
        let mut curve = Vec::new();
        while Instant::now() < deadline {
            self.run.iterate();
            let (loss, log_z) = self.run.evaluate_cheap();
            let trajectories = self.run.trainer.trajectories;
            if !loss.is_finite() || !log_z.is_finite() {
                return Step::failed(format!(
                    "training diverged at {trajectories} trajectories (loss {loss}, log Z \
                     {log_z}): lower the learning rate and restart"
                ));
            }
            curve.push(CurvePoint {
                trajectories: trajectories as f64,
                loss,
                log_z,
            });
            if trajectories >= self.next_eval_at && self.evaluator_free {
                self.next_eval_at = trajectories + self.eval_every;
                self.evaluator_free = false;
                self.snapshot_now = true;
                // The snapshot is of the policy at exactly this point: report now.
                break;
            }
        }
        Step::running(self.update(curve))
    }

    fn control(&mut self, message: TrainControl) -> Option<TrainUpdate> {
        match message {
            TrainControl::EvalEvery(every) => {
                self.eval_every = every.max(1);
                self.next_eval_at = self.run.trainer.trajectories + self.eval_every;
                None
            }
            TrainControl::SnapshotNow => {
                self.snapshot_now = true;
                Some(self.update(Vec::new()))
            }
            TrainControl::EvaluatorFree => {
                self.evaluator_free = true;
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvalSpec {
    pub snapshot: Snapshot,
    pub reward: RewardSpec,
    /// Fresh samples to draw here; 0 when the page samples on its GPU.
    pub samples: usize,
    pub seed: u32,
}

/// What an evaluation found: exact figures where the grid is small enough, sampled ones where
/// this job sampled.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EvalOutcome {
    pub l1_exact: Option<f64>,
    pub jsd_exact: Option<f64>,
    pub sampled: Option<SampledFigures>,
    pub seconds: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SampledFigures {
    pub l1: f64,
    pub jsd: f64,
    pub l1_noise_floor: f64,
    pub samples: usize,
    /// Terminal state index -> count.
    pub counts: Vec<u32>,
}

impl SampledFigures {
    pub fn of(target: &Target, terminals: &[super::env::State]) -> Self {
        let counts = histogram(&target.grid, terminals);
        Self {
            l1: l1_sum(target, &counts),
            jsd: jsd(target, &counts),
            l1_noise_floor: l1_noise_floor(&target.probabilities, terminals.len()),
            samples: terminals.len(),
            counts,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum EvalUpdate {
    /// Share of the work done.
    Progress(f64),
    Done(EvalOutcome),
}

pub struct EvalJob {
    model: Model,
    target: Target,
    exact: Option<ExactDistribution>,
    exact_result: Option<Vec<f64>>,
    terminals: Vec<super::env::State>,
    wanted: usize,
    seed: u32,
    started: Instant,
}

impl Job for EvalJob {
    const KIND: &'static str = "gfn-eval";
    type Spec = EvalSpec;
    type Update = EvalUpdate;
    type Control = ();

    fn start(spec: EvalSpec) -> Result<Self, String> {
        let model = spec.snapshot.model()?;
        let target = Target::enumerate(model.grid, &spec.reward)
            .ok_or("the grid is too large to evaluate against its target")?;
        let exact = (model.grid.n_states() <= MAX_EXACT_STATES)
            .then(|| ExactDistribution::new(model.clone()));
        Ok(Self {
            model,
            target,
            exact,
            exact_result: None,
            terminals: Vec::with_capacity(spec.samples.min(1 << 20)),
            wanted: spec.samples.min(1_000_000),
            seed: spec.seed,
            started: Instant::now(),
        })
    }

    fn step(&mut self, budget: Duration) -> Step<EvalUpdate> {
        let deadline = Instant::now() + budget;
        while let Some(exact) = &mut self.exact
            && self.exact_result.is_none()
            && Instant::now() < deadline
        {
            self.exact_result = exact.advance(EXACT_ROWS_PER_SLICE);
        }
        while self.terminals.len() < self.wanted && Instant::now() < deadline {
            let count = (self.wanted - self.terminals.len()).min(CHUNK / 4);
            let first = self.terminals.len() as u32;
            self.terminals
                .extend(sample_terminals(&self.model, self.seed, first, count));
        }
        let exact_done = self.exact.is_none() || self.exact_result.is_some();
        if !exact_done || self.terminals.len() < self.wanted {
            let exact_share = match (&self.exact, &self.exact_result) {
                (None, _) | (_, Some(_)) => 1.0,
                (Some(exact), None) => exact.fraction(),
            };
            let sample_share = self.terminals.len() as f64 / self.wanted.max(1) as f64;
            return Step::running(EvalUpdate::Progress(0.5 * (exact_share + sample_share)));
        }
        let probabilities = &self.target.probabilities;
        let exact = self.exact_result.as_deref();
        Step::finished(EvalUpdate::Done(EvalOutcome {
            l1_exact: exact.map(|q| l1_between(probabilities, q)),
            jsd_exact: exact.map(|q| jsd_between(probabilities, q)),
            sampled: (self.wanted > 0).then(|| SampledFigures::of(&self.target, &self.terminals)),
            seconds: self.started.elapsed().as_secs_f64(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{Event, JobHandle, poll_until};
    use crate::labs::gflownet::settings::GfnSettings;

    fn small_spec() -> TrainSpec {
        let settings = GfnSettings {
            hidden: 32,
            ..GfnSettings::default()
        };
        TrainSpec {
            grid: settings.grid(),
            reward: settings.reward_spec(),
            config: settings.train_config(),
            eval_every: 64,
        }
    }

    #[test]
    fn the_worker_trains_as_the_trainer_does_and_snapshots_at_eval_points() {
        let spec = small_spec();
        let mut handle = JobHandle::<TrainJob>::default();
        handle.start(&spec, false);
        let mut curve = Vec::new();
        let mut snapshots = Vec::new();
        let take = |events: Vec<Event<TrainUpdate>>,
                    curve: &mut Vec<CurvePoint>,
                    snapshots: &mut Vec<Snapshot>| {
            for event in events {
                let Event::Update(update) = event else {
                    panic!("unexpected {event:?}");
                };
                curve.extend(update.curve);
                snapshots.extend(update.snapshot);
            }
        };
        let events = poll_until(
            &mut handle,
            |e| matches!(e, Event::Update(u) if u.trajectories >= 160),
        );
        take(events, &mut curve, &mut snapshots);
        handle.set_paused(true);
        // The first eval point sends a snapshot; later ones wait until the page's evaluator
        // is free again (as the page says once an evaluation ends).
        assert_eq!(snapshots.len(), 1);
        assert_eq!(snapshots[0].trajectories, 16);
        handle.control(&TrainControl::EvaluatorFree);
        handle.set_paused(false);
        let events = poll_until(
            &mut handle,
            |e| matches!(e, Event::Update(u) if u.snapshot.is_some()),
        );
        take(events, &mut curve, &mut snapshots);
        handle.set_paused(true);
        let second = snapshots[1].trajectories;
        assert!(second >= 160 && second % 16 == 0, "{second}");
        // The same seed trained here, on this thread, gives the same losses, and the same
        // policy at the second snapshot.
        let mut run = TrainingRun::new(spec.grid, spec.reward.clone(), spec.config.clone());
        for point in &curve[..(second / 16) as usize] {
            run.iterate();
            assert_eq!(run.evaluate_cheap().0, point.loss);
        }
        let here = Snapshot::of(&run.trainer.model, run.trainer.trajectories);
        assert_eq!(here.trajectories, second);
        assert_eq!(here.policy_base64, snapshots[1].policy_base64);
        assert_eq!(
            snapshots[1].model().unwrap().policy,
            run.trainer.model.policy
        );
    }

    #[test]
    fn evaluation_in_a_worker_matches_the_run_s_own() {
        let spec = small_spec();
        let mut run = TrainingRun::new(spec.grid, spec.reward.clone(), spec.config.clone());
        for _ in 0..10 {
            run.iterate();
        }
        let mut handle = JobHandle::<EvalJob>::default();
        handle.start(
            &EvalSpec {
                snapshot: Snapshot::of(&run.trainer.model, run.trainer.trajectories),
                reward: spec.reward.clone(),
                samples: 3000,
                seed: 7,
            },
            false,
        );
        let events = poll_until(&mut handle, |e| matches!(e, Event::Finished));
        let outcome = events
            .iter()
            .find_map(|e| match e {
                Event::Update(EvalUpdate::Done(outcome)) => Some(outcome.clone()),
                _ => None,
            })
            .unwrap();
        let direct = run.evaluate(3000);
        assert_eq!(outcome.l1_exact, direct.l1_exact);
        assert_eq!(outcome.jsd_exact, direct.jsd_exact);
        let sampled = outcome.sampled.unwrap();
        assert_eq!(sampled.samples, 3000);
        assert_eq!(sampled.counts.iter().sum::<u32>(), 3000);
        assert!(sampled.l1 > 0.0 && sampled.l1 <= 2.0 && sampled.l1_noise_floor > 0.0);
    }

    #[test]
    fn bad_snapshots_and_specs_are_refused() {
        let spec = small_spec();
        let run = TrainingRun::new(spec.grid, spec.reward.clone(), spec.config.clone());
        let mut snapshot = Snapshot::of(&run.trainer.model, 0);
        snapshot.grid = Hypergrid::new(3, 8);
        assert!(snapshot.model().unwrap_err().contains("does not fit"));
        snapshot.policy_base64.truncate(12);
        assert!(snapshot.model().is_err());
        snapshot.policy_base64 = "not base64!".into();
        assert!(snapshot.model().is_err());
        let mut bad = small_spec();
        bad.grid.ndim = 9;
        assert!(TrainJob::start(bad).err().unwrap().contains("outside"));
    }
}
