// llama.cpp Q4_0 GEMV, variant for CPU adapters (SwiftShader, lavapipe): y = W x as
// quant_q4_0_gemv_team.wgsl (same layout: per block a vec4<u32> of codes and an f16 scale, two per
// u32). Rust reference: src/labs/quant/q4.rs `q4_gemv_reference`. Prelude: lib/q4_0_nibbles.wgsl.
//
// A thread per ROWS rows, no workgroup memory and no barriers (see gemv_f32_rowwise.wgsl): each
// lane walks its rows block by block; the eight vec4 of x a block needs are the same for every
// lane (uniform loads), loaded once for all its rows.

const WG_SIZE: u32 = 64u;
// Rows per thread, 2 or 4, set per pipeline (src/labs/quant/q4.rs `rowwise_rows_for`): four
// share x best on lavapipe (1.05 -> 0.72 ms at 2048^2), two run faster on SwiftShader (5.0
// against 6.7 ms). The branches on ROWS fold away.
const ROWS: u32 = 4u;

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
    // ROWS adjacent rows per thread: each load of x serves all of them (software adapters load
    // x per lane). Past the last row a thread repeats the last one, written once.
    let first = ((wg.x + wg.y * groups.x) * WG_SIZE + lid) * ROWS;
    if (first >= params.rows) {
        return;
    }
    let last = params.rows - 1u;
    let nb = params.blocks_per_row;
    let blocks0 = first * nb;
    let blocks1 = min(first + 1u, last) * nb;
    let blocks2 = min(first + 2u, last) * nb;
    let blocks3 = min(first + 3u, last) * nb;
    var acc0 = 0.0;
    var acc1 = 0.0;
    var acc2 = 0.0;
    var acc3 = 0.0;
    for (var b = 0u; b < nb; b++) {
        let xb = b * 8u;
        let x0 = x[xb];
        let x1 = x[xb + 1u];
        let x2 = x[xb + 2u];
        let x3 = x[xb + 3u];
        let x4 = x[xb + 4u];
        let x5 = x[xb + 5u];
        let x6 = x[xb + 6u];
        let x7 = x[xb + 7u];
        acc0 += block_dot(blocks0 + b, x0, x1, x2, x3, x4, x5, x6, x7);
        acc1 += block_dot(blocks1 + b, x0, x1, x2, x3, x4, x5, x6, x7);
        if (ROWS > 2u) {
            acc2 += block_dot(blocks2 + b, x0, x1, x2, x3, x4, x5, x6, x7);
            acc3 += block_dot(blocks3 + b, x0, x1, x2, x3, x4, x5, x6, x7);
        }
    }
    y[first] = acc0;
    if (first + 1u < params.rows) {
        y[first + 1u] = acc1;
    }
    if (ROWS > 2u && first + 2u < params.rows) {
        y[first + 2u] = acc2;
    }
    if (ROWS > 2u && first + 3u < params.rows) {
        y[first + 3u] = acc3;
    }
}

/// One block's 32 products against x (its scale applied).
fn block_dot(
    block: u32,
    x0: vec4<f32>,
    x1: vec4<f32>,
    x2: vec4<f32>,
    x3: vec4<f32>,
    x4: vec4<f32>,
    x5: vec4<f32>,
    x6: vec4<f32>,
    x7: vec4<f32>,
) -> f32 {
    let q = codes[block];
    let pair = unpack2x16float(scales[block >> 1u]);
    let d = select(pair.x, pair.y, (block & 1u) == 1u);
    var s = dot(nibbles(q.x, 0u), x0) + dot(nibbles(q.x, 4u), x4);
    s += dot(nibbles(q.y, 0u), x1) + dot(nibbles(q.y, 4u), x5);
    s += dot(nibbles(q.z, 0u), x2) + dot(nibbles(q.z, 4u), x6);
    s += dot(nibbles(q.w, 0u), x3) + dot(nibbles(q.w, 4u), x7);
    return d * s;
}
