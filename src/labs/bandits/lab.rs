//! The bandits page's live state: the main Monte Carlo job, the sweeps over the horizon T, the
//! memory bound M, the true memory m and the number of arms K (each computed when its view is
//! opened) and the single-run trace.

use std::rc::Rc;

use web_time::Duration;

use super::gpu::BanditKernel;
use super::instance::Instance;
use super::mc::{JobSpec, McJob, McResult};
use super::settings::{BanditSettings, CPU_MAX_RUNS, View};
use super::sim::{Algo, Knobs, Round, RunState, SimConfig};
use crate::gpu::Compute;

/// Runs per point of a sweep without a GPU.
const CPU_SWEEP_RUNS: usize = 32;

/// Which result a running job will fill.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Main,
    Horizon(usize),
    Bound(usize),
    Memory(usize),
    Arms(usize),
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
    /// (m, result) per true memory of the sweep (M raised to m where the setting is below).
    pub memory_sweep: Vec<(u32, Option<Result<McResult, String>>)>,
    /// (K, result) per number of arms (empty when custom losses fix K).
    pub arms_sweep: Vec<(u32, Option<Result<McResult, String>>)>,
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
            self.memory_sweep = MEMORY_POINTS.iter().map(|&m| (m, None)).collect();
            self.arms_sweep = if settings.losses.trim().is_empty() {
                ARMS_POINTS.iter().map(|&k| (k, None)).collect()
            } else {
                Vec::new()
            };
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
            View::Memory => first_missing(&self.memory_sweep).map(Slot::Memory),
            View::Arms => first_missing(&self.arms_sweep).map(Slot::Arms),
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
            let mut instance = instance;
            let (algos, sweep) = match slot {
                Slot::Main => (Algo::ALL.to_vec(), false),
                Slot::Horizon(i) => {
                    knobs.horizon = self.horizon_sweep[i].0;
                    knobs.checkpoints = 1;
                    (Algo::LEARNERS.to_vec(), true)
                }
                Slot::Bound(i) => {
                    knobs.bound = self.bound_sweep[i].0;
                    knobs.checkpoints = 1;
                    (vec![Algo::WtbSe], true)
                }
                Slot::Memory(i) => {
                    let point = memory_point(settings, self.memory_sweep[i].0);
                    instance = point.instance();
                    knobs = Knobs {
                        checkpoints: 1,
                        ..point.knobs()
                    };
                    (Algo::LEARNERS.to_vec(), true)
                }
                Slot::Arms(i) => {
                    let point = BanditSettings {
                        arms: self.arms_sweep[i].0,
                        ..settings.clone()
                    };
                    instance = point.instance();
                    knobs.checkpoints = 1;
                    (Algo::LEARNERS.to_vec(), true)
                }
            };
            let spec = JobSpec {
                instance,
                knobs,
                algos,
                runs: self.runs(settings, compute, sweep),
            };
            self.running = Some((slot, McJob::for_page(spec, compute, self.kernel.as_deref())));
        }
        if let Some((slot, job)) = &mut self.running {
            job.advance(compute, self.kernel.as_deref(), budget);
            if let Some(result) = job.result.take() {
                match *slot {
                    Slot::Main => self.main = Some(result),
                    Slot::Horizon(i) => self.horizon_sweep[i].1 = Some(result),
                    Slot::Bound(i) => self.bound_sweep[i].1 = Some(result),
                    Slot::Memory(i) => self.memory_sweep[i].1 = Some(result),
                    Slot::Arms(i) => self.arms_sweep[i].1 = Some(result),
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
            Slot::Memory(i) => format!("memory sweep: m = {}", self.memory_sweep[*i].0),
            Slot::Arms(i) => format!("arms sweep: K = {}", self.arms_sweep[*i].0),
        };
        Some((what, job.progress(), job.on_gpu()))
    }

    /// Space and R in the single-run view: play or pause the replay (from round 0 once it has
    /// ended, as the button does), or go back to round 0.
    pub fn shortcut(&mut self, action: crate::labs::Shortcut) {
        let horizon = self.trace.as_ref().map_or(0, |t| t.rounds.len());
        match action {
            crate::labs::Shortcut::StartPause => {
                self.playing = !self.playing;
                if self.anim_round as usize >= horizon {
                    self.anim_round = 0.0;
                }
            }
            crate::labs::Shortcut::Reset => {
                self.anim_round = 0.0;
                self.playing = false;
            }
        }
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
            "in_worker": main.and_then(|r| r.as_ref().ok()).map(|r| r.in_worker),
            "runs": main.and_then(|r| r.as_ref().ok()).map(|r| r.runs),
            "seconds": main.and_then(|r| r.as_ref().ok()).map(|r| r.seconds),
            "reo_holds": reo.map(|r| r.holds),
            "a_star": reo.map(|r| r.a_star),
            "algorithms": algorithms,
            "horizon_points_done": self.horizon_sweep.iter().filter(|(_, r)| r.is_some()).count(),
            "bound_points_done": self.bound_sweep.iter().filter(|(_, r)| r.is_some()).count(),
            "memory_points_done": self.memory_sweep.iter().filter(|(_, r)| r.is_some()).count(),
            "arms_points_done": self.arms_sweep.iter().filter(|(_, r)| r.is_some()).count(),
            "trace_rounds": self.trace.as_ref().map(|t| t.rounds.len()),
        })
    }
}

