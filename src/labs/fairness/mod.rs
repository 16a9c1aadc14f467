//! Fairness lab: local vs global disparity in federated learning by partial information
//! decomposition, and the AGLFOP accuracy-fairness limit (Hamman & Dutta, ICLR 2024).
//!
//! - `info.rs`: entropies and (conditional) mutual information; `conic.rs`: Clarabel programs
//!   row by row; `pid.rs`: BROJA PID as an exponential-cone program; `aglfop.rs`: the
//!   accuracy limit under two disparity budgets; `data.rs`: scenarios and records;
//!   `fedavg.rs`: the federated classifier with fairness penalties; `lab.rs`: the page's jobs;
//!   `ui.rs`; `cli.rs`: `paperlab pid`, `paperlab aglfop`, `paperlab adult`, `paperlab bench
//!   fairness`; `adult.rs`: the paper's ADULT experiment (census records, the reference's client
//!   splits, a logistic regression) as compact tables.

#[cfg(not(target_arch = "wasm32"))]
pub mod adult;
pub mod aglfop;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
pub mod conic;
pub mod data;
pub mod fedavg;
pub mod info;
pub mod lab;
pub mod pid;
pub mod settings;
pub mod table;
mod ui;

use super::{Citation, LabCard, LabEnv, LabPage, Shortcut, ShortcutLabels};
use lab::LabState;
use settings::FairnessSettings;

/// The most solving one frame may do, seconds.
const MAX_WORK_S: f32 = 0.05;

#[derive(Default)]
pub struct FairnessLab {
    settings: FairnessSettings,
    state: LabState,
}

impl LabPage for FairnessLab {
    type Settings = FairnessSettings;
    const ID: &'static str = "fairness";
    const TITLE: &'static str = "Fairness in federated learning";
    const CITATION: Citation = Citation {
        text: "Hamman, Dutta (2024). Demystifying Local and Global Fairness Trade-offs in Federated Learning Using Partial Information Decomposition. ICLR.",
        url: "https://arxiv.org/abs/2307.11333",
    };
    const CARD: Option<LabCard> = Some(LabCard {
        claim: "A model can be fair inside every client yet unfair overall, or the reverse: the gap is exactly redundant minus masked disparity, and no federated strategy beats the accuracy limit at a given pair of budgets.",
        thumbnail: crate::plot::thumbnails::fairness,
    });

    fn settings(&self) -> &FairnessSettings {
        &self.settings
    }

    fn settings_mut(&mut self) -> &mut FairnessSettings {
        &mut self.settings
    }

    fn frame(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>) {
        self.state.sync(&self.settings);
        self.state.work(env.half_frame_budget(ui.ctx(), MAX_WORK_S));
        ui::fairness_ui(&mut self.settings, &mut self.state, ui);
    }

    fn shortcut_labels(&self) -> ShortcutLabels {
        ShortcutLabels {
            start_pause: None,
            reset: Some("retrain the federated model from zero weights"),
        }
    }

    fn shortcut(&mut self, action: Shortcut, _compute: &crate::gpu::Compute) {
        if action == Shortcut::Reset {
            self.state.retrain();
        }
    }

    fn is_busy(&self) -> bool {
        self.state.is_busy()
    }

    fn status_json(&self) -> Option<String> {
        Some(self.state.status_json().to_string())
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn commands() -> Vec<crate::command::LabCommand> {
        cli::commands()
    }

    fn jobs() -> Vec<crate::jobs::JobKind> {
        vec![crate::jobs::JobKind::of::<lab::SolveJob>()]
    }
}
