// Bipolar-INT GEMV by bit planes, variant for CPU adapters (SwiftShader, lavapipe): y = W x for
// P-bit W and Q-bit x with odd levels, exactly, as quant_bipolar_gemv_team.wgsl (same layout
// and the same popcount identity). Rust reference: src/labs/quant/bipolar.rs `dot`.
//
// A thread per four rows, no workgroup memory and no barriers (see gemv_f32_rowwise.wgsl). P
// and Q are set per pipeline (src/labs/quant/bipolar_gpu.rs), so the plane loops unroll. Each
// plane is padded to whole vec4 of words (zero bits in W and x: their XOR is 0 and adds
// nothing), so a lane loads four words of a plane at once: software adapters pay per load and
// lane, not per byte (lavapipe 8x8 at 2048^2: 1.92 -> 1.28 ms). x's Q vec4 of a position are the
// same for every lane and serve all four rows.

const WG_SIZE: u32 = 64u;
const P: u32 = 1u;
const Q: u32 = 1u;

struct Params {
    rows: u32,
    // Words per plane, padded to a multiple of 4.
    words: u32,
    lanes: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> w_planes: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> x_planes: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    // Four adjacent rows per thread: each load of the x planes serves all four (software
    // adapters load per lane). Past the last row a thread repeats the last one, written once.
    // Indices below count vec4 of words.
    let first = ((wg.x + wg.y * groups.x) * WG_SIZE + lid) * 4u;
    if (first >= params.rows) {
        return;
    }
    let last = params.rows - 1u;
    let w4 = params.words / 4u;
    let base0 = first * P * w4;
    let base1 = min(first + 1u, last) * P * w4;
    let base2 = min(first + 2u, last) * P * w4;
    let base3 = min(first + 3u, last) * P * w4;
    var acc0 = 0u;
    var acc1 = 0u;
    var acc2 = 0u;
    var acc3 = 0u;
    for (var v = 0u; v < w4; v++) {
        var xs: array<vec4<u32>, Q>;
        for (var j = 0u; j < Q; j++) {
            xs[j] = x_planes[j * w4 + v];
        }
        for (var i = 0u; i < P; i++) {
            let a0 = w_planes[base0 + i * w4 + v];
            let a1 = w_planes[base1 + i * w4 + v];
            let a2 = w_planes[base2 + i * w4 + v];
            let a3 = w_planes[base3 + i * w4 + v];
            var sum0 = vec4<u32>(0u);
            var sum1 = vec4<u32>(0u);
            var sum2 = vec4<u32>(0u);
            var sum3 = vec4<u32>(0u);
            for (var j = 0u; j < Q; j++) {
                sum0 += countOneBits(a0 ^ xs[j]) << vec4<u32>(j);
                sum1 += countOneBits(a1 ^ xs[j]) << vec4<u32>(j);
                sum2 += countOneBits(a2 ^ xs[j]) << vec4<u32>(j);
                sum3 += countOneBits(a3 ^ xs[j]) << vec4<u32>(j);
            }
            acc0 += dot(sum0, vec4<u32>(1u)) << i;
            acc1 += dot(sum1, vec4<u32>(1u)) << i;
            acc2 += dot(sum2, vec4<u32>(1u)) << i;
            acc3 += dot(sum3, vec4<u32>(1u)) << i;
        }
    }
    let full = i32(params.lanes * ((1u << P) - 1u) * ((1u << Q) - 1u));
    y[first] = full - 2 * i32(acc0);
    if (first + 1u < params.rows) {
        y[first + 1u] = full - 2 * i32(acc1);
    }
    if (first + 2u < params.rows) {
        y[first + 2u] = full - 2 * i32(acc2);
    }
    if (first + 3u < params.rows) {
        y[first + 3u] = full - 2 * i32(acc3);
    }
}
