//! Kernels shared by several labs (each: a WGSL file in `shaders/`, its Rust reference, the
//! dispatch code). Lab-specific kernels live in their lab's folder.

pub mod copy;
pub mod gemm_f32;
pub mod gemv_f32;
