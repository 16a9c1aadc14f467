//! The SqueezeLLM LUT-GEMV kernel (dense codebook part + fused CSR sparse part) on a real wgpu
//! device (lavapipe in CI) against an f64 oracle, within the f32 rounding bound of each row.

use paperlab::gpu::GpuContext;
use paperlab::kernels::gemv_f32::{gemv_error_bound, gemv_row_oracle};
use paperlab::labs::quant::lut::{Lookup, LutGemvKernel, LutMatrix, row_terms};
use paperlab::labs::quant::matrix::{
    channel_sensitivity, synthetic_activations, synthetic_weights,
};
use paperlab::labs::quant::methods::{Config, Method, quantize};
use paperlab::labs::quant::pipeline::Shape;

fn ctx() -> GpuContext {
    GpuContext::new_headless().unwrap_or_else(|e| {
        panic!("no wgpu device ({e}); run scripts/setup (installs mesa-vulkan-drivers)")
    })
}

#[test]
fn lut_gemv_matches_the_oracle_for_every_width_and_shape() {
    let ctx = ctx();
    // Every lookup of the thread-per-row shader (the adapter picks one; lavapipe runs them all).
    let lookups = |s: Shape| match s {
        Shape::Rowwise => Lookup::ALL.to_vec(),
        Shape::Team { .. } => vec![Lookup::SelectTree],
    };
    let shapes = Shape::all_for(&ctx).into_iter();
    for (shape, lookup) in shapes.flat_map(|s| lookups(s).into_iter().map(move |l| (s, l))) {
        let kernel = LutGemvKernel::with_shape(shape, lookup);
        // Several workgroups of every shape (team: 16 rows each), rows padded to whole units.
        for (rows, cols) in [(1, 1), (33, 33), (70, 200), (5, 1000), (130, 520)] {
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
                            "{shape:?} {lookup:?} {rows}x{cols} bits {bits} sparse {sparse} row {r}: {} vs {dot} (bound {bound})",
                            y[r]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn q4_0_gemv_matches_the_oracle() {
    use paperlab::labs::quant::q4::{Q4GemvKernel, Q4Matrix};
    let ctx = ctx();
    // The rowwise shape in both of its forms (two rows per thread on SwiftShader, four elsewhere).
    let kernels = Shape::all_for(&ctx).into_iter().flat_map(|shape| {
        let rows: &[u32] = if shape == Shape::Rowwise {
            &[2, 4]
        } else {
            &[2]
        };
        rows.iter().map(move |&r| (shape, r)).collect::<Vec<_>>()
    });
    for (shape, rowwise_rows) in kernels {
        let kernel = Q4GemvKernel::with_rowwise_rows(&ctx, shape, rowwise_rows);
        // Odd block counts (scales share u32 words in pairs), short last blocks, more blocks per
        // row than threads, several workgroups.
        for (rows, cols) in [
            (1, 1),
            (3, 32),
            (33, 70),
            (7, 96),
            (4, 64 * 32 + 40),
            (131, 96),
        ] {
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
                    "{shape:?} ({rowwise_rows} rows per thread) {rows}x{cols} row {r}: {} vs {dot} (bound {bound})",
                    y[r]
                );
            }
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
    let mut rng = SplitMix64::new(9);
    let mut levels = |n: usize, bits: u32| random_levels(n, bits, &mut rng);
    for shape in Shape::all_for(&ctx) {
        let kernel = BipolarGemvKernel::with_shape(shape);
        for p in 1..=8 {
            for q in 1..=8 {
                // Several workgroups of every shape at a few widths (64 pipelines per shape).
                let many = if p == q { 131 } else { 3 };
                for (rows, cols) in [(1, 1), (5, 33), (3, 64 * 32 + 7), (many, 40)] {
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
                    assert_eq!(got, want, "{shape:?} p {p} q {q} {rows}x{cols}");
                }
            }
        }
    }
}

#[test]
fn bipolar_gemm_equals_the_integer_products_in_both_shapes() {
    use paperlab::kernels::gemv_f32::GemvVariant;
    use paperlab::labs::quant::bipolar::{encode, random_levels};
    use paperlab::labs::quant::bipolar_gemm::BipolarGemmKernel;
    use paperlab::labs::quant::bipolar_gpu::i32s_from_bytes;
    use paperlab::rng::SplitMix64;
    let ctx = ctx();
    let mut rng = SplitMix64::new(11);
    for variant in [GemvVariant::Rowwise, GemvVariant::Workgroup] {
        // Rows and vectors past a tile, word counts past a tile step, a short batch.
        for (p, q, rows, cols, batch) in [
            (1, 1, 37, 1000, 16),
            (3, 2, 20, 70, 5),
            (8, 8, 17, 530, 16),
            (2, 5, 1, 33, 1),
        ] {
            let w: Vec<Vec<i32>> = (0..rows)
                .map(|_| random_levels(cols, p, &mut rng))
                .collect();
            let xs: Vec<Vec<i32>> = (0..batch)
                .map(|_| random_levels(cols, q, &mut rng))
                .collect();
            let planes: Vec<_> = w
                .iter()
                .map(|r| encode(r, p).expect("odd levels"))
                .collect();
            let x_planes: Vec<_> = xs
                .iter()
                .map(|x| encode(x, q).expect("odd levels"))
                .collect();
            let kernel = BipolarGemmKernel::new(&ctx, variant, p, q, batch as u32);
            let problem = kernel.prepare(&ctx, &planes, &x_planes).expect("fits");
            let out = kernel
                .submit(&ctx, &problem, 0, 1)
                .and_then(|run| run.wait(&ctx))
                .expect("ran");
            let want: Vec<i32> = xs
                .iter()
                .flat_map(|x| {
                    w.iter()
                        .map(move |r| r.iter().zip(x).map(|(a, b)| a * b).sum::<i32>())
                })
                .collect();
            assert_eq!(
                i32s_from_bytes(&out.bytes),
                want,
                "{variant:?} p {p} q {q} {rows}x{cols} batch {batch}"
            );
        }
    }
}

#[test]
fn f32_gemm_matches_the_oracle_in_both_shapes() {
    use paperlab::kernels::gemm_f32::GemmF32Kernel;
    use paperlab::kernels::gemv_f32::GemvVariant;
    let ctx = ctx();
    for variant in [GemvVariant::Rowwise, GemvVariant::Workgroup] {
        for (rows, cols, batch) in [(37, 100, 16), (16, 16, 3), (5, 260, 17)] {
            let w = synthetic_weights(rows, cols, 7, 1.0).data;
            let x = synthetic_activations(batch, cols, 7, 2).data;
            let kernel = GemmF32Kernel::with_variant(&ctx, variant, batch as u32);
            let problem = kernel.prepare(&ctx, &w, &x, rows).expect("fits");
            let out = kernel
                .submit(&ctx, &problem, 0, 1)
                .and_then(|run| run.wait(&ctx))
                .expect("ran");
            let y = paperlab::gpu::f32s_from_bytes(&out.bytes);
            assert_eq!(y.len(), rows * batch);
            for n in 0..batch {
                for r in 0..rows {
                    let (dot, abs) =
                        gemv_row_oracle(&w[r * cols..(r + 1) * cols], &x[n * cols..(n + 1) * cols]);
                    let got = f64::from(y[n * rows + r]);
                    assert!(
                        (got - dot).abs() <= gemv_error_bound(cols, abs),
                        "{variant:?} {rows}x{cols} batch {batch} ({n}, {r}): {got} vs {dot}"
                    );
                }
            }
        }
    }
}
