// f32 GEMM, Y = X Wᵀ for a batch of activation vectors: y[n][r] = sum_k w[r][k] x[n][k], W row-major
// (rows x cols), X row-major (batch x cols), Y (batch x rows). Rust reference:
// src/kernels/gemm_f32.rs `gemm_f32_reference`.
//
// Variant for GPUs: the classic shared-memory tiling. A 16 x 16 workgroup owns 16 rows x 16
// vectors; per step of 16 columns each thread loads one element of the W tile and one of the X
// tile (neighbouring threads on neighbouring columns: coalesced), a barrier, 16 multiply-adds
// from workgroup memory, a barrier. Each W element is read from memory once per 16 vectors.
// The X tile's rows are padded to 17 floats so the 16 threads of a row of outputs read 16 banks.
// CPU adapters get gemm_f32_rowwise.wgsl.

const TILE: u32 = 16u;

struct Params {
    rows: u32,
    cols: u32,
    batch: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> w_tile: array<f32, TILE * (TILE + 1u)>;
var<workgroup> x_tile: array<f32, TILE * (TILE + 1u)>;

@compute @workgroup_size(16, 16)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let tx = lid.x;
    let ty = lid.y;
    let r0 = wg.x * TILE;
    let n0 = wg.y * TILE;
    let cols = params.cols;
    var acc = 0.0;
    // No early return: every thread must reach the barriers.
    for (var k0 = 0u; k0 < cols; k0 += TILE) {
        let k = k0 + tx;
        let wr = r0 + ty;
        let xn = n0 + ty;
        w_tile[ty * (TILE + 1u) + tx] = select(0.0, w[min(wr * cols + k, arrayLength(&w) - 1u)], wr < params.rows && k < cols);
        x_tile[ty * (TILE + 1u) + tx] = select(0.0, x[min(xn * cols + k, arrayLength(&x) - 1u)], xn < params.batch && k < cols);
        workgroupBarrier();
        // Output (row r0 + ty, vector n0 + tx).
        for (var kk = 0u; kk < TILE; kk++) {
            acc += w_tile[ty * (TILE + 1u) + kk] * x_tile[tx * (TILE + 1u) + kk];
        }
        workgroupBarrier();
    }
    let r = r0 + ty;
    let n = n0 + tx;
    if (r < params.rows && n < params.batch) {
        y[n * params.rows + r] = acc;
    }
}
