//! The `report` command: (re)writes `report.html` of a run folder.

use std::path::PathBuf;

use clap::Args;

/// Settings of `bcegan report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Run folder written by `bcegan train`; the report is written to RUN_DIR/report.html
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
}
