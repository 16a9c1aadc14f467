//! The marginalization page: target and model controls; the lattice to paint with log p of the
//! painted pattern three ways and the heat maps; then sampling, training or speed.

use egui::{Color32, Pos2, Rect, RichText, Sense, Stroke, Vec2};
use egui_plot::{Legend, Line, MarkerShape, Plot, PlotPoints, Points};

use super::lab::{GALLERY_SAMPLES, MamState, SPEED_BATCH, SampleStats, Source};
use super::partial::{Partial, Site};
use super::settings::{self, MamSettings, Order, Sampler, View};
use super::train::TrainConfig;
use crate::gpu::Compute;
use crate::labs::controls;
use crate::labs::layout::Part;

const UP: Color32 = Color32::from_rgb(225, 87, 89);
const DOWN: Color32 = Color32::from_rgb(78, 121, 167);
/// Unknown sites in the paint lattice, light and dark theme.
const UNKNOWN: Color32 = Color32::from_rgb(220, 220, 220);
const UNKNOWN_DARK: Color32 = Color32::from_rgb(70, 70, 70);
const MAM: Color32 = Color32::from_rgb(89, 161, 79);
const ARM: Color32 = Color32::from_rgb(242, 142, 43);
const EXACT: Color32 = Color32::from_rgb(90, 90, 90);

/// The brush the painter uses (not part of the link: a tool, not a state).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum Brush {
    #[default]
    Up,
    Down,
    Unknown,
}

impl Brush {
    fn site(self) -> Site {
        match self {
            Brush::Up => Site::Up,
            Brush::Down => Site::Down,
            Brush::Unknown => Site::Unknown,
        }
    }
}

/// Blue (p = 0) through a neutral middle (1/2) to red (p = 1); the middle is white in the light
/// theme and dark grey in the dark one, so an undecided site looks like the page, not a light.
fn probability_color(p: f64, dark: bool) -> Color32 {
    let middle = if dark {
        Color32::from_gray(48)
    } else {
        Color32::WHITE
    };
    let t = p.clamp(0.0, 1.0) as f32;
    let mix = |a: Color32, b: Color32, u: f32| {
        let l = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * u) as u8;
        Color32::from_rgb(l(a.r(), b.r()), l(a.g(), b.g()), l(a.b(), b.b()))
    };
    if t < 0.5 {
        mix(DOWN, middle, t * 2.0)
    } else {
        mix(middle, UP, (t - 0.5) * 2.0)
    }
}

pub fn mam_ui(
    s: &mut MamSettings,
    state: &mut MamState,
    brush: &mut Brush,
    compute: &Compute,
    ui: &mut egui::Ui,
) {
    crate::labs::layout::lab_page(ui, "mam", |ui, part| match part {
        Part::Controls => controls_ui(s, state, brush, ui),
        Part::Results => results_ui(s, state, brush, compute, ui),
    });
}

/// Which networks answer (shipped, trained here, none) and the training buttons.
fn model_ui(s: &mut MamSettings, state: &mut MamState, ui: &mut egui::Ui) {
    ui.add_space(6.0);
    ui.heading("Model");
    match state.source() {
        Source::Shipped(h) => {
            ui.label(format!("Shipped model, {} training steps.", h.steps))
                .on_hover_text(format!("Produced by: {}", h.command));
        }
        Source::Loading => {
            ui.label("Loading the shipped model…");
        }
        Source::Trained => {
            let steps = state.training.as_ref().map_or(0, |t| t.steps);
            ui.label(format!("Trained on this page: {steps} steps."));
        }
        Source::None => {
            ui.label(
                RichText::new("No shipped model for this target: train one (Train view).")
                    .color(ARM),
            );
        }
    }
    if let Some(e) = &state.load_error {
        ui.colored_label(Color32::RED, e);
    }
    ui.horizontal_wrapped(|ui| {
        let label = if s.train {
            "Pause training"
        } else {
            "▶ Train"
        };
        if ui
            .button(label)
            .on_hover_text(
                "Energy-based training in slices between frames (from scratch the first time)",
            )
            .clicked()
        {
            s.train = !s.train;
            s.view = View::Train;
        }
        if state.training.is_some()
            && ui
                .button("Restart")
                .on_hover_text("Fresh networks with the training seed")
                .clicked()
        {
            state.start_training(s);
        }
        if state.training.is_some()
            && state.shipped.is_some()
            && ui
                .button("Use shipped")
                .on_hover_text("Drop the page's training, answer with the shipped model")
                .clicked()
        {
            s.train = false;
            state.use_shipped();
        }
    });
}