/// True memories m of the memory sweep (rounds).
pub const MEMORY_POINTS: [u32; 7] = [1, 2, 4, 8, 16, 32, 64];
/// Numbers of arms K of the arms sweep.
pub const ARMS_POINTS: [u32; 7] = [2, 3, 4, 6, 8, 12, 16];

/// The settings of one point of the memory sweep: true memory `m`, and the learner's bound
/// raised to m where the page's M is smaller (so the sweep isolates m, not a wrong M).
pub fn memory_point(settings: &BanditSettings, m: u32) -> BanditSettings {
    BanditSettings {
        memory: m,
        bound: settings.bound.max(m),
        ..settings.clone()
    }
}

fn first_missing(sweep: &[(u32, Option<Result<McResult, String>>)]) -> Option<usize> {
    sweep.iter().position(|(_, r)| r.is_none())
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
        let all_done = |sweep: &[(u32, Option<Result<McResult, String>>)]| {
            sweep.iter().all(|(_, r)| matches!(r, Some(Ok(_))))
        };
        for view in [View::Horizon, View::Bound, View::Memory, View::Arms] {
            settings.view = view;
            let started = web_time::Instant::now();
            while (state.main.is_none()
                || state.next_slot(view).is_some()
                || state.running.is_some())
                && started.elapsed().as_secs() < 60
            {
                state.sync(&settings, &compute);
                state.work(&settings, &compute, Duration::from_millis(8));
            }
            let st = state.status_json();
            assert!(state.main.is_some(), "{st}");
            let sweep = match view {
                View::Horizon => &state.horizon_sweep,
                View::Bound => &state.bound_sweep,
                View::Memory => &state.memory_sweep,
                _ => &state.arms_sweep,
            };
            assert!(!sweep.is_empty() && all_done(sweep), "{view:?}: {st}");
        }
        // Each point is its own instance: the memory sweep's m and the arms sweep's K.
        let point = |sweep: &[(u32, Option<Result<McResult, String>>)], i: usize| {
            sweep[i]
                .1
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .map(|r| r.runs)
        };
        assert!(point(&state.memory_sweep, 0).is_some());
        assert_eq!(state.arms_sweep.len(), ARMS_POINTS.len());
        // Custom losses fix K: no arms sweep.
        settings.losses = "hab:0.1:0.6,sat:0.3:0.5".into();
        state.sync(&settings, &compute);
        assert!(state.arms_sweep.is_empty());
        assert_eq!(memory_point(&settings, 64).bound, 64);
        assert_eq!(memory_point(&settings, 1).bound, settings.bound);
    }
}
