//! Errors of the GPU layer. Every size the user or a link can influence is checked against the
//! device's limits *before* it reaches wgpu, so the user reads one of these instead of a
//! validation panic.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum GpuError {
    /// No adapter or device could be created (headless native, or the browser refused).
    NoDevice(String),
    /// A buffer, binding or dispatch larger than the device allows.
    TooLarge {
        what: String,
        requested: u64,
        limit: u64,
        limit_name: &'static str,
    },
    /// The shape of an input does not fit a kernel's layout (e.g. GEMV needs cols % 4 == 0).
    BadShape(String),
    /// Mapping a buffer for read-back failed (device lost, or the buffer was destroyed).
    Readback(String),
    /// wgpu reported a validation or out-of-memory error through the uncaptured-error handler.
    Device(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoDevice(why) => write!(f, "no compute device: {why}"),
            Self::TooLarge {
                what,
                requested,
                limit,
                limit_name,
            } => write!(
                f,
                "{what} needs {} but this device allows at most {} ({limit_name})",
                human_size(*requested, limit_name),
                human_size(*limit, limit_name)
            ),
            Self::BadShape(why) => write!(f, "bad shape: {why}"),
            Self::Readback(why) => write!(f, "read-back failed: {why}"),
            Self::Device(why) => write!(f, "GPU error: {why}"),
        }
    }
}

impl std::error::Error for GpuError {}

/// Byte limits read best in MiB; counts (workgroups) as plain numbers.
fn human_size(value: u64, limit_name: &str) -> String {
    if limit_name.contains("size") {
        format!("{:.1} MiB", value as f64 / (1024.0 * 1024.0))
    } else {
        value.to_string()
    }
}
