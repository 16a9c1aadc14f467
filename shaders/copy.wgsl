// Copy kernel: dst = src, as vec4<f32>. The measured bandwidth of this kernel is the memory
// roofline every later kernel is compared to. Rust reference: src/kernels/copy.rs `copy_reference`.
//
// Each workgroup copies one tile of WG_SIZE * ITEMS vec4s; inside a tile, consecutive threads
// touch consecutive vec4s on every iteration, so each iteration is one fully coalesced sweep.
// Workgroups are laid out on a 2D grid (x + y * groups_x) because one dimension is limited to
// max_compute_workgroups_per_dimension (65535 by default).

const WG_SIZE: u32 = 256u;
const ITEMS: u32 = 4u;

struct Params {
    n_vec4: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let tile = wg.x + wg.y * groups.x;
    let base = tile * (WG_SIZE * ITEMS) + lid;
    for (var k = 0u; k < ITEMS; k++) {
        let i = base + k * WG_SIZE;
        if (i < params.n_vec4) {
            dst[i] = src[i];
        }
    }
}
