//! One submission of a kernel: optional timed passes, then read-back of its output.

use web_time::Instant;

use super::kernel::staging_buffer;
use super::timing::{PassTimer, TimingSource, pass_durations_ms};
use super::{GpuContext, GpuError, Grid, Kernel, Readback, u64s_from_bytes};

/// One kernel dispatch: pipeline, bindings and grid.
#[derive(Clone, Copy)]
pub struct Dispatch<'a> {
    pub kernel: &'a Kernel,
    pub bind_group: &'a wgpu::BindGroup,
    pub grid: Grid,
}

impl Dispatch<'_> {
    fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.kernel.record(pass, self.bind_group, self.grid);
    }
}

/// What a finished run hands back.
pub struct RunOutput {
    pub bytes: Vec<u8>,
    /// Duration of one dispatch in ms, one sample per timed pass (empty for an untimed run).
    pub pass_ms: Vec<f64>,
    pub timing: TimingSource,
}

/// A submitted run whose results are read back asynchronously: poll it once per frame.
pub struct KernelRun {
    output: Readback,
    timer: Option<Readback>,
    timer_bytes: Option<Vec<u8>>,
    output_bytes: Option<Vec<u8>>,
    submitted_at: Instant,
    timed_passes: u32,
    dispatches_per_pass: u32,
    period_ns: f32,
}

/// What to run: a kernel with its bind group over a grid, `timed_passes` times after one
/// untimed warm-up pass (0 timed passes: a single untimed pass, for results only).
///
/// Each timed pass holds `dispatches_per_pass` back-to-back dispatches and reports the pass
/// time divided by them: browsers coarsen timestamps (100 µs in Chrome) and a small kernel
/// takes microseconds, so one dispatch per pass would measure the clock, not the kernel.
pub struct RunSpec<'a> {
    /// Dispatched in order within each pass (WebGPU orders storage writes between dispatches,
    /// so a later dispatch may read what an earlier one wrote, e.g. MLP layers).
    pub dispatches: &'a [Dispatch<'a>],
    /// Buffers cleared to zero before every pass, so each pass starts from the same state
    /// (e.g. a sampler's trajectory states).
    pub zero_buffers: &'a [&'a wgpu::Buffer],
    pub timed_passes: u32,
    pub dispatches_per_pass: u32,
    pub output: &'a wgpu::Buffer,
    pub output_size_bytes: u64,
}

impl KernelRun {
    pub fn submit(ctx: &GpuContext, spec: &RunSpec<'_>) -> Result<Self, GpuError> {
        let staging = staging_buffer(ctx, "output read-back", spec.output_size_bytes)?;
        let timer = if spec.timed_passes > 0 {
            PassTimer::new(ctx, spec.timed_passes)?
        } else {
            None
        };
        let label = spec.dispatches.first().map_or("run", |d| d.kernel.name);
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        // Warm-up pass: pipeline and caches warm, not timed.
        spec.zero_buffers
            .iter()
            .for_each(|b| encoder.clear_buffer(b, 0, None));
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("warm-up"),
                timestamp_writes: None,
            });
            spec.dispatches.iter().for_each(|d| d.record(&mut pass));
        }
        for index in 0..spec.timed_passes {
            spec.zero_buffers
                .iter()
                .for_each(|b| encoder.clear_buffer(b, 0, None));
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("timed"),
                timestamp_writes: timer.as_ref().map(|t| t.writes(index)),
            });
            for _ in 0..spec.dispatches_per_pass.max(1) {
                spec.dispatches.iter().for_each(|d| d.record(&mut pass));
            }
        }
        if let Some(timer) = &timer {
            timer.resolve(&mut encoder);
        }
        encoder.copy_buffer_to_buffer(spec.output, 0, &staging, 0, spec.output_size_bytes.max(4));
        let submitted_at = Instant::now();
        ctx.queue.submit([encoder.finish()]);
        Ok(Self {
            output: Readback::start(staging),
            timer: timer.map(PassTimer::start_readback),
            timer_bytes: None,
            output_bytes: None,
            submitted_at,
            timed_passes: spec.timed_passes,
            dispatches_per_pass: spec.dispatches_per_pass.max(1),
            period_ns: ctx.queue.get_timestamp_period(),
        })
    }

    /// The common case: one kernel over one grid, nothing to clear, `output` read back whole.
    pub fn submit_single(
        ctx: &GpuContext,
        dispatch: Dispatch<'_>,
        output: &wgpu::Buffer,
        timed_passes: u32,
        dispatches_per_pass: u32,
    ) -> Result<Self, GpuError> {
        Self::submit(
            ctx,
            &RunSpec {
                dispatches: &[dispatch],
                zero_buffers: &[],
                timed_passes,
                dispatches_per_pass,
                output,
                output_size_bytes: output.size(),
            },
        )
    }

    /// `None` until both the output and the timestamps are back.
    pub fn try_finish(&mut self, ctx: &GpuContext) -> Option<Result<RunOutput, GpuError>> {
        if self.output_bytes.is_none() {
            match self.output.try_take(ctx)? {
                Ok(bytes) => self.output_bytes = Some(bytes),
                Err(e) => return Some(Err(e)),
            }
        }
        if let Some(timer) = &mut self.timer
            && self.timer_bytes.is_none()
        {
            match timer.try_take(ctx)? {
                Ok(bytes) => self.timer_bytes = Some(bytes),
                Err(e) => return Some(Err(e)),
            }
        }
        let errors = ctx.take_device_errors();
        if !errors.is_empty() {
            return Some(Err(GpuError::Device(errors.join("; "))));
        }
        let bytes = self.output_bytes.take()?;
        let per_pass = f64::from(self.dispatches_per_pass);
        let (pass_ms, timing) = match self.timer_bytes.take() {
            Some(ticks) => (
                pass_durations_ms(&u64s_from_bytes(&ticks), self.period_ns)
                    .into_iter()
                    .map(|ms| ms / per_pass)
                    .collect(),
                TimingSource::GpuTimestamps,
            ),
            None if self.timed_passes > 0 => {
                let done = self.output.completed_at().unwrap_or_else(Instant::now);
                let total_ms = (done - self.submitted_at).as_secs_f64() * 1e3;
                // The warm-up dispatch is in the wall time too: divide by every dispatch.
                let dispatches = f64::from(self.timed_passes) * per_pass + 1.0;
                (vec![total_ms / dispatches], TimingSource::WallClock)
            }
            None => (Vec::new(), TimingSource::WallClock),
        };
        Some(Ok(RunOutput {
            bytes,
            pass_ms,
            timing,
        }))
    }

    /// Blocks until finished (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait(mut self, ctx: &GpuContext) -> Result<RunOutput, GpuError> {
        loop {
            if let Some(result) = self.try_finish(ctx) {
                return result;
            }
            ctx.device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| GpuError::Readback(e.to_string()))?;
        }
    }
}
