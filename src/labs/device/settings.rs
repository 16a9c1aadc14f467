//! The Device page's settings: everything a user can set, and what a link carries.

use serde::{Deserialize, Serialize};

use crate::kernels::gemv_f32::GemvVariant;
use crate::share::{Correction, Validate, clamp_u32, round_to_multiple};

pub const MIN_DIM: u32 = 64;
pub const MAX_DIM: u32 = 16_384;
/// GEMV rows and columns move in steps of this (the kernel reads W as vec4; 64 keeps sizes tidy).
pub const DIM_STEP: u32 = 64;
pub const MAX_COPY_MIB: u32 = 256;
pub const MAX_REPS: u32 = 50;
pub const MIN_REPS: u32 = 3;

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
            rows: 4096,
            cols: 4096,
            copy_mib: 64,
            reps: 10,
            seed: 1,
            cpu: true,
            gemv: GemvChoice::Auto,
        }
    }
}

impl Validate for DeviceSettings {
    fn validate(&mut self, corrections: &mut Vec<Correction>) {
        clamp_u32(&mut self.rows, "rows", MIN_DIM, MAX_DIM, corrections);
        round_to_multiple(&mut self.rows, "rows", DIM_STEP, corrections);
        clamp_u32(&mut self.cols, "cols", MIN_DIM, MAX_DIM, corrections);
        round_to_multiple(&mut self.cols, "cols", DIM_STEP, corrections);
        clamp_u32(&mut self.copy_mib, "copy_mib", 1, MAX_COPY_MIB, corrections);
        clamp_u32(&mut self.reps, "reps", MIN_REPS, MAX_REPS, corrections);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::{decode, encode, format_fragment, parse_fragment};

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
