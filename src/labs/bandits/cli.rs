//! `paperlab bandit ...` and `paperlab bench bandits`: JSON out.

use serde_json::json;
use web_time::Instant;

use super::gpu::{BanditKernel, words};
use super::instance::{Instance, MAX_ARMS, MAX_MEMORY, Noise, Preset, Weights};
use super::mc::{JobSpec, McJob, aggregate};
use super::sim::{Algo, Knobs, MAX_HORIZON, MAX_WINDOW, SimConfig, simulate_run};
use crate::cli::Options;
use crate::gpu::Compute;

pub const USAGE: &str =
    "  paperlab bandit [--arms K] [--memory m] [--memory-bound M] [--horizon T] [--runs N]
                 [--seed S] [--instance habituation|satiation|mixed|no-reo]
                 [--weights uniform|geometric] [--decay X] [--noise bernoulli|gaussian]
                 [--sigma X] [--window W] [--losses hab:0.1:0.6,sat:0.3:0.5,...] [--cpu]
                                   weighted tallying bandits: mean complete policy regret
                                   (and its 95% half-width) of every algorithm at T, as JSON
  paperlab bench bandits [--runs N] [--horizon T] [--cpu-runs N]
                                   runs x rounds per second, GPU and CPU, and their ratio";

fn usage_error(e: &str) -> i32 {
    eprintln!("error: {e}\n\n{USAGE}");
    2
}

fn instance_from(o: &Options) -> Result<(Preset, Instance), String> {
    let preset_name: String = o.get("instance", "habituation".to_owned(), |_| true, "a name")?;
    let preset = Preset::from_code(&preset_name).ok_or_else(|| {
        format!("--instance {preset_name}: expected habituation, satiation, mixed or no-reo")
    })?;
    let arms: usize = o.get(
        "arms",
        5,
        |k| (2..=MAX_ARMS).contains(k),
        "an integer in 2..=16",
    )?;
    let memory: usize = o.get(
        "memory",
        16,
        |m| (1..=MAX_MEMORY).contains(m),
        "an integer in 1..=64",
    )?;
    let seed: u64 = o.get("seed", 1, |_| true, "a non-negative integer")?;
    let weights = match o
        .get("weights", "uniform".to_owned(), |_| true, "")?
        .as_str()
    {
        "uniform" => Weights::Uniform,
        "geometric" => Weights::Geometric,
        other => return Err(format!("--weights {other}: expected uniform or geometric")),
    };
    let decay: f64 = o.get(
        "decay",
        0.8,
        |d: &f64| (0.05..=1.0).contains(d),
        "a number in [0.05, 1]",
    )?;
    let sigma: f64 = o.get(
        "sigma",
        0.2,
        |s: &f64| (0.0..=1.0).contains(s),
        "a number in [0, 1]",
    )?;
    let noise = match o
        .get("noise", "bernoulli".to_owned(), |_| true, "")?
        .as_str()
    {
        "bernoulli" => Noise::Bernoulli,
        "gaussian" => Noise::Gaussian { sigma },
        other => return Err(format!("--noise {other}: expected bernoulli or gaussian")),
    };
    let custom: String = o.get("losses", String::new(), |_| true, "")?;
    let arms = if custom.is_empty() {
        preset.arms(arms, seed)
    } else {
        super::instance::arms_from_text(&custom).map_err(|e| format!("--losses: {e}"))?
    };
    Ok((
        preset,
        Instance {
            arms,
            memory,
            weights,
            decay,
            noise,
        },
    ))
}

pub fn main(args: &[&str]) -> i32 {
    match run(args) {
        Ok(code) => code,
        Err(e) => usage_error(&e),
    }
}

fn run(args: &[&str]) -> Result<i32, String> {
    let cpu = args.contains(&"--cpu");
    let rest: Vec<&str> = args.iter().copied().filter(|a| *a != "--cpu").collect();
    let known = [
        "arms",
        "memory",
        "memory-bound",
        "horizon",
        "runs",
        "seed",
        "instance",
        "weights",
        "decay",
        "noise",
        "sigma",
        "window",
        "losses",
    ];
    let o = Options::parse(&rest, &known)?;
    let (preset, instance) = instance_from(&o)?;
    let knobs = Knobs {
        bound: o.get(
            "memory-bound",
            32,
            |m| (1..=512).contains(m),
            "an integer in 1..=512",
        )?,
        horizon: o.get(
            "horizon",
            20_000,
            |t| (1..=MAX_HORIZON).contains(t),
            "an integer in 1..=100000",
        )?,
        window: o.get(
            "window",
            200,
            |w| (1..=MAX_WINDOW).contains(w),
            "an integer in 1..=1024",
        )?,
        seed: o.get::<u64>("seed", 1, |_| true, "a non-negative integer")? as u32,
        checkpoints: 1,
    };
    let runs: usize = o.get(
        "runs",
        1024,
        |r| (1..=super::gpu::MAX_RUNS).contains(r),
        "an integer in 1..=16384",
    )?;
    let compute = if cpu {
        Compute::CpuFallback {
            reason: "--cpu".to_owned(),
        }
    } else {
        crate::cli::headless_compute()
    };
    let kernel = compute.gpu().map(BanditKernel::new);
    let spec = JobSpec {
        instance: instance.clone(),
        knobs,
        algos: Algo::ALL.to_vec(),
        runs,
    };
    let mut job = McJob::new(spec, &compute, kernel.as_ref());
    let result = job.run_to_end(&compute, kernel.as_ref())?;
    let reo = instance.reo();
    let algorithms: serde_json::Map<String, serde_json::Value> = result
        .curves
        .iter()
        .filter_map(|c| {
            let (mean, ci) = result.final_cpr(c.algo)?;
            Some((
                c.algo.key().to_owned(),
                json!({"cpr_mean": mean, "cpr_ci95": ci}),
            ))
        })
        .collect();
    println!(
        "{}",
        json!({
            "instance": preset.code().replace('_', "-"),
            "arms": instance.arm_count(),
            "memory": instance.memory,
            "memory_bound": knobs.bound,
            "horizon": knobs.horizon,
            "runs": result.runs,
            "seed": knobs.seed,
            "losses": super::instance::arms_to_text(&instance.arms),
            "reo_holds": reo.holds,
            "a_star": reo.a_star,
            "device": compute.badge(),
            "seconds": result.seconds,
            "algorithms": algorithms,
        })
    );
    Ok(0)
}

