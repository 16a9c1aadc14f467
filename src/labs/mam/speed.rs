//! Query timing: one marginal by MaM (one pass) against the autoregressive route (|S| passes,
//! or one pass over the |S| prefixes), on the CPU; shared by `paperlab bench mam` and the page.

use serde::Serialize;
use web_time::Instant;

use super::nets::{MamNets, observed_in_order, random_order};
use super::partial::{Partial, Site};
use crate::nn::Mlp;
use crate::rng::SplitMix64;

/// |S| = D/4, D/2 and D: the sizes the goal names.
pub fn goal_sizes(d: usize) -> [usize; 3] {
    [(d / 4).max(1), (d / 2).max(1), d]
}

/// A random query observing exactly `observed` sites (random set, random spins).
pub fn query_of_size(d: usize, observed: usize, rng: &mut SplitMix64) -> Partial {
    let order = random_order(d, rng);
    let mut p = Partial::unknown(d);
    for &i in &order[..observed.min(d)] {
        p.sites[i] = if rng.below(2) == 1 {
            Site::Up
        } else {
            Site::Down
        };
    }
    p
}

/// Rounds per measure: the median of three resists one interrupted round, and a slow call
/// (one that fills a round alone) is made no more often than the three calls of before.
const TIMING_ROUNDS: usize = 3;

/// The shortest round: five ticks of the coarsest clock measured with (browsers round
/// `performance.now()` to 0.1 ms), so that a fast call's round is not read as 0 or 0.1 ms.
const MIN_ROUND_MS: f64 = 0.5;

/// Runs `f` in [`TIMING_ROUNDS`] rounds of at least `min_ms / TIMING_ROUNDS` (and
/// [`MIN_ROUND_MS`]) each, at least one call a round; its last value and the median round's ms
/// per call. The median, not the mean over all calls: one interruption of the thread (the OS
/// giving its core to a worker, a browser's own task) would otherwise be spread over every
/// call, and a 0.08 ms query once read 2.3 ms in a page's measure.
pub fn time_ms<T>(min_ms: f64, f: impl FnMut() -> T) -> (T, f64) {
    let origin = Instant::now();
    time_ms_on(|| origin.elapsed().as_secs_f64() * 1e3, min_ms, f)
}

/// [`time_ms`] on the clock `now_ms` (milliseconds from any origin), so that a test can drive
/// the rounds with simulated call times instead of the OS's sleep, whose overshoot on a loaded
/// machine (4 ms for a 0.2 ms sleep once, in CI) says nothing about the rounds.
fn time_ms_on<T>(
    mut now_ms: impl FnMut() -> f64,
    min_ms: f64,
    mut f: impl FnMut() -> T,
) -> (T, f64) {
    let round_ms = (min_ms / TIMING_ROUNDS as f64).max(MIN_ROUND_MS);
    // One round: calls until `round_ms` have passed; the last value and the ms per call.
    let mut round = || {
        let started_ms = now_ms();
        let mut calls = 0u32;
        loop {
            let value = f();
            calls += 1;
            let elapsed_ms = now_ms() - started_ms;
            if elapsed_ms >= round_ms {
                return (value, elapsed_ms / f64::from(calls));
            }
        }
    };
    let (mut value, first_ms) = round();
    let mut per_call_ms = [first_ms; TIMING_ROUNDS];
    for slot in per_call_ms.iter_mut().skip(1) {
        let (next, ms) = round();
        value = next;
        *slot = ms;
    }
    per_call_ms.sort_by(f64::total_cmp);
    (value, per_call_ms[TIMING_ROUNDS / 2])
}

/// One query timed three ways on the CPU.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct QueryTime {
    pub observed: usize,
    pub ms_mam: f64,
    /// |S| sequential conditional passes.
    pub ms_arm: f64,
    /// One conditional pass over the |S| prefixes.
    pub ms_arm_batched: f64,
    pub log_p_mam: f64,
    pub log_p_arm: f64,
}

