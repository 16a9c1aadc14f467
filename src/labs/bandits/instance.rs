//! A weighted-tallying bandit instance: K arms, memory m with tally weights, a loss function of
//! the tally per arm, and the noise. Also its integer tables: the simulation (GPU kernel and its
//! Rust reference) runs in fixed point so both make the same decision bit for bit.

use serde::{Deserialize, Serialize};

pub const MAX_ARMS: usize = 16;
pub const MAX_MEMORY: usize = 64;
/// Loss units: an integer loss `q` means `q / LOSS_ONE`.
pub const LOSS_ONE: i32 = 4096;
/// Tally units: integer weights sum to exactly this (the tally of an arm played m times in a row).
pub const TALLY_ONE: u32 = 65_536;
/// The loss table holds f_a at tallies i / TALLY_BINS, i = 0..=TALLY_BINS.
pub const TALLY_BINS: usize = 1024;
pub const TABLE_LEN: usize = TALLY_BINS + 1;

/// How an arm's mean loss depends on its tally y in [0, 1] (y = 1: played in each of the last m
/// rounds, with weights summing to 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// f(y) = base.
    Constant,
    /// f(y) = base + amp * y: the more recently played, the worse (boredom).
    Satiation,
    /// f(y) = base + amp * (1 - y): the more recently played, the better (practice).
    Habituation,
    /// f(y) = base + amp * (2y - 1)^2: practice helps up to a point, then boredom.
    Mixed,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Constant,
        Family::Satiation,
        Family::Habituation,
        Family::Mixed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Constant => "con",
            Self::Satiation => "sat",
            Self::Habituation => "hab",
            Self::Mixed => "mix",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Satiation => "satiation (loss grows with the tally)",
            Self::Habituation => "habituation (loss falls with the tally)",
            Self::Mixed => "mixed (U-shaped)",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArmLoss {
    pub family: Family,
    pub base: f64,
    pub amp: f64,
}

impl ArmLoss {
    pub fn new(family: Family, base: f64, amp: f64) -> Self {
        Self { family, base, amp }
    }

