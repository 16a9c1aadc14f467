//! The Device benchmark as a state machine advanced in bounded slices: input generation and
//! CPU references run for at most the frame's work budget, GPU work is submitted and then polled
//! once per frame. The CLI drives the same machine with a large budget and a blocking poll.

use web_time::{Duration, Instant};

use super::plan::{Engine, KernelKind, Measurement, Refusal, Step, Verification, plan};
use super::settings::DeviceSettings;
use crate::gpu::{Compute, GpuContext, GpuError, KernelRun, TimingSource, f32s_from_bytes};
use crate::kernels::copy::{CopyKernel, copy_reference};
use crate::kernels::gemv_f32::{GemvF32Kernel, GemvVariant, check_rows, gemv_f32_rows};
use crate::rng;

/// Host memory one step may allocate: wasm32 has a 4 GiB address space and browsers give less.
#[cfg(target_arch = "wasm32")]
const MAX_HOST_BYTES: u64 = 640 * 1024 * 1024;
#[cfg(not(target_arch = "wasm32"))]
const MAX_HOST_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// CPU references stop after this much time (and at least one repetition): a slow CPU must not
/// keep the page busy for minutes.
const CPU_TIME_CAP_MS: f64 = 1500.0;
/// A CPU sample spans whole passes until it lasts this long: browsers coarsen the clock to
/// 0.1 ms, and a small GEMV takes microseconds.
const MIN_CPU_SAMPLE_MS: f64 = 2.0;
const MAX_PASSES_PER_SAMPLE: u32 = 4096;
/// Elements processed between clock reads while generating inputs or running CPU references.
const CHUNK_ELEMENTS: usize = 1 << 18;
/// GEMV rows checked against the f64 oracle after each measurement (plus the first and last).
const CHECKED_ROWS: usize = 32;

/// Seed streams: W (or the copy source) and x never share one.
const STREAM_A: u64 = 0;
const STREAM_X: u64 = 1;

struct Inputs {
    /// Copy source, or W (row-major).
    a: Vec<f32>,
    /// GEMV x (empty for the copy).
    x: Vec<f32>,
    filled: usize,
}

struct CpuJob {
    out: Vec<f32>,
    /// Elements (copy) or rows (GEMV) done in the current repetition.
    cursor: usize,
    current_ms: f64,
    /// Whole passes inside the current sample.
    passes_in_sample: u32,
    samples_ms: Vec<f64>,
}

enum Phase {
    /// Choosing the next step.
    Next,
    Generating(Inputs),
    Gpu(Inputs, KernelRun),
    Cpu(Inputs, CpuJob),
    Finished,
}

struct DeviceKernels {
    copy: CopyKernel,
    gemv: GemvF32Kernel,
}

pub struct BenchRunner {
    settings: DeviceSettings,
    steps: Vec<Step>,
    step_index: usize,
    phase: Phase,
    kernels: Option<DeviceKernels>,
    pub measurements: Vec<Measurement>,
    pub refusals: Vec<Refusal>,
    started_at: Instant,
    pub elapsed: Duration,
}

impl BenchRunner {
    pub fn new(settings: &DeviceSettings) -> Self {
        Self {
            settings: settings.clone(),
            steps: plan(settings),
            step_index: 0,
            phase: Phase::Next,
            kernels: None,
            measurements: Vec::new(),
            refusals: Vec::new(),
            started_at: Instant::now(),
            elapsed: Duration::ZERO,
        }
    }

    /// The GEMV kernel shape this run uses on the GPU (once it has started one).
    pub fn gemv_variant(&self) -> Option<GemvVariant> {
        self.kernels.as_ref().map(|k| k.gemv.variant)
    }

    /// Sizes of the GEMV sweep in MiB (for the plot's axes).
    pub fn planned_gemv_sizes_mib(&self) -> Vec<f64> {
        self.steps
            .iter()
            .filter(|s| s.kernel == KernelKind::GemvF32)
            .map(|s| s.shape.size_bytes() as f64 / (1024.0 * 1024.0))
            .collect()
    }

    pub fn settings(&self) -> &DeviceSettings {
        &self.settings
    }

