//! Validation of inputs and options, and the resolved per-element view
//! ([`Plan`]) that the kernels read from.
//!
//! The checks run in this order: lengths, options, then the elements, where
//! the first invalid probability, logit, target or weight is reported. The
//! kernels fold the element checks into their computing pass.

use crate::error::{BceError, Operand};
use crate::float::Float;
use crate::options::{Options, PosWeight, ProbClamp, Reduction};

/// Validated inputs with the options resolved to `f64`.
pub(crate) struct Plan<'a, T> {
    pub(crate) weights: Option<&'a [T]>,
    pub(crate) pos_weight: ResolvedPosWeight<'a, T>,
    pub(crate) label_smoothing: f64,
    pub(crate) reduction: Reduction,
    pub(crate) clamp: ProbClamp,
}

/// `pos_weight` after validation; `None` in the options becomes `Scalar(1)`.
pub(crate) enum ResolvedPosWeight<'a, T> {
    Scalar(f64),
    PerClass(&'a [T]),
}

impl<T: Float> Plan<'_, T> {
    /// Returns the weight of element `index` (1 without weights).
    pub(crate) fn weight(&self, index: usize) -> f64 {
        match self.weights {
            Some(weights) => weights.get(index).map_or(1.0, |w| w.to_f64()),
            None => 1.0,
        }
    }

    /// Returns the `pos_weight` of element `index`.
    pub(crate) fn pos_weight(&self, index: usize) -> f64 {
        match self.pos_weight {
            ResolvedPosWeight::Scalar(value) => value,
            ResolvedPosWeight::PerClass(values) => {
                // Validation guarantees a non-empty slice; `get` keeps this total.
                let class = index.checked_rem(values.len()).unwrap_or(0);
                values.get(class).map_or(1.0, |v| v.to_f64())
            }
        }
    }

    /// Applies label smoothing to a target.
    pub(crate) fn target(&self, target: T) -> f64 {
        smooth_target(target.to_f64(), self.label_smoothing)
    }
}

/// Returns `y·(1−ε) + ε/2`, or `y` itself when `ε` is 0.
pub(crate) fn smooth_target(target: f64, epsilon: f64) -> f64 {
    if epsilon == 0.0 {
        target
    } else {
        target * (1.0 - epsilon) + 0.5 * epsilon
    }
}

/// Which form is being validated: it decides the range check on the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Probabilities: NaN and values outside `[0, 1]` are rejected.
    Probs,
    /// Logits: NaN is rejected, `±∞` is valid.
    Logits,
}

impl Form {
    fn operand(self) -> Operand {
        match self {
            Form::Probs => Operand::Probs,
            Form::Logits => Operand::Logits,
        }
    }
}

/// Validates `values` (probabilities or logits), `targets` and `options`,
/// element by element.
pub(crate) fn validate<'a, T: Float>(
    form: Form,
    values: &[T],
    targets: &[T],
    options: &Options<'a, T>,
) -> Result<Plan<'a, T>, BceError> {
    let plan = validate_options(form, values, targets, options)?;
    first_invalid(form, values, targets, options.weights, 0)?;
    Ok(plan)
}

/// Returns the error of the first invalid element at or after `from`, in the
/// order probability or logit, target, weight. The kernels check the
/// elements in their own pass and call this only to name the culprit.
pub(crate) fn first_invalid<T: Float>(
    form: Form,
    values: &[T],
    targets: &[T],
    weights: Option<&[T]>,
    from: usize,
) -> Result<(), BceError> {
    let elements = values.iter().zip(targets).enumerate().skip(from);
    for (index, (&value, &target)) in elements {
        check_value(form, index, value)?;
        check_target(index, target)?;
        if let Some(weight) = weights.and_then(|w| w.get(index)) {
            check_weight(Operand::Weights, index, *weight)?;
        }
    }
    Ok(())
}

