//! GFlowNet lab: hypergrid training (TB / DB), GPU sampling, OC-GFN pre-training and
//! fine-tuning (Pan, Jain, Madan, Bengio, ICLR 2024).
//!
//! - `env.rs`: the hypergrid, rewards, exact target; `model.rs`, `train.rs`: the policy and
//!   its training; `sample.rs` (CPU reference) and `gpu.rs` (WGSL) samplers; `metrics.rs`;
//!   `run.rs`: a run with evaluations (CLI); `lab.rs`: the page's live state; `ui.rs`.

pub mod checks;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
pub mod env;
pub mod finetune;
pub mod gpu;
pub mod jobs;
pub mod lab;
pub mod metrics;
pub mod model;
pub mod oc;
pub mod oc_jobs;
pub mod oc_lab;
mod oc_ui;
pub mod oc_weights;
pub mod rollout;
pub mod run;
pub mod sample;
pub mod settings;
pub mod train;
mod ui;

use std::cell::Cell;

use super::{Citation, LabCard, LabEnv, LabPage, Shortcut, ShortcutLabels};
use crate::selftest::Check;
use lab::LabRun;
use oc_lab::OcState;
use settings::{GfnSettings, View};
use web_time::Duration;

/// The redraw interval while only workers work (see `busy_redraw_interval`).
const WORKER_NEWS_REDRAW_INTERVAL: Duration = Duration::from_millis(50);

#[derive(Default)]
pub struct GfnLab {
    settings: GfnSettings,
    run: Option<LabRun>,
    oc: Option<OcState>,
    /// The (grid, target) last drawn conditioned rollouts for, to redraw only on change.
    conditioned_key: String,
    /// A heat-map click, applied after drawing (the map borrows the run while it draws).
    pending_click: Cell<Option<(usize, usize)>>,
}

impl GfnLab {
    /// A fresh run from the settings (the workers stay).
    fn restart(&mut self) {
        match &mut self.run {
            Some(run) => run.restart(&self.settings),
            None => self.run = Some(LabRun::new(&self.settings)),
        }
    }
}

impl LabPage for GfnLab {
    type Settings = GfnSettings;
    const ID: &'static str = "gfn";
    const TITLE: &'static str = "GFlowNets";
    const CITATION: Citation = Citation {
        text: "Pan, Jain, Madan, Bengio (2024). Pre-Training and Fine-Tuning Generative Flow Networks. ICLR.",
        url: "https://arxiv.org/abs/2310.03419",
    };
    const CARD: Option<LabCard> = Some(LabCard {
        claim: "A GFlowNet pre-trained without any reward finds all four modes of a sparse reward in 5 of 5 seeds within 2,000 trajectories; trained from scratch with the same exploration, in 1 of 5 (it calls the reward about 100 times less per trajectory).",
        thumbnail: crate::plot::thumbnails::gflownet,
    });

    fn settings(&self) -> &GfnSettings {
        &self.settings
    }

    fn settings_mut(&mut self) -> &mut GfnSettings {
        &mut self.settings
    }

    fn frame(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>) {
        // Settings that define the problem changed (slider, link, reset): start over.
        let key = format!("{:?}", self.settings.training_key());
        if self.run.as_ref().is_none_or(|r| r.key != key) {
            self.restart();
        }
        if self.settings.view == View::Oc {
            let grid = self.settings.grid();
            if self.oc.as_ref().is_none_or(|oc| oc.grid != grid) {
                self.oc = Some(OcState::new(grid));
                self.conditioned_key.clear();
            }
            if let Some(oc) = &mut self.oc {
                oc.work(env.work_budget);
                let key = format!("{grid:?}{}{}", self.settings.oc_target, oc.model.is_some());
                if key != self.conditioned_key {
                    self.conditioned_key = key;
                    if let Some((x, y)) = self.settings.oc_target_cell() {
                        oc.condition_on([x, y, 0, 0], 32, self.settings.seed as u32);
                    } else {
                        oc.conditioned.clear();
                        oc.conditioned_success = None;
                    }
                }
            }
        }
        if let Some(run) = &mut self.run {
            // Training and evaluation run in workers: this only takes their news (the budget
            // is spent only where no worker could start).
            run.frame(&self.settings, env.compute, env.work_budget);
        }
        ui::gfn_ui(self, ui);
        if let Some(cell) = self.pending_click.take() {
            ui::toggle_bump(self, cell);
        }
    }

    fn shortcut_labels(&self) -> ShortcutLabels {
        if self.settings.view != View::Train {
            return ShortcutLabels::default();
        }
        ShortcutLabels {
            start_pause: Some(if self.settings.train {
                "pause training"
            } else {
                "train"
            }),
            reset: Some("restart training (new network from the seed)"),
        }
    }

