//! The one compute context of the app: a wgpu device and queue plus what we know about them.
//!
//! On the web it wraps the device eframe created for rendering (one device per page, so compute
//! results can later be drawn without copies). Natively (desktop, CLI, tests) the same struct is
//! built headless by [`GpuContext::new_headless`].

use std::sync::{Arc, Mutex};

use super::GpuError;

/// How many storage buffers one of our kernels binds at most. An adapter that offers fewer
/// (WebGL2 offers none) cannot run our kernels and gets the CPU fallback.
pub const MIN_STORAGE_BUFFERS_PER_STAGE: u32 = 4;

/// What the user is told about the adapter; plain strings so the UI and CLI need no wgpu types.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    /// A software adapter (SwiftShader, lavapipe): kernels may pick CPU-friendly variants.
    pub is_cpu: bool,
    /// The largest subgroup the adapter may run (0 where it does not say): kernels that sum
    /// with subgroup operations size their teams to at least this.
    pub subgroup_max_size: u32,
}

impl AdapterSummary {
    pub fn from_info(info: &wgpu::AdapterInfo) -> Self {
        let driver = [info.driver.as_str(), info.driver_info.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            name: info.name.clone(),
            backend: backend_name(info.backend).to_owned(),
            device_type: device_type_name(info.device_type).to_owned(),
            driver,
            is_cpu: info.device_type == wgpu::DeviceType::Cpu,
            subgroup_max_size: info.subgroup_max_size,
        }
    }

    /// SwiftShader (natively or in Chromium), where some kernels measure fastest in a form of
    /// their own (src/labs/quant: pair-table lookups, two rows per Q4_0 thread).
    pub fn is_swiftshader(&self) -> bool {
        self.name.to_lowercase().contains("swiftshader")
    }
}

pub fn backend_name(backend: wgpu::Backend) -> &'static str {
    match backend {
        wgpu::Backend::Noop => "no-op",
        wgpu::Backend::Vulkan => "Vulkan",
        wgpu::Backend::Metal => "Metal",
        wgpu::Backend::Dx12 => "DirectX 12",
        wgpu::Backend::Gl => "OpenGL / WebGL2",
        wgpu::Backend::BrowserWebGpu => "WebGPU",
    }
}

pub fn device_type_name(device_type: wgpu::DeviceType) -> &'static str {
    match device_type {
        wgpu::DeviceType::Other => "other",
        wgpu::DeviceType::IntegratedGpu => "integrated GPU",
        wgpu::DeviceType::DiscreteGpu => "discrete GPU",
        wgpu::DeviceType::VirtualGpu => "virtual GPU",
        wgpu::DeviceType::Cpu => "CPU (software)",
    }
}

/// The device descriptor we ask for, shared by eframe (web and desktop) and the headless path.
///
/// eframe's default asks for `Limits::default()` on WebGPU (256 MiB buffers, 128 MiB storage
/// bindings) instead of what the adapter really offers; we request the adapter's own limits so
/// the Device page measures the hardware, not a conservative default. On GL (WebGL2) we keep the
/// downlevel limits: there are no storage buffers there and the app uses the CPU fallback.
pub fn device_descriptor_for(adapter: &wgpu::Adapter) -> wgpu::DeviceDescriptor<'static> {
    let info = adapter.get_info();
    if info.backend == wgpu::Backend::Gl {
        return wgpu::DeviceDescriptor {
            label: Some("paperlab device (GL)"),
            required_limits: wgpu::Limits {
                // eframe needs 8192 for 4k+ surfaces; WebGL2 guarantees it.
                max_texture_dimension_2d: 8192,
                ..wgpu::Limits::downlevel_webgl2_defaults()
            },
            ..Default::default()
        };
    }
    // Subgroups for the quantized kernels' row sums (native only: wgpu's WebGPU backend does not
    // request the browser's `subgroups` feature, so the page uses the shared-memory fallback).
    let wanted_features = wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SUBGROUP;
    wgpu::DeviceDescriptor {
        label: Some("paperlab device"),
        required_features: adapter.features() & wanted_features,
        required_limits: adapter.limits(),
        ..Default::default()
    }
}

/// A device that can run our compute kernels.
#[derive(Clone)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    /// Errors wgpu reported outside any error scope. We collect them instead of letting wgpu
    /// panic (its default), so a bad dispatch shows up as a message, not a dead page.
    device_errors: Arc<Mutex<Vec<String>>>,
}