/// The sampling order, the sampler and the seed.
fn sampling_controls_ui(s: &mut MamSettings, state: &mut MamState, ui: &mut egui::Ui) {
    ui.add_space(6.0);
    ui.heading("Sampling");
    egui::ComboBox::from_label("order")
        .selected_text(s.order.label())
        .show_ui(ui, |ui| {
            for o in Order::ALL {
                if ui.selectable_value(&mut s.order, o, o.label()).changed() {
                    state.restart_sampling();
                }
            }
        })
        .response
        .on_hover_text("The order the unknown sites are filled in, one conditional pass each");
    egui::ComboBox::from_label("sampler")
        .selected_text(s.sampler.label())
        .show_ui(ui, |ui| {
            for x in Sampler::ALL {
                if ui.selectable_value(&mut s.sampler, x, x.label()).changed() {
                    state.restart_sampling();
                    state.restart_gallery();
                }
            }
        })
        .response
        .on_hover_text(
            "Draw each site from the conditional network (one pass), or from the ratio of two \
             marginals p(x_S, x_i = ±1) (one pass of two rows)",
        );
    if controls::drag(ui, &mut s.seed, &settings::SEED).changed() {
        state.restart_sampling();
        state.restart_gallery();
    }
}

fn controls_ui(s: &mut MamSettings, state: &mut MamState, brush: &mut Brush, ui: &mut egui::Ui) {
    ui.label(
        "A marginalization model answers \"how likely is this partial pattern?\" in one \
         network pass; an autoregressive model needs one pass per observed site. Both are \
         trained from the energy alone (no data). The target is the reference code's: \
         log f(x) = x^T (J A) x + h sum x_i with A the torus's adjacency, so each neighbour \
         pair adds 2 J x_i x_j.",
    );
    ui.add_space(4.0);
    ui.heading("Ising target");
    controls::number(ui, &mut s.size, &settings::SIZE);
    controls::number(ui, &mut s.coupling, &settings::COUPLING);
    controls::number(ui, &mut s.field, &settings::FIELD);
    if ui
        .button("Paper's target (J = 0.1, h = 0.2)")
        .on_hover_text("The reference code's Ising config (sigma = 0.1, bias = 0.2; each edge adds 2 J x_i x_j); shipped MaM and ARM models exist for 4x4, 8x8 and the paper's 10x10")
        .clicked()
    {
        s.coupling = settings::COUPLING.default;
        s.field = settings::FIELD.default;
    }
    model_ui(s, state, ui);
    controls::drag(ui, &mut s.train_seed, &settings::TRAIN_SEED);
    ui.add_space(6.0);
    ui.heading("Paint a query");
    ui.horizontal(|ui| {
        ui.selectable_value(brush, Brush::Up, RichText::new("■ +1").color(UP))
            .on_hover_text("Click or drag on the lattice to set sites to +1");
        ui.selectable_value(brush, Brush::Down, RichText::new("■ -1").color(DOWN))
            .on_hover_text("Set sites to -1");
        ui.selectable_value(brush, Brush::Unknown, "? unknown")
            .on_hover_text("Make sites unknown again (marginalised out)");
    });
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Clear")
            .on_hover_text("Every site unknown")
            .clicked()
        {
            s.pattern.clear();
        }
        if ui
            .button("Top row +1")
            .on_hover_text("A simple query: the first row all +1")
            .clicked()
        {
            let mut p = Partial::unknown(s.sites());
            (0..s.size as usize).for_each(|i| p.sites[i] = Site::Up);
            s.set_partial(&p);
        }
    });
    sampling_controls_ui(s, state, ui);
    ui.add_space(6.0);
    ui.heading("View");
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut s.view, View::Sample, "Sampling")
            .on_hover_text("Any-order sampling, and a gallery against exact / Gibbs samples");
        ui.selectable_value(&mut s.view, View::Train, "Training")
            .on_hover_text("KL and self-consistency curves of the page's training");
        ui.selectable_value(&mut s.view, View::Speed, "Speed")
            .on_hover_text("One pass (MaM) against |S| passes (autoregressive), measured here");
    });
}

