//! GAN training: the configuration, one discriminator and generator step, the run loop,
//! checkpoints and resuming.

mod adam;
mod average;
mod checkpoint;
mod checkpoint_error;
mod config;
mod error;
mod gan;
mod metrics;
mod quick_fid;
mod run;
mod run_folder;
mod safetensors_stream;
mod signals;
mod sole;
mod validate;

pub use checkpoint::{
    CHECKPOINT_FILE, Checkpoint, CheckpointContents, FORMAT_VERSION, TrainingState,
    load_checkpoint, read_checkpoint, save_checkpoint,
};
pub use checkpoint_error::CheckpointProblem;
pub use config::{
    AdamSettings, DEFAULT_CHECKPOINT_EVERY, DataSource, GeneratorLoss, NonFinitePolicy,
    TrainConfig, default_batch_size, default_ema_decay, default_learning_rate,
};
pub use error::TrainError;
pub use gan::{Gan, Network, NonFiniteValue, StepMetrics, StepReport, standard_normal};
pub use metrics::{METRICS_HEADER, MetricsWriter};
pub use quick_fid::{BEST_CHECKPOINT_FILE, DEFAULT_FID_EVERY, DEFAULT_FID_SAMPLES, QuickFid};
pub use run::{RunOptions, RunSummary, StartMode, read_run_config, run, train};
pub use run_folder::CONFIG_FILE;
pub use signals::StopSignal;
