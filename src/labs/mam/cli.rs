//! `paperlab mam train|query` and `paperlab bench mam`.

use clap::Arg;
use serde_json::json;
use web_time::Instant;

use super::arm::{AdvantageScale, ArmTrainConfig, ArmTrainer, DEFAULT_ARM_BATCH};
use super::eval::{AgainstTruth, quality_report};
use super::ising::{Exact, Ising, MAX_EXACT_SIZE, log_marginal_transfer, log_z_transfer};
use super::nets::{MamNets, observed_in_order};
use super::partial::Partial;
use super::quality::{against_exact, arm_against_exact, exact_kl_arm, exact_kl_mam, own_sample_kl};
use super::settings::{COUPLING, FIELD, MamSettings};
use super::speed::{goal_sizes, query_batch, time_ms, time_query};
use super::train::{
    DEFAULT_ALPHA, DEFAULT_BATCH, DEFAULT_LR, DEFAULT_UNIFORM_EVERY, KlOn, TrainConfig, Trainer,
};
use super::weights::{self, WeightsHeader};
use crate::command::{
    Args, CommandError, INTERRUPTED_EXIT_CODE, LabCommand, Progress, catch_interrupts, emit,
    flag_arg, headless_compute, interrupted, number_arg, output_arg, settings_args, text_arg,
};
use crate::share::{Flag, Setting};

/// The page's settings that define the target.
const TARGET_KEYS: &[&str] = &["size", "coupling", "field"];

const STEPS: Setting<u64> = Setting::new("steps", 3000, 1, 1_000_000)
    .help("Optimiser steps; the learning rate decays to 0 over them (cosine).");
const TRAIN_SEED: Setting<u64> = Setting::new("seed", 1, 0, u64::MAX)
    .help("Seeds the networks' initialisation and the training chains.");
const BATCH: Setting<u64> = Setting::new("batch", DEFAULT_BATCH as u64, 2, 4096)
    .help("Chains per step (persistent ones, or fresh samples with --kl-on conditional or both).");
const ARM_BATCH: Setting<u64> = Setting::new("batch", DEFAULT_ARM_BATCH as u64, 2, 4096)
    .help("Chains sampled per step (each costs D conditional passes).");
const HIDDEN: Setting<u64> = Setting::new("hidden", 256, 4, 2048)
    .help("Width of both hidden layers of both networks [default 128 for L <= 4, 256 above].");
const ALPHA: Setting<f64> = Setting::new("alpha", DEFAULT_ALPHA as f64, 0.0, 1000.0).help(
    "Self-consistency weight per site: the squared residual counts alpha * D [default: the reference's 4 for L <= 4, 4 / D above].",
);
const UNIFORM_EVERY: Setting<u64> = Setting::new("uniform-every", DEFAULT_UNIFORM_EVERY as u64, 0, 1024)
    .help("Every N-th self-consistency example is uniformly random spins, not a chain state (0: chain states only, as the reference).");
const LAYERS: Setting<u32> = Setting::new("layers", 2, 1, 6)
    .help("Hidden layers of each network (all of --hidden's width).");
const RESIDUAL: Flag = Flag::new("residual", false).help(
    "Residual connections between the hidden layers, as the reference's MLPRes: each hidden layer after the first adds its input to its output.",
);
const RESTART_EVERY: Setting<u64> = Setting::new("restart-every", 0, 0, 1_000_000).help(
    "Restart the chains from fresh any-order samples of the conditional network every N steps (0: never; the reference does so each epoch).",
);
const REFRESH: Setting<u32> = Setting::new("refresh", 2, 0, 64)
    .help("Gibbs updates under the conditional network per chain and step.");
const LR: Setting<f64> =
    Setting::new("lr", DEFAULT_LR as f64, 1e-6, 1.0).help("Adam's initial step size.");
const BENCH_SIZE: Setting<u32> = Setting::new("size", 10, 4, 10)
    .help("Lattice side of the shipped models measured: 4, 8 or 10 (the paper's).");
