//! The bandits page: instance and learner controls, the loss curves, and four views (regret vs
//! t, regret at T vs T, regret vs M, one run animated).

use egui::{Color32, RichText};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints, Points, Polygon, VLine};

use super::instance::{ArmLoss, Family, Preset, Weights, arms_from_text, arms_to_text};
use super::lab::LabState;
use super::mc::McResult;
use super::settings::{self, BanditSettings, NoiseKind, View};
use super::sim::Algo;
use crate::labs::layout::Part;
use crate::labs::{LabEnv, controls};

pub fn algo_color(algo: Algo) -> Color32 {
    match algo {
        Algo::WtbSe => Color32::from_rgb(230, 85, 13),
        Algo::Se => Color32::from_rgb(49, 130, 189),
        Algo::Ucb1 => Color32::from_rgb(117, 107, 177),
        Algo::Exp3 => Color32::from_rgb(49, 163, 84),
        Algo::SwUcb => Color32::from_rgb(214, 39, 140),
        Algo::BatchedExp3 => Color32::from_rgb(140, 86, 75),
        Algo::Oracle => Color32::GRAY,
    }
}

/// A categorical palette (Tableau 10, then six more): arms must be told apart, not ordered.
fn arm_color(arm: usize) -> Color32 {
    const PALETTE: [(u8, u8, u8); 16] = [
        (78, 121, 167),
        (242, 142, 43),
        (225, 87, 89),
        (118, 183, 178),
        (89, 161, 79),
        (237, 201, 72),
        (176, 122, 161),
        (255, 157, 167),
        (156, 117, 95),
        (186, 176, 172),
        (31, 119, 180),
        (148, 103, 189),
        (23, 190, 207),
        (188, 189, 34),
        (140, 86, 75),
        (127, 127, 127),
    ];
    let (r, g, b) = PALETTE[arm % PALETTE.len()];
    Color32::from_rgb(r, g, b)
}

pub fn bandits_ui(
    s: &mut BanditSettings,
    state: &mut LabState,
    ui: &mut egui::Ui,
    env: &LabEnv<'_>,
) {
    crate::labs::layout::lab_page(ui, "bandits", |ui, part| match part {
        Part::Controls => controls_ui(s, state, ui, env),
        Part::Results => results_part(s, state, ui),
    });
}

fn results_part(s: &mut BanditSettings, state: &mut LabState, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut s.view, View::Regret, "Regret over time")
            .on_hover_text(
                "Mean complete policy regret of each algorithm vs round t, with 95% bands",
            );
        ui.selectable_value(&mut s.view, View::Horizon, "Regret at T vs T")
            .on_hover_text(
                "CPR at the horizon for horizons T/32..T, log-log: a slope of 1/2 is sqrt(T)",
            );
        ui.selectable_value(&mut s.view, View::Bound, "Regret vs memory bound M")
            .on_hover_text("The paper's algorithm for M from m/4 to 8m: what happens when M < m");
        ui.selectable_value(&mut s.view, View::Memory, "Regret vs memory m")
            .on_hover_text(
                "Every algorithm at T for true memories m = 1..64: the bound's (m + M)K term",
            );
        ui.selectable_value(&mut s.view, View::Arms, "Regret vs arms K")
            .on_hover_text(
                "Every algorithm at T for K = 2..16 arms: the sqrt(KT) and (m + M)K terms",
            );
        ui.selectable_value(&mut s.view, View::Single, "One run")
            .on_hover_text("One run of one algorithm, animated: tallies, plays, eliminations");
    });
    if let Some((what, fraction, on_gpu)) = state.progress() {
        ui.add(egui::ProgressBar::new(fraction as f32).text(format!(
            "{what} on the {}",
            if on_gpu { "GPU" } else { "CPU" }
        )));
    }
    ui.separator();
    egui::ScrollArea::vertical().show(ui, |ui| match s.view {
        View::Regret => regret_view(state, ui),
        View::Horizon => horizon_view(state, ui),
        View::Bound => bound_view(s, state, ui),
        View::Memory => size_view(s, state, ui, SizeAxis::Memory),
        View::Arms => size_view(s, state, ui, SizeAxis::Arms),
        View::Single => single_view(s, state, ui),
    });
}

