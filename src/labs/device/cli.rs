//! `paperlab gpu-info` and `paperlab bench device`: the adapter, and the copy and GEMV figures
//! of the Device page, one JSON object per line.

use clap::{Arg, ArgAction};
use serde_json::json;
use web_time::Duration;

use super::plan::{Shape, summarize};
use super::runner::BenchRunner;
use super::settings::DeviceSettings;
use crate::command::{Args, CommandError, LabCommand, emit, headless_compute, settings_args};
use crate::gpu::{Compute, GpuContext, compute_limits, feature_names};

/// The page's settings a benchmark run takes from the command line (all of them).
const BENCH_KEYS: &[&str] = &["rows", "cols", "copy_mib", "reps", "seed", "cpu", "gemv"];

pub fn commands() -> Vec<LabCommand> {
    vec![
        LabCommand {
            path: &["gpu-info"],
            about: "adapter name, backend, features and key limits",
            long_about: "",
            args: || {
                vec![
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("one JSON object instead of text"),
                ]
            },
            run: gpu_info,
        },
        LabCommand {
            path: &["bench", "device"],
            about: "copy bandwidth and f32 GEMV (GB/s), GPU and CPU, one JSON object per line",
            long_about: "The options are the Device page's settings (the same link keys, ranges \
                and defaults); the last line is a summary with the ratios.",
            args: || settings_args(&DeviceSettings::default(), BENCH_KEYS),
            run: bench_device,
        },
    ]
}

fn gpu_info(args: &Args<'_>) -> Result<i32, CommandError> {
    let ctx = GpuContext::new_headless()?;
    let limits = compute_limits(&ctx.limits);
    if args.switch("json") {
        let limits: serde_json::Map<String, serde_json::Value> = limits
            .into_iter()
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        emit(json!({
            "adapter": ctx.adapter,
            "timestamp_queries": ctx.has_timestamps(),
            "features": feature_names(ctx.features),
            "limits": limits,
        }));
    } else {
        emit(format!("adapter: {}", ctx.adapter.name));
        emit(format!("backend: {}", ctx.adapter.backend));
        emit(format!("type: {}", ctx.adapter.device_type));
        emit(format!("driver: {}", ctx.adapter.driver));
        emit(format!(
            "timestamp queries: {}",
            if ctx.has_timestamps() { "yes" } else { "no" }
        ));
        emit(format!(
            "subgroups: {}",
            ctx.subgroup_team_size().map_or_else(
                || "no".to_owned(),
                |_| format!("yes (largest {})", ctx.adapter.subgroup_max_size)
            )
        ));
        for (name, value) in limits {
            emit(format!("{name}: {value}"));
        }
    }
    Ok(0)
}

fn bench_device(args: &Args<'_>) -> Result<i32, CommandError> {
    let settings = args.settings(DeviceSettings::default(), BENCH_KEYS)?;
    let compute = headless_compute();
    let mut runner = BenchRunner::new(&settings);
    while runner.step(&compute, Duration::from_secs(3600)) {
        if let Some(ctx) = compute.gpu() {
            let _ = ctx.device.poll(wgpu::PollType::wait_indefinitely());
        }
    }
    let mut all_verified = true;
    for m in &runner.measurements {
        all_verified &= m.verification.passed;
        emit(json!({
            "kernel": m.kernel,
            "engine": m.engine,
            "size": m.size,
            "rows": m.shape.rows,
            "cols": m.shape.cols,
            "size_bytes": m.size_bytes,
            "bytes_moved": m.bytes_moved,
            "ms_median": m.ms_median,
            "ms_min": m.ms_min,
            "samples": m.samples,
            "gbps": m.gbps,
            "timing": m.timing,
            "variant": m.variant,
            "verified": m.verification.passed,
            "error_to_bound": m.verification.error_to_bound,
        }));
    }
    for r in &runner.refusals {
        emit(json!({"kernel": r.kernel, "engine": r.engine, "size": r.size, "refused": r.reason}));
    }
    let chosen = Shape {
        rows: u64::from(settings.rows),
        cols: u64::from(settings.cols),
    };
    let summary = summarize(&runner.measurements, chosen);
    let (adapter, backend) = match &compute {
        Compute::Gpu(ctx) => (ctx.adapter.name.clone(), ctx.adapter.backend.clone()),
        Compute::CpuFallback { .. } => ("none (CPU fallback)".to_owned(), "cpu".to_owned()),
    };
    emit(json!({
        "summary": true,
        "adapter": adapter,
        "backend": backend,
        "gemv_size": format!("{}x{}", chosen.rows, chosen.cols),
        "copy_gbps": summary.copy_gbps,
        "gemv_f32_gbps": summary.gemv_f32_gbps,
        "gemv_f32_fraction_of_copy": summary.gemv_f32_fraction_of_copy,
        "cpu_copy_gbps": summary.cpu_copy_gbps,
        "cpu_gemv_f32_gbps": summary.cpu_gemv_f32_gbps,
        "gpu_over_cpu_gemv": summary.gpu_over_cpu_gemv,
        "all_verified": all_verified,
    }));
    Ok(if all_verified { 0 } else { 1 })
}
