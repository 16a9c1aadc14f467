//! Timing GPU work: timestamp queries where the adapter has them, wall clock otherwise.

use super::kernel::staging_buffer;
use super::{GpuContext, GpuError, Readback};

/// How a duration was measured; shown next to every figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimingSource {
    /// GPU timestamps written at the start and end of each compute pass.
    GpuTimestamps,
    /// Submit to read-back completion, divided by the number of passes: an upper bound that
    /// includes submission and the read-back copy.
    WallClock,
    /// CPU reference code timed with the wall clock.
    CpuWallClock,
}

impl TimingSource {
    pub fn label(self) -> &'static str {
        match self {
            Self::GpuTimestamps => "GPU timestamps",
            Self::WallClock => "wall clock (upper bound)",
            Self::CpuWallClock => "CPU wall clock",
        }
    }
}

/// Bytes each timed pass moves at least: a kernel smaller than this is dispatched several times
/// back to back within a pass and the pass time divided by them. One rule for every timed
/// kernel in the project (`bench quant`, `bench device`, the page's speed views), so that the
/// same kernel at the same size reports the same GB/s wherever it is timed.
pub const BYTES_PER_TIMED_PASS: u64 = 64 << 20;
/// At most this many dispatches per pass (tiny kernels: the launch cost is then what is timed).
pub const MAX_DISPATCHES_PER_PASS: u64 = 256;

/// Dispatches per timed pass for a kernel that moves `bytes_moved` bytes.
pub fn dispatches_per_pass(bytes_moved: u64) -> u32 {
    BYTES_PER_TIMED_PASS
        .div_ceil(bytes_moved.max(1))
        .clamp(1, MAX_DISPATCHES_PER_PASS) as u32
}

/// Timestamp queries for `passes` compute passes (begin and end of each).
pub struct PassTimer {
    query_set: wgpu::QuerySet,
    resolve_buffer: wgpu::Buffer,
    staging: wgpu::Buffer,
    passes: u32,
}

/// wgpu caps a query set at this many queries.
const MAX_QUERIES: u32 = 4096;

impl PassTimer {
    /// `None` when the device has no timestamp queries (then use the wall clock).
    pub fn new(ctx: &GpuContext, passes: u32) -> Result<Option<Self>, GpuError> {
        if !ctx.has_timestamps() {
            return Ok(None);
        }
        let count = passes.saturating_mul(2);
        if count > MAX_QUERIES {
            return Err(GpuError::TooLarge {
                what: "timed passes".to_owned(),
                requested: u64::from(count),
                limit: u64::from(MAX_QUERIES),
                limit_name: "queries per query set",
            });
        }
        let size_bytes = u64::from(count) * 8;
        let query_set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("pass timer"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let resolve_buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pass timer resolve"),
            size: size_bytes,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = staging_buffer(ctx, "pass timer staging", size_bytes)?;
        Ok(Some(Self {
            query_set,
            resolve_buffer,
            staging,
            passes,
        }))
    }

    pub fn writes(&self, pass_index: u32) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.query_set,
            beginning_of_pass_write_index: Some(pass_index * 2),
            end_of_pass_write_index: Some(pass_index * 2 + 1),
        }
    }

    /// Resolves the queries and copies them to the staging buffer (after all passes).
    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        let count = self.passes * 2;
        encoder.resolve_query_set(&self.query_set, 0..count, &self.resolve_buffer, 0);
        encoder.copy_buffer_to_buffer(
            &self.resolve_buffer,
            0,
            &self.staging,
            0,
            u64::from(count) * 8,
        );
    }

    /// Call after the submission that contains [`Self::resolve`].
    pub fn start_readback(self) -> Readback {
        Readback::start(self.staging)
    }
}

/// Per-pass durations in ms from begin/end tick pairs and the queue's ns-per-tick period.
/// A pair whose end precedes its start (a counter reset) is dropped rather than reported.
pub fn pass_durations_ms(ticks: &[u64], period_ns: f32) -> Vec<f64> {
    ticks
        .chunks_exact(2)
        .filter(|pair| pair[1] >= pair[0])
        .map(|pair| (pair[1] - pair[0]) as f64 * f64::from(period_ns) * 1e-6)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_kernels_repeat_within_a_pass() {
        assert_eq!(dispatches_per_pass(BYTES_PER_TIMED_PASS), 1);
        assert_eq!(dispatches_per_pass(BYTES_PER_TIMED_PASS * 4), 1);
        assert_eq!(dispatches_per_pass(BYTES_PER_TIMED_PASS / 4), 4);
        assert_eq!(dispatches_per_pass(0), 256);
    }

    #[test]
    fn durations_from_ticks() {
        let ms = pass_durations_ms(&[100, 1_100, 2_000, 1_000, 5_000, 7_000], 1.0);
        // The middle pair runs backwards and is dropped.
        assert_eq!(ms, vec![0.001, 0.002]);
    }
}
