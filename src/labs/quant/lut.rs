//! The SqueezeLLM LUT-GEMV (`shaders/quant_lut_gemv_team.wgsl` on GPUs, `_rowwise.wgsl` on
//! software adapters, `quant_lut_gemv.wgsl` for 5 to 8 bits): packed per-row codebook indices plus
//! a fused CSR sparse part. `LutMatrix` is what the kernel reads; `lut_gemv_reference` is its
//! Rust reference and CPU fallback.

use super::methods::Quantized;
use super::pack::{pack_row, unpack, words_per_row};
use super::sparse::Csr;
use crate::gpu::kernel::{storage_buffer_init, storage_buffer_output, uniform_u32s};
use std::rc::Rc;

use super::pipeline::{PipelineCache, Shape, compile};
use crate::gpu::{Dispatch, GpuContext, GpuError, Grid, Kernel, KernelRun};
use crate::kernels::gemv_f32::GemvVariant;

/// Threads per workgroup of the rowwise and wide shapes; must match those shaders.
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

/// The LUT-GEMV pipelines of one device, compiled per bit width on first use.
pub struct LutGemvKernel {
    pub shape: Shape,
    /// How the thread-per-row shader looks codes up (the team shape always uses its shared
    /// codebooks).
    pub lookup: Lookup,
    compiled: PipelineCache<u32>,
}

/// How `quant_lut_gemv_rowwise.wgsl` turns a code into its codebook entry: its `GATHER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A tree of selects on the codebook held in registers.
    SelectTree,
    /// A load from the row's codebook in the storage buffer.
    Gather,
    /// A load of two entries at once from the row's pair table (2^(2 bits) pairs per row,
    /// built with the weights): one load and one index per two codes.
    Pairs,
}

impl Lookup {
    /// Measured per adapter at 2048^2 (docs/BENCHMARKS.md): on SwiftShader (the browsers'
    /// software WebGPU) the pair table is fastest (its cost is per load, not per byte; with four
    /// rows per thread the tree runs 3x slower there), on lavapipe the select tree. GPUs run the
    /// team shape, which has none of them.
    pub fn for_adapter(ctx: &GpuContext) -> Self {
        if ctx.adapter.is_swiftshader() {
            Self::Pairs
        } else {
            Self::SelectTree
        }
    }

    pub const ALL: [Self; 3] = [Self::SelectTree, Self::Gather, Self::Pairs];

    /// The shader's `GATHER` constant.
    fn gather_constant(self) -> u32 {
        match self {
            Self::SelectTree => 0,
            Self::Gather => 1,
            Self::Pairs => 2,
        }
    }
}

/// The rows' pair tables for [`Lookup::Pairs`]: for each row, entry p holds the codebook entries
/// of the codes `p & (2^bits - 1)` and `p >> bits` (the first code sits in the lower bits).
pub fn pair_tables(m: &LutMatrix) -> Vec<[f32; 2]> {
    let entries = 1usize << m.bits;
    m.luts
        .chunks_exact(entries)
        .take(m.rows)
        .flat_map(|book| (0..entries * entries).map(|p| [book[p % entries], book[p / entries]]))
        .collect()
}

/// Rows per team in the team shape: x is loaded once per unit for this many rows.
pub const ROWS_PER_TEAM: u32 = 2;
/// Codes per unit of the team shape (four groups of 32).
const UNIT_CODES: usize = 128;
/// The widest code the octet kernels decode (eight codes in at most 32 bits).
const MAX_OCTET_BITS: u32 = 4;

/// Which WGSL a bit width runs on a shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// quant_lut_gemv_team.wgsl: rows padded to whole units of 128 codes.
    Team,
    /// quant_lut_gemv_rowwise.wgsl: rows padded to whole units of 128 codes, as Team.
    Rowwise,
    /// quant_lut_gemv.wgsl (a workgroup per row, four codes per step): 5 to 8 bits, which no
    /// octet holds.
    Wide,
}

fn layout(shape: Shape, bits: u32) -> Layout {
    match shape {
        _ if bits > MAX_OCTET_BITS => Layout::Wide,
        Shape::Team { .. } => Layout::Team,
        Shape::Rowwise => Layout::Rowwise,
    }
}

/// A LUT matrix and x on the device, with the pipeline for its bit width.
pub struct LutProblem {
    pub rows: u64,
    kernel: Rc<Kernel>,
    y: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    grid: Grid,
}

