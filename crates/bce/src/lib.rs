//! Binary cross-entropy over slices, exact, with fused gradients.
//!
//! For probabilities `hᵢ` (or logits `xᵢ`, with `hᵢ = σ(xᵢ)`), targets
//! `yᵢ ∈ [0, 1]`, weights `wᵢ` and positive weights `pwᵢ`, element `i` costs
//!
//! ```text
//! ℓᵢ = −wᵢ·[pwᵢ·yᵢ·log hᵢ + (1 − yᵢ)·log(1 − hᵢ)]
//! ```
//!
//! and the cost of a batch of `n` is `Σ ℓᵢ / n` ([`Reduction::Mean`], the
//! default), `Σ ℓᵢ` ([`Reduction::Sum`]) or the `ℓᵢ` themselves
//! ([`Reduction::None`]). The mean divides by `n`, not by the sum of the
//! weights, as PyTorch does. With label smoothing `ε`, every `yᵢ` is first
//! replaced by `yᵢ·(1 − ε) + ε/2`.
//!
//! Two entry points, one per kind of input:
//!
//! - [`binary_cross_entropy`] takes probabilities in `[0, 1]` and keeps
//!   `log 0` finite by the [`ProbClamp`] policy (PyTorch's `−100` floor by
//!   default, or Keras's clipping to `[1e-7, 1 − 1e-7]`).
//! - [`binary_cross_entropy_with_logits`] takes raw scores and computes the
//!   same cost without ever forming `σ(x)` in a log, so it stays exact for
//!   any logit, including `±∞` (matching targets cost 0, mismatched `+∞`,
//!   never NaN). Prefer it whenever the model can output logits.
//!
//! Each has a fused form ([`binary_cross_entropy_grad`],
//! [`binary_cross_entropy_with_logits_grad`]) that also returns the gradient
//! with respect to its input for an upstream gradient of 1, and a `_into`
//! twin of each ([`binary_cross_entropy_grad_into`],
//! [`binary_cross_entropy_with_logits_grad_into`]) that writes the
//! gradient into a buffer the caller owns.
//!
//! The kernels make one pass over the inputs, vectorized for the best
//! instruction set of the CPU (AVX-512, AVX2+FMA or portable; see
//! [`dispatch`]), and spread inputs of [`PARALLEL_MIN`] elements or more
//! over the current rayon pool. Their results are bit-identical for every
//! thread count and instruction set.
//!
//! Invalid input returns a [`BceError`] naming the index and the value, and
//! nothing panics. Invalid means lengths that differ, probabilities or
//! targets outside `[0, 1]`, NaN, negative weights, or the mean of nothing.
//!
//! ```
//! use bce::{binary_cross_entropy, Loss, Options};
//!
//! // A discriminator that says 0.9 for a real image and 0.2 for a fake one.
//! let probs = [0.9_f64, 0.2];
//! let targets = [1.0, 0.0];
//! let loss = binary_cross_entropy(&probs, &targets, &Options::new())?;
//! let expected = -(0.9_f64.ln() + 0.8_f64.ln()) / 2.0;
//! let Loss::Reduced(value) = loss else { unreachable!() };
//! assert!((value - expected).abs() < 1e-15);
//! # Ok::<(), bce::BceError>(())
//! ```
//!
//! ```
//! use bce::{binary_cross_entropy_with_logits_grad, Loss, Options, Reduction};
//!
//! // Logits: a confident right answer costs almost nothing, even at +∞.
//! let logits = [30.0_f32, f32::INFINITY, 0.0];
//! let targets = [1.0, 1.0, 0.0];
//! let options = Options::new().reduction(Reduction::None);
//! let result = binary_cross_entropy_with_logits_grad(&logits, &targets, &options)?;
//! assert_eq!(result.loss, Loss::PerElement(vec![9.357623e-14, 0.0, std::f32::consts::LN_2]));
//! // d cost / d x = σ(x) − y, kept exact in the tail: −σ(−30).
//! assert_eq!(result.grad, vec![-9.357623e-14, 0.0, 0.5]);
//! # Ok::<(), bce::BceError>(())
//! ```

