//! The OC-GFN view's long work as background jobs (`crate::jobs`): reward-free pre-training
//! (150,000 trajectories) and fine-tuning against training from scratch (three seeds each,
//! with about a hundred reward calls per fine-tuning trajectory). Both run in Web Workers on
//! the web (threads natively); the page draws their curves as they come.

use serde::{Deserialize, Serialize};
use web_time::{Duration, Instant};

use super::env::{Hypergrid, RewardSpec, Target};
use super::finetune::{FineTuneConfig, FineTuner};
use super::metrics::{ModesFound, l1_between};
use super::oc::{OcConfig, OcModel, OcTrainer, success_rate};
use super::sample::exact_terminal_distribution;
use super::train::{TrainConfig, Trainer};
use crate::jobs::{Job, Step, wire};
use crate::nn::Mlp;

/// Trajectories of in-page pre-training (the shipped weights used 150,000).
pub const PRETRAIN_TRAJECTORIES: u64 = 150_000;
pub const COMPARISON_SEEDS: u64 = 3;
/// OC-GFN in the page is limited to grids of at most this many states.
pub const MAX_OC_STATES: usize = 4096;

/// The conditional policy, as it crosses between a worker and the page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OcSnapshot {
    pub grid: Hypergrid,
    /// The network in the weights-file format (f32, exact).
    #[serde(with = "wire::base64")]
    pub net: Vec<u8>,
}

impl OcSnapshot {
    pub fn of(model: &OcModel) -> Self {
        Self {
            grid: model.grid,
            net: model.net.to_bytes(),
        }
    }

    pub fn model(&self) -> Result<OcModel, String> {
        check_grid(&self.grid)?;
        let net = Mlp::from_bytes(&self.net).map_err(|e| e.to_string())?;
        // Inputs and outputs follow from the grid (the hidden sizes may differ).
        let expected = OcModel::new(self.grid, 1, 1, 0);
        if net.spec.inputs != expected.net.spec.inputs
            || net.spec.outputs != expected.net.spec.outputs
        {
            return Err("the OC-GFN network does not fit its grid".into());
        }
        Ok(OcModel {
            grid: self.grid,
            net,
        })
    }
}

fn check_grid(grid: &Hypergrid) -> Result<(), String> {
    if !grid.is_enumerable() || grid.n_states() > MAX_OC_STATES {
        return Err(format!(
            "OC-GFN in the page is limited to grids of at most {MAX_OC_STATES} states"
        ));
    }
    Ok(())
}

fn all_outcomes(grid: Hypergrid) -> Vec<super::env::State> {
    (0..grid.n_states()).map(|i| grid.state(i)).collect()
}

