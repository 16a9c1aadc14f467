//! The kernel-speed suite shared by `paperlab bench quant` (blocking) and the page (one kernel
//! per frame): copy, f32 GEMV, 4-bit LUT-GEMV, 3-bit LUT-GEMV with a 0.45% CSR part, Q4_0 GEMV
//! and bipolar GEMV for p = q in {1, 2, 4, 8}, all on one seeded rows x cols problem.
//!
//! Speed inputs are random codes (indices, codebooks, scales, bit planes, sparse positions):
//! none of these kernels does data-dependent work, so the codes' quality does not change their
//! speed (the quantizers' quality is measured separately). Every timed result is still
//! verified on sampled rows against an independent reference.

use serde::Serialize;
use serde_json::json;

use super::bipolar::{Planes, dot};
use super::bipolar_gemm::{
    BipolarGemmKernel, bipolar_gemm_reference, gemm_bytes_moved as bipolar_gemm_bytes_moved,
};
use super::bipolar_gpu::{BipolarGemvKernel, BipolarProblemSpec, bytes_moved, i32s_from_bytes};
use super::lut::{Lookup, LutGemvKernel, LutMatrix, lut_gemv_reference, row_terms};
use super::pack::words_per_row;
use super::pipeline::{PipelineCache, Shape};
use super::q4::{Q4GemvKernel, Q4Matrix, q4_gemv_reference};
use super::sparse::Csr;
use crate::gpu::{GpuContext, GpuError, KernelRun, f32s_from_bytes};
use crate::kernels::copy::{CopyKernel, copy_bytes_moved, copy_reference};
use crate::kernels::gemm_f32::{GemmF32Kernel, gemm_bytes_moved, gemm_f32_reference};
use crate::kernels::gemv_f32::{
    GemvF32Kernel, GemvVariant, check_rows, gemv_bytes_moved, gemv_error_bound, gemv_f32_reference,
    gemv_row_oracle,
};
use crate::rng::{SplitMix64, hash_f32};

/// Sparse density of the 3-bit LUT-GEMV (SqueezeLLM's 0.45%).
pub const SPARSE_FRACTION: f64 = 0.0045;
/// Bipolar widths timed (p = q).
pub const BIPOLAR_BITS: [u32; 4] = [1, 2, 4, 8];
/// Activation vectors per GEMM (the bipolar claim is about matrix products).
pub const GEMM_BATCH: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuiteKernel {
    Copy,
    GemvF32,
    Lut4,
    Lut3Sparse,
    Q40,
    /// p = q bits.
    Bipolar(u32),
    /// f32 GEMM of GEMM_BATCH vectors (tiled on GPUs).
    GemmF32,
    /// Bit-plane GEMM of GEMM_BATCH vectors, p = q bits.
    BipolarGemm(u32),
}

impl SuiteKernel {
    pub fn all() -> Vec<SuiteKernel> {
        let mut v = vec![
            SuiteKernel::Copy,
            SuiteKernel::GemvF32,
            SuiteKernel::Lut4,
            SuiteKernel::Lut3Sparse,
            SuiteKernel::Q40,
        ];
        v.extend(BIPOLAR_BITS.map(SuiteKernel::Bipolar));
        v.push(SuiteKernel::GemmF32);
        v.extend(BIPOLAR_BITS.map(SuiteKernel::BipolarGemm));
        v
    }

    pub fn name(self) -> String {
        match self {
            SuiteKernel::Copy => "copy".to_owned(),
            SuiteKernel::GemvF32 => "gemv_f32".to_owned(),
            SuiteKernel::Lut4 => "lut_gemv_4bit".to_owned(),
            SuiteKernel::Lut3Sparse => "lut_gemv_3bit_sparse_0.45pct".to_owned(),
            SuiteKernel::Q40 => "q4_0_gemv".to_owned(),
            SuiteKernel::Bipolar(b) => format!("bipolar_{b}x{b}"),
            SuiteKernel::GemmF32 => format!("gemm_f32_batch{GEMM_BATCH}"),
            SuiteKernel::BipolarGemm(b) => format!("bipolar_gemm_{b}x{b}_batch{GEMM_BATCH}"),
        }
    }
}

