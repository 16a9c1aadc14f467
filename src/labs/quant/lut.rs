//! The SqueezeLLM LUT-GEMV (`shaders/quant_lut_gemv.wgsl`): packed per-row codebook indices plus
//! a fused CSR sparse part. `LutMatrix` is what the kernel reads; `lut_gemv_reference` is its
//! Rust reference and CPU fallback.

use super::methods::Quantized;
use super::pack::{pack_row, unpack, words_per_row};
use super::sparse::Csr;
use crate::gpu::kernel::{storage_buffer_init, storage_buffer_output, uniform_u32s};
use crate::gpu::{Dispatch, GpuContext, GpuError, Grid, Kernel, KernelRun};

/// Threads per workgroup; must match the shader.
pub const WG_SIZE: u32 = 64;

/// A LUT-quantized matrix in the kernel's layout.
#[derive(Clone, Debug, PartialEq)]
pub struct LutMatrix {
    pub rows: usize,
    pub cols: usize,
    pub bits: u32,
    pub words_per_row: usize,
    pub indices: Vec<u32>,
    /// rows x 2^bits codebook entries.
    pub luts: Vec<f32>,
    pub sparse: Csr,
}

impl LutMatrix {
    /// From a k-means / SqueezeLLM quantization (`None` for the other methods).
    pub fn from_quantized(q: &Quantized, bits: u32) -> Option<Self> {
        let k = 1usize << bits;
        if q.indices.len() != q.rows * q.cols || q.codebooks.len() != q.rows * k {
            return None;
        }
        let words_per_row = words_per_row(q.cols, bits);
        let mut indices = Vec::with_capacity(q.rows * words_per_row);
        for r in 0..q.rows {
            indices.extend(pack_row(&q.indices[r * q.cols..(r + 1) * q.cols], bits));
        }
        Some(Self {
            rows: q.rows,
            cols: q.cols,
            bits,
            words_per_row,
            indices,
            luts: q.codebooks.clone(),
            sparse: q.sparse.clone(),
        })
    }

    /// Bytes the kernel reads at least: indices, codebooks, sparse part, x, and writes y.
    pub fn bytes_moved(&self) -> u64 {
        4 * (self.indices.len()
            + self.luts.len()
            + self.sparse.row_ptr.len()
            + 2 * self.sparse.nnz()
            + self.cols
            + self.rows) as u64
    }

    /// The value the product uses at (r, j) (dense code plus the sparse residual).
    pub fn dense_value(&self, r: usize, j: usize) -> f32 {
        let k = 1usize << self.bits;
        let row = &self.indices[r * self.words_per_row..(r + 1) * self.words_per_row];
        self.luts[r * k + usize::from(unpack(row, self.bits, j))]
    }
}

/// Reference: the same sums as the kernel, one row at a time, in f32.
pub fn lut_gemv_reference(m: &LutMatrix, x: &[f32]) -> Vec<f32> {
    (0..m.rows)
        .map(|r| {
            let mut acc = 0.0f32;
            for j in 0..m.cols {
                acc += m.dense_value(r, j) * x[j];
            }
            for k in m.sparse.row_ptr[r] as usize..m.sparse.row_ptr[r + 1] as usize {
                acc += m.sparse.val[k] * x[m.sparse.col[k] as usize];
            }
            acc
        })
        .collect()
}

/// Row r as the kernel's terms (dense then sparse) with their x, for the f64 oracle.
pub fn row_terms(m: &LutMatrix, x: &[f32], r: usize) -> (Vec<f32>, Vec<f32>) {
    let mut w: Vec<f32> = (0..m.cols).map(|j| m.dense_value(r, j)).collect();
    let mut xs = x[..m.cols].to_vec();
    for k in m.sparse.row_ptr[r] as usize..m.sparse.row_ptr[r + 1] as usize {
        w.push(m.sparse.val[k]);
        xs.push(x[m.sparse.col[k] as usize]);
    }
    (w, xs)
}

pub struct LutGemvKernel {
    kernel: Kernel,
}

/// A LUT matrix and x on the device.
pub struct LutProblem {
    pub rows: u64,
    y: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    grid: Grid,
}

impl LutGemvKernel {
    pub fn new(ctx: &GpuContext) -> Self {
        Self {
            kernel: Kernel::new(ctx, crate::shader!("quant_lut_gemv")),
        }
    }

