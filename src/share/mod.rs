//! Share links: a lab's settings struct (serde) <-> readable `key=value` pairs in the URL
//! fragment, e.g. `#lab=device&rows=4096&cols=4096`.
//!
//! A link is untrusted input. Decoding starts from the defaults and accepts one field at a time:
//! an unknown key, a value of the wrong type or an unknown enum name is reported as a
//! [`Correction`] and the field keeps its default; a number outside its definition's range
//! ([`setting`]) is clamped and reported; then [`Settings::validate`] applies the rules between
//! fields. Nothing here panics, whatever the input. The CLI decodes its options the same way
//! and refuses what a link would correct, with the same words (`Correction::problem`).

mod fragment;
pub mod setting;

pub use fragment::{Pairs, format_fragment, parse_fragment, percent_decode, percent_encode};
pub use setting::{Choice, Described, Flag, Kind, Setting, Text};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// One field of a link (or a CLI argument) that was not taken as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    pub key: String,
    /// What was wrong and what was done instead: the page and the link report this.
    pub message: String,
    /// What was wrong only: the CLI, which refuses instead of fixing, reports this.
    pub problem: String,
}

impl Correction {
    /// A correction whose message says both what was wrong and what was done.
    pub fn new(key: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            key: key.to_owned(),
            problem: message.clone(),
            message,
        }
    }

    /// `problem, remedy`: "999 is outside 1..=256, clamped to 256".
    pub fn fixed(key: &str, problem: impl Into<String>, remedy: impl Into<String>) -> Self {
        let problem = problem.into();
        Self {
            key: key.to_owned(),
            message: format!("{problem}, {}", remedy.into()),
            problem,
        }
    }
}

impl std::fmt::Display for Correction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// A settings struct that can live in a link: flat (numbers, booleans, strings, unit enums),
/// `#[serde(default)]`, every field defined once in [`Settings::DEFINITIONS`].
pub trait Settings: Serialize + DeserializeOwned + Default + Clone + PartialEq + 'static {
    /// Every field's definition (key, help, default, range), in field order.
    /// [`definition_problems`] checks that they match the struct.
    const DEFINITIONS: &'static [&'static dyn Described];

    /// Rules between fields, applied after every field is inside its own range; each fix is
    /// reported.
    fn validate(&mut self, _corrections: &mut Vec<Correction>) {}
}

/// The unit settings of a page without any (the home page).
impl Settings for () {
    const DEFINITIONS: &'static [&'static dyn Described] = &[];
}

/// The definition of `key` in `T`'s table.
pub fn definition<T: Settings>(key: &str) -> Option<&'static dyn Described> {
    T::DEFINITIONS.iter().copied().find(|d| d.key() == key)
}

/// Mismatches between a settings struct and its definitions: a field without a definition, a
/// definition without a field, a default that differs or is outside its own range. Each lab's
/// tests assert this is empty.
pub fn definition_problems<T: Settings>() -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(Value::Object(defaults)) = serde_json::to_value(T::default()) else {
        return vec!["the settings do not serialise to a flat object".to_owned()];
    };
    for (key, value) in &defaults {
        let Some(d) = definition::<T>(key) else {
            problems.push(format!("{key}: no definition"));
            continue;
        };
        let text = scalar_text(value).unwrap_or_default();
        if text != d.default_text() {
            problems.push(format!(
                "{key}: the struct's default is {text}, the definition's {}",
                d.default_text()
            ));
        }
        if let Some((_, c)) = d.check_json(value) {
            problems.push(format!("{key}: the default needs a correction ({c})"));
        }
    }
    for d in T::DEFINITIONS {
        if !defaults.contains_key(d.key()) {
            problems.push(format!("{}: defined but not a field", d.key()));
        }
    }
    problems
}

/// The settings after a change made in the page (a slider, a click): every range and rule
/// applied again, silently (a control cannot produce a value worth reporting).
pub fn revalidate<T: Settings>(settings: &mut T) {
    let (fixed, _) = decode_onto(settings.clone(), &encode(settings));
    *settings = fixed;
}

