//! The backend extension behind the fused LeakyReLU: one kernel pass forward on the flex
//! backend, and on autodiff a backward step that runs one kernel pass instead of the
//! `mask_where`, `mul_scalar` and `add` passes of burn's composed operation.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, Backend, Flex, TensorMetadata, backend_extension, get_or_init_device_settings,
};
use burn::tensor::{DType, TensorData};

use crate::flex_host;

use super::kernel;

/// LeakyReLU with a fused forward pass and a fused backward pass.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait LeakyReluBackend: Backend {
    /// Returns `tensor · negative_slope` where `tensor < 0`, else `tensor`. On an autodiff
    /// backend the backward step calls [`leaky_relu_fused_backward`](Self::leaky_relu_fused_backward).
    fn leaky_relu_fused(tensor: FloatTensor<Self>, negative_slope: f64) -> FloatTensor<Self>;

    /// Returns the gradient with respect to `tensor` of [`leaky_relu_fused`](Self::leaky_relu_fused),
    /// given the gradient `upstream` with respect to its result (same shape as `tensor`).
    fn leaky_relu_fused_backward(
        tensor: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        negative_slope: f64,
    ) -> FloatTensor<Self>;
}

impl LeakyReluBackend for Flex {
    fn leaky_relu_fused(tensor: FloatTensor<Self>, negative_slope: f64) -> FloatTensor<Self> {
        if tensor.dtype() != DType::F32 {
            return composed_forward(tensor, negative_slope);
        }
        // burn's `float_mul_scalar` on flex rounds the f64 slope to f32 the same way.
        let slope = negative_slope as f32;

        let mut tensor = flex_host::dense(tensor);
        if let Some(values) = tensor.try_storage_mut::<f32>() {
            kernel::forward_in_place(values, slope);
            return tensor;
        }
        let values = tensor.storage::<f32>();
        let mut output = vec![0.0; values.len()];
        kernel::forward_into(values, slope, &mut output);
        FlexTensor::from_data(TensorData::new(output, tensor.shape()))
    }

    fn leaky_relu_fused_backward(
        tensor: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        negative_slope: f64,
    ) -> FloatTensor<Self> {
        if tensor.dtype() != DType::F32
            || upstream.dtype() != DType::F32
            || tensor.shape() != upstream.shape()
        {
            return composed_backward(tensor, upstream, negative_slope);
        }
        let slope = negative_slope as f32;

        let tensor = flex_host::dense(tensor);
        let values = tensor.storage::<f32>();
        // The upstream gradient is usually owned by this step alone, so its buffer can take
        // the result.
        let mut upstream = flex_host::dense(upstream);
        if let Some(grad) = upstream.try_storage_mut::<f32>() {
            kernel::backward_in_place(values, grad, slope);
            return upstream;
        }
        let mut output = vec![0.0; values.len()];
        kernel::backward_into(values, upstream.storage::<f32>(), slope, &mut output);
        FlexTensor::from_data(TensorData::new(output, tensor.shape()))
    }
}

/// Forward pass as burn 0.22.1 composes it (`ActivationOps::leaky_relu`'s default body), for
/// dtypes that the f32 kernel does not cover.
fn composed_forward(tensor: FlexTensor, negative_slope: f64) -> FlexTensor {
    let bool_dtype = get_or_init_device_settings::<Flex>(&tensor.device()).bool_dtype;
    let mask = Flex::float_lower_elem(tensor.clone(), 0f32.into(), bool_dtype);
    let scaled = Flex::float_mul_scalar(tensor.clone(), negative_slope.into());
    Flex::float_mask_where(tensor, mask, scaled)
}

/// Backward pass as burn 0.22.1's autodiff runs it for [`composed_forward`]: the upstream
/// gradient is split by the mask, the `value < 0` part is scaled, and the two parts are added.
fn composed_backward(tensor: FlexTensor, upstream: FlexTensor, negative_slope: f64) -> FlexTensor {
    let device = tensor.device();
    let bool_dtype = get_or_init_device_settings::<Flex>(&device).bool_dtype;
    let mask = Flex::float_lower_elem(tensor, 0f32.into(), bool_dtype);
    let zeros = Flex::float_zeros(upstream.shape(), &device, upstream.dtype().into());

    let direct = Flex::float_mask_where(upstream.clone(), mask.clone(), zeros.clone());
    let negative_part = Flex::float_mask_where(zeros, mask, upstream);
    let scaled = Flex::float_mul_scalar(negative_part, negative_slope.into());
    Flex::float_add(scaled, direct)
}

/// Backward step of [`LeakyReluBackend::leaky_relu_fused`]. Its state is the forward input.
#[derive(Debug)]
struct LeakyReluBackward {
    negative_slope: f64,
}

impl<B: LeakyReluBackend> Backward<B, 1> for LeakyReluBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let tensor = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |upstream| {
            B::leaky_relu_fused_backward(tensor, upstream, self.negative_slope)
        });
    }
}

impl<B: LeakyReluBackend, C: CheckpointStrategy> LeakyReluBackend for Autodiff<B, C> {
    fn leaky_relu_fused(tensor: FloatTensor<Self>, negative_slope: f64) -> FloatTensor<Self> {
        let step = LeakyReluBackward { negative_slope };
        match step
            .prepare::<C>([tensor.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                // The saved input keeps a second handle on the buffer, so the forward kernel
                // writes a new one instead of overwriting it.
                let input = tensor.into_primitive();
                let output = B::leaky_relu_fused(input.clone(), negative_slope);
                prep.finish(input, output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::leaky_relu_fused(tensor.into_primitive(), negative_slope))
            }
        }
    }

    fn leaky_relu_fused_backward(
        tensor: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
        negative_slope: f64,
    ) -> FloatTensor<Self> {
        // NOTE: the result is a constant on the graph, so no second derivative flows through
        // this step. No caller in this crate takes one.
        FloatTensor::<Self>::new(B::leaky_relu_fused_backward(
            tensor.into_primitive(),
            upstream.into_primitive(),
            negative_slope,
        ))
    }
}
