//! Marginalization-model lab (Liu, Ramadge, Adams, ICML 2024): any marginal of an Ising model
//! in one network pass, against the autoregressive route.
//!
//! - `ising.rs`: the target (log f, exact log Z and marginals for L <= 4, transfer-matrix log Z
//!   for L <= 8, Gibbs); `partial.rs`: partial assignments (queries);
//! - `nets.rs`: the marginal and conditional networks on `crate::nn`, queries both ways,
//!   any-order sampling; `train.rs`: energy-based training (REINFORCE KL + self-consistency);
//! - `weights.rs`: the file format and shipped weights; `quality.rs`: error against exact.

pub mod arm;
pub mod checks;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
pub mod eval;
pub mod gpu;
pub mod ising;
pub mod jobs;
pub mod lab;
pub mod nets;
pub mod partial;
pub mod quality;
pub mod settings;
pub mod speed;
pub mod train;
mod ui;
pub mod weights;

use super::{Citation, LabCard, LabEnv, LabPage, Shortcut, ShortcutLabels};
use crate::selftest::Check;
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

impl LabPage for MamLab {
    type Settings = MamSettings;
    const ID: &'static str = "mam";
    const TITLE: &'static str = "Marginalization models";
    const CITATION: Citation = Citation {
        text: "Liu, Ramadge, Adams (2024). Generative Marginalization Models. ICML.",
        url: "https://arxiv.org/abs/2310.12920",
    };
    const CARD: Option<LabCard> = Some(LabCard {
        claim: "One network pass gives log p of any partial pattern of an Ising lattice, where an autoregressive model needs one pass per painted site; both trained from the energy alone.",
        thumbnail: crate::plot::thumbnails::mam,
    });

    fn settings(&self) -> &MamSettings {
        &self.settings
    }

    fn settings_mut(&mut self) -> &mut MamSettings {
        &mut self.settings
    }

    fn frame(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>) {
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

    fn shortcut_labels(&self) -> ShortcutLabels {
        ShortcutLabels {
            start_pause: Some(if self.settings.train {
                "pause training"
            } else {
                "train (opens the Training view)"
            }),
            reset: self
                .state
                .training
                .is_some()
                .then_some("restart training (fresh networks from the seed)"),
        }
    }

    fn shortcut(&mut self, action: Shortcut, _compute: &crate::gpu::Compute) {
        match action {
            Shortcut::StartPause => {
                self.settings.train = !self.settings.train;
                self.settings.view = settings::View::Train;
            }
            Shortcut::Reset => self.state.start_training(&self.settings),
        }
    }

    fn status_json(&self) -> Option<String> {
        Some(self.state.status_json(&self.settings).to_string())
    }

    fn kernel_checks() -> Vec<Box<dyn Check>> {
        checks::kernel_checks()
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn commands() -> Vec<crate::command::LabCommand> {
        cli::commands()
    }

    fn jobs() -> Vec<crate::jobs::JobKind> {
        vec![crate::jobs::JobKind::of::<jobs::TrainJob>()]
    }
}
