//! The backend extension behind the fused path: an operation whose forward result and input
//! gradient were both computed on the host by `bce`, and whose backward step only scales that
//! saved gradient by the upstream gradient.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};

/// Attaches a precomputed loss and its saved gradient to the autodiff graph.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait FusedBceBackend: Backend {
    /// Returns `loss` unchanged. On an autodiff backend the result is a graph node whose only
    /// parent is `source` (the flattened logits or probs, shape `[n]`) and whose backward step
    /// sends `grad · upstream` to it.
    ///
    /// `loss` has shape `[1]` (mean or sum) or `[n]` (no reduction), and `grad` has shape `[n]`:
    /// the derivative of `loss` (summed over its elements when reduced) with respect to
    /// `source`, for an upstream gradient of 1.
    fn fused_bce(
        source: FloatTensor<Self>,
        loss: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

impl FusedBceBackend for Flex {
    fn fused_bce(
        _source: FloatTensor<Self>,
        loss: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        loss
    }
}

/// Backward step of [`FusedBceBackend::fused_bce`]; its state is the saved gradient `[n]`.
#[derive(Debug)]
struct FusedBceBackward;

impl<B: Backend> Backward<B, 1> for FusedBceBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let saved_grad = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |upstream| {
            // A reduced loss has one upstream value for all n elements; an unreduced loss has
            // one per element, already of shape [n].
            let shape = saved_grad.shape();
            let upstream = if upstream.shape() == shape {
                upstream
            } else {
                B::float_expand(upstream, shape)
            };
            B::float_mul(saved_grad, upstream)
        });
    }
}

impl<B: Backend, C: CheckpointStrategy> FusedBceBackend for Autodiff<B, C> {
    fn fused_bce(
        source: FloatTensor<Self>,
        loss: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // `loss` and `grad` were built as constants, so only `source` is a parent.
        match FusedBceBackward
            .prepare::<C>([source.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(grad.into_primitive(), loss.into_primitive()),
            OpsKind::UnTracked(prep) => prep.finish(loss.into_primitive()),
        }
    }
}
