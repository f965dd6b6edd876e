//! Errors of the quality measurements: the classifier, its files and the metrics.

use std::path::PathBuf;

use crate::data::DataError;

/// Error of building a quality reference, training the classifier or measuring images.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QualityError {
    /// A set of images has a length that is not a whole number of 28×28 images.
    #[error(
        "{what}: {len} values are not a whole number of images of {image_size} pixels; pass images of 28×28 pixels, flattened or not"
    )]
    PartialImage {
        /// Source of the images, as messages name it.
        what: String,
        /// Values given.
        len: usize,
        /// Pixels per image.
        image_size: usize,
    },

    /// A pixel is NaN or outside [0, 1].
    #[error(
        "{what}: pixel {value} of image {image} at row {row}, column {col} is outside [0, 1]; scale float images to [0, 1] (uint8 images are divided by 255)"
    )]
    PixelOutOfRange {
        /// Source of the images, as messages name it.
        what: String,
        /// The pixel value.
        value: f32,
        /// Index of the image, from 0.
        image: usize,
        /// Pixel row, from 0.
        row: usize,
        /// Pixel column, from 0.
        col: usize,
    },

    /// Too few images for a metric.
    #[error("{what}: {count} images are too few; {metric} needs at least {min}")]
    TooFewImages {
        /// Source of the images, as messages name it.
        what: String,
        /// Images given.
        count: usize,
        /// The metric that needs more.
        metric: &'static str,
        /// Minimum number of images the metric accepts.
        min: usize,
    },

    /// A classifier file could not be read or is not a bcegan classifier.
    #[error("invalid classifier {name}: {problem}; {hint}")]
    InvalidClassifier {
        /// The file, or the name of a built-in classifier.
        name: String,
        /// Description of the problem.
        problem: String,
        /// Next step for the user.
        hint: &'static str,
    },

    /// A file could not be read.
    #[error("failed to read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A file could not be written or moved into place.
    #[error("failed to write {}: {source}; check that its folder exists and is writable", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The real images could not be read.
    #[error(transparent)]
    Data(#[from] DataError),

    /// No built-in classifier was trained on the folder's test images.
    #[error(
        "no built-in classifier was trained on the test images of {}; train one with `bcegan classifier train --data {} --out FILE` and pass --classifier FILE",
        dir.display(),
        dir.display()
    )]
    NoClassifierForData {
        /// The dataset folder.
        dir: PathBuf,
    },

    /// A setting is outside its valid range.
    #[error("invalid {name} {value}: {expected}")]
    InvalidSetting {
        /// Option or parameter name.
        name: &'static str,
        /// The value given.
        value: String,
        /// Description of the accepted values.
        expected: String,
    },

    /// A tensor could not be read back from the backend.
    #[error("failed to read {name} from the backend: {message}")]
    TensorRead {
        /// Name of the tensor's contents.
        name: &'static str,
        /// The backend's message.
        message: String,
    },

    /// A feature or a statistic is NaN or infinite.
    #[error("{what} is not finite; the classifier's weights or the images contain NaN or infinity")]
    NonFinite {
        /// The value that is not finite.
        what: String,
    },

    /// The eigen-decomposition of a covariance matrix did not converge.
    #[error(
        "eigen-decomposition of the {what} ({size}×{size}) did not converge; the features contain extreme values"
    )]
    EigenNotConverged {
        /// The matrix.
        what: &'static str,
        /// Rows and columns of the matrix.
        size: usize,
    },

    /// The classifier's training failed.
    #[error("classifier training failed: {0}")]
    Training(String),
}

impl QualityError {
    /// Tells whether the error is due to the caller's input (a file, an option, images)
    /// rather than to the machine.
    pub fn is_invalid_input(&self) -> bool {
        !matches!(
            self,
            Self::Write { .. } | Self::TensorRead { .. } | Self::Training(_)
        )
    }
}