/// The settings as `key=value` pairs, in field order. Only flat structs of numbers, booleans,
/// strings and unit enums are supported (nested values are skipped; a test guards each lab).
pub fn encode<T: Serialize>(state: &T) -> Pairs {
    let Ok(Value::Object(map)) = serde_json::to_value(state) else {
        return Vec::new();
    };
    map.into_iter()
        .filter_map(|(key, value)| scalar_text(&value).map(|text| (key, text)))
        .collect()
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Settings from untrusted pairs, with every correction that was needed. Keys the pairs leave
/// out take their defaults.
pub fn decode<T: Settings>(pairs: &[(String, String)]) -> (T, Vec<Correction>) {
    decode_onto(T::default(), pairs)
}

/// Like [`decode`], but keys the pairs leave out keep their value in `base` (the CLI starts
/// from a command's own defaults).
pub fn decode_onto<T: Settings>(base: T, pairs: &[(String, String)]) -> (T, Vec<Correction>) {
    let mut corrections = Vec::new();
    let defaults = match serde_json::to_value(&base) {
        Ok(Value::Object(map)) => map,
        // Unit settings: nothing to set.
        _ => Map::new(),
    };
    let mut accepted: Map<String, Value> = defaults.clone();
    let mut seen: Vec<&str> = Vec::new();
    for (key, text) in pairs {
        let Some(default_value) = defaults.get(key) else {
            corrections.push(Correction::new(key, "unknown setting, ignored"));
            continue;
        };
        if seen.contains(&key.as_str()) {
            corrections.push(Correction::new(key, "given twice, the last one is used"));
        }
        seen.push(key);
        let Some(mut value) = typed_value(default_value, text) else {
            corrections.push(Correction::fixed(
                key,
                format!("'{}' is not a {}", shorten(text), type_name(default_value)),
                format!(
                    "default {} used",
                    scalar_text(default_value).unwrap_or_default()
                ),
            ));
            continue;
        };
        if let Some(d) = definition::<T>(key)
            && let Some((fixed, correction)) = d.check_json(&value)
        {
            corrections.push(correction);
            value = fixed;
        }
        let mut candidate = accepted.clone();
        candidate.insert(key.clone(), value);
        if serde_json::from_value::<T>(Value::Object(candidate.clone())).is_ok() {
            accepted = candidate;
        } else {
            corrections.push(Correction::fixed(
                key,
                match definition::<T>(key) {
                    Some(d) if d.kind() == Kind::Choice => {
                        format!("'{}' is not one of {}", shorten(text), d.value_hint())
                    }
                    Some(d) => format!("'{}' is not in {}", shorten(text), d.value_hint()),
                    None => format!("'{}' is not a valid value", shorten(text)),
                },
                format!(
                    "default {} used",
                    scalar_text(default_value).unwrap_or_default()
                ),
            ));
        }
    }
    if accepted.is_empty() {
        // No field at all (unit settings): every pair was reported as unknown.
        return (base, corrections);
    }
    let mut state = match serde_json::from_value::<T>(Value::Object(accepted)) {
        Ok(state) => state,
        Err(e) => {
            // Unreachable in practice (every accepted field deserialised on its own).
            corrections.push(Correction::new("*", format!("settings reset: {e}")));
            T::default()
        }
    };
    state.validate(&mut corrections);
    (state, corrections)
}

/// An on/off value as links and the CLI write it.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim() {
        "true" | "1" | "on" | "yes" => Some(true),
        "false" | "0" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// The text parsed as the same JSON type as the default; `None` if it does not parse.
fn typed_value(default_value: &Value, text: &str) -> Option<Value> {
    let text = text.trim();
    match default_value {
        Value::Bool(_) => parse_bool(text).map(Value::Bool),
        Value::Number(n) if n.is_f64() => {
            let parsed: f64 = text.parse().ok()?;
            // serde_json cannot hold NaN or infinities; they are refused, not turned into null.
            serde_json::Number::from_f64(parsed).map(Value::Number)
        }
        Value::Number(_) => {
            if let Ok(unsigned) = text.parse::<u64>() {
                Some(Value::Number(unsigned.into()))
            } else {
                text.parse::<i64>().ok().map(|i| Value::Number(i.into()))
            }
        }
        Value::String(_) => Some(Value::String(text.to_owned())),
        _ => None,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "boolean (true/false)",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "whole number",
        Value::String(_) => "name",
        _ => "value",
    }
}

/// Long garbage is cut in messages so the UI stays readable.
fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 24;
    if text.chars().count() <= MAX_CHARS {
        text.to_owned()
    } else {
        let head: String = text.chars().take(MAX_CHARS).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fast,
        Exact,
    }

    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(default)]
    struct Demo {
        rows: u32,
        rate: f64,
        on: bool,
        mode: Mode,
        seed: u64,
    }

    impl Default for Demo {
        fn default() -> Self {
            Self {
                rows: ROWS.default,
                rate: RATE.default,
                on: ON.default,
                mode: MODE.default,
                seed: SEED.default,
            }
        }
    }

    const ROWS: Setting<u32> = Setting::new("rows", 64, 4, 1024);
    const RATE: Setting<f64> = Setting::new("rate", 0.5, 0.0, 1.0);
    const ON: Flag = Flag::new("on", true);
    const MODE: Choice<Mode> = Choice::new("mode", Mode::Fast, &[Mode::Fast, Mode::Exact]);
    const SEED: Setting<u64> = Setting::new("seed", 7, 0, u64::MAX);

    impl Settings for Demo {
        const DEFINITIONS: &'static [&'static dyn Described] = &[&ROWS, &RATE, &ON, &MODE, &SEED];
    }

    #[test]
    fn definitions_match_the_struct() {
        assert!(definition_problems::<Demo>().is_empty());
    }

    fn pairs(text: &str) -> Pairs {
        parse_fragment(text)
    }

    #[test]
    fn round_trip_is_exact_and_silent() {
        let demo = Demo {
            rows: 100,
            rate: 0.125,
            on: false,
            mode: Mode::Exact,
            seed: u64::MAX,
        };
        let (back, corrections) = decode::<Demo>(&encode(&demo));
        assert_eq!(back, demo);
        assert!(corrections.is_empty(), "{corrections:?}");
        assert_eq!(
            format_fragment(&encode(&demo)),
            "#rows=100&rate=0.125&on=false&mode=exact&seed=18446744073709551615"
        );
    }

    #[test]
    fn bad_fields_fall_back_and_are_reported() {
        let (state, corrections) =
            decode::<Demo>(&pairs("rows=abc&rate=NaN&on=maybe&mode=slow&seed=-3&zzz=1"));
        assert_eq!(state, Demo::default());
        let keys: Vec<&str> = corrections.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["rows", "rate", "on", "mode", "seed", "zzz"]);
    }

    #[test]
    fn out_of_range_values_are_clamped_and_reported() {
        let (state, corrections) = decode::<Demo>(&pairs("rows=999999&rate=-2"));
        assert_eq!(state.rows, 1024);
        assert_eq!(state.rate, 0.0);
        assert_eq!(corrections.len(), 2);
        assert_eq!(
            corrections[0].to_string(),
            "rows: 999999 is outside 4..=1024, clamped to 1024"
        );
        assert_eq!(corrections[0].problem, "999999 is outside 4..=1024");
        // A u32 field given a value beyond u32 is refused (default kept), not wrapped.
        let (state, corrections) = decode::<Demo>(&pairs("rows=4294967296"));
        assert_eq!(state.rows, 64);
        assert_eq!(corrections.len(), 1);
    }

    #[test]
    fn decode_onto_keeps_the_base_for_missing_keys() {
        let base = Demo {
            rows: 512,
            ..Demo::default()
        };
        let (state, corrections) = decode_onto(base, &pairs("rate=0.25"));
        assert!(corrections.is_empty());
        assert_eq!((state.rows, state.rate), (512, 0.25));
    }

    #[test]
    fn good_fields_survive_bad_neighbours() {
        let (state, corrections) = decode::<Demo>(&pairs("rows=100&mode=bogus&on=false"));
        assert_eq!(state.rows, 100);
        assert!(!state.on);
        assert_eq!(state.mode, Mode::Fast);
        assert_eq!(corrections.len(), 1);
    }
}
