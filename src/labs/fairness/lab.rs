//! The page's work: records and P(S, Z, Y) from the scenario (or the shipped ADULT census
//! tables, with their model's predictions), the federated model trained round by round, the AGLFOP frontier and curves solved in background jobs (Web Workers), and
//! the decompositions of the labels and of the model.

use serde::{Deserialize, Serialize};
use web_time::{Duration, Instant};

use super::aglfop::{self, Budget, Data, ModelRoc, Optimum, Scores};
use super::data::{Dataset, Scenario, generate, generate_held_out};
use super::fedavg::FedAvg;
use super::info::Joint3;
use super::pid::{Pid, broja};
use super::settings::FairnessSettings;
use crate::jobs::{Event, Job, JobHandle, Step};

/// AGLFOP programs to solve, and their results in order. The solving runs in a background job
/// (`SolveJob`: a Web Worker on the web, a thread natively), started by the first `work`.
pub struct SolveQueue {
    pub budgets: Vec<(Budget, Budget)>,
    /// The model whose post-processings the programs are restricted to (the model-specific
    /// variant), or `None` for AGLFOP itself.
    pub roc: Option<ModelRoc>,
    pub results: Vec<Result<Optimum, String>>,
    /// Time spent solving so far (in the worker).
    pub solve_time: Duration,
    /// From the start to the last result (wall clock).
    pub started: Option<Instant>,
    pub finished_after: Option<Duration>,
    /// Why solving stopped short, if it did.
    pub error: Option<String>,
    job: JobHandle<SolveJob>,
}

impl SolveQueue {
    pub fn new(budgets: Vec<(Budget, Budget)>) -> Self {
        Self {
            budgets,
            roc: None,
            results: Vec::new(),
            solve_time: Duration::ZERO,
            started: None,
            finished_after: None,
            error: None,
            job: JobHandle::default(),
        }
    }

    pub fn done(&self) -> bool {
        self.results.len() >= self.budgets.len() || self.error.is_some()
    }

    pub fn fraction(&self) -> f64 {
        self.results.len() as f64 / self.budgets.len().max(1) as f64
    }

    /// Starts the job on `data` the first time; then takes its results. `budget` is only spent
    /// where no worker could start.
    pub fn work(&mut self, data: &Data, budget: Duration) {
        if self.started.is_none() {
            self.started = Some(Instant::now());
            self.job.start(
                &SolveSpec {
                    data: data.clone(),
                    budgets: self.budgets.clone(),
                    roc: self.roc,
                },
                false,
            );
        }
        for event in self.job.poll(budget) {
            match event {
                Event::Update(update) => {
                    self.results.extend(update.results);
                    self.solve_time = Duration::from_secs_f64(update.solve_seconds);
                }
                Event::Finished => {}
                Event::Failed(why) => self.error = Some(why),
            }
        }
        if self.done()
            && self.finished_after.is_none()
            && let Some(started) = self.started
        {
            self.finished_after = Some(started.elapsed());
        }
    }

    pub fn accuracy(&self, i: usize) -> Option<f64> {
        self.results
            .get(i)
            .and_then(|r| r.as_ref().ok())
            .map(|o| o.scores.accuracy)
    }

    pub fn failures(&self) -> usize {
        self.results.iter().filter(|r| r.is_err()).count()
    }

    /// Whether the programs are solved in a worker (not in the page's frames).
    pub fn in_worker(&self) -> bool {
        self.job.fallback_reason().is_none()
    }
}

/// A list of AGLFOP programs (or their model-specific variant) on one distribution.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SolveSpec {
    pub data: Data,
    pub budgets: Vec<(Budget, Budget)>,
    pub roc: Option<ModelRoc>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SolveUpdate {
    /// Results since the last update, in the programs' order.
    pub results: Vec<Result<Optimum, String>>,
    pub solve_seconds: f64,
}

/// Solves the programs in order, a few per step.
pub struct SolveJob {
    spec: SolveSpec,
    next: usize,
    solve_seconds: f64,
}

impl Job for SolveJob {
    const KIND: &'static str = "fairness-aglfop";
    type Spec = SolveSpec;
    type Update = SolveUpdate;
    type Control = ();

