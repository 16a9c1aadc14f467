//! Everything a user can set in the GFlowNet lab; the link is its serialisation.

use serde::{Deserialize, Serialize};

use super::env::{Hypergrid, RewardSpec};
use super::model::{BackwardPolicy, Loss};
use super::train::TrainConfig;
use crate::share::{Choice, Correction, Described, Flag, Setting, Settings, Text};

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
    /// The backward policy: uniform over parents, or learned.
    pub pb: BackwardPolicy,
    pub batch: u32,
    pub hidden: u32,
    pub layers: u32,
    pub lr: f64,
    pub lr_logz: f64,
    /// Trajectories over which both step sizes halve (0: constant).
    pub lr_half_life: u32,
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

pub const VIEW: Choice<View> = Choice::new("view", View::Train, &[View::Train, View::Oc]).help(
    "Train a GFlowNet from scratch, or the paper's OC-GFN (pre-train, condition, fine-tune).",
);
pub const NDIM: Setting<u32> = Setting::new("ndim", 2, 2, 4)
    .label("dimensions D")
    .help("Number of coordinates; 3D and 4D grids are shown as 2D marginals.");
pub const HEIGHT: Setting<u32> = Setting::new("height", 8, 4, 64)
    .label("height H")
    .help("Cells per coordinate; H^D states in all.");
pub const REWARD: Choice<RewardKind> = Choice::new(
    "reward",
    RewardKind::Standard,
    &[RewardKind::Standard, RewardKind::Painted],
)
.help("Standard: R0 + R1 on the outer band + R2 on the 2^D corner modes; painted: R0 plus bumps clicked on the target map (2D).");
pub const R0: Setting<f64> = Setting::new("r0", 0.1, 1e-4, 10.0)
    .label("R0")
    .log()
    .help("Reward everywhere; small R0 makes the modes sparse and hard to find.");
pub const R1: Setting<f64> = Setting::new("r1", 0.5, 0.0, 10.0)
    .label("R1")
    .help("Extra reward on the outer band (every |x_d/(H-1) - 0.5| > 0.25).");
pub const R2: Setting<f64> = Setting::new("r2", 2.0, 0.0, 10.0)
    .label("R2")
    .help("Extra reward on the modes (every 0.3 < |x_d/(H-1) - 0.5| < 0.4).");
pub const BUMPS: Text = Text::new("bumps", "1.1,6.2,3.6")
    .value_name("X.Y,...")
    .help("Painted bumps, as cells x.y (painted reward, 2D).");
pub const LOSS: Choice<Loss> = Choice::new("loss", Loss::Tb, &[Loss::Tb, Loss::Db])
    .help("tb: trajectory balance, (log Z + Σ log P_F − log R − Σ log P_B)² per trajectory; db: detailed balance, (log F(s) + log P_F − log F(s') − log P_B)² per transition.");
pub const PB: Choice<BackwardPolicy> = Choice::new(
    "pb",
    BackwardPolicy::Uniform,
    &[BackwardPolicy::Uniform, BackwardPolicy::Learned],
)
.label("backward policy P_B")
.help("uniform: P_B(s|s') = 1 / #parents (the paper's set-up); learned: D more outputs of the policy network, a softmax over the parents (torchgfn's default).");
pub const BATCH: Setting<u32> = Setting::new("batch", 16, 1, 256)
    .log()
    .unit("trajectories")
    .help("Trajectories per gradient step.");
pub const HIDDEN: Setting<u32> = Setting::new("hidden", 256, 8, 512)
    .label("hidden units")
    .log()
    .help("Width of each hidden layer of the policy MLP.");
pub const LAYERS: Setting<u32> = Setting::new("layers", 2, 1, 4)
    .label("hidden layers")
    .help("Number of hidden layers of the policy MLP (ReLU).");
pub const LR: Setting<f64> = Setting::new("lr", 1e-3, 1e-5, 0.1)
    .label("learning rate")
    .log()
    .help("Adam step size of the policy.");
