//! Marginalization-model lab (Liu, Ramadge, Adams, ICML 2024): any marginal of an Ising model
//! in one network pass, against the autoregressive route.
//!
//! - `ising.rs`: the target (log f, exact log Z and marginals for L <= 4, transfer-matrix log Z
//!   for L <= 8, Gibbs); `partial.rs`: partial assignments (queries);
//! - `nets.rs`: the marginal and conditional networks on `crate::nn`, queries both ways,
//!   any-order sampling; `train.rs`: energy-based training (REINFORCE KL + self-consistency);
//! - `weights.rs`: the file format and shipped weights; `quality.rs`: error against exact.

pub mod checks;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod gpu;
pub mod ising;
pub mod lab;
pub mod nets;
pub mod partial;
pub mod quality;
pub mod settings;
pub mod speed;
pub mod train;
mod ui;
pub mod weights;

use super::{Citation, Lab, LabEnv};
use crate::selftest::Check;
use crate::share::{self, Correction, Pairs};
use lab::MamState;
use settings::MamSettings;

/// The most CPU time one frame's work (training, sampling) may take, seconds.
const MAX_WORK_S: f32 = 0.04;

#[derive(Default)]
pub struct MamLab {
    settings: MamSettings,
    state: MamState,
    brush: ui::Brush,
    on_gpu: bool,
}

impl Lab for MamLab {
    fn id(&self) -> &'static str {
        "mam"
    }

    fn title(&self) -> &'static str {
        "Marginalization models"
    }

    fn citation(&self) -> Citation {
        Citation {
            text: "Liu, Ramadge, Adams (2024). Generative Marginalization Models. ICML.",
            url: "https://arxiv.org/abs/2310.12920",
        }
    }

    fn card(&self) -> Option<super::LabCard> {
        Some(super::LabCard {
            claim: "One network pass gives log p of any partial pattern of an Ising lattice, where an autoregressive model needs one pass per painted site; both trained from the energy alone.",
            thumbnail: crate::plot::thumbnails::mam,
        })
    }

    fn settings_pairs(&self) -> Pairs {
        share::encode(&self.settings)
    }

    fn restore_settings(&mut self, pairs: &[(String, String)]) -> Vec<Correction> {
        let (settings, corrections) = share::decode::<MamSettings>(pairs);
        self.settings = settings;
        corrections
    }

    fn reset_settings(&mut self) {
        self.settings = MamSettings::default();
    }

    fn ui(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>) {
        self.on_gpu = env.compute.gpu().is_some();
        let budget = env.half_frame_budget(ui.ctx(), MAX_WORK_S);
        self.state.work(&mut self.settings, env.compute, budget);
        ui::mam_ui(
            &mut self.settings,
            &mut self.state,
            &mut self.brush,
            env.compute,
            ui,
        );
    }

    fn is_busy(&self) -> bool {
        self.state.is_busy(&self.settings, self.on_gpu)
    }

    fn status_json(&self) -> Option<String> {
        Some(self.state.status_json(&self.settings).to_string())
    }

    fn kernel_checks(&self) -> Vec<Box<dyn Check>> {
        checks::kernel_checks()
    }
}
