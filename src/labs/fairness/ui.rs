//! The fairness page: scenario and model controls, then four views (decomposition bars, the
//! AGLFOP frontier with the model on it, accuracy-vs-budget curves, training curves).

use egui::{Color32, RichText};
use egui_plot::{Bar, BarChart, Legend, Line, MarkerShape, Plot, PlotPoints, Points, Polygon};

use super::data::{ClientMix, Scenario, clients_from_text, clients_to_text};
use super::lab::{LabState, ModelView, grid_budget};
use super::pid::Pid;
use super::settings::{self, FairnessSettings, View};
use crate::labs::controls;
use crate::labs::layout::Part;
use crate::plot::viridis;

const UNIQUE: Color32 = Color32::from_rgb(78, 121, 167);
const REDUNDANT: Color32 = Color32::from_rgb(242, 142, 43);
const MASKED: Color32 = Color32::from_rgb(89, 161, 79);
const MODEL: Color32 = Color32::from_rgb(225, 57, 89);
/// The model-specific limit: purple, apart from the PID colours and the model's red.
const POST_PROCESSING: Color32 = Color32::from_rgb(148, 103, 189);

pub fn fairness_ui(s: &mut FairnessSettings, state: &mut LabState, ui: &mut egui::Ui) {
    crate::labs::layout::lab_page(ui, "fairness", |ui, part| match part {
        Part::Controls => controls_ui(s, state, ui),
        Part::Results => results_ui(s, state, ui),
    });
}

fn controls_ui(s: &mut FairnessSettings, state: &mut LabState, ui: &mut egui::Ui) {
    ui.label(
        "Z is a sensitive attribute, S the client, Yhat the model's prediction. Global \
         disparity I(Z; Yhat) and local disparity I(Z; Yhat | S) share a unique part, and \
         each has a part of its own: redundant (global only) and masked (local only).",
    );
    ui.add_space(4.0);
    ui.heading("Data");
    egui::ComboBox::from_label("scenario")
        .selected_text(s.scenario.label())
        .show_ui(ui, |ui| {
            for sc in Scenario::ALL {
                ui.selectable_value(&mut s.scenario, sc, sc.label())
                    .on_hover_text(sc.description());
            }
        });
    ui.label(RichText::new(s.scenario.description()).small());
    if !s.scenario.is_generated() {
        ui.add_space(6.0);
        ui.heading("Model (logistic regression, trained offline)");
        ui.label(
            RichText::new(
                "sklearn's default logistic regression (L2, C = 1) fitted by Newton's method to \
                 all training records, race and sex withheld; the reference also trains one \
                 model centrally. Gradient descent on the pooled records, which is FedAvg with \
                 one local step, reaches the same optimum on any split. Its predictions are in \
                 the shipped tables; the FedAvg settings apply to the generated scenarios.",
            )
            .small(),
        );
        if let Some(error) = state.data.as_ref().and_then(|d| d.tables_error.as_ref()) {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("The census tables could not be read ({error}); showing the synthetic synergy split."),
            );
        }
    } else {
        generated_controls(s, state, ui);
    }
    ui.add_space(6.0);
    ui.heading("Accuracy limit (AGLFOP)");
    controls::number(ui, &mut s.grid, &settings::GRID);
}

/// The record count and the FedAvg model's settings of the generated scenarios.
fn generated_controls(s: &mut FairnessSettings, state: &mut LabState, ui: &mut egui::Ui) {
    controls::number(ui, &mut s.samples, &settings::SAMPLES);
    if s.scenario.uses_alpha() {
        controls::number(ui, &mut s.alpha, &settings::ALPHA);
    }
    if s.scenario == Scenario::Custom {
        custom_clients_ui(s, ui);
    }
    ui.add_space(6.0);
    ui.heading("Model (FedAvg logistic regression)");
    for (value, setting) in [
        (&mut s.lambda_global, &settings::LAMBDA_GLOBAL),
        (&mut s.lambda_local, &settings::LAMBDA_LOCAL),
    ] {
        let slider = controls::slider(value, setting)
            .smallest_positive(0.01)
            .fixed_decimals(2);
        controls::add(ui, slider, setting);
    }
    controls::number(ui, &mut s.rounds, &settings::ROUNDS);
    controls::number(ui, &mut s.local_steps, &settings::LOCAL_STEPS);
    controls::number(ui, &mut s.lr, &settings::LR);
    controls::checkbox(ui, &mut s.sensitive_input, &settings::SENSITIVE_INPUT);
    ui.horizontal(|ui| {
        controls::drag(ui, &mut s.seed, &settings::SEED);
        if ui
            .button("Retrain")
            .on_hover_text("Train again from zero weights")
            .clicked()
        {
            state.retrain();
        }
    });
}

