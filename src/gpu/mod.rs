//! The GPU layer: one compute context for the whole app, WGSL kernels, asynchronous read-back
//! and timing. Labs dispatch their kernels through this layer and never create devices.

mod context;
mod error;
pub mod kernel;
mod readback;
pub mod run;
pub mod timing;

pub use context::{
    AdapterSummary, GpuContext, MIN_STORAGE_BUFFERS_PER_STAGE, backend_name, compute_limits,
    device_descriptor_for, device_type_name, feature_names,
};
pub use error::GpuError;
pub use kernel::{Grid, Kernel, Shader};
pub use readback::{Readback, f32s_from_bytes, u64s_from_bytes};
pub use run::{Dispatch, KernelRun, RunOutput, RunSpec};
pub use timing::{PassTimer, TimingSource};

/// Where kernels run: on a GPU device, or through their Rust references (CPU fallback).
#[derive(Clone)]
pub enum Compute {
    /// Shared: every lab and the self-test use the same device.
    Gpu(std::sync::Arc<GpuContext>),
    /// No compute-capable device; `reason` is shown to the user.
    CpuFallback { reason: String },
}

/// The fallback's reason when the page's address asked for the CPU (`?compute=cpu`).
pub const ASKED_FOR_CPU: &str = "the address asks for it (?compute=cpu)";

impl Compute {
    pub fn gpu(&self) -> Option<&GpuContext> {
        match self {
            Self::Gpu(ctx) => Some(ctx),
            Self::CpuFallback { .. } => None,
        }
    }

    /// The badge in the top bar.
    /// The top bar's short form: the CPU fallback's long text made the bar wrap at 1280 px.
    pub fn short_badge(&self) -> String {
        match self {
            Self::Gpu(_) => self.badge(),
            Self::CpuFallback { reason } if reason == ASKED_FOR_CPU => {
                "CPU (?compute=cpu)".to_owned()
            }
            Self::CpuFallback { .. } => {
                if cfg!(target_arch = "wasm32") {
                    "CPU fallback (no WebGPU)".to_owned()
                } else {
                    "CPU fallback (no GPU)".to_owned()
                }
            }
        }
    }

    pub fn badge(&self) -> String {
        match self {
            Self::Gpu(ctx) => {
                let api = if ctx.adapter.backend == "WebGPU" {
                    "WebGPU".to_owned()
                } else {
                    format!("GPU ({})", ctx.adapter.backend)
                };
                format!("{api} · {}", ctx.adapter.name)
            }
            Self::CpuFallback { reason } if reason == ASKED_FOR_CPU => {
                "CPU fallback — asked for by the address".to_owned()
            }
            Self::CpuFallback { .. } => {
                if cfg!(target_arch = "wasm32") {
                    "CPU fallback — this browser has no WebGPU".to_owned()
                } else {
                    "CPU fallback — no compute-capable GPU".to_owned()
                }
            }
        }
    }
}
