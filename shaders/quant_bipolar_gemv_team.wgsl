// Bipolar-INT GEMV by bit planes (arXiv 2409.17870), variant for GPUs: y[r] = sum_k W[r][k] x[k]
// for P-bit W and Q-bit x with odd levels, exactly, in integers.
// Rust reference: src/labs/quant/bipolar.rs `dot` (itself checked against plain integer
// products). Prelude: shaders/lib/team_sum_*.wgsl.
//
// Layout: W row r, plane i (bit i of u = (L + 2^P - 1) / 2), word v at (r P + i) words + v; x
// plane j word v at j words + v; 32 lanes per word, padding lanes zero in both (they XOR to 0).
// With b = 2s - 1 in {-1, +1}, a one-bit product over K lanes is K - 2 popcount(a XOR w), so
// y = K (2^P - 1)(2^Q - 1) - 2 sum_ij 2^(i+j) popcount(W_i XOR x_j): only the popcount sum is
// accumulated, in u32 (the host refuses shapes where K (2^P - 1)(2^Q - 1) reaches 2^31).
//
// A team of TEAM threads (at least a subgroup) owns ROWS_PER_TEAM rows; a thread takes one word
// position per step (neighbouring threads on neighbouring words: coalesced), loads x's Q words
// there once for all its rows, and streams the rows' P plane words past them. P, Q, TEAM,
// WG_SIZE and ROWS_PER_TEAM are set per pipeline (src/labs/quant/pipeline.rs).

const WG_SIZE: u32 = 256u;
const TEAM: u32 = 32u;
const ROWS_PER_TEAM: u32 = 2u;
const ROWS_PER_WG: u32 = (WG_SIZE / TEAM) * ROWS_PER_TEAM;
const P: u32 = 1u;
const Q: u32 = 1u;

struct Params {
    rows: u32,
    words: u32,
    lanes: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> w_planes: array<u32>;
@group(0) @binding(1) var<storage, read> x_planes: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let team = lid / TEAM;
    let lane = lid % TEAM;
    let first = (wg.x + wg.y * groups.x) * ROWS_PER_WG + team * ROWS_PER_TEAM;
    let words = params.words;
    var acc: array<u32, ROWS_PER_TEAM>;
    // No early return: every thread must reach the barriers of the team sums.
    for (var v = lane; v < words; v += TEAM) {
        var xs: array<u32, Q>;
        for (var j = 0u; j < Q; j++) {
            xs[j] = x_planes[j * words + v];
        }
        for (var r = 0u; r < ROWS_PER_TEAM; r++) {
            // Rows past the end read the last row (their sums are not written).
            let base = min(first + r, params.rows - 1u) * P * words;
            for (var i = 0u; i < P; i++) {
                let a = w_planes[base + i * words + v];
                var plane_sum = 0u;
                for (var j = 0u; j < Q; j++) {
                    plane_sum += countOneBits(a ^ xs[j]) << j;
                }
                acc[r] += plane_sum << i;
            }
        }
    }
    let full = params.lanes * ((1u << P) - 1u) * ((1u << Q) - 1u);
    for (var r = 0u; r < ROWS_PER_TEAM; r++) {
        let total = team_sum_u32(acc[r], lid);
        if (lane == 0u && first + r < params.rows) {
            y[first + r] = i32(full) - 2 * i32(total);
        }
    }
}
