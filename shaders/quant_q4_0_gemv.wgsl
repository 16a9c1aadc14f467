// llama.cpp Q4_0 GEMV, dequantizing on the fly: y[r] = sum over blocks b of
// d[r][b] * sum_j (q[r][b][j] - 8) x[32 b + j].
// Rust reference: src/labs/quant/q4.rs `q4_gemv_reference`.
//
// Layout (llama.cpp's block_q4_0 split into two arrays so loads stay aligned): per block one
// f16 scale d (two per u32 word, block 2k in the low half) and 16 bytes of codes as one
// vec4<u32>, byte t of the block's 16 holding element t in its low nibble and element t + 16 in
// its high nibble. So word w (0..3) holds elements 4w..4w+3 (low nibbles) and 16+4w..16+4w+3
// (high nibbles): two vec4s of x, the (w)th and (4 + w)th of the block. x is padded with zeros
// to whole blocks.
//
// One workgroup per row, a thread per block strided by the workgroup size (neighbouring threads
// read neighbouring 16-byte code vectors), a tree reduction at the end.

const WG_SIZE: u32 = 64u;

struct Params {
    rows: u32,
    blocks_per_row: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> codes: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> scales: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> partial: array<f32, WG_SIZE>;

fn nibbles(v: u32, shift: u32) -> vec4<f32> {
    return vec4<f32>(
        f32((v >> shift) & 15u),
        f32((v >> (shift + 8u)) & 15u),
        f32((v >> (shift + 16u)) & 15u),
        f32((v >> (shift + 24u)) & 15u),
    ) - vec4<f32>(8.0);
}

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = wg.x + wg.y * groups.x;
    var acc = 0.0;
    // No early return: every thread must reach the barriers.
    if (row < params.rows) {
        let nb = params.blocks_per_row;
        for (var b = lid; b < nb; b += WG_SIZE) {
            let block = row * nb + b;
            let q = codes[block];
            let pair = unpack2x16float(scales[block >> 1u]);
            let d = select(pair.x, pair.y, (block & 1u) == 1u);
            let xb = b * 8u;
            var s = dot(nibbles(q.x, 0u), x[xb]) + dot(nibbles(q.x, 4u), x[xb + 4u]);
            s += dot(nibbles(q.y, 0u), x[xb + 1u]) + dot(nibbles(q.y, 4u), x[xb + 5u]);
            s += dot(nibbles(q.z, 0u), x[xb + 2u]) + dot(nibbles(q.z, 4u), x[xb + 6u]);
            s += dot(nibbles(q.w, 0u), x[xb + 3u]) + dot(nibbles(q.w, 4u), x[xb + 7u]);
            acc += d * s;
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
