//! `paperlab bandit ...` and `paperlab bench bandits`: JSON out.

use serde_json::json;
use web_time::Instant;

use super::gpu::{BanditKernel, words};
use super::mc::{JobSpec, McJob, aggregate};
use super::settings::BanditSettings;
use super::sim::{Algo, Knobs, MAX_HORIZON, SimConfig, simulate_run};
use crate::command::{
    Args, CommandError, LabCommand, emit, flag_arg, headless_compute, number_arg, settings_args,
    text_arg,
};
use crate::gpu::Compute;
use crate::share::{Flag, Setting};

/// The page's settings `paperlab bandit` takes (the link keys; `bound` is `--memory-bound`).
const RUN_KEYS: &[&str] = &[
    "instance", "arms", "memory", "weights", "decay", "noise", "sigma", "losses", "bound",
    "horizon", "runs", "window", "seed",
];

const CPU: Flag =
    Flag::new("cpu", false).help("Simulate on the CPU (the reference) even where there is a GPU.");
const BENCH_RUNS: Setting<u64> = Setting::new("runs", 16_384, 64, super::gpu::MAX_RUNS as u64)
    .help("Runs per algorithm on the GPU.");
const BENCH_HORIZON: Setting<u32> = Setting::new("horizon", 10_000, 100, MAX_HORIZON)
    .unit("rounds")
    .help("Rounds per run.");
const CPU_RUNS: Setting<u64> = Setting::new("cpu_runs", 16, 1, 1024)
    .help("Runs per algorithm on the CPU (the reference, one core); checked against the GPU's.");

pub fn commands() -> Vec<LabCommand> {
    vec![
        LabCommand {
            path: &["bandit"],
            about: "weighted tallying bandits: mean complete policy regret (and its 95% half-width) of every algorithm at T, as JSON",
            long_about: "The options are the Bandits page's settings (link keys, ranges and defaults); --memory-bound is the page's M (link key bound).",
            args: || {
                let mut args = settings_args(&BanditSettings::default(), RUN_KEYS);
                args.push(flag_arg(&CPU));
                args
            },
            run,
        },
        LabCommand {
            path: &["bandit", "sweep"],
            about: "mean CPR at T of every algorithm across a sweep of the horizon T, the memory bound M, the true memory m or the number of arms K: one JSON line per point (the page's sweep views)",
            long_about: "The other options are the Bandits page's settings. --over memory raises M to m where --memory-bound is smaller; --over bound runs the paper's algorithm only.",
            args: || {
                let mut args = settings_args(&BanditSettings::default(), RUN_KEYS);
                args.push(text_arg(
                    "over",
                    "AXIS",
                    "horizon, bound, memory or arms [default memory]",
                ));
                args.push(flag_arg(&CPU));
                args
            },
            run: sweep,
        },
        LabCommand {
            path: &["bench", "bandits"],
            about: "runs x rounds per second, GPU and CPU, and their ratio (the page's default instance)",
            long_about: "",
            args: || {
                vec![
                    number_arg(&BENCH_RUNS),
                    number_arg(&BENCH_HORIZON),
                    number_arg(&CPU_RUNS),
                ]
            },
            run: bench,
        },
    ]
}

fn run(args: &Args<'_>) -> Result<i32, CommandError> {
    let settings = args.settings(BanditSettings::default(), RUN_KEYS)?;
    let cpu = args.flag(&CPU)?;
    let preset = settings.instance;
    let instance = settings.instance();
    let knobs = Knobs {
        checkpoints: 1,
        ..settings.knobs()
    };
    let runs = settings.runs as usize;
    let compute = if cpu {
        Compute::CpuFallback {
            reason: "--cpu".to_owned(),
        }
    } else {
        headless_compute()
    };
    let kernel = compute.gpu().map(BanditKernel::new);
    let spec = JobSpec {
        instance: instance.clone(),
        knobs,
        algos: Algo::ALL.to_vec(),
        runs,
    };
    let mut job = McJob::new(spec, &compute, kernel.as_ref());
    let result = job
        .run_to_end(&compute, kernel.as_ref())
        .map_err(CommandError::failed)?;
    let reo = instance.reo();
    let algorithms = cpr_by_algorithm(&result);
    emit(json!({
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
    }));
    Ok(0)
}

/// {algorithm key: {cpr_mean, cpr_ci95}} at the horizon.
fn cpr_by_algorithm(result: &super::mc::McResult) -> serde_json::Map<String, serde_json::Value> {
    result
        .curves
        .iter()
        .filter_map(|c| {
            let (mean, ci) = result.final_cpr(c.algo)?;
            Some((
                c.algo.key().to_owned(),
                json!({"cpr_mean": mean, "cpr_ci95": ci}),
            ))
        })
        .collect()
}

