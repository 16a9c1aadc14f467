//! The bandit Monte Carlo kernel against its Rust reference on a real wgpu device (lavapipe in
//! CI): same seed, same instance -> the same actions, so the same cumulative losses bit for bit,
//! and the same regret curves through the page's job runner.

use paperlab::gpu::{Compute, GpuContext};
use paperlab::labs::bandits::gpu::{BanditKernel, words};
use paperlab::labs::bandits::instance::{Instance, Noise, Preset, Weights};
use paperlab::labs::bandits::mc::{JobSpec, McJob};
use paperlab::labs::bandits::sim::{Algo, Knobs, SimConfig, simulate_run};

fn ctx() -> GpuContext {
    GpuContext::new_headless().unwrap_or_else(|e| {
        panic!("no wgpu device ({e}); run scripts/setup (installs mesa-vulkan-drivers)")
    })
}

fn instance(preset: Preset, k: usize, m: usize, weights: Weights, noise: Noise) -> Instance {
    Instance {
        arms: preset.arms(k, 11),
        memory: m,
        weights,
        decay: 0.7,
        noise,
    }
}

#[test]
fn every_run_matches_the_reference_bit_for_bit() {
    let ctx = ctx();
    let kernel = BanditKernel::new(&ctx);
    let cases = [
        (
            instance(
                Preset::Habituation,
                5,
                16,
                Weights::Uniform,
                Noise::Bernoulli,
            ),
            32,
            3000,
        ),
        (
            instance(
                Preset::Mixed,
                16,
                64,
                Weights::Geometric,
                Noise::Gaussian { sigma: 0.7 },
            ),
            80,
            2500,
        ),
        (
            instance(
                Preset::NoReo,
                2,
                1,
                Weights::Uniform,
                Noise::Gaussian { sigma: 0.0 },
            ),
            1,
            1000,
        ),
    ];
    for (inst, bound, horizon) in cases {
        let cfg = SimConfig::new(
            &inst,
            Knobs {
                bound,
                horizon,
                window: 33,
                seed: 9,
                checkpoints: 10,
            },
        );
        // 70 runs -> 128 on the GPU (two workgroups per algorithm); chunks of 113 rounds, and
        // chunks as long as the kernel allows (the page's choice on a fast device).
        for chunk in [113, u32::MAX] {
            let job = kernel
                .prepare(&ctx, &cfg, &Algo::ALL, 70, chunk)
                .expect("fits");
            let out = kernel
                .submit(
                    &ctx,
                    &job,
                    BanditKernel::dispatches_for_horizon(&job),
                    true,
                    0,
                )
                .expect("submits")
                .wait(&ctx)
                .expect("reads back");
            let got = words(&out.bytes);
            let c = cfg.checkpoints.len();
            assert_eq!(got.len(), job.runs * Algo::ALL.len() * c);
            for (i, algo) in Algo::ALL.iter().enumerate() {
                for run in 0..job.runs {
                    let expected = simulate_run(&cfg, *algo, run as u32);
                    let gpu = &got[(i * job.runs + run) * c..][..c];
                    assert_eq!(
                        gpu,
                        &expected[..],
                        "{algo:?} run {run} of {inst:?}, chunk {chunk}"
                    );
                }
            }
        }
    }
}

#[test]
fn page_jobs_give_the_same_curves_on_gpu_and_cpu() {
    let gpu = Compute::Gpu(std::sync::Arc::new(ctx()));
    let cpu = Compute::CpuFallback {
        reason: "test".into(),
    };
    let kernel = gpu.gpu().map(BanditKernel::new);
    let spec = JobSpec {
        instance: instance(
            Preset::Habituation,
            4,
            6,
            Weights::Geometric,
            Noise::Bernoulli,
        ),
        knobs: Knobs {
            bound: 8,
            horizon: 4000,
            window: 100,
            seed: 5,
            checkpoints: 32,
        },
        algos: vec![Algo::WtbSe, Algo::Ucb1, Algo::SwUcb],
        runs: 64,
    };
    let on_gpu = McJob::new(spec.clone(), &gpu, kernel.as_ref())
        .run_to_end(&gpu, kernel.as_ref())
        .expect("gpu");
    let on_cpu = McJob::new(spec, &cpu, None)
        .run_to_end(&cpu, None)
        .expect("cpu");
    assert!(on_gpu.on_gpu && !on_cpu.on_gpu);
    assert_eq!(on_gpu.checkpoints, on_cpu.checkpoints);
    for (g, c) in on_gpu.curves.iter().zip(&on_cpu.curves) {
        assert_eq!(g.algo, c.algo);
        assert_eq!(g.mean, c.mean, "{:?}", g.algo);
        assert_eq!(g.ci95, c.ci95, "{:?}", g.algo);
    }
}

#[test]
fn too_many_runs_are_refused_with_a_reason() {
    let ctx = ctx();
    let kernel = BanditKernel::new(&ctx);
    let cfg = SimConfig::new(
        &instance(
            Preset::Habituation,
            3,
            4,
            Weights::Uniform,
            Noise::Bernoulli,
        ),
        Knobs {
            bound: 4,
            horizon: 100,
            window: 10,
            seed: 1,
            checkpoints: 4,
        },
    );
    let err = kernel
        .prepare(&ctx, &cfg, &[], 64, 10)
        .err()
        .expect("no algorithms");
    assert!(err.to_string().contains("algorithms"), "{err}");
}
