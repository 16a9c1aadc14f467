//! Standard output for commands. `println!` panics when the reader has gone (`paperlab bench
//! device | head -1`); here a closed pipe ends the process quietly with exit code 0, since the
//! reader took what it wanted.

use std::io::Write;

/// Writes one line to stdout (a JSON object, as a rule).
pub fn emit(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let written = writeln!(out, "{line}").and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}