impl LutGemvKernel {
    /// The shape measured faster on this kind of adapter (a thread per row on software ones).
    pub fn new(ctx: &GpuContext) -> Self {
        Self::with_variant(ctx, GemvVariant::for_adapter(ctx))
    }

    pub fn with_variant(ctx: &GpuContext, variant: GemvVariant) -> Self {
        Self::with_shape(Shape::for_variant(ctx, variant), Lookup::for_adapter(ctx))
    }

    /// A given shape and lookup (the tests run every one the device has).
    pub fn with_shape(shape: Shape, lookup: Lookup) -> Self {
        Self {
            shape,
            lookup,
            compiled: PipelineCache::default(),
        }
    }

    fn kernel(&self, ctx: &GpuContext, bits: u32) -> Rc<Kernel> {
        self.compiled
            .get_or_compile(bits, || match layout(self.shape, bits) {
                Layout::Team => compile(
                    ctx,
                    "quant_lut_gemv_team",
                    crate::shader!("quant_lut_gemv_team"),
                    self.shape,
                    &[("BITS", bits), ("ROWS_PER_TEAM", ROWS_PER_TEAM)],
                ),
                Layout::Rowwise => compile(
                    ctx,
                    "quant_lut_gemv_rowwise",
                    crate::shader!("quant_lut_gemv_rowwise"),
                    self.shape,
                    &[("BITS", bits), ("GATHER", self.lookup.gather_constant())],
                ),
                Layout::Wide => compile(
                    ctx,
                    "quant_lut_gemv",
                    crate::shader!("quant_lut_gemv"),
                    Shape::Rowwise,
                    &[("BITS", bits)],
                ),
            })
    }

