//! Class coverage: how evenly the classifier's predicted classes spread over the images.
//!
//! A generator that has collapsed onto a few modes produces images of few classes, so its
//! histogram is far from the uniform one of a balanced dataset.

use serde::Serialize;

/// Predicted-class histogram of a set of images and two summaries of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Images predicted as each class, indexed by class.
    pub histogram: Vec<usize>,
    /// Classes with at least half their uniform share of the images (`count ≥ n / (2·classes)`).
    pub classes_covered: usize,
    /// KL divergence `Σ p·ln(p·classes)` of the histogram's frequencies `p` from the uniform
    /// distribution, in nats: 0 when uniform, `ln(classes)` when all images fall in one class.
    pub kl_from_uniform: f64,
}

impl Coverage {
    /// Computes the coverage of predicted `classes`, each below `class_count`; a class at or
    /// above `class_count` is not counted.
    pub fn from_classes(classes: &[u8], class_count: usize) -> Self {
        let mut histogram = vec![0usize; class_count];
        for &class in classes {
            if let Some(count) = histogram.get_mut(usize::from(class)) {
                *count += 1;
            }
        }
        let total: usize = histogram.iter().sum();
        // count ≥ total / (2·classes), in integers.
        let classes_covered = histogram
            .iter()
            .filter(|&&count| total > 0 && 2 * class_count * count >= total)
            .count();
        let kl_from_uniform = if total == 0 {
            0.0
        } else {
            histogram
                .iter()
                .filter(|&&count| count > 0)
                .map(|&count| {
                    let p = count as f64 / total as f64;
                    p * (p * class_count as f64).ln()
                })
                .sum()
        };
        Self {
            histogram,
            classes_covered,
            kl_from_uniform,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Coverage;

    #[test]
    fn coverage_uniform_all_covered() {
        let classes: Vec<u8> = (0..100).map(|index| (index % 10) as u8).collect();
        let coverage = Coverage::from_classes(&classes, 10);
        assert_eq!(coverage.histogram, vec![10; 10], "histogram of i % 10");
        assert_eq!(coverage.classes_covered, 10, "classes covered");
        assert!(
            coverage.kl_from_uniform.abs() < 1e-12,
            "KL of a uniform histogram: expected 0, got {}",
            coverage.kl_from_uniform
        );
    }

    #[test]
    fn coverage_single_class_collapse() {
        let coverage = Coverage::from_classes(&[3; 50], 10);
        assert_eq!(coverage.classes_covered, 1, "classes covered by one class");
        let expected = 10f64.ln();
        assert!(
            (coverage.kl_from_uniform - expected).abs() < 1e-12,
            "KL of one class: expected ln 10 = {expected}, got {}",
            coverage.kl_from_uniform
        );
    }

    #[test]
    fn coverage_half_share_boundary() {
        // 40 images over 4 classes: a uniform share is 10, half of it 5.
        // Counts 5, 4, 16, 15: classes 0, 2 and 3 reach 5, class 1 does not.
        let mut classes = Vec::new();
        for (class, count) in [(0u8, 5), (1, 4), (2, 16), (3, 15)] {
            classes.extend(std::iter::repeat_n(class, count));
        }
        let coverage = Coverage::from_classes(&classes, 4);
        assert_eq!(coverage.classes_covered, 3, "counts 5, 4, 16, 15 of 40");
        // Hand-computed: Σ p ln(4p) with p = 5/40, 4/40, 16/40, 15/40.
        let expected = [5.0, 4.0, 16.0, 15.0]
            .iter()
            .map(|count: &f64| {
                let p = count / 40.0;
                p * (4.0 * p).ln()
            })
            .sum::<f64>();
        assert!(
            (coverage.kl_from_uniform - expected).abs() < 1e-12,
            "KL: expected {expected}, got {}",
            coverage.kl_from_uniform
        );
    }
}