/// The f32 kernel a result is compared with: the f32 GEMM for GEMMs, the f32 GEMV otherwise.
pub fn baseline_of(kernel: &str) -> String {
    if kernel.contains("gemm") {
        SuiteKernel::GemmF32.name()
    } else {
        SuiteKernel::GemvF32.name()
    }
}

/// A result's speed-up over its f32 baseline in the same run (`None` without one, and for the
/// copy kernel, which is the bandwidth roof rather than a product).
pub fn speedup(results: &[SuiteResult], r: &SuiteResult) -> Option<f64> {
    if r.kernel == SuiteKernel::Copy.name() {
        return None;
    }
    let base = baseline_of(&r.kernel);
    results
        .iter()
        .find(|b| b.kernel == base)
        .map(|b| b.ms_median / r.ms_median)
}

/// A short axis label for a kernel name (the plot has room for a few characters per bar).
pub fn short_label(kernel: &str) -> String {
    SuiteKernel::all()
        .into_iter()
        .find(|k| k.name() == kernel)
        .map_or_else(
            || kernel.to_owned(),
            |k| match k {
                SuiteKernel::Copy => "copy".to_owned(),
                SuiteKernel::GemvF32 => "f32".to_owned(),
                SuiteKernel::Lut4 => "LUT4".to_owned(),
                SuiteKernel::Lut3Sparse => "LUT3+sp".to_owned(),
                SuiteKernel::Q40 => "Q4_0".to_owned(),
                SuiteKernel::Bipolar(b) => format!("bi{b}x{b}"),
                SuiteKernel::GemmF32 => "GEMM f32".to_owned(),
                SuiteKernel::BipolarGemm(b) => format!("GEMM bi{b}"),
            },
        )
}

/// One problem in every layout.
pub struct SuiteInputs {
    pub rows: usize,
    pub cols: usize,
    pub w: Vec<f32>,
    pub x: Vec<f32>,
    pub lut4: LutMatrix,
    pub lut3: LutMatrix,
    pub q4: Q4Matrix,
    /// For each width in `BIPOLAR_BITS`: the rows' planes and x's planes.
    pub bipolar: Vec<(Vec<Planes>, Planes)>,
    /// GEMM_BATCH activation vectors, row after row (GEMM_BATCH x cols).
    pub x_batch: Vec<f32>,
    /// For each width in `BIPOLAR_BITS`: GEMM_BATCH vectors' planes (the rows are `bipolar`'s).
    pub x_batch_planes: Vec<Vec<Planes>>,
}

fn random_lut(rows: usize, cols: usize, bits: u32, sparse: f64, rng: &mut SplitMix64) -> LutMatrix {
    let words = words_per_row(cols, bits);
    let k = 1usize << bits;
    // Whole words of random bits are valid indices; only the padding of a short last group
    // must be zero, and `cols` is a multiple of 32 here.
    let indices = (0..rows * words).map(|_| rng.next_u64() as u32).collect();
    let mut luts = Vec::with_capacity(rows * k);
    for _ in 0..rows {
        let mut book: Vec<f32> = (0..k)
            .map(|_| (rng.next_f64() * 2.0 - 1.0) as f32)
            .collect();
        book.sort_by(f32::total_cmp);
        luts.extend(book);
    }
    // Whole entries per row plus one more with the leftover probability: the fraction holds
    // over the matrix even where a row has fewer than 1 / fraction columns.
    let expected = cols as f64 * sparse;
    let mut sparse_part = Csr::default();
    sparse_part.row_ptr.push(0);
    for _ in 0..rows {
        let extra = usize::from(rng.next_f64() < expected.fract());
        let per_row = (expected.floor() as usize + extra).min(cols);
        let mut picked: Vec<u32> = (0..per_row)
            .map(|_| rng.below(cols as u64) as u32)
            .collect();
        picked.sort_unstable();
        picked.dedup();
        for c in picked {
            sparse_part.col.push(c);
            sparse_part.val.push((rng.next_f64() * 8.0 - 4.0) as f32);
        }
        sparse_part.row_ptr.push(sparse_part.col.len() as u32);
    }
    LutMatrix {
        rows,
        cols,
        bits,
        words_per_row: words,
        indices,
        luts,
        sparse: sparse_part,
    }
}

