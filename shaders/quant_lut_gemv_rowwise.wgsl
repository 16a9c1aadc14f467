// SqueezeLLM LUT-GEMV with the sparse part fused, variant for CPU adapters (SwiftShader,
// lavapipe): y = (Q + S) x, as quant_lut_gemv.wgsl. Rust reference: src/labs/quant/lut.rs
// `lut_gemv_reference`. Index layout as in quant_lut_gemv.wgsl (src/labs/quant/pack.rs).
//
// Four rows per thread, no workgroup memory and no barriers (software adapters run a
// workgroup's invocations as SIMD lanes and pay a context switch per barrier, see
// gemv_f32_rowwise.wgsl). BITS is set per pipeline (src/gpu/kernel.rs `with_constants`), so every
// shift below is a constant. Rows are padded to whole units of 128 codes (BITS vec4 of codes, as
// the team shape's layout in src/labs/quant/lut.rs, index 0 against x = 0): a lane loads its
// codes a vec4 at a time (software adapters pay per load and lane, not per byte: four times
// fewer loads than word by word, lavapipe 1.65 -> 1.21 ms at 2048^2 for 4 bits), a 4-bit group
// of 32 codes where it is used, a 2- or 3-bit unit at once (its groups straddle vec4), then walks
// the codes eight at a time (an octet, 8 BITS <= 32 bits) against two vec4 of x, which every
// lane reads alike and which serve all four rows.

const WG_SIZE: u32 = 64u;
const BITS: u32 = 4u;
// How a code becomes its codebook entry, per adapter (src/labs/quant/lut.rs `Lookup`): 0, a
// tree of selects on registers (lavapipe, where it measures fastest); 1, a load from the
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
    // Units of 128 codes per row (BITS vec4 of idx each).
    units: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<vec4<u32>>;
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

/// A row's unit of 128 2- or 3-bit codes: BITS vec4 (v2 unused at 2 bits).
struct Unit {
    v0: vec4<u32>,
    v1: vec4<u32>,
    v2: vec4<u32>,
}

fn load_unit(at: u32) -> Unit {
    var u = Unit(idx[at], idx[at + 1u], vec4<u32>(0u));
    if (BITS > 2u) {
        u.v2 = idx[at + 2u];
    }
    return u;
}

