//! b-bit indices packed into u32 words along the input dimension, as the LUT-GEMV kernels read
//! them. 4-bit: 8 per word, index j at bits 4 (j % 8). 3-bit: 32 indices per 3 words, index j
//! at bit 3j of the 96-bit group (little-endian across the three words), so indices 10 and 21
//! straddle word boundaries. Other widths (2, 5..8) use the same rule as 3-bit: a bit stream,
//! index j at bit b*j, in groups of 32 indices (b words).

/// Words for one row of `cols` indices at `bits` per index.
pub fn words_per_row(cols: usize, bits: u32) -> usize {
    cols.div_ceil(32) * bits as usize
}

/// Packs one row of indices (each < 2^bits).
pub fn pack_row(indices: &[u8], bits: u32) -> Vec<u32> {
    let mut words = vec![0u32; words_per_row(indices.len(), bits)];
    for (j, &q) in indices.iter().enumerate() {
        let bit = j * bits as usize;
        let (word, shift) = (bit / 32, bit % 32);
        let v = u64::from(q) & ((1u64 << bits) - 1);
        let wide = v << shift;
        words[word] |= wide as u32;
        if shift + bits as usize > 32 {
            words[word + 1] |= (wide >> 32) as u32;
        }
    }
    words
}

/// Index `j` of a packed row.
pub fn unpack(words: &[u32], bits: u32, j: usize) -> u8 {
    let bit = j * bits as usize;
    let (word, shift) = (bit / 32, bit % 32);
    let mut v = u64::from(words[word]) >> shift;
    if shift + bits as usize > 32 {
        v |= u64::from(words[word + 1]) << (32 - shift);
    }
    (v & ((1u64 << bits) - 1)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_width_and_the_documented_layouts() {
        for bits in 2..=8u32 {
            for cols in [1, 31, 32, 33, 100] {
                let idx: Vec<u8> = (0..cols)
                    .map(|j| ((j * 7 + 3) % (1 << bits)) as u8)
                    .collect();
                let words = pack_row(&idx, bits);
                assert_eq!(words.len(), words_per_row(cols, bits));
                for (j, &q) in idx.iter().enumerate() {
                    assert_eq!(unpack(&words, bits, j), q, "bits {bits} cols {cols} j {j}");
                }
            }
        }
        // 4-bit: index j at bits 4 (j % 8).
        assert_eq!(pack_row(&[1, 2, 3, 4, 5, 6, 7, 8], 4)[0], 0x8765_4321);
        // 3-bit: index 10 straddles words 0 and 1 (bits 30..33).
        let mut idx = [0u8; 32];
        idx[10] = 0b111;
        let w = pack_row(&idx, 3);
        assert_eq!(w, vec![0b11 << 30, 0b1, 0]);
    }
}