fn random_planes(len: usize, bits: u32, rng: &mut SplitMix64) -> Planes {
    let words = len.div_ceil(32);
    Planes {
        bits,
        len,
        words,
        data: (0..words * bits as usize)
            .map(|_| rng.next_u64() as u32)
            .collect(),
    }
}

impl SuiteInputs {
    /// `cols` must be a multiple of 32 (whole index groups and bit-plane words).
    pub fn generate(rows: usize, cols: usize, seed: u64) -> Result<Self, String> {
        if rows == 0 || cols == 0 || !cols.is_multiple_of(32) {
            return Err(format!(
                "{rows} x {cols}: rows > 0 and cols a positive multiple of 32"
            ));
        }
        let mut rng = SplitMix64::new(seed);
        let w: Vec<f32> = (0..rows * cols).map(|i| hash_f32(seed, i as u64)).collect();
        let x: Vec<f32> = (0..cols).map(|i| hash_f32(seed ^ 1, i as u64)).collect();
        let lut4 = random_lut(rows, cols, 4, 0.0, &mut rng);
        let lut3 = random_lut(rows, cols, 3, SPARSE_FRACTION, &mut rng);
        let blocks = cols / 32;
        let q4 = Q4Matrix {
            rows,
            cols,
            blocks_per_row: blocks,
            codes: (0..rows * blocks * 4)
                .map(|_| rng.next_u64() as u32)
                .collect(),
            // Scales that are exact f16 values (multiples of 2^-10 in [0, 1/8)).
            scales: (0..rows * blocks)
                .map(|_| rng.below(128) as f32 / 1024.0)
                .collect(),
        };
        let bipolar = BIPOLAR_BITS
            .iter()
            .map(|&b| {
                let planes = (0..rows)
                    .map(|_| random_planes(cols, b, &mut rng))
                    .collect();
                (planes, random_planes(cols, b, &mut rng))
            })
            .collect();
        let x_batch = (0..GEMM_BATCH * cols)
            .map(|i| hash_f32(seed ^ 2, i as u64))
            .collect();
        let x_batch_planes = BIPOLAR_BITS
            .iter()
            .map(|&b| {
                (0..GEMM_BATCH)
                    .map(|_| random_planes(cols, b, &mut rng))
                    .collect()
            })
            .collect();
        Ok(Self {
            rows,
            cols,
            w,
            x,
            lut4,
            lut3,
            q4,
            bipolar,
            x_batch,
            x_batch_planes,
        })
    }

    fn bipolar_batch_of(&self, bits: u32) -> Option<(&Vec<Planes>, &Vec<Planes>)> {
        let i = BIPOLAR_BITS.iter().position(|&b| b == bits)?;
        Some((&self.bipolar.get(i)?.0, self.x_batch_planes.get(i)?))
    }

    fn bipolar_of(&self, bits: u32) -> Option<&(Vec<Planes>, Planes)> {
        BIPOLAR_BITS
            .iter()
            .position(|&b| b == bits)
            .and_then(|i| self.bipolar.get(i))
    }

    /// Bytes a kernel must move at least.
    pub fn bytes(&self, k: SuiteKernel) -> u64 {
        match k {
            SuiteKernel::Copy => copy_bytes_moved(self.w.len() as u64),
            SuiteKernel::GemvF32 => gemv_bytes_moved(self.rows as u64, self.cols as u64),
            SuiteKernel::Lut4 => self.lut4.bytes_moved(),
            SuiteKernel::Lut3Sparse => self.lut3.bytes_moved(),
            SuiteKernel::Q40 => self.q4.bytes_moved(),
            SuiteKernel::Bipolar(b) => self.bipolar_of(b).map_or(0, |(r, x)| bytes_moved(r, x)),
            SuiteKernel::GemmF32 => {
                gemm_bytes_moved(self.rows as u64, self.cols as u64, GEMM_BATCH as u64)
            }
            SuiteKernel::BipolarGemm(b) => self
                .bipolar_batch_of(b)
                .map_or(0, |(r, xs)| bipolar_gemm_bytes_moved(r, xs)),
        }
    }

