//! Everything a user can set in the bandits lab; the link is its serialisation.

use serde::{Deserialize, Serialize};

use super::instance::{
    ArmLoss, Instance, MAX_ARMS, MAX_MEMORY, Noise, Preset, Weights, arms_from_text, arms_to_text,
};
use super::sim::{Algo, Knobs, MAX_HORIZON, MAX_WINDOW};
use crate::share::{Choice, Correction, Described, Setting, Settings, Text};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    Bernoulli,
    Gaussian,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Mean CPR vs t for every algorithm.
    Regret,
    /// CPR at T vs T, log-log.
    Horizon,
    /// CPR vs the memory bound M.
    Bound,
    /// CPR at T vs the true memory m, every algorithm.
    Memory,
    /// CPR at T vs the number of arms K, every algorithm.
    Arms,
    /// One run, animated.
    Single,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BanditSettings {
    pub view: View,
    pub instance: Preset,
    /// Custom losses ("hab:0.1:0.6,sat:0.3:0.5,..."): when set, they replace the preset's.
    pub losses: String,
    pub arms: u32,
    pub memory: u32,
    pub weights: Weights,
    pub decay: f64,
    pub noise: NoiseKind,
    pub sigma: f64,
    /// M, the learner's upper bound on the memory.
    pub bound: u32,
    pub horizon: u32,
    /// Runs per algorithm (the CPU fallback caps them at `CPU_MAX_RUNS`).
    pub runs: u32,
    pub window: u32,
    pub seed: u64,
    /// Single-run view: which algorithm and which run.
    pub single_algo: Algo,
    pub single_run: u32,
}

/// Runs per algorithm without a GPU: the CPU reference plays them one after another.
pub const CPU_MAX_RUNS: u32 = 64;

pub const VIEW: Choice<View> = Choice::new(
    "view",
    View::Regret,
    &[
        View::Regret,
        View::Horizon,
        View::Bound,
        View::Memory,
        View::Arms,
        View::Single,
    ],
)
.help("Regret curves, regret vs horizon, vs the memory bound M, vs the true memory m, vs the number of arms K, or one run animated.");
pub const INSTANCE: Choice<Preset> = Choice::new("instance", Preset::Habituation, &Preset::ALL)
    .label("preset")
    .help("Loss functions of the arms; a* is the last arm in every preset.");
pub const LOSSES: Text = Text::new("losses", "")
    .value_name("hab:0.1:0.6,sat:0.3:0.5,...")
    .help("Custom losses, family:base:amplitude per arm (hab, sat, mix, const); they replace the preset's.");
pub const ARMS: Setting<u32> = Setting::new("arms", 5, 2, MAX_ARMS as u32)
    .label("arms K")
    .help("Number of arms (fixed by the custom losses when they are set).");
pub const MEMORY: Setting<u32> = Setting::new("memory", 16, 1, MAX_MEMORY as u32)
    .label("memory m")
    .unit("rounds")
    .help("The tally counts the plays of the last m rounds.");
pub const WEIGHTS: Choice<Weights> = Choice::new(
    "weights",
    Weights::Uniform,
    &[Weights::Uniform, Weights::Geometric],
)
.label("tally weights")
.help("uniform: w_j = 1/m; geometric: w_j ∝ decay^j (recent plays count more).");
pub const DECAY: Setting<f64> = Setting::new("decay", 0.8, 0.05, 1.0)
    .help("Ratio of successive weights (geometric weights only).");
pub const NOISE: Choice<NoiseKind> = Choice::new(
    "noise",
    NoiseKind::Bernoulli,
    &[NoiseKind::Bernoulli, NoiseKind::Gaussian],
)
.help("bernoulli: the observed loss is 0 or 1 with mean f(tally); gaussian: f(tally) + N(0, σ²), clamped to ±4.");
pub const SIGMA: Setting<f64> = Setting::new("sigma", 0.2, 0.0, 1.0)
    .label("σ")
    .unit("loss units")
    .help("Standard deviation of the Gaussian noise added to each loss.");
pub const BOUND: Setting<u32> = Setting::new("bound", 32, 1, 8 * MAX_MEMORY as u32)
    .flag("memory-bound")
    .label("memory bound M")
    .unit("rounds")
    .log()
    .help("What the paper's algorithm is told about m (it needs M ≥ m): losses discarded at the start of each block.");
pub const HORIZON: Setting<u32> = Setting::new("horizon", 20_000, 100, MAX_HORIZON)
    .label("horizon T")
    .unit("rounds")
    .log()
    .help("Rounds per run; the algorithms are tuned to it (confidence level 1/T, EXP3's rate).");
pub const RUNS: Setting<u32> = Setting::new("runs", 1024, 1, super::gpu::MAX_RUNS as u32)
    .label("runs per algorithm")
    .log()
    .help("Independent runs: all at once on the GPU (rounded up to a multiple of 64); without a GPU the CPU plays at most 64 (32 per sweep point).");
