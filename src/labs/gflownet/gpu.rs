//! GPU sampling of terminal states: every step of every trajectory in lock-step, all steps in
//! one submission. Per step: `gfn_encode` (one-hot states), the policy MLP (`dense` per
//! layer), `gfn_step` (masked categorical draw, state update). Reference: `sample.rs`.

use super::env::{MAX_NDIM, State};
use super::model::Model;
use crate::gpu::kernel::uniform_u32s;
use crate::gpu::{
    Dispatch, GpuContext, GpuError, Grid, Kernel, KernelRun, RunSpec, f32s_from_bytes,
};
use crate::nn::gpu::{DenseKernel, MlpOnDevice};

/// Threads per workgroup of both sampler kernels; must match the shaders.
pub const WG_SIZE: u32 = 64;
/// u32 words per trajectory in the state buffer: x0..x3, step, done, 2 unused.
const STATE_WORDS: usize = 8;

pub struct GfnSamplerKernels {
    dense: DenseKernel,
    encode: Kernel,
    step: Kernel,
}

/// A policy on the device with room for `capacity` trajectories per submission.
pub struct SamplerOnDevice {
    net: MlpOnDevice,
    states: wgpu::Buffer,
    capacity: usize,
    model_grid: super::env::Hypergrid,
    outputs: usize,
}

impl GfnSamplerKernels {
    pub fn new(ctx: &GpuContext) -> Self {
        Self {
            dense: DenseKernel::new(ctx),
            encode: Kernel::new(ctx, crate::shader!("gfn_encode")),
            step: Kernel::new(ctx, crate::shader!("gfn_step", prelude: "hash")),
        }
    }

    /// Uploads the policy; `capacity` trajectories per submission (checked against limits).
    pub fn prepare(
        &self,
        ctx: &GpuContext,
        model: &Model,
        capacity: usize,
    ) -> Result<SamplerOnDevice, GpuError> {
        let capacity = capacity.max(1);
        let net = self.dense.upload(ctx, &model.policy, capacity)?;
        let states_bytes = (capacity * STATE_WORDS * 4) as u64;
        ctx.check_storage_size("sampler states", states_bytes)?;
        // COPY_DST as well as storage: the run clears it before every pass.
        let states = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("sampler states"),
            size: states_bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(SamplerOnDevice {
            net,
            states,
            capacity,
            model_grid: model.grid,
            outputs: model.outputs(),
        })
    }

    /// Samples trajectories `first..first + count` (count <= capacity); the run reads back the
    /// state buffer, decoded by [`decode_terminals`].
    pub fn submit(
        &self,
        ctx: &GpuContext,
        device: &SamplerOnDevice,
        seed: u32,
        first: u32,
        count: usize,
        timed_passes: u32,
    ) -> Result<KernelRun, GpuError> {
        if count == 0 || count > device.capacity {
            return Err(GpuError::BadShape(format!(
                "{count} trajectories for a sampler sized for {}",
                device.capacity
            )));
        }
        let grid = device.model_grid;
        let params = uniform_u32s(
            ctx,
            "sampler params",
            &[
                count as u32,
                grid.ndim as u32,
                grid.height as u32,
                device.outputs as u32,
                seed,
                first,
                0,
                0,
            ],
        );
        let encode_bind = self
            .encode
            .bind(ctx, &[&device.states, device.net.input_buffer(), &params]);
        let step_bind = self
            .step
            .bind(ctx, &[&device.states, device.net.output_buffer(), &params]);
        let per_trajectory =
            Grid::for_groups(ctx, "sampler", (count as u64).div_ceil(u64::from(WG_SIZE)))?;
        let layer_grids = self.dense.prepare_batch(ctx, &device.net, count)?;
        let layers = self.dense.dispatches(&device.net, &layer_grids);
        let mut dispatches = Vec::with_capacity(grid.max_steps() * (layers.len() + 2));
        for _ in 0..grid.max_steps() {
            dispatches.push(Dispatch {
                kernel: &self.encode,
                bind_group: &encode_bind,
                grid: per_trajectory,
            });
            dispatches.extend(layers.iter().copied());
            dispatches.push(Dispatch {
                kernel: &self.step,
                bind_group: &step_bind,
                grid: per_trajectory,
            });
        }
        KernelRun::submit(
            ctx,
            &RunSpec {
                dispatches: &dispatches,
                zero_buffers: &[&device.states],
                timed_passes,
                dispatches_per_pass: 1,
                output: &device.states,
                output_size_bytes: (count * STATE_WORDS * 4) as u64,
            },
        )
    }
}

/// Terminal states from the read-back state buffer; `Err` if a trajectory did not finish
/// (which would be a kernel bug: every trajectory stops within max_steps).
pub fn decode_terminals(bytes: &[u8], ndim: usize) -> Result<Vec<State>, GpuError> {
    let words: Vec<u32> = f32s_from_bytes(bytes)
        .into_iter()
        .map(f32::to_bits)
        .collect();
    words
        .chunks_exact(STATE_WORDS)
        .map(|w| {
            if w[5] != 1 {
                return Err(GpuError::Device(
                    "a sampled trajectory did not stop".to_owned(),
                ));
            }
            let mut x = [0u16; MAX_NDIM];
            for d in 0..ndim {
                x[d] = w[d] as u16;
            }
            Ok(x)
        })
        .collect()
}
