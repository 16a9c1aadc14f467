//! `paperlab gfn train|pretrain|finetune` and `paperlab bench gfn`: JSON lines out.
//!
//! Options the page also has are its settings (`settings.rs`: same keys, ranges and help);
//! a command changes only the defaults it needs (`base` below). Options only a command has
//! (`--trajectories`, `--out`) are defined here.

use serde_json::json;

use super::env::{Hypergrid, RewardSpec};
use super::run::TrainingRun;
use super::settings::GfnSettings;
use super::train::Trainer;
use crate::command::{
    Args, CommandError, INTERRUPTED_EXIT_CODE, LabCommand, Progress, catch_interrupts, emit,
    flag_arg, interrupted, number_arg, output_arg, settings_args, text_arg,
};
use crate::share::{Flag, Setting};

const TRAIN_KEYS: &[&str] = &[
    "ndim",
    "height",
    "r0",
    "r1",
    "r2",
    "loss",
    "pb",
    "batch",
    "hidden",
    "layers",
    "lr",
    "lr_logz",
    "lr_half_life",
    "epsilon",
    "seed",
    "eval_every",
    "eval_samples",
];
const PRETRAIN_KEYS: &[&str] = &[
    "ndim",
    "height",
    "batch",
    "hidden",
    "layers",
    "lr",
    "epsilon",
    "seed",
    "eval_every",
];
const FINETUNE_KEYS: &[&str] = &["r0", "r1", "r2", "batch"];

const TRAIN_TRAJECTORIES: Setting<u64> =
    Setting::new("trajectories", 10_000, 1, 100_000_000).help("Training trajectories in all.");
const PRETRAIN_TRAJECTORIES: Setting<u64> =
    Setting::new("trajectories", 200_000, 1, 100_000_000).help("Pre-training trajectories.");
const FINETUNE_TRAJECTORIES: Setting<u64> = Setting::new("trajectories", 4000, 1, 10_000_000)
    .help("Training trajectories per seed, for each of the two methods.");
const BENCH_TRAJECTORIES: Setting<u64> = Setting::new("trajectories", 10_000, 16, 10_000_000)
    .help("Timed training trajectories (after 20 warm-up batches).");
const BENCH_SAMPLES: Setting<u64> = Setting::new("samples", 50_000, 1000, 10_000_000)
    .help("Trajectories sampled by the CPU reference and by the GPU sampler.");
const SEEDS: Setting<u64> = Setting::new("seeds", 3, 1, 32).help("Seeds 0..K-1, one run each.");
const EVERY: Setting<u64> =
    Setting::new("every", 200, 1, 10_000_000).help("Trajectories between progress lines.");
const TELEPORT: Flag = Flag::new("teleport", false).help(
    "Outcome teleportation: add the trajectory's log R(x|y) to every transition's target \
     (measured to slow pre-training; the shipped weights train without it).",
);

const F16: Flag = Flag::new("f16", false).help(
    "Write the network as f16 (half the bytes, for weights the page fetches); the final success \
     rate is measured on the rounded network, as the file holds it.",
);

/// The page's settings with a command's own defaults.
fn pretrain_base() -> GfnSettings {
    let oc = super::oc::OcConfig::default();
    GfnSettings {
        batch: oc.batch as u32,
        epsilon: f64::from(oc.epsilon),
        eval_every: 10_000,
        ..GfnSettings::default()
    }
}

fn train_base() -> GfnSettings {
    // More samples than the page: the CLI's sampled L1 is a figure people quote.
    GfnSettings {
        eval_samples: 100_000,
        ..GfnSettings::default()
    }
}

fn finetune_base() -> GfnSettings {
    // The sparse reward on which training from scratch struggles (the paper's setting).
    GfnSettings {
        r0: 0.01,
        ..GfnSettings::default()
    }
}

