//! What the Device benchmark measures, and the figures it derives. Plain Rust: no wgpu, no egui.

use serde::Serialize;

use super::settings::{DeviceSettings, MIN_DIM};
use crate::gpu::TimingSource;
use crate::kernels::copy::copy_bytes_moved;
use crate::kernels::gemv_f32::gemv_bytes_moved;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelKind {
    Copy,
    GemvF32,
}

impl KernelKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Copy => "copy",
            Self::GemvF32 => "gemv_f32",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    Gpu,
    Cpu,
}

/// A problem size: `rows x cols` f32 (the copy kernel uses one row of `cols` floats).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Shape {
    pub rows: u64,
    pub cols: u64,
}

impl Shape {
    pub fn elements(self) -> u64 {
        self.rows * self.cols
    }

    /// Size of the main operand in bytes (the copied buffer, or W).
    pub fn size_bytes(self) -> u64 {
        self.elements() * 4
    }

    pub fn label(self, kernel: KernelKind) -> String {
        match kernel {
            KernelKind::Copy => format!("{} MiB", self.size_bytes() / (1024 * 1024)),
            KernelKind::GemvF32 => format!("{}x{}", self.rows, self.cols),
        }
    }
}

/// One measurement to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub kernel: KernelKind,
    pub shape: Shape,
}

impl Step {
    pub fn bytes_moved(self) -> u64 {
        match self.kernel {
            KernelKind::Copy => copy_bytes_moved(self.shape.elements()),
            KernelKind::GemvF32 => gemv_bytes_moved(self.shape.rows, self.shape.cols),
        }
    }
}

/// The copy first (the roofline), then GEMV from the smallest size up to the chosen one, each
/// half the previous: rows and columns are halved in turn, down to 64 x 64 or nine points.
pub fn plan(settings: &DeviceSettings) -> Vec<Step> {
    const MAX_GEMV_POINTS: usize = 9;
    let copy_floats = u64::from(settings.copy_mib) * 1024 * 1024 / 4;
    let mut steps = vec![Step {
        kernel: KernelKind::Copy,
        shape: Shape {
            rows: 1,
            cols: copy_floats,
        },
    }];
    let (mut rows, mut cols) = (u64::from(settings.rows), u64::from(settings.cols));
    let mut gemv = Vec::new();
    let min_dim = u64::from(MIN_DIM);
    while gemv.len() < MAX_GEMV_POINTS {
        gemv.push(Step {
            kernel: KernelKind::GemvF32,
            shape: Shape { rows, cols },
        });
        // Halve the larger dimension (rows first on ties) while it stays >= 64.
        if rows >= cols && rows / 2 >= min_dim {
            rows /= 2;
        } else if cols / 2 >= min_dim {
            cols /= 2;
        } else if rows / 2 >= min_dim {
            rows /= 2;
        } else {
            break;
        }
    }
    gemv.reverse();
    steps.extend(gemv);
    steps
}

/// Outcome of checking a measured result against its reference.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verification {
    pub passed: bool,
    /// Largest error as a fraction of its bound (0 for exact kernels).
    pub error_to_bound: f64,
    pub checked: String,
}

/// One finished measurement.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    pub kernel: KernelKind,
    pub engine: Engine,
    pub shape: Shape,
    pub size: String,
    pub size_bytes: u64,
    pub bytes_moved: u64,
    pub ms_median: f64,
    pub ms_min: f64,
    pub samples: usize,
    pub gbps: f64,
    pub timing: TimingSource,
    pub verification: Verification,
    /// The kernel shape, where a kernel has several (GEMV on the GPU).
    pub variant: Option<&'static str>,
}

impl Measurement {
    pub fn new(
        step: Step,
        engine: Engine,
        pass_ms: &[f64],
        timing: TimingSource,
        verification: Verification,
    ) -> Self {
        let ms_median = crate::stats::median(pass_ms);
        let ms_min = pass_ms.iter().copied().fold(f64::INFINITY, f64::min);
        Self {
            kernel: step.kernel,
            engine,
            shape: step.shape,
            size: step.shape.label(step.kernel),
            size_bytes: step.shape.size_bytes(),
            bytes_moved: step.bytes_moved(),
            ms_median,
            ms_min: if ms_min.is_finite() { ms_min } else { 0.0 },
            samples: pass_ms.len(),
            gbps: gbps(step.bytes_moved(), ms_median),
            timing,
            verification,
            variant: None,
        }
    }
}