    fn shortcut(&mut self, action: Shortcut, _compute: &crate::gpu::Compute) {
        match action {
            Shortcut::StartPause => self.settings.train = !self.settings.train,
            Shortcut::Reset => self.restart(),
        }
    }

    fn is_busy(&self) -> bool {
        let oc_busy = self.oc.as_ref().is_some_and(OcState::is_busy);
        oc_busy || self.settings.train || self.run.as_ref().is_some_and(LabRun::is_evaluating)
    }

    /// While only the workers work (training, and an evaluation sampled on the CPU), 20
    /// redraws a second show their news: the software rasteriser and the page's main thread
    /// then leave the CPU to the training worker, and no main-thread task nears 50 ms.
    fn busy_redraw_interval(&self) -> Duration {
        let oc_busy = self.oc.as_ref().is_some_and(OcState::is_busy);
        match &self.run {
            Some(run) if !oc_busy && run.works_off_page() => WORKER_NEWS_REDRAW_INTERVAL,
            _ => Duration::ZERO,
        }
    }

    fn status_json(&self) -> Option<String> {
        let run = self.run.as_ref()?;
        let last = run.evals.last();
        Some(
            serde_json::json!({
                "training": self.settings.train,
                "trajectories": run.trajectories,
                "trajectories_per_s": run.compute_rate(),
                // The worker's rate (training time only) and the rate in wall-clock time while
                // training is on: how much the page's own work holds training back.
                "compute_trajectories_per_s": run.compute_rate(),
                "wall_trajectories_per_s": run.wall_rate(),
                "in_worker": run.fallback_reason().is_none(),
                "worker_fallback": run.fallback_reason(),
                "longest_main_task_ms": run.longest_main_task_ms(),
                "train_error": run.train_error,
                "evaluations": run.evals.len(),
                "l1": last.map(|e| e.l1),
                "l1_exact": last.and_then(|e| e.l1_exact),
                "jsd_exact": last.and_then(|e| e.jsd_exact),
                "l1_noise_floor": last.map(|e| e.l1_noise_floor),
                "log_z": run.log_z,
                "eval_on_gpu": last.map(|e| e.on_gpu),
                "modes_found": run.modes_found,
                "eval_error": run.eval_error,
                "oc_success": self.oc.as_ref().and_then(|oc| oc.success),
                "oc_success_outcomes": self.oc.as_ref().map(|oc| oc.success_outcomes),
                "oc_source": self.oc.as_ref().map(|oc| oc.source.clone()),
                "oc_job_error": self.oc.as_ref().and_then(|oc| oc.job_error.clone()),
                "oc_conditioned_success": self.oc.as_ref().and_then(|oc| oc.conditioned_success),
                "oc_exact_l1": self.oc.as_ref().and_then(|oc| oc.exact_l1.as_ref().map(|(_, l1)| *l1)),
                "oc_comparison_finished": self.oc.as_ref().and_then(|oc| oc.comparison.as_ref().map(|c| c.is_finished())),
                "oc_comparison_seeds_with_exact_l1": self.oc.as_ref().and_then(|oc| oc.comparison.as_ref().map(|c| c.exact_l1.len())),
                "oc_comparison_error": self.oc.as_ref().and_then(|oc| oc.comparison.as_ref().and_then(|c| c.error.clone())),
            })
            .to_string(),
        )
    }

    fn kernel_checks() -> Vec<Box<dyn Check>> {
        checks::kernel_checks()
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn commands() -> Vec<crate::command::LabCommand> {
        cli::commands()
    }

    fn jobs() -> Vec<crate::jobs::JobKind> {
        vec![
            crate::jobs::JobKind::of::<jobs::TrainJob>(),
            crate::jobs::JobKind::of::<jobs::EvalJob>(),
            crate::jobs::JobKind::of::<oc_jobs::PretrainJob>(),
            crate::jobs::JobKind::of::<oc_jobs::CompareJob>(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shell slows its redraws only while workers (threads here) do all of the work.
    #[test]
    fn redraws_slow_down_only_while_workers_do_the_work() {
        let mut lab = GfnLab::default();
        lab.settings.train = true;
        // No run yet: the next frame starts one, so draw it at once.
        assert_eq!(lab.busy_redraw_interval(), Duration::ZERO);
        lab.restart();
        assert_eq!(lab.busy_redraw_interval(), WORKER_NEWS_REDRAW_INTERVAL);
        // Training that falls back into the page advances only in frames: every frame.
        if let Some(run) = &mut lab.run {
            run.fall_back_for_test();
        }
        assert_eq!(lab.busy_redraw_interval(), Duration::ZERO);
    }
}