pub fn commands() -> Vec<LabCommand> {
    vec![
        LabCommand {
            path: &["gfn", "train"],
            about: "train a GFlowNet on the hypergrid; JSON lines of progress, then a final object",
            long_about: "The final object holds l1, jsd, logz, logz_true, modes_found and the \
                time spent in rollouts, loss/backward and the optimiser.",
            args: || {
                let mut args = settings_args(&train_base(), TRAIN_KEYS);
                args.push(number_arg(&TRAIN_TRAJECTORIES));
                args
            },
            run: train,
        },
        LabCommand {
            path: &["gfn", "pretrain"],
            about: "reward-free OC-GFN pre-training; success rate as JSON lines",
            long_about: "",
            args: || {
                let mut args = settings_args(&pretrain_base(), PRETRAIN_KEYS);
                args.push(number_arg(&PRETRAIN_TRAJECTORIES));
                args.push(flag_arg(&TELEPORT));
                args.push(flag_arg(&F16));
                args.push(output_arg(
                    "write the pre-trained network here (checked before training; Ctrl-C saves the network so far)",
                ));
                args
            },
            run: pretrain,
        },
        LabCommand {
            path: &["gfn", "finetune"],
            about: "fine-tuned OC-GFN vs a GFlowNet from scratch on the same reward: modes found",
            long_about: "",
            args: || {
                let mut args = settings_args(&finetune_base(), FINETUNE_KEYS);
                args.extend([
                    number_arg(&FINETUNE_TRAJECTORIES),
                    number_arg(&SEEDS),
                    number_arg(&EVERY),
                    text_arg(
                        "weights",
                        "FILE",
                        "pre-trained OC-GFN [default assets/gfn/oc-2d-h8.plnn]",
                    ),
                ]);
                args
            },
            run: finetune,
        },
        LabCommand {
            path: &["bench", "gfn"],
            about: "GFlowNet training throughput and GPU/CPU sampling throughput",
            long_about: "Training: TB, 2D H=8, batch 16, 2 x 256, one core (torchgfn's set-up).",
            args: || vec![number_arg(&BENCH_TRAJECTORIES), number_arg(&BENCH_SAMPLES)],
            run: bench,
        },
    ]
}

fn pretrain(args: &Args<'_>) -> Result<i32, CommandError> {
    use super::oc::{OcConfig, OcTrainer, success_rate};
    let s = args.settings(pretrain_base(), PRETRAIN_KEYS)?;
    if s.batch < 2 {
        return Err(CommandError::usage(format!(
            "--batch {}: pre-training needs at least 2 (half relabelled, half on-policy)",
            s.batch
        )));
    }
    let teleport = args.flag(&TELEPORT)?;
    let f16 = args.flag(&F16)?;
    let trajectories = args.number(&PRETRAIN_TRAJECTORIES)?;
    let out = args.output()?;
    let grid = s.grid();
    if !grid.is_enumerable() {
        return Err(CommandError::usage(format!(
            "{} states: pre-training needs an enumerable grid (<= 2^20 states)",
            grid.n_states()
        )));
    }
    let config = OcConfig {
        batch: s.batch as usize,
        hidden: s.hidden as usize,
        layers: s.layers as usize,
        lr: s.lr as f32,
        epsilon: s.epsilon as f32,
        teleport,
        seed: s.seed,
    };
    let eval_every = u64::from(s.eval_every);
    let outcomes: Vec<_> = (0..grid.n_states()).map(|i| grid.state(i)).collect();
    let mut trainer = OcTrainer::new(grid, config);
    let started = web_time::Instant::now();
    let mut next_eval = eval_every;
    let mut loss = 0.0;
    let report = |trainer: &OcTrainer, loss: f64, final_line: bool| {
        let rate = success_rate(&trainer.model, &outcomes, 12345);
        json!({
            "trajectories": trainer.trajectories,
            "loss": loss,
            "success_rate": rate,
            "outcomes": outcomes.len(),
            "seconds": started.elapsed().as_secs_f64(),
            "final": final_line,
            "interrupted": interrupted(),
        })
    };
    catch_interrupts();
    let progress = Progress::new(trajectories, "pre-training (trajectories)");
    while trainer.trajectories < trajectories && !interrupted() {
        loss = trainer.iterate();
        progress.set(trainer.trajectories);
        if trainer.trajectories >= next_eval && trainer.trajectories < trajectories {
            next_eval += eval_every;
            progress.emit(report(&trainer, loss, false));
        }
    }
    progress.finish();
    if f16 {
        // Report on what the file will hold.
        trainer.model.net = trainer.model.net.rounded_to_f16();
    }
    emit(report(&trainer, loss, true));
    if let Some(out) = out {
        let bytes = if f16 {
            trainer
                .model
                .net
                .to_bytes_f16()
                .map_err(|e| CommandError::failed(e.to_string()))?
        } else {
            trainer.model.net.to_bytes()
        };
        crate::files::write_atomic(&out, &bytes)
            .map_err(|e| CommandError::failed(e.to_string()))?;
        eprintln!(
            "wrote {} ({} trajectories)",
            out.display(),
            trainer.trajectories
        );
    }
    Ok(finished_or_interrupted(trainer.trajectories, trajectories))
}

