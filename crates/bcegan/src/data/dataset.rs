//! Labelled images in memory and seeded, shuffled batches drawn from them.

use std::path::Path;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::embedded;
use super::error::DataError;
use super::idx::{self, IdxImages};

/// Classes of the MNIST-format datasets bcegan reads: digits 0–9, or Fashion-MNIST's ten
/// kinds of clothing.
pub const CLASS_COUNT: usize = 10;

/// File-name stems tried by [`Dataset::from_dir`], in order: the MNIST and Fashion-MNIST
/// training set, then the names of the embedded digits.
const STEMS: [&str; 2] = ["train", "digits"];
/// File-name stem tried by [`Dataset::test_from_dir`]: the MNIST and Fashion-MNIST test set.
const TEST_STEMS: [&str; 1] = ["t10k"];
/// Suffixes tried after each name, in order: uncompressed first.
const SUFFIXES: [&str; 2] = ["", ".gz"];

/// Images of `rows` x `cols` unsigned-byte pixels, each with a class label.
///
/// Contains at least one image, because the IDX reader rejects a count of 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    images: Vec<u8>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
}

impl Dataset {
    /// Decompresses and parses the digits built into the binary: 10,000 MNIST images of
    /// 28 x 28 pixels, labels 0 to 9, ordered by label.
    ///
    /// # Errors
    ///
    /// Returns [`DataError`] only if the embedded files are corrupt, which the tests rule out.
    pub fn embedded() -> Result<Self, DataError> {
        let images = idx::parse_images(embedded::IMAGES_GZ, embedded::IMAGES_FILE)?;
        let labels = idx::parse_labels(embedded::LABELS_GZ, embedded::LABELS_FILE)?;
        Self::from_idx(images, labels, embedded::IMAGES_FILE, embedded::LABELS_FILE)
    }

    /// Reads the training pair of an IDX folder, such as the MNIST or Fashion-MNIST
    /// download or Debian's `/usr/share/datasets/fashion-mnist`.
    ///
    /// Looks for `train-images-idx3-ubyte` with `train-labels-idx1-ubyte`, then
    /// `digits-images-idx3-ubyte` with `digits-labels-idx1-ubyte`, each name as is and
    /// then with `.gz`. The first image file found decides the stem of the label file.
    ///
    /// # Errors
    ///
    /// Returns [`DataError::NotADirectory`] when `dir` is not a folder,
    /// [`DataError::NoTrainingFiles`] with every name tried when no pair is found,
    /// [`DataError::CountMismatch`] when the two files hold different counts, and the
    /// errors of [`idx::read_images`] and [`idx::read_labels`].
    pub fn from_dir(dir: &Path) -> Result<Self, DataError> {
        if !dir.is_dir() {
            return Err(DataError::NotADirectory {
                dir: dir.to_path_buf(),
            });
        }

        let mut looked_for = Vec::new();
        match find_pair(dir, &STEMS, &mut looked_for)? {
            Some(dataset) => Ok(dataset),
            None => Err(DataError::NoTrainingFiles {
                dir: dir.to_path_buf(),
                looked_for,
            }),
        }
    }

    /// Reads the test pair of an IDX folder: `t10k-images-idx3-ubyte` with
    /// `t10k-labels-idx1-ubyte`, each name as is and then with `.gz`, as the MNIST and
    /// Fashion-MNIST downloads name their 10,000 test images.
    ///
    /// # Errors
    ///
    /// Returns [`DataError::NotADirectory`] when `dir` is not a folder,
    /// [`DataError::NoTestFiles`] with every name tried when the pair is not found, and the
    /// other errors of [`Dataset::from_dir`].
    pub fn test_from_dir(dir: &Path) -> Result<Self, DataError> {
        if !dir.is_dir() {
            return Err(DataError::NotADirectory {
                dir: dir.to_path_buf(),
            });
        }
        let mut looked_for = Vec::new();
        match find_pair(dir, &TEST_STEMS, &mut looked_for)? {
            Some(dataset) => Ok(dataset),
            None => Err(DataError::NoTestFiles {
                dir: dir.to_path_buf(),
                looked_for,
            }),
        }
    }

    /// Returns the images and labels at `indices`, in that order, or `None` when `indices`
    /// is empty or an index is past the end.
    pub fn subset(&self, indices: &[usize]) -> Option<Self> {
        if indices.is_empty() {
            return None;
        }
        let mut images = Vec::with_capacity(indices.len() * self.image_len());
        let mut labels = Vec::with_capacity(indices.len());
        for &index in indices {
            images.extend_from_slice(self.image(index)?);
            labels.push(*self.labels.get(index)?);
        }
        Some(Self {
            images,
            labels,
            rows: self.rows,
            cols: self.cols,
        })
    }

