//! Data scenarios: records (client S, sensitive attribute Z, label Y, two features) from the
//! paper's synthetic set-up and its client splits, the three canonical PID examples, and
//! free per-client group shares and label rates.

use serde::{Deserialize, Serialize};

use super::aglfop::{Data, MAX_CLIENTS};
use crate::rng::SplitMix64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Z, S independent fair coins, Y = Z: global = local = unique disparity.
    Unique,
    /// Z = S, Y = Z: global disparity only, all of it redundant with the client.
    Redundant,
    /// Z, S independent, Y = Z xor S: local disparity only, masked (synergistic).
    Masked,
    /// The paper's synthetic data, split at random between two clients.
    Iid,
    /// The paper's data, client 0 holding 92% of Z = 1 and 8% of Z = 0.
    Heterogeneous,
    /// The paper's data, client 0 holding (Z, Y) in {(0, 0), (1, 1)}, client 1 the rest.
    Synergy,
    /// Per-client group shares and label rates set by the user.
    Custom,
    /// UCI ADULT census records (sex as Z), the reference's i.i.d. split; the shipped tables.
    AdultIid,
    /// ADULT, 92 % of the men and 8 % of the women on client 0.
    AdultHeterogeneous,
    /// ADULT, (Z, Y) = (0, 0) or (1, 1) on client 0.
    AdultSynergy,
}

impl Scenario {
    pub const ALL: [Scenario; 10] = [
        Scenario::Unique,
        Scenario::Redundant,
        Scenario::Masked,
        Scenario::Iid,
        Scenario::Heterogeneous,
        Scenario::Synergy,
        Scenario::Custom,
        Scenario::AdultIid,
        Scenario::AdultHeterogeneous,
        Scenario::AdultSynergy,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Scenario::Unique => "Unique only",
            Scenario::Redundant => "Redundant only",
            Scenario::Masked => "Masked only",
            Scenario::Iid => "Paper: i.i.d. clients",
            Scenario::Heterogeneous => "Paper: heterogeneous clients",
            Scenario::Synergy => "Paper: synergy split",
            Scenario::Custom => "Custom clients",
            Scenario::AdultIid => "ADULT: i.i.d. clients",
            Scenario::AdultHeterogeneous => "ADULT: heterogeneous clients",
            Scenario::AdultSynergy => "ADULT: synergy split",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Scenario::Unique => {
                "Z and client S are independent fair coins and Y = Z: any accurate model is unfair globally and locally alike (unique disparity)."
            }
            Scenario::Redundant => {
                "Each client holds one group (Z = S) and Y = Z: an accurate model is unfair globally but perfectly fair inside each client (redundant disparity)."
            }
            Scenario::Masked => {
                "Z and S independent, Y = Z xor S: an accurate model is fair globally yet unfair inside every client (masked, synergistic disparity)."
            }
            Scenario::Iid => {
                "Two Gaussian classes (the paper's), Z = Y with probability alpha, records split at random between two clients."
            }
            Scenario::Heterogeneous => {
                "The paper's data; client 0 holds 92% of the Z = 1 records and 8% of the Z = 0 records (then 1% swapped between the clients, as the reference)."
            }
            Scenario::Synergy => {
                "The paper's data; client 0 holds the records with (Z, Y) = (0, 0) or (1, 1), client 1 the others (then 1% swapped between the clients, as the reference)."
            }
            Scenario::Custom => {
                "Up to 8 clients of equal size; each with its share of group Z = 1 and its label rates P(Y = 1 | Z) per group."
            }
            Scenario::AdultIid => {
                "The paper's real data: UCI ADULT census records (22,792 for training, 9,769 held out), Z = sex (1 = male), Y = income above 50K, split at random between two clients. The model is a logistic regression without race and sex, trained offline (scripts/adult-table); the page reads its shipped tables."
            }
            Scenario::AdultHeterogeneous => {
                "ADULT census records; client 0 holds 92% of the men and 8% of the women (then 1% swapped, as the reference). The model is the shipped logistic regression (scripts/adult-table)."
            }
            Scenario::AdultSynergy => {
                "ADULT census records; client 0 holds the records with (Z, Y) = (0, 0) or (1, 1), client 1 the others (then 1% swapped, as the reference). The model is the shipped logistic regression (scripts/adult-table)."
            }
        }
    }

    /// The shipped ADULT tables (training, held-out), `s,z,y,yhat,p`, for the census scenarios.
    pub fn adult_tables(self) -> Option<[&'static str; 2]> {
        match self {
            Scenario::AdultIid => Some([
                include_str!("../../../assets/fairness/adult/iid-train.csv"),
                include_str!("../../../assets/fairness/adult/iid-held_out.csv"),
            ]),
            Scenario::AdultHeterogeneous => Some([
                include_str!("../../../assets/fairness/adult/heterogeneous-train.csv"),
                include_str!("../../../assets/fairness/adult/heterogeneous-held_out.csv"),
            ]),
            Scenario::AdultSynergy => Some([
                include_str!("../../../assets/fairness/adult/synergy-train.csv"),
                include_str!("../../../assets/fairness/adult/synergy-held_out.csv"),
            ]),
            _ => None,
        }
    }

    /// Whether the record count and the FedAvg settings apply (not to the census tables, whose
    /// records and model are fixed).
    pub fn is_generated(self) -> bool {
        self.adult_tables().is_none()
    }

    pub fn uses_alpha(self) -> bool {
        matches!(
            self,
            Scenario::Iid | Scenario::Heterogeneous | Scenario::Synergy
        )
    }
}

