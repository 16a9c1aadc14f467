//! Quantized-matmul lab (issue 4, in progress): the quantizers and their metrics in plain Rust
//! (SqueezeLLM's sensitivity-weighted LUT codebooks with the dense-and-sparse split, llama.cpp's
//! Q4_0 and IQ4_NL, round-to-nearest, bipolar-INT and signed INT), the packed layouts the
//! kernels will read, and the bipolar bit-plane product with its integer reference.
//! `paperlab quant` runs them from the command line. The WGSL kernels, the page and
//! `paperlab bench quant` are still to come.

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod bipolar;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod formats;
pub mod lut;
pub mod matrix;
pub mod methods;
pub mod pack;
pub mod real;
pub mod sparse;