    /// What runs `bits`-bit matrices, for the speed view's labels.
    pub fn label(&self, bits: u32) -> String {
        match layout(self.shape, bits) {
            Layout::Wide => "workgroup per row".to_owned(),
            Layout::Rowwise if self.lookup == Lookup::Gather => {
                format!("{}, codebook loads", self.shape.label())
            }
            Layout::Rowwise if self.lookup == Lookup::Pairs => {
                format!("{}, pair-table loads", self.shape.label())
            }
            _ => self.shape.label(),
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
        let layout = layout(self.shape, m.bits);
        let bits = m.bits as usize;
        let groups = m.cols.div_ceil(32);
        let units = groups.div_ceil(4);
        // The team and rowwise layouts pad each row to whole units (index 0 against x = 0),
        // which they load BITS vec4 at a time.
        let (indices, x_len, row_stride) = if layout != Layout::Wide {
            let stride = units * 4 * bits;
            let mut padded = vec![0u32; m.rows * stride];
            for (dst, src) in padded
                .chunks_exact_mut(stride)
                .zip(m.indices.chunks_exact(m.words_per_row))
            {
                dst[..src.len()].copy_from_slice(src);
            }
            (
                std::borrow::Cow::Owned(padded),
                units * UNIT_CODES,
                stride / 4,
            )
        } else {
            (
                std::borrow::Cow::Borrowed(&m.indices[..]),
                groups * 32,
                m.words_per_row,
            )
        };
        let (Ok(rows), Ok(stride), Ok(units32)) = (
            u32::try_from(m.rows),
            u32::try_from(row_stride),
            u32::try_from(units),
        ) else {
            return Err(GpuError::BadShape(format!(
                "{} x {} exceeds 32-bit indices",
                m.rows, m.cols
            )));
        };
        let mut x_padded = x.to_vec();
        x_padded.resize(x_len, 0.0);
        let kernel = self.kernel(ctx, m.bits);
        let buffers = upload(ctx, m, &indices, &x_padded)?;
        let y = storage_buffer_output(ctx, "LUT-GEMV y", m.rows as u64 * 4)?;
        let words = match layout {
            Layout::Team => [rows, stride, units32, 0],
            Layout::Rowwise => [rows, units32, 0, 0],
            Layout::Wide => [rows, m.bits, stride, 0],
        };
        let params = uniform_u32s(ctx, "LUT-GEMV params", &words);
        let per_group = match layout {
            Layout::Wide => 1,
            _ => self.shape.rows_per_workgroup(ROWS_PER_TEAM, WG_SIZE),
        };
        let grid = Grid::for_groups(
            ctx,
            "LUT-GEMV",
            (m.rows as u64).div_ceil(u64::from(per_group)),
        )?;
        let [b0, b1, b2, b3, b4, b5] = &buffers;
        let bind_group = if layout == Layout::Rowwise {
            let pairs = if self.lookup == Lookup::Pairs {
                pair_tables(m)
            } else {
                vec![[0.0; 2]]
            };
            let pairs = storage_buffer_init(
                ctx,
                "LUT-GEMV pair tables",
                bytemuck::cast_slice(&pairs),
                wgpu::BufferUsages::empty(),
            )?;
            kernel.bind(ctx, &[b0, b1, b2, b3, b4, b5, &y, &params, &pairs])
        } else {
            kernel.bind(ctx, &[b0, b1, b2, b3, b4, b5, &y, &params])
        };
        Ok(LutProblem {
            rows: m.rows as u64,
            kernel,
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
                kernel: &p.kernel,
                bind_group: &p.bind_group,
                grid: p.grid,
            },
            &p.y,
            timed_passes,
            dispatches_per_pass,
        )
    }
}

/// The kernel's six input buffers: indices, codebooks, x, and the CSR arrays (an empty sparse
/// part gets one unused element: WGSL bindings cannot be empty).
fn upload(
    ctx: &GpuContext,
    m: &LutMatrix,
    indices: &[u32],
    x_padded: &[f32],
) -> Result<[wgpu::Buffer; 6], GpuError> {
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
    let buffer = |what: &str, bytes: &[u8]| {
        storage_buffer_init(ctx, what, bytes, wgpu::BufferUsages::empty())
    };
    Ok([
        buffer("LUT-GEMV indices", bytemuck::cast_slice(indices))?,
        buffer("LUT-GEMV codebooks", bytemuck::cast_slice(&m.luts))?,
        buffer("LUT-GEMV x", bytemuck::cast_slice(x_padded))?,
        buffer(
            "LUT-GEMV row pointers",
            bytemuck::cast_slice(&m.sparse.row_ptr),
        )?,
        buffer("LUT-GEMV sparse columns", bytemuck::cast_slice(col))?,
        buffer("LUT-GEMV sparse values", bytemuck::cast_slice(val))?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gemv_f32::{gemv_error_bound, gemv_row_oracle};
    use crate::labs::quant::matrix::{
        channel_sensitivity, synthetic_activations, synthetic_weights,
    };
    use crate::labs::quant::methods::{Config, Method, quantize};

    /// A pair-table entry, indexed as the shader indexes it (two adjacent codes of the packed
    /// row, the first in the lower bits), holds the two codes' codebook entries.
    #[test]
    fn pair_tables_hold_adjacent_codes_entries() {
        for bits in [2, 3, 4] {
            let entries = 1usize << bits;
            let (rows, cols) = (3, 64);
            let codes: Vec<u8> = (0..rows * cols)
                .map(|i| ((i * 7 + i / 5) % entries) as u8)
                .collect();
            let mut indices = Vec::new();
            for r in 0..rows {
                indices.extend(pack_row(&codes[r * cols..(r + 1) * cols], bits));
            }
            let m = LutMatrix {
                rows,
                cols,
                bits,
                words_per_row: words_per_row(cols, bits),
                indices,
                luts: (0..rows * entries).map(|i| i as f32 * 0.5 - 3.0).collect(),
                sparse: Csr {
                    row_ptr: vec![0; rows + 1],
                    ..Csr::default()
                },
            };
            let pairs = pair_tables(&m);
            assert_eq!(pairs.len(), rows * entries * entries);
            for r in 0..rows {
                for j in (0..cols).step_by(2) {
                    let (a, b) = (codes[r * cols + j], codes[r * cols + j + 1]);
                    let p = usize::from(a) | usize::from(b) << bits;
                    let expected = [m.dense_value(r, j), m.dense_value(r, j + 1)];
                    assert_eq!(pairs[r * entries * entries + p], expected, "bits {bits}");
                }
            }
        }
    }

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
            for name in ["quant_lut_gemv", "quant_lut_gemv_rowwise"] {
                let wgsl = match name {
                    "quant_lut_gemv" => crate::shader!("quant_lut_gemv").wgsl,
                    _ => crate::shader!("quant_lut_gemv_rowwise").wgsl,
                };
                assert!(
                    wgsl.contains(&format!("const WG_SIZE: u32 = {WG_SIZE}u;")),
                    "{name}"
                );
            }
        }
    }
}
