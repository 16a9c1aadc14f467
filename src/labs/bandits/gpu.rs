//! GPU Monte Carlo: `shaders/bandit_run.wgsl`, one run per invocation, state kept on the device
//! between dispatches of `chunk` rounds each. Reference: `sim.rs`.

use super::sim::{Algo, SimConfig};
use crate::gpu::kernel::{storage_buffer_init, uniform_u32s};
use crate::gpu::{Dispatch, GpuContext, GpuError, Grid, Kernel, KernelRun, RunSpec};

/// Must match the shader.
pub const WG_SIZE: u32 = 64;
pub const STATE_WORDS: usize = 72;
/// Runs per algorithm on the GPU: a multiple of the workgroup size, so no workgroup mixes two
/// algorithms (they would diverge).
pub const MAX_RUNS: usize = 16_384;

/// Longest chunk (rounds per dispatch) for an instance. Mesa's llvmpipe/lavapipe quietly ends a
/// loop after 65,535 iterations counted over all loops of an invocation (its guard against
/// infinite loops), which cut runs short in a single long dispatch; a round costs at most
/// m + 5K + 4 loop iterations (the tally, then EXP3's draw and update), so chunks stay within
/// half that limit. It also keeps every dispatch short on any device.
pub fn max_chunk(memory: u32, arms: u32) -> u32 {
    (32_768 / (memory + 5 * arms + 4)).max(1)
}

pub struct BanditKernel {
    kernel: Kernel,
}

/// One job's buffers on the device.
pub struct BanditJobOnDevice {
    state: wgpu::Buffer,
    out: wgpu::Buffer,
    bind: wgpu::BindGroup,
    grid: Grid,
    pub runs: usize,
    pub algos: Vec<Algo>,
    pub checkpoints: usize,
    pub horizon: u32,
    pub chunk: u32,
}

/// The tables as one u32 array, with each part's offset (the shader's `off_*` params).
fn flatten_tables(cfg: &SimConfig) -> (Vec<u32>, [u32; 7]) {
    let mut flat: Vec<u32> = cfg.loss_q.iter().map(|&x| x as u32).collect();
    let mut offsets = [0u32; 7];
    let parts: [Vec<u32>; 7] = [
        cfg.weights_q.clone(),
        cfg.noise_q.iter().map(|&x| x as u32).collect(),
        cfg.thr_q.clone(),
        cfg.lnt_q.clone(),
        cfg.inv_q.clone(),
        cfg.exp_q.clone(),
        cfg.checkpoints.clone(),
    ];
    for (offset, part) in offsets.iter_mut().zip(parts) {
        *offset = flat.len() as u32;
        flat.extend(part);
    }
    (flat, offsets)
}

/// The shader's `Params`, in its field order (28 words: a multiple of 16 bytes).
fn param_words(
    cfg: &SimConfig,
    runs: u32,
    n_inv: u32,
    chunk: u32,
    algo_codes: u32,
    offsets: [u32; 7],
) -> [u32; 28] {
    [
        runs,
        n_inv,
        cfg.arms,
        cfg.memory,
        cfg.bound,
        cfg.horizon,
        chunk,
        cfg.seed,
        cfg.a_star,
        cfg.window,
        u32::from(cfg.gaussian),
        algo_codes,
        cfg.gamma16,
        cfg.eta16,
        cfg.checkpoints.len() as u32,
        offsets[0],
        offsets[1],
        offsets[2],
        offsets[3],
        offsets[4],
        offsets[5],
        offsets[6],
        cfg.batch_len,
        cfg.batch_gamma16,
        cfg.batch_eta16,
        0,
        0,
        0,
    ]
}

impl BanditKernel {
    pub fn new(ctx: &GpuContext) -> Self {
        Self {
            kernel: Kernel::new(ctx, crate::shader!("bandit_run", prelude: "hash")),
        }
    }

