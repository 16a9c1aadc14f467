//! f32 GEMM for a batch of activation vectors, Y = X Wᵀ (y[n][r] = W[r, :] . x[n]), in two
//! shapes with one Rust reference: `shaders/gemm_f32_tiled.wgsl` (16 x 16 shared-memory tiles,
//! for GPUs) and `shaders/gemm_f32_rowwise.wgsl` (a thread per four rows holding all the batch's sums,
//! for software adapters). The baseline of the bipolar bit-plane GEMM.

use super::gemv_f32::{GemvVariant, gemv_f32_rows};
use crate::gpu::kernel::{storage_buffer_init, storage_buffer_output, uniform_u32s, with_repeats};
use crate::gpu::{Dispatch, GpuContext, GpuError, Grid, Kernel, KernelRun};

/// Threads per workgroup of the rowwise shape; must match the shader.
pub const ROWWISE_WG_SIZE: u32 = 64;
/// Rows per thread of the rowwise shader (four share each load of x).
pub const ROWWISE_ROWS_PER_THREAD: u32 = 4;
/// Rows and vectors per tile of the tiled shape; must match the shader.
pub const TILE: u32 = 16;

/// Reference: y (batch x rows) for W (rows x cols) and X (batch x cols), each vector a GEMV.
pub fn gemm_f32_reference(w: &[f32], x: &[f32], rows: usize, batch: usize) -> Vec<f32> {
    let cols = x.len().checked_div(batch).unwrap_or(0);
    let mut y = vec![0.0f32; rows * batch];
    for (xn, yn) in x
        .chunks_exact(cols.max(1))
        .zip(y.chunks_exact_mut(rows.max(1)))
    {
        gemv_f32_rows(w, xn, yn);
    }
    y
}

/// Bytes a GEMM must move at least: W, X and Y once each.
pub fn gemm_bytes_moved(rows: u64, cols: u64, batch: u64) -> u64 {
    4 * (rows * cols + batch * cols + batch * rows)
}

/// The compiled GEMM pipeline for one batch size.
pub struct GemmF32Kernel {
    kernel: Kernel,
    pub variant: GemvVariant,
    pub batch: u32,
}

/// W, X and Y on the device.
pub struct GemmProblem {
    pub rows: u64,
    pub batch: u64,
    y: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    grid: Grid,
}

impl GemmF32Kernel {
    /// `batch` vectors per product (the rowwise shape holds that many sums per thread).
    pub fn with_variant(ctx: &GpuContext, variant: GemvVariant, batch: u32) -> Self {
        let kernel = match variant {
            GemvVariant::Workgroup => Kernel::new(ctx, crate::shader!("gemm_f32_tiled")),
            GemvVariant::Rowwise => {
                let wgsl = with_repeats(crate::shader!("gemm_f32_rowwise").wgsl, batch);
                Kernel::from_source(ctx, "gemm_f32_rowwise", &wgsl)
            }
        };
        Self {
            kernel,
            variant,
            batch,
        }
    }

    pub fn prepare(
        &self,
        ctx: &GpuContext,
        w: &[f32],
        x: &[f32],
        rows: usize,
    ) -> Result<GemmProblem, GpuError> {
        let batch = self.batch as usize;
        let cols = w.len().checked_div(rows).unwrap_or(0);
        if rows == 0
            || cols == 0
            || !cols.is_multiple_of(4)
            || w.len() != rows * cols
            || x.len() != batch * cols
        {
            return Err(GpuError::BadShape(format!(
                "GEMM needs W rows x cols (cols a multiple of 4) and X {batch} x cols; got W {} for {rows} rows, X {}",
                w.len(),
                x.len()
            )));
        }
        let (Ok(rows_u32), Ok(cols_u32)) = (u32::try_from(rows), u32::try_from(cols)) else {
            return Err(GpuError::BadShape(format!(
                "{rows} x {cols} exceeds the kernel's 32-bit indices"
            )));
        };
        let w_buffer = storage_buffer_init(
            ctx,
            "GEMM W",
            bytemuck::cast_slice(w),
            wgpu::BufferUsages::empty(),
        )?;
        let x_buffer = storage_buffer_init(
            ctx,
            "GEMM X",
            bytemuck::cast_slice(x),
            wgpu::BufferUsages::empty(),
        )?;
        let y = storage_buffer_output(ctx, "GEMM Y", (rows * batch) as u64 * 4)?;
        let (params, grid) = match self.variant {
            GemvVariant::Workgroup => (
                uniform_u32s(ctx, "GEMM params", &[rows_u32, cols_u32, self.batch, 0]),
                Grid::tiles(
                    ctx,
                    "GEMM",
                    rows_u32.div_ceil(TILE),
                    self.batch.div_ceil(TILE),
                )?,
            ),
            GemvVariant::Rowwise => (
                uniform_u32s(ctx, "GEMM params", &[rows_u32, cols_u32 / 4, 0, 0]),
                Grid::for_groups(
                    ctx,
                    "GEMM",
                    u64::from(rows_u32.div_ceil(ROWWISE_WG_SIZE * ROWWISE_ROWS_PER_THREAD)),
                )?,
            ),
        };
        let bind_group = self.kernel.bind(ctx, &[&w_buffer, &x_buffer, &y, &params]);
        Ok(GemmProblem {
            rows: rows as u64,
            batch: u64::from(self.batch),
            y,
            bind_group,
            grid,
        })
    }

    /// The output bytes are Y, vector by vector.
    pub fn submit(
        &self,
        ctx: &GpuContext,
        p: &GemmProblem,
        timed_passes: u32,
        dispatches_per_pass: u32,
    ) -> Result<KernelRun, GpuError> {
        KernelRun::submit_single(
            ctx,
            Dispatch {
                kernel: &self.kernel,
                bind_group: &p.bind_group,
                grid: p.grid,
            },
            &p.y,
            timed_passes,
            dispatches_per_pass,
        )
    }
}
