//! `paperlab bench quant`: the kernel suite (`suite.rs`: copy, f32 GEMV, 4-bit and 3-bit+sparse
//! LUT-GEMV, Q4_0, bipolar at 1/2/4/8 bits) in one run on one adapter, one JSON line per kernel
//! and a summary line with the ratios.

use serde_json::json;

use super::suite::{
    SuiteInputs, SuiteKernel, SuiteKernels, SuiteResult, dispatches_per_pass, summary,
};
use crate::cli::{Options, headless_compute};
use crate::gpu::timing::median;
use crate::gpu::{GpuContext, GpuError};

pub const USAGE: &str = "  paperlab bench quant [--rows N] [--cols N] [--passes N]
                                   copy, f32 GEMV, 4-bit and 3-bit+sparse LUT-GEMV, Q4_0,
                                   bipolar 1/2/4/8 bits: ms and GB/s";

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
    let inputs = SuiteInputs::generate(rows, cols, 1).map_err(GpuError::BadShape)?;
    let kernels = SuiteKernels::new(ctx);
    let mut results = Vec::new();
    for k in SuiteKernel::all() {
        let bytes = inputs.bytes(k);
        let out = kernels
            .submit(ctx, &inputs, k, passes, dispatches_per_pass(bytes))?
            .wait(ctx)?;
        let timing = format!("{:?}", out.timing);
        let result = SuiteResult::measured(&inputs, k, median(&out.pass_ms), &timing, &out.bytes);
        println!("{}", json!(result));
        results.push(result);
    }
    let mut line = summary(&results);
    line["adapter"] = json!(ctx.adapter.name);
    line["backend"] = json!(ctx.adapter.backend);
    println!("{line}");
    Ok(results.iter().all(|r| r.verified))
}
