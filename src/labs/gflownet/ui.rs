//! The GFlowNet page: controls, heat maps (target, sampled, trajectories) and curves.

use egui::{Color32, RichText};

/// The exact metric's colour, and the sampled one's.
const EXACT: Color32 = Color32::from_rgb(0x1f, 0x77, 0xb4);
const SAMPLED: Color32 = Color32::from_rgb(0xd6, 0x62, 0x1e);
use egui_plot::{HLine, Legend, Line, Plot, PlotPoints};

use super::GfnLab;
use super::lab::LabRun;
use super::model::{BackwardPolicy, Loss};
use super::settings::{self, RewardKind, View, format_bumps};
use crate::labs::controls;
use crate::labs::layout::Part;
use crate::plot::{HeatMap, axis};

pub fn gfn_ui(lab: &mut GfnLab, ui: &mut egui::Ui) {
    crate::labs::layout::lab_page(ui, "gfn", |ui, part| match part {
        Part::Controls => controls_ui(lab, ui),
        Part::Results => results_part(lab, ui),
    });
}

fn results_part(lab: &mut GfnLab, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut lab.settings.view, View::Train, "Train a GFlowNet")
            .on_hover_text("Train on the reward from scratch: heat maps and curves");
        ui.selectable_value(
            &mut lab.settings.view,
            View::Oc,
            "OC-GFN: pre-train, condition, fine-tune",
        )
        .on_hover_text(
            "The paper's method: a reward-free pre-trained GFlowNet adapted to the reward",
        );
    });
    ui.separator();
    egui::ScrollArea::vertical().show(ui, |ui| match lab.settings.view {
        View::Oc => super::oc_ui::oc_ui(lab, ui),
        View::Train => match &lab.run {
            Some(run) => results_ui(lab, run, ui),
            None => {
                ui.label("Press Train.");
            }
        },
    });
}

fn controls_ui(lab: &mut GfnLab, ui: &mut egui::Ui) {
    ui.label(
        "A GFlowNet learns to sample grid cells with probability proportional to their reward. \
         Press Train and watch the sampled distribution match the target; then lower R0 \
         (sparser modes) and see how exploration gets harder.",
    );
    let s = &mut lab.settings;
    ui.add_space(4.0);
    ui.heading("Grid and reward");
    controls::number(ui, &mut s.ndim, &settings::NDIM);
    controls::number(ui, &mut s.height, &settings::HEIGHT);
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut s.reward, RewardKind::Standard, "standard")
            .on_hover_text("R0 + R1 on the outer band + R2 on the 2^D corner modes");
        ui.add_enabled_ui(s.ndim == 2, |ui| {
            ui.selectable_value(&mut s.reward, RewardKind::Painted, "painted")
                .on_hover_text(
                    "R0 plus bumps of height R1 + R2: click cells of the target map (2D)",
                );
        });
    });
    controls::number(ui, &mut s.r0, &settings::R0);
    controls::number(ui, &mut s.r1, &settings::R1);
    controls::number(ui, &mut s.r2, &settings::R2);
    ui.heading("Training");
    ui.horizontal_wrapped(|ui| {
        ui.label("loss");
        ui.selectable_value(&mut s.loss, Loss::Tb, "trajectory balance")
            .on_hover_text("(log Z + Σ log P_F − log R − Σ log P_B)² per trajectory");
        ui.selectable_value(&mut s.loss, Loss::Db, "detailed balance")
            .on_hover_text("(log F(s) + log P_F − log F(s') − log P_B)² per transition");
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("P_B");
        ui.selectable_value(&mut s.pb, BackwardPolicy::Uniform, "uniform")
            .on_hover_text("P_B(s|s') = 1 / number of parents of s' (the paper's set-up)");
        ui.selectable_value(&mut s.pb, BackwardPolicy::Learned, "learned")
            .on_hover_text(
                "D more policy outputs: a softmax over the parents (torchgfn's default)",
            );
    });
    controls::number(ui, &mut s.batch, &settings::BATCH);
    controls::number(ui, &mut s.hidden, &settings::HIDDEN);
    controls::number(ui, &mut s.layers, &settings::LAYERS);
    controls::number(ui, &mut s.lr, &settings::LR);
    controls::number(ui, &mut s.lr_logz, &settings::LR_LOGZ);
    controls::number(ui, &mut s.lr_half_life, &settings::LR_HALF_LIFE);
    controls::number(ui, &mut s.epsilon, &settings::EPSILON);
    controls::drag(ui, &mut s.seed, &settings::SEED);
    ui.heading("OC-GFN comparison");
    controls::number(
        ui,
        &mut s.compare_trajectories,
        &settings::COMPARE_TRAJECTORIES,
    );
    ui.heading("Evaluation");
    controls::number(ui, &mut s.eval_samples, &settings::EVAL_SAMPLES);
    controls::number(ui, &mut s.eval_every, &settings::EVAL_EVERY);
    ui.add_space(6.0);
    ui.horizontal_wrapped(|ui| {
        let label = if lab.settings.train { "Pause" } else { "Train" };
        if ui
            .button(label)
            .on_hover_text("Start or pause training (runs between frames).")
            .clicked()
        {
            lab.settings.train = !lab.settings.train;
        }
        if ui
            .button("Restart")
            .on_hover_text("New network from the seed; curves cleared.")
            .clicked()
        {
            lab.restart();
        }
        if ui
            .button("Evaluate now")
            .on_hover_text("Sample the current policy now (L1, sampled map).")
            .clicked()
            && let Some(run) = &mut lab.run
            && !run.is_evaluating()
        {
            run.evaluate_now();
        }
    });
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.digits$}"))
}

