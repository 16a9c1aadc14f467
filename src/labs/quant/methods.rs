//! The quantizers compared side by side: round-to-nearest per row, llama.cpp's Q4_0 and IQ4_NL
//! block formats, SqueezeLLM's per-row k-means codebooks (plain or sensitivity-weighted), and
//! bipolar-INT / signed INT at p bits; any of them with the dense-and-sparse split.

use serde::{Deserialize, Serialize};

use super::formats::{IQ4NL_TABLE, f16_round};
use super::matrix::{Activations, Matrix, outputs};
use super::sparse::{self, Csr};
use crate::rng::SplitMix64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Asymmetric min-max round-to-nearest per output row, f16 scale and offset.
    Rtn,
    /// The same per group of 128 consecutive weights of a row (the group-wise RTN baseline LLM
    /// quantization papers report, g = 128): b + 0.25 bits/weight.
    #[serde(rename = "rtn_g128")]
    RtnG128,
    /// llama.cpp Q4_0: blocks of 32, x = d (q - 8), one f16 d per block (4.5 bits/weight);
    /// with the importance vector, d is searched as llama.cpp's imatrix path does it.
    #[serde(rename = "q4_0")]
    Q40,
    /// llama.cpp IQ4_NL: blocks of 32, a fixed 16-level non-uniform table scaled by one f16.
    #[serde(rename = "iq4nl")]
    Iq4Nl,
    /// Per-row 1-D k-means codebook of 2^b f16 entries (plain).
    Kmeans,
    /// The same, weighted by the sensitivity proxy (SqueezeLLM).
    Squeeze,
    /// Bipolar-INT: odd levels +-1, +-3, ..., +-(2^p - 1) times one f16 scale per row (the
    /// scale that minimises the row's squared error).
    Bipolar,
    /// Signed INT: levels -2^(p-1)..2^(p-1)-1 times one f16 scale per row (chosen likewise).
    /// The CLI and links also take `int`.
    #[serde(alias = "int")]
    SignedInt,
}

impl Method {
    pub const ALL: [Method; 8] = [
        Method::Rtn,
        Method::RtnG128,
        Method::Q40,
        Method::Iq4Nl,
        Method::Kmeans,
        Method::Squeeze,
        Method::Bipolar,
        Method::SignedInt,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Method::Rtn => "rtn",
            Method::RtnG128 => "rtn_g128",
            Method::Q40 => "q4_0",
            Method::Iq4Nl => "iq4nl",
            Method::Kmeans => "kmeans",
            Method::Squeeze => "squeeze",
            Method::Bipolar => "bipolar",
            Method::SignedInt => "int",
        }
    }

    pub fn from_code(code: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.code() == code)
    }

    /// The narrowest index width the method takes: 1 bit for the sign-based formats (a bipolar
    /// level is ±1, signed INT at 1 bit is {-1, 0}), 2 for codebooks and RTN.
    pub fn min_bits(self) -> u32 {
        if matches!(self, Method::Bipolar | Method::SignedInt) {
            1
        } else {
            2
        }
    }

    /// Whether the bit width is fixed by the format (4 bits for the llama.cpp formats).
    pub fn fixed_bits(self) -> Option<u32> {
        matches!(self, Method::Q40 | Method::Iq4Nl).then_some(4)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    pub method: Method,
    /// Bits per dense index (ignored by Q4_0 and IQ4_NL): 1..8 for bipolar/int, 2..8 otherwise.
    pub bits: u32,
    pub outlier_percent: f64,
    pub sensitive_percent: f64,
    /// k-means++ seeding and Lloyd iterations.
    pub seed: u64,
    pub iterations: u32,
}

/// A quantized matrix: the dense reconstruction (what the dense kernel computes with), the
/// sparse residuals, and every stored bit counted.
#[derive(Clone, Debug)]
pub struct Quantized {
    pub rows: usize,
    pub cols: usize,
    pub dense: Vec<f32>,
    pub sparse: Csr,
    pub dense_bits: u64,
    /// Per-row codebooks (rows x 2^bits) and indices (rows x cols), for the LUT methods.
    pub codebooks: Vec<f32>,
    pub indices: Vec<u8>,
}

