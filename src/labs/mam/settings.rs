//! Everything a user can set in the marginalization lab; the link is its serialisation. The
//! painted pattern is one character per site, row-major: `u` (+1), `d` (-1), `.` (unknown).

use serde::{Deserialize, Serialize};

use super::ising::{Ising, MAX_SIZE};
use super::partial::{Partial, Site};
use crate::share::{Choice, Correction, Described, Flag, Setting, Settings, Text};

/// Smallest lattice the page offers (the 3..16).
pub const MIN_PAGE_SIZE: u32 = 3;
/// |J| and |h| the sliders reach.
pub const MAX_COUPLING: f64 = 1.0;
pub const MAX_FIELD: f64 = 1.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Sample site by site in an order, and a gallery against Gibbs / exact samples.
    Sample,
    /// Energy-based training curves.
    Train,
    /// MaM vs autoregressive query time, and batch throughput.
    Speed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    Random,
    Raster,
    Checkerboard,
    CentreOut,
}

impl Order {
    pub const ALL: [Order; 4] = [
        Order::Random,
        Order::Raster,
        Order::Checkerboard,
        Order::CentreOut,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Order::Random => "random (seeded)",
            Order::Raster => "raster (row by row)",
            Order::Checkerboard => "checkerboard (even sites first)",
            Order::CentreOut => "centre outwards",
        }
    }

    /// The site order on an L x L lattice.
    pub fn sites(self, size: usize, seed: u64) -> Vec<usize> {
        let d = size * size;
        match self {
            Order::Random => super::nets::random_order(d, &mut crate::rng::SplitMix64::new(seed)),
            Order::Raster => (0..d).collect(),
            Order::Checkerboard => {
                let parity = |i: usize| (i / size + i % size) % 2;
                let mut o: Vec<usize> = (0..d).filter(|&i| parity(i) == 0).collect();
                o.extend((0..d).filter(|&i| parity(i) == 1));
                o
            }
            Order::CentreOut => {
                let c = (size as f64 - 1.0) / 2.0;
                let mut o: Vec<usize> = (0..d).collect();
                let dist = |i: usize| {
                    let (r, q) = ((i / size) as f64 - c, (i % size) as f64 - c);
                    r * r + q * q
                };
                o.sort_by(|&a, &b| dist(a).total_cmp(&dist(b)).then(a.cmp(&b)));
                o
            }
        }
    }
}

/// Which network draws each site in any-order sampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampler {
    /// p_phi(x_i | x_S): one conditional pass per site.
    Conditional,
    /// p_theta(x_S, x_i) / p_theta(x_S): one marginal pass of two rows per site.
    Marginals,
}

impl Sampler {
    pub const ALL: [Sampler; 2] = [Sampler::Conditional, Sampler::Marginals];

