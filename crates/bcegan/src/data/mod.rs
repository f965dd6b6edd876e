//! Datasets: the MNIST file format (IDX), the embedded digits and seeded batches.

mod dataset;
pub mod embedded;
mod error;
pub mod idx;

pub use dataset::{BatchSampler, CLASS_COUNT, Dataset};
pub use error::DataError;
pub use idx::{
    IMAGES_MAGIC, IdxImages, LABELS_MAGIC, parse_images, parse_labels, read_images, read_labels,
};
