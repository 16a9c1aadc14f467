//! Native command line: the desktop app by default, and every lab's commands, assembled from
//! the lab registry (`labs::all_commands`) into one clap command. This file knows no lab: a
//! lab's commands live in its own `cli.rs`.

use std::sync::Arc;

use clap::{Arg, ArgMatches, Command};

use crate::app::{PaperlabApp, StartOptions};
use crate::command::{Args, CommandError, LabCommand, emit, headless_compute};
use crate::gpu::device_descriptor_for;
use crate::selftest::SelfTestRun;

const ABOUT: &str = "paperlab: recent ML and decision-science papers made tangible. Without a \
command it opens the desktop app; every command prints JSON (one object per line).";

const AFTER_HELP: &str = "ENVIRONMENT:
  PAPERLAB_ADAPTER=<substring>  pick an adapter by name (e.g. llvmpipe for lavapipe)
  RUST_LOG=<filter>             log level (default: warn; info for the desktop app)";

/// Commands of the shell itself (not of a lab).
fn shell_commands() -> Vec<LabCommand> {
    vec![LabCommand {
        path: &["selftest"],
        about: "run every kernel check (GPU vs reference) of every lab; JSON report",
        long_about: "",
        args: Vec::new,
        run: selftest,
    }]
}

/// What a group of commands is about (`paperlab gfn`, `paperlab bench`).
fn group_about(name: &str, lab_title: &str) -> String {
    if name == "bench" {
        "benchmarks: measured figures as JSON lines, ratios side by side".to_owned()
    } else {
        format!("commands of the {lab_title} lab")
    }
}

/// Every command, with the title of the lab it belongs to.
fn registry() -> Vec<(&'static str, LabCommand)> {
    let mut commands: Vec<(&'static str, LabCommand)> = crate::labs::REGISTRY
        .iter()
        .flat_map(|entry| (entry.commands)().into_iter().map(|c| (entry.title, c)))
        .collect();
    commands.extend(shell_commands().into_iter().map(|c| ("paperlab", c)));
    commands
}

fn leaf(command: &LabCommand, name: &'static str) -> Command {
    let mut leaf = Command::new(name)
        .about(command.about)
        .args((command.args)());
    if !command.long_about.is_empty() {
        leaf = leaf.after_help(command.long_about);
    }
    leaf
}

/// The whole command line as clap sees it.
pub fn command_tree(commands: &[(&'static str, LabCommand)]) -> Command {
    let mut root = Command::new("paperlab")
        .version(env!("CARGO_PKG_VERSION"))
        .about(ABOUT)
        .after_help(AFTER_HELP)
        .arg(
            Arg::new("link")
                .long("link")
                .value_name("FRAGMENT")
                .help("open the desktop app at a share link, e.g. '#lab=device&rows=4096'"),
        )
        .subcommand_required(false);
    for (title, command) in commands {
        match command.path {
            [name] => root = root.subcommand(leaf(command, name)),
            [group, name] => {
                let existing = root.find_subcommand(group).is_some();
                if !existing {
                    root = root.subcommand(
                        Command::new(*group)
                            .about(group_about(group, title))
                            .subcommand_required(true),
                    );
                }
                // A group that is also a command (`quant MATRIX` beside `quant model`): the
                // subcommand word wins, and the group's own required arguments wait for it.
                root = root.mut_subcommand(*group, |g| {
                    g.subcommand(leaf(command, name))
                        .subcommand_negates_reqs(true)
                        .args_conflicts_with_subcommands(true)
                });
            }
            _ => log::error!("command path {:?} is not one or two words", command.path),
        }
    }
    root
}

/// The words of the chosen subcommand and its matches.
fn chosen(matches: &ArgMatches) -> (Vec<&str>, &ArgMatches) {
    let mut path = Vec::new();
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        path.push(name);
        current = sub;
    }
    (path, current)
}

/// The subcommand named by `path`.
fn leaf_mut<'a>(command: &'a mut Command, path: &[&str]) -> Option<&'a mut Command> {
    let Some((first, rest)) = path.split_first() else {
        return Some(command);
    };
    leaf_mut(command.find_subcommand_mut(first)?, rest)
}

