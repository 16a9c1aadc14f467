//! How close a sampler is to the target: L1 (summed over states), Jensen-Shannon divergence,
//! log Z error, modes found.

use serde::Serialize;

use super::env::Target;
use crate::stats::ln_gamma;

/// A histogram as a distribution (all zero when empty).
fn frequencies(counts: &[u32]) -> Vec<f64> {
    let n: f64 = counts.iter().map(|&c| f64::from(c)).sum();
    counts
        .iter()
        .map(|&c| if n > 0.0 { f64::from(c) / n } else { 0.0 })
        .collect()
}

/// L1 = sum over states of |q(x) - p(x)| (the sum, as torchgfn >= 2.4 reports it; the older
/// per-state mean is this divided by H^D). Between 0 and 2.
pub fn l1_between(p: &[f64], q: &[f64]) -> f64 {
    p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum()
}

/// Jensen-Shannon divergence in nats between two distributions (0 <= JSD <= ln 2); zero
/// cells contribute nothing.
pub fn jsd_between(p: &[f64], q: &[f64]) -> f64 {
    let mut total = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let m = 0.5 * (a + b);
        if a > 0.0 {
            total += 0.5 * a * (a / m).ln();
        }
        if b > 0.0 {
            total += 0.5 * b * (b / m).ln();
        }
    }
    total.max(0.0)
}

/// L1 of an empirical histogram to the target (2 for an empty one).
pub fn l1_sum(target: &Target, counts: &[u32]) -> f64 {
    if counts.iter().all(|&c| c == 0) {
        return 2.0;
    }
    l1_between(&target.probabilities, &frequencies(counts))
}

/// JSD of an empirical histogram to the target (ln 2 for an empty one).
pub fn jsd(target: &Target, counts: &[u32]) -> f64 {
    if counts.iter().all(|&c| c == 0) {
        return std::f64::consts::LN_2;
    }
    jsd_between(&target.probabilities, &frequencies(counts))
}

/// E|X - n p| for X ~ Binomial(n, p), by De Moivre's closed form
/// 2 (m + 1) C(n, m + 1) p^(m+1) (1 - p)^(n-m) with m = floor(n p).
fn binomial_mean_absolute_deviation(n: usize, p: f64) -> f64 {
    if n == 0 || p <= 0.0 || p >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let m = (nf * p).floor();
    if m + 1.0 > nf {
        return 0.0;
    }
    let ln_choose = ln_gamma(nf + 1.0) - ln_gamma(m + 2.0) - ln_gamma(nf - m);
    let ln_term = std::f64::consts::LN_2
        + (m + 1.0).ln()
        + ln_choose
        + (m + 1.0) * p.ln()
        + (nf - m) * (-p).ln_1p();
    ln_term.exp()
}

/// The expected L1 of `samples` draws from `p` itself: what a perfect sampler scores, the floor
/// under any sampled L1 (sum over states of E|p_hat - p|, exact for the multinomial).
pub fn l1_noise_floor(p: &[f64], samples: usize) -> f64 {
    if samples == 0 {
        return 2.0;
    }
    p.iter()
        .map(|&pi| binomial_mean_absolute_deviation(samples, pi))
        .sum::<f64>()
        / samples as f64
}

/// The expected JSD of `samples` draws from `p` itself, to first order: JSD is about chi^2 / 8
/// for close distributions, and E[chi^2] = (k - 1) / n for k states with mass.
pub fn jsd_noise_floor(p: &[f64], samples: usize) -> f64 {
    let k = p.iter().filter(|&&x| x > 0.0).count();
    if samples == 0 {
        return std::f64::consts::LN_2;
    }
    k.saturating_sub(1) as f64 / (8.0 * samples as f64)
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
    fn ln_gamma_matches_factorials() {
        let mut factorial = 1.0f64;
        for n in 1..30 {
            factorial *= n as f64;
            let got = ln_gamma(n as f64 + 1.0);
            assert!(
                (got - factorial.ln()).abs() < 1e-12 * factorial.ln().max(1.0),
                "{n}"
            );
        }
        // Γ(1/2) = sqrt(π).
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
    }

    #[test]
    fn binomial_deviation_matches_summation() {
        for n in [1usize, 2, 7, 30, 100] {
            for p in [0.01f64, 0.1, 0.37, 0.5, 0.93] {
                // Direct sum over the pmf, built by the recurrence from P(X = 0).
                let mut pmf = (1.0 - p).powi(n as i32);
                let mut direct = 0.0;
                for k in 0..=n {
                    direct += pmf * (k as f64 - n as f64 * p).abs();
                    pmf *= (n - k) as f64 / (k + 1) as f64 * p / (1.0 - p);
                }
                let closed = binomial_mean_absolute_deviation(n, p);
                assert!(
                    (closed - direct).abs() < 1e-9 * (1.0 + direct),
                    "n {n} p {p}: {closed} vs {direct}"
                );
            }
        }
    }

    #[test]
    fn the_noise_floor_is_what_a_perfect_sampler_scores() {
        // Monte Carlo: histograms of n draws from the target itself, their mean L1 and JSD.
        let t = target();
        let n = 2000;
        let cdf: Vec<f64> = t
            .probabilities
            .iter()
            .scan(0.0, |acc, p| {
                *acc += p;
                Some(*acc)
            })
            .collect();
        let mut rng = crate::rng::SplitMix64::new(11);
        let repeats = 400;
        let (mut l1s, mut jsds) = (Vec::new(), Vec::new());
        for _ in 0..repeats {
            let mut counts = vec![0u32; t.probabilities.len()];
            for _ in 0..n {
                let u = rng.next_f64();
                let i = cdf.partition_point(|&c| c <= u).min(counts.len() - 1);
                counts[i] += 1;
            }
            l1s.push(l1_sum(&t, &counts));
            jsds.push(jsd(&t, &counts));
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let sd = |v: &[f64]| {
            let m = mean(v);
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        };
        let floor = l1_noise_floor(&t.probabilities, n);
        let standard_error = sd(&l1s) / (repeats as f64).sqrt();
        assert!(
            (mean(&l1s) - floor).abs() < 4.0 * standard_error,
            "L1 {} vs floor {floor} (se {standard_error})",
            mean(&l1s)
        );
        // The JSD floor is a first-order approximation: within 15%.
        let jsd_floor = jsd_noise_floor(&t.probabilities, n);
        assert!(
            (mean(&jsds) / jsd_floor - 1.0).abs() < 0.15,
            "{} vs {jsd_floor}",
            mean(&jsds)
        );
    }

    #[test]
    fn distances_between_distributions() {
        let p = [0.5, 0.5, 0.0];
        let q = [0.0, 0.5, 0.5];
        assert!((l1_between(&p, &q) - 1.0).abs() < 1e-15);
        assert!(jsd_between(&p, &p) < 1e-15);
        // Disjoint supports: ln 2.
        assert!((jsd_between(&[1.0, 0.0], &[0.0, 1.0]) - std::f64::consts::LN_2).abs() < 1e-15);
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