fn results_ui(
    s: &mut MamSettings,
    state: &mut MamState,
    brush: &Brush,
    compute: &Compute,
    ui: &mut egui::Ui,
) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        let paint = |s: &mut MamSettings, ui: &mut egui::Ui| {
            ui.label(RichText::new("Paint (+1 / -1 / ?)").strong());
            let mut p = s.partial();
            if paint_lattice(ui, &mut p, s.size as usize, 240.0, *brush) {
                s.set_partial(&p);
            }
        };
        if crate::labs::layout::is_narrow(ui.ctx()) {
            // A phone: one column, each part at full width.
            paint(s, ui);
            answer_ui(s, state, compute, ui);
            ui.add_space(6.0);
            heat_maps_ui(s, state, ui);
        } else {
            // The heat maps sit under the answer, beside the lattice: the whole sampling view
            // then fits a 1280x800 window.
            ui.horizontal(|ui| {
                ui.vertical(|ui| paint(s, ui));
                ui.vertical(|ui| {
                    answer_ui(s, state, compute, ui);
                    ui.add_space(6.0);
                    heat_maps_ui(s, state, ui);
                });
            });
        }
        ui.separator();
        match s.view {
            View::Sample => sample_ui(s, state, ui),
            View::Train => train_ui(s, state, ui),
            View::Speed => speed_ui(s, state, compute, ui),
        }
    });
}

/// The lattice as squares; returns whether a click or drag changed a site.
fn paint_lattice(ui: &mut egui::Ui, p: &mut Partial, size: usize, side: f32, brush: Brush) -> bool {
    let cell = (side / size as f32).floor();
    let (rect, response) =
        ui.allocate_exact_size(Vec2::splat(cell * size as f32), Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    let unknown = if ui.visuals().dark_mode {
        UNKNOWN_DARK
    } else {
        UNKNOWN
    };
    for (i, site) in p.sites.iter().enumerate() {
        let r = cell_rect(rect, cell, size, i);
        let (fill, text) = match site {
            Site::Up => (UP, "+"),
            Site::Down => (DOWN, "−"),
            Site::Unknown => (unknown, "?"),
        };
        painter.rect_filled(r.shrink(1.0), 2.0, fill);
        painter.text(
            r.center(),
            egui::Align2::CENTER_CENTER,
            text,
            egui::FontId::proportional((cell * 0.5).max(8.0)),
            if *site == Site::Unknown {
                Color32::GRAY
            } else {
                Color32::WHITE
            },
        );
    }
    crate::export::remember_button(ui.ctx(), "mam_lattice", rect);
    let mut changed = false;
    if (response.clicked() || response.dragged())
        && let Some(pos) = response.interact_pointer_pos()
        && rect.contains(pos)
    {
        let c = ((pos.x - rect.min.x) / cell) as usize;
        let r = ((pos.y - rect.min.y) / cell) as usize;
        let i = r.min(size - 1) * size + c.min(size - 1);
        if p.sites[i] != brush.site() {
            p.sites[i] = brush.site();
            changed = true;
        }
    }
    changed
}

fn cell_rect(rect: Rect, cell: f32, size: usize, i: usize) -> Rect {
    let (r, c) = (i / size, i % size);
    Rect::from_min_size(
        Pos2::new(rect.min.x + c as f32 * cell, rect.min.y + r as f32 * cell),
        Vec2::splat(cell),
    )
}

/// A small lattice coloured by p(x_i = +1); observed sites drawn solid with a dark border.
fn heat_lattice(ui: &mut egui::Ui, p: &Partial, heat: &[f64], size: usize, side: f32) {
    heat_lattice_outlined(ui, p, heat, size, side, true);
}

/// As [`heat_lattice`]; `outline` marks observed sites (off for small sample tiles).
fn heat_lattice_outlined(
    ui: &mut egui::Ui,
    p: &Partial,
    heat: &[f64],
    size: usize,
    side: f32,
    outline: bool,
) {
    let cell = (side / size as f32).floor().max(3.0);
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(cell * size as f32), Sense::hover());
    let painter = ui.painter_at(rect);
    let dark = ui.visuals().dark_mode;
    for (i, (site, &h)) in p.sites.iter().zip(heat).enumerate() {
        let r = cell_rect(rect, cell, size, i);
        match site {
            Site::Unknown => {
                painter.rect_filled(r, 0.0, probability_color(h, dark));
            }
            Site::Up | Site::Down => {
                painter.rect_filled(r, 0.0, if *site == Site::Up { UP } else { DOWN });
                if !outline {
                    continue;
                }
                painter.rect_stroke(
                    r.shrink(1.0),
                    0.0,
                    Stroke::new(1.0, Color32::BLACK),
                    egui::StrokeKind::Inside,
                );
            }
        }
    }
    if let Some(pos) = response.hover_pos() {
        let c = ((pos.x - rect.min.x) / cell) as usize;
        let r = ((pos.y - rect.min.y) / cell) as usize;
        let i = r.min(size - 1) * size + c.min(size - 1);
        response.on_hover_text(format!("site {i}: p(+1) = {:.3}", heat[i]));
    }
}

