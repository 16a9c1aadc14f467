//! The quantization page: matrix and method controls, then four views (error vs bits for every
//! method, one row's histogram with the method's levels, the sparse positions, kernel speed).

use egui::{Color32, RichText};
use egui_plot::{Bar, BarChart, Legend, Line, MarkerShape, Plot, PlotPoints, Points, VLine};

use super::lab::{LabState, Series};
use super::methods::Method;
use super::settings::{self, ErrorMetric, MatrixSource, QuantSettings, View};
use super::suite::{SuiteResult, short_label, speedup, summary};
use crate::gpu::Compute;
use crate::labs::controls;
use crate::labs::layout::Part;

pub(super) fn series_color(s: Series) -> Color32 {
    match s {
        Series::Rtn => Color32::from_rgb(150, 150, 150),
        Series::RtnG128 => Color32::from_rgb(90, 90, 90),
        Series::SignedInt => Color32::from_rgb(78, 121, 167),
        Series::Bipolar => Color32::from_rgb(176, 122, 161),
        Series::Kmeans => Color32::from_rgb(242, 142, 43),
        Series::SqueezeDense => Color32::from_rgb(89, 161, 79),
        Series::SqueezeSparse => Color32::from_rgb(225, 57, 89),
        Series::Q40 => Color32::from_rgb(118, 183, 178),
        Series::Iq4Nl => Color32::from_rgb(156, 117, 95),
    }
}

fn method_label(m: Method) -> &'static str {
    match m {
        Method::Rtn => "round-to-nearest (uniform)",
        Method::RtnG128 => "round-to-nearest, groups of 128",
        Method::Q40 => "Q4_0 (llama.cpp)",
        Method::Iq4Nl => "IQ4_NL (llama.cpp)",
        Method::Kmeans => "k-means codebook (plain)",
        Method::Squeeze => "SqueezeLLM (weighted + sparse)",
        Method::Bipolar => "bipolar-INT",
        Method::SignedInt => "signed INT",
    }
}

pub fn quant_ui(s: &mut QuantSettings, state: &mut LabState, compute: &Compute, ui: &mut egui::Ui) {
    crate::labs::layout::lab_page(ui, "quant", |ui, part| match part {
        Part::Controls => controls_ui(s, state, ui),
        Part::Results => results_ui(s, state, compute, ui),
    });
}

