//! The loops shared by both forms: weight each element's cost, reduce, and
//! scale the gradient for the reduction.
//!
//! TODO: these are scalar loops that widen to `f64`; the SIMD kernels with
//! runtime CPU dispatch and fused validation are not written yet.

use crate::check::Plan;
use crate::float::Float;
use crate::options::Reduction;
use crate::sum::CompensatedSum;
use crate::{Loss, LossAndGrad};

/// Cost and gradient of one element, unweighted, as `f64`.
pub(crate) struct ElementResult {
    pub(crate) cost: f64,
    pub(crate) grad: f64,
}

/// Applies `cost(value, target, pos_weight)` to every element and reduces.
pub(crate) fn loss<T: Float>(
    values: &[T],
    targets: &[T],
    plan: &Plan<'_, T>,
    cost: impl Fn(f64, f64, f64) -> f64,
) -> Loss<T> {
    let weighted = |index: usize, value: T, target: T| {
        let weight = plan.weight(index);
        if weight == 0.0 {
            // A zero weight removes the element, even where its cost is +∞.
            return 0.0;
        }
        weight * cost(value.to_f64(), plan.target(target), plan.pos_weight(index))
    };
    let elements = values.iter().zip(targets).enumerate();

    match plan.reduction {
        Reduction::None => Loss::PerElement(
            elements
                .map(|(index, (&value, &target))| T::from_f64(weighted(index, value, target)))
                .collect(),
        ),
        Reduction::Sum | Reduction::Mean => {
            let mut sum = CompensatedSum::default();
            for (index, (&value, &target)) in elements {
                sum.add(weighted(index, value, target));
            }
            Loss::Reduced(T::from_f64(reduce(sum, plan.reduction, values.len())))
        }
    }
}

/// Applies `element(value, target, pos_weight)` to every element, reduces the
/// costs, and returns the gradient for an upstream gradient of 1.
pub(crate) fn loss_and_grad<T: Float>(
    values: &[T],
    targets: &[T],
    plan: &Plan<'_, T>,
    element: impl Fn(f64, f64, f64) -> ElementResult,
) -> LossAndGrad<T> {
    let len = values.len();
    // Mean's gradient carries its 1/n; validation rejects Mean with n = 0.
    let grad_scale = match plan.reduction {
        Reduction::Mean => 1.0 / len as f64,
        Reduction::Sum | Reduction::None => 1.0,
    };
    let mut sum = CompensatedSum::default();
    let mut per_element = Vec::new();
    if plan.reduction == Reduction::None {
        per_element.reserve_exact(len);
    }
    let mut grad = Vec::with_capacity(len);

    for (index, (&value, &target)) in values.iter().zip(targets).enumerate() {
        let weight = plan.weight(index);
        let (cost, element_grad) = if weight == 0.0 {
            (0.0, 0.0)
        } else {
            let result = element(value.to_f64(), plan.target(target), plan.pos_weight(index));
            (weight * result.cost, weight * result.grad * grad_scale)
        };
        grad.push(T::from_f64(element_grad));
        match plan.reduction {
            Reduction::None => per_element.push(T::from_f64(cost)),
            Reduction::Sum | Reduction::Mean => sum.add(cost),
        }
    }

    let loss = match plan.reduction {
        Reduction::None => Loss::PerElement(per_element),
        Reduction::Sum | Reduction::Mean => {
            Loss::Reduced(T::from_f64(reduce(sum, plan.reduction, len)))
        }
    };
    LossAndGrad { loss, grad }
}

/// Finishes a sum for `Sum` or `Mean`.
fn reduce(sum: CompensatedSum, reduction: Reduction, len: usize) -> f64 {
    match reduction {
        Reduction::Mean => sum.total() / len as f64,
        Reduction::Sum | Reduction::None => sum.total(),
    }
}
