//! GFlowNet lab: hypergrid training (TB / DB), GPU sampling, OC-GFN pre-training and
//! fine-tuning (Pan, Jain, Madan, Bengio, ICLR 2024).
//!
//! - `env.rs`: the hypergrid, rewards, exact target; `model.rs`, `train.rs`: the policy and
//!   its training; `sample.rs` (CPU reference) and `gpu.rs` (WGSL) samplers; `metrics.rs`;
//!   `run.rs`: a run with evaluations (CLI); `lab.rs`: the page's live state; `ui.rs`.

pub mod checks;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod env;
pub mod gpu;
pub mod lab;
pub mod metrics;
pub mod model;
pub mod run;
pub mod sample;
pub mod settings;
pub mod train;
mod ui;

use std::cell::Cell;

use super::{Citation, Lab, LabEnv};
use crate::selftest::Check;
use crate::share::{self, Correction, Pairs};
use lab::LabRun;
use settings::GfnSettings;

#[derive(Default)]
pub struct GfnLab {
    settings: GfnSettings,
    run: Option<LabRun>,
    /// A heat-map click, applied after drawing (the map borrows the run while it draws).
    pending_click: Cell<Option<(usize, usize)>>,
}

impl GfnLab {
    fn restart(&mut self) {
        self.run = Some(LabRun::new(&self.settings));
    }
}

impl Lab for GfnLab {
    fn id(&self) -> &'static str {
        "gfn"
    }

    fn title(&self) -> &'static str {
        "GFlowNets"
    }

    fn citation(&self) -> Citation {
        Citation {
            text: "Pan, Jain, Madan, Bengio (2024). Pre-Training and Fine-Tuning Generative Flow Networks. ICLR.",
            url: "https://arxiv.org/abs/2310.03419",
        }
    }

    fn settings_pairs(&self) -> Pairs {
        share::encode(&self.settings)
    }

    fn restore_settings(&mut self, pairs: &[(String, String)]) -> Vec<Correction> {
        let (settings, corrections) = share::decode::<GfnSettings>(pairs);
        self.settings = settings;
        corrections
    }

    fn reset_settings(&mut self) {
        self.settings = GfnSettings::default();
    }

    fn ui(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>) {
        // Settings that define the problem changed (slider, link, reset): start over.
        let key = format!("{:?}", self.settings.training_key());
        if self.run.as_ref().is_none_or(|r| r.key != key) {
            self.restart();
        }
        if let Some(run) = &mut self.run {
            // Evaluation first (it may be waiting on the GPU), then training in what is left;
            // a paused run gives the whole budget to evaluation.
            let eval_budget = if self.settings.train {
                env.work_budget / 2
            } else {
                env.work_budget
            };
            run.poll_evaluation(eval_budget, env.compute);
            if self.settings.train {
                run.train_slice(env.work_budget / 2, &self.settings, env.compute);
            }
        }
        ui::gfn_ui(self, ui, env);
        if let Some(cell) = self.pending_click.take() {
            ui::toggle_bump(self, cell);
        }
    }

    fn is_busy(&self) -> bool {
        self.settings.train || self.run.as_ref().is_some_and(LabRun::is_evaluating)
    }

    fn status_json(&self) -> Option<String> {
        let run = self.run.as_ref()?;
        let last = run.evals.last();
        Some(
            serde_json::json!({
                "training": self.settings.train,
                "trajectories": run.run.trainer.trajectories,
                "evaluations": run.evals.len(),
                "l1": last.map(|e| e.l1),
                "eval_on_gpu": last.map(|e| e.on_gpu),
                "modes_found": run.run.modes.as_ref().map(|m| m.count),
                "eval_error": run.eval_error,
            })
            .to_string(),
        )
    }

    fn kernel_checks(&self) -> Vec<Box<dyn Check>> {
        checks::kernel_checks()
    }
}
