//! A GEMM for a few rows times a row-major weight panel, with no packing: the GFlowNet
//! rollout's per-step forward passes (16 rows or fewer, each against a 256 x 256 panel).
//!
//! Why: `matrixmultiply` packs the whole B panel on every call and computes in 16-row tiles
//! (AVX-512), so a 3-row product pays for packing 64 K weights and for 16 rows of FMAs; on
//! `bench gfn` that was 40% of training time (perf: 19% packing, 20% masked edge tiles).
//!
//! The results are bit for bit those of `matrixmultiply` on the machines where this path runs,
//! so that training, and the weights shipped from it, are unchanged. That holds because both
//! compute each output as one fused multiply-add chain over k in order, starting from zero,
//! restarted every `KC` values of k, each chunk added to C with one rounding (its fused
//! kernels: `fma(alpha, ab, beta * c)`, with alpha = 1 and beta = 1 an exact `ab + c`; its
//! masked edge tiles: `c * beta + alpha * ab`, the same for those alpha and beta). So the path
//! is taken only for alpha = 1 and beta of 0 or 1, and only where `matrixmultiply` itself picks
//! a fused kernel (x86-64 with FMA and AVX2; AVX-512 machines have both); elsewhere the caller
//! keeps `matrixmultiply`. A test compares the two bit for bit.

/// `matrixmultiply`'s k-chunk for f32 (`S_KC`): where it rounds partial sums into C.
#[cfg(target_arch = "x86_64")]
const KC: usize = 256;

/// The most rows this path takes: a GFlowNet rollout step's batch (16), where it measured
/// faster (`bench gfn`, 2-core AVX-512 box). Larger products (the backward pass over a whole
/// batch, sampling) stay with `matrixmultiply`, whose packing is amortised there; the crossover
/// was not measured.
pub const MAX_ROWS: usize = 16;

/// A dense row-major operand: `rows` rows of `cols` values, row `r` at `r * stride`.
#[derive(Clone, Copy, Debug)]
pub struct Rows {
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
}

