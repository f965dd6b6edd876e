//! LeakyReLU as one pass forward and one pass backward on the flex backend, with results
//! bit-identical to burn 0.22.1's `leaky_relu`, which composes a comparison, a scaling and a
//! `mask_where` forward and runs several more passes backward.

#[cfg(feature = "flex")]
mod kernel;
#[cfg(feature = "flex")]
mod op;

use burn::tensor::{DType, Tensor};

/// Applies LeakyReLU: `tensor · negative_slope` where `tensor < 0`, else `tensor`.
///
/// F32 tensors on the flex device, with or without autodiff, take the fused path. Every other
/// dtype or device runs `burn::tensor::activation::leaky_relu`. The fused path returns the
/// same bits as that function, in the result and in the gradient, because both multiply by
/// the slope rounded to f32 and add the gradient's two parts in the same order.
///
/// NOTE: where `tensor` also feeds other operations, burn's autodiff adds their gradients to
/// the two parts in an order that depends on the graph, so the sum may then differ in the
/// last bit. In the discriminators each LeakyReLU input has no other use.
pub fn leaky_relu<const D: usize>(tensor: Tensor<D>, negative_slope: f64) -> Tensor<D> {
    if tensor.dtype() != DType::F32 || !crate::device::is_flex(&tensor.device()) {
        return burn::tensor::activation::leaky_relu(tensor, negative_slope);
    }
    fused_leaky_relu(tensor, negative_slope)
}

#[cfg(feature = "flex")]
fn fused_leaky_relu<const D: usize>(tensor: Tensor<D>, negative_slope: f64) -> Tensor<D> {
    use burn::backend::Dispatch;
    use op::LeakyReluBackend;

    let output =
        <Dispatch as LeakyReluBackend>::leaky_relu_fused(tensor.into_dispatch(), negative_slope);
    Tensor::from_dispatch(output)
}

/// Without the flex backend, `is_flex` is false, so [`leaky_relu`] never reaches this.
#[cfg(not(feature = "flex"))]
fn fused_leaky_relu<const D: usize>(tensor: Tensor<D>, negative_slope: f64) -> Tensor<D> {
    burn::tensor::activation::leaky_relu(tensor, negative_slope)
}
