//! `paperlab gfn ...`: training from the command line, JSON lines out.

use super::env::{Hypergrid, RewardSpec};
use super::model::Loss;
use super::run::TrainingRun;
use super::train::TrainConfig;
use crate::cli::Options;

pub const USAGE: &str =
    "  paperlab gfn train [--ndim D] [--height H] [--r0 X] [--r1 X] [--r2 X] [--loss tb|db]
                     [--trajectories N] [--batch B] [--hidden N] [--layers L] [--lr X]
                     [--lr-logz X] [--epsilon X] [--seed S] [--eval-every N] [--eval-samples N]
                                   train on the hypergrid; JSON lines of progress, then a
                                   final object (l1, jsd, logz, logz_true, modes_found, ...)
  paperlab gfn pretrain [--ndim D] [--height H] [--trajectories N] [--batch B] [--hidden N]
                        [--layers L] [--lr X] [--epsilon X] [--teleport true|false] [--seed S]
                        [--eval-every N] [--out FILE]
                                   reward-free OC-GFN pre-training; success rate as JSON lines
  paperlab gfn finetune [--weights FILE] [--r0 X] [--r1 X] [--r2 X] [--trajectories N]
                        [--seeds K] [--every N] [--batch B]
                                   fine-tuned OC-GFN vs GFlowNet from scratch: modes found";

pub fn main(args: &[&str]) -> i32 {
    let result = match args {
        ["train", rest @ ..] => Some(train(rest)),
        ["pretrain", rest @ ..] => Some(pretrain(rest)),
        ["finetune", rest @ ..] => Some(finetune(rest)),
        _ => None,
    };
    match result {
        Some(Ok(code)) => code,
        Some(Err(e)) => {
            eprintln!("error: {e}\n\n{USAGE}");
            2
        }
        None => {
            eprintln!("error: unknown gfn command\n\n{USAGE}");
            2
        }
    }
}

fn pretrain(args: &[&str]) -> Result<i32, String> {
    use super::oc::{OcConfig, OcTrainer, success_rate};
    let known = [
        "ndim",
        "height",
        "trajectories",
        "batch",
        "hidden",
        "layers",
        "lr",
        "epsilon",
        "teleport",
        "seed",
        "eval-every",
        "out",
    ];
    let o = Options::parse(args, &known)?;
    let ndim: usize = o.get("ndim", 2, |d| (2..=4).contains(d), "an integer in 2..=4")?;
    let height: usize = o.get(
        "height",
        8,
        |h| (4..=64).contains(h),
        "an integer in 4..=64",
    )?;
    let grid = Hypergrid::new(ndim, height);
    let config = OcConfig {
        batch: o.get("batch", 32, |b| (2..=4096).contains(b), "2..=4096")?,
        hidden: o.get("hidden", 256, |h| (1..=4096).contains(h), "1..=4096")?,
        layers: o.get("layers", 2, |l| (1..=8).contains(l), "1..=8")?,
        lr: o.get(
            "lr",
            1e-3,
            |x: &f32| x.is_finite() && *x > 0.0,
            "a number > 0",
        )?,
        epsilon: o.get(
            "epsilon",
            0.05,
            |x: &f32| (0.0..=1.0).contains(x),
            "a number in [0, 1]",
        )?,
        teleport: o.get("teleport", true, |_| true, "true or false")?,
        seed: o.get("seed", 0, |_| true, "an integer")?,
    };
    let trajectories: u64 = o.get(
        "trajectories",
        200_000,
        |n| *n >= 1 && *n <= 100_000_000,
        "1..=1e8",
    )?;
    let eval_every: u64 = o.get("eval-every", 10_000, |n| *n >= 1, "an integer >= 1")?;
    let out: String = o.get("out", String::new(), |_| true, "a path")?;
    if !grid.is_enumerable() {
        return Err(format!(
            "{} states: pre-training needs an enumerable grid (<= 2^20 states)",
            grid.n_states()
        ));
    }
    let outcomes: Vec<_> = (0..grid.n_states()).map(|i| grid.state(i)).collect();
    let mut trainer = OcTrainer::new(grid, config);
    let started = web_time::Instant::now();
    let mut next_eval = eval_every;
    let mut loss = 0.0;
    let report = |trainer: &OcTrainer, loss: f64, final_line: bool| {
        let rate = success_rate(&trainer.model, &outcomes, 12345);
        serde_json::json!({
            "trajectories": trainer.trajectories,
            "loss": loss,
            "success_rate": rate,
            "outcomes": outcomes.len(),
            "seconds": started.elapsed().as_secs_f64(),
            "final": final_line,
        })
    };
    while trainer.trajectories < trajectories {
        loss = trainer.iterate();
        if trainer.trajectories >= next_eval && trainer.trajectories < trajectories {
            next_eval += eval_every;
            println!("{}", report(&trainer, loss, false));
        }
    }
    println!("{}", report(&trainer, loss, true));
    if !out.is_empty() {
        std::fs::write(&out, trainer.model.net.to_bytes())
            .map_err(|e| format!("cannot write {out}: {e}"))?;
        eprintln!("wrote {out}");
    }
    Ok(0)
}

