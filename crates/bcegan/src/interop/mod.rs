//! Exchange with other tools: the networks under PyTorch's names, float32 `.npy` arrays, and
//! networks read from a run folder or a checkpoint file.

mod error;
pub mod npy;
mod source;
pub mod torch;

use std::path::{Path, PathBuf};

pub use error::InteropError;
pub use source::{LoadedNetworks, NetworkSource, load_networks};

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