/// Validates the lengths and the options; the elements are left to the
/// kernels' pass (or [`first_invalid`]).
pub(crate) fn validate_options<'a, T: Float>(
    form: Form,
    values: &[T],
    targets: &[T],
    options: &Options<'a, T>,
) -> Result<Plan<'a, T>, BceError> {
    let len = values.len();
    check_len(form, len, Operand::Targets, targets.len())?;
    if let Some(weights) = options.weights {
        check_len(form, len, Operand::Weights, weights.len())?;
    }
    let pos_weight = resolve_pos_weight(options.pos_weight, len)?;
    check_label_smoothing(options.label_smoothing)?;
    if form == Form::Probs {
        check_clamp(options.clamp)?;
    }
    if len == 0 && options.reduction == Reduction::Mean {
        return Err(BceError::EmptyMean);
    }
    Ok(Plan {
        weights: options.weights,
        pos_weight,
        label_smoothing: options.label_smoothing,
        reduction: options.reduction,
        clamp: options.clamp,
    })
}

/// Checks that a gradient buffer has one element per value.
pub(crate) fn grad_len(form: Form, len: usize, grad_len: usize) -> Result<(), BceError> {
    if len == grad_len {
        Ok(())
    } else {
        Err(BceError::GradLength {
            values: form.operand(),
            len,
            grad_len,
        })
    }
}

fn check_len(form: Form, len: usize, operand: Operand, operand_len: usize) -> Result<(), BceError> {
    if len == operand_len {
        Ok(())
    } else {
        Err(BceError::LengthMismatch {
            values: form.operand(),
            len,
            operand,
            operand_len,
        })
    }
}

fn resolve_pos_weight<'a, T: Float>(
    pos_weight: Option<PosWeight<'a, T>>,
    len: usize,
) -> Result<ResolvedPosWeight<'a, T>, BceError> {
    match pos_weight {
        None => Ok(ResolvedPosWeight::Scalar(1.0)),
        Some(PosWeight::Scalar(value)) => {
            check_weight(Operand::PosWeight, 0, value)?;
            Ok(ResolvedPosWeight::Scalar(value.to_f64()))
        }
        Some(PosWeight::PerClass(values)) => {
            let classes = values.len();
            if classes == 0 || !len.is_multiple_of(classes) {
                return Err(BceError::PosWeightClasses { classes, len });
            }
            for (index, &value) in values.iter().enumerate() {
                check_weight(Operand::PosWeight, index, value)?;
            }
            Ok(ResolvedPosWeight::PerClass(values))
        }
    }
}

fn check_label_smoothing(value: f64) -> Result<(), BceError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(BceError::InvalidLabelSmoothing { value })
    }
}

fn check_clamp(clamp: ProbClamp) -> Result<(), BceError> {
    match clamp {
        ProbClamp::LogMin(value) if value.is_nan() || value > 0.0 => {
            Err(BceError::InvalidClampLogMin { value })
        }
        ProbClamp::Epsilon(value) if !(0.0..=0.5).contains(&value) => {
            Err(BceError::InvalidClampEpsilon { value })
        }
        _ => Ok(()),
    }
}

fn check_value<T: Float>(form: Form, index: usize, value: T) -> Result<(), BceError> {
    let value = value.to_f64();
    if value.is_nan() {
        return Err(BceError::NotANumber {
            operand: form.operand(),
            index,
        });
    }
    if form == Form::Probs && !(0.0..=1.0).contains(&value) {
        return Err(BceError::ProbabilityOutOfRange { index, value });
    }
    Ok(())
}

fn check_target<T: Float>(index: usize, target: T) -> Result<(), BceError> {
    let value = target.to_f64();
    if value.is_nan() {
        Err(BceError::NotANumber {
            operand: Operand::Targets,
            index,
        })
    } else if !(0.0..=1.0).contains(&value) {
        Err(BceError::TargetOutOfRange { index, value })
    } else {
        Ok(())
    }
}

fn check_weight<T: Float>(operand: Operand, index: usize, weight: T) -> Result<(), BceError> {
    let value = weight.to_f64();
    if value.is_nan() {
        Err(BceError::NotANumber { operand, index })
    } else if value < 0.0 || value.is_infinite() {
        Err(BceError::InvalidWeight {
            operand,
            index,
            value,
        })
    } else {
        Ok(())
    }
}