    /// Ends the run now; finished measurements stay.
    pub fn stop(&mut self) {
        self.phase = Phase::Finished;
        self.elapsed = self.started_at.elapsed();
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Finished)
    }

    /// (steps done, steps in all, what runs now).
    pub fn progress(&self) -> (usize, usize, String) {
        let total = self.steps.len();
        let label = match (self.steps.get(self.step_index), &self.phase) {
            (_, Phase::Finished) => "finished".to_owned(),
            (Some(step), phase) => {
                let what = match phase {
                    Phase::Generating(_) => "generating inputs for",
                    Phase::Gpu(..) => "GPU",
                    Phase::Cpu(..) => "CPU reference",
                    _ => "preparing",
                };
                format!(
                    "{what} {} {}",
                    step.kernel.name(),
                    step.shape.label(step.kernel)
                )
            }
            (None, _) => "finishing".to_owned(),
        };
        (self.step_index.min(total), total, label)
    }

    /// Advances the benchmark by at most `budget` of CPU work. Returns `true` while running.
    pub fn step(&mut self, compute: &Compute, budget: Duration) -> bool {
        let deadline = Instant::now() + budget;
        loop {
            let phase = std::mem::replace(&mut self.phase, Phase::Next);
            self.phase = self.advance(phase, compute, deadline);
            let waiting_for_gpu = matches!(self.phase, Phase::Gpu(..));
            if self.is_finished() || waiting_for_gpu || Instant::now() >= deadline {
                break;
            }
        }
        if !self.is_finished() {
            self.elapsed = self.started_at.elapsed();
        }
        !self.is_finished()
    }

    fn advance(&mut self, phase: Phase, compute: &Compute, deadline: Instant) -> Phase {
        match phase {
            Phase::Next => self.begin_step(compute),
            Phase::Generating(mut inputs) => {
                let step = self.current();
                if fill_slice(&mut inputs, self.settings.seed, deadline) {
                    self.start_gpu(step, inputs, compute)
                } else {
                    Phase::Generating(inputs)
                }
            }
            Phase::Gpu(inputs, mut run) => {
                let Some(ctx) = compute.gpu() else {
                    return self.start_cpu(inputs);
                };
                match run.try_finish(ctx) {
                    None => Phase::Gpu(inputs, run),
                    Some(Ok(output)) => {
                        let step = self.current();
                        let result = f32s_from_bytes(&output.bytes);
                        let verification = verify(step, &inputs, &result);
                        let mut measurement = Measurement::new(
                            step,
                            Engine::Gpu,
                            &output.pass_ms,
                            output.timing,
                            verification,
                        );
                        if step.kernel == KernelKind::GemvF32 {
                            measurement.variant =
                                self.kernels.as_ref().map(|k| k.gemv.variant.name());
                        }
                        self.measurements.push(measurement);
                        self.start_cpu(inputs)
                    }
                    Some(Err(e)) => {
                        self.refuse(Engine::Gpu, &e.to_string());
                        self.start_cpu(inputs)
                    }
                }
            }
            Phase::Cpu(inputs, mut job) => {
                let step = self.current();
                if cpu_slice(step, &inputs, &mut job, self.settings.reps, deadline) {
                    let verification = verify(step, &inputs, &job.out);
                    self.measurements.push(Measurement::new(
                        step,
                        Engine::Cpu,
                        &job.samples_ms,
                        TimingSource::CpuWallClock,
                        verification,
                    ));
                    self.step_index += 1;
                    Phase::Next
                } else {
                    Phase::Cpu(inputs, job)
                }
            }
            Phase::Finished => Phase::Finished,
        }
    }

    fn current(&self) -> Step {
        // `advance` only runs step phases while step_index is in range.
        self.steps[self.step_index.min(self.steps.len() - 1)]
    }

    fn begin_step(&mut self, compute: &Compute) -> Phase {
        let Some(&step) = self.steps.get(self.step_index) else {
            self.elapsed = self.started_at.elapsed();
            return Phase::Finished;
        };
        let (a_len, x_len) = match step.kernel {
            KernelKind::Copy => (step.shape.elements(), 0),
            KernelKind::GemvF32 => (step.shape.elements(), step.shape.cols),
        };
        // The CPU copy needs a destination as large as the source.
        let host_bytes = 4
            * (a_len + x_len)
            * if step.kernel == KernelKind::Copy {
                2
            } else {
                1
            };
        if host_bytes > MAX_HOST_BYTES {
            let why = format!(
                "needs {} MiB of host memory, more than the {} MiB this build allows",
                host_bytes >> 20,
                MAX_HOST_BYTES >> 20
            );
            self.refuse(Engine::Gpu, &why);
            self.refuse(Engine::Cpu, &why);
            self.step_index += 1;
            return Phase::Next;
        }
        let (Some(a), Some(x)) = (try_alloc(a_len), try_alloc(x_len)) else {
            let why = "the browser or OS refused the memory for the inputs";
            self.refuse(Engine::Gpu, why);
            self.refuse(Engine::Cpu, why);
            self.step_index += 1;
            return Phase::Next;
        };
        if let Some(ctx) = compute.gpu()
            && let Err(e) = ctx.check_storage_size(&step_what(step), step.shape.size_bytes())
        {
            // Say why the GPU cannot, and still time the CPU reference.
            self.refuse(Engine::Gpu, &e.to_string());
        }
        Phase::Generating(Inputs { a, x, filled: 0 })
    }

    fn start_gpu(&mut self, step: Step, inputs: Inputs, compute: &Compute) -> Phase {
        let Some(ctx) = compute.gpu() else {
            return self.start_cpu(inputs);
        };
        if self.already_refused(step, Engine::Gpu) {
            return self.start_cpu(inputs);
        }
        let variant = self.settings.gemv.resolve(GemvVariant::for_adapter(ctx));
        let kernels = self.kernels.get_or_insert_with(|| DeviceKernels {
            copy: CopyKernel::new(ctx),
            gemv: GemvF32Kernel::with_variant(ctx, variant),
        });
        match submit_gpu(ctx, kernels, step, &inputs, self.settings.reps) {
            Ok(run) => Phase::Gpu(inputs, run),
            Err(e) => {
                self.refuse(Engine::Gpu, &e.to_string());
                self.start_cpu(inputs)
            }
        }
    }

    fn start_cpu(&mut self, inputs: Inputs) -> Phase {
        let step = self.current();
        if !self.settings.cpu {
            self.step_index += 1;
            return Phase::Next;
        }
        let out_len = match step.kernel {
            KernelKind::Copy => inputs.a.len(),
            KernelKind::GemvF32 => step.shape.rows as usize,
        };
        let Some(out) = try_alloc(out_len as u64) else {
            self.refuse(
                Engine::Cpu,
                "the browser or OS refused the memory for the output",
            );
            self.step_index += 1;
            return Phase::Next;
        };
        Phase::Cpu(
            inputs,
            CpuJob {
                out,
                cursor: 0,
                current_ms: 0.0,
                passes_in_sample: 0,
                samples_ms: Vec::new(),
            },
        )
    }

    fn already_refused(&self, step: Step, engine: Engine) -> bool {
        let size = step.shape.label(step.kernel);
        self.refusals
            .iter()
            .any(|r| r.kernel == step.kernel && r.engine == engine && r.size == size)
    }

    fn refuse(&mut self, engine: Engine, reason: &str) {
        let step = self.current();
        log::warn!("{} {engine:?} refused: {reason}", step.kernel.name());
        self.refusals.push(Refusal {
            kernel: step.kernel,
            engine,
            size: step.shape.label(step.kernel),
            reason: reason.to_owned(),
        });
    }
}

