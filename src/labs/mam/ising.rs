//! The Ising target of the paper's reference code (`LatticeIsingModel.forward` in
//! PrincetonLIPS/MaM): spins x in {-1, +1}^D on an L x L periodic lattice,
//! log f(x) = x^T (J A) x + h * sum_i x_i with A the lattice's symmetric adjacency, so each of
//! the 2 L^2 nearest-neighbour edges contributes 2 J x_i x_j (the quadratic form visits it from
//! both ends). Sites are walked by their right and down neighbour, each edge once with weight
//! 2 J (on L = 2 the wrap-around joins a pair by two edges, and both count). The paper's target
//! is J = 0.1 (the config's `sigma`), h = 0.2 (`bias`). Exact log Z and exact log-marginals by
//! enumerating the 2^D states for L <= 4, log Z by a transfer matrix for L <= 10; a Gibbs
//! sampler for any L.

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

    /// What one aligned edge adds to log f: 2 J (see the module comment).
    pub fn edge_weight(&self) -> f64 {
        2.0 * self.coupling
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
        self.edge_weight() * pairs as f64 + self.field * total as f64
    }

    /// log f(x) - log f(x with site i flipped) = 2 x_i (2 J * sum of the 4 neighbours + h):
    /// the local field a Gibbs update needs.
    pub fn flip_gain(&self, spins: &[i8], i: usize) -> f64 {
        let neighbour_sum: i64 = self
            .neighbours(i)
            .iter()
            .map(|&j| i64::from(spins[j]))
            .sum();
        2.0 * f64::from(spins[i]) * (self.edge_weight() * neighbour_sum as f64 + self.field)
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

/// Largest lattice side whose log Z [`log_z_transfer`] gives (the paper's 10x10 in about a
/// second natively).
pub const MAX_TRANSFER_SIZE: usize = 10;

/// Exact log Z by a site-by-site transfer matrix: fix the first row s0 (2^L choices), add the
/// other rows one site at a time, carrying the weights of the 2^L possible "frontiers" (the
/// last L sites placed), then close the vertical wrap-around against s0. Each site costs
/// 2 * 2^L updates, so L = 10 is 2^10 * 90 * 2^11 multiply-adds instead of the 2^30 of one
/// 2^L x 2^L matrix product. Weights are rescaled after every site, so nothing overflows for
/// any J, h.
pub fn log_z_transfer(model: &Ising) -> Result<f64, String> {
    let mut run = TransferLogZ::new(model)?;
    run_to_end(|| run.step())
}

/// Steps one of the resumable jobs below until it yields its result (the CLI's and the
/// bench's blocking use of what the page spreads over frames).
fn run_to_end<T>(mut step: impl FnMut() -> Result<Option<T>, String>) -> Result<T, String> {
    loop {
        if let Some(result) = step()? {
            return Ok(result);
        }
    }
}

/// [`log_z_transfer`] one first-row state at a time, so that the page can spread L = 10's
/// 2^10 states (about a second in all) over frames.
pub struct TransferLogZ {
    model: Ising,
    /// Per site: `Some(spin)` for an observed site (the sum then runs over the configurations
    /// that agree with it: log Z(x_S) = log Z + log p(x_S)), `None` for a free one.
    clamp: Vec<Option<i8>>,
    /// exp(x (k m + h)) for the new spin x (index 0: -1, 1: +1) and the sum m (-3..=3) of its
    /// placed neighbours.
    table: [[f64; 7]; 2],
    next_first_row: usize,
    per_first_row: Vec<f64>,
    weights: Vec<f64>,
    next: Vec<f64>,
}

fn spin_of(state: usize, c: usize) -> i32 {
    if (state >> c) & 1 == 1 { 1 } else { -1 }
}

impl TransferLogZ {
    pub fn new(model: &Ising) -> Result<Self, String> {
        Self::clamped(model, vec![None; model.sites()])
    }

    /// The sum over the configurations that agree with `clamp` (one entry per site).
    pub fn clamped(model: &Ising, clamp: Vec<Option<i8>>) -> Result<Self, String> {
        let l = model.size;
        if clamp.len() != model.sites() {
            return Err(format!(
                "{} clamped sites for {} sites",
                clamp.len(),
                model.sites()
            ));
        }
        if l > MAX_TRANSFER_SIZE {
            return Err(format!(
                "exact log Z needs L <= {MAX_TRANSFER_SIZE}; L = {l}"
            ));
        }
        let n = 1usize << l;
        let (k, h) = (model.edge_weight(), model.field);
        let factor = |x: f64, m: i32| (x * (k * f64::from(m) + h)).exp();
        Ok(Self {
            model: *model,
            clamp,
            table: [-1.0, 1.0].map(|x| std::array::from_fn(|m| factor(x, m as i32 - 3))),
            next_first_row: 0,
            per_first_row: Vec::with_capacity(n),
            weights: vec![0.0; n],
            next: vec![0.0; n],
        })
    }

    /// Adds one first-row state; returns log Z once the last one is in.
    pub fn step(&mut self) -> Result<Option<f64>, String> {
        let l = self.model.size;
        let n = 1usize << l;
        if self.next_first_row < n {
            let s0 = self.next_first_row;
            let agrees =
                (0..l).all(|c| self.clamp[c].is_none_or(|v| i32::from(v) == spin_of(s0, c)));
            if agrees {
                let log_weight = self.first_row_log_weight(s0)?;
                self.per_first_row.push(log_weight);
            }
            self.next_first_row += 1;
        }
        Ok((self.next_first_row == n).then(|| log_sum_exp(self.per_first_row.iter().copied())))
    }

    /// log of the summed weight of every configuration whose first row is `s0`.
    fn first_row_log_weight(&mut self, s0: usize) -> Result<f64, String> {
        let l = self.model.size;
        let (k, h) = (self.model.edge_weight(), self.model.field);
        let within: i32 = (0..l)
            .map(|c| spin_of(s0, c) * spin_of(s0, (c + 1) % l))
            .sum();
        let total: i32 = (0..l).map(|c| spin_of(s0, c)).sum();
        let mut log_scale = k * f64::from(within) + h * f64::from(total);
        let (weights, next, table) = (&mut self.weights, &mut self.next, &self.table);
        weights.fill(0.0);
        weights[s0] = 1.0;
        for row in 1..l {
            for c in 0..l {
                // An observed site keeps only its own spin's branch.
                let [keep_down, keep_up] = match self.clamp[row * l + c] {
                    None => [true, true],
                    Some(v) => [v < 0, v > 0],
                };
                next.fill(0.0);
                for (frontier, &w) in weights.iter().enumerate() {
                    if w == 0.0 {
                        continue;
                    }
                    // Placed neighbours of the new site (r, c): above (frontier bit c, not yet
                    // replaced), left (bit c - 1, this row's), and on the last column the
                    // wrap-around right neighbour (bit 0, this row's).
                    let mut m = spin_of(frontier, c);
                    if c > 0 {
                        m += spin_of(frontier, c - 1);
                    }
                    if c == l - 1 {
                        m += spin_of(frontier, 0);
                    }
                    let cleared = frontier & !(1 << c);
                    if keep_down {
                        next[cleared] += w * table[0][(m + 3) as usize];
                    }
                    if keep_up {
                        next[cleared | (1 << c)] += w * table[1][(m + 3) as usize];
                    }
                }
                let big = next.iter().copied().fold(0.0f64, f64::max);
                if big <= 0.0 || !big.is_finite() {
                    return Err("the transfer weights vanished or overflowed".to_owned());
                }
                next.iter_mut().for_each(|v| *v /= big);
                log_scale += big.ln();
                std::mem::swap(weights, next);
            }
        }
        // The vertical wrap-around: the last row against the first.
        let closed: f64 = weights
            .iter()
            .enumerate()
            .filter(|&(_, &w)| w > 0.0)
            .map(|(last, &w)| {
                let between: i32 = (0..l).map(|c| spin_of(last, c) * spin_of(s0, c)).sum();
                w * (k * f64::from(between)).exp()
            })
            .sum();
        Ok(log_scale + closed.ln())
    }
}

/// Exact log p(x_S) for L <= [`MAX_TRANSFER_SIZE`]: the transfer-matrix sum over the
/// configurations that agree with `partial`, minus `log_z` (the free sum, computed once by the
/// caller). About a third of a second natively at L = 10.
pub fn log_marginal_transfer(model: &Ising, log_z: f64, partial: &Partial) -> Result<f64, String> {
    let mut job = TransferMarginalJob::new(model, Some(log_z), partial)?;
    run_to_end(|| job.step())
}

/// [`log_marginal_transfer`] a first-row state at a time (the page spreads L = 10's second
/// over frames): the free sum first unless the caller knows log Z, then the clamped one.
pub struct TransferMarginalJob {
    free: Option<TransferLogZ>,
    log_z: Option<f64>,
    clamped: TransferLogZ,
}

impl TransferMarginalJob {
    pub fn new(model: &Ising, known_log_z: Option<f64>, partial: &Partial) -> Result<Self, String> {
        let clamp: Vec<Option<i8>> = partial.sites.iter().map(|s| s.spin()).collect();
        Ok(Self {
            free: match known_log_z {
                Some(_) => None,
                None => Some(TransferLogZ::new(model)?),
            },
            log_z: known_log_z,
            clamped: TransferLogZ::clamped(model, clamp)?,
        })
    }

    /// log Z, once the free sum is done (for the caller to keep).
    pub fn log_z(&self) -> Option<f64> {
        self.log_z
    }

    /// One first-row state of one run; log p(x_S) once both are done.
    pub fn step(&mut self) -> Result<Option<f64>, String> {
        if let Some(free) = &mut self.free {
            if let Some(log_z) = free.step()? {
                self.log_z = Some(log_z);
                self.free = None;
            }
            return Ok(None);
        }
        let Some(log_z) = self.log_z else {
            return Err("log Z is missing".to_owned());
        };
        match self.clamped.step()? {
            Some(clamped) if !clamped.is_finite() => {
                Err("no configuration agrees with the observed sites".to_owned())
            }
            Some(clamped) => Ok(Some(clamped - log_z)),
            None => Ok(None),
        }
    }
}

/// The exact mean magnetisation (1/D) E[sum_i x_i] and mean neighbour correlation
/// (1/2D) E[sum over the 2 D edges of x_i x_j] of the target, the statistics the samplers are
/// judged by: without them the ground truth is itself a noisy Gibbs estimate.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ExactMoments {
    pub magnetisation: f64,
    pub neighbour_correlation: f64,
}

