//! Self-test entry: the GPU Monte Carlo kernel against the Rust reference, bit for bit (every
//! run of every algorithm, cumulative loss at every checkpoint).

use std::rc::Rc;

use super::gpu::BanditKernel;
use super::instance::{Instance, LOSS_ONE, Noise, Preset, Weights};
use super::sim::{Algo, Knobs, SimConfig, simulate_run};
use crate::selftest::{Check, KernelCheck, Verdict};

const RUNS: usize = 64;

pub fn kernel_checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(runs_check(
            "bandit runs, Bernoulli, uniform weights",
            Weights::Uniform,
            Noise::Bernoulli,
        )),
        Box::new(runs_check(
            "bandit runs, Gaussian, geometric weights",
            Weights::Geometric,
            Noise::Gaussian { sigma: 0.3 },
        )),
    ]
}

fn reference(cfg: &SimConfig) -> Vec<u32> {
    Algo::ALL
        .iter()
        .flat_map(|&algo| (0..RUNS as u32).flat_map(move |run| simulate_run(cfg, algo, run)))
        .collect()
}

fn runs_check(name: &str, weights: Weights, noise: Noise) -> KernelCheck {
    let instance = Instance {
        arms: Preset::Mixed.arms(6, 7),
        memory: 7,
        weights,
        decay: 0.75,
        noise,
    };
    let cfg = Rc::new(SimConfig::new(
        &instance,
        Knobs {
            bound: 9,
            horizon: 1500,
            window: 50,
            seed: 3,
            checkpoints: 16,
        },
    ));
    let (gpu_cfg, cpu_cfg) = (Rc::clone(&cfg), Rc::clone(&cfg));
    KernelCheck::new(
        format!(
            "{name}: {RUNS} runs x {} algorithms x 1500 rounds",
            Algo::ALL.len()
        ),
        move |ctx| {
            let kernel = BanditKernel::new(ctx);
            // Small chunks: the check also covers state carried across dispatches.
            let job = kernel.prepare(ctx, &gpu_cfg, &Algo::ALL, RUNS, 97)?;
            kernel.submit(
                ctx,
                &job,
                BanditKernel::dispatches_for_horizon(&job),
                true,
                0,
            )
        },
        move || {
            reference(&cpu_cfg)
                .into_iter()
                .map(f32::from_bits)
                .collect()
        },
        move |result| {
            let expected = reference(&cfg);
            let got: Vec<u32> = result.iter().map(|x| x.to_bits()).collect();
            let differing = got.iter().zip(&expected).filter(|(a, b)| a != b).count()
                + got.len().abs_diff(expected.len());
            // The reference's own sanity: cumulative expected losses grow by at most 1 per round.
            let c = cfg.checkpoints.len();
            let sane = expected.chunks(c).all(|run| {
                run.iter()
                    .zip(&cfg.checkpoints)
                    .all(|(&loss, &t)| loss <= t * LOSS_ONE as u32)
                    && run.windows(2).all(|w| w[0] <= w[1])
            });
            let bad = differing + usize::from(!sane);
            Verdict {
                max_abs_error: bad as f64,
                error_to_bound: if bad == 0 { 0.0 } else { f64::INFINITY },
                detail: format!(
                    "{differing} of {} cumulative losses differ from the reference",
                    expected.len()
                ),
            }
        },
    )
}
