//! Number formats the quantizers store: f16 (scales, codebooks) and the fixed IQ4_NL table.

/// `x` rounded to the nearest f16 value, returned as f32: IEEE round-to-nearest, ties to even
/// (as llama.cpp's `GGML_FP32_TO_FP16` and F16C), overflow to ±inf, NaN kept. Scales and
/// codebooks are stored as f16, so errors are measured with them.
pub fn f16_round(x: f32) -> f32 {
    half::f16::from_f32(x).to_f32()
}

/// f16 bits to f32 (every pattern: subnormals, ±inf, NaN).
pub fn f16_to_f32(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// llama.cpp's IQ4_NL table (kvalues_iq4nl): 16 non-uniform levels, scaled per block.
pub const IQ4NL_TABLE: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// The f16 bit pattern of `x` rounded to f16 (see [`f16_round`]).
pub fn f16_bits(x: f32) -> u16 {
    half::f16::from_f32(x).to_bits()
}

#[cfg(test)]
mod tests {
    use super::{f16_bits, f16_round, f16_to_f32};

    #[test]
    fn f16_bits_invert_the_decoder() {
        for bits in 0..=u16::MAX {
            let x = f16_to_f32(bits);
            if x.is_nan() {
                assert!(f16_round(x).is_nan());
                continue;
            }
            // Every other pattern, negative zero, subnormals and infinities included.
            assert_eq!(f16_bits(x), bits, "{bits:#06x} = {x}");
        }
    }

    #[test]
    fn f16_rounding_matches_known_values() {
        assert_eq!(f16_round(1.0), 1.0);
        assert_eq!(f16_round(0.1), 0.099_975_586);
        assert_eq!(f16_round(-std::f32::consts::PI), -3.140_625);
        assert_eq!(f16_round(0.0), 0.0);
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        // Subnormal range: multiples of 2^-24.
        assert_eq!(f16_round(1e-7), 2f32.powi(-24) * 2.0);
    }

    #[test]
    fn f16_ties_go_to_even_as_in_llama_cpp() {
        let ulp = 2f32.powi(-10);
        // Halfway between 1 and 1 + ulp: the even mantissa (1) wins, not the larger magnitude.
        assert_eq!(f16_round(1.0 + 0.5 * ulp), 1.0);
        assert_eq!(f16_round(-(1.0 + 0.5 * ulp)), -1.0);
        // Halfway between 1 + ulp (odd) and 1 + 2 ulp (even): up to the even one.
        assert_eq!(f16_round(1.0 + 1.5 * ulp), 1.0 + 2.0 * ulp);
        // Subnormal ties: 2.5 quanta of 2^-24 round to 2, 3.5 to 4.
        assert_eq!(f16_round(2.5 * 2f32.powi(-24)), 2.0 * 2f32.powi(-24));
        assert_eq!(f16_round(3.5 * 2f32.powi(-24)), 4.0 * 2f32.powi(-24));
    }

    #[test]
    fn f16_overflow_and_specials_follow_ieee() {
        assert_eq!(f16_round(65_504.0), 65_504.0);
        // Above the largest finite f16 by at least half an ulp (16): infinity, as llama.cpp.
        assert_eq!(f16_round(65_520.0), f32::INFINITY);
        assert_eq!(f16_round(-1e9), f32::NEG_INFINITY);
        assert_eq!(f16_round(f32::INFINITY), f32::INFINITY);
        assert!(f16_round(f32::NAN).is_nan());
        assert_eq!(f16_bits(f32::INFINITY), 0x7c00);
        assert!(f16_round(-0.0).is_sign_negative());
    }
}
