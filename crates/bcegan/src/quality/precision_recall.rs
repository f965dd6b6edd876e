//! Precision and recall with k-nearest-neighbour manifolds (Kynkäänniemi et al., "Improved
//! Precision and Recall Metric for Assessing Generative Models", NeurIPS 2019).
//!
//! Each set's manifold is the union of balls around its points, each ball reaching the
//! point's k-th nearest other point of the same set. Precision is the share of generated
//! points inside the real manifold; recall is the share of real points inside the generated
//! manifold. Distances are Euclidean, computed in f64 from a Gram matrix:
//! `|a − b|² = |a|² + |b|² − 2·a·b`.

use nalgebra::DMatrix;
use rayon::prelude::*;

use super::error::QualityError;

/// Neighbours that define each ball's radius: the paper's choice.
pub const NEIGHBOURS: usize = 3;

/// Points of one set, `[count, dim]`, with each point's k-NN radius within the set.
#[derive(Debug, Clone)]
pub struct Manifold {
    points: DMatrix<f64>,
    squared_norms: Vec<f64>,
    /// Squared distance of each point to its k-th nearest other point.
    squared_radii: Vec<f64>,
}

impl Manifold {
    /// Builds the manifold of `count = rows.len() / dim` points with `k` neighbours.
    ///
    /// # Errors
    ///
    /// Returns [`QualityError::TooFewImages`] when the set has `k` points or fewer, and
    /// [`QualityError::InvalidSetting`] for `k` or `dim` of 0 or a `dim` that does not divide
    /// the length.
    pub fn new(rows: &[f64], dim: usize, k: usize, what: &str) -> Result<Self, QualityError> {
        if k == 0 {
            return Err(QualityError::InvalidSetting {
                name: "k",
                value: k.to_string(),
                expected: "must be at least 1".into(),
            });
        }
        if dim == 0 || !rows.len().is_multiple_of(dim) {
            return Err(QualityError::InvalidSetting {
                name: "feature dimension",
                value: dim.to_string(),
                expected: format!("must be positive and divide the {} values", rows.len()),
            });
        }
        let count = rows.len() / dim;
        if count <= k {
            return Err(QualityError::TooFewImages {
                what: what.to_owned(),
                count,
                metric: "precision and recall",
                min: k + 1,
            });
        }
        // Column-major `[dim, count]`: one column per point, so a point is a contiguous slice.
        let points = DMatrix::from_column_slice(dim, count, rows);
        let squared_norms: Vec<f64> = points.column_iter().map(|p| p.norm_squared()).collect();
        let gram = points.tr_mul(&points);
        let squared_radii = (0..count)
            .into_par_iter()
            .map(|index| {
                let mut distances: Vec<f64> = (0..count)
                    .filter(|&other| other != index)
                    .map(|other| {
                        squared_distance(&squared_norms, &squared_norms, &gram, index, other)
                    })
                    .collect();
                // The k-th smallest of the other points' distances.
                let (_, kth, _) = distances.select_nth_unstable_by(k - 1, f64::total_cmp);
                *kth
            })
            .collect();
        Ok(Self {
            points,
            squared_norms,
            squared_radii,
        })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.squared_norms.len()
    }

    /// Tells whether the manifold has no point; never true for a built one.
    pub fn is_empty(&self) -> bool {
        self.squared_norms.is_empty()
    }

    /// Returns the share of `other`'s points that lie in this manifold: within the radius of
    /// at least one of this set's points.
    pub fn share_inside(&self, other: &Manifold) -> f64 {
        // gram[(i, j)] = self_i · other_j.
        let gram = self.points.tr_mul(&other.points);
        let inside = (0..other.len())
            .into_par_iter()
            .filter(|&candidate| {
                (0..self.len()).any(|center| {
                    let distance = squared_distance(
                        &self.squared_norms,
                        &other.squared_norms,
                        &gram,
                        center,
                        candidate,
                    );
                    distance <= self.squared_radii[center]
                })
            })
            .count();
        inside as f64 / other.len() as f64
    }
}

/// Precision and recall of a generated set against a real one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrecisionRecall {
    /// Share of generated points inside the real manifold.
    pub precision: f64,
    /// Share of real points inside the generated manifold.
    pub recall: f64,
}

/// Returns the precision and recall of `generated` against `real`.
pub fn precision_recall(real: &Manifold, generated: &Manifold) -> PrecisionRecall {
    PrecisionRecall {
        precision: real.share_inside(generated),
        recall: generated.share_inside(real),
    }
}

