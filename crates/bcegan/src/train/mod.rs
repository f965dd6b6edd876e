//! GAN training: the configuration, one discriminator and generator step, and the run loop.

mod checkpoint;
mod config;
mod error;
mod gan;
mod metrics;
mod run;

pub use checkpoint::{CHECKPOINT_FILE, load_checkpoint, save_checkpoint};
pub use config::{AdamSettings, DataSource, TrainConfig};
pub use error::TrainError;
pub use gan::{Gan, StepMetrics, standard_normal};
pub use metrics::MetricsWriter;
pub use run::{RunSummary, train};
