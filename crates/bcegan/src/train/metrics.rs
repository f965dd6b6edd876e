//! `metrics.csv`: one row per logged step.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::error::TrainError;
use super::gan::StepMetrics;

/// Header of `metrics.csv`; columns may be added at the end, never reordered.
pub const METRICS_HEADER: &str = "step,d_loss,g_loss,d_real,d_fake,elapsed_s";

/// Appends rows to `metrics.csv`, flushing each one so the file is readable during a run.
pub struct MetricsWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl MetricsWriter {
    /// Creates `path` (replacing an old file) and writes the header.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::Io`] when the file cannot be created or written.
    pub fn create(path: &Path) -> Result<Self, TrainError> {
        let file = File::create(path).map_err(|error| TrainError::io("create", path, error))?;
        let mut writer = Self {
            path: path.to_path_buf(),
            file: BufWriter::new(file),
        };
        writer.write_line(METRICS_HEADER)?;
        Ok(writer)
    }

    /// Writes one row.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::Io`] when the row cannot be written.
    pub fn append(
        &mut self,
        step: u64,
        metrics: &StepMetrics,
        elapsed_s: f64,
    ) -> Result<(), TrainError> {
        let line = format!(
            "{step},{},{},{},{},{elapsed_s:.3}",
            metrics.d_loss, metrics.g_loss, metrics.d_real, metrics.d_fake
        );
        self.write_line(&line)
    }

    fn write_line(&mut self, line: &str) -> Result<(), TrainError> {
        writeln!(self.file, "{line}")
            .and_then(|()| self.file.flush())
            .map_err(|error| TrainError::io("write", &self.path, error))
    }
}
