//! Everything a user can set in the fairness lab; the link is its serialisation.

use serde::{Deserialize, Serialize};

use super::data::{ClientMix, DEFAULT_CLIENTS, Scenario, clients_from_text};
use super::fedavg::TrainConfig;
use crate::share::{Choice, Correction, Described, Flag, Setting, Settings, Text};

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

pub const VIEW: Choice<View> = Choice::new(
    "view",
    View::Pid,
    &[View::Pid, View::Frontier, View::Curves, View::Training],
)
.help("PID bars, the accuracy-limit heat map, accuracy vs one budget, or training curves.");
// The synergy split by default: there both budgets bind across the heat map (on the
// heterogeneous split the local budget barely moves the limit).
pub const SCENARIO: Choice<Scenario> = Choice::new("scenario", Scenario::Synergy, &Scenario::ALL)
    .help("Which records: canonical examples of each disparity kind, the paper's synthetic data and its splits, custom clients, or the ADULT census tables (the paper's real data) under the same splits.");
pub const SAMPLES: Setting<u32> = Setting::new("samples", 1000, 40, MAX_SAMPLES)
    .label("records")
    .log()
    .help("Records in all clients together; P(S, Z, Y) is their empirical table.");
pub const ALPHA: Setting<f64> = Setting::new("alpha", 0.95, 0.5, 1.0)
    .label("alpha = P(Z = Y)")
    .help("How strongly the sensitive attribute follows the label (paper: 0.95).");
pub const CLIENTS: Text = Text::new("clients", DEFAULT_CLIENTS)
    .value_name("SHARE:RATE0:RATE1,...")
    .help("Custom clients: P(Z = 1 | S = k), P(Y = 1 | Z = 0), P(Y = 1 | Z = 1) per client.");
pub const LAMBDA_GLOBAL: Setting<f64> = Setting::new("lambda_global", 0.0, 0.0, 100.0)
    .label("global fairness penalty")
    .log()
    .help("Weight of the squared gap in mean P(Yhat = 1) between Z groups over all clients.");
pub const LAMBDA_LOCAL: Setting<f64> = Setting::new("lambda_local", 0.0, 0.0, 100.0)
    .label("local fairness penalty")
    .log()
    .help("Weight of each client's own squared gap between its Z groups.");
pub const ROUNDS: Setting<u32> = Setting::new("rounds", 100, 1, 2000)
    .log()
    .help("Federated rounds: broadcast, local steps on every client, weighted average.");
pub const LOCAL_STEPS: Setting<u32> = Setting::new("local_steps", 5, 1, 50)
    .label("local steps")
    .help("Full-batch gradient steps each client takes per round.");
pub const LR: Setting<f64> = Setting::new("lr", 0.1, 0.001, 1.0)
    .label("learning rate")
    .log()
    .help("Step size of every client's gradient steps.");
pub const SENSITIVE_INPUT: Flag = Flag::new("sensitive_input", false)
    .label("Z is a model input")
    .help("Off: the model sees the two features only (fairness through unawareness).");
pub const SEED: Setting<u64> =
    Setting::new("seed", 1, 0, u32::MAX as u64).help("Seeds the records (and so the model).");
pub const GRID: Setting<u32> = Setting::new("grid", 20, 2, MAX_GRID)
    .label("grid N")
    .help("The frontier is solved on N x N budgets, N points per curve.");
pub const FIX_LOCAL: Setting<f64> = Setting::new("fix_local", 0.25, 0.0, 1.0).help(
    "Curves: the fixed local budget as a share of its largest useful value (1 = no constraint).",
);
pub const FIX_GLOBAL: Setting<f64> = Setting::new("fix_global", 0.25, 0.0, 1.0).help(
    "Curves: the fixed global budget as a share of its largest useful value (1 = no constraint).",
);

impl Default for FairnessSettings {
    fn default() -> Self {
        Self {
            view: VIEW.default,
            scenario: SCENARIO.default,
            samples: SAMPLES.default,
            alpha: ALPHA.default,
            clients: CLIENTS.default_value(),
            lambda_global: LAMBDA_GLOBAL.default,
            lambda_local: LAMBDA_LOCAL.default,
            rounds: ROUNDS.default,
            local_steps: LOCAL_STEPS.default,
            lr: LR.default,
            sensitive_input: SENSITIVE_INPUT.default,
            seed: SEED.default,
            grid: GRID.default,
            fix_local: FIX_LOCAL.default,
            fix_global: FIX_GLOBAL.default,
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

impl Settings for FairnessSettings {
    const DEFINITIONS: &'static [&'static dyn Described] = &[
        &VIEW,
        &SCENARIO,
        &SAMPLES,
        &ALPHA,
        &CLIENTS,
        &LAMBDA_GLOBAL,
        &LAMBDA_LOCAL,
        &ROUNDS,
        &LOCAL_STEPS,
        &LR,
        &SENSITIVE_INPUT,
        &SEED,
        &GRID,
        &FIX_LOCAL,
        &FIX_GLOBAL,
    ];

    fn validate(&mut self, c: &mut Vec<Correction>) {
        let d = Self::default();
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
    use crate::share::{decode, definition_problems, encode, parse_fragment};

    #[test]
    fn definitions_match_the_struct() {
        assert_eq!(
            definition_problems::<FairnessSettings>(),
            Vec::<String>::new()
        );
    }

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
        assert_eq!(fixed.scenario, Scenario::Synergy);
        assert_eq!(fixed.lr, FairnessSettings::default().lr);
        assert!(corrections.len() >= 6, "{corrections:?}");
    }
}