/// The run's figures in a row, then what the last evaluation was.
fn stats_ui(run: &LabRun, ui: &mut egui::Ui) {
    let last_eval = run.evals.last();
    let log_z_label = match run.loss {
        Loss::Tb => "log Z (learned)",
        Loss::Db => "log F(s0) (DB's log Z)",
    };
    // The headline figures first; on a phone only they are boxes, the rest fold away, so the
    // first plot is not pushed below the fold.
    let headline = [
        ("trajectories", run.trajectories.to_string()),
        (
            "L1 exact (sum over states)",
            fmt_opt(last_eval.and_then(|e| e.l1_exact), 4),
        ),
        (log_z_label, format!("{:.3}", run.log_z)),
        (
            "modes found",
            match (run.modes_found, &run.target) {
                (Some(found), Some(target)) => format!("{found} / {}", target.mode_count),
                _ => "—".to_owned(),
            },
        ),
    ];
    let more = [
        ("traj/s (training)", format!("{:.0}", run.compute_rate())),
        (
            "JSD exact (nats)",
            fmt_opt(last_eval.and_then(|e| e.jsd_exact), 5),
        ),
        (
            "L1 sampled (noise floor)",
            last_eval.map_or_else(
                || "—".to_owned(),
                |e| format!("{:.3} ({:.3})", e.l1, e.l1_noise_floor),
            ),
        ),
        (
            "log Z (true)",
            fmt_opt(run.target.as_ref().map(|t| t.log_z), 3),
        ),
    ];
    stat_boxes(ui, headline, more);
    if let Some(e) = last_eval {
        ui.label(
            RichText::new(format!(
                "last evaluation at {} trajectories: the policy's exact terminal distribution \
                 (forward dynamic programming over every state){}, and {} fresh samples on the \
                 {} in {:.2} s, whose L1 a perfect sampler would put at {:.3} (the noise floor)",
                e.trajectories,
                if e.l1_exact.is_none() {
                    " skipped: more than 65,536 states"
                } else {
                    ""
                },
                e.samples,
                if e.on_gpu { "GPU" } else { "CPU" },
                e.seconds,
                e.l1_noise_floor,
            ))
            .small()
            .weak(),
        );
    }
    if let Some(progress) = run.evaluation_progress() {
        ui.label(RichText::new(format!("evaluating… {:.0} %", 100.0 * progress)).small());
    }
    if let Some(why) = run.fallback_reason() {
        ui.label(
            RichText::new(format!(
                "Training runs on the page's own thread (slower, in frame slices): {why}"
            ))
            .small()
            .color(ui.visuals().warn_fg_color),
        );
    }
    for err in [&run.train_error, &run.eval_error].into_iter().flatten() {
        ui.label(RichText::new(err).color(ui.visuals().warn_fg_color));
    }
}