pub mod bench;
mod check;
mod error;
pub mod explain;
mod float;
mod kernel;
mod logits;
mod options;
mod probs;
mod reduce;
pub mod reference;
mod sum;

pub use error::{BceError, Operand};
pub use explain::{ExplainRow, Explanation, explain, explain_with_logits};
pub use float::Float;
pub use kernel::{PARALLEL_MIN, dispatch};
pub use options::{Options, PosWeight, ProbClamp, Reduction};

use check::Form;

/// The cost, reduced to one number or kept per element.
#[derive(Debug, Clone, PartialEq)]
pub enum Loss<T> {
    /// The result of [`Reduction::Mean`] or [`Reduction::Sum`].
    Reduced(T),
    /// The weighted cost of each element, for [`Reduction::None`].
    PerElement(Vec<T>),
}

impl<T: Copy> Loss<T> {
    /// Returns the reduced value, or `None` for a per-element loss.
    pub fn reduced(&self) -> Option<T> {
        match self {
            Loss::Reduced(value) => Some(*value),
            Loss::PerElement(_) => None,
        }
    }

    /// Returns the per-element costs, or `None` for a reduced loss.
    pub fn per_element(&self) -> Option<&[T]> {
        match self {
            Loss::Reduced(_) => None,
            Loss::PerElement(values) => Some(values),
        }
    }
}

/// The cost and its gradient with respect to the probabilities or logits.
#[derive(Debug, Clone, PartialEq)]
pub struct LossAndGrad<T> {
    /// The cost, as the non-fused function returns it.
    pub loss: Loss<T>,
    /// `∂(cost)/∂(input)` element by element, for an upstream gradient of 1:
    /// it includes the weights, `pos_weight`, and the `1/n` of
    /// [`Reduction::Mean`]. For [`Reduction::None`] it is the derivative of
    /// each element's own cost, so multiply it by the upstream gradient of
    /// that element.
    pub grad: Vec<T>,
}

/// Computes the binary cross-entropy of probabilities against targets.
///
/// Each log is clamped by the policy in [`Options::clamp`]. The default is PyTorch's
/// `max(log h, −100)`, so one element costs at most 100 (times its weights).
///
/// # Errors
///
/// [`BceError`] if the lengths differ, a probability or target is outside
/// `[0, 1]` or NaN, a weight or `pos_weight` is negative, infinite or NaN, an
/// option is out of range, or the input is empty with [`Reduction::Mean`].
pub fn binary_cross_entropy<T: Float>(
    probs: &[T],
    targets: &[T],
    options: &Options<'_, T>,
) -> Result<Loss<T>, BceError> {
    let plan = check::validate_options(Form::Probs, probs, targets, options)?;
    kernel::probs_loss(probs, targets, &plan)
}

/// Computes the binary cross-entropy of logits against targets, as
/// [`binary_cross_entropy`] of `σ(logits)` would without rounding.
///
/// Logits may be `±∞`. [`Options::clamp`] is ignored.
///
/// # Errors
///
/// [`BceError`] if the lengths differ, a logit is NaN, or a target is outside
/// `[0, 1]` or NaN. PyTorch does not check targets here and returns
/// meaningless values. Also if a weight or `pos_weight` is negative, infinite
/// or NaN, the label smoothing is out of range, or the input is empty with
/// [`Reduction::Mean`].
pub fn binary_cross_entropy_with_logits<T: Float>(
    logits: &[T],
    targets: &[T],
    options: &Options<'_, T>,
) -> Result<Loss<T>, BceError> {
    let plan = check::validate_options(Form::Logits, logits, targets, options)?;
    kernel::logits_loss(logits, targets, &plan)
}

