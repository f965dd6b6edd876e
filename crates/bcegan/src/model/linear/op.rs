//! The backend extension behind the fused Linear operation: the host kernels on the flex
//! backend, and on autodiff one backward step that computes only the tracked parents'
//! gradients.

use std::borrow::Cow;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::{DType, Shape, TensorData};

use crate::flex_host::{self, tensor};

use super::kernel::{self, MatrixView};

/// `input · weight + bias` for `input` `[rows, d_input]`, `weight` `[d_input, d_output]` and
/// `bias` `[d_output]`, with its three gradients.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait LinearBackend: Backend {
    /// Returns `input · weight + bias`, `[rows, d_output]`. On an autodiff backend the
    /// result is differentiable in all three arguments.
    fn linear_fused(
        input: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// Returns the input gradient `upstream · weightᵀ`, `[rows, d_input]`.
    fn linear_fused_input_grad(
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// Returns the weight gradient `inputᵀ · upstream`, `[d_input, d_output]`.
    fn linear_fused_weight_grad(
        input: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// Returns the bias gradient: the sum of `upstream`'s rows, `[d_output]`.
    fn linear_fused_bias_grad(upstream: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Returns a 2-D `f32` flex tensor's elements in row-major order, copied only when the tensor
/// is not already laid out that way, with its rows and columns. `None` for other dtypes and
/// ranks.
fn matrix(tensor: &FlexTensor) -> Option<(Cow<'_, [f32]>, usize, usize)> {
    let shape = tensor.shape();
    if tensor.dtype() != DType::F32 || shape.num_dims() != 2 {
        return None;
    }
    Some((flex_host::values(tensor)?, shape[0], shape[1]))
}

/// Returns a 1-D `f32` flex tensor's elements, copied only when they are not contiguous.
fn vector(tensor: &FlexTensor) -> Option<Cow<'_, [f32]>> {
    if tensor.dtype() != DType::F32 || tensor.shape().num_dims() != 1 {
        return None;
    }
    flex_host::values(tensor)
}

/// Runs the fused forward pass, or returns `None` when the dtypes or shapes do not fit it.
fn fused_forward(input: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> Option<FlexTensor> {
    let (input, rows, d_input) = matrix(input)?;
    let (weight, weight_rows, d_output) = matrix(weight)?;
    let bias = vector(bias)?;
    if weight_rows != d_input || bias.len() != d_output {
        return None;
    }
    let mut output = kernel::matmul(
        MatrixView::row_major(&input, rows, d_input),
        MatrixView::row_major(&weight, d_input, d_output),
    )?;
    kernel::add_bias(&mut output, &bias);
    Some(tensor(output, [rows, d_output]))
}

/// Runs `lhs · rhs` with the kernels, where `lhs` and `rhs` are row-major matrices that the
/// flags transpose; `None` when the dtypes or shapes do not fit.
fn fused_product(
    (lhs, transpose_lhs): (&FlexTensor, bool),
    (rhs, transpose_rhs): (&FlexTensor, bool),
) -> Option<FlexTensor> {
    let (lhs, lhs_rows, lhs_cols) = matrix(lhs)?;
    let (rhs, rhs_rows, rhs_cols) = matrix(rhs)?;
    let view = |values, rows, cols, transpose| {
        let view = MatrixView::row_major(values, rows, cols);
        if transpose { view.transposed() } else { view }
    };
    let lhs = view(&lhs, lhs_rows, lhs_cols, transpose_lhs);
    let rhs = view(&rhs, rhs_rows, rhs_cols, transpose_rhs);
    let shape = [lhs.rows, rhs.cols];
    Some(tensor(kernel::matmul(lhs, rhs)?, shape))
}

/// Runs `upstream · weightᵀ` with the kernels, or returns `None` when the dtypes or shapes do
/// not fit.
fn input_grad_product(upstream: &FlexTensor, weight: &FlexTensor) -> Option<FlexTensor> {
    let (upstream, rows, d_output) = matrix(upstream)?;
    let (weight, d_input, weight_cols) = matrix(weight)?;
    if weight_cols != d_output {
        return None;
    }
    let product = kernel::input_grad(
        MatrixView::row_major(&upstream, rows, d_output),
        MatrixView::row_major(&weight, d_input, d_output),
    )?;
    Some(tensor(product, [rows, d_input]))
}

impl LinearBackend for Flex {
    fn linear_fused(
        input: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        if let Some(output) = fused_forward(&input, &weight, &bias) {
            return output;
        }
        // burn's own operations, with burn's checks, for what the kernels do not take.
        let d_output = bias.shape().num_elements();
        let bias = Self::float_reshape(bias, Shape::new([1, d_output]));
        Self::float_add(Self::float_matmul(input, weight), bias)
    }

    fn linear_fused_input_grad(
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // The product of burn's autodiff Linear, upstream · weightᵀ (`kernel::input_grad`).
        input_grad_product(&upstream, &weight)
            .unwrap_or_else(|| Self::float_matmul(upstream, Self::float_swap_dims(weight, 0, 1)))
    }

    fn linear_fused_weight_grad(
        input: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        fused_product((&input, true), (&upstream, false))
            .unwrap_or_else(|| Self::float_matmul(Self::float_swap_dims(input, 0, 1), upstream))
    }

    fn linear_fused_bias_grad(upstream: FloatTensor<Self>) -> FloatTensor<Self> {
        if let Some((values, _, cols)) = matrix(&upstream) {
            let sums = kernel::column_sums(&values, cols);
            return FlexTensor::from_data(TensorData::new(sums, [cols]));
        }
        let shape = upstream.shape();
        let cols = shape[shape.num_dims() - 1];
        let sums = Self::float_sum_dim(upstream, 0);
        Self::float_reshape(sums, Shape::new([cols]))
    }
}

/// Backward step of [`LinearBackend::linear_fused`]. Its state is the input, kept only when
/// the weight is tracked, and the weight, kept only when the input is tracked: each is needed
/// only for the other's gradient.
#[derive(Debug)]
struct LinearBackward;

impl<B: LinearBackend> Backward<B, 3> for LinearBackward {
    type State = (Option<FloatTensor<B>>, Option<FloatTensor<B>>);

    /// The gradients do not depend on each other, so they run as concurrent rayon tasks:
    /// while gemm packs the weight for the input gradient on one thread, the weight
    /// gradient's product uses the others. No value depends on the thread that computes it.
    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [input_node, weight_node, bias_node] = ops.parents;
        let upstream = grads.consume::<B>(&ops.node);
        let (input, weight) = ops.state;
        let input_job = input_node.zip(weight);
        let weight_job = weight_node.zip(input);
        let (input_grad, (weight_grad, bias_grad)) = rayon::join(
            || {
                input_job.map(|(node, weight)| {
                    (node, B::linear_fused_input_grad(weight, upstream.clone()))
                })
            },
            || {
                let weight_grad = weight_job.map(|(node, input)| {
                    (node, B::linear_fused_weight_grad(input, upstream.clone()))
                });
                let bias_grad =
                    bias_node.map(|node| (node, B::linear_fused_bias_grad(upstream.clone())));
                (weight_grad, bias_grad)
            },
        );
        for (node, grad) in [input_grad, weight_grad, bias_grad].into_iter().flatten() {
            grads.register::<B>(node.id, grad);
        }
    }
}

impl<B: LinearBackend, C: CheckpointStrategy> LinearBackend for Autodiff<B, C> {
    fn linear_fused(
        input: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let input_tracked = input.is_tracked();
        let weight_tracked = weight.is_tracked();
        let prepared = LinearBackward
            .prepare::<C>([input.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful();
        let output = B::linear_fused(
            input.primitive().clone(),
            weight.primitive().clone(),
            bias.into_primitive(),
        );
        match prepared {
            OpsKind::Tracked(prep) => {
                let state = (
                    weight_tracked.then(|| input.into_primitive()),
                    input_tracked.then(|| weight.into_primitive()),
                );
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    // The gradients come out as constants: a second derivative is not tracked.

    fn linear_fused_input_grad(
        weight: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        <FloatTensor<Self>>::new(B::linear_fused_input_grad(
            weight.into_primitive(),
            upstream.into_primitive(),
        ))
    }

    fn linear_fused_weight_grad(
        input: FloatTensor<Self>,
        upstream: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        <FloatTensor<Self>>::new(B::linear_fused_weight_grad(
            input.into_primitive(),
            upstream.into_primitive(),
        ))
    }

    fn linear_fused_bias_grad(upstream: FloatTensor<Self>) -> FloatTensor<Self> {
        <FloatTensor<Self>>::new(B::linear_fused_bias_grad(upstream.into_primitive()))
    }
}
