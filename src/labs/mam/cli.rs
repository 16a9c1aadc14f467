//! `paperlab mam train|query` and `paperlab bench mam`.

use serde_json::json;
use web_time::Instant;

use super::ising::{Exact, Ising, MAX_EXACT_SIZE, MAX_SIZE, MIN_SIZE};
use super::nets::{MamNets, observed_in_order};
use super::partial::Partial;
use super::quality::against_exact;
use super::speed::{goal_sizes, query_batch, time_ms, time_query};
use super::train::{TrainConfig, Trainer};
use super::weights::{self, WeightsHeader};
use crate::cli::Options;

pub const USAGE: &str =
    "  paperlab mam train [--size L] [--coupling J] [--field H] [--steps N] [--seed S]
                    [--batch B] [--hidden W] [--lr X] [--out FILE]
                                   energy-based MaM training on the L x L Ising model
                                   (defaults 8, 0.1, 0.2; learning rate decayed to 0 over the
                                   steps, cosine); JSON progress lines, then a final object
                                   with kl_estimate and self_consistency
  paperlab mam query [--size L] [--coupling J] [--field H] [--weights FILE] --assign I:V,...
                                   log p of a partial assignment (I row-major from 0, V 1 or -1)
                                   by MaM (one pass), the autoregressive route and, for L <= 4,
                                   exactly; nats, with the time each took
  paperlab bench mam [--size L] [--batch N] [--reps N] [--weights FILE]
                                   MaM vs autoregressive query time for |S| = D/4, D/2, D, and
                                   batch queries/s on the GPU vs the CPU";

pub fn main(args: &[&str]) -> i32 {
    let result = match args {
        ["train", rest @ ..] => train(rest),
        ["query", rest @ ..] => query(rest),
        _ => Err("expected 'mam train' or 'mam query'".to_owned()),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            2
        }
    }
}

/// The target from `--size --coupling --field`.
fn target(o: &Options, default_size: usize) -> Result<Ising, String> {
    let size = o.get(
        "size",
        default_size,
        |l| (MIN_SIZE..=MAX_SIZE).contains(l),
        &format!("a lattice side from {MIN_SIZE} to {MAX_SIZE}"),
    )?;
    let coupling = o.get(
        "coupling",
        0.1,
        |j: &f64| j.abs() <= 2.0,
        "a coupling J in [-2, 2]",
    )?;
    let field = o.get(
        "field",
        0.2,
        |h: &f64| h.abs() <= 2.0,
        "a field h in [-2, 2]",
    )?;
    Ising::new(size, coupling, field)
}

fn train(args: &[&str]) -> Result<(), String> {
    let o = Options::parse(
        args,
        &[
            "size", "coupling", "field", "steps", "seed", "batch", "hidden", "lr", "out",
        ],
    )?;
    let model = target(&o, 8)?;
    let steps = o.get(
        "steps",
        3000usize,
        |n| (1..=1_000_000).contains(n),
        "1 to 10^6 steps",
    )?;
    let seed = o.get("seed", 1u64, |_| true, "a whole number")?;
    let defaults = TrainConfig::for_size(model.size, seed);
    let batch = o.get(
        "batch",
        defaults.batch,
        |b| (2..=4096).contains(b),
        "a batch of 2 to 4096",
    )?;
    let width = o.get(
        "hidden",
        defaults.hidden[0],
        |w| (4..=2048).contains(w),
        "a hidden width of 4 to 2048",
    )?;
    let lr = o.get(
        "lr",
        defaults.lr,
        |x: &f32| *x > 0.0 && *x <= 1.0,
        "a learning rate in (0, 1]",
    )?;
    let out: Option<String> = o
        .get("out", String::new(), |_| true, "")
        .map(|s| Some(s).filter(|s| !s.is_empty()))?;
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
    for _ in 0..steps {
        trainer.step();
        if trainer.steps.is_multiple_of(every) && trainer.steps < steps {
            println!("{}", report(&trainer, false));
        }
    }
    let mut last = report(&trainer, true);
    last["final"] = json!(true);
    println!("{last}");
    if let Some(path) = out {
        let header = WeightsHeader {
            size: model.size,
            coupling: model.coupling,
            field: model.field,
            steps,
            seed,
            // The output path is not part of what reproduces the file.
            command: format!("paperlab mam train {}", without_out(args).join(" ")),
        };
        std::fs::write(&path, weights::to_bytes(&header, &trainer.nets))
            .map_err(|e| format!("writing {path}: {e}"))?;
        eprintln!("wrote {path}");
    }
    Ok(())
}

/// `args` without `--out FILE`.
fn without_out<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut kept = Vec::with_capacity(args.len());
    let mut rest = args.iter();
    while let Some(&a) = rest.next() {
        if a == "--out" {
            rest.next();
        } else {
            kept.push(a);
        }
    }
    kept
}