pub const WINDOW: Setting<u32> = Setting::new("window", 200, 1, MAX_WINDOW)
    .label("SW-UCB window")
    .unit("rounds")
    .log()
    .help("Sliding-window UCB keeps the statistics of this many recent rounds.");
pub const SEED: Setting<u64> = Setting::new("seed", 1, 0, u64::MAX).help(
    "Seeds the noise (shared by all algorithms: common random numbers), EXP3's draws and the mixed preset.",
);
pub const SINGLE_ALGO: Choice<Algo> = Choice::new("single_algo", Algo::WtbSe, &Algo::ALL)
    .label("algorithm")
    .help("The algorithm whose run is shown.");
pub const SINGLE_RUN: Setting<u32> =
    Setting::new("single_run", 0, 0, super::gpu::MAX_RUNS as u32 - 1)
        .label("run")
        .help("Which run (its noise stream); the GPU plays exactly the same rounds for it.");

impl Default for BanditSettings {
    fn default() -> Self {
        Self {
            view: VIEW.default,
            instance: INSTANCE.default,
            losses: LOSSES.default_value(),
            arms: ARMS.default,
            memory: MEMORY.default,
            weights: WEIGHTS.default,
            decay: DECAY.default,
            noise: NOISE.default,
            sigma: SIGMA.default,
            bound: BOUND.default,
            horizon: HORIZON.default,
            runs: RUNS.default,
            window: WINDOW.default,
            seed: SEED.default,
            single_algo: SINGLE_ALGO.default,
            single_run: SINGLE_RUN.default,
        }
    }
}

impl BanditSettings {
    pub fn arm_losses(&self) -> Vec<ArmLoss> {
        if !self.losses.is_empty()
            && let Ok(arms) = arms_from_text(&self.losses)
        {
            return arms;
        }
        self.instance.arms(self.arms as usize, self.seed)
    }

    pub fn instance(&self) -> Instance {
        Instance {
            arms: self.arm_losses(),
            memory: self.memory as usize,
            weights: self.weights,
            decay: self.decay,
            noise: match self.noise {
                NoiseKind::Bernoulli => Noise::Bernoulli,
                NoiseKind::Gaussian => Noise::Gaussian { sigma: self.sigma },
            },
        }
    }

    pub fn knobs(&self) -> Knobs {
        Knobs {
            bound: self.bound,
            horizon: self.horizon,
            window: self.window,
            seed: self.seed as u32,
            checkpoints: 64,
        }
    }

    /// Fills the custom losses from the preset, for editing.
    pub fn customise(&mut self) {
        self.losses = arms_to_text(&self.instance.arms(self.arms as usize, self.seed));
    }

    /// What defines the Monte Carlo results: a change restarts them.
    pub fn job_key(&self) -> String {
        format!("{:?}|{:?}|{}", self.instance(), self.knobs(), self.runs)
    }
}

impl Settings for BanditSettings {
    const DEFINITIONS: &'static [&'static dyn Described] = &[
        &VIEW,
        &INSTANCE,
        &LOSSES,
        &ARMS,
        &MEMORY,
        &WEIGHTS,
        &DECAY,
        &NOISE,
        &SIGMA,
        &BOUND,
        &HORIZON,
        &RUNS,
        &WINDOW,
        &SEED,
        &SINGLE_ALGO,
        &SINGLE_RUN,
    ];

    fn validate(&mut self, c: &mut Vec<Correction>) {
        if self.single_run >= self.runs {
            c.push(Correction::new(
                "single_run",
                format!("run {} of {}: run 0 shown", self.single_run, self.runs),
            ));
            self.single_run = 0;
        }
        if !self.losses.is_empty() {
            match arms_from_text(&self.losses) {
                Ok(arms) => self.arms = arms.len() as u32,
                Err(e) => {
                    c.push(Correction::new(
                        "losses",
                        format!("{e}: the preset's losses are used"),
                    ));
                    self.losses.clear();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::{decode, definition_problems, encode, parse_fragment};

    #[test]
    fn definitions_match_the_struct() {
        assert_eq!(
            definition_problems::<BanditSettings>(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn link_round_trip_and_repair() {
        let mut s = BanditSettings {
            arms: 3,
            ..BanditSettings::default()
        };
        s.customise();
        let (back, corrections) = decode::<BanditSettings>(&encode(&s));
        assert!(corrections.is_empty(), "{corrections:?}");
        assert_eq!(back, s);
        let (fixed, corrections) = decode::<BanditSettings>(&parse_fragment(
            "arms=99&memory=0&losses=sat:0.3:0.5&horizon=x&single_algo=bogus",
        ));
        assert_eq!(fixed.arms, 16);
        assert_eq!(fixed.memory, 1);
        assert!(fixed.losses.is_empty());
        assert_eq!(fixed.horizon, BanditSettings::default().horizon);
        assert_eq!(fixed.single_algo, Algo::WtbSe);
        assert!(corrections.len() >= 5, "{corrections:?}");
        let (_, corrections) = decode::<BanditSettings>(&encode(&BanditSettings::default()));
        assert!(corrections.is_empty(), "{corrections:?}");
    }
}
