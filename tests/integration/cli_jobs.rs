//! Long CLI jobs lose nothing (issue 22), tried as a user would: an unwritable `--out` is
//! refused before any training, Ctrl-C saves the model so far, the progress bar appears only on
//! a terminal, and the usage errors and closed pipes of the new command line.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn paperlab() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paperlab"));
    command.env("PAPERLAB_ADAPTER", "llvmpipe");
    command
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paperlab-cli-jobs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn run(args: &[&str]) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let out = paperlab().args(args).output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn an_unwritable_output_is_refused_before_any_work() {
    let dir = scratch("out");
    let file = dir.join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let inside_file = format!("{}/x.plnn", file.display());
    let folder = dir.display().to_string();
    for (args, needle) in [
        (
            vec!["gfn", "pretrain", "--out", "/nonexistent/dir/x.plnn"],
            "does not exist",
        ),
        (
            vec!["mam", "train", "--out", "/nonexistent/x.plmm"],
            "does not exist",
        ),
        (
            vec!["mam", "train", "--out", folder.as_str()],
            "is a folder",
        ),
        (
            vec!["gfn", "pretrain", "--out", inside_file.as_str()],
            "not a folder",
        ),
    ] {
        let (code, out, err, took) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: '{err}' lacks '{needle}'");
        assert!(err.contains("Usage: paperlab"), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} trained and printed {out}");
        // The defaults train for minutes; a refusal comes at once.
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
    }
    // Nothing was left in the folder by the checks.
    assert_eq!(std::fs::read_dir(&dir).expect("list").count(), 1);
}

/// CPU time (user + system, in clock ticks) the process `pid` has used so far, from
/// `/proc/PID/stat`; `None` once it is gone or on a system without `/proc`.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after its closing ')':
    // state is the first, utime the 12th and stime the 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None; // exited, not yet reaped
    }
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Starts a long training, interrupts it with SIGINT once it has used `cpu` of CPU time (not
/// wall time: on a loaded machine a fixed wait may end before the first step), and returns
/// (exit code, stderr).
fn interrupt_after(args: &[&str], cpu: Duration) -> (i32, String) {
    let child = paperlab()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // Linux's USER_HZ is 100 ticks a second.
    let ticks = (cpu.as_secs_f64() * 100.0).ceil() as u64;
    let started = Instant::now();
    while cpu_ticks(child.id()).is_some_and(|used| used < ticks) {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "{args:?} used under {cpu:?} of CPU in 300 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = child.wait_with_output().expect("finishes");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ctrl_c_saves_the_model_so_far_and_exits_130() {
    let dir = scratch("interrupt");
    let mam = dir.join("m.plmm");
    let (code, err) = interrupt_after(
        &[
            "mam",
            "train",
            "--size",
            "3",
            "--steps",
            "1000000",
            "--out",
            mam.to_str().expect("utf-8"),
        ],
        Duration::from_secs(1),
    );
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("stopped by Ctrl-C"), "{err}");
    assert!(err.contains("wrote"), "{err}");
    let bytes = std::fs::read(&mam).expect("saved");
    let (header, _) = paperlab::labs::mam::weights::from_bytes(&bytes).expect("loads");
    assert!(
        header.steps > 0 && header.steps < 1_000_000,
        "{} steps",
        header.steps
    );

    let gfn = dir.join("oc.plnn");
    let (code, err) = interrupt_after(
        &[
            "gfn",
            "pretrain",
            "--trajectories",
            "100000000",
            "--out",
            gfn.to_str().expect("utf-8"),
        ],
        Duration::from_secs(1),
    );
    assert_eq!(code, 130, "{err}");
    let net = paperlab::nn::Mlp::from_bytes(&std::fs::read(&gfn).expect("saved")).expect("loads");
    assert!(paperlab::labs::gflownet::oc_weights::grid_of(&net).is_some());
    // No temporary files remain next to the outputs.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn progress_shows_on_a_terminal_only_and_stdout_is_unchanged() {
    let args = ["mam", "train", "--size", "3", "--steps", "300"];
    let (code, out, err, _) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains("training (steps)"),
        "progress on a pipe: {err}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.iter().all(|l| l.starts_with('{')), "{out}");
    // Under a terminal (util-linux `script` gives the command a pty) the bar is drawn.
    let command_line = format!("{} {}", env!("CARGO_BIN_EXE_paperlab"), args.join(" "));
    let typed = Command::new("script")
        .args(["-qec", &command_line, "/dev/null"])
        .env("PAPERLAB_ADAPTER", "llvmpipe")
        .output()
        .expect("script runs");
    let shown = String::from_utf8_lossy(&typed.stdout);
    assert!(typed.status.success(), "{shown}");
    assert!(
        shown.contains("training (steps)"),
        "no progress bar: {shown}"
    );
    assert!(shown.contains("\"final\":true"), "{shown}");
}

#[test]
fn usage_errors_show_the_command_s_usage_and_pipes_close_quietly() {
    let (code, _, err, _) = run(&["gfn", "train", "--batch", "999"]);
    assert_eq!(code, 2);
    assert!(err.contains("--batch 999: 999 is outside 1..=256"), "{err}");
    assert!(err.contains("Usage: paperlab gfn train"), "{err}");
    // Not the whole list of commands.
    assert!(!err.contains("aglfop"), "{err}");
    let (code, out, _, _) = run(&["help", "mam", "train"]);
    assert_eq!(code, 0);
    assert!(out.contains("--steps"), "{out}");
    let (code, out, _, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("paperlab "), "{out}");
    // `| head -1`: the reader closes the pipe after one line.
    let mut child = paperlab()
        .args(["bench", "fairness", "--grid", "3", "--repeats", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdout = child.stdout.take().expect("piped");
    let mut first = [0u8; 8];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("finishes");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
