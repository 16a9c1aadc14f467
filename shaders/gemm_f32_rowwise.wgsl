// f32 GEMM, Y = X Wᵀ for a batch of BATCH activation vectors, variant for CPU adapters
// (SwiftShader, lavapipe); layout and reference as gemm_f32_tiled.wgsl
// (src/kernels/gemm_f32.rs `gemm_f32_reference`).
//
// One thread per row and no barriers (see gemv_f32_rowwise.wgsl): a lane reads each vec4 of its
// row of W once and applies it to all BATCH vectors, whose vec4s at that column are the same for
// every lane (uniform loads). The BATCH sums are separate variables in registers: the REPEAT
// lines are expanded once per vector (src/gpu/kernel.rs `with_repeats`; an indexed array of
// sums ran 1.8x slower on lavapipe, docs/BENCHMARKS.md).

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
    let row = (wg.x + wg.y * groups.x) * WG_SIZE + lid;
    if (row >= params.rows) {
        return;
    }
    let c4 = params.cols_vec4;
    // REPEAT: var acc{i} = 0.0;
    for (var k = 0u; k < c4; k++) {
        let wv = w[row * c4 + k];
        // REPEAT: acc{i} += dot(wv, x[{i}u * c4 + k]);
    }
    // REPEAT: y[{i}u * params.rows + row] = acc{i};
}
