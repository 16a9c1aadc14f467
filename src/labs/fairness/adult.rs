//! The paper's real-data experiment: the UCI ADULT census records (Kohavi 1996), sex as the
//! sensitive attribute Z (male = 1), income above 50K as Y, two clients split as the reference's
//! `split_client_data` splits them, and a logistic regression on the other features. The result
//! is the joint P(S, Z, Y, Yhat) per split on the training and on the held-out records: the
//! compact tables `paperlab pid` and `paperlab aglfop` read (`paperlab adult` writes them).
//!
//! Following the reference (FairFL-PID `FACT/data_util.py` and `utils.py`): the 32,561 records
//! of `adult.data`, `fnlwgt` and `education-num` dropped, a 70/30 train/test split, race and sex
//! withheld from the model, `?` kept as a category of its own; the iid, heterogeneity (92 % of
//! the men and 8 % of the women on client 0) and synergy ((Z, Y) = (0, 0) or (1, 1) on client 0)
//! splits, each followed by the 1 % swap of `shuffle_clients_data`. Where it differs: the
//! categories are one-hot (the reference feeds pandas' category codes as numbers to a pickled
//! model we cannot rerun), the numbers are standardised, and the shuffles use this crate's
//! seeded generator, not numpy's.

use std::collections::BTreeSet;

use crate::rng::SplitMix64;

/// Fields per line of `adult.data`.
const FIELDS: usize = 15;
/// Numeric model inputs: age, capital-gain, capital-loss, hours-per-week.
const NUMERIC_COLUMNS: [usize; 4] = [0, 10, 11, 12];
/// Categorical model inputs: workclass, education, marital-status, occupation, relationship,
/// native-country (race, column 8, and sex, column 9, are withheld as in the reference).
const CATEGORY_COLUMNS: [usize; 6] = [1, 3, 5, 6, 7, 13];
const SEX_COLUMN: usize = 9;
const LABEL_COLUMN: usize = 14;
/// The reference's `train_test_split(test_size=.3)`.
const HELD_OUT_FRACTION: f64 = 0.3;
/// The reference's heterogeneity split: this share of the men, and one minus it of the women,
/// on client 0.
const HETEROGENEOUS_SHARE: f64 = 0.92;
/// The reference's `shuffle_clients_data(clients_data, 0.01)`.
const SWAP_FRACTION: f64 = 0.01;
/// sklearn's default `LogisticRegression(C=1)`: an L2 penalty of half the squared weights
/// (intercept excluded) added to the summed log-loss.
const L2_PENALTY: f64 = 1.0;

/// One census record as the model and the split see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    pub numeric: [f64; 4],
    /// Index into [`Census::categories`] per categorical column.
    pub category: [usize; 6],
    /// Z: 1 for male.
    pub z: usize,
    /// Y: 1 for income above 50K.
    pub y: usize,
}

/// Parsed records and each categorical column's values (sorted, as pandas codes them).
#[derive(Clone, Debug, PartialEq)]
pub struct Census {
    pub people: Vec<Person>,
    pub categories: [Vec<String>; 6],
}

/// Parses `adult.data` (or `adult.test`: its "|1x3 Cross validator" line and the labels' final
/// '.' are accepted). Blank lines are skipped; any other malformed line is an error naming it.
pub fn parse(text: &str) -> Result<Census, String> {
    let mut rows: Vec<(usize, Vec<&str>)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('|') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != FIELDS {
            return Err(format!(
                "line {}: {} fields, expected {FIELDS}",
                i + 1,
                fields.len()
            ));
        }
        rows.push((i + 1, fields));
    }
    if rows.is_empty() {
        return Err("no records".to_owned());
    }
    let categories: [Vec<String>; 6] = CATEGORY_COLUMNS.map(|c| {
        let values: BTreeSet<&str> = rows.iter().map(|(_, f)| f[c]).collect();
        values.into_iter().map(str::to_owned).collect()
    });
    let mut people = Vec::with_capacity(rows.len());
    for (line, fields) in rows {
        let mut numeric = [0.0; 4];
        for (value, &c) in numeric.iter_mut().zip(&NUMERIC_COLUMNS) {
            *value = match fields[c].parse::<f64>() {
                Ok(v) if v.is_finite() => v,
                _ => return Err(format!("line {line}: '{}' is not a number", fields[c])),
            };
        }
        let mut category = [0; 6];
        for ((index, &c), values) in category.iter_mut().zip(&CATEGORY_COLUMNS).zip(&categories) {
            // Every value was collected above, so the search always succeeds.
            *index = values
                .binary_search_by(|v| v.as_str().cmp(fields[c]))
                .unwrap_or(0);
        }
        let z = match fields[SEX_COLUMN] {
            "Male" => 1,
            "Female" => 0,
            other => {
                return Err(format!(
                    "line {line}: sex '{other}', expected Male or Female"
                ));
            }
        };
        let y = match fields[LABEL_COLUMN].trim_end_matches('.') {
            ">50K" => 1,
            "<=50K" => 0,
            other => {
                return Err(format!(
                    "line {line}: income '{other}', expected >50K or <=50K"
                ));
            }
        };
        people.push(Person {
            numeric,
            category,
            z,
            y,
        });
    }
    Ok(Census { people, categories })
}