fn custom_clients_ui(s: &mut FairnessSettings, ui: &mut egui::Ui) {
    let mut clients = clients_from_text(&s.clients).unwrap_or_default();
    let mut count = clients.len();
    ui.add(egui::Slider::new(&mut count, 1..=8).text("clients"))
        .on_hover_text("Clients of equal size");
    clients.resize(
        count,
        ClientMix {
            group_share: 0.5,
            label_rate: [0.5, 0.5],
        },
    );
    for (k, c) in clients.iter_mut().enumerate() {
        ui.label(RichText::new(format!("client {k}")).strong());
        ui.add(egui::Slider::new(&mut c.group_share, 0.0..=1.0).text("share of Z = 1"))
            .on_hover_text("P(Z = 1 | S = k)");
        ui.add(egui::Slider::new(&mut c.label_rate[0], 0.0..=1.0).text("P(Y = 1 | Z = 0)"));
        ui.add(egui::Slider::new(&mut c.label_rate[1], 0.0..=1.0).text("P(Y = 1 | Z = 1)"));
        c.group_share = two_decimals(c.group_share);
        c.label_rate = c.label_rate.map(two_decimals);
    }
    let text = clients_to_text(&clients);
    if text != s.clients {
        s.clients = text;
    }
}

/// Two decimals keep the link short and readable.
fn two_decimals(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn results_ui(s: &mut FairnessSettings, state: &LabState, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut s.view, View::Pid, "Decomposition")
            .on_hover_text(
                "Global and local disparity split into unique, redundant and masked parts",
            );
        ui.selectable_value(&mut s.view, View::Frontier, "Accuracy limit")
            .on_hover_text(
                "Upper bound on accuracy over (global, local) budgets (the prediction may see the label), your model on it",
            );
        ui.selectable_value(&mut s.view, View::Curves, "Accuracy vs budget")
            .on_hover_text("Best accuracy as one budget shrinks, the other fixed");
        ui.selectable_value(&mut s.view, View::Training, "Training")
            .on_hover_text("The model's accuracy and disparities per federated round");
    });
    let Some(d) = &state.data else {
        return;
    };
    if let Some(m) = &state.model
        && !m.done()
    {
        ui.add(
            egui::ProgressBar::new(m.round as f32 / m.config.rounds.max(1) as f32).text(format!(
                "training: round {} of {}",
                m.round, m.config.rounds
            )),
        );
    }
    if !d.frontier.done() {
        ui.add(
            egui::ProgressBar::new(d.frontier.fraction() as f32).text(format!(
                "accuracy limit: {} of {} programs solved",
                d.frontier.results.len(),
                d.frontier.budgets.len()
            )),
        );
    }
    let queues = [
        Some(&d.frontier),
        Some(&d.curves),
        d.model_specific_curves.as_ref(),
    ];
    for error in queues
        .into_iter()
        .flatten()
        .filter_map(|q| q.error.as_ref())
    {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("solving stopped: {error}"),
        );
    }
    model_summary(state.model_view.as_ref(), ui);
    match s.view {
        View::Pid => pid_view(state, ui),
        View::Frontier => frontier_view(s, state, ui),
        View::Curves => curves_view(s, state, ui),
        View::Training => training_view(state, ui),
    }
}

