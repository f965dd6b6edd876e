//! The backend extension behind the fused sigmoid: one kernel pass forward on the flex
//! backend, and on autodiff a backward step that reads the saved output.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::ops::ActivationOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::DType;

use crate::flex_host;

use super::kernel;

/// The logistic sigmoid with a saved output for its gradient.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait SigmoidBackend: Backend {
    /// Returns σ(`tensor`). On an autodiff backend the backward step calls
    /// [`sigmoid_fused_backward`](Self::sigmoid_fused_backward) with this output.
    fn sigmoid_fused(tensor: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Returns `upstream · s · (1 − s)`, the gradient with respect to the sigmoid's input,
    /// given its output `output` (`s`) and the gradient `upstream` of that output.
    fn sigmoid_fused_backward(
        output: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

impl SigmoidBackend for Flex {
    fn sigmoid_fused(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        if tensor.dtype() != DType::F32 {
            return Flex::sigmoid(tensor);
        }
        let mut output = flex_host::dense(tensor);
        kernel::forward_in_place(output.storage_mut::<f32>());
        output
    }

    fn sigmoid_fused_backward(
        output: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        if output.dtype() != DType::F32
            || upstream.dtype() != DType::F32
            || output.shape() != upstream.shape()
        {
            return Flex::sigmoid_backward(output, upstream);
        }
        let output = flex_host::dense(output);
        let mut grad = flex_host::dense(upstream);
        kernel::backward_in_place(output.storage::<f32>(), grad.storage_mut::<f32>());
        grad
    }
}

/// Backward step of [`SigmoidBackend::sigmoid_fused`]. Its state is the forward output.
#[derive(Debug)]
struct SigmoidBackward;

impl<B: SigmoidBackend> Backward<B, 1> for SigmoidBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let output = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |upstream| {
            B::sigmoid_fused_backward(output, upstream)
        });
    }
}

impl<B: SigmoidBackend, C: CheckpointStrategy> SigmoidBackend for Autodiff<B, C> {
    fn sigmoid_fused(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        match SigmoidBackward
            .prepare::<C>([tensor.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let output = B::sigmoid_fused(tensor.into_primitive());
                prep.finish(output.clone(), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::sigmoid_fused(tensor.into_primitive())),
        }
    }

    fn sigmoid_fused_backward(
        output: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // The result is a constant on the graph: no second derivative flows through it.
        FloatTensor::<Self>::new(B::sigmoid_fused_backward(
            output.into_primitive(),
            upstream.into_primitive(),
        ))
    }
}
