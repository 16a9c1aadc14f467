//! `paperlab bench quant`: the kernel suite (`suite.rs`: copy, f32 GEMV, 4-bit and 3-bit+sparse
//! LUT-GEMV, Q4_0, bipolar GEMV at 1/2/4/8 bits, f32 and bipolar GEMM of 16 vectors) in one run
//! on one adapter, one JSON line per kernel and a summary line with the ratios.

use serde_json::json;

use super::suite::{
    SuiteInputs, SuiteKernel, SuiteKernels, SuiteResult, dispatches_per_pass, summary,
};
use crate::command::{Args, CommandError, emit, headless_compute, number_arg, text_arg};
use crate::gpu::{GpuContext, GpuError};
use crate::kernels::gemv_f32::GemvVariant;
use crate::share::Setting;
use crate::stats::median;

const ROWS: Setting<u64> = Setting::new("rows", 4096, 32, 16384)
    .multiple_of(32)
    .help("Rows of the timed problem.");
const COLS: Setting<u64> = Setting::new("cols", 4096, 32, 16384)
    .multiple_of(32)
    .help("Columns of the timed problem (whole index groups).");
const PASSES: Setting<u32> =
    Setting::new("passes", 7, 1, 100).help("Timed passes per kernel (the median is reported).");

pub fn args() -> Vec<clap::Arg> {
    vec![
        number_arg(&ROWS),
        number_arg(&COLS),
        number_arg(&PASSES),
        text_arg(
            "variant",
            "auto|workgroup|rowwise",
            "Kernel shapes: auto (a thread per few rows on software adapters, a team per row on GPUs), or one forced for every GEMV to compare.",
        ),
    ]
}

fn variant(args: &Args<'_>, ctx: &GpuContext) -> Result<GemvVariant, CommandError> {
    match args.text("variant").unwrap_or("auto") {
        "auto" => Ok(GemvVariant::for_adapter(ctx)),
        "workgroup" => Ok(GemvVariant::Workgroup),
        "rowwise" => Ok(GemvVariant::Rowwise),
        other => Err(CommandError::usage(format!(
            "--variant {other}: expected auto, workgroup or rowwise"
        ))),
    }
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
    let variant = variant(args, ctx)?;
    Ok(i32::from(!run(ctx, rows, cols, passes, variant)?))
}

fn run(
    ctx: &GpuContext,
    rows: usize,
    cols: usize,
    passes: u32,
    variant: GemvVariant,
) -> Result<bool, GpuError> {
    let inputs = SuiteInputs::generate(rows, cols, 1).map_err(GpuError::BadShape)?;
    let kernels = SuiteKernels::with_variant(ctx, variant);
    let mut results: Vec<SuiteResult> = Vec::new();
    for k in SuiteKernel::all() {
        let bytes = inputs.bytes(k);
        let out = match kernels
            .submit(ctx, &inputs, k, passes, dispatches_per_pass(bytes))
            .and_then(|run| run.wait(ctx))
        {
            Ok(out) => out,
            // A size past the adapter's limits is refused with the limit, and the rest still run.
            Err(e @ (GpuError::TooLarge { .. } | GpuError::BadShape(_))) => {
                emit(
                    json!({"kernel": k.name(), "rows": rows, "cols": cols, "refused": e.to_string()}),
                );
                continue;
            }
            Err(e) => return Err(e),
        };
        let timing = format!("{:?}", out.timing);
        let mut result =
            SuiteResult::measured(&inputs, k, median(&out.pass_ms), &timing, &out.bytes);
        result.shape = kernels.shape_label(k);
        result.fraction_of_copy = results
            .iter()
            .find(|r| r.kernel == SuiteKernel::Copy.name())
            .map(|copy| result.gbps / copy.gbps);
        emit(json!(result));
        results.push(result);
    }
    let mut line = summary(&results);
    line["adapter"] = json!(ctx.adapter.name);
    line["backend"] = json!(ctx.adapter.backend);
    emit(line);
    Ok(results.iter().all(|r| r.verified))
}
