// f32 GEMV, variant for CPU adapters (SwiftShader, lavapipe): y = W x, W row-major
// (rows x cols), cols a multiple of 4. Rust reference: src/kernels/gemv_f32.rs
// `gemv_f32_reference` (the same reference as gemv_f32.wgsl).
//
// Four rows per thread, no workgroup memory and no barriers. Software rasterisers run the
// invocations of a workgroup as SIMD lanes or coroutines, where each barrier is a context
// switch per invocation; this shape avoids them and lets each lane stream its own row. On a
// real GPU the loads of neighbouring threads are a row apart (not coalesced): there the
// workgroup-per-row variant wins.

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

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    // Four adjacent rows per thread: each load of x serves all four. Software adapters load x
    // per lane (they do not see that every lane reads the same element), so sharing it saves
    // loads: 9.2 -> 6.0 -> 4.4 ms on SwiftShader and 3.1 -> 2.4 -> 1.95 ms on lavapipe at
    // 2048^2 for one, two and four rows (docs/BENCHMARKS.md). Past the last row a thread
    // repeats the last one, written once.
    let first = ((wg.x + wg.y * groups.x) * WG_SIZE + lid) * 4u;
    if (first >= params.rows) {
        return;
    }
    let last = params.rows - 1u;
    let base0 = first * params.cols_vec4;
    let base1 = min(first + 1u, last) * params.cols_vec4;
    let base2 = min(first + 2u, last) * params.cols_vec4;
    let base3 = min(first + 3u, last) * params.cols_vec4;
    var acc0 = 0.0;
    var acc1 = 0.0;
    var acc2 = 0.0;
    var acc3 = 0.0;
    for (var c = 0u; c < params.cols_vec4; c++) {
        let xc = x[c];
        acc0 += dot(w[base0 + c], xc);
        acc1 += dot(w[base1 + c], xc);
        acc2 += dot(w[base2 + c], xc);
        acc3 += dot(w[base3 + c], xc);
    }
    y[first] = acc0;
    if (first + 1u < params.rows) {
        y[first + 1u] = acc1;
    }
    if (first + 2u < params.rows) {
        y[first + 2u] = acc2;
    }
    if (first + 3u < params.rows) {
        y[first + 3u] = acc3;
    }
}
