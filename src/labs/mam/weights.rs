//! A trained MaM on disk: both networks plus the target they were trained for.
//!
//! Layout: magic `PLMM`, version (u32 LE), header length (u32 LE), the header as JSON
//! ([`WeightsHeader`]), then the marginal and the conditional network, each as its length
//! (u32 LE) and a `crate::nn` weights file. Untrusted input: every length is checked.

use serde::{Deserialize, Serialize};

use super::ising::Ising;
use super::nets::MamNets;
use crate::nn::Mlp;
use crate::served::{Served, with_served};

const MAGIC: &[u8; 4] = b"PLMM";
const VERSION: u32 = 1;
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// What the weights were trained for and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightsHeader {
    pub size: usize,
    pub coupling: f64,
    pub field: f64,
    pub steps: usize,
    pub seed: u64,
    /// The command that produced the file.
    pub command: String,
}

/// Shipped weights for the default target (J = 0.1, h = 0.2): 4x4 and 8x8, produced by the
/// commands in `assets/mam/README.md`; fetched by the page (1.2 MB, `crate::served`).
pub const SHIPPED_4: Served =
    crate::served!("./ising-4x4.plmm", "../../../assets/mam/ising-4x4.plmm");
pub const SHIPPED_8: Served =
    crate::served!("./ising-8x8.plmm", "../../../assets/mam/ising-8x8.plmm");

pub fn to_bytes(header: &WeightsHeader, nets: &MamNets) -> Vec<u8> {
    let json = serde_json::to_vec(header).unwrap_or_default();
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    for net in [&nets.marginal, &nets.conditional] {
        let bytes = net.to_bytes();
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

/// Reads `len`-prefixed bytes at `*at`, advancing it.
fn take<'a>(bytes: &'a [u8], at: &mut usize, len: usize) -> Result<&'a [u8], String> {
    let end = at.checked_add(len).ok_or("weights file is truncated")?;
    let slice = bytes.get(*at..end).ok_or("weights file is truncated")?;
    *at = end;
    Ok(slice)
}

