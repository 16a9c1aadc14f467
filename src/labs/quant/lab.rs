//! The page's work, a few rows per frame: the matrix and its activations, the chosen method's
//! quantization (row view), every method at every width (trade-off curves), the sparse
//! positions, and the kernel suite timed on this device (one kernel per frame) or, without
//! WebGPU, its CPU references.

use std::collections::VecDeque;
use std::rc::Rc;

use web_time::{Duration, Instant};

use super::matrix::{Activations, Matrix, calibration_and_held_out, outputs, synthetic_weights};
use super::methods::{Config, ErrorInputs, Method, MetricSums, Metrics, Quantized, Quantizer};
use super::settings::QuantSettings;
use super::sparse;
use super::suite::{SuiteInputs, SuiteKernel, SuiteKernels, SuiteResult, dispatches_per_pass};
use super::sweep::{SweepJob, SweepSpec};
use crate::gpu::{Compute, KernelRun};
use crate::jobs::{Event, JobHandle};
use crate::stats::median;

/// Lloyd iterations of the k-means codebooks (SqueezeLLM uses about 50).
pub const KMEANS_ITERATIONS: u32 = 50;
/// The CPU fallback times its references on at most this many weights.
pub const MAX_CPU_TIMING_WEIGHTS: usize = 1 << 20;
const TIMED_PASSES: u32 = 5;

/// One curve of the trade-off plot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Series {
    Rtn,
    RtnG128,
    SignedInt,
    Bipolar,
    Kmeans,
    SqueezeDense,
    SqueezeSparse,
    Q40,
    Iq4Nl,
}

impl Series {
    pub const CURVES: [Series; 7] = [
        Series::Rtn,
        Series::RtnG128,
        Series::SignedInt,
        Series::Bipolar,
        Series::Kmeans,
        Series::SqueezeDense,
        Series::SqueezeSparse,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Series::Rtn => "round-to-nearest (uniform)",
            Series::RtnG128 => "round-to-nearest, groups of 128",
            Series::SignedInt => "signed INT",
            Series::Bipolar => "bipolar-INT",
            Series::Kmeans => "k-means codebook (plain)",
            Series::SqueezeDense => "SqueezeLLM (weighted), dense only",
            Series::SqueezeSparse => "SqueezeLLM + sparse",
            Series::Q40 => "Q4_0 (llama.cpp)",
            Series::Iq4Nl => "IQ4_NL (llama.cpp)",
        }
    }

    pub fn config(self, bits: u32, s: &QuantSettings) -> Config {
        let method = match self {
            Series::Rtn => Method::Rtn,
            Series::RtnG128 => Method::RtnG128,
            Series::SignedInt => Method::SignedInt,
            Series::Bipolar => Method::Bipolar,
            Series::Kmeans => Method::Kmeans,
            Series::SqueezeDense | Series::SqueezeSparse => Method::Squeeze,
            Series::Q40 => Method::Q40,
            Series::Iq4Nl => Method::Iq4Nl,
        };
        let sparse = self == Series::SqueezeSparse;
        Config {
            method,
            bits,
            outlier_percent: if sparse { s.outliers } else { 0.0 },
            sensitive_percent: if sparse { s.sensitive } else { 0.0 },
            seed: s.seed,
            iterations: KMEANS_ITERATIONS,
        }
    }
}

/// The chosen method's configuration: the sparse split belongs to SqueezeLLM.
pub fn detail_config(s: &QuantSettings) -> Config {
    let series = match s.method {
        Method::Squeeze => Series::SqueezeSparse,
        Method::Kmeans => Series::Kmeans,
        Method::Rtn => Series::Rtn,
        Method::RtnG128 => Series::RtnG128,
        Method::SignedInt => Series::SignedInt,
        Method::Bipolar => Series::Bipolar,
        Method::Q40 => Series::Q40,
        Method::Iq4Nl => Series::Iq4Nl,
    };
    series.config(s.method_bits(), s)
}

/// The matrix, its activation batch, the sensitivity proxy and the original outputs.
pub struct MatrixState {
    pub key: String,
    pub name: String,
    pub w: Matrix,
    pub acts: Activations,
    pub sensitivity: Vec<f64>,
    pub reference: Vec<f64>,
    /// MiniLM's own activations (calibration verses, held-out verses), not synthetic ones.
    pub real_activations: bool,
}

