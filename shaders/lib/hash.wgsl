// Counter-based random numbers shared by the kernels that draw them (prepended by
// `shader!(name, prelude: "hash")`). Rust twins: src/rng.rs `hash32`, `hash3`, `unit_f32`,
// with the same operation order, so the GPU and its reference draw the same numbers.

fn hash32(v: u32) -> u32 {
    var x = v;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

fn hash3(seed: u32, stream: u32, counter: u32) -> u32 {
    let h = hash32(counter ^ 0x9e3779b9u);
    let h2 = hash32(stream + h);
    return hash32(seed + h2);
}

fn unit(h: u32) -> f32 {
    return f32(h >> 8u) * (1.0 / 16777216.0);
}