fn take_u32(bytes: &[u8], at: &mut usize) -> Result<usize, String> {
    let b = take(bytes, at, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

pub fn from_bytes(bytes: &[u8]) -> Result<(WeightsHeader, MamNets), String> {
    let mut at = 0;
    if take(bytes, &mut at, 4)? != MAGIC {
        return Err("not a paperlab MaM weights file (bad magic)".to_owned());
    }
    let version = take_u32(bytes, &mut at)?;
    if version != VERSION as usize {
        return Err(format!("MaM weights version {version} is not supported"));
    }
    let header_len = take_u32(bytes, &mut at)?;
    if header_len > MAX_HEADER_BYTES {
        return Err(format!("header of {header_len} bytes is too long"));
    }
    let header: WeightsHeader = serde_json::from_slice(take(bytes, &mut at, header_len)?)
        .map_err(|e| format!("bad header: {e}"))?;
    Ising::new(header.size, header.coupling, header.field)?;
    let mut nets = Vec::with_capacity(2);
    for which in ["marginal", "conditional"] {
        let len = take_u32(bytes, &mut at)?;
        let net = Mlp::from_bytes(take(bytes, &mut at, len)?)
            .map_err(|e| format!("{which} network: {e}"))?;
        nets.push(net);
    }
    if at != bytes.len() {
        return Err(format!("{} unexpected bytes at the end", bytes.len() - at));
    }
    let conditional = nets.pop().ok_or("no conditional network")?;
    let marginal = nets.pop().ok_or("no marginal network")?;
    let nets = MamNets::from_parts(header.size, marginal, conditional)?;
    Ok((header, nets))
}

/// Whether weights are shipped for this target (the defaults J = 0.1, h = 0.2 on 4x4, 8x8).
pub fn shipped_file(model: &Ising) -> Option<Served> {
    let file = match model.size {
        4 => SHIPPED_4,
        8 => SHIPPED_8,
        _ => return None,
    };
    (model.coupling == 0.1 && model.field == 0.2).then_some(file)
}

/// The shipped model for this target: `Ok(None)` while the page still fetches it; an error
/// when none is shipped for it or the file is unreadable.
pub fn load_shipped(model: &Ising) -> Result<Option<(WeightsHeader, MamNets)>, String> {
    let file = shipped_file(model).ok_or_else(|| {
        format!(
            "no shipped weights for L = {}, J = {}, h = {} (shipped: 4x4 and 8x8 at J = 0.1, h = 0.2)",
            model.size, model.coupling, model.field
        )
    })?;
    let loaded = with_served(file, from_bytes)?;
    match loaded {
        None => Ok(None),
        Some(Err(e)) => Err(format!("{}: {e}", file.url)),
        Some(Ok((header, nets))) if header.size == model.size => Ok(Some((header, nets))),
        Some(Ok((header, _))) => Err(format!(
            "{} holds a {}x{} model",
            file.url, header.size, header.size
        )),
    }
}

/// The shipped model where it is compiled in (native: CLI, tests, benchmarks).
pub fn shipped(model: &Ising) -> Option<(WeightsHeader, MamNets)> {
    load_shipped(model).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> WeightsHeader {
        WeightsHeader {
            size: 3,
            coupling: 0.1,
            field: 0.2,
            steps: 0,
            seed: 1,
            command: "test".to_owned(),
        }
    }

    #[test]
    fn a_file_cut_at_any_byte_is_refused_with_a_reason() {
        let bytes = to_bytes(&header(), &MamNets::new(3, &[8], 5));
        for cut in 0..bytes.len() {
            let err = from_bytes(&bytes[..cut]).expect_err("truncated file loaded");
            assert!(
                [
                    "truncated",
                    "magic",
                    "header",
                    "bytes",
                    "expected",
                    "weights"
                ]
                .iter()
                .any(|w| err.contains(w)),
                "cut at {cut}: unclear message '{err}'"
            );
        }
    }

    #[test]
    fn round_trip_and_corruption_never_panics() {
        let nets = MamNets::new(3, &[8], 5);
        let bytes = to_bytes(&header(), &nets);
        let (h, back) = from_bytes(&bytes).expect("round trip");
        assert_eq!((h, back), (header(), nets));
        assert!(from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(from_bytes(b"PLNN").is_err());
        let mut wrong_size = header();
        wrong_size.size = 4;
        let json = serde_json::to_vec(&wrong_size).expect("json");
        let mut lie = bytes[..8].to_vec();
        lie.extend_from_slice(&(json.len() as u32).to_le_bytes());
        lie.extend_from_slice(&json);
        let rest_at = 12 + serde_json::to_vec(&header()).expect("json").len();
        lie.extend_from_slice(&bytes[rest_at..]);
        let err = from_bytes(&lie).expect_err("nets for 3x3 under a 4x4 header");
        assert!(err.contains("4x4"), "{err}");
        let mut rng = crate::rng::SplitMix64::new(9);
        for _ in 0..2000 {
            let mut b = bytes.clone();
            let at = rng.below(b.len() as u64) as usize;
            b[at] = rng.next_u64() as u8;
            let _ = from_bytes(&b);
        }
    }

    #[test]
    fn shipped_weights_load_for_the_default_target_only() {
        for size in [4, 8] {
            let model = Ising::new(size, 0.1, 0.2).expect("valid");
            let (h, nets) = shipped(&model).expect("shipped");
            assert_eq!((h.size, nets.size), (size, size));
        }
        assert!(shipped(&Ising::new(8, 0.3, 0.2).expect("valid")).is_none());
        assert!(shipped(&Ising::new(5, 0.1, 0.2).expect("valid")).is_none());
    }

    /// The shipped 4x4 model meets the quality goal against exact enumeration, by
    /// one marginal pass, and its autoregressive route agrees too.
    #[test]
    fn shipped_4x4_is_within_the_quality_goal() {
        let model = Ising::new(4, 0.1, 0.2).expect("valid");
        let (_, nets) = shipped(&model).expect("shipped");
        let exact = super::super::ising::Exact::new(model).expect("small");
        let q = super::super::quality::against_exact(&nets, &exact, 1000, 2024);
        assert!(q.mean_abs_error <= 0.05, "{q:?}");
        assert!(q.arm_mean_abs_error <= 0.08, "{q:?}");
    }

    /// The shipped 8x8 model (no exact marginals): its site marginals p(x_i = +1) and
    /// magnetisation from the conditional net matches a long Gibbs run, and log p of Gibbs
    /// samples is right (forward KL).
    #[test]
    fn shipped_8x8_matches_gibbs_statistics() {
        use super::super::partial::{Partial, Site};
        let model = Ising::new(8, 0.1, 0.2).expect("valid");
        let (_, nets) = shipped(&model).expect("shipped");
        let p_up = nets.conditionals_up(&Partial::unknown(64));
        let model_m = p_up.iter().map(|p| 2.0 * p - 1.0).sum::<f64>() / 64.0;
        let mut rng = crate::rng::SplitMix64::new(3);
        let n = 400;
        let gibbs_m = (0..n)
            .map(|_| {
                let s = super::super::ising::gibbs_sample(&model, 30, &mut rng);
                s.iter().map(|&v| f64::from(v)).sum::<f64>() / 64.0
            })
            .sum::<f64>()
            / f64::from(n);
        // Gibbs standard error about 0.006; the model's own error is what is tested.
        assert!(
            (model_m - gibbs_m).abs() < 0.04,
            "model {model_m}, Gibbs {gibbs_m}"
        );
        // Forward KL(p || model) on Gibbs samples, with the exact log Z: the marginal net is
        // normalised and right on full configurations; the autoregressive route through the
        // conditional net is looser (its per-site errors add up over 64 sites; BENCHMARKS).
        let log_z = super::super::ising::log_z_transfer(&model).expect("L <= 8");
        let (mut kl_mam, mut kl_arm) = (0.0, 0.0);
        let samples = 200;
        for _ in 0..samples {
            let x = super::super::ising::gibbs_sample(&model, 30, &mut rng);
            let p = Partial {
                sites: x
                    .iter()
                    .map(|&v| if v > 0 { Site::Up } else { Site::Down })
                    .collect(),
            };
            let truth = model.log_f(&x) - log_z;
            kl_mam += (truth - nets.log_marginal(&p)) / f64::from(samples);
            kl_arm += (truth - nets.log_marginal_arm(&p, &[])) / f64::from(samples);
        }
        assert!(
            kl_mam.abs() < 0.15,
            "forward KL of the marginal net {kl_mam}"
        );
        assert!(
            kl_arm < 0.6,
            "forward KL of the autoregressive route {kl_arm}"
        );
    }
}
