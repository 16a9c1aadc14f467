//! Monte Carlo jobs: many independent runs of several algorithms on one instance, on the GPU
//! (all runs at once, in chunks of rounds) or on the CPU reference (run after run), advanced in
//! bounded slices so the page never blocks; then mean complete policy regret with a 95 % band.

use web_time::{Duration, Instant};

use super::gpu::{BanditJobOnDevice, BanditKernel, words};
use super::instance::{Instance, LOSS_ONE};
use super::sim::{Algo, Knobs, RunState, SimConfig, simulate_run};
use crate::gpu::{Compute, KernelRun};
use crate::jobs::{Event, Job, JobHandle, Step};

/// Rounds per dispatch on the page: about 2^20 run-rounds per dispatch keeps one dispatch short
/// even on a software adapter.
pub fn page_chunk(invocations: usize) -> u32 {
    ((1usize << 20) / invocations.max(1)).clamp(8, 4096) as u32
}
/// A GPU submission should take about this long (compute and drawing share one queue).
const SUBMIT_TARGET_S: f64 = 0.025;
/// CPU rounds between two looks at the clock.
const CPU_SLICE_ROUNDS: u32 = 2048;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct JobSpec {
    pub instance: Instance,
    pub knobs: Knobs,
    pub algos: Vec<Algo>,
    pub runs: usize,
}

/// Mean and 95 % half-width of the complete policy regret at each checkpoint.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AlgoCurve {
    pub algo: Algo,
    pub mean: Vec<f64>,
    pub ci95: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct McResult {
    pub checkpoints: Vec<u32>,
    pub curves: Vec<AlgoCurve>,
    pub runs: usize,
    pub on_gpu: bool,
    /// The CPU runs played in a worker (the page), not on the caller's thread.
    pub in_worker: bool,
    pub seconds: f64,
}

impl McResult {
    pub fn curve(&self, algo: Algo) -> Option<&AlgoCurve> {
        self.curves.iter().find(|c| c.algo == algo)
    }

    /// (mean, ci95) at the horizon.
    pub fn final_cpr(&self, algo: Algo) -> Option<(f64, f64)> {
        let c = self.curve(algo)?;
        Some((*c.mean.last()?, *c.ci95.last()?))
    }
}

/// The comparator's cumulative expected loss at each checkpoint: a* repeated from an empty
/// history (noise does not enter: regret is measured on expected losses).
pub fn comparator(cfg: &SimConfig) -> Vec<u32> {
    simulate_run(cfg, Algo::Oracle, 0)
}

/// Complete policy regret curves from every invocation's cumulative losses (`algo`-major,
/// then run, then checkpoint).
pub fn aggregate(cfg: &SimConfig, algos: &[Algo], runs: usize, loss: &[u32]) -> Vec<AlgoCurve> {
    let base = comparator(cfg);
    let c = base.len();
    let one = f64::from(LOSS_ONE);
    algos
        .iter()
        .enumerate()
        .map(|(i, &algo)| {
            let mut mean = vec![0.0; c];
            let mut ci95 = vec![0.0; c];
            for k in 0..c {
                let values = (0..runs).map(|r| {
                    let v = loss[(i * runs + r) * c + k];
                    (f64::from(v) - f64::from(base[k])) / one
                });
                let (m, half) = mean_ci95(values, runs);
                mean[k] = m;
                ci95[k] = half;
            }
            AlgoCurve { algo, mean, ci95 }
        })
        .collect()
}

fn mean_ci95(values: impl Iterator<Item = f64> + Clone, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = values.clone().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let var = values.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    // Student's t: with few runs (the CPU plays 32 per sweep point) 1.96 is too narrow.
    (
        mean,
        crate::stats::t_critical_95(n - 1) * (var / n as f64).sqrt(),
    )
}

/// The runs on the CPU reference, one after the other, in slices.
pub struct CpuRuns {
    algos: Vec<Algo>,
    runs: usize,
    cfg: SimConfig,
    invocation: usize,
    state: RunState,
    ring: Vec<u32>,
    next_checkpoint: usize,
    loss: Vec<u32>,
}