fn controls_ui(s: &mut QuantSettings, state: &LabState, ui: &mut egui::Ui) {
    ui.label(
        "Quantize a weight matrix to a few bits per weight and see what it costs: errors of \
         every method at every width, what a codebook looks like, where the outliers go, and \
         how fast the quantized products run on this device.",
    );
    ui.add_space(4.0);
    ui.heading("Weights");
    egui::ComboBox::from_label("matrix")
        .selected_text(s.matrix.label())
        .show_ui(ui, |ui| {
            for m in MatrixSource::ALL {
                ui.selectable_value(&mut s.matrix, m, m.label());
            }
        })
        .response
        .on_hover_text("The weight matrix every method quantizes");
    if s.matrix == MatrixSource::Synthetic {
        controls::number(ui, &mut s.rows, &settings::ROWS);
        controls::number(ui, &mut s.cols, &settings::COLS);
        let cap = super::settings::MAX_SYNTHETIC_WEIGHTS;
        if s.rows * s.cols > cap {
            s.rows = (cap / s.cols).max(1);
            ui.label(RichText::new(format!("at most {cap} weights: rows reduced")).small());
        }
        controls::number(ui, &mut s.weight_outliers, &settings::WEIGHT_OUTLIERS);
    } else {
        ui.label(
            RichText::new(
                "Layer 0 of the MiniLM-L6 sentence encoder (sentence-transformers, Apache-2.0), \
                 stored as f16.",
            )
            .small(),
        );
    }
    controls::drag(ui, &mut s.seed, &settings::SEED);
    ui.heading("Activations");
    controls::number(ui, &mut s.batch, &settings::BATCH);
    let real = s.matrix.shipped_name().is_some();
    ui.add_enabled_ui(!real, |ui| {
        controls::number(ui, &mut s.hot_channels, &settings::HOT_CHANNELS);
    });
    let text = if real {
        "MiniLM's own activations: sensitivity F_j = E[a_j^2] of input channel j over every \
         token of the calibration verses (Proverbs 10-15, mean 1); output errors on the \
         first `batch` of 256 held-out tokens (Proverbs 16-22). F_j is the diagonal second \
         moment, standing in for SqueezeLLM's Fisher information."
    } else {
        "Synthetic activations: sensitivity F_j = E[a_j^2] of input channel j over a seeded \
         calibration batch (mean 1), standing in for SqueezeLLM's Fisher information; output \
         errors on a second batch of the same size that no method was fitted to."
    };
    ui.label(RichText::new(text).small());
    ui.heading("Method (row and sparse views)");
    egui::ComboBox::from_label("method")
        .selected_text(method_label(s.method))
        .show_ui(ui, |ui| {
            for m in Method::ALL {
                ui.selectable_value(&mut s.method, m, method_label(m));
            }
        })
        .response
        .on_hover_text("The method the row and sparse views and the circled point show");
    if s.method.fixed_bits().is_none() {
        controls::number(ui, &mut s.bits, &settings::BITS);
    }
    controls::add(
        ui,
        controls::slider(&mut s.outliers, &settings::OUTLIERS).fixed_decimals(2),
        &settings::OUTLIERS,
    );
    controls::add(
        ui,
        controls::slider(&mut s.sensitive, &settings::SENSITIVE).fixed_decimals(2),
        &settings::SENSITIVE,
    );
    let rows = state.matrix.as_ref().map_or(1, |m| m.w.rows) as u32;
    s.row = s.row.min(rows - 1);
    controls::add(
        ui,
        egui::Slider::new(&mut s.row, 0..=rows - 1).text(settings::ROW.label),
        &settings::ROW,
    );
    if let Some(e) = &state.matrix_error {
        ui.colored_label(Color32::RED, e);
    }
}

fn results_ui(s: &mut QuantSettings, state: &mut LabState, compute: &Compute, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut s.view, View::Tradeoff, "Error vs bits")
            .on_hover_text("Every method at every width, all stored bits counted");
        ui.selectable_value(&mut s.view, View::Row, "Row & codebook")
            .on_hover_text("One row's weights and the levels the method keeps");
        ui.selectable_value(&mut s.view, View::Sparse, "Sparse positions")
            .on_hover_text("Where the dense-and-sparse split puts its exact weights");
        ui.selectable_value(&mut s.view, View::Kernels, "Kernel speed")
            .on_hover_text("Quantized GEMV kernels timed on this device");
        ui.selectable_value(&mut s.view, View::Model, "Whole model (held out)")
            .on_hover_text(
                "Every linear layer of MiniLM quantized, scored on verses no method was fitted to",
            );
    });
    detail_summary(state, ui);
    match s.view {
        View::Tradeoff => tradeoff_view(s, state, ui),
        View::Row => row_view(s, state, ui),
        View::Sparse => sparse_view(state, ui),
        View::Kernels => kernels_view(s, state, compute, ui),
        View::Model => super::model_view::model_view(ui),
    }
}

