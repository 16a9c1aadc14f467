//! The quality bar, run as a test: with the CLI's defaults (TB, batch 16, 2 x 256,
//! Adam 1e-3 / 0.1) training on 2D H=8, R0 = 0.1 reaches L1 <= 0.1 (sum over states, 10^5
//! evaluation samples) within 10^4 training trajectories. Training is deterministic for a
//! seed, so this is a regression test of the whole training path, not a flaky statistic.

use paperlab::labs::gflownet::env::{Hypergrid, RewardSpec};
use paperlab::labs::gflownet::run::TrainingRun;
use paperlab::labs::gflownet::train::TrainConfig;

#[test]
fn tb_on_2d_h8_reaches_l1_0_1_within_10k_trajectories() {
    let mut run = TrainingRun::new(
        Hypergrid::new(2, 8),
        RewardSpec::Standard {
            r0: 0.1,
            r1: 0.5,
            r2: 2.0,
        },
        TrainConfig::default(),
    );
    while run.trainer.trajectories < 10_000 {
        run.iterate();
    }
    let eval = run.evaluate(100_000);
    let l1 = eval.l1.expect("enumerable grid");
    assert!(
        l1 <= 0.1,
        "L1 {l1} after {} trajectories",
        eval.trajectories
    );
    assert_eq!((eval.modes_found, eval.modes_total), (4, 4));
    // The learned log Z is close to the true one.
    let logz_true = eval.logz_true.expect("enumerable grid");
    assert!(
        (eval.logz - logz_true).abs() < 0.05,
        "log Z {} vs {logz_true}",
        eval.logz
    );
}