fn model_summary(view: Option<&ModelView>, ui: &mut egui::Ui) {
    let Some(m) = view else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        let (t, h) = (m.scores, m.held_out_scores);
        ui.label(format!(
            "Model, training records: accuracy {:.3}, global disparity {:.4} bits, local {:.4} \
             bits. Held-out records: accuracy {:.3}, global {:.4}, local {:.4}.",
            t.accuracy,
            t.global_disparity,
            t.local_disparity,
            h.accuracy,
            h.global_disparity,
            h.local_disparity
        ));
        let limit_text = |what: &str, r: &Result<super::aglfop::Optimum, String>| match r {
            Ok(o) => format!(
                "{what} {:.3}{}",
                o.scores.accuracy,
                if o.almost {
                    " (reduced solver accuracy)"
                } else {
                    ""
                }
            ),
            Err(e) => format!("{what} not solved: {e}"),
        };
        ui.label(
            RichText::new(format!(
                "At the model's training disparities: {}; {}.",
                limit_text(
                    "upper bound over every P(Yhat | Y, Z, S) (AGLFOP)",
                    &m.limit
                ),
                limit_text(
                    "best post-processing of this model (model-specific)",
                    &m.limit_model_specific
                ),
            ))
            .strong(),
        );
    });
}

/// The PID table's quantities, in its column order after the source's name.
const PID_COLUMNS: [&str; 6] = [
    "global I(Z;V)",
    "local I(Z;V|S)",
    "unique",
    "redundant",
    "masked",
    "unique to S",
];

fn pid_values(p: &Pid) -> [f64; 6] {
    [
        p.mi_a,
        p.unique_a + p.synergistic,
        p.unique_a,
        p.redundant,
        p.synergistic,
        p.unique_b,
    ]
}

