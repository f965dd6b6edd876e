//! Deterministic blocked summation of the per-element costs.
//!
//! The input is cut into blocks of [`BLOCK`] elements at fixed offsets. In a
//! block, lane `j` of [`LaneSum`] adds the elements `j, j + LANES, …` in
//! order, and the lanes are then added pairwise. The block sums are added
//! pairwise in a fixed tree. Threads only decide who computes which block,
//! and every dispatch path performs the same `f64` operations, so the result
//! is bit-identical for every thread count and instruction set.
//!
//! Error: a lane adds at most `BLOCK / LANES = 256` terms and the tree has
//! `log₂(n / BLOCK)` levels, so the relative error of a sum of non-negative
//! terms is at most about `(256 + log₂ n)·2⁻⁵³`, independent of `n` beyond
//! the logarithm. A running sum grows like `n·2⁻⁵³`.

use crate::kernel::LANES;

/// Elements per block: the unit of work of one task and of the first level
/// of the summation.
pub(crate) const BLOCK: usize = 4096;

/// One `f64` accumulator per lane.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LaneSum {
    lanes: [f64; LANES],
}

impl Default for LaneSum {
    fn default() -> Self {
        Self {
            lanes: [0.0; LANES],
        }
    }
}

impl LaneSum {
    /// Adds one group of lanes: `terms` contains [`LANES`] values.
    #[inline(always)]
    pub(crate) fn add(&mut self, terms: &[f64]) {
        for (lane, term) in self.lanes.iter_mut().zip(terms) {
            *lane += *term;
        }
    }

    /// Returns the lanes added pairwise: the tree of [`pairwise`], which
    /// for a power-of-two count adds neighbours level by level, written as
    /// a loop that the compiler unrolls (the recursion cost about 40 ns a
    /// call of 1000 elements).
    #[inline(always)]
    pub(crate) fn total(&self) -> f64 {
        const { assert!(LANES.is_power_of_two()) };
        let mut level = self.lanes;
        let mut width = LANES;
        while width > 1 {
            width /= 2;
            for i in 0..width {
                level[i] = level[2 * i] + level[2 * i + 1];
            }
        }
        level[0]
    }
}

/// Adds `values` by halving, in a tree fixed by the length alone.
pub(crate) fn pairwise(values: &[f64]) -> f64 {
    match values {
        [] => 0.0,
        [only] => *only,
        _ => {
            let (left, right) = values.split_at(values.len() / 2);
            pairwise(left) + pairwise(right)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums `count` copies of `term` the way the kernels do: lanes within
    /// blocks of [`BLOCK`], then the block sums pairwise.
    fn blocked_sum_of_equal_terms(term: f64, count: usize) -> f64 {
        let group = [term; LANES];
        let mut block_sums = Vec::with_capacity(count.div_ceil(BLOCK));
        let mut remaining = count;
        while remaining > 0 {
            let in_block = remaining.min(BLOCK);
            let mut sum = LaneSum::default();
            for _ in 0..in_block / LANES {
                sum.add(&group);
            }
            let mut tail = [0.0; LANES];
            tail[..in_block % LANES].fill(term);
            sum.add(&tail);
            block_sums.push(sum.total());
            remaining -= in_block;
        }
        pairwise(&block_sums)
    }

    #[test]
    fn reduce_equal_terms_error_bounded() {
        // 10⁸ copies of 0.1: the exact sum of the f64 nearest 0.1 rounds to
        // 10⁷ exactly (0.1000000000000000055511151231257827 · 10⁸).
        let count = 100_000_000;
        let exact = 10_000_000.0;
        let blocked = blocked_sum_of_equal_terms(0.1, count);
        let naive = (0..count).fold(0.0_f64, |sum, _| sum + 0.1);
        // The bound of the module docs: (BLOCK/LANES + log₂ n)·2⁻⁵³ relative.
        let levels = (count as f64).log2().ceil();
        let bound = ((BLOCK / LANES) as f64 + levels) * exact * f64::EPSILON / 2.0;

        let blocked_error = (blocked - exact).abs();
        let naive_error = (naive - exact).abs();
        assert!(
            blocked_error <= bound,
            "blocked sum of 1e8 × 0.1: expected {exact} ± {bound:e}, got {blocked} \
             (error {blocked_error:e})"
        );
        assert!(
            naive_error > 100.0 * blocked_error,
            "running sum should drift: blocked error {blocked_error:e}, naive error {naive_error:e}"
        );
    }

    #[test]
    fn reduce_lane_total_is_pairwise() {
        // Terms of mixed magnitudes, so that a different order would round
        // differently.
        let mut sum = LaneSum::default();
        let terms: [f64; LANES] =
            core::array::from_fn(|j| 1.0 / (j as f64 + 3.0) * 10f64.powi(j as i32 % 7));
        sum.add(&terms);
        let expected = pairwise(&terms);
        let actual = sum.total();
        assert!(
            actual.to_bits() == expected.to_bits(),
            "lane total of {terms:?}: expected {expected:e} (pairwise), got {actual:e}"
        );
    }

    #[test]
    fn reduce_pairwise_small() {
        assert!(pairwise(&[]) == 0.0, "empty pairwise sum: expected 0");
        let total = pairwise(&[1.0, 2.0, 3.0]);
        assert!(
            total == 6.0,
            "pairwise of [1, 2, 3]: expected 6, got {total}"
        );
    }
}
