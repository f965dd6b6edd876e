//! The labelled images a classifier trains on and the held-out images it is judged on,
//! which are also the real images that generated ones are compared with.

use std::path::Path;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::error::QualityError;
use crate::data::{DataError, Dataset};
use crate::model::{IMAGE_COLS, IMAGE_ROWS};

/// Embedded digits held out from the classifier's training: the real images of FID.
pub const EMBEDDED_HELDOUT_COUNT: usize = 2_000;

/// Seed of the permutation that splits the embedded digits. It is fixed, and independent of
/// `--seed`, so every digits classifier is judged on the same held-out images.
const EMBEDDED_SPLIT_SEED: u64 = 0x686f6c646f7574;

/// Training and held-out images of one dataset.
#[derive(Debug, Clone)]
pub struct LabelledSplit {
    /// Images the classifier trains on.
    pub train: Dataset,
    /// Images the classifier is judged on, and the real images of the quality metrics.
    pub heldout: Dataset,
    /// Description of the two parts, for messages and the classifier file.
    pub description: String,
}

/// Splits the 10,000 embedded digits with a fixed seeded permutation: 8,000 to train on,
/// 2,000 held out.
///
/// # Errors
///
/// Returns [`DataError`] only if the embedded files are corrupt, which the tests rule out.
pub fn embedded_split() -> Result<LabelledSplit, DataError> {
    let all = Dataset::embedded()?;
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(EMBEDDED_SPLIT_SEED));
    let (heldout, train) = order.split_at(EMBEDDED_HELDOUT_COUNT.min(all.len()));
    let part = |indices: &[usize]| {
        all.subset(indices).ok_or(DataError::InvalidBatchSize {
            batch_size: indices.len(),
            len: all.len(),
        })
    };
    Ok(LabelledSplit {
        train: part(train)?,
        heldout: part(heldout)?,
        description: format!(
            "embedded digits: {} training images, {} held out",
            train.len(),
            heldout.len()
        ),
    })
}

/// Returns the held-out part of [`embedded_split`] without keeping the training part.
///
/// # Errors
///
/// As [`embedded_split`].
pub fn embedded_heldout() -> Result<Dataset, DataError> {
    embedded_split().map(|split| split.heldout)
}

/// Reads an IDX folder's training files and its test files (`t10k-*`), held out.
///
/// # Errors
///
/// Returns the errors of [`Dataset::from_dir`] and [`dir_heldout`].
pub fn dir_split(dir: &Path) -> Result<LabelledSplit, QualityError> {
    let train = Dataset::from_dir(dir)?;
    check_image_size(&train, dir)?;
    let heldout = dir_heldout(dir)?;
    let description = format!(
        "{}: {} training images, {} test images held out",
        dir.display(),
        train.len(),
        heldout.len()
    );
    Ok(LabelledSplit {
        train,
        heldout,
        description,
    })
}

/// Reads an IDX folder's test files (`t10k-*`), the real images of its quality metrics.
///
/// # Errors
///
/// Returns the errors of [`Dataset::test_from_dir`], and
/// [`QualityError::InvalidSetting`] for images other than 28×28.
pub fn dir_heldout(dir: &Path) -> Result<Dataset, QualityError> {
    let heldout = Dataset::test_from_dir(dir)?;
    check_image_size(&heldout, dir)?;
    Ok(heldout)
}

/// Rejects images of another size than the classifier's 28×28.
fn check_image_size(dataset: &Dataset, dir: &Path) -> Result<(), QualityError> {
    if dataset.rows() == IMAGE_ROWS && dataset.cols() == IMAGE_COLS {
        return Ok(());
    }
    Err(QualityError::InvalidSetting {
        name: "--data",
        value: dir.display().to_string(),
        expected: format!(
            "images must be {IMAGE_ROWS}×{IMAGE_COLS} pixels for the classifier, found {}×{}",
            dataset.rows(),
            dataset.cols()
        ),
    })
}

/// Returns the CRC-32 of a dataset's pixels and labels, which identifies the held-out
/// images a classifier was judged on, wherever the files lie.
pub fn fingerprint(dataset: &Dataset) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&(dataset.len() as u64).to_le_bytes());
    hasher.update(dataset.images());
    hasher.update(dataset.labels());
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::{EMBEDDED_HELDOUT_COUNT, embedded_split};

    #[test]
    fn embedded_split_sizes_and_classes() {
        let split = match embedded_split() {
            Ok(split) => split,
            Err(error) => panic!("embedded split: {error}"),
        };
        assert_eq!(
            split.heldout.len(),
            EMBEDDED_HELDOUT_COUNT,
            "held-out images"
        );
        assert_eq!(
            split.train.len(),
            10_000 - EMBEDDED_HELDOUT_COUNT,
            "training images"
        );
        let counts = split.heldout.class_counts();
        assert_eq!(counts.len(), 10, "held-out classes: {counts:?}");
        assert!(
            counts.iter().all(|&count| count >= 100),
            "every digit has at least 100 held-out images: {counts:?}"
        );
    }
}