    /// The CPU reference (the page's fallback), output bytes as the kernel writes them.
    pub fn run_cpu(&self, k: SuiteKernel) -> Vec<u8> {
        let floats = |v: Vec<f32>| bytemuck::cast_slice(&v).to_vec();
        match k {
            SuiteKernel::Copy => {
                let mut out = vec![0.0; self.w.len()];
                copy_reference(&self.w, &mut out);
                floats(out)
            }
            SuiteKernel::GemvF32 => floats(gemv_f32_reference(&self.w, &self.x, self.rows)),
            SuiteKernel::Lut4 => floats(lut_gemv_reference(&self.lut4, &self.x)),
            SuiteKernel::Lut3Sparse => floats(lut_gemv_reference(&self.lut3, &self.x)),
            SuiteKernel::Q40 => floats(q4_gemv_reference(&self.q4, &self.x)),
            SuiteKernel::Bipolar(b) => self.bipolar_of(b).map_or_else(Vec::new, |(rows, x)| {
                rows.iter()
                    .flat_map(|r| (dot(r, x) as i32).to_le_bytes())
                    .collect()
            }),
            SuiteKernel::GemmF32 => floats(gemm_f32_reference(
                &self.w,
                &self.x_batch,
                self.rows,
                GEMM_BATCH,
            )),
            SuiteKernel::BipolarGemm(b) => {
                self.bipolar_batch_of(b)
                    .map_or_else(Vec::new, |(rows, xs)| {
                        bipolar_gemm_reference(rows, xs)
                            .iter()
                            .flat_map(|v| v.to_le_bytes())
                            .collect()
                    })
            }
        }
    }

    /// Whether the output is right on sampled rows (f64 oracle within the f32 rounding bound;
    /// exact integers for bipolar; exact values for the copy).
    pub fn verify(&self, k: SuiteKernel, bytes: &[u8]) -> bool {
        let rows: Vec<usize> = (0..self.rows).step_by((self.rows / 16).max(1)).collect();
        let lut_ok = |m: &LutMatrix, y: &[f32]| {
            y.len() == m.rows
                && rows.iter().all(|&r| {
                    let (terms, xs) = row_terms(m, &self.x, r);
                    let (exact, abs) = gemv_row_oracle(&terms, &xs);
                    (f64::from(y[r]) - exact).abs() <= gemv_error_bound(terms.len(), abs)
                })
        };
        match k {
            SuiteKernel::Copy => {
                let y = f32s_from_bytes(bytes);
                y.len() == self.w.len()
                    && rows
                        .iter()
                        .all(|&r| y[r * self.cols] == self.w[r * self.cols])
            }
            SuiteKernel::GemvF32 => {
                let y = f32s_from_bytes(bytes);
                let row = |r: usize| self.w[r * self.cols..(r + 1) * self.cols].to_vec();
                y.len() == self.rows && check_rows(&row, &self.x, &y, &rows).1 <= 1.0
            }
            SuiteKernel::Lut4 => lut_ok(&self.lut4, &f32s_from_bytes(bytes)),
            SuiteKernel::Lut3Sparse => lut_ok(&self.lut3, &f32s_from_bytes(bytes)),
            SuiteKernel::Q40 => {
                let y = f32s_from_bytes(bytes);
                let row = |r: usize| (0..self.cols).map(|j| self.q4.value(r, j)).collect();
                y.len() == self.rows && check_rows(&row, &self.x, &y, &rows).1 <= 1.0
            }
            SuiteKernel::Bipolar(b) => {
                let y = i32s_from_bytes(bytes);
                self.bipolar_of(b).is_some_and(|(planes, x)| {
                    y.len() == self.rows
                        && rows
                            .iter()
                            .all(|&r| i64::from(y[r]) == bipolar_integer_dot(&planes[r], x))
                })
            }
            SuiteKernel::GemmF32 => {
                let y = f32s_from_bytes(bytes);
                let row = |r: usize| self.w[r * self.cols..(r + 1) * self.cols].to_vec();
                y.len() == self.rows * GEMM_BATCH
                    && (0..GEMM_BATCH).all(|n| {
                        let x = &self.x_batch[n * self.cols..(n + 1) * self.cols];
                        let yn = &y[n * self.rows..(n + 1) * self.rows];
                        check_rows(&row, x, yn, &rows).1 <= 1.0
                    })
            }
            SuiteKernel::BipolarGemm(b) => {
                let y = i32s_from_bytes(bytes);
                self.bipolar_batch_of(b).is_some_and(|(planes, xs)| {
                    y.len() == self.rows * GEMM_BATCH
                        && xs.iter().enumerate().all(|(n, x)| {
                            rows.iter().all(|&r| {
                                i64::from(y[n * self.rows + r])
                                    == bipolar_integer_dot(&planes[r], x)
                            })
                        })
                })
            }
        }
    }
}

