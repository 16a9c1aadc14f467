//! Messages between the page and a job's worker, and a compact form for byte payloads.
//!
//! Both directions are JSON strings (a `postMessage` of a string is one copy and needs no
//! shared memory). A job's spec, update and control are nested as JSON strings, so the worker
//! routes them without knowing their types.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToWorker {
    /// Starts job `job` of `kind` (paused: built, but not stepped), dropping whatever ran before.
    Start {
        job: u64,
        kind: String,
        spec: String,
        paused: bool,
    },
    Pause {
        job: u64,
        paused: bool,
    },
    Control {
        job: u64,
        message: String,
    },
    Stop {
        job: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker has loaded and takes messages (sent once).
    Ready,
    Update {
        job: u64,
        update: String,
    },
    Finished {
        job: u64,
    },
    Failed {
        job: u64,
        error: String,
    },
}

impl ToWorker {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl FromWorker {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Bytes inside JSON as base64 (standard alphabet, padded): a network's weights in a third more
/// than their size, where a JSON array of numbers would take about four times as much and parse
/// far slower. Use as `#[serde(with = "crate::jobs::wire::base64")]` on a `Vec<u8>`.
pub mod base64 {
    use serde::{Deserialize, Deserializer, Serializer};

    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }

    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        let bytes = text.as_bytes();
        if !bytes.len().is_multiple_of(4) {
            return Err(format!(
                "base64 length {} is not a multiple of 4",
                bytes.len()
            ));
        }
        let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
        for (index, quad) in bytes.chunks(4).enumerate() {
            let last = index + 1 == bytes.len() / 4;
            let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
            if padding > 2 || (padding > 0 && !last) {
                return Err("misplaced base64 padding".into());
            }
            let mut n = 0u32;
            for &c in &quad[..4 - padding] {
                n = (n << 6) | value(c).ok_or_else(|| format!("'{}' is not base64", c as char))?;
            }
            n <<= 6 * padding as u32;
            let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&decoded[..3 - padding]);
        }
        Ok(out)
    }

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        decode(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::base64::{decode, encode};
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        // RFC 4648, section 10.
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn base64_round_trips_every_byte_and_refuses_garbage() {
        let bytes: Vec<u8> = (0..=255).chain((0..=255).rev()).collect();
        for len in 0..bytes.len() {
            assert_eq!(decode(&encode(&bytes[..len])).unwrap(), &bytes[..len]);
        }
        for bad in ["Zg=", "Z===", "Zg==Zm8=", "Zm9*", "Zm9v\n"] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_round_trip_through_json() {
        let messages = [
            ToWorker::Start {
                job: 3,
                kind: "gfn-train".into(),
                spec: "{\"a\":1}".into(),
                paused: false,
            },
            ToWorker::Pause {
                job: 3,
                paused: true,
            },
            ToWorker::Stop { job: 3 },
        ];
        for m in messages {
            assert_eq!(serde_json::from_str::<ToWorker>(&m.to_json()).unwrap(), m);
        }
        let back = FromWorker::Failed {
            job: 1,
            error: "quote \" and newline \n".into(),
        };
        assert_eq!(
            serde_json::from_str::<FromWorker>(&back.to_json()).unwrap(),
            back
        );
    }
}