/// Step of the central differences in [`exact_moments`]: the truncation error (h^2 / 6 times
/// a third cumulant of order D) and the rounding error (1e-13 of log Z over 2 h) are both
/// below 1e-8 per site at L = 10.
const MOMENT_STEP: f64 = 1e-4;

/// [`ExactMoments`] for L <= [`MAX_TRANSFER_SIZE`], as derivatives of the exact log Z:
/// d log Z / dh = E[sum x_i] and d log Z / dJ = 2 E[sum over edges x_i x_j] (each edge weighs
/// 2 J), by central differences of [`log_z_transfer`] (four transfer-matrix runs).
pub fn exact_moments(model: &Ising) -> Result<ExactMoments, String> {
    let mut job = ExactMomentsJob::new(model)?;
    run_to_end(|| job.step())
}

/// [`exact_moments`] a step of [`TransferLogZ`] at a time (the page runs it within frames).
pub struct ExactMomentsJob {
    model: Ising,
    /// log Z at (J, h + e), (J, h - e), (J + e, h), (J - e, h): the finished ones, then the
    /// one in progress.
    done: Vec<f64>,
    current: TransferLogZ,
}

impl ExactMomentsJob {
    /// The four shifted targets, in the order of `done`.
    fn shifted(model: &Ising, index: usize) -> Ising {
        let e = MOMENT_STEP;
        let (dj, dh) = [(0.0, e), (0.0, -e), (e, 0.0), (-e, 0.0)][index];
        Ising {
            coupling: model.coupling + dj,
            field: model.field + dh,
            ..*model
        }
    }