/// The networks for a query: `--weights FILE`, or the shipped ones for the default target.
fn load_nets(o: &Options, model: &Ising) -> Result<MamNets, String> {
    let path: String = o.get("weights", String::new(), |_| true, "")?;
    if path.is_empty() {
        return weights::shipped(model).map(|(_, nets)| nets).ok_or_else(|| {
            format!(
                "no shipped weights for L = {}, J = {}, h = {} (shipped: 4x4 and 8x8 at J = 0.1, h = 0.2); train some with 'paperlab mam train --out FILE' and pass --weights FILE",
                model.size, model.coupling, model.field
            )
        });
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("reading {path}: {e}"))?;
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

fn query(args: &[&str]) -> Result<(), String> {
    let o = Options::parse(args, &["size", "coupling", "field", "weights", "assign"])?;
    let model = target(&o, 8)?;
    let assign: String = o.get("assign", String::new(), |_| true, "")?;
    let partial = Partial::parse(&assign, model.sites())?;
    let nets = load_nets(&o, &model)?;
    let order = observed_in_order(&partial, &[]);
    let (log_p_model, ms_mam) = time_ms(20.0, || nets.log_marginal(&partial));
    let (log_p_arm, ms_arm) = time_ms(20.0, || nets.log_marginal_arm(&partial, &order));
    let log_p_exact = if model.size <= MAX_EXACT_SIZE {
        Exact::new(model).ok().map(|e| e.log_marginal(&partial))
    } else {
        None
    };
    println!(
        "{}",
        json!({
            "log_p_model": log_p_model,
            "log_p_arm": log_p_arm,
            "log_p_exact": log_p_exact,
            "ms_mam": ms_mam,
            "ms_arm": ms_arm,
            "observed": order.len(),
        })
    );
    Ok(())
}

/// `paperlab bench mam`: the per-query ratio on the CPU for |S| = D/4, D/2, D, then batch
/// throughput on the GPU (if any) against the CPU, each route checked against the CPU values.
pub fn bench(args: &[&str]) -> i32 {
    match run_bench(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            2
        }
    }
}

fn run_bench(args: &[&str]) -> Result<i32, String> {
    let o = Options::parse(args, &["size", "batch", "reps", "weights"])?;
    let size = o.get(
        "size",
        8usize,
        |l| [4, 8].contains(l),
        "4 or 8 (the shipped models)",
    )?;
    let batch = o.get(
        "batch",
        1024usize,
        |b| (1..=16384).contains(b),
        "a batch of 1 to 16384",
    )?;
    let reps = o.get(
        "reps",
        20u32,
        |r| (1..=1000).contains(r),
        "1 to 1000 repetitions",
    )?;
    let path: String = o.get("weights", String::new(), |_| true, "")?;
    let (model, nets) = if path.is_empty() {
        let model = Ising::new(size, 0.1, 0.2)?;
        let (_, nets) = weights::shipped(&model).ok_or("the shipped weights did not load")?;
        (model, nets)
    } else {
        let bytes = std::fs::read(&path).map_err(|e| format!("reading {path}: {e}"))?;
        let (h, nets) = weights::from_bytes(&bytes).map_err(|e| format!("{path}: {e}"))?;
        (Ising::new(h.size, h.coupling, h.field)?, nets)
    };
    let size = model.size;
    let d = model.sites();
    let mut goals_met = true;
    for observed in goal_sizes(d) {
        let t = time_query(&nets, observed, 7, 50.0);
        let goal = observed as f64 / 2.0;
        goals_met &= t.ratio() >= goal;
        println!(
            "{}",
            json!({
                "route": "cpu single query",
                "size": size,
                "observed": observed,
                "ms_mam": t.ms_mam,
                "ms_arm": t.ms_arm,
                "ms_arm_batched": t.ms_arm_batched,
                "ratio_arm_vs_mam": t.ratio(),
                "ratio_arm_batched_vs_mam": t.ms_arm_batched / t.ms_mam.max(1e-12),
                "goal_ratio": goal,
            })
        );
    }
    // Sample quality without exact marginals: statistics of MaM's any-order samples against a
    // long Gibbs run (exact samples on 4x4).
    use super::settings::Sampler;
    let by_conditional = super::lab::Gallery::complete(&model, &nets, 512, 1, Sampler::Conditional);
    let conditional_stats = super::lab::SampleStats::of(&model, &by_conditional.model_samples);
    let gallery = super::lab::Gallery::complete(&model, &nets, 512, 1, Sampler::Marginals);
    let model_stats = super::lab::SampleStats::of(&model, &gallery.model_samples);
    let reference_stats = super::lab::SampleStats::of(&model, &gallery.reference_samples);
    // Forward KL(p || model) on the reference samples, for both routes (exact log Z).
    let forward_kl = super::ising::log_z_transfer(&model).ok().map(|log_z| {
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
    println!(
        "{}",
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
    );
    let x = query_batch(d, batch, 11);
    let (cpu_values, cpu_ms) = time_ms(100.0, || nets.log_marginals_encoded(&x, batch));
    let mut summary = json!({
        "summary": true,
        "size": size,
        "batch": batch,
        "cpu_mam_queries_per_s": batch as f64 / (cpu_ms * 1e-3),
        "ratio_goal_met": goals_met,
    });
    let compute = crate::cli::headless_compute();
    if let Some(ctx) = compute.gpu() {
        let gpu = gpu_throughput(ctx, &nets, &x, batch, reps, &cpu_values)?;
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
    println!("{summary}");
    Ok(0)
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
    use crate::gpu::timing::median;
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
