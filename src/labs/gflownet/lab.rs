//! The GFlowNet lab's live state in the page. Training runs in a background job (a Web Worker
//! on the web, a thread natively: `jobs.rs`); each evaluation in a second one, with its
//! samples drawn on the page's GPU where it has a hardware one. The page keeps what the jobs
//! report and draws it.

use web_time::{Duration, Instant};

use super::env::{Hypergrid, State, Target};
use super::gpu::{GfnSamplerKernels, decode_terminals};
use super::jobs::{
    EvalJob, EvalOutcome, EvalSpec, EvalUpdate, SampledFigures, Snapshot, TrainControl, TrainJob,
    TrainSpec, TrainUpdate,
};
use super::model::{Loss, Model};
use super::settings::GfnSettings;
use crate::gpu::{Compute, KernelRun};
use crate::jobs::{Event, JobHandle};

/// Trajectories per GPU submission: starts small and doubles while a submission finishes
/// within a frame or two, so a slow adapter never stalls drawing (compute and presentation
/// share one queue) and a fast one is not held back.
const GPU_CHUNK_START: usize = 1024;
const GPU_CHUNK_MAX: usize = 65_536;
const GPU_CHUNK_TARGET_SECONDS: f64 = 0.03;

/// One point of the curves.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct CurvePoint {
    pub trajectories: f64,
    pub loss: f64,
    pub log_z: f64,
}

#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct EvalPoint {
    pub trajectories: f64,
    /// L1 and JSD of the policy's exact terminal distribution (`None` above `MAX_EXACT_STATES`).
    pub l1_exact: Option<f64>,
    pub jsd_exact: Option<f64>,
    /// L1 and JSD of the sampled histogram, and a perfect sampler's expected L1 at that size.
    pub l1: f64,
    pub jsd: f64,
    pub l1_noise_floor: f64,
    pub samples: usize,
    pub on_gpu: bool,
    pub seconds: f64,
}

/// Samples drawn on the page's GPU for an evaluation.
struct GpuSampling {
    model: Model,
    terminals: Vec<State>,
    wanted: usize,
    seed: u32,
    run: Option<(KernelRun, Instant)>,
}

/// An evaluation in progress: the job's exact figures (and CPU samples), or GPU samples too.
struct Evaluation {
    trajectories: u64,
    gpu: Option<GpuSampling>,
    outcome: Option<EvalOutcome>,
    progress: f64,
    started: Instant,
}

/// Wall-clock time while training is on, against the trajectories the worker reports: the
/// rate a user sees, to compare with the worker's own (training time only).
#[derive(Default)]
struct WallClock {
    since: Option<Instant>,
    seconds: f64,
    /// When training first reported, on the page's clock (for the long-task figure).
    first_active_ms: Option<f64>,
}

impl WallClock {
    fn tick(&mut self, active: bool) {
        let now = Instant::now();
        if let Some(since) = self.since {
            self.seconds += (now - since).as_secs_f64();
        }
        self.since = active.then_some(now);
    }

    /// Training has reported for the first time: long tasks count from here (the page's own
    /// start-up, wasm compile and first frames, is not training's doing).
    fn reported(&mut self) {
        if self.first_active_ms.is_none() {
            self.first_active_ms = crate::platform::now_ms();
        }
    }
}

pub struct LabRun {
    pub key: String,
    pub grid: Hypergrid,
    pub loss: Loss,
    /// The exact target (`None` past 2^20 states).
    pub target: Option<Target>,
    /// What the training job last reported.
    pub trajectories: u64,
    pub log_z: f64,
    pub modes_found: Option<usize>,
    pub train_seconds: f64,
    pub paths: Vec<Vec<(f32, f32)>>,
    pub curve: Vec<CurvePoint>,
    pub evals: Vec<EvalPoint>,
    /// Histogram of the latest finished evaluation (state index -> count).
    pub sampled: Vec<u32>,
    pub eval_error: Option<String>,
    pub train_error: Option<String>,
    train: JobHandle<TrainJob>,
    eval_job: JobHandle<EvalJob>,
    reward: super::env::RewardSpec,
    eval_every: u32,
    evaluation: Option<Evaluation>,
    /// The newest snapshot that waits for the evaluation in progress to finish.
    pending: Option<Snapshot>,
    wall: WallClock,
    gpu: Option<GfnSamplerKernels>,
    gpu_chunk: usize,
}

impl LabRun {
    /// A new run from `settings`, training at once if they say so.
    pub fn new(settings: &GfnSettings) -> Self {
        Self::with_jobs(settings, JobHandle::default(), JobHandle::default())
    }

    /// Replaces the run by a fresh one from `settings`, keeping the workers (and GPU kernels).
    pub fn restart(&mut self, settings: &GfnSettings) {
        let train = std::mem::take(&mut self.train);
        let eval_job = std::mem::take(&mut self.eval_job);
        let gpu = self.gpu.take();
        *self = Self::with_jobs(settings, train, eval_job);
        self.gpu = gpu;
    }