impl MatrixState {
    /// `Ok(None)` while the shipped weights are still being fetched (web).
    pub fn build(s: &QuantSettings) -> Result<Option<Self>, String> {
        let (w, name, real) = match s.matrix.shipped_name() {
            Some(name) => {
                let (Some(w), Some(real)) = (
                    super::real::minilm(name)?,
                    super::real::minilm_activations(name, s.batch as usize)?,
                ) else {
                    return Ok(None);
                };
                (w, name.to_owned(), Some(real))
            }
            None => (
                synthetic_weights(s.rows as usize, s.cols as usize, s.seed, s.weight_outliers),
                format!("synthetic {}x{}", s.rows, s.cols),
                None,
            ),
        };
        Ok(Some(Self::from_weights(w, name, s, real)))
    }

    /// The sensitivities (from a calibration batch) and the held-out batch with its outputs of
    /// `w`: the real ones given for a shipped matrix, else synthetic ones from the settings
    /// (seeded: the page and the sweep's worker build the same ones).
    pub fn from_weights(
        w: Matrix,
        name: String,
        s: &QuantSettings,
        real: Option<(Vec<f64>, Activations)>,
    ) -> Self {
        let (sensitivity, acts, real_activations) = match real {
            Some((sensitivity, acts)) => (sensitivity, acts, true),
            None => {
                let hot = (s.hot_channels as usize).min(w.cols);
                let (sensitivity, acts) =
                    calibration_and_held_out(s.batch as usize, w.cols, s.seed, hot);
                (sensitivity, acts, false)
            }
        };
        let reference = outputs(&w, &acts);
        Self {
            key: s.matrix_key(),
            name,
            w,
            acts,
            sensitivity,
            reference,
            real_activations,
        }
    }
}

enum Stage {
    Quantizing(Quantizer),
    Scoring {
        q: Quantized,
        reconstructed: Vec<f32>,
        sums: MetricSums,
    },
}

/// One quantization and its metrics, advanced a few rows at a time.
pub struct QuantJob {
    pub config: Config,
    stage: Option<Stage>,
}

/// Rows between clock reads.
const ROWS_PER_CHECK: usize = 4;

impl QuantJob {
    pub fn new(m: &MatrixState, config: Config) -> Self {
        Self {
            config,
            stage: Some(Stage::Quantizing(Quantizer::new(
                &m.w,
                &m.sensitivity,
                &config,
            ))),
        }
    }

    /// Works until `deadline` (at least one slice); the result once done.
    pub fn work(&mut self, m: &MatrixState, deadline: Instant) -> Option<(Quantized, Metrics)> {
        loop {
            match self.stage.take()? {
                Stage::Quantizing(mut qz) => {
                    qz.step(ROWS_PER_CHECK);
                    if qz.done() {
                        let q = qz.finish(&m.w);
                        let reconstructed = q.reconstruct();
                        self.stage = Some(Stage::Scoring {
                            q,
                            reconstructed,
                            sums: MetricSums::default(),
                        });
                    } else {
                        self.stage = Some(Stage::Quantizing(qz));
                    }
                }
                Stage::Scoring {
                    q,
                    reconstructed,
                    mut sums,
                } => {
                    let start = sums.rows_done();
                    let end = (start + ROWS_PER_CHECK).min(m.w.rows);
                    sums.add_rows(
                        &ErrorInputs {
                            w: &m.w,
                            reconstructed: &reconstructed,
                            sensitivity: &m.sensitivity,
                            acts: &m.acts,
                            reference: &m.reference,
                        },
                        start..end,
                    );
                    if end >= m.w.rows {
                        let metrics = sums.finish(&q);
                        return Some((q, metrics));
                    }
                    self.stage = Some(Stage::Scoring {
                        q,
                        reconstructed,
                        sums,
                    });
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
        }
    }

    /// Rows done out of 2 x rows (quantizing, then scoring).
    pub fn fraction(&self, rows: usize) -> f64 {
        let done = match &self.stage {
            Some(Stage::Quantizing(qz)) => qz.rows_done(),
            Some(Stage::Scoring { sums, .. }) => rows + sums.rows_done(),
            None => 2 * rows,
        };
        done as f64 / (2 * rows).max(1) as f64
    }
}

/// One point of a trade-off curve.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct SweepPoint {
    pub series: Series,
    pub bits: u32,
    pub metrics: Metrics,
}

/// The kernel suite timed one kernel per frame.
pub struct KernelTiming {
    pub rows: usize,
    pub cols: usize,
    inputs: Rc<SuiteInputs>,
    pending: VecDeque<SuiteKernel>,
    kernels: Option<SuiteKernels>,
    in_flight: Option<(SuiteKernel, KernelRun)>,
    pub results: Vec<SuiteResult>,
    pub errors: Vec<String>,
    pub on_gpu: bool,
    /// Why the size differs from the one asked for (CPU cap).
    pub note: Option<String>,
}

impl KernelTiming {
    pub fn start(rows: usize, cols: usize, compute: &Compute, seed: u64) -> Result<Self, String> {
        let on_gpu = compute.gpu().is_some();
        let (mut rows, mut note) = (rows, None);
        if !on_gpu && rows * cols > MAX_CPU_TIMING_WEIGHTS {
            rows = (MAX_CPU_TIMING_WEIGHTS / cols).max(1);
            note = Some(format!(
                "no WebGPU: the CPU references are timed on {rows} x {cols} (at most {MAX_CPU_TIMING_WEIGHTS} weights)"
            ));
        }
        let inputs = SuiteInputs::generate(rows, cols, seed)?;
        Ok(Self {
            rows,
            cols,
            inputs: Rc::new(inputs),
            pending: SuiteKernel::all().into(),
            kernels: compute.gpu().map(SuiteKernels::new),
            in_flight: None,
            results: Vec::new(),
            errors: Vec::new(),
            on_gpu,
            note,
        })
    }

