// f32 GEMV: y = W x, W row-major (rows x cols), cols a multiple of 4 (read as vec4<f32>).
// Rust reference: src/kernels/gemv_f32.rs `gemv_f32_reference`.
//
// Variant for GPUs. One workgroup per row: the WG_SIZE threads stride along the row with vec4
// loads (each sweep of the workgroup reads one contiguous 1 KiB span: coalesced), then a tree
// reduction in workgroup memory. x is re-read by every row but stays in cache; the kernel is
// bound by streaming W, so its GB/s is compared to the copy kernel's. 64 threads rather than
// 256: fewer barriers per row and more loads in flight per thread, measured faster on lavapipe
// (2.3x) and at least as fast on a discrete GPU (docs/BENCHMARKS.md).
// CPU adapters (SwiftShader, lavapipe) get gemv_f32_rowwise.wgsl instead.
// Rows are laid out on a 2D grid of workgroups (row = x + y * groups_x) for large matrices.

const WG_SIZE: u32 = 64u;

struct Params {
    rows: u32,
    cols_vec4: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partial: array<f32, WG_SIZE>;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = wg.x + wg.y * groups.x;
    var acc = 0.0;
    // No early return: every thread must reach the barriers below.
    if (row < params.rows) {
        let base = row * params.cols_vec4;
        for (var c = lid; c < params.cols_vec4; c += WG_SIZE) {
            acc += dot(w[base + c], x[c]);
        }
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var stride = WG_SIZE / 2u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    if (lid == 0u && row < params.rows) {
        y[row] = partial[0];
    }
}