/// The four octets of group g (codes 32 g .. 32 g + 31) of a 2- or 3-bit unit (4-bit groups are
/// a vec4 each, `group_step_4bit`), octet k's code i at bits
/// i BITS (bits past 8 BITS are the next octet's, which the lookups ignore). A group is BITS
/// consecutive words of the unit; g is a literal at every call, so the branches fold away.
fn group_octets(u: Unit, g: u32) -> vec4<u32> {
    if (BITS == 3u) {
        // Words 3g, 3g + 1, 3g + 2 of the unit's twelve; octets of 24 bits.
        var w = vec3<u32>(u.v0.x, u.v0.y, u.v0.z);
        if (g == 1u) {
            w = vec3<u32>(u.v0.w, u.v1.x, u.v1.y);
        } else if (g == 2u) {
            w = vec3<u32>(u.v1.z, u.v1.w, u.v2.x);
        } else if (g == 3u) {
            w = vec3<u32>(u.v2.y, u.v2.z, u.v2.w);
        }
        return vec4<u32>(w.x, (w.x >> 24u) | (w.y << 8u), (w.y >> 16u) | (w.z << 16u), w.z >> 8u);
    }
    // Two bits: words 2g, 2g + 1; octets of 16 bits.
    let w = select(u.v0.xy, u.v0.zw, g == 1u);
    let w2 = select(u.v1.xy, u.v1.zw, g == 3u);
    let ws = select(w, w2, g >= 2u);
    return vec4<u32>(ws.x, ws.x >> 16u, ws.y, ws.y >> 16u);
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

/// One row's 32 products for a group's four octets o against its eight vec4 of x.
fn group_dot(row: u32, b: Book, o: vec4<u32>, xs: Xs) -> f32 {
    return octet_dot(row, b, o.x, xs.a0, xs.b0) + octet_dot(row, b, o.y, xs.a1, xs.b1)
        + octet_dot(row, b, o.z, xs.a2, xs.b2) + octet_dot(row, b, o.w, xs.a3, xs.b3);
}

/// A group's 32 entries of x, two vec4 per octet.
struct Xs {
    a0: vec4<f32>,
    b0: vec4<f32>,
    a1: vec4<f32>,
    b1: vec4<f32>,
    a2: vec4<f32>,
    b2: vec4<f32>,
    a3: vec4<f32>,
    b3: vec4<f32>,
}

fn load_xs(group: u32) -> Xs {
    let at = group * 8u;
    return Xs(x[at], x[at + 1u], x[at + 2u], x[at + 3u], x[at + 4u], x[at + 5u], x[at + 6u], x[at + 7u]);
}

/// Four rows' products for one group of 4-bit codes: each row's four octets are one vec4 of
/// idx, loaded where used (holding whole units of four rows as well as their codebooks in
/// registers spills on lavapipe: 2.1 ms against 1.2 ms at 2048^2).
fn group_step_4bit(
    acc: ptr<function, vec4<f32>>,
    rows: vec4<u32>,
    books: array<Book, 4>,
    at: vec4<u32>,
    group: u32,
) {
    let xs = load_xs(group);
    (*acc).x += group_dot(rows.x, books[0], idx[at.x], xs);
    (*acc).y += group_dot(rows.y, books[1], idx[at.y], xs);
    (*acc).z += group_dot(rows.z, books[2], idx[at.z], xs);
    (*acc).w += group_dot(rows.w, books[3], idx[at.w], xs);
}

/// Four rows' products for group g (a literal) of their units u0..u3, accumulated into acc.
fn group_step(
    acc: ptr<function, vec4<f32>>,
    rows: vec4<u32>,
    books: array<Book, 4>,
    u0: Unit, u1: Unit, u2: Unit, u3: Unit,
    group: u32,
    g: u32,
) {
    let xs = load_xs(group);
    (*acc).x += group_dot(rows.x, books[0], group_octets(u0, g), xs);
    (*acc).y += group_dot(rows.y, books[1], group_octets(u1, g), xs);
    (*acc).z += group_dot(rows.z, books[2], group_octets(u2, g), xs);
    (*acc).w += group_dot(rows.w, books[3], group_octets(u3, g), xs);
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
    // Four adjacent rows per thread: each load of x serves all four (software adapters load x
    // per lane). Past the last row a thread repeats the last one, written once.
    let first = ((wg.x + wg.y * groups.x) * WG_SIZE + lid) * 4u;
    if (first >= params.rows) {
        return;
    }
    let last = params.rows - 1u;
    let row1 = min(first + 1u, last);
    let row2 = min(first + 2u, last);
    let row3 = min(first + 3u, last);
    let book0 = load_book(first * ENTRIES);
    let book1 = load_book(row1 * ENTRIES);
    let book2 = load_book(row2 * ENTRIES);
    let book3 = load_book(row3 * ENTRIES);
    let rows = vec4<u32>(first, row1, row2, row3);
    let books = array<Book, 4>(book0, book1, book2, book3);
    let stride = params.units * BITS;
    var acc = vec4<f32>(0.0);
    let starts = rows * stride;
    if (BITS == 4u) {
        for (var group = 0u; group < params.units * 4u; group++) {
            group_step_4bit(&acc, rows, books, starts + vec4<u32>(group), group);
        }
    } else {
        for (var n = 0u; n < params.units; n++) {
            let u0 = load_unit(starts.x + n * BITS);
            let u1 = load_unit(starts.y + n * BITS);
            let u2 = load_unit(starts.z + n * BITS);
            let u3 = load_unit(starts.w + n * BITS);
            // The unit's four groups, spelled out so that each octet's words are fixed.
            group_step(&acc, rows, books, u0, u1, u2, u3, n * 4u, 0u);
            group_step(&acc, rows, books, u0, u1, u2, u3, n * 4u + 1u, 1u);
            group_step(&acc, rows, books, u0, u1, u2, u3, n * 4u + 2u, 2u);
            group_step(&acc, rows, books, u0, u1, u2, u3, n * 4u + 3u, 3u);
        }
    }
    y[first] = acc.x + sparse_dot(first);
    if (first + 1u < params.rows) {
        y[first + 1u] = acc.y + sparse_dot(row1);
    }
    if (first + 2u < params.rows) {
        y[first + 2u] = acc.z + sparse_dot(row2);
    }
    if (first + 3u < params.rows) {
        y[first + 3u] = acc.w + sparse_dot(row3);
    }
}
