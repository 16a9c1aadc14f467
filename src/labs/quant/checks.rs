//! Self-test entries: the LUT-GEMV (3-bit with the fused sparse part, 4-bit dense), the Q4_0
//! GEMV and the bipolar bit-plane GEMV, each against an independent reference (an f64 dot
//! product of the dequantized weights within the f32 rounding bound; plain integer products
//! for bipolar, which must agree exactly).

use std::rc::Rc;

use super::bipolar::{Planes, encode, gemv, random_levels};
use super::bipolar_gemm::{BipolarGemmKernel, bipolar_gemm_reference};
use super::bipolar_gpu::{BipolarGemvKernel, BipolarProblemSpec};
use super::lut::{LutGemvKernel, LutMatrix, lut_gemv_reference, row_terms};
use super::matrix::{channel_sensitivity, synthetic_activations, synthetic_weights};
use super::methods::{Config, Method, quantize};
use super::q4::{Q4GemvKernel, Q4Matrix, q4_gemv_reference};
use crate::kernels::gemm_f32::{GemmF32Kernel, gemm_f32_reference};
use crate::kernels::gemv_f32::{GemvVariant, gemv_error_bound, gemv_row_oracle};
use crate::rng::SplitMix64;
use crate::selftest::{Check, KernelCheck, Verdict};

pub fn kernel_checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(lut_check(3, 0.45)),
        Box::new(lut_check(4, 0.0)),
        Box::new(q4_check()),
        Box::new(bipolar_check(3, 5)),
        Box::new(bipolar_check(8, 8)),
        Box::new(gemm_check()),
        Box::new(bipolar_gemm_check(2, 3)),
    ]
}

/// Vectors of the GEMM checks (the suite's batch).
const GEMM_CHECK_BATCH: usize = 16;

fn gemm_check() -> KernelCheck {
    let (rows, cols) = (40, 300);
    let w = Rc::new(synthetic_weights(rows, cols, 24, 1.0).data);
    let x = Rc::new(synthetic_activations(GEMM_CHECK_BATCH, cols, 24, 3).data);
    let (gw, gx, cw, cx) = (Rc::clone(&w), Rc::clone(&x), Rc::clone(&w), Rc::clone(&x));
    KernelCheck::new(
        format!("f32 GEMM {rows}x{cols}, {GEMM_CHECK_BATCH} vectors"),
        move |ctx| {
            let kernel = GemmF32Kernel::with_variant(
                ctx,
                GemvVariant::for_adapter(ctx),
                GEMM_CHECK_BATCH as u32,
            );
            let problem = kernel.prepare(ctx, &gw, &gx, rows)?;
            kernel.submit(ctx, &problem, 0, 1)
        },
        move || gemm_f32_reference(&cw, &cx, rows, GEMM_CHECK_BATCH),
        move |result| {
            // Output i is (vector i / rows, row i % rows).
            judge_rows(result, rows * GEMM_CHECK_BATCH, &|i| {
                let (n, r) = (i / rows, i % rows);
                (
                    w[r * cols..(r + 1) * cols].to_vec(),
                    x[n * cols..(n + 1) * cols].to_vec(),
                )
            })
        },
    )
}

fn bipolar_gemm_check(p: u32, q: u32) -> KernelCheck {
    let (rows, cols, batch) = (24, 700, 16u32);
    let mut rng = SplitMix64::new(31);
    let w: Vec<Vec<i32>> = (0..rows)
        .map(|_| random_levels(cols, p, &mut rng))
        .collect();
    let xs: Vec<Vec<i32>> = (0..batch)
        .map(|_| random_levels(cols, q, &mut rng))
        .collect();
    let enc = |v: &Vec<i32>, bits: u32| {
        encode(v, bits).unwrap_or_else(|e| unreachable!("odd levels: {e}"))
    };
    let planes = Rc::new((
        w.iter().map(|r| enc(r, p)).collect::<Vec<_>>(),
        xs.iter().map(|x| enc(x, q)).collect::<Vec<_>>(),
    ));
    // Plain integer products, vector by vector.
    let expected: Vec<i64> = xs
        .iter()
        .flat_map(|x| {
            w.iter().map(move |r| {
                r.iter()
                    .zip(x)
                    .map(|(a, b)| i64::from(*a) * i64::from(*b))
                    .sum()
            })
        })
        .collect();
    let (gp, cp) = (Rc::clone(&planes), Rc::clone(&planes));
    KernelCheck::new(
        format!("bipolar GEMM p={p} q={q} {rows}x{cols}, {batch} vectors, exact integers"),
        move |ctx| {
            let kernel = BipolarGemmKernel::new(ctx, GemvVariant::for_adapter(ctx), p, q, batch);
            let problem = kernel.prepare(ctx, &gp.0, &gp.1)?;
            kernel.submit(ctx, &problem, 0, 1)
        },
        move || {
            bipolar_gemm_reference(&cp.0, &cp.1)
                .into_iter()
                .map(|v| f32::from_bits(v as u32))
                .collect()
        },
        move |result| integer_verdict(result, &expected),
    )
}

/// Exact agreement of i32 results (carried as f32 bit patterns) with integer products.
fn integer_verdict(result: &[f32], expected: &[i64]) -> Verdict {
    let got: Vec<i64> = result
        .iter()
        .map(|v| i64::from(v.to_bits() as i32))
        .collect();
    let differing = got.iter().zip(expected).filter(|(a, b)| a != b).count()
        + got.len().abs_diff(expected.len());
    Verdict {
        max_abs_error: differing as f64,
        error_to_bound: if differing == 0 { 0.0 } else { f64::INFINITY },
        detail: format!(
            "{differing} of {} integer results differ from the integer reference",
            expected.len()
        ),
    }
}

