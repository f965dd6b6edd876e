//! burn's `Linear` as one autodiff operation on the flex backend, for the MLP models.
//!
//! burn 0.22.1 runs a Linear layer as a matrix product and a broadcast bias add on one
//! thread. flex builds the product's output buffer with alignment 1 and then copies it into
//! an aligned one. Backward, burn sums the bias gradient on one thread. The fused operation calls gemm
//! with the same arguments as burn-flex, so the output and the input and weight gradients
//! are bit-identical to burn's. It adds the bias over all cores and sums the bias gradient
//! in `f64`, so that gradient agrees with burn's to `f32` rounding, not bit for bit.

#[cfg(feature = "flex")]
pub(crate) mod kernel;
#[cfg(feature = "flex")]
mod op;
#[cfg(all(test, feature = "flex"))]
mod poison_tests;
#[cfg(all(test, feature = "flex"))]
mod tests;

use burn::nn::Linear;
use burn::tensor::{DType, Tensor};

/// Applies `layer` to `input` (`[batch, d_input]`), with or without autodiff.
///
/// The fused operation runs when the input, weight and bias are `f32` on the flex device and
/// the shapes match. Other cases, including a layer without a bias, call `layer.forward`.
pub(crate) fn linear(layer: &Linear, input: Tensor<2>) -> Tensor<2> {
    let Some(bias) = &layer.bias else {
        return layer.forward(input);
    };
    let weight = layer.weight.val();
    let bias = bias.val();
    let [d_input, d_output] = weight.dims();
    let fused = input.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && bias.dtype() == DType::F32
        && input.dims()[1] == d_input
        && bias.dims() == [d_output]
        && crate::device::is_flex(&input.device())
        && crate::device::is_flex(&weight.device());
    if !fused {
        return layer.forward(input);
    }
    fused_linear(input, weight, bias)
}

#[cfg(feature = "flex")]
fn fused_linear(input: Tensor<2>, weight: Tensor<2>, bias: Tensor<1>) -> Tensor<2> {
    use burn::backend::Dispatch;
    use op::LinearBackend;

    let output = <Dispatch as LinearBackend>::linear_fused(
        input.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    );
    Tensor::from_dispatch(output)
}

/// Without the flex backend, `is_flex` is false, so [`linear`] never reaches this.
#[cfg(not(feature = "flex"))]
fn fused_linear(input: Tensor<2>, weight: Tensor<2>, bias: Tensor<1>) -> Tensor<2> {
    burn::tensor::module::linear(input, weight, Some(bias))
}
