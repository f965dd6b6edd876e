//! Argument checks shared by the fused and the composed paths, so both reject the same calls.

use bce::{BceError, Operand};
use burn::tensor::Tensor;

use crate::{BceBurnError, BceOptions, PosWeight, ProbClamp, Reduction};

/// Checks the shapes against `values` (the logits or probs) and the option ranges.
pub(crate) fn check_arguments<const D: usize>(
    values: &Tensor<D>,
    targets: &Tensor<D>,
    options: &BceOptions<D>,
) -> Result<(), BceBurnError> {
    let dims = values.dims();
    check_shape("targets", &dims, &targets.dims())?;

    if let Some(weights) = &options.weights {
        check_shape("weights", &dims, &weights.dims())?;
    }

    if let Some(PosWeight::PerClass(pos_weight)) = &options.pos_weight {
        // A rank-0 tensor cannot exist in burn, so `D >= 1` and the last dimension is defined.
        let classes = dims.last().copied().unwrap_or(1);
        check_shape("pos_weight", &[classes], &pos_weight.dims())?;
    }

    if options.reduction == Reduction::Mean && dims.iter().product::<usize>() == 0 {
        return Err(BceError::EmptyMean.into());
    }

    check_options(options)
}

fn check_shape(
    name: &'static str,
    expected: &[usize],
    actual: &[usize],
) -> Result<(), BceBurnError> {
    if expected == actual {
        return Ok(());
    }
    Err(BceBurnError::ShapeMismatch {
        name,
        expected: expected.to_vec(),
        actual: actual.to_vec(),
    })
}

/// Applies the option ranges of `bce`, with its errors, so that the composed path rejects
/// what the fused path rejects.
fn check_options<const D: usize>(options: &BceOptions<D>) -> Result<(), BceBurnError> {
    let smoothing = options.label_smoothing;
    if !(0.0..=1.0).contains(&smoothing) {
        return Err(BceError::InvalidLabelSmoothing { value: smoothing }.into());
    }

    if let Some(PosWeight::Scalar(pos_weight)) = options.pos_weight
        && !(pos_weight.is_finite() && pos_weight >= 0.0)
    {
        return Err(BceError::InvalidWeight {
            operand: Operand::PosWeight,
            index: 0,
            value: pos_weight,
        }
        .into());
    }

    match options.clamp {
        ProbClamp::LogMin(floor) if floor.is_nan() || floor > 0.0 => {
            Err(BceError::InvalidClampLogMin { value: floor }.into())
        }
        ProbClamp::Epsilon(epsilon) if !(0.0..=0.5).contains(&epsilon) => {
            Err(BceError::InvalidClampEpsilon { value: epsilon }.into())
        }
        _ => Ok(()),
    }
}
