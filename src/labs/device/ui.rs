//! The Device page: adapter facts, benchmark controls, results table and throughput plot.

use egui::{Color32, RichText};
use egui_plot::{HLine, Legend, Line, Plot, PlotPoints, Points};

use super::DeviceLab;
use super::plan::{Engine, KernelKind, Measurement, summarize};
use super::settings::{self, GemvChoice};
use crate::gpu::{Compute, GpuContext, compute_limits, feature_names};
use crate::labs::layout::Part;
use crate::labs::{LabEnv, controls};

pub fn device_ui(lab: &mut DeviceLab, ui: &mut egui::Ui, env: &LabEnv<'_>) {
    crate::labs::layout::lab_page(ui, "device", |ui, part| match part {
        Part::Controls => controls_ui(lab, ui),
        Part::Results => {
            egui::ScrollArea::vertical().show(ui, |ui| {
                adapter_ui(ui, env.compute);
                ui.separator();
                results_ui(lab, ui, env.compute.gpu().is_some());
            });
        }
    });
}

fn controls_ui(lab: &mut DeviceLab, ui: &mut egui::Ui) {
    ui.heading("Benchmark");
    ui.label(
        "The copy kernel measures memory bandwidth: the roofline. The f32 GEMV (y = W x) streams W \
         once, so a good kernel runs close to that roofline. Try a matrix too small to fill the GPU.",
    );
    ui.add_space(6.0);
    let settings = &mut lab.settings;
    controls::number(ui, &mut settings.rows, &settings::ROWS);
    controls::number(ui, &mut settings.cols, &settings::COLS);
    controls::number(ui, &mut settings.copy_mib, &settings::COPY_MIB);
    controls::number(ui, &mut settings.reps, &settings::REPS);
    controls::drag(ui, &mut settings.seed, &settings::SEED);
    controls::checkbox(ui, &mut settings.cpu, &settings::CPU);
    ui.horizontal_wrapped(|ui| {
        ui.label(settings::GEMV.label);
        egui::ComboBox::from_id_salt("gemv_variant")
            .selected_text(match settings.gemv {
                GemvChoice::Auto => "auto",
                GemvChoice::Workgroup => "workgroup per row",
                GemvChoice::Rowwise => "thread per 4 rows",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut settings.gemv, GemvChoice::Auto, "auto")
                    .on_hover_text("The shape measured faster on this kind of adapter");
                ui.selectable_value(
                    &mut settings.gemv,
                    GemvChoice::Workgroup,
                    "workgroup per row",
                )
                .on_hover_text(
                    "64 threads share a row: coalesced loads, a reduction with barriers (GPUs)",
                );
                ui.selectable_value(&mut settings.gemv, GemvChoice::Rowwise, "thread per 4 rows")
                    .on_hover_text("Each thread owns four rows: no barriers (software adapters)");
            })
            .response
            .on_hover_text(controls::tooltip(&settings::GEMV));
    });
    let matrix_mib = f64::from(settings.rows) * f64::from(settings.cols) * 4.0 / (1024.0 * 1024.0);
    ui.label(format!(
        "W = {} x {} f32 = {matrix_mib:.1} MiB",
        settings.rows, settings.cols
    ));
    ui.add_space(6.0);
    let busy = lab.runner.as_ref().is_some_and(|r| !r.is_finished());
    ui.horizontal_wrapped(|ui| {
        if busy {
            if ui
                .button("Stop")
                .on_hover_text("Stop the benchmark; finished figures stay.")
                .clicked()
                && let Some(runner) = &mut lab.runner
            {
                runner.stop();
            }
        } else if ui
            .button("Run benchmark")
            .on_hover_text("Measure copy and GEMV at the sizes above (GPU, then CPU reference).")
            .clicked()
        {
            lab.start_run();
        }
    });
    if let Some(runner) = &lab.runner {
        let (done, total, label) = runner.progress();
        let fraction = if total == 0 {
            1.0
        } else {
            done as f32 / total as f32
        };
        ui.add(egui::ProgressBar::new(fraction).text(format!("{done}/{total} {label}")));
        if let Some(variant) = runner.gemv_variant() {
            ui.label(RichText::new(format!("GEMV kernel in use: {}", variant.name())).small());
        }
        ui.label(
            RichText::new(format!("{:.1} s", runner.elapsed.as_secs_f64()))
                .small()
                .weak(),
        );
    }
}

