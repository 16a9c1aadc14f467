//! The dense-and-sparse split (SqueezeLLM): which weights leave the dense matrix, and the CSR
//! sparse part that holds their residuals.

use super::matrix::Matrix;

/// Compressed sparse rows: `row_ptr[r]..row_ptr[r + 1]` index `col` and `val`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Csr {
    pub row_ptr: Vec<u32>,
    pub col: Vec<u32>,
    pub val: Vec<f32>,
}

impl Csr {
    pub fn nnz(&self) -> usize {
        self.val.len()
    }

    /// Stored bits: f32 value and u32 column per entry, u32 row pointers (what the kernel
    /// reads; an f32 value keeps reconstruction exact).
    pub fn storage_bits(&self) -> u64 {
        64 * self.nnz() as u64 + 32 * self.row_ptr.len() as u64
    }
}

/// Tukey's fence threshold T(r) = max(|q1 - r IQR|, |q3 + r IQR|) of the weights.
fn fence(q1: f32, q3: f32, r: f64) -> f64 {
    let iqr = f64::from(q3 - q1);
    (f64::from(q1) - r * iqr)
        .abs()
        .max((f64::from(q3) + r * iqr).abs())
}

/// The sparse positions: weights beyond Tukey's fences, with r tuned by bisection so that about
/// `outlier_percent` % are outside, plus the top `sensitive_percent` % by saliency
/// F_j w_ij^2 (the output error their removal would cause, under the sensitivity proxy).
pub fn select(
    w: &Matrix,
    sensitivity: &[f64],
    outlier_percent: f64,
    sensitive_percent: f64,
) -> Vec<bool> {
    let n = w.data.len();
    let mut mask = vec![false; n];
    let target = ((outlier_percent / 100.0).clamp(0.0, 1.0) * n as f64).round() as usize;
    if target > 0 {
        let mut sorted = w.data.clone();
        sorted.sort_by(f32::total_cmp);
        let (q1, q3) = (sorted[n / 4], sorted[(3 * n) / 4]);
        let count = |r: f64| {
            let t = fence(q1, q3, r);
            w.data.iter().filter(|v| f64::from(v.abs()) >= t).count()
        };
        // count(r) falls as r grows: find the smallest r with count <= target.
        let (mut lo, mut hi) = (0.0, 1.0);
        while count(hi) > target && hi < 1e6 {
            hi *= 2.0;
        }
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if count(mid) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let t = fence(q1, q3, hi);
        for (m, v) in mask.iter_mut().zip(&w.data) {
            *m |= f64::from(v.abs()) >= t;
        }
    }
    let top = ((sensitive_percent / 100.0).clamp(0.0, 1.0) * n as f64).round() as usize;
    if top > 0 {
        let saliency = |i: usize| sensitivity[i % w.cols] * f64::from(w.data[i]).powi(2);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| saliency(b).total_cmp(&saliency(a)));
        for &i in &order[..top.min(n)] {
            mask[i] = true;
        }
    }
    mask
}

/// The sparse part: at each masked position, the weight minus the dense reconstruction there
/// (computed in f64, so dense + sparse gives the weight back to f32 rounding).
pub fn residuals(w: &Matrix, dense: &[f32], mask: &[bool]) -> Csr {
    let mut csr = Csr {
        row_ptr: vec![0],
        ..Csr::default()
    };
    for r in 0..w.rows {
        for c in 0..w.cols {
            let i = r * w.cols + c;
            if mask[i] {
                csr.col.push(c as u32);
                csr.val
                    .push((f64::from(w.data[i]) - f64::from(dense[i])) as f32);
            }
        }
        csr.row_ptr.push(csr.val.len() as u32);
    }
    csr
}
