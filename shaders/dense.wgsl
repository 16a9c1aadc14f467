// One dense layer of an MLP for a batch: y[b, o] = act(bias[o] + sum_i x[b, i] * w[i, o]),
// plus x[b, o] in a residual layer (inputs == outputs).
// Rust reference: src/nn/mlp.rs `Mlp::forward` (one layer of it); an MLP forward is one
// dispatch per layer (src/nn/gpu.rs).
//
// One thread per output element. Neighbouring threads compute neighbouring outputs o of the
// same row, so their reads of w[i, o] are contiguous (coalesced) and x[b, i] is the same
// address for the whole run of a row (a broadcast).

const WG_SIZE: u32 = 64u;

struct Params {
    batch: u32,
    inputs: u32,
    outputs: u32,
    // 0: none (last layer), 1: ReLU, 2: LeakyReLU with `slope`.
    activation: u32,
    slope: f32,
    // 1: add the input to the output (a residual hidden layer; inputs == outputs).
    residual: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let index = (wg.x + wg.y * groups.x) * WG_SIZE + lid;
    if (index >= params.batch * params.outputs) {
        return;
    }
    let row = index / params.outputs;
    let o = index % params.outputs;
    var acc = bias[o];
    let x_base = row * params.inputs;
    for (var i = 0u; i < params.inputs; i++) {
        acc += x[x_base + i] * w[i * params.outputs + o];
    }
    if (params.activation == 1u) {
        acc = max(acc, 0.0);
    } else if (params.activation == 2u && acc <= 0.0) {
        acc = params.slope * acc;
    }
    if (params.residual == 1u) {
        acc += x[x_base + o];
    }
    y[index] = acc;
}
