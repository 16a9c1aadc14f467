//! Query timing: one marginal by MaM (one pass) against the autoregressive route (|S| passes,
//! or one pass over the |S| prefixes), on the CPU; shared by `paperlab bench mam` and the page.

use serde::Serialize;
use web_time::Instant;

use super::nets::{MamNets, observed_in_order, random_order};
use super::partial::{Partial, Site};
use crate::nn::Mlp;
use crate::rng::SplitMix64;

/// |S| = D/4, D/2 and D: the sizes the goal names.
pub fn goal_sizes(d: usize) -> [usize; 3] {
    [(d / 4).max(1), (d / 2).max(1), d]
}

/// A random query observing exactly `observed` sites (random set, random spins).
pub fn query_of_size(d: usize, observed: usize, rng: &mut SplitMix64) -> Partial {
    let order = random_order(d, rng);
    let mut p = Partial::unknown(d);
    for &i in &order[..observed.min(d)] {
        p.sites[i] = if rng.below(2) == 1 {
            Site::Up
        } else {
            Site::Down
        };
    }
    p
}

/// Runs `f` until `min_ms` have passed (at least 3 times); its last value and the mean ms.
pub fn time_ms<T>(min_ms: f64, mut f: impl FnMut() -> T) -> (T, f64) {
    let started = Instant::now();
    let mut runs = 0u32;
    loop {
        let value = f();
        runs += 1;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        if runs >= 3 && elapsed_ms >= min_ms {
            return (value, elapsed_ms / f64::from(runs));
        }
    }
}

/// One query timed three ways on the CPU.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct QueryTime {
    pub observed: usize,
    pub ms_mam: f64,
    /// |S| sequential conditional passes.
    pub ms_arm: f64,
    /// One conditional pass over the |S| prefixes.
    pub ms_arm_batched: f64,
    pub log_p_mam: f64,
    pub log_p_arm: f64,
}

impl QueryTime {
    pub fn ratio(&self) -> f64 {
        self.ms_arm / self.ms_mam.max(1e-12)
    }
}

/// Times one random query with `observed` sites, each route for at least `min_ms`: MaM's
/// marginal network against the autoregressive network `arm` (the separately trained ARM, or
/// MaM's own conditional network where none is shipped: the same shape, so the same time).
pub fn time_query(nets: &MamNets, arm: &Mlp, observed: usize, seed: u64, min_ms: f64) -> QueryTime {
    let mut rng = SplitMix64::new(seed ^ observed as u64);
    let p = query_of_size(nets.sites(), observed, &mut rng);
    let order = observed_in_order(&p, &random_order(nets.sites(), &mut rng));
    let (log_p_mam, ms_mam) = time_ms(min_ms, || nets.log_marginal(&p));
    let (log_p_arm, ms_arm) = time_ms(min_ms, || super::arm::log_marginal(arm, &p, &order));
    let (_, ms_arm_batched) = time_ms(min_ms, || super::arm::log_marginal_batched(arm, &p, &order));
    QueryTime {
        observed,
        ms_mam,
        ms_arm,
        ms_arm_batched,
        log_p_mam,
        log_p_arm,
    }
}

/// `batch` random queries (|S| uniform), encoded for the networks.
pub fn query_batch(d: usize, batch: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let mut x = Vec::with_capacity(batch * super::nets::CLASSES * d);
    for _ in 0..batch {
        let p = super::quality::random_partial(d, &mut rng);
        super::nets::encode_into(&p.sites, &mut x);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_routes_answer_the_same_query() {
        let nets = MamNets::new(3, &[16], 2);
        let t = time_query(&nets, &nets.conditional, 5, 1, 0.0);
        assert_eq!(t.observed, 5);
        assert!(t.ms_mam > 0.0 && t.ms_arm > 0.0 && t.ms_arm_batched > 0.0);
        assert!(t.log_p_mam.is_finite() && t.log_p_arm < 0.0);
        assert_eq!(goal_sizes(64), [16, 32, 64]);
        assert_eq!(
            query_of_size(9, 4, &mut SplitMix64::new(1))
                .observed()
                .len(),
            4
        );
    }
}
