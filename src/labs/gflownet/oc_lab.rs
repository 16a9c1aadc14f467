//! The OC-GFN part of the page: the pre-trained conditional policy (shipped or trained here),
//! conditioned sampling towards a clicked cell, the exact conversion check, and fine-tuning
//! against training from scratch, advanced in frame slices.

use web_time::{Duration, Instant};

use super::env::{Hypergrid, RewardSpec, State, Target};
use super::finetune::{FineTuneConfig, FineTuner};
use super::metrics::ModesFound;
use super::metrics::l1_between;
use super::oc::{OcConfig, OcModel, OcTrainer, conditioned_paths, exact_conversion, success_rate};
use super::oc_weights;
use super::sample::terminal_distribution;
use super::train::{TrainConfig, Trainer};

/// Trajectories of in-page pre-training (the shipped weights used 150,000).
pub const PRETRAIN_TRAJECTORIES: u64 = 150_000;
pub const COMPARISON_SEEDS: u64 = 3;

/// Modes found by each seed after `trajectories` training trajectories.
pub struct ComparisonPoint {
    pub trajectories: u64,
    pub finetuned: Vec<usize>,
    pub scratch: Vec<usize>,
    /// Calls of the reward so far per fine-tuning seed (training from scratch makes one per
    /// trajectory, so its count is `trajectories`).
    pub finetune_reward_evaluations: Vec<u64>,
}

pub struct Comparison {
    pub tuners: Vec<FineTuner>,
    pub scratch: Vec<(Trainer, ModesFound)>,
    pub target: Target,
    pub limit: u64,
    pub curve: Vec<ComparisonPoint>,
    /// Once finished: per seed, the exact L1 to the target of the fine-tuned policy and of
    /// the one trained from scratch (their exact terminal distributions).
    pub exact_l1: Vec<(f64, f64)>,
}

impl Comparison {
    pub fn is_finished(&self) -> bool {
        self.tuners.iter().all(|t| t.trajectories >= self.limit)
    }
}

pub struct OcState {
    pub grid: Hypergrid,
    pub model: Option<OcModel>,
    pub source: String,
    pub pretraining: Option<OcTrainer>,
    /// (trajectories, success rate) during in-page pre-training.
    pub pretrain_curve: Vec<(u64, f64)>,
    pub success: Option<f64>,
    pub conditioned: Vec<Vec<State>>,
    pub conditioned_success: Option<f64>,
    pub exact_l1: Option<(String, f64)>,
    pub comparison: Option<Comparison>,
}

impl OcState {
    /// Loads the shipped weights for `grid` if there are any (instant).
    pub fn new(grid: Hypergrid) -> Self {
        let model = oc_weights::shipped(grid).map(|net| OcModel { grid, net });
        let source = if model.is_some() {
            "shipped pre-trained weights (assets/gfn), loaded at start".to_owned()
        } else {
            "no shipped weights for this grid: pre-train here".to_owned()
        };
        let mut state = Self {
            grid,
            model,
            source,
            pretraining: None,
            pretrain_curve: Vec::new(),
            success: None,
            conditioned: Vec::new(),
            conditioned_success: None,
            exact_l1: None,
            comparison: None,
        };
        state.measure_success();
        state
    }

    fn all_outcomes(&self) -> Vec<State> {
        (0..self.grid.n_states())
            .map(|i| self.grid.state(i))
            .collect()
    }

    fn measure_success(&mut self) {
        if let Some(model) = &self.model
            && self.grid.n_states() <= 4096
        {
            self.success = Some(success_rate(model, &self.all_outcomes(), 12345));
        }
    }

    pub fn start_pretraining(&mut self, seed: u64) {
        self.pretraining = Some(OcTrainer::new(
            self.grid,
            OcConfig {
                teleport: false,
                seed,
                ..OcConfig::default()
            },
        ));
        self.pretrain_curve.clear();
    }

