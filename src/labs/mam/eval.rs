//! Measuring a model the way the paper does, where nothing is exact: statistics of samples
//! with their standard errors, ground truth from long Gibbs chains (the reference's
//! `generate_samples`: many independent chains, single-site updates), and the NLL of those
//! ground-truth samples under a model.

use serde::Serialize;

use super::arm::{Arm, ancestral_samples};
use super::ising::{Exact, ExactMoments, Ising, exact_moments, gibbs_sample, log_z_transfer};
use super::nets::{CLASSES, MamNets, encode_masked_into, random_order, sigmoid};
use super::quality::{
    ExactKl, TransferQuality, against_exact, against_transfer, arm_against_exact, exact_kl_arm,
    exact_kl_mam, full_partial,
};
use crate::rng::SplitMix64;

/// Magnetisation and nearest-neighbour correlation of a set of samples, each with its
/// standard error (samples independent: the spread of the per-sample values over sqrt n).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SampleStats {
    pub count: usize,
    /// Mean over samples of (1/D) sum_i x_i.
    pub magnetisation: f64,
    pub magnetisation_se: f64,
    /// Mean over samples of the mean x_i x_j over the 2 D lattice edges.
    pub neighbour_correlation: f64,
    pub neighbour_correlation_se: f64,
}

fn mean_and_se(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, (var / n as f64).sqrt())
}

impl SampleStats {
    pub fn of(model: &Ising, samples: &[Vec<i8>]) -> Self {
        let d = model.sites() as f64;
        let magnetisations: Vec<f64> = samples
            .iter()
            .map(|s| s.iter().map(|&v| f64::from(v)).sum::<f64>() / d)
            .collect();
        let correlations: Vec<f64> = samples
            .iter()
            .map(|s| {
                let pairs: f64 = (0..s.len())
                    .map(|i| {
                        let [r, dn] = model.forward_neighbours(i);
                        f64::from(s[i]) * f64::from(s[r] + s[dn])
                    })
                    .sum();
                pairs / (2.0 * d)
            })
            .collect();
        let (magnetisation, magnetisation_se) = mean_and_se(&magnetisations);
        let (neighbour_correlation, neighbour_correlation_se) = mean_and_se(&correlations);
        Self {
            count: samples.len(),
            magnetisation,
            magnetisation_se,
            neighbour_correlation,
            neighbour_correlation_se,
        }
    }

    /// How many combined standard errors apart two sets' statistics are:
    /// (magnetisation, neighbour correlation).
    pub fn z_scores(&self, other: &SampleStats) -> (f64, f64) {
        let z = |a: f64, sa: f64, b: f64, sb: f64| {
            (a - b).abs() / (sa * sa + sb * sb).sqrt().max(1e-12)
        };
        (
            z(
                self.magnetisation,
                self.magnetisation_se,
                other.magnetisation,
                other.magnetisation_se,
            ),
            z(
                self.neighbour_correlation,
                self.neighbour_correlation_se,
                other.neighbour_correlation,
                other.neighbour_correlation_se,
            ),
        )
    }
}

/// Sweeps per ground-truth chain: far past this target's mixing time (2 J = 0.2 per edge is
/// well inside the disordered phase; the chain's autocorrelation is a few sweeps).
pub const GROUND_TRUTH_SWEEPS: usize = 500;

/// `count` ground-truth samples, one independent Gibbs chain of `sweeps` sweeps each.
pub fn gibbs_ground_truth(model: &Ising, count: usize, sweeps: usize, seed: u64) -> Vec<Vec<i8>> {
    let mut rng = SplitMix64::new(seed ^ 0x9e77_0001);
    (0..count)
        .map(|_| gibbs_sample(model, sweeps, &mut rng))
        .collect()
}

/// Mean negative log-likelihood (nats) of samples whose log-probabilities are `log_p`.
pub fn mean_nll(log_p: &[f64]) -> f64 {
    -log_p.iter().sum::<f64>() / log_p.len().max(1) as f64
}

