//! The backend extension behind the fused transposed convolution: the host kernels on the
//! flex backend, and on autodiff one backward step that computes only the tracked parents'
//! gradients.

use std::borrow::Cow;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::ops::ConvTransposeOptions;
use burn::tensor::{DType, Shape, TensorData};

use crate::flex_host::{self, tensor};

use super::kernel::{self, Geometry};

/// A transposed convolution without padding, dilation or groups, with a bias, for `x`
/// `[batch, channels_in, height, width]` and `weight`
/// `[channels_in, channels_out, kernel_h, kernel_w]`, with its three gradients.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait ConvTransposeBackend: Backend {
    /// Returns the output `[batch, channels_out, (height − 1)·stride + kernel_h, …]`. On an
    /// autodiff backend the result is differentiable in all three arguments.
    fn conv_transpose2d_fused(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> FloatTensor<Self>;

    /// Returns the input gradient `[batch, channels_in, height, width]`.
    fn conv_transpose2d_fused_x_grad(
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> FloatTensor<Self>;

    /// Returns the weight gradient `[channels_in, channels_out, kernel_h, kernel_w]`.
    fn conv_transpose2d_fused_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> FloatTensor<Self>;

    /// Returns the input and weight gradients, as the two methods above do, with the output
    /// gradient gathered into columns once for both.
    fn conv_transpose2d_fused_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Returns the bias gradient: the sum of `upstream` over images and pixels,
    /// `[channels_out]`.
    fn conv_transpose2d_fused_bias_grad(upstream: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Returns burn's options for a transposed convolution with `stride` and nothing else set.
fn options(stride: [usize; 2]) -> ConvTransposeOptions<2> {
    ConvTransposeOptions::new(stride, [0, 0], [0, 0], [1, 1], 1)
}

/// Returns a 4-D `f32` flex tensor's elements in row-major order, copied only when the
/// tensor is not already laid out that way, with its dimensions. `None` for other dtypes
/// and ranks.
fn values4(tensor: &FlexTensor) -> Option<(Cow<'_, [f32]>, [usize; 4])> {
    let shape = tensor.shape();
    if tensor.dtype() != DType::F32 || shape.num_dims() != 4 {
        return None;
    }
    let dims = [shape[0], shape[1], shape[2], shape[3]];
    Some((flex_host::values(tensor)?, dims))
}

/// Returns the geometry of `x` `[n, ci, h, w]` with `weight` `[ci, co, kh, kw]`, or `None`
/// when the channels differ or a size is zero.
fn geometry(x: [usize; 4], weight: [usize; 4], stride: [usize; 2]) -> Option<Geometry> {
    let [batch, channels_in, height, width] = x;
    let [weight_in, channels_out, kernel_h, kernel_w] = weight;
    if weight_in != channels_in {
        return None;
    }
    Geometry::new(
        [batch, channels_in, channels_out],
        [height, width],
        [kernel_h, kernel_w],
        stride,
    )
}

/// Returns the input side that a transposed convolution maps to `output` with `kernel`
/// and `stride`, or `None` when no input side does.
fn input_side(output: usize, kernel: usize, stride: usize) -> Option<usize> {
    let span = output.checked_sub(kernel)?;
    (stride > 0 && span % stride == 0).then(|| span / stride + 1)
}

/// Runs the fused forward pass, or returns `None` when the dtypes or shapes do not fit it.
fn fused_forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    stride: [usize; 2],
) -> Option<FlexTensor> {
    let (x, x_dims) = values4(x)?;
    let (weight, weight_dims) = values4(weight)?;
    if bias.dtype() != DType::F32 || bias.shape().num_dims() != 1 {
        return None;
    }
    let bias = bias.to_contiguous();
    let geometry = geometry(x_dims, weight_dims, stride)?;
    let output = kernel::forward(&x, &weight, bias.as_slice::<f32>()?, &geometry)?;
    let [out_h, out_w] = geometry.output;
    Some(tensor(
        output,
        [geometry.batch, geometry.channels_out, out_h, out_w],
    ))
}

/// Computes the input gradient, or returns `None` when the dtypes or shapes do not fit it.
fn fused_x_grad(
    weight: &FlexTensor,
    upstream: &FlexTensor,
    stride: [usize; 2],
) -> Option<FlexTensor> {
    let (weight, weight_dims) = values4(weight)?;
    let (upstream, [batch, channels_out, out_h, out_w]) = values4(upstream)?;
    let [channels_in, _, kernel_h, kernel_w] = weight_dims;
    let height = input_side(out_h, kernel_h, stride[0])?;
    let width = input_side(out_w, kernel_w, stride[1])?;
    let geometry = geometry([batch, channels_in, height, width], weight_dims, stride)?;
    if geometry.channels_out != channels_out {
        return None;
    }
    let grad = kernel::input_grad(&weight, &upstream, &geometry)?;
    Some(tensor(grad, [batch, channels_in, height, width]))
}

/// Computes the weight gradient, or returns `None` when the dtypes or shapes do not fit it.
fn fused_weight_grad(
    x: &FlexTensor,
    weight: &FlexTensor,
    upstream: &FlexTensor,
    stride: [usize; 2],
) -> Option<FlexTensor> {
    let (x, x_dims) = values4(x)?;
    let weight_shape = weight.shape();
    if weight_shape.num_dims() != 4 {
        return None;
    }
    let weight_dims = [
        weight_shape[0],
        weight_shape[1],
        weight_shape[2],
        weight_shape[3],
    ];
    let (upstream, upstream_dims) = values4(upstream)?;
    let geometry = geometry(x_dims, weight_dims, stride)?;
    let [out_h, out_w] = geometry.output;
    if upstream_dims != [geometry.batch, geometry.channels_out, out_h, out_w] {
        return None;
    }
    let grad = kernel::weight_grad(&x, &upstream, &geometry)?;
    Some(tensor(grad, weight_dims))
}

/// Computes the input and weight gradients from one gather of the output gradient, or
/// returns `None` when the dtypes or shapes do not fit.
fn fused_grads(
    x: &FlexTensor,
    weight: &FlexTensor,
    upstream: &FlexTensor,
    stride: [usize; 2],
) -> Option<(FlexTensor, FlexTensor)> {
    let (x, x_dims) = values4(x)?;
    let (weight, weight_dims) = values4(weight)?;
    let (upstream, upstream_dims) = values4(upstream)?;
    let geometry = geometry(x_dims, weight_dims, stride)?;
    let [out_h, out_w] = geometry.output;
    if upstream_dims != [geometry.batch, geometry.channels_out, out_h, out_w] {
        return None;
    }
    let (x_grad, weight_grad) = kernel::grads(&x, &weight, &upstream, &geometry)?;
    Some((tensor(x_grad, x_dims), tensor(weight_grad, weight_dims)))
}

impl ConvTransposeBackend for Flex {
    fn conv_transpose2d_fused(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        if let Some(output) = fused_forward(&x, &weight, &bias, stride) {
            return output;
        }
        // burn's own operation, with burn's checks, for what the kernels do not take.
        Self::conv_transpose2d(x, weight, Some(bias), options(stride))
    }

    fn conv_transpose2d_fused_x_grad(
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        fused_x_grad(&weight, &upstream, stride)
            .unwrap_or_else(|| Self::conv_transpose2d_x_backward(weight, upstream, options(stride)))
    }

    fn conv_transpose2d_fused_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        fused_weight_grad(&x, &weight, &upstream, stride).unwrap_or_else(|| {
            Self::conv_transpose2d_weight_backward(x, weight, upstream, options(stride))
        })
    }

    fn conv_transpose2d_fused_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        if let Some(grads) = fused_grads(&x, &weight, &upstream, stride) {
            return grads;
        }
        let x_grad = Self::conv_transpose2d_fused_x_grad(weight.clone(), upstream.clone(), stride);
        let weight_grad = Self::conv_transpose2d_fused_weight_grad(x, weight, upstream, stride);
        (x_grad, weight_grad)
    }

    fn conv_transpose2d_fused_bias_grad(upstream: FloatTensor<Self>) -> FloatTensor<Self> {
        if let Some((values, [_, channels, out_h, out_w])) = values4(&upstream) {
            let sums = kernel::bias_grad(&values, channels, out_h * out_w);
            return FlexTensor::from_data(TensorData::new(sums, [channels]));
        }
        let shape = upstream.shape();
        let channels = if shape.num_dims() > 1 { shape[1] } else { 1 };
        let mut sums = upstream;
        for axis in (0..shape.num_dims()).filter(|&axis| axis != 1) {
            sums = Self::float_sum_dim(sums, axis);
        }
        Self::float_reshape(sums, Shape::new([channels]))
    }
}

