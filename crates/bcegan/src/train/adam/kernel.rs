//! The element-wise Adam update of [`super::FusedAdam`], on host slices.

use rayon::prelude::*;

/// Elements below which one thread updates the whole tensor; above it, chunks of this size
/// go to the rayon pool. Each element's result does not depend on the split.
const PARALLEL_CHUNK: usize = 1 << 15;

/// The per-step constants of one Adam update, as burn's `Adam` derives them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AdamScalars {
    /// Decay rate of the first moment.
    pub beta_1: f32,
    /// Decay rate of the second moment.
    pub beta_2: f32,
    /// `1 − beta_1`, the weight of the new gradient in the first moment.
    pub one_minus_beta_1: f32,
    /// `1 − beta_2`, the weight of the new squared gradient in the second moment.
    pub one_minus_beta_2: f32,
    /// `√(1 − beta_2^t) / (1 − beta_1^t)`: both bias corrections in one factor.
    pub step_factor: f32,
    /// `epsilon · √(1 − beta_2^t)`, added to the square root of the second moment.
    pub denominator_term: f32,
    /// Learning rate.
    pub lr: f32,
    /// Whether this is the first update: the moments start from the gradient alone.
    pub first: bool,
}

/// Updates `params` and both moments in place from `grads`. All four slices have the same
/// length; the caller checks it.
pub(crate) fn update(
    params: &mut [f32],
    grads: &[f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
    scalars: &AdamScalars,
) {
    debug_assert!(
        grads.len() == params.len()
            && moment_1.len() == params.len()
            && moment_2.len() == params.len()
    );
    if params.len() <= PARALLEL_CHUNK {
        update_dispatched(params, grads, moment_1, moment_2, scalars);
        return;
    }
    params
        .par_chunks_mut(PARALLEL_CHUNK)
        .zip(grads.par_chunks(PARALLEL_CHUNK))
        .zip(moment_1.par_chunks_mut(PARALLEL_CHUNK))
        .zip(moment_2.par_chunks_mut(PARALLEL_CHUNK))
        .for_each(|(((params, grads), moment_1), moment_2)| {
            update_dispatched(params, grads, moment_1, moment_2, scalars);
        });
}

/// [`update_chunk`] compiled for the widest vector instructions the CPU has (AVX-512 or
/// AVX2 with FMA on x86-64), chosen at run time. The operations stay separately rounded:
/// Rust does not fuse a multiplication and an addition into an FMA on its own.
fn update_dispatched(
    params: &mut [f32],
    grads: &[f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
    scalars: &AdamScalars,
) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || update_chunk(params, grads, moment_1, moment_2, scalars),
    );
}

/// Runs one thread's share of [`update`]. Every element takes burn's operations in burn's order:
/// `m₁ ← m₁·β₁ + g·(1 − β₁)`, `m₂ ← m₂·β₂ + (g·g)·(1 − β₂)`,
/// `p ← p − ((m₁·c) / (√m₂ + ε′))·lr`, each rounded to `f32`.
#[inline(always)]
fn update_chunk(
    params: &mut [f32],
    grads: &[f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
    scalars: &AdamScalars,
) {
    let s = *scalars;
    let elements = params
        .iter_mut()
        .zip(grads)
        .zip(moment_1.iter_mut())
        .zip(moment_2.iter_mut());
    if s.first {
        for (((param, &grad), m1), m2) in elements {
            *m1 = grad * s.one_minus_beta_1;
            *m2 = (grad * grad) * s.one_minus_beta_2;
            *param = step(*param, *m1, *m2, &s);
        }
    } else {
        for (((param, &grad), m1), m2) in elements {
            *m1 = *m1 * s.beta_1 + grad * s.one_minus_beta_1;
            *m2 = *m2 * s.beta_2 + (grad * grad) * s.one_minus_beta_2;
            *param = step(*param, *m1, *m2, &s);
        }
    }
}

/// Returns the parameter after one step with the updated moments.
#[inline(always)]
fn step(param: f32, moment_1: f32, moment_2: f32, s: &AdamScalars) -> f32 {
    let direction = (moment_1 * s.step_factor) / (moment_2.sqrt() + s.denominator_term);
    param - direction * s.lr
}

/// The same update in `f64` from the textbook formula, for tests: returns the parameter and
/// both moments after one step, with `time` the step number.
#[cfg(test)]
pub(crate) fn reference_step(
    (param, grad, moment_1, moment_2): (f64, f64, f64, f64),
    (beta_1, beta_2, epsilon, lr): (f64, f64, f64, f64),
    time: i32,
) -> (f64, f64, f64) {
    let moment_1 = beta_1 * moment_1 + (1.0 - beta_1) * grad;
    let moment_2 = beta_2 * moment_2 + (1.0 - beta_2) * grad * grad;
    let corrected_1 = moment_1 / (1.0 - beta_1.powi(time));
    let corrected_2 = moment_2 / (1.0 - beta_2.powi(time));
    let param = param - lr * corrected_1 / (corrected_2.sqrt() + epsilon);
    (param, moment_1, moment_2)
}
