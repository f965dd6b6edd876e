//! Errors of a training run.

use std::path::PathBuf;

use crate::data::DataError;

/// Error that stopped a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The real images could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The cost function rejected its input.
    #[error("binary cross-entropy failed: {0}")]
    Loss(#[source] bce_burn::BceBurnError),
    /// A loss or a discriminator output became NaN or infinite.
    #[error(
        "training diverged at step {step}: d_loss {d_loss}, g_loss {g_loss}, D(x) {d_real}, D(G(z)) {d_fake}; lower the learning rate or change the seed"
    )]
    NonFinite {
        /// Step at which the value appeared.
        step: u64,
        /// Discriminator cost.
        d_loss: f32,
        /// Generator cost.
        g_loss: f32,
        /// Mean D(x).
        d_real: f32,
        /// Mean D(G(z)).
        d_fake: f32,
    },
    /// The dataset's images are not 28×28, the size the models are built for.
    #[error(
        "invalid image size {rows}×{cols}: the models take 28×28 images; pass an MNIST-format folder of 28×28 images"
    )]
    ImageSize {
        /// Image height in the dataset.
        rows: usize,
        /// Image width in the dataset.
        cols: usize,
    },
    /// A setting is out of range.
    #[error("invalid setting {name} = {value}: {expected}")]
    InvalidConfig {
        /// Setting name as on the command line.
        name: &'static str,
        /// The rejected value.
        value: String,
        /// Accepted values of the setting.
        expected: String,
    },
    /// The run folder already contains files.
    #[error(
        "run folder {} is not empty; choose a new --out folder, or remove this one to start over",
        path.display()
    )]
    RunFolderNotEmpty {
        /// The folder.
        path: PathBuf,
    },
    /// A file in the run folder could not be written or read.
    #[error(
        "failed to {action} {}: {source}; check that the path is a writable folder",
        path.display()
    )]
    Io {
        /// Action that failed ("write", "create folder", ...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint could not be saved or loaded.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Description of the failure.
        message: String,
    },
    /// A sample grid could not be written.
    #[error(transparent)]
    Grid(#[from] crate::report::GridError),
    /// A tensor could not be read back from the device.
    #[error("failed to read generated images from the device: {0}")]
    TensorRead(String),
}

impl TrainError {
    /// Returns whether the error is in the run's settings or data rather than a failure
    /// while training, so that the binary can exit with status 2 as for a usage error.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Self::InvalidConfig { .. }
                | Self::ImageSize { .. }
                | Self::RunFolderNotEmpty { .. }
                | Self::Data(_)
        )
    }

    /// Wraps an I/O error with the action and the path it concerns.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
