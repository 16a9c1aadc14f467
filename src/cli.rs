//! Native command line: the desktop app by default, subcommands for scripted use.

use std::sync::Arc;

use serde_json::json;
use web_time::Duration;

use crate::app::{PaperlabApp, StartOptions};
use crate::gpu::{Compute, GpuContext, compute_limits, device_descriptor_for, feature_names};
use crate::labs::device::plan::{Shape, summarize};
use crate::labs::device::runner::BenchRunner;
use crate::labs::device::settings::DeviceSettings;
use crate::selftest::{SelfTestRun, all_checks};
use crate::share;

const USAGE: &str = "\
paperlab — recent ML papers made tangible

USAGE:
  paperlab                         open the desktop app
  paperlab --link '#lab=device&rows=4096'
                                   open the desktop app at a share link
  paperlab gpu-info [--json]       adapter name, backend and key limits
  paperlab bench device [--rows N] [--cols N] [--copy-mib N] [--reps N] [--seed N] [--no-cpu]
                       [--gemv auto|workgroup|rowwise]
                                   copy bandwidth and f32 GEMV, one JSON object per line
{GFN}
  paperlab bench gfn [--trajectories N] [--samples N]
                                   GFlowNet training and GPU/CPU sampling throughput
{BANDITS}
{FAIRNESS}
{QUANT}
{MAM}
  paperlab selftest                run every kernel check (GPU vs reference), JSON report
  paperlab help                    this text

ENVIRONMENT:
  PAPERLAB_ADAPTER=<substring>     pick an adapter by name (e.g. llvmpipe for lavapipe)
";

/// Parsed `--key value` options; every key must be known.
pub(crate) struct Options(Vec<(String, String)>);

impl Options {
    pub(crate) fn parse(args: &[&str], known: &[&str]) -> Result<Self, String> {
        let mut pairs = Vec::new();
        let mut rest = args.iter();
        while let Some(&flag) = rest.next() {
            let key = flag
                .strip_prefix("--")
                .filter(|k| known.contains(k))
                .ok_or_else(|| format!("unknown option '{flag}'"))?;
            let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
            pairs.push((key.to_owned(), (*value).to_owned()));
        }
        Ok(Self(pairs))
    }

    pub(crate) fn get<T: std::str::FromStr>(
        &self,
        key: &str,
        default: T,
        valid: impl Fn(&T) -> bool,
        what: &str,
    ) -> Result<T, String> {
        match self.0.iter().rev().find(|(k, _)| k == key) {
            None => Ok(default),
            Some((_, text)) => match text.parse::<T>() {
                Ok(v) if valid(&v) => Ok(v),
                _ => Err(format!("--{key} {text}: expected {what}")),
            },
        }
    }
}

/// The usage text, with each lab's commands.
fn usage() -> String {
    USAGE
        .replace("{GFN}", crate::labs::gflownet::cli::USAGE)
        .replace("{BANDITS}", crate::labs::bandits::cli::USAGE)
        .replace("{FAIRNESS}", crate::labs::fairness::cli::USAGE)
        .replace("{MAM}", crate::labs::mam::cli::USAGE)
        .replace(
            "{QUANT}",
            &format!(
                "{}\n{}",
                crate::labs::quant::cli::USAGE,
                crate::labs::quant::bench::USAGE
            ),
        )
}

/// Runs the command line; returns the process exit code (0 ok, 1 failure, 2 usage error).
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    match strs.as_slice() {
        [] => run_desktop(String::new()),
        ["--link", link] => run_desktop((*link).to_owned()),
        ["help" | "--help" | "-h"] => {
            print!("{}", usage());
            0
        }
        ["gpu-info"] => gpu_info(false),
        ["gpu-info", "--json"] => gpu_info(true),
        ["bench", "device", rest @ ..] => bench_device(rest),
        ["bench", "gfn", rest @ ..] => crate::labs::gflownet::cli::bench(rest),
        ["bench", "bandits", rest @ ..] => crate::labs::bandits::cli::bench(rest),
        ["bench", "fairness", rest @ ..] => crate::labs::fairness::cli::bench(rest),
        ["bench", "quant", rest @ ..] => crate::labs::quant::bench::bench(rest),
        ["bench", "mam", rest @ ..] => crate::labs::mam::cli::bench(rest),
        ["bench", other, ..] => usage_error(&format!(
            "unknown benchmark '{other}' (known: device, gfn, bandits, fairness, quant, mam)"
        )),
        ["selftest"] => selftest(),
        ["gfn", rest @ ..] => crate::labs::gflownet::cli::main(rest),
        ["bandit", rest @ ..] => crate::labs::bandits::cli::main(rest),
        ["quant", rest @ ..] => crate::labs::quant::cli::main(rest),
        ["mam", rest @ ..] => crate::labs::mam::cli::main(rest),
        ["pid", rest @ ..] => crate::labs::fairness::cli::pid_main(rest),
        ["aglfop", rest @ ..] => crate::labs::fairness::cli::aglfop_main(rest),
        [other, ..] => usage_error(&format!("unknown command '{other}'")),
    }
}