/// The dot product from the levels themselves (decoded from the planes), not from popcounts:
/// the independent reference of the bipolar kernel.
pub fn bipolar_integer_dot(a: &Planes, b: &Planes) -> i64 {
    let level = |p: &Planes, k: usize| -> i64 {
        let u: i64 = (0..p.bits)
            .map(|i| i64::from((p.plane(i)[k / 32] >> (k % 32)) & 1) << i)
            .sum();
        2 * u - ((1i64 << p.bits) - 1)
    };
    (0..a.len).map(|k| level(a, k) * level(b, k)).sum()
}

/// The compiled kernels, made once per device.
pub struct SuiteKernels {
    variant: GemvVariant,
    gemm: GemmF32Kernel,
    /// One per width of BIPOLAR_BITS (p = q), compiled on first use.
    bipolar_gemm: PipelineCache<u32, BipolarGemmKernel>,
    copy: CopyKernel,
    gemv: GemvF32Kernel,
    lut: LutGemvKernel,
    q4: Q4GemvKernel,
    bipolar: BipolarGemvKernel,
}

impl SuiteKernels {
    /// The shapes suited to this adapter.
    pub fn new(ctx: &GpuContext) -> Self {
        Self::with_variant(ctx, GemvVariant::for_adapter(ctx))
    }

    /// Every GEMV in one shape (`bench quant --variant`).
    pub fn with_variant(ctx: &GpuContext, variant: GemvVariant) -> Self {
        let shape = Shape::for_variant(ctx, variant);
        Self {
            variant,
            gemm: GemmF32Kernel::with_variant(ctx, variant, GEMM_BATCH as u32),
            bipolar_gemm: PipelineCache::default(),
            copy: CopyKernel::new(ctx),
            gemv: GemvF32Kernel::with_variant(ctx, variant),
            lut: LutGemvKernel::with_shape(shape, Lookup::for_adapter(ctx)),
            q4: Q4GemvKernel::with_shape(ctx, shape),
            bipolar: BipolarGemvKernel::with_shape(shape),
        }
    }

    /// The compiled shape that runs kernel `k`.
    pub fn shape_label(&self, k: SuiteKernel) -> String {
        match k {
            SuiteKernel::Copy => "copy".to_owned(),
            SuiteKernel::GemvF32 => self.gemv.variant.name().to_owned(),
            SuiteKernel::Lut4 => self.lut.label(4),
            SuiteKernel::Lut3Sparse => self.lut.label(3),
            SuiteKernel::Q40 => self.q4.label(),
            SuiteKernel::Bipolar(_) => self.bipolar.shape.label(),
            SuiteKernel::GemmF32 | SuiteKernel::BipolarGemm(_) => match self.variant {
                GemvVariant::Workgroup => "16 x 16 tiles".to_owned(),
                GemvVariant::Rowwise => format!(
                    "thread per {} rows",
                    crate::kernels::gemm_f32::ROWWISE_ROWS_PER_THREAD
                ),
            },
        }
    }

