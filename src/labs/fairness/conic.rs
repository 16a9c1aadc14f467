//! A small builder for Clarabel cone programs: minimise c'x subject to rows `a_i x + s_i = b_i`
//! with s in zero, nonnegative and exponential cones, written row by row.
//!
//! Clarabel's exponential cone is the closure of {(u, v, w) : v > 0, v exp(u / v) <= w}, i.e.
//! u <= v ln(w / v): the shape of one `-p log(p / q)` term of a relative entropy.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettings, DefaultSolver, ExponentialConeT, IPSolver, NonnegativeConeT, SolverStatus,
    SupportedConeT, ZeroConeT,
};

/// An affine expression in the program's variables: `constant + sum coef * x[var]`.
#[derive(Clone, Debug, Default)]
pub struct Affine {
    pub constant: f64,
    pub terms: Vec<(usize, f64)>,
}

impl Affine {
    pub fn constant(value: f64) -> Self {
        Self {
            constant: value,
            terms: Vec::new(),
        }
    }

    pub fn var(index: usize) -> Self {
        Self {
            constant: 0.0,
            terms: vec![(index, 1.0)],
        }
    }

    pub fn plus(mut self, other: &Affine, scale: f64) -> Self {
        self.constant += scale * other.constant;
        self.terms
            .extend(other.terms.iter().map(|&(i, c)| (i, c * scale)));
        self
    }

    pub fn scaled(&self, scale: f64) -> Self {
        Affine::constant(0.0).plus(self, scale)
    }

    pub fn eval(&self, x: &[f64]) -> f64 {
        self.constant + self.terms.iter().map(|&(i, c)| c * x[i]).sum::<f64>()
    }
}

#[derive(Default)]
pub struct ConeProgram {
    pub vars: usize,
    pub objective: Vec<(usize, f64)>,
    zero: Vec<Affine>,
    nonneg: Vec<Affine>,
    exp: Vec<[Affine; 3]>,
}

/// How a solve ended; numbers are only given for `Solved` and `AlmostSolved`.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Solved { x: Vec<f64>, almost: bool },
    Failed(String),
}

impl ConeProgram {
    pub fn new(vars: usize) -> Self {
        Self {
            vars,
            ..Self::default()
        }
    }

    /// expr == 0.
    pub fn equal_zero(&mut self, expr: Affine) {
        self.zero.push(expr);
    }

    /// expr >= 0.
    pub fn nonnegative(&mut self, expr: Affine) {
        self.nonneg.push(expr);
    }

    /// u <= v ln(w / v) (with v, w >= 0).
    pub fn exp_cone(&mut self, u: Affine, v: Affine, w: Affine) {
        self.exp.push([u, v, w]);
    }

    /// Solves with tolerances tighter than Clarabel's defaults: the public check values are
    /// compared at 1e-6 bits and the solutions feed further information computations.
    pub fn solve(&self) -> Outcome {
        let first = self.solve_with(1e-10);
        if matches!(first, Outcome::Solved { almost: false, .. }) {
            return first;
        }
        // Once more at Clarabel's default tolerances (1e-8): its "solved" there is a normal
        // solve; otherwise the first answer (reduced accuracy, or the failure) stands.
        match (self.solve_with(1e-8), &first) {
            (solved @ Outcome::Solved { almost: false, .. }, _) => solved,
            (almost @ Outcome::Solved { .. }, Outcome::Failed(_)) => almost,
            _ => first,
        }
    }

    fn solve_with(&self, tolerance: f64) -> Outcome {
        // Row r encodes s_r = expr_r(x) = constant + t.x, i.e. A = -t, b = constant.
        let mut rows_i = Vec::new();
        let mut cols_j = Vec::new();
        let mut values = Vec::new();
        let mut b = Vec::new();
        let mut push_row = |expr: &Affine| {
            let r = b.len();
            for &(j, c) in &expr.terms {
                rows_i.push(r);
                cols_j.push(j);
                values.push(-c);
            }
            b.push(expr.constant);
        };
        let mut cones: Vec<SupportedConeT<f64>> = Vec::new();
        for e in &self.zero {
            push_row(e);
        }
        if !self.zero.is_empty() {
            cones.push(ZeroConeT(self.zero.len()));
        }
        for e in &self.nonneg {
            push_row(e);
        }
        if !self.nonneg.is_empty() {
            cones.push(NonnegativeConeT(self.nonneg.len()));
        }
        for triple in &self.exp {
            for e in triple {
                push_row(e);
            }
            cones.push(ExponentialConeT());
        }
        let m = b.len();
        let a = CscMatrix::new_from_triplets(m, self.vars, rows_i, cols_j, values);
        let p = CscMatrix::zeros((self.vars, self.vars));
        let mut q = vec![0.0; self.vars];
        for &(j, c) in &self.objective {
            q[j] += c;
        }
        let settings = DefaultSettings {
            verbose: false,
            tol_gap_abs: tolerance,
            tol_gap_rel: tolerance,
            tol_feas: tolerance,
            max_iter: 200,
            ..DefaultSettings::default()
        };
        let mut solver = match DefaultSolver::new(&p, &q, &a, &b, &cones, settings) {
            Ok(solver) => solver,
            Err(e) => return Outcome::Failed(format!("the solver refused the program: {e:?}")),
        };
        solver.solve();
        let status = solver.solution.status;
        match status {
            SolverStatus::Solved | SolverStatus::AlmostSolved => Outcome::Solved {
                x: solver.solution.x.clone(),
                almost: status == SolverStatus::AlmostSolved,
            },
            other => Outcome::Failed(format!("solver status {other:?}")),
        }
    }
}
