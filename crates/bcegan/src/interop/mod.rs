//! Exchange with other tools: the networks under PyTorch's names, float32 `.npy` arrays, and
//! networks read from a run folder or a checkpoint file.

mod error;
pub mod npy;
mod source;
pub mod torch;

use std::path::{Path, PathBuf};

pub use error::InteropError;
pub use source::{LoadedNetworks, NetworkSource, load_networks};

/// Files that `bcegan train` keeps in a run folder; other commands never write over them.
const RUN_FILES: [&str; 5] = [
    "checkpoint.safetensors",
    "checkpoint-best.safetensors",
    "config.json",
    "metrics.csv",
    "report.html",
];

/// Rejects an output path for option `name` that would replace one of a run's own files
/// (such as `checkpoint.safetensors` in a folder with `config.json`), or whose extension is not
/// `extension` when one is required.
///
/// # Errors
///
/// Returns [`InteropError::InvalidSetting`] naming the option, the path and what to use.
pub fn check_output_path(
    name: &'static str,
    path: &Path,
    extension: Option<&str>,
) -> Result<(), InteropError> {
    let invalid = |expected: String| InteropError::InvalidSetting {
        name,
        value: path.display().to_string(),
        expected,
    };
    if let Some(extension) = extension {
        let matches = path
            .extension()
            .is_some_and(|found| found.eq_ignore_ascii_case(extension));
        if !matches {
            return Err(invalid(format!("must be a .{extension} file")));
        }
    }
    let file_name = path.file_name().and_then(|file_name| file_name.to_str());
    let folder = path.parent().unwrap_or(Path::new(""));
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    if let Some(file_name) = file_name
        && RUN_FILES.contains(&file_name)
        && folder.join("config.json").is_file()
    {
        return Err(invalid(format!(
            "would replace the {file_name} of the training run in {}; write to another file name",
            folder.display()
        )));
    }
    Ok(())
}

/// Writes `bytes` under a temporary name beside `path` and renames it over `path`, so a
/// reader never sees a half-written file and a failed write leaves the old file intact.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), InteropError> {
    let temporary = temporary_path(path);
    if let Err(source) = std::fs::write(&temporary, bytes) {
        // NOTE: a partial temporary file may remain if removing it fails too.
        let _ = std::fs::remove_file(&temporary);
        return Err(InteropError::Write {
            path: path.to_path_buf(),
            source,
        });
    }
    std::fs::rename(&temporary, path).map_err(|source| {
        let _ = std::fs::remove_file(&temporary);
        InteropError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Returns `.NAME.tmp-PID` in the folder of `path`.
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}
