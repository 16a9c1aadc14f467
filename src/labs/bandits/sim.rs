//! The simulation, in fixed point: the Rust reference of `shaders/bandit_run.wgsl` (same state,
//! same operations, same integer arithmetic, same counter-based draws), so a run on the GPU and
//! here plays the same actions for the same seed. Integers everywhere because the GPU's f32
//! division, sqrt, log and exp are not correctly rounded (and may be fused differently): every
//! real-valued constant (confidence widths, exp weights, the Gaussian quantiles) is precomputed
//! here into a table once, and the per-step decisions compare integers.

use super::instance::{Instance, LOSS_ONE, MAX_ARMS, MAX_MEMORY, Noise, TABLE_LEN, tally_bin};
use crate::rng::hash3;

/// Observed losses are clamped to +-OBS_LIMIT (4.0): sums over 10^5 samples fit in i32.
pub const OBS_LIMIT: i32 = 4 * LOSS_ONE;
pub const NOISE_BINS: usize = 4096;
pub const EXP_BINS: usize = 8192;
pub const MAX_HORIZON: u32 = 100_000;
pub const MAX_WINDOW: u32 = 1024;
/// Seed offset of the EXP3 sampling stream (the loss noise uses the plain seed).
pub const EXP3_STREAM: u32 = 0x5bd1_e995;
/// Seed offset of the mini-batched EXP3 stream (its draws differ from EXP3's on the same run).
pub const BATCHED_EXP3_STREAM: u32 = 0x27d4_eb2f;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algo {
    /// The paper's successive elimination: blocks, first M losses of each discarded.
    WtbSe,
    /// Plain successive elimination: round robin, every loss kept.
    Se,
    Ucb1,
    Exp3,
    /// Sliding-window UCB: statistics of the last `window` rounds only.
    SwUcb,
    /// Mini-batched EXP3 (Arora, Dekel, Tewari, ICML 2012): the generic policy-regret method
    /// against an m-memory adaptive adversary, which a tallying bandit is. Plays each drawn arm
    /// for a batch of tau rounds and feeds EXP3 the batch's mean loss; knows M like the paper's
    /// algorithm, and pays O(T^(2/3)) where the paper pays O(sqrt T).
    BatchedExp3,
    /// Repeats a* (the comparator: its complete policy regret is 0 by definition).
    Oracle,
}

impl Algo {
    pub const ALL: [Algo; 7] = [
        Algo::WtbSe,
        Algo::Se,
        Algo::Ucb1,
        Algo::Exp3,
        Algo::SwUcb,
        Algo::BatchedExp3,
        Algo::Oracle,
    ];

    /// Every algorithm that learns (all but the oracle comparator): the sweeps' series.
    pub const LEARNERS: [Algo; 6] = [
        Algo::WtbSe,
        Algo::Se,
        Algo::Ucb1,
        Algo::Exp3,
        Algo::SwUcb,
        Algo::BatchedExp3,
    ];

    /// The id the kernel switches on (`ALGO_*` in the shader).
    pub fn code(self) -> u32 {
        self as u32
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::WtbSe => "wtb-se",
            Self::Se => "se",
            Self::Ucb1 => "ucb1",
            Self::Exp3 => "exp3",
            Self::SwUcb => "sw-ucb",
            Self::BatchedExp3 => "batched-exp3",
            Self::Oracle => "oracle",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::WtbSe => "WTB successive elimination (paper)",
            Self::Se => "successive elimination",
            Self::Ucb1 => "UCB1",
            Self::Exp3 => "EXP3",
            Self::SwUcb => "sliding-window UCB",
            Self::BatchedExp3 => "mini-batched EXP3 (policy regret)",
            Self::Oracle => "oracle: repeat a*",
        }
    }
}

/// Everything a run needs besides its state: sizes, seeds and the precomputed tables.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub arms: u32,
    pub memory: u32,
    /// M: the learner's upper bound on the memory (losses discarded per block).
    pub bound: u32,
    pub horizon: u32,
    pub seed: u32,
    pub a_star: u32,
    pub window: u32,
    pub gaussian: bool,
    pub gamma16: u32,
    pub eta16: u32,
    /// Mini-batched EXP3: rounds per batch (tau) and EXP3's rates tuned for T / tau batches.
    pub batch_len: u32,
    pub batch_gamma16: u32,
    pub batch_eta16: u32,
    pub loss_q: Vec<i32>,
    pub weights_q: Vec<u32>,
    pub noise_q: Vec<i32>,
    /// Elimination thresholds by sample count n: 2 n c_n in loss units.
    pub thr_q: Vec<u32>,
    /// sqrt(2 ln t) by round t, scaled by LOSS_ONE.
    pub lnt_q: Vec<u32>,
    /// scale / sqrt(n) by sample count n, scaled by LOSS_ONE.
    pub inv_q: Vec<u32>,
    pub exp_q: Vec<u32>,
    /// Rounds after which the cumulative loss is recorded (increasing, last = horizon).
    pub checkpoints: Vec<u32>,
}

