// SqueezeLLM LUT-GEMV with the sparse part fused, variant for GPUs: y = (Q + S) x, as
// quant_lut_gemv.wgsl. Rust reference: src/labs/quant/lut.rs `lut_gemv_reference`.
// Prelude: shaders/lib/team_sum_subgroup.wgsl where the adapter has subgroups, else
// shaders/lib/team_sum_shared.wgsl.
//
// Bytes first (docs/BENCHMARKS.md, "Quantized kernels"): at BITS bits a weight is BITS/32 of an
// f32 one, so the kernel is only faster if each byte of codes costs no more than a byte of f32
// weights does in the f32 GEMV. So:
// - BITS, TEAM, ROWS_PER_TEAM and WG_SIZE are constants set per pipeline (src/gpu/kernel.rs
//   `with_constants`): every shift and word index below folds to a constant.
// - A team of TEAM threads (at least a subgroup) owns ROWS_PER_TEAM rows. Each thread takes a
//   unit of 128 codes per row per step: BITS vec4<u32> loads (for 4 bits one vec4 = 32 codes per
//   group, four groups), neighbouring threads on neighbouring units (coalesced). Rows are padded
//   to whole units on the device (prepare pads with index 0, x with zeros).
// - The 32 vec4 of x a unit needs are loaded once and used for all ROWS_PER_TEAM rows.
// - The codebooks of the workgroup's rows sit in workgroup memory: the threads of a team read one
//   row's 2^BITS consecutive entries at a time, which lie in distinct banks (conflict-free;
//   equal indices broadcast).
// - The row's sparse entries follow (the team owns the row: no atomics), then one team sum.

const WG_SIZE: u32 = 256u;
const TEAM: u32 = 32u;
const ROWS_PER_TEAM: u32 = 2u;
const BITS: u32 = 4u;
const ENTRIES: u32 = 1u << BITS;
const MASK: u32 = ENTRIES - 1u;
const ROWS_PER_WG: u32 = (WG_SIZE / TEAM) * ROWS_PER_TEAM;
// Words of one unit (four groups of 32 codes) and its vec4 loads.
const UNIT_WORDS: u32 = 4u * BITS;

struct Params {
    rows: u32,
    // vec4<u32> per padded row (BITS per unit).
    row_vec4s: u32,
    units: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> luts: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(4) var<storage, read> sp_col: array<u32>;
@group(0) @binding(5) var<storage, read> sp_val: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

var<workgroup> books: array<f32, ROWS_PER_WG * ENTRIES>;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let first_row = (wg.x + wg.y * groups.x) * ROWS_PER_WG;
    for (var i = lid; i < ROWS_PER_WG * ENTRIES; i += WG_SIZE) {
        if (first_row + i / ENTRIES < params.rows) {
            books[i] = luts[first_row * ENTRIES + i];
        }
    }
    workgroupBarrier();
    let team = lid / TEAM;
    let lane = lid % TEAM;
    let slot0 = team * ROWS_PER_TEAM;
    var acc: array<f32, ROWS_PER_TEAM>;
    // No early return: every thread must reach the barriers of the team sums.
    for (var u = lane; u < params.units; u += TEAM) {
        // The unit's words of each row, row r at r * UNIT_WORDS.
        var words: array<u32, UNIT_WORDS * ROWS_PER_TEAM>;
        for (var r = 0u; r < ROWS_PER_TEAM; r++) {
            let row = min(first_row + slot0 + r, params.rows - 1u);
            let base = row * params.row_vec4s + u * BITS;
            for (var v = 0u; v < BITS; v++) {
                let q = idx[base + v];
                let at = r * UNIT_WORDS + 4u * v;
                words[at] = q.x;
                words[at + 1u] = q.y;
                words[at + 2u] = q.z;
                words[at + 3u] = q.w;
            }
        }
        for (var g = 0u; g < 4u; g++) {
            for (var o = 0u; o < 4u; o++) {
                // Octet o of group g: codes 8o..8o+7, 8 BITS <= 32 bits from one word or two
                // adjacent ones.
                let bit = o * 8u * BITS;
                let wi = g * BITS + (bit >> 5u);
                let sh = bit & 31u;
                let xa = x[u * 32u + g * 8u + 2u * o];
                let xb = x[u * 32u + g * 8u + 2u * o + 1u];
                for (var r = 0u; r < ROWS_PER_TEAM; r++) {
                    var v = words[r * UNIT_WORDS + wi] >> sh;
                    if (sh + 8u * BITS > 32u) {
                        v |= words[r * UNIT_WORDS + wi + 1u] << ((32u - sh) & 31u);
                    }
                    let book = (slot0 + r) * ENTRIES;
                    acc[r] += books[book + (v & MASK)] * xa.x
                        + books[book + ((v >> BITS) & MASK)] * xa.y
                        + books[book + ((v >> (2u * BITS)) & MASK)] * xa.z
                        + books[book + ((v >> (3u * BITS)) & MASK)] * xa.w
                        + books[book + ((v >> (4u * BITS)) & MASK)] * xb.x
                        + books[book + ((v >> (5u * BITS)) & MASK)] * xb.y
                        + books[book + ((v >> (6u * BITS)) & MASK)] * xb.z
                        + books[book + ((v >> (7u * BITS)) & MASK)] * xb.w;
                }
            }
        }
    }
    for (var r = 0u; r < ROWS_PER_TEAM; r++) {
        let row = first_row + slot0 + r;
        if (row < params.rows) {
            for (var k = row_ptr[row] + lane; k < row_ptr[row + 1u]; k += TEAM) {
                let c = sp_col[k];
                acc[r] += sp_val[k] * x[c >> 2u][c & 3u];
            }
        }
        let total = team_sum_f32(acc[r], lid);
        if (lane == 0u && row < params.rows) {
            y[row] = total;
        }
    }
}
