// llama.cpp Q4_0 GEMV, variant for CPU adapters (SwiftShader, lavapipe): y = W x as
// quant_q4_0_gemv_team.wgsl (same layout: per block a vec4<u32> of codes and an f16 scale, two per
// u32). Rust reference: src/labs/quant/q4.rs `q4_gemv_reference`. Prelude: lib/q4_0_nibbles.wgsl.
//
// One thread per row, no workgroup memory and no barriers (see gemv_f32_rowwise.wgsl): each
// lane walks its row block by block; the eight vec4 of x a block needs are the same for every
// lane (uniform loads).

const WG_SIZE: u32 = 64u;

struct Params {
    rows: u32,
    blocks_per_row: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> codes: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> scales: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = (wg.x + wg.y * groups.x) * WG_SIZE + lid;
    if (row >= params.rows) {
        return;
    }
    let nb = params.blocks_per_row;
    var acc = 0.0;
    for (var b = 0u; b < nb; b++) {
        let block = row * nb + b;
        let q = codes[block];
        let pair = unpack2x16float(scales[block >> 1u]);
        let d = select(pair.x, pair.y, (block & 1u) == 1u);
        let xb = b * 8u;
        var s = dot(nibbles(q.x, 0u), x[xb]) + dot(nibbles(q.x, 4u), x[xb + 4u]);
        s += dot(nibbles(q.y, 0u), x[xb + 1u]) + dot(nibbles(q.y, 4u), x[xb + 5u]);
        s += dot(nibbles(q.z, 0u), x[xb + 2u]) + dot(nibbles(q.z, 4u), x[xb + 6u]);
        s += dot(nibbles(q.w, 0u), x[xb + 3u]) + dot(nibbles(q.w, 4u), x[xb + 7u]);
        acc += d * s;
    }
    y[row] = acc;
}