/// One row per source; on a phone one row per quantity, one column per source (seven columns
/// do not fit 390 px; two or three do).
fn pid_table(pids: &[(&str, &Pid)], ui: &mut egui::Ui) {
    let narrow = crate::labs::layout::is_narrow(ui.ctx());
    egui::Grid::new("pid_table").striped(true).show(ui, |ui| {
        ui.label(RichText::new("bits").strong());
        if narrow {
            for (name, _) in pids {
                ui.label(RichText::new(*name).strong());
            }
            ui.end_row();
            for (k, column) in PID_COLUMNS.iter().enumerate() {
                ui.label(*column);
                for (_, p) in pids {
                    ui.label(format!("{:.4}", pid_values(p)[k]));
                }
                ui.end_row();
            }
        } else {
            for h in PID_COLUMNS {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for (name, p) in pids {
                ui.label(*name);
                for v in pid_values(p) {
                    ui.label(format!("{v:.4}"));
                }
                ui.end_row();
            }
        }
    });
}

/// Per source a "global" bar (unique + redundant) and a "local" bar (unique + masked).
fn pid_bars(pids: &[(&str, &Pid)], ui: &mut egui::Ui) {
    let xs: Vec<f64> = (0..pids.len())
        .flat_map(|i| [3.0 * i as f64, 3.0 * i as f64 + 1.0])
        .collect();
    let bars = |f: &dyn Fn(&Pid, bool) -> f64, color: Color32| -> Vec<Bar> {
        pids.iter()
            .flat_map(|(_, p)| [f(p, true), f(p, false)])
            .zip(&xs)
            .map(|(v, &x)| Bar::new(x, v).width(0.8).fill(color))
            .collect()
    };
    let uni = BarChart::new("unique", bars(&|p, _| p.unique_a, UNIQUE)).color(UNIQUE);
    let red = BarChart::new(
        "redundant (global only)",
        bars(&|p, g| if g { p.redundant } else { 0.0 }, REDUNDANT),
    )
    .color(REDUNDANT)
    .stack_on(&[&uni]);
    let syn = BarChart::new(
        "masked (local only)",
        bars(&|p, g| if g { 0.0 } else { p.synergistic }, MASKED),
    )
    .color(MASKED)
    .stack_on(&[&uni]);
    // The scale follows the tallest bar down to 0.01 bits (the census's disparities are
    // 0.01-0.04 bits, a quarter of the old 0.1-bit floor); below that it stays, so that
    // solver round-off on an all-zero decomposition does not fill the plot.
    let tallest = pids
        .iter()
        .map(|(_, p)| p.mi_a.max(p.unique_a + p.synergistic))
        .fold(0.01, f64::max);
    let narrow = crate::labs::layout::is_narrow(ui.ctx());
    Plot::new("pid_bars")
        .height(300.0)
        .legend(Legend::default().position(egui_plot::Corner::RightTop))
        .y_axis_label("bits")
        .show_axes([false, true])
        .show_grid([false, true])
        .include_y(if narrow { -0.14 } else { -0.12 } * tallest)
        .include_y(1.15 * tallest)
        .include_x(-0.7)
        .include_x(3.0 * pids.len().max(1) as f64 + 2.5)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .show(ui, |plot| {
            plot.bar_chart(uni);
            plot.bar_chart(red);
            plot.bar_chart(syn);
            for (i, (name, _)) in pids.iter().enumerate() {
                // On a phone a bar is about 35 px from its neighbour: "global" / "local" under
                // each bar and the source's name once under the pair, instead of both under
                // each bar (which overlapped).
                let labels = if narrow {
                    vec![
                        (0.0, -0.04, "global".to_owned(), 10.0),
                        (1.0, -0.04, "local".to_owned(), 10.0),
                        (0.5, -0.1, (*name).to_owned(), 12.0),
                    ]
                } else {
                    vec![
                        (0.0, -0.06, format!("{name}\nglobal"), 12.0),
                        (1.0, -0.06, format!("{name}\nlocal"), 12.0),
                    ]
                };
                for (dx, dy, text, size) in labels {
                    plot.text(
                        egui_plot::Text::new(
                            "",
                            egui_plot::PlotPoint::new(3.0 * i as f64 + dx, dy * tallest),
                            RichText::new(text).size(size),
                        )
                        .anchor(egui::Align2::CENTER_CENTER),
                    );
                }
            }
        });
}

fn pid_view(state: &LabState, ui: &mut egui::Ui) {
    let Some(d) = &state.data else {
        return;
    };
    let model_pid = state.model_view.as_ref().map(|m| &m.pid);
    let mut pids: Vec<(&str, &Pid)> = Vec::new();
    match &d.pid_labels {
        Ok(p) => pids.push(("labels Y", p)),
        Err(e) => {
            ui.colored_label(Color32::RED, format!("PID of the labels failed: {e}"));
        }
    }
    match model_pid {
        Some(Ok(p)) => pids.push(("model Yhat", p)),
        Some(Err(e)) => {
            ui.colored_label(Color32::RED, format!("PID of the model failed: {e}"));
        }
        None => {}
    }
    pid_bars(&pids, ui);
    pid_table(&pids, ui);
    ui.label(
        RichText::new(
            "Global = unique + redundant, local = unique + masked, so global - local = \
             redundant - masked. Redundant disparity is at most I(Z; S): heterogeneous clients \
             let a locally fair model be globally unfair.",
        )
        .small(),
    );
    let rows: Vec<Vec<f64>> = pids
        .iter()
        .map(|(_, p)| {
            vec![
                p.mi_a,
                p.unique_a + p.synergistic,
                p.unique_a,
                p.redundant,
                p.synergistic,
                p.unique_b,
            ]
        })
        .collect();
    crate::export::csv_button(
        ui,
        "fairness-pid.csv",
        &[
            "global",
            "local",
            "unique",
            "redundant",
            "masked",
            "unique_client",
        ],
        || rows,
    );
}

/// The frontier grid's size, colour range and largest budgets.
#[derive(Clone, Copy)]
struct FrontierScale {
    n: usize,
    lo: f64,
    hi: f64,
    gmax: f64,
    lmax: f64,
}

/// The frontier's cells (viridis by accuracy), its iso-accuracy lines once complete, and the
/// model's point.
fn draw_frontier(
    plot: &mut egui_plot::PlotUi<'_>,
    d: &super::lab::DataState,
    scale: FrontierScale,
    model_point: Option<[f64; 2]>,
) {
    let FrontierScale {
        n,
        lo,
        hi,
        gmax,
        lmax,
    } = scale;
    let (dg, dl) = (gmax / (n - 1) as f64, lmax / (n - 1) as f64);
    for (i, result) in d.frontier.results.iter().enumerate() {
        let (r, c) = (i / n, i % n);
        let (x, y) = (
            grid_budget(gmax, n as u32, c),
            grid_budget(lmax, n as u32, r),
        );
        let color = match result {
            Ok(o) => viridis(((o.scores.accuracy - lo) / (hi - lo).max(1e-12)) as f32),
            Err(_) => Color32::GRAY,
        };
        let (hx, hy) = (dg / 2.0, dl / 2.0);
        plot.polygon(
            Polygon::new(
                "",
                PlotPoints::from(vec![
                    [x - hx, y - hy],
                    [x + hx, y - hy],
                    [x + hx, y + hy],
                    [x - hx, y + hy],
                ]),
            )
            .fill_color(color)
            .stroke(egui::Stroke::NONE)
            .allow_hover(false),
        );
    }
    // Iso-accuracy lines once the grid is complete (levels at tenths of the range).
    if d.frontier.done() && hi > lo {
        let values: Vec<f64> = (0..n * n)
            .map(|i| d.frontier.accuracy(i).unwrap_or(f64::NAN))
            .collect();
        for k in 1..10 {
            let level = lo + (hi - lo) * f64::from(k) / 10.0;
            // Viridis is dark below the middle and light above: light lines on the dark part,
            // dark lines on the light part, so every level stays visible.
            let line_color = if k < 6 {
                Color32::from_rgba_unmultiplied(255, 255, 255, 200)
            } else {
                Color32::from_black_alpha(170)
            };
            for seg in crate::plot::contour::segments(&values, n, n, level) {
                let pts: Vec<[f64; 2]> = seg.iter().map(|p| [p[0] * dg, p[1] * dl]).collect();
                plot.line(
                    Line::new("", PlotPoints::from(pts))
                        .color(line_color)
                        .width(1.2)
                        .allow_hover(false),
                );
            }
        }
    }
    if let Some(p) = model_point {
        plot.points(
            Points::new("your model", vec![p])
                .shape(MarkerShape::Circle)
                .radius(6.0)
                .color(MODEL),
        );
    }
}

/// The hover text of a frontier cell: its budgets and best accuracy.
fn frontier_hover(
    pos: &egui_plot::HoverPosition,
    d: &super::lab::DataState,
    scale: FrontierScale,
) -> Option<String> {
    let FrontierScale { n, gmax, lmax, .. } = scale;
    let (dg, dl) = (gmax / (n - 1) as f64, lmax / (n - 1) as f64);
    let at = match pos {
        egui_plot::HoverPosition::NearDataPoint { position, .. }
        | egui_plot::HoverPosition::Elsewhere { position } => *position,
    };
    let c = (at.x / dg).round();
    let r = (at.y / dl).round();
    if c < 0.0 || r < 0.0 || c as usize >= n || r as usize >= n {
        return None;
    }
    let (c, r) = (c as usize, r as usize);
    let best = d
        .frontier
        .accuracy(r * n + c)
        .map_or("not solved yet".to_owned(), |a| format!("{a:.4}"));
    Some(format!(
        "eps_global = {:.4} bits\neps_local = {:.4} bits\nbest accuracy {best}",
        grid_budget(gmax, n as u32, c),
        grid_budget(lmax, n as u32, r)
    ))
}

fn frontier_view(s: &FairnessSettings, state: &LabState, ui: &mut egui::Ui) {
    let Some(d) = &state.data else {
        return;
    };
    let n = s.grid.max(2) as usize;
    if d.grid as usize != n {
        return;
    }
    let solved: Vec<f64> = (0..d.frontier.results.len())
        .filter_map(|i| d.frontier.accuracy(i))
        .collect();
    let lo = solved.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = solved.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (gmax, lmax) = (d.max_global.max(1e-9), d.max_local.max(1e-9));
    let (dg, dl) = (gmax / (n - 1) as f64, lmax / (n - 1) as f64);
    let scale = FrontierScale {
        n,
        lo,
        hi,
        gmax,
        lmax,
    };
    ui.label(format!(
        "Best accuracy with I(Z; Yhat) <= eps_global and I(Z; Yhat | S) <= eps_local over every \
         P(Yhat | Y, Z, S). That lets Yhat depend on the true label Y, so this is an upper bound: a \
         classifier that sees only its features may not reach it. Colour from {} (dark) to {} \
         (yellow), iso-accuracy lines every tenth of that range (light on the dark cells, dark \
         on the light ones). The red point is your model.",
        if lo.is_finite() {
            format!("{lo:.3}")
        } else {
            "-".into()
        },
        if hi.is_finite() {
            format!("{hi:.3}")
        } else {
            "-".into()
        },
    ));
    if d.frontier.failures() > 0 {
        ui.colored_label(
            Color32::RED,
            format!("{} programs failed (grey cells)", d.frontier.failures()),
        );
    }
    let model_point = state
        .model_view
        .as_ref()
        .map(|m| [m.scores.global_disparity, m.scores.local_disparity]);
    Plot::new("frontier")
        .height(380.0)
        .x_axis_label("eps_global (bits)")
        .y_axis_label("eps_local (bits)")
        .include_x(-0.5 * dg)
        .include_x(gmax + 0.5 * dg)
        .include_y(-0.5 * dl)
        .include_y(lmax + 0.5 * dl)
        .allow_scroll(false)
        .label_formatter(|pos| frontier_hover(pos, d, scale))
        .show(ui, |plot| draw_frontier(plot, d, scale, model_point));
    crate::export::csv_button(
        ui,
        "fairness-frontier.csv",
        &["eps_global_bits", "eps_local_bits", "best_accuracy"],
        || {
            d.frontier
                .results
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let (g, l) = d.frontier.budgets[i];
                    vec![
                        g.unwrap_or(f64::INFINITY),
                        l.unwrap_or(f64::INFINITY),
                        r.as_ref().map_or(f64::NAN, |o| o.scores.accuracy),
                    ]
                })
                .collect()
        },
    );
}