/// `count` samples by MaM's ratio of marginals, p(x_i = +1 | x_S) = sigmoid(g(x_S, +1) -
/// g(x_S, -1)), each in its own random order: D passes of 2 * count rows.
pub fn marginal_sampler_batch(nets: &MamNets, count: usize, rng: &mut SplitMix64) -> Vec<Vec<i8>> {
    let d = nets.sites();
    let orders: Vec<Vec<usize>> = (0..count).map(|_| random_order(d, rng)).collect();
    let mut spins = vec![1i8; count * d];
    let mut known = vec![false; count * d];
    let mut x = Vec::with_capacity(2 * count * CLASSES * d);
    for t in 0..d {
        x.clear();
        for b in 0..count {
            let site = orders[b][t];
            let row = &mut spins[b * d..(b + 1) * d];
            let row_known = &mut known[b * d..(b + 1) * d];
            row_known[site] = true;
            for spin in [1, -1] {
                row[site] = spin;
                encode_masked_into(row, |i| row_known[i], &mut x);
            }
        }
        let g = nets.marginal.predict(&x, 2 * count);
        for b in 0..count {
            let p_up = sigmoid(f64::from(g[2 * b]) - f64::from(g[2 * b + 1]));
            spins[b * d + orders[b][t]] = if rng.next_f64() < p_up { 1 } else { -1 };
        }
    }
    spins.chunks_exact(d).map(<[i8]>::to_vec).collect()
}

impl SampleStats {
    /// How many of these samples' standard errors they sit from the exact moments:
    /// (magnetisation, neighbour correlation).
    pub fn z_scores_exact(&self, exact: &ExactMoments) -> (f64, f64) {
        (
            (self.magnetisation - exact.magnetisation).abs() / self.magnetisation_se.max(1e-12),
            (self.neighbour_correlation - exact.neighbour_correlation).abs()
                / self.neighbour_correlation_se.max(1e-12),
        )
    }
}

/// A set of samples' statistics and how far (in combined standard errors) they sit from the
/// ground truth's, and (in their own standard errors) from the exact moments where the
/// transfer matrix gives them (L <= 10).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct AgainstTruth {
    pub stats: SampleStats,
    pub magnetisation_z: f64,
    pub neighbour_correlation_z: f64,
    pub magnetisation_z_exact: Option<f64>,
    pub neighbour_correlation_z_exact: Option<f64>,
}

impl AgainstTruth {
    fn of(
        model: &Ising,
        samples: &[Vec<i8>],
        truth: &SampleStats,
        exact: Option<&ExactMoments>,
    ) -> Self {
        let stats = SampleStats::of(model, samples);
        let (magnetisation_z, neighbour_correlation_z) = stats.z_scores(truth);
        let exact_z = exact.map(|e| stats.z_scores_exact(e));
        Self {
            stats,
            magnetisation_z,
            neighbour_correlation_z,
            magnetisation_z_exact: exact_z.map(|z| z.0),
            neighbour_correlation_z_exact: exact_z.map(|z| z.1),
        }
    }

    /// The goal: both statistics within two standard errors.
    pub fn within_two_se(&self) -> bool {
        self.magnetisation_z <= 2.0 && self.neighbour_correlation_z <= 2.0
    }
}

/// A forward-KL estimate KL(p || model) on the ground-truth samples: the mean over the samples
/// of log p(x) - log p_model(x) (the model's NLL minus the target's own), paired sample by
/// sample, with its standard error.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ForwardKl {
    pub nats: f64,
    pub se: f64,
    /// More than two standard errors below zero, which a normalised model cannot be (Gibbs'
    /// inequality): the model's log p sums to more than 1 over the states, so its NLL reads
    /// better than the target's own.
    pub unnormalised: bool,
}

impl ForwardKl {
    fn of(log_p_exact: &[f64], log_p_model: &[f64]) -> Self {
        let gaps: Vec<f64> = log_p_exact
            .iter()
            .zip(log_p_model)
            .map(|(exact, model)| exact - model)
            .collect();
        let (nats, se) = mean_and_se(&gaps);
        Self {
            nats,
            se,
            unnormalised: nats + 2.0 * se < 0.0,
        }
    }
}