    fn with_jobs(
        settings: &GfnSettings,
        mut train: JobHandle<TrainJob>,
        mut eval_job: JobHandle<EvalJob>,
    ) -> Self {
        let grid = settings.grid();
        let reward = settings.reward_spec();
        eval_job.stop();
        train.start(
            &TrainSpec {
                grid,
                reward: reward.clone(),
                config: settings.train_config(),
                eval_every: u64::from(settings.eval_every),
            },
            !settings.train,
        );
        Self {
            key: format!("{:?}", settings.training_key()),
            grid,
            loss: settings.loss,
            target: Target::enumerate(grid, &reward),
            trajectories: 0,
            log_z: 0.0,
            modes_found: None,
            train_seconds: 0.0,
            paths: Vec::new(),
            curve: Vec::new(),
            evals: Vec::new(),
            sampled: Vec::new(),
            eval_error: None,
            train_error: None,
            train,
            eval_job,
            reward,
            eval_every: settings.eval_every,
            evaluation: None,
            pending: None,
            wall: WallClock::default(),
            gpu: None,
            gpu_chunk: GPU_CHUNK_START,
        }
    }

    pub fn is_evaluating(&self) -> bool {
        self.evaluation.is_some() || self.pending.is_some()
    }

    /// Whether all of the run's work happens off the page's frames: both jobs in workers (or
    /// threads), and no evaluation sampling on the page's GPU (polled once a frame).
    pub fn works_off_page(&self) -> bool {
        !self.train.runs_in_page()
            && !self.eval_job.runs_in_page()
            && self.evaluation.as_ref().is_none_or(|e| e.gpu.is_none())
    }

    /// For tests: training as a page without workers runs it.
    #[cfg(test)]
    pub fn fall_back_for_test(&mut self) {
        self.train.fall_back_for_test();
    }

    /// Whether training runs in a worker (`None`) or, failing that, in the page (why).
    pub fn fallback_reason(&self) -> Option<&str> {
        self.train.fallback_reason()
    }

    /// The worker's training rate (training time only).
    pub fn compute_rate(&self) -> f64 {
        if self.train_seconds > 0.0 {
            self.trajectories as f64 / self.train_seconds
        } else {
            0.0
        }
    }

    /// Trajectories per second of wall-clock time while training was on.
    pub fn wall_rate(&self) -> f64 {
        if self.wall.seconds > 0.0 {
            self.trajectories as f64 / self.wall.seconds
        } else {
            0.0
        }
    }

    /// The longest main-thread task since training first reported (browsers only).
    pub fn longest_main_task_ms(&self) -> Option<f64> {
        crate::platform::longest_main_task_ms_since(self.wall.first_active_ms?)
    }

    /// One frame: follows the settings, takes the jobs' news, advances GPU sampling. `budget`
    /// is only spent where a job runs in the page (no worker).
    pub fn frame(&mut self, settings: &GfnSettings, compute: &Compute, budget: Duration) {
        let training = settings.train && self.train.is_running();
        self.wall.tick(training);
        self.train.set_paused(!settings.train);
        if settings.eval_every != self.eval_every {
            self.eval_every = settings.eval_every;
            self.train
                .control(&TrainControl::EvalEvery(u64::from(settings.eval_every)));
        }
        for event in self.train.poll(budget / 2) {
            match event {
                Event::Update(update) => self.take_update(update),
                Event::Finished => {}
                Event::Failed(why) => self.train_error = Some(why),
            }
        }
        if self.evaluation.is_none()
            && let Some(snapshot) = self.pending.take()
        {
            self.start_evaluation(snapshot, settings, compute);
        }
        self.poll_evaluation(compute, budget / 2);
    }

    fn take_update(&mut self, update: TrainUpdate) {
        if update.trajectories > 0 {
            self.wall.reported();
        }
        self.trajectories = update.trajectories;
        self.log_z = update.log_z;
        self.modes_found = update.modes_found;
        self.train_seconds = update.train_seconds;
        if !update.paths.is_empty() {
            self.paths = update.paths;
        }
        self.curve.extend(update.curve);
        if let Some(snapshot) = update.snapshot {
            self.pending = Some(snapshot);
        }
    }

    /// "Evaluate now": the training job sends a snapshot of the current policy.
    pub fn evaluate_now(&mut self) {
        self.train.control(&TrainControl::SnapshotNow);
    }

    fn start_evaluation(&mut self, snapshot: Snapshot, settings: &GfnSettings, compute: &Compute) {
        if self.target.is_none() {
            return;
        }
        let seed =
            (crate::rng::hash_u64(settings.seed, snapshot.trajectories) & 0xffff_ffff) as u32;
        let wanted = settings.eval_samples as usize;
        // Software adapters (SwiftShader, lavapipe) sample faster through the CPU reference.
        let gpu_wanted =
            compute.gpu().is_some_and(|ctx| !ctx.adapter.is_cpu) && self.eval_error.is_none();
        // Only GPU sampling needs the network here: the CPU path decodes it in the job.
        let model = gpu_wanted.then(|| snapshot.model());
        let gpu = match model {
            Some(Ok(model)) => Some(GpuSampling {
                model,
                terminals: Vec::with_capacity(wanted),
                wanted,
                seed,
                run: None,
            }),
            Some(Err(e)) => {
                self.eval_error = Some(format!("bad snapshot: {e}"));
                None
            }
            None => None,
        };
        let trajectories = snapshot.trajectories;
        self.eval_job.start(
            &EvalSpec {
                samples: if gpu.is_some() { 0 } else { wanted },
                snapshot,
                reward: self.reward.clone(),
                seed,
            },
            false,
        );
        self.evaluation = Some(Evaluation {
            trajectories,
            gpu,
            outcome: None,
            progress: 0.0,
            started: Instant::now(),
        });
    }