impl Quantized {
    pub fn storage_bits(&self) -> u64 {
        self.dense_bits
            + if self.sparse.nnz() > 0 {
                self.sparse.storage_bits()
            } else {
                0
            }
    }

    pub fn bits_per_weight(&self) -> f64 {
        self.storage_bits() as f64 / (self.rows * self.cols).max(1) as f64
    }

    /// Dense plus sparse: the matrix the quantized product uses.
    pub fn reconstruct(&self) -> Vec<f32> {
        let mut out = self.dense.clone();
        for r in 0..self.rows {
            let (a, b) = (
                self.sparse.row_ptr[r] as usize,
                self.sparse.row_ptr[r + 1] as usize,
            );
            for k in a..b {
                let i = r * self.cols + self.sparse.col[k] as usize;
                out[i] = (f64::from(out[i]) + f64::from(self.sparse.val[k])) as f32;
            }
        }
        out
    }
}

pub fn quantize(w: &Matrix, sensitivity: &[f64], c: &Config) -> Quantized {
    let mut quantizer = Quantizer::new(w, sensitivity, c);
    quantizer.step(w.rows);
    quantizer.finish(w)
}

/// A quantization done a few rows at a time (the page spreads a big matrix over frames): the
/// sparse selection up front, then rows in any slices, then the sparse residuals.
pub struct Quantizer {
    config: Config,
    /// The weights with the extracted ones zeroed, and each weight's weight in the fit.
    values: Vec<f32>,
    weights: Vec<f64>,
    mask: Vec<bool>,
    q: Quantized,
    next_row: usize,
}

impl Quantizer {
    pub fn new(w: &Matrix, sensitivity: &[f64], c: &Config) -> Self {
        let mask = sparse::select(w, sensitivity, c.outlier_percent, c.sensitive_percent);
        // Extracted weights are zeroed in the dense part and carry no weight in its fit.
        let values: Vec<f32> = w
            .data
            .iter()
            .zip(&mask)
            .map(|(v, &m)| if m { 0.0 } else { *v })
            .collect();
        let weights: Vec<f64> = (0..w.data.len())
            .map(|i| {
                if mask[i] {
                    0.0
                } else if matches!(c.method, Method::Squeeze | Method::Iq4Nl | Method::Q40) {
                    sensitivity[i % w.cols]
                } else {
                    1.0
                }
            })
            .collect();
        let (rows, cols) = (w.rows, w.cols);
        let lut = matches!(c.method, Method::Kmeans | Method::Squeeze);
        let k = 1usize << c.bits;
        let dense_bits = match c.method {
            Method::Rtn => (rows * cols) as u64 * u64::from(c.bits) + 32 * rows as u64,
            Method::RtnG128 => {
                (rows * cols) as u64 * u64::from(c.bits) + 32 * (rows * cols.div_ceil(GROUP)) as u64
            }
            Method::Q40 | Method::Iq4Nl => {
                (rows * cols) as u64 * 4 + 16 * (rows * cols.div_ceil(BLOCK)) as u64
            }
            Method::Kmeans | Method::Squeeze => {
                (rows * cols) as u64 * u64::from(c.bits) + (rows * k) as u64 * 16
            }
            Method::Bipolar | Method::SignedInt => {
                (rows * cols) as u64 * u64::from(c.bits) + 16 * rows as u64
            }
        };
        let q = Quantized {
            rows,
            cols,
            dense: vec![0.0; rows * cols],
            sparse: Csr::default(),
            dense_bits,
            codebooks: if lut { vec![0.0; rows * k] } else { Vec::new() },
            indices: if lut {
                vec![0; rows * cols]
            } else {
                Vec::new()
            },
        };
        Self {
            config: *c,
            values,
            weights,
            mask,
            q,
            next_row: 0,
        }
    }

    pub fn rows_done(&self) -> usize {
        self.next_row
    }

    pub fn done(&self) -> bool {
        self.next_row >= self.q.rows
    }

    /// Quantizes up to `rows` more rows.
    pub fn step(&mut self, rows: usize) {
        let end = (self.next_row + rows).min(self.q.rows);
        for r in self.next_row..end {
            self.row(r);
        }
        self.next_row = end;
    }