/// One client's make-up in the custom scenario.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClientMix {
    /// P(Z = 1 | S = k).
    pub group_share: f64,
    /// P(Y = 1 | Z = 0, S = k) and P(Y = 1 | Z = 1, S = k).
    pub label_rate: [f64; 2],
}

pub const DEFAULT_CLIENTS: &str = "0.8:0.3:0.8,0.2:0.2:0.7";

/// "g:y0:y1,g:y0:y1,..." with every number in [0, 1], 1 to 8 clients.
pub fn clients_from_text(text: &str) -> Result<Vec<ClientMix>, String> {
    let mut out = Vec::new();
    for (k, part) in text.split(',').enumerate() {
        let numbers: Vec<&str> = part.split(':').collect();
        let [g, y0, y1] = numbers.as_slice() else {
            return Err(format!(
                "client {k}: expected group:rate0:rate1, got '{part}'"
            ));
        };
        let parse = |t: &str| -> Result<f64, String> {
            match t.trim().parse::<f64>() {
                Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
                _ => Err(format!("client {k}: '{t}' is not a number in [0, 1]")),
            }
        };
        out.push(ClientMix {
            group_share: parse(g)?,
            label_rate: [parse(y0)?, parse(y1)?],
        });
    }
    if out.len() > MAX_CLIENTS {
        return Err(format!("{} clients: at most {MAX_CLIENTS}", out.len()));
    }
    Ok(out)
}

