//! `metrics.csv`: one row per logged step.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::error::TrainError;
use super::gan::StepMetrics;
use super::run_folder::write_atomically;

/// Header of `metrics.csv`; columns may be added at the end, never reordered.
pub const METRICS_HEADER: &str = "step,d_loss,g_loss,d_real,d_fake,elapsed_s,skipped_steps,fid";

/// Number of columns in [`METRICS_HEADER`].
const COLUMNS: usize = 8;

/// Number of columns before `fid` was added; a resumed run extends such rows with an empty
/// `fid` cell.
const COLUMNS_BEFORE_FID: usize = 7;

/// Appends rows to `metrics.csv`, flushing each one so the file is readable during a run.
///
/// Losses and probabilities are written with Rust's shortest round-trip formatting of
/// `f32`, so parsing a cell as `f32` gives back the exact value.
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

    /// Opens `path` to continue a run from the checkpoint at `step`: rows of later steps,
    /// and a last row cut off by a crash, are dropped (the file is replaced atomically),
    /// so that the rows written next follow on without gaps or repeats. A missing file is
    /// created with the header.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::Io`] when the file cannot be read or written.
    pub fn resume(path: &Path, step: u64) -> Result<Self, TrainError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Self::create(path);
            }
            Err(error) => return Err(TrainError::io("read", path, error)),
        };
        let kept = rows_up_to(&text, step);
        write_atomically(path, kept.as_bytes())
            .map_err(|(failed, error)| TrainError::io("write", failed, error))?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|error| TrainError::io("open", path, error))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: BufWriter::new(file),
        })
    }

    /// Writes one row; `fid` is the quick FID of this step, when one was computed.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::Io`] when the row cannot be written.
    pub fn append(
        &mut self,
        step: u64,
        metrics: &StepMetrics,
        elapsed_s: f64,
        skipped_steps: u64,
        fid: Option<f64>,
    ) -> Result<(), TrainError> {
        let fid = fid.map(|value| format!("{value:.4}")).unwrap_or_default();
        let line = format!(
            "{step},{},{},{},{},{elapsed_s:.3},{skipped_steps},{fid}",
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

/// Returns the header and the complete rows of `text` whose step is at most `step`.
fn rows_up_to(text: &str, step: u64) -> String {
    let mut kept = format!("{METRICS_HEADER}\n");
    // Only lines ended by a newline are complete; a crash can cut off the last one.
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    for line in complete.lines().skip(1) {
        let Some(row_step) = line
            .split(',')
            .next()
            .and_then(|cell| cell.parse::<u64>().ok())
        else {
            break;
        };
        let cells = line.split(',').count();
        if row_step > step || !(cells == COLUMNS || cells == COLUMNS_BEFORE_FID) {
            break;
        }
        kept.push_str(line);
        if cells == COLUMNS_BEFORE_FID {
            kept.push(',');
        }
        kept.push('\n');
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_up_to_drops_later_and_partial_rows() {
        let text =
            format!("{METRICS_HEADER}\n1,a,b,c,d,e,0,\n2,a,b,c,d,e,0,9.5\n3,a,b,c,d,e,0,\n4,a,b");
        let kept = rows_up_to(&text, 2);
        let expected = format!("{METRICS_HEADER}\n1,a,b,c,d,e,0,\n2,a,b,c,d,e,0,9.5\n");
        assert_eq!(kept, expected, "checkpoint at step 2 of {text:?}");
    }

    #[test]
    fn rows_up_to_drops_cut_off_row() {
        let text = format!("{METRICS_HEADER}\n1,a,b,c,d,e,0,\n2,a,b,c,d,e,0,\n3,a,b");
        let kept = rows_up_to(&text, 5);
        let expected = format!("{METRICS_HEADER}\n1,a,b,c,d,e,0,\n2,a,b,c,d,e,0,\n");
        assert_eq!(kept, expected, "checkpoint at step 5 of {text:?}");
    }

    #[test]
    fn rows_up_to_pads_old_rows() {
        let text = "step,d_loss,g_loss,d_real,d_fake,elapsed_s,skipped_steps\n1,a,b,c,d,e,0\n";
        let kept = rows_up_to(text, 1);
        let expected = format!("{METRICS_HEADER}\n1,a,b,c,d,e,0,\n");
        assert_eq!(kept, expected, "older file {text:?}");
    }
}
