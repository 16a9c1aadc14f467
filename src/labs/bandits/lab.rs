//! The bandits page's live state: the main Monte Carlo job, the horizon and memory-bound sweeps
//! (computed when their view is opened) and the single-run trace.

use std::rc::Rc;

use web_time::Duration;

use super::gpu::BanditKernel;
use super::instance::Instance;
use super::mc::{JobSpec, McJob, McResult};
use super::settings::{BanditSettings, CPU_MAX_RUNS, View};
use super::sim::{Algo, Round, RunState, SimConfig};
use crate::gpu::Compute;

/// Runs per point of a sweep without a GPU.
const CPU_SWEEP_RUNS: usize = 32;

/// Which result a running job will fill.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Main,
    Horizon(usize),
    Bound(usize),
}

/// A recorded single run (CPU reference; the GPU plays the same rounds for the same run).
pub struct Trace {
    pub algo: Algo,
    pub run: u32,
    pub rounds: Vec<Round>,
    /// (round, active set) whenever successive elimination changed its active set.
    pub eliminations: Vec<(u32, u32)>,
    pub cfg: SimConfig,
}

impl Trace {
    fn record(instance: &Instance, settings: &BanditSettings) -> Self {
        let cfg = SimConfig::new(instance, settings.knobs());
        let mut state = RunState::new(&cfg);
        let mut ring = vec![0; cfg.window as usize];
        let algo = settings.single_algo;
        let run = settings.single_run;
        let mut rounds = Vec::with_capacity(cfg.horizon as usize);
        let mut eliminations = Vec::new();
        let mut active = state.active;
        while state.t < cfg.horizon {
            rounds.push(state.step(&cfg, algo, run, &mut ring));
            if matches!(algo, Algo::WtbSe | Algo::Se) && state.active != active {
                active = state.active;
                eliminations.push((state.t, active));
            }
        }
        Self {
            algo,
            run,
            rounds,
            eliminations,
            cfg,
        }
    }

    /// Every arm's tally (in [0, 1]) before round `t`.
    pub fn tallies_at(&self, t: usize) -> Vec<f64> {
        let mut tallies = vec![0.0; self.cfg.arms as usize];
        for (j, w) in self.cfg.weights_q.iter().enumerate() {
            if j < t {
                let arm = self.rounds[t - 1 - j].arm as usize;
                tallies[arm] += f64::from(*w) / f64::from(super::instance::TALLY_ONE);
            }
        }
        tallies
    }

    /// The active set after round `t` (all arms for algorithms without elimination).
    pub fn active_at(&self, t: u32) -> u32 {
        let all = (1u32 << self.cfg.arms) - 1;
        self.eliminations
            .iter()
            .take_while(|(round, _)| *round <= t)
            .last()
            .map_or(all, |(_, mask)| *mask)
    }
}

#[derive(Default)]
pub struct LabState {
    key: String,
    kernel: Option<Rc<BanditKernel>>,
    pub instance: Option<Instance>,
    pub main: Option<Result<McResult, String>>,
    /// (T, result) per horizon of the sweep.
    pub horizon_sweep: Vec<(u32, Option<Result<McResult, String>>)>,
    /// (M, result) per bound of the sweep (the paper's algorithm only).
    pub bound_sweep: Vec<(u32, Option<Result<McResult, String>>)>,
    running: Option<(Slot, McJob)>,
    pub trace: Option<Trace>,
    trace_key: String,
    /// The view the last `work` served (what `is_busy` checks for missing results).
    view: Option<View>,
    /// Animation position (round) of the single-run view, and whether it plays.
    pub anim_round: f64,
    pub playing: bool,
}

