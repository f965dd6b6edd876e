//! Fréchet distance between two Gaussians, the quantity behind FID:
//! `|μ₁ − μ₂|² + tr(Σ₁) + tr(Σ₂) − 2·tr((Σ₁^½ Σ₂ Σ₁^½)^½)`.
//!
//! Both square roots come from eigen-decompositions of symmetric matrices (nalgebra's
//! `SymmetricEigen`): `Σ₁^½ = V·diag(√max(λ, 0))·Vᵀ`, and the trace term is
//! `Σ √max(λ, 0)` over the eigenvalues of the symmetric positive semi-definite
//! `Σ₁^½ Σ₂ Σ₁^½`, which has the eigenvalues of `Σ₁Σ₂`. Negative eigenvalues can only come
//! from rounding, so they are clamped to 0. This avoids the general (non-symmetric) matrix
//! square root of `Σ₁Σ₂` that SciPy's `sqrtm` computes, and its complex round-off.

use nalgebra::{DMatrix, SymmetricEigen};

use super::error::QualityError;
use super::stats::GaussianStats;

/// Largest number of sweeps the symmetric eigen-solver may take. A 128×128 covariance
/// converges in a few dozen; the limit only stops a runaway on NaN-free but extreme input.
const MAX_EIGEN_ITERATIONS: usize = 10_000;

/// Returns the Fréchet distance between the Gaussians `a` and `b`.
///
/// # Errors
///
/// Returns [`QualityError::InvalidSetting`] when their dimensions differ, and the errors of
/// [`symmetric_sqrt`] and [`frechet_distance_with_sqrt`].
pub fn frechet_distance(a: &GaussianStats, b: &GaussianStats) -> Result<f64, QualityError> {
    let a_sqrt = symmetric_sqrt(&a.covariance, "first covariance")?;
    frechet_distance_with_sqrt(a, &a_sqrt, b)
}

/// Returns the Fréchet distance between `a` and `b`, given `a_sqrt`, the square root of
/// `a`'s covariance from [`symmetric_sqrt`]. A fixed reference computes its root once.
///
/// # Errors
///
/// Returns [`QualityError::InvalidSetting`] when the dimensions differ,
/// [`QualityError::EigenNotConverged`] when the eigen-solver fails, and
/// [`QualityError::NonFinite`] for a NaN or infinite result.
pub fn frechet_distance_with_sqrt(
    a: &GaussianStats,
    a_sqrt: &DMatrix<f64>,
    b: &GaussianStats,
) -> Result<f64, QualityError> {
    let dim = a.mean.len();
    if b.mean.len() != dim || a_sqrt.nrows() != dim {
        return Err(QualityError::InvalidSetting {
            name: "feature dimension",
            value: b.mean.len().to_string(),
            expected: format!("must equal the reference's {dim}"),
        });
    }
    let mean_term = (&a.mean - &b.mean).norm_squared();
    let product = a_sqrt * &b.covariance * a_sqrt;
    // Symmetrise, so that rounding in the two products leaves the solver a symmetric matrix.
    let product = (&product + product.transpose()) * 0.5;
    let eigen = SymmetricEigen::try_new(product, f64::EPSILON, MAX_EIGEN_ITERATIONS).ok_or(
        QualityError::EigenNotConverged {
            what: "product of the covariances",
            size: dim,
        },
    )?;
    let trace_sqrt: f64 = eigen
        .eigenvalues
        .iter()
        .map(|&lambda| lambda.max(0.0).sqrt())
        .sum();
    let distance = mean_term + a.covariance.trace() + b.covariance.trace() - 2.0 * trace_sqrt;
    if !distance.is_finite() {
        return Err(QualityError::NonFinite {
            what: "the Fréchet distance".into(),
        });
    }
    // Identical inputs give a rounding residue of either sign; the distance is not negative.
    Ok(distance.max(0.0))
}

/// Returns the square root of a symmetric positive semi-definite matrix, `V·diag(√max(λ, 0))·Vᵀ`.
///
/// # Errors
///
/// Returns [`QualityError::EigenNotConverged`] when the eigen-solver fails.
pub fn symmetric_sqrt(
    matrix: &DMatrix<f64>,
    what: &'static str,
) -> Result<DMatrix<f64>, QualityError> {
    let size = matrix.nrows();
    let eigen = SymmetricEigen::try_new(matrix.clone(), f64::EPSILON, MAX_EIGEN_ITERATIONS)
        .ok_or(QualityError::EigenNotConverged { what, size })?;
    let roots = eigen.eigenvalues.map(|lambda| lambda.max(0.0).sqrt());
    let vectors = &eigen.eigenvectors;
    let scaled = vectors * DMatrix::from_diagonal(&roots);
    Ok(scaled * vectors.transpose())
}