fn results_ui(lab: &GfnLab, run: &LabRun, ui: &mut egui::Ui) {
    stats_ui(run, ui);
    let Some(target) = &run.target else {
        ui.label(format!(
            "{} states: too many to enumerate (limit 2^20), so no exact target, L1 or modes.",
            run.grid.n_states()
        ));
        curves_ui(run, ui, None);
        return;
    };
    let grid = run.grid;
    let h = grid.height;
    // 2D marginals over the first two coordinates.
    let mut target_map = vec![0.0f64; h * h];
    let mut sampled_map = vec![0.0f64; h * h];
    let total_sampled: f64 = run
        .sampled
        .iter()
        .map(|&c| f64::from(c))
        .sum::<f64>()
        .max(1.0);
    for i in 0..grid.n_states() {
        let x = grid.state(i);
        let cell = usize::from(x[1]) * h + usize::from(x[0]);
        target_map[cell] += target.probabilities[i];
        sampled_map[cell] += run
            .sampled
            .get(i)
            .map_or(0.0, |&c| f64::from(c) / total_sampled);
    }
    let max = target_map.iter().copied().fold(0.0, f64::max);
    let marked: Vec<(usize, usize)> = (0..grid.n_states())
        .filter(|&i| target.mode_of_state[i].is_some() && grid.ndim == 2)
        .map(|i| {
            let x = grid.state(i);
            (usize::from(x[0]), usize::from(x[1]))
        })
        .collect();
    // Three across, on a phone too (there the maps shrink rather than wrap one by one).
    let side = ((ui.available_width() - 28.0) / 3.0).clamp(90.0, 320.0);
    let no_paths: Vec<Vec<(f32, f32)>> = Vec::new();
    let paths = &run.paths;
    let hover_target =
        |c: usize, r: usize| format!("x = ({c}, {r}): p = {:.4}", target_map[r * h + c]);
    let hover_sampled =
        |c: usize, r: usize| format!("x = ({c}, {r}): p̂ = {:.4}", sampled_map[r * h + c]);
    let hover_paths = |c: usize, r: usize| format!("x = ({c}, {r})");
    let mut clicked = None;
    // Short titles on a phone: a title wider than its map would push the third map down.
    let narrow = crate::labs::layout::is_narrow(ui.ctx());
    let pick = |wide: &'static str, short: &'static str| if narrow { short } else { wide };
    ui.horizontal_wrapped(|ui| {
        let title = if grid.ndim == 2 {
            pick("target p(x) ∝ R(x)", "target")
        } else {
            pick("target, marginal over x0, x1", "target (x0, x1)")
        };
        clicked = HeatMap {
            title,
            values: &target_map,
            rows: h,
            cols: h,
            max: Some(max),
            paths: &no_paths,
            marked: &marked,
            hover_text: &hover_target,
        }
        .ui(ui, side);
        HeatMap {
            title: pick("sampled p̂(x) (last evaluation)", "sampled"),
            values: &sampled_map,
            rows: h,
            cols: h,
            max: Some(max),
            paths: &no_paths,
            marked: &[],
            hover_text: &hover_sampled,
        }
        .ui(ui, side);
        HeatMap {
            title: pick("last training batch", "last batch"),
            values: &target_map,
            rows: h,
            cols: h,
            max: Some(max * 3.0),
            paths,
            marked: &[],
            hover_text: &hover_paths,
        }
        .ui(ui, side);
    });
    if lab.settings.reward == RewardKind::Painted {
        ui.label(RichText::new("Click a cell of the target map to add or remove a bump.").small());
    }
    if let Some(cell) = clicked {
        lab.pending_click.set(Some(cell));
    }
    curves_ui(run, ui, Some(target.log_z));
}