    fn row(&mut self, r: usize) {
        let c = &self.config;
        let cols = self.q.cols;
        let row = r * cols..(r + 1) * cols;
        let values = &self.values[row.clone()];
        let out = &mut self.q.dense[row.clone()];
        match c.method {
            Method::Rtn => rtn_row(values, c.bits, out),
            Method::RtnG128 => {
                for start in (0..cols).step_by(GROUP) {
                    let i = start..(start + GROUP).min(cols);
                    rtn_row(&values[i.clone()], c.bits, &mut out[i]);
                }
            }
            Method::Q40 | Method::Iq4Nl => {
                let importance = &self.weights[row.clone()];
                // llama.cpp's imatrix weighting: importance x sqrt(sigma^2 + x^2), sigma^2 the
                // row's mean square for Q4_0, twice the block's for IQ4_NL.
                let row_sigma2 = mean_square(values);
                for start in (0..cols).step_by(BLOCK) {
                    let i = start..(start + BLOCK).min(cols);
                    let x = &values[i.clone()];
                    let sigma2 = if c.method == Method::Q40 {
                        row_sigma2
                    } else {
                        2.0 * mean_square(x)
                    };
                    let w: Vec<f32> = x
                        .iter()
                        .zip(&importance[i.clone()])
                        .map(|(&v, &q)| q as f32 * (sigma2 + v * v).sqrt())
                        .collect();
                    if c.method == Method::Q40 {
                        q4_0_weighted_block(x, &w, &mut out[i]);
                    } else {
                        iq4nl_block(x, &w, &mut out[i]);
                    }
                }
            }
            Method::Kmeans | Method::Squeeze => {
                let k = 1usize << c.bits;
                let mut rng = SplitMix64::new(c.seed ^ (r as u64).wrapping_mul(0x9e37_79b9));
                let book = kmeans_row(
                    values,
                    &self.weights[row.clone()],
                    k,
                    c.iterations,
                    &mut rng,
                );
                for (j, v) in values.iter().enumerate() {
                    let idx = nearest(&book, *v);
                    self.q.indices[r * cols + j] = idx as u8;
                    out[j] = book[idx];
                }
                self.q.codebooks[r * k..(r + 1) * k].copy_from_slice(&book);
            }
            Method::Bipolar | Method::SignedInt => {
                let (scale, levels) = if c.method == Method::Bipolar {
                    bipolar_row(values, c.bits)
                } else {
                    signed_row(values, c.bits)
                };
                for (o, l) in out.iter_mut().zip(levels) {
                    *o = scale * l as f32;
                }
            }
        }
    }

    /// The sparse residuals of the extracted weights; the rows not yet quantized (if any) are
    /// quantized first.
    pub fn finish(mut self, w: &Matrix) -> Quantized {
        self.step(self.q.rows);
        self.q.sparse = sparse::residuals(w, &self.q.dense, &self.mask);
        self.q
    }
}

pub const BLOCK: usize = 32;
/// The group of the group-wise RTN baseline.
pub const GROUP: usize = 128;

/// The value of largest magnitude, with its sign (the first of ties), as llama.cpp's block
/// quantizers take it; 0 for no values.
fn largest_magnitude(values: &[f32]) -> f32 {
    values
        .iter()
        .copied()
        .fold(0.0f32, |m, v| if v.abs() > m.abs() { v } else { m })
}

fn mean_square(values: &[f32]) -> f32 {
    values.iter().map(|v| v * v).sum::<f32>() / values.len().max(1) as f32
}

fn rtn_row(values: &[f32], bits: u32, out: &mut [f32]) {
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let steps = ((1u32 << bits) - 1) as f32;
    let scale = f16_round((hi - lo) / steps);
    let lo = f16_round(lo);
    for (o, v) in out.iter_mut().zip(values) {
        let q = if scale > 0.0 {
            ((v - lo) / scale).round().clamp(0.0, steps)
        } else {
            0.0
        };
        *o = lo + q * scale;
    }
}

