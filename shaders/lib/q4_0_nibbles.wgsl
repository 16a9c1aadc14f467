// Q4_0's four codes at `shift` of the four bytes of v, as q - 8 (llama.cpp's offset): the shared
// decode of quant_q4_0_gemv_team.wgsl and _rowwise.wgsl.

fn nibbles(v: u32, shift: u32) -> vec4<f32> {
    return vec4<f32>(
        f32((v >> shift) & 15u),
        f32((v >> (shift + 8u)) & 15u),
        f32((v >> (shift + 16u)) & 15u),
        f32((v >> (shift + 24u)) & 15u),
    ) - vec4<f32>(8.0);
}