    /// Uploads a job: `runs` runs (rounded up to a multiple of 64) of each of `algos` (distinct).
    /// Each later dispatch advances every run by `chunk` rounds (at most [`max_chunk`]).
    pub fn prepare(
        &self,
        ctx: &GpuContext,
        cfg: &SimConfig,
        algos: &[Algo],
        runs: usize,
        chunk: u32,
    ) -> Result<BanditJobOnDevice, GpuError> {
        if algos.is_empty() || algos.len() > 8 {
            return Err(GpuError::BadShape(format!(
                "{} algorithms (1 to 8)",
                algos.len()
            )));
        }
        let runs = runs.clamp(1, MAX_RUNS).next_multiple_of(WG_SIZE as usize);
        let chunk = chunk.clamp(1, max_chunk(cfg.memory, cfg.arms));
        let n_inv = runs * algos.len();
        let checkpoints = cfg.checkpoints.len();
        let (flat, offsets) = flatten_tables(cfg);
        let tables = storage_buffer_init(
            ctx,
            "bandit tables",
            bytemuck::cast_slice(&flat),
            wgpu::BufferUsages::empty(),
        )?;
        let state_bytes = (n_inv * STATE_WORDS * 4) as u64;
        ctx.check_storage_size("bandit run states", state_bytes)?;
        let state = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("bandit run states"),
            size: state_bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let uses_window = algos.contains(&Algo::SwUcb);
        let ring_bytes = if uses_window {
            (runs * cfg.window as usize * 4) as u64
        } else {
            4
        };
        ctx.check_storage_size("sliding-window rings", ring_bytes)?;
        let ring = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("sliding-window rings"),
            size: ring_bytes,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let out = crate::gpu::kernel::storage_buffer_output(
            ctx,
            "bandit checkpoints",
            (n_inv * checkpoints * 4) as u64,
        )?;
        let algo_codes = algos
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, a)| acc | (a.code() << (4 * i)));
        let words = param_words(
            cfg,
            runs as u32,
            n_inv as u32,
            chunk.max(1),
            algo_codes,
            offsets,
        );
        let params = uniform_u32s(ctx, "bandit params", &words);
        let bind = self
            .kernel
            .bind(ctx, &[&state, &tables, &ring, &out, &params]);
        let grid = Grid::for_groups(
            ctx,
            "bandit runs",
            (n_inv as u64).div_ceil(u64::from(WG_SIZE)),
        )?;
        Ok(BanditJobOnDevice {
            state,
            out,
            bind,
            grid,
            runs,
            algos: algos.to_vec(),
            checkpoints,
            horizon: cfg.horizon,
            chunk: chunk.max(1),
        })
    }

    /// Dispatches needed to reach the horizon.
    pub fn dispatches_for_horizon(job: &BanditJobOnDevice) -> u32 {
        job.horizon.div_ceil(job.chunk)
    }

    /// Advances every run by `dispatches` chunks. `finish`: read back all checkpoints (else only
    /// run 0's round counter, as a progress signal). `timed_passes` > 0 re-runs the whole job
    /// from zeroed states that many times under timestamps (benchmarks).
    pub fn submit(
        &self,
        ctx: &GpuContext,
        job: &BanditJobOnDevice,
        dispatches: u32,
        finish: bool,
        timed_passes: u32,
    ) -> Result<KernelRun, GpuError> {
        let one = Dispatch {
            kernel: &self.kernel,
            bind_group: &job.bind,
            grid: job.grid,
        };
        let list = vec![one; dispatches.max(1) as usize];
        let zero: Vec<&wgpu::Buffer> = if timed_passes > 0 {
            vec![&job.state]
        } else {
            Vec::new()
        };
        let (output, size) = if finish {
            (
                &job.out,
                (job.runs * job.algos.len() * job.checkpoints * 4) as u64,
            )
        } else {
            (&job.state, 4)
        };
        KernelRun::submit(
            ctx,
            &RunSpec {
                dispatches: &list,
                zero_buffers: &zero,
                timed_passes,
                dispatches_per_pass: 1,
                output,
                output_size_bytes: size,
            },
        )
    }
}

/// Read-back bytes as u32 words.
pub fn words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
