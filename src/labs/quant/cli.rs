//! `paperlab quant`: one quantizer on one matrix, its metrics as one JSON object.

use clap::Arg;
use serde_json::json;
use web_time::Instant;

use super::lab::KMEANS_ITERATIONS;
use super::matrix::{Matrix, calibration_and_held_out, synthetic_weights};
use super::methods::{Config, Method, metrics, quantize};
use super::settings::QuantSettings;
use crate::command::{Args, CommandError, LabCommand, emit, number_arg, settings_args};
use crate::share::Setting;

/// The page's settings `paperlab quant` takes (link keys; `--weight-outliers` and
/// `--hot-channels` on the command line).
const QUANT_KEYS: &[&str] = &[
    "method",
    "bits",
    "outliers",
    "sensitive",
    "weight_outliers",
    "batch",
    "hot_channels",
];

const ITERATIONS: Setting<u32> = Setting::new("iterations", KMEANS_ITERATIONS, 1, 500)
    .help("Lloyd iterations of the k-means codebooks (the page uses the default).");

/// The page's settings with a command's defaults: `bits`, and no sparse part unless the
/// method is SqueezeLLM (whose defaults are the paper's 0.45% + 0.05%).
pub(super) fn base(method: Method, bits: u32) -> QuantSettings {
    let page = QuantSettings::default();
    let squeeze = method == Method::Squeeze;
    QuantSettings {
        method,
        bits,
        outliers: if squeeze { page.outliers } else { 0.0 },
        sensitive: if squeeze { page.sensitive } else { 0.0 },
        ..page
    }
}

/// `paperlab quant`'s default width.
const BITS: u32 = 4;

pub fn commands() -> Vec<LabCommand> {
    vec![
        LabCommand {
            path: &["quant"],
            about: "quantize a matrix with one method; weight_mse, output_rel_error, bits_per_weight (everything stored) as JSON",
            long_about: "MATRIX: attn_query, mlp_up or mlp_down of MiniLM-L6 layer 0, or synthetic:ROWSxCOLS:SEED. --outliers and --sensitive default to 0 except for squeeze (0.45 and 0.05). Example: paperlab quant mlp_up --method squeeze --bits 3",
            args: || {
                let mut args = vec![
                    Arg::new("matrix")
                        .value_name("MATRIX")
                        .required(true)
                        .help("attn_query, mlp_up, mlp_down or synthetic:ROWSxCOLS:SEED"),
                ];
                args.extend(settings_args(&base(Method::Squeeze, BITS), QUANT_KEYS));
                args.push(number_arg(&ITERATIONS));
                args
            },
            run,
        },
        super::model_cli::command(),
        LabCommand {
            path: &["bench", "quant"],
            about: "copy, f32 GEMV, 4-bit and 3-bit+sparse LUT-GEMV, Q4_0, bipolar GEMV and GEMM (16 vectors, against an f32 GEMM) at 1/2/4/8 bits: ms, GB/s, fraction of copy",
            long_about: "",
            args: super::bench::args,
            run: super::bench::bench,
        },
    ]
}

/// Largest matrix the CLI accepts (4096 x 4096).
const MAX_WEIGHTS: usize = 1 << 24;

/// A shipped MiniLM matrix by name, or `synthetic:ROWSxCOLS:SEED` with `weight_outliers` %.
fn load_matrix(text: &str, weight_outliers: f64) -> Result<(Matrix, u64), String> {
    if !text.starts_with("synthetic:") {
        return super::real::minilm(text)?
            .map(|m| (m, 1))
            .ok_or_else(|| "the shipped weights are not loaded".to_owned());
    }
    let (rows, cols, seed) = parse_source(text)?;
    Ok((synthetic_weights(rows, cols, seed, weight_outliers), seed))
}

