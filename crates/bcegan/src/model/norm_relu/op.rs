//! The backend operation behind [`super`]: BatchNorm in training mode followed by
//! ReLU as one autodiff node, computed by the host kernels on the flex backend.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::Shape;

use crate::flex_host::{self, tensor};

use super::kernel::{self, BatchStats, NormReluGrads};
use super::spatial::{self, Layout};

/// BatchNorm with batch statistics, then ReLU, on `[batch, channels, spatial…]` inputs of
/// rank 2 or more.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait NormReluBackend: Backend {
    /// Returns the output (the input's shape), the batch mean `[channels]` and the biased
    /// batch variance `[channels]`. On an autodiff backend the output is differentiable in
    /// `input`, `gamma` and `beta`; the statistics are not.
    fn norm_relu_train(
        input: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// Returns the gradients of `input`, `gamma` and `beta` for the gradient `upstream` of
    /// the output, given what the forward pass took and returned.
    #[allow(clippy::too_many_arguments)]
    fn norm_relu_train_backward(
        input: FloatTensor<Self>,
        output: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        upstream: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Returns a flex tensor's `f32` elements in row-major order; the checks before the fused
/// path make every tensor here `f32`.
fn values(tensor: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    flex_host::values(tensor).unwrap_or_default()
}

/// Reads `shape` as `[images, channels, positions]`, the dimensions after the second
/// flattened into positions (1 for a 2-D shape).
fn layout(shape: &Shape) -> Layout {
    Layout {
        images: shape.first().copied().unwrap_or(0),
        channels: shape.get(1).copied().unwrap_or(0),
        positions: shape.iter().skip(2).product(),
    }
}

impl NormReluBackend for Flex {
    fn norm_relu_train(
        input: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let shape = input.shape();
        let layout = layout(&shape);
        let channels = layout.channels;
        let (input, gamma, beta) = (values(&input), values(&gamma), values(&beta));
        // One position per channel keeps the kernels that vectorize across channels.
        let (output, stats) = if layout.positions == 1 {
            kernel::forward(&input, channels, (&gamma, &beta), epsilon)
        } else {
            spatial::forward(&input, layout, (&gamma, &beta), epsilon)
        };
        (
            tensor(output, shape),
            tensor(stats.mean, Shape::new([channels])),
            tensor(stats.variance, Shape::new([channels])),
        )
    }

    fn norm_relu_train_backward(
        input: FloatTensor<Self>,
        output: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        upstream: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let shape = input.shape();
        let layout = layout(&shape);
        let channels = layout.channels;
        let stats = BatchStats {
            mean: values(&mean).into_owned(),
            variance: values(&variance).into_owned(),
        };
        let tensors = (&*values(&input), &*values(&output), &*values(&upstream));
        let gamma = values(&gamma);
        let grads: NormReluGrads = if layout.positions == 1 {
            kernel::backward(tensors, channels, &gamma, &stats, epsilon)
        } else {
            spatial::backward(tensors, layout, &gamma, &stats, epsilon)
        };
        (
            tensor(grads.input, shape),
            tensor(grads.gamma, Shape::new([channels])),
            tensor(grads.beta, Shape::new([channels])),
        )
    }
}

/// Backward step of [`NormReluBackend::norm_relu_train`]. Its state is the input, the
/// output, γ, the batch statistics and ε.
#[derive(Debug)]
struct NormReluBackward;

type NormReluState<B> = (
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    f64,
);

impl<B: NormReluBackend> Backward<B, 3> for NormReluBackward {
    type State = NormReluState<B>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [input_node, gamma_node, beta_node] = ops.parents;
        let upstream = grads.consume::<B>(&ops.node);
        let (input, output, gamma, mean, variance, epsilon) = ops.state;
        let (input_grad, gamma_grad, beta_grad) =
            B::norm_relu_train_backward(input, output, gamma, mean, variance, epsilon, upstream);
        for (node, grad) in [
            (input_node, input_grad),
            (gamma_node, gamma_grad),
            (beta_node, beta_grad),
        ] {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B: NormReluBackend, C: CheckpointStrategy> NormReluBackend for Autodiff<B, C> {
    fn norm_relu_train(
        input: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let prepared = NormReluBackward
            .prepare::<C>([input.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        let (output, mean, variance) = B::norm_relu_train(
            input.primitive().clone(),
            gamma.primitive().clone(),
            beta.into_primitive(),
            epsilon,
        );
        let output = match prepared {
            OpsKind::Tracked(prep) => {
                let state = (
                    input.into_primitive(),
                    output.clone(),
                    gamma.into_primitive(),
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                );
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        };
        (
            output,
            <FloatTensor<Self>>::new(mean),
            <FloatTensor<Self>>::new(variance),
        )
    }

    fn norm_relu_train_backward(
        input: FloatTensor<Self>,
        output: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        upstream: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        // The gradients come out as constants: a second derivative is not tracked.
        let (input_grad, gamma_grad, beta_grad) = B::norm_relu_train_backward(
            input.into_primitive(),
            output.into_primitive(),
            gamma.into_primitive(),
            mean.into_primitive(),
            variance.into_primitive(),
            epsilon,
            upstream.into_primitive(),
        );
        (
            <FloatTensor<Self>>::new(input_grad),
            <FloatTensor<Self>>::new(gamma_grad),
            <FloatTensor<Self>>::new(beta_grad),
        )
    }
}
