//! `paperlab bench quant`: f32 GEMV, the 4-bit LUT-GEMV and the 3-bit LUT-GEMV with the fused
//! 0.45% sparse part, against the copy kernel's bandwidth, in one run on one adapter. Q4_0 and
//! the bipolar bit-plane kernels are not written yet (issue 4 is in progress).

use serde_json::json;

use super::lut::{LutGemvKernel, LutMatrix, row_terms};
use super::matrix::{channel_sensitivity, synthetic_activations, synthetic_weights};
use super::methods::{Config, Method, quantize};
use crate::cli::{Options, headless_compute};
use crate::gpu::timing::median;
use crate::gpu::{GpuContext, GpuError, KernelRun, f32s_from_bytes};
use crate::kernels::copy::{CopyKernel, copy_bytes_moved};
use crate::kernels::gemv_f32::{
    GemvF32Kernel, check_rows, gemv_bytes_moved, gemv_error_bound, gemv_row_oracle,
};

pub const USAGE: &str = "  paperlab bench quant [--rows N] [--cols N] [--passes N]
                                   f32 GEMV vs 4-bit and 3-bit+sparse LUT-GEMV vs copy, GB/s";

/// Bytes each timed pass should move at least (a small kernel is repeated within a pass).
const PASS_BYTES: u64 = 256 << 20;

struct Timed {
    ms_median: f64,
    timing: String,
    y: Vec<f32>,
}

fn timed(
    ctx: &GpuContext,
    bytes: u64,
    passes: u32,
    submit: &dyn Fn(u32, u32) -> Result<KernelRun, GpuError>,
) -> Result<Timed, GpuError> {
    let per_pass = PASS_BYTES.div_ceil(bytes.max(1)).clamp(1, 256) as u32;
    let out = submit(passes, per_pass)?.wait(ctx)?;
    Ok(Timed {
        ms_median: median(&out.pass_ms),
        timing: format!("{:?}", out.timing),
        y: f32s_from_bytes(&out.bytes),
    })
}

pub fn bench(args: &[&str]) -> i32 {
    let o = match Options::parse(args, &["rows", "cols", "passes"]) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return 2;
        }
    };
    let dims = |key, default| {
        o.get(
            key,
            default,
            |v: &usize| (32..=8192).contains(v) && v.is_multiple_of(32),
            "a multiple of 32 in 32..=8192",
        )
    };
    let (rows, cols, passes) = match (
        dims("rows", 4096),
        dims("cols", 4096),
        o.get("passes", 7u32, |p| (1..=100).contains(p), "1..=100"),
    ) {
        (Ok(r), Ok(c), Ok(p)) => (r, c, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return 2;
        }
    };
    let compute = headless_compute();
    let Some(ctx) = compute.gpu() else {
        eprintln!("error: no GPU adapter: the kernels cannot be timed");
        return 1;
    };
    match run(ctx, rows, cols, passes) {
        Ok(ok) => i32::from(!ok),
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn run(ctx: &GpuContext, rows: usize, cols: usize, passes: u32) -> Result<bool, GpuError> {
    let w = synthetic_weights(rows, cols, 1, 0.5);
    let acts = synthetic_activations(1, cols, 1, 4);
    let s = channel_sensitivity(&acts);
    let x = acts.data.clone();
    // A few Lloyd iterations: the kernels' speed does not depend on the codebooks' quality.
    let lut = |bits, sparse: f64| {
        let c = Config {
            method: Method::Squeeze,
            bits,
            outlier_percent: sparse,
            sensitive_percent: sparse / 9.0,
            seed: 1,
            iterations: 3,
        };
        LutMatrix::from_quantized(&quantize(&w, &s, &c), bits)
    };
    let (Some(lut4), Some(lut3)) = (lut(4, 0.0), lut(3, 0.45)) else {
        return Err(GpuError::BadShape("LUT quantization failed".to_owned()));
    };
    let sample_rows: Vec<usize> = (0..rows).step_by((rows / 16).max(1)).collect();
    let mut all_ok = true;
    let mut figures = Vec::new();
    let mut report = |kernel: &str, bytes: u64, t: &Timed, verified: bool| {
        all_ok &= verified;
        let gbps = bytes as f64 / (t.ms_median * 1e6);
        println!(
            "{}",
            json!({"kernel": kernel, "rows": rows, "cols": cols, "ms_median": t.ms_median, "gbps": gbps,
                   "bytes_moved": bytes, "timing": t.timing, "verified": verified})
        );
        figures.push((kernel.to_owned(), t.ms_median, gbps));
    };

    let copy = CopyKernel::new(ctx);
    let copy_problem = copy.prepare(ctx, &w.data)?;
    let copy_bytes = copy_bytes_moved(w.data.len() as u64);
    let t = timed(ctx, copy_bytes, passes, &|p, d| {
        copy.submit(ctx, &copy_problem, p, d)
    })?;
    let copied = t.y.len() == w.data.len()
        && sample_rows
            .iter()
            .all(|&r| t.y[r * cols] == w.data[r * cols]);
    report("copy", copy_bytes, &t, copied);

    let gemv = GemvF32Kernel::new(ctx);
    let gemv_problem = gemv.prepare(ctx, &w.data, &x, rows)?;
    let gemv_bytes = gemv_bytes_moved(rows as u64, cols as u64);
    let t = timed(ctx, gemv_bytes, passes, &|p, d| {
        gemv.submit(ctx, &gemv_problem, p, d)
    })?;
    let row_of = |r: usize| w.row(r).to_vec();
    let (_, ratio) = check_rows(&row_of, &x, &t.y, &sample_rows);
    report("gemv_f32", gemv_bytes, &t, ratio <= 1.0);

    let lut_kernel = LutGemvKernel::new(ctx);
    for (name, m) in [
        ("lut_gemv_4bit", &lut4),
        ("lut_gemv_3bit_sparse_0.45pct", &lut3),
    ] {
        let problem = lut_kernel.prepare(ctx, m, &x)?;
        let bytes = m.bytes_moved();
        let t = timed(ctx, bytes, passes, &|p, d| {
            lut_kernel.submit(ctx, &problem, p, d)
        })?;
        let verified = sample_rows.iter().all(|&r| {
            let (terms, xs) = row_terms(m, &x, r);
            let (dot, abs) = gemv_row_oracle(&terms, &xs);
            t.y.get(r)
                .is_some_and(|y| (f64::from(*y) - dot).abs() <= gemv_error_bound(terms.len(), abs))
        });
        report(name, bytes, &t, verified);
    }
    let get = |k: &str| {
        figures
            .iter()
            .find(|f| f.0.starts_with(k))
            .map(|f| (f.1, f.2))
    };
    if let (Some(copy), Some(f32g), Some(l4), Some(l3)) = (
        get("copy"),
        get("gemv_f32"),
        get("lut_gemv_4bit"),
        get("lut_gemv_3bit"),
    ) {
        println!(
            "{}",
            json!({"summary": true, "adapter": ctx.adapter.name, "backend": ctx.adapter.backend,
                   "speedup_lut4_vs_f32": f32g.0 / l4.0, "speedup_lut3_sparse_vs_f32": f32g.0 / l3.0,
                   "lut4_fraction_of_copy": l4.1 / copy.1, "gemv_f32_fraction_of_copy": f32g.1 / copy.1,
                   "all_verified": all_ok,
                   "not_yet": "Q4_0 GEMV and bipolar bit-plane kernels (issue 4 in progress)"})
        );
    }
    Ok(all_ok)
}
