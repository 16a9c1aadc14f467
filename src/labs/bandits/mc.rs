//! Monte Carlo jobs: many independent runs of several algorithms on one instance, on the GPU
//! (all runs at once, in chunks of rounds) or on the CPU reference (run after run), advanced in
//! bounded slices so the page never blocks; then mean complete policy regret with a 95 % band.

use web_time::{Duration, Instant};

use super::gpu::{BanditJobOnDevice, BanditKernel, words};
use super::instance::{Instance, LOSS_ONE};
use super::sim::{Algo, Knobs, RunState, SimConfig, simulate_run};
use crate::gpu::{Compute, KernelRun};

/// Rounds per dispatch on the page: about 2^20 run-rounds per dispatch keeps one dispatch short
/// even on a software adapter.
pub fn page_chunk(invocations: usize) -> u32 {
    ((1usize << 20) / invocations.max(1)).clamp(8, 4096) as u32
}
/// A GPU submission should take about this long (compute and drawing share one queue).
const SUBMIT_TARGET_S: f64 = 0.025;
/// CPU rounds between two looks at the clock.
const CPU_SLICE_ROUNDS: u32 = 2048;

#[derive(Clone, Debug)]
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

enum Exec {
    Cpu {
        invocation: usize,
        state: RunState,
        ring: Vec<u32>,
        next_checkpoint: usize,
        loss: Vec<u32>,
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
        let exec = exec.unwrap_or_else(|| Exec::Cpu {
            invocation: 0,
            state: RunState::new(&cfg),
            ring: vec![0; cfg.window as usize],
            next_checkpoint: 0,
            loss: Vec::with_capacity(spec.runs * spec.algos.len() * cfg.checkpoints.len()),
        });
        Self {
            spec,
            cfg,
            exec,
            started: Instant::now(),
            result: None,
        }
    }

    fn failed(spec: JobSpec, cfg: SimConfig, error: String) -> Self {
        let exec = Exec::Cpu {
            invocation: 0,
            state: RunState::default(),
            ring: Vec::new(),
            next_checkpoint: 0,
            loss: Vec::new(),
        };
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
            Exec::Cpu {
                invocation, state, ..
            } => {
                let total = (self.spec.runs * self.spec.algos.len()) as f64;
                (*invocation as f64 + f64::from(state.t) / f64::from(self.cfg.horizon)) / total
            }
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
        let start = Instant::now();
        let finished = match &mut self.exec {
            Exec::Cpu {
                invocation,
                state,
                ring,
                next_checkpoint,
                loss,
            } => {
                let runs = self.spec.runs;
                let total = runs * self.spec.algos.len();
                let checkpoints = &self.cfg.checkpoints;
                while *invocation < total && start.elapsed() < budget {
                    let algo = self.spec.algos[*invocation / runs];
                    let run = (*invocation % runs) as u32;
                    let stop = (state.t + CPU_SLICE_ROUNDS).min(self.cfg.horizon);
                    while state.t < stop {
                        state.step(&self.cfg, algo, run, ring);
                        if state.t == checkpoints[*next_checkpoint] {
                            loss.push(state.loss_cum);
                            *next_checkpoint += 1;
                        }
                    }
                    if state.t >= self.cfg.horizon {
                        *invocation += 1;
                        *state = RunState::new(&self.cfg);
                        *next_checkpoint = 0;
                    }
                }
                (*invocation >= total).then(|| Ok(std::mem::take(loss)))
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
            self.result = Some(outcome.map(|loss| McResult {
                checkpoints: self.cfg.checkpoints.clone(),
                curves: aggregate(&self.cfg, &self.spec.algos, self.spec.runs, &loss),
                runs: self.spec.runs,
                on_gpu,
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
            if let Some(ctx) = compute.gpu() {
                let _ = ctx.device.poll(wgpu::PollType::wait_indefinitely());
            }
        }
        self.result
            .clone()
            .unwrap_or_else(|| Err("no result".to_owned()))
    }
}