    fn start(spec: SolveSpec) -> Result<Self, String> {
        // The page's own distribution, checked again as any message is.
        Data::new(spec.data.clients, spec.data.p.clone())?;
        Ok(Self {
            spec,
            next: 0,
            solve_seconds: 0.0,
        })
    }

    fn step(&mut self, budget: Duration) -> Step<SolveUpdate> {
        let deadline = Instant::now() + budget;
        let mut results = Vec::new();
        // At least one program per step, so progress never stalls.
        while let Some(&(g, l)) = self.spec.budgets.get(self.next) {
            let t0 = Instant::now();
            results.push(match &self.spec.roc {
                Some(roc) => aglfop::solve_model_specific(&self.spec.data, g, l, roc),
                None => aglfop::solve(&self.spec.data, g, l),
            });
            self.solve_seconds += t0.elapsed().as_secs_f64();
            self.next += 1;
            if Instant::now() >= deadline {
                break;
            }
        }
        let update = SolveUpdate {
            results,
            solve_seconds: self.solve_seconds,
        };
        Step::new(update, self.next >= self.spec.budgets.len())
    }
}

/// The records of the current scenario and what follows from them alone.
pub struct DataState {
    pub key: String,
    /// The records the model trains on and the programs are written for.
    pub dataset: Dataset,
    /// An independent draw of the scenario, never trained on: the model's held-out scores.
    pub held_out: Dataset,
    pub data: Data,
    /// Largest useful budgets: the disparities of Yhat = Y (bits).
    pub max_global: f64,
    pub max_local: f64,
    /// PID of the labels: target Z, sources (Y, S).
    pub pid_labels: Result<Pid, String>,
    pub pid_labels_time: Duration,
    pub grid: u32,
    pub frontier: SolveQueue,
    pub curves_key: (u32, u64, u64),
    pub curves: SolveQueue,
    /// The same curves, model-specific: built once the model is trained, for its rates.
    pub model_specific_curves: Option<SolveQueue>,
    /// The census scenarios' model, trained offline: its joints P(S, Z, Y, Yhat) on the
    /// training and held-out records (no FedAvg runs for them).
    pub shipped_model: Option<[Vec<f64>; 2]>,
    /// Why a census scenario's tables could not be read (the paper's synergy split shown
    /// instead).
    pub tables_error: Option<String>,
}

/// P(S, Z, Y) of a census scenario's training records, and its model's joints on the training
/// and held-out records.
type CensusTables = (Data, [Vec<f64>; 2]);

/// A census scenario's shipped tables; `None` for the generated scenarios.
fn census_tables(scenario: Scenario) -> Option<Result<CensusTables, String>> {
    let [train, held_out] = scenario.adult_tables()?;
    let read = |text: &str| -> Result<(Data, Vec<f64>), String> {
        let (data, joint) = super::table::client_tables(&super::table::parse(text)?)?;
        Ok((data, joint.ok_or("the table has no yhat column")?))
    };
    Some(read(train).and_then(|(data, joint)| Ok((data, [joint, read(held_out)?.1]))))
}

/// The budgets of the frontier grid, row-major (row = local budget, column = global budget).
pub fn grid_budget(max: f64, n: u32, i: usize) -> f64 {
    max * i as f64 / (n.max(2) - 1) as f64
}

fn frontier_queue(max_global: f64, max_local: f64, n: u32) -> SolveQueue {
    let mut budgets = Vec::new();
    for r in 0..n as usize {
        for c in 0..n as usize {
            budgets.push((
                Some(grid_budget(max_global, n, c)),
                Some(grid_budget(max_local, n, r)),
            ));
        }
    }
    SolveQueue::new(budgets)
}

/// First N: global budget varies, local fixed; next N: local varies, global fixed.
fn curves_queue(s: &FairnessSettings, max_global: f64, max_local: f64) -> SolveQueue {
    let n = s.grid as usize;
    let fixed_local = Some(s.fix_local * max_local);
    let fixed_global = Some(s.fix_global * max_global);
    let mut budgets: Vec<(Budget, Budget)> = (0..n)
        .map(|i| (Some(grid_budget(max_global, s.grid, i)), fixed_local))
        .collect();
    budgets.extend((0..n).map(|i| (fixed_global, Some(grid_budget(max_local, s.grid, i)))));
    SolveQueue::new(budgets)
}

