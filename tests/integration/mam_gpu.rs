//! The MaM networks' batched forward on a real wgpu device (lavapipe in CI) against the CPU
//! reference.

use paperlab::gpu::{GpuContext, f32s_from_bytes};
use paperlab::labs::mam::gpu::{MamOnDevice, Net};
use paperlab::labs::mam::nets::{MamNets, encode_into};
use paperlab::labs::mam::partial::Partial;
use paperlab::labs::mam::quality::random_partial;
use paperlab::rng::SplitMix64;

/// On lavapipe (scripts/test sets PAPERLAB_ADAPTER): a batch of marginals and conditionals on
/// the GPU equal the CPU reference.
#[test]
fn gpu_batch_matches_the_cpu_reference() {
    let ctx = GpuContext::new_headless().unwrap_or_else(|e| {
        panic!("no wgpu device ({e}); run scripts/setup (installs mesa-vulkan-drivers)")
    });
    for nets in [
        MamNets::new(4, &[64, 64], 3),
        MamNets::new_with(4, &[64, 64, 64], true, 3),
    ] {
        batch_matches_the_cpu_reference(&ctx, &nets);
    }
}

fn batch_matches_the_cpu_reference(ctx: &GpuContext, nets: &MamNets) {
    let residual = nets.marginal.spec.residual;
    let mut rng = SplitMix64::new(4);
    let queries: Vec<Partial> = (0..33).map(|_| random_partial(16, &mut rng)).collect();
    let mut x = Vec::new();
    queries.iter().for_each(|q| encode_into(&q.sites, &mut x));
    let device = MamOnDevice::upload(ctx, nets, 64).expect("upload");
    let run = device.forward(ctx, Net::Marginal, &x, 33).expect("submit");
    let gpu = device.log_marginals(&run.wait(ctx).expect("run").bytes);
    for (q, g) in queries.iter().zip(&gpu) {
        let cpu = nets.log_marginal(q);
        assert!(
            (cpu - g).abs() < 1e-4 * (1.0 + cpu.abs()),
            "residual {residual}: {cpu} vs {g}"
        );
    }
    let run = device
        .timed_forward(ctx, Net::Conditional, &x, 33, 2, 3)
        .expect("submit");
    let out = run.wait(ctx).expect("run");
    let logits = f32s_from_bytes(&out.bytes);
    let cpu = nets.conditional.predict(&x, 33);
    assert!(logits.iter().zip(&cpu).all(|(a, b)| (a - b).abs() < 1e-4));
    assert!(!out.pass_ms.is_empty());
}