pub fn clients_to_text(clients: &[ClientMix]) -> String {
    clients
        .iter()
        .map(|c| format!("{}:{}:{}", c.group_share, c.label_rate[0], c.label_rate[1]))
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record {
    pub client: usize,
    pub z: usize,
    pub y: usize,
    pub x: [f64; 2],
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub clients: usize,
    pub records: Vec<Record>,
}

impl Dataset {
    /// The empirical P(S, Z, Y).
    pub fn distribution(&self) -> Data {
        let mut p = vec![0.0; self.clients * 4];
        let w = 1.0 / self.records.len().max(1) as f64;
        for r in &self.records {
            p[(r.client * 2 + r.z) * 2 + r.y] += w;
        }
        Data {
            clients: self.clients,
            p,
        }
    }
}

/// The paper's class-conditional features: Y = 1 ~ N([2, 2], [[5, 1], [1, 5]]),
/// Y = 0 ~ N([-2, -2], [[10, 1], [1, 3]]), drawn through the Cholesky factors.
fn features(y: usize, rng: &mut SplitMix64) -> [f64; 2] {
    let (mean, var_a, cov, var_b) = if y == 1 {
        (2.0, 5.0, 1.0, 5.0)
    } else {
        (-2.0, 10.0, 1.0, 3.0)
    };
    let l11: f64 = f64::sqrt(var_a);
    let l21 = cov / l11;
    let l22 = (var_b - l21 * l21).sqrt();
    let (e1, e2) = (rng.next_normal(), rng.next_normal());
    [mean + l11 * e1, mean + l21 * e1 + l22 * e2]
}

fn bernoulli(p: f64, rng: &mut SplitMix64) -> usize {
    usize::from(rng.next_f64() < p)
}

/// Builds the records of a scenario (`samples` in all).
pub fn generate(
    scenario: Scenario,
    samples: usize,
    alpha: f64,
    custom: &[ClientMix],
    seed: u64,
) -> Dataset {
    let mut rng = SplitMix64::new(seed ^ 0xfa1e_55ed);
    let mut records = Vec::with_capacity(samples);
    match scenario {
        Scenario::Unique | Scenario::Redundant | Scenario::Masked => {
            // Exactly equal counts per cell, so the table is the textbook one.
            for i in 0..samples {
                let (z, s) = (i % 2, (i / 2) % 2);
                let (client, y) = match scenario {
                    Scenario::Unique => (s, z),
                    Scenario::Redundant => (z, z),
                    _ => (s, z ^ s),
                };
                records.push(Record {
                    client,
                    z,
                    y,
                    x: features(y, &mut rng),
                });
            }
            return Dataset {
                clients: 2,
                records,
            };
        }
        Scenario::Custom => {
            let k = custom.len().max(1);
            for i in 0..samples {
                let client = i % k;
                let mix = custom.get(client).copied().unwrap_or(ClientMix {
                    group_share: 0.5,
                    label_rate: [0.5, 0.5],
                });
                let z = bernoulli(mix.group_share, &mut rng);
                let y = bernoulli(mix.label_rate[z], &mut rng);
                records.push(Record {
                    client,
                    z,
                    y,
                    x: features(y, &mut rng),
                });
            }
            return Dataset {
                clients: k,
                records,
            };
        }
        Scenario::Iid | Scenario::Heterogeneous | Scenario::Synergy => {}
        // The census scenarios are read from their tables (`Scenario::adult_tables`), not drawn.
        Scenario::AdultIid | Scenario::AdultHeterogeneous | Scenario::AdultSynergy => {
            return Dataset {
                clients: 2,
                records,
            };
        }
    }
    // The paper's data: half per class, Z ~ Bern(alpha) if Y = 1 else Bern(1 - alpha).
    for i in 0..samples {
        let y = usize::from(i < samples / 2);
        let z = bernoulli(if y == 1 { alpha } else { 1.0 - alpha }, &mut rng);
        records.push(Record {
            client: 0,
            z,
            y,
            x: features(y, &mut rng),
        });
    }
    for r in &mut records {
        r.client = match scenario {
            Scenario::Iid => bernoulli(0.5, &mut rng),
            Scenario::Heterogeneous => {
                let to_client0 = if r.z == 1 { 0.92 } else { 0.08 };
                1 - bernoulli(to_client0, &mut rng)
            }
            _ => usize::from(r.z != r.y),
        };
    }
    swap_between_clients(&mut records, PAPER_SWAP_SHARE, &mut rng);
    Dataset {
        clients: 2,
        records,
    }
}

/// Share of records the reference swaps between its two clients after every split
/// (`shuffle_clients_data(clients_data, 0.01)` in FairFL-PID's `utils.py`): 1% of the smaller
/// client's count goes each way, so no client is exactly pure.
pub const PAPER_SWAP_SHARE: f64 = 0.01;

/// Moves `share` of min(n0, n1) random records of client 0 to client 1 and as many the other
/// way.
fn swap_between_clients(records: &mut [Record], share: f64, rng: &mut SplitMix64) {
    let mut of_client = |c: usize| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..records.len())
            .filter(|&i| records[i].client == c)
            .collect();
        let k = idx.len();
        for i in 0..k {
            let j = i + rng.below((k - i) as u64) as usize;
            idx.swap(i, j);
        }
        idx
    };
    let (zero, one) = (of_client(0), of_client(1));
    let k = (zero.len().min(one.len()) as f64 * share) as usize;
    for (&a, &b) in zero[..k].iter().zip(&one[..k]) {
        records[a].client = 1;
        records[b].client = 0;
    }
}