/// The reference's three two-client splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Iid,
    Heterogeneous,
    Synergy,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Iid, Split::Heterogeneous, Split::Synergy];

    pub fn key(self) -> &'static str {
        match self {
            Split::Iid => "iid",
            Split::Heterogeneous => "heterogeneous",
            Split::Synergy => "synergy",
        }
    }
}

fn shuffled(mut indices: Vec<usize>, rng: &mut SplitMix64) -> Vec<usize> {
    for i in (1..indices.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        indices.swap(i, j);
    }
    indices
}

/// The client (0 or 1) of each of `people`, split as the reference splits, then the 1 % swap:
/// int(0.01 x the smaller client's size) records of each client, drawn at random, change sides.
pub fn assign_clients(people: &[Person], split: Split, rng: &mut SplitMix64) -> Vec<usize> {
    let mut client = vec![1; people.len()];
    match split {
        Split::Iid => {
            let order = shuffled((0..people.len()).collect(), rng);
            for &i in &order[..people.len() / 2] {
                client[i] = 0;
            }
        }
        Split::Heterogeneous => {
            for (z, share) in [(1, HETEROGENEOUS_SHARE), (0, 1.0 - HETEROGENEOUS_SHARE)] {
                let group: Vec<usize> = (0..people.len()).filter(|&i| people[i].z == z).collect();
                // int() as the reference rounds: towards zero.
                let on_zero = (share * group.len() as f64) as usize;
                for &i in &shuffled(group, rng)[..on_zero] {
                    client[i] = 0;
                }
            }
        }
        Split::Synergy => {
            for (c, p) in client.iter_mut().zip(people) {
                if p.z == p.y {
                    *c = 0;
                }
            }
        }
    }
    let members = |k: usize, client: &[usize]| -> Vec<usize> {
        (0..client.len()).filter(|&i| client[i] == k).collect()
    };
    let (zero, one) = (members(0, &client), members(1, &client));
    let swap = (zero.len().min(one.len()) as f64 * SWAP_FRACTION) as usize;
    let (zero, one) = (shuffled(zero, rng), shuffled(one, rng));
    for (&a, &b) in zero[..swap].iter().zip(&one[..swap]) {
        client[a] = 1;
        client[b] = 0;
    }
    client
}

/// The records' indices split 70/30 at random (training first), as `train_test_split` does.
pub fn train_test(people: usize, rng: &mut SplitMix64) -> (Vec<usize>, Vec<usize>) {
    let order = shuffled((0..people).collect(), rng);
    let held_out = (HELD_OUT_FRACTION * people as f64).ceil() as usize;
    let (test, train) = order.split_at(held_out.min(people));
    (train.to_vec(), test.to_vec())
}

/// Model inputs: standardised numbers, one-hot categories, a constant 1 last.
pub struct Features {
    mean: [f64; 4],
    scale: [f64; 4],
    offsets: [usize; 6],
    pub width: usize,
}

impl Features {
    /// Standardisation from the training records `fit`.
    pub fn new(census: &Census, fit: &[usize]) -> Self {
        let n = fit.len().max(1) as f64;
        let mut mean = [0.0; 4];
        let mut scale = [1.0; 4];
        for c in 0..4 {
            mean[c] = fit
                .iter()
                .map(|&i| census.people[i].numeric[c])
                .sum::<f64>()
                / n;
            let var = fit
                .iter()
                .map(|&i| (census.people[i].numeric[c] - mean[c]).powi(2))
                .sum::<f64>()
                / n;
            // A constant column stays as it is (scale 1) instead of dividing by zero.
            scale[c] = if var > 0.0 { var.sqrt() } else { 1.0 };
        }
        let mut offsets = [0; 6];
        let mut width = 4;
        for (offset, values) in offsets.iter_mut().zip(&census.categories) {
            *offset = width;
            width += values.len();
        }
        Self {
            mean,
            scale,
            offsets,
            width: width + 1,
        }
    }

