//! Both MaM networks on the GPU through the nn core's dense kernel (`shaders/dense.wgsl`, one
//! dispatch per layer): a batch of partial assignments evaluated in one submission. Reference:
//! `MamNets` on the CPU (`Mlp::forward`); the self-test compares the two.

use super::nets::MamNets;
use crate::gpu::{GpuContext, GpuError, KernelRun, RunSpec, f32s_from_bytes};
use crate::nn::gpu::{DenseKernel, MlpOnDevice};

/// Which network a run evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    Marginal,
    Conditional,
}

pub struct MamOnDevice {
    dense: DenseKernel,
    marginal: MlpOnDevice,
    conditional: MlpOnDevice,
    pub max_batch: usize,
    /// g(all unknown) of the uploaded marginal network (subtracted from every output).
    pub empty_output: f64,
    pub sites: usize,
}

impl MamOnDevice {
    /// Uploads both networks with room for `max_batch` rows each; refuses sizes whose
    /// activation buffers would not fit the device's storage-buffer limit.
    pub fn upload(ctx: &GpuContext, nets: &MamNets, max_batch: usize) -> Result<Self, GpuError> {
        let widest = nets
            .conditional
            .spec
            .hidden
            .iter()
            .chain([
                &nets.conditional.spec.inputs,
                &nets.conditional.spec.outputs,
            ])
            .copied()
            .max()
            .unwrap_or(1);
        ctx.check_storage_size("MaM activations", (max_batch.max(1) * widest) as u64 * 4)?;
        let dense = DenseKernel::new(ctx);
        let marginal = dense.upload(ctx, &nets.marginal, max_batch)?;
        let conditional = dense.upload(ctx, &nets.conditional, max_batch)?;
        Ok(Self {
            dense,
            marginal,
            conditional,
            max_batch: max_batch.max(1),
            empty_output: nets.empty_output(),
            sites: nets.sites(),
        })
    }

    fn net(&self, which: Net) -> &MlpOnDevice {
        match which {
            Net::Marginal => &self.marginal,
            Net::Conditional => &self.conditional,
        }
    }

    /// One untimed forward of `batch` encoded rows through `which`.
    pub fn forward(
        &self,
        ctx: &GpuContext,
        which: Net,
        encoded: &[f32],
        batch: usize,
    ) -> Result<KernelRun, GpuError> {
        self.dense.forward(ctx, self.net(which), encoded, batch)
    }

    /// A timed forward: one warm-up pass, then `timed_passes` passes of `repeats` back-to-back
    /// forwards each (the run reports the time of one forward; inputs as given).
    pub fn timed_forward(
        &self,
        ctx: &GpuContext,
        which: Net,
        encoded: &[f32],
        batch: usize,
        timed_passes: u32,
        repeats: u32,
    ) -> Result<KernelRun, GpuError> {
        let net = self.net(which);
        let outputs = match which {
            Net::Marginal => 1,
            Net::Conditional => self.sites,
        };
        if encoded.len() != batch * 3 * self.sites {
            return Err(GpuError::BadShape(format!(
                "{} input values for a batch of {batch}",
                encoded.len()
            )));
        }
        let grids = self.dense.prepare_batch(ctx, net, batch)?;
        ctx.queue
            .write_buffer(net.input_buffer(), 0, bytemuck::cast_slice(encoded));
        KernelRun::submit(
            ctx,
            &RunSpec {
                dispatches: &self.dense.dispatches(net, &grids),
                zero_buffers: &[],
                timed_passes,
                dispatches_per_pass: repeats.max(1),
                output: net.output_buffer(),
                output_size_bytes: (batch * outputs) as u64 * 4,
            },
        )
    }

    /// log p(x_S) from a finished marginal run's bytes.
    pub fn log_marginals(&self, bytes: &[u8]) -> Vec<f64> {
        f32s_from_bytes(bytes)
            .iter()
            .map(|&g| f64::from(g) - self.empty_output)
            .collect()
    }
}