/// 0, or the interrupted exit code with a word on stderr when Ctrl-C stopped the run early.
fn finished_or_interrupted(done: u64, planned: u64) -> i32 {
    if interrupted() && done < planned {
        eprintln!("stopped by Ctrl-C after {done} of {planned} trajectories");
        INTERRUPTED_EXIT_CODE
    } else {
        0
    }
}

fn train(args: &Args<'_>) -> Result<i32, CommandError> {
    let s = args.settings(train_base(), TRAIN_KEYS)?;
    let trajectories = args.number(&TRAIN_TRAJECTORIES)?;
    let eval_every = u64::from(s.eval_every);
    let eval_samples = s.eval_samples as usize;
    let mut run = TrainingRun::new(s.grid(), s.reward_spec(), s.train_config());
    let mut next_eval = eval_every;
    catch_interrupts();
    let progress = Progress::new(trajectories, "training (trajectories)");
    while run.trainer.trajectories < trajectories && !interrupted() {
        run.iterate();
        progress.set(run.trainer.trajectories);
        if run.trainer.trajectories >= next_eval && run.trainer.trajectories < trajectories {
            next_eval += eval_every;
            progress.emit(serde_json::to_string(&run.evaluate(eval_samples)).unwrap_or_default());
        }
    }
    progress.finish();
    let last = run.evaluate(eval_samples);
    let mut final_json = serde_json::to_value(&last).unwrap_or_default();
    if let Some(map) = final_json.as_object_mut() {
        let [rollout, loss, adam] = run.trainer.phase_seconds;
        map.insert("final".to_owned(), true.into());
        map.insert("interrupted".to_owned(), interrupted().into());
        map.insert("seconds_rollout".to_owned(), rollout.into());
        map.insert("seconds_loss_backward".to_owned(), loss.into());
        map.insert("seconds_optimizer".to_owned(), adam.into());
    }
    emit(final_json);
    Ok(finished_or_interrupted(
        run.trainer.trajectories,
        trajectories,
    ))
}

/// One seed of `gfn finetune`: the fine-tuned OC-GFN and a GFlowNet from scratch trained side
/// by side on the same reward, with the same exploration.
struct SeedRun<'a> {
    oc: &'a super::oc::OcModel,
    reward: &'a RewardSpec,
    target: &'a super::env::Target,
    batch: usize,
    trajectories: u64,
    every: u64,
    progress: &'a Progress,
}

/// Modes found by each method at one progress point of one seed.
#[derive(Clone, Copy)]
struct ModesAt {
    trajectories: u64,
    finetuned: usize,
    scratch: usize,
}

