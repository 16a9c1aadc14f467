//! The hypergrid environment and its rewards (the field's standard benchmark, as in torchgfn).
//!
//! States are points x in {0..H-1}^D starting at the origin; actions increment one coordinate
//! (staying inside the grid) or stop. Action d < D increments coordinate d; action D stops.

use serde::{Deserialize, Serialize};

/// Largest dimension supported (the UI and link allow 2..=4).
pub const MAX_NDIM: usize = 4;
/// Grids up to this many states are enumerated exactly (true distribution, log Z, L1).
pub const MAX_ENUMERATED_STATES: usize = 1 << 20;

/// A state: coordinates in the first `ndim` slots.
pub type State = [u16; MAX_NDIM];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hypergrid {
    pub ndim: usize,
    pub height: usize,
}

impl Hypergrid {
    pub fn new(ndim: usize, height: usize) -> Self {
        Self {
            ndim: ndim.clamp(1, MAX_NDIM),
            height: height.max(2),
        }
    }

    /// H^D, saturating (64^4 fits easily).
    pub fn n_states(&self) -> usize {
        self.height.saturating_pow(self.ndim as u32)
    }

    pub fn n_actions(&self) -> usize {
        self.ndim + 1
    }

    pub fn stop_action(&self) -> usize {
        self.ndim
    }

    /// Length of the one-hot encoding fed to the policy: D blocks of H.
    pub fn encoding_len(&self) -> usize {
        self.ndim * self.height
    }

    /// The longest trajectory: D (H-1) increments and the stop.
    pub fn max_steps(&self) -> usize {
        self.ndim * (self.height - 1) + 1
    }

    pub fn is_enumerable(&self) -> bool {
        self.n_states() <= MAX_ENUMERATED_STATES
    }

    /// Row-major index of a state (first coordinate most significant).
    pub fn index(&self, x: &State) -> usize {
        x[..self.ndim]
            .iter()
            .fold(0usize, |acc, &c| acc * self.height + usize::from(c))
    }

    pub fn state(&self, mut index: usize) -> State {
        let mut x = [0u16; MAX_NDIM];
        for d in (0..self.ndim).rev() {
            x[d] = (index % self.height) as u16;
            index /= self.height;
        }
        x
    }

    /// Writes the one-hot encoding of `x` into `out` (length `encoding_len`).
    pub fn encode_into(&self, x: &State, out: &mut [f32]) {
        out.fill(0.0);
        for d in 0..self.ndim {
            out[d * self.height + usize::from(x[d])] = 1.0;
        }
    }

    /// Whether `action` is allowed in `x` (stop always is).
    pub fn is_valid(&self, x: &State, action: usize) -> bool {
        action == self.ndim || (action < self.ndim && usize::from(x[action]) + 1 < self.height)
    }

    /// Parents of a non-initial state under increments: the coordinates above zero.
    pub fn n_parents(&self, x: &State) -> usize {
        x[..self.ndim].iter().filter(|&&c| c > 0).count()
    }
}

/// The reward a user chooses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RewardSpec {
    /// R(x) = R0 + R1 prod_d 1[a_d > 0.25] + R2 prod_d 1[0.3 < a_d < 0.4], a_d = |x_d/(H-1) - 0.5|.
    Standard { r0: f64, r1: f64, r2: f64 },
    /// R0 everywhere plus square plateaus of height `height` (half-width `radius` cells) at
    /// painted cells (2D). Overlapping bumps add.
    Painted {
        r0: f64,
        height: f64,
        radius: usize,
        bumps: Vec<(u16, u16)>,
    },
}

impl RewardSpec {
    pub fn reward(&self, grid: &Hypergrid, x: &State) -> f64 {
        match self {
            Self::Standard { r0, r1, r2 } => {
                let span = (grid.height - 1) as f64;
                let (mut outer, mut band) = (true, true);
                for &c in &x[..grid.ndim] {
                    // f64 as in the reference; at H = 16, x = 3 gives a = 0.3 exactly: not > 0.3.
                    let a = (f64::from(c) / span - 0.5).abs();
                    outer &= a > 0.25;
                    band &= a > 0.3 && a < 0.4;
                }
                r0 + if outer { *r1 } else { 0.0 } + if band { *r2 } else { 0.0 }
            }
            Self::Painted {
                r0,
                height,
                radius,
                bumps,
            } => {
                let covered = bumps
                    .iter()
                    .filter(|&&(bx, by)| {
                        let dx = usize::from(x[0].abs_diff(bx));
                        let dy = if grid.ndim > 1 {
                            usize::from(x[1].abs_diff(by))
                        } else {
                            0
                        };
                        dx.max(dy) <= *radius
                    })
                    .count();
                r0 + height * covered as f64
            }
        }
    }
}

/// The exact target of a grid small enough to enumerate.
#[derive(Clone, Debug)]
pub struct Target {
    pub grid: Hypergrid,
    pub log_rewards: Vec<f64>,
    /// p(x) = R(x) / Z.
    pub probabilities: Vec<f64>,
    pub log_z: f64,
    /// Mode id per state (`None` outside modes): connected regions of maximal reward.
    pub mode_of_state: Vec<Option<u32>>,
    pub mode_count: usize,
}