fn controls_ui(s: &mut BanditSettings, state: &LabState, ui: &mut egui::Ui, env: &LabEnv<'_>) {
    ui.label(
        "Each arm's loss depends on how often it was played in the last m rounds (its tally). \
         The best arm here only shines when played again and again, so bandits that keep \
         switching never see it at its best. The paper's successive elimination plays arms in \
         blocks and throws away the first M losses of each block. Try M below m first.",
    );
    ui.add_space(4.0);
    ui.heading("Instance");
    let before_preset = s.instance;
    egui::ComboBox::from_label("preset")
        .selected_text(s.instance.code())
        .show_ui(ui, |ui| {
            for p in Preset::ALL {
                ui.selectable_value(&mut s.instance, p, p.code());
            }
        })
        .response
        .on_hover_text("Loss functions of the arms; a* is the last arm in every preset");
    if s.instance != before_preset {
        s.losses.clear();
    }
    ui.add_enabled(
        s.losses.is_empty(),
        controls::slider(&mut s.arms, &settings::ARMS),
    )
    .on_hover_text(controls::tooltip(&settings::ARMS));
    controls::number(ui, &mut s.memory, &settings::MEMORY);
    ui.horizontal(|ui| {
        ui.label("tally weights");
        ui.selectable_value(&mut s.weights, Weights::Uniform, "uniform")
            .on_hover_text("w_j = 1/m: the tally is the fraction of the last m rounds");
        ui.selectable_value(&mut s.weights, Weights::Geometric, "geometric")
            .on_hover_text("w_j ∝ decay^j: recent plays count more (fading memory)");
    });
    ui.add_enabled(
        s.weights == Weights::Geometric,
        controls::slider(&mut s.decay, &settings::DECAY),
    )
    .on_hover_text(controls::tooltip(&settings::DECAY));
    ui.horizontal(|ui| {
        ui.label("noise");
        ui.selectable_value(&mut s.noise, NoiseKind::Bernoulli, "Bernoulli")
            .on_hover_text("Observed loss is 0 or 1 with mean f(tally)");
        ui.selectable_value(&mut s.noise, NoiseKind::Gaussian, "Gaussian")
            .on_hover_text("Observed loss is f(tally) + N(0, σ²), clamped to ±4");
    });
    ui.add_enabled(
        s.noise == NoiseKind::Gaussian,
        controls::slider(&mut s.sigma, &settings::SIGMA),
    )
    .on_hover_text(controls::tooltip(&settings::SIGMA));
    losses_editor(s, ui);
    if let Some(instance) = &state.instance {
        let reo = instance.reo();
        let text = if reo.holds {
            RichText::new(format!(
                "REO holds: a* = arm {} with f(1) = {:.3} ≤ every loss anywhere ({:.3})",
                reo.a_star, reo.loss_star, reo.loss_floor
            ))
        } else {
            RichText::new(format!(
                "REO fails: some arm reaches {:.3} < f_a*(1) = {:.3}; no guarantee applies",
                reo.loss_floor, reo.loss_star
            ))
            .color(Color32::from_rgb(200, 60, 40))
        };
        ui.label(text).on_hover_text(
            "Repeated exposure optimality: an arm a* whose loss when played every round is no \
             larger than any arm's loss at any tally (checked over all tallies in [0, 1]).",
        );
        loss_curves(instance, ui);
    }
    ui.heading("Learners");
    controls::number(ui, &mut s.bound, &settings::BOUND);
    controls::number(ui, &mut s.horizon, &settings::HORIZON);
    controls::number(ui, &mut s.window, &settings::WINDOW);
    let gpu = env.compute.gpu().is_some();
    controls::number(ui, &mut s.runs, &settings::RUNS).on_hover_text(if gpu {
        "This page has a GPU: every run at once."
    } else {
        "No GPU here: the CPU plays at most 64 runs (32 per sweep point)."
    });
    controls::drag(ui, &mut s.seed, &settings::SEED);
}