impl GpuContext {
    /// Wraps an existing device (eframe's) if its adapter can run compute shaders with storage
    /// buffers; otherwise says why not, and the caller uses the CPU fallback.
    pub fn from_existing(
        adapter: &wgpu::Adapter,
        device: wgpu::Device,
        queue: wgpu::Queue,
    ) -> Result<Self, String> {
        let info = adapter.get_info();
        let downlevel = adapter.get_downlevel_capabilities();
        if !downlevel
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        {
            return Err(format!(
                "{} has no compute shaders",
                backend_name(info.backend)
            ));
        }
        let limits = device.limits();
        if limits.max_storage_buffers_per_shader_stage < MIN_STORAGE_BUFFERS_PER_STAGE {
            return Err(format!(
                "{} offers {} storage buffers per shader stage, {} needed",
                backend_name(info.backend),
                limits.max_storage_buffers_per_shader_stage,
                MIN_STORAGE_BUFFERS_PER_STAGE
            ));
        }
        let device_errors: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&device_errors);
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            log::error!("wgpu: {error}");
            if let Ok(mut errors) = sink.lock() {
                errors.push(error.to_string());
            }
        }));
        Ok(Self {
            features: device.features(),
            adapter: AdapterSummary::from_info(&info),
            limits,
            device,
            queue,
            device_errors,
        })
    }

    /// Builds a device without a window: for the CLI, tests and benchmarks.
    ///
    /// `PAPERLAB_ADAPTER` (a case-insensitive substring of the adapter name) picks an adapter
    /// when several exist, e.g. `llvmpipe` to force lavapipe on a machine with a GPU.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_headless() -> Result<Self, GpuError> {
        pollster::block_on(Self::new_headless_async())
    }

    #[cfg(not(target_arch = "wasm32"))]
    async fn new_headless_async() -> Result<Self, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
            flags: wgpu::InstanceFlags::from_build_config().with_env(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = match std::env::var("PAPERLAB_ADAPTER") {
            Ok(wanted) if !wanted.is_empty() => {
                let wanted = wanted.to_lowercase();
                let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
                let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
                adapters
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&wanted))
                    .ok_or_else(|| {
                        GpuError::NoDevice(format!(
                            "PAPERLAB_ADAPTER={wanted} matches none of {names:?}"
                        ))
                    })?
            }
            _ => instance
                .request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    ..Default::default()
                })
                .await
                .map_err(|e| {
                    GpuError::NoDevice(format!(
                        "{e} (on Debian, install mesa-vulkan-drivers for lavapipe: scripts/setup)"
                    ))
                })?,
        };
        let (device, queue) = adapter
            .request_device(&device_descriptor_for(&adapter))
            .await
            .map_err(|e| GpuError::NoDevice(e.to_string()))?;
        Self::from_existing(&adapter, device, queue).map_err(GpuError::NoDevice)
    }

    pub fn has_timestamps(&self) -> bool {
        self.features.contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Threads per team for kernels that sum a row over a team with subgroup operations: at
    /// least 32 and at least the adapter's largest subgroup, so that no subgroup straddles two
    /// teams. `None` where the device has no subgroups (the shared-memory sum is used).
    pub fn subgroup_team_size(&self) -> Option<u32> {
        let largest = self.adapter.subgroup_max_size;
        (self.features.contains(wgpu::Features::SUBGROUP)
            && largest.is_power_of_two()
            && largest <= 128)
            .then_some(largest.max(32))
    }

    /// Errors wgpu reported since the last call (empty in a healthy run).
    pub fn take_device_errors(&self) -> Vec<String> {
        match self.device_errors.lock() {
            Ok(mut errors) => std::mem::take(&mut *errors),
            Err(_) => vec!["error log poisoned".to_owned()],
        }
    }

    /// A storage buffer of `size_bytes` for `what`: within the buffer and binding limits?
    pub fn check_storage_size(&self, what: &str, size_bytes: u64) -> Result<(), GpuError> {
        let binding_limit = self.limits.max_storage_buffer_binding_size;
        if size_bytes > binding_limit {
            return Err(GpuError::TooLarge {
                what: what.to_owned(),
                requested: size_bytes,
                limit: binding_limit,
                limit_name: "max_storage_buffer_binding_size",
            });
        }
        if size_bytes > self.limits.max_buffer_size {
            return Err(GpuError::TooLarge {
                what: what.to_owned(),
                requested: size_bytes,
                limit: self.limits.max_buffer_size,
                limit_name: "max_buffer_size",
            });
        }
        Ok(())
    }

    /// The largest storage binding in bytes (what every kernel's biggest buffer must fit).
    pub fn max_storage_bytes(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }
}

/// The limits that matter for compute, by their WebGPU names, for the Device page and CLI.
pub fn compute_limits(limits: &wgpu::Limits) -> Vec<(&'static str, u64)> {
    vec![
        ("max_buffer_size", limits.max_buffer_size),
        (
            "max_storage_buffer_binding_size",
            limits.max_storage_buffer_binding_size,
        ),
        (
            "max_storage_buffers_per_shader_stage",
            u64::from(limits.max_storage_buffers_per_shader_stage),
        ),
        (
            "max_uniform_buffer_binding_size",
            limits.max_uniform_buffer_binding_size,
        ),
        (
            "max_compute_workgroup_storage_size",
            u64::from(limits.max_compute_workgroup_storage_size),
        ),
        (
            "max_compute_invocations_per_workgroup",
            u64::from(limits.max_compute_invocations_per_workgroup),
        ),
        (
            "max_compute_workgroup_size_x",
            u64::from(limits.max_compute_workgroup_size_x),
        ),
        (
            "max_compute_workgroups_per_dimension",
            u64::from(limits.max_compute_workgroups_per_dimension),
        ),
        ("max_bind_groups", u64::from(limits.max_bind_groups)),
        (
            "min_storage_buffer_offset_alignment",
            u64::from(limits.min_storage_buffer_offset_alignment),
        ),
    ]
}

/// Names of the enabled features, sorted.
pub fn feature_names(features: wgpu::Features) -> Vec<String> {
    let mut names: Vec<String> = features
        .iter_names()
        .map(|(name, _)| name.to_owned())
        .collect();
    names.sort();
    names
}
