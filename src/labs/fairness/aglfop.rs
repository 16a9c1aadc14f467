//! AGLFOP (Hamman & Dutta 2024): the best accuracy on data P(S, Z, Y) with global disparity
//! I(Z; Yhat) <= eps_g and local disparity I(Z; Yhat | S) <= eps_l, over every P(Yhat | S, Z, Y).
//! Yhat may depend on the label Y there, so this is an upper bound that a classifier seeing only
//! its features may not reach. The model-specific variant (the reference's
//! `optimization_FL_MS`) adds linear constraints that keep each group's (FPR, TPR) where
//! randomly post-processing a given model's predictions can take it ([`ModelRoc`]).
//!
//! Variables u[s, z, y] = P(S=s, Z=z, Y=y, Yhat=1) (Yhat = 0 takes the rest of P(s, z, y)), so
//! the data constraint holds by construction. Both disparities are relative entropies of
//! affine functions of u (P(z), P(s, z), P(s) are fixed), so each `p log(p / q)` term is one
//! exponential cone. A zero budget makes the constraint linear (demographic parity globally or
//! per client) and is written as equalities: an interior-point method cannot reach the cone's
//! boundary exactly, the linear form is exact.

use super::conic::{Affine, ConeProgram, Outcome};

pub const MAX_CLIENTS: usize = 8;

/// P(S, Z, Y) for K clients, binary Z and Y: `p[(s * 2 + z) * 2 + y]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Data {
    pub clients: usize,
    pub p: Vec<f64>,
}

impl Data {
    pub fn at(&self, s: usize, z: usize, y: usize) -> f64 {
        self.p[(s * 2 + z) * 2 + y]
    }

    /// Checks sizes and that `p` is a distribution (within 1e-6), then renormalises exactly.
    pub fn new(clients: usize, p: Vec<f64>) -> Result<Self, String> {
        if !(1..=MAX_CLIENTS).contains(&clients) {
            return Err(format!(
                "{clients} clients: 1 to {MAX_CLIENTS} are supported"
            ));
        }
        if p.len() != clients * 4 {
            return Err(format!(
                "{} probabilities for {clients} clients (need {})",
                p.len(),
                clients * 4
            ));
        }
        if let Some(bad) = p.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(format!("probability {bad} is not a number >= 0"));
        }
        let total: f64 = p.iter().sum();
        if (total - 1.0).abs() > 1e-6 {
            return Err(format!("probabilities sum to {total}, not 1 (within 1e-6)"));
        }
        Ok(Self {
            clients,
            p: p.iter().map(|v| v / total).collect(),
        })
    }

    /// P(S, Z, Y) of a model's joint P(S, Z, Y, Yhat) (layout of [`Data::with_predictions`]),
    /// checked as [`Data::new`] checks.
    pub fn of_model(clients: usize, joint: &[f64]) -> Result<Self, String> {
        Self::new(clients, joint.chunks(2).map(|c| c.iter().sum()).collect())
    }

    fn p_z(&self, z: usize) -> f64 {
        (0..self.clients)
            .map(|s| self.at(s, z, 0) + self.at(s, z, 1))
            .sum()
    }

    fn p_sz(&self, s: usize, z: usize) -> f64 {
        self.at(s, z, 0) + self.at(s, z, 1)
    }

    /// The joint P(S, Z, Y, Yhat) of a classifier given as P(Yhat = 1 | s, z, y), laid out
    /// `[((s * 2 + z) * 2 + y) * 2 + yhat]`.
    pub fn with_predictions(&self, p_yhat1: impl Fn(usize, usize, usize) -> f64) -> Vec<f64> {
        let mut out = vec![0.0; self.clients * 8];
        for s in 0..self.clients {
            for z in 0..2 {
                for y in 0..2 {
                    let mass = self.at(s, z, y);
                    let one = p_yhat1(s, z, y).clamp(0.0, 1.0);
                    let cell = ((s * 2 + z) * 2 + y) * 2;
                    out[cell] = mass * (1.0 - one);
                    out[cell + 1] = mass * one;
                }
            }
        }
        out
    }
}

/// Accuracy and disparities (bits) of a joint P(S, Z, Y, Yhat) laid out as in
/// [`Data::with_predictions`].
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scores {
    pub accuracy: f64,
    pub global_disparity: f64,
    pub local_disparity: f64,
}

