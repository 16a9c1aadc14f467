//! BROJA partial information decomposition (Bertschinger, Rauh, Olbrich, Jost, Ay 2014) of
//! I(T; (A, B)) into unique, redundant and synergistic parts, solved as the exponential-cone
//! program of BROJA-2PID (Makkeh, Theis, Vicente 2018) with Clarabel.
//!
//! Over Delta_P = {Q : Q(t, a) = P(t, a), Q(t, b) = P(t, b)}, minimising I_Q(T; A | B) is the
//! same as maximising H_Q(T | A, B) (H_Q(T | B) is fixed on Delta_P). Per support cell
//! i = (t, a, b): variables q_i and r_i with r_i <= q_i ln(q(a, b) / q_i) (one exponential cone),
//! maximise sum r_i.

use super::conic::{Affine, ConeProgram, Outcome};
use super::info::Joint3;

/// The decomposition, bits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pid {
    /// I(T; (A, B)).
    pub mi_joint: f64,
    pub mi_a: f64,
    pub mi_b: f64,
    pub unique_a: f64,
    pub unique_b: f64,
    pub redundant: f64,
    pub synergistic: f64,
    /// Clarabel reported reduced accuracy.
    pub almost: bool,
}

/// Parts this far below zero are solver round-off and are set to 0; anything more negative is
/// kept (and fails the checks), because it would mean a wrong solve, not round-off.
const ROUND_OFF_BITS: f64 = 1e-7;

fn clamp_round_off(v: f64) -> f64 {
    if v < 0.0 && v > -ROUND_OFF_BITS {
        0.0
    } else {
        v
    }
}