    pub fn label(self) -> &'static str {
        match self {
            Sampler::Conditional => "conditional net",
            Sampler::Marginals => "ratio of marginals",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MamSettings {
    pub view: View,
    /// Lattice side L.
    pub size: u32,
    pub coupling: f64,
    pub field: f64,
    /// The painted query, `u` / `d` / `.` per site (row-major).
    pub pattern: String,
    pub order: Order,
    pub sampler: Sampler,
    /// Seed of the sampling order (random) and of the samples.
    pub seed: u64,
    /// Seed of in-page training (network initialisation, chains).
    pub train_seed: u64,
    /// Whether the page trains its own networks (otherwise: the shipped ones where they exist).
    pub train: bool,
}

pub const VIEW: Choice<View> = Choice::new(
    "view",
    View::Sample,
    &[View::Sample, View::Train, View::Speed],
)
.help("Any-order sampling and the gallery, training curves, or MaM vs autoregressive timing.");
pub const SIZE: Setting<u32> = Setting::new("size", 8, MIN_PAGE_SIZE, MAX_SIZE as u32)
    .label("lattice side L")
    .help("L x L spins on a torus; exact answers for L <= 4 (2^16 states).");
pub const COUPLING: Setting<f64> = Setting::new("coupling", 0.1, -MAX_COUPLING, MAX_COUPLING)
    .label("coupling J")
    .help("log f(x) = x^T (J A) x + h * sum_i x_i, A the lattice's adjacency (the reference code's convention: each neighbour pair adds 2 J x_i x_j).");
pub const FIELD: Setting<f64> = Setting::new("field", 0.2, -MAX_FIELD, MAX_FIELD)
    .label("field h")
    .help("Positive h favours +1 spins.");
pub const PATTERN: Text = Text::new("pattern", "")
    .value_name("u/d/. per site")
    .help("The painted query, one character per site, row-major: u (+1), d (-1), . (unknown).");
pub const ORDER: Choice<Order> = Choice::new("order", Order::Random, &Order::ALL)
    .label("order")
    .help("The order in which any-order sampling fills the unknown sites.");
// The conditional network by default: it is the paper's sampler (the reference's `sample`), and
// on 8x8 and 10x10 the ratio of marginals is the less accurate one (docs/BENCHMARKS.md).
pub const SAMPLER: Choice<Sampler> = Choice::new("sampler", Sampler::Conditional, &Sampler::ALL)
    .label("sampler")
    .help("Draw each site from the conditional network (one pass; the paper's sampler), or from the ratio of two marginals p(x_S, x_i = ±1) (one pass of two rows).");
pub const SEED: Setting<u64> =
    Setting::new("seed", 1, 0, u64::MAX).help("Seeds the random order and the samples.");
pub const TRAIN_SEED: Setting<u64> = Setting::new("train_seed", 1, 0, u64::MAX)
    .label("training seed")
    .help("Seeds the networks' initialisation and the training chains.");
pub const TRAIN: Flag = Flag::new("train", false).help(
    "Whether the page trains its own networks (otherwise: the shipped ones where they exist).",
);

impl Default for MamSettings {
    fn default() -> Self {
        Self {
            view: VIEW.default,
            size: SIZE.default,
            coupling: COUPLING.default,
            field: FIELD.default,
            pattern: PATTERN.default_value(),
            order: ORDER.default,
            sampler: SAMPLER.default,
            seed: SEED.default,
            train_seed: TRAIN_SEED.default,
            train: TRAIN.default,
        }
    }
}

impl MamSettings {
    pub fn model(&self) -> Ising {
        // Validated settings always make a valid target; the fallback is the default one.
        Ising::new(self.size as usize, self.coupling, self.field).unwrap_or(Ising {
            size: SIZE.default as usize,
            coupling: COUPLING.default,
            field: FIELD.default,
        })
    }

    pub fn sites(&self) -> usize {
        (self.size * self.size) as usize
    }

    /// The painted pattern as a partial assignment (validated: every character is known).
    pub fn partial(&self) -> Partial {
        let mut p = Partial::unknown(self.sites());
        for (site, c) in p.sites.iter_mut().zip(self.pattern.chars()) {
            *site = match c {
                'u' => Site::Up,
                'd' => Site::Down,
                _ => Site::Unknown,
            };
        }
        p
    }

    pub fn set_partial(&mut self, p: &Partial) {
        self.pattern = pattern_of(p);
    }

    /// What defines the target (a change starts over).
    pub fn target_key(&self) -> (u32, u64, u64) {
        (self.size, self.coupling.to_bits(), self.field.to_bits())
    }
}

/// The link text of a partial assignment; all-unknown is the empty string.
pub fn pattern_of(p: &Partial) -> String {
    if p.sites.iter().all(|s| *s == Site::Unknown) {
        return String::new();
    }
    p.sites
        .iter()
        .map(|s| match s {
            Site::Up => 'u',
            Site::Down => 'd',
            Site::Unknown => '.',
        })
        .collect()
}

impl Settings for MamSettings {
    const DEFINITIONS: &'static [&'static dyn Described] = &[
        &VIEW,
        &SIZE,
        &COUPLING,
        &FIELD,
        &PATTERN,
        &ORDER,
        &SAMPLER,
        &SEED,
        &TRAIN_SEED,
        &TRAIN,
    ];

    fn validate(&mut self, c: &mut Vec<Correction>) {
        let sites = self.sites();
        if self
            .pattern
            .chars()
            .any(|ch| !matches!(ch, 'u' | 'd' | '.'))
        {
            c.push(Correction::new(
                "pattern",
                "only u (+1), d (-1) and . (unknown) are allowed; other characters read as unknown",
            ));
        }
        let count = self.pattern.chars().count();
        if !self.pattern.is_empty() && count != sites {
            c.push(Correction::new(
                "pattern",
                format!(
                    "{count} sites for a {0}x{0} lattice ({sites}); cut or padded with unknowns",
                    self.size
                ),
            ));
        }
        let partial = self.partial();
        self.pattern = pattern_of(&partial);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::{decode, definition_problems, encode, parse_fragment};

    #[test]
    fn definitions_match_the_struct() {
        assert_eq!(definition_problems::<MamSettings>(), Vec::<String>::new());
    }

    #[test]
    fn link_round_trip_and_repair() {
        let mut s = MamSettings {
            size: 4,
            coupling: -0.3,
            view: View::Speed,
            order: Order::CentreOut,
            ..MamSettings::default()
        };
        let mut p = Partial::unknown(16);
        p.sites[3] = Site::Up;
        p.sites[9] = Site::Down;
        s.set_partial(&p);
        let (back, corrections) = decode::<MamSettings>(&encode(&s));
        assert!(corrections.is_empty(), "{corrections:?}");
        assert_eq!(back, s);
        assert_eq!(back.partial(), p);
        let (fixed, corrections) = decode::<MamSettings>(&parse_fragment(
            "size=40&coupling=NaN&field=7&pattern=uuxd&order=zigzag&seed=-1",
        ));
        assert_eq!(fixed.size, 16);
        assert_eq!(fixed.coupling, 0.1);
        assert_eq!(fixed.field, 1.0);
        assert_eq!(fixed.pattern.len(), 256);
        assert_eq!(&fixed.pattern[..4], "uu.d");
        assert_eq!(fixed.order, Order::Random);
        assert!(corrections.len() >= 6, "{corrections:?}");
    }

    #[test]
    fn orders_are_permutations() {
        for order in Order::ALL {
            for size in [3, 4, 8] {
                let mut o = order.sites(size, 5);
                o.sort_unstable();
                assert_eq!(o, (0..size * size).collect::<Vec<_>>(), "{order:?}");
            }
        }
        assert_eq!(Order::CentreOut.sites(3, 0)[0], 4);
    }
}
