//! The bipolar-INT bit-plane GEMV on the GPU (`shaders/quant_bipolar_gemv_team.wgsl` on GPUs,
//! `_rowwise.wgsl` on software adapters), one pipeline per (p, q) compiled on first use; its
//! reference is `bipolar::gemv`, itself checked against plain integer products.

use std::rc::Rc;

use super::bipolar::Planes;
use super::pipeline::{PipelineCache, Shape, compile};
use crate::gpu::kernel::{storage_buffer_init, storage_buffer_output, uniform_u32s};
use crate::gpu::{Dispatch, GpuContext, GpuError, Grid, Kernel, KernelRun};
use crate::kernels::gemv_f32::GemvVariant;

/// The rows of W (p planes each) and x (q planes), checked for one shared shape and for sums
/// that fit the kernel's 32-bit integers.
pub struct BipolarProblemSpec<'a> {
    pub rows: &'a [Planes],
    pub x: &'a Planes,
}

/// Why a shape cannot run: every row must have x's length and p bits; the largest sum
/// K (2^p - 1)(2^q - 1) must stay below 2^31.
pub fn check_shape(rows: &[Planes], x: &Planes) -> Result<(u32, usize), String> {
    let Some(first) = rows.first() else {
        return Err("no rows".to_owned());
    };
    let p = first.bits;
    if rows.iter().any(|r| r.bits != p || r.len != x.len) {
        return Err(format!(
            "every row needs {p} bits and {} lanes like x",
            x.len
        ));
    }
    let full = x.len as u64 * ((1u64 << p) - 1) * ((1u64 << x.bits) - 1);
    if full >= 1 << 31 {
        return Err(format!(
            "{} lanes at {p} x {} bits: sums reach {full}, beyond the kernel's 32-bit integers (2^31)",
            x.len, x.bits
        ));
    }
    Ok((p, x.words))
}

/// Bytes the kernel reads at least (W planes, x planes) and writes (y).
pub fn bytes_moved(rows: &[Planes], x: &Planes) -> u64 {
    4 * (rows.iter().map(|r| r.data.len()).sum::<usize>() + x.data.len() + rows.len()) as u64
}

/// The bipolar GEMV pipelines of one device, compiled per (p, q) on first use.
pub struct BipolarGemvKernel {
    pub shape: Shape,
    compiled: PipelineCache<(u32, u32)>,
}

/// Rows per team in the team shape (x's planes loaded once per word for this many rows).
pub const ROWS_PER_TEAM: u32 = 2;
/// Threads per workgroup of the rowwise shape; must match the shader.
pub const ROWWISE_WG_SIZE: u32 = 64;

pub struct BipolarProblem {
    pub rows: u64,
    kernel: Rc<Kernel>,
    y: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    grid: Grid,
}

impl BipolarGemvKernel {
    /// The shape measured faster on this kind of adapter (a thread per row on software ones).
    pub fn new(ctx: &GpuContext) -> Self {
        Self::with_shape(Shape::for_variant(ctx, GemvVariant::for_adapter(ctx)))
    }

    pub fn with_shape(shape: Shape) -> Self {
        Self {
            shape,
            compiled: PipelineCache::default(),
        }
    }

    fn kernel(&self, ctx: &GpuContext, p: u32, q: u32) -> Rc<Kernel> {
        let (name, shader) = match self.shape {
            Shape::Rowwise => (
                "quant_bipolar_gemv_rowwise",
                crate::shader!("quant_bipolar_gemv_rowwise"),
            ),
            Shape::Team { .. } => (
                "quant_bipolar_gemv_team",
                crate::shader!("quant_bipolar_gemv_team"),
            ),
        };
        let constants = [("P", p), ("Q", q), ("ROWS_PER_TEAM", ROWS_PER_TEAM)];
        let used = if self.shape == Shape::Rowwise { 2 } else { 3 };
        self.compiled.get_or_compile((p, q), || {
            compile(ctx, name, shader, self.shape, &constants[..used])
        })
    }

