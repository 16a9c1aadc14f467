//! The two MaM networks on the shared MLP core (`crate::nn`):
//!
//! - the **marginal** network g: a partial assignment (each site one of unknown / -1 / +1,
//!   one-hot, 3 inputs per site as in the reference code) to one number;
//!   log p(x_S) = g(x_S) - g(all unknown), so the all-unknown input is pinned to log p = 0;
//! - the **conditional** network: the same input to D logits z_i, with
//!   p(x_i = +1 | x_S) = sigmoid(z_i) for every site in one pass (K = 2 values, so one logit per
//!   site carries what the reference code's two does).
//!
//! Queries: a marginal is one pass of g; the autoregressive route sums log p(x_i | earlier
//! observed sites) over the observed sites in some order — |S| passes of the conditional net.

use super::partial::{Partial, Site};
use crate::nn::{Activation, Mlp, MlpSpec};
use crate::rng::SplitMix64;

/// Inputs per site: unknown, down, up.
pub const CLASSES: usize = 3;

/// One-hot class of a site: 0 unknown, 1 down, 2 up.
fn class_of(site: Site) -> usize {
    match site {
        Site::Unknown => 0,
        Site::Down => 1,
        Site::Up => 2,
    }
}

fn site_of_spin(spin: i8) -> Site {
    if spin > 0 { Site::Up } else { Site::Down }
}

/// Appends the one-hot encoding of `sites` (3 values per site) to `out`.
pub fn encode_into(sites: &[Site], out: &mut Vec<f32>) {
    for &site in sites {
        let mut one_hot = [0.0f32; CLASSES];
        one_hot[class_of(site)] = 1.0;
        out.extend_from_slice(&one_hot);
    }
}

/// Appends the encoding of full `spins` with only the sites where `observed` holds known.
pub fn encode_masked_into(spins: &[i8], observed: impl Fn(usize) -> bool, out: &mut Vec<f32>) {
    for (i, &spin) in spins.iter().enumerate() {
        let site = if observed(i) {
            site_of_spin(spin)
        } else {
            Site::Unknown
        };
        let mut one_hot = [0.0f32; CLASSES];
        one_hot[class_of(site)] = 1.0;
        out.extend_from_slice(&one_hot);
    }
}

/// log sigmoid(z), stable for large |z|.
pub fn log_sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        -(-z).exp().ln_1p()
    } else {
        z - z.exp().ln_1p()
    }
}

pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// log p(x_i = spin | ...) from the conditional logit z_i.
pub fn log_conditional(z: f64, spin: i8) -> f64 {
    log_sigmoid(if spin > 0 { z } else { -z })
}

#[derive(Clone, Debug, PartialEq)]
pub struct MamNets {
    /// Lattice side L; D = L^2 sites.
    pub size: usize,
    pub marginal: Mlp,
    pub conditional: Mlp,
    /// g(all unknown), kept current by [`Self::refresh`] so a query is a single pass.
    empty_output: f64,
}

impl MamNets {
    /// Fresh networks for an L x L lattice with the given hidden widths, seeded.
    pub fn new(size: usize, hidden: &[usize], seed: u64) -> Self {
        Self::new_with(size, hidden, false, seed)
    }

    /// `new`, with residual connections between the hidden layers or not (the reference's
    /// `MLPResDual` has them: two `MLPRes` networks).
    pub fn new_with(size: usize, hidden: &[usize], residual: bool, seed: u64) -> Self {
        let d = size * size;
        let spec = |outputs| MlpSpec {
            inputs: CLASSES * d,
            hidden: hidden.to_vec(),
            outputs,
            activation: Activation::LeakyRelu { slope: 0.01 },
            residual,
        };
        let mut nets = Self {
            size,
            marginal: Mlp::new(spec(1), seed),
            conditional: Mlp::new(spec(d), seed ^ 0x5eed_c0de),
            empty_output: 0.0,
        };
        nets.refresh();
        nets
    }

