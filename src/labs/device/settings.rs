//! The Device page's settings: everything a user can set, and what a link carries.

use serde::{Deserialize, Serialize};

use crate::kernels::gemv_f32::GemvVariant;
use crate::share::{Choice, Described, Flag, Setting, Settings};

pub const MIN_DIM: u32 = 64;
pub const MAX_DIM: u32 = 16_384;
/// GEMV rows and columns move in steps of this (the kernel reads W as vec4; 64 keeps sizes tidy).
pub const DIM_STEP: u32 = 64;

pub const ROWS: Setting<u32> = Setting::new("rows", 4096, MIN_DIM, MAX_DIM)
    .multiple_of(DIM_STEP)
    .log()
    .help("Rows of the GEMV matrix W (the largest point of the sweep), multiple of 64.");
pub const COLS: Setting<u32> = Setting::new("cols", 4096, MIN_DIM, MAX_DIM)
    .multiple_of(DIM_STEP)
    .log()
    .help("Columns of W = length of x, multiple of 64.");
pub const COPY_MIB: Setting<u32> = Setting::new("copy_mib", 64, 1, 256)
    .label("copy")
    .unit("MiB")
    .log()
    .help("Size of the copy kernel's buffer (read once and written once).");
pub const REPS: Setting<u32> = Setting::new("reps", 10, 3, 50)
    .label("repetitions")
    .help("Timed repetitions per measurement; the median is reported.");
pub const SEED: Setting<u64> = Setting::new("seed", 1, 0, u64::MAX)
    .help("Seed of the random inputs W, x and the copy source.");
pub const CPU: Flag = Flag::new("cpu", true)
    .label("time CPU references")
    .help("Also time the Rust reference implementations (the CPU fallback).");
pub const GEMV: Choice<GemvChoice> = Choice::new(
    "gemv",
    GemvChoice::Auto,
    &[GemvChoice::Auto, GemvChoice::Workgroup, GemvChoice::Rowwise],
)
.label("GEMV kernel")
.help("Which GEMV kernel shape runs on the GPU (auto: the one measured faster on this kind of adapter); both compute the same product.");

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceSettings {
    /// GEMV matrix rows (the largest point of the sweep).
    pub rows: u32,
    /// GEMV matrix columns.
    pub cols: u32,
    /// Size of the copy kernel's buffer, MiB.
    pub copy_mib: u32,
    /// Timed repetitions per measurement (the median is reported).
    pub reps: u32,
    /// Seed of the random inputs.
    pub seed: u64,
    /// Also time the CPU references (slower; they show what the GPU buys).
    pub cpu: bool,
    /// Which GEMV kernel shape runs on the GPU.
    pub gemv: GemvChoice,
}

/// The GEMV kernel shape: chosen for the adapter, or forced to compare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GemvChoice {
    #[default]
    Auto,
    Workgroup,
    Rowwise,
}

impl GemvChoice {
    pub fn resolve(self, adapter_default: GemvVariant) -> GemvVariant {
        match self {
            Self::Auto => adapter_default,
            Self::Workgroup => GemvVariant::Workgroup,
            Self::Rowwise => GemvVariant::Rowwise,
        }
    }
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            rows: ROWS.default,
            cols: COLS.default,
            copy_mib: COPY_MIB.default,
            reps: REPS.default,
            seed: SEED.default,
            cpu: CPU.default,
            gemv: GEMV.default,
        }
    }
}

impl Settings for DeviceSettings {
    const DEFINITIONS: &'static [&'static dyn Described] =
        &[&ROWS, &COLS, &COPY_MIB, &REPS, &SEED, &CPU, &GEMV];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::{decode, definition_problems, encode, format_fragment, parse_fragment};

    #[test]
    fn definitions_match_the_struct() {
        assert_eq!(
            definition_problems::<DeviceSettings>(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_documented_link_restores_its_values() {
        let (s, corrections) =
            decode::<DeviceSettings>(&parse_fragment("#rows=2048&cols=1024&reps=5&seed=42"));
        assert!(corrections.is_empty(), "{corrections:?}");
        assert_eq!((s.rows, s.cols, s.reps, s.seed), (2048, 1024, 5, 42));
    }

    #[test]
    fn every_field_is_in_the_link() {
        let text = format_fragment(&encode(&DeviceSettings::default()));
        assert_eq!(
            text,
            "#rows=4096&cols=4096&copy_mib=64&reps=10&seed=1&cpu=true&gemv=auto"
        );
    }

    #[test]
    fn off_grid_sizes_are_rounded_and_reported() {
        let (s, corrections) = decode::<DeviceSettings>(&parse_fragment("rows=1000&cols=3"));
        assert_eq!((s.rows, s.cols), (1024, 64));
        assert_eq!(corrections.len(), 2, "{corrections:?}");
    }
}