    pub fn prepare(
        &self,
        ctx: &GpuContext,
        m: &LutMatrix,
        x: &[f32],
    ) -> Result<LutProblem, GpuError> {
        if m.rows == 0 || m.cols == 0 || x.len() != m.cols || !(2..=8).contains(&m.bits) {
            return Err(GpuError::BadShape(format!(
                "LUT-GEMV needs rows, cols > 0, x of length cols and 2..8 bits; got {} x {}, x {}, {} bits",
                m.rows,
                m.cols,
                x.len(),
                m.bits
            )));
        }
        let (Ok(rows), Ok(words)) = (u32::try_from(m.rows), u32::try_from(m.words_per_row)) else {
            return Err(GpuError::BadShape(format!(
                "{} x {} exceeds 32-bit indices",
                m.rows, m.cols
            )));
        };
        // x padded to whole groups of 32; empty sparse arrays get one unused element (WGSL
        // bindings cannot be empty).
        let mut x_padded = x.to_vec();
        x_padded.resize(m.cols.div_ceil(32) * 32, 0.0);
        let col: &[u32] = if m.sparse.nnz() == 0 {
            &[0]
        } else {
            &m.sparse.col
        };
        let val: &[f32] = if m.sparse.nnz() == 0 {
            &[0.0]
        } else {
            &m.sparse.val
        };
        let buffers = [
            storage_buffer_init(
                ctx,
                "LUT-GEMV indices",
                bytemuck::cast_slice(&m.indices),
                wgpu::BufferUsages::empty(),
            )?,
            storage_buffer_init(
                ctx,
                "LUT-GEMV codebooks",
                bytemuck::cast_slice(&m.luts),
                wgpu::BufferUsages::empty(),
            )?,
            storage_buffer_init(
                ctx,
                "LUT-GEMV x",
                bytemuck::cast_slice(&x_padded),
                wgpu::BufferUsages::empty(),
            )?,
            storage_buffer_init(
                ctx,
                "LUT-GEMV row pointers",
                bytemuck::cast_slice(&m.sparse.row_ptr),
                wgpu::BufferUsages::empty(),
            )?,
            storage_buffer_init(
                ctx,
                "LUT-GEMV sparse columns",
                bytemuck::cast_slice(col),
                wgpu::BufferUsages::empty(),
            )?,
            storage_buffer_init(
                ctx,
                "LUT-GEMV sparse values",
                bytemuck::cast_slice(val),
                wgpu::BufferUsages::empty(),
            )?,
        ];
        let y = storage_buffer_output(ctx, "LUT-GEMV y", m.rows as u64 * 4)?;
        let params = uniform_u32s(ctx, "LUT-GEMV params", &[rows, m.bits, words, 0]);
        let grid = Grid::for_groups(ctx, "LUT-GEMV", m.rows as u64)?;
        let bind_group = self.kernel.bind(
            ctx,
            &[
                &buffers[0],
                &buffers[1],
                &buffers[2],
                &buffers[3],
                &buffers[4],
                &buffers[5],
                &y,
                &params,
            ],
        );
        Ok(LutProblem {
            rows: m.rows as u64,
            y,
            bind_group,
            grid,
        })
    }

    pub fn submit(
        &self,
        ctx: &GpuContext,
        p: &LutProblem,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gemv_f32::{gemv_error_bound, gemv_row_oracle};
    use crate::labs::quant::matrix::{
        channel_sensitivity, synthetic_activations, synthetic_weights,
    };
    use crate::labs::quant::methods::{Config, Method, quantize};

    #[test]
    fn reference_equals_the_reconstructed_matrix_times_x() {
        for bits in [3, 4] {
            let w = synthetic_weights(20, 100, 5, 1.0);
            let acts = synthetic_activations(4, 100, 5, 2);
            let s = channel_sensitivity(&acts);
            let config = Config {
                method: Method::Squeeze,
                bits,
                outlier_percent: 0.45,
                sensitive_percent: 0.05,
                seed: 1,
                iterations: 20,
            };
            let q = quantize(&w, &s, &config);
            let m = LutMatrix::from_quantized(&q, bits).expect("a LUT method");
            let x = &acts.data[..100];
            let y = lut_gemv_reference(&m, x);
            let full = q.reconstruct();
            for r in 0..20 {
                let (dot, abs) = gemv_row_oracle(&full[r * 100..(r + 1) * 100], x);
                let bound = gemv_error_bound(100 + m.sparse.nnz(), abs) * 2.0;
                assert!(
                    (f64::from(y[r]) - dot).abs() <= bound,
                    "bits {bits} row {r}"
                );
            }
            assert!(
                crate::shader!("quant_lut_gemv")
                    .wgsl
                    .contains(&format!("const WG_SIZE: u32 = {WG_SIZE}u;"))
            );
        }
    }
}
