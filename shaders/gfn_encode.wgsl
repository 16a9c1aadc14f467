// GFlowNet sampler, part 1 of a step: one-hot encode every trajectory's state as the policy
// MLP's input row (D blocks of H). Rust reference: src/labs/gflownet/env.rs
// `Hypergrid::encode_into`. State layout per trajectory (8 u32): x0..x3, step, done, 0, 0.

const WG_SIZE: u32 = 64u;

struct Params {
    n: u32,
    ndim: u32,
    height: u32,
    outputs: u32,
    seed: u32,
    first: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> states: array<u32>;
@group(0) @binding(1) var<storage, read_write> encoded: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = (wg.x + wg.y * groups.x) * WG_SIZE + lid;
    if (t >= params.n) {
        return;
    }
    let width = params.ndim * params.height;
    let base = t * width;
    for (var i = 0u; i < width; i++) {
        encoded[base + i] = 0.0;
    }
    for (var d = 0u; d < params.ndim; d++) {
        encoded[base + d * params.height + states[t * 8u + d]] = 1.0;
    }
}