fn losses_editor(s: &mut BanditSettings, ui: &mut egui::Ui) {
    egui::CollapsingHeader::new("Edit the loss functions").show(ui, |ui| {
        let mut arms: Vec<ArmLoss> = s.arm_losses();
        let mut changed = false;
        for (a, arm) in arms.iter_mut().enumerate() {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(format!("{a:>2}"))
                        .color(arm_color(a))
                        .monospace(),
                );
                egui::ComboBox::from_id_salt(("family", a))
                    .width(60.0)
                    .selected_text(arm.family.code())
                    .show_ui(ui, |ui| {
                        for f in Family::ALL {
                            changed |= ui
                                .selectable_value(&mut arm.family, f, f.code())
                                .on_hover_text(f.label())
                                .changed();
                        }
                    });
                changed |= ui
                    .add(
                        egui::DragValue::new(&mut arm.base)
                            .range(0.0..=1.0)
                            .speed(0.01)
                            .prefix("base "),
                    )
                    .on_hover_text("The arm's loss at the bottom of its shape (loss units, 0 to 1)")
                    .changed();
                changed |= ui
                    .add(
                        egui::DragValue::new(&mut arm.amp)
                            .range(-1.0..=1.0)
                            .speed(0.01)
                            .prefix("amp "),
                    )
                    .on_hover_text("How much the loss moves with the tally (loss units, -1 to 1)")
                    .changed();
            });
        }
        ui.label(
            "f(y) = base + amp·g(y), g: con 0, sat y, hab 1−y, mix (2y−1)²; clipped to [0, 1]",
        );
        ui.horizontal(|ui| {
            if ui
                .button("+ arm")
                .on_hover_text("Add a constant arm (at most 16)")
                .clicked()
                && arms.len() < 16
            {
                arms.push(ArmLoss::new(Family::Constant, 0.5, 0.0));
                changed = true;
            }
            if ui
                .button("− arm")
                .on_hover_text("Remove the last arm (at least 2)")
                .clicked()
                && arms.len() > 2
            {
                arms.pop();
                changed = true;
            }
            if ui
                .button("back to preset")
                .on_hover_text("Forget the edited losses and use the preset's")
                .clicked()
            {
                s.losses.clear();
            }
        });
        if changed && arms_from_text(&arms_to_text(&arms)).is_ok() {
            s.losses = arms_to_text(&arms);
            s.arms = arms.len() as u32;
        }
    });
}

fn loss_curves(instance: &super::instance::Instance, ui: &mut egui::Ui) {
    let reo = instance.reo();
    Plot::new("loss_curves")
        .height(200.0)
        .legend(Legend::default())
        .x_axis_label("tally y")
        .y_axis_label("mean loss f_a(y)")
        .allow_scroll(false)
        .show(ui, |plot| {
            for (a, arm) in instance.arms.iter().enumerate() {
                let points: PlotPoints = (0..=50)
                    .map(|i| {
                        let y = f64::from(i) / 50.0;
                        [y, arm.mean(y)]
                    })
                    .collect();
                let name = if a == reo.a_star {
                    format!("arm {a} = a*")
                } else {
                    format!("arm {a}")
                };
                let width = if a == reo.a_star { 3.0 } else { 1.5 };
                plot.line(Line::new(name, points).color(arm_color(a)).width(width));
            }
        });
    let columns: Vec<String> = std::iter::once("tally y".to_owned())
        .chain((0..instance.arms.len()).map(|a| format!("arm {a} mean loss")))
        .collect();
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    crate::export::csv_button(ui, "bandits-loss-curves.csv", &names, || {
        (0..=100)
            .map(|i| {
                let y = f64::from(i) / 100.0;
                std::iter::once(y)
                    .chain(instance.arms.iter().map(|a| a.mean(y)))
                    .collect()
            })
            .collect()
    });
}

/// Mean CPR with its 95 % band, one line per algorithm.
fn regret_view(state: &LabState, ui: &mut egui::Ui) {
    let Some(main) = &state.main else {
        ui.label("Simulating…");
        return;
    };
    let result = match main {
        Ok(r) => r,
        Err(e) => {
            ui.colored_label(Color32::RED, format!("The simulation failed: {e}"));
            return;
        }
    };
    ui.label(format!(
        "Complete policy regret: expected loss of the algorithm's plays minus that of repeating a* \
         from an empty history (the best sequence under REO, up to the first m rounds). Mean over \
         {} runs per algorithm on the {} ({:.2} s), band = 95% confidence (Student's t on the runs).",
        result.runs,
        if result.on_gpu { "GPU" } else { "CPU" },
        result.seconds
    ));
    summary_table(result, ui);
    // On a phone the legend at body size covered most of the curves.
    let legend_text = if crate::labs::layout::is_narrow(ui.ctx()) {
        egui::TextStyle::Small
    } else {
        egui::TextStyle::Body
    };
    Plot::new("cpr_vs_t")
        .height(360.0)
        .legend(
            Legend::default()
                .position(egui_plot::Corner::LeftTop)
                .text_style(legend_text),
        )
        .x_axis_label("round t")
        .y_axis_label("mean CPR (loss units)")
        .show(ui, |plot| {
            for curve in &result.curves {
                let color = algo_color(curve.algo);
                let xs: Vec<f64> = result.checkpoints.iter().map(|&t| f64::from(t)).collect();
                // The band as one quadrilateral per checkpoint interval: egui_plot fills only
                // convex polygons. Unnamed: under the line's name its paler fill turned the
                // legend's marker black.
                for k in 1..xs.len() {
                    let (lo0, hi0) = (
                        curve.mean[k - 1] - curve.ci95[k - 1],
                        curve.mean[k - 1] + curve.ci95[k - 1],
                    );
                    let (lo1, hi1) = (curve.mean[k] - curve.ci95[k], curve.mean[k] + curve.ci95[k]);
                    let quad = vec![
                        [xs[k - 1], lo0],
                        [xs[k], lo1],
                        [xs[k], hi1],
                        [xs[k - 1], hi0],
                    ];
                    plot.polygon(
                        Polygon::new("", PlotPoints::from(quad))
                            .fill_color(color.gamma_multiply(0.25))
                            .stroke(egui::Stroke::NONE),
                    );
                }
                let line: PlotPoints = xs.iter().zip(&curve.mean).map(|(x, m)| [*x, *m]).collect();
                plot.line(Line::new(curve.algo.label(), line).color(color).width(2.0));
            }
        });
    regret_csv(result, ui);
    regimes_note(result, ui);
}

