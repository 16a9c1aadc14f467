//! Share links: a lab's settings struct (serde) <-> readable `key=value` pairs in the URL
//! fragment, e.g. `#lab=device&rows=4096&cols=4096`.
//!
//! A link is untrusted input. Decoding starts from the defaults and accepts one field at a time:
//! an unknown key, a value of the wrong type or an unknown enum name is reported as a
//! [`Correction`] and the field keeps its default; then [`Validate`] clamps ranges (reporting
//! each clamp). Nothing here panics, whatever the input.

mod fragment;

pub use fragment::{Pairs, format_fragment, parse_fragment, percent_decode, percent_encode};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// One field of a link that was not taken as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    pub key: String,
    pub message: String,
}

impl Correction {
    pub fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Correction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Range checks of a settings struct; each fix is reported.
pub trait Validate {
    fn validate(&mut self, corrections: &mut Vec<Correction>);
}

/// Settings that can live in a link.
pub trait ShareState: Serialize + DeserializeOwned + Default + Validate + Clone {}
impl<T: Serialize + DeserializeOwned + Default + Validate + Clone> ShareState for T {}

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

/// Settings from untrusted pairs, with every correction that was needed.
pub fn decode<T: ShareState>(pairs: &[(String, String)]) -> (T, Vec<Correction>) {
    let mut corrections = Vec::new();
    let defaults = match serde_json::to_value(T::default()) {
        Ok(Value::Object(map)) => map,
        _ => return (T::default(), corrections),
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
        let Some(value) = typed_value(default_value, text) else {
            corrections.push(Correction::new(
                key,
                format!(
                    "'{}' is not a {}, default {} used",
                    shorten(text),
                    type_name(default_value),
                    scalar_text(default_value).unwrap_or_default()
                ),
            ));
            continue;
        };
        let mut candidate = accepted.clone();
        candidate.insert(key.clone(), value);
        if serde_json::from_value::<T>(Value::Object(candidate.clone())).is_ok() {
            accepted = candidate;
        } else {
            corrections.push(Correction::new(
                key,
                format!(
                    "'{}' is not a valid value, default {} used",
                    shorten(text),
                    scalar_text(default_value).unwrap_or_default()
                ),
            ));
        }
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

/// The text parsed as the same JSON type as the default; `None` if it does not parse.
fn typed_value(default_value: &Value, text: &str) -> Option<Value> {
    let text = text.trim();
    match default_value {
        Value::Bool(_) => match text {
            "true" | "1" | "on" | "yes" => Some(Value::Bool(true)),
            "false" | "0" | "off" | "no" => Some(Value::Bool(false)),
            _ => None,
        },
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

/// Clamps an integer setting into `[min, max]`, reporting a change.
pub fn clamp_u32(
    value: &mut u32,
    key: &str,
    min: u32,
    max: u32,
    corrections: &mut Vec<Correction>,
) {
    let clamped = (*value).clamp(min, max);
    if clamped != *value {
        corrections.push(Correction::new(
            key,
            format!("{} is outside {min}..={max}, clamped to {clamped}", *value),
        ));
        *value = clamped;
    }
}

/// Rounds an integer setting to a multiple of `step` (nearest, at least `step`), reporting it.
pub fn round_to_multiple(value: &mut u32, key: &str, step: u32, corrections: &mut Vec<Correction>) {
    let step = step.max(1);
    let rounded = ((*value + step / 2) / step).max(1) * step;
    if rounded != *value {
        corrections.push(Correction::new(
            key,
            format!(
                "{} is not a multiple of {step}, rounded to {rounded}",
                *value
            ),
        ));
        *value = rounded;
    }
}

/// Clamps a real setting into `[min, max]`; a non-finite value takes `default`.
pub fn clamp_f64(
    value: &mut f64,
    key: &str,
    min: f64,
    max: f64,
    default: f64,
    corrections: &mut Vec<Correction>,
) {
    if !value.is_finite() {
        corrections.push(Correction::new(
            key,
            format!("not finite, default {default} used"),
        ));
        *value = default;
        return;
    }
    let clamped = value.clamp(min, max);
    if clamped != *value {
        corrections.push(Correction::new(
            key,
            format!("{} is outside {min}..={max}, clamped to {clamped}", *value),
        ));
        *value = clamped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
                rows: 64,
                rate: 0.5,
                on: true,
                mode: Mode::Fast,
                seed: 7,
            }
        }
    }

    impl Validate for Demo {
        fn validate(&mut self, c: &mut Vec<Correction>) {
            clamp_u32(&mut self.rows, "rows", 4, 1024, c);
            clamp_f64(&mut self.rate, "rate", 0.0, 1.0, 0.5, c);
        }
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
        // A u32 field given a value beyond u32 is refused (default kept), not wrapped.
        let (state, corrections) = decode::<Demo>(&pairs("rows=4294967296"));
        assert_eq!(state.rows, 64);
        assert_eq!(corrections.len(), 1);
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
