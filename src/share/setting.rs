//! One definition per user-settable value: its link key, label, help text, unit, default and
//! range. The page's slider and tooltip (`labs::controls`), the link decoder ([`super::decode`])
//! and the CLI option (`command::args`) are all built from it, so a range or a default is
//! written once and the three can never disagree.

use serde::Serialize;
use serde_json::Value;

use super::Correction;

/// A number type a [`Setting`] can hold.
pub trait Bounded: Copy + PartialOrd + std::fmt::Display + Serialize + Sync + 'static {
    fn is_finite_value(self) -> bool {
        true
    }
    fn from_json(value: &Value) -> Option<Self>;
    /// Rounds to the nearest multiple of `step` (at least `step`); identity for reals.
    fn round_to(self, step: u32) -> Self;
    /// The value as the CLI parses it (`FromStr` of the type).
    fn parse_text(text: &str) -> Option<Self>;
}

impl Bounded for u32 {
    fn from_json(value: &Value) -> Option<Self> {
        value.as_u64().and_then(|v| u32::try_from(v).ok())
    }
    fn round_to(self, step: u32) -> Self {
        let step = step.max(1);
        (self.saturating_add(step / 2) / step).max(1) * step
    }
    fn parse_text(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}

impl Bounded for u64 {
    fn from_json(value: &Value) -> Option<Self> {
        value.as_u64()
    }
    fn round_to(self, step: u32) -> Self {
        let step = u64::from(step.max(1));
        (self.saturating_add(step / 2) / step).max(1) * step
    }
    fn parse_text(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}

impl Bounded for f64 {
    fn is_finite_value(self) -> bool {
        self.is_finite()
    }
    fn from_json(value: &Value) -> Option<Self> {
        value.as_f64()
    }
    fn round_to(self, _step: u32) -> Self {
        self
    }
    fn parse_text(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}

/// The builders every definition has: `.label("…")`, `.help("…")` (const, for `const` items).
macro_rules! text_builders {
    () => {
        /// What the page's control shows beside it.
        pub const fn label(self, label: &'static str) -> Self {
            Self { label, ..self }
        }
        /// One or two sentences: the tooltip and the CLI help.
        pub const fn help(self, help: &'static str) -> Self {
            Self { help, ..self }
        }
    };
}

/// `.flag("memory-bound")`: a CLI flag other than the key with `-` for `_`.
macro_rules! flag_builder {
    () => {
        pub const fn flag(self, flag: &'static str) -> Self {
            Self {
                flag: Some(flag),
                ..self
            }
        }
    };
}

/// A number with a range: `Setting::new("batch", 16, 1, 256).label(..).help(..)`.
#[derive(Clone, Copy, Debug)]
pub struct Setting<T> {
    /// The link key (`batch=16`); the CLI flag is the same with `-` for `_` unless `flag` says.
    pub key: &'static str,
    /// The CLI flag without `--`, when it differs from the key.
    pub flag: Option<&'static str>,
    /// What the page's control shows beside it.
    pub label: &'static str,
    /// One or two sentences: the tooltip, the CLI help.
    pub help: &'static str,
    /// Unit of the value ("" when it has none), shown after the label and in help.
    pub unit: &'static str,
    pub default: T,
    pub min: T,
    pub max: T,
    /// Integers: the value is rounded to a multiple of this (1: any).
    pub multiple: u32,
    /// The slider is logarithmic.
    pub log: bool,
}

impl<T: Copy> Setting<T> {
    pub const fn new(key: &'static str, default: T, min: T, max: T) -> Self {
        Self {
            key,
            flag: None,
            label: key,
            help: "",
            unit: "",
            default,
            min,
            max,
            multiple: 1,
            log: false,
        }
    }
    text_builders!();
    pub const fn unit(self, unit: &'static str) -> Self {
        Self { unit, ..self }
    }
    pub const fn log(self) -> Self {
        Self { log: true, ..self }
    }
    pub const fn multiple_of(self, multiple: u32) -> Self {
        Self { multiple, ..self }
    }
    flag_builder!();
}

impl<T: Bounded> Setting<T> {
    /// The range as the messages and the help write it.
    pub fn range_text(&self) -> String {
        format!("{}..={}", self.min, self.max)
    }