fn step_what(step: Step) -> String {
    match step.kernel {
        KernelKind::Copy => format!("copy buffer ({})", step.shape.label(step.kernel)),
        KernelKind::GemvF32 => format!("GEMV matrix W ({})", step.shape.label(step.kernel)),
    }
}

/// A zeroed vector, or `None` if the allocator refuses (instead of aborting the page).
fn try_alloc(len: u64) -> Option<Vec<f32>> {
    let len = usize::try_from(len).ok()?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, 0.0);
    Some(v)
}

/// Fills inputs until done (true) or past the deadline (false).
fn fill_slice(inputs: &mut Inputs, seed: u64, deadline: Instant) -> bool {
    if inputs.filled == 0 {
        rng::fill_f32(rng::hash_u64(seed, STREAM_X), 0, &mut inputs.x);
    }
    let stream_a = rng::hash_u64(seed, STREAM_A);
    while inputs.filled < inputs.a.len() {
        let end = (inputs.filled + CHUNK_ELEMENTS).min(inputs.a.len());
        rng::fill_f32(
            stream_a,
            inputs.filled as u64,
            &mut inputs.a[inputs.filled..end],
        );
        inputs.filled = end;
        if Instant::now() >= deadline {
            break;
        }
    }
    inputs.filled >= inputs.a.len()
}

fn submit_gpu(
    ctx: &GpuContext,
    kernels: &DeviceKernels,
    step: Step,
    inputs: &Inputs,
    reps: u32,
) -> Result<KernelRun, GpuError> {
    let dispatches = crate::gpu::timing::dispatches_per_pass(step.bytes_moved());
    match step.kernel {
        KernelKind::Copy => {
            let problem = kernels.copy.prepare(ctx, &inputs.a)?;
            kernels.copy.submit(ctx, &problem, reps, dispatches)
        }
        KernelKind::GemvF32 => {
            let problem =
                kernels
                    .gemv
                    .prepare(ctx, &inputs.a, &inputs.x, step.shape.rows as usize)?;
            kernels.gemv.submit(ctx, &problem, reps, dispatches)
        }
    }
}

