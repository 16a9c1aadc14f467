//! A generic check for kernels whose output is a vector of `f32`s.

use super::{Check, CheckReport};
use crate::gpu::{Compute, GpuContext, GpuError, KernelRun, f32s_from_bytes};

/// A comparison of a result with the reference.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub max_abs_error: f64,
    /// Largest error relative to its bound: <= 1 passes.
    pub error_to_bound: f64,
    pub detail: String,
}

type StartGpu = Box<dyn Fn(&GpuContext) -> Result<KernelRun, GpuError>>;
type RunCpu = Box<dyn Fn() -> Vec<f32>>;
type Judge = Box<dyn Fn(&[f32]) -> Verdict>;

/// Runs a kernel on the GPU (or its CPU fallback) and judges the result against a reference.
pub struct KernelCheck {
    name: String,
    start_gpu: StartGpu,
    run_cpu: RunCpu,
    judge: Judge,
    in_flight: Option<KernelRun>,
}

impl KernelCheck {
    /// `start_gpu` submits the kernel; `run_cpu` runs the CPU fallback path; `judge` compares
    /// either result with an independent reference.
    pub fn new(
        name: impl Into<String>,
        start_gpu: impl Fn(&GpuContext) -> Result<KernelRun, GpuError> + 'static,
        run_cpu: impl Fn() -> Vec<f32> + 'static,
        judge: impl Fn(&[f32]) -> Verdict + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            start_gpu: Box::new(start_gpu),
            run_cpu: Box::new(run_cpu),
            judge: Box::new(judge),
            in_flight: None,
        }
    }

    fn report(&self, path: &'static str, verdict: Verdict) -> CheckReport {
        CheckReport {
            name: self.name.clone(),
            path,
            passed: verdict.error_to_bound <= 1.0,
            max_abs_error: verdict.max_abs_error,
            error_to_bound: verdict.error_to_bound,
            detail: verdict.detail,
        }
    }

    fn failure(&self, path: &'static str, error: &GpuError) -> CheckReport {
        CheckReport {
            name: self.name.clone(),
            path,
            passed: false,
            max_abs_error: f64::INFINITY,
            error_to_bound: f64::INFINITY,
            detail: error.to_string(),
        }
    }
}

impl Check for KernelCheck {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, compute: &Compute) -> Option<CheckReport> {
        let Some(ctx) = compute.gpu() else {
            let result = (self.run_cpu)();
            return Some(self.report("cpu", (self.judge)(&result)));
        };
        let run = match &mut self.in_flight {
            Some(run) => run,
            None => match (self.start_gpu)(ctx) {
                Ok(run) => self.in_flight.insert(run),
                Err(e) => return Some(self.failure("gpu", &e)),
            },
        };
        let outcome = run.try_finish(ctx)?;
        self.in_flight = None;
        Some(match outcome {
            Ok(output) => self.report("gpu", (self.judge)(&f32s_from_bytes(&output.bytes))),
            Err(e) => self.failure("gpu", &e),
        })
    }
}