fn detail_summary(state: &LabState, ui: &mut egui::Ui) {
    if state.matrix_loading {
        ui.add(egui::ProgressBar::new(0.0).text("loading the MiniLM-L6 weights (2.6 MB)…"));
    }
    if let (Some(job), Some(m)) = (&state.detail_job, &state.matrix) {
        ui.add(egui::ProgressBar::new(job.fraction(m.w.rows) as f32).text("quantizing"));
    }
    let Some((config, _, metrics)) = &state.detail else {
        return;
    };
    ui.label(format!(
        "{} at {} bits on {}: {:.3} bits/weight (all stored), output error {:.4}, weight MSE {:.3e}, weighted MSE {:.3e}, {} sparse entries",
        method_label(config.method),
        config.bits,
        state.matrix.as_ref().map_or("", |m| m.name.as_str()),
        metrics.bits_per_weight,
        metrics.output_rel_error,
        metrics.weight_mse,
        metrics.sensitivity_weighted_mse,
        metrics.sparse_nonzeros
    ));
}

fn metric_value(metric: ErrorMetric, m: &super::methods::Metrics) -> f64 {
    match metric {
        ErrorMetric::Output => m.output_rel_error,
        ErrorMetric::Weighted => m.sensitivity_weighted_mse,
        ErrorMetric::Weight => m.weight_mse,
    }
}

/// Error against bits per weight, one line per method.
fn tradeoff_plot(metric: ErrorMetric, state: &LabState, ui: &mut egui::Ui) {
    // On a phone the long axis label ran off the edge and the legend covered most of the plot.
    let narrow = crate::labs::layout::is_narrow(ui.ctx());
    crate::plot::axis::log10_y(Plot::new("tradeoff"))
        .height(if narrow { 460.0 } else { 380.0 })
        // The ticks are one-digit bit counts about 38 px apart on a phone: egui_plot's default
        // spacing for x labels (60-80 px) hid them all there.
        .custom_x_axes(vec![
            egui_plot::AxisHints::new_x()
                .label(if narrow {
                    "bits per weight (all stored)"
                } else {
                    "bits per weight (codebooks, scales and sparse part included)"
                })
                .label_spacing(24.0..=36.0),
        ])
        .y_axis_label(format!("{} (log scale)", metric.label()))
        .include_x(1.5)
        .include_x(9.0)
        .allow_scroll(false)
        .legend(
            Legend::default()
                .position(egui_plot::Corner::RightTop)
                .text_style(if narrow {
                    egui::TextStyle::Small
                } else {
                    egui::TextStyle::Body
                }),
        )
        .show(ui, |plot| draw_tradeoff(plot, state, metric));
}

/// Every series' error against bits per weight, the block formats as diamonds and the
/// chosen method circled.
fn draw_tradeoff(plot: &mut egui_plot::PlotUi<'_>, state: &LabState, metric: ErrorMetric) {
    let log = |v: f64| v.max(1e-12).log10();
    for series in Series::CURVES {
        let mut pts: Vec<[f64; 2]> = state
            .sweep
            .iter()
            .filter(|p| p.series == series && p.metrics.bits_per_weight <= 9.5)
            .map(|p| {
                [
                    p.metrics.bits_per_weight,
                    log(metric_value(metric, &p.metrics)),
                ]
            })
            .collect();
        pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
        let color = series_color(series);
        plot.line(
            Line::new(series.label(), PlotPoints::from(pts.clone()))
                .color(color)
                .width(2.0),
        );
        plot.points(Points::new(series.label(), pts).color(color).radius(3.0));
    }
    for series in [Series::Q40, Series::Iq4Nl] {
        let pts: Vec<[f64; 2]> = state
            .sweep
            .iter()
            .filter(|p| p.series == series)
            .map(|p| {
                [
                    p.metrics.bits_per_weight,
                    log(metric_value(metric, &p.metrics)),
                ]
            })
            .collect();
        plot.points(
            Points::new(series.label(), pts)
                .color(series_color(series))
                .shape(MarkerShape::Diamond)
                .radius(6.0),
        );
    }
    if let Some((_, _, m)) = &state.detail {
        plot.points(
            Points::new(
                "chosen method",
                vec![[m.bits_per_weight, log(metric_value(metric, m))]],
            )
            .shape(MarkerShape::Circle)
            .filled(false)
            .radius(9.0)
            .color(Color32::BLACK),
        );
    }
}