    /// Advances pre-training and the comparison within `budget`.
    pub fn work(&mut self, budget: Duration) -> bool {
        let deadline = Instant::now() + budget;
        let mut busy = false;
        if let Some(trainer) = &mut self.pretraining {
            busy = true;
            while Instant::now() < deadline && trainer.trajectories < PRETRAIN_TRAJECTORIES {
                trainer.iterate();
                if trainer.trajectories % 10_000 < trainer.config.batch as u64 {
                    let rate = success_rate(
                        &trainer.model,
                        &(0..self.grid.n_states())
                            .map(|i| self.grid.state(i))
                            .collect::<Vec<_>>(),
                        12345,
                    );
                    self.pretrain_curve.push((trainer.trajectories, rate));
                }
            }
            if trainer.trajectories >= PRETRAIN_TRAJECTORIES {
                let done = trainer.trajectories;
                self.model = self.pretraining.take().map(|t| t.model);
                self.source = format!("pre-trained in this page ({done} trajectories)");
                self.measure_success();
                self.exact_l1 = None;
            }
        }
        if let Some(cmp) = &mut self.comparison
            && !cmp.is_finished()
        {
            busy = true;
            while Instant::now() < deadline && !cmp.is_finished() {
                for tuner in &mut cmp.tuners {
                    tuner.iterate();
                }
                for (trainer, modes) in &mut cmp.scratch {
                    trainer.iterate();
                    for x in &trainer.last_terminals {
                        modes.record(&cmp.target, cmp.target.grid.index(x));
                    }
                }
                let t = cmp.tuners.first().map_or(0, |t| t.trajectories);
                cmp.curve.push(ComparisonPoint {
                    trajectories: t,
                    finetuned: cmp
                        .tuners
                        .iter()
                        .map(|t| t.modes.as_ref().map_or(0, |m| m.count))
                        .collect(),
                    scratch: cmp.scratch.iter().map(|(_, m)| m.count).collect(),
                    finetune_reward_evaluations: cmp
                        .tuners
                        .iter()
                        .map(|t| t.reward_evaluations)
                        .collect(),
                });
            }
            if cmp.is_finished() {
                let l1 = |d: &[f64]| l1_between(&cmp.target.probabilities, d);
                cmp.exact_l1 = cmp
                    .tuners
                    .iter()
                    .zip(&cmp.scratch)
                    .map(|(t, (s, _))| {
                        (
                            l1(&t.exact_distribution()),
                            l1(&super::sample::exact_terminal_distribution(&s.model)),
                        )
                    })
                    .collect();
            }
        }
        busy
    }

    /// Draws `count` rollouts conditioned on `y` and measures how many end there.
    pub fn condition_on(&mut self, y: State, count: usize, seed: u32) {
        let Some(model) = &self.model else {
            return;
        };
        let outcomes = vec![y; count];
        let paths = conditioned_paths(model, &outcomes, seed);
        let hits = paths.iter().filter(|p| p.last() == Some(&y)).count();
        self.conditioned_success = Some(hits as f64 / count.max(1) as f64);
        self.conditioned = paths;
    }

    /// L1 between the exact conversion's terminal distribution and the target (cached per
    /// reward).
    pub fn exact_conversion_l1(&mut self, reward: &RewardSpec) -> Option<f64> {
        let key = format!("{reward:?}");
        if let Some((k, l1)) = &self.exact_l1
            && *k == key
        {
            return Some(*l1);
        }
        let model = self.model.as_ref()?;
        if self.grid.n_states() > 4096 {
            return None;
        }
        let target = Target::enumerate(self.grid, reward)?;
        let log_probs = exact_conversion(model, reward);
        let exact = terminal_distribution(&self.grid, &log_probs, self.grid.n_actions());
        let l1 = exact
            .iter()
            .zip(&target.probabilities)
            .map(|(a, b)| (a - b).abs())
            .sum();
        self.exact_l1 = Some((key, l1));
        Some(l1)
    }

    pub fn start_comparison(&mut self, reward: &RewardSpec, limit: u64, batch: usize) {
        let (Some(model), Some(target)) = (&self.model, Target::enumerate(self.grid, reward))
        else {
            return;
        };
        let tuners = (0..COMPARISON_SEEDS)
            .map(|seed| {
                FineTuner::new(
                    model.clone(),
                    reward.clone(),
                    FineTuneConfig {
                        batch,
                        seed,
                        ..FineTuneConfig::default()
                    },
                )
            })
            .collect();
        let scratch = (0..COMPARISON_SEEDS)
            .map(|seed| {
                // The same exploration as the fine-tuning, so only the method differs.
                let trainer = Trainer::new(
                    self.grid,
                    reward.clone(),
                    TrainConfig {
                        batch,
                        seed,
                        epsilon: FineTuneConfig::default().epsilon,
                        ..TrainConfig::default()
                    },
                );
                (trainer, ModesFound::new(&target))
            })
            .collect();
        self.comparison = Some(Comparison {
            tuners,
            scratch,
            target,
            limit,
            curve: Vec::new(),
            exact_l1: Vec::new(),
        });
    }
}
