//! The quality measurements of one set of generated images.

use serde::Serialize;

use super::coverage::Coverage;

/// Fréchet distance, class coverage, precision and recall of generated images against the
/// real images of a [`super::QualityReference`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityReport {
    /// Generated images measured.
    pub image_count: usize,
    /// Fréchet distance between the Gaussians of generated and real features (FID with the
    /// bcegan classifier's features; not comparable with Inception-based FID).
    pub fid: f64,
    /// Predicted-class histogram of the generated images and its summaries.
    pub coverage: Coverage,
    /// Share of generated images inside the real k-NN manifold (k = 3), in [0, 1].
    pub precision: f64,
    /// Share of real images inside the generated k-NN manifold (k = 3), in [0, 1].
    pub recall: f64,
}