pub fn scores(clients: usize, joint: &[f64]) -> Scores {
    use super::info::{Joint3, mutual_information};
    let mut z_yhat = vec![0.0; 4];
    let mut z_yhat_s = Joint3::zeros([2, 2, clients]);
    let mut accuracy = 0.0;
    for s in 0..clients {
        for z in 0..2 {
            for y in 0..2 {
                for yhat in 0..2 {
                    let m = joint[((s * 2 + z) * 2 + y) * 2 + yhat];
                    z_yhat[z * 2 + yhat] += m;
                    z_yhat_s.add(z, yhat, s, m);
                    if y == yhat {
                        accuracy += m;
                    }
                }
            }
        }
    }
    Scores {
        accuracy,
        global_disparity: mutual_information(&z_yhat, 2, 2),
        local_disparity: z_yhat_s.cmi_xy_given_z(),
    }
}

/// A fairness budget in bits; `None` is unconstrained.
pub type Budget = Option<f64>;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Optimum {
    pub scores: Scores,
    /// P(S, Z, Y, Yhat) of the optimal classifier.
    pub joint: Vec<f64>,
    /// Clarabel reported reduced accuracy.
    pub almost: bool,
}

/// Budgets at or below this are treated as zero (the linear case).
const ZERO_BUDGET_BITS: f64 = 1e-12;

/// The program's variables u[s, z, y] = P(s, z, y, Yhat = 1), one per (s, z, y) cell with
/// mass (empty cells are 0), and the affine probabilities built from them.
struct Cells<'a> {
    data: &'a Data,
    /// Variable of each cell (`usize::MAX`: no variable, the cell is empty).
    var: Vec<usize>,
    count: usize,
}

impl<'a> Cells<'a> {
    fn new(data: &'a Data) -> Self {
        let mut var = vec![usize::MAX; data.clients * 4];
        let mut count = 0;
        for (i, &m) in data.p.iter().enumerate() {
            if m > 0.0 {
                var[i] = count;
                count += 1;
            }
        }
        Self { data, var, count }
    }

    fn variable(&self, s: usize, z: usize, y: usize) -> Option<usize> {
        let v = self.var[(s * 2 + z) * 2 + y];
        (v != usize::MAX).then_some(v)
    }

    fn u(&self, s: usize, z: usize, y: usize) -> Affine {
        self.variable(s, z, y)
            .map_or_else(|| Affine::constant(0.0), Affine::var)
    }

    /// P(s, z, Yhat = 1).
    fn p_szyhat1(&self, s: usize, z: usize) -> Affine {
        self.u(s, z, 0).plus(&self.u(s, z, 1), 1.0)
    }

    /// P(s, z, Yhat = yhat).
    fn p_szyhat(&self, s: usize, z: usize, yhat: usize) -> Affine {
        if yhat == 1 {
            self.p_szyhat1(s, z)
        } else {
            Affine::constant(self.data.p_sz(s, z)).plus(&self.p_szyhat1(s, z), -1.0)
        }
    }

    fn p_zyhat(&self, z: usize, yhat: usize) -> Affine {
        (0..self.data.clients).fold(Affine::constant(0.0), |acc, s| {
            acc.plus(&self.p_szyhat(s, z, yhat), 1.0)
        })
    }

    fn p_yhat(&self, yhat: usize) -> Affine {
        self.p_zyhat(0, yhat).plus(&self.p_zyhat(1, yhat), 1.0)
    }

    fn p_syhat(&self, s: usize, yhat: usize) -> Affine {
        self.p_szyhat(s, 0, yhat)
            .plus(&self.p_szyhat(s, 1, yhat), 1.0)
    }

    /// Accuracy = const + sum_{s,z} (u[s,z,1] - u[s,z,0]); Clarabel minimises, so the
    /// objective is its negative. And 0 <= u <= P(s, z, y).
    fn objective_and_bounds(&self, program: &mut ConeProgram) {
        for s in 0..self.data.clients {
            for z in 0..2 {
                for (y, sign) in [(0, 1.0), (1, -1.0)] {
                    if let Some(v) = self.variable(s, z, y) {
                        program.objective.push((v, sign));
                    }
                }
            }
        }
        for (i, &m) in self.data.p.iter().enumerate() {
            if self.var[i] != usize::MAX {
                program.nonnegative(Affine::var(self.var[i]));
                program.nonnegative(Affine::constant(m).plus(&Affine::var(self.var[i]), -1.0));
            }
        }
    }

