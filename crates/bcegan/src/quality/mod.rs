//! Measured quality of generated images: a small classifier of our own defines a feature
//! space, and generated images are compared with held-out real ones in it (Fréchet distance,
//! class coverage, k-NN precision and recall).
//!
//! Build a [`QualityReference`] once per dataset, then call
//! [`QualityReference::quick_fid`] during training or [`QualityReference::evaluate`] for
//! every metric.

mod classifier_file;
mod coverage;
mod error;
mod features;
mod frechet;
mod network;
mod precision_recall;
mod reference;
mod reference_data;
mod report;
mod stats;
mod training;

pub use classifier_file::{
    BuiltinClassifier, ClassifierInfo, LoadedClassifier, load_classifier, save_classifier,
};
pub use coverage::Coverage;
pub use error::QualityError;
pub use features::{FeatureSet, check_images, extract_features};
pub use frechet::{frechet_distance, frechet_distance_with_sqrt, symmetric_sqrt};
pub use network::{CLASS_COUNT, Classifier, ClassifierOutput, FEATURE_DIM};
pub use precision_recall::{Manifold, NEIGHBOURS, PrecisionRecall, precision_recall};
pub use reference::{MAX_MANIFOLD_IMAGES, QualityReference, heldout_for};
pub use reference_data::{
    EMBEDDED_HELDOUT_COUNT, LabelledSplit, dir_heldout, dir_split, embedded_heldout,
    embedded_split, fingerprint,
};
pub use report::QualityReport;
pub use stats::GaussianStats;
pub use training::{ClassifierTraining, EpochReport, accuracy, train_classifier};
