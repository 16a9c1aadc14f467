//! Weight matrices and activation batches: seeded synthetic ones (Gaussian weights with a
//! heavy-tailed outlier fraction; activations with a few high-magnitude channels, as in LLMs)
//! and the sensitivity proxy derived from the activations.

use crate::rng::SplitMix64;

/// A row-major `rows x cols` matrix; a layer computes y = W x (rows outputs, cols inputs).
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }
}

/// A batch of `batch` activation vectors of length `cols`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Activations {
    pub batch: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

/// Typical scale of a transformer weight (about 1/sqrt(fan-in) for fan-in ~ 2,000).
const WEIGHT_SIGMA: f64 = 0.02;

/// Gaussian weights; a fraction `outlier_percent`/100 of them is multiplied by a factor drawn
/// uniformly in [5, 20] (heavy tails, the case dense-and-sparse is for).
pub fn synthetic_weights(rows: usize, cols: usize, seed: u64, outlier_percent: f64) -> Matrix {
    let mut rng = SplitMix64::new(seed ^ 0x5eed_f3a7);
    let outlier = (outlier_percent / 100.0).clamp(0.0, 1.0);
    let data = (0..rows * cols)
        .map(|_| {
            let w = rng.next_normal() * WEIGHT_SIGMA;
            let boost = if rng.next_f64() < outlier {
                5.0 + 15.0 * rng.next_f64()
            } else {
                1.0
            };
            (w * boost) as f32
        })
        .collect();
    Matrix { rows, cols, data }
}

/// Activations N(0, 1) with `hot_channels` input channels scaled by 20 (LLM activations have a
/// few channels of much larger magnitude).
pub fn synthetic_activations(
    batch: usize,
    cols: usize,
    seed: u64,
    hot_channels: usize,
) -> Activations {
    let mut rng = SplitMix64::new(seed ^ 0xac71_7a7e);
    let hot: Vec<usize> = (0..hot_channels.min(cols))
        .map(|_| rng.below(cols as u64) as usize)
        .collect();
    let mut data: Vec<f32> = (0..batch * cols)
        .map(|_| rng.next_normal() as f32)
        .collect();
    for b in 0..batch {
        for &c in &hot {
            data[b * cols + c] *= 20.0;
        }
    }
    Activations { batch, cols, data }
}

/// Two batches of `batch` activations from one distribution (the same hot channels): the
/// sensitivity fitted on the first (calibration), and the second (held out), on which every
/// error is measured, so no method is scored on the data it was fitted to.
pub fn calibration_and_held_out(
    batch: usize,
    cols: usize,
    seed: u64,
    hot_channels: usize,
) -> (Vec<f64>, Activations) {
    let mut all = synthetic_activations(2 * batch, cols, seed, hot_channels);
    let held_out = all.data.split_off(batch * cols);
    all.batch = batch;
    let sensitivity = channel_sensitivity(&all);
    (
        sensitivity,
        Activations {
            batch,
            cols,
            data: held_out,
        },
    )
}

/// The sensitivity proxy per input channel: E[a_k^2] over the batch (the diagonal of the
/// activation second moment, as llama.cpp's importance matrix), normalised to mean 1. It
/// stands in for SqueezeLLM's diagonal Fisher information, which needs a model loss.
pub fn channel_sensitivity(acts: &Activations) -> Vec<f64> {
    let mut s = vec![0.0; acts.cols];
    for b in 0..acts.batch {
        for (k, v) in acts.data[b * acts.cols..(b + 1) * acts.cols]
            .iter()
            .enumerate()
        {
            s[k] += f64::from(*v) * f64::from(*v);
        }
    }
    let mean = s.iter().sum::<f64>() / s.len().max(1) as f64;
    if mean > 0.0 {
        s.iter_mut().for_each(|v| *v /= mean);
    } else {
        s.iter_mut().for_each(|v| *v = 1.0);
    }
    s
}

/// Y = W X for every activation in the batch, f64 accumulation: `batch x rows`.
pub fn outputs(w: &Matrix, acts: &Activations) -> Vec<f64> {
    let mut y = vec![0.0; acts.batch * w.rows];
    for b in 0..acts.batch {
        let x = &acts.data[b * acts.cols..(b + 1) * acts.cols];
        for r in 0..w.rows {
            y[b * w.rows + r] = w
                .row(r)
                .iter()
                .zip(x)
                .map(|(a, c)| f64::from(*a) * f64::from(*c))
                .sum();
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_data_has_its_shape() {
        let w = synthetic_weights(64, 128, 1, 1.0);
        let big = w.data.iter().filter(|v| v.abs() > 0.1).count();
        // 1% outliers of 5-20 sigma, almost all beyond 5 sigma = 0.1.
        assert!((40..=130).contains(&big), "{big}");
        let a = synthetic_activations(32, 128, 2, 3);
        let s = channel_sensitivity(&a);
        assert!((s.iter().sum::<f64>() / 128.0 - 1.0).abs() < 1e-9);
        assert!(
            s.iter().copied().fold(0.0, f64::max) > 20.0,
            "hot channels dominate"
        );
        assert_eq!(
            synthetic_weights(4, 4, 9, 0.0),
            synthetic_weights(4, 4, 9, 0.0)
        );
    }
}
