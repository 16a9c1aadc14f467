//! Everything a user can set in the quantization lab; the link is its serialisation.

use serde::{Deserialize, Serialize};

use super::methods::Method;
use crate::share::{Correction, Validate, clamp_f64, clamp_u32, round_to_multiple};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatrixSource {
    /// MiniLM-L6 layer 0, attention query projection (384 x 384).
    AttnQuery,
    /// MiniLM-L6 layer 0, MLP up projection (1536 x 384).
    MlpUp,
    /// MiniLM-L6 layer 0, MLP down projection (384 x 1536).
    MlpDown,
    /// Seeded Gaussian with a heavy-tailed outlier fraction.
    Synthetic,
}

impl MatrixSource {
    pub const ALL: [MatrixSource; 4] = [
        MatrixSource::AttnQuery,
        MatrixSource::MlpUp,
        MatrixSource::MlpDown,
        MatrixSource::Synthetic,
    ];

    /// The shipped matrix's name (`real::minilm`), `None` for synthetic.
    pub fn shipped_name(self) -> Option<&'static str> {
        match self {
            MatrixSource::AttnQuery => Some("attn_query"),
            MatrixSource::MlpUp => Some("mlp_up"),
            MatrixSource::MlpDown => Some("mlp_down"),
            MatrixSource::Synthetic => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MatrixSource::AttnQuery => "MiniLM-L6 attention query 384x384",
            MatrixSource::MlpUp => "MiniLM-L6 MLP up 1536x384",
            MatrixSource::MlpDown => "MiniLM-L6 MLP down 384x1536",
            MatrixSource::Synthetic => "synthetic (Gaussian + outliers)",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Error vs bits per weight for every method.
    Tradeoff,
    /// One row's histogram with the chosen method's levels.
    Row,
    /// Where the sparse entries sit.
    Sparse,
    /// Kernel speed on this device.
    Kernels,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorMetric {
    /// ||W X - Q X|| / ||W X|| on the activation batch.
    Output,
    /// mean F_j (w - q)^2.
    Weighted,
    /// mean (w - q)^2.
    Weight,
}

impl ErrorMetric {
    pub const ALL: [ErrorMetric; 3] = [
        ErrorMetric::Output,
        ErrorMetric::Weighted,
        ErrorMetric::Weight,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ErrorMetric::Output => "output relative error ||Wx - Qx|| / ||Wx||",
            ErrorMetric::Weighted => "sensitivity-weighted MSE",
            ErrorMetric::Weight => "weight MSE",
        }
    }
}

/// Largest synthetic side and kernel-timing side.
pub const MAX_SIDE: u32 = 4096;
/// Synthetic matrices the page quantizes (every method, every width) stay below this many
/// weights: the sweep runs on the CPU.
pub const MAX_SYNTHETIC_WEIGHTS: u32 = 1 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuantSettings {
    pub view: View,
    pub matrix: MatrixSource,
    pub rows: u32,
    pub cols: u32,
    /// Heavy-tailed weights in the synthetic matrix, percent.
    pub weight_outliers: f64,
    pub seed: u64,
    /// Activation batch (the sensitivity proxy and the output error).
    pub batch: u32,
    pub hot_channels: u32,
    /// The method shown in the row and sparse views.
    pub method: Method,
    pub bits: u32,
    /// SqueezeLLM's dense-and-sparse split, percent of the weights.
    pub outliers: f64,
    pub sensitive: f64,
    pub metric: ErrorMetric,
    pub row: u32,
    /// Kernel timing problem.
    pub kernel_rows: u32,
    pub kernel_cols: u32,
}

impl Default for QuantSettings {
    fn default() -> Self {
        Self {
            view: View::Tradeoff,
            matrix: MatrixSource::AttnQuery,
            rows: 512,
            cols: 512,
            weight_outliers: 0.5,
            seed: 1,
            batch: 64,
            hot_channels: 4,
            method: Method::Squeeze,
            bits: 3,
            outliers: 0.45,
            sensitive: 0.05,
            metric: ErrorMetric::Output,
            row: 0,
            kernel_rows: 2048,
            kernel_cols: 2048,
        }
    }
}

impl QuantSettings {
    /// Bits the chosen method uses (fixed 4 for the block formats; 2..8 for LUT and RTN).
    pub fn method_bits(&self) -> u32 {
        let min = if matches!(self.method, Method::Bipolar | Method::SignedInt) {
            1
        } else {
            2
        };
        self.method.fixed_bits().unwrap_or(self.bits.clamp(min, 8))
    }

