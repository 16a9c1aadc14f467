//! How the quantized GEMVs are compiled for an adapter: which shape (a team of threads per row
//! for GPUs, a thread per row for software adapters, as the f32 GEMV), how a team sums (subgroup
//! operations where the device has them, workgroup memory otherwise), and the WGSL with its
//! per-pipeline constants set (bit width, team size).

use std::cell::RefCell;
use std::rc::Rc;

use crate::gpu::kernel::with_constants;
use crate::gpu::{GpuContext, Kernel, Shader};
use crate::kernels::gemv_f32::GemvVariant;

/// Threads per workgroup of the team kernels.
pub const TEAM_WG_SIZE: u32 = 256;
/// Threads per row where the sum is in workgroup memory (the shared-memory fallback).
pub const SHARED_TEAM: u32 = 32;
/// Rows per thread of the thread-per-row GEMV shaders (`quant_*_gemv_rowwise.wgsl`): two
/// adjacent rows share each load of x, which software adapters make per lane.
pub const ROWWISE_ROWS_PER_THREAD: u32 = 4;

const TEAM_SUM_SUBGROUP: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/shaders/lib/team_sum_subgroup.wgsl"
));
const TEAM_SUM_SHARED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/shaders/lib/team_sum_shared.wgsl"
));

/// The compiled shape of one quantized GEMV pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `team` threads per row, summed with subgroup operations or in workgroup memory.
    Team { team: u32, subgroups: bool },
    /// One thread per few rows, no barriers.
    Rowwise,
}

impl Shape {
    /// The shape for `variant` on this device (`Workgroup` becomes a team per row).
    pub fn for_variant(ctx: &GpuContext, variant: GemvVariant) -> Self {
        match variant {
            GemvVariant::Rowwise => Self::Rowwise,
            GemvVariant::Workgroup => match ctx.subgroup_team_size() {
                Some(team) => Self::Team {
                    team,
                    subgroups: true,
                },
                None => Self::Team {
                    team: SHARED_TEAM,
                    subgroups: false,
                },
            },
        }
    }

    /// Every shape this device can compile: what the tests run each kernel in.
    pub fn all_for(ctx: &GpuContext) -> Vec<Self> {
        let mut shapes = vec![
            Self::Rowwise,
            Self::Team {
                team: SHARED_TEAM,
                subgroups: false,
            },
        ];
        if let Some(team) = ctx.subgroup_team_size() {
            shapes.push(Self::Team {
                team,
                subgroups: true,
            });
        }
        shapes
    }

    /// As shown next to a timing.
    pub fn label(self) -> String {
        match self {
            Self::Rowwise => format!("thread per {ROWWISE_ROWS_PER_THREAD} rows"),
            Self::Team { team, subgroups } => format!(
                "{team} threads per row, {} sum",
                if subgroups {
                    "subgroup"
                } else {
                    "shared-memory"
                }
            ),
        }
    }

    /// Rows one workgroup covers with `rows_per_team` rows per team (team shapes) or
    /// `rowwise_wg` threads of [`ROWWISE_ROWS_PER_THREAD`] rows (rowwise).
    pub fn rows_per_workgroup(self, rows_per_team: u32, rowwise_wg: u32) -> u32 {
        match self {
            Self::Rowwise => rowwise_wg * ROWWISE_ROWS_PER_THREAD,
            Self::Team { team, .. } => (TEAM_WG_SIZE / team) * rows_per_team,
        }
    }
}

/// Pipelines (or kernels holding one) compiled on first use, one per key (a bit width, a (p, q)
/// pair): the page compiles only the widths it runs.
pub struct PipelineCache<K, V = Kernel> {
    compiled: RefCell<Vec<(K, Rc<V>)>>,
}

impl<K: PartialEq + Copy, V> Default for PipelineCache<K, V> {
    fn default() -> Self {
        Self {
            compiled: RefCell::new(Vec::new()),
        }
    }
}

impl<K: PartialEq + Copy, V> PipelineCache<K, V> {
    pub fn get_or_compile(&self, key: K, compile: impl FnOnce() -> V) -> Rc<V> {
        if let Some((_, k)) = self.compiled.borrow().iter().find(|(k, _)| *k == key) {
            return Rc::clone(k);
        }
        let kernel = Rc::new(compile());
        self.compiled.borrow_mut().push((key, Rc::clone(&kernel)));
        kernel
    }
}

/// Compiles `shader` with `constants` set; for team shapes the team sum of `shape` is prepended
/// and TEAM and WG_SIZE are set too. A constant the shader lacks is a bug in this crate: the
/// tests compile every pipeline and check that none is missing.
pub fn compile(
    ctx: &GpuContext,
    name: &'static str,
    shader: Shader,
    shape: Shape,
    constants: &[(&str, u32)],
) -> Kernel {
    Kernel::from_source(ctx, name, &source(shader, shape, constants).0)
}

/// The WGSL of [`compile`] and the names of constants it did not find.
pub fn source(shader: Shader, shape: Shape, constants: &[(&str, u32)]) -> (String, Vec<String>) {
    match shape {
        Shape::Rowwise => with_constants(shader.wgsl, constants),
        Shape::Team { team, subgroups } => {
            let mut all = constants.to_vec();
            all.push(("TEAM", team));
            all.push(("WG_SIZE", TEAM_WG_SIZE));
            let prelude = if subgroups {
                TEAM_SUM_SUBGROUP
            } else {
                TEAM_SUM_SHARED
            };
            with_constants(&format!("{prelude}\n{}", shader.wgsl), &all)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_replaced_and_missing_ones_reported() {
        let shader = crate::shader!("quant_lut_gemv_team");
        let team = Shape::Team {
            team: 64,
            subgroups: true,
        };
        let (wgsl, missing) = source(shader, team, &[("BITS", 3), ("ROWS_PER_TEAM", 1)]);
        assert!(missing.is_empty(), "{missing:?}");
        assert!(wgsl.contains("const BITS: u32 = 3u;"));
        assert!(wgsl.contains("const TEAM: u32 = 64u;"));
        assert!(wgsl.contains("const ROWS_PER_TEAM: u32 = 1u;"));
        assert!(wgsl.contains("subgroupAdd"));
        let (_, missing) = source(shader, Shape::Rowwise, &[("NOT_THERE", 1)]);
        assert_eq!(missing, vec!["NOT_THERE".to_owned()]);
    }
}