/// The learner-side knobs of a Monte Carlo job.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Knobs {
    pub bound: u32,
    pub horizon: u32,
    pub window: u32,
    pub seed: u32,
    pub checkpoints: usize,
}

impl SimConfig {
    pub fn new(instance: &Instance, knobs: Knobs) -> Self {
        let k = instance.arm_count().clamp(2, MAX_ARMS);
        let horizon = knobs.horizon.clamp(1, MAX_HORIZON);
        let t = f64::from(horizon);
        let scale = instance.noise.width_scale();
        let one = f64::from(LOSS_ONE);
        // Successive elimination: c_n = scale * sqrt(2 ln(2 K T / delta) / n) with delta = 1/T,
        // eliminate when mean_a - c_n > min_b mean_b + c_n, i.e. S_a - S_min > 2 n c_n.
        let log_term = (2.0 * k as f64 * t * t).ln();
        let thr_q = (0..=horizon)
            .map(|n| (one * 2.0 * scale * (2.0 * log_term * f64::from(n)).sqrt()).round() as u32)
            .collect();
        let lnt_q = (0..=horizon)
            .map(|r| {
                let r = f64::from(r.max(1));
                (one * (2.0 * r.ln()).sqrt()).round() as u32
            })
            .collect();
        let inv_q = (0..=horizon)
            .map(|n| (one * scale / f64::from(n.max(1)).sqrt()).round() as u32)
            .collect();
        let exp_q = (0..EXP_BINS)
            .map(|i| (65_536.0 * (-(i as f64) / 256.0).exp()).round() as u32)
            .collect();
        let noise_q = match instance.noise {
            Noise::Bernoulli => vec![0; NOISE_BINS],
            Noise::Gaussian { sigma } => (0..NOISE_BINS)
                .map(|i| {
                    let z = normal_quantile((i as f64 + 0.5) / NOISE_BINS as f64);
                    (sigma * z * one).round() as i32
                })
                .collect(),
        };
        // EXP3 (Auer et al. 2002) with the horizon-tuned exploration rate, eta = gamma / K.
        let kf = k as f64;
        let exp3_gamma = |rounds: f64| {
            (kf * kf.ln() / ((std::f64::consts::E - 1.0) * rounds))
                .sqrt()
                .min(1.0)
        };
        let gamma = exp3_gamma(t);
        let bound = knobs.bound.max(1);
        let batch_len = batch_rounds(k as u32, bound, horizon);
        let batch_gamma = exp3_gamma(f64::from(horizon.div_ceil(batch_len)));
        let checkpoints = checkpoint_rounds(horizon, knobs.checkpoints);
        Self {
            arms: k as u32,
            memory: instance.memory.clamp(1, MAX_MEMORY) as u32,
            bound,
            horizon,
            seed: knobs.seed,
            a_star: instance.reo().a_star as u32,
            window: knobs.window.clamp(1, MAX_WINDOW),
            gaussian: matches!(instance.noise, Noise::Gaussian { .. }),
            gamma16: (gamma * 65_536.0).round() as u32,
            eta16: (gamma / kf * 65_536.0).round() as u32,
            batch_len,
            batch_gamma16: (batch_gamma * 65_536.0).round() as u32,
            batch_eta16: (batch_gamma / kf * 65_536.0).round() as u32,
            loss_q: instance.loss_table_q(),
            weights_q: instance.weights_q(),
            noise_q,
            thr_q,
            lnt_q,
            inv_q,
            exp_q,
            checkpoints,
        }
    }

    /// Mean loss (loss units) of `arm` at integer tally `tally_q`.
    pub fn mean_q(&self, arm: u32, tally_q: u32) -> i32 {
        self.loss_q[arm as usize * TABLE_LEN + tally_bin(tally_q)]
    }
}