const BENCH_SAMPLES: Setting<u64> = Setting::new("samples", 2000, 10, 100_000)
    .help("Ground-truth samples (independent Gibbs chains; exact on 4x4) and samples per sampler.");
const BENCH_EXACT_QUERIES: Setting<u64> = Setting::new("exact-queries", 40, 0, 10_000).help(
    "Partial assignments of each kind whose exact log p the transfer matrix gives on 8x8 and 10x10 (about 0.7 s each on 10x10).",
);
const BENCH_BATCH: Setting<u64> =
    Setting::new("batch", 1024, 1, 16_384).help("Queries per GPU and CPU batch.");
const REPS: Setting<u32> = Setting::new("reps", 20, 1, 1000).help("Timed GPU passes.");

fn advantage_arg() -> Arg {
    text_arg(
        "advantage",
        "SCALE",
        "what the REINFORCE advantage is divided by: 'batch' (its batch's standard deviation, as the reference) or 'running' (a running mean of earlier batches', a divisor independent of the batch) [default: batch]",
    )
}

/// `--advantage`, or the reference's batch scaling.
fn advantage_scale(args: &Args<'_>) -> Result<AdvantageScale, CommandError> {
    match args.text("advantage") {
        None => Ok(AdvantageScale::Batch),
        Some(text) => AdvantageScale::parse(text).ok_or_else(|| {
            CommandError::Usage(format!(
                "--advantage {text:?}: expected one of {}",
                AdvantageScale::NAMES.join(", ")
            ))
        }),
    }
}

fn weights_arg(what: &'static str) -> Arg {
    text_arg("weights", "FILE", what)
}

/// `mam train`'s arguments.
fn train_args() -> Vec<Arg> {
    let mut args = settings_args(&MamSettings::default(), TARGET_KEYS);
    args.extend([
        number_arg(&STEPS),
        number_arg(&TRAIN_SEED),
        number_arg(&BATCH),
        number_arg(&HIDDEN),
        number_arg(&LR),
        number_arg(&ALPHA),
        number_arg(&UNIFORM_EVERY),
        number_arg(&LAYERS),
        flag_arg(&RESIDUAL),
        number_arg(&RESTART_EVERY),
        number_arg(&REFRESH),
        text_arg(
            "init",
            "FILE",
            "continue training these MaM networks (a 'mam train' file for the same target; --hidden and --layers then come from the file)",
        ),
        text_arg(
            "kl-on",
            "NET",
            "which network the KL term trains: 'marginal' (on the persistent chains; the reference's default) or 'conditional' (the sampler, on fresh ancestral samples of itself, D passes per step) or 'both' [default: marginal for L <= 4, both above]",
        ),
        advantage_arg(),
        output_arg(
            "write the trained networks here (checked before training; Ctrl-C saves the networks so far)",
        ),
    ]);
    args
}

