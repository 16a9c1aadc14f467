//! Everything a user can set in the GFlowNet lab; the link is its serialisation.

use serde::{Deserialize, Serialize};

use super::env::{Hypergrid, RewardSpec};
use super::model::Loss;
use super::train::TrainConfig;
use crate::share::{Correction, Validate, clamp_f64, clamp_u32};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// R0 + R1 (outer band) + R2 (2^D corner modes).
    Standard,
    /// R0 plus bumps painted by clicking cells (2D).
    Painted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Train a GFlowNet on the reward.
    Train,
    /// OC-GFN: conditioned sampling, exact conversion, fine-tuning against scratch.
    Oc,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GfnSettings {
    pub view: View,
    pub ndim: u32,
    pub height: u32,
    pub reward: RewardKind,
    pub r0: f64,
    pub r1: f64,
    pub r2: f64,
    /// Painted bumps as "x.y,x.y,..." (cells, 2D).
    pub bumps: String,
    pub loss: Loss,
    pub batch: u32,
    pub hidden: u32,
    pub layers: u32,
    pub lr: f64,
    pub lr_logz: f64,
    pub epsilon: f64,
    pub seed: u64,
    /// Fresh samples per evaluation (L1, the sampled heat map).
    pub eval_samples: u32,
    /// Trajectories between evaluations.
    pub eval_every: u32,
    /// Training runs (the Train / Pause button): a link with `train=true` starts training.
    pub train: bool,
    /// OC-GFN: the outcome clicked for conditioned sampling ("x.y", empty for none).
    pub oc_target: String,
    /// OC-GFN: training trajectories per seed in the fine-tune vs scratch comparison.
    pub compare_trajectories: u32,
}

impl Default for GfnSettings {
    fn default() -> Self {
        Self {
            view: View::Train,
            ndim: 2,
            height: 8,
            reward: RewardKind::Standard,
            r0: 0.1,
            r1: 0.5,
            r2: 2.0,
            bumps: "1.1,6.2,3.6".to_owned(),
            loss: Loss::Tb,
            batch: 16,
            hidden: 256,
            layers: 2,
            lr: 1e-3,
            lr_logz: 0.1,
            epsilon: 0.0,
            seed: 0,
            eval_samples: 10_000,
            eval_every: 1000,
            train: false,
            oc_target: String::new(),
            compare_trajectories: 2000,
        }
    }
}

/// Painted bumps: radius in cells and height above R0.
pub const BUMP_RADIUS: usize = 1;
pub const MAX_BUMPS: usize = 32;

impl GfnSettings {
    pub fn grid(&self) -> Hypergrid {
        Hypergrid::new(self.ndim as usize, self.height as usize)
    }

    /// Painted cells inside the grid; malformed entries are skipped (see `validate`).
    pub fn bump_cells(&self) -> Vec<(u16, u16)> {
        parse_bumps(&self.bumps, self.height).0
    }

    /// The clicked OC-GFN outcome (2D cell), if any.
    pub fn oc_target_cell(&self) -> Option<(u16, u16)> {
        let (cells, _) = parse_bumps(&self.oc_target, self.height);
        (cells.len() == 1).then(|| cells[0])
    }

    pub fn reward_spec(&self) -> RewardSpec {
        match self.reward {
            RewardKind::Standard => RewardSpec::Standard {
                r0: self.r0,
                r1: self.r1,
                r2: self.r2,
            },
            _ => RewardSpec::Painted {
                r0: self.r0,
                height: self.r1 + self.r2,
                radius: BUMP_RADIUS,
                bumps: self.bump_cells(),
            },
        }
    }

    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            loss: self.loss,
            batch: self.batch as usize,
            hidden: self.hidden as usize,
            hidden_layers: self.layers as usize,
            lr: self.lr as f32,
            lr_log_z: self.lr_logz as f32,
            epsilon: self.epsilon as f32,
            seed: self.seed,
        }
    }

    /// Settings that change what is being trained (a change restarts training); pausing or
    /// the evaluation settings do not.
    pub fn training_key(&self) -> (Hypergrid, String, TrainConfig) {
        (
            self.grid(),
            format!("{:?}", self.reward_spec()),
            self.train_config(),
        )
    }
}