    /// The dense input row of `person`.
    pub fn row(&self, person: &Person) -> Vec<f64> {
        let mut x = vec![0.0; self.width];
        for c in 0..4 {
            x[c] = (person.numeric[c] - self.mean[c]) / self.scale[c];
        }
        for (offset, &index) in self.offsets.iter().zip(&person.category) {
            x[offset + index] = 1.0;
        }
        x[self.width - 1] = 1.0;
        x
    }
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// Solves `a x = b` for a symmetric positive definite `a` (n x n, row-major) by Cholesky.
fn solve_spd(mut a: Vec<f64>, mut b: Vec<f64>) -> Result<Vec<f64>, String> {
    let n = b.len();
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return Err(format!("the Hessian is not positive definite (pivot {j})"));
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut v = a[i * n + j];
            for k in 0..j {
                v -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = v / d;
        }
    }
    for i in 0..n {
        let mut v = b[i];
        for k in 0..i {
            v -= a[i * n + k] * b[k];
        }
        b[i] = v / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut v = b[i];
        for k in i + 1..n {
            v -= a[k * n + i] * b[k];
        }
        b[i] = v / a[i * n + i];
    }
    Ok(b)
}

/// The penalised log-loss's gradient at `w`: sum (p - y) x + L2 w (intercept, last, unpenalised).
pub fn gradient(rows: &[Vec<f64>], labels: &[usize], w: &[f64]) -> Vec<f64> {
    let d = w.len();
    let mut g: Vec<f64> = w.iter().map(|v| L2_PENALTY * v).collect();
    g[d - 1] = 0.0;
    for (x, &y) in rows.iter().zip(labels) {
        let r = sigmoid(dot(x, w)) - y as f64;
        for (gi, xi) in g.iter_mut().zip(x) {
            *gi += r * xi;
        }
    }
    g
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The Hessian of the L2-penalised summed log-loss at `w` (d x d, row-major).
fn log_loss_hessian(rows: &[Vec<f64>], w: &[f64]) -> Vec<f64> {
    let d = w.len();
    let mut h = vec![0.0; d * d];
    for i in 0..d - 1 {
        h[i * d + i] = L2_PENALTY;
    }
    for x in rows {
        let p = sigmoid(dot(x, w));
        let weight = (p * (1.0 - p)).max(1e-12);
        for (i, &xi) in x.iter().enumerate() {
            if xi == 0.0 {
                continue; // one-hot rows are mostly zeros
            }
            for (hij, &xj) in h[i * d..i * d + d].iter_mut().zip(x) {
                *hij += weight * xi * xj;
            }
        }
    }
    h
}

/// Logistic regression by Newton's method on the penalised log-loss (sklearn's default
/// objective), to a step below 1e-10. Gradient descent on the pooled clients is FedAvg with one
/// local step per round; Newton reaches the same optimum exactly, in a few iterations.
pub fn fit_logistic(rows: &[Vec<f64>], labels: &[usize]) -> Result<Vec<f64>, String> {
    let d = rows.first().map_or(0, Vec::len);
    if d == 0 {
        return Err("no training records".to_owned());
    }
    let mut w = vec![0.0; d];
    for _ in 0..100 {
        let g = gradient(rows, labels, &w);
        let step = solve_spd(log_loss_hessian(rows, &w), g)?;
        for (wi, si) in w.iter_mut().zip(&step) {
            *wi -= si;
        }
        if step.iter().all(|s| s.abs() < 1e-10) {
            return Ok(w);
        }
    }
    Err("Newton's method did not converge in 100 iterations".to_owned())
}

/// Fairness penalties on the soft predictions p = sigmoid(w . x), weighted as the page's FedAvg
/// weighs them (`fedavg.rs`): `global` G(w)^2 + `local` sum_k (n_k / N) gap_k(w)^2 per record,
/// where G is the difference in mean p between Z = 1 and Z = 0 over every record and gap_k the
/// same on client k. Added, times N, to the summed log-loss of [`fit_logistic`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Penalties {
    pub global: f64,
    pub local: f64,
}

impl Penalties {
    pub fn is_zero(self) -> bool {
        self.global == 0.0 && self.local == 0.0
    }
}