/// PID of I(Z; (V, S)) for a joint laid out [((s * 2 + z) * 2 + y) * 2 + yhat], with V the
/// label (`use_label`) or the prediction.
pub fn pid_of(clients: usize, joint: &[f64], use_label: bool) -> Result<Pid, String> {
    let mut p = Joint3::zeros([2, 2, clients]);
    for s in 0..clients {
        for z in 0..2 {
            for y in 0..2 {
                for yhat in 0..2 {
                    let v = if use_label { y } else { yhat };
                    p.add(z, v, s, joint[((s * 2 + z) * 2 + y) * 2 + yhat]);
                }
            }
        }
    }
    broja(&p)
}

/// What the current model gives.
pub struct ModelView {
    /// On the training records.
    pub scores: Scores,
    pub pid: Result<Pid, String>,
    /// On the held-out records.
    pub held_out_scores: Scores,
    pub held_out_pid: Result<Pid, String>,
    /// AGLFOP at the model's own disparities: an upper bound on any classifier there.
    pub limit: Result<Optimum, String>,
    /// The model-specific optimum there: the best post-processing of this model.
    pub limit_model_specific: Result<Optimum, String>,
    pub roc: ModelRoc,
}

#[derive(Default)]
pub struct LabState {
    pub data: Option<DataState>,
    pub model_key: String,
    pub model: Option<FedAvg>,
    pub model_view: Option<ModelView>,
}

impl LabState {
    /// Rebuilds what the settings changed.
    pub fn sync(&mut self, s: &FairnessSettings) {
        let key = s.data_key();
        if self.data.as_ref().is_none_or(|d| d.key != key) {
            let (scenario, census, tables_error) = match census_tables(s.scenario) {
                None => (s.scenario, None, None),
                Some(Ok(census)) => (s.scenario, Some(census), None),
                Some(Err(e)) => (Scenario::Synergy, None, Some(e)),
            };
            let dataset = generate(
                scenario,
                s.samples as usize,
                s.alpha,
                &s.custom_clients(),
                s.seed,
            );
            let held_out = generate_held_out(
                scenario,
                s.samples as usize,
                s.alpha,
                &s.custom_clients(),
                s.seed,
            );
            let (data, shipped_model) = match census {
                Some((data, joints)) => (data, Some(joints)),
                None => (dataset.distribution(), None),
            };
            let (max_global, max_local) = aglfop::max_budgets(&data);
            let labels = data.with_predictions(|_, _, y| y as f64);
            let t0 = Instant::now();
            let pid_labels = pid_of(data.clients, &labels, true);
            self.data = Some(DataState {
                key,
                pid_labels,
                pid_labels_time: t0.elapsed(),
                frontier: frontier_queue(max_global, max_local, s.grid),
                grid: s.grid,
                curves_key: (s.grid, s.fix_global.to_bits(), s.fix_local.to_bits()),
                curves: curves_queue(s, max_global, max_local),
                model_specific_curves: None,
                shipped_model,
                tables_error,
                dataset,
                held_out,
                data,
                max_global,
                max_local,
            });
            self.model_key.clear();
        }
        if let Some(d) = &mut self.data {
            if d.grid != s.grid {
                d.grid = s.grid;
                d.frontier = frontier_queue(d.max_global, d.max_local, s.grid);
            }
            let curves_key = (s.grid, s.fix_global.to_bits(), s.fix_local.to_bits());
            if d.curves_key != curves_key {
                d.curves_key = curves_key;
                d.curves = curves_queue(s, d.max_global, d.max_local);
                d.model_specific_curves = None;
            }
        }
        let model_key = s.model_key();
        if self.model_key != model_key {
            self.model_key = model_key;
            self.model = Some(FedAvg::new(s.train_config()));
            self.model_view = None;
            if let Some(d) = &mut self.data {
                d.model_specific_curves = None;
                if let Some([train, held_out]) = &d.shipped_model {
                    // A few milliseconds: two PIDs and two programs.
                    self.model = None;
                    self.model_view = Some(view_of(train, held_out, &d.data));
                }
            }
        }
    }