    /// Wraps loaded networks, checking that they fit an L x L lattice.
    pub fn from_parts(size: usize, marginal: Mlp, conditional: Mlp) -> Result<Self, String> {
        let d = size * size;
        if marginal.spec.inputs != CLASSES * d || marginal.spec.outputs != 1 {
            return Err(format!(
                "the marginal network has {} inputs and {} outputs; a {size}x{size} lattice needs {} and 1",
                marginal.spec.inputs,
                marginal.spec.outputs,
                CLASSES * d
            ));
        }
        if conditional.spec.inputs != CLASSES * d || conditional.spec.outputs != d {
            return Err(format!(
                "the conditional network has {} inputs and {} outputs; a {size}x{size} lattice needs {} and {d}",
                conditional.spec.inputs,
                conditional.spec.outputs,
                CLASSES * d
            ));
        }
        let mut nets = Self {
            size,
            marginal,
            conditional,
            empty_output: 0.0,
        };
        nets.refresh();
        Ok(nets)
    }

    pub fn sites(&self) -> usize {
        self.size * self.size
    }

    /// Both networks with every parameter rounded through f16 (what a weights file holds).
    pub fn rounded_to_f16(&self) -> Self {
        let mut out = self.clone();
        out.marginal = self.marginal.rounded_to_f16();
        out.conditional = self.conditional.rounded_to_f16();
        out.refresh();
        out
    }

    /// Recomputes g(all unknown); call after the marginal network changed.
    pub fn refresh(&mut self) {
        let mut x = Vec::with_capacity(CLASSES * self.sites());
        encode_into(&Partial::unknown(self.sites()).sites, &mut x);
        self.empty_output = f64::from(self.marginal.predict(&x, 1)[0]);
    }

    /// g(all unknown): the network's own log normaliser.
    pub fn empty_output(&self) -> f64 {
        self.empty_output
    }

    /// log p(x_S) for `batch` encoded partial assignments: one pass of the marginal network.
    pub fn log_marginals_encoded(&self, encoded: &[f32], batch: usize) -> Vec<f64> {
        self.marginal
            .predict(encoded, batch)
            .iter()
            .map(|&g| f64::from(g) - self.empty_output)
            .collect()
    }

    /// log p(x_S) in nats by MaM: one network evaluation.
    pub fn log_marginal(&self, p: &Partial) -> f64 {
        let mut x = Vec::with_capacity(CLASSES * self.sites());
        encode_into(&p.sites, &mut x);
        self.log_marginals_encoded(&x, 1)[0]
    }

    /// The conditional logits z_i for every site given `p`: one pass.
    pub fn conditional_logits(&self, p: &Partial) -> Vec<f64> {
        super::arm::conditional_logits(&self.conditional, p)
    }

    /// p(x_i = +1 | x_S) for every site from the conditional network (one pass); observed
    /// sites get their own value (1 or 0).
    pub fn conditionals_up(&self, p: &Partial) -> Vec<f64> {
        let logits = self.conditional_logits(p);
        p.sites
            .iter()
            .zip(logits)
            .map(|(s, z)| match s.spin() {
                Some(v) => f64::from(u8::from(v > 0)),
                None => sigmoid(z),
            })
            .collect()
    }

    /// The D + 1 partial assignments whose marginals give the heat map by the marginal network:
    /// `p` itself, then `p` with site i set to +1 (unchanged where i is observed).
    pub fn heat_map_queries(p: &Partial) -> Vec<Partial> {
        let mut queries = vec![p.clone()];
        for i in 0..p.sites.len() {
            let mut q = p.clone();
            if q.sites[i] == Site::Unknown {
                q.sites[i] = Site::Up;
            }
            queries.push(q);
        }
        queries
    }

