//! Errors of a training run.

use std::path::PathBuf;

use super::checkpoint_error::CheckpointProblem;
use crate::data::DataError;

/// Error that stopped a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The real images could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The `--init-from` file could not be read into the networks.
    #[error("cannot start from --init-from: {0}")]
    InitFrom(#[source] Box<crate::interop::InteropError>),
    /// The quick FID could not be prepared or computed (`--fid-every`).
    #[error("quick FID (--fid-every): {0}")]
    Quality(#[source] Box<crate::quality::QualityError>),
    /// The cost function rejected its input.
    #[error("binary cross-entropy failed: {0}")]
    Loss(#[source] bce_burn::BceBurnError),
    /// A loss, a network output or a gradient became NaN or infinite.
    #[error(
        "training stopped at step {step}: in the {network} update, the {quantity} is not finite (d_loss {d_loss}, g_loss {g_loss}); the checkpoint of the last good step is kept; lower the learning rate, change the seed, or pass --on-nan skip to skip such steps"
    )]
    NonFinite {
        /// Step at which the value appeared.
        step: u64,
        /// The network being updated: "generator" or "discriminator".
        network: &'static str,
        /// The value that was not finite: the output logits, the loss, or a parameter's gradient.
        quantity: String,
        /// Discriminator cost (NaN when not computed).
        d_loss: f32,
        /// Generator cost (NaN when not computed).
        g_loss: f32,
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
    /// The run folder contains files and is not a bcegan run.
    #[error(
        "run folder {} is not empty and is not a bcegan run; choose a new --out folder, or pass --force to write into it",
        path.display()
    )]
    RunFolderNotEmpty {
        /// The folder.
        path: PathBuf,
    },
    /// The run folder contains a bcegan run and `--resume` was not given.
    #[error(
        "run folder {} already holds a bcegan run; pass --resume to continue it, or choose another --out folder",
        path.display()
    )]
    RunFolderIsRun {
        /// The folder.
        path: PathBuf,
    },
    /// `--resume` on a folder without `config.json`.
    #[error(
        "no bcegan run in {}: config.json not found; start a new run without --resume",
        path.display()
    )]
    NotARun {
        /// The folder.
        path: PathBuf,
    },
    /// The run's `config.json` cannot be parsed.
    #[error("invalid run settings in {}: {message}; restore the file or start a new run", path.display())]
    InvalidRunConfig {
        /// The `config.json` file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A setting given with `--resume` differs from the run's.
    #[error(
        "{name} {given} conflicts with the run's {saved} in config.json; drop {name} to continue with the run's setting, or start a new run with another --out"
    )]
    ResumeConflict {
        /// Setting name as on the command line.
        name: &'static str,
        /// The value given on the command line.
        given: String,
        /// The value in `config.json`.
        saved: String,
    },
    /// `config.json` and the checkpoint describe different runs.
    #[error(
        "{} does not match the settings stored in its checkpoint ({field} differs); restore config.json or start a new run",
        path.display()
    )]
    ConfigMismatch {
        /// The `config.json` file.
        path: PathBuf,
        /// The first differing setting.
        field: &'static str,
    },
    /// `--steps` is below the step of the checkpoint being resumed.
    #[error(
        "--steps {steps} is below the checkpoint's step {checkpoint_step}; pass --steps {checkpoint_step} or more"
    )]
    StepsBelowCheckpoint {
        /// The requested total.
        steps: u64,
        /// Step of the checkpoint.
        checkpoint_step: u64,
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
    /// A checkpoint could not be read or does not fit the model.
    #[error("checkpoint {}: {problem}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// The problem found, with what to do about it.
        problem: CheckpointProblem,
    },
    /// A checkpoint could not be written; the previous one is unchanged.
    #[error(
        "failed to write checkpoint {} (at {}): {source}; the previous checkpoint is unchanged; free disk space or choose a writable --out",
        path.display(),
        temporary.display()
    )]
    CheckpointWrite {
        /// The checkpoint file.
        path: PathBuf,
        /// The file or folder whose write, rename or sync failed.
        temporary: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// SIGINT or SIGTERM stopped the run after it wrote a checkpoint.
    #[error(
        "interrupted by signal {signal} at step {step}; checkpoint written; continue with `bcegan train --out {} --resume`",
        out.display()
    )]
    Interrupted {
        /// The signal number (2 for SIGINT, 15 for SIGTERM).
        signal: i32,
        /// Step of the checkpoint.
        step: u64,
        /// The run folder.
        out: PathBuf,
    },
    /// `--resume` found steps logged past the first checkpoint's step, but no checkpoint.
    #[error(
        "cannot resume {}: it has no checkpoint.safetensors, but metrics.csv records steps up to {logged_step}; restore the checkpoint, or start a new run with another --out",
        out.display()
    )]
    CheckpointMissing {
        /// The run folder.
        out: PathBuf,
        /// Last step in `metrics.csv`.
        logged_step: u64,
    },
    /// Another process is training in the same run folder.
    #[error(
        "run folder {} is in use by another bcegan train process (lock file {}); wait for it to finish, or choose another --out",
        out.display(),
        lock.display()
    )]
    RunInUse {
        /// The run folder.
        out: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// Every update in a row of `--on-nan skip` steps was skipped.
    #[error(
        "training stopped at step {step}: the last {skipped} steps were all skipped because values were not finite, so the networks no longer recover; {kept}; lower the learning rate or change the seed"
    )]
    TooManySkips {
        /// Step at which the run stopped.
        step: u64,
        /// Steps skipped in a row.
        skipped: u64,
        /// The checkpoint that is kept, as a clause of the message.
        kept: String,
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
                | Self::RunFolderIsRun { .. }
                | Self::NotARun { .. }
                | Self::ResumeConflict { .. }
                | Self::StepsBelowCheckpoint { .. }
                | Self::InvalidRunConfig { .. }
                | Self::ConfigMismatch { .. }
                | Self::CheckpointMissing { .. }
                | Self::Data(_)
        ) || matches!(self, Self::InitFrom(error) if error.is_invalid_input())
            || matches!(self, Self::Quality(error) if error.is_invalid_input())
            // A damaged or mismatched checkpoint is bad input; failing to encode one is not.
            || matches!(
                self,
                Self::Checkpoint { problem, .. } if !matches!(problem, CheckpointProblem::Encode(_))
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