/// `synthetic:ROWSxCOLS:SEED`.
fn parse_source(text: &str) -> Result<(usize, usize, u64), String> {
    let bad = || format!("'{text}': expected synthetic:ROWSxCOLS:SEED, e.g. synthetic:1024x1024:1");
    let rest = text.strip_prefix("synthetic:").ok_or_else(bad)?;
    let (shape, seed) = rest.split_once(':').ok_or_else(bad)?;
    let (rows, cols) = shape.split_once('x').ok_or_else(bad)?;
    let rows: usize = rows.parse().map_err(|_| bad())?;
    let cols: usize = cols.parse().map_err(|_| bad())?;
    let seed: u64 = seed.parse().map_err(|_| bad())?;
    if rows == 0 || cols == 0 || rows.saturating_mul(cols) > MAX_WEIGHTS {
        return Err(format!(
            "{rows}x{cols}: between 1 and {MAX_WEIGHTS} weights (4096 x 4096)"
        ));
    }
    Ok((rows, cols, seed))
}

fn run(args: &Args<'_>) -> Result<i32, CommandError> {
    let source = args.text("matrix").unwrap_or_default();
    let method = args.settings(QuantSettings::default(), &["method"])?.method;
    let s = args.settings(base(method, BITS), QUANT_KEYS)?;
    if method.fixed_bits().is_none() && s.bits < method.min_bits() {
        return Err(CommandError::usage(format!(
            "--bits {}: {} needs at least {} bits",
            s.bits,
            method.code(),
            method.min_bits()
        )));
    }
    let bits = s.method_bits();
    let iterations = args.number(&ITERATIONS)?;
    let (w, seed) = load_matrix(source, s.weight_outliers).map_err(CommandError::Usage)?;
    let (rows, cols) = (w.rows, w.cols);
    let (batch, hot) = (s.batch as usize, s.hot_channels as usize);
    if hot > cols {
        return Err(CommandError::usage(format!(
            "--hot-channels {hot}: more than the matrix's {cols} columns"
        )));
    }
    let (outlier_percent, sensitive_percent) = (s.outliers, s.sensitive);
    // A shipped matrix is judged on MiniLM's own activations (calibration and held-out
    // verses); a synthetic one on seeded synthetic batches.
    let real = if source.starts_with("synthetic:") {
        None
    } else {
        super::real::minilm_activations(source, batch).map_err(CommandError::Usage)?
    };
    let activations_source = if real.is_some() {
        "MiniLM's own: sensitivity over the calibration verses' tokens, errors on held-out verses' tokens"
    } else {
        "synthetic: per-input-channel E[a^2] of a calibration batch (mean 1); errors on a second, held-out batch"
    };
    let (sensitivity, acts) =
        real.unwrap_or_else(|| calibration_and_held_out(batch, cols, seed, hot));
    let config = Config {
        method,
        bits,
        outlier_percent,
        sensitive_percent,
        seed,
        iterations,
    };
    let t0 = Instant::now();
    let q = quantize(&w, &sensitivity, &config);
    let quantize_ms = t0.elapsed().as_secs_f64() * 1e3;
    let m = metrics(&w, &q, &sensitivity, &acts);
    emit(json!({
        "matrix": source, "rows": rows, "cols": cols, "method": method.code(), "bits": bits,
        "outliers_percent": outlier_percent, "sensitive_percent": sensitive_percent,
        "weight_mse": m.weight_mse,
        "sensitivity_weighted_mse": m.sensitivity_weighted_mse,
        "output_rel_error": m.output_rel_error,
        "bits_per_weight": m.bits_per_weight,
        "sparse_nonzeros": m.sparse_nonzeros,
        "heldout_vectors": acts.batch,
        "activations": activations_source,
        "quantize_ms": quantize_ms,
    }));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::parse_source;

    #[test]
    fn sources_parse_or_say_why() {
        assert_eq!(parse_source("synthetic:128x256:7"), Ok((128, 256, 7)));
        for bad in [
            "synthetic:0x5:1",
            "synthetic:5x5",
            "foo",
            "synthetic:4097x4097:1",
            "synthetic:axb:1",
        ] {
            assert!(parse_source(bad).is_err(), "{bad}");
        }
    }
}