fn adapter_ui(ui: &mut egui::Ui, compute: &Compute) {
    ui.heading("Adapter");
    match compute {
        Compute::Gpu(ctx) => gpu_facts_ui(ui, ctx),
        Compute::CpuFallback { reason } => {
            ui.label(
                RichText::new(format!(
                    "No compute-capable GPU ({reason}). Every kernel runs through its Rust \
                     reference on the CPU; the figures below are CPU figures."
                ))
                .color(ui.visuals().warn_fg_color),
            );
        }
    }
}

fn gpu_facts_ui(ui: &mut egui::Ui, ctx: &GpuContext) {
    egui::Grid::new("adapter_facts")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let facts = [
                ("name", ctx.adapter.name.clone()),
                ("backend", ctx.adapter.backend.clone()),
                ("type", ctx.adapter.device_type.clone()),
                ("driver", ctx.adapter.driver.clone()),
                (
                    "timestamp queries",
                    if ctx.has_timestamps() {
                        "yes: kernel times come from the GPU".to_owned()
                    } else {
                        "no: kernel times are wall clock (upper bounds)".to_owned()
                    },
                ),
            ];
            for (key, value) in facts {
                ui.label(key);
                ui.label(if value.is_empty() {
                    "—".to_owned()
                } else {
                    value
                });
                ui.end_row();
            }
        });
    ui.collapsing("Compute limits", |ui| {
        egui::Grid::new("adapter_limits")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                for (name, value) in compute_limits(&ctx.limits) {
                    ui.label(name);
                    ui.label(if name.ends_with("_size") && value >= 1 << 20 {
                        format!("{value} ({} MiB)", value >> 20)
                    } else {
                        value.to_string()
                    });
                    ui.end_row();
                }
            });
    });
    ui.collapsing("Features", |ui| {
        let names = feature_names(ctx.features);
        if names.is_empty() {
            ui.label("none beyond the WebGPU core");
        }
        for name in names {
            ui.monospace(name);
        }
    });
}

fn results_ui(lab: &DeviceLab, ui: &mut egui::Ui, gpu_present: bool) {
    ui.heading("Measured");
    let Some(runner) = &lab.runner else {
        ui.label("Press Run benchmark.");
        return;
    };
    let chosen = super::plan::Shape {
        rows: u64::from(runner.settings().rows),
        cols: u64::from(runner.settings().cols),
    };
    let summary = summarize(&runner.measurements, chosen);
    headlines_ui(ui, &summary, chosen, gpu_present);
    ui.add_space(4.0);
    throughput_plot(ui, &runner.measurements, &runner.planned_gemv_sizes_mib());
    throughput_csv_button(ui, &runner.measurements);
    ui.add_space(4.0);
    measurements_table(
        ui,
        &runner.measurements,
        summary.copy_gbps,
        summary.cpu_copy_gbps,
    );
    for refusal in &runner.refusals {
        ui.label(
            RichText::new(format!(
                "{} {:?} {}: not run — {}",
                refusal.kernel.name(),
                refusal.engine,
                refusal.size,
                refusal.reason
            ))
            .color(ui.visuals().warn_fg_color),
        );
    }
}