    /// `value` inside the range and on the grid, or the corrected value with what was wrong.
    /// Every correction of a link, a slider or a CLI argument comes from here.
    pub fn check(&self, value: T) -> Result<T, (T, Correction)> {
        if !value.is_finite_value() {
            return Err((
                self.default,
                Correction::fixed(
                    self.key,
                    "not finite",
                    format!("default {} used", self.default),
                ),
            ));
        }
        let clamped = if value < self.min {
            self.min
        } else if value > self.max {
            self.max
        } else {
            value
        };
        if clamped != value {
            return Err((
                clamped,
                Correction::fixed(
                    self.key,
                    format!("{value} is outside {}", self.range_text()),
                    format!("clamped to {clamped}"),
                ),
            ));
        }
        if self.multiple > 1 {
            let rounded = value.round_to(self.multiple);
            if rounded != value {
                return Err((
                    rounded,
                    Correction::fixed(
                        self.key,
                        format!("{value} is not a multiple of {}", self.multiple),
                        format!("rounded to {rounded}"),
                    ),
                ));
            }
        }
        Ok(value)
    }

    /// Corrects `value` in place, reporting the correction.
    pub fn clamp(&self, value: &mut T, corrections: &mut Vec<Correction>) {
        if let Err((fixed, correction)) = self.check(*value) {
            *value = fixed;
            corrections.push(correction);
        }
    }
}

/// A setting with named values (a unit enum): `Choice::new("loss", Loss::Tb, &[Loss::Tb, ..])`.
#[derive(Clone, Copy, Debug)]
pub struct Choice<E: 'static> {
    pub key: &'static str,
    pub flag: Option<&'static str>,
    pub label: &'static str,
    pub help: &'static str,
    pub default: E,
    pub options: &'static [E],
}

impl<E: Copy> Choice<E> {
    pub const fn new(key: &'static str, default: E, options: &'static [E]) -> Self {
        Self {
            key,
            flag: None,
            label: key,
            help: "",
            default,
            options,
        }
    }
    text_builders!();
    flag_builder!();
}

/// An on/off setting. On the CLI it is a flag: `--key` (or `--no-key` when it defaults on).
#[derive(Clone, Copy, Debug)]
pub struct Flag {
    pub key: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub default: bool,
}

impl Flag {
    pub const fn new(key: &'static str, default: bool) -> Self {
        Self {
            key,
            label: key,
            help: "",
            default,
        }
    }
    text_builders!();
}

/// A free-text setting (painted cells, custom losses); its struct's `validate` checks it.
#[derive(Clone, Copy, Debug)]
pub struct Text {
    pub key: &'static str,
    pub flag: Option<&'static str>,
    pub label: &'static str,
    pub help: &'static str,
    /// What the CLI's help names the value (`CELLS`, `SPEC`).
    pub value_name: &'static str,
    pub default: &'static str,
}

impl Text {
    pub const fn new(key: &'static str, default: &'static str) -> Self {
        Self {
            key,
            flag: None,
            label: key,
            help: "",
            value_name: "TEXT",
            default,
        }
    }
    text_builders!();
    pub const fn value_name(self, value_name: &'static str) -> Self {
        Self { value_name, ..self }
    }
    flag_builder!();
    /// The default as the struct holds it.
    pub fn default_value(&self) -> String {
        self.default.to_owned()
    }
}

/// What kind of value a definition holds (how the CLI takes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Number,
    Choice,
    Flag,
    Text,
}

/// What every definition has: its key, CLI flag, label and help.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    pub key: &'static str,
    pub flag: Option<&'static str>,
    pub label: &'static str,
    pub help: &'static str,
}

/// Any definition, as a settings struct lists them ([`super::Settings::DEFINITIONS`]).
pub trait Described: Sync {
    fn meta(&self) -> Meta;
    fn key(&self) -> &'static str {
        self.meta().key
    }
    /// The CLI flag without `--` (the key with `-` for `_`, unless the definition names one).
    fn flag_name(&self) -> String {
        let meta = self.meta();
        meta.flag
            .map_or_else(|| meta.key.replace('_', "-"), str::to_owned)
    }
    fn label_text(&self) -> &'static str {
        self.meta().label
    }
    fn help_text(&self) -> &'static str {
        self.meta().help
    }
    fn kind(&self) -> Kind;
    /// What the CLI help shows as the value: `1..=256`, `tb|db`.
    fn value_hint(&self) -> String;
    /// The default as link text.
    fn default_text(&self) -> String;
    /// A decoded link value checked against the range: `Some` (replacement, correction) when
    /// it had to change.
    fn check_json(&self, value: &Value) -> Option<(Value, Correction)>;
}

