//! Mean and covariance of feature vectors, in f64.

use nalgebra::{DMatrix, DVector};

use super::error::QualityError;

/// Mean and covariance of a set of feature vectors, the Gaussian that the Fréchet distance
/// compares.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianStats {
    /// Mean vector.
    pub mean: DVector<f64>,
    /// Covariance matrix with the unbiased `1/(n−1)` normalisation, as NumPy's `np.cov`.
    pub covariance: DMatrix<f64>,
}

impl GaussianStats {
    /// Computes the mean and covariance of `count = features.len() / dim` row vectors.
    ///
    /// # Errors
    ///
    /// Returns [`QualityError::TooFewImages`] for fewer than two rows, and
    /// [`QualityError::InvalidSetting`] when `dim` is 0 or does not divide the length.
    pub fn from_rows(features: &[f64], dim: usize, what: &str) -> Result<Self, QualityError> {
        if dim == 0 || !features.len().is_multiple_of(dim) {
            return Err(QualityError::InvalidSetting {
                name: "feature dimension",
                value: dim.to_string(),
                expected: format!("must be positive and divide the {} values", features.len()),
            });
        }
        let count = features.len() / dim;
        if count < 2 {
            return Err(QualityError::TooFewImages {
                what: what.to_owned(),
                count,
                metric: "a covariance",
                min: 2,
            });
        }
        let rows = DMatrix::from_row_slice(count, dim, features);
        let mean: DVector<f64> = rows.row_mean().transpose();
        let mut centered = rows;
        for mut row in centered.row_iter_mut() {
            row -= mean.transpose();
        }
        let covariance = centered.tr_mul(&centered) / (count - 1) as f64;
        Ok(Self { mean, covariance })
    }
}

#[cfg(test)]
mod tests {
    use super::GaussianStats;

    #[test]
    fn stats_match_hand_computed() {
        // Rows (1, 2), (3, 6), (5, 4): mean (3, 4); deviations (−2, −2), (0, 2), (2, 0).
        // Covariance / 2: [[8, 4], [4, 8]] / 2 = [[4, 2], [2, 4]].
        let rows = [1.0, 2.0, 3.0, 6.0, 5.0, 4.0];
        let stats = match GaussianStats::from_rows(&rows, 2, "three rows") {
            Ok(stats) => stats,
            Err(error) => panic!("three rows of two: {error}"),
        };
        assert_eq!(stats.mean.as_slice(), &[3.0, 4.0], "mean");
        assert_eq!(
            stats.covariance.as_slice(),
            &[4.0, 2.0, 2.0, 4.0],
            "covariance (column-major)"
        );
    }

    #[test]
    fn stats_reject_single_row() {
        let result = GaussianStats::from_rows(&[1.0, 2.0], 2, "one row");
        assert!(result.is_err(), "one row of two: {result:?}");
    }
}