/// Records never used for training: an independent draw of the same scenario and size (the
/// reference splits its records into train and test sets before splitting the clients).
pub fn generate_held_out(
    scenario: Scenario,
    samples: usize,
    alpha: f64,
    custom: &[ClientMix],
    seed: u64,
) -> Dataset {
    generate(scenario, samples, alpha, custom, seed ^ HELD_OUT_SEED)
}

const HELD_OUT_SEED: u64 = 0x7e57_0000_0000_0001;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::fairness::aglfop::max_budgets;

    #[test]
    fn canonical_tables_are_exact() {
        let unique = generate(Scenario::Unique, 400, 0.95, &[], 1).distribution();
        let (g, l) = max_budgets(&unique);
        assert!((g - 1.0).abs() < 1e-12 && (l - 1.0).abs() < 1e-12);
        let redundant = generate(Scenario::Redundant, 400, 0.95, &[], 1).distribution();
        let (g, l) = max_budgets(&redundant);
        assert!((g - 1.0).abs() < 1e-12 && l.abs() < 1e-12);
        let masked = generate(Scenario::Masked, 400, 0.95, &[], 1).distribution();
        let (g, l) = max_budgets(&masked);
        assert!(g.abs() < 1e-12 && (l - 1.0).abs() < 1e-12);
    }

    #[test]
    fn paper_splits_have_their_shape() {
        let het = generate(Scenario::Heterogeneous, 4000, 0.95, &[], 3);
        let in_client0 = |z: usize| {
            let group: Vec<_> = het.records.iter().filter(|r| r.z == z).collect();
            group.iter().filter(|r| r.client == 0).count() as f64 / group.len() as f64
        };
        assert!((in_client0(1) - 0.92).abs() < 0.03 && (in_client0(0) - 0.08).abs() < 0.03);
        // 10,000 records: client 1 holds about 5% of them, and 1% of 500 is 5 swaps (on 1,000
        // records the reference's int() rounds the swap to none, as here).
        let syn = generate(Scenario::Synergy, 10_000, 0.95, &[], 3);
        let in_client0 = syn.records.iter().filter(|r| r.client == 0).count();
        let smaller = in_client0.min(10_000 - in_client0);
        let swapped = (smaller as f64 * PAPER_SWAP_SHARE) as usize;
        assert!(swapped >= 1);
        let off_rule = syn
            .records
            .iter()
            .filter(|r| (r.client == 0) != (r.z == r.y))
            .count();
        assert_eq!(
            off_rule,
            2 * swapped,
            "1% swapped each way, as the reference"
        );
        let held_out = generate_held_out(Scenario::Synergy, 10_000, 0.95, &[], 3);
        assert_ne!(held_out.records, syn.records, "an independent draw");
        let iid = generate(Scenario::Iid, 1000, 0.95, &[], 3);
        let agree = iid.records.iter().filter(|r| r.z == r.y).count() as f64 / 1000.0;
        assert!((agree - 0.95).abs() < 0.03, "{agree}");
    }

    #[test]
    fn client_text_round_trip_and_errors() {
        let clients = clients_from_text(DEFAULT_CLIENTS).expect("valid");
        assert_eq!(clients.len(), 2);
        assert_eq!(clients_to_text(&clients), DEFAULT_CLIENTS);
        assert!(clients_from_text("0.5:0.5").is_err());
        assert!(clients_from_text("1.5:0.5:0.5").is_err());
        assert!(clients_from_text(&["0.5:0.5:0.5"; 9].join(",")).is_err());
    }
}