/// One line per point of a sweep; the page's points (`super::lab`).
fn sweep(args: &Args<'_>) -> Result<i32, CommandError> {
    let settings = args.settings(BanditSettings::default(), RUN_KEYS)?;
    let over = args.text("over").unwrap_or("memory");
    let points = sweep_points(&settings, over)?;
    let compute = if args.flag(&CPU)? {
        Compute::CpuFallback {
            reason: "--cpu".to_owned(),
        }
    } else {
        headless_compute()
    };
    let kernel = compute.gpu().map(BanditKernel::new);
    for (value, point, algos) in points {
        let instance = point.instance();
        let knobs = Knobs {
            checkpoints: 1,
            ..point.knobs()
        };
        let spec = JobSpec {
            instance: instance.clone(),
            knobs,
            algos,
            runs: point.runs as usize,
        };
        let result = McJob::new(spec, &compute, kernel.as_ref())
            .run_to_end(&compute, kernel.as_ref())
            .map_err(CommandError::failed)?;
        let algorithms = cpr_by_algorithm(&result);
        emit(json!({
            "over": over,
            "value": value,
            "arms": instance.arm_count(),
            "memory": instance.memory,
            "memory_bound": knobs.bound,
            "horizon": knobs.horizon,
            "runs": result.runs,
            "reo_holds": instance.reo().holds,
            "device": compute.badge(),
            "algorithms": algorithms,
        }));
    }
    Ok(0)
}

/// (swept value, the point's settings, its algorithms) of `bandit sweep --over AXIS`.
type SweepPoint = (u32, BanditSettings, Vec<Algo>);

fn sweep_points(settings: &BanditSettings, over: &str) -> Result<Vec<SweepPoint>, CommandError> {
    use super::lab::{ARMS_POINTS, MEMORY_POINTS, bound_points, horizon_points, memory_point};
    let custom = !settings.losses.trim().is_empty();
    let points = match over {
        "horizon" => horizon_points(settings.horizon)
            .into_iter()
            .map(|t| {
                (
                    t,
                    BanditSettings {
                        horizon: t,
                        ..settings.clone()
                    },
                    Algo::LEARNERS.to_vec(),
                )
            })
            .collect(),
        "bound" => bound_points(settings.memory)
            .into_iter()
            .map(|m| {
                (
                    m,
                    BanditSettings {
                        bound: m,
                        ..settings.clone()
                    },
                    vec![Algo::WtbSe],
                )
            })
            .collect(),
        "memory" => MEMORY_POINTS
            .iter()
            .map(|&m| (m, memory_point(settings, m), Algo::LEARNERS.to_vec()))
            .collect(),
        "arms" if custom => {
            return Err(CommandError::Usage(
                "--over arms: custom --losses fix the number of arms; drop them to sweep K".into(),
            ));
        }
        "arms" => ARMS_POINTS
            .iter()
            .map(|&k| {
                (
                    k,
                    BanditSettings {
                        arms: k,
                        ..settings.clone()
                    },
                    Algo::LEARNERS.to_vec(),
                )
            })
            .collect(),
        other => {
            return Err(CommandError::Usage(format!(
                "--over {other:?}: expected horizon, bound, memory or arms"
            )));
        }
    };
    Ok(points)
}

/// GPU vs CPU throughput on the default instance, with the GPU's runs checked against the CPU's.
fn bench(args: &Args<'_>) -> Result<i32, CommandError> {
    let runs = args.number(&BENCH_RUNS)? as usize;
    let horizon = args.number(&BENCH_HORIZON)?;
    let cpu_runs = args.number(&CPU_RUNS)? as usize;
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

    let compute = headless_compute();
    let Some(ctx) = compute.gpu() else {
        emit(json!({"cpu_run_rounds_per_s": cpu_rate, "gpu": null}));
        return Ok(1);
    };
    let kernel = BanditKernel::new(ctx);
    let job = kernel.prepare(ctx, &cfg, &algos, runs, 1024)?;
    let dispatches = BanditKernel::dispatches_for_horizon(&job);
    let output = kernel
        .submit(ctx, &job, dispatches, true, 3)
        .and_then(|run| run.wait(ctx))?;
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
    emit(json!({
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
    }));
    Ok(if mismatches == 0 { 0 } else { 1 })
}