/// Everything `paperlab bench mam` says of a model's quality, measured as the paper measures
/// it: NLL of ground-truth samples, KL estimates on the models' own samples, sample statistics
/// against the ground truth, and on L <= 4 the exact figures.
#[derive(Clone, Debug, Serialize)]
pub struct QualityReport {
    pub size: usize,
    /// "exact (enumeration)" or "gibbs: N chains x S sweeps".
    pub reference: String,
    pub log_z_exact: Option<f64>,
    /// -mean log p(x) of the ground-truth samples under the target itself (exact log Z).
    pub nll_exact: Option<f64>,
    /// The same under MaM's marginal network (one pass per sample).
    pub nll_mam: f64,
    /// Under the autoregressive model, a random order per sample (the reference's est_logp).
    pub nll_arm: f64,
    /// Which network the ARM figures are of.
    pub arm_network: String,
    /// `nll_mam - nll_exact` and `nll_arm - nll_exact` with their standard errors, and whether
    /// either is impossibly low for a normalised model (L <= 10, where log Z is exact).
    pub forward_kl_mam: Option<ForwardKl>,
    pub forward_kl_arm: Option<ForwardKl>,
    /// Reverse KL of each sampler, estimated on its own samples with its own log-likelihood:
    /// mean(log q_sigma(x) - log f(x)) + log Z, q_sigma the product of the conditionals along
    /// the random order that drew x. This is E_sigma KL(q_sigma || p), an upper bound on the
    /// order-mixture's KL (equal when the conditionals are order-consistent).
    pub reverse_kl_mam_own_samples: Option<f64>,
    /// The same samples scored by MaM's marginal network instead: mean(log p_theta(x) -
    /// log f(x)) + log Z = KL(q || p) - KL(q || p_theta), so it reads low (even negative)
    /// wherever the two networks disagree; the figure the training curve shows.
    pub reverse_kl_mam_marginal_scored: Option<f64>,
    pub reverse_kl_arm_own_samples: Option<f64>,
    pub ground_truth: SampleStats,
    /// The target's exact magnetisation and neighbour correlation (transfer matrix, L <= 10).
    pub exact_moments: Option<ExactMoments>,
    /// The ground truth's own distance from them, in its standard errors: a check of the chains.
    pub ground_truth_z_exact: Option<(f64, f64)>,
    pub mam_conditional_sampler: AgainstTruth,
    pub mam_marginal_sampler: AgainstTruth,
    pub arm_sampler: AgainstTruth,
    pub exact_kl_mam: Option<ExactKl>,
    pub exact_kl_arm: Option<ExactKl>,
    pub mean_abs_error_mam: Option<f64>,
    pub mean_abs_error_arm: Option<f64>,
    /// Above 4x4 (where enumeration gives the exact figures) and up to 10x10: MaM's and the
    /// ARM's log-marginals against the transfer matrix's, on random and on target patterns.
    pub marginals_against_transfer: Option<TransferQuality>,
}