    /// p(x_i = +1 | x_S) = p(x_S, x_i = +1) / p(x_S) from the D + 1 log-marginals of
    /// [`Self::heat_map_queries`] (observed sites: their own value).
    pub fn heat_map_from_marginals(p: &Partial, log_marginals: &[f64]) -> Vec<f64> {
        let base = log_marginals.first().copied().unwrap_or(0.0);
        p.sites
            .iter()
            .enumerate()
            .map(|(i, s)| match s.spin() {
                Some(v) => f64::from(u8::from(v > 0)),
                None => (log_marginals.get(i + 1).copied().unwrap_or(base) - base)
                    .exp()
                    .clamp(0.0, 1.0),
            })
            .collect()
    }

    /// The heat map by the marginal network, one batch of D + 1 queries in one pass.
    pub fn heat_map_by_marginals(&self, p: &Partial) -> Vec<f64> {
        let queries = Self::heat_map_queries(p);
        let mut x = Vec::with_capacity(queries.len() * CLASSES * self.sites());
        for q in &queries {
            encode_into(&q.sites, &mut x);
        }
        Self::heat_map_from_marginals(p, &self.log_marginals_encoded(&x, queries.len()))
    }

    /// log p(x_S) by the autoregressive route through MaM's own conditional network: one pass
    /// per observed site (see [`super::arm::log_marginal`]).
    pub fn log_marginal_arm(&self, p: &Partial, order: &[usize]) -> f64 {
        super::arm::log_marginal(&self.conditional, p, order)
    }

    /// The same with the |S| prefixes batched into one pass.
    pub fn log_marginal_arm_batched(&self, p: &Partial, order: &[usize]) -> f64 {
        super::arm::log_marginal_batched(&self.conditional, p, order)
    }

    /// Any-order sampling from the conditional network: one pass per site.
    pub fn sample_in_order(
        &self,
        start: &Partial,
        order: &[usize],
        rng: &mut SplitMix64,
    ) -> Vec<(usize, i8, f64)> {
        super::arm::sample_in_order(&self.conditional, start, order, rng)
    }

    /// Any-order sampling from the normalised ratio of marginals:
    /// p(x_i = +1 | x_S) = p(x_S, +1) / (p(x_S, +1) + p(x_S, -1)), one marginal pass of two
    /// rows per site.
    pub fn sample_in_order_by_marginals(
        &self,
        start: &Partial,
        order: &[usize],
        rng: &mut SplitMix64,
    ) -> Vec<(usize, i8, f64)> {
        let mut x = Vec::with_capacity(2 * CLASSES * self.sites());
        super::arm::sample_with(start, order, rng, |current, i| {
            x.clear();
            current.sites[i] = Site::Up;
            encode_into(&current.sites, &mut x);
            current.sites[i] = Site::Down;
            encode_into(&current.sites, &mut x);
            current.sites[i] = Site::Unknown;
            let g = self.marginal.predict(&x, 2);
            sigmoid(f64::from(g[0]) - f64::from(g[1]))
        })
    }

    /// Any-order sampling with the chosen network.
    pub fn sample(
        &self,
        sampler: super::settings::Sampler,
        start: &Partial,
        order: &[usize],
        rng: &mut SplitMix64,
    ) -> Vec<(usize, i8, f64)> {
        match sampler {
            super::settings::Sampler::Conditional => self.sample_in_order(start, order, rng),
            super::settings::Sampler::Marginals => {
                self.sample_in_order_by_marginals(start, order, rng)
            }
        }
    }
}

/// `order` restricted to valid, first-seen sites, followed by the sites it missed.
pub fn full_order(order: &[usize], d: usize) -> Vec<usize> {
    let mut seen = vec![false; d];
    let mut out = Vec::with_capacity(d);
    for &i in order.iter().chain(&(0..d).collect::<Vec<_>>()) {
        if i < d && !seen[i] {
            seen[i] = true;
            out.push(i);
        }
    }
    out
}

/// The observed sites of `p` in the order given by `order` (completed by [`full_order`]).
pub fn observed_in_order(p: &Partial, order: &[usize]) -> Vec<usize> {
    full_order(order, p.sites.len())
        .into_iter()
        .filter(|&i| p.sites[i] != Site::Unknown)
        .collect()
}

