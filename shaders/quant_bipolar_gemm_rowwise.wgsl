// Bipolar-INT GEMM by bit planes, variant for CPU adapters (SwiftShader, lavapipe); layout,
// identity and reference as quant_bipolar_gemm_tiled.wgsl (src/labs/quant/bipolar_gemm.rs
// `bipolar_gemm_reference`).
//
// A thread per four rows and no barriers (see gemv_f32_rowwise.wgsl): a lane loads the P plane
// words of its rows at a word position once and applies them to all BATCH vectors, whose Q words
// there are the same for every lane and serve all four rows. The BATCH sums are separate variables in
// registers (the REPEAT lines are expanded once per vector, src/gpu/kernel.rs `with_repeats`).
// P and Q are set per pipeline, so the plane loops unroll.

const WG_SIZE: u32 = 64u;
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

// The four rows' P plane words at the current position, plane i in a[i] (module scope: read by
// `vector_sum` without a pointer argument; each invocation has its own).
var<private> a: array<vec4<u32>, P>;

/// sum_ij 2^(i+j) popcount(a_i XOR x_nj) at word v of vector n, for each of the four rows.
fn vector_sum(n: u32, v: u32, words: u32) -> vec4<u32> {
    var sum = vec4<u32>(0u);
    for (var j = 0u; j < Q; j++) {
        let xw = vec4<u32>(x_planes[(n * Q + j) * words + v]);
        var plane_sum = vec4<u32>(0u);
        for (var i = 0u; i < P; i++) {
            plane_sum += countOneBits(a[i] ^ xw) << vec4<u32>(i);
        }
        sum += plane_sum << vec4<u32>(j);
    }
    return sum;
}

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    // Four adjacent rows per thread: each load of x's words serves all four (software adapters
    // load per lane). Past the last row a thread repeats the last one, written once.
    let row = ((wg.x + wg.y * groups.x) * WG_SIZE + lid) * 4u;
    if (row >= params.rows) {
        return;
    }
    let last = params.rows - 1u;
    let rows = vec4<u32>(row, min(row + 1u, last), min(row + 2u, last), min(row + 3u, last));
    let words = params.words;
    // REPEAT: var acc{i} = vec4<u32>(0u);
    for (var v = 0u; v < words; v++) {
        for (var i = 0u; i < P; i++) {
            a[i] = vec4<u32>(
                w_planes[(rows.x * P + i) * words + v],
                w_planes[(rows.y * P + i) * words + v],
                w_planes[(rows.z * P + i) * words + v],
                w_planes[(rows.w * P + i) * words + v],
            );
        }
        // REPEAT: acc{i} += vector_sum({i}u, v, words);
    }
    let full = i32(params.lanes * ((1u << P) - 1u) * ((1u << Q) - 1u));
    // REPEAT: y[{i}u * params.rows + row] = full - 2 * i32(acc{i}.x);
    if (row + 1u < params.rows) {
        // REPEAT: y[{i}u * params.rows + row + 1u] = full - 2 * i32(acc{i}.y);
    }
    if (row + 2u < params.rows) {
        // REPEAT: y[{i}u * params.rows + row + 2u] = full - 2 * i32(acc{i}.z);
    }
    if (row + 3u < params.rows) {
        // REPEAT: y[{i}u * params.rows + row + 3u] = full - 2 * i32(acc{i}.w);
    }
}