/// Backward step of [`ConvTransposeBackend::conv_transpose2d_fused`]. Its state is the
/// input, kept only when the weight is tracked, the weight, and the stride.
#[derive(Debug)]
struct ConvTransposeBackward;

impl<B: ConvTransposeBackend> Backward<B, 3> for ConvTransposeBackward {
    type State = (Option<FloatTensor<B>>, FloatTensor<B>, [usize; 2]);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, weight_node, bias_node] = ops.parents;
        let upstream = grads.consume::<B>(&ops.node);
        let (x, weight, stride) = ops.state;
        match (x_node, weight_node.zip(x)) {
            (Some(x_node), Some((weight_node, x))) => {
                let (x_grad, weight_grad) =
                    B::conv_transpose2d_fused_grads(x, weight, upstream.clone(), stride);
                grads.register::<B>(x_node.id, x_grad);
                grads.register::<B>(weight_node.id, weight_grad);
            }
            (Some(x_node), None) => {
                let grad = B::conv_transpose2d_fused_x_grad(weight, upstream.clone(), stride);
                grads.register::<B>(x_node.id, grad);
            }
            (None, Some((weight_node, x))) => {
                let grad =
                    B::conv_transpose2d_fused_weight_grad(x, weight, upstream.clone(), stride);
                grads.register::<B>(weight_node.id, grad);
            }
            (None, None) => {}
        }
        if let Some(node) = bias_node {
            grads.register::<B>(node.id, B::conv_transpose2d_fused_bias_grad(upstream));
        }
    }
}

