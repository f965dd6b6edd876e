//! Checks of a run's settings and dataset before any file is written.

use super::config::{AdamSettings, TrainConfig};
use super::error::TrainError;
use crate::data::Dataset;
use crate::model::{IMAGE_COLS, IMAGE_ROWS};

/// Largest noise vector accepted: far beyond any MLP GAN, small enough that the first
/// layer (`latent_dim × 128` weights) stays a few MiB.
const MAX_LATENT_DIM: usize = 4096;

/// Largest sample grid accepted: a 32×32 grid, about 1.9 Mpixel as PNG.
const MAX_SAMPLE_COUNT: usize = 1024;

/// Rejects datasets the models cannot take: images other than 28×28, or fewer images than
/// one batch.
pub fn check_dataset(dataset: &Dataset, batch_size: usize) -> Result<(), TrainError> {
    if (dataset.rows(), dataset.cols()) != (IMAGE_ROWS, IMAGE_COLS) {
        return Err(TrainError::ImageSize {
            rows: dataset.rows(),
            cols: dataset.cols(),
        });
    }
    if batch_size > dataset.len() {
        return Err(TrainError::InvalidConfig {
            name: "--batch-size",
            value: batch_size.to_string(),
            expected: format!(
                "must not exceed the {} images of the dataset; use a batch size from 2 to {}",
                dataset.len(),
                dataset.len()
            ),
        });
    }
    Ok(())
}

/// Rejects settings that would fail later or train nothing.
pub fn validate(config: &TrainConfig) -> Result<(), TrainError> {
    let at_least_one: [(&'static str, u64); 4] = [
        ("--steps", config.steps),
        ("--log-every", config.log_every),
        ("--sample-every", config.sample_every),
        ("--checkpoint-every", config.checkpoint_every),
    ];
    for (name, value) in at_least_one {
        if value == 0 {
            return Err(invalid(name, value, "must be at least 1"));
        }
    }
    if config.batch_size < 2 {
        return Err(invalid(
            "--batch-size",
            config.batch_size,
            "must be at least 2, because BatchNorm needs two images to estimate a variance",
        ));
    }
    if !(1..=MAX_LATENT_DIM).contains(&config.latent_dim) {
        return Err(invalid(
            "--latent-dim",
            config.latent_dim,
            format!("must be from 1 to {MAX_LATENT_DIM}"),
        ));
    }
    if !(1..=MAX_SAMPLE_COUNT).contains(&config.sample_count) {
        return Err(invalid(
            "--sample-count",
            config.sample_count,
            format!("must be from 1 to {MAX_SAMPLE_COUNT}"),
        ));
    }
    // One-sided label smoothing lowers the real target below 1; a target of 0 or less
    // would teach the discriminator that real images are fake.
    if !(config.real_target > 0.0 && config.real_target <= 1.0) {
        return Err(invalid(
            "--real-target",
            config.real_target,
            "must be in (0, 1]: 1 for plain BCE, or a value such as 0.9 for one-sided label smoothing",
        ));
    }
    if !(config.ema_decay >= 0.0 && config.ema_decay < 1.0) {
        return Err(invalid(
            "--ema-decay",
            config.ema_decay,
            "must be in [0, 1): 0 keeps no weight average, values such as 0.999 average over about 1/(1 - decay) steps",
        ));
    }
    validate_adam(&config.generator_adam, &GENERATOR_OPTIONS)?;
    validate_adam(&config.discriminator_adam, &DISCRIMINATOR_OPTIONS)
}

/// Command-line names of the options that set one network's Adam learning rate, beta1 and
/// beta2: the shared option, or the per-network one that replaces it.
struct AdamOptionNames {
    lr: &'static str,
    beta1: &'static str,
    beta2: &'static str,
}

const GENERATOR_OPTIONS: AdamOptionNames = AdamOptionNames {
    lr: "--lr or --generator-lr",
    beta1: "--beta1 or --generator-betas",
    beta2: "--beta2 or --generator-betas",
};

const DISCRIMINATOR_OPTIONS: AdamOptionNames = AdamOptionNames {
    lr: "--lr or --discriminator-lr",
    beta1: "--beta1 or --discriminator-betas",
    beta2: "--beta2 or --discriminator-betas",
};

fn validate_adam(adam: &AdamSettings, names: &AdamOptionNames) -> Result<(), TrainError> {
    if !(adam.lr.is_finite() && adam.lr > 0.0) {
        return Err(invalid(
            names.lr,
            adam.lr,
            "must be a positive finite number",
        ));
    }
    for (name, beta) in [(names.beta1, adam.beta1), (names.beta2, adam.beta2)] {
        if !(0.0..1.0).contains(&beta) {
            return Err(invalid(name, beta, "must be in [0, 1)"));
        }
    }
    if !(adam.epsilon.is_finite() && adam.epsilon > 0.0) {
        return Err(invalid(
            "--adam-epsilon",
            adam.epsilon,
            "must be a positive finite number",
        ));
    }
    Ok(())
}

fn invalid(name: &'static str, value: impl ToString, expected: impl Into<String>) -> TrainError {
    TrainError::InvalidConfig {
        name,
        value: value.to_string(),
        expected: expected.into(),
    }
}
