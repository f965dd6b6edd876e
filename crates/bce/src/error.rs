//! Errors of the cost function. Every variant that concerns one element
//! names its index and value.

use core::fmt;

/// The slice (or option) an error refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operand {
    /// The probabilities of [`binary_cross_entropy`](crate::binary_cross_entropy).
    Probs,
    /// The logits of [`binary_cross_entropy_with_logits`](crate::binary_cross_entropy_with_logits).
    Logits,
    /// The targets.
    Targets,
    /// [`Options::weights`](crate::Options::weights).
    Weights,
    /// [`Options::pos_weight`](crate::Options::pos_weight).
    PosWeight,
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Operand::Probs => "probs",
            Operand::Logits => "logits",
            Operand::Targets => "targets",
            Operand::Weights => "weights",
            Operand::PosWeight => "pos_weight",
        };
        f.write_str(name)
    }
}

/// Invalid input to the cost function. Nothing in this crate panics on
/// caller input; it returns one of these instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BceError {
    /// `targets` or `weights` has a different length from the probabilities
    /// or logits.
    #[error("{}", length_mismatch_message(*values, *len, *operand, *operand_len))]
    LengthMismatch {
        /// [`Operand::Probs`] or [`Operand::Logits`].
        values: Operand,
        /// Length of the probabilities or logits.
        len: usize,
        /// The slice whose length differs.
        operand: Operand,
        /// Its length.
        operand_len: usize,
    },

    /// A probability outside `[0, 1]`.
    #[error(
        "probability at index {index} is {value}, outside [0, 1]; pass probabilities \
         (apply the sigmoid first), or pass raw scores to binary_cross_entropy_with_logits"
    )]
    ProbabilityOutOfRange {
        /// Position in `probs`.
        index: usize,
        /// The value, widened to `f64`.
        value: f64,
    },

    /// A target outside `[0, 1]` (checked for the logits form too).
    #[error(
        "target at index {index} is {value}, outside [0, 1]; targets must be 0, 1 \
         or a soft target between them"
    )]
    TargetOutOfRange {
        /// Position in `targets`.
        index: usize,
        /// The value, widened to `f64`.
        value: f64,
    },

    /// A NaN in the probabilities, logits, targets, weights or `pos_weight`.
    /// Infinite logits are valid input.
    #[error(
        "{operand} at index {index} is NaN; find where it was produced \
         (often an overflow upstream) and remove it before computing the loss"
    )]
    NotANumber {
        /// The slice containing the NaN.
        operand: Operand,
        /// Position in that slice.
        index: usize,
    },

    /// A negative or infinite value in `weights` or `pos_weight`.
    #[error("{operand} at index {index} is {value}; weights must be finite and non-negative")]
    InvalidWeight {
        /// [`Operand::Weights`] or [`Operand::PosWeight`].
        operand: Operand,
        /// Position in that slice (0 for a scalar `pos_weight`).
        index: usize,
        /// The value, widened to `f64`.
        value: f64,
    },

    /// A per-class `pos_weight` whose class count does not divide the input
    /// length (or is 0).
    #[error(
        "pos_weight has {classes} classes but the input has {len} elements, not a multiple \
         of {classes}; per-class pos_weight needs a row-major [n, classes] layout with at \
         least one class"
    )]
    PosWeightClasses {
        /// Length of the per-class `pos_weight` slice.
        classes: usize,
        /// Length of the probabilities or logits.
        len: usize,
    },

    /// Label smoothing outside `[0, 1]` or NaN.
    #[error("label_smoothing is {value}; pass a value in [0, 1] (0 disables it)")]
    InvalidLabelSmoothing {
        /// The rejected value.
        value: f64,
    },

    /// [`ProbClamp::Epsilon`](crate::ProbClamp::Epsilon) outside `[0, 0.5]` or NaN.
    #[error("clamp epsilon is {value}; pass a value in [0, 0.5], such as 1e-7 (ProbClamp::KERAS)")]
    InvalidClampEpsilon {
        /// The rejected value.
        value: f64,
    },

    /// [`ProbClamp::LogMin`](crate::ProbClamp::LogMin) above 0 or NaN.
    #[error(
        "clamp log floor is {value}; pass a value <= 0, such as -100 (ProbClamp::PYTORCH), \
         or -inf for no clamp"
    )]
    InvalidClampLogMin {
        /// The rejected value.
        value: f64,
    },

    /// A gradient buffer whose length differs from the probabilities or
    /// logits, passed to a `_grad_into` function.
    #[error(
        "the gradient buffer has {grad_len} elements but {values} has {len}; pass a buffer \
         of exactly {len} elements"
    )]
    GradLength {
        /// [`Operand::Probs`] or [`Operand::Logits`].
        values: Operand,
        /// Length of the probabilities or logits.
        len: usize,
        /// Length of the gradient buffer.
        grad_len: usize,
    },

    /// [`Reduction::Mean`](crate::Reduction::Mean) over no elements.
    #[error(
        "the mean over an empty input is undefined; pass at least one element \
         or use Reduction::Sum"
    )]
    EmptyMean,
}

/// Builds the message of [`BceError::LengthMismatch`], with a hint when one
/// length is a multiple of the other (the usual shape mistake).
fn length_mismatch_message(
    values: Operand,
    len: usize,
    operand: Operand,
    operand_len: usize,
) -> String {
    let head = format!("{operand} has {operand_len} values but {values} has {len}");
    if len > 0 && operand_len > len && operand_len.is_multiple_of(len) {
        let ratio = operand_len / len;
        format!(
            "{head} ({ratio} per element); pass one value per element of {values}: if {values} \
             is an [n, 1] column, pass n {operand}, or give both slices the same row-major \
             [n, {ratio}] layout"
        )
    } else if operand_len > 0 && len > operand_len && len.is_multiple_of(operand_len) {
        let ratio = len / operand_len;
        format!(
            "{head} (one per {ratio} elements); pass one value per element of {values}: \
             for an [n, {ratio}] {values} pass all n*{ratio} {operand} in the same row-major order"
        )
    } else {
        format!("{head}; pass exactly one value per element of {values}")
    }
}
