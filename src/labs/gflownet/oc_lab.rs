//! The OC-GFN part of the page: the pre-trained conditional policy (shipped or trained here),
//! conditioned sampling towards a clicked cell, the exact conversion check, and fine-tuning
//! against training from scratch. Pre-training and the comparison run in background jobs
//! (`oc_jobs.rs`); the page keeps what they report.

use web_time::Duration;

use super::env::{Hypergrid, RewardSpec, State, Target};
use super::oc::{OcModel, conditioned_paths, exact_conversion, success_rate};
pub use super::oc_jobs::{COMPARISON_SEEDS, ComparisonPoint, PRETRAIN_TRAJECTORIES};
use super::oc_jobs::{
    CompareJob, CompareSpec, MAX_OC_STATES, OcSnapshot, PretrainJob, PretrainSpec,
    comparison_epsilon,
};
use super::oc_weights::{self, Shipped};

/// Outcomes the page's success rate is measured on, at most (it runs in the frame).
pub const SUCCESS_OUTCOMES: usize = 256;

/// The largest grid whose exact conversion the page computes (in the frame, cached per
/// reward): it sums over every reachable outcome of every state, seconds in wasm on 4D H=8.
pub const EXACT_CONVERSION_MAX_STATES: usize = 1024;
use super::sample::terminal_distribution;
use crate::jobs::{Event, JobHandle};

/// The comparison as the page sees it: what its job reported.
pub struct Comparison {
    pub target: Target,
    pub limit: u64,
    /// Trajectories per seed and method so far.
    pub trajectories: u64,
    pub epsilon: f32,
    pub curve: Vec<ComparisonPoint>,
    /// Once finished: per seed, the exact L1 to the target of the fine-tuned policy and of
    /// the one trained from scratch (their exact terminal distributions).
    pub exact_l1: Vec<(f64, f64)>,
    pub finished: bool,
    pub error: Option<String>,
}

impl Comparison {
    pub fn is_finished(&self) -> bool {
        self.finished || self.error.is_some()
    }
}

/// Pre-training as the page sees it.
pub struct Pretraining {
    pub trajectories: u64,
}

pub struct OcState {
    pub grid: Hypergrid,
    pub model: Option<OcModel>,
    pub source: String,
    /// The shipped weights are still being fetched (web).
    fetching: bool,
    pub pretraining: Option<Pretraining>,
    /// (trajectories, success rate) during in-page pre-training.
    pub pretrain_curve: Vec<(u64, f64)>,
    pub success: Option<f64>,
    /// How many outcomes `success` was measured on (all of them on small grids).
    pub success_outcomes: usize,
    pub conditioned: Vec<Vec<State>>,
    pub conditioned_success: Option<f64>,
    pub exact_l1: Option<(String, f64)>,
    pub comparison: Option<Comparison>,
    pub job_error: Option<String>,
    pretrain_job: JobHandle<PretrainJob>,
    compare_job: JobHandle<CompareJob>,
}

impl OcState {
    /// Loads the shipped weights for `grid` if there are any (instant where they are compiled
    /// in; the fetched ones arrive in `work`).
    pub fn new(grid: Hypergrid) -> Self {
        let mut state = Self {
            grid,
            model: None,
            source: String::new(),
            fetching: false,
            pretraining: None,
            pretrain_curve: Vec::new(),
            success: None,
            success_outcomes: 0,
            conditioned: Vec::new(),
            conditioned_success: None,
            exact_l1: None,
            comparison: None,
            job_error: None,
            pretrain_job: JobHandle::default(),
            compare_job: JobHandle::default(),
        };
        state.take_shipped();
        state
    }

    /// Takes the shipped network's state: the model once it is at hand, the reason if it
    /// failed to load.
    fn take_shipped(&mut self) {
        self.fetching = false;
        match oc_weights::load_shipped(self.grid) {
            Shipped::Ready(net) => {
                self.model = Some(OcModel {
                    grid: self.grid,
                    net,
                });
                self.source = "shipped pre-trained weights (assets/gfn)".to_owned();
                self.measure_success();
            }
            Shipped::Loading => {
                self.fetching = true;
                self.source = "fetching the shipped pre-trained weights…".to_owned();
            }
            Shipped::Failed(why) => {
                self.source = "shipped weights did not load: pre-train here".to_owned();
                self.job_error = Some(why);
            }
            Shipped::None => {
                self.source = "no shipped weights for this grid: pre-train here".to_owned();
            }
        }
    }