/// `|a_i − b_j|²` from the norms and `gram[(i, j)] = a_i · b_j`, clamped at 0 because
/// rounding can make a tiny distance negative.
fn squared_distance(
    a_norms: &[f64],
    b_norms: &[f64],
    gram: &DMatrix<f64>,
    i: usize,
    j: usize,
) -> f64 {
    (a_norms[i] + b_norms[j] - 2.0 * gram[(i, j)]).max(0.0)
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::{Manifold, PrecisionRecall, precision_recall};

    /// Computes precision and recall the plain way, as the oracle: direct squared
    /// differences and a full sort of every distance list.
    fn reference(real: &[Vec<f64>], generated: &[Vec<f64>], k: usize) -> (f64, f64) {
        fn squared(a: &[f64], b: &[f64]) -> f64 {
            a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
        }
        fn radii(points: &[Vec<f64>], k: usize) -> Vec<f64> {
            points
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut distances: Vec<f64> = points
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, q)| squared(p, q))
                        .collect();
                    distances.sort_by(f64::total_cmp);
                    distances[k - 1]
                })
                .collect()
        }
        fn share(centers: &[Vec<f64>], radii: &[f64], candidates: &[Vec<f64>]) -> f64 {
            let inside = candidates
                .iter()
                .filter(|c| centers.iter().zip(radii).any(|(p, r)| squared(p, c) <= *r))
                .count();
            inside as f64 / candidates.len() as f64
        }
        let real_radii = radii(real, k);
        let generated_radii = radii(generated, k);
        (
            share(real, &real_radii, generated),
            share(generated, &generated_radii, real),
        )
    }

    fn manifold(points: &[Vec<f64>], k: usize) -> Manifold {
        let dim = points[0].len();
        let rows: Vec<f64> = points.concat();
        match Manifold::new(&rows, dim, k, "test points") {
            Ok(manifold) => manifold,
            Err(error) => panic!("manifold of {} points: {error}", points.len()),
        }
    }

    fn measure(real: &[Vec<f64>], generated: &[Vec<f64>], k: usize) -> PrecisionRecall {
        precision_recall(&manifold(real, k), &manifold(generated, k))
    }

    #[test]
    fn precision_recall_hand_made_points() {
        // Real: 0, 1, 2, 3 on a line; with k = 1 every radius is 1.
        // Generated: 0.5 and 2.5 (inside), 10 (outside), plus 11 so that it is not alone;
        // their radii with k = 1: 2 (to 2.5), 2, 1, 1.
        let real: Vec<Vec<f64>> = [0.0, 1.0, 2.0, 3.0].iter().map(|&x| vec![x]).collect();
        let generated: Vec<Vec<f64>> = [0.5, 2.5, 10.0, 11.0].iter().map(|&x| vec![x]).collect();
        let result = measure(&real, &generated, 1);
        // Precision: 0.5 and 2.5 of 4 points lie within 1 of a real point.
        assert_eq!(result.precision, 0.5, "precision");
        // Recall: every real point lies within 2 of 0.5 or 2.5.
        assert_eq!(result.recall, 1.0, "recall");
    }

    #[test]
    fn precision_recall_identical_sets_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let points: Vec<Vec<f64>> = (0..30)
            .map(|_| (0..4).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect();
        let result = measure(&points, &points, 3);
        assert_eq!(
            result,
            PrecisionRecall {
                precision: 1.0,
                recall: 1.0
            },
            "a set against itself"
        );
    }

    #[test]
    fn precision_recall_match_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for case in 0..5 {
            let mut cloud = |count: usize, shift: f64| -> Vec<Vec<f64>> {
                (0..count)
                    .map(|_| {
                        (0..6)
                            .map(|_| rng.random_range(-1.0..1.0) + shift)
                            .collect()
                    })
                    .collect()
            };
            let real = cloud(60, 0.0);
            let generated = cloud(50, 0.3 * case as f64);
            let (precision, recall) = reference(&real, &generated, 3);
            let result = measure(&real, &generated, 3);
            assert_eq!(result.precision, precision, "case {case}: precision");
            assert_eq!(result.recall, recall, "case {case}: recall");
        }
    }

    #[test]
    fn manifold_rejects_too_few_points() {
        let result = Manifold::new(&[0.0, 1.0, 2.0], 1, 3, "three points");
        assert!(result.is_err(), "3 points with k = 3: {result:?}");
    }
}