#[cfg(test)]
mod tests {
    use nalgebra::{DMatrix, DVector};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::{GaussianStats, frechet_distance, symmetric_sqrt};

    /// Relative tolerance: the eigen-solver is accurate to a few ulps of the largest
    /// eigenvalue, and the trace term subtracts numbers of similar size.
    const TOLERANCE: f64 = 1e-9;

    fn gaussian(mean: &[f64], covariance: &[f64]) -> GaussianStats {
        let dim = mean.len();
        GaussianStats {
            mean: DVector::from_column_slice(mean),
            covariance: DMatrix::from_row_slice(dim, dim, covariance),
        }
    }

    fn distance(a: &GaussianStats, b: &GaussianStats) -> f64 {
        match frechet_distance(a, b) {
            Ok(distance) => distance,
            Err(error) => panic!("Fréchet distance of {a:?} and {b:?}: {error}"),
        }
    }

    /// Closed form for 2×2 covariances, the reference twin: for a 2×2 matrix `M` with
    /// non-negative eigenvalues, `tr(M^½) = √(tr M + 2√det M)`, and `Σ₁Σ₂` has the
    /// eigenvalues of `Σ₁^½ Σ₂ Σ₁^½`.
    fn frechet_2x2_closed_form(a: &GaussianStats, b: &GaussianStats) -> f64 {
        let product = &a.covariance * &b.covariance;
        let determinant = a.covariance.determinant() * b.covariance.determinant();
        let trace_sqrt = (product.trace() + 2.0 * determinant.sqrt()).sqrt();
        (&a.mean - &b.mean).norm_squared() + a.covariance.trace() + b.covariance.trace()
            - 2.0 * trace_sqrt
    }

    #[test]
    fn frechet_identical_gaussians_zero() {
        let a = gaussian(
            &[1.0, -2.0, 0.5],
            &[4.0, 1.0, 0.0, 1.0, 3.0, 0.5, 0.0, 0.5, 2.0],
        );
        let actual = distance(&a, &a);
        assert!(
            actual.abs() < TOLERANCE,
            "identical Gaussians: expected 0, got {actual}"
        );
    }

    #[test]
    fn frechet_diagonal_matches_closed_form() {
        // Diagonal covariances commute: d = |μ₁ − μ₂|² + Σ (√a_i − √b_i)².
        let a = gaussian(&[0.0, 0.0], &[4.0, 0.0, 0.0, 9.0]);
        let b = gaussian(&[3.0, 4.0], &[1.0, 0.0, 0.0, 16.0]);
        let expected = 25.0 + (2.0_f64 - 1.0).powi(2) + (3.0_f64 - 4.0).powi(2);
        let actual = distance(&a, &b);
        assert!(
            (actual - expected).abs() < TOLERANCE * expected,
            "diagonal covariances: expected {expected}, got {actual}"
        );
    }

    #[test]
    fn frechet_2x2_matches_closed_form() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for case in 0..20 {
            let mut random_covariance = || {
                let [p, q, r, s]: [f64; 4] = std::array::from_fn(|_| rng.random_range(-2.0..2.0));
                // L·Lᵀ with L = [[p, 0], [q, r]] plus s² on the diagonal is positive definite.
                let extra = s * s + 0.1;
                vec![p * p + extra, p * q, p * q, q * q + r * r + extra]
            };
            let a = gaussian(&[0.5, -1.0], &random_covariance());
            let b = gaussian(&[-0.25, 2.0], &random_covariance());
            let expected = frechet_2x2_closed_form(&a, &b);
            let actual = distance(&a, &b);
            assert!(
                (actual - expected).abs() < TOLERANCE * expected.max(1.0),
                "case {case}: {a:?} vs {b:?}: expected {expected}, got {actual}"
            );
        }
    }

    #[test]
    fn frechet_is_symmetric() {
        let a = gaussian(&[1.0, 0.0], &[2.0, 0.9, 0.9, 1.0]);
        let b = gaussian(&[0.0, 1.0], &[1.0, -0.3, -0.3, 3.0]);
        let forward = distance(&a, &b);
        let backward = distance(&b, &a);
        assert!(
            (forward - backward).abs() < TOLERANCE * forward,
            "d(a, b) = {forward}, d(b, a) = {backward}"
        );
    }

    #[test]
    fn symmetric_sqrt_squares_back() {
        let matrix = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 0.0, 1.0, 3.0, 0.5, 0.0, 0.5, 2.0]);
        let root = match symmetric_sqrt(&matrix, "test matrix") {
            Ok(root) => root,
            Err(error) => panic!("square root of {matrix}: {error}"),
        };
        let residual = (&root * &root - &matrix).abs().max();
        assert!(residual < TOLERANCE, "max |R·R − M| = {residual}");
    }
}
