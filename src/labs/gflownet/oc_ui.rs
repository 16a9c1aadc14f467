//! The OC-GFN view: pre-trained conditional policy, conditioned rollouts to a clicked cell,
//! the exact conversion check, and fine-tuning against training from scratch.

use egui::{Color32, RichText};
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::GfnLab;
use super::env::{RewardSpec, Target};
use super::oc_lab::{
    COMPARISON_SEEDS, Comparison, ComparisonPoint, EXACT_CONVERSION_MAX_STATES, OcState,
    PRETRAIN_TRAJECTORIES,
};
use super::settings::{GfnSettings, format_bumps};
use super::ui::stat_pub;
use crate::plot::{HeatMap, axis};

pub fn oc_ui(lab: &mut GfnLab, ui: &mut egui::Ui) {
    ui.label(
        "An outcome-conditioned GFlowNet learns, without any reward, to reach any cell y it is \
         asked for. Click a cell to see rollouts conditioned on it. Given a reward R, the \
         pre-trained flows convert exactly into a sampler of R (checked below by enumeration), \
         and a small amortised predictor learns that conversion: set R0 to 0.001 (sparse modes), \
         press \"Fine-tune vs scratch\" and compare how fast each finds the reward's modes.",
    );
    let reward = lab.settings.reward_spec();
    let settings = lab.settings.clone();
    let Some(oc) = &mut lab.oc else {
        return;
    };
    let grid = oc.grid;
    ui.horizontal_wrapped(|ui| {
        stat_pub(ui, "pre-trained model", oc.source.clone());
        let over = if oc.success_outcomes >= grid.n_states() {
            "all outcomes".to_owned()
        } else {
            format!(
                "{} of {} outcomes, evenly spread",
                oc.success_outcomes,
                grid.n_states()
            )
        };
        stat_pub(
            ui,
            &format!("success rate ({over})"),
            oc.success
                .map_or_else(|| "—".to_owned(), |s| format!("{:.1} %", 100.0 * s)),
        );
        stat_pub(
            ui,
            "rollouts reaching the clicked y",
            oc.conditioned_success.map_or_else(
                || "click a cell".to_owned(),
                |s| format!("{:.0} %", 100.0 * s),
            ),
        );
    });
    if grid.ndim != 2 {
        ui.label(
            "Conditioned sampling is drawn for 2D grids (set D = 2); the fine-tuning comparison \
             below runs on any grid with a pre-trained model (shipped for 4D H=8, the harder \
             setting: with R0 = 0.001 the fine-tuned model finds all 16 modes after 3,000 to \
             5,000 trajectories; set the comparison's trajectories to 6000, minutes of work).",
        );
    }
    if !grid.is_enumerable() || grid.n_states() > 4096 {
        ui.label("OC-GFN in the page is limited to grids of at most 4096 states.");
        return;
    }
    ui.horizontal_wrapped(|ui| {
        let label = if oc.model.is_some() { "Re-run pre-training" } else { "Pre-train" };
        if oc.pretraining.is_none()
            && ui
                .button(label)
                .on_hover_text(format!(
                    "Reward-free pre-training here: {PRETRAIN_TRAJECTORIES} trajectories of detailed balance with hindsight relabelling."
                ))
                .clicked()
        {
            oc.start_pretraining(settings.seed);
        }
        if let Some(t) = &oc.pretraining {
            ui.add(
                egui::ProgressBar::new(t.trajectories as f32 / PRETRAIN_TRAJECTORIES as f32)
                    .text(format!("pre-training: {} trajectories", t.trajectories)),
            );
        }
    });
    let target = Target::enumerate(grid, &reward);
    let Some(target) = target else {
        return;
    };
    if grid.ndim == 2
        && let Some((c, r)) = conditioned_map(oc, &target, &settings, ui)
    {
        lab.settings.oc_target = format_bumps(&[(c as u16, r as u16)]);
    }
    let Some(oc) = &mut lab.oc else {
        return;
    };
    if grid.n_states() > EXACT_CONVERSION_MAX_STATES {
        ui.label(format!(
            "The exact conversion's check is left to the CLI on grids over {EXACT_CONVERSION_MAX_STATES} states (seconds of work in the page): `paperlab gfn finetune --weights FILE` prints exact_conversion_l1."
        ));
    } else if let Some(l1) = oc.exact_conversion_l1(&reward) {
        ui.label(format!(
            "Exact conversion to the current reward (sum over all {} outcomes y of R(y) F(s|y) P_F(s'|s,y)): \
             L1 to the target = {l1:.4} (sum over states). A perfect pre-training gives 0.",
            grid.n_states()
        ));
    }
    ui.add_space(6.0);
    comparison_part(oc, &settings, &reward, ui);
}