pub fn commands() -> Vec<LabCommand> {
    vec![
        LabCommand {
            path: &["mam", "train"],
            about: "energy-based MaM training on the L x L Ising model; JSON progress lines, then a final object",
            long_about: "The final object holds kl_estimate and self_consistency, and for L <= 4 \
                the errors against exact marginals.",
            args: train_args,
            run: train,
        },
        LabCommand {
            path: &["mam", "train-arm"],
            about: "the paper's baseline: a separately trained any-order autoregressive model, by KL on the same energy; JSON progress lines, then a final object",
            long_about: "Each step samples the batch in random orders (D passes) and follows the \
                REINFORCE gradient through all of them. The final object holds the KL estimate on \
                the model's own samples and, for L <= 4, the exact errors.",
            args: || {
                let mut args = settings_args(&MamSettings::default(), TARGET_KEYS);
                args.extend([
                    number_arg(&STEPS),
                    number_arg(&TRAIN_SEED),
                    number_arg(&ARM_BATCH),
                    number_arg(&HIDDEN),
                    number_arg(&LAYERS),
                    flag_arg(&RESIDUAL),
                    number_arg(&LR),
                    advantage_arg(),
                    output_arg(
                        "write the trained network here (checked before training; Ctrl-C saves the network so far)",
                    ),
                ]);
                args
            },
            run: train_arm,
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
                    number_arg(&BENCH_SAMPLES),
                    number_arg(&BENCH_EXACT_QUERIES),
                    weights_arg("trained MaM networks [default: the shipped model of --size]"),
                    text_arg(
                        "arm-weights",
                        "FILE",
                        "a trained ARM (paperlab mam train-arm) [default: the shipped one of the target, else MaM's conditional network]",
                    ),
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
    let alpha = match args.text(ALPHA.key) {
        Some(_) => args.number(&ALPHA)? as f32,
        None => defaults.alpha,
    };
    let uniform_every = args.number(&UNIFORM_EVERY)? as usize;
    let layers = args.number(&LAYERS)? as usize;
    let residual = args.flag(&RESIDUAL)?;
    let restart_every = args.number(&RESTART_EVERY)? as usize;
    let refresh_sites = args.number(&REFRESH)? as usize;
    let kl_on = match args.text("kl-on") {
        None => defaults.kl_on,
        Some(text) => KlOn::parse(text).ok_or_else(|| {
            CommandError::Usage(format!(
                "--kl-on {text:?}: expected one of {}",
                KlOn::NAMES.join(", ")
            ))
        })?,
    };
    let out = args.output()?;
    let config = TrainConfig {
        hidden: vec![width; layers],
        residual,
        batch,
        lr,
        alpha,
        uniform_every,
        restart_every,
        refresh_sites,
        decay_steps: Some(steps),
        kl_on,
        advantage: advantage_scale(args)?,
        ..defaults
    };
    let mut trainer = trainer_from(args, model, config)?;
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
    // The file holds f16 networks: report on what it holds.
    trainer.nets = trainer.nets.rounded_to_f16();
    let mut last = report(&trainer, true);
    if let Some(log_z) = trainer.log_z {
        last["reverse_kl_own_samples"] =
            json!(own_sample_kl(&model, &trainer.nets, log_z, 1024, 5));
    }
    if let Some(exact) = &exact {
        last["exact_kl"] = json!(exact_kl_mam(&trainer.nets, exact));
    }
    let finished = Finished {
        model,
        seed,
        steps_asked: steps,
        steps_taken: trainer.steps,
    };
    finished.save(last, out, weights::Kind::Mam, |h| {
        weights::to_bytes(h, &trainer.nets)
    })
}

/// A fresh trainer, or one continuing `--init`'s networks (same target).
fn trainer_from(
    args: &Args<'_>,
    model: Ising,
    config: TrainConfig,
) -> Result<Trainer, CommandError> {
    let Some(path) = args.text("init") else {
        return Ok(Trainer::new(model, config));
    };
    let (h, nets) = read_file(path, weights::from_bytes)?;
    if (h.size, h.coupling, h.field) != (model.size, model.coupling, model.field) {
        return Err(CommandError::Usage(format!(
            "--init {path} was trained for L = {}, J = {}, h = {}; this run's target is L = {}, J = {}, h = {}",
            h.size, h.coupling, h.field, model.size, model.coupling, model.field
        )));
    }
    Ok(Trainer::with_nets(model, nets, config))
}

/// The end of a training command: the final line, the file, the exit code.
struct Finished {
    model: Ising,
    seed: u64,
    steps_asked: usize,
    /// Fewer than asked when Ctrl-C stopped the run.
    steps_taken: usize,
}

impl Finished {
    fn save(
        &self,
        mut last: serde_json::Value,
        out: Option<std::path::PathBuf>,
        kind: weights::Kind,
        to_bytes: impl FnOnce(&WeightsHeader) -> Result<Vec<u8>, String>,
    ) -> Result<i32, CommandError> {
        last["final"] = json!(true);
        last["interrupted"] = json!(interrupted());
        emit(last);
        if let Some(path) = out {
            let header = WeightsHeader {
                kind,
                size: self.model.size,
                coupling: self.model.coupling,
                field: self.model.field,
                steps: self.steps_taken,
                seed: self.seed,
                // The output path is not part of what reproduces the file.
                command: crate::command::command_line_without(&["out"]),
            };
            let bytes = to_bytes(&header).map_err(CommandError::Failed)?;
            crate::files::write_atomic(&path, &bytes)
                .map_err(|e| CommandError::failed(e.to_string()))?;
            eprintln!("wrote {} ({} steps)", path.display(), self.steps_taken);
        }
        if interrupted() && self.steps_taken < self.steps_asked {
            eprintln!(
                "stopped by Ctrl-C after {} of {} steps",
                self.steps_taken, self.steps_asked
            );
            return Ok(INTERRUPTED_EXIT_CODE);
        }
        Ok(0)
    }
}

fn train_arm(args: &Args<'_>) -> Result<i32, CommandError> {
    let model = target(args)?;
    let steps = args.number(&STEPS)? as usize;
    let seed = args.number(&TRAIN_SEED)?;
    let width = match args.text(HIDDEN.key) {
        Some(_) => args.number(&HIDDEN)? as usize,
        None => TrainConfig::for_size(model.size, seed).hidden[0],
    };
    let config = ArmTrainConfig {
        hidden: vec![width; args.number(&LAYERS)? as usize],
        residual: args.flag(&RESIDUAL)?,
        batch: args.number(&ARM_BATCH)? as usize,
        lr: args.number(&LR)? as f32,
        seed,
        decay_steps: Some(steps),
        advantage: advantage_scale(args)?,
    };
    let out = args.output()?;
    let mut trainer = ArmTrainer::new(model, config);
    let exact = Exact::new(model).ok();
    let started = Instant::now();
    let every = (steps / 20).max(1);
    let report = |trainer: &ArmTrainer| {
        let recent = trainer.recent(100);
        json!({
            "step": trainer.steps,
            "kl_estimate": recent.and_then(|r| r.kl_estimate),
            "mean_log_q_minus_log_f": recent.map(|r| r.reverse_gap),
            "log_z_exact": trainer.log_z,
            "seconds": started.elapsed().as_secs_f64(),
        })
    };
    catch_interrupts();
    let progress = Progress::new(steps as u64, "training the ARM (steps)");
    while trainer.steps < steps && !interrupted() {
        trainer.step();
        progress.set(trainer.steps as u64);
        if trainer.steps.is_multiple_of(every) && trainer.steps < steps {
            progress.emit(report(&trainer));
        }
    }
    progress.finish();
    trainer.arm.net = trainer.arm.net.rounded_to_f16();
    let mut last = report(&trainer);
    if let Some(exact) = &exact {
        last["arm_mean_abs_error_vs_exact"] =
            json!(arm_against_exact(&trainer.arm, exact, 1000, 99).mean_abs_error);
        last["exact_kl"] = json!(exact_kl_arm(&trainer.arm, exact, 7));
    }
    let finished = Finished {
        model,
        seed,
        steps_asked: steps,
        steps_taken: trainer.steps,
    };
    finished.save(last, out, weights::Kind::Arm, |h| {
        weights::arm_to_bytes(h, &trainer.arm)
    })
}

/// The networks for a query: `--weights FILE`, or the shipped ones for the default target.
fn load_nets(args: &Args<'_>, model: &Ising) -> Result<MamNets, String> {
    let Some(path) = args.text("weights") else {
        return weights::shipped(model).map(|(_, nets)| nets).ok_or_else(|| {
            format!(
                "no shipped weights for L = {}, J = {}, h = {} (shipped: 4x4, 8x8 and 10x10 at J = 0.1, h = 0.2); train some with 'paperlab mam train --out FILE' and pass --weights FILE",
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
    // The separately trained ARM where one is shipped for the target (and no --weights asks
    // for other networks); MaM's own conditional network otherwise.
    let arm = weights::shipped_arm(&model)
        .filter(|_| args.text("weights").is_none())
        .map(|(_, arm)| arm);
    let arm_net = arm.as_ref().map_or(&nets.conditional, |a| &a.net);
    let (log_p_model, ms_mam) = time_ms(20.0, || nets.log_marginal(&partial));
    let (log_p_arm, ms_arm) = time_ms(20.0, || super::arm::log_marginal(arm_net, &partial, &order));
    // Enumeration up to 4x4, the transfer matrix up to 10x10 (under a second natively).
    let log_p_exact = if model.size <= MAX_EXACT_SIZE {
        Exact::new(model).ok().map(|e| e.log_marginal(&partial))
    } else {
        log_z_transfer(&model)
            .and_then(|log_z| log_marginal_transfer(&model, log_z, &partial))
            .ok()
    };
    emit(json!({
        "log_p_model": log_p_model,
        "log_p_arm": log_p_arm,
        "log_p_exact": log_p_exact,
        "ms_mam": ms_mam,
        "ms_arm": ms_arm,
        "arm_network": if arm.is_some() { "separately trained ARM" } else { "MaM's conditional network" },
        "observed": order.len(),
    }));
    Ok(0)
}

/// `paperlab bench mam`: the per-query ratio on the CPU for |S| = D/4, D/2, D (MaM's one pass
/// against the separately trained ARM's |S| passes), the quality report (NLL of ground-truth
/// samples, KL on each model's own samples, sample statistics against ground truth, exact
/// figures on 4x4), then batch throughput on the GPU (if any) against the CPU.
fn bench(args: &Args<'_>) -> Result<i32, CommandError> {
    let size = args.number(&BENCH_SIZE)? as usize;
    if !weights::SHIPPED_SIZES.contains(&size) {
        return Err(CommandError::usage(format!(
            "--size {size}: 4, 8 or 10 (the shipped models)"
        )));
    }
    let batch = args.number(&BENCH_BATCH)? as usize;
    let reps = args.number(&REPS)?;
    let samples = args.number(&BENCH_SAMPLES)? as usize;
    let exact_queries = args.number(&BENCH_EXACT_QUERIES)? as usize;
    let (model, nets, arm) = bench_models(args, size)?;
    let arm_net = arm.as_ref().map_or(&nets.conditional, |a| &a.net);
    let size = model.size;
    let d = model.sites();
    let mut goals_met = true;
    for observed in goal_sizes(d) {
        let t = time_query(&nets, arm_net, observed, 7, 50.0);
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
    let report = quality_report(&model, &nets, arm.as_ref(), samples, exact_queries, 1);
    let samples_goal_met = [
        &report.mam_conditional_sampler,
        &report.mam_marginal_sampler,
    ]
    .iter()
    .any(|s| s.within_two_se());
    let within_two_se_of_exact = |s: &AgainstTruth| {
        s.magnetisation_z_exact
            .zip(s.neighbour_correlation_z_exact)
            .map(|(m, c)| m <= 2.0 && c <= 2.0)
    };
    let mut quality = json!(report);
    quality["route"] = json!("quality");
    emit(quality);
    let x = query_batch(d, batch, 11);
    let (cpu_values, cpu_ms) = time_ms(100.0, || nets.log_marginals_encoded(&x, batch));
    let mut summary = json!({
        "summary": true,
        "size": size,
        "batch": batch,
        "cpu_mam_queries_per_s": batch as f64 / (cpu_ms * 1e-3),
        "ratio_goal_met": goals_met,
        "samples_within_two_se_of_ground_truth": samples_goal_met,
        "mam_samples_within_two_se_of_exact_moments":
            within_two_se_of_exact(&report.mam_conditional_sampler),
        "arm_samples_within_two_se_of_exact_moments": within_two_se_of_exact(&report.arm_sampler),
        "mean_abs_error_goal_met": report.mean_abs_error_mam.map(|e| e <= 0.05),
    });
    let compute = headless_compute();
    if let Some(ctx) = compute.gpu() {
        // A software adapter (lavapipe, SwiftShader) runs these passes at CPU speed: a small
        // batch and few repeats keep the bench to seconds; its figures are no GPU's.
        let (gpu_batch, gpu_reps) = if ctx.adapter.is_cpu {
            (batch.min(SOFTWARE_ADAPTER_BATCH), reps.min(2))
        } else {
            (batch, reps)
        };
        let (x, cpu_values) = if gpu_batch == batch {
            (x, cpu_values)
        } else {
            let x = query_batch(d, gpu_batch, 11);
            let values = nets.log_marginals_encoded(&x, gpu_batch);
            summary["gpu_note"] = json!(format!(
                "software adapter: GPU figures on a batch of {gpu_batch} and {gpu_reps} repeats"
            ));
            (x, values)
        };
        let gpu = gpu_throughput(ctx, &nets, &x, gpu_batch, gpu_reps, &cpu_values)
            .map_err(CommandError::Failed)?;
        summary["gpu_batch"] = json!(gpu_batch);
        summary["adapter"] = json!(ctx.adapter.name);
        summary["timing"] = json!(gpu.timing);
        summary["gpu_mam_queries_per_s"] = json!(gpu_batch as f64 / (gpu.ms_mam * 1e-3));
        summary["gpu_vs_cpu_mam"] =
            json!(gpu_batch as f64 / (gpu.ms_mam * 1e-3) / (batch as f64 / (cpu_ms * 1e-3)));
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

/// The MaM (`--weights`, else shipped for `size`) and the ARM (`--arm-weights`, else shipped
/// for the MaM's target, else none) that `bench mam` measures.
fn bench_models(
    args: &Args<'_>,
    size: usize,
) -> Result<(Ising, MamNets, Option<super::arm::Arm>), CommandError> {
    let (model, nets) = match args.text("weights") {
        None => {
            let model =
                Ising::new(size, COUPLING.default, FIELD.default).map_err(CommandError::Failed)?;
            let (_, nets) = weights::shipped(&model)
                .ok_or_else(|| CommandError::failed("the shipped weights did not load"))?;
            (model, nets)
        }
        Some(path) => {
            let (h, nets) = read_file(path, weights::from_bytes)?;
            let model = Ising::new(h.size, h.coupling, h.field).map_err(CommandError::Failed)?;
            (model, nets)
        }
    };
    let arm = match args.text("arm-weights") {
        Some(path) => {
            let (h, arm) = read_file(path, weights::arm_from_bytes)?;
            if (h.size, h.coupling, h.field) != (model.size, model.coupling, model.field) {
                return Err(CommandError::failed(format!(
                    "{path} was trained for L = {}, J = {}, h = {}; the MaM for L = {}, J = {}, h = {}",
                    h.size, h.coupling, h.field, model.size, model.coupling, model.field
                )));
            }
            Some(arm)
        }
        None => weights::shipped_arm(&model).map(|(_, arm)| arm),
    };
    Ok((model, nets, arm))
}

/// The GPU part's batch on a software adapter.
const SOFTWARE_ADAPTER_BATCH: usize = 64;

/// Reads and parses a weights file, with the path in every message.
fn read_file<T>(path: &str, parse: weights::Parser<T>) -> Result<(WeightsHeader, T), CommandError> {
    let bytes =
        std::fs::read(path).map_err(|e| CommandError::failed(format!("reading {path}: {e}")))?;
    parse(&bytes).map_err(|e| CommandError::failed(format!("{path}: {e}")))
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
