//! `paperlab mam train|query` and `paperlab bench mam`.

use clap::Arg;
use serde_json::json;
use web_time::Instant;

use super::ising::{Exact, Ising, MAX_EXACT_SIZE};
use super::nets::{MamNets, observed_in_order};
use super::partial::Partial;
use super::quality::against_exact;
use super::settings::{COUPLING, FIELD, MamSettings};
use super::speed::{goal_sizes, query_batch, time_ms, time_query};
use super::train::{DEFAULT_BATCH, DEFAULT_LR, TrainConfig, Trainer};
use super::weights::{self, WeightsHeader};
use crate::command::{
    Args, CommandError, INTERRUPTED_EXIT_CODE, LabCommand, Progress, catch_interrupts, emit,
    headless_compute, interrupted, number_arg, output_arg, settings_args, text_arg,
};
use crate::share::Setting;

/// The page's settings that define the target.
const TARGET_KEYS: &[&str] = &["size", "coupling", "field"];

const STEPS: Setting<u64> = Setting::new("steps", 3000, 1, 1_000_000)
    .help("Optimiser steps; the learning rate decays to 0 over them (cosine).");
const TRAIN_SEED: Setting<u64> = Setting::new("seed", 1, 0, u64::MAX)
    .help("Seeds the networks' initialisation and the training chains.");
const BATCH: Setting<u64> =
    Setting::new("batch", DEFAULT_BATCH as u64, 2, 4096).help("Persistent chains per step.");
const HIDDEN: Setting<u64> = Setting::new("hidden", 256, 4, 2048)
    .help("Width of both hidden layers of both networks [default 128 for L <= 4, 256 above].");
const LR: Setting<f64> =
    Setting::new("lr", DEFAULT_LR as f64, 1e-6, 1.0).help("Adam's initial step size.");
const BENCH_SIZE: Setting<u32> =
    Setting::new("size", 8, 4, 8).help("Lattice side of the shipped model timed: 4 or 8.");
const BENCH_BATCH: Setting<u64> =
    Setting::new("batch", 1024, 1, 16_384).help("Queries per GPU and CPU batch.");
const REPS: Setting<u32> = Setting::new("reps", 20, 1, 1000).help("Timed GPU passes.");

fn weights_arg(what: &'static str) -> Arg {
    text_arg("weights", "FILE", what)
}

pub fn commands() -> Vec<LabCommand> {
    vec![
        LabCommand {
            path: &["mam", "train"],
            about: "energy-based MaM training on the L x L Ising model; JSON progress lines, then a final object",
            long_about: "The final object holds kl_estimate and self_consistency, and for L <= 4 \
                the errors against exact marginals.",
            args: || {
                let mut args = settings_args(&MamSettings::default(), TARGET_KEYS);
                args.extend([
                    number_arg(&STEPS),
                    number_arg(&TRAIN_SEED),
                    number_arg(&BATCH),
                    number_arg(&HIDDEN),
                    number_arg(&LR),
                    output_arg(
                        "write the trained networks here (checked before training; Ctrl-C saves the networks so far)",
                    ),
                ]);
                args
            },
            run: train,
        },
        LabCommand {
            path: &["mam", "query"],
            about: "log p of a partial assignment by MaM (one pass), the autoregressive route and, for L <= 4, exactly; nats, with times",
            long_about: "Example: paperlab mam query --size 4 --assign 0:1,5:-1",
            args: || {
                let mut args = settings_args(&MamSettings::default(), TARGET_KEYS);
                args.extend([
                    Arg::new("assign")
                        .long("assign")
                        .value_name("I:V,...")
                        .required(true)
                        .help("the observed sites: I row-major from 0, V 1 or -1"),
                    weights_arg("trained networks [default: the shipped ones for the target]"),
                ]);
                args
            },
            run: query,
        },
        LabCommand {
            path: &["bench", "mam"],
            about: "MaM vs autoregressive query time for |S| = D/4, D/2, D, and batch queries/s on the GPU vs the CPU",
            long_about: "",
            args: || {
                vec![
                    number_arg(&BENCH_SIZE),
                    number_arg(&BENCH_BATCH),
                    number_arg(&REPS),
                    weights_arg("trained networks [default: the shipped model of --size]"),
                ]
            },
            run: bench,
        },
    ]
}

/// The target from `--size --coupling --field` (the page's settings and ranges).
fn target(args: &Args<'_>) -> Result<Ising, CommandError> {
    let s = args.settings(MamSettings::default(), TARGET_KEYS)?;
    Ising::new(s.size as usize, s.coupling, s.field).map_err(CommandError::Usage)
}

