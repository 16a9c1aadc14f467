//! Self-test: every registered kernel check (GPU result vs an independent reference on seeded
//! random inputs) run once, asynchronously, with a JSON report.
//!
//! On the web `?selftest=1` runs it after start-up and writes the report into
//! `<pre id="selftest-result">`; natively `paperlab selftest` prints it. Without a GPU each
//! check runs the CPU fallback path the labs use and compares it with the same reference.

mod check;

pub use check::{KernelCheck, Verdict};

use serde::Serialize;

use crate::gpu::Compute;

/// The outcome of one check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub name: String,
    /// "gpu" or "cpu" (which path produced the result that was checked).
    pub path: &'static str,
    pub passed: bool,
    /// Largest |result - reference| over the checked outputs.
    pub max_abs_error: f64,
    /// Largest error as a fraction of its allowed bound (<= 1 passes).
    pub error_to_bound: f64,
    pub detail: String,
}

/// One asynchronous check: polled once per frame until it reports.
pub trait Check {
    fn name(&self) -> &str;
    fn poll(&mut self, compute: &Compute) -> Option<CheckReport>;
}

/// The whole self-test report.
#[derive(Clone, Debug, Serialize)]
pub struct SelfTestReport {
    pub passed: bool,
    pub compute: String,
    pub checks: Vec<CheckReport>,
}

/// Runs checks one after another, one poll per frame.
pub struct SelfTestRun {
    pending: std::collections::VecDeque<Box<dyn Check>>,
    reports: Vec<CheckReport>,
}

impl SelfTestRun {
    pub fn new(checks: Vec<Box<dyn Check>>) -> Self {
        Self {
            pending: checks.into(),
            reports: Vec::new(),
        }
    }

    /// Advances the current check; `Some` with the full report once every check reported.
    pub fn poll(&mut self, compute: &Compute) -> Option<SelfTestReport> {
        while let Some(check) = self.pending.front_mut() {
            let report = check.poll(compute)?;
            log::info!(
                "selftest {}: {} ({})",
                report.name,
                if report.passed { "pass" } else { "FAIL" },
                report.detail
            );
            self.reports.push(report);
            self.pending.pop_front();
        }
        let checks = std::mem::take(&mut self.reports);
        Some(SelfTestReport {
            passed: !checks.is_empty() && checks.iter().all(|c| c.passed),
            compute: compute.badge(),
            checks,
        })
    }

    pub fn progress(&self) -> (usize, usize) {
        let done = self.reports.len();
        (done, done + self.pending.len())
    }

    /// Native: run to completion, blocking on the device between polls.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_blocking(mut self, compute: &Compute) -> SelfTestReport {
        loop {
            if let Some(report) = self.poll(compute) {
                return report;
            }
            if let Some(ctx) = compute.gpu() {
                let _ = ctx.device.poll(wgpu::PollType::wait_indefinitely());
            }
        }
    }
}
