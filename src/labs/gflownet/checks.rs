//! Self-test entries: the MLP forward (WGSL dense layers) and the GPU trajectory sampler.

use std::rc::Rc;

use super::env::{Hypergrid, RewardSpec};
use super::gpu::{GfnSamplerKernels, decode_terminals};
use super::model::Model;
use super::sample::{exact_terminal_distribution, histogram, sample_terminals};
use super::train::{TrainConfig, Trainer};
use crate::nn::gpu::forward_check;
use crate::nn::{Activation, Mlp, MlpSpec};
use crate::selftest::{Check, KernelCheck, Verdict};

pub fn kernel_checks() -> Vec<Box<dyn Check>> {
    vec![Box::new(mlp_forward_check()), Box::new(sampler_check())]
}

fn mlp_forward_check() -> KernelCheck {
    let mlp = Mlp::new(
        MlpSpec {
            inputs: 32,
            hidden: vec![256, 256],
            outputs: 5,
            activation: Activation::Relu,
            residual: false,
        },
        11,
    );
    let batch = 257;
    let x = (0..batch * 32)
        .map(|i| crate::rng::hash_f32(12, i as u64))
        .collect();
    forward_check("mlp forward 257x(32-256-256-5)", mlp, x, batch)
}

/// A briefly trained policy on a 2D H=8 grid: the sampler's histogram must match the policy's
/// exact terminal distribution (forward dynamic programming) within sampling noise.
fn sampler_check() -> KernelCheck {
    const SAMPLES: usize = 20_000;
    const SEED: u32 = 5;
    let grid = Hypergrid::new(2, 8);
    let mut trainer = Trainer::new(
        grid,
        RewardSpec::Standard {
            r0: 0.1,
            r1: 0.5,
            r2: 2.0,
        },
        TrainConfig {
            hidden: 64,
            seed: 2,
            ..TrainConfig::default()
        },
    );
    for _ in 0..30 {
        trainer.iterate();
    }
    let model: Rc<Model> = Rc::new(trainer.model.clone());
    let (gm, cm) = (Rc::clone(&model), Rc::clone(&model));
    KernelCheck::new(
        format!("gfn sampler {SAMPLES} trajectories, 2D H=8"),
        move |ctx| {
            let kernels = GfnSamplerKernels::new(ctx);
            let device = kernels.prepare(ctx, &gm, SAMPLES)?;
            kernels.submit(ctx, &device, SEED, 0, SAMPLES, 0)
        },
        move || {
            // The CPU path's result in the GPU's layout (8 words per trajectory, as f32 bits).
            sample_terminals(&cm, SEED, 0, SAMPLES)
                .iter()
                .flat_map(|x| {
                    [x[0], x[1], x[2], x[3]]
                        .map(u32::from)
                        .into_iter()
                        .chain([0, 1, 0, 0])
                })
                .map(f32::from_bits)
                .collect()
        },
        move |result| {
            let bytes: Vec<u8> = result
                .iter()
                .flat_map(|v| v.to_bits().to_le_bytes())
                .collect();
            let terminals = match decode_terminals(&bytes, 2) {
                Ok(t) => t,
                Err(e) => {
                    return Verdict {
                        max_abs_error: f64::INFINITY,
                        error_to_bound: f64::INFINITY,
                        detail: e.to_string(),
                    };
                }
            };
            let exact = exact_terminal_distribution(&model);
            let counts = histogram(&model.grid, &terminals);
            let n = terminals.len().max(1) as f64;
            let l1: f64 = exact
                .iter()
                .zip(&counts)
                .map(|(p, &c)| (f64::from(c) / n - p).abs())
                .sum();
            // E|p̂ - p| ≈ sqrt(2 p (1 - p) / (π n)) per cell; allow 4x the expected total.
            let expected: f64 = exact
                .iter()
                .map(|p| (2.0 * p * (1.0 - p) / (std::f64::consts::PI * n)).sqrt())
                .sum();
            Verdict {
                max_abs_error: l1,
                error_to_bound: l1 / (4.0 * expected),
                detail: format!(
                    "L1 to the exact policy distribution {l1:.4} (expected noise {expected:.4})"
                ),
            }
        },
    )
}
