//! Number formats the quantizers store: f16 (scales, codebooks) and the fixed IQ4_NL table.

/// `x` rounded to the nearest f16 value (10 mantissa bits, exponents -14..15, subnormals below),
/// returned as f32. Scales and codebooks are stored as f16, so errors are measured with them.
pub fn f16_round(x: f32) -> f32 {
    if !x.is_finite() || x == 0.0 {
        return if x.is_finite() {
            0.0
        } else {
            0.0f32.copysign(x)
        };
    }
    const MAX_F16: f32 = 65_504.0;
    let a = x.abs().min(MAX_F16);
    let exponent = a.log2().floor().clamp(-14.0, 15.0);
    let quantum = (exponent - 10.0).exp2();
    ((a / quantum).round() * quantum).min(MAX_F16).copysign(x)
}

/// llama.cpp's IQ4_NL table (kvalues_iq4nl): 16 non-uniform levels, scaled per block.
pub const IQ4NL_TABLE: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// The f16 bit pattern of a finite value that is already an f16 value (as `f16_round` gives):
/// sign, 5 exponent bits (bias 15), 10 mantissa bits; subnormals below 2^-14.
pub fn f16_bits(x: f32) -> u16 {
    let sign = if x.is_sign_negative() { 0x8000u16 } else { 0 };
    let a = f16_round(x).abs();
    if a == 0.0 {
        return sign;
    }
    if a < 2f32.powi(-14) {
        return sign | (a * 2f32.powi(24)).round() as u16;
    }
    let exponent = a.log2().floor() as i32;
    let mantissa = ((a / 2f32.powi(exponent) - 1.0) * 1024.0).round() as u16;
    sign | (((exponent + 15) as u16) << 10) | mantissa
}

#[cfg(test)]
mod tests {
    use super::{f16_bits, f16_round};

    #[test]
    fn f16_bits_invert_the_decoder() {
        for bits in 0..=u16::MAX {
            // Every finite pattern, negative zero and subnormals included; not inf/NaN.
            if (bits >> 10) & 0x1f == 31 {
                continue;
            }
            let x = crate::labs::quant::real::f16_to_f32(bits);
            assert_eq!(f16_bits(x), bits, "{bits:#06x} = {x}");
        }
    }

    #[test]
    fn f16_rounding_matches_known_values() {
        assert_eq!(f16_round(1.0), 1.0);
        assert_eq!(f16_round(0.1), 0.099_975_586);
        assert_eq!(f16_round(-std::f32::consts::PI), -3.140_625);
        assert_eq!(f16_round(1e9), 65_504.0);
        assert_eq!(f16_round(0.0), 0.0);
        // Subnormal range: multiples of 2^-24.
        assert_eq!(f16_round(1e-7), 2f32.powi(-24) * 2.0);
    }
}