fn train(args: &[&str]) -> Result<i32, String> {
    let known = [
        "ndim",
        "height",
        "r0",
        "r1",
        "r2",
        "loss",
        "trajectories",
        "batch",
        "hidden",
        "layers",
        "lr",
        "lr-logz",
        "epsilon",
        "seed",
        "eval-every",
        "eval-samples",
    ];
    let o = Options::parse(args, &known)?;
    let ndim: usize = o.get("ndim", 2, |d| (2..=4).contains(d), "an integer in 2..=4")?;
    let height: usize = o.get(
        "height",
        8,
        |h| (4..=64).contains(h),
        "an integer in 4..=64",
    )?;
    let positive = |x: &f64| x.is_finite() && *x >= 0.0;
    let r0: f64 = o.get(
        "r0",
        0.1,
        |x: &f64| x.is_finite() && *x > 0.0,
        "a number > 0",
    )?;
    let r1: f64 = o.get("r1", 0.5, positive, "a number >= 0")?;
    let r2: f64 = o.get("r2", 2.0, positive, "a number >= 0")?;
    let loss = match o
        .get(
            "loss",
            "tb".to_owned(),
            |s| s == "tb" || s == "db",
            "tb or db",
        )?
        .as_str()
    {
        "db" => Loss::Db,
        _ => Loss::Tb,
    };
    let trajectories: u64 = o.get(
        "trajectories",
        10_000,
        |n| *n >= 1 && *n <= 100_000_000,
        "1..=1e8",
    )?;
    let config = TrainConfig {
        loss,
        batch: o.get("batch", 16, |b| (1..=4096).contains(b), "1..=4096")?,
        hidden: o.get("hidden", 256, |h| (1..=4096).contains(h), "1..=4096")?,
        hidden_layers: o.get("layers", 2, |l| (1..=8).contains(l), "1..=8")?,
        lr: o.get(
            "lr",
            1e-3,
            |x: &f32| x.is_finite() && *x > 0.0,
            "a number > 0",
        )?,
        lr_log_z: o.get(
            "lr-logz",
            0.1,
            |x: &f32| x.is_finite() && *x > 0.0,
            "a number > 0",
        )?,
        epsilon: o.get(
            "epsilon",
            0.0,
            |x: &f32| (0.0..=1.0).contains(x),
            "a number in [0, 1]",
        )?,
        seed: o.get("seed", 0, |_| true, "an integer")?,
    };
    let eval_every: u64 = o.get("eval-every", 1000, |n| *n >= 1, "an integer >= 1")?;
    let eval_samples: usize = o.get(
        "eval-samples",
        100_000,
        |n| (1..=10_000_000).contains(n),
        "1..=1e7",
    )?;
    let grid = Hypergrid::new(ndim, height);
    let mut run = TrainingRun::new(grid, RewardSpec::Standard { r0, r1, r2 }, config);
    let mut next_eval = eval_every;
    while run.trainer.trajectories < trajectories {
        run.iterate();
        if run.trainer.trajectories >= next_eval && run.trainer.trajectories < trajectories {
            next_eval += eval_every;
            println!(
                "{}",
                serde_json::to_string(&run.evaluate(eval_samples)).unwrap_or_default()
            );
        }
    }
    let last = run.evaluate(eval_samples);
    let mut final_json = serde_json::to_value(&last).unwrap_or_default();
    if let Some(map) = final_json.as_object_mut() {
        map.insert("final".to_owned(), true.into());
    }
    if let Some(map) = final_json.as_object_mut() {
        let [rollout, loss, adam] = run.trainer.phase_seconds;
        map.insert("seconds_rollout".to_owned(), rollout.into());
        map.insert("seconds_loss_backward".to_owned(), loss.into());
        map.insert("seconds_optimizer".to_owned(), adam.into());
    }
    println!("{final_json}");
    Ok(0)
}