/// A penalised fit's training records: inputs, labels, each record's group Z and client S
/// (0 or 1), and the penalties.
pub struct FairFit<'a> {
    pub rows: &'a [Vec<f64>],
    pub labels: &'a [usize],
    pub z: &'a [usize],
    pub client: &'a [usize],
    pub penalties: Penalties,
}

/// One group's demographic-parity gap and its gradient: mean p over Z = 1 minus over Z = 0,
/// restricted to the records `member` admits; (0, 0) where a side is empty.
fn parity_gap(
    rows: &[Vec<f64>],
    p: &[f64],
    z: &[usize],
    member: impl Fn(usize) -> bool,
) -> (f64, Vec<f64>) {
    let d = rows.first().map_or(0, Vec::len);
    let mut sum = [0.0; 2];
    let mut count = [0usize; 2];
    let mut grad = [vec![0.0; d], vec![0.0; d]];
    for (i, x) in rows.iter().enumerate() {
        if !member(i) {
            continue;
        }
        let side = z[i].min(1);
        sum[side] += p[i];
        count[side] += 1;
        let slope = p[i] * (1.0 - p[i]);
        for (g, xi) in grad[side].iter_mut().zip(x) {
            *g += slope * xi;
        }
    }
    if count[0] == 0 || count[1] == 0 {
        return (0.0, vec![0.0; d]);
    }
    let (n0, n1) = (count[0] as f64, count[1] as f64);
    let gap = sum[1] / n1 - sum[0] / n0;
    let gradient = grad[1]
        .iter()
        .zip(&grad[0])
        .map(|(a, b)| a / n1 - b / n0)
        .collect();
    (gap, gradient)
}

impl FairFit<'_> {
    /// The penalty terms at predictions `p`: each as (weight, gap, gradient of the gap), so
    /// that the objective adds N weight gap^2.
    fn terms(&self, p: &[f64]) -> Vec<(f64, f64, Vec<f64>)> {
        let n = self.rows.len().max(1) as f64;
        let mut terms = Vec::new();
        if self.penalties.global > 0.0 {
            let (gap, grad) = parity_gap(self.rows, p, self.z, |_| true);
            terms.push((self.penalties.global, gap, grad));
        }
        if self.penalties.local > 0.0 {
            for k in 0..2 {
                let share = self.client.iter().filter(|&&c| c == k).count() as f64 / n;
                let (gap, grad) = parity_gap(self.rows, p, self.z, |i| self.client[i] == k);
                terms.push((self.penalties.local * share, gap, grad));
            }
        }
        terms
    }

    fn predictions(&self, w: &[f64]) -> Vec<f64> {
        self.rows.iter().map(|x| sigmoid(dot(x, w))).collect()
    }

    /// The penalised objective: summed log-loss, half the squared weights (intercept
    /// excluded), and N times the fairness penalties.
    pub fn objective(&self, w: &[f64]) -> f64 {
        let log_loss: f64 = self
            .rows
            .iter()
            .zip(self.labels)
            .map(|(x, &y)| {
                // log(1 + e^u) - y u, stable for large |u|.
                let u = dot(x, w);
                u.max(0.0) + (-u.abs()).exp().ln_1p() - y as f64 * u
            })
            .sum();
        let l2: f64 = 0.5 * L2_PENALTY * w[..w.len() - 1].iter().map(|v| v * v).sum::<f64>();
        let fairness: f64 = self
            .terms(&self.predictions(w))
            .iter()
            .map(|(weight, gap, _)| weight * gap * gap)
            .sum();
        log_loss + l2 + self.rows.len() as f64 * fairness
    }

    /// The gradient of [`FairFit::objective`].
    pub fn gradient(&self, w: &[f64]) -> Vec<f64> {
        self.gradient_with(w, &self.terms(&self.predictions(w)))
    }

    /// The gradient at `w` given its penalty terms (which [`FairFit::fit`] also needs for the
    /// Hessian, so they are computed once per step).
    fn gradient_with(&self, w: &[f64], terms: &[(f64, f64, Vec<f64>)]) -> Vec<f64> {
        let mut g = gradient(self.rows, self.labels, w);
        let n = self.rows.len() as f64;
        for (weight, gap, grad) in terms {
            for (gi, di) in g.iter_mut().zip(grad) {
                *gi += n * weight * 2.0 * gap * di;
            }
        }
        g
    }

    /// Logistic regression with the fairness penalties: Gauss-Newton steps (the log-loss's Hessian
    /// plus 2 N weight (grad gap)(grad gap)^T per penalty term, which keeps the system positive
    /// definite where the exact Hessian of a squared gap need not be), each shortened until the
    /// objective falls (Armijo). Starts from `start` (the unpenalised fit); stops when a step moves
    /// no weight by 1e-9 or the objective stops falling.
    pub fn fit(&self, start: &[f64]) -> Result<Vec<f64>, String> {
        let rows = self.rows;
        let d = start.len();
        if rows.is_empty() || rows.iter().any(|x| x.len() != d) {
            return Err("no training records, or rows of another width".to_owned());
        }
        let n = rows.len() as f64;
        let mut w = start.to_vec();
        let mut value = self.objective(&w);
        for _ in 0..200 {
            let terms = self.terms(&self.predictions(&w));
            let g = self.gradient_with(&w, &terms);
            let mut h = log_loss_hessian(rows, &w);
            for (weight, _, grad) in &terms {
                let scale = 2.0 * n * weight;
                for i in 0..d {
                    for j in 0..d {
                        h[i * d + j] += scale * grad[i] * grad[j];
                    }
                }
            }
            let step = solve_spd(h, g.clone())?;
            let slope: f64 = g.iter().zip(&step).map(|(a, b)| a * b).sum();
            let mut t = 1.0;
            let accepted = loop {
                let trial: Vec<f64> = w.iter().zip(&step).map(|(wi, si)| wi - t * si).collect();
                let trial_value = self.objective(&trial);
                if trial_value <= value - 1e-4 * t * slope {
                    break Some((trial, trial_value));
                }
                t *= 0.5;
                if t < 1e-10 {
                    break None;
                }
            };
            let Some((next, next_value)) = accepted else {
                return Ok(w); // no descent left along the step: converged to rounding
            };
            let moved = step.iter().map(|s| (t * s).abs()).fold(0.0, f64::max);
            let fell = value - next_value;
            w = next;
            value = next_value;
            if moved < 1e-9 || fell <= 1e-13 * value.abs().max(1.0) {
                return Ok(w);
            }
        }
        Err("the penalised fit did not converge in 200 steps".to_owned())
    }
}

