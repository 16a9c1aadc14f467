//! The lock-step rollout every sampler and trainer of the lab shares: all trajectories start
//! at the origin, and each step asks the caller for the actions of the trajectories still
//! running (one batched forward pass there), applies them and drops the trajectories that
//! stopped. The caller owns the network, the random numbers (each keeps its own counter
//! layout, so the shipped weights stay reproducible) and whatever it records.

use super::env::{Hypergrid, MAX_NDIM, State};

/// Runs `count` trajectories to their stop. `choose(step, active, states)` returns one action
/// per trajectory index in `active` (in that order), given every trajectory's current state.
/// Returns the terminal states.
pub fn lock_step(
    grid: &Hypergrid,
    count: usize,
    mut choose: impl FnMut(u32, &[usize], &[State]) -> Vec<usize>,
) -> Vec<State> {
    let mut states: Vec<State> = vec![[0; MAX_NDIM]; count];
    let mut active: Vec<usize> = (0..count).collect();
    let mut step = 0u32;
    while !active.is_empty() {
        let actions = choose(step, &active, &states);
        debug_assert_eq!(
            actions.len(),
            active.len(),
            "one action per active trajectory"
        );
        let mut still = Vec::with_capacity(active.len());
        for (&t, &a) in active.iter().zip(&actions) {
            if a == grid.stop_action() {
                continue;
            }
            states[t][a] += 1;
            still.push(t);
        }
        active = still;
        step += 1;
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trajectories_move_until_they_stop() {
        let grid = Hypergrid::new(2, 4);
        // Trajectory t increments coordinate t % 2 until step t, then stops.
        let terminals = lock_step(&grid, 3, |step, active, _| {
            active
                .iter()
                .map(|&t| {
                    if step as usize >= t {
                        grid.stop_action()
                    } else {
                        t % 2
                    }
                })
                .collect()
        });
        assert_eq!(terminals[0], [0, 0, 0, 0]);
        assert_eq!(terminals[1], [0, 1, 0, 0]);
        assert_eq!(terminals[2], [2, 0, 0, 0]);
    }
}
