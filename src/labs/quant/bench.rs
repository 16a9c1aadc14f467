//! `paperlab bench quant`: the kernel suite (`suite.rs`: copy, f32 GEMV, 4-bit and 3-bit+sparse
//! LUT-GEMV, Q4_0, bipolar at 1/2/4/8 bits) in one run on one adapter, one JSON line per kernel
//! and a summary line with the ratios.

use serde_json::json;

use super::suite::{
    SuiteInputs, SuiteKernel, SuiteKernels, SuiteResult, dispatches_per_pass, summary,
};
use crate::command::{Args, CommandError, emit, headless_compute, number_arg};
use crate::gpu::{GpuContext, GpuError};
use crate::share::Setting;
use crate::stats::median;

const ROWS: Setting<u64> = Setting::new("rows", 4096, 32, 8192)
    .multiple_of(32)
    .help("Rows of the timed problem.");
const COLS: Setting<u64> = Setting::new("cols", 4096, 32, 8192)
    .multiple_of(32)
    .help("Columns of the timed problem (whole index groups).");
const PASSES: Setting<u32> =
    Setting::new("passes", 7, 1, 100).help("Timed passes per kernel (the median is reported).");

pub fn args() -> Vec<clap::Arg> {
    vec![number_arg(&ROWS), number_arg(&COLS), number_arg(&PASSES)]
}

pub fn bench(args: &Args<'_>) -> Result<i32, CommandError> {
    let rows = args.number(&ROWS)? as usize;
    let cols = args.number(&COLS)? as usize;
    let passes = args.number(&PASSES)?;
    let compute = headless_compute();
    let Some(ctx) = compute.gpu() else {
        return Err(CommandError::failed(
            "no GPU adapter: the kernels cannot be timed",
        ));
    };
    Ok(i32::from(!run(ctx, rows, cols, passes)?))
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
        emit(json!(result));
        results.push(result);
    }
    let mut line = summary(&results);
    line["adapter"] = json!(ctx.adapter.name);
    line["backend"] = json!(ctx.adapter.backend);
    emit(line);
    Ok(results.iter().all(|r| r.verified))
}
