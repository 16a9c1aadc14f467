//! Copy kernel (`shaders/copy.wgsl`): the memory-bandwidth roofline.

use crate::gpu::kernel::{storage_buffer_init, storage_buffer_output, uniform_u32s};
use crate::gpu::{Dispatch, GpuContext, GpuError, Grid, Kernel, KernelRun, RunSpec};

/// Threads per workgroup and vec4s per thread; must match `shaders/copy.wgsl`.
pub const WG_SIZE: u32 = 256;
pub const ITEMS_PER_THREAD: u32 = 4;

/// Rust reference (and CPU fallback): `dst = src`.
pub fn copy_reference(src: &[f32], dst: &mut [f32]) {
    dst.copy_from_slice(src);
}

/// Bytes that cross the memory bus for one copy of `n_floats`: each read once, written once.
pub fn copy_bytes_moved(n_floats: u64) -> u64 {
    2 * 4 * n_floats
}

/// The compiled copy pipeline.
pub struct CopyKernel {
    kernel: Kernel,
}

/// Buffers and bindings for one copy problem, ready to dispatch many times.
pub struct CopyProblem {
    pub n_floats: u64,
    dst: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    grid: Grid,
}

impl CopyKernel {
    pub fn new(ctx: &GpuContext) -> Self {
        Self {
            kernel: Kernel::new(ctx, crate::shader!("copy")),
        }
    }

    /// Uploads `src` (length a multiple of 4) and allocates the destination.
    pub fn prepare(&self, ctx: &GpuContext, src: &[f32]) -> Result<CopyProblem, GpuError> {
        if src.is_empty() || !src.len().is_multiple_of(4) {
            return Err(GpuError::BadShape(format!(
                "copy needs a positive multiple of 4 floats, got {}",
                src.len()
            )));
        }
        let n_floats = src.len() as u64;
        let n_vec4 = n_floats / 4;
        let n_vec4_u32 = u32::try_from(n_vec4).map_err(|_| GpuError::TooLarge {
            what: "copy".to_owned(),
            requested: n_vec4,
            limit: u64::from(u32::MAX),
            limit_name: "vec4 index range",
        })?;
        let src_buffer = storage_buffer_init(
            ctx,
            "copy source",
            bytemuck::cast_slice(src),
            wgpu::BufferUsages::empty(),
        )?;
        let dst = storage_buffer_output(ctx, "copy destination", n_floats * 4)?;
        let params = uniform_u32s(ctx, "copy params", &[n_vec4_u32, 0, 0, 0]);
        let tile_vec4 = u64::from(WG_SIZE * ITEMS_PER_THREAD);
        let grid = Grid::for_groups(ctx, "copy", n_vec4.div_ceil(tile_vec4))?;
        let bind_group = self.kernel.bind(ctx, &[&src_buffer, &dst, &params]);
        Ok(CopyProblem {
            n_floats,
            dst,
            bind_group,
            grid,
        })
    }

    /// Submits `timed_passes` timed copies (after a warm-up) and reads the destination back.
    pub fn submit(
        &self,
        ctx: &GpuContext,
        problem: &CopyProblem,
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
                output: &problem.dst,
                output_size_bytes: problem.n_floats * 4,
            },
        )
    }
}
