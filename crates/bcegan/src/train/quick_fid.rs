//! Quick FID during training: every `fid_every` steps the generator draws `fid_samples`
//! images from a fixed noise batch, and their Fréchet distance to the held-out real images
//! goes into the log line and `metrics.csv`. The lowest distance so far decides which
//! state is kept in `checkpoint-best.safetensors`.

use std::path::PathBuf;

use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::config::{DataSource, TrainConfig};
use super::error::TrainError;
use super::gan::{Gan, standard_normal};
use crate::device::cpu_device;
use crate::quality::{QualityError, QualityReference, load_classifier};

/// Name of the checkpoint of the step with the lowest quick FID, beside `checkpoint.safetensors`.
pub const BEST_CHECKPOINT_FILE: &str = "checkpoint-best.safetensors";

/// Steps between two quick FIDs when the run does not set them. At the 2,000 images of
/// [`DEFAULT_FID_SAMPLES`] one measurement costs about as much as a few dozen training
/// steps, a few percent of the run.
pub const DEFAULT_FID_EVERY: u64 = 500;

/// Generated images per quick FID when the run does not set them; the held-out real set
/// of the embedded digits has 2,000 images as well.
pub const DEFAULT_FID_SAMPLES: usize = 2000;

/// Offset that separates the quick-FID noise from the other seeded streams of a run.
const FID_NOISE_STREAM: u64 = 0x666964;

/// Noise rows the generator maps at once, which bounds the memory of its activations
/// (a DCGAN layer has 64 × 13 × 13 values per image).
const GENERATE_CHUNK: usize = 250;

/// The real-image reference (built at the first measurement), the fixed noise and the best
/// distance so far.
pub struct QuickFid {
    data: DataSource,
    classifier: Option<PathBuf>,
    every: u64,
    reference: Option<QualityReference>,
    noise: Vec<Tensor<2>>,
    best: Option<f64>,
}

impl QuickFid {
    /// Prepares the quick FID of a run on `device` (the training device), or returns `None`
    /// when the run turns it off (`fid_every` = 0). The real images' features are computed
    /// at the first measurement, so a short run pays nothing for them. A `classifier` file
    /// given by the user is read at once, so that a bad one stops the run before it starts.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::Quality`] when the classifier file cannot be read.
    pub fn for_run(config: &TrainConfig, device: &Device) -> Result<Option<Self>, TrainError> {
        if config.fid_every == 0 {
            return Ok(None);
        }
        if let Some(path) = &config.classifier {
            load_classifier(path, &cpu_device()).map_err(quality_error)?;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ FID_NOISE_STREAM);
        let mut noise = Vec::new();
        let mut left = config.fid_samples;
        while left > 0 {
            let rows = left.min(GENERATE_CHUNK);
            noise.push(standard_normal(&mut rng, rows, config.latent_dim, device));
            left -= rows;
        }
        Ok(Some(Self {
            data: config.data.clone(),
            classifier: config.classifier.clone(),
            every: config.fid_every,
            reference: None,
            noise,
            best: None,
        }))
    }

    /// Sets the lowest distance of the run so far, from its checkpoint on a resume.
    pub fn resume_best(&mut self, best: Option<f64>) {
        self.best = best;
    }

    /// Lowest distance measured so far.
    pub fn best(&self) -> Option<f64> {
        self.best
    }

    /// Returns whether `step` gets a measurement: every `fid_every` steps, and the last step
    /// of a run that trained at least `fid_every` steps in this session.
    pub fn is_due(&self, step: u64, start_step: u64, is_last: bool) -> bool {
        step.is_multiple_of(self.every) || (is_last && step - start_step >= self.every)
    }

    /// Measures the generator of `gan` in evaluation mode and returns the distance and
    /// whether it is the lowest so far.
    ///
    /// Returns `None` when no classifier fits the run's data. That is logged once, and the
    /// run makes no further measurements.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::TensorRead`] when the images cannot be read back and
    /// [`TrainError::Quality`] when the reference or the distance cannot be computed (for
    /// example NaN pixels).
    pub fn measure(&mut self, gan: &Gan) -> Result<Option<(f64, bool)>, TrainError> {
        if self.noise.is_empty() {
            return Ok(None);
        }
        let reference = match &self.reference {
            Some(reference) => reference,
            None => match QualityReference::for_data(
                &self.data,
                self.classifier.as_deref(),
                &cpu_device(),
            ) {
                Ok(reference) => self.reference.insert(reference),
                Err(error @ QualityError::NoClassifierForData { .. }) => {
                    tracing::warn!(%error, "no quick FID in this run");
                    self.noise.clear();
                    return Ok(None);
                }
                Err(error) => return Err(quality_error(error)),
            },
        };
        let mut images = Vec::new();
        for noise in &self.noise {
            images.extend(gan.generate(noise.clone())?);
        }
        let fid = reference.quick_fid(&images).map_err(quality_error)?;
        let is_best = self.best.is_none_or(|best| fid < best);
        if is_best {
            self.best = Some(fid);
        }
        Ok(Some((fid, is_best)))
    }
}

fn quality_error(error: QualityError) -> TrainError {
    TrainError::Quality(Box::new(error))
}
