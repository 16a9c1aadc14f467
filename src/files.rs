//! Files the native app and the CLI write (weights, exports): the output path checked before
//! any work, and atomic writes (a temporary file in the same folder, then a rename), so an
//! interrupted run never leaves a half-written file where a good one was.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output path cannot be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputError(pub String);

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The folder a path's file goes into ("." for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The temporary file next to `path` that [`write_atomic`] renames over it.
fn temporary_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    folder_of(path).join(format!(".{name}.{}.partial", std::process::id()))
}

/// Checks, before any work, that `path` can be written: not empty, not a folder, its folder
/// exists and is a folder, and a file can be created in it. Nothing is left behind. The
/// reason does not repeat the path (the caller names it).
pub fn check_output(path: &Path) -> Result<(), OutputError> {
    if path.as_os_str().is_empty() {
        return Err(OutputError("the output path is empty".to_owned()));
    }
    if path.is_dir() {
        return Err(OutputError(
            "that is a folder: give a file name inside it".to_owned(),
        ));
    }
    let folder = folder_of(path);
    if !folder.exists() {
        return Err(OutputError(format!(
            "the folder {} does not exist",
            folder.display()
        )));
    }
    if !folder.is_dir() {
        return Err(OutputError(format!("{} is not a folder", folder.display())));
    }
    // Writable: create (and remove) the temporary file the final write will use.
    let probe = temporary_for(path);
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(OutputError(format!(
            "cannot write in {} ({e})",
            folder.display()
        ))),
    }
}

/// Writes `bytes` to `path` atomically: into a temporary file in the same folder, flushed to
/// disk, then renamed over `path`. A crash or an interruption leaves the old file (or none),
/// never a truncated one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let temporary = temporary_for(path);
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temporary, path));
    renamed.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        OutputError(format!("cannot write {}: {e}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("paperlab-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn unwritable_outputs_are_refused_up_front() {
        let dir = scratch("check");
        assert!(check_output(&dir.join("x.plnn")).is_ok());
        let e = check_output(&dir).expect_err("a folder");
        assert!(e.0.contains("is a folder"), "{e}");
        let e = check_output(&dir.join("missing/x.plnn")).expect_err("no folder");
        assert!(e.0.contains("does not exist"), "{e}");
        std::fs::write(dir.join("file"), b"x").expect("write");
        let e = check_output(&dir.join("file/x.plnn")).expect_err("a file as folder");
        assert!(e.0.contains("not a folder"), "{e}");
        assert!(check_output(Path::new("")).is_err());
        // The check leaves nothing behind.
        let left: Vec<_> = std::fs::read_dir(&dir).expect("list").collect();
        assert_eq!(left.len(), 1, "only 'file': {left:?}");
    }

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = scratch("atomic");
        let path = dir.join("w.bin");
        write_atomic(&path, b"first").expect("write");
        write_atomic(&path, b"second, longer").expect("overwrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"second, longer");
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("list")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["w.bin"]);
        // A failed write keeps the old file.
        assert!(write_atomic(&dir.join("missing/w.bin"), b"x").is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"second, longer");
    }
}
