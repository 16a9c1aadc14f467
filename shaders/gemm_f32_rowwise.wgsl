// f32 GEMM, Y = X Wᵀ for a batch of BATCH activation vectors, variant for CPU adapters
// (SwiftShader, lavapipe); layout and reference as gemm_f32_tiled.wgsl
// (src/kernels/gemm_f32.rs `gemm_f32_reference`).
//
// A thread per four rows and no barriers (see gemv_f32_rowwise.wgsl): a lane reads each vec4 of
// its rows of W once and applies it to all BATCH vectors, whose vec4s at that column are the
// same for every lane and serve all four rows (software adapters load per lane: with one row
// per thread x made 16 of every 17 loads; lavapipe 24 -> 8.7 ms, SwiftShader 58 -> 20-23 ms at
// 2048^2 x 16). The BATCH sums are separate variables in registers (a vec4, one component per
// row): the REPEAT lines are expanded once per vector (src/gpu/kernel.rs `with_repeats`; an
// indexed array of sums ran 1.8x slower on lavapipe, docs/BENCHMARKS.md).

const WG_SIZE: u32 = 64u;

struct Params {
    rows: u32,
    // cols / 4
    cols_vec4: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = ((wg.x + wg.y * groups.x) * WG_SIZE + lid) * 4u;
    if (row >= params.rows) {
        return;
    }
    let last = params.rows - 1u;
    let row1 = min(row + 1u, last);
    let row2 = min(row + 2u, last);
    let row3 = min(row + 3u, last);
    let c4 = params.cols_vec4;
    // REPEAT: var acc{i} = vec4<f32>(0.0);
    for (var k = 0u; k < c4; k++) {
        let wv = w[row * c4 + k];
        let wv1 = w[row1 * c4 + k];
        let wv2 = w[row2 * c4 + k];
        let wv3 = w[row3 * c4 + k];
        // REPEAT: { let xv = x[{i}u * c4 + k]; acc{i} += vec4<f32>(dot(wv, xv), dot(wv1, xv), dot(wv2, xv), dot(wv3, xv)); }
    }
    // REPEAT: y[{i}u * params.rows + row] = acc{i}.x;
    if (row + 1u < params.rows) {
        // REPEAT: y[{i}u * params.rows + row + 1u] = acc{i}.y;
    }
    if (row + 2u < params.rows) {
        // REPEAT: y[{i}u * params.rows + row + 2u] = acc{i}.z;
    }
    if (row + 3u < params.rows) {
        // REPEAT: y[{i}u * params.rows + row + 3u] = acc{i}.w;
    }
}
