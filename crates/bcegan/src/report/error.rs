//! Errors of the report module: reading run files, drawing figures and writing them.

use std::path::PathBuf;

/// Error from reading a run folder, drawing a figure or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or folder could not be read or written.
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        /// What was being done, such as "read" or "write".
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// `metrics.csv` is malformed.
    #[error("invalid {} line {line}: {message}", path.display())]
    Metrics {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
    /// A figure setting is out of range.
    #[error("invalid {name} {value}: {expected}")]
    Invalid {
        /// Option name.
        name: &'static str,
        /// The rejected value.
        value: String,
        /// Accepted values of the option.
        expected: String,
    },
    /// The cost function rejected a value.
    #[error("failed to compute the cost: {0}")]
    Cost(#[from] bce::BceError),
    /// The plotting backend failed.
    #[error("failed to draw the figure: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("failed to encode PNG: {0}")]
    Encode(#[from] png::EncodingError),
}

impl ReportError {
    /// Creates [`ReportError::Io`].
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Returns whether the error comes from a setting or file contents the caller supplied,
    /// as opposed to a failure of the system.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Self::Metrics { .. } | Self::Invalid { .. } | Self::Cost(_)
        )
    }
}