fn curves_view(s: &mut FairnessSettings, state: &LabState, ui: &mut egui::Ui) {
    let Some(d) = &state.data else {
        return;
    };
    let n = s.grid as usize;
    if d.curves.budgets.len() != 2 * n {
        return;
    }
    let series = |offset: usize, pick: fn(&(Option<f64>, Option<f64>)) -> f64| -> Vec<[f64; 2]> {
        (0..n)
            .filter_map(|i| {
                let acc = d.curves.accuracy(offset + i)?;
                Some([pick(&d.curves.budgets[offset + i]), acc])
            })
            .collect()
    };
    let vs_global = series(0, |b| b.0.unwrap_or(0.0));
    let vs_local = series(n, |b| b.1.unwrap_or(0.0));
    let ms_series =
        |offset: usize, pick: fn(&(Option<f64>, Option<f64>)) -> f64| -> Vec<[f64; 2]> {
            let Some(q) = &d.model_specific_curves else {
                return Vec::new();
            };
            (0..n)
                .filter_map(|i| Some([pick(q.budgets.get(offset + i)?), q.accuracy(offset + i)?]))
                .collect()
        };
    let ms_global = ms_series(0, |b| b.0.unwrap_or(0.0));
    let ms_local = ms_series(n, |b| b.1.unwrap_or(0.0));
    ui.label(
        "Solid: AGLFOP, the best accuracy over every P(Yhat | Y, Z, S), an upper bound (Yhat may \
         see the label). Dashed: the model-specific limit (the reference's optimization_FL_MS), \
         the best random post-processing of your trained model, group by group; it appears once \
         the model is trained. Your model is drawn at its own disparity on the x axis: it can \
         sit above a curve when its other disparity exceeds the slider's fixed budget.",
    );
    let model = state.model_view.as_ref().map(|m| m.scores);
    let narrow = crate::labs::layout::is_narrow(ui.ctx());
    let width = if narrow {
        ui.available_width()
    } else {
        ui.available_width() / 2.0 - 8.0
    };
    ui.horizontal_wrapped(|ui| {
        let model_global = model.map(|m| [m.global_disparity, m.accuracy]);
        let model_local = model.map(|m| [m.local_disparity, m.accuracy]);
        budget_curve(
            ui,
            width,
            BudgetCurve {
                id: "acc_vs_global",
                varied: "eps_global",
                fixed: "local",
                fraction: &mut s.fix_local,
                max_fixed: d.max_local,
                points: &vs_global,
                model_specific: &ms_global,
                model: model_global,
            },
        );
        budget_curve(
            ui,
            width,
            BudgetCurve {
                id: "acc_vs_local",
                varied: "eps_local",
                fixed: "global",
                fraction: &mut s.fix_global,
                max_fixed: d.max_global,
                points: &vs_local,
                model_specific: &ms_local,
                model: model_local,
            },
        );
    });
    crate::export::csv_button(
        ui,
        "fairness-curves.csv",
        &["eps_global_bits", "eps_local_bits", "best_accuracy"],
        || {
            (0..d.curves.results.len())
                .map(|i| {
                    let (g, l) = d.curves.budgets[i];
                    vec![
                        g.unwrap_or(f64::INFINITY),
                        l.unwrap_or(f64::INFINITY),
                        d.curves.accuracy(i).unwrap_or(f64::NAN),
                    ]
                })
                .collect()
        },
    );
}