fn tradeoff_view(s: &mut QuantSettings, state: &LabState, ui: &mut egui::Ui) {
    if state.sweep.len() < state.sweep_total {
        ui.add(
            egui::ProgressBar::new(state.sweep_fraction() as f32).text(format!(
                "trade-off: {} of {} quantizations (50 Lloyd iterations each)",
                state.sweep.len(),
                state.sweep_total
            )),
        );
        if let Some(why) = state.sweep_fallback_reason() {
            ui.label(
                egui::RichText::new(format!(
                    "The sweep runs on the page's own thread (slower, in frame slices): {why}"
                ))
                .small(),
            );
        }
    }
    if let Some(e) = &state.sweep_error {
        ui.colored_label(ui.visuals().warn_fg_color, format!("sweep failed: {e}"));
    }
    egui::ComboBox::from_label("error")
        .selected_text(s.metric.label())
        .show_ui(ui, |ui| {
            for m in ErrorMetric::ALL {
                ui.selectable_value(&mut s.metric, m, m.label());
            }
        })
        .response
        .on_hover_text("The error on the vertical axis");
    tradeoff_plot(s.metric, state, ui);
    ui.label(
        RichText::new(
            "Lower-left is better. Uniform grids (RTN, INT, bipolar) spend levels where few \
             weights are; a per-row k-means codebook puts them where the weights are, the \
             sensitivity weighting where the output cares, and the sparse part keeps the few \
             outliers exact so the codebook need not stretch for them. Codebooks cost 2^b f16 \
             per row, so wide codes on short rows pay for them.",
        )
        .small(),
    );
    crate::export::csv_button(
        ui,
        "quant-tradeoff.csv",
        &[
            "series",
            "bits",
            "bits_per_weight",
            "output_rel_error",
            "weight_mse",
            "weighted_mse",
        ],
        || {
            state
                .sweep
                .iter()
                .map(|p| {
                    vec![
                        Series::CURVES
                            .iter()
                            .chain(&[Series::Q40, Series::Iq4Nl])
                            .position(|&x| x == p.series)
                            .unwrap_or(0) as f64,
                        f64::from(p.bits),
                        p.metrics.bits_per_weight,
                        p.metrics.output_rel_error,
                        p.metrics.weight_mse,
                        p.metrics.sensitivity_weighted_mse,
                    ]
                })
                .collect()
        },
    );
    ui.label(
        RichText::new(
            "series: 0 RTN, 1 RTN in groups of 128, 2 signed INT, 3 bipolar-INT, 4 k-means, \
             5 SqueezeLLM dense, 6 SqueezeLLM + sparse, 7 Q4_0, 8 IQ4_NL",
        )
        .small(),
    );
}