/// Mini-batched EXP3's batch length tau. Arora, Dekel and Tewari (2012, Theorem 2): against an
/// adaptive adversary with memory m, a bandit algorithm with regret R(n) played in batches of tau
/// rounds has policy regret at most tau R(T / tau) + T m / tau. With EXP3's
/// R(n) = 2 sqrt((e - 1) n K ln K) the sum is smallest at
/// tau = (m^2 T / ((e - 1) K ln K))^(1/3); the learner knows M, not m, so M stands for m (as it
/// does for the paper's algorithm). At least M + 1 rounds, so that every batch ends on a
/// saturated tally, and at most T.
pub fn batch_rounds(arms: u32, bound: u32, horizon: u32) -> u32 {
    let k = f64::from(arms.max(2));
    let m = f64::from(bound.max(1));
    let tau = (m * m * f64::from(horizon) / ((std::f64::consts::E - 1.0) * k * k.ln())).cbrt();
    // max then min, not clamp: M + 1 may exceed a short horizon.
    (tau.round() as u32)
        .max(bound.saturating_add(1))
        .min(horizon.max(1))
}

/// `count` rounds spread evenly over 1..=horizon, strictly increasing, last = horizon.
pub fn checkpoint_rounds(horizon: u32, count: usize) -> Vec<u32> {
    let count = count.clamp(1, horizon as usize);
    let mut out: Vec<u32> = (1..=count)
        .map(|c| ((u64::from(horizon) * c as u64).div_ceil(count as u64)) as u32)
        .collect();
    out.dedup();
    out
}

/// Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9),
/// used once to build the noise table.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// One run's state: exactly the kernel's state words (see the shader's layout comment).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunState {
    pub t: u32,
    pub loss_cum: u32,
    /// Next write position of the action history ring (capacity m).
    pub head: u32,
    pub next_checkpoint: u32,
    /// Successive elimination: bit a set while arm a is active.
    pub active: u32,
    pub phase: u32,
    /// The arm of the current block (successive elimination).
    pub arm: u32,
    /// Rounds played in the current block.
    pub pos: u32,
    /// Sliding window: entries in the ring and its next write position.
    pub ring_len: u32,
    pub ring_head: u32,
    /// Last m actions, 4 bits each (8 per word).
    pub hist: [u32; 8],
    /// Samples per arm (all rounds for UCB1, kept rounds for SE, in-window for SW-UCB).
    pub n: [u32; MAX_ARMS],
    /// Sum of the observed losses behind `n`, in loss units.
    pub s: [i32; MAX_ARMS],
    /// EXP3: eta times the cumulative estimated loss, in 2^-16 units, minimum 0.
    pub g: [u32; MAX_ARMS],
    /// Mini-batched EXP3: the batch arm's probability when drawn (2^-16 units) and the sum of
    /// the batch's observed losses (loss units).
    pub batch_p: u32,
    pub batch_sum: i32,
}

/// What one round did (for the single-run view and the tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Round {
    pub arm: u32,
    pub tally_q: u32,
    pub mean_q: i32,
    pub observed_q: i32,
}

impl RunState {
    pub fn new(cfg: &SimConfig) -> Self {
        Self {
            active: (1u32 << cfg.arms) - 1,
            ..Self::default()
        }
    }

    fn history_at(&self, index: u32) -> u32 {
        (self.hist[(index >> 3) as usize] >> ((index & 7) * 4)) & 15
    }

    fn push_history(&mut self, arm: u32, memory: u32) {
        let word = (self.head >> 3) as usize;
        let shift = (self.head & 7) * 4;
        self.hist[word] = (self.hist[word] & !(15u32 << shift)) | (arm << shift);
        self.head = if self.head + 1 == memory {
            0
        } else {
            self.head + 1
        };
    }

    /// Tally of `arm` before this round: sum of w_{j-1} over the last min(m, t) rounds j it was
    /// played in.
    pub fn tally_q(&self, cfg: &SimConfig, arm: u32) -> u32 {
        let m = cfg.memory;
        let mut tally = 0;
        let mut index = self.head;
        for j in 0..m.min(self.t) {
            index = if index == 0 { m - 1 } else { index - 1 };
            if self.history_at(index) == arm {
                tally += cfg.weights_q[j as usize];
            }
        }
        tally
    }