    fn all_outcomes(&self) -> Vec<State> {
        (0..self.grid.n_states())
            .map(|i| self.grid.state(i))
            .collect()
    }

    /// The success rate over every outcome, or on larger grids over `SUCCESS_OUTCOMES` evenly
    /// spread ones: it runs in the frame, and all 4,096 of 4D H=8 would stall it for seconds.
    fn measure_success(&mut self) {
        if let Some(model) = &self.model
            && self.grid.n_states() <= MAX_OC_STATES
        {
            let all = self.all_outcomes();
            let stride = all.len().div_ceil(SUCCESS_OUTCOMES).max(1);
            let outcomes: Vec<State> = all.into_iter().step_by(stride).collect();
            self.success = Some(success_rate(model, &outcomes, 12345));
            self.success_outcomes = outcomes.len();
        }
    }

    pub fn start_pretraining(&mut self, seed: u64) {
        self.pretrain_job.start(
            &PretrainSpec {
                grid: self.grid,
                seed,
            },
            false,
        );
        self.pretraining = Some(Pretraining { trajectories: 0 });
        self.pretrain_curve.clear();
        self.job_error = None;
    }

    /// Takes the jobs' news; whether one is still running. `budget` is only spent where no
    /// worker could start.
    pub fn work(&mut self, budget: Duration) -> bool {
        if self.fetching {
            self.take_shipped();
        }
        for event in self.pretrain_job.poll(budget / 2) {
            match event {
                Event::Update(update) => {
                    if let Some(p) = &mut self.pretraining {
                        p.trajectories = update.trajectories;
                    }
                    self.pretrain_curve.extend(update.curve);
                    if let Some(snapshot) = update.model {
                        self.take_pretrained(&snapshot, update.trajectories);
                    }
                }
                Event::Finished => {}
                Event::Failed(why) => {
                    self.pretraining = None;
                    self.job_error = Some(why);
                }
            }
        }
        if let Some(cmp) = &mut self.comparison {
            for event in self.compare_job.poll(budget / 2) {
                match event {
                    Event::Update(update) => {
                        if let Some(last) = update.points.last() {
                            cmp.trajectories = last.trajectories;
                        }
                        cmp.curve.extend(update.points);
                        cmp.exact_l1.extend(update.exact_l1);
                    }
                    Event::Finished => cmp.finished = true,
                    Event::Failed(why) => cmp.error = Some(why),
                }
            }
        }
        self.is_busy()
    }

    /// Whether something is under way that the page must keep repainting for: the shipped
    /// weights' fetch (nothing else would wake the page when they arrive), pre-training, the
    /// comparison.
    pub fn is_busy(&self) -> bool {
        self.fetching
            || self.pretraining.is_some()
            || self.comparison.as_ref().is_some_and(|c| !c.is_finished())
    }

    fn take_pretrained(&mut self, snapshot: &OcSnapshot, trajectories: u64) {
        self.pretraining = None;
        match snapshot.model() {
            Ok(model) => {
                self.model = Some(model);
                self.source = format!("pre-trained in this page ({trajectories} trajectories)");
                self.measure_success();
                self.exact_l1 = None;
            }
            Err(e) => self.job_error = Some(format!("unreadable pre-trained network: {e}")),
        }
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
        if self.grid.n_states() > EXACT_CONVERSION_MAX_STATES {
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
        self.compare_job.start(
            &CompareSpec {
                model: OcSnapshot::of(model),
                reward: reward.clone(),
                limit,
                batch,
            },
            false,
        );
        self.comparison = Some(Comparison {
            target,
            limit,
            trajectories: 0,
            epsilon: comparison_epsilon(),
            curve: Vec::new(),
            exact_l1: Vec::new(),
            finished: false,
            error: None,
        });
    }
}