/// GPU vs CPU throughput on the default instance, with the GPU's runs checked against the CPU's.
pub fn bench(args: &[&str]) -> i32 {
    match bench_inner(args) {
        Ok(code) => code,
        Err(e) => usage_error(&e),
    }
}

fn bench_inner(args: &[&str]) -> Result<i32, String> {
    let o = Options::parse(args, &["runs", "horizon", "cpu-runs"])?;
    let runs: usize = o.get(
        "runs",
        16_384,
        |r| (64..=super::gpu::MAX_RUNS).contains(r),
        "64..=16384",
    )?;
    let horizon: u32 = o.get(
        "horizon",
        10_000,
        |t| (100..=MAX_HORIZON).contains(t),
        "100..=100000",
    )?;
    let cpu_runs: usize = o.get("cpu-runs", 16, |r| (1..=1024).contains(r), "1..=1024")?;
    // The page's default instance and learner settings.
    let defaults = super::settings::BanditSettings::default();
    let instance = defaults.instance();
    let knobs = Knobs {
        horizon,
        checkpoints: 16,
        ..defaults.knobs()
    };
    let cfg = SimConfig::new(&instance, knobs);
    let algos = Algo::ALL;

    // CPU: the reference, one run after another on one core.
    let started = Instant::now();
    let cpu_loss: Vec<Vec<u32>> = algos
        .iter()
        .flat_map(|&a| (0..cpu_runs as u32).map(move |r| (a, r)))
        .map(|(a, r)| simulate_run(&cfg, a, r))
        .collect();
    let cpu_s = started.elapsed().as_secs_f64();
    let cpu_rate = (cpu_runs * algos.len()) as f64 * f64::from(horizon) / cpu_s;

    let compute = crate::cli::headless_compute();
    let Some(ctx) = compute.gpu() else {
        println!("{}", json!({"cpu_run_rounds_per_s": cpu_rate, "gpu": null}));
        return Ok(1);
    };
    let kernel = BanditKernel::new(ctx);
    let job = kernel
        .prepare(ctx, &cfg, &algos, runs, 1024)
        .map_err(|e| e.to_string())?;
    let dispatches = BanditKernel::dispatches_for_horizon(&job);
    let output = kernel
        .submit(ctx, &job, dispatches, true, 3)
        .and_then(|run| run.wait(ctx))
        .map_err(|e| e.to_string())?;
    let gpu_s = output.pass_ms.iter().copied().fold(f64::INFINITY, f64::min) / 1e3;
    let gpu_rate = (job.runs * algos.len()) as f64 * f64::from(horizon) / gpu_s;
    // The GPU's first runs of each algorithm must be the CPU's, bit for bit.
    let got = words(&output.bytes);
    let c = cfg.checkpoints.len();
    let mismatches = algos
        .iter()
        .enumerate()
        .flat_map(|(i, _)| (0..cpu_runs).map(move |r| (i, r)))
        .filter(|&(i, r)| got[(i * job.runs + r) * c..][..c] != cpu_loss[i * cpu_runs + r][..])
        .count();
    let curves = aggregate(&cfg, &algos, job.runs, &got);
    println!(
        "{}",
        json!({
            "adapter": ctx.adapter.name,
            "backend": ctx.adapter.backend,
            "timing": format!("{:?}", output.timing),
            "runs_per_algorithm": job.runs,
            "algorithms": algos.len(),
            "horizon": horizon,
            "memory": instance.memory,
            "memory_bound": knobs.bound,
            "gpu_seconds": gpu_s,
            "gpu_run_rounds_per_s": gpu_rate,
            "cpu_runs_per_algorithm": cpu_runs,
            "cpu_seconds": cpu_s,
            "cpu_run_rounds_per_s": cpu_rate,
            "gpu_over_cpu": gpu_rate / cpu_rate,
            "gpu_cpu_mismatched_runs": mismatches,
            "cpr_at_t": curves.iter().map(|c| (c.algo.key(), c.mean.last().copied())).collect::<std::collections::BTreeMap<_, _>>(),
        })
    );
    Ok(if mismatches == 0 { 0 } else { 1 })
}
