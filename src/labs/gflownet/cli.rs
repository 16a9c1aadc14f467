//! `paperlab gfn ...`: training from the command line, JSON lines out.

use super::env::{Hypergrid, RewardSpec};
use super::model::Loss;
use super::run::TrainingRun;
use super::train::TrainConfig;

pub const USAGE: &str = "\
  paperlab gfn train [--ndim D] [--height H] [--r0 X] [--r1 X] [--r2 X] [--loss tb|db]
                     [--trajectories N] [--batch B] [--hidden N] [--layers L] [--lr X]
                     [--lr-logz X] [--epsilon X] [--seed S] [--eval-every N] [--eval-samples N]
                                   train on the hypergrid; JSON lines of progress, then a
                                   final object (l1, jsd, logz, logz_true, modes_found, ...)";

/// Parsed `--key value` options; every key must be known.
struct Options(Vec<(String, String)>);

impl Options {
    fn parse(args: &[&str], known: &[&str]) -> Result<Self, String> {
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

    fn get<T: std::str::FromStr>(
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

pub fn main(args: &[&str]) -> i32 {
    match args {
        ["train", rest @ ..] => match train(rest) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}\n\n{USAGE}");
                2
            }
        },
        _ => {
            eprintln!("error: unknown gfn command\n\n{USAGE}");
            2
        }
    }
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