/// Computes [`binary_cross_entropy`] and its gradient with respect to the
/// probabilities in one pass.
///
/// The gradient of one element is
/// `wᵢ·[(1 − yᵢ)·hᵢ − pwᵢ·yᵢ·(1 − hᵢ)] / max(hᵢ·(1 − hᵢ), 1e-12)`, which for
/// `pw = 1` is PyTorch's `(h − y)/max(h·(1 − h), 1e-12)`. It is the gradient
/// of the unclamped cost: at `h = 0, y = 1` it is about `−1e12`, not the 0
/// that the flat clamped cost would give. The floor is `1e-12` rounded to
/// `f32`, as in PyTorch. With [`ProbClamp::Epsilon`] the formula is
/// evaluated at the clipped probability.
///
/// # Errors
///
/// As [`binary_cross_entropy`].
pub fn binary_cross_entropy_grad<T: Float>(
    probs: &[T],
    targets: &[T],
    options: &Options<'_, T>,
) -> Result<LossAndGrad<T>, BceError> {
    let plan = check::validate_options(Form::Probs, probs, targets, options)?;
    let (loss, grad) = kernel::probs_loss_and_new_grad(probs, targets, &plan)?;
    Ok(LossAndGrad { loss, grad })
}

/// Computes [`binary_cross_entropy_grad`], writing the gradient into
/// `grad` instead of a new vector, so that a training loop can reuse one
/// buffer. Returns the loss. On error, the contents of `grad` are unspecified.
///
/// # Errors
///
/// [`BceError::GradLength`] if `grad` and `probs` differ in length, else
/// as [`binary_cross_entropy`].
pub fn binary_cross_entropy_grad_into<T: Float>(
    probs: &[T],
    targets: &[T],
    options: &Options<'_, T>,
    grad: &mut [T],
) -> Result<Loss<T>, BceError> {
    let plan = check::validate_options(Form::Probs, probs, targets, options)?;
    check::grad_len(Form::Probs, probs.len(), grad.len())?;
    kernel::probs_loss_and_grad(probs, targets, &plan, grad)
}

/// Computes [`binary_cross_entropy_with_logits`] and its gradient with
/// respect to the logits in one pass.
///
/// The gradient of one element is `wᵢ·[σ(xᵢ)·(1 − yᵢ + pwᵢ·yᵢ) − pwᵢ·yᵢ]`,
/// evaluated as `wᵢ·[(1 − yᵢ)·σ(xᵢ) − pwᵢ·yᵢ·σ(−xᵢ)]` so that it keeps full
/// relative precision in the tails (at `x = 30, y = 1` it is
/// `−σ(−30) = −9.357622969e-14`, which the first form rounds to a few
/// digits).
///
/// # Errors
///
/// As [`binary_cross_entropy_with_logits`].
pub fn binary_cross_entropy_with_logits_grad<T: Float>(
    logits: &[T],
    targets: &[T],
    options: &Options<'_, T>,
) -> Result<LossAndGrad<T>, BceError> {
    let plan = check::validate_options(Form::Logits, logits, targets, options)?;
    let (loss, grad) = kernel::logits_loss_and_new_grad(logits, targets, &plan)?;
    Ok(LossAndGrad { loss, grad })
}

/// Computes [`binary_cross_entropy_with_logits_grad`], writing the gradient
/// into `grad` instead of a new vector, so that a training loop can reuse
/// one buffer. Returns the loss. On error, the contents of `grad` are unspecified.
///
/// # Errors
///
/// [`BceError::GradLength`] if `grad` and `logits` differ in length, else
/// as [`binary_cross_entropy_with_logits`].
pub fn binary_cross_entropy_with_logits_grad_into<T: Float>(
    logits: &[T],
    targets: &[T],
    options: &Options<'_, T>,
    grad: &mut [T],
) -> Result<Loss<T>, BceError> {
    let plan = check::validate_options(Form::Logits, logits, targets, options)?;
    check::grad_len(Form::Logits, logits.len(), grad.len())?;
    kernel::logits_loss_and_grad(logits, targets, &plan, grad)
}