/// The fine-tune-vs-scratch button, its progress, any job's error and the comparison's plots.
fn comparison_part(
    oc: &mut OcState,
    settings: &GfnSettings,
    reward: &RewardSpec,
    ui: &mut egui::Ui,
) {
    ui.horizontal_wrapped(|ui| {
        let running = oc.comparison.as_ref().is_some_and(|c| !c.is_finished());
        if !running && oc.model.is_some() {
            let button = ui.button("Fine-tune vs scratch").on_hover_text(format!(
                "{COMPARISON_SEEDS} seeds each: amortised fine-tuning of the frozen OC-GFN, and a GFlowNet trained from scratch (TB) with the same exploration, batch {}",
                settings.batch
            ));
            crate::export::remember_button(ui.ctx(), "oc-compare", button.rect);
            if button.clicked() {
                oc.start_comparison(
                    reward,
                    u64::from(settings.compare_trajectories),
                    settings.batch as usize,
                );
            }
        }
        if let Some(c) = &oc.comparison {
            // The last batch may pass the limit: the bar stops at it.
            let done = c.trajectories.min(c.limit);
            ui.add(egui::ProgressBar::new(done as f32 / c.limit as f32).text(format!("{done} / {} trajectories per seed", c.limit)));
        }
    });
    let errors = [
        oc.job_error.as_ref(),
        oc.comparison.as_ref().and_then(|c| c.error.as_ref()),
    ];
    for error in errors.into_iter().flatten() {
        ui.colored_label(ui.visuals().warn_fg_color, error);
    }
    if let Some(c) = &oc.comparison {
        comparison_ui(c, ui);
    }
}

/// The target with the rollouts conditioned on the clicked outcome; returns a new click.
fn conditioned_map(
    oc: &OcState,
    target: &Target,
    settings: &GfnSettings,
    ui: &mut egui::Ui,
) -> Option<(usize, usize)> {
    let grid = oc.grid;
    let h = grid.height;
    let values: Vec<f64> = (0..h * h)
        .map(|cell| target.probabilities[grid.index(&[(cell % h) as u16, (cell / h) as u16, 0, 0])])
        .collect();
    let paths: Vec<Vec<(f32, f32)>> = oc
        .conditioned
        .iter()
        .map(|p| {
            p.iter()
                .map(|x| (f32::from(x[0]), f32::from(x[1])))
                .collect()
        })
        .collect();
    let marked: Vec<(usize, usize)> = settings
        .oc_target_cell()
        .map(|(x, y)| vec![(usize::from(x), usize::from(y))])
        .unwrap_or_default();
    let hover = |c: usize, r: usize| format!("condition on y = ({c}, {r})");
    let max = values.iter().copied().fold(0.0, f64::max) * 3.0;
    HeatMap {
        title: "conditioned rollouts (click a cell to choose the outcome y)",
        values: &values,
        rows: h,
        cols: h,
        max: Some(max),
        paths: &paths,
        marked: &marked,
        hover_text: &hover,
    }
    .ui(ui, 300.0_f32.min(ui.available_width()))
}

/// Modes found against training trajectories, fine-tuned OC-GFN against scratch, every seed;
/// and when each seed found them all.
/// Mean and range over seeds of modes found, as a line and a band.
struct Band {
    mean: Vec<[f64; 2]>,
    band: Vec<[f64; 2]>,
}

/// The band of `values(point)` (one per seed) against `x(point, seed)` averaged over seeds.
fn band(
    curve: &[ComparisonPoint],
    x: &dyn Fn(&ComparisonPoint) -> f64,
    values: &dyn Fn(&ComparisonPoint) -> Vec<f64>,
) -> Band {
    let mut mean = Vec::with_capacity(curve.len());
    let mut low = Vec::with_capacity(curve.len());
    let mut high = Vec::with_capacity(curve.len());
    for p in curve {
        let v = values(p);
        let n = v.len().max(1) as f64;
        let xp = x(p);
        mean.push([xp, v.iter().sum::<f64>() / n]);
        low.push([xp, v.iter().copied().fold(f64::INFINITY, f64::min)]);
        high.push([xp, v.iter().copied().fold(f64::NEG_INFINITY, f64::max)]);
    }
    // The polygon: along the upper edge, back along the lower one.
    let mut band: Vec<[f64; 2]> = high;
    band.extend(low.into_iter().rev());
    Band { mean, band }
}

