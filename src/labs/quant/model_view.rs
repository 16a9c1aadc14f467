//! The "Whole model (held out)" view: every linear layer of MiniLM quantized by each method,
//! scored on held-out verses (the shipped table, see `minilm/table.rs`): embedding cosine and
//! nearest-neighbour agreement against bits per weight, and what the figures say at 3 and 4
//! bits, read from them.

use egui::{Color32, RichText};
use egui_plot::{Legend, Line, MarkerShape, Plot, PlotPoints, Points};

use super::lab::Series;
use super::minilm::table::{self, Row};
use super::ui::series_color;

/// The table's method codes as the trade-off plot's series (same colours and names).
fn series(method: &str) -> Option<Series> {
    Some(match method {
        "rtn" => Series::Rtn,
        "rtn_g128" => Series::RtnG128,
        "int" => Series::SignedInt,
        "bipolar" => Series::Bipolar,
        "kmeans" => Series::Kmeans,
        "squeeze" => Series::SqueezeDense,
        "squeeze+sparse" => Series::SqueezeSparse,
        "q4_0" => Series::Q40,
        "iq4nl" => Series::Iq4Nl,
        _ => return None,
    })
}

/// The CSV's method numbers.
const METHOD_ORDER: [&str; 9] = [
    "rtn",
    "rtn_g128",
    "int",
    "bipolar",
    "kmeans",
    "squeeze",
    "squeeze+sparse",
    "q4_0",
    "iq4nl",
];

fn label(method: &str) -> &'static str {
    series(method).map_or("?", Series::label)
}

pub fn model_view(ui: &mut egui::Ui) {
    let rows = match table::shipped() {
        Ok(rows) => rows,
        Err(e) => {
            ui.colored_label(Color32::RED, e);
            return;
        }
    };
    let (calibration, held_out) = rows
        .first()
        .map_or((0, 0), |r| (r.calibration_verses, r.heldout_verses));
    ui.label(
        RichText::new(format!(
            "all-MiniLM-L6-v2, all 36 linear layers quantized; sensitivity = each layer's input \
             second moment on {calibration} calibration verses (Proverbs 10-15, KJV); every \
             figure on {held_out} held-out verses (Proverbs 16-22). Measured by \
             `paperlab quant model --sweep` (the full model, 90 MB, is not shipped to the page)."
        ))
        .small(),
    );
    verdicts(ui, rows);
    let narrow = crate::labs::layout::is_narrow(ui.ctx());
    // On a phone the nine-entry legend needs room: a taller plot and small legend text.
    let height = if narrow { 420.0 } else { 300.0 };
    let cosine = |r: &Row| r.embedding_cosine_heldout;
    let top1 = |r: &Row| r.top1_agreement_heldout;
    // One legend, low right in the cosine plot (where no method is: all are high at 4+
    // bits); the neighbour-share plot below uses the same colours and names.
    let cosine_plot = Figure {
        id: "model-cosine",
        y_label: "mean cosine to f32 embedding",
        legend: Some(egui_plot::Corner::RightBottom),
        height,
        narrow,
    };
    cosine_plot.show(ui, rows, &cosine);
    let top1_plot = Figure {
        id: "model-top1",
        y_label: "nearest neighbour unchanged (share; colours as above)",
        legend: None,
        height: 300.0,
        narrow,
    };
    top1_plot.show(ui, rows, &top1);
    csv_export(ui, rows);
    ui.label(
        RichText::new(
            "Higher is better. Bits per weight count everything stored: codes, per-row codebooks \
             or block scales, and the sparse part. Squeeze (dense) and k-means differ only in \
             the sensitivity weighting; Q4_0 and IQ4_NL get the same importance vector, as \
             llama.cpp's imatrix path uses it.",
        )
        .small(),
    );
}

/// What the figures say at 3 and 4 bits, read from them.
fn verdicts(ui: &mut egui::Ui, rows: &[Row]) {
    for bits in [3, 4] {
        if let Some(o) = table::ordering(rows, bits) {
            let ranked: Vec<String> = o
                .ranked
                .iter()
                .take(4)
                .map(|(m, c)| format!("{} {c:.3}", label(m)))
                .collect();
            let verdict = if o.expected_holds {
                "SqueezeLLM + sparse > k-means > RTN holds"
            } else {
                "the expected SqueezeLLM + sparse > k-means > RTN does NOT hold"
            };
            ui.label(format!(
                "{bits} bits, held-out cosine: {}. {verdict}.",
                ranked.join(" > ")
            ));
        }
    }
}

/// The table as CSV (methods numbered as the line under the button says).
fn csv_export(ui: &mut egui::Ui, rows: &[Row]) {
    crate::export::csv_button(
        ui,
        "quant-minilm-heldout.csv",
        &[
            "method",
            "bits",
            "bits_per_weight",
            "embedding_cosine_heldout",
            "top1_agreement_heldout",
            "output_rel_error_heldout",
        ],
        || {
            rows.iter()
                .map(|r| {
                    vec![
                        METHOD_ORDER
                            .iter()
                            .position(|m| *m == r.method)
                            .map_or(-1.0, |i| i as f64),
                        f64::from(r.bits),
                        r.bits_per_weight,
                        r.embedding_cosine_heldout,
                        r.top1_agreement_heldout,
                        r.output_rel_error_heldout,
                    ]
                })
                .collect()
        },
    );
    ui.label(
        RichText::new(format!(
            "method: {}",
            METHOD_ORDER
                .iter()
                .enumerate()
                .map(|(i, m)| format!("{i} {}", label(m)))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .small(),
    );
}

/// One plot of the view: a held-out figure against bits per weight, a curve per method.
struct Figure {
    id: &'static str,
    y_label: &'static str,
    legend: Option<egui_plot::Corner>,
    height: f32,
    narrow: bool,
}

impl Figure {
    fn show(&self, ui: &mut egui::Ui, rows: &[Row], value: &dyn Fn(&Row) -> f64) {
        let mut plot = Plot::new(self.id)
            .height(self.height)
            .x_axis_label("bits per weight (all stored)")
            .y_axis_label(self.y_label)
            .include_y(0.0)
            .include_y(1.0)
            .include_x(2.0)
            .include_x(5.0)
            .allow_scroll(false);
        if let Some(corner) = self.legend {
            plot = plot.legend(
                Legend::default()
                    .position(corner)
                    .text_style(if self.narrow {
                        egui::TextStyle::Small
                    } else {
                        egui::TextStyle::Body
                    }),
            );
        }
        plot.show(ui, |plot| {
            let mut methods: Vec<&str> = Vec::new();
            for r in rows {
                if !methods.contains(&r.method.as_str()) {
                    methods.push(&r.method);
                }
            }
            for method in methods {
                let Some(s) = series(method) else { continue };
                let mut pts: Vec<[f64; 2]> = rows
                    .iter()
                    .filter(|r| r.method == method)
                    .map(|r| [r.bits_per_weight, value(r)])
                    .collect();
                pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
                let color = series_color(s);
                if pts.len() > 1 {
                    plot.line(
                        Line::new(s.label(), PlotPoints::from(pts.clone()))
                            .color(color)
                            .width(2.0),
                    );
                }
                let shape = if pts.len() > 1 {
                    MarkerShape::Circle
                } else {
                    MarkerShape::Diamond
                };
                plot.points(
                    Points::new(s.label(), pts)
                        .color(color)
                        .shape(shape)
                        .radius(4.0),
                );
            }
        });
    }
}
