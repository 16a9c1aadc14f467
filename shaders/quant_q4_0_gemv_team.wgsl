// llama.cpp Q4_0 GEMV, dequantizing on the fly, variant for GPUs: y[r] = sum over blocks b of
// d[r][b] * sum_j (q[r][b][j] - 8) x[32 b + j]. Rust reference: src/labs/quant/q4.rs
// `q4_gemv_reference`. Preludes: shaders/lib/q4_0_nibbles.wgsl, then shaders/lib/team_sum_*.wgsl.
//
// Layout (llama.cpp's block_q4_0 split into two arrays so loads stay aligned): per block one
// f16 scale d (two per u32 word, block 2k in the low half) and 16 bytes of codes as one
// vec4<u32>, byte t of the block's 16 holding element t in its low nibble and element t + 16 in
// its high nibble. So word w (0..3) holds elements 4w..4w+3 (low nibbles) and 16+4w..16+4w+3
// (high nibbles): the (w)th and (4 + w)th vec4 of the block's x. x is padded with zeros to
// whole blocks.
//
// A team of TEAM threads (at least a subgroup) owns ROWS_PER_TEAM rows; a thread takes one block
// (32 weights: one 16-byte code load and a scale) per row per step, neighbouring threads on
// neighbouring blocks (coalesced), and loads the block's eight vec4 of x once for all its rows.
// Then one team sum per row (subgroup operations where the device has them). TEAM, WG_SIZE and
// ROWS_PER_TEAM are set per pipeline (src/labs/quant/pipeline.rs).

const WG_SIZE: u32 = 256u;
const TEAM: u32 = 32u;
const ROWS_PER_TEAM: u32 = 2u;
const ROWS_PER_WG: u32 = (WG_SIZE / TEAM) * ROWS_PER_TEAM;

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
    let team = lid / TEAM;
    let lane = lid % TEAM;
    let first = (wg.x + wg.y * groups.x) * ROWS_PER_WG + team * ROWS_PER_TEAM;
    let nb = params.blocks_per_row;
    var acc: array<f32, ROWS_PER_TEAM>;
    // No early return: every thread must reach the barriers of the team sums.
    for (var b = lane; b < nb; b += TEAM) {
        let xb = b * 8u;
        var xs: array<vec4<f32>, 8>;
        for (var t = 0u; t < 8u; t++) {
            xs[t] = x[xb + t];
        }
        for (var r = 0u; r < ROWS_PER_TEAM; r++) {
            // Rows past the end read the last row (their sums are not written).
            let block = min(first + r, params.rows - 1u) * nb + b;
            let q = codes[block];
            let pair = unpack2x16float(scales[block >> 1u]);
            let d = select(pair.x, pair.y, (block & 1u) == 1u);
            var s = dot(nibbles(q.x, 0u), xs[0]) + dot(nibbles(q.x, 4u), xs[4]);
            s += dot(nibbles(q.y, 0u), xs[1]) + dot(nibbles(q.y, 4u), xs[5]);
            s += dot(nibbles(q.z, 0u), xs[2]) + dot(nibbles(q.z, 4u), xs[6]);
            s += dot(nibbles(q.w, 0u), xs[3]) + dot(nibbles(q.w, 4u), xs[7]);
            acc[r] += d * s;
        }
    }
    for (var r = 0u; r < ROWS_PER_TEAM; r++) {
        let total = team_sum_f32(acc[r], lid);
        if (lane == 0u && first + r < params.rows) {
            y[first + r] = total;
        }
    }
}
