//! WGSL kernels: embedded source, pipeline creation, binding and dispatch.

use wgpu::util::DeviceExt;

use super::{GpuContext, GpuError};

/// A WGSL file from `shaders/`, embedded at build time.
#[derive(Clone, Copy, Debug)]
pub struct Shader {
    pub name: &'static str,
    pub wgsl: &'static str,
}

/// `shader!("copy")` embeds `shaders/copy.wgsl`; `shader!("gfn_step", prelude: "hash")`
/// prepends `shaders/lib/hash.wgsl` (WGSL has no includes: shared functions live once there).
#[macro_export]
macro_rules! shader {
    ($name:literal, prelude: $($lib:literal),+) => {
        $crate::gpu::Shader {
            name: $name,
            wgsl: concat!(
                $(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/lib/", $lib, ".wgsl")),)+
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/", $name, ".wgsl"))
            ),
        }
    };
    ($name:literal) => {
        $crate::gpu::Shader {
            name: $name,
            wgsl: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/shaders/",
                $name,
                ".wgsl"
            )),
        }
    };
}

/// `wgsl` with each `const NAME: u32 = ...;` line of `constants` replaced by the given value: one
/// pipeline per bit width or team size, so that shifts and loop bounds are compile-time
/// constants (WGSL's pipeline-overridable constants cannot size arrays on every backend).
/// Returns the names that have no such line (empty when all were set), so a caller can refuse.
pub fn with_constants(wgsl: &str, constants: &[(&str, u32)]) -> (String, Vec<String>) {
    let mut missing = Vec::new();
    let mut out = wgsl.to_owned();
    for &(name, value) in constants {
        let prefix = format!("const {name}: u32 = ");
        let Some(start) = out.find(&prefix) else {
            missing.push(name.to_owned());
            continue;
        };
        let end = out[start..].find('\n').map_or(out.len(), |e| start + e);
        out.replace_range(start..end, &format!("{prefix}{value}u;"));
    }
    (out, missing)
}

/// `wgsl` with every line that holds only `// REPEAT: <template>` replaced by `count` copies of
/// the template, `{i}` in each set to 0, 1, ...: straight-line code per batch element (separate
/// accumulators in registers, where an indexed private array may become scratch memory).
pub fn with_repeats(wgsl: &str, count: u32) -> String {
    let mut out = String::with_capacity(wgsl.len());
    for line in wgsl.lines() {
        let trimmed = line.trim_start();
        if let Some(template) = trimmed.strip_prefix("// REPEAT: ") {
            let indent = &line[..line.len() - trimmed.len()];
            for i in 0..count {
                out.push_str(indent);
                out.push_str(&template.replace("{i}", &i.to_string()));
                out.push('\n');
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// One compute pipeline with its (single) bind group layout.
pub struct Kernel {
    pub name: &'static str,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

impl Kernel {
    /// Compiles `shader` (entry point `main`). Our shaders are fixed at build time and checked by
    /// tests, so a compile error here is a bug; wgpu reports it to the context's error log.
    pub fn new(ctx: &GpuContext, shader: Shader) -> Self {
        Self::from_source(ctx, shader.name, shader.wgsl)
    }

    /// Compiles WGSL made at run time (a [`Shader`] with its constants set, see
    /// [`with_constants`]).
    pub fn from_source(ctx: &GpuContext, name: &'static str, wgsl: &str) -> Self {
        let module = ctx
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(wgsl.into()),
            });
        let pipeline = ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(name),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                cache: None,
            });
        let layout = pipeline.get_bind_group_layout(0);
        Self {
            name,
            pipeline,
            layout,
        }
    }

    /// Binds `buffers` to bindings 0, 1, 2, ... of group 0 (the order of the WGSL declarations).
    pub fn bind(&self, ctx: &GpuContext, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
            .iter()
            .enumerate()
            .map(|(i, buffer)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.name),
            layout: &self.layout,
            entries: &entries,
        })
    }

    /// Records one dispatch of `grid` workgroups into an open compute pass.
    pub fn record(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        bind_group: &wgpu::BindGroup,
        grid: Grid,
    ) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.dispatch_workgroups(grid.x, grid.y, 1);
    }
}

/// A 2D grid of workgroups covering `groups` linear workgroups (x + y * x_count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub x: u32,
    pub y: u32,
}

impl Grid {
    /// Lays `groups` workgroups on a grid that respects the per-dimension limit; the shader
    /// skips the few surplus groups of the last row of the grid.
    pub fn for_groups(ctx: &GpuContext, what: &str, groups: u64) -> Result<Self, GpuError> {
        grid_for_groups(
            what,
            groups,
            u64::from(ctx.limits.max_compute_workgroups_per_dimension),
        )
    }
}

