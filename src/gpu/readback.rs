//! Asynchronous read-back of a GPU buffer.
//!
//! On the web `map_async` resolves only after control returns to the browser's event loop, so a
//! frame must never wait for it: [`Readback::try_take`] is called once per frame and returns
//! `None` until the data is there. Natively the same type can also block ([`Readback::wait`]),
//! which the CLI and tests use.

use std::sync::{Arc, Mutex};

use web_time::Instant;

use super::{GpuContext, GpuError};

#[derive(Default)]
struct MapState {
    /// `Some` once the map callback ran: `Ok` with the instant it ran, or the error.
    outcome: Option<Result<Instant, String>>,
}

/// A MAP_READ buffer whose mapping has been requested.
pub struct Readback {
    buffer: wgpu::Buffer,
    state: Arc<Mutex<MapState>>,
}

impl Readback {
    /// Requests the mapping of `buffer` (which must have `MAP_READ` usage and have had its copy
    /// submitted already). The completion instant is recorded inside the callback, so wall-clock
    /// timings do not include the wait for the next frame.
    pub fn start(buffer: wgpu::Buffer) -> Self {
        let state: Arc<Mutex<MapState>> = Arc::default();
        let sink = Arc::clone(&state);
        buffer.map_async(wgpu::MapMode::Read, .., move |result| {
            let outcome = result.map(|()| Instant::now()).map_err(|e| e.to_string());
            if let Ok(mut state) = sink.lock() {
                state.outcome = Some(outcome);
            }
        });
        Self { buffer, state }
    }

    /// The instant the mapping completed, once it has.
    pub fn completed_at(&self) -> Option<Instant> {
        let state = self.state.lock().ok()?;
        match state.outcome {
            Some(Ok(at)) => Some(at),
            _ => None,
        }
    }

    /// `None` while the GPU is still working; then the buffer's bytes (once).
    ///
    /// Natively this also polls the device without blocking, which is what runs the callback;
    /// on WebGPU the browser runs it and the poll is a no-op.
    pub fn try_take(&mut self, ctx: &GpuContext) -> Option<Result<Vec<u8>, GpuError>> {
        // A failed poll means the device is lost; the map callback then reports an error too.
        let _status = ctx.device.poll(wgpu::PollType::Poll);
        let outcome = {
            let state = match self.state.lock() {
                Ok(state) => state,
                Err(_) => return Some(Err(GpuError::Readback("state poisoned".to_owned()))),
            };
            state.outcome.clone()?
        };
        Some(match outcome {
            Ok(_) => self.copy_out(),
            Err(why) => Err(GpuError::Readback(why)),
        })
    }

    fn copy_out(&mut self) -> Result<Vec<u8>, GpuError> {
        let bytes = {
            let view = self
                .buffer
                .get_mapped_range(..)
                .map_err(|e| GpuError::Readback(e.to_string()))?;
            view.to_vec()
        };
        self.buffer.unmap();
        Ok(bytes)
    }

    /// Blocks until the data is there (native only: the CLI, tests, benchmarks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait(mut self, ctx: &GpuContext) -> Result<Vec<u8>, GpuError> {
        loop {
            ctx.device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| GpuError::Readback(e.to_string()))?;
            if let Some(result) = self.try_take(ctx) {
                return result;
            }
        }
    }
}

/// Reinterprets read-back bytes as `f32`s (little-endian, as every wgpu backend stores them).
pub fn f32s_from_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Reinterprets read-back bytes as `u64`s (timestamp queries).
pub fn u64s_from_bytes(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}