pub const LR_LOGZ: Setting<f64> = Setting::new("lr_logz", 0.1, 1e-4, 1.0)
    .label("lr log Z")
    .log()
    .help("Adam step size of the learned log Z (trajectory balance).");
pub const LR_HALF_LIFE: Setting<u32> = Setting::new("lr_half_life", 0, 0, 10_000_000)
    .label("lr half-life")
    .log()
    .unit("trajectories")
    .help("Both Adam step sizes halve every this many trajectories; 0 keeps them constant (the reference's set-up, under which the loss spikes and recovers once the fit has converged).");
pub const EPSILON: Setting<f64> = Setting::new("epsilon", 0.0, 0.0, 1.0)
    .label("exploration ε")
    .help("Probability of a uniformly random valid action at each training step.");
pub const SEED: Setting<u64> =
    Setting::new("seed", 0, 0, u64::MAX).help("Seeds the network, the sampler and the evaluation.");
pub const EVAL_SAMPLES: Setting<u32> = Setting::new("eval_samples", 10_000, 1000, 1_000_000)
    .label("samples")
    .log()
    .help("Fresh trajectories per evaluation (GPU when available); L1 noise falls as 1/√samples.");
pub const EVAL_EVERY: Setting<u32> = Setting::new("eval_every", 1000, 100, 10_000_000)
    .label("every")
    .unit("trajectories")
    .log()
    .help("Training trajectories between evaluations.");
pub const TRAIN: Flag = Flag::new("train", false)
    .help("Training runs (the Train / Pause button): a link with train=true starts training.");
pub const OC_TARGET: Text = Text::new("oc_target", "")
    .value_name("X.Y")
    .help("OC-GFN: the outcome clicked for conditioned sampling (empty for none).");
pub const COMPARE_TRAJECTORIES: Setting<u32> =
    Setting::new("compare_trajectories", 2000, 100, 100_000)
        .label("trajectories")
        .log()
        .help("Training trajectories per seed for fine-tuned OC-GFN and from-scratch GFlowNet.");

impl Default for GfnSettings {
    fn default() -> Self {
        Self {
            view: VIEW.default,
            ndim: NDIM.default,
            height: HEIGHT.default,
            reward: REWARD.default,
            r0: R0.default,
            r1: R1.default,
            r2: R2.default,
            bumps: BUMPS.default_value(),
            loss: LOSS.default,
            pb: PB.default,
            batch: BATCH.default,
            hidden: HIDDEN.default,
            layers: LAYERS.default,
            lr: LR.default,
            lr_logz: LR_LOGZ.default,
            lr_half_life: LR_HALF_LIFE.default,
            epsilon: EPSILON.default,
            seed: SEED.default,
            eval_samples: EVAL_SAMPLES.default,
            eval_every: EVAL_EVERY.default,
            train: TRAIN.default,
            oc_target: OC_TARGET.default_value(),
            compare_trajectories: COMPARE_TRAJECTORIES.default,
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
            lr_half_life: u64::from(self.lr_half_life),
            epsilon: self.epsilon as f32,
            backward: self.pb,
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

impl Settings for GfnSettings {
    const DEFINITIONS: &'static [&'static dyn Described] = &[
        &VIEW,
        &NDIM,
        &HEIGHT,
        &REWARD,
        &R0,
        &R1,
        &R2,
        &BUMPS,
        &LOSS,
        &PB,
        &BATCH,
        &HIDDEN,
        &LAYERS,
        &LR,
        &LR_LOGZ,
        &LR_HALF_LIFE,
        &EPSILON,
        &SEED,
        &EVAL_SAMPLES,
        &EVAL_EVERY,
        &TRAIN,
        &OC_TARGET,
        &COMPARE_TRAJECTORIES,
    ];

    fn validate(&mut self, c: &mut Vec<Correction>) {
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
    use crate::share::{decode, definition_problems, encode};

    #[test]
    fn definitions_match_the_struct() {
        assert_eq!(definition_problems::<GfnSettings>(), Vec::<String>::new());
    }

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