fn answer_ui(s: &MamSettings, state: &MamState, compute: &Compute, ui: &mut egui::Ui) {
    let Some(a) = &state.answer else {
        ui.label(match state.source() {
            Source::Loading => "Loading the shipped model…",
            _ => "No model yet: press ▶ Train.",
        });
        return;
    };
    ui.label(RichText::new(format!("log p(painted), {} observed sites", a.observed)).strong());
    answer_table(
        a,
        s.size as usize,
        crate::labs::layout::is_narrow(ui.ctx()),
        ui,
    );
    if a.observed > 0 {
        ui.label(format!(
            "Autoregressive / MaM time: {:.1}x on the CPU (goal: at least |S|/2 = {:.1}).",
            a.ms_arm / a.ms_mam.max(1e-9),
            a.observed as f64 / 2.0
        ));
    }
    if let Some(e) = a.log_p_exact {
        ui.label(format!(
            "|MaM - exact| = {:.4} nats, |ARM - exact| = {:.4} nats; p(painted) = {:.3e}.",
            (a.log_p_model - e).abs(),
            (a.log_p_arm - e).abs(),
            e.exp()
        ));
    }
    ui.label(
        RichText::new(format!(
            "Timed on the CPU ({}); {} sites, {}.",
            if cfg!(target_arch = "wasm32") {
                "wasm"
            } else {
                "native"
            },
            s.sites(),
            match compute {
                Compute::Gpu(_) => "heat map batch also on the GPU",
                Compute::CpuFallback { .. } => "no GPU: every pass on the CPU",
            }
        ))
        .small(),
    );
}

fn format_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.1} µs", ms * 1e3)
    } else {
        format!("{ms:.2} ms")
    }
}

/// The routes' log p, time and network passes for the painted query.
/// On a phone (`narrow`) the labels are short, so that all four columns fit 390 px.
fn answer_table(a: &super::lab::QueryAnswer, size: usize, narrow: bool, ui: &mut egui::Ui) {
    let short = |long: &'static str, short: &'static str| if narrow { short } else { long };
    egui::Grid::new("mam_answer").striped(true).show(ui, |ui| {
        ui.label("route");
        ui.label("log p (nats)");
        ui.label("time");
        ui.label(short("network passes", "passes"));
        ui.end_row();
        ui.colored_label(MAM, short("MaM marginal network", "MaM"));
        ui.monospace(format!("{:.4}", a.log_p_model));
        ui.monospace(format_ms(a.ms_mam));
        ui.label("1");
        ui.end_row();
        let arm = short(a.arm_network.label(), "ARM");
        ui.colored_label(ARM, arm).on_hover_text(match a.arm_network {
            super::lab::ArmNetwork::Separate => {
                "The paper's baseline: an any-order autoregressive network trained separately, by KL on the same energy (paperlab mam train-arm)"
            }
            super::lab::ArmNetwork::MamConditional => {
                "No separately trained ARM for this target (or the page trains its own MaM): MaM's conditional network, the same shape, so the same time per pass"
            }
        });
        ui.monospace(format!("{:.4}", a.log_p_arm));
        ui.monospace(format_ms(a.ms_arm));
        ui.label(a.observed.to_string());
        ui.end_row();
        let (route, how) = if size <= super::ising::MAX_EXACT_SIZE {
            ("exact (enumeration)", "Sums all 2^D states")
        } else {
            (
                "exact (transfer matrix)",
                "Sums the states that agree with the painted sites row by row: 2^L frontier states instead of 2^D (a second or two for 10x10, spread over frames)",
            )
        };
        ui.colored_label(EXACT, short(route, "exact")).on_hover_text(how);
        match a.log_p_exact {
            Some(v) => ui.monospace(format!("{v:.4}")),
            None if size <= super::ising::MAX_TRANSFER_SIZE => ui.label("computing…"),
            None => ui.label(format!(
                "L > {}: 2^L frontier states",
                super::ising::MAX_TRANSFER_SIZE
            )),
        };
        ui.label("");
        ui.label("");
        ui.end_row();
    });
}

