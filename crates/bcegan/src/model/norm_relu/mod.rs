//! BatchNorm followed by ReLU for the generators' blocks (the MLP's `[batch, features]` and
//! the DCGAN's `[batch, channels, height, width]`), as one fused operation while training.
//!
//! burn's BatchNorm trains through about fifteen tensor passes (transposed copies for the
//! statistics, the normalization, the backward formula), each on one thread, and the ReLU
//! adds a comparison and a masked fill each way. The fused operation makes two passes for
//! the statistics and one for the output, and the same for the gradients, over all cores.
//! It keeps burn's BatchNorm module, with its parameters, running statistics and checkpoint
//! names, and updates the running statistics the way burn does.
//!
//! The batch statistics are summed in `f64` instead of burn's `f32`, so the results agree
//! with burn's to rounding, not bit for bit.

#[cfg(feature = "flex")]
mod kernel;
#[cfg(feature = "flex")]
mod op;
#[cfg(feature = "flex")]
mod spatial;
#[cfg(all(test, feature = "flex"))]
mod tests;

use burn::nn::{BatchNorm, Relu};
use burn::tensor::{DType, Tensor};

/// Applies `norm` and then ReLU to `input` (`[batch, channels, spatial…]`, of rank 2 or
/// more). The statistics of a channel run over the batch and all spatial positions.
///
/// In training mode on the flex backend with `f32` inputs, the fused operation runs. Other
/// cases (evaluation mode, other backends or dtypes, a channel count that differs from the
/// module's, an empty channel or spatial dimension) take burn's own modules.
pub(crate) fn batch_norm_relu<const D: usize>(norm: &BatchNorm, input: Tensor<D>) -> Tensor<D> {
    let device = input.device();
    let training = device.is_autodiff() && norm.training.is_enabled();
    let dims = input.dims();
    let [channels] = norm.gamma.shape().dims();
    let shape_fits =
        dims.get(1) == Some(&channels) && channels > 0 && dims.iter().skip(2).all(|&size| size > 0);
    // The kernels read all three tensors as `f32`, so a β of another dtype would reach them
    // as an empty slice and silently act as β = 0.
    let takes_fused_path = training
        && shape_fits
        && input.dtype() == DType::F32
        && norm.gamma.val().dtype() == DType::F32
        && norm.beta.val().dtype() == DType::F32
        && crate::device::is_flex(&device);
    if !takes_fused_path {
        return Relu::new().forward(norm.forward(input));
    }
    let (output, mean, variance) = fused(norm, input);
    update_running_stats(norm, mean, variance);
    output
}

/// Runs the fused operation: returns the output, the batch mean and the batch variance.
#[cfg(feature = "flex")]
fn fused<const D: usize>(norm: &BatchNorm, input: Tensor<D>) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    use burn::backend::Dispatch;
    use op::NormReluBackend;

    let (output, mean, variance) = <Dispatch as NormReluBackend>::norm_relu_train(
        input.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        norm.epsilon,
    );
    (
        Tensor::from_dispatch(output),
        Tensor::from_dispatch(mean),
        Tensor::from_dispatch(variance),
    )
}

/// Without the flex backend, `is_flex` is false, so [`batch_norm_relu`] never reaches this.
#[cfg(not(feature = "flex"))]
fn fused<const D: usize>(norm: &BatchNorm, input: Tensor<D>) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    let mean = norm.running_mean.value();
    let variance = norm.running_var.value();
    (Relu::new().forward(norm.forward(input)), mean, variance)
}

/// Moves the running statistics towards the batch's by the module's momentum, in the same
/// operations as burn's BatchNorm.
fn update_running_stats(norm: &BatchNorm, mean: Tensor<1>, variance: Tensor<1>) {
    let device = mean.device();
    let blend = |running: Tensor<1>, batch: Tensor<1>| {
        running
            .to_device(&device)
            .mul_scalar(1.0 - norm.momentum)
            .add(batch.detach().mul_scalar(norm.momentum))
            .detach()
    };
    norm.running_mean
        .update(blend(norm.running_mean.value_sync(), mean));
    norm.running_var
        .update(blend(norm.running_var.value_sync(), variance));
}