    pub fn retrain(&mut self) {
        self.model_key.clear();
    }

    /// Advances training, then the model's evaluation, then the frontier and the curves, until
    /// `budget` is spent.
    pub fn work(&mut self, budget: Duration) {
        let deadline = Instant::now() + budget;
        let Some(d) = &mut self.data else {
            return;
        };
        if let Some(model) = &mut self.model {
            while !model.done() && Instant::now() < deadline {
                model.round(&d.dataset);
            }
            if model.done() && self.model_view.is_none() {
                self.model_view = Some(evaluate(model, d));
            }
        }
        if let Some(view) = &self.model_view
            && d.model_specific_curves.is_none()
        {
            let mut queue = SolveQueue::new(d.curves.budgets.clone());
            queue.roc = Some(view.roc);
            d.model_specific_curves = Some(queue);
        }
        // The programs are solved in workers; these only start them and take their results
        // (the budget is spent only where no worker could start).
        let left = deadline.saturating_duration_since(Instant::now());
        if !d.frontier.done() {
            d.frontier.work(&d.data, left / 3);
        }
        if !d.curves.done() {
            d.curves.work(&d.data, left / 3);
        }
        if let Some(queue) = &mut d.model_specific_curves
            && !queue.done()
        {
            queue.work(&d.data, left / 3);
        }
    }

    pub fn is_busy(&self) -> bool {
        self.model.as_ref().is_some_and(|m| !m.done())
            || self.model_view.is_none()
            || self.data.as_ref().is_some_and(|d| {
                !d.frontier.done()
                    || !d.curves.done()
                    || d.model_specific_curves.as_ref().is_none_or(|q| !q.done())
            })
    }

    pub fn status_json(&self) -> serde_json::Value {
        let pid_json = |p: &Result<Pid, String>| match p {
            Ok(p) => serde_json::json!({
                "unique": p.unique_a, "unique_client": p.unique_b,
                "redundant": p.redundant, "masked": p.synergistic,
                "global": p.mi_a, "local": p.unique_a + p.synergistic,
            }),
            Err(e) => serde_json::json!({ "error": e }),
        };
        let Some(d) = &self.data else {
            return serde_json::json!({});
        };
        let config = self.model.as_ref().map(|m| m.config);
        let model = self.model_view.as_ref().map(|m| {
            serde_json::json!({
                "lambda_global": config.map(|c| c.lambda_global),
                "lambda_local": config.map(|c| c.lambda_local),
                "accuracy": m.scores.accuracy,
                "global_disparity": m.scores.global_disparity,
                "local_disparity": m.scores.local_disparity,
                "pid": pid_json(&m.pid),
                "held_out": {
                    "accuracy": m.held_out_scores.accuracy,
                    "global_disparity": m.held_out_scores.global_disparity,
                    "local_disparity": m.held_out_scores.local_disparity,
                    "pid": pid_json(&m.held_out_pid),
                },
                "best_accuracy_at_model_budgets": m.limit.as_ref().ok().map(|o| o.scores.accuracy),
                "best_post_processing_at_model_budgets": m.limit_model_specific.as_ref().ok().map(|o| o.scores.accuracy),
            })
        });
        serde_json::json!({
            "max_global": d.max_global,
            "max_local": d.max_local,
            "labels_pid": pid_json(&d.pid_labels),
            "labels_pid_ms": d.pid_labels_time.as_secs_f64() * 1e3,
            "model": model,
            "frontier_in_worker": d.frontier.in_worker(),
            "frontier_error": d.frontier.error,
            "frontier_cells": d.frontier.budgets.len(),
            "frontier_solved": d.frontier.results.len(),
            "frontier_failures": d.frontier.failures(),
            "frontier_solve_ms": d.frontier.solve_time.as_secs_f64() * 1e3,
            "frontier_wall_ms": d.frontier.finished_after.map(|t| t.as_secs_f64() * 1e3),
            "curves_solved": d.curves.results.len(),
            "model_specific_curves_solved": d.model_specific_curves.as_ref().map(|q| q.results.len()),
        })
    }
}

/// The trained model on the training and held-out records, and both limits at its disparities.
fn evaluate(model: &FedAvg, d: &DataState) -> ModelView {
    view_of(&model.joint(&d.dataset), &model.joint(&d.held_out), &d.data)
}