fn train(args: &Args<'_>) -> Result<i32, CommandError> {
    let model = target(args)?;
    let steps = args.number(&STEPS)? as usize;
    let seed = args.number(&TRAIN_SEED)?;
    let defaults = TrainConfig::for_size(model.size, seed);
    let batch = args.number(&BATCH)? as usize;
    let width = match args.text(HIDDEN.key) {
        Some(_) => args.number(&HIDDEN)? as usize,
        None => defaults.hidden[0],
    };
    let lr = args.number(&LR)? as f32;
    let out = args.output()?;
    let config = TrainConfig {
        hidden: vec![width, width],
        batch,
        lr,
        decay_steps: Some(steps),
        ..defaults
    };
    let mut trainer = Trainer::new(model, config);
    let exact = Exact::new(model).ok();
    let started = Instant::now();
    let every = (steps / 20).max(1);
    let report = |trainer: &Trainer, last: bool| -> serde_json::Value {
        let recent = trainer.recent(100);
        let mut v = json!({
            "step": trainer.steps,
            "kl_estimate": recent.and_then(|r| r.kl_estimate),
            "mean_log_p_minus_log_f": recent.map(|r| r.reverse_gap),
            "self_consistency": recent.map(|r| r.self_consistency),
            "log_z_exact": trainer.log_z,
            "seconds": started.elapsed().as_secs_f64(),
        });
        if let Some(exact) = &exact {
            let q = against_exact(&trainer.nets, exact, if last { 1000 } else { 200 }, 99);
            v["mean_abs_error_vs_exact"] = json!(q.mean_abs_error);
            v["arm_mean_abs_error_vs_exact"] = json!(q.arm_mean_abs_error);
            if last {
                v["max_abs_error_vs_exact"] = json!(q.max_abs_error);
            }
        }
        v
    };
    catch_interrupts();
    let progress = Progress::new(steps as u64, "training (steps)");
    while trainer.steps < steps && !interrupted() {
        trainer.step();
        progress.set(trainer.steps as u64);
        if trainer.steps.is_multiple_of(every) && trainer.steps < steps {
            progress.emit(report(&trainer, false));
        }
    }
    progress.finish();
    let mut last = report(&trainer, true);
    last["final"] = json!(true);
    last["interrupted"] = json!(interrupted());
    emit(last);
    if let Some(path) = out {
        let header = WeightsHeader {
            size: model.size,
            coupling: model.coupling,
            field: model.field,
            // The steps actually taken (fewer than asked when Ctrl-C stopped the run).
            steps: trainer.steps,
            seed,
            // The output path is not part of what reproduces the file.
            command: crate::command::command_line_without(&["out"]),
        };
        crate::files::write_atomic(&path, &weights::to_bytes(&header, &trainer.nets))
            .map_err(|e| CommandError::failed(e.to_string()))?;
        eprintln!("wrote {} ({} steps)", path.display(), trainer.steps);
    }
    if interrupted() && trainer.steps < steps {
        eprintln!("stopped by Ctrl-C after {} of {steps} steps", trainer.steps);
        return Ok(INTERRUPTED_EXIT_CODE);
    }
    Ok(0)
}

/// The networks for a query: `--weights FILE`, or the shipped ones for the default target.
fn load_nets(args: &Args<'_>, model: &Ising) -> Result<MamNets, String> {
    let Some(path) = args.text("weights") else {
        return weights::shipped(model).map(|(_, nets)| nets).ok_or_else(|| {
            format!(
                "no shipped weights for L = {}, J = {}, h = {} (shipped: 4x4 and 8x8 at J = 0.1, h = 0.2); train some with 'paperlab mam train --out FILE' and pass --weights FILE",
                model.size, model.coupling, model.field
            )
        });
    };
    let bytes = std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))?;
    let (header, nets) = weights::from_bytes(&bytes).map_err(|e| format!("{path}: {e}"))?;
    if header.size != model.size {
        return Err(format!(
            "{path} was trained for L = {}, the query asks for L = {}",
            header.size, model.size
        ));
    }
    if header.coupling != model.coupling || header.field != model.field {
        eprintln!(
            "warning: {path} was trained for J = {}, h = {}; answering for J = {}, h = {} with it",
            header.coupling, header.field, model.coupling, model.field
        );
    }
    Ok(nets)
}