    fn bipolar_gemm_kernel(&self, ctx: &GpuContext, bits: u32) -> std::rc::Rc<BipolarGemmKernel> {
        self.bipolar_gemm.get_or_compile(bits, || {
            BipolarGemmKernel::new(ctx, self.variant, bits, bits, GEMM_BATCH as u32)
        })
    }

    /// Uploads kernel `k`'s problem and submits `passes` timed passes of `per_pass` dispatches.
    pub fn submit(
        &self,
        ctx: &GpuContext,
        inputs: &SuiteInputs,
        k: SuiteKernel,
        passes: u32,
        per_pass: u32,
    ) -> Result<KernelRun, GpuError> {
        match k {
            SuiteKernel::Copy => {
                let p = self.copy.prepare(ctx, &inputs.w)?;
                self.copy.submit(ctx, &p, passes, per_pass)
            }
            SuiteKernel::GemvF32 => {
                let p = self.gemv.prepare(ctx, &inputs.w, &inputs.x, inputs.rows)?;
                self.gemv.submit(ctx, &p, passes, per_pass)
            }
            SuiteKernel::Lut4 | SuiteKernel::Lut3Sparse => {
                let m = if k == SuiteKernel::Lut4 {
                    &inputs.lut4
                } else {
                    &inputs.lut3
                };
                let p = self.lut.prepare(ctx, m, &inputs.x)?;
                self.lut.submit(ctx, &p, passes, per_pass)
            }
            SuiteKernel::Q40 => {
                let p = self.q4.prepare(ctx, &inputs.q4, &inputs.x)?;
                self.q4.submit(ctx, &p, passes, per_pass)
            }
            SuiteKernel::Bipolar(b) => {
                let Some((rows, x)) = inputs.bipolar_of(b) else {
                    return Err(GpuError::BadShape(format!("no {b}-bit bipolar inputs")));
                };
                let p = self.bipolar.prepare(ctx, &BipolarProblemSpec { rows, x })?;
                self.bipolar.submit(ctx, &p, passes, per_pass)
            }
            SuiteKernel::GemmF32 => {
                let p = self
                    .gemm
                    .prepare(ctx, &inputs.w, &inputs.x_batch, inputs.rows)?;
                self.gemm.submit(ctx, &p, passes, per_pass)
            }
            SuiteKernel::BipolarGemm(b) => {
                let Some((rows, xs)) = inputs.bipolar_batch_of(b) else {
                    return Err(GpuError::BadShape(format!(
                        "no {b}-bit bipolar GEMM inputs"
                    )));
                };
                let kernel = self.bipolar_gemm_kernel(ctx, b);
                let p = kernel.prepare(ctx, rows, xs)?;
                kernel.submit(ctx, &p, passes, per_pass)
            }
        }
    }
}

pub use crate::gpu::timing::dispatches_per_pass;

/// One timed kernel.
#[derive(Clone, Debug, Serialize)]
pub struct SuiteResult {
    pub kernel: String,
    pub rows: usize,
    pub cols: usize,
    pub ms_median: f64,
    pub gbps: f64,
    pub bytes_moved: u64,
    /// GB/s as a fraction of the copy kernel's in the same run (bytes moved counted alike).
    pub fraction_of_copy: Option<f64>,
    /// The kernel's compiled shape (team per row, thread per row, ...).
    pub shape: String,
    pub timing: String,
    pub verified: bool,
}

impl SuiteResult {
    /// A timed kernel's figures, its output checked against the reference.
    pub fn measured(
        inputs: &SuiteInputs,
        k: SuiteKernel,
        ms: f64,
        timing: &str,
        out: &[u8],
    ) -> Self {
        let bytes = inputs.bytes(k);
        Self {
            kernel: k.name(),
            rows: inputs.rows,
            cols: inputs.cols,
            ms_median: ms,
            gbps: bytes as f64 / (ms * 1e6),
            bytes_moved: bytes,
            fraction_of_copy: None,
            shape: String::new(),
            timing: timing.to_owned(),
            verified: inputs.verify(k, out),
        }
    }
}

