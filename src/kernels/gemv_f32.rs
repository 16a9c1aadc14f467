//! f32 GEMV kernels: y = W x for row-major W, in two shapes with one Rust reference:
//! `shaders/gemv_f32.wgsl` (workgroup per row, for GPUs) and `shaders/gemv_f32_rowwise.wgsl`
//! (thread per row, for software adapters).

use crate::gpu::kernel::{storage_buffer_init, storage_buffer_output, uniform_u32s};
use crate::gpu::{Dispatch, GpuContext, GpuError, Grid, Kernel, KernelRun, RunSpec};

/// Threads per workgroup; must match both shaders.
pub const WG_SIZE: u32 = 64;

/// Which kernel shape computes the product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GemvVariant {
    /// One workgroup per row, coalesced loads and a tree reduction: for GPUs.
    Workgroup,
    /// One thread per four rows, no barriers: for software adapters, where barriers are expensive.
    Rowwise,
}

impl GemvVariant {
    /// The variant measured faster on this kind of adapter (docs/BENCHMARKS.md).
    pub fn for_adapter(ctx: &GpuContext) -> Self {
        if ctx.adapter.is_cpu {
            Self::Rowwise
        } else {
            Self::Workgroup
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Workgroup => "workgroup per row",
            Self::Rowwise => "thread per 4 rows",
        }
    }

    fn rows_per_workgroup(self) -> u64 {
        match self {
            Self::Workgroup => 1,
            // gemv_f32_rowwise.wgsl: four rows per thread, sharing each load of x.
            Self::Rowwise => 4 * u64::from(WG_SIZE),
        }
    }
}

/// Rust reference (and CPU fallback) for a block of rows: `y_rows[r] = W_rows[r, :] . x`.
///
/// Eight independent accumulators let the compiler vectorise the dot product (a single running
/// sum is a serial dependency chain); the summation order therefore differs from the GPU's tree,
/// and results agree within the rounding bound of [`gemv_error_bound`], not bit for bit.
pub fn gemv_f32_rows(w_rows: &[f32], x: &[f32], y_rows: &mut [f32]) {
    let cols = x.len();
    for (row, y) in w_rows.chunks_exact(cols.max(1)).zip(y_rows.iter_mut()) {
        let mut acc = [0.0f32; 8];
        let mut row_chunks = row.chunks_exact(8);
        let mut x_chunks = x.chunks_exact(8);
        for (wc, xc) in (&mut row_chunks).zip(&mut x_chunks) {
            for k in 0..8 {
                acc[k] += wc[k] * xc[k];
            }
        }
        let mut tail = 0.0f32;
        for (w, xv) in row_chunks.remainder().iter().zip(x_chunks.remainder()) {
            tail += w * xv;
        }
        *y = ((acc[0] + acc[4]) + (acc[1] + acc[5]))
            + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
            + tail;
    }
}

/// Rust reference for the whole product.
pub fn gemv_f32_reference(w: &[f32], x: &[f32], rows: usize) -> Vec<f32> {
    let mut y = vec![0.0f32; rows];
    gemv_f32_rows(w, x, &mut y);
    y
}

/// Exact-enough oracle for one row, in f64: (dot product, sum of |w_j x_j|).
pub fn gemv_row_oracle(w_row: &[f32], x: &[f32]) -> (f64, f64) {
    w_row
        .iter()
        .zip(x)
        .fold((0.0, 0.0), |(dot, abs), (&w, &xv)| {
            let p = f64::from(w) * f64::from(xv);
            (dot + p, abs + p.abs())
        })
}

/// A rigorous bound on |computed - exact| for an f32 dot product of length `cols` summed in any
/// order (with or without FMA): gamma_n * sum|w_j x_j| with gamma_n ~ n * u, u = 2^-24, plus
/// one rounding of the result. A wrong index or a lost term breaks it by orders of magnitude.
pub fn gemv_error_bound(cols: usize, abs_sum: f64) -> f64 {
    let unit_roundoff = f64::from(f32::EPSILON) / 2.0;
    (cols as f64 + 1.0) * unit_roundoff * abs_sum + f64::from(f32::MIN_POSITIVE)
}

