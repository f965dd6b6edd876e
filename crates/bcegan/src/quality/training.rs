//! Training of the feature network on a dataset's class labels: cross-entropy, Adam, and
//! the held-out accuracy after every epoch.

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLoss;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::error::QualityError;
use super::features::extract_features;
use super::network::Classifier;
use super::reference_data::LabelledSplit;
use crate::data::Dataset;

/// Offsets that separate the weight and the augmentation streams from the batch-order
/// stream of one seed.
const WEIGHT_STREAM: u64 = 0x636c6173736966;
const SHIFT_STREAM: u64 = 0x7368696674;

/// Largest shift, in pixels, of the random translation applied to each training image.
/// Shifted copies keep the 8,000 embedded training digits from being memorised.
const MAX_SHIFT: i64 = 2;

/// Settings of a classifier training run.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierTraining {
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per Adam step.
    pub batch_size: usize,
    /// Adam's learning rate at the first step; it decays to 0 along a half cosine.
    pub learning_rate: f64,
    /// Seed of the initial weights and of the batch order.
    pub seed: u64,
}

impl Default for ClassifierTraining {
    /// 12 epochs of batches of 64 from learning rate 2e-3, seed 0.
    fn default() -> Self {
        Self {
            epochs: 12,
            batch_size: 64,
            learning_rate: 2e-3,
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
    let mut shift_rng = ChaCha8Rng::seed_from_u64(settings.seed ^ SHIFT_STREAM);
    let mut classifier = Classifier::new(&mut weight_rng, &autodiff_device);
    let mut optimizer: ModuleOptimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let loss_function = CrossEntropyLoss::new(None, &autodiff_device);
    let heldout_images = split.heldout.pixels_f32();

    let mut order: Vec<usize> = (0..split.train.len()).collect();
    let total_steps = settings.epochs * order.len().div_ceil(settings.batch_size);
    let mut step = 0usize;
    let mut last = None;
    for epoch in 1..=settings.epochs {
        order.shuffle(&mut order_rng);
        let mut loss_sum = 0.0;
        let mut batches = 0usize;
        for indices in order.chunks(settings.batch_size) {
            let (images, labels) = batch(&split.train, indices, &mut shift_rng, &autodiff_device);
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
            let progress = step as f64 / total_steps as f64;
            let learning_rate =
                settings.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
            classifier = optimizer.step(learning_rate, classifier, grads);
            step += 1;
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

/// Builds the image and label tensors of the images at `indices`, each shifted by a random
/// whole number of pixels (up to [`MAX_SHIFT`] in each direction, zeros filling in).
fn batch(
    dataset: &Dataset,
    indices: &[usize],
    shift_rng: &mut ChaCha8Rng,
    device: &Device,
) -> (Tensor<2>, Tensor<1, Int>) {
    let image_len = dataset.image_len();
    let mut pixels = Vec::with_capacity(indices.len() * image_len);
    let mut labels = Vec::with_capacity(indices.len());
    for &index in indices {
        let start = index * image_len;
        let image = &dataset.images()[start..start + image_len];
        let shift_rows = shift_rng.random_range(-MAX_SHIFT..=MAX_SHIFT);
        let shift_cols = shift_rng.random_range(-MAX_SHIFT..=MAX_SHIFT);
        pixels.extend(shifted(
            image,
            dataset.rows(),
            dataset.cols(),
            shift_rows,
            shift_cols,
        ));
        labels.push(i64::from(dataset.labels()[index]));
    }
    let images = Tensor::from_data(TensorData::new(pixels, [indices.len(), image_len]), device);
    let labels = Tensor::from_data(TensorData::new(labels, [indices.len()]), device);
    (images, labels)
}

/// Returns `image` moved down by `shift_rows` and right by `shift_cols` pixels (negative
/// values move up or left), scaled to [0, 1], with zeros where no source pixel falls.
fn shifted(image: &[u8], rows: usize, cols: usize, shift_rows: i64, shift_cols: i64) -> Vec<f32> {
    let mut out = vec![0.0; rows * cols];
    for row in 0..rows {
        let Some(source_row) = source_index(row, shift_rows, rows) else {
            continue;
        };
        for col in 0..cols {
            if let Some(source_col) = source_index(col, shift_cols, cols) {
                out[row * cols + col] = f32::from(image[source_row * cols + source_col]) / 255.0;
            }
        }
    }
    out
}

/// Returns `index − shift` when it lies in `0..len`.
fn source_index(index: usize, shift: i64, len: usize) -> Option<usize> {
    let source = i64::try_from(index).ok()? - shift;
    usize::try_from(source).ok().filter(|&source| source < len)
}

#[cfg(test)]
mod tests {
    use super::shifted;

    #[test]
    fn shifted_moves_and_fills_zeros() {
        // 2×3 image: 10 20 30 / 40 50 60, moved down 1 and left 1.
        let image = [10, 20, 30, 40, 50, 60];
        let actual = shifted(&image, 2, 3, 1, -1);
        let expected: Vec<f32> = [0, 0, 0, 20, 30, 0]
            .iter()
            .map(|&pixel: &u8| f32::from(pixel) / 255.0)
            .collect();
        assert_eq!(actual, expected, "2×3 image shifted by (1, −1)");
    }
}
