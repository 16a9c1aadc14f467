//! llama.cpp's Q4_0 as a GEMV that dequantizes on the fly (`shaders/quant_q4_0_gemv_team.wgsl` on GPUs,
//! `_rowwise.wgsl` on software adapters): `Q4Matrix` is the kernels' layout, `q4_gemv_reference` their Rust
//! reference and CPU fallback.

use super::formats::f16_bits;
use super::matrix::Matrix;
use super::methods::{BLOCK, q4_0_encode};
use super::pipeline::{Shape, compile};
use crate::gpu::kernel::{storage_buffer_init, storage_buffer_output, uniform_u32s};
use crate::gpu::{Dispatch, GpuContext, GpuError, Grid, Kernel, KernelRun};
use crate::kernels::gemv_f32::GemvVariant;

/// A Q4_0 matrix: per block of 32 one f16 scale and 16 bytes of 4-bit codes, in llama.cpp's
/// byte order (byte t: element t in the low nibble, element t + 16 in the high one).
#[derive(Clone, Debug, PartialEq)]
pub struct Q4Matrix {
    pub rows: usize,
    pub cols: usize,
    pub blocks_per_row: usize,
    /// 4 u32 per block (the 16 code bytes, little-endian).
    pub codes: Vec<u32>,
    /// The scales as f32 (exact f16 values), one per block.
    pub scales: Vec<f32>,
}

impl Q4Matrix {
    /// Quantizes every row in blocks of 32 (a short last block is padded with zeros, whose
    /// codes meet zero-padded x in the kernel).
    pub fn from_matrix(w: &Matrix) -> Self {
        let blocks_per_row = w.cols.div_ceil(BLOCK);
        let mut codes = Vec::with_capacity(w.rows * blocks_per_row * 4);
        let mut scales = Vec::with_capacity(w.rows * blocks_per_row);
        for r in 0..w.rows {
            let row = w.row(r);
            for b in 0..blocks_per_row {
                let mut block = [0.0f32; BLOCK];
                let part = &row[b * BLOCK..((b + 1) * BLOCK).min(w.cols)];
                block[..part.len()].copy_from_slice(part);
                let (d, q) = q4_0_encode(&block);
                let mut bytes = [0u8; 16];
                for t in 0..16 {
                    bytes[t] = q[t] | (q[t + 16] << 4);
                }
                codes.extend(
                    bytes
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
                scales.push(d);
            }
        }
        Self {
            rows: w.rows,
            cols: w.cols,
            blocks_per_row,
            codes,
            scales,
        }
    }

    /// The 4-bit code of (r, j).
    pub fn code(&self, r: usize, j: usize) -> u8 {
        let block = r * self.blocks_per_row + j / BLOCK;
        let t = j % BLOCK;
        let byte = t % 16;
        let word = self.codes[block * 4 + byte / 4] >> (8 * (byte % 4));
        let nibble = if t < 16 { word } else { word >> 4 };
        (nibble & 15) as u8
    }

    /// The dequantized weight d (q - 8) at (r, j) (exact in f32).
    pub fn value(&self, r: usize, j: usize) -> f32 {
        self.scales[r * self.blocks_per_row + j / BLOCK] * (i32::from(self.code(r, j)) - 8) as f32
    }

    /// The scales as the kernel reads them: two f16 per u32, the even block in the low half.
    pub fn packed_scales(&self) -> Vec<u32> {
        self.scales
            .chunks(2)
            .map(|pair| {
                let lo = u32::from(f16_bits(pair[0]));
                let hi = pair.get(1).map_or(0, |&d| u32::from(f16_bits(d)));
                lo | (hi << 16)
            })
            .collect()
    }

    /// Bytes the kernel reads at least (codes, scales, x) and writes (y).
    pub fn bytes_moved(&self) -> u64 {
        let blocks = (self.rows * self.blocks_per_row) as u64;
        blocks * 18 + 4 * (self.cols + self.rows) as u64
    }
}

/// Reference: per block d * sum (q - 8) x, blocks summed in order, in f32.
pub fn q4_gemv_reference(m: &Q4Matrix, x: &[f32]) -> Vec<f32> {
    (0..m.rows)
        .map(|r| {
            let mut acc = 0.0f32;
            for b in 0..m.blocks_per_row {
                let mut s = 0.0f32;
                for j in b * BLOCK..((b + 1) * BLOCK).min(m.cols) {
                    s += (i32::from(m.code(r, j)) - 8) as f32 * x[j];
                }
                acc += m.scales[r * m.blocks_per_row + b] * s;
            }
            acc
        })
        .collect()
}

/// The Q4_0 GEMV pipeline of one device, in the shape suited to it.
pub struct Q4GemvKernel {
    pub shape: Shape,
    /// Rows per thread of the rowwise shape (2 or 4, the shader's `ROWS`).
    pub rowwise_rows: u32,
    kernel: Kernel,
}

/// Rows per team in the team shape (x loaded once per block for this many rows).
pub const ROWS_PER_TEAM: u32 = 2;
/// Threads per workgroup of the rowwise shape; must match the shader.
pub const ROWWISE_WG_SIZE: u32 = 64;

/// Rows per thread of the rowwise shape on this adapter, as measured at 2048^2 (docs/
/// BENCHMARKS.md): two on SwiftShader, where four run slower (6.7 against 5.0 ms), four
/// elsewhere (lavapipe 0.72 against 1.05 ms).
pub fn rowwise_rows_for(ctx: &GpuContext) -> u32 {
    if ctx.adapter.is_swiftshader() { 2 } else { 4 }
}

/// A Q4_0 matrix and x on the device.
pub struct Q4Problem {
    pub rows: u64,
    y: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    grid: Grid,
}

impl Q4GemvKernel {
    /// The shape measured faster on this kind of adapter (a thread per row on software ones).
    pub fn new(ctx: &GpuContext) -> Self {
        Self::with_shape(ctx, Shape::for_variant(ctx, GemvVariant::for_adapter(ctx)))
    }