impl CpuRuns {
    fn new(spec: &JobSpec, cfg: &SimConfig) -> Self {
        Self {
            algos: spec.algos.clone(),
            runs: spec.runs,
            cfg: cfg.clone(),
            invocation: 0,
            state: RunState::new(cfg),
            ring: vec![0; cfg.window as usize],
            next_checkpoint: 0,
            loss: Vec::with_capacity(spec.runs * spec.algos.len() * cfg.checkpoints.len()),
        }
    }

    fn progress(&self) -> f64 {
        let total = (self.runs * self.algos.len()).max(1) as f64;
        (self.invocation as f64 + f64::from(self.state.t) / f64::from(self.cfg.horizon.max(1)))
            / total
    }

    /// Plays for about `budget`; every invocation's losses at the checkpoints once all are done.
    fn advance(&mut self, budget: Duration) -> Option<Vec<u32>> {
        let start = Instant::now();
        let total = self.runs * self.algos.len();
        let checkpoints = &self.cfg.checkpoints;
        while self.invocation < total && start.elapsed() < budget {
            let algo = self.algos[self.invocation / self.runs];
            let run = (self.invocation % self.runs) as u32;
            let stop = (self.state.t + CPU_SLICE_ROUNDS).min(self.cfg.horizon);
            while self.state.t < stop {
                self.state.step(&self.cfg, algo, run, &mut self.ring);
                if self.state.t == checkpoints[self.next_checkpoint] {
                    self.loss.push(self.state.loss_cum);
                    self.next_checkpoint += 1;
                }
            }
            if self.state.t >= self.cfg.horizon {
                self.invocation += 1;
                self.state = RunState::new(&self.cfg);
                self.next_checkpoint = 0;
            }
        }
        (self.invocation >= total).then(|| std::mem::take(&mut self.loss))
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum CpuRunsUpdate {
    Progress(f64),
    /// Every invocation's cumulative losses at the checkpoints (`aggregate`'s layout).
    Done(Vec<u32>),
}

/// The page's CPU path as a background job (a Web Worker on the web): the runs play there and
/// the page aggregates the losses.
pub struct CpuRunsJob(CpuRuns);

impl Job for CpuRunsJob {
    const KIND: &'static str = "bandits-cpu-runs";
    type Spec = JobSpec;
    type Update = CpuRunsUpdate;
    type Control = ();

    fn start(spec: JobSpec) -> Result<Self, String> {
        if spec.runs == 0 || spec.algos.is_empty() {
            return Err("no runs to play".into());
        }
        let cfg = SimConfig::new(&spec.instance, spec.knobs);
        Ok(Self(CpuRuns::new(&spec, &cfg)))
    }

    fn step(&mut self, budget: Duration) -> Step<CpuRunsUpdate> {
        match self.0.advance(budget) {
            Some(loss) => Step::finished(CpuRunsUpdate::Done(loss)),
            None => Step::running(CpuRunsUpdate::Progress(self.0.progress())),
        }
    }
}

enum Exec {
    Cpu(Box<CpuRuns>),
    /// The CPU path of the page, in a worker.
    Worker {
        handle: JobHandle<CpuRunsJob>,
        progress: f64,
    },
    Gpu {
        job: BanditJobOnDevice,
        total: u32,
        dispatched: u32,
        per_submit: u32,
        in_flight: Option<(KernelRun, Instant, u32, bool)>,
    },
}

pub struct McJob {
    pub spec: JobSpec,
    pub cfg: SimConfig,
    exec: Exec,
    started: Instant,
    pub result: Option<Result<McResult, String>>,
}

impl McJob {
    /// A job on the GPU when there is one (runs rounded up to a multiple of 64), else on the CPU.
    pub fn new(spec: JobSpec, compute: &Compute, kernel: Option<&BanditKernel>) -> Self {
        let cfg = SimConfig::new(&spec.instance, spec.knobs);
        let mut spec = spec;
        let exec = match (compute.gpu(), kernel) {
            (Some(ctx), Some(kernel)) => {
                let chunk = page_chunk(spec.runs * spec.algos.len());
                match kernel.prepare(ctx, &cfg, &spec.algos, spec.runs, chunk) {
                    Ok(job) => {
                        spec.runs = job.runs;
                        Some(Exec::Gpu {
                            total: BanditKernel::dispatches_for_horizon(&job),
                            job,
                            dispatched: 0,
                            per_submit: 1,
                            in_flight: None,
                        })
                    }
                    Err(e) => {
                        return Self::failed(spec, cfg, format!("GPU: {e}"));
                    }
                }
            }
            _ => None,
        };
        let exec = exec.unwrap_or_else(|| Exec::Cpu(Box::new(CpuRuns::new(&spec, &cfg))));
        Self {
            spec,
            cfg,
            exec,
            started: Instant::now(),
            result: None,
        }
    }

    /// The page's job: on the GPU where there is one, else the CPU reference in a worker, so
    /// the page's main thread only draws.
    pub fn for_page(spec: JobSpec, compute: &Compute, kernel: Option<&BanditKernel>) -> Self {
        let mut job = Self::new(spec, compute, kernel);
        if let Exec::Cpu(_) = job.exec {
            let mut handle = JobHandle::default();
            handle.start(&job.spec, false);
            job.exec = Exec::Worker {
                handle,
                progress: 0.0,
            };
        }
        job
    }

    fn failed(spec: JobSpec, cfg: SimConfig, error: String) -> Self {
        let exec = Exec::Cpu(Box::new(CpuRuns::new(
            &JobSpec {
                runs: 0,
                ..spec.clone()
            },
            &cfg,
        )));
        Self {
            spec,
            cfg,
            exec,
            started: Instant::now(),
            result: Some(Err(error)),
        }
    }

    pub fn is_done(&self) -> bool {
        self.result.is_some()
    }

    pub fn on_gpu(&self) -> bool {
        matches!(self.exec, Exec::Gpu { .. })
    }

    /// Fraction done in [0, 1].
    pub fn progress(&self) -> f64 {
        if self.is_done() {
            return 1.0;
        }
        match &self.exec {
            Exec::Cpu(runs) => runs.progress(),
            Exec::Worker { progress, .. } => *progress,
            Exec::Gpu {
                total, dispatched, ..
            } => f64::from(*dispatched) / f64::from((*total).max(1)),
        }
    }

    /// Advances by at most about `budget`.
    pub fn advance(&mut self, compute: &Compute, kernel: Option<&BanditKernel>, budget: Duration) {
        if self.result.is_some() {
            return;
        }
        let finished = match &mut self.exec {
            Exec::Cpu(runs) => runs.advance(budget).map(Ok),
            Exec::Worker { handle, progress } => {
                let mut outcome = None;
                // What the worker sends is checked like any message: one loss per run,
                // algorithm and checkpoint, in `aggregate`'s layout.
                let expected = self.spec.runs * self.spec.algos.len() * self.cfg.checkpoints.len();
                for event in handle.poll(budget) {
                    match event {
                        Event::Update(CpuRunsUpdate::Progress(p)) => *progress = p,
                        Event::Update(CpuRunsUpdate::Done(loss)) if loss.len() == expected => {
                            outcome = Some(Ok(loss));
                        }
                        Event::Update(CpuRunsUpdate::Done(loss)) => {
                            outcome = Some(Err(format!(
                                "{} losses from the worker where {expected} were due",
                                loss.len()
                            )));
                        }
                        Event::Finished => {}
                        Event::Failed(why) => outcome = Some(Err(why)),
                    }
                }
                outcome
            }
            Exec::Gpu {
                job,
                total,
                dispatched,
                per_submit,
                in_flight,
            } => match (compute.gpu(), kernel) {
                (Some(ctx), Some(kernel)) => {
                    Self::advance_gpu(ctx, kernel, job, *total, dispatched, per_submit, in_flight)
                }
                _ => Some(Err("the GPU went away".to_owned())),
            },
        };
        if let Some(outcome) = finished {
            let on_gpu = self.on_gpu();
            let in_worker = matches!(self.exec, Exec::Worker { .. });
            self.result = Some(outcome.map(|loss| McResult {
                checkpoints: self.cfg.checkpoints.clone(),
                curves: aggregate(&self.cfg, &self.spec.algos, self.spec.runs, &loss),
                runs: self.spec.runs,
                on_gpu,
                in_worker,
                seconds: self.started.elapsed().as_secs_f64(),
            }));
        }
    }

    fn advance_gpu(
        ctx: &crate::gpu::GpuContext,
        kernel: &BanditKernel,
        job: &BanditJobOnDevice,
        total: u32,
        dispatched: &mut u32,
        per_submit: &mut u32,
        in_flight: &mut Option<(KernelRun, Instant, u32, bool)>,
    ) -> Option<Result<Vec<u32>, String>> {
        if let Some((run, submitted, count, finish)) = in_flight {
            let outcome = run.try_finish(ctx)?;
            let seconds = submitted.elapsed().as_secs_f64();
            let (count, finish) = (*count, *finish);
            *in_flight = None;
            let output = match outcome {
                Ok(output) => output,
                Err(e) => return Some(Err(e.to_string())),
            };
            *dispatched += count;
            if finish {
                return Some(Ok(words(&output.bytes)));
            }
            // Adapt the submission size to the device.
            if seconds < SUBMIT_TARGET_S {
                *per_submit = (*per_submit * 2).min(256);
            } else if seconds > 3.0 * SUBMIT_TARGET_S && *per_submit > 1 {
                *per_submit /= 2;
            }
        }
        let count = (*per_submit).min(total - *dispatched).max(1);
        let finish = *dispatched + count >= total;
        match kernel.submit(ctx, job, count, finish, 0) {
            Ok(run) => {
                *in_flight = Some((run, Instant::now(), count, finish));
                None
            }
            Err(e) => Some(Err(e.to_string())),
        }
    }

    /// Runs to the end (native: CLI, tests, benchmarks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_to_end(
        &mut self,
        compute: &Compute,
        kernel: Option<&BanditKernel>,
    ) -> Result<McResult, String> {
        while self.result.is_none() {
            self.advance(compute, kernel, Duration::from_millis(50));
            if let Exec::Worker { .. } = self.exec {
                // The runs play on the job's thread: look again shortly.
                std::thread::sleep(Duration::from_millis(2));
            }
            if let Some(ctx) = compute.gpu() {
                let _ = ctx.device.poll(wgpu::PollType::wait_indefinitely());
            }
        }
        self.result
            .clone()
            .unwrap_or_else(|| Err("no result".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::bandits::settings::BanditSettings;

    /// The page's CPU path (runs played by a worker's job, losses sent as JSON) gives what the
    /// runs played here give, bit for bit.
    #[test]
    fn the_page_s_worker_path_equals_the_direct_cpu_path() {
        let settings = BanditSettings::default();
        let compute = Compute::CpuFallback {
            reason: "test".into(),
        };
        let spec = JobSpec {
            instance: settings.instance(),
            knobs: Knobs {
                horizon: 3000,
                checkpoints: 16,
                ..settings.knobs()
            },
            algos: Algo::LEARNERS.to_vec(),
            runs: 6,
        };
        let direct = McJob::new(spec.clone(), &compute, None)
            .run_to_end(&compute, None)
            .expect("direct");
        let mut page = McJob::for_page(spec, &compute, None);
        assert!(matches!(page.exec, Exec::Worker { .. }));
        let in_worker = page.run_to_end(&compute, None).expect("in the worker");
        assert_eq!(in_worker.checkpoints, direct.checkpoints);
        for (a, b) in in_worker.curves.iter().zip(&direct.curves) {
            assert_eq!((a.algo, &a.mean, &a.ci95), (b.algo, &b.mean, &b.ci95));
        }
    }
}
