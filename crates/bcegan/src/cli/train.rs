//! The `train` command: command-line settings turned into a [`TrainConfig`].

use std::path::PathBuf;

use clap::Args;

use crate::train::{AdamSettings, DataSource, TrainConfig};

/// Settings of `bcegan train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// MNIST-format (IDX) folder to train on, such as /usr/share/datasets/fashion-mnist;
    /// without it, the 10,000 digits built into the binary
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Total number of steps (one discriminator update plus one generator update each)
    #[arg(long, default_value_t = 6000)]
    pub steps: u64,

    /// Images per batch
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,

    /// Adam learning rate of both networks
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,

    /// Adam beta1 (first-moment decay) of both networks
    #[arg(long, default_value_t = 0.5)]
    pub beta1: f32,

    /// Adam beta2 (second-moment decay) of both networks
    #[arg(long, default_value_t = 0.999)]
    pub beta2: f32,

    /// Adam epsilon of both networks (PyTorch's default)
    #[arg(long, default_value_t = 1e-8)]
    pub adam_epsilon: f32,

    /// Length of the generator's noise vector
    #[arg(long, default_value_t = 64)]
    pub latent_dim: usize,

    /// Seed of the weights, the noise and the batch order
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Steps between two log lines and metrics.csv rows
    #[arg(long, default_value_t = 100)]
    pub log_every: u64,

    /// Steps between two sample grids in OUT/samples/
    #[arg(long, default_value_t = 500)]
    pub sample_every: u64,

    /// Images in each sample grid
    #[arg(long, default_value_t = 64)]
    pub sample_count: usize,

    /// Run folder [default: the first free runs/run-NNN]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl TrainArgs {
    /// Builds the run's configuration; `out` is the run folder to use.
    pub fn to_config(&self, out: PathBuf) -> TrainConfig {
        let adam = AdamSettings {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.adam_epsilon,
        };
        TrainConfig {
            data: match &self.data {
                Some(dir) => DataSource::Dir(dir.clone()),
                None => DataSource::Embedded,
            },
            steps: self.steps,
            batch_size: self.batch_size,
            latent_dim: self.latent_dim,
            generator_adam: adam,
            discriminator_adam: adam,
            seed: self.seed,
            log_every: self.log_every,
            sample_every: self.sample_every,
            sample_count: self.sample_count,
            out,
        }
    }
}

/// Returns the first `runs/run-NNN` folder that does not exist yet.
pub fn next_free_run_folder(parent: &std::path::Path) -> PathBuf {
    (1..)
        .map(|number| parent.join(format!("run-{number:03}")))
        .find(|path| !path.exists())
        .unwrap_or_else(|| parent.join("run"))
}