    /// What defines the matrix and activations.
    pub fn matrix_key(&self) -> String {
        match self.matrix {
            MatrixSource::Synthetic => format!(
                "syn|{}x{}|{}|{}|{}|{}",
                self.rows,
                self.cols,
                self.weight_outliers,
                self.seed,
                self.batch,
                self.hot_channels
            ),
            m => format!("{m:?}|{}|{}|{}", self.seed, self.batch, self.hot_channels),
        }
    }

    /// What defines the trade-off curves (the sparse split moves the SqueezeLLM+sparse curve).
    pub fn sweep_key(&self) -> String {
        format!("{}|{}|{}", self.matrix_key(), self.outliers, self.sensitive)
    }

    /// What defines the detailed quantization.
    pub fn detail_key(&self) -> String {
        format!(
            "{}|{:?}|{}",
            self.sweep_key(),
            self.method,
            self.method_bits()
        )
    }
}

impl Validate for QuantSettings {
    fn validate(&mut self, c: &mut Vec<Correction>) {
        let d = Self::default();
        clamp_u32(&mut self.rows, "rows", 1, MAX_SIDE, c);
        clamp_u32(&mut self.cols, "cols", 1, MAX_SIDE, c);
        if self.rows * self.cols > MAX_SYNTHETIC_WEIGHTS {
            c.push(Correction::new(
                "rows",
                format!(
                    "{} x {} weights is more than the page quantizes ({MAX_SYNTHETIC_WEIGHTS}); rows reduced",
                    self.rows, self.cols
                ),
            ));
            self.rows = (MAX_SYNTHETIC_WEIGHTS / self.cols).max(1);
        }
        clamp_f64(
            &mut self.weight_outliers,
            "weight_outliers",
            0.0,
            10.0,
            d.weight_outliers,
            c,
        );
        clamp_u32(&mut self.batch, "batch", 1, 256, c);
        clamp_u32(&mut self.hot_channels, "hot_channels", 0, 64, c);
        clamp_u32(&mut self.bits, "bits", 1, 8, c);
        clamp_f64(&mut self.outliers, "outliers", 0.0, 2.0, d.outliers, c);
        clamp_f64(&mut self.sensitive, "sensitive", 0.0, 2.0, d.sensitive, c);
        clamp_u32(&mut self.row, "row", 0, MAX_SIDE * 4, c);
        clamp_u32(&mut self.kernel_rows, "kernel_rows", 32, MAX_SIDE, c);
        clamp_u32(&mut self.kernel_cols, "kernel_cols", 32, MAX_SIDE, c);
        round_to_multiple(&mut self.kernel_cols, "kernel_cols", 32, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::{decode, encode, parse_fragment};

    #[test]
    fn link_round_trip_and_repair() {
        let s = QuantSettings {
            matrix: MatrixSource::Synthetic,
            method: Method::Bipolar,
            bits: 2,
            outliers: 1.5,
            view: View::Kernels,
            ..QuantSettings::default()
        };
        let (back, corrections) = decode::<QuantSettings>(&encode(&s));
        assert!(corrections.is_empty(), "{corrections:?}");
        assert_eq!(back, s);
        let (fixed, corrections) = decode::<QuantSettings>(&parse_fragment(
            "rows=4096&cols=4096&bits=0&outliers=NaN&method=nope&kernel_cols=100&matrix=x",
        ));
        assert!(fixed.rows * fixed.cols <= MAX_SYNTHETIC_WEIGHTS);
        assert_eq!(fixed.bits, 1);
        assert_eq!(fixed.outliers, 0.45);
        assert_eq!(fixed.method, Method::Squeeze);
        assert_eq!(fixed.kernel_cols, 96);
        assert_eq!(fixed.matrix, MatrixSource::AttnQuery);
        assert!(corrections.len() >= 6, "{corrections:?}");
    }
}
