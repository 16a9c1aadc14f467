// Bipolar-INT GEMV by bit planes, variant for CPU adapters (SwiftShader, lavapipe): y = W x for
// P-bit W and Q-bit x with odd levels, exactly, as quant_bipolar_gemv_team.wgsl (same layout
// and the same popcount identity). Rust reference: src/labs/quant/bipolar.rs `dot`.
//
// One thread per row, no workgroup memory and no barriers (see gemv_f32_rowwise.wgsl). P and Q
// are set per pipeline (src/labs/quant/bipolar_gpu.rs), so the plane loops unroll; x's Q words
// of a lane position are the same for every lane (uniform loads).

const WG_SIZE: u32 = 64u;
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
    let row = (wg.x + wg.y * groups.x) * WG_SIZE + lid;
    if (row >= params.rows) {
        return;
    }
    let words = params.words;
    let base = row * P * words;
    var acc = 0u;
    for (var v = 0u; v < words; v++) {
        var xs: array<u32, Q>;
        for (var j = 0u; j < Q; j++) {
            xs[j] = x_planes[j * words + v];
        }
        for (var i = 0u; i < P; i++) {
            let a = w_planes[base + i * words + v];
            var plane_sum = 0u;
            for (var j = 0u; j < Q; j++) {
                plane_sum += countOneBits(a ^ xs[j]) << j;
            }
            acc += plane_sum << i;
        }
    }
    let full = params.lanes * ((1u << P) - 1u) * ((1u << Q) - 1u);
    y[row] = i32(full) - 2 * i32(acc);
}
