//! The SqueezeLLM LUT-GEMV kernel (dense codebook part + fused CSR sparse part) on a real wgpu
//! device (lavapipe in CI) against an f64 oracle, within the f32 rounding bound of each row.

use paperlab::gpu::GpuContext;
use paperlab::kernels::gemv_f32::{gemv_error_bound, gemv_row_oracle};
use paperlab::labs::quant::lut::{LutGemvKernel, LutMatrix, row_terms};
use paperlab::labs::quant::matrix::{
    channel_sensitivity, synthetic_activations, synthetic_weights,
};
use paperlab::labs::quant::methods::{Config, Method, quantize};

fn ctx() -> GpuContext {
    GpuContext::new_headless().unwrap_or_else(|e| {
        panic!("no wgpu device ({e}); run scripts/setup (installs mesa-vulkan-drivers)")
    })
}

#[test]
fn lut_gemv_matches_the_oracle_for_every_width_and_shape() {
    let ctx = ctx();
    let kernel = LutGemvKernel::new(&ctx);
    for (rows, cols) in [(1, 1), (33, 33), (70, 200), (5, 1000)] {
        for bits in 2..=8 {
            for sparse in [0.0, 0.45] {
                let w = synthetic_weights(rows, cols, 3, 1.0);
                let acts = synthetic_activations(1, cols, 3, 2.min(cols));
                let s = channel_sensitivity(&acts);
                let config = Config {
                    method: Method::Squeeze,
                    bits,
                    outlier_percent: sparse,
                    sensitive_percent: sparse / 9.0,
                    seed: 2,
                    iterations: 10,
                };
                let m = LutMatrix::from_quantized(&quantize(&w, &s, &config), bits)
                    .expect("a LUT method");
                let x = &acts.data;
                let problem = kernel.prepare(&ctx, &m, x).expect("fits the device");
                let out = kernel
                    .submit(&ctx, &problem, 0, 1)
                    .and_then(|run| run.wait(&ctx))
                    .expect("ran");
                let y = paperlab::gpu::f32s_from_bytes(&out.bytes);
                assert_eq!(y.len(), rows);
                for r in 0..rows {
                    let (terms, xs) = row_terms(&m, x, r);
                    let (dot, abs) = gemv_row_oracle(&terms, &xs);
                    let bound = gemv_error_bound(terms.len(), abs);
                    let err = (f64::from(y[r]) - dot).abs();
                    assert!(
                        err <= bound,
                        "{rows}x{cols} bits {bits} sparse {sparse} row {r}: {} vs {dot} (bound {bound})",
                        y[r]
                    );
                }
            }
        }
    }
}

#[test]
fn q4_0_gemv_matches_the_oracle() {
    use paperlab::labs::quant::q4::{Q4GemvKernel, Q4Matrix};
    let ctx = ctx();
    let kernel = Q4GemvKernel::new(&ctx);
    // Odd block counts (scales share u32 words in pairs), short last blocks, more blocks per
    // row than threads.
    for (rows, cols) in [(1, 1), (3, 32), (33, 70), (7, 96), (4, 64 * 32 + 40)] {
        let w = synthetic_weights(rows, cols, 5, 1.0);
        let x = synthetic_activations(1, cols, 5, 2.min(cols)).data;
        let m = Q4Matrix::from_matrix(&w);
        let problem = kernel.prepare(&ctx, &m, &x).expect("fits the device");
        let out = kernel
            .submit(&ctx, &problem, 0, 1)
            .and_then(|run| run.wait(&ctx))
            .expect("ran");
        let y = paperlab::gpu::f32s_from_bytes(&out.bytes);
        assert_eq!(y.len(), rows);
        for r in 0..rows {
            let row: Vec<f32> = (0..cols).map(|j| m.value(r, j)).collect();
            let (dot, abs) = gemv_row_oracle(&row, &x);
            let bound = gemv_error_bound(cols, abs);
            assert!(
                (f64::from(y[r]) - dot).abs() <= bound,
                "{rows}x{cols} row {r}: {} vs {dot} (bound {bound})",
                y[r]
            );
        }
    }
}

#[test]
fn bipolar_gemv_equals_the_integer_product_for_every_width() {
    use paperlab::labs::quant::bipolar::{encode, random_levels};
    use paperlab::labs::quant::bipolar_gpu::{
        BipolarGemvKernel, BipolarProblemSpec, i32s_from_bytes,
    };
    use paperlab::rng::SplitMix64;
    let ctx = ctx();
    let kernel = BipolarGemvKernel::new(&ctx);
    let mut rng = SplitMix64::new(9);
    let mut levels = |n: usize, bits: u32| random_levels(n, bits, &mut rng);
    for p in 1..=8 {
        for q in 1..=8 {
            for (rows, cols) in [(1, 1), (5, 33), (3, 64 * 32 + 7)] {
                let w: Vec<Vec<i32>> = (0..rows).map(|_| levels(cols, p)).collect();
                let x = levels(cols, q);
                let planes: Vec<_> = w
                    .iter()
                    .map(|r| encode(r, p).expect("odd levels"))
                    .collect();
                let x_planes = encode(&x, q).expect("odd levels");
                let problem = kernel
                    .prepare(
                        &ctx,
                        &BipolarProblemSpec {
                            rows: &planes,
                            x: &x_planes,
                        },
                    )
                    .expect("fits");
                let out = kernel
                    .submit(&ctx, &problem, 0, 1)
                    .and_then(|run| run.wait(&ctx))
                    .expect("ran");
                let got = i32s_from_bytes(&out.bytes);
                let want: Vec<i32> = w
                    .iter()
                    .map(|r| r.iter().zip(&x).map(|(a, b)| a * b).sum())
                    .collect();
                assert_eq!(got, want, "p {p} q {q} {rows}x{cols}");
            }
        }
    }
}
