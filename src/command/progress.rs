//! Long commands: a progress bar on stderr when stderr is a terminal (steps, rate, time left;
//! nothing otherwise, and stdout's JSON is the same either way), and Ctrl-C, which asks a
//! training loop to stop at its next step so the command can save what it has.

use std::io::IsTerminal;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The exit code of a command stopped by Ctrl-C (128 + SIGINT, as a shell reports it).
pub const INTERRUPTED_EXIT_CODE: i32 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// From now on, Ctrl-C sets [`interrupted`] instead of killing the process (a second Ctrl-C
/// still does), so a training loop can stop at its next step and save.
pub fn catch_interrupts() {
    HANDLER.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                // The second Ctrl-C: the user wants out now.
                std::process::exit(INTERRUPTED_EXIT_CODE);
            }
            eprintln!("\ninterrupted: finishing the current step (Ctrl-C again to quit at once)");
        });
        if let Err(e) = installed {
            log::warn!("Ctrl-C will end the run without saving: {e}");
        }
    });
}

/// Whether Ctrl-C was pressed since [`catch_interrupts`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A progress bar for `total` units of work, drawn only where stderr is a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(total: u64, what: &str) -> Self {
        Self::on(std::io::stderr().is_terminal(), total, what)
    }

    fn on(visible: bool, total: u64, what: &str) -> Self {
        let bar = visible.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{msg} {wide_bar} {human_pos}/{human_len} · {rate} · {eta} left",
            )
            .map(|style| {
                style.with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0}/s", state.per_sec());
                    },
                )
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(what.to_owned());
            bar
        });
        Self { bar }
    }

    /// Units done so far.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// A line on stdout (the JSON), drawn above the bar.
    pub fn emit(&self, line: impl std::fmt::Display) {
        match &self.bar {
            Some(bar) => bar.suspend(|| super::emit(line)),
            None => super::emit(line),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_bar_does_nothing_and_interrupts_start_clear() {
        let progress = Progress::on(false, 10, "steps");
        progress.set(5);
        progress.finish();
        assert!(progress.bar.is_none());
        assert!(!interrupted());
    }
}
