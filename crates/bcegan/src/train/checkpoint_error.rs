//! What can be wrong with a checkpoint file, each with what to do about it.

/// A checkpoint that cannot be read or does not fit the model.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointProblem {
    /// No file at the path.
    #[error("file not found; pass a run folder that contains checkpoint.safetensors")]
    NotFound,
    /// The path is a folder or another non-file.
    #[error("not a regular file; pass the path of checkpoint.safetensors")]
    NotAFile,
    /// The file could not be read.
    #[error("failed to read: {0}")]
    Read(#[source] std::io::Error),
    /// The file is larger than any checkpoint of these models.
    #[error(
        "file is {size} bytes, more than the {max} bytes any bcegan checkpoint takes; check the path"
    )]
    TooLarge {
        /// File size in bytes.
        size: u64,
        /// Largest accepted size in bytes.
        max: u64,
    },
    /// The file ends before the data its header declares.
    #[error(
        "truncated or not a checkpoint: the file ends at byte offset {size}{}; either a copy or write was cut off, or the file is not a bcegan checkpoint at all, so use an intact copy or resume from another run",
        match expected { Some(expected) => format!(" but its header declares {expected} bytes"), None => " inside the 8-byte header length".to_owned() }
    )]
    Truncated {
        /// File size in bytes.
        size: u64,
        /// Size the header declares, when the header could be read.
        expected: Option<u64>,
    },
    /// The SafeTensors header is malformed.
    #[error("invalid SafeTensors header: {0}; the file is corrupted or not a checkpoint")]
    InvalidHeader(String),
    /// A SafeTensors file that bcegan did not write.
    #[error(
        "not a bcegan checkpoint (metadata entry `format` is {}); pass a checkpoint.safetensors written by `bcegan train`",
        format.as_deref().map_or("missing".to_owned(), |format| format!("{format:?}"))
    )]
    NotACheckpoint {
        /// The file's `format` metadata entry.
        format: Option<String>,
    },
    /// A layout this build cannot read.
    #[error(
        "unsupported format version {found} (this bcegan reads version {}); use the bcegan release that wrote it, or start a new run",
        super::checkpoint::FORMAT_VERSION
    )]
    UnsupportedVersion {
        /// The file's `format_version` entry (1 when absent).
        found: String,
    },
    /// The contents differ from what was written.
    #[error(
        "checksum mismatch (stored crc32 {stored:?}, computed {computed}): the file is corrupted; restore it from a backup or start a new run"
    )]
    ChecksumMismatch {
        /// The `crc32` metadata entry.
        stored: String,
        /// CRC-32 of the file's contents.
        computed: String,
    },
    /// The `state` metadata entry is missing or malformed.
    #[error("invalid `state` metadata entry: {0}")]
    InvalidState(String),
    /// A tensor the model needs is not in the file.
    #[error("missing tensor {name}; the file is not a checkpoint of this model")]
    MissingTensor {
        /// Tensor name, the module path.
        name: String,
    },
    /// A tensor has another element type than the model's.
    #[error("tensor {name} has dtype {found}, expected F32 (U8 for optimizer state)")]
    WrongDtype {
        /// Tensor name.
        name: String,
        /// The file's dtype.
        found: String,
    },
    /// A tensor has another shape than the model built for `latent_dim`.
    #[error(
        "tensor {name} has shape {found:?}, but the model with latent_dim {latent_dim} expects {expected:?}; {}",
        shape_hint(*written_latent_dim)
    )]
    WrongShape {
        /// Tensor name.
        name: String,
        /// Shape in the file.
        found: Vec<usize>,
        /// Shape the model expects.
        expected: Vec<usize>,
        /// Noise length the model was built for.
        latent_dim: usize,
        /// Noise length the file's tensor was built for, when the shape differs only on the
        /// axis that follows the noise length. `None` when no `--latent-dim` fits the file.
        written_latent_dim: Option<usize>,
    },
    /// burn rejected a tensor while loading it into the model.
    #[error("failed to load a tensor into the model: {0}")]
    InvalidTensor(String),
    /// The saved optimizer state could not be decoded.
    #[error("invalid optimizer state {name}: {detail}")]
    InvalidOptimizer {
        /// Tensor name of the optimizer state.
        name: &'static str,
        /// burn's description.
        detail: String,
    },
    /// The networks could not be encoded (a bug rather than a file problem).
    #[error("failed to encode: {0}")]
    Encode(String),
}

/// Returns what to do about a tensor of the wrong shape: pass the latent size the file
/// was written with, where that explains the shape.
fn shape_hint(written_latent_dim: Option<usize>) -> String {
    match written_latent_dim {
        Some(written) => {
            format!(
                "the checkpoint was written with latent_dim {written}: pass --latent-dim {written}"
            )
        }
        None => "the file is not a checkpoint of this model".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::CheckpointProblem;

    fn wrong_shape(found: &[usize], expected: &[usize], written: Option<usize>) -> String {
        CheckpointProblem::WrongShape {
            name: "generator.blocks.0.linear.weight".to_owned(),
            found: found.to_vec(),
            expected: expected.to_vec(),
            latent_dim: 64,
            written_latent_dim: written,
        }
        .to_string()
    }

    #[test]
    fn latent_shape_names_written_latent_dim() {
        let message = wrong_shape(&[32, 128], &[64, 128], Some(32));
        assert!(message.contains("pass --latent-dim 32"), "{message}");
    }

    #[test]
    fn other_shape_does_not_suggest_latent_dim() {
        let message = wrong_shape(&[128, 64], &[64, 128], None);
        assert!(!message.contains("--latent-dim"), "{message}");
        assert!(
            message.contains("not a checkpoint of this model"),
            "{message}"
        );
    }
}