    pub fn done(&self) -> bool {
        self.pending.is_empty() && self.in_flight.is_none()
    }

    pub fn progress(&self) -> (usize, usize) {
        let total = SuiteKernel::all().len();
        (
            total - self.pending.len() - usize::from(self.in_flight.is_some()),
            total,
        )
    }

    /// Polls the kernel in flight or starts the next one (GPU), or times one CPU reference.
    pub fn step(&mut self, compute: &Compute) {
        match (compute.gpu(), &self.kernels) {
            (Some(ctx), Some(kernels)) => {
                if let Some((k, run)) = &mut self.in_flight {
                    let k = *k;
                    match run.try_finish(ctx) {
                        None => return,
                        Some(Ok(out)) => {
                            let timing = out.timing.label();
                            let ms = median(&out.pass_ms);
                            let mut result =
                                SuiteResult::measured(&self.inputs, k, ms, timing, &out.bytes);
                            result.shape = kernels.shape_label(k);
                            result.fraction_of_copy = self
                                .results
                                .iter()
                                .find(|r| r.kernel == SuiteKernel::Copy.name())
                                .map(|copy| result.gbps / copy.gbps);
                            self.results.push(result);
                        }
                        Some(Err(e)) => self.errors.push(format!("{}: {e}", k.name())),
                    }
                    self.in_flight = None;
                }
                if let Some(k) = self.pending.pop_front() {
                    let per_pass = dispatches_per_pass(self.inputs.bytes(k));
                    match kernels.submit(ctx, &self.inputs, k, TIMED_PASSES, per_pass) {
                        Ok(run) => self.in_flight = Some((k, run)),
                        Err(e) => self.errors.push(format!("{}: {e}", k.name())),
                    }
                }
            }
            _ => {
                let Some(k) = self.pending.pop_front() else {
                    return;
                };
                // One untimed warm-up run (the browser first runs wasm code unoptimised and
                // optimises it once hot), then whole repetitions until 5 ms have passed
                // (browsers coarsen the clock).
                let mut out = self.inputs.run_cpu(k);
                let t0 = Instant::now();
                let mut reps = 0u32;
                while reps == 0 || t0.elapsed() < Duration::from_millis(5) {
                    out = self.inputs.run_cpu(k);
                    reps += 1;
                }
                let ms = t0.elapsed().as_secs_f64() * 1e3 / f64::from(reps);
                self.results.push(SuiteResult::measured(
                    &self.inputs,
                    k,
                    ms,
                    "CPU wall clock",
                    &out,
                ));
            }
        }
    }
}

#[derive(Default)]
pub struct LabState {
    pub matrix: Option<MatrixState>,
    pub matrix_error: Option<String>,
    matrix_tried: String,
    /// The shipped weights are still being fetched (web): retried every frame.
    pub matrix_loading: bool,
    detail_key: String,
    pub detail_job: Option<QuantJob>,
    pub detail: Option<(Config, Quantized, Metrics)>,
    sweep_key: String,
    /// Every method at every width, in a background job (a Web Worker on the web).
    sweep_job: JobHandle<SweepJob>,
    pub sweep_total: usize,
    sweep_progress: f64,
    pub sweep: Vec<SweepPoint>,
    pub sweep_error: Option<String>,
    sparse_key: String,
    /// The dense-and-sparse positions (row-major mask) at the chosen fractions.
    pub sparse_mask: Vec<bool>,
    pub kernels: Option<KernelTiming>,
    pub kernel_error: Option<String>,
}

impl LabState {
    /// Starts over where the settings that define a result changed.
    pub fn sync(&mut self, s: &QuantSettings) {
        if s.matrix_key() != self.matrix_tried || self.matrix_loading {
            self.matrix_tried = s.matrix_key();
            self.matrix = None;
            self.detail = None;
            (self.detail_key, self.sweep_key, self.sparse_key) = Default::default();
            self.matrix_loading = false;
            match MatrixState::build(s) {
                Ok(Some(m)) => {
                    self.matrix = Some(m);
                    self.matrix_error = None;
                }
                Ok(None) => self.matrix_loading = true,
                Err(e) => self.matrix_error = Some(e),
            }
        }
        let Some(m) = &self.matrix else {
            return;
        };
        if s.detail_key() != self.detail_key {
            self.detail_key = s.detail_key();
            self.detail_job = Some(QuantJob::new(m, detail_config(s)));
        }
        if s.sweep_key() != self.sweep_key {
            self.sweep_key = s.sweep_key();
            self.sweep_total = super::sweep::sweep_plan().len();
            self.sweep_progress = 0.0;
            self.sweep_error = None;
            self.sweep.clear();
            self.sweep_job.start(&SweepSpec::of(m, s), false);
        }
        let sparse_key = s.sweep_key();
        if sparse_key != self.sparse_key {
            self.sparse_key = sparse_key;
            self.sparse_mask = sparse::select(&m.w, &m.sensitivity, s.outliers, s.sensitive);
        }
    }

