//! The fixed side of every quality measurement: a classifier and the features of real
//! images, computed once and compared with many sets of generated images.

use std::path::Path;
use std::sync::OnceLock;

use burn::tensor::Device;
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::classifier_file::{BuiltinClassifier, LoadedClassifier, load_classifier};
use super::coverage::Coverage;
use super::error::QualityError;
use super::features::{FeatureSet, extract_features};
use super::frechet::{frechet_distance, frechet_distance_with_sqrt, symmetric_sqrt};
use super::network::{CLASS_COUNT, FEATURE_DIM};
use super::precision_recall::{Manifold, NEIGHBOURS, precision_recall};
use super::reference_data::{dir_heldout, embedded_heldout, fingerprint};
use super::report::QualityReport;
use super::stats::GaussianStats;
use crate::data::Dataset;
use crate::model::IMAGE_SIZE;
use crate::train::DataSource;

/// Largest number of images in a k-NN manifold. The pairwise distances cost `n²` time and
/// memory (a 5,000-image Gram matrix is 200 MB of f64), so larger sets use their first
/// 5,000 images for precision and recall. The Fréchet distance uses every image.
pub const MAX_MANIFOLD_IMAGES: usize = 5_000;

/// Classifier, real features and their statistics, ready to measure generated images.
#[derive(Debug)]
pub struct QualityReference {
    loaded: LoadedClassifier,
    device: Device,
    real: FeatureSet,
    real_stats: GaussianStats,
    real_covariance_sqrt: DMatrix<f64>,
    /// Built at the first [`QualityReference::evaluate`]: its pairwise distances cost
    /// more than everything else here, and the quick FID of a training run never needs them.
    real_manifold: OnceLock<Manifold>,
}

impl QualityReference {
    /// Computes the features of `real_images` (`[n, 784]`, pixels in [0, 1]) with the
    /// classifier, on `device` without autodiff.
    ///
    /// # Errors
    ///
    /// Returns the errors of [`extract_features`], [`QualityError::TooFewImages`] for
    /// fewer than 4 real images (k-NN radii need 3 neighbours), and the errors of the
    /// eigen-decomposition.
    pub fn new(
        loaded: LoadedClassifier,
        real_images: &[f32],
        device: &Device,
    ) -> Result<Self, QualityError> {
        let real = extract_features(&loaded.classifier, real_images, "real images", device)?;
        let real_stats = GaussianStats::from_rows(&real.features, FEATURE_DIM, "real images")?;
        let real_covariance_sqrt = symmetric_sqrt(&real_stats.covariance, "real covariance")?;
        if real.len() <= NEIGHBOURS {
            return Err(QualityError::TooFewImages {
                what: "real images".to_owned(),
                count: real.len(),
                metric: "precision and recall",
                min: NEIGHBOURS + 1,
            });
        }
        Ok(Self {
            loaded,
            device: device.clone(),
            real,
            real_stats,
            real_covariance_sqrt,
            real_manifold: OnceLock::new(),
        })
    }

    /// Builds the reference for a training run's data. The embedded digits get the
    /// built-in digits classifier and their 2,000 held-out images. An IDX folder gets its
    /// test images (`t10k-*`) and the classifier `classifier_file`, or else the built-in
    /// classifier that was judged on those same test images.
    ///
    /// # Errors
    ///
    /// Returns [`QualityError::NoClassifierForData`] for a folder that no built-in classifier
    /// fits when no `classifier_file` is given, and the errors of reading the classifier, the
    /// images and [`QualityReference::new`].
    pub fn for_data(
        data: &DataSource,
        classifier_file: Option<&Path>,
        device: &Device,
    ) -> Result<Self, QualityError> {
        let (heldout, dir) = match data {
            DataSource::Embedded => (embedded_heldout()?, None),
            DataSource::Dir(dir) => (dir_heldout(dir)?, Some(dir.as_path())),
        };
        let heldout_fingerprint = fingerprint(&heldout);
        let loaded = match classifier_file {
            Some(path) => {
                let loaded = load_classifier(path, device)?;
                if loaded.info.reference_crc32 != heldout_fingerprint {
                    // NOTE: a classifier judged on other images still gives a valid distance,
                    // but not one comparable with numbers measured with the matching one.
                    tracing::warn!(
                        "classifier {} was judged on other held-out images ({}) than the real images used here",
                        path.display(),
                        loaded.info.dataset
                    );
                }
                loaded
            }
            None => builtin_for(heldout_fingerprint, dir, device)?,
        };
        Self::new(loaded, &heldout.pixels_f32(), device)
    }

    /// Returns the classifier's name and metadata.
    pub fn classifier(&self) -> &LoadedClassifier {
        &self.loaded
    }

    /// Number of real images.
    pub fn real_count(&self) -> usize {
        self.real.len()
    }

