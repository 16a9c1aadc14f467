//! The Ising target: spins x in {-1, +1}^D on an L x L periodic lattice,
//! log f(x) = J * sum over the 2 L^2 nearest-neighbour edges of x_i x_j + h * sum_i x_i,
//! each site's right and down neighbour once (on L = 2 the wrap-around makes the two edges
//! between a pair both count, as the formula says). Exact log Z and exact log-marginals by
//! enumerating the 2^D states for L <= 4; a Gibbs sampler for any L.

use super::partial::Partial;
use crate::rng::SplitMix64;

pub const MIN_SIZE: usize = 2;
pub const MAX_SIZE: usize = 16;
/// Largest lattice side with exact enumeration (2^16 states).
pub const MAX_EXACT_SIZE: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ising {
    pub size: usize,
    pub coupling: f64,
    pub field: f64,
}

impl Ising {
    pub fn new(size: usize, coupling: f64, field: f64) -> Result<Self, String> {
        if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
            return Err(format!(
                "lattice side {size}: {MIN_SIZE} to {MAX_SIZE} is supported"
            ));
        }
        if !coupling.is_finite() || !field.is_finite() {
            return Err("coupling and field must be finite numbers".to_owned());
        }
        Ok(Self {
            size,
            coupling,
            field,
        })
    }

    pub fn sites(&self) -> usize {
        self.size * self.size
    }

    /// The right and down neighbours of site i (row-major), with wrap-around.
    pub fn forward_neighbours(&self, i: usize) -> [usize; 2] {
        let l = self.size;
        let (r, c) = (i / l, i % l);
        [r * l + (c + 1) % l, ((r + 1) % l) * l + c]
    }

    /// All four neighbours of site i (with repeats on L = 2, where left = right).
    pub fn neighbours(&self, i: usize) -> [usize; 4] {
        let l = self.size;
        let (r, c) = (i / l, i % l);
        [
            r * l + (c + 1) % l,
            r * l + (c + l - 1) % l,
            ((r + 1) % l) * l + c,
            ((r + l - 1) % l) * l + c,
        ]
    }

    /// log f(x), unnormalised.
    pub fn log_f(&self, spins: &[i8]) -> f64 {
        let mut pairs = 0i64;
        let mut total = 0i64;
        for (i, &s) in spins.iter().enumerate() {
            let [right, down] = self.forward_neighbours(i);
            pairs += i64::from(s) * i64::from(spins[right] + spins[down]);
            total += i64::from(s);
        }
        self.coupling * pairs as f64 + self.field * total as f64
    }

    /// log f(x) - log f(x with site i flipped) = 2 x_i (J * sum of the 4 neighbours + h): the
    /// local field a Gibbs update needs.
    pub fn flip_gain(&self, spins: &[i8], i: usize) -> f64 {
        let neighbour_sum: i64 = self
            .neighbours(i)
            .iter()
            .map(|&j| i64::from(spins[j]))
            .sum();
        2.0 * f64::from(spins[i]) * (self.coupling * neighbour_sum as f64 + self.field)
    }
}

/// Spins of state `index` (bit i set = site i up).
pub fn spins_of(index: usize, d: usize) -> Vec<i8> {
    (0..d)
        .map(|i| if (index >> i) & 1 == 1 { 1 } else { -1 })
        .collect()
}

/// log(sum exp(values)), stable; -inf for no values.
pub fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + values.map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// Every state's log f, for exact answers on small lattices.
pub struct Exact {
    pub model: Ising,
    pub log_f: Vec<f64>,
    pub log_z: f64,
}

impl Exact {
    pub fn new(model: Ising) -> Result<Self, String> {
        if model.size > MAX_EXACT_SIZE {
            return Err(format!(
                "exact values need L <= {MAX_EXACT_SIZE} (2^{} states); L = {}",
                MAX_EXACT_SIZE * MAX_EXACT_SIZE,
                model.size
            ));
        }
        let d = model.sites();
        let log_f: Vec<f64> = (0..1usize << d)
            .map(|s| model.log_f(&spins_of(s, d)))
            .collect();
        let log_z = log_sum_exp(log_f.iter().copied());
        Ok(Self {
            model,
            log_f,
            log_z,
        })
    }

    /// log p(x_S) in nats: the log-sum of the consistent states minus log Z.
    pub fn log_marginal(&self, p: &Partial) -> f64 {
        let (mut care, mut want) = (0usize, 0usize);
        for (i, v) in p.observed() {
            care |= 1 << i;
            if v == 1 {
                want |= 1 << i;
            }
        }
        let consistent = (0..self.log_f.len())
            .filter(|s| s & care == want)
            .map(|s| self.log_f[s]);
        log_sum_exp(consistent) - self.log_z
    }