/// Which algorithm leads here, and the regimes where each one wins (measured with
/// `paperlab bandit sweep`, docs/BENCHMARKS.md).
fn regimes_note(result: &McResult, ui: &mut egui::Ui) {
    let leader = Algo::LEARNERS
        .iter()
        .filter_map(|&a| Some((a, result.final_cpr(a)?.0)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    ui.add_space(6.0);
    ui.heading("Where each algorithm wins");
    if let Some((algo, cpr)) = leader {
        ui.label(format!(
            "Here, at T: {} leads with CPR {cpr:.0}.",
            algo.label()
        ));
    }
    ui.label(
        "• UCB1 switches arms often; each switch leaves the arm's tally unsaturated for about m \
         rounds. With a short memory (m ≤ 8 on the default preset) that is cheap, and UCB1's \
         fine-grained sampling beats the paper's blocks, which throw away M losses per block \
         whatever m is (try m = 8, M = 16).\n\
         • As m or T grows, UCB1's runs split: some lock onto a*, the rest keep switching and pay \
         a*'s unsaturated loss at every visit, which is linear in T. Its band widens and its mean \
         overtakes: on the default preset at T = 10^5 it is about 3x the paper's (Regret at T vs \
         T, up to T = 10^5; Regret vs memory m).\n\
         • Successive elimination, EXP3 and sliding-window UCB interleave arms by design, so a* \
         never shows its saturated loss to them: linear regret once T is long.\n\
         • Mini-batched EXP3 (Arora, Dekel, Tewari 2012) is the generic answer to a learner \
         whose losses depend on its last m actions: it plays each draw for a batch of tau rounds \
         (tau ≈ (M²T / ((e − 1)K ln K))^(1/3), more than M) and learns the batch's mean, so \
         switching costs are paid once per batch. Its policy regret grows as T^(2/3), not \
         linearly: it is behind plain EXP3 at T = 20,000 and ahead of it by T = 10^5, but its \
         T^(2/3) stays far above the paper's sqrt(T), which discards M losses per block and \
         eliminates arms instead of re-drawing them.\n\
         • With many arms and a short horizon, the paper's (m + M)K term dominates and the \
         baselines can be ahead at that T (Regret vs arms K). Its guarantee is worst-case over \
         instances and holds as T grows; the baselines have none under tallying.",
    );
}

fn regret_csv(result: &McResult, ui: &mut egui::Ui) {
    let mut columns = vec!["t (rounds)".to_owned()];
    for c in &result.curves {
        columns.push(format!("{} mean CPR", c.algo.key()));
        columns.push(format!("{} 95% half-width", c.algo.key()));
    }
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    crate::export::csv_button(ui, "bandits-regret.csv", &names, || {
        result
            .checkpoints
            .iter()
            .enumerate()
            .map(|(k, &t)| {
                let mut row = vec![f64::from(t)];
                for c in &result.curves {
                    row.extend([c.mean[k], c.ci95[k]]);
                }
                row
            })
            .collect()
    });
}

fn summary_table(result: &McResult, ui: &mut egui::Ui) {
    egui::Grid::new("cpr_table").striped(true).show(ui, |ui| {
        ui.label(RichText::new("algorithm").strong());
        ui.label(RichText::new("CPR at T").strong());
        ui.label(RichText::new("± 95%").strong());
        ui.end_row();
        for curve in &result.curves {
            if let Some((mean, ci)) = result.final_cpr(curve.algo) {
                ui.label(RichText::new(curve.algo.label()).color(algo_color(curve.algo)));
                ui.label(format!("{mean:.1}"));
                ui.label(format!("{ci:.1}"));
                ui.end_row();
            }
        }
    });
}

fn horizon_view(state: &LabState, ui: &mut egui::Ui) {
    ui.label(
        "CPR at the horizon, for separate runs with horizons T/32 … T (each algorithm tuned to its \
         T), on log-log axes. The dashed line has slope 1/2: regret growing like sqrt(T). A slope \
         of 1 is linear regret: the algorithm never settles on a*.",
    );
    let done: Vec<(u32, &McResult)> = state
        .horizon_sweep
        .iter()
        .filter_map(|(t, r)| Some((*t, r.as_ref()?.as_ref().ok()?)))
        .collect();
    if let Some(e) = state
        .horizon_sweep
        .iter()
        .find_map(|(_, r)| r.as_ref()?.as_ref().err())
    {
        ui.colored_label(Color32::RED, format!("A sweep point failed: {e}"));
    }
    crate::plot::axis::log10_x(crate::plot::axis::log10_y(Plot::new("cpr_vs_horizon")))
        .height(360.0)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .x_axis_label("horizon T (log scale)")
        .y_axis_label("mean CPR at T (log scale)")
        .show(ui, |plot| {
            for algo in &Algo::LEARNERS {
                let points: Vec<[f64; 2]> = done
                    .iter()
                    .filter_map(|(t, r)| {
                        let (mean, _) = r.final_cpr(*algo)?;
                        (mean > 0.0).then(|| [f64::from(*t).log10(), mean.log10()])
                    })
                    .collect();
                let color = algo_color(*algo);
                plot.points(
                    Points::new(algo.label(), PlotPoints::from(points.clone()))
                        .color(color)
                        .radius(4.0),
                );
                plot.line(Line::new(algo.label(), PlotPoints::from(points)).color(color));
            }
            // The sqrt(T) guide through the paper's algorithm's largest-T point.
            if let Some((t, r)) = done.last()
                && let Some((mean, _)) = r.final_cpr(Algo::WtbSe)
                && mean > 0.0
            {
                let (x1, y1) = (f64::from(*t).log10(), mean.log10());
                let x0 = x1 - 1.5;
                plot.line(
                    Line::new(
                        "slope 1/2 (sqrt T)",
                        PlotPoints::from(vec![[x0, y1 - 0.75], [x1, y1]]),
                    )
                    .style(egui_plot::LineStyle::dashed_loose())
                    .color(Color32::GRAY),
                );
            }
        });
    let slopes: Vec<String> = Algo::LEARNERS
        .iter()
        .filter_map(|algo| {
            let pts: Vec<(f64, f64)> = done
                .iter()
                .filter_map(|(t, r)| {
                    r.final_cpr(*algo)
                        .filter(|(m, _)| *m > 0.0)
                        .map(|(m, _)| (f64::from(*t).ln(), m.ln()))
                })
                .collect();
            let slope = fit_slope(&pts[pts.len().saturating_sub(3)..])?;
            Some(format!("{} {slope:.2}", algo.key()))
        })
        .collect();
    let algos = &Algo::LEARNERS;
    let mut columns = vec!["T (rounds)".to_owned()];
    columns.extend(algos.iter().map(|a| format!("{} mean CPR at T", a.key())));
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    crate::export::csv_button(ui, "bandits-regret-vs-horizon.csv", &names, || {
        done.iter()
            .map(|(t, r)| {
                let mut row = vec![f64::from(*t)];
                row.extend(
                    algos
                        .iter()
                        .map(|a| r.final_cpr(*a).map_or(f64::NAN, |(m, _)| m)),
                );
                row
            })
            .collect()
    });
    if !slopes.is_empty() {
        ui.label(format!(
            "Log-log slope over the three largest horizons: {}",
            slopes.join(", ")
        ));
    }
}

/// Least-squares slope of y on x; `None` with fewer than two points.
pub fn fit_slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

#[derive(Clone, Copy, PartialEq)]
enum SizeAxis {
    Memory,
    Arms,
}

/// CPR at T against the true memory m or the number of arms K, every learning algorithm.
fn size_view(s: &BanditSettings, state: &LabState, ui: &mut egui::Ui, axis: SizeAxis) {
    let (sweep, label, file) = match axis {
        SizeAxis::Memory => {
            ui.label(format!(
                "Each point is a separate instance with true memory m (K = {}, T = {}; the \
                 paper's algorithm is told M = max({}, m), the page's bound raised to m). Its \
                 bounds are additive in m, O~(sqrt(KT) + (m + M)K) and Omega~(mK + M): while M \
                 stays fixed the paper's algorithm barely moves, because discarding M losses per \
                 block costs more than m. UCB1 switches arms often and each switch leaves the \
                 arm's tally unsaturated for m rounds: cheap for a short memory (there UCB1 \
                 wins), ruinous for a long one, where many of its runs never settle on a*. \
                 Bars: 95% confidence.",
                s.arms, s.horizon, s.bound
            ));
            (
                &state.memory_sweep,
                "true memory m (rounds)",
                "bandits-regret-vs-memory.csv",
            )
        }
        SizeAxis::Arms => {
            ui.label(format!(
                "Each point is the preset with K arms (m = {}, M = {}, T = {}). The paper's bound \
                 grows as sqrt(KT) + (m + M)K: every arm costs blocks whose first M losses are \
                 thrown away. With many arms and a short horizon that cost dominates and the \
                 baselines, which have no guarantee under tallying, can be ahead at this T; raise \
                 T to see the order change. Bars: 95% confidence.",
                s.memory, s.bound, s.horizon
            ));
            (
                &state.arms_sweep,
                "number of arms K",
                "bandits-regret-vs-arms.csv",
            )
        }
    };
    if sweep.is_empty() {
        ui.label("Custom losses fix K: clear them to sweep the number of arms.");
        return;
    }
    if let Some(e) = sweep.iter().find_map(|(_, r)| r.as_ref()?.as_ref().err()) {
        ui.colored_label(Color32::RED, format!("A sweep point failed: {e}"));
    }
    let algos = &Algo::LEARNERS;
    let done: Vec<(u32, &McResult)> = sweep
        .iter()
        .filter_map(|(x, r)| Some((*x, r.as_ref()?.as_ref().ok()?)))
        .collect();
    crate::plot::axis::count_y(crate::plot::axis::count_x(Plot::new(("cpr_vs_size", file))))
        .height(360.0)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .x_axis_label(label)
        .y_axis_label("mean CPR at T")
        .show(ui, |plot| {
            for &algo in algos {
                let color = algo_color(algo);
                let points: Vec<[f64; 2]> = done
                    .iter()
                    .filter_map(|(x, r)| Some([f64::from(*x), r.final_cpr(algo)?.0]))
                    .collect();
                plot.line(Line::new(algo.label(), PlotPoints::from(points.clone())).color(color));
                plot.points(
                    Points::new(algo.label(), PlotPoints::from(points))
                        .color(color)
                        .radius(3.5),
                );
                for (x, r) in &done {
                    if let Some((mean, ci)) = r.final_cpr(algo) {
                        let x = f64::from(*x);
                        // Unnamed: a differently coloured item under the same name would
                        // turn the legend's marker black.
                        plot.line(
                            Line::new("", PlotPoints::from(vec![[x, mean - ci], [x, mean + ci]]))
                                .color(color.gamma_multiply(0.6)),
                        );
                    }
                }
            }
        });
    size_csv(ui, file, label, &done);
    if axis == SizeAxis::Memory {
        let pts: Vec<(f64, f64)> = done
            .iter()
            .filter_map(|(m, r)| Some((f64::from(*m), r.final_cpr(Algo::WtbSe)?.0)))
            .collect();
        if let Some(slope) = fit_slope(&pts) {
            ui.label(format!(
                "Paper's algorithm: least-squares slope {slope:.1} regret per round of memory \
                 (K = {}).",
                s.arms
            ));
        }
    }
}

/// The sweep's points as CSV: mean CPR and 95% half-width of every learning algorithm.
fn size_csv(ui: &mut egui::Ui, file: &str, label: &str, done: &[(u32, &McResult)]) {
    let algos = &Algo::LEARNERS;
    let mut columns = vec![label.to_owned()];
    for a in algos {
        columns.push(format!("{} mean CPR at T", a.key()));
        columns.push(format!("{} 95% half-width", a.key()));
    }
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    crate::export::csv_button(ui, file, &names, || {
        done.iter()
            .map(|(x, r)| {
                let mut row = vec![f64::from(*x)];
                for a in algos {
                    let (mean, ci) = r.final_cpr(*a).unwrap_or((f64::NAN, f64::NAN));
                    row.extend([mean, ci]);
                }
                row
            })
            .collect()
    });
}

fn bound_view(s: &BanditSettings, state: &LabState, ui: &mut egui::Ui) {
    ui.label(format!(
        "The paper's algorithm told a memory bound M, for M from m/4 to 8m (true m = {}). With \
         M < m the first kept losses of a block come from an unsaturated tally, so a* looks \
         worse than it is and the elimination needs more samples (here the doubling blocks grow \
         long enough that a* survives: too small an M costs regret rather than breaking the \
         algorithm). With M ≥ m every block discards M rounds: the (m + M)K term grows with M. \
         Horizontal lines: the baselines at the same T; bars: 95% confidence.",
        s.memory
    ));
    let points: Vec<[f64; 2]> = state
        .bound_sweep
        .iter()
        .filter_map(|(m, r)| {
            let (mean, _) = r.as_ref()?.as_ref().ok()?.final_cpr(Algo::WtbSe)?;
            Some([f64::from(*m), mean])
        })
        .collect();
    let errors: Vec<[f64; 3]> = state
        .bound_sweep
        .iter()
        .filter_map(|(m, r)| {
            let (mean, ci) = r.as_ref()?.as_ref().ok()?.final_cpr(Algo::WtbSe)?;
            Some([f64::from(*m), mean - ci, mean + ci])
        })
        .collect();
    Plot::new("cpr_vs_bound")
        .height(360.0)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .x_axis_label("memory bound M (rounds)")
        .y_axis_label("mean CPR at T")
        .show(ui, |plot| {
            let color = algo_color(Algo::WtbSe);
            plot.line(
                Line::new(Algo::WtbSe.label(), PlotPoints::from(points.clone()))
                    .color(color)
                    .width(2.0),
            );
            plot.points(
                Points::new(Algo::WtbSe.label(), PlotPoints::from(points))
                    .color(color)
                    .radius(4.0),
            );
            for [x, lo, hi] in errors {
                plot.line(
                    Line::new("", PlotPoints::from(vec![[x, lo], [x, hi]]))
                        .color(color.gamma_multiply(0.6)),
                );
            }
            plot.vline(VLine::new("true memory m", f64::from(s.memory)).color(Color32::GRAY));
            if let Some(Ok(main)) = &state.main {
                for algo in [Algo::Se, Algo::Ucb1] {
                    if let Some((mean, _)) = main.final_cpr(algo) {
                        plot.hline(
                            egui_plot::HLine::new(algo.label(), mean).color(algo_color(algo)),
                        );
                    }
                }
            }
        });
    crate::export::csv_button(
        ui,
        "bandits-regret-vs-bound.csv",
        &[
            "M (rounds)",
            "wtb-se mean CPR at T",
            "wtb-se 95% half-width",
        ],
        || {
            state
                .bound_sweep
                .iter()
                .filter_map(|(m, r)| {
                    let (mean, ci) = r.as_ref()?.as_ref().ok()?.final_cpr(Algo::WtbSe)?;
                    Some(vec![f64::from(*m), mean, ci])
                })
                .collect()
        },
    );
}

/// Play / pause and the round slider of the single-run view; advances the animation.
fn player_ui(playing: &mut bool, anim_round: &mut f64, horizon: usize, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let label = if *playing { "⏸ Pause" } else { "▶ Play" };
        if ui
            .button(label)
            .on_hover_text("Replay the run from round 0, about ten seconds in all")
            .clicked()
        {
            *playing = !*playing;
            if *anim_round as usize >= horizon {
                *anim_round = 0.0;
            }
        }
        let mut round = *anim_round as u32;
        if ui
            .add(egui::Slider::new(&mut round, 0..=horizon as u32).text("round"))
            .on_hover_text("The round shown: tallies before it, plays up to it")
            .changed()
        {
            *anim_round = f64::from(round);
            *playing = false;
        }
    });
    if *playing {
        // About ten seconds for the whole run, whatever its length.
        let dt = f64::from(ui.input(|i| i.stable_dt)).min(0.1);
        *anim_round = (*anim_round + dt * horizon as f64 / 10.0).min(horizon as f64);
        if *anim_round as usize >= horizon {
            *playing = false;
        }
        ui.ctx().request_repaint();
    }
}

