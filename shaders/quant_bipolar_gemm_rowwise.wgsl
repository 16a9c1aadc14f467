// Bipolar-INT GEMM by bit planes, variant for CPU adapters (SwiftShader, lavapipe); layout,
// identity and reference as quant_bipolar_gemm_tiled.wgsl (src/labs/quant/bipolar_gemm.rs
// `bipolar_gemm_reference`).
//
// One thread per row and no barriers (see gemv_f32_rowwise.wgsl): a lane loads the P plane
// words of its row at a word position once and applies them to all BATCH vectors, whose Q words
// there are the same for every lane (uniform loads). The BATCH sums are separate variables in
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

// The row's P plane words at the current position (module scope: read by `vector_sum` without
// a pointer argument; each invocation has its own).
var<private> a: array<u32, P>;

/// sum_ij 2^(i+j) popcount(a_i XOR x_nj) at word v of vector n.
fn vector_sum(n: u32, v: u32, words: u32) -> u32 {
    var sum = 0u;
    for (var j = 0u; j < Q; j++) {
        let xw = x_planes[(n * Q + j) * words + v];
        var plane_sum = 0u;
        for (var i = 0u; i < P; i++) {
            plane_sum += countOneBits(a[i] ^ xw) << i;
        }
        sum += plane_sum << j;
    }
    return sum;
}

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
    // REPEAT: var acc{i} = 0u;
    for (var v = 0u; v < words; v++) {
        for (var i = 0u; i < P; i++) {
            a[i] = w_planes[(row * P + i) * words + v];
        }
        // REPEAT: acc{i} += vector_sum({i}u, v, words);
    }
    let full = params.lanes * ((1u << P) - 1u) * ((1u << Q) - 1u);
    // REPEAT: y[{i}u * params.rows + row] = i32(full) - 2 * i32(acc{i});
}
