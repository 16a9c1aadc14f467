//! Bandits lab: weighted tallying bandits under repeated exposure optimality (Malik, Igoe, Li,
//! Singh, ICML 2023), thousands of runs at once on the GPU.
//!
//! - `instance.rs`: arms, memory, tally weights, loss families, REO, presets; `sim.rs`: the
//!   fixed-point simulation of every algorithm (reference of `shaders/bandit_run.wgsl`);
//!   `gpu.rs`: its dispatch; `mc.rs`: Monte Carlo jobs and regret curves; `opt.rs`: the exact
//!   best sequence for small instances; `lab.rs`: the page's jobs; `ui.rs`.

pub mod checks;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
pub mod gpu;
pub mod instance;
pub mod lab;
pub mod mc;
pub mod opt;
pub mod settings;
pub mod sim;
mod ui;

use super::{Citation, LabCard, LabEnv, LabPage, Shortcut, ShortcutLabels};
use crate::selftest::Check;
use lab::LabState;
use settings::BanditSettings;

#[derive(Default)]
pub struct BanditLab {
    settings: BanditSettings,
    state: LabState,
}

impl LabPage for BanditLab {
    type Settings = BanditSettings;
    const ID: &'static str = "bandits";
    const TITLE: &'static str = "Bandits";
    const CITATION: Citation = Citation {
        text: "Malik, Igoe, Li, Singh (2023). Weighted Tallying Bandits: Overcoming Intractability via Repeated Exposure Optimality. ICML.",
        url: "https://arxiv.org/abs/2305.02955",
    };
    const CARD: Option<LabCard> = Some(LabCard {
        claim: "When the best arm only shines if played again and again, the paper's successive elimination stops paying regret while UCB1, EXP3 and friends keep paying: 3x to 10x less regret at T = 100,000.",
        thumbnail: crate::plot::thumbnails::bandits,
    });

    fn settings(&self) -> &BanditSettings {
        &self.settings
    }

    fn settings_mut(&mut self) -> &mut BanditSettings {
        &mut self.settings
    }

    fn frame(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>) {
        self.state.sync(&self.settings, env.compute);
        self.state
            .work(&self.settings, env.compute, env.work_budget);
        ui::bandits_ui(&mut self.settings, &mut self.state, ui, env);
    }

    fn is_busy(&self) -> bool {
        self.state.is_busy()
    }

    fn shortcut_labels(&self) -> ShortcutLabels {
        if self.settings.view != settings::View::Single {
            return ShortcutLabels::default();
        }
        ShortcutLabels {
            start_pause: Some(if self.state.playing {
                "pause the replay"
            } else {
                "replay the run"
            }),
            reset: Some("back to round 0"),
        }
    }

    fn shortcut(&mut self, action: Shortcut, _compute: &crate::gpu::Compute) {
        self.state.shortcut(action);
    }

    fn status_json(&self) -> Option<String> {
        Some(self.state.status_json().to_string())
    }

    fn kernel_checks() -> Vec<Box<dyn Check>> {
        checks::kernel_checks()
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn commands() -> Vec<crate::command::LabCommand> {
        cli::commands()
    }

    fn jobs() -> Vec<crate::jobs::JobKind> {
        vec![crate::jobs::JobKind::of::<mc::CpuRunsJob>()]
    }
}