/// The single-run view's tallies (bars) and timeline (arm per round) up to round `t`.
fn single_run_plots(trace: &super::lab::Trace, t: usize, ui: &mut egui::Ui) {
    let horizon = trace.rounds.len();
    let tallies = trace.tallies_at(t);
    let active = trace.active_at(t as u32);
    ui.columns(2, |cols| {
        Plot::new("tallies")
            .height(220.0)
            .x_axis_label("arm")
            .y_axis_label("tally before this round")
            .include_y(0.0)
            .include_y(1.0)
            .allow_drag(false)
            .allow_zoom(false)
            .show(&mut cols[0], |plot| {
                let bars: Vec<Bar> = tallies
                    .iter()
                    .enumerate()
                    .map(|(a, y)| {
                        let alive = active & (1 << a) != 0;
                        let color = if alive {
                            arm_color(a)
                        } else {
                            Color32::DARK_GRAY
                        };
                        Bar::new(a as f64, *y).fill(color).name(format!(
                            "arm {a}{}",
                            if alive { "" } else { " (eliminated)" }
                        ))
                    })
                    .collect();
                plot.bar_chart(BarChart::new("tally", bars));
            });
        // The timeline: every round's arm (downsampled to at most 4000 points).
        let stride = horizon.div_ceil(4000).max(1);
        Plot::new("timeline")
            .height(220.0)
            .x_axis_label("round")
            .y_axis_label("arm played")
            .show(&mut cols[1], |plot| {
                for a in 0..trace.cfg.arms as usize {
                    let pts: Vec<[f64; 2]> = trace.rounds[..t]
                        .iter()
                        .enumerate()
                        .step_by(stride)
                        .filter(|(_, r)| r.arm as usize == a)
                        .map(|(i, _)| [i as f64, a as f64])
                        .collect();
                    plot.points(
                        Points::new(format!("arm {a}"), PlotPoints::from(pts))
                            .color(arm_color(a))
                            .radius(1.5),
                    );
                }
                for (round, _) in trace.eliminations.iter().filter(|(r, _)| *r as usize <= t) {
                    plot.vline(
                        VLine::new("elimination", f64::from(*round))
                            .color(Color32::RED.gamma_multiply(0.5)),
                    );
                }
            });
    });
}

