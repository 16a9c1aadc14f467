//! GPU kernels against their Rust references on a real wgpu device (lavapipe in CI, installed by
//! scripts/setup). No device is a failure, not a skip: a missing driver is a missing setup step.

use paperlab::gpu::{GpuContext, GpuError, TimingSource, f32s_from_bytes};
use paperlab::kernels::copy::CopyKernel;
use paperlab::kernels::gemv_f32::{GemvF32Kernel, GemvVariant, check_rows, gemv_f32_reference};
use paperlab::labs::device::plan::Engine;
use paperlab::labs::device::runner::BenchRunner;
use paperlab::labs::device::settings::DeviceSettings;
use paperlab::rng::fill_f32;
use web_time::Duration;

fn ctx() -> GpuContext {
    GpuContext::new_headless().unwrap_or_else(|e| {
        panic!("no wgpu device ({e}); run scripts/setup (installs mesa-vulkan-drivers)")
    })
}

fn random(seed: u64, len: usize) -> Vec<f32> {
    let mut v = vec![0.0; len];
    fill_f32(seed, 0, &mut v);
    v
}

#[test]
fn copy_is_bit_exact_including_a_partial_tile() {
    let ctx = ctx();
    let kernel = CopyKernel::new(&ctx);
    for n in [4usize, 1024, 4100, (1 << 20) + 12] {
        let src = random(n as u64, n);
        let problem = kernel.prepare(&ctx, &src).expect("fits");
        let out = kernel
            .submit(&ctx, &problem, 0, 1)
            .expect("submits")
            .wait(&ctx)
            .expect("reads back");
        let dst = f32s_from_bytes(&out.bytes);
        assert_eq!(dst.len(), n);
        assert!(
            dst.iter()
                .zip(&src)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "copy of {n} differs"
        );
    }
}

#[test]
fn gemv_matches_reference_and_oracle_on_edge_shapes() {
    let ctx = ctx();
    for variant in [GemvVariant::Workgroup, GemvVariant::Rowwise] {
        gemv_edge_shapes(&ctx, variant);
    }
}

fn gemv_edge_shapes(ctx: &GpuContext, variant: GemvVariant) {
    let kernel = GemvF32Kernel::with_variant(ctx, variant);
    // 70,000 rows need a 2D grid (65,535 workgroups per dimension); 4 and 1028 columns leave
    // most threads idle or a partial last stride.
    for (rows, cols) in [
        (1usize, 4usize),
        (3, 1028),
        (64, 256),
        (300, 4096),
        (70_000, 4),
    ] {
        let w = random(1 + rows as u64, rows * cols);
        let x = random(2 + cols as u64, cols);
        let problem = kernel.prepare(ctx, &w, &x, rows).expect("fits");
        let out = kernel
            .submit(ctx, &problem, 0, 1)
            .expect("submits")
            .wait(ctx)
            .expect("reads back");
        let y_gpu = f32s_from_bytes(&out.bytes);
        let y_ref = gemv_f32_reference(&w, &x, rows);
        assert_eq!(y_gpu.len(), rows);
        let row_of = |r: usize| w[r * cols..(r + 1) * cols].to_vec();
        let all: Vec<usize> = (0..rows).collect();
        let (_, gpu_ratio) = check_rows(&row_of, &x, &y_gpu, &all);
        let (_, ref_ratio) = check_rows(&row_of, &x, &y_ref, &all);
        assert!(
            gpu_ratio <= 1.0,
            "{rows}x{cols}: GPU error/bound {gpu_ratio}"
        );
        assert!(
            ref_ratio <= 1.0,
            "{rows}x{cols}: reference error/bound {ref_ratio}"
        );
    }
}

#[test]
fn gemv_set_x_reuses_w() {
    let ctx = ctx();
    let kernel = GemvF32Kernel::new(&ctx);
    let (rows, cols) = (16, 64);
    let w = random(5, rows * cols);
    let problem = kernel
        .prepare(&ctx, &w, &random(6, cols), rows)
        .expect("fits");
    let x2 = random(7, cols);
    kernel.set_x(&ctx, &problem, &x2).expect("same length");
    let out = kernel
        .submit(&ctx, &problem, 0, 1)
        .expect("submits")
        .wait(&ctx)
        .expect("reads back");
    let row_of = |r: usize| w[r * cols..(r + 1) * cols].to_vec();
    let all: Vec<usize> = (0..rows).collect();
    let (_, ratio) = check_rows(&row_of, &x2, &f32s_from_bytes(&out.bytes), &all);
    assert!(ratio <= 1.0);
    assert!(matches!(
        kernel.set_x(&ctx, &problem, &x2[..8]),
        Err(GpuError::BadShape(_))
    ));
}

#[test]
fn oversized_and_misshapen_inputs_are_refused_with_a_message() {
    let ctx = ctx();
    let too_big = ctx.max_storage_bytes() + 4;
    let err = ctx
        .check_storage_size("test buffer", too_big)
        .expect_err("over the limit");
    let text = err.to_string();
    assert!(
        text.contains("test buffer") && text.contains("max_"),
        "{text}"
    );
    let kernel = GemvF32Kernel::new(&ctx);
    let err = kernel
        .prepare(&ctx, &[0.0; 6], &[0.0; 3], 2)
        .err()
        .expect("cols % 4 != 0");
    assert!(matches!(err, GpuError::BadShape(_)), "{err}");
    assert!(ctx.take_device_errors().is_empty());
}

