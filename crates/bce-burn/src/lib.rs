//! Binary cross-entropy on burn tensors, with a fused backward pass on CPU backends.
//!
//! [`binary_cross_entropy_with_logits`] and [`binary_cross_entropy`] take burn 0.22 tensors of
//! any rank and return the loss as a `Tensor<1>`: shape `[1]` for [`Reduction::Mean`] and
//! [`Reduction::Sum`], and `[n]` (the per-element losses, row-major flattened) for
//! [`Reduction::None`]. Gradients flow to the logits or probs only; targets, weights and
//! `pos_weight` are constants.
//!
//! Two paths compute the same function:
//!
//! - [`fused`]: on flex devices (with or without autodiff) and F32/F64 tensors, the `bce` slice
//!   kernels compute the loss and its gradient in one pass on the host. A custom autodiff
//!   operation then returns that saved gradient, times the upstream gradient, as the backward
//!   step.
//! - [`composed`]: everywhere else (GPU backends, other dtypes), a stable composition of
//!   tensor operations that burn's autodiff differentiates.
//!
//! The top-level functions pick the fused path when [`fused::is_supported`] holds for the
//! device and the dtype is F32 or F64, and the composed path otherwise.
//!
//! # Example: a GAN discriminator step
//!
//! ```
//! use bce_burn::{BceOptions, binary_cross_entropy_with_logits};
//! use burn::tensor::{Device, Tensor};
//!
//! # fn main() -> Result<(), bce_burn::BceBurnError> {
//! let device = Device::flex().autodiff();
//! // A discriminator returns logits of shape [batch, 1].
//! let d_real = Tensor::<2>::from_floats([[2.5], [0.3]], &device).require_grad();
//! let d_fake = Tensor::<2>::from_floats([[-1.0], [0.8]], &device).require_grad();
//!
//! // Real images are labelled 1, generated ones 0; the default reduction is the mean.
//! let options = BceOptions::default();
//! let ones = Tensor::<2>::ones([2, 1], &device);
//! let zeros = Tensor::<2>::zeros([2, 1], &device);
//! let real_loss = binary_cross_entropy_with_logits(d_real.clone(), ones, &options)?;
//! let fake_loss = binary_cross_entropy_with_logits(d_fake.clone(), zeros, &options)?;
//! let d_loss = (real_loss + fake_loss).mul_scalar(0.5);
//!
//! let grads = d_loss.backward();
//! let d_real_grad = d_real.grad(&grads);
//! assert!(d_real_grad.is_some());
//! # Ok(())
//! # }
//! ```

mod error;
mod options;
mod validate;

pub mod composed;
pub mod fused;
#[cfg(feature = "flex")]
mod fused_op;

pub use error::BceBurnError;
pub use options::{BceOptions, PosWeight, ProbClamp, Reduction};

use burn::tensor::{DType, Tensor};

/// Computes binary cross-entropy on logits (before the sigmoid), stable for any logit.
///
/// Runs the [`fused`] path where it is supported and the [`composed`] path otherwise. The
/// result has shape `[1]` for `Mean` and `Sum` and `[n]` for `None`.
///
/// # Errors
///
/// Rejects targets, weights or a per-class `pos_weight` whose shape does not match, invalid
/// options, and the mean of zero elements. On the fused path it also returns the `bce` error
/// for targets outside [0, 1] and NaN.
pub fn binary_cross_entropy_with_logits<const D: usize>(
    logits: Tensor<D>,
    targets: Tensor<D>,
    options: &BceOptions<D>,
) -> Result<Tensor<1>, BceBurnError> {
    if use_fused(&logits) {
        fused::binary_cross_entropy_with_logits(logits, targets, options)
    } else {
        composed::binary_cross_entropy_with_logits(logits, targets, options)
    }
}

/// Computes binary cross-entropy on probabilities in [0, 1], with `options.clamp` keeping the
/// logs finite.
///
/// Runs the [`fused`] path where it is supported and the [`composed`] path otherwise. The
/// result has shape `[1]` for `Mean` and `Sum` and `[n]` for `None`. Prefer the logits form
/// where the model can return logits: it is exact for every input.
///
/// # Errors
///
/// As [`binary_cross_entropy_with_logits`]; the fused path also rejects probs outside [0, 1].
pub fn binary_cross_entropy<const D: usize>(
    probs: Tensor<D>,
    targets: Tensor<D>,
    options: &BceOptions<D>,
) -> Result<Tensor<1>, BceBurnError> {
    if use_fused(&probs) {
        fused::binary_cross_entropy(probs, targets, options)
    } else {
        composed::binary_cross_entropy(probs, targets, options)
    }
}

fn use_fused<const D: usize>(values: &Tensor<D>) -> bool {
    matches!(values.dtype(), DType::F32 | DType::F64) && fused::is_supported(&values.device())
}