    pub fn with_shape(ctx: &GpuContext, shape: Shape) -> Self {
        Self::with_rowwise_rows(ctx, shape, rowwise_rows_for(ctx))
    }

    /// A given shape, with `rowwise_rows` (2 or 4) rows per thread where it is rowwise (the
    /// tests run both).
    pub fn with_rowwise_rows(ctx: &GpuContext, shape: Shape, rowwise_rows: u32) -> Self {
        let rowwise_rows = if rowwise_rows <= 2 { 2 } else { 4 };
        let kernel = match shape {
            Shape::Rowwise => compile(
                ctx,
                "quant_q4_0_gemv_rowwise",
                crate::shader!("quant_q4_0_gemv_rowwise", prelude: "q4_0_nibbles"),
                shape,
                &[("ROWS", rowwise_rows)],
            ),
            Shape::Team { .. } => compile(
                ctx,
                "quant_q4_0_gemv_team",
                crate::shader!("quant_q4_0_gemv_team", prelude: "q4_0_nibbles"),
                shape,
                &[("ROWS_PER_TEAM", ROWS_PER_TEAM)],
            ),
        };
        Self {
            shape,
            rowwise_rows,
            kernel,
        }
    }

    /// As shown next to a timing.
    pub fn label(&self) -> String {
        match self.shape {
            Shape::Rowwise => format!("thread per {} rows", self.rowwise_rows),
            Shape::Team { .. } => self.shape.label(),
        }
    }