fn draw_band(plot: &mut egui_plot::PlotUi<'_>, name: &str, b: Band, color: Color32) {
    if b.mean.len() >= 2 {
        plot.polygon(
            egui_plot::Polygon::new(
                format!("{name} (range over seeds)"),
                PlotPoints::from(b.band),
            )
            .fill_color(color.gamma_multiply(0.25))
            // No outline, but the stroke's colour is what the legend shows for a polygon.
            .stroke(egui::Stroke::new(0.0, color))
            .allow_hover(false),
        );
    }
    plot.line(
        Line::new(format!("{name} (mean)"), PlotPoints::from(b.mean))
            .color(color)
            .width(2.0),
    );
}

/// Modes found by the fine-tuned OC-GFN and by training from scratch (same exploration),
/// mean and range over seeds, against training trajectories and against calls of the reward.
fn comparison_ui(c: &Comparison, ui: &mut egui::Ui) {
    let total = c.target.mode_count as f64;
    let blue = Color32::from_rgb(0x1f, 0x77, 0xb4);
    let orange = Color32::from_rgb(0xd6, 0x62, 0x1e);
    let narrow = crate::labs::layout::is_narrow(ui.ctx());
    let width = if narrow {
        ui.available_width()
    } else {
        (ui.available_width() / 2.0 - 8.0).max(150.0)
    };
    let modes_of = |v: &[usize]| v.iter().map(|&m| m as f64).collect::<Vec<f64>>();
    ui.horizontal_wrapped(|ui| {
        axis::count_x(Plot::new("oc_modes"))
            .width(width)
            .height(240.0)
            .legend(Legend::default().position(egui_plot::Corner::RightBottom))
            .x_axis_label("training trajectories")
            .y_axis_label(format!("modes found (of {total})"))
            .include_y(0.0)
            .include_y(total)
            .allow_scroll(false)
            .show(ui, |plot| {
                let x = |p: &ComparisonPoint| p.trajectories as f64;
                draw_band(
                    plot,
                    "fine-tuned OC-GFN",
                    band(&c.curve, &x, &|p| modes_of(&p.finetuned)),
                    blue,
                );
                draw_band(
                    plot,
                    "from scratch (TB)",
                    band(&c.curve, &x, &|p| modes_of(&p.scratch)),
                    orange,
                );
            });
        // Against reward calls: fine-tuning calls R for every (state, action, outcome) it
        // trains on, training from scratch once per trajectory.
        axis::log10_x(Plot::new("oc_modes_evaluations"))
            .width(width)
            .height(240.0)
            .legend(Legend::default().position(egui_plot::Corner::RightBottom))
            .x_axis_label("calls of the reward R (log scale)")
            .y_axis_label(format!("modes found (of {total})"))
            .include_y(0.0)
            .include_y(total)
            .allow_scroll(false)
            .show(ui, |plot| {
                let log_calls = |calls: u64| (calls.max(1) as f64).log10();
                let ft = band(
                    &c.curve,
                    &|p| {
                        let n = p.finetune_reward_evaluations.len().max(1) as u64;
                        log_calls(p.finetune_reward_evaluations.iter().sum::<u64>() / n)
                    },
                    &|p| modes_of(&p.finetuned),
                );
                let sc = band(&c.curve, &|p| log_calls(p.trajectories), &|p| {
                    modes_of(&p.scratch)
                });
                draw_band(plot, "fine-tuned OC-GFN", ft, blue);
                draw_band(plot, "from scratch (TB)", sc, orange);
            });
    });
    let first_all = |counts: &dyn Fn(&ComparisonPoint) -> usize| {
        c.curve
            .iter()
            .find(|p| counts(p) as f64 >= total)
            .map(|p| p.trajectories)
    };
    let mut lines = Vec::new();
    for seed in 0..COMPARISON_SEEDS as usize {
        let ft = first_all(&|p| p.finetuned[seed]);
        let sc = first_all(&|p| p.scratch[seed]);
        let fmt = |v: Option<u64>| v.map_or_else(|| "not yet".to_owned(), |t| t.to_string());
        lines.push(format!(
            "seed {seed}: all modes after {} (fine-tuned) vs {} (scratch) trajectories",
            fmt(ft),
            fmt(sc)
        ));
    }
    for line in lines {
        ui.label(RichText::new(line).small());
    }
    if !c.exact_l1.is_empty() {
        let fmt = |v: Vec<f64>| {
            v.iter()
                .map(|x| format!("{x:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        ui.label(
            RichText::new(format!(
                "Exact L1 to the target at the end (each seed's exact terminal distribution): \
                 fine-tuned {}; from scratch {}. Both explore with epsilon {}.",
                fmt(c.exact_l1.iter().map(|p| p.0).collect()),
                fmt(c.exact_l1.iter().map(|p| p.1).collect()),
                c.epsilon,
            ))
            .small(),
        );
    }
}
