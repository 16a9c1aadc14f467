//! Seeded, counter-based random numbers.
//!
//! `hash_f32(seed, i)` depends only on (seed, i), so any element of a large seeded input can be
//! regenerated on its own (a benchmark checks a few GEMV rows without keeping the matrix), and
//! inputs can be generated in slices across frames with the same result as all at once.

/// SplitMix64 finaliser: a bijective 64-bit mix with good avalanche.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform `u64` for element `index` of the stream `seed`.
pub fn hash_u64(seed: u64, index: u64) -> u64 {
    mix64(
        seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(index)
            .wrapping_add(0x632b_e59b_d9b4_e019),
    )
}

/// A uniform `f32` in [-1, 1) for element `index` of the stream `seed` (24 random bits, exact).
pub fn hash_f32(seed: u64, index: u64) -> f32 {
    let bits24 = (hash_u64(seed, index) >> 40) as u32;
    (bits24 as f32) * (2.0 / 16_777_216.0) - 1.0
}

/// Fills `out` with elements `start..start + out.len()` of the stream `seed`.
pub fn fill_f32(seed: u64, start: u64, out: &mut [f32]) {
    for (offset, value) in out.iter_mut().enumerate() {
        *value = hash_f32(seed, start + offset as u64);
    }
}

/// A small sequential generator (SplitMix64) for tests and sampling on the CPU.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Standard normal by Box-Muller (one of the pair; the other is dropped).
    pub fn next_normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Uniform in 0..n (n > 0), by rejection so there is no modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        if n <= 1 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let r = self.next_u64();
            if r < zone {
                return r % n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_f32_is_in_range_and_centred() {
        let n = 100_000u64;
        let mut sum = 0.0f64;
        for i in 0..n {
            let v = hash_f32(7, i);
            assert!((-1.0..1.0).contains(&v), "{v} out of [-1, 1)");
            sum += f64::from(v);
        }
        let mean = sum / n as f64;
        // Standard error of the mean of U(-1,1) is 0.577/sqrt(n) = 0.0018; 5 sigma.
        assert!(mean.abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn slices_equal_the_whole() {
        let mut whole = vec![0.0f32; 1000];
        fill_f32(3, 0, &mut whole);
        let mut parts = vec![0.0f32; 1000];
        let (a, b) = parts.split_at_mut(333);
        fill_f32(3, 0, a);
        fill_f32(3, 333, b);
        assert_eq!(whole, parts);
        // A different seed gives a different stream.
        let mut other = vec![0.0f32; 1000];
        fill_f32(4, 0, &mut other);
        assert_ne!(whole, other);
    }

    #[test]
    fn below_covers_range_uniformly() {
        let mut rng = SplitMix64::new(1);
        let mut counts = [0u32; 5];
        for _ in 0..50_000 {
            counts[rng.below(5) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }
}

/// 32-bit integer hash (Chris Wellons' "lowbias32"), identical in WGSL (`shaders/*.wgsl`
/// `hash32`): the GPU and its Rust reference draw the same numbers.
pub fn hash32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// A counter-based draw for (seed, stream, counter): e.g. (run seed, trajectory, step).
pub fn hash3(seed: u32, stream: u32, counter: u32) -> u32 {
    let h = hash32(counter ^ 0x9e37_79b9);
    let h = hash32(stream.wrapping_add(h));
    hash32(seed.wrapping_add(h))
}

/// A uniform f32 in [0, 1) from 24 bits of a hash (exact in f32, same in WGSL).
pub fn unit_f32(h: u32) -> f32 {
    (h >> 8) as f32 * (1.0 / 16_777_216.0)
}

#[cfg(test)]
mod hash3_tests {
    use super::*;

    #[test]
    fn distinct_inputs_give_distinct_draws() {
        // Zero is a fixed point of the finaliser; everything else moves.
        assert_eq!(hash32(0), 0);
        assert_ne!(hash32(1), 1);
        let a = hash3(1, 2, 3);
        assert_ne!(a, hash3(1, 2, 4));
        assert_ne!(a, hash3(1, 3, 3));
        assert_ne!(a, hash3(2, 2, 3));
    }

    #[test]
    fn unit_is_uniform() {
        let n = 100_000u32;
        let mut buckets = [0u32; 10];
        for i in 0..n {
            let u = unit_f32(hash3(7, i, 0));
            assert!((0.0..1.0).contains(&u));
            buckets[(u * 10.0) as usize] += 1;
        }
        for b in buckets {
            assert!((9_500..10_500).contains(&b), "{buckets:?}");
        }
    }
}