impl LabState {
    /// Starts over when the settings that define the results changed.
    pub fn sync(&mut self, settings: &BanditSettings, compute: &Compute) {
        if self.kernel.is_none()
            && let Some(ctx) = compute.gpu()
        {
            self.kernel = Some(Rc::new(BanditKernel::new(ctx)));
        }
        let key = settings.job_key();
        if key != self.key {
            self.key = key;
            let instance = settings.instance();
            let horizon = settings.horizon;
            self.horizon_sweep = horizon_points(horizon)
                .into_iter()
                .map(|t| (t, None))
                .collect();
            self.bound_sweep = bound_points(settings.memory)
                .into_iter()
                .map(|m| (m, None))
                .collect();
            self.instance = Some(instance);
            self.main = None;
            self.running = None;
        }
        let trace_key = format!(
            "{}|{:?}|{}",
            self.key, settings.single_algo, settings.single_run
        );
        if settings.view == View::Single && trace_key != self.trace_key {
            self.trace_key = trace_key;
            if let Some(instance) = &self.instance {
                let trace = Trace::record(instance, settings);
                // Show the whole run first; Play replays it from round 0.
                self.anim_round = trace.rounds.len() as f64;
                self.trace = Some(trace);
            }
        }
    }

    fn runs(&self, settings: &BanditSettings, compute: &Compute, sweep: bool) -> usize {
        match (compute.gpu().is_some(), sweep) {
            (true, _) => settings.runs as usize,
            (false, false) => settings.runs.min(CPU_MAX_RUNS) as usize,
            (false, true) => (settings.runs as usize).min(CPU_SWEEP_RUNS),
        }
    }

    /// The next job the current view needs, if any.
    fn next_slot(&self, view: View) -> Option<Slot> {
        if self.main.is_none() {
            return Some(Slot::Main);
        }
        match view {
            View::Horizon => self
                .horizon_sweep
                .iter()
                .position(|(_, r)| r.is_none())
                .map(Slot::Horizon),
            View::Bound => self
                .bound_sweep
                .iter()
                .position(|(_, r)| r.is_none())
                .map(Slot::Bound),
            _ => None,
        }
    }

    pub fn work(&mut self, settings: &BanditSettings, compute: &Compute, budget: Duration) {
        self.view = Some(settings.view);
        let Some(instance) = self.instance.clone() else {
            return;
        };
        if self.running.is_none()
            && let Some(slot) = self.next_slot(settings.view)
        {
            let mut knobs = settings.knobs();
            let (algos, sweep) = match slot {
                Slot::Main => (Algo::ALL.to_vec(), false),
                Slot::Horizon(i) => {
                    knobs.horizon = self.horizon_sweep[i].0;
                    knobs.checkpoints = 1;
                    (Algo::ALL[..5].to_vec(), true)
                }
                Slot::Bound(i) => {
                    knobs.bound = self.bound_sweep[i].0;
                    knobs.checkpoints = 1;
                    (vec![Algo::WtbSe], true)
                }
            };
            let spec = JobSpec {
                instance,
                knobs,
                algos,
                runs: self.runs(settings, compute, sweep),
            };
            self.running = Some((slot, McJob::new(spec, compute, self.kernel.as_deref())));
        }
        if let Some((slot, job)) = &mut self.running {
            job.advance(compute, self.kernel.as_deref(), budget);
            if let Some(result) = job.result.take() {
                match *slot {
                    Slot::Main => self.main = Some(result),
                    Slot::Horizon(i) => self.horizon_sweep[i].1 = Some(result),
                    Slot::Bound(i) => self.bound_sweep[i].1 = Some(result),
                }
                self.running = None;
            }
        }
    }

    pub fn is_busy(&self) -> bool {
        let missing = self.view.is_some_and(|view| self.next_slot(view).is_some());
        self.running.is_some() || missing || self.playing
    }