    /// Mean loss at tally `y` in [0, 1], clipped to [0, 1] (Bernoulli losses need a probability).
    pub fn mean(&self, y: f64) -> f64 {
        let shape = match self.family {
            Family::Constant => 0.0,
            Family::Satiation => y,
            Family::Habituation => 1.0 - y,
            Family::Mixed => (2.0 * y - 1.0).powi(2),
        };
        (self.base + self.amp * shape).clamp(0.0, 1.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weights {
    /// w_j = 1/m: the tally is the fraction of the last m rounds spent on the arm.
    Uniform,
    /// w_j proportional to decay^j: recent plays count more (memory fading).
    Geometric,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Noise {
    /// Observed loss ~ Bernoulli(f).
    Bernoulli,
    /// Observed loss = f + N(0, sigma^2).
    Gaussian { sigma: f64 },
}

impl Noise {
    /// The scale of the confidence widths: 1 for losses in [0, 1] (Bernoulli: the textbook
    /// UCB1 / successive-elimination constants), 2 sigma for Gaussian noise (a [0, 1] variable is
    /// 1/2-sub-Gaussian, so this keeps the same constants per unit of sub-Gaussian scale).
    pub fn width_scale(self) -> f64 {
        match self {
            Self::Bernoulli => 1.0,
            Self::Gaussian { sigma } => 2.0 * sigma,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub arms: Vec<ArmLoss>,
    pub memory: usize,
    pub weights: Weights,
    pub decay: f64,
    pub noise: Noise,
}

/// Repeated exposure optimality, checked on the loss table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reo {
    /// The arm with the smallest loss when played repeatedly (lowest index on ties).
    pub a_star: usize,
    /// f_{a*}(1): the loss of a* with a saturated tally.
    pub loss_star: f64,
    /// min over arms and tallies of f_a(y).
    pub loss_floor: f64,
    pub holds: bool,
}

impl Instance {
    pub fn arm_count(&self) -> usize {
        self.arms.len()
    }

    /// Real-valued weights w_0..w_{m-1}, summing to 1 (w_0: the most recent round).
    pub fn weights_real(&self) -> Vec<f64> {
        let m = self.memory.clamp(1, MAX_MEMORY);
        let raw: Vec<f64> = match self.weights {
            Weights::Uniform => vec![1.0; m],
            Weights::Geometric => (0..m).map(|j| self.decay.powi(j as i32)).collect(),
        };
        let total: f64 = raw.iter().sum();
        raw.iter().map(|w| w / total).collect()
    }

    /// Integer weights summing to exactly [`TALLY_ONE`]: rounding leftovers go to w_0, so an arm
    /// played in every one of the last m rounds has the full tally.
    pub fn weights_q(&self) -> Vec<u32> {
        let real = self.weights_real();
        let mut q: Vec<u32> = real
            .iter()
            .map(|w| (w * f64::from(TALLY_ONE)).floor() as u32)
            .collect();
        let sum: u32 = q.iter().sum();
        q[0] += TALLY_ONE - sum;
        q
    }

    /// Mean loss per arm at tally bins 0..=TALLY_BINS, in loss units (arm-major).
    pub fn loss_table_q(&self) -> Vec<i32> {
        let mut table = Vec::with_capacity(self.arms.len() * TABLE_LEN);
        for arm in &self.arms {
            for i in 0..TABLE_LEN {
                let y = i as f64 / TALLY_BINS as f64;
                table.push((arm.mean(y) * f64::from(LOSS_ONE)).round() as i32);
            }
        }
        table
    }

    /// REO over every tally in [0, 1] (a superset of the feasible tallies, so `holds` is
    /// conservative), on the same quantised table the simulation uses.
    pub fn reo(&self) -> Reo {
        let table = self.loss_table_q();
        let saturated = |a: usize| table[a * TABLE_LEN + TALLY_BINS];
        let a_star = (0..self.arms.len())
            .min_by_key(|&a| (saturated(a), a))
            .unwrap_or(0);
        let floor = table.iter().copied().min().unwrap_or(0);
        let one = f64::from(LOSS_ONE);
        Reo {
            a_star,
            loss_star: f64::from(saturated(a_star)) / one,
            loss_floor: f64::from(floor) / one,
            holds: saturated(a_star) <= floor,
        }
    }
}

/// The loss-table bin of an integer tally (round to nearest).
pub fn tally_bin(tally_q: u32) -> usize {
    ((tally_q + 32) >> 6) as usize
}

/// Named instance generators, for the CLI and the page's presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// The best arm only looks best when played repeatedly (practice); the others are tempting
    /// when fresh (satiation, 0.15 at tally 0 against a*'s 0.8) or constant. Bandits that switch
    /// arms never see a* at its best.
    Habituation,
    /// Every arm bores; a constant arm is best. Ordinary bandits cope here.
    Satiation,
    /// Families drawn at random from the seed, with REO enforced.
    Mixed,
    /// Fresh arms are cheap: cycling through them beats repeating any single arm once there are
    /// enough of them (K >= 5 with uniform weights). REO fails, no guarantee applies.
    #[serde(alias = "no-reo")]
    NoReo,
}

impl Preset {
    pub const ALL: [Preset; 4] = [
        Preset::Habituation,
        Preset::Satiation,
        Preset::Mixed,
        Preset::NoReo,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Habituation => "habituation",
            Self::Satiation => "satiation",
            Self::Mixed => "mixed",
            Self::NoReo => "no_reo",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        let code = code.replace('-', "_");
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// The loss functions of `arms` arms (2..=16) for this preset; `seed` only matters for Mixed.
    pub fn arms(self, arms: usize, seed: u64) -> Vec<ArmLoss> {
        let k = arms.clamp(2, MAX_ARMS);
        // a* sits last so that lowest-index tie breaking never favours it.
        let star = k - 1;
        (0..k)
            .map(|a| match self {
                Self::Habituation if a == star => ArmLoss::new(Family::Habituation, 0.1, 0.7),
                Self::Habituation if a % 4 == 2 => ArmLoss::new(Family::Constant, 0.35, 0.0),
                Self::Habituation => ArmLoss::new(Family::Satiation, 0.15 + 0.01 * a as f64, 0.6),
                Self::Satiation if a == star => ArmLoss::new(Family::Constant, 0.3, 0.0),
                Self::Satiation => ArmLoss::new(Family::Satiation, 0.35 + 0.03 * a as f64, 0.45),
                Self::Mixed => mixed_arm(a, star, seed),
                Self::NoReo if a == star => ArmLoss::new(Family::Constant, 0.35, 0.0),
                Self::NoReo => ArmLoss::new(Family::Satiation, 0.02 * a as f64, 0.95),
            })
            .collect()
    }
}

/// A random arm for the Mixed preset: a* practises down to 0.05..0.15; every other arm stays
/// above 0.2 everywhere, so REO holds by construction.
fn mixed_arm(arm: usize, star: usize, seed: u64) -> ArmLoss {
    let u = |i: u64| {
        crate::rng::SplitMix64::new(crate::rng::hash_u64(seed, arm as u64 * 8 + i)).next_f64()
    };
    if arm == star {
        let family = if u(0) < 0.5 {
            Family::Habituation
        } else {
            Family::Mixed
        };
        let floor = 0.05 + 0.1 * u(1);
        return match family {
            // Mixed has its minimum at y = 1/2: shift it so the saturated loss is the floor.
            Family::Mixed => ArmLoss::new(Family::Habituation, floor, 0.3 + 0.4 * u(2)),
            _ => ArmLoss::new(family, floor, 0.3 + 0.5 * u(2)),
        };
    }
    let family = Family::ALL[(u(0) * 4.0) as usize % 4];
    let base = 0.2 + 0.35 * u(1);
    let amp = 0.1 + 0.5 * u(2);
    ArmLoss::new(family, base, amp)
}

/// Arms as link text: `hab:0.1:0.6,sat:0.3:0.5` (family code, base, amplitude).
pub fn arms_to_text(arms: &[ArmLoss]) -> String {
    arms.iter()
        .map(|a| {
            format!(
                "{}:{}:{}",
                a.family.code(),
                fmt_short(a.base),
                fmt_short(a.amp)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn fmt_short(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    match s {
        "" | "-" | "-0" => "0".to_owned(),
        _ => s.to_owned(),
    }
}

/// Parses [`arms_to_text`]'s format; `Err` names the first bad entry.
pub fn arms_from_text(text: &str) -> Result<Vec<ArmLoss>, String> {
    let arms: Vec<ArmLoss> = text
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|entry| {
            let parts: Vec<&str> = entry.trim().split(':').collect();
            let [family, base, amp] = parts.as_slice() else {
                return Err(format!(
                    "'{entry}': expected family:base:amp, e.g. sat:0.3:0.5"
                ));
            };
            let family = Family::from_code(family)
                .ok_or_else(|| format!("'{entry}': family must be con, sat, hab or mix"))?;
            let number = |t: &str| t.parse::<f64>().ok().filter(|x| x.is_finite());
            let (Some(base), Some(amp)) = (number(base), number(amp)) else {
                return Err(format!("'{entry}': base and amp must be numbers"));
            };
            if !(0.0..=1.0).contains(&base) || !(-1.0..=1.0).contains(&amp) {
                return Err(format!(
                    "'{entry}': base must be in [0, 1] and amp in [-1, 1]"
                ));
            }
            Ok(ArmLoss::new(family, base, amp))
        })
        .collect::<Result<_, _>>()?;
    if !(2..=MAX_ARMS).contains(&arms.len()) {
        return Err(format!("{} arms; 2 to {MAX_ARMS} are allowed", arms.len()));
    }
    Ok(arms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(preset: Preset, k: usize, m: usize) -> Instance {
        Instance {
            arms: preset.arms(k, 3),
            memory: m,
            weights: Weights::Geometric,
            decay: 0.8,
            noise: Noise::Bernoulli,
        }
    }

    #[test]
    fn integer_weights_sum_to_one_tally() {
        for m in [1, 3, 7, 64] {
            for weights in [Weights::Uniform, Weights::Geometric] {
                let inst = Instance {
                    memory: m,
                    weights,
                    ..instance(Preset::Habituation, 4, m)
                };
                let q = inst.weights_q();
                assert_eq!(q.len(), m);
                assert_eq!(q.iter().sum::<u32>(), TALLY_ONE);
            }
        }
        assert_eq!(tally_bin(TALLY_ONE), TALLY_BINS);
        assert_eq!(tally_bin(0), 0);
    }

    #[test]
    fn presets_have_the_reo_they_claim() {
        for k in 2..=MAX_ARMS {
            for preset in [Preset::Habituation, Preset::Satiation, Preset::Mixed] {
                let reo = instance(preset, k, 8).reo();
                assert!(reo.holds, "{preset:?} K={k}: {reo:?}");
                assert_eq!(reo.a_star, k - 1, "{preset:?} K={k}");
            }
            assert!(!instance(Preset::NoReo, k, 8).reo().holds, "no-reo K={k}");
        }
    }

    #[test]
    fn arms_text_round_trips_and_rejects_junk() {
        let arms = Preset::Mixed.arms(6, 9);
        let parsed = arms_from_text(&arms_to_text(&arms)).expect("round trip");
        for (a, b) in arms.iter().zip(&parsed) {
            assert_eq!(a.family, b.family);
            assert!((a.base - b.base).abs() < 1e-3 && (a.amp - b.amp).abs() < 1e-3);
        }
        let neg = arms_from_text("hab:0.1:-0.2,con:1:0").expect("negative amp, integer base");
        assert_eq!(neg[0].amp, -0.2);
        assert_eq!(neg[1].base, 1.0);
        for bad in [
            "",
            "sat:0.3:0.5",
            "xyz:0.1:0.1,con:0.5:0",
            "sat:0.3,con:0.5:0",
            "sat:2:0.1,con:0.1:0",
            "sat:NaN:0.1,con:0.1:0",
        ] {
            assert!(arms_from_text(bad).is_err(), "{bad} accepted");
        }
    }
}
