//! Training settings, saved as `config.json` in the run folder so a run can be read back.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Source of the real images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The 10,000 MNIST digits built into the binary.
    Embedded,
    /// An MNIST-format (IDX) folder.
    Dir(PathBuf),
}

/// Adam settings for one network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamSettings {
    /// Learning rate.
    pub lr: f64,
    /// Decay rate of the first-moment estimate.
    pub beta1: f32,
    /// Decay rate of the second-moment estimate.
    pub beta2: f32,
    /// Term added to the denominator; PyTorch's default is 1e-8 (burn's is 1e-5).
    pub epsilon: f32,
}

/// Everything that defines a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Source of the real images.
    pub data: DataSource,
    /// Total number of steps; one step is one discriminator update and one generator update.
    pub steps: u64,
    /// Images per batch, for real and for generated images alike.
    pub batch_size: usize,
    /// Length of the generator's noise vector.
    pub latent_dim: usize,
    /// Optimizer of the generator.
    pub generator_adam: AdamSettings,
    /// Optimizer of the discriminator.
    pub discriminator_adam: AdamSettings,
    /// Seed of the weights, the noise and the batch order.
    pub seed: u64,
    /// Steps between two log lines and `metrics.csv` rows.
    pub log_every: u64,
    /// Steps between two sample grids; the last step always writes one.
    pub sample_every: u64,
    /// Images in a sample grid (drawn from one fixed noise batch).
    pub sample_count: usize,
    /// Run folder.
    pub out: PathBuf,
}