fn json_text(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

impl<T: Bounded> Described for Setting<T> {
    fn meta(&self) -> Meta {
        Meta {
            key: self.key,
            flag: self.flag,
            label: self.label,
            help: self.help,
        }
    }
    fn kind(&self) -> Kind {
        Kind::Number
    }
    fn value_hint(&self) -> String {
        let mut hint = self.range_text();
        if self.multiple > 1 {
            hint.push_str(&format!(", multiple of {}", self.multiple));
        }
        if !self.unit.is_empty() {
            hint.push(' ');
            hint.push_str(self.unit);
        }
        hint
    }
    fn default_text(&self) -> String {
        json_text(&self.default)
    }
    fn check_json(&self, value: &Value) -> Option<(Value, Correction)> {
        let typed = T::from_json(value)?;
        let (fixed, correction) = self.check(typed).err()?;
        Some((serde_json::to_value(fixed).ok()?, correction))
    }
}

impl<E: Serialize + Copy + Sync + 'static> Described for Choice<E> {
    fn meta(&self) -> Meta {
        Meta {
            key: self.key,
            flag: self.flag,
            label: self.label,
            help: self.help,
        }
    }
    fn kind(&self) -> Kind {
        Kind::Choice
    }
    fn value_hint(&self) -> String {
        self.options
            .iter()
            .map(json_text)
            .collect::<Vec<_>>()
            .join("|")
    }
    fn default_text(&self) -> String {
        json_text(&self.default)
    }
    fn check_json(&self, value: &Value) -> Option<(Value, Correction)> {
        // Serde already refused unknown names; the options list may be narrower than the enum.
        let name = value.as_str()?;
        if self.options.iter().any(|o| json_text(o) == name) {
            return None;
        }
        Some((
            serde_json::to_value(self.default).ok()?,
            Correction::fixed(
                self.key,
                format!("'{name}' is not one of {}", self.value_hint()),
                format!("default {} used", self.default_text()),
            ),
        ))
    }
}

impl Described for Flag {
    fn meta(&self) -> Meta {
        Meta {
            key: self.key,
            flag: None,
            label: self.label,
            help: self.help,
        }
    }
    fn kind(&self) -> Kind {
        Kind::Flag
    }
    fn value_hint(&self) -> String {
        "true|false".to_owned()
    }
    fn default_text(&self) -> String {
        self.default.to_string()
    }
    fn check_json(&self, _value: &Value) -> Option<(Value, Correction)> {
        None
    }
}

impl Described for Text {
    fn meta(&self) -> Meta {
        Meta {
            key: self.key,
            flag: self.flag,
            label: self.label,
            help: self.help,
        }
    }
    fn kind(&self) -> Kind {
        Kind::Text
    }
    fn value_hint(&self) -> String {
        self.value_name.to_owned()
    }
    fn default_text(&self) -> String {
        self.default.to_owned()
    }
    fn check_json(&self, _value: &Value) -> Option<(Value, Correction)> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BATCH: Setting<u32> = Setting::new("batch", 16, 1, 256).label("batch");
    const ROWS: Setting<u32> = Setting::new("rows", 4096, 64, 16_384).multiple_of(64);
    const LR: Setting<f64> = Setting::new("lr", 1e-3, 1e-5, 0.1).log();

    #[test]
    fn checks_clamp_round_and_refuse_non_finite_values() {
        assert_eq!(BATCH.check(16), Ok(16));
        let (fixed, c) = BATCH.check(999).expect_err("out of range");
        assert_eq!(fixed, 256);
        assert_eq!(
            c.to_string(),
            "batch: 999 is outside 1..=256, clamped to 256"
        );
        assert_eq!(c.problem, "999 is outside 1..=256");
        let (fixed, c) = ROWS.check(1000).expect_err("off the grid");
        assert_eq!(fixed, 1024);
        assert!(c.message.contains("multiple of 64"), "{c}");
        let (fixed, c) = LR.check(f64::NAN).expect_err("NaN");
        assert_eq!(fixed, 1e-3);
        assert_eq!(c.message, "not finite, default 0.001 used");
        assert_eq!(LR.check(0.5).map_err(|e| e.0), Err(0.1));
    }

    #[test]
    fn json_checks_agree_with_typed_checks() {
        let (v, c) = BATCH
            .check_json(&serde_json::json!(0))
            .expect("0 is below the range");
        assert_eq!(v, serde_json::json!(1));
        assert_eq!(c.key, "batch");
        assert!(BATCH.check_json(&serde_json::json!(3)).is_none());
        assert_eq!(BATCH.value_hint(), "1..=256");
        assert_eq!(ROWS.value_hint(), "64..=16384, multiple of 64");
        assert_eq!(
            Setting::new("lr_logz", 0.1, 0.0, 1.0).flag_name(),
            "lr-logz"
        );
        assert_eq!(BATCH.flag("size").flag_name(), "size");
    }
}