fn heat_maps_ui(s: &MamSettings, state: &MamState, ui: &mut egui::Ui) {
    let Some(a) = &state.answer else { return };
    let p = s.partial();
    let size = s.size as usize;
    ui.label(RichText::new("p(x_i = +1 | painted) for every unknown site").strong());
    let mut maps: Vec<(&str, &[f64], &str)> = vec![
        (
            "conditional net, 1 pass",
            &a.heat_conditional,
            "sigmoid of the conditional network's logits: all sites in one pass",
        ),
        (
            "D+1 marginals (CPU)",
            &a.heat_marginals,
            "p(x_S, x_i = +1) / p(x_S) from a batch of D + 1 marginal queries",
        ),
    ];
    if let Some(g) = &state.gpu_heat {
        maps.push((
            "D+1 marginals (GPU)",
            &g.heat,
            "The same batch of D + 1 marginal queries in one GPU submission",
        ));
    }
    if let Some(e) = &a.heat_exact {
        maps.push(("exact", e, "By enumeration of all 2^D states"));
    }
    // Rows of at most 150 px maps, two per row on a phone, each title wrapped to its map's
    // width (a wrapped layout cannot place children whose size it learns only afterwards).
    let per_row = if crate::labs::layout::is_narrow(ui.ctx()) {
        2
    } else {
        maps.len()
    };
    let spacing = ui.spacing().item_spacing.x;
    let side = ((ui.available_width() - spacing * (per_row - 1) as f32) / per_row as f32)
        .clamp(60.0, 150.0);
    for row in maps.chunks(per_row) {
        ui.horizontal(|ui| {
            for &(title, heat, hover) in row {
                ui.vertical(|ui| {
                    ui.set_width(side);
                    ui.add(egui::Label::new(title).wrap()).on_hover_text(hover);
                    heat_lattice(ui, &p, heat, size, side);
                });
            }
        });
    }
    let unknown = p.sites.iter().filter(|x| **x == Site::Unknown);
    let diff = a
        .heat_conditional
        .iter()
        .zip(&a.heat_marginals)
        .zip(&p.sites)
        .filter(|(_, x)| **x == Site::Unknown)
        .map(|((c, m), _)| (c - m).abs())
        .fold(0.0f64, f64::max);
    let mut line = format!(
        "Conditional pass vs marginal batch: max difference {diff:.3} over {} unknown sites (self-consistency makes them agree).",
        unknown.count()
    );
    if let Some(g) = &state.gpu_heat {
        line.push_str(&format!(
            " GPU batch of {} queries: {:.1} ms round trip, max difference to the conditional pass {:.3}.",
            s.sites() + 1,
            g.wall_ms,
            g.max_diff_vs_conditional
        ));
    }
    if let Some(e) = &a.heat_exact {
        let err = a
            .heat_conditional
            .iter()
            .zip(e)
            .map(|(c, x)| (c - x).abs())
            .fold(0.0f64, f64::max);
        line.push_str(&format!(" Max error against exact: {err:.3}."));
    }
    ui.label(RichText::new(line).small());
    if let Some(e) = &state.gpu_error {
        ui.colored_label(Color32::RED, format!("GPU: {e}"));
    }
}

fn spins_partial(spins: &[i8]) -> Partial {
    Partial {
        sites: spins
            .iter()
            .map(|&v| if v > 0 { Site::Up } else { Site::Down })
            .collect(),
    }
}

/// The sampling lattice beside the gallery; on a phone, one above the other (side by side the
/// gallery got the few pixels left of 390).
fn sample_ui(s: &mut MamSettings, state: &mut MamState, ui: &mut egui::Ui) {
    if crate::labs::layout::is_narrow(ui.ctx()) {
        sampling_column(s, state, ui);
        ui.separator();
        gallery_ui(s, state, ui);
    } else {
        ui.horizontal_wrapped(|ui| {
            ui.vertical(|ui| sampling_column(s, state, ui));
            ui.vertical(|ui| gallery_ui(s, state, ui));
        });
    }
}