/// The figures as boxes on a wide screen; on a phone the headline four as a grid, the rest
/// in a fold.
fn stat_boxes(ui: &mut egui::Ui, headline: [(&str, String); 4], more: [(&str, String); 4]) {
    if crate::labs::layout::is_narrow(ui.ctx()) {
        // A grid of label and value, so the maps start on the first screen (boxes, one a row
        // at 390 px, stacked four before them).
        egui::Grid::new("gfn_headline_grid")
            .num_columns(2)
            .show(ui, |ui| {
                for (label, value) in headline {
                    ui.label(RichText::new(label).small());
                    ui.label(RichText::new(value).strong());
                    ui.end_row();
                }
            });
        egui::CollapsingHeader::new("More figures")
            .id_salt("gfn_more_figures")
            .show(ui, |ui| {
                egui::Grid::new("gfn_more_grid")
                    .num_columns(2)
                    .show(ui, |ui| {
                        for (label, value) in more {
                            ui.label(RichText::new(label).small());
                            ui.label(RichText::new(value).strong());
                            ui.end_row();
                        }
                    });
            });
    } else {
        // The wide order keeps related figures together (exact L1 beside JSD, learned log Z
        // beside the true one).
        let [trajectories, l1_exact, log_z, modes] = headline;
        let [rate, jsd, l1_sampled, log_z_true] = more;
        ui.horizontal_wrapped(|ui| {
            for (label, value) in [
                trajectories,
                rate,
                l1_exact,
                jsd,
                l1_sampled,
                log_z,
                log_z_true,
                modes,
            ] {
                stat(ui, label, value);
            }
        });
    }
}

/// A figure in a box of fixed width: a row of them wraps as whole boxes on a narrow screen.
fn stat(ui: &mut egui::Ui, label: &str, value: String) {
    ui.allocate_ui(egui::vec2(150.0, 56.0), |ui| {
        ui.group(|ui| {
            ui.set_width(134.0);
            ui.vertical(|ui| {
                ui.label(RichText::new(label).small());
                ui.label(RichText::new(value).strong());
            });
        });
    });
}