/// A model's view from its joints P(S, Z, Y, Yhat) on the training and held-out records.
fn view_of(joint: &[f64], held_out: &[f64], data: &Data) -> ModelView {
    let clients = data.clients;
    let at = aglfop::at_model(data, joint);
    ModelView {
        scores: at.scores,
        pid: pid_of(clients, joint, false),
        held_out_scores: aglfop::scores(clients, held_out),
        held_out_pid: pid_of(clients, held_out, false),
        limit: at.upper_bound,
        limit_model_specific: at.best_post_processing,
        roc: at.roc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::fairness::data::Scenario;

    /// The whole page pipeline on degenerate data (one client, empty groups, constant labels)
    /// and on every scenario: everything finishes, nothing is NaN, no program fails.
    fn d_errors(state: &LabState) -> Vec<String> {
        let Some(d) = &state.data else {
            return vec!["no data".into()];
        };
        [
            Some(&d.frontier),
            Some(&d.curves),
            d.model_specific_curves.as_ref(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|q| q.error.clone())
        .collect()
    }

    #[test]
    fn every_scenario_and_degenerate_clients_finish_cleanly() {
        let mut cases: Vec<FairnessSettings> = Scenario::ALL
            .iter()
            .map(|&scenario| FairnessSettings {
                scenario,
                grid: 4,
                rounds: 5,
                ..FairnessSettings::default()
            })
            .collect();
        for clients in [
            "1:0:1",
            "1:1:1",
            "0:0:0,1:1:1",
            "0.5:0:1",
            "0:0.5:0.5,0:0.2:0.2,1:1:0",
        ] {
            cases.push(FairnessSettings {
                scenario: Scenario::Custom,
                clients: clients.to_owned(),
                samples: 200,
                grid: 4,
                rounds: 5,
                ..FairnessSettings::default()
            });
        }
        for s in cases {
            let mut state = LabState::default();
            state.sync(&s);
            // The programs are solved on their jobs' threads; frames take the results.
            let started = Instant::now();
            while state.is_busy() {
                state.work(Duration::from_millis(50));
                std::thread::sleep(Duration::from_millis(2));
                assert!(started.elapsed().as_secs() < 120, "{s:?} never finished");
            }
            assert!(d_errors(&state).is_empty(), "{s:?}: {:?}", d_errors(&state));
            let d = state.data.as_ref().expect("data built");
            assert_eq!(d.frontier.failures(), 0, "{s:?}");
            assert_eq!(d.curves.failures(), 0, "{s:?}");
            let view = state.model_view.as_ref().expect("model evaluated");
            let pid = view.pid.as_ref().expect("PID solved");
            let labels = d.pid_labels.as_ref().expect("PID solved");
            for v in [
                pid.unique_a,
                pid.redundant,
                pid.synergistic,
                labels.unique_a,
                labels.redundant,
                labels.synergistic,
                view.scores.accuracy,
                d.max_global,
                d.max_local,
            ] {
                assert!(v.is_finite() && v >= 0.0, "{s:?}: {v}");
            }
            let limit = view.limit.as_ref().expect("limit solved");
            assert!(
                limit.scores.accuracy >= view.scores.accuracy - 1e-6,
                "{s:?}"
            );
            // The model is one of its own post-processings, and those are classifiers.
            let own = view.limit_model_specific.as_ref().expect("solved");
            assert!(own.scores.accuracy >= view.scores.accuracy - 1e-5, "{s:?}");
            assert!(own.scores.accuracy <= limit.scores.accuracy + 1e-5, "{s:?}");
            let ms = d.model_specific_curves.as_ref().expect("built");
            assert_eq!(ms.failures(), 0, "{s:?}");
            for i in 0..ms.results.len() {
                let (a, b) = (
                    ms.accuracy(i).expect("solved"),
                    d.curves.accuracy(i).expect("solved"),
                );
                assert!(a <= b + 1e-5, "{s:?}: model-specific {a} above AGLFOP {b}");
            }
            assert!(view.held_out_scores.accuracy.is_finite());
            assert!(state.status_json().to_string().len() > 10);
        }
    }
}
