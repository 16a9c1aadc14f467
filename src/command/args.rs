//! Command-line options from setting definitions, read back through the link decoder.
//!
//! An option that the page also has is the definition's key with `-` for `_` (`--lr-logz`), its
//! help the definition's help with the range and the command's default. Its value goes through
//! `share::decode_onto`, the decoder of links: where a link would correct a value (clamp it,
//! replace a bad name), a command refuses it and says what was wrong in the same words.

use clap::{Arg, ArgAction, ArgMatches};

use super::CommandError;
use crate::share::setting::Bounded;
use crate::share::{self, Described, Flag, Kind, Setting, Settings};

/// The help line of an option: its help, its values and the default the command uses.
fn help_line(setting: &dyn Described, default_text: &str) -> String {
    let values = match setting.kind() {
        Kind::Choice => format!("one of {}", setting.value_hint()),
        _ => setting.value_hint(),
    };
    let default = if default_text.is_empty() {
        "none".to_owned()
    } else {
        default_text.to_owned()
    };
    format!("{} [{values}; default {default}]", setting.help_text())
}

/// The clap arguments of one definition (a flag that defaults on also gets `--no-<flag>`).
fn described_args(setting: &dyn Described, default_text: &str) -> Vec<Arg> {
    let key = setting.key();
    let flag = setting.flag_name();
    let arg = Arg::new(key)
        .long(flag.clone())
        .help(help_line(setting, default_text));
    match setting.kind() {
        Kind::Flag => {
            // `--flag=false` takes a value; `--flag FILE` must not: a positional argument after
            // a bare flag (`aglfop --model-specific table.csv`) was read as the flag's value.
            let mut args = vec![
                arg.num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("true")
                    .value_name("BOOL"),
            ];
            if default_text == "true" {
                args.push(
                    Arg::new(format!("no-{key}"))
                        .long(format!("no-{flag}"))
                        .action(ArgAction::SetTrue)
                        .conflicts_with(key)
                        .help(format!("the same as --{flag}=false")),
                );
            }
            args
        }
        Kind::Text => vec![arg.value_name(setting.value_hint())],
        // `--coupling -0.3` is a value, not a flag.
        Kind::Number | Kind::Choice => vec![
            arg.value_name(key.to_uppercase())
                .allow_negative_numbers(true),
        ],
    }
}

/// Options for the fields `keys` of the settings struct `T`, with `base`'s values shown as the
/// command's defaults.
pub fn settings_args<T: Settings>(base: &T, keys: &[&str]) -> Vec<Arg> {
    let defaults = share::encode(base);
    keys.iter()
        .filter_map(|key| {
            let setting = share::definition::<T>(key);
            debug_assert!(setting.is_some(), "no definition of '{key}'");
            let default = defaults
                .iter()
                .find(|(k, _)| k == key)
                .map_or(String::new(), |(_, v)| v.clone());
            setting.map(|s| described_args(s, &default))
        })
        .flatten()
        .collect()
}

/// The option of a command-only number (`--trajectories`).
pub fn number_arg<T: Bounded>(setting: &'static Setting<T>) -> Arg {
    let default = setting.default_text();
    described_args(setting, &default).remove(0)
}

/// The option of a command-only on/off setting (`--teleport`).
pub fn flag_arg(setting: &'static Flag) -> Arg {
    described_args(setting, &setting.default.to_string()).remove(0)
}

/// The `--out FILE` option of a command that writes a file.
pub fn output_arg(what: &'static str) -> Arg {
    text_arg("out", "FILE", what)
}

/// A command-only text option (`--weights FILE`).
pub fn text_arg(id: &'static str, value_name: &'static str, help: &'static str) -> Arg {
    Arg::new(id).long(id).value_name(value_name).help(help)
}

/// A command's parsed arguments.
pub struct Args<'a> {
    matches: &'a ArgMatches,
}

impl<'a> Args<'a> {
    pub fn new(matches: &'a ArgMatches) -> Self {
        Self { matches }
    }