fn curves_ui(run: &LabRun, ui: &mut egui::Ui, log_z_true: Option<f64>) {
    // Three side by side, or one per row on a narrow screen.
    let narrow = crate::labs::layout::is_narrow(ui.ctx());
    let width = if narrow {
        ui.available_width()
    } else {
        (ui.available_width() / 3.0 - 8.0).max(150.0)
    };
    let stride = (run.curve.len() / 2000).max(1);
    let loss: Vec<[f64; 2]> = run
        .curve
        .iter()
        .step_by(stride)
        .map(|p| [p.trajectories, p.loss.max(1e-12).log10()])
        .collect();
    let log_z: Vec<[f64; 2]> = run
        .curve
        .iter()
        .step_by(stride)
        .map(|p| [p.trajectories, p.log_z])
        .collect();
    let l1_exact: Vec<[f64; 2]> = run
        .evals
        .iter()
        .filter_map(|e| Some([e.trajectories, e.l1_exact?]))
        .collect();
    let l1_sampled: Vec<[f64; 2]> = run.evals.iter().map(|e| [e.trajectories, e.l1]).collect();
    let floor: Vec<[f64; 2]> = run
        .evals
        .iter()
        .map(|e| [e.trajectories, e.l1_noise_floor])
        .collect();
    ui.horizontal_wrapped(|ui| {
        axis::log10_y(axis::count_x(Plot::new("gfn_loss")))
            .width(width)
            .height(200.0)
            .x_axis_label("training trajectories")
            .y_axis_label("loss (log scale)")
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.line(Line::new("loss", PlotPoints::from(loss)))
            });
        axis::count_x(Plot::new("gfn_l1"))
            .width(width)
            .height(200.0)
            .legend(Legend::default().position(egui_plot::Corner::RightTop))
            .x_axis_label("training trajectories")
            .y_axis_label("L1 (sum over states)")
            .include_y(0.0)
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.line(Line::new("exact", PlotPoints::from(l1_exact.clone())).color(EXACT));
                plot.points(
                    egui_plot::Points::new("exact", PlotPoints::from(l1_exact))
                        .color(EXACT)
                        .radius(3.0),
                );
                plot.points(
                    egui_plot::Points::new("sampled", PlotPoints::from(l1_sampled))
                        .color(SAMPLED)
                        .radius(2.5),
                );
                plot.line(
                    Line::new("sampling noise floor", PlotPoints::from(floor))
                        .color(Color32::GRAY)
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            });
        axis::count_x(Plot::new("gfn_logz"))
            .width(width)
            .height(200.0)
            // Bottom right: log Z rises from 0 towards the true value, so the corner stays clear.
            .legend(Legend::default().position(egui_plot::Corner::RightBottom))
            .x_axis_label("training trajectories")
            .y_axis_label("log Z")
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.line(Line::new("learned", PlotPoints::from(log_z)));
                if let Some(t) = log_z_true {
                    plot.hline(HLine::new("true", t));
                }
            });
    });
    // Why: at the defaults (the reference's constant step sizes) the curves climb back after
    // converging, which reads as a bug unless said (measured against torchgfn in BENCHMARKS).
    ui.label(
        egui::RichText::new(
            "Once the fit has converged, loss and L1 spike and recover: at constant step sizes \
             Adam keeps moving a policy that already fits (torchgfn, run the same way, does the \
             same). An lr half-life lets the steps shrink.",
        )
        .small()
        .weak(),
    );
    curves_csv_buttons(run, ui);
}

/// The curves' data: per training batch, and per evaluation.
fn curves_csv_buttons(run: &LabRun, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        crate::export::csv_button(
            ui,
            "gfn-training.csv",
            &["trajectories", "loss", "log Z (learned)"],
            || {
                run.curve
                    .iter()
                    .map(|p| vec![p.trajectories, p.loss, p.log_z])
                    .collect()
            },
        );
        crate::export::csv_button(
            ui,
            "gfn-evaluations.csv",
            &[
                "trajectories",
                "L1 exact (sum over states)",
                "JSD exact (nats)",
                "L1 sampled",
                "JSD sampled (nats)",
                "L1 noise floor",
                "samples",
            ],
            || {
                run.evals
                    .iter()
                    .map(|e| {
                        vec![
                            e.trajectories,
                            e.l1_exact.unwrap_or(f64::NAN),
                            e.jsd_exact.unwrap_or(f64::NAN),
                            e.l1,
                            e.jsd,
                            e.l1_noise_floor,
                            e.samples as f64,
                        ]
                    })
                    .collect()
            },
        );
    });
}

/// Toggles a painted bump at a clicked cell (2D painted reward).
pub(super) fn stat_pub(ui: &mut egui::Ui, label: &str, value: String) {
    stat(ui, label, value);
}

pub fn toggle_bump(lab: &mut GfnLab, cell: (usize, usize)) {
    if lab.settings.reward != RewardKind::Painted || lab.settings.ndim != 2 {
        return;
    }
    let cell = (cell.0 as u16, cell.1 as u16);
    let mut cells = lab.settings.bump_cells();
    if let Some(i) = cells.iter().position(|&c| c == cell) {
        cells.remove(i);
    } else {
        cells.push(cell);
    }
    lab.settings.bumps = format_bumps(&cells);
}
