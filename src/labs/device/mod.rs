//! Device page: what this GPU can do, measured live by our own kernels.
//!
//! - `settings.rs`: the user-settable state (the link).
//! - `plan.rs`: which measurements, and the figures derived from them (plain Rust).
//! - `runner.rs`: the benchmark as a sliced state machine (shared by the page and the CLI).
//! - `checks.rs`: self-test entries for the copy and GEMV kernels.
//! - `cli.rs`: `paperlab gpu-info` and `paperlab bench device`.
//! - `ui.rs`: the page.

pub mod checks;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
pub mod plan;
pub mod runner;
pub mod settings;
mod ui;

use super::{Citation, LabCard, LabEnv, LabPage};
use crate::selftest::Check;
use runner::BenchRunner;
use settings::DeviceSettings;

#[derive(Default)]
pub struct DeviceLab {
    settings: DeviceSettings,
    /// The running or last finished benchmark.
    runner: Option<BenchRunner>,
    /// The page starts one run by itself on first show, so a visitor sees figures at once.
    auto_run_done: bool,
}

impl DeviceLab {
    fn start_run(&mut self) {
        self.runner = Some(BenchRunner::new(&self.settings));
    }
}

impl LabPage for DeviceLab {
    type Settings = DeviceSettings;
    const ID: &'static str = "device";
    const TITLE: &'static str = "Device";
    const CITATION: Citation = Citation {
        text: "Williams, Waterman, Patterson (2009). Roofline: an insightful visual performance model for multicore architectures. CACM 52(4).",
        url: "https://doi.org/10.1145/1498765.1498785",
    };
    const CARD: Option<LabCard> = Some(LabCard {
        claim: "What your GPU can do, measured live by our own WGSL kernels: memory bandwidth of a copy, and how close an f32 matrix-vector product gets to it (0.7 to 1.0 of a copy on an H200).",
        thumbnail: crate::plot::thumbnails::device,
    });

    fn settings(&self) -> &DeviceSettings {
        &self.settings
    }

    fn settings_mut(&mut self) -> &mut DeviceSettings {
        &mut self.settings
    }

    fn settings_replaced(&mut self, _previous: &DeviceSettings) {
        // New sizes from a link: measure them (the old figures no longer match the link).
        if self.auto_run_done {
            self.start_run();
        }
    }

    fn frame(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>) {
        if !self.auto_run_done {
            self.auto_run_done = true;
            self.start_run();
        }
        if let Some(runner) = &mut self.runner
            && !runner.is_finished()
        {
            runner.step(env.compute, env.work_budget);
        }
        ui::device_ui(self, ui, env);
    }

    fn is_busy(&self) -> bool {
        self.runner.as_ref().is_some_and(|r| !r.is_finished())
    }

    fn status_json(&self) -> Option<String> {
        let runner = self.runner.as_ref()?;
        let chosen = plan::Shape {
            rows: u64::from(runner.settings().rows),
            cols: u64::from(runner.settings().cols),
        };
        let status = serde_json::json!({
            "finished": runner.is_finished(),
            "summary": plan::summarize(&runner.measurements, chosen),
            "measurements": runner.measurements.len(),
            "all_verified": runner.measurements.iter().all(|m| m.verification.passed),
            "refusals": runner.refusals.iter().map(|r| format!("{} {:?} {}: {}", r.kernel.name(), r.engine, r.size, r.reason)).collect::<Vec<_>>(),
        });
        Some(status.to_string())
    }

    fn kernel_checks() -> Vec<Box<dyn Check>> {
        checks::kernel_checks(settings::SEED.default)
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn commands() -> Vec<crate::command::LabCommand> {
        cli::commands()
    }
}
