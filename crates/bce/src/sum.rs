//! Compensated summation, so that a reduced cost does not drift with the
//! number of elements.

/// Running sum with Neumaier's compensation: the error is about two roundings
/// of the result, independent of the number of terms (for terms of one sign,
/// which all costs are).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    /// Adds one term.
    pub(crate) fn add(&mut self, term: f64) {
        let sum = self.sum + term;
        // The branch picks the operand whose low-order bits were lost.
        if self.sum.abs() >= term.abs() {
            self.compensation += (self.sum - sum) + term;
        } else {
            self.compensation += (term - sum) + self.sum;
        }
        self.sum = sum;
    }

    /// Returns the compensated total. Once the plain sum is infinite the
    /// compensation is `∞ − ∞` = NaN, so the plain sum is returned instead.
    pub(crate) fn total(&self) -> f64 {
        if self.sum.is_finite() {
            self.sum + self.compensation
        } else {
            self.sum
        }
    }
}
