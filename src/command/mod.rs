//! The command-line layer under the labs (native only): a lab's commands ([`LabCommand`]),
//! their options built from the same setting definitions as the page and the link (and
//! validated by the same decoder: what a link would correct, a command refuses, in the same
//! words), output that survives a closed pipe, and the headless compute context.
//! `src/cli.rs` assembles the registry's commands into one clap command.

mod args;
pub mod output;
pub mod progress;

pub use args::{Args, flag_arg, number_arg, output_arg, settings_args, text_arg};
pub use output::emit;
pub use progress::{INTERRUPTED_EXIT_CODE, Progress, catch_interrupts, interrupted};

use crate::gpu::{Compute, GpuContext};

/// One command of a lab: `paperlab gfn train`, `paperlab bench gfn`.
pub struct LabCommand {
    /// The words that name it: `["gfn", "train"]`, `["bench", "gfn"]`, `["pid"]`.
    pub path: &'static [&'static str],
    /// One line for the list of commands.
    pub about: &'static str,
    /// More text for `--help` (what it prints, an example); may be empty.
    pub long_about: &'static str,
    /// Its options and positional arguments.
    pub args: fn() -> Vec<clap::Arg>,
    /// Runs it; the exit code, or why it could not run.
    pub run: fn(&Args<'_>) -> Result<i32, CommandError>,
}

/// Why a command did not run to the end.
#[derive(Debug)]
pub enum CommandError {
    /// The arguments were wrong: the command's usage is printed, exit code 2.
    Usage(String),
    /// The work failed (a file, the GPU, a solver): exit code 1.
    Failed(String),
}

impl CommandError {
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }
}

impl From<crate::gpu::GpuError> for CommandError {
    fn from(e: crate::gpu::GpuError) -> Self {
        Self::Failed(e.to_string())
    }
}

/// The headless compute context, or the CPU fallback with the reason on stderr.
pub fn headless_compute() -> Compute {
    match GpuContext::new_headless() {
        Ok(ctx) => Compute::Gpu(std::sync::Arc::new(ctx)),
        Err(e) => {
            eprintln!("warning: {e}; using the CPU fallback");
            Compute::CpuFallback {
                reason: e.to_string(),
            }
        }
    }
}

/// This process's command line as `paperlab ...`, without the options named (an output path
/// is not part of what reproduces a file): both `--out FILE` and `--out=FILE` are dropped.
pub fn command_line_without(options: &[&str]) -> String {
    let mut words = vec!["paperlab".to_owned()];
    let mut rest = std::env::args().skip(1);
    while let Some(word) = rest.next() {
        let dropped = options.iter().find_map(|o| {
            let flag = format!("--{o}");
            if word == flag {
                Some(true)
            } else if word.starts_with(&format!("{flag}=")) {
                Some(false)
            } else {
                None
            }
        });
        match dropped {
            Some(true) => {
                rest.next();
            }
            Some(false) => {}
            None => words.push(word),
        }
    }
    words.join(" ")
}