    pub fn prepare(
        &self,
        ctx: &GpuContext,
        m: &Q4Matrix,
        x: &[f32],
    ) -> Result<Q4Problem, GpuError> {
        if m.rows == 0 || m.cols == 0 || x.len() != m.cols {
            return Err(GpuError::BadShape(format!(
                "Q4_0 GEMV needs rows, cols > 0 and x of length cols; got {} x {}, x {}",
                m.rows,
                m.cols,
                x.len()
            )));
        }
        let (Ok(rows), Ok(blocks)) = (u32::try_from(m.rows), u32::try_from(m.blocks_per_row))
        else {
            return Err(GpuError::BadShape(format!(
                "{} x {} exceeds 32-bit indices",
                m.rows, m.cols
            )));
        };
        let mut x_padded = x.to_vec();
        x_padded.resize(m.blocks_per_row * BLOCK, 0.0);
        let codes = storage_buffer_init(
            ctx,
            "Q4_0 codes",
            bytemuck::cast_slice(&m.codes),
            wgpu::BufferUsages::empty(),
        )?;
        let scales = storage_buffer_init(
            ctx,
            "Q4_0 scales",
            bytemuck::cast_slice(&m.packed_scales()),
            wgpu::BufferUsages::empty(),
        )?;
        let x_buffer = storage_buffer_init(
            ctx,
            "Q4_0 x",
            bytemuck::cast_slice(&x_padded),
            wgpu::BufferUsages::empty(),
        )?;
        let y = storage_buffer_output(ctx, "Q4_0 y", m.rows as u64 * 4)?;
        let params = uniform_u32s(ctx, "Q4_0 params", &[rows, blocks, 0, 0]);
        let per_group = match self.shape {
            Shape::Rowwise => ROWWISE_WG_SIZE * self.rowwise_rows,
            Shape::Team { .. } => self
                .shape
                .rows_per_workgroup(ROWS_PER_TEAM, ROWWISE_WG_SIZE),
        };
        let grid = Grid::for_groups(
            ctx,
            "Q4_0 GEMV",
            (m.rows as u64).div_ceil(u64::from(per_group)),
        )?;
        let bind_group = self
            .kernel
            .bind(ctx, &[&codes, &scales, &x_buffer, &y, &params]);
        Ok(Q4Problem {
            rows: m.rows as u64,
            y,
            bind_group,
            grid,
        })
    }

    pub fn submit(
        &self,
        ctx: &GpuContext,
        p: &Q4Problem,
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
    use crate::labs::quant::matrix::synthetic_weights;

    #[test]
    fn layout_dequantizes_to_the_q4_0_quantizer() {
        // 70 columns: two full blocks and a short one.
        let w = synthetic_weights(9, 70, 3, 1.0);
        let m = Q4Matrix::from_matrix(&w);
        // The kernel stores llama.cpp's reference Q4_0 (no importance search).
        for r in 0..9 {
            for j in 0..70 {
                let block = &w.row(r)[j / BLOCK * BLOCK..((j / BLOCK + 1) * BLOCK).min(70)];
                let (d, codes) = q4_0_encode(block);
                let expected = d * (i32::from(codes[j % BLOCK]) - 8) as f32;
                assert_eq!(m.value(r, j), expected, "({r}, {j})");
            }
        }
        // Byte order: element 0 in the low nibble of byte 0, element 16 in its high nibble.
        assert_eq!(m.codes[0] & 15, u32::from(m.code(0, 0)));
        assert_eq!((m.codes[0] >> 4) & 15, u32::from(m.code(0, 16)));
        let packed = m.packed_scales();
        assert_eq!(packed.len(), (9 * 3usize).div_ceil(2));
        assert_eq!(
            crate::labs::quant::real::f16_to_f32((packed[0] >> 16) as u16),
            m.scales[1]
        );
    }

    #[test]
    fn reference_matches_an_f64_oracle() {
        use crate::kernels::gemv_f32::{gemv_error_bound, gemv_row_oracle};
        let w = synthetic_weights(5, 100, 4, 1.0);
        let m = Q4Matrix::from_matrix(&w);
        let x: Vec<f32> = (0..100)
            .map(|j| ((j * 7 % 13) as f32 - 6.0) / 5.0)
            .collect();
        let y = q4_gemv_reference(&m, &x);
        for r in 0..5 {
            let row: Vec<f32> = (0..100).map(|j| m.value(r, j)).collect();
            let (dot, abs) = gemv_row_oracle(&row, &x);
            assert!((f64::from(y[r]) - dot).abs() <= gemv_error_bound(100, abs) * 2.0);
        }
    }
}