/// Decomposes I(T; (A, B)) for `p` laid out as [t][a][b]. `p` must be a distribution
/// (non-negative, summing to 1); the caller validates it.
pub fn broja(p: &Joint3) -> Result<Pid, String> {
    let [nt, na, nb] = p.dims;
    let p_ta = p.marginal2([0, 1]);
    let p_tb = p.marginal2([0, 2]);
    // Cells that Delta_P allows to be positive.
    let mut cell_var = vec![usize::MAX; nt * na * nb];
    let mut cells = Vec::new();
    for t in 0..nt {
        for a in 0..na {
            for b in 0..nb {
                if p_ta[t * na + a] > 0.0 && p_tb[t * nb + b] > 0.0 {
                    cell_var[p.index(t, a, b)] = cells.len();
                    cells.push((t, a, b));
                }
            }
        }
    }
    if cells.is_empty() {
        return Err("the distribution has no mass".to_owned());
    }
    let n = cells.len();
    // Variables: q_0..q_{n-1}, then r_0..r_{n-1}.
    let mut program = ConeProgram::new(2 * n);
    program.objective = (0..n).map(|i| (n + i, -1.0)).collect();
    for t in 0..nt {
        for a in 0..na {
            if p_ta[t * na + a] > 0.0 {
                let mut row = Affine::constant(-p_ta[t * na + a]);
                for b in 0..nb {
                    let v = cell_var[p.index(t, a, b)];
                    if v != usize::MAX {
                        row.terms.push((v, 1.0));
                    }
                }
                program.equal_zero(row);
            }
        }
        // Given all (t, a) rows, one (t, b) row per t is implied by the others: it is left
        // out so the equality system has full row rank.
        let last_b = (0..nb).rev().find(|&b| p_tb[t * nb + b] > 0.0);
        for b in 0..nb {
            if p_tb[t * nb + b] > 0.0 && Some(b) != last_b {
                let mut row = Affine::constant(-p_tb[t * nb + b]);
                for a in 0..na {
                    let v = cell_var[p.index(t, a, b)];
                    if v != usize::MAX {
                        row.terms.push((v, 1.0));
                    }
                }
                program.equal_zero(row);
            }
        }
    }
    for (i, &(_, a, b)) in cells.iter().enumerate() {
        let mut q_ab = Affine::constant(0.0);
        for t in 0..nt {
            let v = cell_var[p.index(t, a, b)];
            if v != usize::MAX {
                q_ab.terms.push((v, 1.0));
            }
        }
        program.exp_cone(Affine::var(n + i), Affine::var(i), q_ab);
    }
    let (x, almost) = match program.solve() {
        Outcome::Solved { x, almost } => (x, almost),
        Outcome::Failed(why) => return Err(why),
    };
    let mut q = Joint3::zeros(p.dims);
    for (i, &(t, a, b)) in cells.iter().enumerate() {
        // Interior-point iterates can sit a hair outside q >= 0.
        q.add(t, a, b, x[i].max(0.0));
    }
    let mi_a = p.mi_xy();
    let mi_b = p.mi_xz();
    let unique_a = q.cmi_xy_given_z();
    let unique_b = q.cmi_xz_given_y();
    Ok(Pid {
        mi_joint: p.mi_x_yz(),
        mi_a,
        mi_b,
        unique_a: clamp_round_off(unique_a),
        unique_b: clamp_round_off(unique_b),
        redundant: clamp_round_off(mi_a - unique_a),
        synergistic: clamp_round_off(p.cmi_xy_given_z() - unique_a),
        almost,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(t, a, b) from a list of equally likely (t, a, b) outcomes.
    fn uniform_over(dims: [usize; 3], outcomes: &[(usize, usize, usize)]) -> Joint3 {
        let mut p = Joint3::zeros(dims);
        for &(t, a, b) in outcomes {
            p.add(t, a, b, 1.0 / outcomes.len() as f64);
        }
        p
    }

    fn both_bits() -> Vec<(usize, usize)> {
        vec![(0, 0), (0, 1), (1, 0), (1, 1)]
    }

    fn check(p: &Joint3, uni_a: f64, uni_b: f64, red: f64, syn: f64) {
        let d = broja(p).expect("solved");
        let tol = 1e-6;
        assert!((d.unique_a - uni_a).abs() < tol, "{d:?}");
        assert!((d.unique_b - uni_b).abs() < tol, "{d:?}");
        assert!((d.redundant - red).abs() < tol, "{d:?}");
        assert!((d.synergistic - syn).abs() < tol, "{d:?}");
        // The identities, to solver tolerance.
        assert!((d.unique_a + d.redundant - d.mi_a).abs() < 1e-7, "{d:?}");
        assert!((d.unique_b + d.redundant - d.mi_b).abs() < 1e-7, "{d:?}");
        assert!(
            (d.unique_a + d.unique_b + d.redundant + d.synergistic - d.mi_joint).abs() < 1e-7,
            "{d:?}"
        );
        for part in [d.unique_a, d.unique_b, d.redundant, d.synergistic] {
            assert!(part >= -1e-9, "{d:?}");
        }
    }

    #[test]
    fn public_check_values() {
        let xor: Vec<_> = both_bits().iter().map(|&(a, b)| (a ^ b, a, b)).collect();
        check(&uniform_over([2, 2, 2], &xor), 0.0, 0.0, 0.0, 1.0);
        let and: Vec<_> = both_bits().iter().map(|&(a, b)| (a & b, a, b)).collect();
        check(&uniform_over([2, 2, 2], &and), 0.0, 0.0, 0.311278, 0.5);
        let copy: Vec<_> = both_bits()
            .iter()
            .map(|&(a, b)| (2 * a + b, a, b))
            .collect();
        check(&uniform_over([4, 2, 2], &copy), 1.0, 1.0, 0.0, 0.0);
        check(
            &uniform_over([2, 2, 2], &[(0, 0, 0), (1, 1, 1)]),
            0.0,
            0.0,
            1.0,
            0.0,
        );
        let unq: Vec<_> = both_bits().iter().map(|&(a, b)| (a, a, b)).collect();
        check(&uniform_over([2, 2, 2], &unq), 1.0, 0.0, 0.0, 0.0);
    }

    #[test]
    fn fairness_examples() {
        // Target Z, sources (Yhat, S).
        let unique: Vec<_> = both_bits().iter().map(|&(z, s)| (z, z, s)).collect();
        check(&uniform_over([2, 2, 2], &unique), 1.0, 0.0, 0.0, 0.0);
        check(
            &uniform_over([2, 2, 2], &[(0, 0, 0), (1, 1, 1)]),
            0.0,
            0.0,
            1.0,
            0.0,
        );
        let masked: Vec<_> = both_bits().iter().map(|&(z, s)| (z, z ^ s, s)).collect();
        check(&uniform_over([2, 2, 2], &masked), 0.0, 0.0, 0.0, 1.0);
    }

    #[test]
    fn random_tables_satisfy_bounds() {
        let mut rng = crate::rng::SplitMix64::new(7);
        for dims in [[2, 2, 2], [2, 2, 5], [3, 4, 2], [2, 3, 8]] {
            for _ in 0..10 {
                let mut p = Joint3::zeros(dims);
                for v in &mut p.p {
                    // Some exact zeros, as real tables have.
                    let u = rng.next_f64();
                    *v = if u < 0.2 { 0.0 } else { u };
                }
                let total = p.total();
                p.p.iter_mut().for_each(|v| *v /= total);
                let d = broja(&p).expect("solved");
                assert!(
                    (d.unique_a + d.unique_b + d.redundant + d.synergistic - d.mi_joint).abs()
                        < 1e-7,
                    "{d:?}"
                );
                for part in [d.unique_a, d.unique_b, d.redundant, d.synergistic] {
                    assert!(part >= 0.0, "{d:?}");
                }
                // Uni(A\B) <= min(I(T;A), I(T;A|B)) and Red <= min(I(T;A), I(T;B)).
                assert!(d.redundant <= d.mi_a.min(d.mi_b) + 1e-7, "{d:?}");
            }
        }
    }
}
