//! Run folders: which folders a run may use, `config.json`, and atomic file replacement.
//!
//! A folder is a bcegan run when it contains `config.json`. A new run takes a missing or
//! empty folder; a non-empty folder that is not a run only with `--force`; a run folder
//! never, because `--resume` is the way to continue it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::config::TrainConfig;
use super::error::TrainError;

/// File name of the run's settings inside a run folder.
pub const CONFIG_FILE: &str = "config.json";

/// Suffix of the temporary file that [`write_atomically`] renames into place.
const TEMPORARY_SUFFIX: &str = ".tmp";

/// What an `--out` path contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FolderKind {
    /// Nothing there yet, or an empty folder.
    Empty,
    /// A bcegan run: the folder contains `config.json`.
    Run,
    /// A folder with other files.
    Foreign,
}

/// Creates the folder of a new run with its `samples/` folder and writes `config.json`.
///
/// # Errors
///
/// Returns [`TrainError::RunFolderIsRun`] when `config.out` already holds a run,
/// [`TrainError::RunFolderNotEmpty`] when it holds other files and `force` is false, and
/// [`TrainError::Io`] when the folder cannot be created or written.
pub fn create_run_folder(config: &TrainConfig, force: bool) -> Result<(), TrainError> {
    match folder_kind(&config.out)? {
        FolderKind::Empty => {}
        FolderKind::Run => {
            return Err(TrainError::RunFolderIsRun {
                path: config.out.clone(),
            });
        }
        FolderKind::Foreign if force => {}
        FolderKind::Foreign => {
            return Err(TrainError::RunFolderNotEmpty {
                path: config.out.clone(),
            });
        }
    }
    std::fs::create_dir_all(&config.out)
        .map_err(|error| TrainError::io("create folder", &config.out, error))?;
    write_config(config)?;
    create_samples_folder(&config.out)?;
    Ok(())
}

/// Reads the settings of the run in `out`.
///
/// # Errors
///
/// Returns [`TrainError::NotARun`] when `out` has no `config.json`, and
/// [`TrainError::InvalidRunConfig`] when the file cannot be read or parsed.
pub fn read_config(out: &Path) -> Result<TrainConfig, TrainError> {
    let path = out.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(TrainError::NotARun {
                path: out.to_path_buf(),
            });
        }
        Err(error) => return Err(TrainError::io("read", &path, error)),
    };
    serde_json::from_str(&text).map_err(|error| TrainError::InvalidRunConfig {
        path,
        message: error.to_string(),
    })
}

/// Writes `config.json` into `config.out`, replacing the old one atomically.
///
/// # Errors
///
/// Returns [`TrainError::Io`] when the file cannot be written.
pub fn write_config(config: &TrainConfig) -> Result<(), TrainError> {
    let path = config.out.join(CONFIG_FILE);
    let json = serde_json::to_string_pretty(config)
        .map_err(|error| TrainError::io("serialise", &path, std::io::Error::other(error)))?;
    write_atomically(&path, json.as_bytes())
        .map_err(|(temporary, error)| TrainError::io("write", temporary, error))
}

/// Creates `out/samples/` and returns its path.
///
/// # Errors
///
/// Returns [`TrainError::Io`] when the folder cannot be created.
pub fn create_samples_folder(out: &Path) -> Result<PathBuf, TrainError> {
    let samples = out.join("samples");
    std::fs::create_dir_all(&samples)
        .map_err(|error| TrainError::io("create folder", &samples, error))?;
    Ok(samples)
}

/// Replaces `path` with `bytes`: writes `path.tmp` in the same folder, syncs it to disk,
/// renames it over `path` and syncs the folder. Until the rename, `path` keeps its old
/// contents; a failed write removes the temporary file.
///
/// # Errors
///
/// Returns the path that failed (the temporary file, `path` or the folder) with the
/// operating system's error.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), (PathBuf, std::io::Error)> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// Like [`write_atomically`], with the contents written by `write` into the temporary file,
/// so that a large file never has to be assembled in memory first.
///
/// # Errors
///
/// As [`write_atomically`]; an error from `write` is reported for the temporary file.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), (PathBuf, std::io::Error)> {
    let temporary = temporary_path(path);
    let written = File::create(&temporary).and_then(|file| {
        let mut buffered = std::io::BufWriter::new(file);
        write(&mut buffered)?;
        let file = buffered.into_inner().map_err(|error| error.into_error())?;
        file.sync_all()
    });
    if let Err(error) = written {
        // The temporary file is incomplete; removing it may fail too (for example when
        // the folder is gone), and the original error is the one to report.
        let _ = std::fs::remove_file(&temporary);
        return Err((temporary, error));
    }
    std::fs::rename(&temporary, path).map_err(|error| (path.to_path_buf(), error))?;
    // Sync the folder so that the rename itself survives a power loss.
    if let Some(folder) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        File::open(folder)
            .and_then(|folder_file| folder_file.sync_all())
            .map_err(|error| (folder.to_path_buf(), error))?;
    }
    Ok(())
}

/// Name of the lock file that a training process holds in its run folder.
pub const LOCK_FILE: &str = ".train.lock";

/// Takes an exclusive lock on the run folder `out`, held until the returned file is
/// dropped or the process ends (also by SIGKILL, since the operating system releases it).
///
/// # Errors
///
/// Returns [`TrainError::RunInUse`] when another process holds the lock, and
/// [`TrainError::Io`] when the lock file cannot be created or locked.
pub fn lock_run_folder(out: &Path) -> Result<File, TrainError> {
    let lock = out.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|error| TrainError::io("create lock file", &lock, error))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(TrainError::RunInUse {
            out: out.to_path_buf(),
            lock,
        }),
        Err(std::fs::TryLockError::Error(error)) => Err(TrainError::io("lock", &lock, error)),
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(TEMPORARY_SUFFIX);
    path.with_file_name(name)
}

/// Classifies `out`. A folder whose only entry is the temporary file of an interrupted
/// `config.json` write counts as empty, so that a run killed at its first write can start again.
fn folder_kind(out: &Path) -> Result<FolderKind, TrainError> {
    let entries = match std::fs::read_dir(out) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(FolderKind::Empty);
        }
        Err(error) => return Err(TrainError::io("read folder", out, error)),
    };
    let leftover = format!("{CONFIG_FILE}{TEMPORARY_SUFFIX}");
    let mut has_other_entries = false;
    for entry in entries {
        let entry = entry.map_err(|error| TrainError::io("read folder", out, error))?;
        let name = entry.file_name();
        if name == CONFIG_FILE {
            return Ok(FolderKind::Run);
        }
        if name != leftover.as_str() {
            has_other_entries = true;
        }
    }
    Ok(if has_other_entries {
        FolderKind::Foreign
    } else {
        FolderKind::Empty
    })
}