/// Fine-tuned OC-GFN against a GFlowNet trained from scratch on the same reward: modes found
/// against training trajectories for several seeds; plus the exact conversion's L1.
fn finetune(args: &[&str]) -> Result<i32, String> {
    use super::finetune::{FineTuneConfig, FineTuner};
    use super::metrics::ModesFound;
    use super::oc::{OcModel, exact_conversion};
    use super::sample::terminal_distribution;
    let known = [
        "weights",
        "r0",
        "r1",
        "r2",
        "trajectories",
        "seeds",
        "every",
        "batch",
    ];
    let o = Options::parse(args, &known)?;
    let weights: String = o.get(
        "weights",
        "assets/gfn/oc-2d-h8.plnn".to_owned(),
        |_| true,
        "a path",
    )?;
    let bytes = std::fs::read(&weights).map_err(|e| format!("cannot read {weights}: {e}"))?;
    let net = crate::nn::Mlp::from_bytes(&bytes).map_err(|e| format!("{weights}: {e}"))?;
    let grid = super::oc_weights::grid_of(&net)
        .ok_or_else(|| format!("{weights}: not an OC-GFN for a hypergrid"))?;
    let oc = OcModel { grid, net };
    let positive = |x: &f64| x.is_finite() && *x >= 0.0;
    let reward = RewardSpec::Standard {
        r0: o.get(
            "r0",
            0.01,
            |x: &f64| x.is_finite() && *x > 0.0,
            "a number > 0",
        )?,
        r1: o.get("r1", 0.5, positive, "a number >= 0")?,
        r2: o.get("r2", 2.0, positive, "a number >= 0")?,
    };
    let trajectories: u64 = o.get(
        "trajectories",
        4000,
        |n| *n >= 1 && *n <= 10_000_000,
        "1..=1e7",
    )?;
    let seeds: u64 = o.get("seeds", 3, |n| (1..=32).contains(n), "1..=32")?;
    let every: u64 = o.get("every", 200, |n| *n >= 1, ">= 1")?;
    let batch: usize = o.get("batch", 16, |b| (1..=1024).contains(b), "1..=1024")?;
    // The exact conversion (enumeration over outcomes) as a check of the pre-trained flows.
    let log_probs = exact_conversion(&oc, &reward);
    let exact = terminal_distribution(&grid, &log_probs, grid.n_actions());
    let target =
        super::env::Target::enumerate(grid, &reward).ok_or("grid too large to enumerate")?;
    let exact_l1: f64 = exact
        .iter()
        .zip(&target.probabilities)
        .map(|(a, b)| (a - b).abs())
        .sum();
    println!(
        "{}",
        serde_json::json!({"exact_conversion_l1": exact_l1, "modes_total": target.mode_count})
    );
    let mut finals = Vec::new();
    for seed in 0..seeds {
        let mut tuner = FineTuner::new(
            oc.clone(),
            reward.clone(),
            FineTuneConfig {
                batch,
                seed,
                ..FineTuneConfig::default()
            },
        );
        let mut scratch = super::train::Trainer::new(
            grid,
            reward.clone(),
            TrainConfig {
                batch,
                seed,
                ..TrainConfig::default()
            },
        );
        let mut scratch_modes = ModesFound::new(&target);
        let mut next = every;
        let (mut ft_first_all, mut sc_first_all) = (None, None);
        while tuner.trajectories < trajectories || scratch.trajectories < trajectories {
            if tuner.trajectories < trajectories {
                tuner.iterate();
            }
            if scratch.trajectories < trajectories {
                scratch.iterate();
                for x in &scratch.last_terminals {
                    scratch_modes.record(&target, grid.index(x));
                }
            }
            let ft = tuner.modes.as_ref().map_or(0, |m| m.count);
            if ft == target.mode_count && ft_first_all.is_none() {
                ft_first_all = Some(tuner.trajectories);
            }
            if scratch_modes.count == target.mode_count && sc_first_all.is_none() {
                sc_first_all = Some(scratch.trajectories);
            }
            if tuner.trajectories >= next {
                next += every;
                println!(
                    "{}",
                    serde_json::json!({"seed": seed, "trajectories": tuner.trajectories, "finetune_modes": ft, "scratch_modes": scratch_modes.count})
                );
            }
        }
        finals.push(serde_json::json!({
            "seed": seed,
            "finetune_all_modes_at": ft_first_all,
            "scratch_all_modes_at": sc_first_all,
            "finetune_modes": tuner.modes.as_ref().map_or(0, |m| m.count),
            "scratch_modes": scratch_modes.count,
        }));
    }
    println!(
        "{}",
        serde_json::json!({"final": true, "modes_total": target.mode_count, "exact_conversion_l1": exact_l1, "runs": finals})
    );
    Ok(0)
}

