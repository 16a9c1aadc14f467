//! The bipolar-INT bit-plane GEMM (`shaders/quant_bipolar_gemm_tiled.wgsl` on GPUs,
//! `_rowwise.wgsl` on software adapters): a batch of activation vectors against one bit-plane
//! matrix, the product the paper's speed claim is about. Its reference is a bipolar dot product
//! per (row, vector), itself checked against plain integer products.

use super::bipolar::{Planes, dot};
use super::bipolar_gpu::check_shape;
use super::pipeline::ROWWISE_ROWS_PER_THREAD;
use crate::gpu::kernel::{
    storage_buffer_init, storage_buffer_output, uniform_u32s, with_constants, with_repeats,
};
use crate::gpu::{Dispatch, GpuContext, GpuError, Grid, Kernel, KernelRun};
use crate::kernels::gemv_f32::GemvVariant;

/// Rows and vectors per tile of the tiled shape; must match the shader.
pub const TILE: u32 = 16;
/// Threads per workgroup of the rowwise shape; must match the shader.
pub const ROWWISE_WG_SIZE: u32 = 64;

/// Reference: y (batch x rows), y[n][r] = row r . vector n, exactly.
pub fn bipolar_gemm_reference(rows: &[Planes], xs: &[Planes]) -> Vec<i32> {
    xs.iter()
        .flat_map(|x| rows.iter().map(move |r| dot(r, x) as i32))
        .collect()
}

/// Bytes the kernel moves at least: W's planes, the vectors' planes, Y.
pub fn gemm_bytes_moved(rows: &[Planes], xs: &[Planes]) -> u64 {
    let words = |p: &[Planes]| p.iter().map(|r| r.data.len()).sum::<usize>();
    4 * (words(rows) + words(xs) + rows.len() * xs.len()) as u64
}

/// One compiled GEMM pipeline: a shape, the widths and the batch.
pub struct BipolarGemmKernel {
    kernel: Kernel,
    pub variant: GemvVariant,
    pub p: u32,
    pub q: u32,
    pub batch: u32,
}

pub struct BipolarGemmProblem {
    y: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    grid: Grid,
}

impl BipolarGemmKernel {
    pub fn new(ctx: &GpuContext, variant: GemvVariant, p: u32, q: u32, batch: u32) -> Self {
        let (name, shader) = match variant {
            GemvVariant::Workgroup => (
                "quant_bipolar_gemm_tiled",
                crate::shader!("quant_bipolar_gemm_tiled"),
            ),
            GemvVariant::Rowwise => (
                "quant_bipolar_gemm_rowwise",
                crate::shader!("quant_bipolar_gemm_rowwise"),
            ),
        };
        let (wgsl, _) = with_constants(&with_repeats(shader.wgsl, batch), &[("P", p), ("Q", q)]);
        Self {
            kernel: Kernel::from_source(ctx, name, &wgsl),
            variant,
            p,
            q,
            batch,
        }
    }

    /// Every row p bits, every vector q bits, all of one length; `batch` vectors.
    pub fn prepare(
        &self,
        ctx: &GpuContext,
        rows: &[Planes],
        xs: &[Planes],
    ) -> Result<BipolarGemmProblem, GpuError> {
        let Some(first) = xs.first() else {
            return Err(GpuError::BadShape("no activation vectors".to_owned()));
        };
        let (p, words) = check_shape(rows, first).map_err(GpuError::BadShape)?;
        if p != self.p
            || xs.len() != self.batch as usize
            || xs.iter().any(|x| x.bits != self.q || x.len != first.len)
        {
            return Err(GpuError::BadShape(format!(
                "this pipeline takes {}-bit rows and {} vectors of {} bits and one length",
                self.p, self.batch, self.q
            )));
        }
        let (Ok(rows_u32), Ok(words_u32), Ok(lanes)) = (
            u32::try_from(rows.len()),
            u32::try_from(words),
            u32::try_from(first.len),
        ) else {
            return Err(GpuError::BadShape(
                "the shape exceeds 32-bit indices".to_owned(),
            ));
        };
        let flat = |planes: &[Planes]| -> Vec<u32> {
            planes.iter().flat_map(|r| r.data.iter().copied()).collect()
        };
        let w = storage_buffer_init(
            ctx,
            "bipolar GEMM W planes",
            bytemuck::cast_slice(&flat(rows)),
            wgpu::BufferUsages::empty(),
        )?;
        let x = storage_buffer_init(
            ctx,
            "bipolar GEMM x planes",
            bytemuck::cast_slice(&flat(xs)),
            wgpu::BufferUsages::empty(),
        )?;
        let y = storage_buffer_output(
            ctx,
            "bipolar GEMM y",
            u64::from(rows_u32) * u64::from(self.batch) * 4,
        )?;
        let params = uniform_u32s(
            ctx,
            "bipolar GEMM params",
            &[rows_u32, words_u32, self.batch, lanes],
        );
        let grid = match self.variant {
            GemvVariant::Workgroup => Grid::tiles(
                ctx,
                "bipolar GEMM",
                rows_u32.div_ceil(TILE),
                self.batch.div_ceil(TILE),
            )?,
            GemvVariant::Rowwise => Grid::for_groups(
                ctx,
                "bipolar GEMM",
                u64::from(rows_u32.div_ceil(ROWWISE_WG_SIZE * ROWWISE_ROWS_PER_THREAD)),
            )?,
        };
        let bind_group = self.kernel.bind(ctx, &[&w, &x, &y, &params]);
        Ok(BipolarGemmProblem {
            y,
            bind_group,
            grid,
        })
    }

    /// The output bytes are the i32 results, vector by vector.
    pub fn submit(
        &self,
        ctx: &GpuContext,
        problem: &BipolarGemmProblem,
        timed_passes: u32,
        dispatches_per_pass: u32,
    ) -> Result<KernelRun, GpuError> {
        KernelRun::submit_single(
            ctx,
            Dispatch {
                kernel: &self.kernel,
                bind_group: &problem.bind_group,
                grid: problem.grid,
            },
            &problem.y,
            timed_passes,
            dispatches_per_pass,
        )
    }
}
