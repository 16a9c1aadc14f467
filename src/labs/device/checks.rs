//! Self-test entries for the shared copy and GEMV kernels (registered by the Device lab).

use std::rc::Rc;

use crate::kernels::copy::{CopyKernel, copy_reference};
use crate::kernels::gemv_f32::{GemvF32Kernel, GemvVariant, check_rows, gemv_f32_reference};
use crate::rng;
use crate::selftest::{Check, KernelCheck, Verdict};

/// Sizes chosen to hit the edges: a partial last tile, a single row, a row count above
/// 65,535 (2D workgroup grid), columns not a multiple of the workgroup size.
const COPY_FLOATS: usize = (1 << 20) + 4 * 7;
const GEMV_SHAPES: [(usize, usize); 4] = [(1, 4), (37, 100), (256, 4096), (70_000, 8)];

pub fn kernel_checks(seed: u64) -> Vec<Box<dyn Check>> {
    let mut checks: Vec<Box<dyn Check>> = vec![Box::new(copy_check(seed))];
    // Both kernel shapes on every adapter: the one not chosen here is chosen elsewhere.
    for variant in [GemvVariant::Workgroup, GemvVariant::Rowwise] {
        for (i, &(rows, cols)) in GEMV_SHAPES.iter().enumerate() {
            checks.push(Box::new(gemv_check(seed + i as u64, rows, cols, variant)));
        }
    }
    checks
}

fn copy_check(seed: u64) -> KernelCheck {
    let mut src = vec![0.0f32; COPY_FLOATS];
    rng::fill_f32(seed, 0, &mut src);
    let src = Rc::new(src);
    let (gpu_src, cpu_src, judge_src) = (Rc::clone(&src), Rc::clone(&src), src);
    KernelCheck::new(
        format!("copy {COPY_FLOATS} floats"),
        move |ctx| {
            let kernel = CopyKernel::new(ctx);
            let problem = kernel.prepare(ctx, &gpu_src)?;
            kernel.submit(ctx, &problem, 0, 1)
        },
        move || {
            let mut dst = vec![0.0f32; cpu_src.len()];
            copy_reference(&cpu_src, &mut dst);
            dst
        },
        move |result| {
            let mismatches = result
                .iter()
                .zip(judge_src.iter())
                .filter(|(r, s)| r.to_bits() != s.to_bits())
                .count()
                + result.len().abs_diff(judge_src.len());
            Verdict {
                max_abs_error: if mismatches == 0 { 0.0 } else { f64::INFINITY },
                error_to_bound: if mismatches == 0 { 0.0 } else { f64::INFINITY },
                detail: format!("bit-exact copy, {mismatches} mismatches"),
            }
        },
    )
}

fn gemv_check(seed: u64, rows: usize, cols: usize, variant: GemvVariant) -> KernelCheck {
    let mut w = vec![0.0f32; rows * cols];
    let mut x = vec![0.0f32; cols];
    rng::fill_f32(rng::hash_u64(seed, 0), 0, &mut w);
    rng::fill_f32(rng::hash_u64(seed, 1), 0, &mut x);
    let (w, x) = (Rc::new(w), Rc::new(x));
    let (gw, gx, cw, cx) = (Rc::clone(&w), Rc::clone(&x), Rc::clone(&w), Rc::clone(&x));
    KernelCheck::new(
        format!("gemv_f32 {rows}x{cols} ({})", variant.name()),
        move |ctx| {
            let kernel = GemvF32Kernel::with_variant(ctx, variant);
            let problem = kernel.prepare(ctx, &gw, &gx, rows)?;
            kernel.submit(ctx, &problem, 0, 1)
        },
        move || gemv_f32_reference(&cw, &cx, rows),
        move |result| {
            if result.len() != rows {
                return Verdict {
                    max_abs_error: f64::INFINITY,
                    error_to_bound: f64::INFINITY,
                    detail: format!("{} outputs, {rows} expected", result.len()),
                };
            }
            let row_of = |r: usize| w[r * cols..(r + 1) * cols].to_vec();
            let all_rows: Vec<usize> = (0..rows).collect();
            let (max_abs_error, error_to_bound) = check_rows(&row_of, &x, result, &all_rows);
            Verdict {
                max_abs_error,
                error_to_bound,
                detail: format!("all {rows} rows vs f64 oracle, bound (n+1)u·Σ|w·x|"),
            }
        },
    )
}