/// Runs the CPU reference until the deadline; true once all repetitions are timed.
fn cpu_slice(step: Step, inputs: &Inputs, job: &mut CpuJob, reps: u32, deadline: Instant) -> bool {
    let (units, unit_elements) = match step.kernel {
        KernelKind::Copy => (inputs.a.len(), 1),
        KernelKind::GemvF32 => (step.shape.rows as usize, step.shape.cols as usize),
    };
    let units_per_chunk = (CHUNK_ELEMENTS / unit_elements.max(1)).max(1);
    // Only the compute is timed: the clock runs from here to the last chunk of this slice.
    let started = Instant::now();
    loop {
        let end = (job.cursor + units_per_chunk).min(units);
        match step.kernel {
            KernelKind::Copy => {
                copy_reference(&inputs.a[job.cursor..end], &mut job.out[job.cursor..end])
            }
            KernelKind::GemvF32 => {
                let cols = unit_elements;
                gemv_f32_rows(
                    &inputs.a[job.cursor * cols..end * cols],
                    &inputs.x,
                    &mut job.out[job.cursor..end],
                );
            }
        }
        job.cursor = end;
        let now = Instant::now();
        if job.cursor >= units {
            job.current_ms += (now - started).as_secs_f64() * 1e3;
            job.passes_in_sample += 1;
            job.cursor = 0;
            if job.current_ms >= MIN_CPU_SAMPLE_MS || job.passes_in_sample >= MAX_PASSES_PER_SAMPLE
            {
                job.samples_ms
                    .push(job.current_ms / f64::from(job.passes_in_sample));
                job.current_ms = 0.0;
                job.passes_in_sample = 0;
                let total_ms: f64 = job.samples_ms.iter().sum();
                if job.samples_ms.len() >= reps as usize || total_ms >= CPU_TIME_CAP_MS {
                    return true;
                }
            }
            // The next pass starts with a fresh clock reading.
            return cpu_slice(step, inputs, job, reps, deadline);
        }
        if now >= deadline {
            job.current_ms += (now - started).as_secs_f64() * 1e3;
            return false;
        }
    }
}

/// Checks a result: the copy bit for bit, GEMV on sampled rows against the f64 oracle.
fn verify(step: Step, inputs: &Inputs, result: &[f32]) -> Verification {
    match step.kernel {
        KernelKind::Copy => {
            let mismatches = result
                .iter()
                .zip(&inputs.a)
                .filter(|(r, a)| r.to_bits() != a.to_bits())
                .count()
                + inputs.a.len().abs_diff(result.len());
            Verification {
                passed: mismatches == 0,
                error_to_bound: if mismatches == 0 { 0.0 } else { f64::INFINITY },
                checked: format!(
                    "all {} floats bit-exact: {} mismatches",
                    inputs.a.len(),
                    mismatches
                ),
            }
        }
        KernelKind::GemvF32 => {
            let rows = step.shape.rows as usize;
            let cols = step.shape.cols as usize;
            let rows_to_check = sample_rows(rows, CHECKED_ROWS);
            let row_of = |r: usize| inputs.a[r * cols..(r + 1) * cols].to_vec();
            let (_, ratio) = check_rows(&row_of, &inputs.x, result, &rows_to_check);
            let passed = ratio <= 1.0 && result.len() == rows;
            Verification {
                passed,
                error_to_bound: ratio,
                checked: format!("{} rows vs f64 oracle", rows_to_check.len()),
            }
        }
    }
}

/// First, last and evenly spread rows.
fn sample_rows(rows: usize, count: usize) -> Vec<usize> {
    if rows <= count {
        return (0..rows).collect();
    }
    let mut picked: Vec<usize> = (0..count).map(|i| i * (rows - 1) / (count - 1)).collect();
    picked.dedup();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_only_run_finishes_with_verified_results() {
        let settings = DeviceSettings {
            rows: 256,
            cols: 128,
            copy_mib: 1,
            reps: 3,
            ..DeviceSettings::default()
        };
        let compute = Compute::CpuFallback {
            reason: "test".into(),
        };
        let mut runner = BenchRunner::new(&settings);
        let mut slices = 0;
        // Tiny budgets force many slices: the result must not depend on slicing.
        while runner.step(&compute, Duration::from_micros(50)) {
            slices += 1;
            assert!(slices < 1_000_000, "runner does not finish");
        }
        assert!(runner.refusals.is_empty(), "{:?}", runner.refusals);
        assert_eq!(runner.measurements.len(), plan(&settings).len());
        for m in &runner.measurements {
            assert_eq!(m.engine, Engine::Cpu);
            assert!(m.verification.passed, "{m:?}");
            assert_eq!(m.samples, 3);
            // Every sample spans at least the minimum time (or the pass cap).
            assert!(m.ms_min > 0.0);
            assert!(m.gbps > 0.0);
        }
    }

    #[test]
    fn sample_rows_spread() {
        assert_eq!(sample_rows(3, 32), vec![0, 1, 2]);
        let rows = sample_rows(1000, 5);
        assert_eq!(rows, vec![0, 249, 499, 749, 999]);
    }
}
