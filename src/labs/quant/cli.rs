//! `paperlab quant`: one quantizer on one matrix, its metrics as one JSON object.

use serde_json::json;
use web_time::Instant;

use super::matrix::{Matrix, channel_sensitivity, synthetic_activations, synthetic_weights};
use super::methods::{Config, Method, metrics, quantize};
use crate::cli::Options;

pub const USAGE: &str =
    "  paperlab quant MATRIX [--method rtn|q4_0|iq4nl|kmeans|squeeze|bipolar|int]
                 [--bits B] [--outliers PCT] [--sensitive PCT] [--weight-outliers PCT]
                 [--batch N] [--hot-channels N] [--iterations N]
                                   quantize a matrix (MATRIX: attn_query, mlp_up or mlp_down
                                   of MiniLM-L6, or synthetic:ROWSxCOLS:SEED); weight_mse,
                                   output_rel_error, bits_per_weight (everything stored) as
                                   JSON. squeeze
                                   defaults to 0.45% outliers + 0.05% sensitive";

/// Largest matrix the CLI accepts (4096 x 4096).
const MAX_WEIGHTS: usize = 1 << 24;

fn usage_error(e: &str) -> i32 {
    eprintln!("error: {e}\n\n{USAGE}");
    2
}

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

pub fn main(args: &[&str]) -> i32 {
    let Some((source, rest)) = args.split_first() else {
        return usage_error("no matrix given");
    };
    let run = || -> Result<serde_json::Value, String> {
        let o = Options::parse(
            rest,
            &[
                "method",
                "bits",
                "outliers",
                "sensitive",
                "weight-outliers",
                "batch",
                "hot-channels",
                "iterations",
            ],
        )?;
        let method_code: String = o.get("method", "squeeze".to_owned(), |_| true, "")?;
        let method = Method::from_code(&method_code).ok_or_else(|| {
            format!(
                "--method {method_code}: expected rtn, q4_0, iq4nl, kmeans, squeeze, bipolar or int"
            )
        })?;
        let min_bits = if matches!(method, Method::Bipolar | Method::SignedInt) {
            1
        } else {
            2
        };
        let bits: u32 = o.get(
            "bits",
            4,
            |b| (min_bits..=8).contains(b),
            &format!("an integer in {min_bits}..=8"),
        )?;
        let bits = method.fixed_bits().unwrap_or(bits);
        let (default_outliers, default_sensitive) = if method == Method::Squeeze {
            (0.45, 0.05)
        } else {
            (0.0, 0.0)
        };
        let pct = |v: &f64| (0.0..=2.0).contains(v);
        let outlier_percent: f64 =
            o.get("outliers", default_outliers, pct, "a percentage in [0, 2]")?;
        let sensitive_percent: f64 = o.get(
            "sensitive",
            default_sensitive,
            pct,
            "a percentage in [0, 2]",
        )?;
        let weight_outliers: f64 = o.get(
            "weight-outliers",
            0.5,
            |v| (0.0..=10.0).contains(v),
            "a percentage in [0, 10]",
        )?;
        let batch: usize = o.get(
            "batch",
            64,
            |b| (1..=4096).contains(b),
            "an integer in 1..=4096",
        )?;
        let (w, seed) = load_matrix(source, weight_outliers)?;
        let (rows, cols) = (w.rows, w.cols);
        let hot: usize = o.get(
            "hot-channels",
            4,
            |h| *h <= cols,
            "a count at most the columns",
        )?;
        let iterations: u32 = o.get(
            "iterations",
            50,
            |i| (1..=500).contains(i),
            "an integer in 1..=500",
        )?;
        let acts = synthetic_activations(batch, cols, seed, hot);
        let sensitivity = channel_sensitivity(&acts);
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
        Ok(json!({
            "matrix": source, "rows": rows, "cols": cols, "method": method.code(), "bits": bits,
            "outliers_percent": outlier_percent, "sensitive_percent": sensitive_percent,
            "weight_mse": m.weight_mse,
            "sensitivity_weighted_mse": m.sensitivity_weighted_mse,
            "output_rel_error": m.output_rel_error,
            "bits_per_weight": m.bits_per_weight,
            "sparse_nonzeros": m.sparse_nonzeros,
            "sensitivity": "per-input-channel E[a^2] of the activation batch (mean 1)",
            "quantize_ms": quantize_ms,
        }))
    };
    match run() {
        Ok(v) => {
            println!("{v}");
            0
        }
        Err(e) => usage_error(&e),
    }
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
