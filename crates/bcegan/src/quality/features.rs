//! Features and predicted classes of a set of images, computed by the classifier.

use burn::tensor::{Device, Tensor, TensorData};

use super::error::QualityError;
use super::network::{CLASS_COUNT, Classifier, FEATURE_DIM};
use crate::model::{IMAGE_COLS, IMAGE_SIZE};

/// Images run through the classifier at once, which bounds the memory of its activations:
/// at 500 a default training run peaked at 205 MiB during its quick FID, at 100 it stays
/// near the training step's own peak.
const CHUNK_IMAGES: usize = 100;

/// Feature vectors (f64, row-major `[count, 128]`) and the predicted class of each image.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSet {
    /// Features, one row of [`FEATURE_DIM`] values per image.
    pub features: Vec<f64>,
    /// Index of the largest logit of each image; the first wins a tie.
    pub classes: Vec<u8>,
}

impl FeatureSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Tells whether the set contains no image.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// Returns the rows `range` of the set as a new set.
    pub fn rows(&self, range: std::ops::Range<usize>) -> FeatureSet {
        FeatureSet {
            features: self.features[range.start * FEATURE_DIM..range.end * FEATURE_DIM].to_vec(),
            classes: self.classes[range].to_vec(),
        }
    }
}

/// Checks that `images` contains whole 28×28 images with pixels in [0, 1], and returns their count.
///
/// # Errors
///
/// Returns [`QualityError::PartialImage`] or [`QualityError::PixelOutOfRange`], naming
/// `what`, the image and the pixel.
pub fn check_images(images: &[f32], what: &str) -> Result<usize, QualityError> {
    if !images.len().is_multiple_of(IMAGE_SIZE) {
        return Err(QualityError::PartialImage {
            what: what.to_owned(),
            len: images.len(),
            image_size: IMAGE_SIZE,
        });
    }
    // `contains` is false for NaN, so NaN is rejected too.
    if let Some(index) = images.iter().position(|value| !(0.0..=1.0).contains(value)) {
        let pixel = index % IMAGE_SIZE;
        return Err(QualityError::PixelOutOfRange {
            what: what.to_owned(),
            value: images[index],
            image: index / IMAGE_SIZE,
            row: pixel / IMAGE_COLS,
            col: pixel % IMAGE_COLS,
        });
    }
    Ok(images.len() / IMAGE_SIZE)
}

/// Runs `classifier` (on a device without autodiff) over `images` in chunks and returns
/// their features and predicted classes.
///
/// # Errors
///
/// Returns the errors of [`check_images`], [`QualityError::TensorRead`] when the backend
/// cannot return the values, and [`QualityError::NonFinite`] for a NaN or infinite feature.
pub fn extract_features(
    classifier: &Classifier,
    images: &[f32],
    what: &str,
    device: &Device,
) -> Result<FeatureSet, QualityError> {
    let count = check_images(images, what)?;
    let mut features = Vec::with_capacity(count * FEATURE_DIM);
    let mut classes = Vec::with_capacity(count);
    for chunk in images.chunks(CHUNK_IMAGES * IMAGE_SIZE) {
        let rows = chunk.len() / IMAGE_SIZE;
        let batch = Tensor::from_data(TensorData::new(chunk.to_vec(), [rows, IMAGE_SIZE]), device);
        let output = classifier.forward(batch);
        let chunk_features = tensor_values("classifier features", output.features)?;
        let chunk_logits = tensor_values("classifier logits", output.logits)?;
        features.extend(chunk_features.iter().map(|&value| f64::from(value)));
        classes.extend(chunk_logits.chunks_exact(CLASS_COUNT).map(argmax));
    }
    if let Some(index) = features.iter().position(|value| !value.is_finite()) {
        return Err(QualityError::NonFinite {
            what: format!(
                "{what}: feature {} of image {}",
                index % FEATURE_DIM,
                index / FEATURE_DIM
            ),
        });
    }
    Ok(FeatureSet { features, classes })
}

/// Returns the index of the largest value; the first wins a tie.
pub fn argmax(values: &[f32]) -> u8 {
    let mut best = 0;
    for (index, value) in values.iter().enumerate() {
        if *value > values[best] {
            best = index;
        }
    }
    // At most CLASS_COUNT (10) values, so the index fits in u8.
    best as u8
}

/// Reads a tensor's values back as `f32`.
pub(crate) fn tensor_values(
    name: &'static str,
    tensor: Tensor<2>,
) -> Result<Vec<f32>, QualityError> {
    tensor
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|error| QualityError::TensorRead {
            name,
            message: format!("{error:?}"),
        })
}