fn query(args: &Args<'_>) -> Result<i32, CommandError> {
    let model = target(args)?;
    let assign = args.text("assign").unwrap_or_default();
    let partial = Partial::parse(assign, model.sites()).map_err(CommandError::Usage)?;
    let nets = load_nets(args, &model).map_err(CommandError::Failed)?;
    let order = observed_in_order(&partial, &[]);
    let (log_p_model, ms_mam) = time_ms(20.0, || nets.log_marginal(&partial));
    let (log_p_arm, ms_arm) = time_ms(20.0, || nets.log_marginal_arm(&partial, &order));
    let log_p_exact = if model.size <= MAX_EXACT_SIZE {
        Exact::new(model).ok().map(|e| e.log_marginal(&partial))
    } else {
        None
    };
    emit(json!({
        "log_p_model": log_p_model,
        "log_p_arm": log_p_arm,
        "log_p_exact": log_p_exact,
        "ms_mam": ms_mam,
        "ms_arm": ms_arm,
        "observed": order.len(),
    }));
    Ok(0)
}

/// `paperlab bench mam`: the per-query ratio on the CPU for |S| = D/4, D/2, D, then batch
/// throughput on the GPU (if any) against the CPU, each route checked against the CPU values.
fn bench(args: &Args<'_>) -> Result<i32, CommandError> {
    let size = args.number(&BENCH_SIZE)? as usize;
    if size != 4 && size != 8 {
        return Err(CommandError::usage(format!(
            "--size {size}: 4 or 8 (the shipped models)"
        )));
    }
    let batch = args.number(&BENCH_BATCH)? as usize;
    let reps = args.number(&REPS)?;
    let (model, nets) = match args.text("weights") {
        None => {
            let model =
                Ising::new(size, COUPLING.default, FIELD.default).map_err(CommandError::Failed)?;
            let (_, nets) = weights::shipped(&model)
                .ok_or_else(|| CommandError::failed("the shipped weights did not load"))?;
            (model, nets)
        }
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| CommandError::failed(format!("reading {path}: {e}")))?;
            let (h, nets) = weights::from_bytes(&bytes)
                .map_err(|e| CommandError::failed(format!("{path}: {e}")))?;
            let model = Ising::new(h.size, h.coupling, h.field).map_err(CommandError::Failed)?;
            (model, nets)
        }
    };
    let size = model.size;
    let d = model.sites();
    let mut goals_met = true;
    for observed in goal_sizes(d) {
        let t = time_query(&nets, observed, 7, 50.0);
        let goal = observed as f64 / 2.0;
        goals_met &= t.ratio() >= goal;
        emit(json!({
                "route": "cpu single query",
                "size": size,
                "observed": observed,
                "ms_mam": t.ms_mam,
                "ms_arm": t.ms_arm,
                "ms_arm_batched": t.ms_arm_batched,
                "ratio_arm_vs_mam": t.ratio(),
                "ratio_arm_batched_vs_mam": t.ms_arm_batched / t.ms_mam.max(1e-12),
                "goal_ratio": goal,
        }));
    }
    emit(sample_quality(&model, &nets));
    let x = query_batch(d, batch, 11);
    let (cpu_values, cpu_ms) = time_ms(100.0, || nets.log_marginals_encoded(&x, batch));
    let mut summary = json!({
        "summary": true,
        "size": size,
        "batch": batch,
        "cpu_mam_queries_per_s": batch as f64 / (cpu_ms * 1e-3),
        "ratio_goal_met": goals_met,
    });
    let compute = headless_compute();
    if let Some(ctx) = compute.gpu() {
        let gpu = gpu_throughput(ctx, &nets, &x, batch, reps, &cpu_values)
            .map_err(CommandError::Failed)?;
        summary["adapter"] = json!(ctx.adapter.name);
        summary["timing"] = json!(gpu.timing);
        summary["gpu_mam_queries_per_s"] = json!(batch as f64 / (gpu.ms_mam * 1e-3));
        summary["gpu_vs_cpu_mam"] = json!(cpu_ms / gpu.ms_mam);
        summary["max_abs_gpu_vs_cpu_nats"] = json!(gpu.max_abs_diff);
        for (observed, ms_arm) in gpu.arm_by_size {
            summary[format!("gpu_arm_vs_mam_s{observed}")] = json!(ms_arm / gpu.ms_mam);
        }
    } else {
        summary["gpu"] = json!("no GPU adapter: GPU figures skipped");
    }
    emit(summary);
    Ok(0)
}