    /// The text given for `id`, if any.
    pub fn text(&self, id: &str) -> Option<&'a str> {
        self.matches
            .try_get_one::<String>(id)
            .ok()
            .flatten()
            .map(String::as_str)
    }

    /// Whether a `SetTrue` switch (`--no-cpu`) was given.
    pub fn switch(&self, id: &str) -> bool {
        self.matches
            .try_get_one::<bool>(id)
            .ok()
            .flatten()
            .copied()
            .unwrap_or(false)
    }

    /// The settings `T`, starting from `base`, with the fields `keys` taken from the command
    /// line and checked as a link is; anything a link would correct is a usage error.
    pub fn settings<T: Settings>(&self, base: T, keys: &[&str]) -> Result<T, CommandError> {
        let mut pairs = Vec::new();
        for key in keys {
            if let Some(text) = self.text(key) {
                pairs.push(((*key).to_owned(), text.to_owned()));
            } else if self.switch(&format!("no-{key}")) {
                pairs.push(((*key).to_owned(), "false".to_owned()));
            }
        }
        let (settings, corrections) = share::decode_onto(base, &pairs);
        if corrections.is_empty() {
            return Ok(settings);
        }
        let lines: Vec<String> = corrections
            .iter()
            .map(|c| {
                let flag = share::definition::<T>(&c.key)
                    .map_or_else(|| c.key.replace('_', "-"), |d| d.flag_name());
                match pairs.iter().find(|(k, _)| *k == c.key) {
                    Some((_, given)) => format!("--{flag} {given}: {}", c.problem),
                    None => format!("--{flag}: {}", c.problem),
                }
            })
            .collect();
        Err(CommandError::usage(lines.join("\n       ")))
    }

    /// The `--out` path, checked before any work (its folder exists and takes a file; it is
    /// not a folder): a usage error otherwise, so a long run never ends unable to save.
    pub fn output(&self) -> Result<Option<std::path::PathBuf>, CommandError> {
        let Some(text) = self.text("out") else {
            return Ok(None);
        };
        let path = std::path::PathBuf::from(text);
        crate::files::check_output(&path)
            .map_err(|e| CommandError::usage(format!("--out {text}: {e}")))?;
        Ok(Some(path))
    }

    /// A command-only on/off setting (default when not given).
    pub fn flag(&self, setting: &Flag) -> Result<bool, CommandError> {
        let Some(text) = self.text(setting.key) else {
            return Ok(setting.default);
        };
        share::parse_bool(text).ok_or_else(|| {
            CommandError::usage(format!(
                "--{} {text}: '{text}' is not a boolean (true/false)",
                setting.flag_name()
            ))
        })
    }

    /// A command-only number, checked against its definition (default when not given).
    pub fn number<T: Bounded>(&self, setting: &Setting<T>) -> Result<T, CommandError> {
        let flag = setting.flag_name();
        let Some(text) = self.text(setting.key) else {
            return Ok(setting.default);
        };
        let value = T::parse_text(text).ok_or_else(|| {
            CommandError::usage(format!(
                "--{flag} {text}: '{text}' is not a number in {}",
                setting.range_text()
            ))
        })?;
        setting
            .check(value)
            .map_err(|(_, c)| CommandError::usage(format!("--{flag} {text}: {}", c.problem)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::Choice;

    #[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Loss {
        Tb,
        Db,
    }

    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(default)]
    struct Demo {
        batch: u32,
        lr_logz: f64,
        loss: Loss,
        cpu: bool,
    }

    const BATCH: Setting<u32> = Setting::new("batch", 16, 1, 256).help("Trajectories per step.");
    const LR_LOGZ: Setting<f64> = Setting::new("lr_logz", 0.1, 1e-4, 1.0);
    const LOSS: Choice<Loss> = Choice::new("loss", Loss::Tb, &[Loss::Tb, Loss::Db]);
    const CPU: Flag = Flag::new("cpu", true);
    const STEPS: Setting<u64> = Setting::new("steps", 100, 1, 1000);

    impl Default for Demo {
        fn default() -> Self {
            Self {
                batch: BATCH.default,
                lr_logz: LR_LOGZ.default,
                loss: LOSS.default,
                cpu: CPU.default,
            }
        }
    }

    impl Settings for Demo {
        const DEFINITIONS: &'static [&'static dyn Described] = &[&BATCH, &LR_LOGZ, &LOSS, &CPU];
    }

    const KEYS: &[&str] = &["batch", "lr_logz", "loss", "cpu"];

    fn parse(args: &[&str]) -> Result<(Demo, u64), String> {
        let command = clap::Command::new("demo")
            .args(settings_args(&Demo::default(), KEYS))
            .arg(number_arg(&STEPS));
        let matches = command
            .try_get_matches_from(std::iter::once("demo").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        let args = Args::new(&matches);
        let demo = args
            .settings(Demo::default(), KEYS)
            .map_err(|e| format!("{e:?}"))?;
        let steps = args.number(&STEPS).map_err(|e| format!("{e:?}"))?;
        Ok((demo, steps))
    }

    #[test]
    fn options_parse_in_both_spellings_and_booleans_are_flags() {
        let (demo, steps) =
            parse(&["--batch", "32", "--lr-logz=0.5", "--loss", "db", "--no-cpu"]).expect("ok");
        assert_eq!(demo.batch, 32);
        assert_eq!(demo.lr_logz, 0.5);
        assert_eq!(demo.loss, Loss::Db);
        assert!(!demo.cpu);
        assert_eq!(steps, 100);
        let (demo, steps) = parse(&["--cpu", "--steps=7"]).expect("ok");
        assert!(demo.cpu);
        assert_eq!(steps, 7);
        assert!(!parse(&["--cpu=false"]).expect("ok").0.cpu);
        // A bare flag takes no value from the next word, which may be a file.
        assert!(parse(&["--cpu", "false"]).is_err());
        assert_eq!(parse(&[]).expect("defaults").0, Demo::default());
    }

    #[test]
    fn what_a_link_would_correct_is_refused_in_the_same_words() {
        let e = parse(&["--batch", "999"]).expect_err("out of range");
        assert!(e.contains("--batch 999: 999 is outside 1..=256"), "{e}");
        let e = parse(&["--loss", "xx"]).expect_err("unknown name");
        assert!(e.contains("'xx' is not one of tb|db"), "{e}");
        let e = parse(&["--steps", "0"]).expect_err("below the range");
        assert!(e.contains("0 is outside 1..=1000"), "{e}");
        let e = parse(&["--batch", "-3"]).expect_err("negative");
        assert!(e.contains("--batch -3: '-3' is not in 1..=256"), "{e}");
        let e = parse(&["--steps", "x"]).expect_err("not a number");
        assert!(e.contains("'x' is not a number"), "{e}");
        assert!(parse(&["--bogus", "1"]).is_err());
        assert!(parse(&["--cpu", "--no-cpu"]).is_err());
    }
}
