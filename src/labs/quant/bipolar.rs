//! Arbitrary-precision products by bit planes (bipolar-INT, arXiv 2409.17870).
//!
//! A p-bit bipolar value is L = sum_{i<p} 2^i b_i with b_i in {-1, +1}, stored as bits
//! s_i = (b_i + 1) / 2, i.e. L = 2u - (2^p - 1) with u = sum 2^i s_i. A dot product of a p-bit
//! and a q-bit vector over K lanes splits into p q one-bit products:
//! sum_i sum_j 2^(i+j) (K - 2 popcount(a_i XOR w_j)), 32 lanes per u32 word. This module is the
//! reference of the planned WGSL kernel (which has `countOneBits`), checked against plain
//! integer arithmetic.

use crate::rng::SplitMix64;

/// `bits` planes of a vector of `len` bipolar levels, each plane `words` u32 (lanes padded with
/// zero bits, which XOR to zero and so add nothing to a popcount).
#[derive(Clone, Debug, PartialEq)]
pub struct Planes {
    pub bits: u32,
    pub len: usize,
    pub words: usize,
    pub data: Vec<u32>,
}

impl Planes {
    pub fn plane(&self, i: u32) -> &[u32] {
        let start = i as usize * self.words;
        &self.data[start..start + self.words]
    }
}

/// Encodes odd levels in [-(2^p - 1), 2^p - 1] as planes; `Err` names the first bad level.
pub fn encode(levels: &[i32], bits: u32) -> Result<Planes, String> {
    if !(1..=8).contains(&bits) {
        return Err(format!("{bits} bits: 1 to 8 are supported"));
    }
    let top = (1i32 << bits) - 1;
    let words = levels.len().div_ceil(32);
    let mut data = vec![0u32; words * bits as usize];
    for (k, &l) in levels.iter().enumerate() {
        if l % 2 == 0 || l.abs() > top {
            return Err(format!(
                "level {l} at {k} is not an odd integer within +-{top}"
            ));
        }
        let u = ((l + top) / 2) as u32;
        for i in 0..bits {
            if (u >> i) & 1 == 1 {
                data[i as usize * words + k / 32] |= 1 << (k % 32);
            }
        }
    }
    Ok(Planes {
        bits,
        len: levels.len(),
        words,
        data,
    })
}

/// The dot product of two encoded vectors of equal length, by XOR and popcount.
pub fn dot(a: &Planes, w: &Planes) -> i64 {
    let k = a.len as i64;
    let mut total = 0i64;
    for i in 0..a.bits {
        for j in 0..w.bits {
            let disagree: u32 = a
                .plane(i)
                .iter()
                .zip(w.plane(j))
                .map(|(x, y)| (x ^ y).count_ones())
                .sum();
            total += (k - 2 * i64::from(disagree)) << (i + j);
        }
    }
    total
}

/// y = W x for W given as one encoded row per output, x encoded once.
pub fn gemv(rows: &[Planes], x: &Planes) -> Vec<i64> {
    rows.iter().map(|r| dot(r, x)).collect()
}

/// `n` uniformly random odd levels of `bits` bits (test and self-test inputs).
pub fn random_levels(n: usize, bits: u32, rng: &mut SplitMix64) -> Vec<i32> {
    let top = (1i32 << bits) - 1;
    (0..n)
        .map(|_| 2 * rng.below(1 << bits) as i32 - top)
        .collect()
}

/// One-bit products a `gemv` performs per output: p q planes of ceil(K / 32) words.
pub fn word_ops(p: u32, q: u32, k: usize) -> u64 {
    u64::from(p * q) * k.div_ceil(32) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_plane_products_equal_the_integer_reference() {
        let mut rng = SplitMix64::new(11);
        for p in 1..=8 {
            for q in 1..=8 {
                for k in [1, 31, 32, 33, 100] {
                    let w: Vec<Vec<i32>> = (0..3).map(|_| random_levels(k, p, &mut rng)).collect();
                    let x = random_levels(k, q, &mut rng);
                    let rows: Vec<Planes> =
                        w.iter().map(|r| encode(r, p).expect("valid")).collect();
                    let got = gemv(&rows, &encode(&x, q).expect("valid"));
                    let want: Vec<i64> = w
                        .iter()
                        .map(|r| {
                            r.iter()
                                .zip(&x)
                                .map(|(a, b)| i64::from(*a) * i64::from(*b))
                                .sum()
                        })
                        .collect();
                    assert_eq!(got, want, "p {p} q {q} k {k}");
                }
            }
        }
    }

    #[test]
    fn bad_levels_are_refused() {
        assert!(encode(&[2], 2).is_err());
        assert!(encode(&[5], 2).is_err());
        assert!(encode(&[1], 9).is_err());
        assert!(encode(&[-3, 3, 1, -1], 2).is_ok());
    }
}
