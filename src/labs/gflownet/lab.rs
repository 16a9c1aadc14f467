//! The GFlowNet lab's live state: a training run advanced in frame slices, evaluations on the
//! GPU (or the CPU reference) and the curves drawn from them.

use web_time::{Duration, Instant};

use super::env::{MAX_NDIM, State};
use super::gpu::{GfnSamplerKernels, decode_terminals};
use super::metrics::{jsd, jsd_between, l1_between, l1_noise_floor, l1_sum};
use super::model::Model;
use super::run::TrainingRun;
use super::sample::{CHUNK, ExactDistribution, histogram, sample_terminals};
use super::settings::GfnSettings;
use crate::gpu::{Compute, KernelRun};

/// Trajectories per GPU submission: starts small and doubles while a submission finishes
/// within a frame or two, so a slow adapter never stalls drawing (compute and presentation
/// share one queue) and a fast one is not held back.
const GPU_CHUNK_START: usize = 1024;
const GPU_CHUNK_MAX: usize = 65_536;
const GPU_CHUNK_TARGET_SECONDS: f64 = 0.03;

/// One point of the curves.
#[derive(Clone, Copy, Debug, serde::Serialize)]
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

/// Grids up to this many states get the exact terminal distribution in the page (computed in
/// slices alongside the sampling; the CLI has no limit below the enumeration's 2^20).
pub const MAX_EXACT_STATES: usize = 1 << 16;
/// States whose logits one slice of the exact distribution computes.
const EXACT_ROWS_PER_SLICE: usize = 256;

/// An evaluation in progress on a frozen copy of the policy.
struct Evaluation {
    model: Model,
    /// The exact distribution being computed (`None` for grids above `MAX_EXACT_STATES`).
    exact: Option<ExactDistribution>,
    exact_result: Option<Vec<f64>>,
    trajectories: u64,
    wanted: usize,
    terminals: Vec<State>,
    gpu_run: Option<(KernelRun, Instant)>,
    on_gpu: bool,
    started: Instant,
    seed: u32,
}

pub struct LabRun {
    pub run: TrainingRun,
    pub key: String,
    pub curve: Vec<CurvePoint>,
    pub evals: Vec<EvalPoint>,
    /// Histogram of the latest finished evaluation (state index -> count).
    pub sampled: Vec<u32>,
    pub eval_error: Option<String>,
    evaluation: Option<Evaluation>,
    next_eval_at: u64,
    gpu: Option<GfnSamplerKernels>,
    gpu_chunk: usize,
}

impl LabRun {
    pub fn new(settings: &GfnSettings) -> Self {
        let run = TrainingRun::new(
            settings.grid(),
            settings.reward_spec(),
            settings.train_config(),
        );
        Self {
            run,
            key: format!("{:?}", settings.training_key()),
            curve: Vec::new(),
            evals: Vec::new(),
            sampled: Vec::new(),
            eval_error: None,
            evaluation: None,
            next_eval_at: 0,
            gpu: None,
            gpu_chunk: GPU_CHUNK_START,
        }
    }

    pub fn is_evaluating(&self) -> bool {
        self.evaluation.is_some()
    }

    /// Trains for at most `budget`, starting an evaluation every `eval_every` trajectories.
    pub fn train_slice(&mut self, budget: Duration, settings: &GfnSettings, compute: &Compute) {
        let deadline = Instant::now() + budget;
        while Instant::now() < deadline {
            self.run.iterate();
            let t = self.run.trainer.trajectories;
            let stats = self.run.evaluate_cheap();
            self.curve.push(CurvePoint {
                trajectories: t as f64,
                loss: stats.0,
                log_z: stats.1,
            });
            if t >= self.next_eval_at && self.evaluation.is_none() {
                self.next_eval_at = t + u64::from(settings.eval_every);
                self.start_evaluation(settings, compute);
            }
        }
    }

    /// Samples `eval_samples` fresh trajectories from a frozen copy of the current policy.
    pub fn start_evaluation(&mut self, settings: &GfnSettings, compute: &Compute) {
        if self.run.target.is_none() {
            return;
        }
        let seed = (crate::rng::hash_u64(settings.seed, self.run.trainer.trajectories)
            & 0xffff_ffff) as u32;
        let model = self.run.trainer.model.clone();
        let exact = (model.grid.n_states() <= MAX_EXACT_STATES)
            .then(|| ExactDistribution::new(model.clone()));
        self.evaluation = Some(Evaluation {
            exact,
            exact_result: None,
            model,
            trajectories: self.run.trainer.trajectories,
            wanted: settings.eval_samples as usize,
            terminals: Vec::with_capacity(settings.eval_samples as usize),
            gpu_run: None,
            // Software adapters (SwiftShader, lavapipe) sample faster through the CPU reference.
            on_gpu: compute.gpu().is_some_and(|ctx| !ctx.adapter.is_cpu)
                && self.eval_error.is_none(),
            started: Instant::now(),
            seed,
        });
    }