    /// Returns the Fréchet distance between the features of `images` (`[n, 784]`, pixels in
    /// [0, 1], n ≥ 2) and the real ones. Only this distance is computed, so it suits
    /// measurements during training.
    ///
    /// # Errors
    ///
    /// Returns the errors of [`extract_features`], [`QualityError::TooFewImages`] for fewer
    /// than 2 images, and the errors of the eigen-decomposition.
    pub fn quick_fid(&self, images: &[f32]) -> Result<f64, QualityError> {
        let generated = self.features(images, "generated images")?;
        self.fid_of(&generated, "generated images")
    }

    /// Measures `images` (`[n, 784]`, pixels in [0, 1], n ≥ 4): Fréchet distance, class
    /// coverage, precision and recall.
    ///
    /// # Errors
    ///
    /// As [`QualityReference::quick_fid`], and [`QualityError::TooFewImages`] for fewer than
    /// 4 images.
    pub fn evaluate(&self, images: &[f32]) -> Result<QualityReport, QualityError> {
        let what = "generated images";
        let generated = self.features(images, what)?;
        let fid = self.fid_of(&generated, what)?;
        let generated_manifold = Manifold::new(&generated.features, FEATURE_DIM, NEIGHBOURS, what)?;
        let measured = precision_recall(self.real_manifold()?, &generated_manifold);
        Ok(QualityReport {
            image_count: generated.len(),
            fid,
            coverage: Coverage::from_classes(&generated.classes, CLASS_COUNT),
            precision: measured.precision,
            recall: measured.recall,
        })
    }

    /// Returns the Fréchet distance between two disjoint halves of the real images: the
    /// FID of a perfect generator measured with half as many images on each side.
    ///
    /// FID is biased upwards for small sets, so a measurement with all the real images and
    /// as many generated ones can score below this floor: on the embedded digits, 2,000
    /// real training digits score 5.8 against a floor of 9.6.
    ///
    /// # Errors
    ///
    /// Returns [`QualityError::TooFewImages`] for fewer than 4 real images.
    pub fn fid_floor(&self) -> Result<f64, QualityError> {
        let half = self.real.len() / 2;
        let first = self.real.rows(0..half);
        let second = self.real.rows(half..2 * half);
        let first_stats = GaussianStats::from_rows(
            &first.features,
            FEATURE_DIM,
            "first half of the real images",
        )?;
        let second_stats = GaussianStats::from_rows(
            &second.features,
            FEATURE_DIM,
            "second half of the real images",
        )?;
        frechet_distance(&first_stats, &second_stats)
    }

    /// Returns the Fréchet distance of `count` images of uniform noise in [0, 1], drawn from a
    /// ChaCha8 stream seeded with `seed`: the FID of a generator that learned nothing.
    ///
    /// # Errors
    ///
    /// As [`QualityReference::quick_fid`].
    pub fn fid_ceiling(&self, count: usize, seed: u64) -> Result<f64, QualityError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise: Vec<f32> = (0..count * IMAGE_SIZE)
            .map(|_| rng.random_range(0.0..=1.0))
            .collect();
        self.quick_fid(&noise)
    }

    fn real_manifold(&self) -> Result<&Manifold, QualityError> {
        if let Some(manifold) = self.real_manifold.get() {
            return Ok(manifold);
        }
        let manifold = manifold_of(&self.real, "real images")?;
        Ok(self.real_manifold.get_or_init(|| manifold))
    }

    fn features(&self, images: &[f32], what: &str) -> Result<FeatureSet, QualityError> {
        extract_features(&self.loaded.classifier, images, what, &self.device)
    }

    fn fid_of(&self, generated: &FeatureSet, what: &str) -> Result<f64, QualityError> {
        let stats = GaussianStats::from_rows(&generated.features, FEATURE_DIM, what)?;
        frechet_distance_with_sqrt(&self.real_stats, &self.real_covariance_sqrt, &stats)
    }
}

/// Builds the k-NN manifold of the first [`MAX_MANIFOLD_IMAGES`] images of `set`.
fn manifold_of(set: &FeatureSet, what: &str) -> Result<Manifold, QualityError> {
    let count = set.len().min(MAX_MANIFOLD_IMAGES);
    Manifold::new(
        &set.features[..count * FEATURE_DIM],
        FEATURE_DIM,
        NEIGHBOURS,
        what,
    )
}

/// Returns the built-in classifier judged on held-out images with `heldout_fingerprint`.
fn builtin_for(
    heldout_fingerprint: u32,
    dir: Option<&Path>,
    device: &Device,
) -> Result<LoadedClassifier, QualityError> {
    for builtin in BuiltinClassifier::ALL {
        let loaded = builtin.load(device)?;
        if loaded.info.reference_crc32 == heldout_fingerprint {
            return Ok(loaded);
        }
    }
    Err(QualityError::NoClassifierForData {
        dir: dir.map_or_else(|| "the embedded digits".into(), Path::to_path_buf),
    })
}

/// Returns the real images of a training run's data, as the reference uses them.
///
/// # Errors
///
/// Returns the errors of reading the images.
pub fn heldout_for(data: &DataSource) -> Result<Dataset, QualityError> {
    match data {
        DataSource::Embedded => Ok(embedded_heldout()?),
        DataSource::Dir(dir) => dir_heldout(dir),
    }
}
