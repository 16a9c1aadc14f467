// SqueezeLLM LUT-GEMV with the sparse part fused, variant for CPU adapters (SwiftShader,
// lavapipe): y = (Q + S) x, as quant_lut_gemv.wgsl. Rust reference: src/labs/quant/lut.rs
// `lut_gemv_reference`. Index layout as in quant_lut_gemv.wgsl (src/labs/quant/pack.rs).
//
// One thread per row, no workgroup memory and no barriers (software adapters run a workgroup's
// invocations as SIMD lanes and pay a context switch per barrier, see gemv_f32_rowwise.wgsl).
// BITS is set per pipeline (src/gpu/kernel.rs `with_constants`), so every shift below is a
// constant. Each lane copies its row's 2^BITS codebook into registers (four vec4 at most), then walks the row eight
// codes at a time (8 BITS <= 32 bits, from one word or two adjacent ones: no octet leaves its
// group of 32) against two vec4 loads of x, which are the same for every lane (uniform loads).

const WG_SIZE: u32 = 64u;
const BITS: u32 = 4u;
// How a code becomes its codebook entry, per adapter (src/labs/quant/lut.rs `Lookup`): 0, a
// tree of selects on registers (lavapipe: 1.2x the f32 GEMV at 2048^2); 1, a load from the
// row's codebook in the storage buffer (SwiftShader, whose selects cost more: 0.50x against
// 0.36x with the tree; lavapipe 0.68x). Constant per pipeline, so the other branch folds away.
// 2, a load of two entries at once from the row's pair table (`pairs`: entry p holds the
// codebook entries of the codes p & MASK and p >> BITS, built once with the weights): half the
// index arithmetic and half the per-lane loads of 1.
const GATHER: u32 = 0u;
const ENTRIES: u32 = 1u << BITS;
const MASK: u32 = ENTRIES - 1u;
const PAIRS: u32 = ENTRIES * ENTRIES;
const PAIR_MASK: u32 = PAIRS - 1u;

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
// The rows' pair tables (PAIRS entries per row) where GATHER is 2; one unused entry otherwise.
@group(0) @binding(8) var<storage, read> pairs: array<vec2<f32>>;

/// Codebook entry of the code at bits `at`.. of v, from the entries held in four vec4 (q0 = entries 0..3, ...): a tree of
/// selects on the bits of c. Software adapters turn an indexed private array into a gather
/// from scratch memory or a chain of compares; this is 4 + 2 + 1 vector selects at most, all
/// in registers (docs/BENCHMARKS.md). The branches on ENTRIES are constant per pipeline.
fn entry(q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32>, v: u32, at: u32) -> f32 {
    var quad = q0;
    if (ENTRIES > 4u) {
        quad = select(q0, q1, bit_set(v, at + 2u));
    }
    if (ENTRIES > 8u) {
        quad = select(quad, select(q2, q3, bit_set(v, at + 2u)), bit_set(v, at + 3u));
    }
    let pair = select(quad.xy, quad.zw, bit_set(v, at + 1u));
    return select(pair.x, pair.y, bit_set(v, at));
}

/// Bit i of v, tested at the sign: one shift, whose sign a SIMD blend reads directly (where
/// `((v >> s) & m) != 0` costs a shift, an and, a compare and a negation).
fn bit_set(v: u32, i: u32) -> bool {
    return bitcast<i32>(v << (31u - i)) < 0;
}

/// A row's codebook in registers, four entries per vec4 (entries past 2^BITS are 0), for the
/// select tree.
struct Book {
    q0: vec4<f32>,
    q1: vec4<f32>,
    q2: vec4<f32>,
    q3: vec4<f32>,
}

