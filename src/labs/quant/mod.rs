//! Quantized-matmul lab: SqueezeLLM's sensitivity-weighted LUT codebooks with the
//! dense-and-sparse split against round-to-nearest, signed/bipolar INT and llama.cpp's Q4_0 and
//! IQ4_NL, on real MiniLM-L6 matrices or synthetic ones; and the kernels that use them.
//!
//! - Math (no GPU): `matrix.rs` (weights, activations, sensitivity), `methods.rs` (quantizers
//!   and metrics), `sparse.rs` (outlier selection, CSR), `pack.rs` (bit-stream indices),
//!   `formats.rs` (f16, IQ4_NL table), `bipolar.rs` (bit planes and their integer reference),
//!   `real.rs` (the shipped matrices).
//! - Kernels (each with its Rust reference): `lut.rs` (LUT-GEMV + fused CSR), `q4.rs` (Q4_0
//!   GEMV), `bipolar_gpu.rs` (bit-plane GEMV); `suite.rs` times them all; `checks.rs`
//!   self-test entries.
//! - Page: `settings.rs`, `lab.rs` (work in row slices), `ui.rs`; CLI: `cli.rs`
//!   (`paperlab quant`), `bench.rs` (`paperlab bench quant`).

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod bipolar;
pub mod bipolar_gemm;
pub mod bipolar_gpu;
pub mod checks;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
pub mod formats;
pub mod lab;
pub mod lut;
pub mod matrix;
pub mod methods;
pub mod minilm;
#[cfg(not(target_arch = "wasm32"))]
mod model_cli;
mod model_view;
pub mod pack;
pub mod pipeline;
pub mod q4;
pub mod real;
pub mod settings;
pub mod sparse;
pub mod suite;
pub mod sweep;
mod ui;

use super::{Citation, LabCard, LabEnv, LabPage, Shortcut, ShortcutLabels};
use crate::selftest::Check;
use lab::LabState;
use settings::QuantSettings;

/// The most quantizing one frame may do, seconds.
const MAX_WORK_S: f32 = 0.05;

#[derive(Default)]
pub struct QuantLab {
    settings: QuantSettings,
    state: LabState,
}

impl LabPage for QuantLab {
    type Settings = QuantSettings;
    const ID: &'static str = "quant";
    const TITLE: &'static str = "Quantized matmul";
    const CITATION: Citation = Citation {
        text: "Kim et al. (2024). SqueezeLLM: Dense-and-Sparse Quantization. ICML; and arbitrary-precision bipolar-INT products (arXiv 2409.17870).",
        url: "https://arxiv.org/abs/2306.07629",
    };
    const CARD: Option<LabCard> = Some(LabCard {
        claim: "At 3-4 bits, a per-row codebook fitted where the sensitive weights are, plus a tiny sparse part for outliers, beats uniform rounding at the same stored bits; and the packed product runs on your GPU.",
        thumbnail: crate::plot::thumbnails::quant,
    });

    fn settings(&self) -> &QuantSettings {
        &self.settings
    }

    fn settings_mut(&mut self) -> &mut QuantSettings {
        &mut self.settings
    }

    fn frame(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>) {
        self.state.sync(&self.settings);
        let budget = env.half_frame_budget(ui.ctx(), MAX_WORK_S);
        self.state.work(budget, env.compute);
        ui::quant_ui(&mut self.settings, &mut self.state, env.compute, ui);
    }

    fn shortcut_labels(&self) -> ShortcutLabels {
        let idle = self.state.kernels.as_ref().is_none_or(|k| k.done());
        ShortcutLabels {
            start_pause: (self.settings.view == settings::View::Kernels && idle)
                .then_some("time the kernels"),
            reset: None,
        }
    }

    fn shortcut(&mut self, action: Shortcut, compute: &crate::gpu::Compute) {
        if action == Shortcut::StartPause {
            self.state.start_kernels(&self.settings, compute);
        }
    }

    fn is_busy(&self) -> bool {
        self.state.is_busy()
    }

    fn status_json(&self) -> Option<String> {
        Some(self.state.status_json().to_string())
    }

    fn kernel_checks() -> Vec<Box<dyn Check>> {
        checks::kernel_checks()
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn commands() -> Vec<crate::command::LabCommand> {
        cli::commands()
    }

    fn jobs() -> Vec<crate::jobs::JobKind> {
        vec![crate::jobs::JobKind::of::<sweep::SweepJob>()]
    }
}
