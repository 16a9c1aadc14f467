// GFlowNet sampler, part 2 of a step: for every unfinished trajectory, mask the invalid
// actions, take the log-softmax of the policy's logits and draw an action with the
// trajectory's own counter-based uniform hash3(seed, first + t, step); then apply it.
// Rust reference: src/labs/gflownet/sample.rs `sample_action` / `sample_terminals` (same
// operation order, same hash: src/rng.rs `hash32`, `hash3`, `unit_f32`).
// Action d < ndim increments coordinate d (if it stays below height); action ndim stops.

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

@group(0) @binding(0) var<storage, read_write> states: array<u32>;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// hash32, hash3, unit: shaders/lib/hash.wgsl (prepended).

fn is_valid(base: u32, action: u32) -> bool {
    return action == params.ndim || (action < params.ndim && states[base + action] + 1u < params.height);
}

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
    let base = t * 8u;
    if (states[base + 5u] != 0u) {
        return;
    }
    let row = t * params.outputs;
    let n_actions = params.ndim + 1u;
    var max_logit = -3.4e38;
    for (var a = 0u; a < n_actions; a++) {
        if (is_valid(base, a)) {
            max_logit = max(max_logit, logits[row + a]);
        }
    }
    var sum = 0.0;
    for (var a = 0u; a < n_actions; a++) {
        if (is_valid(base, a)) {
            sum += exp(logits[row + a] - max_logit);
        }
    }
    let log_sum = max_logit + log(sum);
    let step = states[base + 4u];
    let u = unit(hash3(params.seed, params.first + t, step));
    var cumulative = 0.0;
    var chosen = params.ndim;
    var found = false;
    for (var a = 0u; a < n_actions; a++) {
        if (!found && is_valid(base, a)) {
            chosen = a;
            cumulative += exp(logits[row + a] - log_sum);
            if (u < cumulative) {
                found = true;
            }
        }
    }
    if (chosen == params.ndim) {
        states[base + 5u] = 1u;
    } else {
        states[base + chosen] += 1u;
    }
    states[base + 4u] = step + 1u;
}
