// Bipolar-INT GEMM by bit planes (arXiv 2409.17870): y[n][r] = sum_k W[r][k] x[n][k] for P-bit W
// and Q-bit activation vectors with odd levels, exactly, in integers, by the popcount identity
// of quant_bipolar_gemv_team.wgsl. Rust reference: src/labs/quant/bipolar_gemm.rs
// `bipolar_gemm_reference` (a bipolar GEMV per vector, itself checked against integer products).
//
// Layout: W row r plane i word v at (r P + i) words + v; vector n plane j word v at
// (n Q + j) words + v; Y is batch x rows. Padding lanes are zero in both (XOR to 0).
//
// Variant for GPUs, tiled like gemm_f32_tiled.wgsl: a 16 x 16 workgroup owns 16 rows x 16
// vectors; per step of TW words each thread loads one word of every plane of one row of W and of
// one vector (neighbouring threads on neighbouring words: coalesced), a barrier, then P Q TW
// popcounts from workgroup memory, a barrier. Each W word is read from memory once per 16
// vectors. P and Q are set per pipeline (src/labs/quant/bipolar_gemm.rs).

const TILE: u32 = 16u;
const TW: u32 = 16u;
const P: u32 = 1u;
const Q: u32 = 1u;

struct Params {
    rows: u32,
    words: u32,
    batch: u32,
    lanes: u32,
}

@group(0) @binding(0) var<storage, read> w_planes: array<u32>;
@group(0) @binding(1) var<storage, read> x_planes: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> w_tile: array<u32, TILE * P * TW>;
var<workgroup> x_tile: array<u32, TILE * Q * TW>;

@compute @workgroup_size(16, 16)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let tx = lid.x;
    let ty = lid.y;
    let r0 = wg.x * TILE;
    let n0 = wg.y * TILE;
    let words = params.words;
    let wr = min(r0 + ty, params.rows - 1u);
    let xn = min(n0 + ty, params.batch - 1u);
    var acc = 0u;
    // No early return: every thread must reach the barriers.
    for (var v0 = 0u; v0 < words; v0 += TW) {
        // TW words per step, TILE threads across: each thread loads TW / TILE words per plane.
        for (var t = tx; t < TW; t += TILE) {
            let v = v0 + t;
            let inside = v < words;
            for (var i = 0u; i < P; i++) {
                w_tile[(ty * P + i) * TW + t] = select(0u, w_planes[(wr * P + i) * words + min(v, words - 1u)], inside);
            }
            for (var j = 0u; j < Q; j++) {
                x_tile[(ty * Q + j) * TW + t] = select(0u, x_planes[(xn * Q + j) * words + min(v, words - 1u)], inside);
            }
        }
        workgroupBarrier();
        // Output (row r0 + ty, vector n0 + tx).
        for (var t = 0u; t < TW; t++) {
            for (var i = 0u; i < P; i++) {
                let a = w_tile[(ty * P + i) * TW + t];
                var plane_sum = 0u;
                for (var j = 0u; j < Q; j++) {
                    plane_sum += countOneBits(a ^ x_tile[(tx * Q + j) * TW + t]) << j;
                }
                acc += plane_sum << i;
            }
        }
        workgroupBarrier();
    }
    let r = r0 + ty;
    let n = n0 + tx;
    if (r < params.rows && n < params.batch) {
        let full = params.lanes * ((1u << P) - 1u) * ((1u << Q) - 1u);
        y[n * params.rows + r] = i32(full) - 2 * i32(acc);
    }
}