    /// Plays one round of `algo` for run `run` (its noise stream); `ring` is this run's
    /// sliding-window ring (`window` words, used by SW-UCB only). The caller stops at the horizon.
    pub fn step(&mut self, cfg: &SimConfig, algo: Algo, run: u32, ring: &mut [u32]) -> Round {
        let mut exp3_p = 1;
        let arm = match algo {
            Algo::WtbSe | Algo::Se => self.arm,
            Algo::Ucb1 => self.ucb_choice(cfg, self.t),
            Algo::SwUcb => self.ucb_choice(cfg, self.t.min(cfg.window)),
            Algo::Exp3 => {
                let (arm, p) = self.exp3_choice(cfg, cfg.gamma16, cfg.seed ^ EXP3_STREAM, run);
                exp3_p = p;
                arm
            }
            Algo::BatchedExp3 => {
                if self.pos == 0 {
                    let stream = cfg.seed ^ BATCHED_EXP3_STREAM;
                    let (arm, p) = self.exp3_choice(cfg, cfg.batch_gamma16, stream, run);
                    self.arm = arm;
                    self.batch_p = p;
                }
                self.arm
            }
            Algo::Oracle => cfg.a_star,
        };
        let tally_q = self.tally_q(cfg, arm);
        let mean_q = cfg.mean_q(arm, tally_q);
        let h = hash3(cfg.seed, run, self.t);
        let observed_q = if cfg.gaussian {
            (mean_q + cfg.noise_q[(h >> 20) as usize]).clamp(-OBS_LIMIT, OBS_LIMIT)
        } else if (h >> 8) < ((mean_q as u32) << 12) {
            LOSS_ONE
        } else {
            0
        };
        match algo {
            Algo::WtbSe => self.block_update(cfg, arm, observed_q, cfg.bound, true),
            Algo::Se => self.block_update(cfg, arm, observed_q, 0, false),
            Algo::Ucb1 => {
                self.n[arm as usize] += 1;
                self.s[arm as usize] += observed_q;
            }
            Algo::SwUcb => self.window_update(cfg, arm, observed_q, ring),
            Algo::Exp3 => {
                let loss = observed_q.clamp(0, LOSS_ONE) as u32;
                self.exp3_update(cfg, cfg.eta16, arm, loss, exp3_p);
            }
            Algo::BatchedExp3 => self.batch_update(cfg, arm, observed_q),
            Algo::Oracle => self.n[arm as usize] += 1,
        }
        self.push_history(arm, cfg.memory);
        self.loss_cum += mean_q as u32;
        self.t += 1;
        Round {
            arm,
            tally_q,
            mean_q,
            observed_q,
        }
    }

    /// Successive elimination in blocks: `discard` rounds at the start of each block are not
    /// recorded; a block keeps `bound * 2^phase` samples (doubling) or 1 (plain SE). After every
    /// active arm had its block, arms whose sum exceeds the best by the threshold go.
    fn block_update(
        &mut self,
        cfg: &SimConfig,
        arm: u32,
        observed_q: i32,
        discard: u32,
        doubling: bool,
    ) {
        let a = arm as usize;
        if self.pos >= discard {
            self.n[a] += 1;
            self.s[a] += observed_q;
        }
        self.pos += 1;
        let kept = if doubling {
            cfg.bound << self.phase.min(20)
        } else {
            1
        };
        if self.pos < discard + kept {
            return;
        }
        self.pos = 0;
        // Next active arm after this one, else the phase is over.
        let later = self.active & !((2u32 << arm) - 1);
        if later != 0 {
            self.arm = later.trailing_zeros();
            return;
        }
        if self.active.count_ones() > 1 {
            let first = self.active.trailing_zeros() as usize;
            let threshold = cfg.thr_q[self.n[first] as usize] as i32;
            let mut best = i32::MAX;
            for b in 0..cfg.arms as usize {
                if self.active & (1 << b) != 0 {
                    best = best.min(self.s[b]);
                }
            }
            for b in 0..cfg.arms as usize {
                if self.active & (1 << b) != 0 && self.s[b] - best > threshold {
                    self.active &= !(1u32 << b);
                }
            }
        }
        self.phase += 1;
        self.arm = self.active.trailing_zeros();
    }

