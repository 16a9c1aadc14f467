//! The shared neural-network core: an MLP with a hand-written backward pass, Adam, seeded
//! initialisation, a weights file format and a WGSL batched forward pass. Used by the GFlowNet
//! lab and (later) the marginalization-model lab.

mod adam;
mod few_rows;
mod gemm;
pub mod gpu;
mod mlp;
mod serial;

pub use adam::Adam;
pub use gemm::{View, gemm};
pub use mlp::{Activation, BackwardScratch, ForwardCache, Gradients, Layer, Mlp, MlpSpec};
pub use serial::WeightsError;
