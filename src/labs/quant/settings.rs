//! Everything a user can set in the quantization lab; the link is its serialisation.

use serde::{Deserialize, Serialize};

use super::methods::Method;
use crate::share::{Choice, Correction, Described, Setting, Settings};

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
    /// The whole MiniLM quantized, scored on held-out verses (the shipped table).
    Model,
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

pub const VIEW: Choice<View> = Choice::new(
    "view",
    View::Tradeoff,
    &[
        View::Tradeoff,
        View::Row,
        View::Sparse,
        View::Kernels,
        View::Model,
    ],
)
.help("Error vs bits, one row and its codebook, the sparse positions, or kernel speed.");
pub const MATRIX: Choice<MatrixSource> =
    Choice::new("matrix", MatrixSource::AttnQuery, &MatrixSource::ALL).help(
        "The weight matrix every method quantizes: a MiniLM-L6 layer-0 matrix or a synthetic one.",
    );
pub const ROWS: Setting<u32> = Setting::new("rows", 512, 1, MAX_SIDE)
    .log()
    .help("Output rows of the synthetic matrix (one codebook per row).");
pub const COLS: Setting<u32> = Setting::new("cols", 512, 1, MAX_SIDE).log().help(
    "Input columns of the synthetic matrix: the longer a row, the cheaper its codebook per weight.",
);
pub const WEIGHT_OUTLIERS: Setting<f64> = Setting::new("weight_outliers", 0.5, 0.0, 10.0)
    .label("heavy-tailed weights")
    .unit("%")
    .help("Share of synthetic weights drawn 5-20 standard deviations out.");
pub const SEED: Setting<u64> = Setting::new("seed", 1, 0, u64::MAX)
    .help("Seeds the synthetic weights, the activations and k-means++.");
pub const BATCH: Setting<u32> = Setting::new("batch", 64, 1, 256)
    .log()
    .unit("vectors")
    .help("Held-out activation vectors the output error is measured on. Synthetic: a calibration batch of the same size fits F_j. MiniLM matrices: the first of 256 held-out tokens (F_j from the calibration verses).");
pub const HOT_CHANNELS: Setting<u32> = Setting::new("hot_channels", 4, 0, 64)
    .label("hot channels")
    .help("Input channels with 10-50x the typical magnitude, as in real LLM activations.");
pub const METHOD: Choice<Method> = Choice::new("method", Method::Squeeze, &Method::ALL)
    .help("The quantizer: rtn, q4_0, iq4nl, kmeans, squeeze (SqueezeLLM), bipolar or signed_int (alias int).");
pub const BITS: Setting<u32> = Setting::new("bits", 3, 1, 8).help(
    "Bits per index (k-means, SqueezeLLM, RTN: 2..8; signed INT, bipolar: 1..8; Q4_0 and IQ4_NL are 4).",
);
pub const OUTLIERS: Setting<f64> = Setting::new("outliers", 0.45, 0.0, 2.0)
    .label("outliers")
    .unit("%")
    .help("Weights beyond Tukey's fences kept exactly in the sparse part (SqueezeLLM: 0.45%).");
pub const SENSITIVE: Setting<f64> = Setting::new("sensitive", 0.05, 0.0, 2.0)
    .label("sensitive")
    .unit("%")
    .help("Weights with the largest F_j w^2 also kept exactly (SqueezeLLM: 0.05%).");
pub const METRIC: Choice<ErrorMetric> =
    Choice::new("metric", ErrorMetric::Output, &ErrorMetric::ALL)
        .help("The error on the trade-off plot's vertical axis.");
pub const ROW: Setting<u32> = Setting::new("row", 0, 0, MAX_SIDE * 4)
    .label("row shown")
    .help("The output row whose histogram and levels the row view draws.");
pub const KERNEL_ROWS: Setting<u32> = Setting::new("kernel_rows", 2048, 32, MAX_SIDE)
    .label("rows")
    .log()
    .help("Rows of the timed problem.");
pub const KERNEL_COLS: Setting<u32> = Setting::new("kernel_cols", 2048, 32, MAX_SIDE)
    .label("cols")
    .multiple_of(32)
    .log()
    .help("Columns of the timed problem (a multiple of 32: whole index groups).");

impl Default for QuantSettings {
    fn default() -> Self {
        Self {
            view: VIEW.default,
            matrix: MATRIX.default,
            rows: ROWS.default,
            cols: COLS.default,
            weight_outliers: WEIGHT_OUTLIERS.default,
            seed: SEED.default,
            batch: BATCH.default,
            hot_channels: HOT_CHANNELS.default,
            method: METHOD.default,
            bits: BITS.default,
            outliers: OUTLIERS.default,
            sensitive: SENSITIVE.default,
            metric: METRIC.default,
            row: ROW.default,
            kernel_rows: KERNEL_ROWS.default,
            kernel_cols: KERNEL_COLS.default,
        }
    }
}

impl QuantSettings {
    /// Bits the chosen method uses (fixed 4 for the block formats; 2..8 for LUT and RTN).
    pub fn method_bits(&self) -> u32 {
        self.method
            .fixed_bits()
            .unwrap_or(self.bits.clamp(self.method.min_bits(), BITS.max))
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

impl Settings for QuantSettings {
    const DEFINITIONS: &'static [&'static dyn Described] = &[
        &VIEW,
        &MATRIX,
        &ROWS,
        &COLS,
        &WEIGHT_OUTLIERS,
        &SEED,
        &BATCH,
        &HOT_CHANNELS,
        &METHOD,
        &BITS,
        &OUTLIERS,
        &SENSITIVE,
        &METRIC,
        &ROW,
        &KERNEL_ROWS,
        &KERNEL_COLS,
    ];

    fn validate(&mut self, c: &mut Vec<Correction>) {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::{decode, definition_problems, encode, parse_fragment};

    #[test]
    fn definitions_match_the_struct() {
        assert_eq!(definition_problems::<QuantSettings>(), Vec::<String>::new());
    }

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