    /// Lowest index with no samples, else argmin of mean - bonus(ln_round, n) (lowest on ties).
    fn ucb_choice(&self, cfg: &SimConfig, ln_round: u32) -> u32 {
        let mut best_arm = 0;
        let mut best = i32::MAX;
        for a in 0..cfg.arms {
            let n = self.n[a as usize];
            if n == 0 {
                return a;
            }
            let bonus = (cfg.lnt_q[ln_round as usize] * cfg.inv_q[n as usize]) >> 12;
            let index = self.s[a as usize] / n as i32 - bonus as i32;
            if index < best {
                best = index;
                best_arm = a;
            }
        }
        best_arm
    }

    fn window_update(&mut self, cfg: &SimConfig, arm: u32, observed_q: i32, ring: &mut [u32]) {
        let slot = self.ring_head as usize;
        if self.ring_len == cfg.window {
            let old = ring[slot];
            let old_arm = (old & 15) as usize;
            self.n[old_arm] -= 1;
            self.s[old_arm] -= (old >> 4) as i32 - OBS_LIMIT;
        } else {
            self.ring_len += 1;
        }
        ring[slot] = arm | (((observed_q + OBS_LIMIT) as u32) << 4);
        self.ring_head = if self.ring_head + 1 == cfg.window {
            0
        } else {
            self.ring_head + 1
        };
        self.n[arm as usize] += 1;
        self.s[arm as usize] += observed_q;
    }

    /// EXP3's draw with exploration rate `gamma16`: probabilities (2^-16 units) from the exp
    /// table, then inverse CDF on draw `stream`.
    fn exp3_choice(&self, cfg: &SimConfig, gamma16: u32, stream: u32, run: u32) -> (u32, u32) {
        let k = cfg.arms as usize;
        let mut w = [0u32; MAX_ARMS];
        let mut total_w = 0;
        for a in 0..k {
            let bin = (self.g[a] >> 8).min(EXP_BINS as u32 - 1);
            w[a] = cfg.exp_q[bin as usize] >> 4;
            total_w += w[a];
        }
        let mut p = [0u32; MAX_ARMS];
        let mut total_p = 0;
        for a in 0..k {
            p[a] = (65_536 - gamma16) * w[a] / total_w + gamma16 / cfg.arms;
            total_p += p[a];
        }
        let u = ((hash3(stream, run, self.t) >> 16) * total_p) >> 16;
        let mut cumulative = 0;
        for a in 0..k {
            cumulative += p[a];
            if u < cumulative {
                return (a as u32, p[a]);
            }
        }
        (k as u32 - 1, p[k - 1])
    }

    /// Importance-weighted estimate of the played arm's `loss` (loss units, in [0, 1]: Gaussian
    /// observations are clipped), scaled by `eta16`; `p` is the arm's probability, 2^-16 units.
    fn exp3_update(&mut self, cfg: &SimConfig, eta16: u32, arm: u32, loss: u32, p: u32) {
        let a = arm as usize;
        self.n[a] += 1;
        self.g[a] = (self.g[a] + eta16 * loss * 16 / p.max(1)).min(1 << 24);
        let low = self.g[..cfg.arms as usize]
            .iter()
            .copied()
            .min()
            .unwrap_or(0);
        self.g[..cfg.arms as usize]
            .iter_mut()
            .for_each(|g| *g -= low);
    }
}

impl RunState {
    /// Mini-batched EXP3: sums the batch's observations; after tau rounds EXP3 learns the
    /// batch's mean loss (clipped to [0, 1]) for the batch's arm, and the next round draws anew.
    fn batch_update(&mut self, cfg: &SimConfig, arm: u32, observed_q: i32) {
        self.batch_sum += observed_q;
        self.pos += 1;
        if self.pos < cfg.batch_len {
            self.n[arm as usize] += 1;
            return;
        }
        let mean = (self.batch_sum / cfg.batch_len as i32).clamp(0, LOSS_ONE) as u32;
        self.exp3_update(cfg, cfg.batch_eta16, arm, mean, self.batch_p);
        self.pos = 0;
        self.batch_sum = 0;
    }
}

