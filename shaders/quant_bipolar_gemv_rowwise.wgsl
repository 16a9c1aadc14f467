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
    // Two adjacent rows per thread: each load of the x planes serves both (software adapters
    // load per lane). A last odd row repeats itself as the second, written once.
    let first = ((wg.x + wg.y * groups.x) * WG_SIZE + lid) * 2u;
    if (first >= params.rows) {
        return;
    }
    let second = min(first + 1u, params.rows - 1u);
    let words = params.words;
    let base0 = first * P * words;
    let base1 = second * P * words;
    var acc0 = 0u;
    var acc1 = 0u;
    for (var v = 0u; v < words; v++) {
        var xs: array<u32, Q>;
        for (var j = 0u; j < Q; j++) {
            xs[j] = x_planes[j * words + v];
        }
        for (var i = 0u; i < P; i++) {
            let a0 = w_planes[base0 + i * words + v];
            let a1 = w_planes[base1 + i * words + v];
            var sum0 = 0u;
            var sum1 = 0u;
            for (var j = 0u; j < Q; j++) {
                sum0 += countOneBits(a0 ^ xs[j]) << j;
                sum1 += countOneBits(a1 ^ xs[j]) << j;
            }
            acc0 += sum0 << i;
            acc1 += sum1 << i;
        }
    }
    let full = i32(params.lanes * ((1u << P) - 1u) * ((1u << Q) - 1u));
    y[first] = full - 2 * i32(acc0);
    if (first + 1u < params.rows) {
        y[first + 1u] = full - 2 * i32(acc1);
    }
}