/// "x.y,x.y" -> cells inside a height x height grid; also the entries that were refused.
pub fn parse_bumps(text: &str, height: u32) -> (Vec<(u16, u16)>, Vec<String>) {
    let mut cells = Vec::new();
    let mut refused = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parsed = entry
            .split_once('.')
            .and_then(|(x, y)| Some((x.parse::<u16>().ok()?, y.parse::<u16>().ok()?)))
            .filter(|&(x, y)| u32::from(x) < height && u32::from(y) < height);
        match parsed {
            Some(cell) if cells.len() < MAX_BUMPS && !cells.contains(&cell) => cells.push(cell),
            _ => refused.push(entry.to_owned()),
        }
    }
    (cells, refused)
}

pub fn format_bumps(cells: &[(u16, u16)]) -> String {
    cells
        .iter()
        .map(|(x, y)| format!("{x}.{y}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Validate for GfnSettings {
    fn validate(&mut self, c: &mut Vec<Correction>) {
        let d = Self::default();
        clamp_u32(&mut self.ndim, "ndim", 2, 4, c);
        clamp_u32(&mut self.height, "height", 4, 64, c);
        clamp_f64(&mut self.r0, "r0", 1e-4, 10.0, d.r0, c);
        clamp_f64(&mut self.r1, "r1", 0.0, 10.0, d.r1, c);
        clamp_f64(&mut self.r2, "r2", 0.0, 10.0, d.r2, c);
        clamp_u32(&mut self.batch, "batch", 1, 256, c);
        clamp_u32(&mut self.hidden, "hidden", 8, 512, c);
        clamp_u32(&mut self.layers, "layers", 1, 4, c);
        clamp_f64(&mut self.lr, "lr", 1e-5, 0.1, d.lr, c);
        clamp_f64(&mut self.lr_logz, "lr_logz", 1e-4, 1.0, d.lr_logz, c);
        clamp_f64(&mut self.epsilon, "epsilon", 0.0, 1.0, d.epsilon, c);
        clamp_u32(&mut self.eval_samples, "eval_samples", 1000, 1_000_000, c);
        clamp_u32(&mut self.eval_every, "eval_every", 100, 100_000, c);
        clamp_u32(
            &mut self.compare_trajectories,
            "compare_trajectories",
            100,
            100_000,
            c,
        );
        if !self.oc_target.is_empty() {
            let (cells, _) = parse_bumps(&self.oc_target, self.height);
            if cells.len() != 1 {
                c.push(Correction::new(
                    "oc_target",
                    format!("'{}' is not one cell of the grid", self.oc_target),
                ));
                self.oc_target.clear();
            }
        }
        if self.reward == RewardKind::Painted && self.ndim != 2 {
            c.push(Correction::new(
                "reward",
                "painted rewards are 2D: standard reward used",
            ));
            self.reward = RewardKind::Standard;
        }
        // Bumps only matter (and are only checked) for a painted reward.
        let (cells, refused) = parse_bumps(&self.bumps, self.height);
        if self.reward == RewardKind::Painted && !refused.is_empty() {
            c.push(Correction::new(
                "bumps",
                format!(
                    "ignored {} entr(ies) outside the grid or malformed: {}",
                    refused.len(),
                    refused.join(",")
                ),
            ));
            self.bumps = format_bumps(&cells);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::{decode, encode};

    #[test]
    fn link_round_trip_and_repair() {
        let s = GfnSettings {
            reward: RewardKind::Painted,
            bumps: "1.2,5.6".into(),
            ..GfnSettings::default()
        };
        let (back, corrections) = decode::<GfnSettings>(&encode(&s));
        assert!(corrections.is_empty(), "{corrections:?}");
        assert_eq!(back, s);
        let (fixed, corrections) = decode::<GfnSettings>(&crate::share::parse_fragment(
            "ndim=3&reward=painted&bumps=1.1,99.2,x&height=100",
        ));
        assert_eq!(fixed.reward, RewardKind::Standard);
        assert_eq!(fixed.height, 64);
        assert_eq!(corrections.len(), 2, "{corrections:?}");
        let (fixed, corrections) = decode::<GfnSettings>(&crate::share::parse_fragment(
            "reward=painted&bumps=1.1,99.2,x",
        ));
        assert_eq!(fixed.bumps, "1.1");
        assert_eq!(corrections.len(), 1, "{corrections:?}");
        // The defaults need no correction.
        let (_, corrections) = decode::<GfnSettings>(&encode(&GfnSettings::default()));
        assert!(corrections.is_empty());
    }

    #[test]
    fn bumps_parse() {
        let (cells, refused) = parse_bumps("1.2, 3.3,,3.3,9.9,a.b", 8);
        assert_eq!(cells, vec![(1, 2), (3, 3)]);
        assert_eq!(refused, vec!["3.3", "9.9", "a.b"]);
    }
}
