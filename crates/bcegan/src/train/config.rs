//! Training settings, saved as `config.json` in the run folder so a run can be read back.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::ModelKind;

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

/// Steps between two checkpoints when the run does not set them: about 30 s of training at the
/// 15–20 steps/s that a two-core CPU reaches in a release build, so that an interrupted run
/// loses well under a minute of work.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 500;

/// Action of a run when a loss or a gradient becomes NaN or infinite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(clap::ValueEnum)]
pub enum NonFinitePolicy {
    /// Stop the run with an error and keep the last checkpoint.
    #[default]
    Stop,
    /// Skip the update of the network whose loss or gradient is not finite, and count the
    /// skipped step in `metrics.csv`.
    Skip,
}

/// Cost that the generator minimises; the value of `g_loss` in the logs and `metrics.csv`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(clap::ValueEnum)]
pub enum GeneratorLoss {
    /// BCE(D(G(z)), 1) = −mean log D(G(z)): its gradient stays large while the
    /// discriminator rejects the fakes
    #[default]
    NonSaturating,
    /// −BCE(D(G(z)), 0) = mean log(1 − D(G(z))), the original minimax objective: its gradient
    /// vanishes where the discriminator confidently rejects the fakes
    Minimax,
}

impl GeneratorLoss {
    /// Returns the name as `--generator-loss` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::NonSaturating => "non-saturating",
            Self::Minimax => "minimax",
        }
    }
}

/// Adam learning rate of both networks when the run does not set one: 1e-4 for the MLP
/// and 2e-4 for the DCGAN, the values of the course's notebooks for each pair.
pub fn default_learning_rate(model: ModelKind) -> f64 {
    match model {
        ModelKind::Mlp => 1e-4,
        ModelKind::Dcgan => 2e-4,
    }
}

/// Images per batch when the run does not set a number: 64 for both models, not the
/// course's 128 (BENCHMARKS.md). The MLP's step then takes about two thirds of the time,
/// and each of four 350-second runs ended with a lower FID than both batch-128 runs. The
/// DCGAN's step takes about half the time, and after equal training time on Fashion-MNIST
/// its quick FID was less than half that of a batch of 128.
pub fn default_batch_size(model: ModelKind) -> usize {
    match model {
        ModelKind::Mlp | ModelKind::Dcgan => 64,
    }
}

/// Decay of the generator's weight average when the run does not set one. The MLP keeps
/// an average with decay 0.999, a horizon of about 1,000 steps. At step 18,000 of a run on
/// the digits, the average's samples scored an FID of 88.8, the live generator's 165.9
/// (BENCHMARKS.md). The DCGAN keeps none. On Fashion-MNIST, the live generator's quick FID
/// was lower than the average's at 13 of 15 measurements from step 4,000 to 11,000 of a
/// run. At the other two it was at most 3.7 higher.
pub fn default_ema_decay(model: ModelKind) -> f64 {
    match model {
        ModelKind::Mlp => 0.999,
        ModelKind::Dcgan => 0.0,
    }
}

/// Everything that defines a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Source of the real images.
    pub data: DataSource,
    /// Architecture of the two networks; configurations written before the DCGAN existed
    /// are MLP runs.
    #[serde(default)]
    pub model: ModelKind,
    /// Total number of steps; one step is one discriminator update and one generator update.
    pub steps: u64,
    /// Wall-clock budget of the training loop in seconds, summed over resumed sessions.
    /// The step that spends it ends the run as if `steps` had been reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_s: Option<f64>,
    /// Images per batch, for real and for generated images alike.
    pub batch_size: usize,
    /// Length of the generator's noise vector.
    pub latent_dim: usize,
    /// Optimizer of the generator.
    pub generator_adam: AdamSettings,
    /// Optimizer of the discriminator.
    pub discriminator_adam: AdamSettings,
    /// Target of the real images in the discriminator's cost: 1 without label smoothing,
    /// below 1 for one-sided label smoothing (0.9 is the usual choice).
    #[serde(default = "default_real_target")]
    pub real_target: f32,
    /// Cost the generator minimises.
    #[serde(default)]
    pub generator_loss: GeneratorLoss,
    /// Per-step decay of the exponential moving average of the generator's parameters,
    /// which sample grids, quick FIDs and checkpoint readers use; 0 keeps no average, as in
    /// configurations written before the average existed.
    #[serde(default)]
    pub ema_decay: f64,
    /// Seed of the weights, the noise and the batch order.
    pub seed: u64,
    /// Steps between two log lines and `metrics.csv` rows.
    pub log_every: u64,
    /// Steps between two sample grids; the last step always writes one.
    pub sample_every: u64,
    /// Images in a sample grid (drawn from one fixed noise batch).
    pub sample_count: usize,
    /// Steps between two checkpoints; the last step always writes one.
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u64,
    /// Action when a loss or a gradient is NaN or infinite.
    #[serde(default)]
    pub on_nan: NonFinitePolicy,
    /// PyTorch-named SafeTensors file (`bcegan export --torch`) whose weights replace the
    /// seeded initial weights of a new run.
    #[serde(default)]
    pub init_from: Option<PathBuf>,
    /// Steps between two quick FIDs (`metrics.csv`, log, `checkpoint-best.safetensors`);
    /// 0 turns them off. The last step always gets one.
    #[serde(default = "default_fid_every")]
    pub fid_every: u64,
    /// Generated images per quick FID.
    #[serde(default = "default_fid_samples")]
    pub fid_samples: usize,
    /// Feature classifier of the quick FID (`bcegan classifier train --out FILE`); without
    /// it, the built-in classifier of the run's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<PathBuf>,
    /// Run folder.
    pub out: PathBuf,
}

fn default_fid_every() -> u64 {
    super::quick_fid::DEFAULT_FID_EVERY
}

fn default_fid_samples() -> usize {
    super::quick_fid::DEFAULT_FID_SAMPLES
}

fn default_checkpoint_every() -> u64 {
    DEFAULT_CHECKPOINT_EVERY
}

fn default_real_target() -> f32 {
    1.0
}

impl TrainConfig {
    /// Returns the name of the first setting that differs between two configurations of
    /// the same run, ignoring those a resume may change (`steps`, `time_limit_s`,
    /// `checkpoint_every`, `on_nan`, and the quick-FID settings, which measure the run without
    /// changing it) and the folder (`out`).
    pub fn first_difference(&self, other: &TrainConfig) -> Option<&'static str> {
        let same = [
            ("data", self.data == other.data),
            ("model", self.model == other.model),
            ("batch_size", self.batch_size == other.batch_size),
            ("latent_dim", self.latent_dim == other.latent_dim),
            (
                "generator_adam",
                self.generator_adam == other.generator_adam,
            ),
            (
                "discriminator_adam",
                self.discriminator_adam == other.discriminator_adam,
            ),
            ("real_target", self.real_target == other.real_target),
            (
                "generator_loss",
                self.generator_loss == other.generator_loss,
            ),
            ("ema_decay", self.ema_decay == other.ema_decay),
            ("seed", self.seed == other.seed),
            ("log_every", self.log_every == other.log_every),
            ("sample_every", self.sample_every == other.sample_every),
            ("sample_count", self.sample_count == other.sample_count),
        ];
        same.into_iter()
            .find(|(_, equal)| !equal)
            .map(|(name, _)| name)
    }
}
