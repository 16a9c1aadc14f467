//! Weights on disk: a small versioned binary format, so trained networks ship in `assets/`.
//!
//! Layout: magic `PLNN`, format version (u32 LE), length of the JSON spec (u32 LE), the spec as
//! JSON, then every parameter in `Mlp::parameters` order: f32 LE in version 1, IEEE f16 LE in
//! version 2 (shipped files: half the bytes, and well within the networks' own error). Files
//! are untrusted input: every length and value is checked before use.

use super::mlp::{Mlp, MlpSpec};

const MAGIC: &[u8; 4] = b"PLNN";
const VERSION_F32: u32 = 1;
const VERSION_F16: u32 = 2;
/// Larger specs or networks are refused: a corrupt header must not allocate gigabytes.
const MAX_SPEC_BYTES: usize = 64 * 1024;
const MAX_PARAMETERS: usize = 64 * 1024 * 1024;

#[derive(Debug, PartialEq)]
pub enum WeightsError {
    Truncated,
    BadMagic,
    UnsupportedVersion(u32),
    BadSpec(String),
    WrongLength { expected: usize, found: usize },
    NotFinite { index: usize },
}

impl std::fmt::Display for WeightsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated => write!(f, "weights file is truncated"),
            Self::BadMagic => write!(f, "not a paperlab weights file (bad magic)"),
            Self::UnsupportedVersion(v) => write!(f, "weights format version {v} is not supported"),
            Self::BadSpec(why) => write!(f, "bad network description: {why}"),
            Self::WrongLength { expected, found } => {
                write!(f, "expected {expected} parameters, found {found}")
            }
            Self::NotFinite { index } => write!(f, "parameter {index} is not finite"),
        }
    }
}

impl std::error::Error for WeightsError {}