impl<B: ConvTransposeBackend, C: CheckpointStrategy> ConvTransposeBackend for Autodiff<B, C> {
    fn conv_transpose2d_fused(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        let weight_tracked = weight.is_tracked();
        let prepared = ConvTransposeBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful();
        let output = B::conv_transpose2d_fused(
            x.primitive().clone(),
            weight.primitive().clone(),
            bias.into_primitive(),
            stride,
        );
        match prepared {
            OpsKind::Tracked(prep) => {
                let state = (
                    weight_tracked.then(|| x.into_primitive()),
                    weight.into_primitive(),
                    stride,
                );
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    // The gradients come out as constants: a second derivative is not tracked.

    fn conv_transpose2d_fused_x_grad(
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        <FloatTensor<Self>>::new(B::conv_transpose2d_fused_x_grad(
            weight.into_primitive(),
            upstream.into_primitive(),
            stride,
        ))
    }

    fn conv_transpose2d_fused_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        <FloatTensor<Self>>::new(B::conv_transpose2d_fused_weight_grad(
            x.into_primitive(),
            weight.into_primitive(),
            upstream.into_primitive(),
            stride,
        ))
    }

    fn conv_transpose2d_fused_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (x_grad, weight_grad) = B::conv_transpose2d_fused_grads(
            x.into_primitive(),
            weight.into_primitive(),
            upstream.into_primitive(),
            stride,
        );
        (
            <FloatTensor<Self>>::new(x_grad),
            <FloatTensor<Self>>::new(weight_grad),
        )
    }

    fn conv_transpose2d_fused_bias_grad(upstream: FloatTensor<Self>) -> FloatTensor<Self> {
        <FloatTensor<Self>>::new(B::conv_transpose2d_fused_bias_grad(
            upstream.into_primitive(),
        ))
    }
}