impl Target {
    /// `None` when the grid is too large to enumerate (see [`MAX_ENUMERATED_STATES`]).
    pub fn enumerate(grid: Hypergrid, reward: &RewardSpec) -> Option<Self> {
        if !grid.is_enumerable() {
            return None;
        }
        let n = grid.n_states();
        let rewards: Vec<f64> = (0..n)
            .map(|i| reward.reward(&grid, &grid.state(i)))
            .collect();
        let z: f64 = rewards.iter().sum();
        let max = rewards.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (mode_of_state, mode_count) = label_modes(&grid, &rewards, max);
        Some(Self {
            grid,
            log_rewards: rewards.iter().map(|r| r.ln()).collect(),
            probabilities: rewards.iter().map(|r| r / z).collect(),
            log_z: z.ln(),
            mode_of_state,
            mode_count,
        })
    }
}

/// Connected components (axis neighbours) of the states whose reward is (within 1e-12
/// relative) the maximum: the 2^D corner regions for the standard reward, the bumps for a
/// painted one.
fn label_modes(grid: &Hypergrid, rewards: &[f64], max: f64) -> (Vec<Option<u32>>, usize) {
    let is_top = |r: f64| max > 0.0 && r >= max * (1.0 - 1e-12);
    let mut label: Vec<Option<u32>> = vec![None; rewards.len()];
    let mut count = 0u32;
    let mut stack = Vec::new();
    for start in 0..rewards.len() {
        if label[start].is_some() || !is_top(rewards[start]) {
            continue;
        }
        label[start] = Some(count);
        stack.push(start);
        while let Some(i) = stack.pop() {
            let x = grid.state(i);
            for d in 0..grid.ndim {
                for delta in [-1i32, 1] {
                    let c = i32::from(x[d]) + delta;
                    if c < 0 || c >= grid.height as i32 {
                        continue;
                    }
                    let mut y = x;
                    y[d] = c as u16;
                    let j = grid.index(&y);
                    if label[j].is_none() && is_top(rewards[j]) {
                        label[j] = Some(count);
                        stack.push(j);
                    }
                }
            }
        }
        count += 1;
    }
    (label, count as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard() -> RewardSpec {
        RewardSpec::Standard {
            r0: 0.1,
            r1: 0.5,
            r2: 2.0,
        }
    }

    #[test]
    fn index_and_state_round_trip() {
        let grid = Hypergrid::new(3, 5);
        for i in 0..grid.n_states() {
            assert_eq!(grid.index(&grid.state(i)), i);
        }
    }

    #[test]
    fn standard_reward_has_the_known_modes() {
        // H = 8: coordinates 1 and 6 are in the band, so 2^D single-cell modes.
        let grid = Hypergrid::new(2, 8);
        let target = Target::enumerate(grid, &standard()).expect("small");
        assert_eq!(target.mode_count, 4);
        let top = grid.index(&[1, 6, 0, 0]);
        assert!(target.mode_of_state[top].is_some());
        assert!((standard().reward(&grid, &[1, 6, 0, 0]) - 2.6).abs() < 1e-12);
        assert!((standard().reward(&grid, &[0, 0, 0, 0]) - 0.6).abs() < 1e-12);
        assert!((standard().reward(&grid, &[3, 3, 0, 0]) - 0.1).abs() < 1e-12);
        // Z by hand: 4 cells of 2.6, the rest of the outer ring (a > 0.25: x in {0,1,6,7})
        // 16 - 4 = 12 cells of 0.6, and 64 - 16 = 48 cells of 0.1.
        let z = 4.0 * 2.6 + 12.0 * 0.6 + 48.0 * 0.1;
        assert!((target.log_z - f64::ln(z)).abs() < 1e-12);
        let total: f64 = target.probabilities.iter().sum();
        assert!((total - 1.0).abs() < 1e-12);
    }

    #[test]
    fn mode_regions_grow_with_height() {
        for (ndim, height) in [(2, 16), (2, 64), (4, 8)] {
            let target =
                Target::enumerate(Hypergrid::new(ndim, height), &standard()).expect("small");
            assert_eq!(target.mode_count, 1 << ndim, "D={ndim} H={height}");
        }
    }

    #[test]
    fn painted_bumps_are_modes() {
        let grid = Hypergrid::new(2, 16);
        let reward = RewardSpec::Painted {
            r0: 0.01,
            height: 1.0,
            radius: 1,
            bumps: vec![(3, 3), (12, 4), (8, 12)],
        };
        let target = Target::enumerate(grid, &reward).expect("small");
        assert_eq!(target.mode_count, 3);
    }

    #[test]
    fn actions_and_parents() {
        let grid = Hypergrid::new(2, 4);
        assert!(grid.is_valid(&[3, 0, 0, 0], 1) && !grid.is_valid(&[3, 0, 0, 0], 0));
        assert!(grid.is_valid(&[3, 3, 0, 0], grid.stop_action()));
        assert_eq!(grid.n_parents(&[0, 2, 0, 0]), 1);
        assert_eq!(grid.max_steps(), 7);
        let mut code = vec![0.0; grid.encoding_len()];
        grid.encode_into(&[1, 3, 0, 0], &mut code);
        assert_eq!(code, vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    }
}