    /// I(Z; Yhat) <= eps (bits): four exponential cones on the epigraph variables from
    /// `first_t`, or the parity equality for a zero budget.
    fn global_budget(&self, program: &mut ConeProgram, eps: f64, first_t: usize, scale: f64) {
        let (pz0, pz1) = (self.data.p_z(0), self.data.p_z(1));
        if eps <= ZERO_BUDGET_BITS {
            // Independence of Z and Yhat: P(z=1) P(0, Yhat=1) = P(z=0) P(1, Yhat=1). With one
            // group empty, I(Z; Yhat) = 0 whatever Yhat is.
            if pz0 > 0.0 && pz1 > 0.0 {
                program.equal_zero(
                    self.p_zyhat(0, 1)
                        .scaled(pz1)
                        .plus(&self.p_zyhat(1, 1), -pz0),
                );
            }
            return;
        }
        let mut budget = Affine::constant(eps * std::f64::consts::LN_2);
        let mut t = first_t;
        for z in 0..2 {
            for yhat in 0..2 {
                budget = budget.plus(&Affine::var(t), -1.0);
                // t >= P(z, yhat) ln(P(z, yhat) / (P(z) P(yhat))), i.e.
                // -t <= a ln(b / a) with a = P(z, yhat), b = P(z) P(yhat).
                program.exp_cone(
                    Affine::var(t).scaled(-1.0),
                    self.p_zyhat(z, yhat),
                    self.p_yhat(yhat).scaled(self.data.p_z(z) / scale),
                );
                t += 1;
            }
        }
        program.nonnegative(budget);
    }

    /// I(Z; Yhat | S) <= eps (bits): 4 K exponential cones from `first_t`, or per-client
    /// parity equalities for a zero budget.
    fn local_budget(&self, program: &mut ConeProgram, eps: f64, first_t: usize) {
        let data = self.data;
        if eps <= ZERO_BUDGET_BITS {
            for s in 0..data.clients {
                let (a0, a1) = (data.p_sz(s, 0), data.p_sz(s, 1));
                if a0 > 0.0 && a1 > 0.0 {
                    program.equal_zero(
                        self.p_szyhat1(s, 0)
                            .scaled(a1)
                            .plus(&self.p_szyhat1(s, 1), -a0),
                    );
                }
            }
            return;
        }
        let mut budget = Affine::constant(eps * std::f64::consts::LN_2);
        let mut t = first_t;
        for s in 0..data.clients {
            let p_s = data.p_sz(s, 0) + data.p_sz(s, 1);
            for z in 0..2 {
                for yhat in 0..2 {
                    budget = budget.plus(&Affine::var(t), -1.0);
                    let share = if p_s > 0.0 {
                        data.p_sz(s, z) / p_s
                    } else {
                        0.0
                    };
                    // b = P(s, z) P(s, yhat) / P(s).
                    program.exp_cone(
                        Affine::var(t).scaled(-1.0),
                        self.p_szyhat(s, z, yhat),
                        self.p_syhat(s, yhat).scaled(share),
                    );
                    t += 1;
                }
            }
        }
        program.nonnegative(budget);
    }
}

/// A model's (false positive rate, true positive rate) in each sensitive group z, over all
/// clients (the reference's `optimization_FL_MS` uses the global model's per-group rates).
/// Flipping the model's predictions at random within the group, P(Yhat' = 1 | Yhat = 1) = a and
/// P(Yhat' = 1 | Yhat = 0) = b, reaches exactly the parallelogram a (f, t) + b (1 - f, 1 - t),
/// a, b in [0, 1]: its corners are (0, 0), (f, t), (1, 1) and (1 - f, 1 - t).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelRoc {
    /// `None` where the group has no records of one label (a rate is undefined there and that
    /// group is left unconstrained).
    pub rates: [Option<(f64, f64)>; 2],
}

impl ModelRoc {
    /// The rates of a model given as its joint P(S, Z, Y, Yhat) (layout of
    /// [`Data::with_predictions`]).
    pub fn of(clients: usize, joint: &[f64]) -> Self {
        let mut rates = [None; 2];
        for (z, rate) in rates.iter_mut().enumerate() {
            let cell = |s: usize, y: usize, yhat: usize| joint[((s * 2 + z) * 2 + y) * 2 + yhat];
            let mass = |y: usize| {
                (0..clients)
                    .map(|s| cell(s, y, 0) + cell(s, y, 1))
                    .sum::<f64>()
            };
            let hits = |y: usize| (0..clients).map(|s| cell(s, y, 1)).sum::<f64>();
            let (negatives, positives) = (mass(0), mass(1));
            if negatives > 0.0 && positives > 0.0 {
                *rate = Some((hits(0) / negatives, hits(1) / positives));
            }
        }
        Self { rates }
    }
}