impl QueryTime {
    pub fn ratio(&self) -> f64 {
        self.ms_arm / self.ms_mam.max(1e-12)
    }
}

/// Times one random query with `observed` sites, each route for at least `min_ms`: MaM's
/// marginal network against the autoregressive network `arm` (the separately trained ARM, or
/// MaM's own conditional network where none is shipped: the same shape, so the same time).
pub fn time_query(nets: &MamNets, arm: &Mlp, observed: usize, seed: u64, min_ms: f64) -> QueryTime {
    let mut rng = SplitMix64::new(seed ^ observed as u64);
    let p = query_of_size(nets.sites(), observed, &mut rng);
    let order = observed_in_order(&p, &random_order(nets.sites(), &mut rng));
    let (log_p_mam, ms_mam) = time_ms(min_ms, || nets.log_marginal(&p));
    let (log_p_arm, ms_arm) = time_ms(min_ms, || super::arm::log_marginal(arm, &p, &order));
    let (_, ms_arm_batched) = time_ms(min_ms, || super::arm::log_marginal_batched(arm, &p, &order));
    QueryTime {
        observed,
        ms_mam,
        ms_arm,
        ms_arm_batched,
        log_p_mam,
        log_p_arm,
    }
}

/// `batch` random queries (|S| uniform), encoded for the networks.
pub fn query_batch(d: usize, batch: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let mut x = Vec::with_capacity(batch * super::nets::CLASSES * d);
    for _ in 0..batch {
        let p = super::quality::random_partial(d, &mut rng);
        super::nets::encode_into(&p.sites, &mut x);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One call held up 50 ms (as by the OS giving the core away) among 0.25 ms ones, on a
    /// simulated clock: the median round reads the ordinary call exactly, where a mean over the
    /// calls would read over 1 ms. The calls' count and the rounds' ends are checked too.
    #[test]
    fn one_interrupted_call_does_not_set_the_time() {
        use std::cell::Cell;
        let clock_ms = Cell::new(1000.0);
        let calls = Cell::new(0u32);
        let ((), ms) = time_ms_on(
            || clock_ms.get(),
            10.0,
            || {
                calls.set(calls.get() + 1);
                let call_ms = if calls.get() == 3 { 50.0 } else { 0.25 };
                clock_ms.set(clock_ms.get() + call_ms);
            },
        );
        assert!((ms - 0.25).abs() < 1e-9, "{ms} ms per call");
        // Round 1 ends at the slow call (3 calls); rounds 2 and 3 need 14 calls of 0.25 ms
        // each to pass 10/3 ms.
        assert_eq!(calls.get(), 3 + 14 + 14);
        // A mean over every call would have been read as the time.
        let mean_ms = (clock_ms.get() - 1000.0) / f64::from(calls.get());
        assert!(mean_ms > 1.0, "{mean_ms}");
    }

    /// The real clock: a call that sleeps is read as at least its sleep, whatever the load.
    #[test]
    fn the_real_clock_reads_at_least_the_sleep() {
        let (_, ms) = time_ms(1.0, || {
            std::thread::sleep(std::time::Duration::from_micros(300))
        });
        assert!(ms >= 0.3, "{ms} ms per call");
    }

    #[test]
    fn timed_routes_answer_the_same_query() {
        let nets = MamNets::new(3, &[16], 2);
        let t = time_query(&nets, &nets.conditional, 5, 1, 0.0);
        assert_eq!(t.observed, 5);
        assert!(t.ms_mam > 0.0 && t.ms_arm > 0.0 && t.ms_arm_batched > 0.0);
        assert!(t.log_p_mam.is_finite() && t.log_p_arm < 0.0);
        assert_eq!(goal_sizes(64), [16, 32, 64]);
        assert_eq!(
            query_of_size(9, 4, &mut SplitMix64::new(1))
                .observed()
                .len(),
            4
        );
    }
}