    /// p(x_i = +1 | x_S) for every site (observed sites give 1 or 0).
    pub fn conditionals_up(&self, p: &Partial) -> Vec<f64> {
        let base = self.log_marginal(p);
        (0..self.model.sites())
            .map(|i| match p.sites[i].spin() {
                Some(v) => f64::from(u8::from(v == 1)),
                None => {
                    let mut with = p.clone();
                    with.sites[i] = super::partial::Site::Up;
                    (self.log_marginal(&with) - base).exp()
                }
            })
            .collect()
    }
}

/// Largest lattice side whose log Z the transfer matrix gives (a 2^L x 2^L matrix power).
pub const MAX_TRANSFER_SIZE: usize = 8;

/// Exact log Z by the row-to-row transfer matrix: Z = tr(M^L) with
/// M[s, t] = exp(w(s) + J s.t), w(s) the row's own edges and field. For L <= 8 (256 x 256);
/// the matrix is rescaled after every product so nothing overflows for any J, h.
pub fn log_z_transfer(model: &Ising) -> Result<f64, String> {
    let l = model.size;
    if l > MAX_TRANSFER_SIZE {
        return Err(format!(
            "exact log Z needs L <= {MAX_TRANSFER_SIZE}; L = {l}"
        ));
    }
    let n = 1usize << l;
    let row = |s: usize| spins_of(s, l);
    let rows: Vec<Vec<i8>> = (0..n).map(row).collect();
    let mut log_m = vec![0.0f64; n * n];
    for (s, a) in rows.iter().enumerate() {
        let within: i64 = (0..l).map(|c| i64::from(a[c] * a[(c + 1) % l])).sum();
        let total: i64 = a.iter().map(|&v| i64::from(v)).sum();
        let w = model.coupling * within as f64 + model.field * total as f64;
        for (t, b) in rows.iter().enumerate() {
            let between: i64 = a.iter().zip(b).map(|(&x, &y)| i64::from(x * y)).sum();
            log_m[s * n + t] = w + model.coupling * between as f64;
        }
    }
    let top = log_m.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let m: Vec<f64> = log_m.iter().map(|v| (v - top).exp()).collect();
    // power = M^k / exp(log_scale)
    let mut power = m.clone();
    let mut log_scale = top;
    for _ in 1..l {
        let mut next = vec![0.0f64; n * n];
        for i in 0..n {
            for k in 0..n {
                let a = power[i * n + k];
                if a == 0.0 {
                    continue;
                }
                let (src, dst) = (&m[k * n..(k + 1) * n], &mut next[i * n..(i + 1) * n]);
                for (d, &b) in dst.iter_mut().zip(src) {
                    *d += a * b;
                }
            }
        }
        let big = next.iter().copied().fold(0.0f64, f64::max);
        if big <= 0.0 || !big.is_finite() {
            return Err("the transfer matrix power vanished or overflowed".to_owned());
        }
        next.iter_mut().for_each(|v| *v /= big);
        log_scale += top + big.ln();
        power = next;
    }
    let trace: f64 = (0..n).map(|i| power[i * n + i]).sum();
    Ok(log_scale + trace.ln())
}