/// The headline figures: copy, GEMV and their ratio on the GPU, and the CPU's.
fn headlines_ui(
    ui: &mut egui::Ui,
    summary: &super::plan::Summary,
    chosen: super::plan::Shape,
    gpu_present: bool,
) {
    let size = format!("{}x{}", chosen.rows, chosen.cols);
    ui.horizontal_wrapped(|ui| {
        if gpu_present {
            headline(
                ui,
                "copy (GPU)",
                summary.copy_gbps.map(|g| format!("{} GB/s", sig3(g))),
            );
            headline(
                ui,
                &format!("GEMV {size} (GPU)"),
                summary.gemv_f32_gbps.map(|g| format!("{} GB/s", sig3(g))),
            );
            headline(
                ui,
                "GEMV / copy (GPU)",
                summary
                    .gemv_f32_fraction_of_copy
                    .map(|f| format!("{} %", sig3(100.0 * f))),
            );
            headline(
                ui,
                "GPU / CPU (GEMV)",
                summary.gpu_over_cpu_gemv.map(|r| format!("{}x", sig3(r))),
            );
        }
        headline(
            ui,
            "copy (CPU)",
            summary.cpu_copy_gbps.map(|g| format!("{} GB/s", sig3(g))),
        );
        if !gpu_present {
            headline(
                ui,
                &format!("GEMV {size} (CPU)"),
                summary
                    .cpu_gemv_f32_gbps
                    .map(|g| format!("{} GB/s", sig3(g))),
            );
        }
    });
}

fn throughput_csv_button(ui: &mut egui::Ui, measurements: &[Measurement]) {
    crate::export::csv_button(
        ui,
        "device-throughput.csv",
        &[
            "engine (1 GPU 0 CPU)",
            "kernel (1 GEMV 0 copy)",
            "rows",
            "cols",
            "size (bytes)",
            "median (ms)",
            "bandwidth (GB/s)",
        ],
        || {
            measurements
                .iter()
                .map(|m| {
                    vec![
                        f64::from(u8::from(m.engine == Engine::Gpu)),
                        f64::from(u8::from(m.kernel == KernelKind::GemvF32)),
                        m.shape.rows as f64,
                        m.shape.cols as f64,
                        m.size_bytes as f64,
                        m.ms_median,
                        m.gbps,
                    ]
                })
                .collect()
        },
    );
}

/// Three significant digits: 0.00912, 4.61, 1234.
pub fn sig3(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_owned();
    }
    let magnitude = value.abs();
    let decimals = if magnitude >= 100.0 || magnitude == 0.0 {
        0
    } else {
        (2 - magnitude.log10().floor() as i32).clamp(0, 8) as usize
    };
    format!("{value:.decimals$}")
}

fn headline(ui: &mut egui::Ui, label: &str, value: Option<String>) {
    ui.group(|ui| {
        ui.vertical(|ui| {
            ui.label(RichText::new(label).small());
            ui.label(
                RichText::new(value.unwrap_or_else(|| "…".to_owned()))
                    .heading()
                    .strong(),
            );
        });
    });
}

fn series(measurements: &[Measurement], engine: Engine) -> Vec<[f64; 2]> {
    let mut points: Vec<[f64; 2]> = measurements
        .iter()
        .filter(|m| m.kernel == KernelKind::GemvF32 && m.engine == engine)
        .map(|m| [(m.size_bytes as f64 / (1024.0 * 1024.0)).log2(), m.gbps])
        .collect();
    points.sort_by(|a, b| a[0].total_cmp(&b[0]));
    points
}

/// x is log2 of the matrix size in MiB, labelled as sizes.
fn size_label(log2_mib: f64) -> String {
    let mib = log2_mib.exp2();
    if mib >= 1.0 {
        format!("{mib:.0} MiB")
    } else {
        format!("{:.0} KiB", mib * 1024.0)
    }
}