    pub fn start_kernels(&mut self, s: &QuantSettings, compute: &Compute) {
        match KernelTiming::start(
            s.kernel_rows as usize,
            s.kernel_cols as usize,
            compute,
            s.seed,
        ) {
            Ok(k) => {
                self.kernels = Some(k);
                self.kernel_error = None;
            }
            Err(e) => self.kernel_error = Some(e),
        }
    }

    /// Detail first, then the sweep; the kernel suite advances once per frame.
    pub fn work(&mut self, budget: Duration, compute: &Compute) {
        if let Some(k) = &mut self.kernels
            && !k.done()
        {
            k.step(compute);
        }
        let Some(m) = &self.matrix else {
            return;
        };
        let deadline = Instant::now() + budget;
        // The chosen method's one quantization runs here, in slices (the row view needs the
        // whole quantized matrix); the sweep's points come from its worker.
        if let Some(job) = &mut self.detail_job
            && let Some((q, metrics)) = job.work(m, deadline)
        {
            self.detail = Some((job.config, q, metrics));
            self.detail_job = None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        for event in self.sweep_job.poll(left) {
            match event {
                Event::Update(update) => {
                    self.sweep.extend(update.points);
                    self.sweep_progress = update.fraction;
                }
                Event::Finished => self.sweep_progress = 1.0,
                Event::Failed(why) => self.sweep_error = Some(why),
            }
        }
    }

    /// Why the sweep runs in the page rather than in a worker (`None`: in a worker).
    pub fn sweep_fallback_reason(&self) -> Option<&str> {
        self.sweep_job.fallback_reason()
    }

    pub fn is_busy(&self) -> bool {
        self.matrix_loading
            || self.detail_job.is_some()
            || self.sweep_job.is_running()
            || self.kernels.as_ref().is_some_and(|k| !k.done())
    }

    /// The sweep's progress in [0, 1].
    pub fn sweep_fraction(&self) -> f64 {
        self.sweep_progress
    }

    pub fn status_json(&self) -> serde_json::Value {
        let point = |p: &SweepPoint| {
            serde_json::json!({
                "series": p.series.label(), "bits": p.bits,
                "bits_per_weight": p.metrics.bits_per_weight,
                "output_rel_error": p.metrics.output_rel_error,
                "weight_mse": p.metrics.weight_mse,
                "sensitivity_weighted_mse": p.metrics.sensitivity_weighted_mse,
            })
        };
        let kernels = self.kernels.as_ref().map(|k| {
            let mut summary = super::suite::summary(&k.results);
            summary["on_gpu"] = serde_json::json!(k.on_gpu);
            serde_json::json!({
                "done": k.done(), "rows": k.rows, "cols": k.cols,
                "results": k.results, "errors": k.errors, "summary": summary,
            })
        });
        serde_json::json!({
            "matrix": self.matrix.as_ref().map(|m| &m.name),
            "matrix_error": self.matrix_error,
            "real_activations": self.matrix.as_ref().map(|m| m.real_activations),
            "detail": self.detail.as_ref().map(|(c, _, m)| serde_json::json!({
                "method": c.method.code(), "bits": c.bits, "metrics": m,
            })),
            "sweep_done": self.sweep.len(),
            "sweep_total": self.sweep_total,
            "sweep_in_worker": self.sweep_job.fallback_reason().is_none(),
            "sweep_error": self.sweep_error,
            "sweep": self.sweep.iter().map(point).collect::<Vec<_>>(),
            "sparse_entries": self.sparse_mask.iter().filter(|&&b| b).count(),
            "heldout_model": super::minilm::table::shipped().as_ref().ok().map(|rows| {
                let holds = |bits| super::minilm::table::ordering(rows, bits).map(|o| o.expected_holds);
                serde_json::json!({ "rows": rows.len(), "ordering_holds_3": holds(3), "ordering_holds_4": holds(4) })
            }),
            "kernels": kernels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::quant::methods::{metrics, quantize};
    use crate::labs::quant::settings::MatrixSource;

    #[test]
    fn sliced_jobs_equal_the_one_shot_quantizer_and_metrics() {
        let s = QuantSettings {
            matrix: MatrixSource::Synthetic,
            rows: 37,
            cols: 64,
            ..QuantSettings::default()
        };
        let m = MatrixState::build(&s)
            .expect("synthetic builds")
            .expect("no fetch");
        for series in [Series::SqueezeSparse, Series::Q40, Series::Bipolar] {
            let config = series.config(3, &s);
            let mut job = QuantJob::new(&m, config);
            let mut slices = 0;
            let (q, sliced) = loop {
                // A deadline in the past: one slice per call.
                if let Some(done) = job.work(&m, Instant::now()) {
                    break done;
                }
                slices += 1;
            };
            assert!(slices > 10, "{series:?} ran in {slices} slices");
            let whole = quantize(&m.w, &m.sensitivity, &config);
            assert_eq!(q.dense, whole.dense);
            let one_shot = metrics(&m.w, &whole, &m.sensitivity, &m.acts);
            assert_eq!(sliced, one_shot, "{series:?}");
        }
    }

    #[test]
    fn the_page_pipeline_finishes_on_the_cpu() {
        let s = QuantSettings {
            matrix: MatrixSource::Synthetic,
            rows: 24,
            cols: 96,
            kernel_rows: 64,
            kernel_cols: 96,
            ..QuantSettings::default()
        };
        let compute = Compute::CpuFallback {
            reason: "test".to_owned(),
        };
        let mut state = LabState::default();
        state.sync(&s);
        state.start_kernels(&s, &compute);
        // The sweep runs on its job's thread: frames here only take its points.
        let started = Instant::now();
        while state.is_busy() {
            state.work(Duration::from_millis(20), &compute);
            std::thread::sleep(Duration::from_millis(2));
            assert!(started.elapsed().as_secs() < 120, "never finished");
        }
        assert_eq!(state.sweep.len(), state.sweep_total);
        assert!(state.detail.is_some());
        let k = state.kernels.as_ref().expect("started");
        assert_eq!(k.results.len(), SuiteKernel::all().len());
        assert!(k.results.iter().all(|r| r.verified && r.ms_median > 0.0));
        // Every point is finite and the widest SqueezeLLM beats the narrowest.
        assert!(
            state
                .sweep
                .iter()
                .all(|p| p.metrics.output_rel_error.is_finite())
        );
        let err = |bits| {
            state
                .sweep
                .iter()
                .find(|p| p.series == Series::SqueezeDense && p.bits == bits)
                .map(|p| p.metrics.output_rel_error)
        };
        assert!(err(8) < err(2));
    }
}
