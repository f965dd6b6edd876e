//! burn's `ConvTranspose2d` as one autodiff operation on the flex backend, for the DCGAN
//! generator.
//!
//! burn-flex 0.22.1 runs a transposed convolution as one small matrix product per image,
//! whose narrow side is the input's spatial size (1 to 169 positions in the generator). The
//! fused operation runs one product for the whole batch, forward and for each of the input
//! and weight gradients, and scatters the columns into the output image by image. Its
//! results agree with burn's to `f32` rounding, not bit for bit, because the sums run in
//! another order.

#[cfg(feature = "flex")]
mod kernel;
#[cfg(feature = "flex")]
mod op;
#[cfg(all(test, feature = "flex"))]
mod tests;

use burn::nn::conv::ConvTranspose2d;
use burn::tensor::{DType, Tensor};

/// Applies `layer` to `x` (`[batch, channels_in, height, width]`), with or without autodiff.
///
/// The fused operation runs for `f32` tensors on the flex device when the layer has a bias,
/// no padding, no output padding, dilation 1 and one group, and the shapes match the layer.
/// Every other case calls `layer.forward`.
pub(crate) fn conv_transpose2d(layer: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    let Some(bias) = &layer.bias else {
        return layer.forward(x);
    };
    let weight = layer.weight.val();
    let bias = bias.val();
    let [channels_in, channels_out, _, _] = weight.dims();
    let fused = x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && bias.dtype() == DType::F32
        && layer.padding == [0, 0]
        && layer.padding_out == [0, 0]
        && layer.dilation == [1, 1]
        && layer.groups == 1
        && layer.stride.iter().all(|&stride| stride > 0)
        && x.dims()[1] == channels_in
        && bias.dims() == [channels_out]
        && crate::device::is_flex(&x.device())
        && crate::device::is_flex(&weight.device());
    if !fused {
        return layer.forward(x);
    }
    fused_conv_transpose2d(x, weight, bias, layer.stride)
}

#[cfg(feature = "flex")]
fn fused_conv_transpose2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: [usize; 2],
) -> Tensor<4> {
    use burn::backend::Dispatch;
    use op::ConvTransposeBackend;

    let output = <Dispatch as ConvTransposeBackend>::conv_transpose2d_fused(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        stride,
    );
    Tensor::from_dispatch(output)
}

/// Without the flex backend, `is_flex` is false, so [`conv_transpose2d`] never reaches this.
#[cfg(not(feature = "flex"))]
fn fused_conv_transpose2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: [usize; 2],
) -> Tensor<4> {
    use burn::tensor::ops::ConvTransposeOptions;

    let options = ConvTransposeOptions::new(stride, [0, 0], [0, 0], [1, 1], 1);
    burn::tensor::module::conv_transpose2d(x, weight, Some(bias), options)
}