/// Measures `nets` (and the autoregressive model `arm`, else MaM's own conditional network)
/// on `samples` samples per sampler and, on lattices the transfer matrix covers but enumeration
/// does not, on `exact_queries` partial assignments of each kind (none: skipped).
pub fn quality_report(
    model: &Ising,
    nets: &MamNets,
    arm: Option<&Arm>,
    samples: usize,
    exact_queries: usize,
    seed: u64,
) -> QualityReport {
    let d = model.sites();
    let fallback;
    let (arm, arm_network) = match arm {
        Some(a) => (a, "separately trained ARM".to_owned()),
        None => {
            fallback = Arm {
                size: model.size,
                net: nets.conditional.clone(),
            };
            (
                &fallback,
                "MaM's conditional network (no separate ARM)".to_owned(),
            )
        }
    };
    let exact = Exact::new(*model).ok();
    let log_z = log_z_transfer(model).ok();
    let mut rng = SplitMix64::new(seed);
    let (truth_samples, reference) = match &exact {
        Some(e) => (
            exact_samples(e, samples, &mut rng),
            "exact (enumeration)".to_owned(),
        ),
        None => (
            gibbs_ground_truth(model, samples, GROUND_TRUTH_SWEEPS, seed),
            format!("gibbs: {samples} chains x {GROUND_TRUTH_SWEEPS} sweeps"),
        ),
    };
    let truth = SampleStats::of(model, &truth_samples);
    let moments = exact_moments(model).ok();
    let log_p_exact: Option<Vec<f64>> =
        log_z.map(|z| truth_samples.iter().map(|x| model.log_f(x) - z).collect());
    let nll_exact = log_p_exact.as_deref().map(mean_nll);
    let log_q = log_marginals_of_full(nets, &truth_samples);
    let nll_mam = mean_nll(&log_q);
    // A random order per sample, drawn in sample order (the reference's est_logp).
    let log_q_arm: Vec<f64> = truth_samples
        .iter()
        .map(|s| {
            let order = random_order(d, &mut rng);
            arm.log_marginal_batched(&full_partial(s), &order)
        })
        .collect();
    let nll_arm = mean_nll(&log_q_arm);
    let conditional_drawn = ancestral_samples(&nets.conditional, d, samples, &mut rng);
    let by_conditional: Vec<Vec<i8>> = conditional_drawn.iter().map(|(s, _)| s.clone()).collect();
    let by_marginals = marginal_sampler_batch(nets, samples, &mut rng);
    let arm_drawn = arm.samples_with_log_q(samples, &mut rng);
    let arm_samples: Vec<Vec<i8>> = arm_drawn.iter().map(|(s, _)| s.clone()).collect();
    let mean_gap = |drawn: &[(Vec<i8>, f64)]| {
        drawn.iter().map(|(s, q)| q - model.log_f(s)).sum::<f64>() / drawn.len().max(1) as f64
    };
    let own_kl = |drawn: &[(Vec<i8>, f64)]| log_z.map(|z| mean_gap(drawn) + z);
    let reverse_kl_mam_marginal_scored = log_z.map(|z| {
        let scored: Vec<(Vec<i8>, f64)> = by_conditional
            .iter()
            .cloned()
            .zip(log_marginals_of_full(nets, &by_conditional))
            .collect();
        mean_gap(&scored) + z
    });
    QualityReport {
        size: model.size,
        reference,
        log_z_exact: log_z,
        nll_exact,
        nll_mam,
        nll_arm,
        arm_network,
        forward_kl_mam: log_p_exact.as_deref().map(|e| ForwardKl::of(e, &log_q)),
        forward_kl_arm: log_p_exact.as_deref().map(|e| ForwardKl::of(e, &log_q_arm)),
        reverse_kl_mam_own_samples: own_kl(&conditional_drawn),
        reverse_kl_mam_marginal_scored,
        reverse_kl_arm_own_samples: own_kl(&arm_drawn),
        ground_truth: truth,
        exact_moments: moments,
        ground_truth_z_exact: moments.map(|e| truth.z_scores_exact(&e)),
        mam_conditional_sampler: AgainstTruth::of(model, &by_conditional, &truth, moments.as_ref()),
        mam_marginal_sampler: AgainstTruth::of(model, &by_marginals, &truth, moments.as_ref()),
        arm_sampler: AgainstTruth::of(model, &arm_samples, &truth, moments.as_ref()),
        exact_kl_mam: exact.as_ref().map(|e| exact_kl_mam(nets, e)),
        exact_kl_arm: exact.as_ref().map(|e| exact_kl_arm(arm, e, seed)),
        mean_abs_error_mam: exact
            .as_ref()
            .map(|e| against_exact(nets, e, 1000, seed).mean_abs_error),
        mean_abs_error_arm: exact
            .as_ref()
            .map(|e| arm_against_exact(arm, e, 1000, seed).mean_abs_error),
        marginals_against_transfer: (exact.is_none() && exact_queries > 0)
            .then(|| against_transfer(model, nets, arm, &truth_samples, exact_queries, seed).ok())
            .flatten(),
    }
}

/// log p_theta(x) of full configurations by MaM's marginal network, one batched pass.
fn log_marginals_of_full(nets: &MamNets, samples: &[Vec<i8>]) -> Vec<f64> {
    let mut x = Vec::with_capacity(samples.len() * CLASSES * nets.sites());
    for s in samples {
        encode_masked_into(s, |_| true, &mut x);
    }
    nets.log_marginals_encoded(&x, samples.len())
}