/// A Gibbs sampler: `sweeps` passes over the sites in order from a random start.
pub fn gibbs_sample(model: &Ising, sweeps: usize, rng: &mut SplitMix64) -> Vec<i8> {
    let d = model.sites();
    let mut spins: Vec<i8> = (0..d)
        .map(|_| if rng.below(2) == 1 { 1 } else { -1 })
        .collect();
    for _ in 0..sweeps {
        for i in 0..d {
            // P(x_i = +1 | rest) = sigmoid(2 (J * neighbour sum + h)).
            spins[i] = 1;
            let up_gain = model.flip_gain(&spins, i);
            let p_up = 1.0 / (1.0 + (-up_gain).exp());
            spins[i] = if rng.next_f64() < p_up { 1 } else { -1 };
        }
    }
    spins
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::mam::partial::Site;

    #[test]
    fn energy_counts_each_forward_edge_once() {
        let m = Ising::new(3, 0.1, 0.2).expect("valid");
        // All up: 2 L^2 = 18 edges, 9 sites.
        assert!((m.log_f(&[1; 9]) - (0.1 * 18.0 + 0.2 * 9.0)).abs() < 1e-12);
        // One site down flips its 4 edges and its field term.
        let mut one = [1i8; 9];
        one[4] = -1;
        assert!((m.log_f(&one) - (0.1 * (18.0 - 8.0) + 0.2 * 7.0)).abs() < 1e-12);
        assert!((m.log_f(&[1; 9]) - m.log_f(&one) - m.flip_gain(&[1; 9], 4)).abs() < 1e-12);
        assert!(Ising::new(1, 0.1, 0.2).is_err() && Ising::new(17, 0.1, 0.2).is_err());
        assert!(Ising::new(4, f64::NAN, 0.2).is_err());
    }

    #[test]
    fn exact_marginals_are_consistent_probabilities() {
        let m = Ising::new(3, 0.3, -0.2).expect("valid");
        let e = Exact::new(m).expect("small");
        assert!(e.log_marginal(&Partial::unknown(9)).abs() < 1e-12);
        // Marginalising one site: p(x_S) = p(x_S, x_i = +1) + p(x_S, x_i = -1).
        let mut p = Partial::unknown(9);
        p.sites[0] = Site::Up;
        p.sites[5] = Site::Down;
        let (mut up, mut down) = (p.clone(), p.clone());
        up.sites[7] = Site::Up;
        down.sites[7] = Site::Down;
        let sum = e.log_marginal(&up).exp() + e.log_marginal(&down).exp();
        assert!((sum - e.log_marginal(&p).exp()).abs() < 1e-12);
        let c = e.conditionals_up(&p);
        assert_eq!((c[0], c[5]), (1.0, 0.0));
        assert!((c[7] - e.log_marginal(&up).exp() / e.log_marginal(&p).exp()).abs() < 1e-12);
        // The field favours down here: the all-down state beats all-up.
        assert!(e.log_f[0] > e.log_f[(1 << 9) - 1]);
        assert!(Exact::new(Ising::new(5, 0.1, 0.2).expect("valid")).is_err());
    }

    #[test]
    fn two_by_two_matches_a_hand_count() {
        // L = 2: each pair is joined by two edges. With J = 0, log Z = 4 log(2 cosh h).
        let e = Exact::new(Ising::new(2, 0.0, 0.5).expect("valid")).expect("small");
        assert!((e.log_z - 4.0 * (2.0 * 0.5f64.cosh()).ln()).abs() < 1e-12);
        // With h = 0 and J: all-up has 8 aligned edges.
        let m = Ising::new(2, 0.25, 0.0).expect("valid");
        assert!((m.log_f(&[1, 1, 1, 1]) - 0.25 * 8.0).abs() < 1e-12);
    }

    #[test]
    fn transfer_matrix_log_z_matches_enumeration() {
        for (l, j, h) in [(2, 0.3, 0.1), (3, 0.1, 0.2), (4, -0.4, 0.7), (4, 1.5, -2.0)] {
            let m = Ising::new(l, j, h).expect("valid");
            let exact = Exact::new(m).expect("small").log_z;
            let transfer = log_z_transfer(&m).expect("small");
            assert!(
                (exact - transfer).abs() < 1e-9,
                "L={l}: {exact} vs {transfer}"
            );
        }
        // 8x8 at J = 0: D log(2 cosh h), and a strong field with no overflow.
        let free = log_z_transfer(&Ising::new(8, 0.0, 0.3).expect("valid")).expect("fits");
        assert!((free - 64.0 * (2.0 * 0.3f64.cosh()).ln()).abs() < 1e-9);
        let strong = log_z_transfer(&Ising::new(8, 5.0, 5.0).expect("valid")).expect("fits");
        assert!(
            (strong - (5.0 * 128.0 + 5.0 * 64.0)).abs() < 1e-6,
            "{strong}"
        );
        assert!(log_z_transfer(&Ising::new(9, 0.1, 0.2).expect("valid")).is_err());
    }

    #[test]
    fn gibbs_samples_match_the_exact_magnetisation() {
        let m = Ising::new(3, 0.2, 0.3).expect("valid");
        let e = Exact::new(m).expect("small");
        let exact_up: f64 = e.conditionals_up(&Partial::unknown(9)).iter().sum::<f64>() / 9.0;
        let mut rng = SplitMix64::new(5);
        let n = 4000;
        let mut up = 0usize;
        for _ in 0..n {
            up += gibbs_sample(&m, 20, &mut rng)
                .iter()
                .filter(|&&s| s == 1)
                .count();
        }
        let sampled = up as f64 / (9 * n) as f64;
        // Standard error about 0.005 (correlated sites): 0.03 is a loose, still failing bound.
        assert!((sampled - exact_up).abs() < 0.03, "{sampled} vs {exact_up}");
    }
}