/// One accuracy-vs-budget plot: the other budget fixed by a slider (a share of its maximum).
struct BudgetCurve<'a> {
    id: &'static str,
    /// The budget on the x axis ("eps_global" or "eps_local").
    varied: &'static str,
    /// The fixed budget's name ("local" or "global").
    fixed: &'static str,
    fraction: &'a mut f64,
    max_fixed: f64,
    points: &'a [[f64; 2]],
    /// The model-specific limit at the same budgets (empty until the model is trained).
    model_specific: &'a [[f64; 2]],
    /// The model as (its disparity on the x axis, its accuracy).
    model: Option<[f64; 2]>,
}

fn budget_curve(ui: &mut egui::Ui, width: f32, c: BudgetCurve<'_>) {
    ui.vertical(|ui| {
        ui.set_width(width);
        let fixed_bits = *c.fraction * c.max_fixed;
        ui.add(
            egui::Slider::new(c.fraction, 0.0..=1.0).text(format!("eps_{}, share of max", c.fixed)),
        )
        .on_hover_text(format!("Fixed {} budget: {fixed_bits:.4} bits", c.fixed));
        // After the slider: the legend shows this frame's value.
        let fixed_bits = *c.fraction * c.max_fixed;
        Plot::new(c.id)
            .height(300.0)
            .x_axis_label(format!("{} (bits)", c.varied))
            .y_axis_label("best accuracy")
            .allow_scroll(false)
            .legend(Legend::default().position(egui_plot::Corner::RightBottom))
            .show(ui, |plot| {
                plot.line(
                    Line::new(
                        format!("eps_{} = {fixed_bits:.3}", c.fixed),
                        PlotPoints::from(c.points.to_vec()),
                    )
                    .color(UNIQUE)
                    .width(2.0),
                );
                if !c.model_specific.is_empty() {
                    plot.line(
                        Line::new(
                            "post-processing your model",
                            PlotPoints::from(c.model_specific.to_vec()),
                        )
                        .color(POST_PROCESSING)
                        .style(egui_plot::LineStyle::dashed_loose())
                        .width(2.0),
                    );
                }
                if let Some(p) = c.model {
                    plot.points(Points::new("your model", vec![p]).radius(5.0).color(MODEL));
                }
            });
    });
}

