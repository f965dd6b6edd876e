//! Training of the feature network on a dataset's class labels: cross-entropy, Adam, and
//! the held-out accuracy after every epoch.

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLoss;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::error::QualityError;
use super::features::extract_features;
use super::network::Classifier;
use super::reference_data::LabelledSplit;
use crate::data::Dataset;

/// Offset that separates the weight stream from the batch-order stream of one seed.
const WEIGHT_STREAM: u64 = 0x636c6173736966;

/// Settings of a classifier training run.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierTraining {
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per Adam step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Seed of the initial weights and of the batch order.
    pub seed: u64,
}

impl Default for ClassifierTraining {
    /// 8 epochs of batches of 64 at learning rate 1e-3, seed 0.
    fn default() -> Self {
        Self {
            epochs: 8,
            batch_size: 64,
            learning_rate: 1e-3,
            seed: 0,
        }
    }
}

/// Summary of one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's batches.
    pub train_loss: f64,
    /// Share of held-out images classified right after the epoch.
    pub heldout_accuracy: f64,
    /// Seconds since training started.
    pub elapsed_s: f64,
}

/// Trains a fresh classifier on `split.train` and returns it on the inner (non-autodiff)
/// device with the report of the last epoch. `on_epoch` is called after every epoch.
///
/// # Errors
///
/// Returns [`QualityError::InvalidSetting`] for 0 epochs or a batch size of 0, and
/// [`QualityError::Training`] when the loss becomes NaN or infinite.
pub fn train_classifier(
    split: &LabelledSplit,
    settings: &ClassifierTraining,
    device: &Device,
    mut on_epoch: impl FnMut(&EpochReport),
) -> Result<(Classifier, EpochReport), QualityError> {
    if settings.epochs == 0 {
        return Err(QualityError::InvalidSetting {
            name: "--epochs",
            value: "0".into(),
            expected: "must be at least 1".into(),
        });
    }
    if settings.batch_size == 0 {
        return Err(QualityError::InvalidSetting {
            name: "batch size",
            value: "0".into(),
            expected: "must be at least 1".into(),
        });
    }
    let started = Instant::now();
    let autodiff_device = device.clone().autodiff();
    let mut weight_rng = ChaCha8Rng::seed_from_u64(settings.seed ^ WEIGHT_STREAM);
    let mut order_rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let mut classifier = Classifier::new(&mut weight_rng, &autodiff_device);
    let mut optimizer: ModuleOptimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let loss_function = CrossEntropyLoss::new(None, &autodiff_device);
    let heldout_images = split.heldout.pixels_f32();

    let mut order: Vec<usize> = (0..split.train.len()).collect();
    let mut last = None;
    for epoch in 1..=settings.epochs {
        order.shuffle(&mut order_rng);
        let mut loss_sum = 0.0;
        let mut batches = 0usize;
        for indices in order.chunks(settings.batch_size) {
            let (images, labels) = batch(&split.train, indices, &autodiff_device);
            let logits = classifier.forward(images).logits;
            let loss = loss_function.forward(logits, labels);
            let loss_value = f64::from(loss.clone().detach().into_scalar::<f32>());
            if !loss_value.is_finite() {
                return Err(QualityError::Training(format!(
                    "the cross-entropy of epoch {epoch}, batch {batches} is {loss_value}; lower the learning rate"
                )));
            }
            loss_sum += loss_value;
            batches += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &classifier);
            classifier = optimizer.step(settings.learning_rate, classifier, grads);
        }
        let heldout_accuracy =
            accuracy(&classifier.valid(), &split.heldout, &heldout_images, device)?;
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / batches.max(1) as f64,
            heldout_accuracy,
            elapsed_s: started.elapsed().as_secs_f64(),
        };
        on_epoch(&report);
        last = Some(report);
    }
    let report = last.ok_or_else(|| QualityError::Training("no epoch ran".into()))?;
    Ok((classifier.valid(), report))
}

/// Returns the share of `dataset`'s images whose predicted class is their label.
///
/// # Errors
///
/// Returns the errors of [`extract_features`].
pub fn accuracy(
    classifier: &Classifier,
    dataset: &Dataset,
    pixels: &[f32],
    device: &Device,
) -> Result<f64, QualityError> {
    let predicted = extract_features(classifier, pixels, "held-out images", device)?.classes;
    let right = predicted
        .iter()
        .zip(dataset.labels())
        .filter(|(predicted, label)| predicted == label)
        .count();
    Ok(right as f64 / dataset.len().max(1) as f64)
}

/// Builds the image and label tensors of the images at `indices`.
fn batch(dataset: &Dataset, indices: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let image_len = dataset.image_len();
    let mut pixels = Vec::with_capacity(indices.len() * image_len);
    let mut labels = Vec::with_capacity(indices.len());
    for &index in indices {
        let start = index * image_len;
        pixels.extend(
            dataset.images()[start..start + image_len]
                .iter()
                .map(|&pixel| f32::from(pixel) / 255.0),
        );
        labels.push(i64::from(dataset.labels()[index]));
    }
    let images = Tensor::from_data(TensorData::new(pixels, [indices.len(), image_len]), device);
    let labels = Tensor::from_data(TensorData::new(labels, [indices.len()]), device);
    (images, labels)
}
