//! How close a sampler is to the target: L1 (summed over states), Jensen-Shannon divergence,
//! log Z error, modes found.

use serde::Serialize;

use super::env::Target;

/// L1 = sum over states of |p_hat(x) - p(x)| (the sum, as torchgfn >= 2.4 reports it; the
/// older per-state mean is this divided by H^D). Between 0 and 2.
pub fn l1_sum(target: &Target, counts: &[u32]) -> f64 {
    let n: f64 = counts.iter().map(|&c| f64::from(c)).sum();
    if n == 0.0 {
        return 2.0;
    }
    target
        .probabilities
        .iter()
        .zip(counts)
        .map(|(p, &c)| (f64::from(c) / n - p).abs())
        .sum()
}

/// Jensen-Shannon divergence in nats between the empirical and the target distribution
/// (0 <= JSD <= ln 2); zero cells contribute nothing.
pub fn jsd(target: &Target, counts: &[u32]) -> f64 {
    let n: f64 = counts.iter().map(|&c| f64::from(c)).sum();
    if n == 0.0 {
        return std::f64::consts::LN_2;
    }
    let mut total = 0.0;
    for (p, &c) in target.probabilities.iter().zip(counts) {
        let q = f64::from(c) / n;
        let m = 0.5 * (p + q);
        if *p > 0.0 {
            total += 0.5 * p * (p / m).ln();
        }
        if q > 0.0 {
            total += 0.5 * q * (q / m).ln();
        }
    }
    total.max(0.0)
}

/// Which modes have been sampled at least once, accumulated over a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ModesFound {
    found: Vec<bool>,
    pub count: usize,
}

impl ModesFound {
    pub fn new(target: &Target) -> Self {
        Self {
            found: vec![false; target.mode_count],
            count: 0,
        }
    }

    pub fn record(&mut self, target: &Target, state_index: usize) {
        if let Some(Some(mode)) = target.mode_of_state.get(state_index)
            && let Some(seen) = self.found.get_mut(*mode as usize)
            && !*seen
        {
            *seen = true;
            self.count += 1;
        }
    }

    pub fn total(&self) -> usize {
        self.found.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::gflownet::env::{Hypergrid, RewardSpec};

    fn target() -> Target {
        Target::enumerate(
            Hypergrid::new(2, 8),
            &RewardSpec::Standard {
                r0: 0.1,
                r1: 0.5,
                r2: 2.0,
            },
        )
        .expect("small")
    }

    #[test]
    fn exact_counts_give_zero_distance() {
        let t = target();
        // Counts proportional to rewards (all rewards are multiples of 0.1).
        let counts: Vec<u32> = t
            .log_rewards
            .iter()
            .map(|lr| (lr.exp() * 10.0).round() as u32)
            .collect();
        assert!(l1_sum(&t, &counts) < 1e-12);
        assert!(jsd(&t, &counts) < 1e-12);
    }

    #[test]
    fn a_point_mass_is_far() {
        let t = target();
        let mut counts = vec![0u32; 64];
        counts[0] = 100;
        let expected = 2.0 * (1.0 - t.probabilities[0]);
        assert!((l1_sum(&t, &counts) - expected).abs() < 1e-12);
        assert!(jsd(&t, &counts) > 0.3 && jsd(&t, &counts) <= std::f64::consts::LN_2);
    }

    #[test]
    fn modes_are_counted_once() {
        let t = target();
        let mut modes = ModesFound::new(&t);
        let grid = t.grid;
        for _ in 0..3 {
            modes.record(&t, grid.index(&[1, 1, 0, 0]));
        }
        modes.record(&t, grid.index(&[6, 1, 0, 0]));
        modes.record(&t, grid.index(&[3, 3, 0, 0]));
        assert_eq!((modes.count, modes.total()), (2, 4));
    }
}
