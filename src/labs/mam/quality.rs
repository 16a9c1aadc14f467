//! How close a trained MaM is to the exact answers (L <= 4): mean |log p_model - log p_exact|
//! over random partial assignments, for the marginal network (one pass) and for the
//! autoregressive route through the conditional network.

use serde::Serialize;

use super::ising::Exact;
use super::nets::{MamNets, random_order};
use super::partial::Partial;
use crate::rng::SplitMix64;

/// A random query: |S| uniform in 1..=D, S a uniformly random set, each observed spin +1 or -1
/// with probability 1/2.
pub fn random_partial(d: usize, rng: &mut SplitMix64) -> Partial {
    let observed = 1 + rng.below(d as u64) as usize;
    super::speed::query_of_size(d, observed, rng)
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Quality {
    pub queries: usize,
    /// Mean |log p_model - log p_exact| in nats (marginal network).
    pub mean_abs_error: f64,
    pub max_abs_error: f64,
    /// The same for the autoregressive route (random order per query).
    pub arm_mean_abs_error: f64,
}

pub fn against_exact(nets: &MamNets, exact: &Exact, queries: usize, seed: u64) -> Quality {
    let d = exact.model.sites();
    let mut rng = SplitMix64::new(seed);
    let (mut sum, mut max, mut arm_sum) = (0.0f64, 0.0f64, 0.0f64);
    for _ in 0..queries {
        let p = random_partial(d, &mut rng);
        let truth = exact.log_marginal(&p);
        let error = (nets.log_marginal(&p) - truth).abs();
        sum += error;
        max = max.max(error);
        let order = random_order(d, &mut rng);
        arm_sum += (nets.log_marginal_arm(&p, &order) - truth).abs();
    }
    let n = queries.max(1) as f64;
    Quality {
        queries,
        mean_abs_error: sum / n,
        max_abs_error: max,
        arm_mean_abs_error: arm_sum / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_queries_observe_at_least_one_site() {
        let mut rng = SplitMix64::new(2);
        let sizes: Vec<usize> = (0..500)
            .map(|_| random_partial(16, &mut rng).observed().len())
            .collect();
        assert!(sizes.iter().all(|&k| (1..=16).contains(&k)));
        assert!(sizes.contains(&1) && sizes.contains(&16));
    }
}