fn sampling_column(s: &mut MamSettings, state: &mut MamState, ui: &mut egui::Ui) {
    let size = s.size as usize;
    ui.label(RichText::new("Any-order sampling").strong());
    if let Some(sampling) = &state.sampling {
        let shown = sampling.revealed();
        let mut p = sampling.start.clone();
        let mut heat = vec![0.5; p.sites.len()];
        for &(i, spin, p_up) in &sampling.steps[..shown] {
            p.sites[i] = if spin > 0 { Site::Up } else { Site::Down };
            heat[i] = p_up;
        }
        if let Some(&(next, _, _)) = sampling.steps.get(shown) {
            heat[next] = 0.5;
        }
        heat_lattice(ui, &p, &heat, size, 220.0);
        ui.label(format!(
            "{shown} of {} unknown sites filled, {} order, by the {}; painted sites kept.",
            sampling.steps.len(),
            s.order.label(),
            s.sampler.label()
        ));
        if let Some(&(i, spin, p_up)) = shown.checked_sub(1).and_then(|k| sampling.steps.get(k)) {
            ui.label(format!(
                "last: site {i} drew {spin:+} with p(+1) = {p_up:.3}"
            ));
        }
    }
    if ui
        .button("↻ Sample again")
        .on_hover_text("Next seed: a new sample (and a new order if random)")
        .clicked()
    {
        s.seed = s.seed.wrapping_add(1);
        state.restart_sampling();
    }
}

fn gallery_ui(s: &MamSettings, state: &MamState, ui: &mut egui::Ui) {
    let Some(g) = &state.gallery else { return };
    let Some(model) = state.model else { return };
    let size = s.size as usize;
    let reference = if g.reference_is_exact {
        "exact samples (enumeration)"
    } else {
        "Gibbs samples (200 sweeps)"
    };
    ui.label(
        RichText::new(format!(
            "Gallery: MaM (random order, {}) vs {reference}",
            s.sampler.label()
        ))
        .strong(),
    );
    for (title, samples) in [
        ("MaM", &g.model_samples),
        ("reference", &g.reference_samples),
    ] {
        ui.horizontal(|ui| {
            ui.label(format!("{title:>9}"));
            for spins in samples.iter().take(6) {
                let p = spins_partial(spins);
                heat_lattice_outlined(ui, &p, &vec![0.5; spins.len()], size, 40.0, false);
            }
        });
    }
    let a = SampleStats::of(&model, &g.model_samples);
    let b = SampleStats::of(&model, &g.reference_samples);
    egui::Grid::new("mam_gallery_stats")
        .striped(true)
        .show(ui, |ui| {
            ui.label("");
            ui.label("samples");
            ui.label("magnetisation");
            // On a phone the long heading ran past the edge.
            ui.label(if crate::labs::layout::is_narrow(ui.ctx()) {
                "correlation"
            } else {
                "neighbour correlation"
            })
            .on_hover_text("Mean x_i x_j over the 2 D nearest-neighbour pairs");
            ui.end_row();
            for (name, st) in [("MaM", a), ("reference", b)] {
                ui.label(name);
                ui.monospace(format!("{}/{GALLERY_SAMPLES}", st.count));
                ui.monospace(format!(
                    "{:.3} ± {:.3}",
                    st.magnetisation, st.magnetisation_se
                ));
                ui.monospace(format!(
                    "{:.3} ± {:.3}",
                    st.neighbour_correlation, st.neighbour_correlation_se
                ));
                ui.end_row();
            }
            if let Some(e) = &g.exact_moments {
                ui.label("exact").on_hover_text(
                    "The target's own values: derivatives of the exact log Z (transfer matrix)",
                );
                ui.monospace("");
                ui.monospace(format!("{:.3}", e.magnetisation));
                ui.monospace(format!("{:.3}", e.neighbour_correlation));
                ui.end_row();
            }
        });
    let mut text = format!(
        "Means over the samples so far ± one standard error; MaM and reference are {} (magnetisation) and {} (correlation) combined standard errors apart",
        format_z(a.z_scores(&b).0),
        format_z(a.z_scores(&b).1),
    );
    match &g.exact_moments {
        Some(e) => {
            let (m, c) = a.z_scores_exact(e);
            text += &format!(
                "; MaM is {} and {} of its standard errors from the exact values.",
                format_z(m),
                format_z(c)
            );
        }
        None if size <= super::ising::MAX_TRANSFER_SIZE => text += "; exact values: computing.",
        None => text += ".",
    }
    ui.label(RichText::new(text).small());
}

fn format_z(z: f64) -> String {
    format!("{z:.1}")
}

