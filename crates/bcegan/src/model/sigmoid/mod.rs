//! The logistic sigmoid at the end of the MLP generator, as one autodiff operation that keeps
//! its output for the backward pass.
//!
//! burn 0.22.1's autodiff sigmoid saves its input and computes the sigmoid again in the
//! backward pass, one element at a time on one thread. The fused operation computes it once,
//! split across the rayon pool, and its backward pass reads the saved output. Both use the
//! same formulas as burn's flex backend, so the results are bit-identical.

#[cfg(feature = "flex")]
mod kernel;
#[cfg(feature = "flex")]
mod op;
#[cfg(all(test, feature = "flex"))]
mod tests;

use burn::tensor::activation::sigmoid as composed_sigmoid;
use burn::tensor::{DType, Tensor};

/// Applies the logistic sigmoid `1 / (1 + e^(−x))` element-wise.
///
/// F32 tensors on the flex device, with or without autodiff, take the fused path. Other
/// dtypes and devices run `burn::tensor::activation::sigmoid`.
pub fn sigmoid<const D: usize>(tensor: Tensor<D>) -> Tensor<D> {
    if tensor.dtype() != DType::F32 || !crate::device::is_flex(&tensor.device()) {
        return composed_sigmoid(tensor);
    }
    fused_sigmoid(tensor)
}

#[cfg(feature = "flex")]
fn fused_sigmoid<const D: usize>(tensor: Tensor<D>) -> Tensor<D> {
    use burn::backend::Dispatch;
    use op::SigmoidBackend;

    Tensor::from_dispatch(<Dispatch as SigmoidBackend>::sigmoid_fused(
        tensor.into_dispatch(),
    ))
}

/// Without the flex backend, `is_flex` is false, so [`sigmoid`] never reaches this.
#[cfg(not(feature = "flex"))]
fn fused_sigmoid<const D: usize>(tensor: Tensor<D>) -> Tensor<D> {
    composed_sigmoid(tensor)
}