    pub fn new(model: &Ising) -> Result<Self, String> {
        Ok(Self {
            model: *model,
            done: Vec::with_capacity(4),
            current: TransferLogZ::new(&Self::shifted(model, 0))?,
        })
    }

    /// One first-row state of one of the four runs; the moments once all four are done.
    pub fn step(&mut self) -> Result<Option<ExactMoments>, String> {
        if self.done.len() < 4
            && let Some(log_z) = self.current.step()?
        {
            self.done.push(log_z);
            if self.done.len() < 4 {
                self.current = TransferLogZ::new(&Self::shifted(&self.model, self.done.len()))?;
            }
        }
        Ok(self.moments())
    }

    /// The moments, once all four runs are done.
    pub fn moments(&self) -> Option<ExactMoments> {
        let [up_h, down_h, up_j, down_j] = self.done[..] else {
            return None;
        };
        let d = self.model.sites() as f64;
        let d_field = (up_h - down_h) / (2.0 * MOMENT_STEP);
        let d_coupling = (up_j - down_j) / (2.0 * MOMENT_STEP);
        Some(ExactMoments {
            magnetisation: d_field / d,
            neighbour_correlation: d_coupling / (2.0 * 2.0 * d),
        })
    }
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

    /// The reference code's formula, written out: x^T (J A) x + h sum x with A the symmetric
    /// adjacency matrix of the periodic lattice (L >= 3, where it has no double edges).
    fn reference_log_f(m: &Ising, x: &[i8]) -> f64 {
        let d = m.sites();
        let mut adjacency = vec![0.0f64; d * d];
        for i in 0..d {
            for j in m.neighbours(i) {
                adjacency[i * d + j] = 1.0;
            }
        }
        let quadratic: f64 = (0..d)
            .flat_map(|i| (0..d).map(move |j| (i, j)))
            .map(|(i, j)| f64::from(x[i]) * m.coupling * adjacency[i * d + j] * f64::from(x[j]))
            .sum();
        quadratic + m.field * x.iter().map(|&v| f64::from(v)).sum::<f64>()
    }