fn load_book(book: u32) -> Book {
    var b = Book(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    if (GATHER != 0u) {
        return b; // the loads read the codebook (or pair table) where they need it
    }
    b.q0 = vec4<f32>(luts[book], luts[book + 1u], luts[book + 2u], luts[book + 3u]);
    if (ENTRIES > 4u) {
        b.q1 = vec4<f32>(luts[book + 4u], luts[book + 5u], luts[book + 6u], luts[book + 7u]);
    }
    if (ENTRIES > 8u) {
        b.q2 = vec4<f32>(luts[book + 8u], luts[book + 9u], luts[book + 10u], luts[book + 11u]);
        b.q3 = vec4<f32>(luts[book + 12u], luts[book + 13u], luts[book + 14u], luts[book + 15u]);
    }
    return b;
}

/// The eight codes of octet o of group g of a row (8 BITS <= 32 bits, from one word or two
/// adjacent ones: no octet leaves its group of 32), code k at bits k BITS.
fn octet(row_words: u32, g: u32, o: u32) -> u32 {
    let bit = o * 8u * BITS;
    let wi = row_words + g * BITS + (bit >> 5u);
    let sh = bit & 31u;
    var v = idx[wi] >> sh;
    if (sh + 8u * BITS > 32u) {
        v |= idx[wi + 1u] << ((32u - sh) & 31u);
    }
    return v;
}

/// One row's eight products for the octet v against x (xa, xb), in the pipeline's lookup.
fn octet_dot(row: u32, b: Book, v: u32, xa: vec4<f32>, xb: vec4<f32>) -> f32 {
    if (GATHER == 2u) {
        let pair_row = row * PAIRS;
        let p0 = pairs[pair_row + (v & PAIR_MASK)];
        let p1 = pairs[pair_row + ((v >> (2u * BITS)) & PAIR_MASK)];
        let p2 = pairs[pair_row + ((v >> (4u * BITS)) & PAIR_MASK)];
        let p3 = pairs[pair_row + ((v >> (6u * BITS)) & PAIR_MASK)];
        return dot(vec4<f32>(p0, p1), xa) + dot(vec4<f32>(p2, p3), xb);
    }
    if (GATHER == 1u) {
        let book = row * ENTRIES;
        return luts[book + (v & MASK)] * xa.x
            + luts[book + ((v >> BITS) & MASK)] * xa.y
            + luts[book + ((v >> (2u * BITS)) & MASK)] * xa.z
            + luts[book + ((v >> (3u * BITS)) & MASK)] * xa.w
            + luts[book + ((v >> (4u * BITS)) & MASK)] * xb.x
            + luts[book + ((v >> (5u * BITS)) & MASK)] * xb.y
            + luts[book + ((v >> (6u * BITS)) & MASK)] * xb.z
            + luts[book + ((v >> (7u * BITS)) & MASK)] * xb.w;
    }
    return entry(b.q0, b.q1, b.q2, b.q3, v, 0u) * xa.x
        + entry(b.q0, b.q1, b.q2, b.q3, v, BITS) * xa.y
        + entry(b.q0, b.q1, b.q2, b.q3, v, 2u * BITS) * xa.z
        + entry(b.q0, b.q1, b.q2, b.q3, v, 3u * BITS) * xa.w
        + entry(b.q0, b.q1, b.q2, b.q3, v, 4u * BITS) * xb.x
        + entry(b.q0, b.q1, b.q2, b.q3, v, 5u * BITS) * xb.y
        + entry(b.q0, b.q1, b.q2, b.q3, v, 6u * BITS) * xb.z
        + entry(b.q0, b.q1, b.q2, b.q3, v, 7u * BITS) * xb.w;
}

/// The row's sparse part against x.
fn sparse_dot(row: u32) -> f32 {
    var acc = 0.0;
    for (var k = row_ptr[row]; k < row_ptr[row + 1u]; k++) {
        let c = sp_col[k];
        acc += sp_val[k] * x[c >> 2u][c & 3u];
    }
    return acc;
}

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    // Two adjacent rows per thread: each load of x serves both (software adapters load x per
    // lane, so its loads are a third of a one-row kernel's time on SwiftShader).
    let first = ((wg.x + wg.y * groups.x) * WG_SIZE + lid) * 2u;
    if (first >= params.rows) {
        return;
    }
    // A last odd row repeats itself as the second (its result is not written twice).
    let second = min(first + 1u, params.rows - 1u);
    let book0 = load_book(first * ENTRIES);
    let book1 = load_book(second * ENTRIES);
    let words0 = first * params.words_per_row;
    let words1 = second * params.words_per_row;
    let groups_per_row = params.words_per_row / BITS;
    var acc0 = 0.0;
    var acc1 = 0.0;
    for (var g = 0u; g < groups_per_row; g++) {
        for (var o = 0u; o < 4u; o++) {
            let xa = x[g * 8u + 2u * o];
            let xb = x[g * 8u + 2u * o + 1u];
            acc0 += octet_dot(first, book0, octet(words0, g, o), xa, xb);
            acc1 += octet_dot(second, book1, octet(words1, g, o), xa, xb);
        }
    }
    y[first] = acc0 + sparse_dot(first);
    if (first + 1u < params.rows) {
        y[first + 1u] = acc1 + sparse_dot(second);
    }
}