/// `paperlab bench gfn`: training throughput (TB, 2D H=8, batch 16, 2 x 256, one core) and
/// sampling throughput of the GPU sampler against the CPU reference, one JSON object per line.
pub fn bench(args: &[&str]) -> i32 {
    use super::gpu::{GfnSamplerKernels, decode_terminals};
    use super::sample::sample_terminals;
    use crate::gpu::GpuContext;
    let known = ["trajectories", "samples"];
    let parsed = Options::parse(args, &known).and_then(|o| {
        Ok((
            o.get(
                "trajectories",
                10_000u64,
                |n| (16..=10_000_000).contains(n),
                "16..=1e7",
            )?,
            o.get(
                "samples",
                50_000usize,
                |n| (1_000..=10_000_000).contains(n),
                "1000..=1e7",
            )?,
        ))
    });
    let (trajectories, samples) = match parsed {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let grid = Hypergrid::new(2, 8);
    let reward = RewardSpec::Standard {
        r0: 0.1,
        r1: 0.5,
        r2: 2.0,
    };
    let mut trainer = super::train::Trainer::new(grid, reward, TrainConfig::default());
    // Warm-up (allocations, caches), then the timed run.
    for _ in 0..20 {
        trainer.iterate();
    }
    let start_trajectories = trainer.trajectories;
    let started = web_time::Instant::now();
    while trainer.trajectories - start_trajectories < trajectories {
        trainer.iterate();
    }
    let seconds = started.elapsed().as_secs_f64();
    let trained = trainer.trajectories - start_trajectories;
    println!(
        "{}",
        serde_json::json!({
            "bench": "gfn_train", "loss": "tb", "ndim": 2, "height": 8, "batch": 16, "hidden": "2x256",
            "trajectories": trained, "seconds": seconds, "trajectories_per_s": trained as f64 / seconds,
            "torchgfn_reference_trajectories_per_s": 1150.0,
        })
    );
    let model = trainer.model.clone();
    let started = web_time::Instant::now();
    let cpu = sample_terminals(&model, 1, 0, samples);
    let cpu_seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"bench": "gfn_sample", "engine": "cpu", "samples": cpu.len(), "seconds": cpu_seconds,
            "samples_per_s": cpu.len() as f64 / cpu_seconds})
    );
    let gpu = GpuContext::new_headless().and_then(|ctx| {
        let kernels = GfnSamplerKernels::new(&ctx);
        let device = kernels.prepare(&ctx, &model, samples)?;
        let out = kernels
            .submit(&ctx, &device, 1, 0, samples, 2)?
            .wait(&ctx)?;
        let terminals = decode_terminals(&out.bytes, 2)?;
        Ok((ctx.adapter.name.clone(), out, terminals.len()))
    });
    match gpu {
        Ok((adapter, out, n)) => {
            let ms = crate::gpu::timing::median(&out.pass_ms);
            println!(
                "{}",
                serde_json::json!({"bench": "gfn_sample", "engine": "gpu", "adapter": adapter, "samples": n,
                    "ms_median": ms, "timing": out.timing, "samples_per_s": n as f64 / (ms * 1e-3),
                    "gpu_over_cpu": (n as f64 / (ms * 1e-3)) / (cpu.len() as f64 / cpu_seconds)})
            );
            0
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::json!({"bench": "gfn_sample", "engine": "gpu", "error": e.to_string()})
            );
            1
        }
    }
}