/// A uniformly random permutation of 0..d.
pub fn random_order(d: usize, rng: &mut SplitMix64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..d).collect();
    for i in (1..d).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_one_hot_per_site() {
        let p = Partial {
            sites: vec![Site::Unknown, Site::Down, Site::Up],
        };
        let mut x = Vec::new();
        encode_into(&p.sites, &mut x);
        assert_eq!(x, vec![1., 0., 0., 0., 1., 0., 0., 0., 1.]);
        let mut y = Vec::new();
        encode_masked_into(&[1, -1, 1], |i| i != 0, &mut y);
        assert_eq!(x, y);
    }

    #[test]
    fn all_unknown_is_pinned_to_zero_and_heat_maps_agree_in_form() {
        let nets = MamNets::new(3, &[16], 4);
        assert_eq!(nets.log_marginal(&Partial::unknown(9)), 0.0);
        // The ARM route of the empty assignment is an empty sum.
        assert_eq!(nets.log_marginal_arm(&Partial::unknown(9), &[]), 0.0);
        let mut p = Partial::unknown(9);
        p.sites[2] = Site::Up;
        p.sites[4] = Site::Down;
        let heat = nets.heat_map_by_marginals(&p);
        assert_eq!((heat[2], heat[4]), (1.0, 0.0));
        assert!(heat.iter().all(|v| (0.0..=1.0).contains(v)));
        let logits = nets.conditional_logits(&p);
        assert_eq!(logits.len(), 9);
    }

    #[test]
    fn arm_route_sums_conditionals_in_the_given_order() {
        let nets = MamNets::new(2, &[8], 1);
        let mut p = Partial::unknown(4);
        p.sites[3] = Site::Up;
        p.sites[1] = Site::Down;
        let z_first = nets.conditional_logits(&Partial::unknown(4))[3];
        let mut after = Partial::unknown(4);
        after.sites[3] = Site::Up;
        let z_second = nets.conditional_logits(&after)[1];
        let expected = log_conditional(z_first, 1) + log_conditional(z_second, -1);
        assert!((nets.log_marginal_arm(&p, &[3, 0, 1]) - expected).abs() < 1e-12);
        assert!((nets.log_marginal_arm_batched(&p, &[3, 0, 1]) - expected).abs() < 1e-6);
    }

    #[test]
    fn orders_are_completed_and_cleaned() {
        assert_eq!(full_order(&[2, 2, 9, 0], 4), vec![2, 0, 1, 3]);
        let mut rng = SplitMix64::new(3);
        let mut o = random_order(10, &mut rng);
        o.sort_unstable();
        assert_eq!(o, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn sampling_fills_every_unknown_site_once() {
        let nets = MamNets::new(3, &[8], 2);
        let mut start = Partial::unknown(9);
        start.sites[5] = Site::Up;
        let steps = nets.sample_in_order(&start, &[8, 7], &mut SplitMix64::new(1));
        assert_eq!(steps.len(), 8);
        assert_eq!((steps[0].0, steps[1].0), (8, 7));
        assert!(
            steps
                .iter()
                .all(|&(i, s, p)| i != 5 && s.abs() == 1 && (0.0..=1.0).contains(&p))
        );
        let by_marginals =
            nets.sample_in_order_by_marginals(&start, &[8, 7], &mut SplitMix64::new(1));
        assert_eq!(by_marginals.len(), 8);
        assert_eq!(by_marginals[0].0, 8);
    }

    #[test]
    fn log_sigmoid_is_stable() {
        assert!((log_sigmoid(0.0) - 0.5f64.ln()).abs() < 1e-15);
        assert!(log_sigmoid(800.0).abs() < 1e-300 && log_sigmoid(-800.0) == -800.0);
        assert!(
            (log_conditional(1.3, 1).exp() + log_conditional(1.3, -1).exp() - 1.0).abs() < 1e-12
        );
    }
}