    /// The transfer matrix's moments against the enumerated distribution's, on lattices small
    /// enough to enumerate (L = 2 has double edges, which both count).
    #[test]
    fn exact_moments_match_enumeration() {
        for (l, j, h) in [
            (2, 0.3, -0.1),
            (3, 0.1, 0.2),
            (4, 0.1, 0.2),
            (4, -0.2, 0.05),
        ] {
            let m = Ising::new(l, j, h).expect("valid");
            let exact = Exact::new(m).expect("small");
            let d = m.sites();
            let (mut magnetisation, mut correlation) = (0.0, 0.0);
            for (s, lf) in exact.log_f.iter().enumerate() {
                let p = (lf - exact.log_z).exp();
                let x = spins_of(s, d);
                let pairs: i32 = (0..d)
                    .map(|i| {
                        let [r, dn] = m.forward_neighbours(i);
                        i32::from(x[i]) * i32::from(x[r] + x[dn])
                    })
                    .sum();
                magnetisation += p * x.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
                correlation += p * f64::from(pairs) / (2.0 * d as f64);
            }
            let moments = exact_moments(&m).expect("fits");
            assert!(
                (moments.magnetisation - magnetisation).abs() < 1e-6
                    && (moments.neighbour_correlation - correlation).abs() < 1e-6,
                "L={l} J={j} h={h}: {moments:?} against {magnetisation}, {correlation}"
            );
        }
        assert!(exact_moments(&Ising::new(11, 0.1, 0.2).expect("valid")).is_err());
    }

    /// Clamped transfer-matrix marginals against enumeration on random partial assignments,
    /// every row of the lattice observed in some of them (L = 3 and 4).
    #[test]
    fn transfer_matrix_marginals_match_enumeration() {
        let mut rng = SplitMix64::new(4);
        for (l, j, h) in [(3, 0.1, 0.2), (4, 0.1, 0.2), (4, -0.3, 0.1)] {
            let m = Ising::new(l, j, h).expect("valid");
            let exact = Exact::new(m).expect("small");
            let log_z = log_z_transfer(&m).expect("fits");
            for _ in 0..12 {
                let observed = 1 + rng.below(m.sites() as u64) as usize;
                let p = super::super::speed::query_of_size(m.sites(), observed, &mut rng);
                let transfer = log_marginal_transfer(&m, log_z, &p).expect("fits");
                let enumerated = exact.log_marginal(&p);
                // The page's job, which computes log Z itself first.
                let mut job = TransferMarginalJob::new(&m, None, &p).expect("fits");
                let by_job = loop {
                    if let Some(v) = job.step().expect("fits") {
                        break v;
                    }
                };
                assert!((by_job - transfer).abs() < 1e-12 && job.log_z() == Some(log_z));
                assert!(
                    (transfer - enumerated).abs() < 1e-9,
                    "L={l}: {transfer} against {enumerated} for {:?}",
                    p.observed()
                );
            }
        }
    }