impl SeedRun<'_> {
    /// One seed's comparison: its final object and the modes found at every progress point.
    fn compare(&self, seed: u64) -> (serde_json::Value, Vec<ModesAt>) {
        use super::finetune::{FineTuneConfig, FineTuner};
        use super::metrics::ModesFound;
        let grid = self.oc.grid;
        let mut tuner = FineTuner::new(
            self.oc.clone(),
            self.reward.clone(),
            FineTuneConfig {
                batch: self.batch,
                seed,
                ..FineTuneConfig::default()
            },
        );
        // The same exploration as the fine-tuning, so only the method differs.
        let mut scratch = Trainer::new(
            grid,
            self.reward.clone(),
            super::train::TrainConfig {
                batch: self.batch,
                seed,
                epsilon: tuner.config.epsilon,
                ..super::train::TrainConfig::default()
            },
        );
        let mut scratch_modes = ModesFound::new(self.target);
        let mut next = self.every;
        let mut curve = Vec::new();
        let (mut ft_first_all, mut sc_first_all) = (None, None);
        while (tuner.trajectories < self.trajectories || scratch.trajectories < self.trajectories)
            && !interrupted()
        {
            self.progress
                .set(seed * self.trajectories + tuner.trajectories.min(scratch.trajectories));
            if tuner.trajectories < self.trajectories {
                tuner.iterate();
            }
            if scratch.trajectories < self.trajectories {
                scratch.iterate();
                for x in &scratch.last_terminals {
                    scratch_modes.record(self.target, grid.index(x));
                }
            }
            let ft = tuner.modes.as_ref().map_or(0, |m| m.count);
            if ft == self.target.mode_count && ft_first_all.is_none() {
                ft_first_all = Some((tuner.trajectories, tuner.reward_evaluations));
            }
            if scratch_modes.count == self.target.mode_count && sc_first_all.is_none() {
                sc_first_all = Some(scratch.trajectories);
            }
            if tuner.trajectories >= next {
                next += self.every;
                curve.push(ModesAt {
                    trajectories: tuner.trajectories,
                    finetuned: ft,
                    scratch: scratch_modes.count,
                });
                self.progress
                    .emit(json!({"seed": seed, "trajectories": tuner.trajectories,
                    "finetune_modes": ft, "scratch_modes": scratch_modes.count,
                    "finetune_reward_evaluations": tuner.reward_evaluations,
                    "scratch_reward_evaluations": scratch.trajectories}));
            }
        }
        let l1_of = |distribution: &[f64]| {
            super::metrics::l1_between(&self.target.probabilities, distribution)
        };
        let summary = json!({
            "seed": seed,
            "finetune_all_modes_at": ft_first_all.map(|f| f.0),
            "finetune_all_modes_at_reward_evaluations": ft_first_all.map(|f| f.1),
            "scratch_all_modes_at": sc_first_all,
            "finetune_modes": tuner.modes.as_ref().map_or(0, |m| m.count),
            "scratch_modes": scratch_modes.count,
            "finetune_l1_exact": l1_of(&tuner.exact_distribution()),
            "scratch_l1_exact": l1_of(&super::sample::exact_terminal_distribution(&scratch.model)),
            "epsilon": tuner.config.epsilon,
        });
        (summary, curve)
    }
}

/// Mean, lowest and highest over seeds of modes found at each progress point the seeds share
/// (every seed runs the same schedule, so they share all of them unless one was interrupted):
/// the bands the page plots, as numbers.
fn modes_bands(curves: &[Vec<ModesAt>]) -> Vec<serde_json::Value> {
    let shared = curves.iter().map(Vec::len).min().unwrap_or(0);
    (0..shared)
        .map(|i| {
            let at: Vec<ModesAt> = curves.iter().map(|c| c[i]).collect();
            let band = |modes: &dyn Fn(&ModesAt) -> usize| {
                let values: Vec<usize> = at.iter().map(modes).collect();
                json!({
                    "mean": values.iter().sum::<usize>() as f64 / values.len() as f64,
                    "min": values.iter().min(),
                    "max": values.iter().max(),
                })
            };
            json!({
                "trajectories": at[0].trajectories,
                "finetune_modes": band(&|m| m.finetuned),
                "scratch_modes": band(&|m| m.scratch),
            })
        })
        .collect()
}

