//! Batched MLP forward on the GPU: one `shaders/dense.wgsl` dispatch per layer, all in one
//! pass. Reference: `Mlp::forward`; the self-test compares both with an f64 oracle.

use super::mlp::Mlp;
use crate::gpu::kernel::{storage_buffer_init, storage_buffer_input, storage_buffer_output};
use crate::gpu::{Dispatch, GpuContext, GpuError, Grid, Kernel, KernelRun, RunSpec};

/// Threads per workgroup; must match `shaders/dense.wgsl`.
pub const WG_SIZE: u32 = 64;

pub struct DenseKernel {
    kernel: Kernel,
}

struct LayerOnDevice {
    params: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    outputs: usize,
    activation: (u32, f32),
    inputs: usize,
    residual: bool,
}

/// An MLP's weights on the device plus activation buffers for up to `max_batch` rows.
pub struct MlpOnDevice {
    input: wgpu::Buffer,
    layers: Vec<LayerOnDevice>,
    output: wgpu::Buffer,
    pub max_batch: usize,
    inputs: usize,
    outputs: usize,
}

impl DenseKernel {
    pub fn new(ctx: &GpuContext) -> Self {
        Self {
            kernel: Kernel::new(ctx, crate::shader!("dense")),
        }
    }

    /// Uploads `mlp` and allocates activations for batches of up to `max_batch` rows.
    pub fn upload(
        &self,
        ctx: &GpuContext,
        mlp: &Mlp,
        max_batch: usize,
    ) -> Result<MlpOnDevice, GpuError> {
        let max_batch = max_batch.max(1);
        let bytes = |n: usize| (n as u64) * 4;
        let input = storage_buffer_input(ctx, "MLP input", bytes(max_batch * mlp.spec.inputs))?;
        let last = mlp.layers.len() - 1;
        let mut layers = Vec::with_capacity(mlp.layers.len());
        let mut outputs_of_layers: Vec<wgpu::Buffer> = Vec::new();
        for (l, layer) in mlp.layers.iter().enumerate() {
            let w = storage_buffer_init(
                ctx,
                "MLP weights",
                bytemuck::cast_slice(&layer.weights),
                wgpu::BufferUsages::empty(),
            )?;
            let b = storage_buffer_init(
                ctx,
                "MLP bias",
                bytemuck::cast_slice(&layer.bias),
                wgpu::BufferUsages::empty(),
            )?;
            let y =
                storage_buffer_output(ctx, "MLP activations", bytes(max_batch * layer.outputs))?;
            let activation = if l == last {
                (0, 0.0)
            } else {
                mlp.spec.activation.gpu_code()
            };
            let params = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("dense params"),
                size: 32,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let x = if l == 0 {
                &input
            } else {
                &outputs_of_layers[l - 1]
            };
            let bind_group = self.kernel.bind(ctx, &[x, &w, &b, &y, &params]);
            layers.push(LayerOnDevice {
                params,
                bind_group,
                outputs: layer.outputs,
                inputs: layer.inputs,
                activation,
                residual: mlp.skips(l),
            });
            outputs_of_layers.push(y);
        }
        let output = outputs_of_layers
            .pop()
            .ok_or_else(|| GpuError::BadShape("MLP without layers".to_owned()))?;
        Ok(MlpOnDevice {
            input,
            layers,
            output,
            max_batch,
            inputs: mlp.spec.inputs,
            outputs: mlp.spec.outputs,
        })
    }

    /// Writes the layer parameters for `batch` rows and returns each layer's grid.
    pub fn prepare_batch(
        &self,
        ctx: &GpuContext,
        net: &MlpOnDevice,
        batch: usize,
    ) -> Result<Vec<Grid>, GpuError> {
        if batch == 0 || batch > net.max_batch {
            return Err(GpuError::BadShape(format!(
                "MLP batch {batch} (max {})",
                net.max_batch
            )));
        }
        let mut grids = Vec::with_capacity(net.layers.len());
        for layer in &net.layers {
            let (code, slope) = layer.activation;
            let values: [u32; 8] = [
                batch as u32,
                layer.inputs as u32,
                layer.outputs as u32,
                code,
                slope.to_bits(),
                u32::from(layer.residual),
                0,
                0,
            ];
            ctx.queue
                .write_buffer(&layer.params, 0, bytemuck::cast_slice(&values));
            let elements = (batch * layer.outputs) as u64;
            grids.push(Grid::for_groups(
                ctx,
                "dense layer",
                elements.div_ceil(u64::from(WG_SIZE)),
            )?);
        }
        Ok(grids)
    }

    /// The layer dispatches of one forward pass (after [`Self::prepare_batch`]).
    pub fn dispatches<'a>(&'a self, net: &'a MlpOnDevice, grids: &[Grid]) -> Vec<Dispatch<'a>> {
        net.layers
            .iter()
            .zip(grids)
            .map(|(layer, &grid)| Dispatch {
                kernel: &self.kernel,
                bind_group: &layer.bind_group,
                grid,
            })
            .collect()
    }

