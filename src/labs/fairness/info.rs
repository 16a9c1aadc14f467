//! Entropies and (conditional) mutual information of small dense distributions, in bits.
//!
//! Zero cells contribute nothing (0 log 0 = 0); every sum runs over positive cells only, so no
//! `log(0)` and no NaN appear whatever the input. Information quantities are computed directly
//! as sums of `p log(p / q)` (not as differences of entropies), which keeps them accurate near
//! independence, and the last rounding error below zero is clamped.

/// log2(a / b) weighted by `p`, zero when `p` is zero.
fn term(p: f64, a: f64, b: f64) -> f64 {
    if p > 0.0 && a > 0.0 && b > 0.0 {
        p * (a / b).log2()
    } else {
        0.0
    }
}

/// Shannon entropy of a distribution, bits.
pub fn entropy(p: &[f64]) -> f64 {
    p.iter().map(|&v| term(v, 1.0, v)).sum::<f64>().max(0.0)
}

/// A dense joint distribution of three variables, `p[(x * ny + y) * nz + z]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Joint3 {
    pub dims: [usize; 3],
    pub p: Vec<f64>,
}

impl Joint3 {
    pub fn zeros(dims: [usize; 3]) -> Self {
        Self {
            dims,
            p: vec![0.0; dims[0] * dims[1] * dims[2]],
        }
    }

    pub fn index(&self, x: usize, y: usize, z: usize) -> usize {
        (x * self.dims[1] + y) * self.dims[2] + z
    }

    pub fn get(&self, x: usize, y: usize, z: usize) -> f64 {
        self.p[self.index(x, y, z)]
    }

    pub fn add(&mut self, x: usize, y: usize, z: usize, mass: f64) {
        let i = self.index(x, y, z);
        self.p[i] += mass;
    }

    pub fn total(&self) -> f64 {
        self.p.iter().sum()
    }

    /// The marginal over two of the three axes (`keep` in increasing order), row-major.
    pub fn marginal2(&self, keep: [usize; 2]) -> Vec<f64> {
        let [n0, n1, n2] = self.dims;
        let width = self.dims[keep[1]];
        let mut out = vec![0.0; self.dims[keep[0]] * width];
        for x in 0..n0 {
            for y in 0..n1 {
                for z in 0..n2 {
                    let idx = [x, y, z];
                    out[idx[keep[0]] * width + idx[keep[1]]] += self.get(x, y, z);
                }
            }
        }
        out
    }

    /// The marginal of one axis.
    pub fn marginal1(&self, axis: usize) -> Vec<f64> {
        let mut out = vec![0.0; self.dims[axis]];
        let [n0, n1, n2] = self.dims;
        for x in 0..n0 {
            for y in 0..n1 {
                for z in 0..n2 {
                    out[[x, y, z][axis]] += self.get(x, y, z);
                }
            }
        }
        out
    }

    /// I(X; Y), bits (Z summed out).
    pub fn mi_xy(&self) -> f64 {
        mutual_information(&self.marginal2([0, 1]), self.dims[0], self.dims[1])
    }

    /// I(X; Z), bits (Y summed out).
    pub fn mi_xz(&self) -> f64 {
        mutual_information(&self.marginal2([0, 2]), self.dims[0], self.dims[2])
    }

    /// I(X; (Y, Z)), bits.
    pub fn mi_x_yz(&self) -> f64 {
        mutual_information(&self.p, self.dims[0], self.dims[1] * self.dims[2])
    }

    /// I(X; Y | Z), bits.
    pub fn cmi_xy_given_z(&self) -> f64 {
        let [n0, n1, n2] = self.dims;
        let p_xz = self.marginal2([0, 2]);
        let p_yz = self.marginal2([1, 2]);
        let p_z = self.marginal1(2);
        let mut sum = 0.0;
        for x in 0..n0 {
            for y in 0..n1 {
                for z in 0..n2 {
                    let p = self.get(x, y, z);
                    sum += term(p, p * p_z[z], p_xz[x * n2 + z] * p_yz[y * n2 + z]);
                }
            }
        }
        sum.max(0.0)
    }

    /// I(X; Z | Y), bits.
    pub fn cmi_xz_given_y(&self) -> f64 {
        self.swap_yz().cmi_xy_given_z()
    }

    /// The same distribution with the Y and Z axes exchanged.
    pub fn swap_yz(&self) -> Self {
        let [n0, n1, n2] = self.dims;
        let mut out = Self::zeros([n0, n2, n1]);
        for x in 0..n0 {
            for y in 0..n1 {
                for z in 0..n2 {
                    out.add(x, z, y, self.get(x, y, z));
                }
            }
        }
        out
    }
}

/// I(X; Y) of a row-major `nx` x `ny` joint, bits.
pub fn mutual_information(p_xy: &[f64], nx: usize, ny: usize) -> f64 {
    let mut p_x = vec![0.0; nx];
    let mut p_y = vec![0.0; ny];
    for x in 0..nx {
        for y in 0..ny {
            p_x[x] += p_xy[x * ny + y];
            p_y[y] += p_xy[x * ny + y];
        }
    }
    let mut sum = 0.0;
    for x in 0..nx {
        for y in 0..ny {
            let p = p_xy[x * ny + y];
            sum += term(p, p, p_x[x] * p_y[y]);
        }
    }
    sum.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_information_of_known_cases() {
        assert!((entropy(&[0.5, 0.5]) - 1.0).abs() < 1e-15);
        assert_eq!(entropy(&[1.0, 0.0]), 0.0);
        // X = Y fair coin: 1 bit; independent: 0.
        assert!((mutual_information(&[0.5, 0.0, 0.0, 0.5], 2, 2) - 1.0).abs() < 1e-15);
        assert_eq!(mutual_information(&[0.25; 4], 2, 2), 0.0);
        // X = Y xor Z: I(X;Y) = 0, I(X;Y|Z) = 1.
        let mut xor = Joint3::zeros([2, 2, 2]);
        for y in 0..2 {
            for z in 0..2 {
                xor.add(y ^ z, y, z, 0.25);
            }
        }
        assert!(xor.mi_xy().abs() < 1e-15);
        assert!((xor.cmi_xy_given_z() - 1.0).abs() < 1e-15);
        assert!((xor.cmi_xz_given_y() - 1.0).abs() < 1e-15);
        assert!((xor.mi_x_yz() - 1.0).abs() < 1e-15);
        // Chain rule on an arbitrary table.
        let j = Joint3 {
            dims: [2, 3, 2],
            p: vec![
                0.1, 0.05, 0.0, 0.2, 0.07, 0.03, 0.15, 0.0, 0.1, 0.1, 0.05, 0.15,
            ],
        };
        assert!((j.mi_x_yz() - (j.mi_xz() + j.cmi_xy_given_z())).abs() < 1e-12);
        assert!((j.mi_x_yz() - (j.mi_xy() + j.cmi_xz_given_y())).abs() < 1e-12);
    }
}
