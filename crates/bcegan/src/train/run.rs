//! The training loop: data, steps, logs, sample grids and the final checkpoint.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::checkpoint::{CHECKPOINT_FILE, save_checkpoint};
use super::config::{AdamSettings, DataSource, TrainConfig};
use super::error::TrainError;
use super::gan::{Gan, StepMetrics, standard_normal};
use super::metrics::MetricsWriter;
use crate::data::{BatchSampler, Dataset};
use crate::model::{IMAGE_COLS, IMAGE_ROWS, IMAGE_SIZE};
use crate::report::{GridLayout, write_grid_png};

/// Largest noise vector accepted: far beyond any MLP GAN, small enough that the first
/// layer (`latent_dim × 128` weights) stays a few MiB.
const MAX_LATENT_DIM: usize = 4096;

/// Largest sample grid accepted: a 32×32 grid, about 1.9 Mpixel as PNG.
const MAX_SAMPLE_COUNT: usize = 1024;

/// Offset that separates the fixed sample noise from the other seeded streams of a run.
const FIXED_NOISE_STREAM: u64 = 0x6669786564;

/// Outcome of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Steps run.
    pub steps: u64,
    /// Metrics of the last step.
    pub last: StepMetrics,
    /// Wall-clock seconds of the training loop.
    pub elapsed_s: f64,
    /// The run folder.
    pub out: PathBuf,
}

/// Trains a GAN with the settings in `config` on `device` (an autodiff device) and writes the run folder.
///
/// # Errors
///
/// Returns [`TrainError`] for an invalid setting, unreadable data, a file that cannot be
/// written, or a loss that stops being finite.
pub fn train(config: &TrainConfig, device: &Device) -> Result<RunSummary, TrainError> {
    validate(config)?;
    let dataset = match &config.data {
        DataSource::Embedded => Dataset::embedded()?,
        DataSource::Dir(path) => Dataset::from_dir(path)?,
    };
    check_dataset(&dataset, config.batch_size)?;
    let mut sampler = BatchSampler::new(&dataset, config.batch_size, config.seed)?;
    let samples_dir = prepare_run_folder(config)?;

    let mut gan = Gan::new(config, device);
    let mut fixed_rng = ChaCha8Rng::seed_from_u64(config.seed ^ FIXED_NOISE_STREAM);
    let fixed_noise = standard_normal(
        &mut fixed_rng,
        config.sample_count,
        config.latent_dim,
        device,
    );
    let mut metrics = MetricsWriter::create(&config.out.join("metrics.csv"))?;
    tracing::info!(
        images = dataset.len(),
        steps = config.steps,
        batch_size = config.batch_size,
        out = %config.out.display(),
        "training started"
    );

    let started = Instant::now();
    let mut last = None;
    for step in 1..=config.steps {
        let real_images = Tensor::from_data(
            TensorData::new(sampler.next_batch(), [config.batch_size, IMAGE_SIZE]),
            device,
        );
        let step_metrics = gan.step(real_images)?;
        if !step_metrics.is_finite() {
            return Err(non_finite(step, &step_metrics));
        }
        let is_last = step == config.steps;
        if step.is_multiple_of(config.log_every) || is_last {
            let elapsed_s = started.elapsed().as_secs_f64();
            log_step(step, config.steps, &step_metrics, elapsed_s);
            metrics.append(step, &step_metrics, elapsed_s)?;
        }
        if step.is_multiple_of(config.sample_every) || is_last {
            let path = samples_dir.join(format!("step-{step:06}.png"));
            let pixels = gan.generate(fixed_noise.clone())?;
            write_grid_png(&path, &pixels, GridLayout::square(config.sample_count))?;
        }
        last = Some(step_metrics);
    }

    let checkpoint = config.out.join(CHECKPOINT_FILE);
    save_checkpoint(
        &checkpoint,
        gan.generator(),
        gan.discriminator(),
        config.steps,
    )?;
    let elapsed_s = started.elapsed().as_secs_f64();
    tracing::info!(
        elapsed_s = %format_args!("{elapsed_s:.1}"),
        checkpoint = %checkpoint.display(),
        "training finished"
    );
    Ok(RunSummary {
        steps: config.steps,
        // `validate` rejects zero steps, so the loop ran at least once.
        last: last.unwrap_or(StepMetrics {
            d_loss: f32::NAN,
            g_loss: f32::NAN,
            d_real: f32::NAN,
            d_fake: f32::NAN,
        }),
        elapsed_s,
        out: config.out.clone(),
    })
}

/// Rejects datasets the models cannot take: images other than 28×28, or fewer images than
/// one batch.
fn check_dataset(dataset: &Dataset, batch_size: usize) -> Result<(), TrainError> {
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

/// Creates the run folder and its `samples/` folder and writes `config.json`.
///
/// A folder that already contains files is rejected, so that two runs never mix their
/// metrics, samples and checkpoints.
fn prepare_run_folder(config: &TrainConfig) -> Result<PathBuf, TrainError> {
    if let Ok(mut entries) = std::fs::read_dir(&config.out)
        && entries.next().is_some()
    {
        return Err(TrainError::RunFolderNotEmpty {
            path: config.out.clone(),
        });
    }
    let samples_dir = config.out.join("samples");
    std::fs::create_dir_all(&samples_dir)
        .map_err(|error| TrainError::io("create folder", &samples_dir, error))?;
    let config_path = config.out.join("config.json");
    let json = serde_json::to_string_pretty(config)
        .map_err(|error| TrainError::io("serialise", &config_path, std::io::Error::other(error)))?;
    write_file(&config_path, json.as_bytes())?;
    Ok(samples_dir)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    std::fs::write(path, bytes).map_err(|error| TrainError::io("write", path, error))
}

fn log_step(step: u64, steps: u64, metrics: &StepMetrics, elapsed_s: f64) {
    tracing::info!(
        "step {step:>6}/{steps}  d_loss {:.4}  g_loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}  {:.1} steps/s",
        metrics.d_loss,
        metrics.g_loss,
        metrics.d_real,
        metrics.d_fake,
        step as f64 / elapsed_s.max(1e-9),
    );
}

fn non_finite(step: u64, metrics: &StepMetrics) -> TrainError {
    TrainError::NonFinite {
        step,
        d_loss: metrics.d_loss,
        g_loss: metrics.g_loss,
        d_real: metrics.d_real,
        d_fake: metrics.d_fake,
    }
}

/// Rejects settings that would fail later or train nothing.
fn validate(config: &TrainConfig) -> Result<(), TrainError> {
    let at_least_one: [(&'static str, u64); 3] = [
        ("--steps", config.steps),
        ("--log-every", config.log_every),
        ("--sample-every", config.sample_every),
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
    validate_adam(&config.generator_adam)?;
    validate_adam(&config.discriminator_adam)
}

fn validate_adam(adam: &AdamSettings) -> Result<(), TrainError> {
    if !(adam.lr.is_finite() && adam.lr > 0.0) {
        return Err(invalid("--lr", adam.lr, "must be a positive finite number"));
    }
    for (name, beta) in [("--beta1", adam.beta1), ("--beta2", adam.beta2)] {
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