    /// Runs the forward pass of `batch` rows of `input`; the run reads back batch x outputs.
    pub fn forward(
        &self,
        ctx: &GpuContext,
        net: &MlpOnDevice,
        input: &[f32],
        batch: usize,
    ) -> Result<KernelRun, GpuError> {
        if input.len() != batch * net.inputs {
            return Err(GpuError::BadShape(format!(
                "MLP input of {} values for batch {batch} with {} inputs",
                input.len(),
                net.inputs
            )));
        }
        let grids = self.prepare_batch(ctx, net, batch)?;
        ctx.queue
            .write_buffer(&net.input, 0, bytemuck::cast_slice(input));
        KernelRun::submit(
            ctx,
            &RunSpec {
                dispatches: &self.dispatches(net, &grids),
                zero_buffers: &[],
                timed_passes: 0,
                dispatches_per_pass: 1,
                output: &net.output,
                output_size_bytes: (batch * net.outputs) as u64 * 4,
            },
        )
    }
}

impl MlpOnDevice {
    /// The buffer the first layer reads (batch x inputs f32), for kernels that fill it.
    pub fn input_buffer(&self) -> &wgpu::Buffer {
        &self.input
    }

    /// The buffer the last layer writes (batch x outputs f32).
    pub fn output_buffer(&self) -> &wgpu::Buffer {
        &self.output
    }
}

/// The forward pass in f64 with a rigorous bound on the error an f32 evaluation (any
/// summation order) may make, per output: (values, bounds).
///
/// Per layer, with u = 2^-24 and n inputs: err_out <= |W|^T err_in + (n + 2) u (|W|^T |x| + |b|);
/// ReLU / LeakyReLU are 1-Lipschitz, so the bound passes through them.
pub fn forward_oracle(mlp: &Mlp, input: &[f32], batch: usize) -> (Vec<f64>, Vec<f64>) {
    let u = f64::from(f32::EPSILON) / 2.0;
    let mut values: Vec<f64> = input.iter().map(|&v| f64::from(v)).collect();
    let mut errors = vec![0.0f64; values.len()];
    let last = mlp.layers.len().saturating_sub(1);
    for (l, layer) in mlp.layers.iter().enumerate() {
        let mut next = vec![0.0f64; batch * layer.outputs];
        let mut next_err = vec![0.0f64; batch * layer.outputs];
        for b in 0..batch {
            for o in 0..layer.outputs {
                let bias = f64::from(layer.bias[o]);
                let (mut acc, mut abs, mut propagated) = (bias, bias.abs(), 0.0);
                for i in 0..layer.inputs {
                    let w = f64::from(layer.weights[i * layer.outputs + o]);
                    let x = values[b * layer.inputs + i];
                    acc += w * x;
                    abs += (w * x).abs();
                    propagated += w.abs() * errors[b * layer.inputs + i];
                }
                let mut value = acc;
                if l != last {
                    value = activation_f64(mlp, acc);
                }
                let mut err = propagated + (layer.inputs as f64 + 2.0) * u * abs;
                if mlp.skips(l) {
                    // The skip adds the input's own error and one more rounding.
                    let skip = values[b * layer.inputs + o];
                    value += skip;
                    err += errors[b * layer.inputs + o] + u * (value.abs() + err);
                }
                next[b * layer.outputs + o] = value;
                next_err[b * layer.outputs + o] = err;
            }
        }
        values = next;
        errors = next_err;
    }
    (values, errors)
}

fn activation_f64(mlp: &Mlp, x: f64) -> f64 {
    match mlp.spec.activation {
        super::Activation::Relu => x.max(0.0),
        super::Activation::LeakyRelu { slope } => {
            if x > 0.0 {
                x
            } else {
                f64::from(slope) * x
            }
        }
    }
}

/// A self-test entry: `mlp` on `batch` rows of `x` through the dense kernel (or, without a
/// GPU, `Mlp::forward`), judged against [`forward_oracle`] and its rounding bound.
pub fn forward_check(
    name: &str,
    mlp: Mlp,
    x: Vec<f32>,
    batch: usize,
) -> crate::selftest::KernelCheck {
    use crate::selftest::Verdict;
    use std::rc::Rc;
    let (mlp, x) = (Rc::new(mlp), Rc::new(x));
    let (gm, gx, cm, cx) = (
        Rc::clone(&mlp),
        Rc::clone(&x),
        Rc::clone(&mlp),
        Rc::clone(&x),
    );
    crate::selftest::KernelCheck::new(
        name,
        move |ctx| {
            let dense = DenseKernel::new(ctx);
            let net = dense.upload(ctx, &gm, batch)?;
            dense.forward(ctx, &net, &gx, batch)
        },
        move || cm.predict(&cx, batch),
        move |result| {
            let (exact, bound) = forward_oracle(&mlp, &x, batch);
            if result.len() != exact.len() {
                return Verdict {
                    max_abs_error: f64::INFINITY,
                    error_to_bound: f64::INFINITY,
                    detail: format!("{} outputs, {} expected", result.len(), exact.len()),
                };
            }
            let (mut max_abs, mut ratio) = (0.0f64, 0.0f64);
            for ((r, e), b) in result.iter().zip(&exact).zip(&bound) {
                let err = (f64::from(*r) - e).abs();
                max_abs = max_abs.max(err);
                ratio = ratio.max(if err.is_nan() {
                    f64::INFINITY
                } else {
                    err / b.max(f64::MIN_POSITIVE)
                });
            }
            Verdict {
                max_abs_error: max_abs,
                error_to_bound: ratio,
                detail: "vs f64 oracle with a propagated rounding bound".to_owned(),
            }
        },
    )
}