    #[test]
    fn energy_is_the_reference_quadratic_form() {
        let m = Ising::new(3, 0.1, 0.2).expect("valid");
        // All up: 2 L^2 = 18 edges of 2 J each, 9 sites.
        assert!((m.log_f(&[1; 9]) - (0.2 * 18.0 + 0.2 * 9.0)).abs() < 1e-12);
        // One site down flips its 4 edges and its field term.
        let mut one = [1i8; 9];
        one[4] = -1;
        assert!((m.log_f(&one) - (0.2 * (18.0 - 8.0) + 0.2 * 7.0)).abs() < 1e-12);
        assert!((m.log_f(&[1; 9]) - m.log_f(&one) - m.flip_gain(&[1; 9], 4)).abs() < 1e-12);
        let mut rng = SplitMix64::new(8);
        for (l, j, h) in [(3, 0.1, 0.2), (4, -0.3, 0.5), (5, 0.7, -0.1)] {
            let m = Ising::new(l, j, h).expect("valid");
            for _ in 0..20 {
                let x: Vec<i8> = (0..l * l)
                    .map(|_| if rng.below(2) == 1 { 1 } else { -1 })
                    .collect();
                let (ours, theirs) = (m.log_f(&x), reference_log_f(&m, &x));
                assert!((ours - theirs).abs() < 1e-9, "L={l}: {ours} vs {theirs}");
                let i = rng.below((l * l) as u64) as usize;
                let mut flipped = x.clone();
                flipped[i] = -flipped[i];
                let gain = m.log_f(&x) - m.log_f(&flipped);
                assert!((gain - m.flip_gain(&x, i)).abs() < 1e-9);
            }
        }
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
        // With h = 0 and J: all-up has 8 aligned edges of 2 J.
        let m = Ising::new(2, 0.25, 0.0).expect("valid");
        assert!((m.log_f(&[1, 1, 1, 1]) - 0.5 * 8.0).abs() < 1e-12);
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
        // 6x6 against the row-to-row matrix, tr(M^L) with M[s, t] = exp(w(s) + 2 J s.t),
        // computed the slow way in the log domain.
        let m = Ising::new(6, 0.23, -0.17).expect("valid");
        assert!((row_matrix_log_z(&m) - log_z_transfer(&m).expect("fits")).abs() < 1e-9);
        // 10x10 (the paper's size) at J = 0: D log(2 cosh h); a strong field, no overflow.
        let free = log_z_transfer(&Ising::new(10, 0.0, 0.3).expect("valid")).expect("fits");
        assert!((free - 100.0 * (2.0 * 0.3f64.cosh()).ln()).abs() < 1e-9);
        let strong = log_z_transfer(&Ising::new(10, 5.0, 5.0).expect("valid")).expect("fits");
        assert!(
            (strong - (10.0 * 200.0 + 5.0 * 100.0)).abs() < 1e-6,
            "{strong}"
        );
        assert!(log_z_transfer(&Ising::new(11, 0.1, 0.2).expect("valid")).is_err());
    }

    fn row_matrix_log_z(m: &Ising) -> f64 {
        let (l, k) = (m.size, m.edge_weight());
        let n = 1usize << l;
        let rows: Vec<Vec<i8>> = (0..n).map(|s| spins_of(s, l)).collect();
        let dot = |a: &[i8], b: &[i8]| {
            a.iter()
                .zip(b)
                .map(|(&x, &y)| f64::from(x * y))
                .sum::<f64>()
        };
        let log_m: Vec<Vec<f64>> = rows
            .iter()
            .map(|a| {
                let shifted: Vec<i8> = (0..l).map(|c| a[(c + 1) % l]).collect();
                let w =
                    k * dot(a, &shifted) + m.field * a.iter().map(|&v| f64::from(v)).sum::<f64>();
                rows.iter().map(|b| w + k * dot(a, b)).collect()
            })
            .collect();
        let mut power = log_m.clone();
        for _ in 1..l {
            power = (0..n)
                .map(|i| {
                    (0..n)
                        .map(|j| log_sum_exp((0..n).map(|t| power[i][t] + log_m[t][j])))
                        .collect()
                })
                .collect();
        }
        log_sum_exp((0..n).map(|i| power[i][i]))
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