/// Sample quality without exact marginals: statistics of MaM's any-order samples (both
/// samplers) against a long Gibbs run (exact samples on 4x4), and the forward KL on those.
fn sample_quality(model: &Ising, nets: &MamNets) -> serde_json::Value {
    let size = model.size;
    use super::settings::Sampler;
    let by_conditional = super::lab::Gallery::complete(model, nets, 512, 1, Sampler::Conditional);
    let conditional_stats = super::lab::SampleStats::of(model, &by_conditional.model_samples);
    let gallery = super::lab::Gallery::complete(model, nets, 512, 1, Sampler::Marginals);
    let model_stats = super::lab::SampleStats::of(model, &gallery.model_samples);
    let reference_stats = super::lab::SampleStats::of(model, &gallery.reference_samples);
    // Forward KL(p || model) on the reference samples, for both routes (exact log Z).
    let forward_kl = super::ising::log_z_transfer(model).ok().map(|log_z| {
        let n = gallery.reference_samples.len() as f64;
        let (mut mam, mut arm) = (0.0, 0.0);
        for x in &gallery.reference_samples {
            let p = super::partial::Partial {
                sites: x
                    .iter()
                    .map(|&v| {
                        if v > 0 {
                            super::partial::Site::Up
                        } else {
                            super::partial::Site::Down
                        }
                    })
                    .collect(),
            };
            let truth = model.log_f(x) - log_z;
            mam += truth - nets.log_marginal(&p);
            arm += truth - nets.log_marginal_arm(&p, &[]);
        }
        (mam / n, arm / n)
    });
    json!({
            "route": "samples",
            "size": size,
            "samples": model_stats.count,
            "mam_magnetisation": model_stats.magnetisation,
            "reference_magnetisation": reference_stats.magnetisation,
            "mam_neighbour_correlation": model_stats.neighbour_correlation,
            "conditional_sampler_magnetisation": conditional_stats.magnetisation,
            "conditional_sampler_neighbour_correlation": conditional_stats.neighbour_correlation,
            "reference_neighbour_correlation": reference_stats.neighbour_correlation,
            "reference": if size <= MAX_EXACT_SIZE { "exact" } else { "gibbs 200 sweeps" },
            "forward_kl_mam": forward_kl.map(|k| k.0),
            "forward_kl_arm_raster": forward_kl.map(|k| k.1),
    })
}

struct GpuFigures {
    ms_mam: f64,
    /// (|S|, ms) for the autoregressive route: |S| back-to-back conditional passes of the batch.
    arm_by_size: Vec<(usize, f64)>,
    max_abs_diff: f64,
    timing: String,
}

fn gpu_throughput(
    ctx: &crate::gpu::GpuContext,
    nets: &MamNets,
    x: &[f32],
    batch: usize,
    reps: u32,
    cpu_values: &[f64],
) -> Result<GpuFigures, String> {
    use super::gpu::{MamOnDevice, Net};
    use crate::stats::median;
    let device = MamOnDevice::upload(ctx, nets, batch).map_err(|e| e.to_string())?;
    let out = device
        .timed_forward(ctx, Net::Marginal, x, batch, reps, 4)
        .and_then(|run| run.wait(ctx))
        .map_err(|e| e.to_string())?;
    let gpu_values = device.log_marginals(&out.bytes);
    let max_abs_diff = gpu_values
        .iter()
        .zip(cpu_values)
        .map(|(g, c)| (g - c).abs())
        .fold(0.0f64, f64::max);
    if max_abs_diff > 1e-3 || gpu_values.len() != cpu_values.len() {
        return Err(format!(
            "GPU marginals differ from the CPU by {max_abs_diff} nats"
        ));
    }
    let ms_mam = median(&out.pass_ms);
    let mut arm_by_size = Vec::new();
    for observed in goal_sizes(nets.sites()) {
        // The autoregressive route over a batch: |S| dependent conditional passes, each over
        // the batch (timed back to back; their cost does not depend on the values).
        let run = device
            .timed_forward(
                ctx,
                Net::Conditional,
                x,
                batch,
                reps.min(5),
                observed as u32,
            )
            .and_then(|run| run.wait(ctx))
            .map_err(|e| e.to_string())?;
        arm_by_size.push((observed, median(&run.pass_ms) * observed as f64));
    }
    Ok(GpuFigures {
        ms_mam,
        arm_by_size,
        max_abs_diff,
        timing: format!("{:?}", out.timing),
    })
}
