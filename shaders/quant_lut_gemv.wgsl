// SqueezeLLM LUT-GEMV with the sparse part fused: y = (Q + S) x, where row r of Q is
// lut[r][idx[r][j]] (a per-row codebook of 2^bits f32 entries) and S is CSR.
// Rust reference: src/labs/quant/lut.rs `lut_gemv_reference`.
//
// Index layout (src/labs/quant/pack.rs): per row, groups of 32 indices in `bits` u32 words, index
// j of a group at bit bits*j of the group's little-endian bit stream (4-bit: 8 per word, index
// j at bits 4 (j % 8); 3-bit: indices 10 and 21 straddle words). x is padded with zeros to a
// multiple of 32 (padding indices are 0 and meet x = 0).
//
// One workgroup per row (for 5 to 8 bits): the row's codebook goes to workgroup memory (the "LUT in fast memory"
// of the paper); each thread takes 4 consecutive indices at a time (at most 32 bits, from one
// word or two adjacent ones) with a vec4 of x, quads strided by the workgroup size, so
// neighbouring threads read neighbouring words and x spans (coalesced; a first version with a
// thread per group of 32 indices ran at 20 GB/s on an H200, docs/BENCHMARKS.md). Then the row's
// sparse entries (the same workgroup owns the row: no atomics), then a tree reduction.

const WG_SIZE: u32 = 64u;
// Set per pipeline (src/labs/quant/lut.rs): this shape runs the 5- to 8-bit widths, whose eight
// codes do not fit one word (the 2- to 4-bit widths run quant_lut_gemv_team.wgsl or _rowwise).
const BITS: u32 = 4u;

struct Params {
    rows: u32,
    bits: u32,
    words_per_row: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<u32>;
@group(0) @binding(1) var<storage, read> luts: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(4) var<storage, read> sp_col: array<u32>;
@group(0) @binding(5) var<storage, read> sp_val: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

var<workgroup> lut: array<f32, 256>;
var<workgroup> partial: array<f32, WG_SIZE>;

/// The four products of quad q (indices 4q..4q+3) of a row: at most 32 bits of indices, from
/// one word or two adjacent ones (four indices never leave their group of 32).
fn quad(row_words: u32, q: u32, bits: u32, mask: u32) -> f32 {
    let j0 = q * 4u;
    let bit = (j0 & 31u) * bits;
    let wi = row_words + (j0 >> 5u) * bits + (bit >> 5u);
    let sh = bit & 31u;
    var v = idx[wi] >> sh;
    if (sh + 4u * bits > 32u) {
        v |= idx[wi + 1u] << (32u - sh);
    }
    let xv = x[q];
    return lut[v & mask] * xv.x
        + lut[(v >> bits) & mask] * xv.y
        + lut[(v >> (2u * bits)) & mask] * xv.z
        + lut[(v >> (3u * bits)) & mask] * xv.w;
}

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = wg.x + wg.y * groups.x;
    let bits = BITS;
    let entries = 1u << bits;
    let mask = entries - 1u;
    if (row < params.rows) {
        for (var i = lid; i < entries; i += WG_SIZE) {
            lut[i] = luts[row * entries + i];
        }
    }
    workgroupBarrier();
    var acc = 0.0;
    // No early return: every thread must reach the barriers.
    if (row < params.rows) {
        let row_words = row * params.words_per_row;
        let quads = (params.words_per_row / bits) * 8u;
        // One quad per iteration: unrolling four in flight measured 13% slower on an H200.
        for (var q = lid; q < quads; q += WG_SIZE) {
            acc += quad(row_words, q, bits, mask);
        }
        for (var k = row_ptr[row] + lid; k < row_ptr[row + 1u]; k += WG_SIZE) {
            let c = sp_col[k];
            acc += sp_val[k] * x[c >> 2u][c & 3u];
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