// ---------------------------------------------------------------------------------------------
// Pre-training

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PretrainSpec {
    pub grid: Hypergrid,
    pub seed: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PretrainUpdate {
    pub trajectories: u64,
    /// (trajectories, success rate over every outcome) every 10,000 trajectories.
    pub curve: Vec<(u64, f64)>,
    /// The trained network, once done.
    pub model: Option<OcSnapshot>,
}

pub struct PretrainJob {
    trainer: OcTrainer,
}

impl Job for PretrainJob {
    const KIND: &'static str = "gfn-oc-pretrain";
    type Spec = PretrainSpec;
    type Update = PretrainUpdate;
    type Control = ();

    fn start(spec: PretrainSpec) -> Result<Self, String> {
        check_grid(&spec.grid)?;
        Ok(Self {
            trainer: OcTrainer::new(
                spec.grid,
                OcConfig {
                    teleport: false,
                    seed: spec.seed,
                    ..OcConfig::default()
                },
            ),
        })
    }

    fn step(&mut self, budget: Duration) -> Step<PretrainUpdate> {
        let deadline = Instant::now() + budget;
        let trainer = &mut self.trainer;
        let mut curve = Vec::new();
        while Instant::now() < deadline && trainer.trajectories < PRETRAIN_TRAJECTORIES {
            let loss = trainer.iterate();
            if !loss.is_finite() {
                return Step::failed(format!(
                    "pre-training diverged at {} trajectories",
                    trainer.trajectories
                ));
            }
            if trainer.trajectories % 10_000 < trainer.config.batch as u64 {
                let outcomes = all_outcomes(trainer.model.grid);
                let rate = success_rate(&trainer.model, &outcomes, 12345);
                curve.push((trainer.trajectories, rate));
            }
        }
        let done = trainer.trajectories >= PRETRAIN_TRAJECTORIES;
        let update = PretrainUpdate {
            trajectories: trainer.trajectories,
            curve,
            model: done.then(|| OcSnapshot::of(&trainer.model)),
        };
        Step::new(update, done)
    }
}

// ---------------------------------------------------------------------------------------------
// Fine-tuning against training from scratch

/// Modes found by each seed after `trajectories` training trajectories.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComparisonPoint {
    pub trajectories: u64,
    pub finetuned: Vec<usize>,
    pub scratch: Vec<usize>,
    /// Calls of the reward so far per fine-tuning seed (training from scratch makes one per
    /// trajectory, so its count is `trajectories`).
    pub finetune_reward_evaluations: Vec<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompareSpec {
    pub model: OcSnapshot,
    pub reward: RewardSpec,
    /// Trajectories per seed and method.
    pub limit: u64,
    pub batch: usize,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CompareUpdate {
    pub points: Vec<ComparisonPoint>,
    /// Once finished: per seed, the exact L1 to the target of the fine-tuned policy and of
    /// the one trained from scratch (their exact terminal distributions).
    pub exact_l1: Vec<(f64, f64)>,
}

pub struct CompareJob {
    tuners: Vec<FineTuner>,
    scratch: Vec<(Trainer, ModesFound)>,
    target: Target,
    limit: u64,
}

impl CompareJob {
    fn is_finished(&self) -> bool {
        self.tuners.iter().all(|t| t.trajectories >= self.limit)
    }
}

/// The exploration both methods use, so only the method differs.
pub fn comparison_epsilon() -> f32 {
    FineTuneConfig::default().epsilon
}

impl Job for CompareJob {
    const KIND: &'static str = "gfn-oc-compare";
    type Spec = CompareSpec;
    type Update = CompareUpdate;
    type Control = ();

    fn start(spec: CompareSpec) -> Result<Self, String> {
        let model = spec.model.model()?;
        let grid = model.grid;
        let target = Target::enumerate(grid, &spec.reward).ok_or("no exact target")?;
        if !(1..=256).contains(&spec.batch) || spec.limit == 0 {
            return Err("batch must be 1..=256 and the trajectories positive".into());
        }
        let tuners = (0..COMPARISON_SEEDS)
            .map(|seed| {
                FineTuner::new(
                    model.clone(),
                    spec.reward.clone(),
                    FineTuneConfig {
                        batch: spec.batch,
                        seed,
                        ..FineTuneConfig::default()
                    },
                )
            })
            .collect();
        let scratch = (0..COMPARISON_SEEDS)
            .map(|seed| {
                let trainer = Trainer::new(
                    grid,
                    spec.reward.clone(),
                    TrainConfig {
                        batch: spec.batch,
                        seed,
                        epsilon: comparison_epsilon(),
                        ..TrainConfig::default()
                    },
                );
                (trainer, ModesFound::new(&target))
            })
            .collect();
        Ok(Self {
            tuners,
            scratch,
            target,
            limit: spec.limit,
        })
    }

    fn step(&mut self, budget: Duration) -> Step<CompareUpdate> {
        let deadline = Instant::now() + budget;
        let mut points = Vec::new();
        while Instant::now() < deadline && !self.is_finished() {
            for tuner in &mut self.tuners {
                tuner.iterate();
            }
            for (trainer, modes) in &mut self.scratch {
                trainer.iterate();
                for x in &trainer.last_terminals {
                    modes.record(&self.target, self.target.grid.index(x));
                }
            }
            points.push(ComparisonPoint {
                trajectories: self.tuners.first().map_or(0, |t| t.trajectories),
                finetuned: self
                    .tuners
                    .iter()
                    .map(|t| t.modes.as_ref().map_or(0, |m| m.count))
                    .collect(),
                scratch: self.scratch.iter().map(|(_, m)| m.count).collect(),
                finetune_reward_evaluations: self
                    .tuners
                    .iter()
                    .map(|t| t.reward_evaluations)
                    .collect(),
            });
        }
        if !self.is_finished() {
            return Step::running(CompareUpdate {
                points,
                exact_l1: Vec::new(),
            });
        }
        let l1 = |d: &[f64]| l1_between(&self.target.probabilities, d);
        let exact_l1 = self
            .tuners
            .iter()
            .zip(&self.scratch)
            .map(|(t, (s, _))| {
                (
                    l1(&t.exact_distribution()),
                    l1(&exact_terminal_distribution(&s.model)),
                )
            })
            .collect();
        Step::finished(CompareUpdate { points, exact_l1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{Event, JobHandle, poll_until};

    #[test]
    fn snapshots_round_trip_and_misfits_are_refused() {
        let grid = Hypergrid::new(2, 4);
        let c = OcConfig::default();
        let model = OcModel::new(grid, c.hidden, c.layers, c.seed);
        let back = OcSnapshot::of(&model).model().unwrap();
        assert_eq!(back.net, model.net);
        let mut wrong = OcSnapshot::of(&model);
        wrong.grid = Hypergrid::new(2, 5);
        assert!(wrong.model().is_err());
        wrong.grid = Hypergrid::new(4, 64);
        assert!(wrong.model().unwrap_err().contains("4096"));
    }

    /// The comparison in a worker: curves for every seed, modes counted within the target's,
    /// and the exact L1 of each seed's policies at the end.
    #[test]
    fn the_comparison_runs_in_a_worker_to_its_end() {
        let grid = Hypergrid::new(2, 4);
        let reward = RewardSpec::Standard {
            r0: 0.01,
            r1: 0.5,
            r2: 2.0,
        };
        let mut handle = JobHandle::<CompareJob>::default();
        handle.start(
            &CompareSpec {
                model: OcSnapshot::of(&OcModel::new(grid, 32, 2, 1)),
                reward: reward.clone(),
                limit: 64,
                batch: 16,
            },
            false,
        );
        let mut points = Vec::new();
        let mut exact = Vec::new();
        for event in poll_until(&mut handle, |e| matches!(e, Event::Finished)) {
            if let Event::Update(update) = event {
                points.extend(update.points);
                exact.extend(update.exact_l1);
            }
        }
        let modes = Target::enumerate(grid, &reward).unwrap().mode_count;
        assert_eq!(points.last().unwrap().trajectories, 64);
        assert!(points.iter().all(|p| {
            p.finetuned.len() == 3 && p.finetuned.iter().chain(&p.scratch).all(|&m| m <= modes)
        }));
        assert_eq!(exact.len(), 3);
        assert!(
            exact
                .iter()
                .all(|&(a, b)| (0.0..=2.0).contains(&a) && (0.0..=2.0).contains(&b))
        );
    }
}