    /// Advances the evaluation: polls the GPU, or samples on the CPU for at most `budget`.
    pub fn poll_evaluation(&mut self, budget: Duration, compute: &Compute) {
        let Some(eval) = &mut self.evaluation else {
            return;
        };
        let deadline = Instant::now() + budget;
        match (compute.gpu(), eval.on_gpu) {
            (Some(ctx), true) => {
                let kernels = self.gpu.get_or_insert_with(|| GfnSamplerKernels::new(ctx));
                if eval.gpu_run.is_none() && eval.terminals.len() < eval.wanted {
                    let count = (eval.wanted - eval.terminals.len()).min(self.gpu_chunk);
                    let submitted = kernels.prepare(ctx, &eval.model, count).and_then(|device| {
                        kernels.submit(
                            ctx,
                            &device,
                            eval.seed,
                            eval.terminals.len() as u32,
                            count,
                            0,
                        )
                    });
                    match submitted {
                        Ok(run) => eval.gpu_run = Some((run, Instant::now())),
                        Err(e) => {
                            // Say why and finish this evaluation on the CPU.
                            self.eval_error = Some(format!("GPU sampling failed, CPU used: {e}"));
                            eval.on_gpu = false;
                        }
                    }
                }
                if let Some((run, submitted)) = &mut eval.gpu_run
                    && let Some(result) = run.try_finish(ctx)
                {
                    let seconds = submitted.elapsed().as_secs_f64();
                    self.gpu_chunk = if seconds < GPU_CHUNK_TARGET_SECONDS {
                        (self.gpu_chunk * 2).min(GPU_CHUNK_MAX)
                    } else if seconds > 3.0 * GPU_CHUNK_TARGET_SECONDS {
                        (self.gpu_chunk / 2).max(64)
                    } else {
                        self.gpu_chunk
                    };
                    eval.gpu_run = None;
                    match result.and_then(|out| decode_terminals(&out.bytes, eval.model.grid.ndim))
                    {
                        Ok(terminals) => eval.terminals.extend(terminals),
                        Err(e) => {
                            self.eval_error = Some(format!("GPU sampling failed, CPU used: {e}"));
                            eval.on_gpu = false;
                        }
                    }
                }
            }
            _ => {
                eval.on_gpu = false;
                while eval.terminals.len() < eval.wanted && Instant::now() < deadline {
                    let count = (eval.wanted - eval.terminals.len()).min(CHUNK / 4);
                    let first = eval.terminals.len() as u32;
                    eval.terminals
                        .extend(sample_terminals(&eval.model, eval.seed, first, count));
                }
            }
        }
        // The exact distribution in what is left of the budget (also while the GPU samples).
        while let Some(exact) = &mut eval.exact
            && eval.exact_result.is_none()
        {
            eval.exact_result = exact.advance(EXACT_ROWS_PER_SLICE);
            if Instant::now() >= deadline {
                break;
            }
        }
        let exact_done = eval.exact.is_none() || eval.exact_result.is_some();
        if eval.terminals.len() >= eval.wanted && exact_done {
            self.finish_evaluation();
        }
    }

    fn finish_evaluation(&mut self) {
        let (Some(eval), Some(target)) = (self.evaluation.take(), &self.run.target) else {
            return;
        };
        let counts = histogram(&eval.model.grid, &eval.terminals);
        let exact = eval.exact_result.as_deref();
        self.evals.push(EvalPoint {
            trajectories: eval.trajectories as f64,
            l1_exact: exact.map(|q| l1_between(&target.probabilities, q)),
            jsd_exact: exact.map(|q| jsd_between(&target.probabilities, q)),
            l1: l1_sum(target, &counts),
            jsd: jsd(target, &counts),
            l1_noise_floor: l1_noise_floor(&target.probabilities, eval.terminals.len()),
            samples: eval.terminals.len(),
            on_gpu: eval.on_gpu,
            seconds: eval.started.elapsed().as_secs_f64(),
        });
        self.sampled = counts;
    }

    /// The last batch's trajectories as paths over the first two coordinates.
    pub fn paths(&self) -> Vec<Vec<(f32, f32)>> {
        self.run
            .trainer
            .last_paths
            .iter()
            .map(|path| {
                path.iter()
                    .map(|x| (f32::from(x[0]), f32::from(x[1.min(MAX_NDIM - 1)])))
                    .collect()
            })
            .collect()
    }
}
