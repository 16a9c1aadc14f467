//! GFlowNet lab: hypergrid training (TB / DB), GPU sampling, OC-GFN pre-training and
//! fine-tuning (Pan, Jain, Madan, Bengio, ICLR 2024).

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod env;
pub mod gpu;
pub mod metrics;
pub mod model;
pub mod run;
pub mod sample;
pub mod train;