/// Below this |f - t| a model's rates are treated as on the diagonal (the parallelogram is a
/// segment: FPR = TPR).
const DIAGONAL_TOLERANCE: f64 = 1e-9;

impl Cells<'_> {
    /// Each group's (FPR, TPR) inside the model's parallelogram: with the point written as
    /// a (f, t) + b (1 - f, 1 - t), four linear constraints 0 <= a, b <= 1.
    fn model_region(&self, program: &mut ConeProgram, roc: &ModelRoc) {
        let clients = self.data.clients;
        for (z, rates) in roc.rates.iter().enumerate() {
            let Some((f, t)) = *rates else {
                continue;
            };
            let mass = |y: usize| (0..clients).map(|s| self.data.at(s, z, y)).sum::<f64>();
            let (negatives, positives) = (mass(0), mass(1));
            if negatives <= 0.0 || positives <= 0.0 {
                continue;
            }
            let sum_u = |y: usize| {
                (0..clients).fold(Affine::constant(0.0), |acc, s| {
                    acc.plus(&self.u(s, z, y), 1.0)
                })
            };
            let fpr = sum_u(0).scaled(1.0 / negatives);
            let tpr = sum_u(1).scaled(1.0 / positives);
            let det = f - t;
            if det.abs() < DIAGONAL_TOLERANCE {
                program.equal_zero(fpr.plus(&tpr, -1.0));
                continue;
            }
            let a = fpr.scaled((1.0 - t) / det).plus(&tpr, -(1.0 - f) / det);
            let b = tpr.scaled(f / det).plus(&fpr, -t / det);
            for share in [a, b] {
                program.nonnegative(Affine::constant(1.0).plus(&share, -1.0));
                program.nonnegative(share);
            }
        }
    }
}

/// Solves AGLFOP; `Err` carries the solver's reason (never a number).
pub fn solve(data: &Data, eps_global: Budget, eps_local: Budget) -> Result<Optimum, String> {
    solve_with(data, eps_global, eps_local, None)
}

/// The model-specific program: AGLFOP restricted to post-processings of the model whose rates
/// `roc` holds. Never above [`solve`] at the same budgets.
pub fn solve_model_specific(
    data: &Data,
    eps_global: Budget,
    eps_local: Budget,
    roc: &ModelRoc,
) -> Result<Optimum, String> {
    solve_with(data, eps_global, eps_local, Some(roc))
}

fn solve_with(
    data: &Data,
    eps_global: Budget,
    eps_local: Budget,
    roc: Option<&ModelRoc>,
) -> Result<Optimum, String> {
    // The program is written in masses scaled to a mean of 1 per (s, z, y) cell: with raw
    // probabilities of ~1/(4K) the exponential cones sit near their apex and Clarabel can stall.
    // Every cone term is homogeneous, so budgets scale by the same factor.
    let scale = (4 * data.clients) as f64;
    let scaled_data = Data {
        clients: data.clients,
        p: data.p.iter().map(|v| v * scale).collect(),
    };
    let eps_global = eps_global.map(|e| e * scale);
    let eps_local = eps_local.map(|e| e * scale);
    let cells = Cells::new(&scaled_data);
    let n = cells.count;
    let cones_of =
        |eps: Budget, per: usize| eps.filter(|&e| e > ZERO_BUDGET_BITS).map_or(0, |_| per);
    let global_cones = cones_of(eps_global, 4);
    let local_cones = cones_of(eps_local, 4 * data.clients);
    let mut program = ConeProgram::new(n + global_cones + local_cones);
    cells.objective_and_bounds(&mut program);
    if let Some(e) = eps_global {
        cells.global_budget(&mut program, e, n, scale);
    }
    if let Some(e) = eps_local {
        cells.local_budget(&mut program, e, n + global_cones);
    }
    if let Some(roc) = roc {
        cells.model_region(&mut program, roc);
    }
    let (x, almost) = match program.solve() {
        Outcome::Solved { x, almost } => (x, almost),
        Outcome::Failed(why) => return Err(why),
    };
    let joint = data.with_predictions(|s, z, y| {
        let m = scaled_data.at(s, z, y);
        match cells.variable(s, z, y) {
            Some(v) if m > 0.0 => x[v] / m,
            _ => 0.0,
        }
    });
    Ok(Optimum {
        scores: scores(data.clients, &joint),
        joint,
        almost,
    })
}