/// One split's joint tables, laid out [((s * 2 + z) * 2 + y) * 2 + yhat] as counts.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitCounts {
    pub split: Split,
    pub train: Vec<u64>,
    pub held_out: Vec<u64>,
}

/// The whole experiment: the split into training and held-out records, the unpenalised model
/// (trained on every training record, which the splits only partition; a penalised model is
/// fitted per split and only its counts are kept), and each split's counts.
pub struct Experiment {
    pub weights: Vec<f64>,
    pub train_records: usize,
    pub held_out_records: usize,
    pub splits: Vec<SplitCounts>,
}

pub fn run(census: &Census, seed: u64, penalties: Penalties) -> Result<Experiment, String> {
    let mut rng = SplitMix64::new(seed);
    let (train, test) = train_test(census.people.len(), &mut rng);
    let features = Features::new(census, &train);
    let rows: Vec<Vec<f64>> = train
        .iter()
        .map(|&i| features.row(&census.people[i]))
        .collect();
    let labels: Vec<usize> = train.iter().map(|&i| census.people[i].y).collect();
    let z: Vec<usize> = train.iter().map(|&i| census.people[i].z).collect();
    let weights = fit_logistic(&rows, &labels)?;
    let mut splits = Vec::new();
    for split in Split::ALL {
        let [train_people, test_people] = [train.as_slice(), test.as_slice()]
            .map(|set| -> Vec<Person> { set.iter().map(|&i| census.people[i].clone()).collect() });
        // Both sets' clients first, in this order: the generator's draws, and so the unpenalised
        // tables, do not depend on the penalties.
        let train_clients = assign_clients(&train_people, split, &mut rng);
        let test_clients = assign_clients(&test_people, split, &mut rng);
        // A local penalty depends on the partition, so a penalised model is fitted per split.
        let model = if penalties.is_zero() {
            weights.clone()
        } else {
            let fit = FairFit {
                rows: &rows,
                labels: &labels,
                z: &z,
                client: &train_clients,
                penalties,
            };
            fit.fit(&weights)?
        };
        let predict = |person: &Person| usize::from(dot(&features.row(person), &model) >= 0.0);
        let count = |people: &[Person], clients: &[usize]| {
            let mut counts = vec![0u64; 16];
            for (person, &s) in people.iter().zip(clients) {
                counts[((s * 2 + person.z) * 2 + person.y) * 2 + predict(person)] += 1;
            }
            counts
        };
        splits.push(SplitCounts {
            split,
            train: count(&train_people, &train_clients),
            held_out: count(&test_people, &test_clients),
        });
    }
    Ok(Experiment {
        weights,
        train_records: train.len(),
        held_out_records: test.len(),
        splits,
    })
}