/// KL estimate and self-consistency (smoothed over 25 steps) and the error against exact
/// marginals, on a log scale against the training step.
fn training_plot(training: &super::jobs::PageTraining, ui: &mut egui::Ui) {
    let window = 25;
    let smooth = |f: &dyn Fn(&super::train::StepStats) -> Option<f64>| -> Vec<[f64; 2]> {
        training
            .history
            .chunks(window)
            .filter_map(|c| {
                let values: Vec<f64> = c.iter().filter_map(f).collect();
                let last = c.last()?;
                (!values.is_empty()).then(|| {
                    [
                        last.step as f64,
                        values.iter().sum::<f64>() / values.len() as f64,
                    ]
                })
            })
            .collect()
    };
    let kl = smooth(&|x| x.kl_estimate.map(|k| k.max(1e-4).log10()));
    let sc = smooth(&|x| Some(x.self_consistency.max(1e-8).log10()));
    let quality: Vec<[f64; 2]> = training
        .quality_history
        .iter()
        .map(|&(step, e)| [step as f64, e.max(1e-4).log10()])
        .collect();
    crate::plot::axis::log10_y(Plot::new("mam_training"))
        .height(280.0)
        .x_axis_label("training step")
        .y_axis_label("value (log scale)")
        .allow_scroll(false)
        .legend(Legend::default().position(egui_plot::Corner::RightTop))
        .show(ui, |plot| {
            if !kl.is_empty() {
                plot.line(
                    Line::new(
                        "KL estimate (nats, exact log Z)",
                        PlotPoints::from(kl.clone()),
                    )
                    .color(MAM),
                );
            }
            plot.line(
                Line::new("self-consistency (nats²)", PlotPoints::from(sc.clone())).color(ARM),
            );
            if !quality.is_empty() {
                plot.points(
                    Points::new(
                        "mean |log p - exact| (nats)",
                        PlotPoints::from(quality.clone()),
                    )
                    .shape(MarkerShape::Circle)
                    .radius(3.0)
                    .color(EXACT),
                );
            }
        });
}

fn train_ui(s: &MamSettings, state: &MamState, ui: &mut egui::Ui) {
    let Some(training) = &state.training else {
        let config = TrainConfig::for_size(s.size as usize, 0);
        let sites = (s.size * s.size) as usize;
        ui.label(format!(
            "The page has not trained yet. ▶ Train starts energy-based training from scratch: {}.",
            config.recipe(sites)
        ));
        return;
    };
    let recent = training.recent(50);
    ui.label(format!(
        "{} steps (batch {}, {}){}.",
        training.steps,
        training.batch,
        if s.train { "training" } else { "paused" },
        recent.map_or(String::new(), |r| format!(
            "; last 50: self-consistency {:.2e} nats², {}",
            r.self_consistency,
            match r.kl_estimate {
                Some(kl) => format!("KL estimate on the training samples {kl:.3} nats"),
                None => format!("E[log p - log f] = {:.2}", r.reverse_gap),
            }
        ))
    ));
    if let Some(why) = state.training_fallback_reason() {
        ui.label(
            RichText::new(format!(
                "Training runs on the page's own thread (slower, in frame slices): {why}"
            ))
            .small(),
        );
    }
    if let Some(e) = &training.error {
        ui.colored_label(Color32::RED, e);
    }
    training_plot(training, ui);
    crate::export::csv_button(
        ui,
        "mam-training.csv",
        &[
            "step",
            "kl_estimate",
            "mean_log_p_minus_log_f",
            "self_consistency",
        ],
        || {
            training
                .history
                .iter()
                .map(|h| {
                    vec![
                        h.step as f64,
                        h.kl_estimate.unwrap_or(f64::NAN),
                        h.reverse_gap,
                        h.self_consistency,
                    ]
                })
                .collect()
        },
    );
    if training.log_z.is_none() {
        ui.label(
            RichText::new("L > 8: log Z is not known exactly, so no KL curve (the transfer matrix needs 2^L x 2^L).")
                .small(),
        );
    }
}

/// Per |S|: both routes' times on the CPU, their ratio against the goal |S|/2.
fn speed_table(cpu: &[super::speed::QueryTime], ui: &mut egui::Ui) {
    egui::Grid::new("mam_speed_table")
        .striped(true)
        .show(ui, |ui| {
            for h in [
                "|S|",
                "MaM",
                "ARM (|S| passes)",
                "ratio",
                "goal |S|/2",
                "ARM batched",
            ] {
                ui.label(h);
            }
            ui.end_row();
            for t in cpu {
                ui.monospace(t.observed.to_string());
                ui.monospace(format_ms(t.ms_mam));
                ui.monospace(format_ms(t.ms_arm));
                let ratio = t.ratio();
                let goal = t.observed as f64 / 2.0;
                ui.colored_label(
                    if ratio >= goal { MAM } else { Color32::RED },
                    format!("{ratio:.1}x"),
                );
                ui.monospace(format!("{goal:.1}x"));
                ui.monospace(format_ms(t.ms_arm_batched));
                ui.end_row();
            }
        });
}