fn row_view(s: &QuantSettings, state: &LabState, ui: &mut egui::Ui) {
    let (Some(m), Some((config, q, _))) = (&state.matrix, &state.detail) else {
        return;
    };
    let r = (s.row as usize).min(m.w.rows - 1);
    let original = m.w.row(r);
    let dense = &q.dense[r * q.cols..(r + 1) * q.cols];
    let sparse_cols: Vec<usize> = (q.sparse.row_ptr[r] as usize..q.sparse.row_ptr[r + 1] as usize)
        .map(|k| q.sparse.col[k] as usize)
        .collect();
    let lo = original.iter().copied().fold(f32::INFINITY, f32::min) as f64;
    let hi = original.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let bins = 80usize;
    let width = ((hi - lo) / bins as f64).max(1e-9);
    let mut counts = vec![0u32; bins];
    for &v in original {
        let b = (((f64::from(v) - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let mut levels: Vec<f32> = dense.to_vec();
    levels.sort_by(f32::total_cmp);
    levels.dedup();
    let top = f64::from(counts.iter().copied().max().unwrap_or(1));
    ui.label(format!(
        "Row {r}: {} weights, {} distinct dense levels used ({} at {} bits), {} kept exactly in the sparse part.",
        original.len(),
        levels.len(),
        method_label(config.method),
        config.bits,
        sparse_cols.len()
    ));
    Plot::new("row_histogram")
        .height(360.0)
        .x_axis_label("weight value")
        .y_axis_label("weights per bin")
        .allow_scroll(false)
        .legend(Legend::default().position(egui_plot::Corner::RightTop))
        .show(ui, |plot| {
            let bars: Vec<Bar> = counts
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    Bar::new(lo + (i as f64 + 0.5) * width, f64::from(c))
                        .width(width)
                        .fill(Color32::from_rgb(78, 121, 167))
                })
                .collect();
            plot.bar_chart(
                BarChart::new("row weights", bars).color(Color32::from_rgb(78, 121, 167)),
            );
            // Too many levels (8 bits on a short row) would paint the plot solid.
            if levels.len() <= 64 {
                for (i, &l) in levels.iter().enumerate() {
                    let name = if i == 0 {
                        "levels (codebook)"
                    } else {
                        "levels (codebook) "
                    };
                    plot.vline(
                        VLine::new(name.trim_end(), f64::from(l))
                            .color(Color32::from_rgb(225, 57, 89))
                            .width(1.5),
                    );
                }
            }
            let exact: Vec<[f64; 2]> = sparse_cols
                .iter()
                // Just under the axis: an outlier's own bar is one weight high, and the legend
                // sits in a top corner where outliers often are.
                .map(|&j| [f64::from(original[j]), -0.04 * top])
                .collect();
            plot.points(
                Points::new("sparse (exact) weights", exact)
                    .shape(MarkerShape::Up)
                    .radius(6.0)
                    .color(Color32::from_rgb(242, 142, 43)),
            );
        });
    if levels.len() <= 16 {
        ui.label(
            RichText::new(format!(
                "levels: {}",
                levels
                    .iter()
                    .map(|l| format!("{l:.4}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .small()
            .monospace(),
        );
    }
}

fn sparse_view(state: &LabState, ui: &mut egui::Ui) {
    let Some(m) = &state.matrix else {
        return;
    };
    let cols = m.w.cols;
    let mut points = Vec::new();
    let mut per_col = vec![0u32; cols];
    for (i, _) in state.sparse_mask.iter().enumerate().filter(|(_, b)| **b) {
        let (r, c) = (i / cols, i % cols);
        per_col[c] += 1;
        points.push([c as f64, -(r as f64)]);
    }
    ui.label(format!(
        "{} of {} weights ({:.3}%) are kept exactly: outliers beyond Tukey's fences (they follow \
         the weights' own structure, often a few rows or columns) plus the most sensitive \
         (largest F_j w^2, which follow the hot input channels: the peaks below).",
        points.len(),
        m.w.data.len(),
        100.0 * points.len() as f64 / m.w.data.len().max(1) as f64
    ));
    let rows = m.w.rows as f64;
    Plot::new("sparse_positions")
        .height(300.0)
        .x_axis_label("input column j")
        .y_axis_label("output row (top = 0)")
        .y_axis_formatter(|mark, _| format!("{:.0}", -mark.value))
        .include_x(0.0)
        .include_x(cols as f64)
        .include_y(0.0)
        .include_y(-rows)
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.points(
                Points::new("sparse entries", points)
                    .radius(1.5)
                    .color(Color32::from_rgb(225, 57, 89)),
            );
        });
    let max_count = f64::from(per_col.iter().copied().max().unwrap_or(1).max(1));
    let max_s = m.sensitivity.iter().copied().fold(0.0, f64::max).max(1e-12);
    Plot::new("sparse_columns")
        .height(200.0)
        .x_axis_label("input column j")
        .y_axis_label("entries per column")
        .allow_scroll(false)
        .legend(Legend::default().position(egui_plot::Corner::RightTop))
        .show(ui, |plot| {
            let bars: Vec<Bar> = per_col
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(j, &c)| Bar::new(j as f64, f64::from(c)).width(1.0))
                .collect();
            plot.bar_chart(
                BarChart::new("sparse entries per column", bars)
                    .color(Color32::from_rgb(225, 57, 89)),
            );
            let sens: Vec<[f64; 2]> = m
                .sensitivity
                .iter()
                .enumerate()
                .map(|(j, v)| [j as f64, v / max_s * max_count])
                .collect();
            plot.line(
                Line::new("sensitivity F_j (scaled)", PlotPoints::from(sens))
                    .color(Color32::from_rgb(78, 121, 167)),
            );
        });
}

/// Each kernel's speed-up over the f32 GEMV, as bars.
fn speedup_plot(results: &[SuiteResult], ui: &mut egui::Ui) {
    Plot::new("kernel_speedups")
        .height(240.0)
        .y_axis_label("x f32 (GEMV or GEMM)")
        .x_axis_formatter({
            let names: Vec<String> = results.iter().map(|r| short_label(&r.kernel)).collect();
            move |mark, _| {
                let i = mark.value.round();
                if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
        })
        .allow_scroll(false)
        .show(ui, |plot| {
            let bars: Vec<Bar> = results
                .iter()
                .enumerate()
                .filter(|(_, r)| r.kernel != "copy")
                .filter_map(|(i, r)| {
                    speedup(results, r).map(|x| Bar::new(i as f64, x).width(0.6).name(&r.kernel))
                })
                .collect();
            if !bars.is_empty() {
                plot.bar_chart(
                    BarChart::new("speed-up", bars).color(Color32::from_rgb(89, 161, 79)),
                );
                plot.hline(egui_plot::HLine::new("f32", 1.0).color(Color32::GRAY));
            }
        });
}

/// What this adapter's figures mean: a software adapter, or the CPU references.
fn adapter_notes(compute: &Compute, ui: &mut egui::Ui) {
    if compute.gpu().is_some_and(|ctx| ctx.adapter.is_cpu) {
        ui.label(
            RichText::new(
                "This adapter is software (a CPU): every GEMV runs a thread per few rows \
                 (barriers cost a context switch here), and the quantized kernels are bound by \
                 loads and instructions, not bytes: each lane loads on its own, so a codebook \
                 lookup costs a load per code or pair of codes. On a GPU a team of threads per \
                 row is used; docs/BENCHMARKS.md has the figures.",
            )
            .color(Color32::from_rgb(200, 120, 0)),
        );
    }
    if compute.gpu().is_none() {
        ui.label(
            RichText::new("No WebGPU here: the CPU references (the page's fallback) are timed.")
                .color(Color32::from_rgb(200, 120, 0)),
        );
    }
}

fn kernels_view(s: &mut QuantSettings, state: &mut LabState, compute: &Compute, ui: &mut egui::Ui) {
    ui.label(
        "Times each kernel on this device: copy (the bandwidth roof), f32 GEMV, the SqueezeLLM \
         LUT-GEMV (4-bit; 3-bit with the 0.45% sparse part fused), llama.cpp's Q4_0 \
         dequantizing on the fly, and bipolar-INT bit-plane products at p = q = 1, 2, 4, 8 \
         bits (cost grows with p q), as GEMVs and as GEMMs of 16 vectors against a tiled f32 \
         GEMM. Inputs are random codes; every result is checked.",
    );
    ui.horizontal_wrapped(|ui| {
        controls::number(ui, &mut s.kernel_rows, &settings::KERNEL_ROWS);
        controls::number(ui, &mut s.kernel_cols, &settings::KERNEL_COLS);
        let running = state.kernels.as_ref().is_some_and(|k| !k.done());
        let response = ui
            .add_enabled(!running, egui::Button::new("Time kernels"))
            .on_hover_text("Runs each kernel once untimed, then times it (5 passes on a GPU) and checks its result");
        crate::export::remember_button(ui.ctx(), "time-kernels", response.rect);
        if response.clicked() {
            state.start_kernels(s, compute);
        }
    });
    adapter_notes(compute, ui);
    if let Some(e) = &state.kernel_error {
        ui.colored_label(Color32::RED, e);
    }
    let Some(k) = &state.kernels else {
        return;
    };
    let (done, total) = k.progress();
    if !k.done() {
        ui.add(
            egui::ProgressBar::new(done as f32 / total as f32)
                .text(format!("{done} of {total} kernels")),
        );
    }
    if let Some(note) = &k.note {
        ui.label(RichText::new(note).small());
    }
    for e in &k.errors {
        ui.colored_label(Color32::RED, e);
    }
    let copy_gbps = k
        .results
        .iter()
        .find(|r| r.kernel == "copy")
        .map(|r| r.gbps);
    results_table(&k.results, copy_gbps, k.rows, k.cols, ui);
    speedup_plot(&k.results, ui);
    if k.done() {
        let sum = summary(&k.results);
        let ratio = |key: &str| {
            sum[key]
                .as_f64()
                .map_or("n/a".to_owned(), |v| format!("{v:.2}x"))
        };
        ui.label(format!(
            "Speed-up over the f32 GEMV: 4-bit LUT {}, 3-bit LUT + sparse {}, Q4_0 {}, bipolar \
             1x1 {}. Bipolar 8x8 takes {} the 1x1 time for 64x the plane pairs. Bipolar 1x1 \
             GEMM over the f32 GEMM: {}. The 4-bit LUT kernel moves {} of the copy kernel's \
             bandwidth.",
            ratio("speedup_lut4_vs_f32"),
            ratio("speedup_lut3_sparse_vs_f32"),
            ratio("speedup_q4_0_vs_f32"),
            ratio("bipolar_1x1_vs_f32_gemv"),
            ratio("bipolar_8x8_vs_1x1_time"),
            ratio("bipolar_gemm_1x1_vs_f32_gemm"),
            sum["lut4_fraction_of_copy"]
                .as_f64()
                .map_or("n/a".to_owned(), |v| format!("{:.1}%", 100.0 * v)),
        ));
    }
}

fn results_table(
    results: &[SuiteResult],
    copy_gbps: Option<f64>,
    rows: usize,
    cols: usize,
    ui: &mut egui::Ui,
) {
    ui.label(format!("{rows} x {cols}:"));
    // Eight columns do not fit a phone: the table scrolls sideways there.
    egui::ScrollArea::horizontal()
        .id_salt("kernel_table_scroll")
        .show(ui, |ui| kernel_grid(results, copy_gbps, ui));
}

fn kernel_grid(results: &[SuiteResult], copy_gbps: Option<f64>, ui: &mut egui::Ui) {
    egui::Grid::new("kernel_table")
        .striped(true)
        .show(ui, |ui| {
            for h in [
                "kernel",
                "ms (median)",
                "GB/s",
                "of copy",
                "vs f32",
                "shape",
                "timing",
                "checked",
            ] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for r in results {
                ui.label(&r.kernel);
                ui.label(format!("{:.4}", r.ms_median));
                ui.label(format!("{:.3}", r.gbps));
                ui.label(
                    copy_gbps.map_or(String::new(), |c| format!("{:.0}%", 100.0 * r.gbps / c)),
                );
                ui.label(speedup(results, r).map_or(String::new(), |x| format!("{x:.2}x")));
                ui.label(RichText::new(&r.shape).small());
                ui.label(RichText::new(&r.timing).small());
                ui.label(if r.verified { "✔" } else { "✘ wrong" });
                ui.end_row();
            }
        });
}
