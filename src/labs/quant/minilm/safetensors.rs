//! A reader for the safetensors format (an 8-byte little-endian header length, a JSON header
//! naming each tensor's dtype, shape and byte range, then the data): F32 and F16 tensors.
//! The file is outside data: every length, offset and shape is checked, errors name the tensor.

use std::collections::HashMap;

use crate::labs::quant::formats::f16_to_f32;

#[derive(Clone, Debug)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// A parsed file: the header, with the data borrowed.
pub struct SafeTensors<'a> {
    entries: HashMap<String, Entry>,
    data: &'a [u8],
}

impl<'a> SafeTensors<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let len_bytes: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or("not a safetensors file: shorter than 8 bytes")?;
        let header_len = usize::try_from(u64::from_le_bytes(len_bytes))
            .map_err(|_| "not a safetensors file: header length too large")?;
        let header_end = 8usize
            .checked_add(header_len)
            .filter(|&end| end <= bytes.len())
            .ok_or("not a safetensors file: the header runs past the end (truncated?)")?;
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..header_end])
                .map_err(|e| format!("not a safetensors file: header is not JSON ({e})"))?;
        let data = &bytes[header_end..];
        let mut entries = HashMap::new();
        for (name, meta) in header {
            if name == "__metadata__" {
                continue;
            }
            let bad = |what: &str| format!("tensor {name}: {what}");
            let dtype = meta["dtype"]
                .as_str()
                .ok_or_else(|| bad("no dtype"))?
                .to_owned();
            let shape = meta["shape"]
                .as_array()
                .ok_or_else(|| bad("no shape"))?
                .iter()
                .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
                .collect::<Option<Vec<usize>>>()
                .ok_or_else(|| bad("shape is not a list of sizes"))?;
            let offsets = meta["data_offsets"]
                .as_array()
                .filter(|o| o.len() == 2)
                .and_then(|o| Some((o[0].as_u64()?, o[1].as_u64()?)))
                .ok_or_else(|| bad("data_offsets is not [start, end]"))?;
            let (start, end) = (offsets.0 as usize, offsets.1 as usize);
            if start > end || end > data.len() {
                return Err(bad(&format!(
                    "bytes {start}..{end} outside the {} data bytes (truncated file?)",
                    data.len()
                )));
            }
            entries.insert(
                name,
                Entry {
                    dtype,
                    shape,
                    start,
                    end,
                },
            );
        }
        Ok(Self { entries, data })
    }

    /// The tensor as f32 values with its shape; F16 is widened exactly.
    pub fn tensor(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), String> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        let count = e
            .shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| format!("tensor {name}: shape overflows"))?;
        let bytes = &self.data[e.start..e.end];
        let width = match e.dtype.as_str() {
            "F32" => 4,
            "F16" => 2,
            other => return Err(format!("tensor {name}: dtype {other}, expected F32 or F16")),
        };
        if bytes.len() != count * width {
            return Err(format!(
                "tensor {name}: {} bytes for shape {:?} of {}",
                bytes.len(),
                e.shape,
                e.dtype
            ));
        }
        let values = if width == 4 {
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        } else {
            bytes
                .chunks_exact(2)
                .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect()
        };
        Ok((e.shape.clone(), values))
    }

    /// The tensor, checked to have exactly `shape`.
    pub fn expect(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let (actual, values) = self.tensor(name)?;
        if actual != shape {
            return Err(format!(
                "tensor {name}: shape {actual:?}, expected {shape:?}"
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!("tensor {name}: element {i} is not finite"));
        }
        Ok(values)
    }
}

/// Writes tensors as a safetensors file (F32 or F16), for tests and the page's f16 subset.
pub fn write(tensors: &[(&str, &[usize], &[f32])], f16: bool) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let start = data.len();
        for &v in *values {
            if f16 {
                data.extend_from_slice(&crate::labs::quant::formats::f16_bits(v).to_le_bytes());
            } else {
                data.extend_from_slice(&v.to_le_bytes());
            }
        }
        header.insert(
            (*name).to_owned(),
            serde_json::json!({
                "dtype": if f16 { "F16" } else { "F32" },
                "shape": shape,
                "data_offsets": [start, data.len()],
            }),
        );
    }
    let header = serde_json::Value::Object(header).to_string();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let bytes = write(&[("a", &[2, 2], &[1.0, -2.0, 0.5, 3.0])], false);
        let st = SafeTensors::parse(&bytes).unwrap();
        assert_eq!(st.expect("a", &[2, 2]).unwrap(), vec![1.0, -2.0, 0.5, 3.0]);
        assert!(st.expect("a", &[4]).unwrap_err().contains("shape"));
        assert!(st.tensor("b").unwrap_err().contains("missing"));
        let half = write(&[("a", &[3], &[1.0, 0.1, -65504.0])], true);
        let (_, v) = SafeTensors::parse(&half).unwrap().tensor("a").unwrap();
        assert_eq!(
            v,
            vec![1.0, crate::labs::quant::formats::f16_round(0.1), -65504.0]
        );
        // Truncated data, truncated header, garbage.
        assert!(SafeTensors::parse(&bytes[..bytes.len() - 1]).is_err());
        assert!(SafeTensors::parse(&bytes[..20]).is_err());
        assert!(SafeTensors::parse(b"\xff\xff\xff\xff\xff\xff\xff\xffxx").is_err());
        assert!(SafeTensors::parse(b"abc").is_err());
    }
}
