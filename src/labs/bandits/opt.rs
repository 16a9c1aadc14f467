//! The best action sequence in hindsight, exactly, for small instances: dynamic programming
//! over the last m actions (the only thing a round's expected loss depends on). It checks the
//! comparator the lab uses (repeating a* from an empty history): under REO the two differ only
//! by the warm-up, and never in the comparator's favour.

use super::sim::SimConfig;

/// Largest number of history states the exact optimum is computed for.
pub const MAX_STATES: usize = 1 << 14;

/// Minimum total expected loss (loss units) over all action sequences of `horizon` rounds from
/// an empty history; `None` when (K + 1)^m exceeds [`MAX_STATES`].
pub fn exact_optimum(cfg: &SimConfig, horizon: u32) -> Option<u64> {
    let k = cfg.arms as usize;
    let m = cfg.memory as usize;
    // Digit j of a state (base K + 1) is the action j + 1 rounds ago; K means "no round yet".
    let base = k + 1;
    let states = base.checked_pow(m as u32).filter(|&s| s <= MAX_STATES)?;
    let digit_weight: Vec<usize> = (0..m).map(|j| base.pow(j as u32)).collect();
    // Each state's successor and loss for each action.
    let mut next = vec![0usize; states * k];
    let mut loss = vec![0u64; states * k];
    for s in 0..states {
        let digits: Vec<usize> = (0..m).map(|j| (s / digit_weight[j]) % base).collect();
        for a in 0..k {
            let tally: u32 = (0..m)
                .filter(|&j| digits[j] == a)
                .map(|j| cfg.weights_q[j])
                .sum();
            loss[s * k + a] = cfg.mean_q(a as u32, tally) as u64;
            // Shift: the new action becomes digit 0, the oldest drops out.
            let shifted = (s % digit_weight[m - 1]) * base;
            next[s * k + a] = if m == 1 { a } else { shifted + a };
        }
    }
    // Backward: cost_to_go[s] after the remaining rounds.
    let mut cost = vec![0u64; states];
    let mut new_cost = vec![0u64; states];
    for _ in 0..horizon {
        for s in 0..states {
            new_cost[s] = (0..k)
                .map(|a| loss[s * k + a] + cost[next[s * k + a]])
                .min()
                .unwrap_or(0);
        }
        std::mem::swap(&mut cost, &mut new_cost);
    }
    // The empty history: every digit "no round yet".
    let empty: usize = digit_weight.iter().map(|w| w * k).sum();
    Some(cost[empty])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::bandits::instance::{Instance, Noise, Preset, Weights};
    use crate::labs::bandits::sim::{Algo, Knobs, simulate_run};

    fn config(preset: Preset, k: usize, m: usize, weights: Weights, horizon: u32) -> SimConfig {
        let instance = Instance {
            arms: preset.arms(k, 4),
            memory: m,
            weights,
            decay: 0.7,
            noise: Noise::Bernoulli,
        };
        SimConfig::new(
            &instance,
            Knobs {
                bound: m as u32,
                horizon,
                window: 10,
                seed: 1,
                checkpoints: 1,
            },
        )
    }

    #[test]
    fn repeating_a_star_is_optimal_up_to_the_warm_up_under_reo() {
        for preset in [Preset::Habituation, Preset::Satiation, Preset::Mixed] {
            for (k, m) in [(2, 1), (3, 3), (4, 4), (5, 3)] {
                for weights in [Weights::Uniform, Weights::Geometric] {
                    let horizon = 200;
                    let cfg = config(preset, k, m, weights, horizon);
                    let opt = exact_optimum(&cfg, horizon).expect("small") as i64;
                    let repeat =
                        i64::from(*simulate_run(&cfg, Algo::Oracle, 0).last().expect("one"));
                    // Warm-up excess of the comparator: its first m rounds above f_a*(1).
                    let star = i64::from(cfg.mean_q(cfg.a_star, super::super::instance::TALLY_ONE));
                    let floor = star * i64::from(horizon);
                    assert!(
                        opt <= repeat,
                        "{preset:?} K={k} m={m}: opt {opt} > repeat {repeat}"
                    );
                    assert!(opt >= floor, "{preset:?}: opt {opt} below T f*(1) {floor}");
                    let warm_up = repeat - floor;
                    assert!(warm_up <= i64::from(m as u32) * 4096, "warm-up {warm_up}");
                }
            }
        }
    }

    /// Total expected loss of one action sequence, tallies counted from the sequence itself.
    fn sequence_loss(cfg: &SimConfig, plays: &[usize]) -> u64 {
        let m = cfg.memory as usize;
        (0..plays.len())
            .map(|t| {
                let a = plays[t];
                let tally: u32 = (1..=m.min(t))
                    .filter(|&j| plays[t - j] == a)
                    .map(|j| cfg.weights_q[j - 1])
                    .sum();
                cfg.mean_q(a as u32, tally) as u64
            })
            .sum()
    }

    /// The dynamic programme against the minimum over every one of the K^T sequences, on
    /// instances with and without REO (where the best sequence is not "repeat one arm").
    #[test]
    fn exact_optimum_matches_brute_force_over_all_sequences() {
        for (preset, k, m, horizon) in [
            (Preset::Habituation, 2, 2, 10),
            (Preset::Satiation, 3, 2, 7),
            (Preset::Mixed, 3, 3, 7),
            (Preset::NoReo, 3, 2, 7),
            (Preset::NoReo, 2, 3, 10),
        ] {
            for weights in [Weights::Uniform, Weights::Geometric] {
                let cfg = config(preset, k, m, weights, horizon as u32);
                let mut best = u64::MAX;
                let mut plays = vec![0usize; horizon];
                for code in 0..k.pow(horizon as u32) {
                    let mut c = code;
                    for p in plays.iter_mut() {
                        *p = c % k;
                        c /= k;
                    }
                    best = best.min(sequence_loss(&cfg, &plays));
                }
                let dp = exact_optimum(&cfg, horizon as u32).expect("small");
                assert_eq!(dp, best, "{preset:?} K={k} m={m} {weights:?}");
                // The comparator the lab plots (repeat a*) is one of the sequences.
                let repeat = u64::from(*simulate_run(&cfg, Algo::Oracle, 0).last().expect("one"));
                assert_eq!(
                    repeat,
                    sequence_loss(&cfg, &vec![cfg.a_star as usize; horizon])
                );
            }
        }
    }

    #[test]
    fn without_reo_alternating_beats_repeating() {
        let cfg = config(Preset::NoReo, 5, 2, Weights::Uniform, 100);
        let opt = exact_optimum(&cfg, 100).expect("small");
        let repeat = u64::from(*simulate_run(&cfg, Algo::Oracle, 0).last().expect("one"));
        assert!(opt + 4096 * 5 < repeat, "opt {opt} vs repeat {repeat}");
    }

    #[test]
    fn too_large_instances_are_refused() {
        assert!(
            exact_optimum(&config(Preset::Habituation, 8, 8, Weights::Uniform, 10), 10).is_none()
        );
    }
}
