//! Pictures and pages of a run: sample grids, figures (cost curves, run curves), the
//! `report.html` page and the training progress bar.

mod error;
mod grid;
pub mod html;
mod metrics_csv;
pub mod plot;
pub mod progress;

pub use error::ReportError;
pub use grid::{GridError, GridLayout, encode_grid_png, write_grid_png};
pub use metrics_csv::MetricsTable;