/// Fine-tuned OC-GFN against a GFlowNet trained from scratch on the same reward: modes found
/// against training trajectories for several seeds; plus the exact conversion's L1.
fn finetune(args: &Args<'_>) -> Result<i32, CommandError> {
    use super::oc::{OcModel, exact_conversion};
    use super::sample::terminal_distribution;
    let s = args.settings(finetune_base(), FINETUNE_KEYS)?;
    let trajectories = args.number(&FINETUNE_TRAJECTORIES)?;
    let seeds = args.number(&SEEDS)?;
    let every = args.number(&EVERY)?;
    let weights = args.text("weights").unwrap_or("assets/gfn/oc-2d-h8.plnn");
    let bytes = std::fs::read(weights)
        .map_err(|e| CommandError::failed(format!("cannot read {weights}: {e}")))?;
    let net = crate::nn::Mlp::from_bytes(&bytes)
        .map_err(|e| CommandError::failed(format!("{weights}: {e}")))?;
    let grid = super::oc_weights::grid_of(&net)
        .ok_or_else(|| CommandError::failed(format!("{weights}: not an OC-GFN for a hypergrid")))?;
    let oc = OcModel { grid, net };
    let reward = RewardSpec::Standard {
        r0: s.r0,
        r1: s.r1,
        r2: s.r2,
    };
    let batch = s.batch as usize;
    // The exact conversion (enumeration over outcomes) as a check of the pre-trained flows.
    let log_probs = exact_conversion(&oc, &reward);
    let exact = terminal_distribution(&grid, &log_probs, grid.n_actions());
    let target = super::env::Target::enumerate(grid, &reward)
        .ok_or_else(|| CommandError::failed("grid too large to enumerate"))?;
    let exact_l1: f64 = exact
        .iter()
        .zip(&target.probabilities)
        .map(|(a, b)| (a - b).abs())
        .sum();
    emit(json!({"exact_conversion_l1": exact_l1, "modes_total": target.mode_count}));
    let mut finals = Vec::new();
    let mut curves = Vec::new();
    catch_interrupts();
    let progress = Progress::new(seeds * trajectories, "fine-tune vs scratch (trajectories)");
    let run = SeedRun {
        oc: &oc,
        reward: &reward,
        target: &target,
        batch,
        trajectories,
        every,
        progress: &progress,
    };
    for seed in 0..seeds {
        if interrupted() {
            break;
        }
        let (summary, curve) = run.compare(seed);
        finals.push(summary);
        curves.push(curve);
    }
    progress.finish();
    emit(
        json!({"final": true, "interrupted": interrupted(), "modes_total": target.mode_count,
        "exact_conversion_l1": exact_l1, "runs": finals, "bands": modes_bands(&curves)}),
    );
    Ok(if interrupted() {
        INTERRUPTED_EXIT_CODE
    } else {
        0
    })
}