/// The ratios the issue asks for, from whichever results exist (null where one is missing).
pub fn summary(results: &[SuiteResult]) -> serde_json::Value {
    let get = |name: &str| results.iter().find(|r| r.kernel == name);
    let ratio = |a: &str, b: &str, f: &dyn Fn(&SuiteResult) -> f64| -> Option<f64> {
        Some(f(get(a)?) / f(get(b)?))
    };
    let ms = |r: &SuiteResult| r.ms_median;
    let gbps = |r: &SuiteResult| r.gbps;
    let lut4 = SuiteKernel::Lut4.name();
    let lut3 = SuiteKernel::Lut3Sparse.name();
    let bip1 = SuiteKernel::Bipolar(1).name();
    let bip8 = SuiteKernel::Bipolar(8).name();
    let gemm = SuiteKernel::GemmF32.name();
    let gemm1 = SuiteKernel::BipolarGemm(1).name();
    json!({
        "summary": true,
        "speedup_lut4_vs_f32": ratio("gemv_f32", &lut4, &ms),
        "speedup_lut3_sparse_vs_f32": ratio("gemv_f32", &lut3, &ms),
        "speedup_q4_0_vs_f32": ratio("gemv_f32", "q4_0_gemv", &ms),
        "lut4_fraction_of_copy": ratio(&lut4, "copy", &gbps),
        "gemv_f32_fraction_of_copy": ratio("gemv_f32", "copy", &gbps),
        "bipolar_1x1_vs_f32_gemv": ratio("gemv_f32", &bip1, &ms),
        "bipolar_8x8_vs_1x1_time": ratio(&bip8, &bip1, &ms),
        "bipolar_gemm_1x1_vs_f32_gemm": ratio(&gemm, &gemm1, &ms),
        "bipolar_gemm_ms_by_pq": BIPOLAR_BITS.map(|b| json!({
            "p_times_q": b * b,
            "ms": get(&SuiteKernel::BipolarGemm(b).name()).map(|r| r.ms_median),
        })),
        "bipolar_comparison": "bipolar_1x1_vs_f32_gemv: the 1x1-bit GEMV against the f32 GEMV; bipolar_gemm_1x1_vs_f32_gemm: the bit-plane GEMM of 16 vectors against the f32 GEMM of the same shape (tiled on GPUs)",
        "all_verified": results.iter().all(|r| r.verified),
        "inputs": "random codes (the kernels' work does not depend on values); results verified on sampled rows",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_references_pass_their_own_verification() {
        let inputs = SuiteInputs::generate(40, 96, 3).expect("valid shape");
        for k in SuiteKernel::all() {
            let out = inputs.run_cpu(k);
            assert!(inputs.verify(k, &out), "{}", k.name());
            // A wrong result must fail it: flip the first output.
            let mut bad = out.clone();
            bad[3] ^= 0x40;
            assert!(
                !inputs.verify(k, &bad),
                "{} accepts a corrupted output",
                k.name()
            );
        }
        assert!(SuiteInputs::generate(4, 33, 1).is_err());
        assert!(inputs.lut3.sparse.nnz() > 0);
    }

    #[test]
    fn summary_has_every_ratio() {
        let r = |k: SuiteKernel, ms: f64| SuiteResult {
            kernel: k.name(),
            rows: 1,
            cols: 1,
            ms_median: ms,
            gbps: 1.0 / ms,
            bytes_moved: 1,
            fraction_of_copy: None,
            shape: String::new(),
            timing: String::new(),
            verified: true,
        };
        let results: Vec<SuiteResult> = SuiteKernel::all().into_iter().map(|k| r(k, 2.0)).collect();
        let s = summary(&results);
        assert_eq!(s["speedup_lut4_vs_f32"], 1.0);
        assert_eq!(s["bipolar_1x1_vs_f32_gemv"], 1.0);
        assert_eq!(s["all_verified"], true);
        assert!(summary(&[])["speedup_lut4_vs_f32"].is_null());
    }
}