/// Checks selected rows of a computed `y` against the f64 oracle: (max |error|, max error/bound).
pub fn check_rows(
    w: &dyn Fn(usize) -> Vec<f32>,
    x: &[f32],
    y: &[f32],
    rows_to_check: &[usize],
) -> (f64, f64) {
    let mut max_abs_error = 0.0f64;
    let mut worst_ratio = 0.0f64;
    for &row in rows_to_check {
        let Some(&computed) = y.get(row) else {
            return (f64::INFINITY, f64::INFINITY);
        };
        let (exact, abs_sum) = gemv_row_oracle(&w(row), x);
        let error = (f64::from(computed) - exact).abs();
        let bound = gemv_error_bound(x.len(), abs_sum);
        max_abs_error = max_abs_error.max(error);
        worst_ratio = worst_ratio.max(if error.is_nan() {
            f64::INFINITY
        } else {
            error / bound
        });
    }
    (max_abs_error, worst_ratio)
}

/// Bytes one GEMV must move at least: W once, x once, y once.
pub fn gemv_bytes_moved(rows: u64, cols: u64) -> u64 {
    4 * (rows * cols + cols + rows)
}

/// The compiled GEMV pipeline.
pub struct GemvF32Kernel {
    kernel: Kernel,
    pub variant: GemvVariant,
}

/// W, x and y on the device, ready to dispatch many times.
pub struct GemvProblem {
    pub rows: u64,
    pub cols: u64,
    x: wgpu::Buffer,
    y: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    grid: Grid,
}

impl GemvF32Kernel {
    /// The variant suited to this adapter.
    pub fn new(ctx: &GpuContext) -> Self {
        Self::with_variant(ctx, GemvVariant::for_adapter(ctx))
    }

    pub fn with_variant(ctx: &GpuContext, variant: GemvVariant) -> Self {
        let shader = match variant {
            GemvVariant::Workgroup => crate::shader!("gemv_f32"),
            GemvVariant::Rowwise => crate::shader!("gemv_f32_rowwise"),
        };
        Self {
            kernel: Kernel::new(ctx, shader),
            variant,
        }
    }

    /// Checks the shape against the kernel layout and the device limits, then uploads.
    pub fn prepare(
        &self,
        ctx: &GpuContext,
        w: &[f32],
        x: &[f32],
        rows: usize,
    ) -> Result<GemvProblem, GpuError> {
        let cols = x.len();
        if rows == 0 || cols == 0 || !cols.is_multiple_of(4) {
            return Err(GpuError::BadShape(format!(
                "GEMV needs rows > 0 and cols a positive multiple of 4, got {rows} x {cols}"
            )));
        }
        if w.len() != rows * cols {
            return Err(GpuError::BadShape(format!(
                "W has {} elements, {rows} x {cols} expected",
                w.len()
            )));
        }
        let (rows_u32, cols_vec4) = match (u32::try_from(rows), u32::try_from(cols / 4)) {
            (Ok(r), Ok(c)) => (r, c),
            _ => {
                return Err(GpuError::BadShape(format!(
                    "{rows} x {cols} exceeds the kernel's 32-bit indices"
                )));
            }
        };
        let w_buffer = storage_buffer_init(
            ctx,
            &format!("GEMV matrix W ({rows} x {cols} f32)"),
            bytemuck::cast_slice(w),
            wgpu::BufferUsages::empty(),
        )?;
        let x_buffer = storage_buffer_init(
            ctx,
            "GEMV vector x",
            bytemuck::cast_slice(x),
            wgpu::BufferUsages::COPY_DST,
        )?;
        let y = storage_buffer_output(ctx, "GEMV output y", rows as u64 * 4)?;
        let params = uniform_u32s(ctx, "GEMV params", &[rows_u32, cols_vec4, 0, 0]);
        let groups = (rows as u64).div_ceil(self.variant.rows_per_workgroup());
        let grid = Grid::for_groups(ctx, "GEMV", groups)?;
        let bind_group = self.kernel.bind(ctx, &[&w_buffer, &x_buffer, &y, &params]);
        Ok(GemvProblem {
            rows: rows as u64,
            cols: cols as u64,
            x: x_buffer,
            y,
            bind_group,
            grid,
        })
    }

