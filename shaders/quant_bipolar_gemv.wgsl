// Bipolar-INT GEMV by bit planes (arXiv 2409.17870): y[r] = sum_k W[r][k] x[k] for p-bit W and
// q-bit x with odd levels, exactly, in integers.
// Rust reference: src/labs/quant/bipolar.rs `dot` (itself checked against plain integer products).
//
// Layout: W row r, plane i (bit i of u = (L + 2^p - 1) / 2), word v at (r p + i) words + v; x
// plane j word v at j words + v; 32 lanes per word, padding lanes zero in both (they XOR to 0).
// With b = 2s - 1 in {-1, +1}, a one-bit product over K lanes is K - 2 popcount(a XOR w), so
// y = K (2^p - 1)(2^q - 1) - 2 sum_ij 2^(i+j) popcount(W_i XOR x_j): only the popcount sum is
// accumulated, in u32 (the host refuses shapes where K (2^p - 1)(2^q - 1) reaches 2^31).
//
// One workgroup per row; a thread per word strided by the workgroup size, the q words of x held
// in registers while the p planes of W stream past; a tree reduction at the end.

const WG_SIZE: u32 = 64u;

struct Params {
    rows: u32,
    words: u32,
    p: u32,
    q: u32,
    lanes: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> w_planes: array<u32>;
@group(0) @binding(1) var<storage, read> x_planes: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partial: array<u32, WG_SIZE>;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = wg.x + wg.y * groups.x;
    let words = params.words;
    let p = params.p;
    let q = params.q;
    var acc = 0u;
    // No early return: every thread must reach the barriers.
    if (row < params.rows) {
        let base = row * p * words;
        for (var v = lid; v < words; v += WG_SIZE) {
            var xs: array<u32, 8>;
            for (var j = 0u; j < q; j++) {
                xs[j] = x_planes[j * words + v];
            }
            for (var i = 0u; i < p; i++) {
                let a = w_planes[base + i * words + v];
                var plane_sum = 0u;
                for (var j = 0u; j < q; j++) {
                    plane_sum += countOneBits(a ^ xs[j]) << j;
                }
                acc += plane_sum << i;
            }
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
        let full = params.lanes * ((1u << p) - 1u) * ((1u << q) - 1u);
        y[row] = i32(full) - 2 * i32(partial[0]);
    }
}