impl Grid {
    /// An `x` by `y` grid of workgroups as given (tiled kernels), refused where a dimension
    /// passes the device's limit.
    pub fn tiles(ctx: &GpuContext, what: &str, x: u32, y: u32) -> Result<Self, GpuError> {
        let limit = ctx.limits.max_compute_workgroups_per_dimension;
        let largest = x.max(y);
        if largest > limit {
            return Err(GpuError::TooLarge {
                what: format!("{what} dispatch"),
                requested: u64::from(largest),
                limit: u64::from(limit),
                limit_name: "max_compute_workgroups_per_dimension",
            });
        }
        Ok(Self { x, y })
    }
}

pub fn grid_for_groups(what: &str, groups: u64, max_per_dim: u64) -> Result<Grid, GpuError> {
    let max_per_dim = max_per_dim.max(1);
    let groups = groups.max(1);
    let max_total = max_per_dim * max_per_dim;
    if groups > max_total {
        return Err(GpuError::TooLarge {
            what: format!("{what} dispatch"),
            requested: groups,
            limit: max_total,
            limit_name: "max_compute_workgroups_per_dimension squared",
        });
    }
    let x = groups.min(max_per_dim);
    let y = groups.div_ceil(x);
    // Both fit in u32: each is at most max_per_dim, itself a u32.
    Ok(Grid {
        x: x as u32,
        y: y as u32,
    })
}

/// Storage buffer with initial contents, after checking it against the device limits.
pub fn storage_buffer_init(
    ctx: &GpuContext,
    what: &str,
    contents: &[u8],
    extra_usage: wgpu::BufferUsages,
) -> Result<wgpu::Buffer, GpuError> {
    ctx.check_storage_size(what, contents.len() as u64)?;
    Ok(ctx
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(what),
            contents,
            usage: wgpu::BufferUsages::STORAGE | extra_usage,
        }))
}

/// Empty storage buffer (output) that can be copied out for read-back.
pub fn storage_buffer_output(
    ctx: &GpuContext,
    what: &str,
    size_bytes: u64,
) -> Result<wgpu::Buffer, GpuError> {
    ctx.check_storage_size(what, size_bytes)?;
    Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(what),
        size: size_bytes.max(4),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    }))
}

/// Empty storage buffer that the host fills with `queue.write_buffer` (inputs that change).
pub fn storage_buffer_input(
    ctx: &GpuContext,
    what: &str,
    size_bytes: u64,
) -> Result<wgpu::Buffer, GpuError> {
    ctx.check_storage_size(what, size_bytes)?;
    Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(what),
        size: size_bytes.max(4),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    }))
}

/// A MAP_READ staging buffer for read-back of `size_bytes`.
pub fn staging_buffer(
    ctx: &GpuContext,
    what: &str,
    size_bytes: u64,
) -> Result<wgpu::Buffer, GpuError> {
    if size_bytes > ctx.limits.max_buffer_size {
        return Err(GpuError::TooLarge {
            what: what.to_owned(),
            requested: size_bytes,
            limit: ctx.limits.max_buffer_size,
            limit_name: "max_buffer_size",
        });
    }
    Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(what),
        size: size_bytes.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    }))
}

/// A uniform buffer of u32 parameters (padded by the caller to 16 bytes, as WGSL requires).
pub fn uniform_u32s(ctx: &GpuContext, what: &str, values: &[u32]) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(what),
            contents: bytemuck::cast_slice(values),
            usage: wgpu::BufferUsages::UNIFORM,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_groups_within_limits() {
        for (groups, max) in [
            (1u64, 65_535u64),
            (65_535, 65_535),
            (65_536, 65_535),
            (1_000_000, 65_535),
            (3, 2),
        ] {
            let g = grid_for_groups("t", groups, max).expect("fits");
            assert!(u64::from(g.x) <= max && u64::from(g.y) <= max);
            let covered = u64::from(g.x) * u64::from(g.y);
            assert!(covered >= groups, "{g:?} covers {covered} < {groups}");
            // Surplus is less than one row of the grid.
            assert!(covered - groups < u64::from(g.x));
        }
    }

    #[test]
    fn repeats_and_constants_expand() {
        let src = "const N: u32 = 1u;\n    // REPEAT: var a{i} = {i}.0;\nend";
        let (with_n, missing) = with_constants(&with_repeats(src, 3), &[("N", 3), ("M", 1)]);
        assert_eq!(
            with_n,
            "const N: u32 = 3u;\n    var a0 = 0.0;\n    var a1 = 1.0;\n    var a2 = 2.0;\nend\n"
        );
        assert_eq!(missing, vec!["M".to_owned()]);
    }

    #[test]
    fn grid_refuses_too_many_groups_with_a_clear_error() {
        let err = grid_for_groups("gemv", 5, 2).expect_err("5 > 2*2");
        assert!(err.to_string().contains("gemv dispatch"), "{err}");
    }
}
