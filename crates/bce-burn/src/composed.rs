//! The composed path: binary cross-entropy written with burn tensor operations, which burn's
//! autodiff differentiates. It runs on every backend and dtype, and serves as the path for
//! GPU backends until they get a fused kernel, and as an independent check of the fused path.
//!
//! # Limitations
//!
//! - It cannot check target or probability ranges without reading the tensors back, so values
//!   outside [0, 1] or NaN give a garbage loss instead of an error.
//! - A logit of −∞ with a nonzero positive coefficient (or +∞ with a nonzero negative one)
//!   needs `log_sigmoid(−∞) = −∞`. flex computes that, but burn's default `log_sigmoid` (used
//!   by backends without their own) returns NaN there.

use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Device, Tensor};

use crate::validate::check_arguments;
use crate::{BceBurnError, BceOptions, PosWeight, ProbClamp, Reduction};

/// Computes binary cross-entropy on logits from tensor operations in the two-softplus form.
///
/// Per element, with smoothed targets y and positive weight p:
/// `w·[p·y·softplus(−x) + (1 − y)·softplus(x)]`, where `softplus(x) = −log_sigmoid(−x)`.
/// burn's `log_sigmoid` is stable for large |x|, and a term whose coefficient is exactly 0 is
/// set to 0, so ±∞ logits with matching targets give 0 rather than `0·∞ = NaN`.
///
/// The result has shape `[1]` for `Mean` and `Sum` and `[n]` (row-major flattened) for `None`.
///
/// # Errors
///
/// Rejects mismatched shapes, invalid options and the mean of zero elements.
pub fn binary_cross_entropy_with_logits<const D: usize>(
    logits: Tensor<D>,
    targets: Tensor<D>,
    options: &BceOptions<D>,
) -> Result<Tensor<1>, BceBurnError> {
    check_arguments(&logits, &targets, options)?;
    let coefficients = Coefficients::new(&logits, targets, options);

    let softplus_neg = log_sigmoid(logits.clone()).neg();
    let softplus_pos = log_sigmoid(logits.neg()).neg();
    let loss = coefficients.combine(softplus_neg, softplus_pos);

    Ok(finish(loss, options))
}

/// Computes binary cross-entropy on probabilities from tensor operations.
///
/// Per element: `−w·[p·y·log h + (1 − y)·log(1 − h)]`, where `ProbClamp::LogMin(m)` raises
/// each log to at least m (PyTorch) and `ProbClamp::Epsilon(e)` first clips h to [e, 1 − e]
/// (Keras). A term whose coefficient is exactly 0 is set to 0.
///
/// The result has shape `[1]` for `Mean` and `Sum` and `[n]` (row-major flattened) for `None`.
///
/// # Errors
///
/// Rejects mismatched shapes, invalid options and the mean of zero elements.
pub fn binary_cross_entropy<const D: usize>(
    probs: Tensor<D>,
    targets: Tensor<D>,
    options: &BceOptions<D>,
) -> Result<Tensor<1>, BceBurnError> {
    check_arguments(&probs, &targets, options)?;
    let coefficients = Coefficients::new(&probs, targets, options);

    let (log_probs, log_complements) = match options.clamp {
        ProbClamp::LogMin(floor) => (
            probs.clone().log().clamp_min(floor),
            probs.neg().log1p().clamp_min(floor),
        ),
        ProbClamp::Epsilon(epsilon) => {
            let clipped = probs.clamp(epsilon, 1.0 - epsilon);
            (clipped.clone().log(), clipped.neg().log1p())
        }
    };
    let loss = coefficients.combine(log_probs.neg(), log_complements.neg());

    Ok(finish(loss, options))
}

/// Coefficients of the two terms of the loss, shaped like the logits or probs.
struct Coefficients<const D: usize> {
    /// `p·y`: multiplies the positive term.
    positive: Tensor<D>,
    /// `1 − y`: multiplies the negative term.
    negative: Tensor<D>,
    /// Per-element weights, if any.
    weights: Option<Tensor<D>>,
}

impl<const D: usize> Coefficients<D> {
    /// Builds the coefficients as constants on the device and in the dtype of `values`.
    fn new(values: &Tensor<D>, targets: Tensor<D>, options: &BceOptions<D>) -> Self {
        let device = values.device();
        let dtype = values.dtype();
        let shape = values.shape();

        let epsilon = options.label_smoothing;
        let targets = constant(targets, &device)
            .cast(dtype)
            .mul_scalar(1.0 - epsilon)
            .add_scalar(epsilon / 2.0);

        let positive = match &options.pos_weight {
            None => targets.clone(),
            Some(PosWeight::Scalar(pos_weight)) => targets.clone().mul_scalar(*pos_weight),
            Some(PosWeight::PerClass(pos_weight)) => {
                let pos_weight = constant(pos_weight.clone(), &device).cast(dtype);
                let classes = pos_weight.dims()[0];
                let mut row_shape = [1; D];
                row_shape[D - 1] = classes;
                let pos_weight: Tensor<D> = pos_weight.reshape(row_shape).expand(shape);
                targets.clone().mul(pos_weight)
            }
        };
        let negative = targets.neg().add_scalar(1.0);
        let weights = options
            .weights
            .as_ref()
            .map(|weights| constant(weights.clone(), &device).cast(dtype));

        Self {
            positive,
            negative,
            weights,
        }
    }

    /// Returns `w·(positive·on_positive + negative·on_negative)`, with each product forced to
    /// 0 where its coefficient is 0 so that an infinite factor cannot make it NaN.
    fn combine(self, on_positive: Tensor<D>, on_negative: Tensor<D>) -> Tensor<D> {
        let positive_zero = self.positive.clone().equal_elem(0.0);
        let negative_zero = self.negative.clone().equal_elem(0.0);
        let positive_term = self.positive.mul(on_positive).mask_fill(positive_zero, 0.0);
        let negative_term = self.negative.mul(on_negative).mask_fill(negative_zero, 0.0);

        let loss = positive_term.add(negative_term);
        match self.weights {
            Some(weights) => loss.mul(weights),
            None => loss,
        }
    }
}

/// Moves `tensor` to `device` as a constant: targets, weights and `pos_weight` get no gradient.
fn constant<const D: usize>(tensor: Tensor<D>, device: &Device) -> Tensor<D> {
    tensor.detach().to_device(device)
}

fn finish<const D: usize>(loss: Tensor<D>, options: &BceOptions<D>) -> Tensor<1> {
    let count = loss.shape().num_elements();
    match options.reduction {
        Reduction::Mean => loss.mean(),
        Reduction::Sum => loss.sum(),
        Reduction::None => loss.reshape([count]),
    }
}
