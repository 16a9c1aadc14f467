//! Dense matrix products for the MLP core, on `matrixmultiply`'s sgemm.
//!
//! Why a crate: a hand-written safe-Rust loop nest compiles to SSE2 only (the default x86-64
//! target), while `matrixmultiply` picks AVX2/FMA or AVX-512 kernels at run time and packs
//! panels for the cache — several times faster on the small GEMMs a GFlowNet step makes
//! (16..128 rows x 256 x 256). It is pure Rust, has no dependencies we would not want, and
//! builds for wasm32 (where it uses its portable kernel). No autograd framework: the MLP's
//! backward pass is written out in `mlp.rs`.

use super::few_rows;

/// A row-major view: element (r, c) is at `r * row_stride + c * col_stride`.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl View {
    /// A plain row-major `rows x cols` matrix.
    pub fn row_major(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same storage read as its transpose.
    pub fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// One past the largest index this view touches (0 for an empty view).
    fn extent(self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1
        }
    }
}

/// `c = alpha * a * b + beta * c` for views `a` (m x k), `b` (k x n), `c` (m x n).
///
/// # Panics
/// If the shapes disagree or a view reaches past its slice: both are bugs in the caller, and
/// the checks are what make the unsafe call below sound.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    alpha: f32,
    a: &[f32],
    av: View,
    b: &[f32],
    bv: View,
    beta: f32,
    c: &mut [f32],
    cv: View,
) {
    check_views(a, av, b, bv, c, cv);
    if cv.rows == 0 || cv.cols == 0 {
        return;
    }
    if alpha == 1.0 && av.col_stride == 1 && bv.col_stride == 1 && cv.col_stride == 1 {
        let rows = |v: View| few_rows::Rows {
            rows: v.rows,
            cols: v.cols,
            stride: v.row_stride,
        };
        if few_rows::try_gemm(a, rows(av), b, rows(bv), beta, c, rows(cv)) {
            return;
        }
    }
    packed_gemm(alpha, a, av, b, bv, beta, c, cv);
}

/// Panics unless the shapes agree and every view stays inside its slice.
fn check_views(a: &[f32], av: View, b: &[f32], bv: View, c: &[f32], cv: View) {
    assert!(
        av.cols == bv.rows && av.rows == cv.rows && bv.cols == cv.cols,
        "gemm shapes"
    );
    assert!(
        av.extent() <= a.len() && bv.extent() <= b.len() && cv.extent() <= c.len(),
        "gemm bounds"
    );
}

/// `gemm` by `matrixmultiply` (packing panels), whatever the shapes.
#[allow(clippy::too_many_arguments)]
pub(super) fn packed_gemm(
    alpha: f32,
    a: &[f32],
    av: View,
    b: &[f32],
    bv: View,
    beta: f32,
    c: &mut [f32],
    cv: View,
) {
    check_views(a, av, b, bv, c, cv);
    // Strides fit in isize: every slice is at most isize::MAX bytes long.
    let s = |x: usize| x as isize;
    #[allow(unsafe_code)]
    // SAFETY: `check_views` keeps every index the views describe inside its slice; `c` is
    // a unique borrow, so it aliases neither `a` nor `b`.
    unsafe {
        matrixmultiply::sgemm(
            av.rows,
            av.cols,
            bv.cols,
            alpha,
            a.as_ptr(),
            s(av.row_stride),
            s(av.col_stride),
            b.as_ptr(),
            s(bv.row_stride),
            s(bv.col_stride),
            beta,
            c.as_mut_ptr(),
            s(cv.row_stride),
            s(cv.col_stride),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], av: View, b: &[f32], bv: View) -> Vec<f32> {
        let mut c = vec![0.0; av.rows * bv.cols];
        for i in 0..av.rows {
            for j in 0..bv.cols {
                for k in 0..av.cols {
                    c[i * bv.cols + j] += a[i * av.row_stride + k * av.col_stride]
                        * b[k * bv.row_stride + j * bv.col_stride];
                }
            }
        }
        c
    }

    #[test]
    fn matches_naive_with_transposes() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k)
            .map(|i| crate::rng::hash_f32(1, i as u64))
            .collect();
        let bt: Vec<f32> = (0..n * k)
            .map(|i| crate::rng::hash_f32(2, i as u64))
            .collect();
        let av = View::row_major(m, k);
        // b is stored as its transpose (n x k) and read through a transposed view.
        let bv = View::row_major(n, k).transposed();
        let mut c = vec![1.0; m * n];
        gemm(1.0, &a, av, &bt, bv, 1.0, &mut c, View::row_major(m, n));
        let expected = naive(&a, av, &bt, bv);
        for (got, want) in c.iter().zip(&expected) {
            assert!((got - (want + 1.0)).abs() < 1e-5, "{got} vs {}", want + 1.0);
        }
    }

    /// The few-rows kernel against `matrixmultiply`, bit for bit: training (and the weights
    /// shipped from it) must not change with the path a product takes.
    #[test]
    fn few_rows_kernel_matches_matrixmultiply_bit_for_bit() {
        let mut seed = 10;
        let mut taken = 0;
        for &k in &[1, 3, 16, 255, 256, 257, 300, 600] {
            for &n in &[1, 3, 7, 8, 9, 16, 23, 24, 40, 65, 256] {
                for m in 1..=few_rows::MAX_ROWS {
                    for &beta in &[0.0, 1.0] {
                        seed += 1;
                        let value = |i: usize| crate::rng::hash_f32(seed, i as u64) - 0.5;
                        let a: Vec<f32> = (0..m * k).map(value).collect();
                        let b: Vec<f32> = (0..k * n).map(|i| value(i + m * k)).collect();
                        let c0: Vec<f32> = (0..m * n).map(|i| value(i + (m + n) * k)).collect();
                        let (av, bv, cv) = (
                            View::row_major(m, k),
                            View::row_major(k, n),
                            View::row_major(m, n),
                        );
                        let mut want = c0.clone();
                        packed_gemm(1.0, &a, av, &b, bv, beta, &mut want, cv);
                        let mut got = c0.clone();
                        gemm(1.0, &a, av, &b, bv, beta, &mut got, cv);
                        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&got), bits(&want), "m {m} k {k} n {n} beta {beta}");
                        let rows = |v: View| few_rows::Rows {
                            rows: v.rows,
                            cols: v.cols,
                            stride: v.row_stride,
                        };
                        let mut probe = c0;
                        taken += usize::from(few_rows::try_gemm(
                            &a,
                            rows(av),
                            &b,
                            rows(bv),
                            beta,
                            &mut probe,
                            rows(cv),
                        ));
                    }
                }
            }
        }
        // Where the fast path exists, the comparison above really exercised it.
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("fma") && std::is_x86_feature_detected!("avx2") {
            assert_eq!(taken, 8 * 11 * few_rows::MAX_ROWS * 2);
        }
        let _ = taken;
    }

    #[test]
    #[should_panic(expected = "gemm bounds")]
    fn refuses_a_view_past_its_slice() {
        let mut c = vec![0.0; 4];
        gemm(
            1.0,
            &[0.0; 3],
            View::row_major(2, 2),
            &[0.0; 4],
            View::row_major(2, 2),
            0.0,
            &mut c,
            View::row_major(2, 2),
        );
    }
}