/// Mesa's Vulkan device-selection layer connects to Wayland while the GPU is opened and prints
/// "XDG_RUNTIME_DIR is invalid or not set" when there is no session (ssh, CI, containers).
/// Where the variable is missing or not a directory, it points to a private folder instead.
#[allow(unsafe_code)]
fn quiet_display_probes() {
    let valid =
        std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|dir| std::path::Path::new(&dir).is_dir());
    if valid {
        return;
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // One folder per user (the owner of this process), reused by later runs.
    let uid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
    let dir = std::env::temp_dir().join(format!("paperlab-runtime-{uid}"));
    let made = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)));
    if made.is_ok() {
        // SAFETY: called first thing in `main`, before any thread exists, so nothing reads
        // the environment concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}

/// Runs the command line; returns the process exit code (0 ok, 1 failure, 2 usage error).
/// Called first thing by `main` (single-threaded: see [`quiet_display_probes`]).
pub fn main() -> i32 {
    quiet_display_probes();
    let commands = registry();
    let tree = command_tree(&commands);
    let matches = match tree.clone().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => {
            // --help and --version land here too (exit code 0).
            let _ = e.print();
            return e.exit_code();
        }
    };
    let (path, leaf_matches) = chosen(&matches);
    init_logging(if path.is_empty() { "info" } else { "warn" });
    if path.is_empty() {
        let link = matches
            .try_get_one::<String>("link")
            .ok()
            .flatten()
            .cloned();
        return run_desktop(link.unwrap_or_default());
    }
    let Some((_, command)) = commands.iter().find(|(_, c)| c.path == path.as_slice()) else {
        eprintln!("error: no command {}", path.join(" "));
        return 2;
    };
    match (command.run)(&Args::new(leaf_matches)) {
        Ok(code) => code,
        Err(CommandError::Usage(message)) => {
            // That command's usage, with its full name (`build` sets the subcommands' names).
            let mut tree = tree;
            tree.build();
            match leaf_mut(&mut tree, &path) {
                Some(leaf) => {
                    let _ = leaf
                        .error(clap::error::ErrorKind::ValueValidation, message)
                        .print();
                }
                None => eprintln!("error: {message}"),
            }
            2
        }
        Err(CommandError::Failed(message)) => {
            eprintln!("error: {message}");
            1
        }
    }
}

/// `RUST_LOG` for every command; without it warnings only (the desktop app: info).
fn init_logging(default_filter: &str) {
    let _ =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_filter))
            .try_init();
}

fn run_desktop(fragment: String) -> i32 {
    let mut setup = eframe::egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    setup.device_descriptor = Arc::new(device_descriptor_for);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("paperlab")
            .with_inner_size([1280.0, 820.0]),
        wgpu_options: eframe::egui_wgpu::WgpuConfiguration {
            wgpu_setup: eframe::egui_wgpu::WgpuSetup::CreateNew(setup),
            ..Default::default()
        },
        ..Default::default()
    };
    let start = StartOptions {
        fragment,
        selftest: false,
        compute_on_cpu: false,
    };
    match eframe::run_native(
        "paperlab",
        options,
        Box::new(move |cc| Ok(Box::new(PaperlabApp::new(cc, start)))),
    ) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: the desktop app could not start: {e}");
            1
        }
    }
}

fn selftest(_args: &Args<'_>) -> Result<i32, CommandError> {
    let compute = headless_compute();
    let report = SelfTestRun::new(crate::labs::all_checks()).run_blocking(&compute);
    let text =
        serde_json::to_string_pretty(&report).map_err(|e| CommandError::failed(e.to_string()))?;
    emit(text);
    Ok(if report.passed { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_tree_is_consistent() {
        // clap's own checks: unique ids and flags, valid defaults, in every subcommand.
        let commands = registry();
        command_tree(&commands).debug_assert();
        for (_, c) in &commands {
            assert!(!c.about.is_empty(), "{:?} has no about text", c.path);
        }
    }

    #[test]
    fn every_command_has_help_and_usage_errors_are_exit_code_2() {
        let commands = registry();
        for (_, c) in &commands {
            let mut words = vec!["paperlab"];
            words.extend(c.path.iter().copied());
            let help = command_tree(&commands)
                .try_get_matches_from(words.iter().copied().chain(["--help"]))
                .expect_err("--help stops parsing");
            assert_eq!(help.exit_code(), 0, "{words:?}");
            let bad = command_tree(&commands)
                .try_get_matches_from(words.iter().copied().chain(["--no-such-option"]))
                .expect_err("unknown option");
            assert_eq!(bad.exit_code(), 2, "{words:?}");
            // The usage shown is the command's own, not the whole list.
            let text = bad.render().to_string();
            assert!(text.contains(&c.path.join(" ")), "{text}");
        }
    }
}