/// A model on one set of records, and the two limits at its own disparities there.
pub struct AtModel {
    pub scores: Scores,
    pub roc: ModelRoc,
    /// AGLFOP at the model's disparities: an upper bound on any classifier there.
    pub upper_bound: Result<Optimum, String>,
    /// The model-specific optimum there: the best post-processing of this model.
    pub best_post_processing: Result<Optimum, String>,
}

/// The model's scores and both limits at its disparities; `joint` is the model's P(S, Z, Y,
/// Yhat) on the records `data` summarises (the page's model view and `paperlab adult` share it).
pub fn at_model(data: &Data, joint: &[f64]) -> AtModel {
    let scores = scores(data.clients, joint);
    let roc = ModelRoc::of(data.clients, joint);
    let (g, l) = (Some(scores.global_disparity), Some(scores.local_disparity));
    AtModel {
        scores,
        roc,
        upper_bound: solve(data, g, l),
        best_post_processing: solve_model_specific(data, g, l, &roc),
    }
}

/// The budgets beyond which a constraint cannot bind: the disparities of Yhat = Y.
pub fn max_budgets(data: &Data) -> (f64, f64) {
    let s = scores(data.clients, &data.with_predictions(|_, _, y| y as f64));
    (s.global_disparity, s.local_disparity)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clients, Z, Y, S uniform-ish, tied by `alpha`: Y = Z with probability alpha.
    fn tied(alpha: f64, z_share: [f64; 2]) -> Data {
        let mut p = Vec::new();
        for s in 0..2 {
            for z in 0..2 {
                let pz = if z == 1 { z_share[s] } else { 1.0 - z_share[s] };
                for y in 0..2 {
                    let py = if y == z { alpha } else { 1.0 - alpha };
                    p.push(0.5 * pz * py);
                }
            }
        }
        Data::new(2, p).expect("valid")
    }

    #[test]
    fn unconstrained_is_perfect_and_budgets_bind() {
        let data = tied(0.9, [0.8, 0.3]);
        let free = solve(&data, None, None).expect("solved");
        assert!((free.scores.accuracy - 1.0).abs() < 1e-7, "{free:?}");
        let (g_max, l_max) = max_budgets(&data);
        let mut last = 1.0 + 1e-9;
        for frac in [1.0, 0.5, 0.2, 0.05, 0.0] {
            let o = solve(&data, Some(frac * g_max), Some(frac * l_max)).expect("solved");
            assert!(
                o.scores.accuracy <= last + 1e-7,
                "accuracy rises as budgets shrink"
            );
            assert!(o.scores.global_disparity <= frac * g_max + 1e-6, "{o:?}");
            assert!(o.scores.local_disparity <= frac * l_max + 1e-6, "{o:?}");
            last = o.scores.accuracy;
        }
    }

    /// With eps = 0 on both, the optimum over P(Yhat=1 | s, z, y) checked by brute force on a
    /// fine grid of classifiers that satisfy parity exactly.
    #[test]
    fn zero_budgets_match_brute_force() {
        let data = tied(0.8, [0.5, 0.5]);
        let o = solve(&data, Some(0.0), Some(0.0)).expect("solved");
        assert!(
            o.scores.global_disparity < 1e-7 && o.scores.local_disparity < 1e-7,
            "{o:?}"
        );
        // With Z independent of S, per-client parity implies global parity. Within a client,
        // parity with equal group sizes: P(Yhat=1|z=0) = P(Yhat=1|z=1) = r; best accuracy at
        // rate r is sum_z 0.5 * best(z, r), where in group z the labels have P(Y=z)=0.8.
        let best_group = |z: usize, r: f64| {
            // Predict 1 first on the y=1 mass of the group.
            let ones = if z == 1 { 0.8 } else { 0.2 };
            let tp = r.min(ones);
            let tn = (1.0 - r).min(1.0 - ones);
            tp + tn
        };
        let brute = (0..=1000)
            .map(|i| i as f64 / 1000.0)
            .map(|r| 0.5 * best_group(0, r) + 0.5 * best_group(1, r))
            .fold(0.0, f64::max);
        assert!(
            (o.scores.accuracy - brute).abs() < 1e-6,
            "{} vs {brute}",
            o.scores.accuracy
        );
    }

    #[test]
    fn masked_example_needs_accuracy_only_locally() {
        // Z, S independent fair coins, Y = Z xor S: Yhat = Y has no global disparity but one
        // bit of local disparity.
        let mut p = vec![0.0; 8];
        for s in 0..2 {
            for z in 0..2 {
                p[(s * 2 + z) * 2 + (z ^ s)] = 0.25;
            }
        }
        let data = Data::new(2, p).expect("valid");
        let (g, l) = max_budgets(&data);
        assert!(g < 1e-12 && (l - 1.0).abs() < 1e-12);
        let global_only = solve(&data, Some(0.0), None).expect("solved");
        assert!((global_only.scores.accuracy - 1.0).abs() < 1e-7);
        let local_fair = solve(&data, None, Some(0.0)).expect("solved");
        assert!(
            (local_fair.scores.accuracy - 0.5).abs() < 1e-6,
            "{local_fair:?}"
        );
    }

    /// The model-specific optimum without budgets is the best corner of each group's
    /// parallelogram (accuracy is linear in the rates), found here by brute force over
    /// post-processings; with budgets it never beats AGLFOP and the model itself is feasible.
    #[test]
    fn model_specific_is_the_best_post_processing() {
        let data = tied(0.85, [0.7, 0.35]);
        // A mediocre model: P(Yhat = 1 | s, z, y) depends on y, z and s.
        let model = data
            .with_predictions(|s, z, y| 0.2 + 0.5 * y as f64 + 0.15 * z as f64 - 0.1 * s as f64);
        let roc = ModelRoc::of(2, &model);
        let free = solve_model_specific(&data, None, None, &roc).expect("solved");
        // Brute force: per group z, flip probabilities (a, b) on a grid.
        let mut brute = 0.0;
        for z in 0..2 {
            let (f, t) = roc.rates[z].expect("both labels present");
            let mass = |y: usize| (0..2).map(|s| data.at(s, z, y)).sum::<f64>();
            let mut best = 0.0f64;
            for i in 0..=100 {
                for j in 0..=100 {
                    let (a, b) = (f64::from(i) / 100.0, f64::from(j) / 100.0);
                    let (fpr, tpr) = (a * f + b * (1.0 - f), a * t + b * (1.0 - t));
                    best = best.max(mass(1) * tpr + mass(0) * (1.0 - fpr));
                }
            }
            brute += best;
        }
        assert!(
            (free.scores.accuracy - brute).abs() < 1e-6,
            "{} vs {brute}",
            free.scores.accuracy
        );
        let own = scores(2, &model);
        let at_model = solve_model_specific(
            &data,
            Some(own.global_disparity),
            Some(own.local_disparity),
            &roc,
        )
        .expect("solved");
        let any =
            solve(&data, Some(own.global_disparity), Some(own.local_disparity)).expect("solved");
        assert!(
            at_model.scores.accuracy >= own.accuracy - 1e-6,
            "the model is feasible"
        );
        assert!(
            at_model.scores.accuracy <= any.scores.accuracy + 1e-6,
            "{at_model:?} vs {any:?}"
        );
        assert!(
            any.scores.accuracy > at_model.scores.accuracy + 1e-3,
            "the region binds here"
        );
        // A model at chance in a group (f = t) pins that group's rates to the diagonal.
        let chance = data.with_predictions(|_, z, _| if z == 0 { 0.3 } else { 0.6 });
        let pinned =
            solve_model_specific(&data, None, None, &ModelRoc::of(2, &chance)).expect("solved");
        let best_constant: f64 = (0..2)
            .map(|z| {
                let mass = |y: usize| (0..2).map(|s| data.at(s, z, y)).sum::<f64>();
                mass(0).max(mass(1))
            })
            .sum();
        assert!(
            (pinned.scores.accuracy - best_constant).abs() < 1e-6,
            "{pinned:?}"
        );
    }

    #[test]
    fn bad_data_is_refused() {
        assert!(Data::new(2, vec![0.1; 8]).is_err());
        assert!(Data::new(9, vec![1.0 / 36.0; 36]).is_err());
        assert!(Data::new(1, vec![0.5, 0.5, f64::NAN, 0.0]).is_err());
        assert!(Data::new(1, vec![0.5, 0.6, -0.1, 0.0]).is_err());
    }
}