/// Cumulative expected loss at each checkpoint for one run (the same numbers the kernel writes).
pub fn simulate_run(cfg: &SimConfig, algo: Algo, run: u32) -> Vec<u32> {
    let mut ring = vec![0u32; cfg.window as usize];
    let mut state = RunState::new(cfg);
    let mut out = Vec::with_capacity(cfg.checkpoints.len());
    for &checkpoint in &cfg.checkpoints {
        while state.t < checkpoint {
            state.step(cfg, algo, run, &mut ring);
        }
        out.push(state.loss_cum);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::Compute;
    use crate::labs::bandits::instance::{Preset, Weights};
    use crate::labs::bandits::mc::{JobSpec, McJob, McResult};

    fn default_instance() -> Instance {
        let s = crate::labs::bandits::settings::BanditSettings::default();
        s.instance()
    }

    fn knobs(bound: u32, horizon: u32) -> Knobs {
        Knobs {
            bound,
            horizon,
            window: 200,
            seed: 1,
            checkpoints: 8,
        }
    }

    fn cpu_result(instance: Instance, knobs: Knobs, algos: &[Algo], runs: usize) -> McResult {
        let compute = Compute::CpuFallback {
            reason: "test".into(),
        };
        let spec = JobSpec {
            instance,
            knobs,
            algos: algos.to_vec(),
            runs,
        };
        McJob::new(spec, &compute, None)
            .run_to_end(&compute, None)
            .expect("cpu job")
    }

    #[test]
    fn paper_algorithm_leads_on_the_default_instance() {
        let result = cpu_result(default_instance(), knobs(32, 20_000), &Algo::ALL, 32);
        let (paper, paper_ci) = result.final_cpr(Algo::WtbSe).expect("wtb-se");
        for algo in [
            Algo::Se,
            Algo::Ucb1,
            Algo::Exp3,
            Algo::SwUcb,
            Algo::BatchedExp3,
        ] {
            let (other, other_ci) = result.final_cpr(algo).expect("baseline");
            assert!(
                paper + paper_ci < other - other_ci,
                "{algo:?}: {other} +- {other_ci} vs paper {paper} +- {paper_ci}"
            );
        }
    }

    #[test]
    fn a_memory_bound_below_m_costs_regret() {
        let m = default_instance().memory as u32;
        let cpr = |bound| {
            cpu_result(default_instance(), knobs(bound, 20_000), &[Algo::WtbSe], 32)
                .final_cpr(Algo::WtbSe)
                .expect("wtb-se")
        };
        let (low, low_ci) = cpr(1);
        let (right, right_ci) = cpr(m);
        assert!(
            low - low_ci > right + right_ci,
            "M=1: {low} +- {low_ci}, M=m: {right} +- {right_ci}"
        );
    }

    #[test]
    fn ucb_tries_every_arm_first_and_window_statistics_stay_exact() {
        let instance = Instance {
            arms: Preset::Mixed.arms(7, 2),
            memory: 5,
            weights: Weights::Geometric,
            decay: 0.6,
            noise: Noise::Gaussian { sigma: 0.4 },
        };
        let cfg = SimConfig::new(
            &instance,
            Knobs {
                window: 37,
                ..knobs(5, 3000)
            },
        );
        let mut state = RunState::new(&cfg);
        let mut ring = vec![0; cfg.window as usize];
        let rounds: Vec<Round> = (0..7)
            .map(|_| state.step(&cfg, Algo::Ucb1, 4, &mut ring))
            .collect();
        assert_eq!(
            rounds.iter().map(|r| r.arm).collect::<Vec<_>>(),
            (0..7).collect::<Vec<_>>()
        );

        let mut state = RunState::new(&cfg);
        let mut played = Vec::new();
        for _ in 0..2000 {
            played.push(state.step(&cfg, Algo::SwUcb, 4, &mut ring));
            let window = &played[played.len().saturating_sub(37)..];
            for a in 0..7u32 {
                let mine = window.iter().filter(|r| r.arm == a);
                assert_eq!(state.n[a as usize], mine.clone().count() as u32);
                assert_eq!(state.s[a as usize], mine.map(|r| r.observed_q).sum::<i32>());
            }
        }
    }

    #[test]
    fn tally_matches_its_definition() {
        let instance = Instance {
            weights: Weights::Geometric,
            decay: 0.7,
            ..default_instance()
        };
        let cfg = SimConfig::new(&instance, knobs(4, 500));
        let mut state = RunState::new(&cfg);
        let mut ring = vec![0; cfg.window as usize];
        let mut played: Vec<u32> = Vec::new();
        for _ in 0..500 {
            let round = state.step(&cfg, Algo::Exp3, 0, &mut ring);
            let expected: u32 = played
                .iter()
                .rev()
                .take(cfg.memory as usize)
                .enumerate()
                .filter(|(_, a)| **a == round.arm)
                .map(|(j, _)| cfg.weights_q[j])
                .sum();
            assert_eq!(round.tally_q, expected);
            assert_eq!(round.mean_q, cfg.mean_q(round.arm, expected));
            played.push(round.arm);
        }
        // EXP3 explores: every arm is played.
        assert!((0..cfg.arms).all(|a| played.contains(&a)));
    }

    #[test]
    fn batch_length_minimises_the_mini_batching_bound() {
        // tau R(T / tau) + T M / tau with R(n) = 2 sqrt((e - 1) n K ln K), minimised over
        // integers by scanning: the closed form must land within a round of the scan's argmin.
        for (k, bound, horizon) in [(5u32, 32u32, 20_000u32), (2, 4, 100_000), (16, 64, 5_000)] {
            let kf = f64::from(k);
            let c = (std::f64::consts::E - 1.0) * kf * kf.ln();
            let cost = |tau: f64| {
                let t = f64::from(horizon);
                tau * 2.0 * (c * t / tau).sqrt() + t * f64::from(bound) / tau
            };
            let scan = (1..=horizon)
                .min_by(|&a, &b| cost(f64::from(a)).total_cmp(&cost(f64::from(b))))
                .expect("non-empty");
            let tau = batch_rounds(k, bound, horizon);
            assert!(tau > bound, "{k} {bound} {horizon}: tau {tau} <= M");
            if scan > bound {
                assert!(
                    tau.abs_diff(scan) <= 1,
                    "{k} {bound} {horizon}: {tau} vs {scan}"
                );
            }
        }
        // Never longer than the horizon, never shorter than M + 1.
        assert_eq!(batch_rounds(3, 10, 5), 5);
        assert_eq!(batch_rounds(16, 60, 100), 61);
    }

    #[test]
    fn batched_exp3_holds_each_draw_for_a_batch_and_learns_its_mean() {
        let instance = Instance {
            noise: Noise::Gaussian { sigma: 0.3 },
            ..default_instance()
        };
        let cfg = SimConfig::new(&instance, knobs(6, 4_000));
        let tau = cfg.batch_len as usize;
        assert!(tau > 6 && tau < 4_000, "tau {tau}");
        let mut state = RunState::new(&cfg);
        let mut ring = vec![0; cfg.window as usize];
        let mut rounds = Vec::new();
        let mut g_before = state.g;
        for t in 0..4_000usize {
            let p = state.batch_p;
            let round = state.step(&cfg, Algo::BatchedExp3, 2, &mut ring);
            rounds.push(round);
            if (t + 1) % tau != 0 {
                assert_eq!(state.g, g_before, "EXP3 learnt mid-batch at t = {t}");
                continue;
            }
            // The batch's end: one importance-weighted update with the clipped mean.
            let batch = &rounds[t + 1 - tau..];
            assert!(
                batch.iter().all(|r| r.arm == batch[0].arm),
                "arm changed in a batch"
            );
            let sum: i32 = batch.iter().map(|r| r.observed_q).sum();
            let mean = (sum / tau as i32).clamp(0, LOSS_ONE) as u32;
            let a = round.arm as usize;
            let mut expected = g_before;
            expected[a] = (expected[a] + cfg.batch_eta16 * mean * 16 / p.max(1)).min(1 << 24);
            let low = expected[..cfg.arms as usize]
                .iter()
                .copied()
                .min()
                .unwrap_or(0);
            expected[..cfg.arms as usize]
                .iter_mut()
                .for_each(|g| *g -= low);
            assert_eq!(state.g, expected, "update at t = {t}");
            g_before = state.g;
        }
        let plays: u32 = state.n.iter().sum();
        assert_eq!(plays, 4_000);
        // Every arm gets batches (EXP3 keeps exploring at rate gamma).
        let arms_played: std::collections::BTreeSet<u32> = rounds.iter().map(|r| r.arm).collect();
        assert_eq!(arms_played.len(), cfg.arms as usize);
    }

    #[test]
    fn gaussian_noise_table_has_the_right_moments() {
        let instance = Instance {
            noise: Noise::Gaussian { sigma: 0.5 },
            ..default_instance()
        };
        let cfg = SimConfig::new(&instance, knobs(4, 100));
        let one = f64::from(LOSS_ONE);
        let values: Vec<f64> = cfg.noise_q.iter().map(|&q| f64::from(q) / one).collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64;
        assert!(mean.abs() < 1e-3, "{mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.01, "{}", var.sqrt());
    }
}