    /// Returns all pixels as `f32` in [0, 1] (byte / 255), image after image.
    pub fn pixels_f32(&self) -> Vec<f32> {
        self.images
            .iter()
            .map(|&pixel| f32::from(pixel) / 255.0)
            .collect()
    }

    /// Pairs parsed images with parsed labels; the file names appear in errors.
    ///
    /// # Errors
    ///
    /// Returns [`DataError::CountMismatch`] when the counts differ, and
    /// [`DataError::LabelOutOfRange`] for a label of 10 (`CLASS_COUNT`) or more.
    pub fn from_idx(
        images: IdxImages,
        labels: Vec<u8>,
        images_file: &str,
        labels_file: &str,
    ) -> Result<Self, DataError> {
        if images.count != labels.len() {
            return Err(DataError::CountMismatch {
                images_file: images_file.to_owned(),
                images: images.count,
                labels_file: labels_file.to_owned(),
                labels: labels.len(),
            });
        }
        idx::check_labels(&labels, CLASS_COUNT, labels_file)?;
        Ok(Self {
            images: images.pixels,
            labels,
            rows: images.rows,
            cols: images.cols,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Returns `false` always, because a dataset contains at least one image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixel rows per image.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Pixel columns per image.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Pixels per image: `rows * cols`.
    pub fn image_len(&self) -> usize {
        self.rows * self.cols
    }

    /// Returns all pixels, shape `[len, rows, cols]`, row-major.
    pub fn images(&self) -> &[u8] {
        &self.images
    }

    /// Returns the class labels, one per image.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Returns the pixels of image `index`, row after row, or `None` past the end.
    pub fn image(&self, index: usize) -> Option<&[u8]> {
        let start = index.checked_mul(self.image_len())?;
        let end = start.checked_add(self.image_len())?;
        self.images.get(start..end)
    }

    /// Number of images of each label, indexed by label, up to the largest label present.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = Vec::new();
        for &label in &self.labels {
            let label = usize::from(label);
            if counts.len() <= label {
                counts.resize(label + 1, 0);
            }
            counts[label] += 1;
        }
        counts
    }
}

/// Reads the first pair `STEM-images-idx3-ubyte` and `STEM-labels-idx1-ubyte` found in
/// `dir`, trying `stems` in order; the first image file found decides the stem.
fn find_pair(
    dir: &Path,
    stems: &[&str],
    looked_for: &mut Vec<String>,
) -> Result<Option<Dataset>, DataError> {
    for stem in stems {
        let Some(images_path) = find_file(dir, &format!("{stem}-images-idx3-ubyte"), looked_for)
        else {
            continue;
        };
        let Some(labels_path) = find_file(dir, &format!("{stem}-labels-idx1-ubyte"), looked_for)
        else {
            break;
        };
        let images = idx::read_images(&images_path)?;
        let labels = idx::read_labels(&labels_path)?;
        return Dataset::from_idx(
            images,
            labels,
            &images_path.display().to_string(),
            &labels_path.display().to_string(),
        )
        .map(Some);
    }
    Ok(None)
}

/// Returns the first of `name` and `name.gz` that exists in `dir`, recording both as tried.
fn find_file(dir: &Path, name: &str, looked_for: &mut Vec<String>) -> Option<std::path::PathBuf> {
    for suffix in SUFFIXES {
        let candidate = format!("{name}{suffix}");
        let path = dir.join(&candidate);
        looked_for.push(candidate);
        if path.is_file() {
            return Some(path);
        }
    }
    None
}

/// Draws batches of images as `f32` pixels in [0, 1] (byte / 255), shuffled by a seeded
/// ChaCha8 generator.
///
/// Each epoch visits every image exactly once in a fresh random order. The sequence of
/// drawn indices is one permutation after another, so a batch that spans the end of an
/// epoch may contain the same image twice, once from each epoch. The same dataset, batch
/// size and seed give the same batches on 32- and 64-bit platforms with rand 0.9, whose
/// shuffle draws 32-bit indices; another rand version may change the order.
#[derive(Debug, Clone)]
pub struct BatchSampler<'a> {
    dataset: &'a Dataset,
    batch_size: usize,
    rng: ChaCha8Rng,
    order: Vec<usize>,
    position: usize,
    epoch: u64,
    indices: Vec<usize>,
}

impl<'a> BatchSampler<'a> {
    /// Creates a sampler and shuffles the first epoch.
    ///
    /// # Errors
    ///
    /// Returns [`DataError::InvalidBatchSize`] when `batch_size` is 0 or larger than the dataset.
    pub fn new(dataset: &'a Dataset, batch_size: usize, seed: u64) -> Result<Self, DataError> {
        if batch_size == 0 || batch_size > dataset.len() {
            return Err(DataError::InvalidBatchSize {
                batch_size,
                len: dataset.len(),
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..dataset.len()).collect();
        order.shuffle(&mut rng);
        Ok(Self {
            dataset,
            batch_size,
            rng,
            order,
            position: 0,
            epoch: 0,
            indices: Vec::with_capacity(batch_size),
        })
    }

    /// Images per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Number of epochs completed so far: 0 until every image has been drawn once.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Draws the dataset indices of the next batch, reshuffling at each epoch end.
    pub fn next_indices(&mut self) -> &[usize] {
        self.indices.clear();
        while self.indices.len() < self.batch_size {
            if self.position == self.order.len() {
                self.order.shuffle(&mut self.rng);
                self.position = 0;
                self.epoch += 1;
            }
            let take = (self.batch_size - self.indices.len()).min(self.order.len() - self.position);
            self.indices
                .extend_from_slice(&self.order[self.position..self.position + take]);
            self.position += take;
        }
        &self.indices
    }

    /// Replaces the contents of `pixels` with the next batch: `batch_size * image_len`
    /// values in [0, 1], image after image, each row after row.
    pub fn fill_batch(&mut self, pixels: &mut Vec<f32>) {
        let image_len = self.dataset.image_len();
        let dataset = self.dataset;
        pixels.clear();
        pixels.reserve(self.batch_size * image_len);
        for &index in self.next_indices() {
            let start = index * image_len;
            let image = &dataset.images[start..start + image_len];
            pixels.extend(image.iter().map(|&pixel| f32::from(pixel) / 255.0));
        }
    }

    /// Returns the next batch as a new vector; see [`fill_batch`](Self::fill_batch).
    pub fn next_batch(&mut self) -> Vec<f32> {
        let mut pixels = Vec::new();
        self.fill_batch(&mut pixels);
        pixels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_dataset(len: usize) -> Dataset {
        let images = IdxImages {
            count: len,
            rows: 1,
            cols: 2,
            pixels: (0..len).flat_map(|i| [i as u8, 255]).collect(),
        };
        let labels = (0..len).map(|i| (i % 10) as u8).collect();
        match Dataset::from_idx(images, labels, "tiny images", "tiny labels") {
            Ok(dataset) => dataset,
            Err(error) => panic!("tiny dataset of {len} images failed: {error}"),
        }
    }

    #[test]
    fn sampler_spans_epoch_boundary() {
        let dataset = tiny_dataset(5);
        let Ok(mut sampler) = BatchSampler::new(&dataset, 3, 7) else {
            panic!("batch size 3 of 5 images rejected");
        };
        let mut drawn = Vec::new();
        for _ in 0..5 {
            drawn.extend_from_slice(sampler.next_indices());
        }
        // 15 indices are exactly 3 epochs of 5.
        for (epoch, chunk) in drawn.chunks(5).enumerate() {
            let mut sorted = chunk.to_vec();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                vec![0, 1, 2, 3, 4],
                "seed 7, batch 3: epoch {epoch} drew {chunk:?}, expected each of 0..5 once"
            );
        }
        assert_eq!(
            sampler.epoch(),
            2,
            "after 15 draws of 5 images: expected 2 completed epochs"
        );
    }

    #[test]
    fn fill_batch_scales_pixels() {
        let dataset = tiny_dataset(4);
        let Ok(mut sampler) = BatchSampler::new(&dataset, 4, 1) else {
            panic!("batch size 4 of 4 images rejected");
        };
        let indices = sampler.clone().next_indices().to_vec();
        let batch = sampler.next_batch();
        let expected: Vec<f32> = indices
            .iter()
            .flat_map(|&i| [i as f32 / 255.0, 1.0])
            .collect();
        assert_eq!(batch, expected, "indices {indices:?}: expected pixel / 255");
    }

    #[test]
    fn class_counts_by_label() {
        let dataset = tiny_dataset(12);
        let counts = dataset.class_counts();
        assert_eq!(
            counts,
            vec![2, 2, 1, 1, 1, 1, 1, 1, 1, 1],
            "labels i % 10 for i in 0..12"
        );
    }

    #[test]
    fn image_out_of_range_none() {
        let dataset = tiny_dataset(3);
        assert_eq!(dataset.image(2), Some(&[2_u8, 255][..]), "image 2 of 3");
        assert_eq!(dataset.image(3), None, "image 3 of 3");
        assert_eq!(dataset.image(usize::MAX), None, "image usize::MAX of 3");
    }
}