/// Exact samples by inverting the CDF of every state's probability.
fn exact_samples(exact: &Exact, count: usize, rng: &mut SplitMix64) -> Vec<Vec<i8>> {
    let d = exact.model.sites();
    let mut acc = 0.0;
    let cumulative: Vec<f64> = exact
        .log_f
        .iter()
        .map(|lf| {
            acc += (lf - exact.log_z).exp();
            acc
        })
        .collect();
    (0..count)
        .map(|_| {
            let u = rng.next_f64() * acc;
            let s = cumulative
                .partition_point(|&c| c < u)
                .min(cumulative.len() - 1);
            super::ising::spins_of(s, d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::mam::ising::{Exact, log_z_transfer};

    /// The forward-KL figure on exact samples of a 3x3 target: the target itself reads zero
    /// within noise, a normalised but wrong model (independent spins) reads above zero, and a
    /// model whose log p is the target's plus 0.3 nats (mass e^0.3 in all) is flagged as not
    /// normalised, though its NLL is the best of the three.
    #[test]
    fn forward_kl_flags_a_model_that_is_not_normalised() {
        let model = Ising::new(3, 0.1, 0.2).expect("valid");
        let exact = Exact::new(model).expect("small");
        let samples = exact_samples(&exact, 4000, &mut SplitMix64::new(3));
        let log_z = log_z_transfer(&model).expect("small");
        let log_p: Vec<f64> = samples.iter().map(|x| model.log_f(x) - log_z).collect();
        // Independent spins, each up with probability sigmoid(2 h): normalised, but no coupling.
        let (up, down) = (1.0 / (1.0 + (-0.4f64).exp()), 1.0 / (1.0 + 0.4f64.exp()));
        let independent: Vec<f64> = samples
            .iter()
            .map(|x| {
                x.iter()
                    .map(|&s| if s > 0 { up.ln() } else { down.ln() })
                    .sum()
            })
            .collect();
        let inflated: Vec<f64> = log_p.iter().map(|l| l + 0.3).collect();
        let itself = ForwardKl::of(&log_p, &log_p);
        let wrong = ForwardKl::of(&log_p, &independent);
        let unnormalised = ForwardKl::of(&log_p, &inflated);
        assert!(
            itself.nats.abs() < 1e-12 && !itself.unnormalised,
            "{itself:?}"
        );
        assert!(
            wrong.nats > 2.0 * wrong.se && !wrong.unnormalised,
            "{wrong:?}"
        );
        assert!(
            (unnormalised.nats + 0.3).abs() < 1e-9 && unnormalised.unnormalised,
            "{unnormalised:?}"
        );
    }

    /// Ground truth against exact enumeration on 4x4: the statistics agree within their
    /// standard errors, and the NLL under the exact log p is the exact entropy within noise.
    #[test]
    fn gibbs_ground_truth_matches_exact_statistics() {
        let model = Ising::new(4, 0.1, 0.2).expect("valid");
        let exact = Exact::new(model).expect("small");
        let samples = gibbs_ground_truth(&model, 3000, 50, 1);
        let stats = SampleStats::of(&model, &samples);
        // Exact expectations by enumeration.
        let d = 16.0;
        let (mut m, mut c, mut entropy) = (0.0, 0.0, 0.0);
        for (s, lf) in exact.log_f.iter().enumerate() {
            let x = crate::labs::mam::ising::spins_of(s, 16);
            let p = (lf - exact.log_z).exp();
            m += p * x.iter().map(|&v| f64::from(v)).sum::<f64>() / d;
            let one = SampleStats::of(&model, std::slice::from_ref(&x));
            c += p * one.neighbour_correlation;
            entropy -= p * (lf - exact.log_z);
        }
        assert!(
            (stats.magnetisation - m).abs() < 3.0 * stats.magnetisation_se,
            "{stats:?} vs {m}"
        );
        assert!(
            (stats.neighbour_correlation - c).abs() < 3.0 * stats.neighbour_correlation_se,
            "{stats:?} vs {c}"
        );
        let log_z = log_z_transfer(&model).expect("small");
        let log_p: Vec<f64> = samples.iter().map(|x| model.log_f(x) - log_z).collect();
        let h = mean_nll(&log_p);
        assert!((h - entropy).abs() < 0.15, "{h} vs {entropy}");
        // Standard errors shrink as 1/sqrt(n) and z-scores of a set against itself are 0.
        assert!(stats.magnetisation_se > 0.0 && stats.magnetisation_se < 0.01);
        assert_eq!(stats.z_scores(&stats), (0.0, 0.0));
    }
}