fn single_view(s: &mut BanditSettings, state: &mut LabState, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        egui::ComboBox::from_label("algorithm")
            .selected_text(s.single_algo.label())
            .show_ui(ui, |ui| {
                for a in Algo::ALL {
                    ui.selectable_value(&mut s.single_algo, a, a.label());
                }
            })
            .response
            .on_hover_text("The algorithm whose run is shown");
        let max_run = s.runs.saturating_sub(1);
        controls::add(
            ui,
            egui::DragValue::new(&mut s.single_run)
                .range(0..=max_run)
                .prefix("run "),
            &settings::SINGLE_RUN,
        );
    });
    let Some(trace) = &state.trace else {
        ui.label("Recording…");
        return;
    };
    let horizon = trace.rounds.len();
    player_ui(&mut state.playing, &mut state.anim_round, horizon, ui);
    let t = state.anim_round as usize;
    let cumulative: i64 = trace.rounds[..t].iter().map(|r| i64::from(r.mean_q)).sum();
    ui.label(format!(
        "Round {t} of {horizon}: cumulative expected loss {:.1}; {} eliminations so far.",
        cumulative as f64 / f64::from(super::instance::LOSS_ONE),
        trace
            .eliminations
            .iter()
            .filter(|(r, _)| *r as usize <= t)
            .count()
    ));
    single_run_plots(trace, t, ui);
    ui.label(format!(
        "{} run {}: the GPU runs the same fixed-point simulation, so this is exactly run {} of the Monte Carlo.",
        trace.algo.label(),
        trace.run,
        trace.run
    ));
    let one = f64::from(super::instance::LOSS_ONE);
    let tally_one = f64::from(super::instance::TALLY_ONE);
    crate::export::csv_button(
        ui,
        "bandits-single-run.csv",
        &[
            "round",
            "arm",
            "tally before the round",
            "mean loss",
            "observed loss",
        ],
        || {
            trace
                .rounds
                .iter()
                .enumerate()
                .map(|(t, r)| {
                    vec![
                        t as f64,
                        f64::from(r.arm),
                        f64::from(r.tally_q) / tally_one,
                        f64::from(r.mean_q) / one,
                        f64::from(r.observed_q) / one,
                    ]
                })
                .collect()
        },
    );
}