    /// Replaces x (same length) without re-uploading W.
    pub fn set_x(
        &self,
        ctx: &GpuContext,
        problem: &GemvProblem,
        x: &[f32],
    ) -> Result<(), GpuError> {
        if x.len() as u64 != problem.cols {
            return Err(GpuError::BadShape(format!(
                "x has {} elements, {} expected",
                x.len(),
                problem.cols
            )));
        }
        ctx.queue
            .write_buffer(&problem.x, 0, bytemuck::cast_slice(x));
        Ok(())
    }

    pub fn submit(
        &self,
        ctx: &GpuContext,
        problem: &GemvProblem,
        timed_passes: u32,
        dispatches_per_pass: u32,
    ) -> Result<KernelRun, GpuError> {
        KernelRun::submit(
            ctx,
            &RunSpec {
                dispatches: &[Dispatch {
                    kernel: &self.kernel,
                    bind_group: &problem.bind_group,
                    grid: problem.grid,
                }],
                zero_buffers: &[],
                timed_passes,
                dispatches_per_pass,
                output: &problem.y,
                output_size_bytes: problem.rows * 4,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::hash_f32;

    #[test]
    fn reference_matches_oracle_within_bound() {
        for (rows, cols) in [(1, 1), (3, 7), (5, 8), (17, 33), (64, 1000)] {
            let w: Vec<f32> = (0..rows * cols).map(|i| hash_f32(1, i as u64)).collect();
            let x: Vec<f32> = (0..cols).map(|i| hash_f32(2, i as u64)).collect();
            let y = gemv_f32_reference(&w, &x, rows);
            let row_of = |r: usize| w[r * cols..(r + 1) * cols].to_vec();
            let all: Vec<usize> = (0..rows).collect();
            let (_, ratio) = check_rows(&row_of, &x, &y, &all);
            assert!(ratio <= 1.0, "{rows}x{cols}: error/bound {ratio}");
        }
    }

    #[test]
    fn check_rows_catches_a_wrong_result() {
        let cols = 64;
        let w: Vec<f32> = (0..4 * cols).map(|i| hash_f32(1, i as u64)).collect();
        let x: Vec<f32> = (0..cols).map(|i| hash_f32(2, i as u64)).collect();
        let mut y = gemv_f32_reference(&w, &x, 4);
        // Drop one product from row 2: the bound must flag it.
        y[2] -= w[2 * cols + 5] * x[5];
        let row_of = |r: usize| w[r * cols..(r + 1) * cols].to_vec();
        let (_, ratio) = check_rows(&row_of, &x, &y, &[0, 1, 2, 3]);
        assert!(ratio > 10.0, "a missing term went unnoticed: ratio {ratio}");
    }

    #[test]
    fn shader_constants_match() {
        for wgsl in [
            crate::shader!("gemv_f32").wgsl,
            crate::shader!("gemv_f32_rowwise").wgsl,
        ] {
            assert!(wgsl.contains(&format!("const WG_SIZE: u32 = {WG_SIZE}u;")));
        }
        let copy = crate::shader!("copy").wgsl;
        assert!(copy.contains(&format!(
            "const WG_SIZE: u32 = {}u;",
            super::super::copy::WG_SIZE
        )));
        assert!(copy.contains(&format!(
            "const ITEMS: u32 = {}u;",
            super::super::copy::ITEMS_PER_THREAD
        )));
    }
}