/// Queries per second of one batch, CPU and GPU, and the GPU's autoregressive passes.
fn batch_speed_ui(job: &super::lab::SpeedJob, compute: &Compute, ui: &mut egui::Ui) {
    ui.add_space(4.0);
    ui.label(RichText::new(format!("Batch of {SPEED_BATCH} random queries")).strong());
    if let Some(ms) = job.cpu_batch_ms {
        ui.label(format!(
            "CPU: {:.0} queries/s (MaM, one batched pass).",
            SPEED_BATCH as f64 / (ms * 1e-3)
        ));
    }
    match (compute, &job.gpu, &job.gpu_error) {
        (_, _, Some(e)) => {
            ui.colored_label(Color32::RED, format!("GPU: {e}"));
        }
        (Compute::CpuFallback { .. }, _, _) => {
            ui.label("No GPU here: the batch figures are CPU only.");
        }
        (Compute::Gpu(_), None, None) => {
            ui.label("GPU: measuring…");
        }
        (Compute::Gpu(_), Some(g), None) => {
            if let Some(ms) = g.ms_mam {
                ui.label(format!(
                    "GPU: {:.0} queries/s (MaM, one pass of the batch, {:.3} ms, {}).",
                    SPEED_BATCH as f64 / (ms * 1e-3),
                    ms,
                    g.timing
                ));
                for (observed, arm_ms) in &g.ms_arm {
                    ui.label(format!(
                        "GPU autoregressive, |S| = {observed}: {observed} passes of the batch take {arm_ms:.3} ms, {:.1}x MaM.",
                        arm_ms / ms.max(1e-9)
                    ));
                }
            }
        }
    }
}

fn speed_ui(s: &MamSettings, state: &mut MamState, compute: &Compute, ui: &mut egui::Ui) {
    ui.label(
        RichText::new("One marginal query: MaM (1 pass) vs autoregressive (|S| passes)").strong(),
    );
    let measure = ui
        .button(if state.speed.is_some() {
            "↻ Measure again"
        } else {
            "▶ Measure"
        })
        .on_hover_text("Times one query per |S| on the CPU, then a batch on the GPU");
    crate::export::remember_button(ui.ctx(), "mam-measure", measure.rect);
    if measure.clicked() {
        state.start_speed(s.seed);
    }
    let Some(job) = &state.speed else {
        ui.label("Press Measure: each route is timed for a few milliseconds per size.");
        return;
    };
    let pts = |f: &dyn Fn(&super::speed::QueryTime) -> f64| -> Vec<[f64; 2]> {
        job.cpu
            .iter()
            .map(|t| [t.observed as f64, f(t).max(1e-6).log10()])
            .collect()
    };
    crate::plot::axis::log10_y(crate::plot::axis::count_x(Plot::new("mam_speed")))
        .height(260.0)
        .x_axis_label("|S| observed sites")
        .y_axis_label("ms per query, CPU (log scale)")
        .allow_scroll(false)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .show(ui, |plot| {
            for (name, color, values) in [
                ("MaM: 1 marginal pass", MAM, pts(&|t| t.ms_mam)),
                ("autoregressive: |S| passes", ARM, pts(&|t| t.ms_arm)),
                (
                    "autoregressive, |S| prefixes in one batch",
                    EXACT,
                    pts(&|t| t.ms_arm_batched),
                ),
            ] {
                plot.line(Line::new(name, PlotPoints::from(values.clone())).color(color));
                plot.points(
                    Points::new("", PlotPoints::from(values))
                        .color(color)
                        .radius(3.0),
                );
            }
        });
    crate::export::csv_button(
        ui,
        "mam-speed.csv",
        &["observed", "ms_mam", "ms_arm", "ms_arm_batched"],
        || {
            job.cpu
                .iter()
                .map(|t| vec![t.observed as f64, t.ms_mam, t.ms_arm, t.ms_arm_batched])
                .collect()
        },
    );
    speed_table(&job.cpu, ui);
    batch_speed_ui(job, compute, ui);
}