    pub fn prepare(
        &self,
        ctx: &GpuContext,
        spec: &BipolarProblemSpec<'_>,
    ) -> Result<BipolarProblem, GpuError> {
        let (p, words) = check_shape(spec.rows, spec.x).map_err(GpuError::BadShape)?;
        // The rowwise shader loads a vec4 of words per plane: its planes are padded to a
        // multiple of 4 words with zero bits in W and x, whose XOR adds nothing.
        let stride = if self.shape == Shape::Rowwise {
            words.next_multiple_of(4)
        } else {
            words
        };
        let (Ok(rows), Ok(stride_u32), Ok(lanes)) = (
            u32::try_from(spec.rows.len()),
            u32::try_from(stride),
            u32::try_from(spec.x.len),
        ) else {
            return Err(GpuError::BadShape(
                "the shape exceeds 32-bit indices".to_owned(),
            ));
        };
        let w_data: Vec<u32> = spec
            .rows
            .iter()
            .flat_map(|r| padded_planes(&r.data, words, stride))
            .collect();
        let w = storage_buffer_init(
            ctx,
            "bipolar W planes",
            bytemuck::cast_slice(&w_data),
            wgpu::BufferUsages::empty(),
        )?;
        let x = storage_buffer_init(
            ctx,
            "bipolar x planes",
            bytemuck::cast_slice(&padded_planes(&spec.x.data, words, stride)),
            wgpu::BufferUsages::empty(),
        )?;
        let y = storage_buffer_output(ctx, "bipolar y", u64::from(rows) * 4)?;
        let params = uniform_u32s(ctx, "bipolar params", &[rows, stride_u32, lanes, 0]);
        let per_group = self
            .shape
            .rows_per_workgroup(ROWS_PER_TEAM, ROWWISE_WG_SIZE);
        let grid = Grid::for_groups(
            ctx,
            "bipolar GEMV",
            u64::from(rows).div_ceil(u64::from(per_group)),
        )?;
        let kernel = self.kernel(ctx, p, spec.x.bits);
        let bind_group = kernel.bind(ctx, &[&w, &x, &y, &params]);
        Ok(BipolarProblem {
            rows: u64::from(rows),
            kernel,
            y,
            bind_group,
            grid,
        })
    }

    /// The output bytes are the rows' i32 results.
    pub fn submit(
        &self,
        ctx: &GpuContext,
        p: &BipolarProblem,
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

/// Planes of `words` words each (plane after plane), each padded with zero words to `stride`.
fn padded_planes(data: &[u32], words: usize, stride: usize) -> Vec<u32> {
    if words == stride {
        return data.to_vec();
    }
    data.chunks_exact(words.max(1))
        .flat_map(|plane| {
            plane
                .iter()
                .copied()
                .chain(std::iter::repeat_n(0, stride - words))
        })
        .collect()
}

/// The i32 results in a kernel's output bytes.
pub fn i32s_from_bytes(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::quant::bipolar::encode;

    #[test]
    fn planes_are_padded_one_by_one() {
        let data = [1, 2, 3, 4, 5, 6];
        assert_eq!(padded_planes(&data, 3, 3), data);
        assert_eq!(
            padded_planes(&data, 3, 4),
            [1, 2, 3, 0, 4, 5, 6, 0],
            "each plane of 3 words gets one zero word"
        );
        assert_eq!(
            padded_planes(&data, 2, 4),
            [1, 2, 0, 0, 3, 4, 0, 0, 5, 6, 0, 0]
        );
    }

    #[test]
    fn shapes_beyond_32_bit_sums_are_refused() {
        let x = encode(&vec![1; 40_000], 8).expect("valid");
        let row = encode(&vec![-1; 40_000], 8).expect("valid");
        assert!(check_shape(std::slice::from_ref(&row), &x).is_err());
        let x = encode(&vec![1; 4096], 8).expect("valid");
        let row = encode(&vec![-1; 4096], 8).expect("valid");
        assert_eq!(check_shape(&[row], &x), Ok((8, 128)));
        let short = encode(&[1, 1], 2).expect("valid");
        assert!(check_shape(&[short], &x).is_err());
        assert!(check_shape(&[], &x).is_err());
    }
}