fn usage_error(message: &str) -> i32 {
    eprintln!("error: {message}\n\n{}", usage());
    2
}

fn run_desktop(fragment: String) -> i32 {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .try_init();
    let mut setup = eframe::egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    setup.device_descriptor = Arc::new(device_descriptor_for);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("paperlab")
            .with_inner_size([1280.0, 820.0]),
        wgpu_options: eframe::egui_wgpu::WgpuConfiguration {
            wgpu_setup: eframe::egui_wgpu::WgpuSetup::CreateNew(setup),
            ..Default::default()
        },
        ..Default::default()
    };
    let start = StartOptions {
        fragment,
        selftest: false,
    };
    match eframe::run_native(
        "paperlab",
        options,
        Box::new(move |cc| Ok(Box::new(PaperlabApp::new(cc, start)))),
    ) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: the desktop app could not start: {e}");
            1
        }
    }
}

/// The headless compute context, or the CPU fallback with the reason on stderr.
pub(crate) fn headless_compute() -> Compute {
    match GpuContext::new_headless() {
        Ok(ctx) => Compute::Gpu(std::sync::Arc::new(ctx)),
        Err(e) => {
            eprintln!("warning: {e}; using the CPU fallback");
            Compute::CpuFallback {
                reason: e.to_string(),
            }
        }
    }
}

fn gpu_info(as_json: bool) -> i32 {
    let ctx = match GpuContext::new_headless() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let limits = compute_limits(&ctx.limits);
    if as_json {
        let limits: serde_json::Map<String, serde_json::Value> = limits
            .into_iter()
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        let info = json!({
            "adapter": ctx.adapter,
            "timestamp_queries": ctx.has_timestamps(),
            "features": feature_names(ctx.features),
            "limits": limits,
        });
        println!("{info}");
    } else {
        println!("adapter: {}", ctx.adapter.name);
        println!("backend: {}", ctx.adapter.backend);
        println!("type: {}", ctx.adapter.device_type);
        println!("driver: {}", ctx.adapter.driver);
        println!(
            "timestamp queries: {}",
            if ctx.has_timestamps() { "yes" } else { "no" }
        );
        for (name, value) in limits {
            println!("{name}: {value}");
        }
    }
    0
}

/// `--rows 4096 --no-cpu` -> link pairs, so the CLI validates exactly as a link does.
fn bench_pairs(args: &[&str]) -> Result<share::Pairs, String> {
    let mut pairs = Vec::new();
    let mut rest = args.iter();
    while let Some(&flag) = rest.next() {
        let key = match flag {
            "--rows" => "rows",
            "--cols" => "cols",
            "--copy-mib" => "copy_mib",
            "--reps" => "reps",
            "--seed" => "seed",
            "--gemv" => "gemv",
            "--no-cpu" => {
                pairs.push(("cpu".to_owned(), "false".to_owned()));
                continue;
            }
            other => return Err(format!("unknown option '{other}'")),
        };
        let Some(&value) = rest.next() else {
            return Err(format!("{flag} needs a value"));
        };
        pairs.push((key.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

fn bench_device(args: &[&str]) -> i32 {
    let pairs = match bench_pairs(args) {
        Ok(pairs) => pairs,
        Err(e) => return usage_error(&e),
    };
    let (settings, corrections) = share::decode::<DeviceSettings>(&pairs);
    for correction in &corrections {
        eprintln!("warning: {correction}");
    }
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
        println!(
            "{}",
            json!({
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
            })
        );
    }
    for r in &runner.refusals {
        println!(
            "{}",
            json!({"kernel": r.kernel, "engine": r.engine, "size": r.size, "refused": r.reason})
        );
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
    println!(
        "{}",
        json!({
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
        })
    );
    if all_verified { 0 } else { 1 }
}

fn selftest() -> i32 {
    let compute = headless_compute();
    let report = SelfTestRun::new(all_checks()).run_blocking(&compute);
    match serde_json::to_string_pretty(&report) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: {e}"),
    }
    if report.passed { 0 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_flags_map_to_link_keys() {
        let pairs = bench_pairs(&["--rows", "128", "--no-cpu", "--seed", "5"]).expect("valid");
        assert_eq!(
            pairs,
            vec![
                ("rows".to_owned(), "128".to_owned()),
                ("cpu".to_owned(), "false".to_owned()),
                ("seed".to_owned(), "5".to_owned())
            ]
        );
        assert!(bench_pairs(&["--rows"]).is_err());
        assert!(bench_pairs(&["--bogus", "1"]).is_err());
    }
}