    /// (what, fraction done, on GPU) of the running job.
    pub fn progress(&self) -> Option<(String, f64, bool)> {
        let (slot, job) = self.running.as_ref()?;
        let what = match slot {
            Slot::Main => format!(
                "{} runs x {} algorithms",
                job.spec.runs,
                job.spec.algos.len()
            ),
            Slot::Horizon(i) => format!("horizon sweep: T = {}", self.horizon_sweep[*i].0),
            Slot::Bound(i) => format!("memory-bound sweep: M = {}", self.bound_sweep[*i].0),
        };
        Some((what, job.progress(), job.on_gpu()))
    }

    pub fn status_json(&self) -> serde_json::Value {
        let main = self.main.as_ref();
        let algorithms: serde_json::Map<String, serde_json::Value> = main
            .and_then(|r| r.as_ref().ok())
            .map(|r| {
                r.curves
                    .iter()
                    .map(|c| {
                        let (mean, ci) = r.final_cpr(c.algo).unwrap_or((f64::NAN, f64::NAN));
                        (
                            c.algo.key().to_owned(),
                            serde_json::json!({"cpr_mean": mean, "cpr_ci95": ci}),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let reo = self.instance.as_ref().map(Instance::reo);
        serde_json::json!({
            "done": main.is_some() && self.running.is_none(),
            "error": main.and_then(|r| r.as_ref().err()),
            "on_gpu": main.and_then(|r| r.as_ref().ok()).map(|r| r.on_gpu),
            "runs": main.and_then(|r| r.as_ref().ok()).map(|r| r.runs),
            "seconds": main.and_then(|r| r.as_ref().ok()).map(|r| r.seconds),
            "reo_holds": reo.map(|r| r.holds),
            "a_star": reo.map(|r| r.a_star),
            "algorithms": algorithms,
            "horizon_points_done": self.horizon_sweep.iter().filter(|(_, r)| r.is_some()).count(),
            "bound_points_done": self.bound_sweep.iter().filter(|(_, r)| r.is_some()).count(),
            "trace_rounds": self.trace.as_ref().map(|t| t.rounds.len()),
        })
    }
}

/// Horizons of the CPR-at-T sweep: T/32 .. T, doubling, at least 100.
pub fn horizon_points(horizon: u32) -> Vec<u32> {
    let mut points: Vec<u32> = (0..6)
        .rev()
        .map(|k| horizon >> k)
        .filter(|&t| t >= 100)
        .collect();
    points.dedup();
    points
}

/// Memory bounds of the M sweep around the true memory m, from m/4 (too small) to 8m.
pub fn bound_points(memory: u32) -> Vec<u32> {
    let m = memory.max(1);
    let mut points: Vec<u32> = [m / 4, m / 2, m.saturating_sub(1), m, 2 * m, 4 * m, 8 * m]
        .into_iter()
        .map(|x| x.clamp(1, 512))
        .collect();
    points.sort_unstable();
    points.dedup();
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweeps_finish_on_the_cpu() {
        let compute = Compute::CpuFallback {
            reason: "test".into(),
        };
        let mut settings = BanditSettings {
            runs: 128,
            horizon: 5000,
            ..BanditSettings::default()
        };
        let mut state = LabState::default();
        for view in [View::Horizon, View::Bound] {
            settings.view = view;
            let started = web_time::Instant::now();
            while (state.main.is_none()
                || state.horizon_sweep.iter().any(|(_, r)| r.is_none()) && view == View::Horizon
                || state.bound_sweep.iter().any(|(_, r)| r.is_none()) && view == View::Bound)
                && started.elapsed().as_secs() < 60
            {
                state.sync(&settings, &compute);
                state.work(&settings, &compute, Duration::from_millis(8));
            }
            let st = state.status_json();
            assert!(state.main.is_some(), "{st}");
            assert!(
                state
                    .horizon_sweep
                    .iter()
                    .all(|(_, r)| matches!(r, Some(Ok(_)))),
                "{st}"
            );
            if view == View::Bound {
                assert!(
                    state
                        .bound_sweep
                        .iter()
                        .all(|(_, r)| matches!(r, Some(Ok(_)))),
                    "{st}"
                );
            }
        }
    }
}