/// `c = a * b + beta * c` with `beta` 0 or 1, for few-row `a`; `false` (nothing done) where
/// this path does not apply, so the caller falls back to `matrixmultiply`.
#[allow(clippy::too_many_arguments)]
pub fn try_gemm(
    a: &[f32],
    ar: Rows,
    b: &[f32],
    br: Rows,
    beta: f32,
    c: &mut [f32],
    cr: Rows,
) -> bool {
    let shapes_fit = ar.cols == br.rows && ar.rows == cr.rows && br.cols == cr.cols;
    if !shapes_fit || ar.rows == 0 || ar.rows > MAX_ROWS || ar.cols == 0 || cr.cols == 0 {
        return false;
    }
    let accumulate = if beta == 1.0 {
        true
    } else if beta == 0.0 {
        false
    } else {
        return false;
    };
    let fits =
        |x: &[f32], r: Rows| (r.rows - 1) * r.stride + r.cols <= x.len() && r.cols <= r.stride;
    if !(fits(a, ar) && fits(b, br) && fits(c, cr)) {
        return false;
    }
    fused::run(a, ar, b, br, accumulate, c, cr)
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod fused {
    use super::{KC, Rows};
    use std::arch::x86_64::{
        __m256, __m256i, __m512, __mmask16, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
        _mm256_loadu_si256, _mm256_maskload_ps, _mm256_maskstore_ps, _mm256_set1_ps,
        _mm256_setzero_ps, _mm256_storeu_ps, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps,
        _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_storeu_ps,
    };

    /// The vector width a kernel runs at.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Width {
        Avx2,
        Avx512,
    }

    /// The widest kernel this CPU runs, if matrixmultiply 0.3 runs a fused (FMA) kernel on it:
    /// it picks AVX-512 when `avx512f` is there, FMA + AVX2 otherwise, a non-fused one below.
    pub fn detect() -> Option<Width> {
        let fused = std::is_x86_feature_detected!("fma") && std::is_x86_feature_detected!("avx2");
        if fused && std::is_x86_feature_detected!("avx512f") {
            Some(Width::Avx512)
        } else if fused {
            Some(Width::Avx2)
        } else {
            None
        }
    }

    pub fn run(
        a: &[f32],
        ar: Rows,
        b: &[f32],
        br: Rows,
        add: bool,
        c: &mut [f32],
        cr: Rows,
    ) -> bool {
        match detect() {
            Some(width) => run_at(width, a, ar, b, br, add, c, cr),
            None => return false,
        }
        true
    }

    /// Runs at `width`, which `detect` must have offered (or a narrower one).
    #[allow(clippy::too_many_arguments)]
    pub fn run_at(
        width: Width,
        a: &[f32],
        ar: Rows,
        b: &[f32],
        br: Rows,
        add: bool,
        c: &mut [f32],
        cr: Rows,
    ) {
        let p = Operands { a, ar, b, br };
        match width {
            // SAFETY: `detect` found AVX-512F, AVX2 and FMA on this CPU.
            Width::Avx512 => unsafe { gemm_avx512(p, add, c, cr) },
            // SAFETY: `detect` found AVX2 and FMA on this CPU.
            Width::Avx2 => unsafe { gemm_avx2(p, add, c, cr) },
        }
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    fn gemm_avx512(p: Operands<'_>, add: bool, c: &mut [f32], cr: Rows) {
        gemm::<Avx512>(p, add, c, cr);
    }

    #[target_feature(enable = "avx2,fma")]
    fn gemm_avx2(p: Operands<'_>, add: bool, c: &mut [f32], cr: Rows) {
        gemm::<Avx2>(p, add, c, cr);
    }

    #[derive(Clone, Copy)]
    struct Operands<'a> {
        a: &'a [f32],
        ar: Rows,
        b: &'a [f32],
        br: Rows,
    }

    /// One vector width's operations. Every method is `inline(always)` and called only from
    /// the `target_feature` entry points above, into which it inlines.
    trait Lanes {
        type V: Copy;
        const N: usize;
        fn zero() -> Self::V;
        fn splat(x: f32) -> Self::V;
        /// a * b + c with one rounding.
        fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
        fn add(a: Self::V, b: Self::V) -> Self::V;
        /// The first N floats of `x` (which holds at least N).
        fn load(x: &[f32]) -> Self::V;
        fn store(x: &mut [f32], v: Self::V);
        /// The first `x.len()` (< N) floats of `x`, zeros beyond; touches nothing past `x`.
        fn load_part(x: &[f32]) -> Self::V;
        fn store_part(x: &mut [f32], v: Self::V);
    }

    struct Avx2;
    struct Avx512;

    /// Lanes `0..len` on (len < 8), as `_mm256_maskload_ps` wants them.
    #[inline(always)]
    fn mask8(len: usize) -> __m256i {
        let lanes: [i32; 8] = std::array::from_fn(|l| if l < len { -1 } else { 0 });
        // SAFETY: `lanes` is 8 readable i32s; AVX is there (callers run under `avx2`).
        unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) }
    }

    fn mask16(len: usize) -> __mmask16 {
        ((1u32 << len) - 1) as __mmask16
    }

    // SAFETY (every `unsafe` block in the two impls): the intrinsics need AVX2 + FMA or
    // AVX-512F, which the only callers (`gemm_avx2`, `gemm_avx512`) enable and `detect`
    // checked; loads and stores stay inside their slices (full ones assert the length, masked
    // ones touch only the first `x.len()` lanes).
    impl Lanes for Avx2 {
        type V = __m256;
        const N: usize = 8;
        #[inline(always)]
        fn zero() -> __m256 {
            unsafe { _mm256_setzero_ps() }
        }
        #[inline(always)]
        fn splat(x: f32) -> __m256 {
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        fn add(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_add_ps(a, b) }
        }
        #[inline(always)]
        fn load(x: &[f32]) -> __m256 {
            assert!(x.len() >= 8);
            unsafe { _mm256_loadu_ps(x.as_ptr()) }
        }
        #[inline(always)]
        fn store(x: &mut [f32], v: __m256) {
            assert!(x.len() >= 8);
            unsafe { _mm256_storeu_ps(x.as_mut_ptr(), v) }
        }
        #[inline(always)]
        fn load_part(x: &[f32]) -> __m256 {
            assert!(x.len() < 8);
            unsafe { _mm256_maskload_ps(x.as_ptr(), mask8(x.len())) }
        }
        #[inline(always)]
        fn store_part(x: &mut [f32], v: __m256) {
            assert!(x.len() < 8);
            unsafe { _mm256_maskstore_ps(x.as_mut_ptr(), mask8(x.len()), v) }
        }
    }

    impl Lanes for Avx512 {
        type V = __m512;
        const N: usize = 16;
        #[inline(always)]
        fn zero() -> __m512 {
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        fn splat(x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        fn add(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_add_ps(a, b) }
        }
        #[inline(always)]
        fn load(x: &[f32]) -> __m512 {
            assert!(x.len() >= 16);
            unsafe { _mm512_loadu_ps(x.as_ptr()) }
        }
        #[inline(always)]
        fn store(x: &mut [f32], v: __m512) {
            assert!(x.len() >= 16);
            unsafe { _mm512_storeu_ps(x.as_mut_ptr(), v) }
        }
        #[inline(always)]
        fn load_part(x: &[f32]) -> __m512 {
            assert!(x.len() < 16);
            unsafe { _mm512_maskz_loadu_ps(mask16(x.len()), x.as_ptr()) }
        }
        #[inline(always)]
        fn store_part(x: &mut [f32], v: __m512) {
            assert!(x.len() < 16);
            unsafe { _mm512_mask_storeu_ps(x.as_mut_ptr(), mask16(x.len()), v) }
        }
    }

    #[inline(always)]
    fn gemm<L: Lanes>(p: Operands<'_>, accumulate: bool, c: &mut [f32], cr: Rows) {
        let k = p.ar.cols;
        for (chunk, k0) in (0..k).step_by(KC).enumerate() {
            let kc = (k - k0).min(KC);
            // Later chunks always add to C, as matrixmultiply's beta = 1 after the first.
            let add = accumulate || chunk > 0;
            let mut i = 0;
            while i < p.ar.rows {
                let rows = (p.ar.rows - i).min(4);
                let panel = Panel { p, i, k0, kc };
                // R x V accumulators, R x V >= 8: enough independent FMA chains in flight to
                // hide the FMA latency whatever the number of rows.
                let wide = L::N == 16;
                match rows {
                    4 if wide => tile::<L, 4, 4>(panel, add, c, cr),
                    3 if wide => tile::<L, 3, 4>(panel, add, c, cr),
                    4 => tile::<L, 4, 2>(panel, add, c, cr),
                    3 => tile::<L, 3, 3>(panel, add, c, cr),
                    2 => tile::<L, 2, 4>(panel, add, c, cr),
                    _ => tile::<L, 1, 8>(panel, add, c, cr),
                }
                i += rows;
            }
        }
    }

    /// Rows `i..i + R` of `a` and the k-chunk `k0..k0 + kc` they multiply.
    #[derive(Clone, Copy)]
    struct Panel<'a> {
        p: Operands<'a>,
        i: usize,
        k0: usize,
        kc: usize,
    }

    impl Panel<'_> {
        #[inline(always)]
        fn a_row(&self, r: usize) -> &[f32] {
            let start = (self.i + r) * self.p.ar.stride + self.k0;
            &self.p.a[start..start + self.kc]
        }

        /// `width` values of b's row `k0 + kk` from column `j`.
        #[inline(always)]
        fn b_at(&self, kk: usize, j: usize, width: usize) -> &[f32] {
            let start = (self.k0 + kk) * self.p.br.stride + j;
            &self.p.b[start..start + width]
        }
    }

    /// `R` rows of C: blocks of V vectors, then single vectors, then a masked one; each
    /// output one FMA chain over the chunk's k in order (lanes never mix), then added to C
    /// once.
    #[inline(always)]
    fn tile<L: Lanes, const R: usize, const V: usize>(
        p: Panel<'_>,
        add: bool,
        c: &mut [f32],
        cr: Rows,
    ) {
        let a_rows: [&[f32]; R] = std::array::from_fn(|r| p.a_row(r));
        let j = block::<L, R, V>(p, &a_rows, add, c, cr, 0);
        let j = block::<L, R, 1>(p, &a_rows, add, c, cr, j);
        tail::<L, R>(p, &a_rows, add, c, cr, j);
    }

    /// Columns from `j` in blocks of V vectors while a whole block fits; returns the first
    /// column left.
    #[inline(always)]
    fn block<L: Lanes, const R: usize, const V: usize>(
        p: Panel<'_>,
        a_rows: &[&[f32]; R],
        add: bool,
        c: &mut [f32],
        cr: Rows,
        mut j: usize,
    ) -> usize {
        let width = L::N * V;
        while j + width <= cr.cols {
            let mut acc = [[L::zero(); V]; R];
            for kk in 0..p.kc {
                let brow = p.b_at(kk, j, width);
                let bv: [L::V; V] = std::array::from_fn(|v| L::load(&brow[L::N * v..]));
                for r in 0..R {
                    let av = L::splat(a_rows[r][kk]);
                    for v in 0..V {
                        acc[r][v] = L::fma(av, bv[v], acc[r][v]);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                let start = (p.i + r) * cr.stride + j;
                let out = &mut c[start..start + width];
                for (v, &sum) in acc.iter().enumerate() {
                    let lane = &mut out[L::N * v..L::N * (v + 1)];
                    let sum = if add { L::add(L::load(lane), sum) } else { sum };
                    L::store(lane, sum);
                }
            }
            j += width;
        }
        j
    }

    /// The last `cr.cols - j` (< N) columns, as masked vectors.
    #[inline(always)]
    fn tail<L: Lanes, const R: usize>(
        p: Panel<'_>,
        a_rows: &[&[f32]; R],
        add: bool,
        c: &mut [f32],
        cr: Rows,
        j: usize,
    ) {
        let width = cr.cols - j;
        if width == 0 {
            return;
        }
        let mut acc = [L::zero(); R];
        for kk in 0..p.kc {
            let bv = L::load_part(p.b_at(kk, j, width));
            for r in 0..R {
                acc[r] = L::fma(L::splat(a_rows[r][kk]), bv, acc[r]);
            }
        }
        for (r, &sum) in acc.iter().enumerate() {
            let start = (p.i + r) * cr.stride + j;
            let out = &mut c[start..start + width];
            let sum = if add {
                L::add(L::load_part(out), sum)
            } else {
                sum
            };
            L::store_part(out, sum);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod fused {
    use super::Rows;

    /// Elsewhere `matrixmultiply` keeps every product (its kernels there round differently).
    pub fn run(_: &[f32], _: Rows, _: &[f32], _: Rows, _: bool, _: &mut [f32], _: Rows) -> bool {
        false
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::fused::{Width, detect, run_at};
    use super::*;
    use crate::nn::View;

    /// Each vector width this CPU has (AVX2 also on AVX-512 machines, which run AVX-512 in
    /// training) against `matrixmultiply`, bit for bit, on few-row shapes of every kind of edge.
    #[test]
    fn every_width_matches_matrixmultiply_bit_for_bit() {
        let widths = match detect() {
            Some(Width::Avx512) => vec![Width::Avx512, Width::Avx2],
            Some(Width::Avx2) => vec![Width::Avx2],
            None => return,
        };
        let mut seed = 100;
        for width in widths {
            for &(m, k, n) in &[
                (16, 256, 256),
                (5, 16, 256),
                (13, 300, 67),
                (1, 257, 129),
                (7, 9, 3),
            ] {
                for beta in [0.0, 1.0] {
                    seed += 1;
                    let value = |i: usize| crate::rng::hash_f32(seed, i as u64) - 0.5;
                    let a: Vec<f32> = (0..m * k).map(value).collect();
                    let b: Vec<f32> = (0..k * n).map(|i| value(i + m * k)).collect();
                    let c0: Vec<f32> = (0..m * n).map(|i| value(i + (m + n) * k)).collect();
                    let mut want = c0.clone();
                    crate::nn::gemm::packed_gemm(
                        1.0,
                        &a,
                        View::row_major(m, k),
                        &b,
                        View::row_major(k, n),
                        beta,
                        &mut want,
                        View::row_major(m, n),
                    );
                    let mut got = c0;
                    let rows = |rows, cols| Rows {
                        rows,
                        cols,
                        stride: cols,
                    };
                    run_at(
                        width,
                        &a,
                        rows(m, k),
                        &b,
                        rows(k, n),
                        beta == 1.0,
                        &mut got,
                        rows(m, n),
                    );
                    let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{width:?} m {m} k {k} n {n} beta {beta}"
                    );
                }
            }
        }
    }
}
