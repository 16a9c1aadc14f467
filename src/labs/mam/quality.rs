//! How close a trained MaM is to the exact answers: mean |log p_model - log p_exact| over random
//! partial assignments, for the marginal network (one pass) and for the autoregressive route,
//! exact by enumeration for L <= 4 and by the transfer matrix for L <= 10.

use serde::Serialize;

use super::arm::{Arm, ancestral_samples};
use super::ising::{Exact, Ising, log_marginal_transfer, log_z_transfer, spins_of};
use super::nets::{CLASSES, MamNets, encode_masked_into, random_order};
use super::partial::{Partial, Site};
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

/// The separately trained ARM's |S|-pass route against exact marginals (random order per
/// query), as [`against_exact`] measures MaM's.
pub fn arm_against_exact(arm: &Arm, exact: &Exact, queries: usize, seed: u64) -> Quality {
    let d = exact.model.sites();
    let mut rng = SplitMix64::new(seed);
    let (mut sum, mut max) = (0.0f64, 0.0f64);
    for _ in 0..queries {
        let p = random_partial(d, &mut rng);
        let order = random_order(d, &mut rng);
        let error = (arm.log_marginal_batched(&p, &order) - exact.log_marginal(&p)).abs();
        sum += error;
        max = max.max(error);
    }
    let n = queries.max(1) as f64;
    Quality {
        queries,
        mean_abs_error: sum / n,
        max_abs_error: max,
        arm_mean_abs_error: sum / n,
    }
}

/// Mean |log p_model - log p_exact| in nats of MaM's marginal network and of the ARM (a random
/// order per query), the exact answers by the transfer matrix.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MarginalErrors {
    pub queries: usize,
    pub mam_mean_abs_error: f64,
    pub arm_mean_abs_error: f64,
}

/// Marginal errors on lattices too large to enumerate (L <= 10), on two kinds of query, both
/// with |S| uniform in 1..=D and S uniformly random: `random_spins` as the 4x4 goal draws them
/// (each observed spin +1 or -1 with probability 1/2: mostly very improbable patterns, -70 nats
/// at |S| = D on 10x10), and `target_spins`, whose observed spins are those of ground-truth
/// samples (the patterns the target itself makes).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TransferQuality {
    pub random_spins: MarginalErrors,
    pub target_spins: MarginalErrors,
}

/// [`TransferQuality`] over `queries` queries of each kind (about two thirds of a second each
/// at L = 10, natively); `typical` supplies the target-spin queries' spins.
pub fn against_transfer(
    model: &Ising,
    nets: &MamNets,
    arm: &Arm,
    typical: &[Vec<i8>],
    queries: usize,
    seed: u64,
) -> Result<TransferQuality, String> {
    let d = model.sites();
    let log_z = log_z_transfer(model)?;
    let mut rng = SplitMix64::new(seed ^ 0x7a11);
    let mut errors = |make: &mut dyn FnMut(&mut SplitMix64) -> Partial| {
        let (mut mam, mut arm_sum) = (0.0f64, 0.0f64);
        for _ in 0..queries {
            let p = make(&mut rng);
            let truth = log_marginal_transfer(model, log_z, &p)?;
            mam += (nets.log_marginal(&p) - truth).abs();
            let order = random_order(d, &mut rng);
            arm_sum += (arm.log_marginal_batched(&p, &order) - truth).abs();
        }
        let n = queries.max(1) as f64;
        Ok::<_, String>(MarginalErrors {
            queries,
            mam_mean_abs_error: mam / n,
            arm_mean_abs_error: arm_sum / n,
        })
    };
    let random_spins = errors(&mut |rng| random_partial(d, rng))?;
    let target_spins = errors(&mut |rng| {
        let mut p = random_partial(d, rng);
        if !typical.is_empty() {
            let sample = &typical[rng.below(typical.len() as u64) as usize];
            for (site, &spin) in p.sites.iter_mut().zip(sample) {
                if site.spin().is_some() {
                    *site = if spin > 0 { Site::Up } else { Site::Down };
                }
            }
        }
        p
    })?;
    Ok(TransferQuality {
        random_spins,
        target_spins,
    })
}

/// Exact divergences between a model's full-configuration distribution q and the target p,
/// by enumerating every state (L <= 4).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ExactKl {
    /// KL(q || p), q normalised over the states, nats.
    pub reverse: f64,
    /// KL(p || q), nats.
    pub forward: f64,
    /// sum_x q(x) before normalising (1 for a perfectly self-consistent MaM).
    pub mass: f64,
}

fn exact_kl_of(exact: &Exact, log_q: &[f64]) -> ExactKl {
    let log_mass = super::ising::log_sum_exp(log_q.iter().copied());
    let (mut reverse, mut forward) = (0.0, 0.0);
    for (lq, lf) in log_q.iter().zip(&exact.log_f) {
        let (lq, lp) = (lq - log_mass, lf - exact.log_z);
        reverse += lq.exp() * (lq - lp);
        forward += lp.exp() * (lp - lq);
    }
    ExactKl {
        reverse,
        forward,
        mass: log_mass.exp(),
    }
}

/// MaM's marginal network on every full state: log q(x) = g(x) - g(empty).
pub fn exact_kl_mam(nets: &MamNets, exact: &Exact) -> ExactKl {
    let d = exact.model.sites();
    let mut log_q = Vec::with_capacity(1 << d);
    let chunk = 4096usize;
    let mut x = Vec::with_capacity(chunk * CLASSES * d);
    for start in (0..1usize << d).step_by(chunk) {
        x.clear();
        let end = (start + chunk).min(1 << d);
        for s in start..end {
            encode_masked_into(&spins_of(s, d), |_| true, &mut x);
        }
        log_q.extend(nets.log_marginals_encoded(&x, end - start));
    }
    exact_kl_of(exact, &log_q)
}

/// The ARM on every full state, each along its own random order (seeded): log q_sigma(x).
pub fn exact_kl_arm(arm: &Arm, exact: &Exact, seed: u64) -> ExactKl {
    let d = exact.model.sites();
    let mut rng = SplitMix64::new(seed);
    let log_q: Vec<f64> = (0..1usize << d)
        .map(|s| {
            let order = random_order(d, &mut rng);
            arm.log_marginal_batched(&full_partial(&spins_of(s, d)), &order)
        })
        .collect();
    exact_kl_of(exact, &log_q)
}

/// A full configuration as a partial assignment.
pub fn full_partial(spins: &[i8]) -> Partial {
    Partial {
        sites: spins
            .iter()
            .map(|&v| {
                if v > 0 {
                    super::partial::Site::Up
                } else {
                    super::partial::Site::Down
                }
            })
            .collect(),
    }
}

/// The reverse KL of MaM's sampler (any-order ancestral sampling through the conditional
/// network, a random order each), on its own samples with its own log q_sigma(x) and the exact
/// log Z (see [`super::eval::QualityReport::reverse_kl_mam_own_samples`]).
pub fn own_sample_kl(model: &Ising, nets: &MamNets, log_z: f64, samples: usize, seed: u64) -> f64 {
    let mut rng = SplitMix64::new(seed);
    let drawn = ancestral_samples(&nets.conditional, model.sites(), samples, &mut rng);
    let n = drawn.len().max(1) as f64;
    drawn
        .iter()
        .map(|(spins, lq)| lq - model.log_f(spins))
        .sum::<f64>()
        / n
        + log_z
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