/// Counts as probabilities in the joint layout `aglfop` and `lab::pid_of` use.
pub fn joint(counts: &[u64]) -> Vec<f64> {
    let total = counts.iter().sum::<u64>().max(1) as f64;
    counts.iter().map(|&c| c as f64 / total).collect()
}

/// The compact table `paperlab pid` and `paperlab aglfop` read: `s,z,y,yhat,p`, one row per
/// non-empty cell.
pub fn table_csv(counts: &[u64]) -> String {
    let p = joint(counts);
    let mut out = String::from("s,z,y,yhat,p\n");
    for (cell, (&count, mass)) in counts.iter().zip(&p).enumerate() {
        if count == 0 {
            continue;
        }
        let (s, z, y, yhat) = (cell >> 3, (cell >> 2) & 1, (cell >> 1) & 1, cell & 1);
        out.push_str(&format!("{s},{z},{y},{yhat},{mass}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &str = "\
39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K
50, Self-emp-not-inc, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial, Husband, White, Male, 0, 0, 13, United-States, >50K

38, ?, 215646, HS-grad, 9, Divorced, ?, Not-in-family, Black, Female, 0, 0, 40, ?, <=50K.
";

    #[test]
    fn parses_the_census_format() {
        let census = parse(LINES).expect("parses");
        assert_eq!(census.people.len(), 3);
        assert_eq!(census.categories[0], ["?", "Self-emp-not-inc", "State-gov"]);
        let p = &census.people[2];
        assert_eq!((p.z, p.y), (0, 0), "female, <=50K. (adult.test's form)");
        assert_eq!(p.numeric, [38.0, 0.0, 0.0, 40.0]);
        assert_eq!(p.category[0], 0, "'?' is a category of its own");
        assert_eq!((census.people[1].z, census.people[1].y), (1, 1));
        for (bad, message) in [
            ("39, State-gov, 77516", "line 1: 3 fields"),
            (&LINES.replace("Male, 2174", "M, 2174"), "line 1: sex 'M'"),
            (&LINES.replace(">50K", "rich"), "line 2: income 'rich'"),
            (&LINES.replace("39,", "x,"), "line 1: 'x' is not a number"),
            ("\n\n", "no records"),
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.starts_with(message), "{err}");
        }
    }

    /// Synthetic people: z and y from the index, so group sizes are known.
    fn people(n: usize) -> Vec<Person> {
        (0..n)
            .map(|i| Person {
                numeric: [i as f64, 0.0, 0.0, 0.0],
                category: [0; 6],
                z: usize::from(i % 3 != 0),
                y: usize::from(i % 5 == 0),
            })
            .collect()
    }

    #[test]
    fn splits_follow_the_reference() {
        let people = people(3000);
        let count = |client: &[usize], k: usize, f: &dyn Fn(&Person) -> bool| {
            people
                .iter()
                .zip(client)
                .filter(|(p, c)| **c == k && f(p))
                .count()
        };
        let mut rng = SplitMix64::new(7);
        let men = people.iter().filter(|p| p.z == 1).count();
        let women = people.len() - men;

        let iid = assign_clients(&people, Split::Iid, &mut rng);
        assert_eq!(count(&iid, 0, &|_| true), 1500);

        let het = assign_clients(&people, Split::Heterogeneous, &mut rng);
        let (zero, one) = (count(&het, 0, &|_| true), count(&het, 1, &|_| true));
        let swap = (zero.min(one) as f64 * 0.01) as usize;
        let men_on_zero = count(&het, 0, &|p| p.z == 1);
        let exact = (0.92 * men as f64) as usize;
        assert!(
            men_on_zero.abs_diff(exact) <= swap,
            "{men_on_zero} vs {exact}"
        );
        let women_on_zero = count(&het, 0, &|p| p.z == 0);
        let exact = (0.08 * women as f64) as usize;
        assert!(
            women_on_zero.abs_diff(exact) <= swap,
            "{women_on_zero} vs {exact}"
        );
        assert_eq!(zero + one, people.len());

        let syn = assign_clients(&people, Split::Synergy, &mut rng);
        let (zero, one) = (count(&syn, 0, &|_| true), count(&syn, 1, &|_| true));
        let swap = (zero.min(one) as f64 * 0.01) as usize;
        assert!(swap > 0);
        // Exactly the swapped records sit on the other side.
        assert_eq!(count(&syn, 0, &|p| p.z != p.y), swap);
        assert_eq!(count(&syn, 1, &|p| p.z == p.y), swap);
    }

    #[test]
    fn the_fit_is_the_penalised_optimum() {
        // A noisy linear problem: the gradient at the returned weights vanishes, and they
        // classify better than chance.
        let mut rng = SplitMix64::new(3);
        let rows: Vec<Vec<f64>> = (0..400)
            .map(|_| vec![rng.next_normal(), rng.next_normal(), 1.0])
            .collect();
        let labels: Vec<usize> = rows
            .iter()
            .map(|x| usize::from(2.0 * x[0] - x[1] + 0.5 * rng.next_normal() > 0.0))
            .collect();
        let w = fit_logistic(&rows, &labels).expect("converges");
        let g = gradient(&rows, &labels, &w);
        assert!(g.iter().all(|v| v.abs() < 1e-8), "{g:?}");
        assert!(w[0] > 1.0 && w[1] < -0.5, "{w:?}");
        // Plain gradient descent (FedAvg with one local step on the pooled records) reaches
        // the same weights.
        let step = 1.0 / (0.25 * rows.iter().map(|x| dot(x, x)).sum::<f64>() + 1.0);
        let mut descent = vec![0.0; 3];
        for _ in 0..20_000 {
            let g = gradient(&rows, &labels, &descent);
            for (v, gi) in descent.iter_mut().zip(&g) {
                *v -= step * gi;
            }
        }
        for (a, b) in w.iter().zip(&descent) {
            assert!(
                (a - b).abs() < 1e-6,
                "Newton {w:?} against descent {descent:?}"
            );
        }
    }

    /// Records where a feature carries the group: z follows x0, y follows x0 and x1.
    fn grouped_rows(n: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<usize>, Vec<usize>, Vec<usize>) {
        let mut rng = SplitMix64::new(seed);
        let mut rows = Vec::new();
        let (mut labels, mut z, mut client) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let (a, b) = (rng.next_normal(), rng.next_normal());
            rows.push(vec![a, b, 1.0]);
            z.push(usize::from(a + 0.5 * rng.next_normal() > 0.0));
            labels.push(usize::from(a + b + 0.5 * rng.next_normal() > 0.0));
            client.push(i % 2);
        }
        (rows, labels, z, client)
    }

    #[test]
    fn the_fair_gradient_is_the_objectives() {
        let (rows, labels, z, client) = grouped_rows(300, 5);
        let fit = FairFit {
            rows: &rows,
            labels: &labels,
            z: &z,
            client: &client,
            penalties: Penalties {
                global: 3.0,
                local: 2.0,
            },
        };
        let w = [0.7, -0.4, 0.2];
        let g = fit.gradient(&w);
        for i in 0..3 {
            let h = 1e-5;
            let (mut up, mut down) = (w, w);
            up[i] += h;
            down[i] -= h;
            let numeric = (fit.objective(&up) - fit.objective(&down)) / (2.0 * h);
            assert!(
                (numeric - g[i]).abs() < 1e-5 * numeric.abs().max(1.0),
                "weight {i}: {numeric} against {}",
                g[i]
            );
        }
    }

    #[test]
    fn penalties_close_the_gap_they_penalise() {
        let (rows, labels, z, client) = grouped_rows(600, 9);
        let plain = fit_logistic(&rows, &labels).expect("converges");
        let soft_gap = |w: &[f64]| {
            let p: Vec<f64> = rows.iter().map(|x| sigmoid(dot(x, w))).collect();
            parity_gap(&rows, &p, &z, |_| true).0
        };
        let mut fit = FairFit {
            rows: &rows,
            labels: &labels,
            z: &z,
            client: &client,
            penalties: Penalties {
                global: 100.0,
                local: 0.0,
            },
        };
        let fair = fit.fit(&plain).expect("converges");
        // A stationary point of the penalised objective, below where it started.
        let g = fit.gradient(&fair);
        assert!(g.iter().all(|v| v.abs() < 1e-3), "{g:?}");
        assert!(fit.objective(&fair) < fit.objective(&plain));
        // The feature that carries the group opens a gap the penalty nearly closes.
        assert!(soft_gap(&plain) > 0.3, "{}", soft_gap(&plain));
        assert!(
            soft_gap(&fair).abs() < 0.1 * soft_gap(&plain),
            "{} against {}",
            soft_gap(&fair),
            soft_gap(&plain)
        );
        // No penalty: the plain fit is already the optimum.
        fit.penalties = Penalties::default();
        let same = fit.fit(&plain).expect("ok");
        for (a, b) in same.iter().zip(&plain) {
            assert!((a - b).abs() < 1e-9);
        }
    }

    #[test]
    fn tables_hold_every_record_once() {
        let text: String = (0..200)
            .map(|i| {
                format!(
                    "{}, Private, 1, {}, 9, Never-married, Sales, Own-child, White, {}, 0, 0, {}, United-States, {}\n",
                    20 + i % 40,
                    ["HS-grad", "Bachelors", "Masters"][i % 3],
                    if i % 3 == 0 { "Female" } else { "Male" },
                    30 + i % 20,
                    if i % 4 == 0 { ">50K" } else { "<=50K" },
                )
            })
            .collect();
        let census = parse(&text).expect("parses");
        let experiment = run(&census, 42, Penalties::default()).expect("runs");
        assert_eq!(experiment.train_records, 140);
        assert_eq!(experiment.held_out_records, 60);
        for split in &experiment.splits {
            assert_eq!(split.train.iter().sum::<u64>(), 140);
            assert_eq!(split.held_out.iter().sum::<u64>(), 60);
            let table = crate::labs::fairness::table::parse(&table_csv(&split.held_out))
                .expect("the CLI reads it");
            let (data, model) =
                crate::labs::fairness::table::client_tables(&table).expect("client tables");
            assert_eq!(data.clients, 2);
            assert!(model.is_some());
        }
        // Deterministic: the same seed gives the same tables.
        let again = run(&census, 42, Penalties::default()).expect("runs");
        assert_eq!(again.splits, experiment.splits);
    }

    /// The shipped tables (`scripts/adult-table`) are what the docs say they are.
    #[test]
    fn the_shipped_tables_are_the_reference_splits() {
        use crate::labs::fairness::{aglfop, table};
        let read = |text: &str| {
            let parsed = table::parse(text).expect("parses");
            let (data, model) = table::client_tables(&parsed).expect("two clients");
            (data, model.expect("a yhat column"))
        };
        for (set, files) in [
            (
                "train",
                [
                    include_str!("../../../assets/fairness/adult/iid-train.csv"),
                    include_str!("../../../assets/fairness/adult/heterogeneous-train.csv"),
                    include_str!("../../../assets/fairness/adult/synergy-train.csv"),
                ],
            ),
            (
                "held_out",
                [
                    include_str!("../../../assets/fairness/adult/iid-held_out.csv"),
                    include_str!("../../../assets/fairness/adult/heterogeneous-held_out.csv"),
                    include_str!("../../../assets/fairness/adult/synergy-held_out.csv"),
                ],
            ),
        ] {
            let [iid, het, syn] = files.map(read);
            // On client 0: P(S = 0 | Z = z) from the table.
            let on_zero = |d: &aglfop::Data, z: usize| {
                let mass = |s: usize| d.at(s, z, 0) + d.at(s, z, 1);
                mass(0) / (mass(0) + mass(1))
            };
            assert!((on_zero(&iid.0, 1) - 0.5).abs() < 0.02, "{set}");
            assert!((0.90..=0.92).contains(&on_zero(&het.0, 1)), "{set}");
            assert!((0.08..=0.10).contains(&on_zero(&het.0, 0)), "{set}");
            // Synergy: client 0 holds (Z, Y) = (0, 0) and (1, 1) but for the 1 % swapped.
            let off = syn.0.at(0, 0, 1) + syn.0.at(0, 1, 0);
            let client_zero: f64 = (0..2)
                .flat_map(|z| (0..2).map(move |y| (z, y)))
                .map(|(z, y)| syn.0.at(0, z, y))
                .sum();
            assert!(off > 0.0 && off <= 0.011 * client_zero, "{set}: {off}");
            // One model and one set of records under three partitions: the same accuracy and
            // global disparity, a different local one.
            let scores = [&iid.1, &het.1, &syn.1].map(|joint| aglfop::scores(2, joint));
            for s in &scores[1..] {
                assert!((s.accuracy - scores[0].accuracy).abs() < 1e-12, "{set}");
                assert!((s.global_disparity - scores[0].global_disparity).abs() < 1e-12);
            }
            assert!(
                scores[2].local_disparity > 4.0 * scores[0].local_disparity,
                "{set}"
            );
            // A census-income logistic regression: about 85 % accurate.
            assert!((0.84..0.86).contains(&scores[0].accuracy), "{set}");
        }
    }
}