/// Each row's error against its f64 dot product, as a fraction of the f32 rounding bound.
fn judge_rows(result: &[f32], rows: usize, row: &dyn Fn(usize) -> (Vec<f32>, Vec<f32>)) -> Verdict {
    if result.len() != rows {
        return Verdict {
            max_abs_error: f64::INFINITY,
            error_to_bound: f64::INFINITY,
            detail: format!("{} outputs, {rows} expected", result.len()),
        };
    }
    let (mut max_abs, mut ratio) = (0.0f64, 0.0f64);
    for (r, &got) in result.iter().enumerate() {
        let (w, x) = row(r);
        let (dot, abs) = gemv_row_oracle(&w, &x);
        let err = (f64::from(got) - dot).abs();
        max_abs = max_abs.max(err);
        ratio = ratio.max(if got.is_finite() {
            err / gemv_error_bound(w.len(), abs)
        } else {
            f64::INFINITY
        });
    }
    Verdict {
        max_abs_error: max_abs,
        error_to_bound: ratio,
        detail: format!("{rows} rows within the f32 rounding bound"),
    }
}

fn lut_check(bits: u32, sparse_percent: f64) -> KernelCheck {
    let (rows, cols) = (96, 520);
    let w = synthetic_weights(rows, cols, 21, 1.0);
    let acts = synthetic_activations(1, cols, 21, 3);
    let s = channel_sensitivity(&acts);
    let config = Config {
        method: Method::Squeeze,
        bits,
        outlier_percent: sparse_percent,
        sensitive_percent: sparse_percent / 9.0,
        seed: 4,
        iterations: 8,
    };
    let m = Rc::new(
        LutMatrix::from_quantized(&quantize(&w, &s, &config), bits)
            .unwrap_or_else(|| unreachable!("squeeze is a LUT method")),
    );
    let x = Rc::new(acts.data);
    let (gm, gx, cm, cx) = (Rc::clone(&m), Rc::clone(&x), Rc::clone(&m), Rc::clone(&x));
    KernelCheck::new(
        format!(
            "LUT-GEMV {bits}-bit {rows}x{cols}, {} sparse entries fused",
            m.sparse.nnz()
        ),
        move |ctx| {
            let kernel = LutGemvKernel::new(ctx);
            let problem = kernel.prepare(ctx, &gm, &gx)?;
            kernel.submit(ctx, &problem, 0, 1)
        },
        move || lut_gemv_reference(&cm, &cx),
        move |result| judge_rows(result, rows, &|r| row_terms(&m, &x, r)),
    )
}

fn q4_check() -> KernelCheck {
    let (rows, cols) = (80, 1000);
    let m = Rc::new(Q4Matrix::from_matrix(&synthetic_weights(
        rows, cols, 22, 1.0,
    )));
    let x = Rc::new(synthetic_activations(1, cols, 22, 3).data);
    let (gm, gx, cm, cx) = (Rc::clone(&m), Rc::clone(&x), Rc::clone(&m), Rc::clone(&x));
    KernelCheck::new(
        format!("Q4_0 GEMV {rows}x{cols} (short last block)"),
        move |ctx| {
            let kernel = Q4GemvKernel::new(ctx);
            let problem = kernel.prepare(ctx, &gm, &gx)?;
            kernel.submit(ctx, &problem, 0, 1)
        },
        move || q4_gemv_reference(&cm, &cx),
        move |result| {
            judge_rows(result, rows, &|r| {
                ((0..cols).map(|j| m.value(r, j)).collect(), x.to_vec())
            })
        },
    )
}

fn bipolar_check(p: u32, q: u32) -> KernelCheck {
    let (rows, cols) = (64, 3000);
    let mut rng = SplitMix64::new(23 + u64::from(p * 8 + q));
    let w: Vec<Vec<i32>> = (0..rows)
        .map(|_| random_levels(cols, p, &mut rng))
        .collect();
    let x = random_levels(cols, q, &mut rng);
    let encoded = || -> (Vec<Planes>, Planes) {
        (
            w.iter()
                .map(|r| encode(r, p).unwrap_or_else(|e| unreachable!("odd levels: {e}")))
                .collect(),
            encode(&x, q).unwrap_or_else(|e| unreachable!("odd levels: {e}")),
        )
    };
    let planes = Rc::new(encoded());
    let expected: Vec<i64> = w
        .iter()
        .map(|r| {
            r.iter()
                .zip(&x)
                .map(|(a, b)| i64::from(*a) * i64::from(*b))
                .sum()
        })
        .collect();
    let (gp, cp) = (Rc::clone(&planes), Rc::clone(&planes));
    KernelCheck::new(
        format!("bipolar GEMV p={p} q={q} {rows}x{cols}, exact integers"),
        move |ctx| {
            let kernel = BipolarGemvKernel::new(ctx);
            let problem = kernel.prepare(
                ctx,
                &BipolarProblemSpec {
                    rows: &gp.0,
                    x: &gp.1,
                },
            )?;
            kernel.submit(ctx, &problem, 0, 1)
        },
        // The CPU path returns the same i32 bit patterns the kernel writes.
        move || {
            gemv(&cp.0, &cp.1)
                .into_iter()
                .map(|v| f32::from_bits(v as i32 as u32))
                .collect()
        },
        move |result| integer_verdict(result, &expected),
    )
}