/// `paperlab bench gfn`: training throughput (TB, 2D H=8, batch 16, 2 x 256, one core) and
/// sampling throughput of the GPU sampler against the CPU reference, one JSON object per line.
fn bench(args: &Args<'_>) -> Result<i32, CommandError> {
    use super::gpu::{GfnSamplerKernels, decode_terminals};
    use super::sample::sample_terminals;
    use crate::gpu::GpuContext;
    let trajectories = args.number(&BENCH_TRAJECTORIES)?;
    let samples = args.number(&BENCH_SAMPLES)? as usize;
    let settings = GfnSettings::default();
    let grid = Hypergrid::new(2, 8);
    let mut trainer = Trainer::new(grid, settings.reward_spec(), settings.train_config());
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
    let target = super::env::Target::enumerate(grid, &settings.reward_spec());
    let l1_exact = target.as_ref().map(|t| {
        let exact = super::sample::exact_terminal_distribution(&trainer.model);
        super::metrics::l1_between(&t.probabilities, &exact)
    });
    emit(json!({
        "bench": "gfn_train", "loss": "tb", "pb": "uniform", "ndim": 2, "height": 8, "batch": 16,
        "hidden": "2x256", "trajectories": trained, "seconds": seconds,
        "trajectories_per_s": trained as f64 / seconds,
        "trajectories_in_all": trainer.trajectories, "l1_exact": l1_exact,
    }));
    let model = trainer.model.clone();
    let started = web_time::Instant::now();
    let cpu = sample_terminals(&model, 1, 0, samples);
    let cpu_seconds = started.elapsed().as_secs_f64();
    emit(
        json!({"bench": "gfn_sample", "engine": "cpu", "samples": cpu.len(), "seconds": cpu_seconds,
        "samples_per_s": cpu.len() as f64 / cpu_seconds}),
    );
    let ctx = match GpuContext::new_headless() {
        Ok(ctx) => ctx,
        Err(e) => {
            emit(json!({"bench": "gfn_sample", "engine": "gpu", "skipped": e.to_string()}));
            return Ok(0);
        }
    };
    if ctx.adapter.is_cpu {
        // lavapipe samples at about 300 trajectories/s: minutes for nothing a GPU would say.
        emit(
            json!({"bench": "gfn_sample", "engine": "gpu", "adapter": ctx.adapter.name,
            "skipped": "a software adapter (a CPU): the page samples on the CPU reference there"}),
        );
        return Ok(0);
    }
    let gpu = (|| {
        let kernels = GfnSamplerKernels::new(&ctx);
        let device = kernels.prepare(&ctx, &model, samples)?;
        let out = kernels
            .submit(&ctx, &device, 1, 0, samples, 2)?
            .wait(&ctx)?;
        let terminals = decode_terminals(&out.bytes, 2)?;
        Ok::<_, crate::gpu::GpuError>((out, terminals.len()))
    })();
    match gpu {
        Ok((out, n)) => {
            let ms = crate::stats::median(&out.pass_ms);
            emit(
                json!({"bench": "gfn_sample", "engine": "gpu", "adapter": ctx.adapter.name, "samples": n,
                "ms_median": ms, "timing": out.timing, "samples_per_s": n as f64 / (ms * 1e-3),
                "gpu_over_cpu": (n as f64 / (ms * 1e-3)) / (cpu.len() as f64 / cpu_seconds)}),
            );
            Ok(0)
        }
        Err(e) => {
            emit(json!({"bench": "gfn_sample", "engine": "gpu", "error": e.to_string()}));
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    /// The bands over seeds: mean, lowest, highest at each shared point; a seed cut short
    /// (interrupted) limits them to the points all seeds reached.
    #[test]
    fn modes_bands_summarise_the_seeds_at_shared_points() {
        let at = |trajectories, finetuned, scratch| super::ModesAt {
            trajectories,
            finetuned,
            scratch,
        };
        let curves = vec![
            vec![at(100, 1, 0), at(200, 4, 1), at(300, 16, 2)],
            vec![at(100, 3, 2), at(200, 8, 1)],
        ];
        let bands = super::modes_bands(&curves);
        assert_eq!(bands.len(), 2);
        assert_eq!(bands[1]["trajectories"], 200);
        assert_eq!(bands[1]["finetune_modes"]["mean"], 6.0);
        assert_eq!(bands[1]["finetune_modes"]["min"], 4);
        assert_eq!(bands[1]["finetune_modes"]["max"], 8);
        assert_eq!(bands[0]["scratch_modes"]["mean"], 1.0);
        assert!(super::modes_bands(&[]).is_empty());
    }

    #[test]
    fn command_option_keys_are_page_settings() {
        for keys in [
            super::TRAIN_KEYS,
            super::PRETRAIN_KEYS,
            super::FINETUNE_KEYS,
        ] {
            for key in keys {
                assert!(
                    crate::share::definition::<super::GfnSettings>(key).is_some(),
                    "{key}"
                );
            }
        }
    }
}
