//! Everything a user can set in the fairness lab; the link is its serialisation.

use serde::{Deserialize, Serialize};

use super::data::{ClientMix, DEFAULT_CLIENTS, Scenario, clients_from_text};
use super::fedavg::TrainConfig;
use crate::share::{Correction, Validate, clamp_f64, clamp_u32};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Stacked Uni/Red/Syn bars of the labels and of the model.
    Pid,
    /// Best accuracy over (eps_global, eps_local), with the model placed on it.
    Frontier,
    /// Best accuracy vs one budget, the other fixed.
    Curves,
    /// Accuracy and disparities per federated round.
    Training,
}

pub const MAX_SAMPLES: u32 = 20_000;
pub const MAX_GRID: u32 = 40;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FairnessSettings {
    pub view: View,
    pub scenario: Scenario,
    pub samples: u32,
    /// P(Z = Y) in the paper's synthetic data.
    pub alpha: f64,
    /// Custom clients, "group_share:rate_z0:rate_z1,..." (see `data::clients_from_text`).
    pub clients: String,
    pub lambda_global: f64,
    pub lambda_local: f64,
    pub rounds: u32,
    pub local_steps: u32,
    pub lr: f64,
    pub sensitive_input: bool,
    pub seed: u64,
    /// Frontier grid: N x N budgets.
    pub grid: u32,
    /// Curves: the fixed budget as a fraction of its largest useful value (1 = no constraint).
    pub fix_local: f64,
    pub fix_global: f64,
}

impl Default for FairnessSettings {
    fn default() -> Self {
        Self {
            view: View::Pid,
            scenario: Scenario::Heterogeneous,
            samples: 1000,
            alpha: 0.95,
            clients: DEFAULT_CLIENTS.to_owned(),
            lambda_global: 0.0,
            lambda_local: 0.0,
            rounds: 100,
            local_steps: 5,
            lr: 0.1,
            sensitive_input: false,
            seed: 1,
            grid: 20,
            fix_local: 0.25,
            fix_global: 0.25,
        }
    }
}

impl FairnessSettings {
    pub fn custom_clients(&self) -> Vec<ClientMix> {
        clients_from_text(&self.clients)
            .or_else(|_| clients_from_text(DEFAULT_CLIENTS))
            .unwrap_or_default()
    }

    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            lambda_global: self.lambda_global,
            lambda_local: self.lambda_local,
            rounds: self.rounds,
            local_steps: self.local_steps,
            learning_rate: self.lr,
            sensitive_input: self.sensitive_input,
        }
    }

    /// What defines the records: a change rebuilds them (and the frontier).
    pub fn data_key(&self) -> String {
        let clients = if self.scenario == Scenario::Custom {
            self.clients.as_str()
        } else {
            ""
        };
        let alpha = if self.scenario.uses_alpha() {
            self.alpha
        } else {
            0.0
        };
        format!(
            "{:?}|{}|{alpha}|{clients}|{}",
            self.scenario, self.samples, self.seed
        )
    }

    /// What defines the trained model.
    pub fn model_key(&self) -> String {
        format!("{}|{:?}", self.data_key(), self.train_config())
    }
}

impl Validate for FairnessSettings {
    fn validate(&mut self, c: &mut Vec<Correction>) {
        let d = Self::default();
        clamp_u32(&mut self.samples, "samples", 40, MAX_SAMPLES, c);
        clamp_f64(&mut self.alpha, "alpha", 0.5, 1.0, d.alpha, c);
        clamp_f64(
            &mut self.lambda_global,
            "lambda_global",
            0.0,
            100.0,
            d.lambda_global,
            c,
        );
        clamp_f64(
            &mut self.lambda_local,
            "lambda_local",
            0.0,
            100.0,
            d.lambda_local,
            c,
        );
        clamp_u32(&mut self.rounds, "rounds", 1, 2000, c);
        clamp_u32(&mut self.local_steps, "local_steps", 1, 50, c);
        clamp_f64(&mut self.lr, "lr", 0.001, 1.0, d.lr, c);
        clamp_u32(&mut self.grid, "grid", 2, MAX_GRID, c);
        clamp_f64(&mut self.fix_local, "fix_local", 0.0, 1.0, d.fix_local, c);
        clamp_f64(
            &mut self.fix_global,
            "fix_global",
            0.0,
            1.0,
            d.fix_global,
            c,
        );
        if let Err(why) = clients_from_text(&self.clients) {
            c.push(Correction::new(
                "clients",
                format!("{why}: the default clients are used"),
            ));
            self.clients = d.clients;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::{decode, encode, parse_fragment};

    #[test]
    fn link_round_trip_and_repair() {
        let s = FairnessSettings {
            scenario: Scenario::Custom,
            clients: "0.1:0.2:0.3,0.4:0.5:0.6,1:0:1".to_owned(),
            lambda_local: 3.5,
            ..FairnessSettings::default()
        };
        let (back, corrections) = decode::<FairnessSettings>(&encode(&s));
        assert!(corrections.is_empty(), "{corrections:?}");
        assert_eq!(back, s);
        let (fixed, corrections) = decode::<FairnessSettings>(&parse_fragment(
            "samples=1&alpha=2&clients=0.5:x&grid=1000&scenario=nope&lr=NaN",
        ));
        assert_eq!(fixed.samples, 40);
        assert_eq!(fixed.alpha, 1.0);
        assert_eq!(fixed.clients, DEFAULT_CLIENTS);
        assert_eq!(fixed.grid, MAX_GRID);
        assert_eq!(fixed.scenario, Scenario::Heterogeneous);
        assert_eq!(fixed.lr, FairnessSettings::default().lr);
        assert!(corrections.len() >= 6, "{corrections:?}");
    }
}