/// llama.cpp's `quantize_row_q4_0_ref`: d = max / -8 with max the value of largest magnitude,
/// q = min(15, trunc(x / d + 8.5)); d rounded to f16. Returns d and the 4-bit codes.
pub fn q4_0_encode(values: &[f32]) -> (f32, Vec<u8>) {
    let max = largest_magnitude(values);
    let d = f16_round(max / -8.0);
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let codes = values
        .iter()
        .map(|v| ((v * id + 8.5) as i32).clamp(0, 15) as u8)
        .collect();
    (d, codes)
}

/// llama.cpp's `make_qx_quants(32, 8, x, L, 1, weights)` (its Q4_0 path with an importance
/// matrix): levels l in -8..7 at the scale max / -8, then 18 nearby inverse scales
/// -(8 + 0.1 k) / max, each refitted by weighted least squares; the best fit (largest
/// (sum w x l)^2 / sum w l^2) is kept, d stored as f16.
fn q4_0_weighted_block(values: &[f32], weights: &[f32], out: &mut [f32]) {
    const NMAX: f32 = 8.0;
    let max = largest_magnitude(values);
    if max.abs() < 1e-15 {
        out.iter_mut().for_each(|o| *o = 0.0);
        return;
    }
    let levels = |iscale: f32| -> Vec<f32> {
        values
            .iter()
            .map(|&v| (iscale * v).round_ties_even().clamp(-NMAX, NMAX - 1.0))
            .collect()
    };
    let fit = |levels: &[f32]| -> (f32, f32) {
        let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
        for ((&v, &w), &l) in values.iter().zip(weights).zip(levels) {
            sumlx += w * v * l;
            suml2 += w * l * l;
        }
        (sumlx, suml2)
    };
    let mut best_levels = levels(-NMAX / max);
    let (sumlx, suml2) = fit(&best_levels);
    let mut scale = if suml2 > 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for step in (-9..=9).filter(|&k| k != 0) {
        let candidate = levels(-(NMAX + 0.1 * step as f32) / max);
        let (sumlx, suml2) = fit(&candidate);
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            scale = sumlx / suml2;
            best = scale * sumlx;
            best_levels = candidate;
        }
    }
    let d = f16_round(scale);
    for (o, l) in out.iter_mut().zip(best_levels) {
        *o = d * l;
    }
}

