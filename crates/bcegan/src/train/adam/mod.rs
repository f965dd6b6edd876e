//! Adam whose update of a parameter is one pass over its four arrays.
//!
//! burn's `Adam` updates a parameter with about ten tensor operations, each a pass over the
//! whole tensor on one thread that allocates its result. [`FusedAdam`] does the same
//! arithmetic in one pass, in place where it owns the buffers, and splits large tensors
//! across the rayon pool. Each element goes through the same `f32` operations in the same
//! order as in burn's `Adam`, so both give bit-identical parameters and moments, and the
//! optimizer state is burn's own `AdamState`: checkpoints written by either load in the
//! other. Tensors the fused pass does not take (other devices, other dtypes) go to burn's
//! `Adam`.

use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{DType, Device, Tensor};

// Without the flex backend only `AdamScalars` is used: no fused pass runs.
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
mod kernel;
#[cfg(feature = "flex")]
mod op;
#[cfg(all(test, feature = "flex"))]
mod tests;

use kernel::AdamScalars;

/// Adam with burn's semantics (no weight decay, no AMSGrad) and a one-pass update.
#[derive(Clone)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    composed: Adam,
}

impl FusedAdam {
    /// Creates the optimizer with moment decay rates `beta_1` and `beta_2` and the
    /// denominator term `epsilon`, as burn's `AdamConfig` takes them.
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        Self {
            beta_1,
            beta_2,
            epsilon,
            composed: AdamConfig::new()
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_epsilon(epsilon)
                .build(),
        }
    }

    /// Computes the scalars of step number `time` (1 for the first update) at learning rate `lr`,
    /// computed as burn's `Adam` computes them.
    fn scalars(&self, lr: LearningRate, time: usize) -> AdamScalars {
        // burn raises the betas with `powi` on an i32 step count; beyond i32::MAX steps
        // both powers are 0 anyway.
        let time = i32::try_from(time).unwrap_or(i32::MAX);
        let correction_2_sqrt = (1.0 - self.beta_2.powi(time)).sqrt();
        AdamScalars {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            one_minus_beta_1: 1.0 - self.beta_1,
            one_minus_beta_2: 1.0 - self.beta_2,
            step_factor: correction_2_sqrt / (1.0 - self.beta_1.powi(time)),
            denominator_term: self.epsilon * correction_2_sqrt,
            lr: lr as f32,
            first: time == 1,
        }
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if !fused_pass_takes(&tensor, &grad, state.as_ref()) {
            return self.composed.step(lr, tensor, grad, state);
        }
        let (time, moment_1, moment_2) = match state {
            Some(state) => {
                let momentum = state.momentum;
                (momentum.time + 1, momentum.moment_1, momentum.moment_2)
            }
            // The first step overwrites the moments without reading them.
            None => (1, grad.zeros_like(), grad.zeros_like()),
        };
        let scalars = self.scalars(lr, time);
        let (tensor, moment_1, moment_2) = fused_update(tensor, grad, moment_1, moment_2, scalars);
        let momentum = AdaptiveMomentumState::new(time, moment_1, moment_2);
        (tensor, Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <Adam as Optimizer>::to_device(state, device)
    }
}

/// Returns whether the fused pass can update `tensor`: an `f32` tensor on the flex backend (without
/// autodiff) whose gradient and moments have its shape and dtype, and no AMSGrad maximum.
fn fused_pass_takes<const D: usize>(
    tensor: &Tensor<D>,
    grad: &Tensor<D>,
    state: Option<&AdamState<D>>,
) -> bool {
    let same_kind = |other: &Tensor<D>| {
        other.dtype() == DType::F32 && other.dims() == tensor.dims() && !other.is_autodiff()
    };
    let moments_match = match state {
        None => true,
        Some(state) => {
            let momentum = &state.momentum;
            momentum.max_moment_2.is_none()
                && same_kind(&momentum.moment_1)
                && same_kind(&momentum.moment_2)
        }
    };
    crate::device::is_flex(&tensor.device())
        && same_kind(tensor)
        && same_kind(grad)
        && moments_match
}

#[cfg(feature = "flex")]
use op::update as fused_update;

/// Without the flex backend, `is_flex` is false, so [`FusedAdam::step`] never reaches this.
#[cfg(not(feature = "flex"))]
fn fused_update<const D: usize>(
    param: Tensor<D>,
    _grad: Tensor<D>,
    moment_1: Tensor<D>,
    moment_2: Tensor<D>,
    _scalars: AdamScalars,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    (param, moment_1, moment_2)
}