impl Mlp {
    /// The f32 file (version 1): exact.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.serialise(VERSION_F32)
    }

    /// The f16 file (version 2): every parameter rounded to the nearest f16. Parameters past
    /// f16's range (65504) are refused, not turned into infinities.
    pub fn to_bytes_f16(&self) -> Result<Vec<u8>, WeightsError> {
        if let Some(index) = self
            .parameters()
            .position(|p| !half::f16::from_f32(*p).is_finite())
        {
            return Err(WeightsError::NotFinite { index });
        }
        Ok(self.serialise(VERSION_F16))
    }

    fn serialise(&self, version: u32) -> Vec<u8> {
        let spec = serde_json::to_vec(&self.spec).unwrap_or_default();
        let mut out = Vec::with_capacity(12 + spec.len() + 4 * self.parameter_count());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&(spec.len() as u32).to_le_bytes());
        out.extend_from_slice(&spec);
        for p in self.parameters() {
            if version == VERSION_F16 {
                out.extend_from_slice(&half::f16::from_f32(*p).to_le_bytes());
            } else {
                out.extend_from_slice(&p.to_le_bytes());
            }
        }
        out
    }

    /// The same network with every parameter rounded through f16 (what an f16 file holds).
    pub fn rounded_to_f16(&self) -> Self {
        let mut out = self.clone();
        for p in out.parameters_mut() {
            *p = half::f16::from_f32(*p).to_f32();
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        let header = bytes.get(..12).ok_or(WeightsError::Truncated)?;
        if &header[..4] != MAGIC {
            return Err(WeightsError::BadMagic);
        }
        let version = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let width = match version {
            VERSION_F32 => 4,
            VERSION_F16 => 2,
            _ => return Err(WeightsError::UnsupportedVersion(version)),
        };
        let spec_len = u32::from_le_bytes([header[8], header[9], header[10], header[11]]) as usize;
        if spec_len > MAX_SPEC_BYTES {
            return Err(WeightsError::BadSpec(format!("{spec_len} bytes")));
        }
        let spec_bytes = bytes
            .get(12..12 + spec_len)
            .ok_or(WeightsError::Truncated)?;
        let spec: MlpSpec =
            serde_json::from_slice(spec_bytes).map_err(|e| WeightsError::BadSpec(e.to_string()))?;
        let shapes = spec.layer_shapes();
        let expected = shapes
            .iter()
            .try_fold(0usize, |acc, &(i, o)| {
                i.checked_mul(o)
                    .and_then(|w| w.checked_add(o))
                    .and_then(|n| acc.checked_add(n))
            })
            .filter(|&n| n <= MAX_PARAMETERS && shapes.iter().all(|&(i, o)| i > 0 && o > 0))
            .ok_or_else(|| WeightsError::BadSpec("too many or empty layers".to_owned()))?;
        let data = &bytes[12 + spec_len..];
        if data.len() != expected * width {
            return Err(WeightsError::WrongLength {
                expected,
                found: data.len() / width,
            });
        }
        let mut mlp = Mlp::new(spec, 0);
        for (index, (p, chunk)) in mlp
            .parameters_mut()
            .zip(data.chunks_exact(width))
            .enumerate()
        {
            let value = match chunk {
                [a, b] => half::f16::from_le_bytes([*a, *b]).to_f32(),
                [a, b, c, d] => f32::from_le_bytes([*a, *b, *c, *d]),
                _ => return Err(WeightsError::Truncated),
            };
            if !value.is_finite() {
                return Err(WeightsError::NotFinite { index });
            }
            *p = value;
        }
        Ok(mlp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Activation;

    fn small() -> Mlp {
        Mlp::new(
            MlpSpec {
                inputs: 3,
                hidden: vec![4],
                outputs: 2,
                activation: Activation::LeakyRelu { slope: 0.01 },
                residual: false,
            },
            7,
        )
    }

    #[test]
    fn round_trip() {
        let mlp = small();
        assert_eq!(Mlp::from_bytes(&mlp.to_bytes()), Ok(mlp.clone()));
        // f16: half the parameter bytes, each value the nearest f16 (relative error <= 2^-11).
        let half_bytes = mlp.to_bytes_f16().expect("in range");
        let back = Mlp::from_bytes(&half_bytes).expect("f16 loads");
        assert_eq!(back, mlp.rounded_to_f16());
        for (a, b) in mlp.parameters().zip(back.parameters()) {
            assert!((a - b).abs() <= a.abs() / 2048.0 + 1e-7, "{a} vs {b}");
        }
        assert_eq!(
            mlp.to_bytes().len() - half_bytes.len(),
            2 * mlp.parameter_count()
        );
        let mut huge = mlp.clone();
        if let Some(p) = huge.parameters_mut().nth(3) {
            *p = 1e6;
        }
        assert_eq!(
            huge.to_bytes_f16(),
            Err(WeightsError::NotFinite { index: 3 })
        );
    }

    /// A residual network keeps its connections through a file; a plain one writes no
    /// `residual` key, so files written before the key existed are byte for byte what a plain
    /// network writes now, and they load as plain networks.
    #[test]
    fn residual_connections_survive_a_file_and_plain_files_are_unchanged() {
        let spec = MlpSpec {
            inputs: 3,
            hidden: vec![4, 4],
            outputs: 2,
            activation: Activation::LeakyRelu { slope: 0.01 },
            residual: true,
        };
        let residual = Mlp::new(spec, 7);
        let back = Mlp::from_bytes(&residual.to_bytes()).expect("loads");
        assert!(back.spec.residual);
        assert_eq!(back, residual);
        let plain = small().to_bytes();
        let text = String::from_utf8_lossy(&plain);
        assert!(!text.contains("residual"), "{text}");
        assert!(!Mlp::from_bytes(&plain).expect("loads").spec.residual);
    }

    #[test]
    fn a_file_cut_at_any_byte_is_refused_with_a_reason() {
        let good = small().to_bytes();
        for cut in 0..good.len() {
            let err = Mlp::from_bytes(&good[..cut]).expect_err("truncated file loaded");
            let message = err.to_string();
            assert!(
                matches!(
                    err,
                    WeightsError::Truncated
                        | WeightsError::WrongLength { .. }
                        | WeightsError::BadSpec(_)
                ),
                "cut at {cut}: {message}"
            );
            assert!(!message.is_empty());
        }
    }

    #[test]
    fn corrupt_files_are_refused_without_panic() {
        let good = small().to_bytes();
        assert_eq!(Mlp::from_bytes(&good[..5]), Err(WeightsError::Truncated));
        assert_eq!(
            Mlp::from_bytes(b"XXXXxxxxxxxxxxxx"),
            Err(WeightsError::BadMagic)
        );
        let mut short = good.clone();
        short.pop();
        assert!(matches!(
            Mlp::from_bytes(&short),
            Err(WeightsError::WrongLength { .. })
        ));
        let mut nan = good.clone();
        let n = nan.len();
        nan[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(matches!(
            Mlp::from_bytes(&nan),
            Err(WeightsError::NotFinite { .. })
        ));
        let mut huge = good.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Mlp::from_bytes(&huge),
            Err(WeightsError::BadSpec(_))
        ));
        // Random mutations: never a panic.
        let mut rng = crate::rng::SplitMix64::new(3);
        for _ in 0..2000 {
            let mut bytes = good.clone();
            let at = rng.below(bytes.len() as u64) as usize;
            bytes[at] = rng.next_u64() as u8;
            let _ = Mlp::from_bytes(&bytes);
        }
    }
}