/// llama.cpp's `quantize_row_iq4_nl_impl` for one block of 32 with an importance vector
/// (`ntry` = 7): the scale max / 127 refitted by weighted least squares, then the inverse
/// scales (k - 127) / max for k in -7..=7, keeping the fit with the largest
/// (sum w q x)^2 / sum w q^2; the levels are chosen again with the kept scale, which is stored
/// as f16.
fn iq4nl_block(values: &[f32], weights: &[f32], out: &mut [f32]) {
    const NTRY: i32 = 7;
    let table = IQ4NL_TABLE.map(f32::from);
    let max = largest_magnitude(values);
    if max.abs() < 1e-15 {
        out.iter_mut().for_each(|o| *o = 0.0);
        return;
    }
    let fit = |id: f32| -> (f32, f32) {
        let (mut sumqx, mut sumq2) = (0.0f32, 0.0f32);
        for (&v, &w) in values.iter().zip(weights) {
            let q = table[best_index(&table, id * v)];
            sumqx += w * q * v;
            sumq2 += w * q * q;
        }
        (sumqx, sumq2)
    };
    let (sumqx, sumq2) = fit(1.0 / (-max / table[0]));
    let mut d = if sumq2 > 0.0 { sumqx / sumq2 } else { 0.0 };
    let mut best = d * sumqx;
    for itry in -NTRY..=NTRY {
        let (sumqx, sumq2) = fit((itry as f32 + table[0]) / max);
        if sumq2 > 0.0 && sumqx * sumqx > best * sumq2 {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let stored = f16_round(d);
    for (o, &v) in out.iter_mut().zip(values) {
        *o = stored * table[best_index(&table, id * v)];
    }
}

/// llama.cpp's `best_index_int8`: the nearest table entry by bisection, ties to the upper.
fn best_index(table: &[f32; 16], x: f32) -> usize {
    if x <= table[0] {
        return 0;
    }
    if x >= table[15] {
        return 15;
    }
    let (mut lo, mut hi) = (0, 15);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if x < table[mid] {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    if x - table[hi - 1] < table[hi] - x {
        hi - 1
    } else {
        hi
    }
}

/// Index of the codebook entry nearest `v` (the book is sorted).
pub fn nearest(book: &[f32], v: f32) -> usize {
    let i = book.partition_point(|&c| c < v);
    if i == 0 {
        0
    } else if i == book.len() {
        book.len() - 1
    } else if (v - book[i - 1]) <= (book[i] - v) {
        i - 1
    } else {
        i
    }
}

/// Weighted 1-D k-means of one row (SqueezeLLM): k-means++ seeding, then Lloyd iterations with
/// c_k = sum F_j w_j / sum F_j. Returns a sorted codebook of f16 values, entries of empty
/// clusters kept where they were.
pub fn kmeans_row(
    values: &[f32],
    weights: &[f64],
    k: usize,
    iterations: u32,
    rng: &mut SplitMix64,
) -> Vec<f32> {
    let n = values.len();
    let pick = |rng: &mut SplitMix64, mass: &[f64]| -> Option<usize> {
        let total: f64 = mass.iter().sum();
        if total <= 0.0 {
            return None;
        }
        let mut target = rng.next_f64() * total;
        for (i, m) in mass.iter().enumerate() {
            if target < *m {
                return Some(i);
            }
            target -= m;
        }
        mass.iter().rposition(|m| *m > 0.0)
    };
    let mut centres: Vec<f64> = Vec::with_capacity(k);
    if let Some(first) = pick(rng, weights) {
        centres.push(f64::from(values[first]));
    }
    let mut d2: Vec<f64> = vec![f64::INFINITY; n];
    while centres.len() < k {
        let Some(&last) = centres.last() else { break };
        for i in 0..n {
            d2[i] = d2[i].min((f64::from(values[i]) - last).powi(2));
        }
        let mass: Vec<f64> = (0..n).map(|i| weights[i] * d2[i]).collect();
        match pick(rng, &mass) {
            Some(i) => centres.push(f64::from(values[i])),
            // Fewer distinct weighted values than k: the rest duplicate (harmless).
            None => centres.push(last),
        }
    }
    if centres.is_empty() {
        centres.push(0.0);
    }
    centres.resize(k, centres[0]);
    centres.sort_by(f64::total_cmp);
    for _ in 0..iterations {
        let book: Vec<f32> = centres.iter().map(|&c| c as f32).collect();
        let mut sum = vec![0.0; k];
        let mut mass = vec![0.0; k];
        for i in 0..n {
            let c = nearest(&book, values[i]);
            sum[c] += weights[i] * f64::from(values[i]);
            mass[c] += weights[i];
        }
        let mut moved = false;
        for c in 0..k {
            if mass[c] > 0.0 {
                let next = sum[c] / mass[c];
                moved |= next != centres[c];
                centres[c] = next;
            }
        }
        centres.sort_by(f64::total_cmp);
        if !moved {
            break;
        }
    }
    let mut book: Vec<f32> = centres.iter().map(|&c| f16_round(c as f32)).collect();
    book.sort_by(f32::total_cmp);
    book
}

/// The scale (f16) of a symmetric grid that minimises a row's squared error, searched over
/// fractions of the min-max scale `amax / top` (clipping the largest weights often pays:
/// with heavy tails a min-max grid wastes its levels), with the levels `level(v / scale)`.
fn best_scale(values: &[f32], top: f32, level: &dyn Fn(f32) -> i32) -> (f32, Vec<i32>) {
    let amax = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let mut best: Option<(f64, f32)> = None;
    for step in 1..=40 {
        let scale = f16_round(amax / top * step as f32 / 40.0);
        if scale == 0.0 {
            continue;
        }
        let err: f64 = values
            .iter()
            .map(|&v| (f64::from(v) - f64::from(scale) * f64::from(level(v / scale))).powi(2))
            .sum();
        if best.is_none_or(|b| err < b.0) {
            best = Some((err, scale));
        }
    }
    let scale = best.map_or(0.0, |b| b.1);
    let levels = values
        .iter()
        .map(|&v| {
            if scale == 0.0 {
                level(0.0)
            } else {
                level(v / scale)
            }
        })
        .collect();
    (scale, levels)
}

/// Bipolar-INT levels of one row: odd integers in [-(2^p - 1), 2^p - 1] and the f16 scale.
pub fn bipolar_row(values: &[f32], bits: u32) -> (f32, Vec<i32>) {
    let top = (1i32 << bits) - 1;
    // Nearest odd integer, clamped.
    let level = move |x: f32| ((2.0 * ((x - 1.0) / 2.0).round() + 1.0) as i32).clamp(-top, top);
    best_scale(values, top as f32, &level)
}

/// Symmetric signed INT levels of one row: integers in [-2^(p-1), 2^(p-1) - 1], f16 scale.
pub fn signed_row(values: &[f32], bits: u32) -> (f32, Vec<i32>) {
    let half = 1i32 << (bits - 1);
    let level = move |x: f32| (x.round() as i32).clamp(-half, half - 1);
    best_scale(values, half as f32, &level)
}

/// Errors of a quantized matrix against the original.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Metrics {
    pub weight_mse: f64,
    /// mean F_j (w_ij - q_ij)^2 with F the sensitivity proxy (mean 1).
    pub sensitivity_weighted_mse: f64,
    /// ||W X - Q X|| / ||W X|| over the activation batch.
    pub output_rel_error: f64,
    pub bits_per_weight: f64,
    pub sparse_nonzeros: usize,
}

pub fn metrics(w: &Matrix, q: &Quantized, sensitivity: &[f64], acts: &Activations) -> Metrics {
    let reference = outputs(w, acts);
    let mut sums = MetricSums::default();
    sums.add_rows(
        &ErrorInputs {
            w,
            reconstructed: &q.reconstruct(),
            sensitivity,
            acts,
            reference: &reference,
        },
        0..w.rows,
    );
    sums.finish(q)
}

/// What the error sums compare: the original, the reconstruction (dense plus sparse), the
/// sensitivity, and the activations with the original's outputs (`batch x rows`).
pub struct ErrorInputs<'a> {
    pub w: &'a Matrix,
    pub reconstructed: &'a [f32],
    pub sensitivity: &'a [f64],
    pub acts: &'a Activations,
    pub reference: &'a [f64],
}

/// Running error sums, added a few rows at a time (the page spreads a big matrix over frames).
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricSums {
    squared: f64,
    weighted: f64,
    output_num: f64,
    output_den: f64,
    rows_done: usize,
}

impl MetricSums {
    pub fn rows_done(&self) -> usize {
        self.rows_done
    }

    pub fn add_rows(&mut self, e: &ErrorInputs<'_>, rows: std::ops::Range<usize>) {
        let (cols, n_rows) = (e.w.cols, e.w.rows);
        for r in rows {
            let original = e.w.row(r);
            let quantized = &e.reconstructed[r * cols..(r + 1) * cols];
            for (j, (a, b)) in original.iter().zip(quantized).enumerate() {
                let d = f64::from(*a) - f64::from(*b);
                self.squared += d * d;
                self.weighted += e.sensitivity[j] * d * d;
            }
            for b in 0..e.acts.batch {
                let x = &e.acts.data[b * cols..(b + 1) * cols];
                let yq: f64 = quantized
                    .iter()
                    .zip(x)
                    .map(|(v, c)| f64::from(*v) * f64::from(*c))
                    .sum();
                let y = e.reference[b * n_rows + r];
                self.output_num += (y - yq).powi(2);
                self.output_den += y * y;
            }
            self.rows_done += 1;
        }
    }

    pub fn finish(&self, q: &Quantized) -> Metrics {
        let n = (q.rows * q.cols).max(1) as f64;
        Metrics {
            weight_mse: self.squared / n,
            sensitivity_weighted_mse: self.weighted / n,
            output_rel_error: if self.output_den > 0.0 {
                (self.output_num / self.output_den).sqrt()
            } else {
                0.0
            },
            bits_per_weight: q.bits_per_weight(),
            sparse_nonzeros: q.sparse.nnz(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::quant::matrix::{calibration_and_held_out, synthetic_weights};

    fn config(method: Method, bits: u32, outliers: f64, sensitive: f64) -> Config {
        Config {
            method,
            bits,
            outlier_percent: outliers,
            sensitive_percent: sensitive,
            seed: 1,
            iterations: 50,
        }
    }

    /// Weights, the sensitivity from a calibration batch, and a held-out batch.
    fn setup() -> (Matrix, Vec<f64>, Activations) {
        let w = synthetic_weights(64, 256, 3, 0.5);
        let (s, acts) = calibration_and_held_out(32, 256, 3, 4);
        (w, s, acts)
    }

    #[test]
    fn q4_0_follows_llama_cpp() {
        // max by magnitude is -1.6: d = 0.2; x = 0.5 -> trunc(0.5 / 0.2 + 8.5) = 11 -> 0.6;
        // x = -1.6 -> q = trunc(-8 + 8.5) = 0 -> -1.6; x = 0 -> 8 -> 0.
        let mut values = [0.0f32; 32];
        values[0] = 0.5;
        values[1] = -1.6;
        let (d, codes) = q4_0_encode(&values);
        assert_eq!(d, f16_round(-1.6 / -8.0));
        assert_eq!(&codes[..3], &[11, 0, 8]);
    }

    #[test]
    fn weighted_q4_0_and_iq4_nl_fit_no_worse_than_their_first_guess() {
        // The searches start from the plain scale and keep a candidate only when its weighted
        // fit is better, so on any block they cannot lose to the reference Q4_0 (up to the f16
        // rounding of d, hence the slack).
        let mut rng = SplitMix64::new(7);
        for _ in 0..200 {
            let x: Vec<f32> = (0..32).map(|_| rng.next_normal() as f32).collect();
            let w: Vec<f32> = (0..32).map(|_| 0.1 + rng.next_f64() as f32).collect();
            let err = |q: &[f32]| -> f64 {
                x.iter()
                    .zip(q)
                    .zip(&w)
                    .map(|((a, b), w)| f64::from(*w) * f64::from(a - b).powi(2))
                    .sum()
            };
            let (d, codes) = q4_0_encode(&x);
            let plain: Vec<f32> = codes
                .iter()
                .map(|&c| d * (i32::from(c) - 8) as f32)
                .collect();
            let mut weighted = [0.0f32; 32];
            q4_0_weighted_block(&x, &w, &mut weighted);
            assert!(err(&weighted) <= err(&plain) * 1.002 + 1e-9);
            let mut nl = [0.0f32; 32];
            iq4nl_block(&x, &w, &mut nl);
            assert!(err(&nl).is_finite() && err(&nl) < err(&plain) * 1.5);
        }
        let table = IQ4NL_TABLE.map(f32::from);
        assert_eq!(best_index(&table, -200.0), 0);
        assert_eq!(best_index(&table, 7.0), 9); // 1 and 13: tie goes up
        assert_eq!(best_index(&table, 6.9), 8);
        assert_eq!(best_index(&table, 500.0), 15);
    }

    #[test]
    fn group_rtn_rounds_each_group_of_128_on_its_own() {
        // Two groups with very different ranges: per-row RTN spends its levels on the wide one.
        let mut data = vec![0.0f32; 256];
        let mut rng = SplitMix64::new(3);
        for (j, v) in data.iter_mut().enumerate() {
            let scale = if j < 128 { 0.01 } else { 1.0 };
            *v = (rng.next_normal() * scale) as f32;
        }
        let w = Matrix {
            rows: 1,
            cols: 256,
            data,
        };
        let s = vec![1.0; 256];
        let group = quantize(&w, &s, &config(Method::RtnG128, 3, 0.0, 0.0));
        let row = quantize(&w, &s, &config(Method::Rtn, 3, 0.0, 0.0));
        let narrow_err = |q: &Quantized| -> f32 {
            (0..128)
                .map(|j| (q.dense[j] - w.data[j]).abs())
                .fold(0.0, f32::max)
        };
        assert!(narrow_err(&group) < 0.01 && narrow_err(&row) > 0.01);
        assert!((group.bits_per_weight() - 3.25).abs() < 1e-12);
    }

    #[test]
    fn kmeans_is_exact_with_enough_centroids_and_nearest_is_nearest() {
        let values = [0.5f32, -0.25, 0.5, 1.0, -0.25];
        let mut rng = SplitMix64::new(1);
        let book = kmeans_row(&values, &[1.0; 5], 4, 50, &mut rng);
        for v in values {
            assert_eq!(book[nearest(&book, v)], v);
        }
        let book = [-1.0f32, 0.0, 2.0];
        assert_eq!(nearest(&book, -5.0), 0);
        assert_eq!(nearest(&book, 0.9), 1);
        assert_eq!(nearest(&book, 1.1), 2);
        assert_eq!(nearest(&book, 9.0), 2);
    }

    #[test]
    fn sparse_positions_reconstruct_exactly_and_bits_are_counted() {
        let (w, s, _) = setup();
        let q = quantize(&w, &s, &config(Method::Squeeze, 3, 0.45, 0.05));
        let nnz = q.sparse.nnz();
        let n = w.data.len();
        // About 0.45% + 0.05% of the weights (the two sets may overlap).
        assert!(
            nnz as f64 >= 0.004 * n as f64 && nnz as f64 <= 0.0055 * n as f64,
            "{nnz} of {n}"
        );
        let full = q.reconstruct();
        for r in 0..w.rows {
            for k in q.sparse.row_ptr[r] as usize..q.sparse.row_ptr[r + 1] as usize {
                let i = r * w.cols + q.sparse.col[k] as usize;
                assert!(
                    (full[i] - w.data[i]).abs() <= f32::EPSILON * w.data[i].abs(),
                    "{} vs {}",
                    full[i],
                    w.data[i]
                );
            }
        }
        let k = 8u64;
        let expected =
            (n as u64) * 3 + (w.rows as u64) * k * 16 + 64 * nnz as u64 + 32 * (w.rows as u64 + 1);
        assert_eq!(q.storage_bits(), expected);
        let q40 = quantize(&w, &s, &config(Method::Q40, 4, 0.0, 0.0));
        assert!((q40.bits_per_weight() - 4.5).abs() < 1e-12);
    }

    #[test]
    fn the_expected_orderings_hold() {
        let (w, s, acts) = setup();
        let m = |c: Config| metrics(&w, &quantize(&w, &s, &c), &s, &acts);
        for bits in [3, 4] {
            let rtn = m(config(Method::Rtn, bits, 0.0, 0.0));
            let plain = m(config(Method::Kmeans, bits, 0.0, 0.0));
            let weighted = m(config(Method::Squeeze, bits, 0.0, 0.0));
            let sparse = m(config(Method::Squeeze, bits, 0.45, 0.05));
            // Non-uniform beats uniform; weighting wins where it is measured; a small sparse
            // part helps more than it costs.
            assert!(
                plain.weight_mse < rtn.weight_mse,
                "{bits}: {plain:?} {rtn:?}"
            );
            assert!(
                weighted.sensitivity_weighted_mse < plain.sensitivity_weighted_mse,
                "{bits}"
            );
            assert!(weighted.output_rel_error < plain.output_rel_error, "{bits}");
            assert!(
                sparse.output_rel_error < weighted.output_rel_error,
                "{bits}"
            );
            assert!(
                sparse.bits_per_weight < weighted.bits_per_weight + 0.5,
                "{bits}"
            );
        }
        // One bit on Gaussian weights: bipolar (+-s) beats signed INT ({-s, 0}): about 0.36 vs
        // 0.68 sigma^2 at their best scales.
        let gaussian = synthetic_weights(64, 256, 3, 0.0);
        let one_bit = |method| {
            let q = quantize(&gaussian, &s, &config(method, 1, 0.0, 0.0));
            metrics(&gaussian, &q, &s, &acts).weight_mse / 0.02f64.powi(2)
        };
        let (bipolar, int) = (one_bit(Method::Bipolar), one_bit(Method::SignedInt));
        assert!(bipolar < 0.45 && int > 0.55, "{bipolar} {int}");
        for method in Method::ALL {
            let r = m(config(method, 4, 0.45, 0.05));
            assert!(
                r.output_rel_error.is_finite() && r.output_rel_error < 1.0,
                "{method:?}: {r:?}"
            );
        }
    }
}