    /// Share of the evaluation in progress that is done.
    pub fn evaluation_progress(&self) -> Option<f64> {
        self.evaluation.as_ref().map(|e| e.progress)
    }

    fn poll_evaluation(&mut self, compute: &Compute, budget: Duration) {
        let Some(eval) = &mut self.evaluation else {
            return;
        };
        for event in self.eval_job.poll(budget) {
            match event {
                Event::Update(EvalUpdate::Progress(share)) => eval.progress = share,
                Event::Update(EvalUpdate::Done(outcome)) => eval.outcome = Some(outcome),
                Event::Finished => {}
                Event::Failed(why) => {
                    self.eval_error = Some(format!("evaluation failed: {why}"));
                    self.evaluation = None;
                    self.train.control(&TrainControl::EvaluatorFree);
                    return;
                }
            }
        }
        if let Some(gpu) = &mut eval.gpu
            && let Some(ctx) = compute.gpu()
            && let Err(e) = advance_gpu_sampling(gpu, ctx, &mut self.gpu, &mut self.gpu_chunk)
        {
            // Say why and sample the rest in the job's way, on the CPU, here.
            self.eval_error = Some(format!("GPU sampling failed, CPU used: {e}"));
            let count = gpu.wanted - gpu.terminals.len();
            let first = gpu.terminals.len() as u32;
            let more = super::sample::sample_terminals(&gpu.model, gpu.seed, first, count);
            gpu.terminals.extend(more);
        }
        let gpu_done = eval
            .gpu
            .as_ref()
            .is_none_or(|g| g.terminals.len() >= g.wanted);
        if gpu_done && eval.outcome.is_some() {
            self.finish_evaluation();
        }
    }

    fn finish_evaluation(&mut self) {
        // The training job may send the next snapshot (at its next eval point).
        self.train.control(&TrainControl::EvaluatorFree);
        let (Some(eval), Some(target)) = (self.evaluation.take(), &self.target) else {
            return;
        };
        let Some(outcome) = eval.outcome else {
            return;
        };
        let on_gpu = eval.gpu.is_some();
        let sampled = match (outcome.sampled, &eval.gpu) {
            (Some(sampled), _) => sampled,
            (None, Some(gpu)) => SampledFigures::of(target, &gpu.terminals),
            (None, None) => SampledFigures::default(),
        };
        self.evals.push(EvalPoint {
            trajectories: eval.trajectories as f64,
            l1_exact: outcome.l1_exact,
            jsd_exact: outcome.jsd_exact,
            l1: sampled.l1,
            jsd: sampled.jsd,
            l1_noise_floor: sampled.l1_noise_floor,
            samples: sampled.samples,
            on_gpu,
            seconds: eval.started.elapsed().as_secs_f64(),
        });
        self.sampled = sampled.counts;
    }
}

/// Submits or collects one chunk of GPU samples (never waits).
fn advance_gpu_sampling(
    gpu: &mut GpuSampling,
    ctx: &crate::gpu::GpuContext,
    kernels: &mut Option<GfnSamplerKernels>,
    chunk: &mut usize,
) -> Result<(), String> {
    let kernels = kernels.get_or_insert_with(|| GfnSamplerKernels::new(ctx));
    if gpu.run.is_none() && gpu.terminals.len() < gpu.wanted {
        let count = (gpu.wanted - gpu.terminals.len()).min(*chunk);
        let device = kernels
            .prepare(ctx, &gpu.model, count)
            .map_err(|e| e.to_string())?;
        let run = kernels
            .submit(ctx, &device, gpu.seed, gpu.terminals.len() as u32, count, 0)
            .map_err(|e| e.to_string())?;
        gpu.run = Some((run, Instant::now()));
    }
    if let Some((run, submitted)) = &mut gpu.run
        && let Some(result) = run.try_finish(ctx)
    {
        let seconds = submitted.elapsed().as_secs_f64();
        *chunk = if seconds < GPU_CHUNK_TARGET_SECONDS {
            (*chunk * 2).min(GPU_CHUNK_MAX)
        } else if seconds > 3.0 * GPU_CHUNK_TARGET_SECONDS {
            (*chunk / 2).max(64)
        } else {
            *chunk
        };
        gpu.run = None;
        let out = result.map_err(|e| e.to_string())?;
        let terminals =
            decode_terminals(&out.bytes, gpu.model.grid.ndim).map_err(|e| e.to_string())?;
        gpu.terminals.extend(terminals);
    }
    Ok(())
}
