//! Errors of reading and writing networks and arrays for other tools.

use std::path::PathBuf;

use crate::report::GridError;
use crate::train::TrainError;

/// Error from exporting, importing or sampling networks.
#[derive(Debug, thiserror::Error)]
pub enum InteropError {
    /// A file could not be read.
    #[error("failed to read {}: {source}; check that the file exists and is readable", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written or moved into place.
    #[error("failed to write {}: {source}; check that its folder exists and is writable", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid SafeTensors file.
    #[error(
        "invalid SafeTensors file {}: {message}; write it with `bcegan export` or with safetensors.torch.save_file",
        path.display()
    )]
    InvalidSafetensors {
        /// The file.
        path: PathBuf,
        /// Message of the SafeTensors parser.
        message: String,
    },
    /// Tensors that the networks need are not in the file.
    #[error(
        "{} lacks tensors {names:?}; save the state_dict() of the course's Generator and Discriminator under the prefixes gen. and disc., or convert a bcegan run or checkpoint with `bcegan export RUN_DIR --torch FILE`",
        path.display()
    )]
    MissingTensors {
        /// The file.
        path: PathBuf,
        /// Names of the missing tensors.
        names: Vec<String>,
    },
    /// A tensor in the file has a shape other than the network's.
    #[error(
        "tensor {name} in {} has shape {found:?}, expected {expected:?}; the file must hold the course's networks with hidden width 128",
        path.display()
    )]
    WrongShape {
        /// The file.
        path: PathBuf,
        /// Tensor name.
        name: String,
        /// Shape the network needs.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// A tensor in the file has a data type other than float32.
    #[error(
        "tensor {name} in {} has dtype {found}, expected {expected}; convert the model with .float() before saving",
        path.display()
    )]
    WrongDtype {
        /// The file.
        path: PathBuf,
        /// Tensor name.
        name: String,
        /// Data type the network needs.
        expected: &'static str,
        /// Data type in the file.
        found: String,
    },
    /// The generator in the file takes noise of another length than requested.
    #[error(
        "{} holds a generator for latent_dim {found} (gen.0.0.weight is [128, {found}]), but latent_dim {expected} was requested; use --latent-dim {found}",
        path.display()
    )]
    LatentDimMismatch {
        /// The file.
        path: PathBuf,
        /// Requested noise length.
        expected: usize,
        /// Noise length of the generator in the file.
        found: usize,
    },
    /// The path is neither a run folder nor a checkpoint file.
    #[error(
        "{} not found; pass a run folder written by `bcegan train` or a checkpoint file",
        path.display()
    )]
    SourceNotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The noise length of a checkpoint could not be determined.
    #[error(
        "latent_dim of {} is unknown: the file does not record it and no config.json is beside it; pass --latent-dim",
        path.display()
    )]
    UnknownLatentDim {
        /// The checkpoint file.
        path: PathBuf,
    },
    /// A run folder's `config.json` could not be parsed.
    #[error("invalid run configuration {}: {message}; pass the checkpoint file and --latent-dim instead", path.display())]
    InvalidRunConfig {
        /// The `config.json` file.
        path: PathBuf,
        /// Description of the problem.
        message: String,
    },
    /// The checkpoint could not be loaded.
    #[error(transparent)]
    Checkpoint(TrainError),
    /// A `.npy` file is malformed or uses an unsupported layout.
    #[error("invalid .npy file {}: {message}", path.display())]
    InvalidNpy {
        /// The file.
        path: PathBuf,
        /// Description of the problem.
        message: String,
    },
    /// The noise array does not have the shape `[count, latent_dim]`.
    #[error(
        "noise in {} has shape {found:?}, expected [count, {latent_dim}] with count from 1 to {max_count}; save a 2-D float32 array with np.save",
        path.display()
    )]
    NoiseShape {
        /// The `.npy` file.
        path: PathBuf,
        /// Noise length the generator takes.
        latent_dim: usize,
        /// Largest number of noise rows accepted.
        max_count: usize,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// A command-line setting is out of range or contradicts another.
    #[error("invalid setting {name} = {value}: {expected}")]
    InvalidSetting {
        /// Setting name as on the command line.
        name: &'static str,
        /// The rejected value.
        value: String,
        /// Accepted values of the setting.
        expected: String,
    },
    /// The sample grid could not be written.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// A tensor could not be read back from the device or has an unexpected layout.
    #[error("failed to read tensor {name} from the device: {message}")]
    TensorRead {
        /// Tensor name.
        name: String,
        /// The backend's error.
        message: String,
    },
}

impl InteropError {
    /// Returns whether the error is in the command's arguments or input files rather than a
    /// failure while writing, so that the binary can exit with status 2 as for a usage error.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Self::Read { .. }
            | Self::InvalidSafetensors { .. }
            | Self::MissingTensors { .. }
            | Self::WrongShape { .. }
            | Self::WrongDtype { .. }
            | Self::LatentDimMismatch { .. }
            | Self::SourceNotFound { .. }
            | Self::UnknownLatentDim { .. }
            | Self::InvalidRunConfig { .. }
            | Self::InvalidNpy { .. }
            | Self::NoiseShape { .. }
            | Self::InvalidSetting { .. } => true,
            // A checkpoint that does not match the model, or is missing, is bad input.
            Self::Checkpoint(error) => matches!(error, TrainError::Checkpoint { .. }),
            Self::Write { .. } | Self::Grid(_) | Self::TensorRead { .. } => false,
        }
    }
}
