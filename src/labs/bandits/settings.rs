//! Everything a user can set in the bandits lab; the link is its serialisation.

use serde::{Deserialize, Serialize};

use super::instance::{
    ArmLoss, Instance, MAX_ARMS, MAX_MEMORY, Noise, Preset, Weights, arms_from_text, arms_to_text,
};
use super::sim::{Algo, Knobs, MAX_HORIZON, MAX_WINDOW};
use crate::share::{Correction, Validate, clamp_f64, clamp_u32};

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

impl Default for BanditSettings {
    fn default() -> Self {
        Self {
            view: View::Regret,
            instance: Preset::Habituation,
            losses: String::new(),
            arms: 5,
            memory: 16,
            weights: Weights::Uniform,
            decay: 0.8,
            noise: NoiseKind::Bernoulli,
            sigma: 0.2,
            bound: 32,
            horizon: 20_000,
            runs: 1024,
            window: 200,
            seed: 1,
            single_algo: Algo::WtbSe,
            single_run: 0,
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

impl Validate for BanditSettings {
    fn validate(&mut self, c: &mut Vec<Correction>) {
        let d = Self::default();
        clamp_u32(&mut self.arms, "arms", 2, MAX_ARMS as u32, c);
        clamp_u32(&mut self.memory, "memory", 1, MAX_MEMORY as u32, c);
        clamp_f64(&mut self.decay, "decay", 0.05, 1.0, d.decay, c);
        clamp_f64(&mut self.sigma, "sigma", 0.0, 1.0, d.sigma, c);
        clamp_u32(&mut self.bound, "bound", 1, 8 * MAX_MEMORY as u32, c);
        clamp_u32(&mut self.horizon, "horizon", 100, MAX_HORIZON, c);
        clamp_u32(&mut self.runs, "runs", 1, super::gpu::MAX_RUNS as u32, c);
        clamp_u32(&mut self.window, "window", 1, MAX_WINDOW, c);
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
    use crate::share::{decode, encode, parse_fragment};

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