/// `planned_mib`: sizes of the whole sweep, so the axes are right before the first point lands.
fn throughput_plot(ui: &mut egui::Ui, measurements: &[Measurement], planned_mib: &[f64]) {
    let (x_min, x_max) = planned_mib
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &mib| {
            (lo.min(mib.log2()), hi.max(mib.log2()))
        });
    let gpu_color = Color32::from_rgb(0x1f, 0x77, 0xb4);
    let cpu_color = Color32::from_rgb(0xd6, 0x62, 0x1e);
    let gpu = series(measurements, Engine::Gpu);
    let cpu = series(measurements, Engine::Cpu);
    let copy_of = |engine: Engine| {
        measurements
            .iter()
            .find(|m| m.kernel == KernelKind::Copy && m.engine == engine)
            .map(|m| m.gbps)
    };
    Plot::new("device_throughput")
        .height(280.0)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .x_axis_label("matrix size W (log scale)")
        .y_axis_label("GB/s")
        .x_axis_formatter(|mark, _| size_label(mark.value))
        .label_formatter(|hover| {
            let (prefix, p) = match hover {
                egui_plot::HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => (format!("{plot_name}\n"), position),
                egui_plot::HoverPosition::Elsewhere { position } => (String::new(), position),
            };
            Some(format!("{prefix}{}: {:.2} GB/s", size_label(p.x), p.y))
        })
        .include_y(0.0)
        .include_y(1.0)
        .include_x(if x_min.is_finite() { x_min } else { 0.0 })
        .include_x(if x_max.is_finite() { x_max } else { 0.0 })
        .allow_scroll(false)
        .show(ui, |plot| {
            if let Some(copy) = copy_of(Engine::Gpu) {
                plot.hline(
                    HLine::new("copy · GPU (roofline)", copy)
                        .color(gpu_color)
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
            if let Some(copy) = copy_of(Engine::Cpu) {
                plot.hline(
                    HLine::new("copy · CPU", copy)
                        .color(cpu_color)
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
            if !gpu.is_empty() {
                plot.line(
                    Line::new("GEMV f32 · GPU", PlotPoints::from(gpu.clone())).color(gpu_color),
                );
                plot.points(
                    Points::new("GEMV f32 · GPU", PlotPoints::from(gpu))
                        .color(gpu_color)
                        .radius(3.5),
                );
            }
            if !cpu.is_empty() {
                plot.line(
                    Line::new("GEMV f32 · CPU reference", PlotPoints::from(cpu.clone()))
                        .color(cpu_color),
                );
                plot.points(
                    Points::new("GEMV f32 · CPU reference", PlotPoints::from(cpu))
                        .color(cpu_color)
                        .radius(3.5),
                );
            }
        });
}

fn measurements_table(
    ui: &mut egui::Ui,
    measurements: &[Measurement],
    copy_gbps: Option<f64>,
    cpu_copy_gbps: Option<f64>,
) {
    egui::Grid::new("device_measurements")
        .striped(true)
        .num_columns(8)
        .show(ui, |ui| {
            for title in [
                "kernel",
                "engine",
                "size",
                "ms (median)",
                "GB/s",
                "% of copy",
                "timing",
                "check",
            ] {
                ui.label(RichText::new(title).strong());
            }
            ui.end_row();
            for m in measurements {
                ui.label(m.kernel.name());
                ui.label(match m.engine {
                    Engine::Gpu => "GPU",
                    Engine::Cpu => "CPU",
                });
                ui.label(&m.size);
                ui.label(sig3(m.ms_median));
                ui.label(sig3(m.gbps));
                let roof = match m.engine {
                    Engine::Gpu => copy_gbps,
                    Engine::Cpu => cpu_copy_gbps,
                };
                ui.label(match roof {
                    Some(r) if r > 0.0 && m.kernel != KernelKind::Copy => {
                        format!("{:.0} %", 100.0 * m.gbps / r)
                    }
                    _ => "—".to_owned(),
                });
                ui.label(m.timing.label())
                    .on_hover_text(format!("{} samples, min {:.3} ms", m.samples, m.ms_min));
                let check = if m.verification.passed { "✔" } else { "✘" };
                ui.label(check).on_hover_text(format!(
                    "{} (error / bound = {:.3})",
                    m.verification.checked, m.verification.error_to_bound
                ));
                ui.end_row();
            }
        });
}

#[cfg(test)]
mod tests {
    use super::sig3;

    #[test]
    fn three_significant_digits() {
        assert_eq!(sig3(0.009124), "0.00912");
        assert_eq!(sig3(4.6123), "4.61");
        assert_eq!(sig3(12.345), "12.3");
        assert_eq!(sig3(1234.5), "1234");
        assert_eq!(sig3(0.0), "0");
        assert_eq!(sig3(f64::NAN), "—");
    }
}