fn training_view(state: &LabState, ui: &mut egui::Ui) {
    let Some(m) = &state.model else {
        if state
            .data
            .as_ref()
            .is_some_and(|d| d.shipped_model.is_some())
        {
            ui.label(
                "The census model was trained offline (scripts/adult-table, paperlab adult): there \
                 are no federated rounds to show. Its accuracy and disparities are above; the \
                 Decomposition view splits them.",
            );
        }
        return;
    };
    let line = |f: fn(&super::fedavg::RoundScores) -> f64| -> Vec<[f64; 2]> {
        m.history
            .iter()
            .map(|h| [f64::from(h.round), f(h)])
            .collect()
    };
    Plot::new("training")
        .height(340.0)
        .legend(Legend::default().position(egui_plot::Corner::RightTop))
        .x_axis_label("round")
        .y_axis_label("accuracy / bits")
        .include_y(0.0)
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.line(
                Line::new("accuracy", PlotPoints::from(line(|h| h.scores.accuracy))).width(2.0),
            );
            plot.line(
                Line::new(
                    "global disparity I(Z;Yhat)",
                    PlotPoints::from(line(|h| h.scores.global_disparity)),
                )
                .width(2.0)
                .color(REDUNDANT),
            );
            plot.line(
                Line::new(
                    "local disparity I(Z;Yhat|S)",
                    PlotPoints::from(line(|h| h.scores.local_disparity)),
                )
                .width(2.0)
                .color(MASKED),
            );
        });
    crate::export::csv_button(
        ui,
        "fairness-training.csv",
        &["round", "accuracy", "global_bits", "local_bits"],
        || {
            m.history
                .iter()
                .map(|h| {
                    vec![
                        f64::from(h.round),
                        h.scores.accuracy,
                        h.scores.global_disparity,
                        h.scores.local_disparity,
                    ]
                })
                .collect()
        },
    );
}