#[test]
fn timed_runs_report_positive_durations() {
    let ctx = ctx();
    let kernel = CopyKernel::new(&ctx);
    let problem = kernel.prepare(&ctx, &random(9, 1 << 18)).expect("fits");
    let out = kernel
        .submit(&ctx, &problem, 5, 3)
        .expect("submits")
        .wait(&ctx)
        .expect("reads back");
    let expected = if ctx.has_timestamps() {
        TimingSource::GpuTimestamps
    } else {
        TimingSource::WallClock
    };
    assert_eq!(out.timing, expected);
    assert!(
        !out.pass_ms.is_empty() && out.pass_ms.iter().all(|ms| *ms > 0.0 && ms.is_finite()),
        "{:?}",
        out.pass_ms
    );
}

#[test]
fn device_benchmark_on_gpu_is_verified() {
    let compute = paperlab::gpu::Compute::Gpu(std::sync::Arc::new(ctx()));
    let settings = DeviceSettings {
        rows: 256,
        cols: 256,
        copy_mib: 2,
        reps: 3,
        ..DeviceSettings::default()
    };
    let mut runner = BenchRunner::new(&settings);
    while runner.step(&compute, Duration::from_millis(20)) {
        if let Some(ctx) = compute.gpu() {
            let _ = ctx.device.poll(wgpu::PollType::wait_indefinitely());
        }
    }
    assert!(runner.refusals.is_empty(), "{:?}", runner.refusals);
    let gpu: Vec<_> = runner
        .measurements
        .iter()
        .filter(|m| m.engine == Engine::Gpu)
        .collect();
    let cpu: Vec<_> = runner
        .measurements
        .iter()
        .filter(|m| m.engine == Engine::Cpu)
        .collect();
    assert_eq!(gpu.len(), cpu.len());
    assert!(gpu.len() >= 3);
    for m in runner.measurements.iter() {
        assert!(m.verification.passed, "{m:?}");
        assert!(m.gbps > 0.0 && m.gbps.is_finite());
    }
}

mod nn_and_gflownet {
    use super::ctx;
    use paperlab::gpu::f32s_from_bytes;
    use paperlab::labs::gflownet::env::{Hypergrid, RewardSpec};
    use paperlab::labs::gflownet::gpu::{GfnSamplerKernels, decode_terminals};
    use paperlab::labs::gflownet::model::Model;
    use paperlab::labs::gflownet::sample::{histogram, sample_terminals};
    use paperlab::labs::gflownet::train::{TrainConfig, Trainer};
    use paperlab::nn::gpu::{DenseKernel, forward_oracle};
    use paperlab::nn::{Activation, Mlp, MlpSpec};

    #[test]
    fn mlp_forward_on_gpu_is_within_the_rounding_bound() {
        let ctx = ctx();
        let dense = DenseKernel::new(&ctx);
        let shapes = [
            (Activation::Relu, vec![64, 33], false),
            (Activation::LeakyRelu { slope: 0.05 }, vec![64, 33], false),
            // Residual: the second and third hidden layers add their inputs (the skip's own
            // rounding and the input's error are in the oracle's bound).
            (
                Activation::LeakyRelu { slope: 0.01 },
                vec![48, 48, 48],
                true,
            ),
        ];
        for (activation, hidden, residual) in shapes {
            let mlp = Mlp::new(
                MlpSpec {
                    inputs: 19,
                    hidden,
                    outputs: 5,
                    activation,
                    residual,
                },
                4,
            );
            let batch = 300;
            let x: Vec<f32> = (0..batch * 19)
                .map(|i| paperlab::rng::hash_f32(8, i as u64))
                .collect();
            let net = dense.upload(&ctx, &mlp, batch).expect("fits");
            let out = dense
                .forward(&ctx, &net, &x, batch)
                .expect("submits")
                .wait(&ctx)
                .expect("reads back");
            let gpu = f32s_from_bytes(&out.bytes);
            let cpu = mlp.predict(&x, batch);
            let (exact, bound) = forward_oracle(&mlp, &x, batch);
            for i in 0..gpu.len() {
                assert!(
                    (f64::from(gpu[i]) - exact[i]).abs() <= bound[i],
                    "gpu {i}: {} vs {}",
                    gpu[i],
                    exact[i]
                );
                assert!((f64::from(cpu[i]) - exact[i]).abs() <= bound[i], "cpu {i}");
            }
        }
    }

    /// The GPU sampler draws the same uniforms as the reference: with the same (untrained or
    /// trained) policy nearly every trajectory must end in the same state (a decision can only
    /// differ when a uniform falls within rounding of a cumulative-probability boundary), and
    /// the two histograms must agree statistically.
    #[test]
    fn gpu_sampler_matches_the_reference() {
        let ctx = ctx();
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
                seed: 3,
                ..TrainConfig::default()
            },
        );
        for _ in 0..50 {
            trainer.iterate();
        }
        let model: &Model = &trainer.model;
        let n = 20_000;
        let kernels = GfnSamplerKernels::new(&ctx);
        let device = kernels.prepare(&ctx, model, n).expect("fits");
        let run = kernels
            .submit(&ctx, &device, 99, 1000, n, 0)
            .expect("submits");
        let gpu =
            decode_terminals(&run.wait(&ctx).expect("reads back").bytes, 2).expect("all stopped");
        let cpu = sample_terminals(model, 99, 1000, n);
        let same = gpu.iter().zip(&cpu).filter(|(a, b)| a == b).count();
        assert!(
            same * 1000 >= n * 999,
            "only {same} of {n} trajectories agree"
        );
        let (hg, hc) = (histogram(&grid, &gpu), histogram(&grid, &cpu));
        let l1: f64 = hg
            .iter()
            .zip(&hc)
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
            .sum::<f64>()
            / n as f64;
        assert!(l1 < 0.01, "histograms differ by L1 {l1}");
    }
}
