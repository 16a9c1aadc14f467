//! Self-test entries: both MaM networks' batched forward (the dense kernel) on a batch of
//! random partial assignments, against the f64 oracle. Freshly seeded 8x8-sized networks, so
//! the check does not wait for the shipped file on the web; one of them residual (the
//! reference's `MLPRes`), so the kernel's skip is checked too.

use super::nets::MamNets;
use super::speed::query_batch;
use crate::nn::gpu::forward_check;
use crate::selftest::Check;

pub fn kernel_checks() -> Vec<Box<dyn Check>> {
    let nets = MamNets::new(8, &[256, 256], 3);
    let batch = 65;
    let x = query_batch(64, batch, 5);
    vec![
        Box::new(forward_check(
            "mam marginal net 65 queries (192-256-256-1)",
            nets.marginal,
            x.clone(),
            batch,
        )),
        Box::new(forward_check(
            "mam conditional net 65 queries (192-256-256-64)",
            nets.conditional,
            x.clone(),
            batch,
        )),
        Box::new(forward_check(
            "mam residual conditional net 65 queries (192-128-128-128-64, skips)",
            MamNets::new_with(8, &[128, 128, 128], true, 4).conditional,
            x,
            batch,
        )),
    ]
}
