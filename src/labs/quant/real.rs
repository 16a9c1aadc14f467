//! The shipped real weights: three MiniLM-L6 layer-0 matrices (assets/quant, f16).

use serde::Deserialize;

use super::matrix::{Activations, Matrix};

/// The 2.6 MB of f16 weights: compiled in natively, fetched by the page (`crate::served`).
const DATA: crate::served::Served = crate::served!(
    "./minilm-l6-layer0.f16",
    "../../../assets/quant/minilm-l6-layer0.f16"
);

const INDEX: &str = include_str!("../../../assets/quant/minilm-l6-layer0.json");

/// Real activations of the three matrices (1.2 MB f16; `paperlab quant model
/// --export-activations`): held-out input vectors, fetched like the weights; the calibration
/// sensitivities are in the index.
const ACTS: crate::served::Served = crate::served!(
    "./minilm-l6-layer0-acts.f16",
    "../../../assets/quant/minilm-l6-layer0-acts.f16"
);
const ACTS_INDEX: &str = include_str!("../../../assets/quant/minilm-l6-layer0-acts.json");

#[derive(Deserialize)]
struct ActsEntry {
    name: String,
    tokens: usize,
    cols: usize,
    sensitivity_offset_bytes: usize,
    offset_bytes: usize,
}

#[derive(Deserialize)]
struct ActsIndex {
    matrices: Vec<ActsEntry>,
}

/// A shipped matrix's real activations: the sensitivity from the calibration verses and the
/// first `batch` (at most the 256 shipped) held-out input vectors. `Ok(None)` while fetching.
pub fn minilm_activations(
    name: &str,
    batch: usize,
) -> Result<Option<(Vec<f64>, Activations)>, String> {
    let index: ActsIndex = serde_json::from_str(ACTS_INDEX)
        .map_err(|e| format!("the activations index is unreadable: {e}"))?;
    let entry = index
        .matrices
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| format!("no activations for '{name}'"))?;
    let batch = batch.clamp(1, entry.tokens.max(1));
    let len = batch * entry.cols;
    let s_start = entry.sensitivity_offset_bytes;
    let decoded = crate::served::with_served(ACTS, |data| {
        let sensitivity: Vec<f64> = data
            .get(s_start..s_start + 4 * entry.cols)?
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect();
        let inputs: Vec<f32> = data
            .get(entry.offset_bytes..entry.offset_bytes + 2 * len)?
            .chunks_exact(2)
            .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect();
        Some((sensitivity, inputs))
    })?;
    match decoded {
        None => Ok(None),
        Some(None) => Err(format!(
            "the activations file is shorter than the index says ({name})"
        )),
        Some(Some((sensitivity, data))) => {
            if sensitivity.iter().any(|v| !v.is_finite()) || data.iter().any(|v| !v.is_finite()) {
                return Err(format!(
                    "the activations file holds a non-finite value ({name})"
                ));
            }
            Ok(Some((
                sensitivity,
                Activations {
                    batch,
                    cols: entry.cols,
                    data,
                },
            )))
        }
    }
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    rows: usize,
    cols: usize,
    offset_bytes: usize,
}

#[derive(Deserialize)]
struct Index {
    matrices: Vec<Entry>,
}

/// The names of the shipped matrices.
pub fn names() -> Vec<String> {
    serde_json::from_str::<Index>(INDEX)
        .map(|i| i.matrices.into_iter().map(|e| e.name).collect())
        .unwrap_or_default()
}

pub use super::formats::f16_to_f32;

/// A shipped matrix by name (e.g. `mlp_up`); `Ok(None)` while the web page still fetches the
/// weights file.
pub fn minilm(name: &str) -> Result<Option<Matrix>, String> {
    let index: Index =
        serde_json::from_str(INDEX).map_err(|e| format!("the weights index is unreadable: {e}"))?;
    let entry = index
        .matrices
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| format!("no matrix '{name}' (shipped: {})", names().join(", ")))?;
    let len = entry.rows * entry.cols;
    let decoded = crate::served::with_served(DATA, |data| {
        data.get(entry.offset_bytes..entry.offset_bytes + 2 * len)
            .map(|bytes| {
                bytes
                    .chunks_exact(2)
                    .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                    .collect::<Vec<f32>>()
            })
    })?;
    match decoded {
        None => Ok(None),
        Some(None) => Err(format!(
            "the weights file is shorter than the index says ({name})"
        )),
        Some(Some(data)) => Ok(Some(Matrix {
            rows: entry.rows,
            cols: entry.cols,
            data,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_matrices_load_with_their_shapes_and_plausible_values() {
        assert_eq!(names(), ["attn_query", "mlp_up", "mlp_down"]);
        for (name, rows, cols) in [
            ("attn_query", 384, 384),
            ("mlp_up", 1536, 384),
            ("mlp_down", 384, 1536),
        ] {
            let m = minilm(name).expect("shipped").expect("compiled in");
            assert_eq!((m.rows, m.cols), (rows, cols));
            assert!(m.data.iter().all(|v| v.is_finite()));
            let rms = (m.data.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>()
                / m.data.len() as f64)
                .sqrt();
            assert!((0.01..0.2).contains(&rms), "{name}: rms {rms}");
        }
        assert!(minilm("nope").is_err());
        for (name, cols) in [("attn_query", 384), ("mlp_up", 384), ("mlp_down", 1536)] {
            let (s, acts) = minilm_activations(name, 64)
                .expect("shipped")
                .expect("compiled in");
            assert_eq!((s.len(), acts.batch, acts.cols), (cols, 64, cols));
            assert!((s.iter().sum::<f64>() / cols as f64 - 1.0).abs() < 1e-3);
            assert!(acts.data.iter().all(|v| v.is_finite()));
            let all = minilm_activations(name, 10_000)
                .expect("shipped")
                .expect("in");
            assert_eq!(all.1.batch, 256);
        }
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    }
}