/// Decimal GB/s (1e9 bytes), as memory bandwidth is quoted; 0 for a zero duration.
pub fn gbps(bytes: u64, ms: f64) -> f64 {
    if ms > 0.0 && ms.is_finite() {
        bytes as f64 / (ms * 1e-3) / 1e9
    } else {
        0.0
    }
}

/// A measurement that could not be made (device limit, memory), shown as such.
#[derive(Clone, Debug, Serialize)]
pub struct Refusal {
    pub kernel: KernelKind,
    pub engine: Engine,
    pub size: String,
    pub reason: String,
}

/// Headline figures: the copy roofline and GEMV's fraction of it at the chosen size.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub copy_gbps: Option<f64>,
    pub cpu_copy_gbps: Option<f64>,
    pub gemv_f32_gbps: Option<f64>,
    pub gemv_f32_fraction_of_copy: Option<f64>,
    pub cpu_gemv_f32_gbps: Option<f64>,
    pub gpu_over_cpu_gemv: Option<f64>,
}

pub fn summarize(measurements: &[Measurement], chosen: Shape) -> Summary {
    let find = |kernel: KernelKind, engine: Engine, shape: Option<Shape>| {
        measurements
            .iter()
            .find(|m| {
                m.kernel == kernel && m.engine == engine && shape.is_none_or(|s| s == m.shape)
            })
            .map(|m| m.gbps)
    };
    let copy = find(KernelKind::Copy, Engine::Gpu, None);
    let cpu_copy = find(KernelKind::Copy, Engine::Cpu, None);
    let gemv = find(KernelKind::GemvF32, Engine::Gpu, Some(chosen));
    let cpu_gemv = find(KernelKind::GemvF32, Engine::Cpu, Some(chosen));
    Summary {
        copy_gbps: copy,
        cpu_copy_gbps: cpu_copy,
        gemv_f32_gbps: gemv,
        gemv_f32_fraction_of_copy: ratio(gemv, copy),
        cpu_gemv_f32_gbps: cpu_gemv,
        gpu_over_cpu_gemv: ratio(gemv, cpu_gemv),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_halves_down_to_the_floor() {
        let s = DeviceSettings {
            rows: 4096,
            cols: 4096,
            ..DeviceSettings::default()
        };
        let steps = plan(&s);
        assert_eq!(steps[0].kernel, KernelKind::Copy);
        assert_eq!(steps[0].shape.size_bytes(), 64 * 1024 * 1024);
        let gemv: Vec<u64> = steps[1..].iter().map(|s| s.shape.elements()).collect();
        assert_eq!(gemv.len(), 9);
        for pair in gemv.windows(2) {
            assert_eq!(pair[1], 2 * pair[0], "{gemv:?}");
        }
        assert_eq!(
            steps.last().map(|s| s.shape),
            Some(Shape {
                rows: 4096,
                cols: 4096
            })
        );
    }

    #[test]
    fn small_plan_stops_at_64() {
        let s = DeviceSettings {
            rows: 128,
            cols: 64,
            ..DeviceSettings::default()
        };
        let shapes: Vec<(u64, u64)> = plan(&s)[1..]
            .iter()
            .map(|s| (s.shape.rows, s.shape.cols))
            .collect();
        assert_eq!(shapes, vec![(64, 64), (128, 64)]);
    }

    #[test]
    fn gbps_and_summary() {
        assert!((gbps(2_000_000_000, 1000.0) - 2.0).abs() < 1e-12);
        assert_eq!(gbps(1, 0.0), 0.0);
        let ok = Verification {
            passed: true,
            error_to_bound: 0.0,
            checked: String::new(),
        };
        let copy = Step {
            kernel: KernelKind::Copy,
            shape: Shape {
                rows: 1,
                cols: 1 << 20,
            },
        };
        let gemv = Step {
            kernel: KernelKind::GemvF32,
            shape: Shape { rows: 64, cols: 64 },
        };
        let ms = [
            Measurement::new(
                copy,
                Engine::Gpu,
                &[1.0, 2.0, 3.0],
                TimingSource::GpuTimestamps,
                ok.clone(),
            ),
            Measurement::new(gemv, Engine::Gpu, &[0.01], TimingSource::GpuTimestamps, ok),
        ];
        let summary = summarize(&ms, gemv.shape);
        let copy_gbps = 8.0 * f64::from(1 << 20) / 2e-3 / 1e9;
        assert!((summary.copy_gbps.unwrap_or(0.0) - copy_gbps).abs() < 1e-9);
        let fraction = summary.gemv_f32_fraction_of_copy.unwrap_or(0.0);
        assert!((fraction - ms[1].gbps / copy_gbps).abs() < 1e-12);
        assert!(summary.cpu_copy_gbps.is_none());
    }
}
