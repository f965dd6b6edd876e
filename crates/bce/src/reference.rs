//! The oracle: the cost and gradient written as plain `f64` formulas, one
//! element at a time, with no fusion and no shared intermediate values.
//!
//! The kernels are tested against these functions. They use the
//! numerically sound form of each formula (`ln_1p(−h)` for `log(1−h)`,
//! softplus for `−log σ`), since a naive `log(1 − σ(x))` would be a worse
//! oracle than the code under test, and pairwise summation, which is not the
//! kernels' compensated summation.

use crate::check::{self, Form};
use crate::error::BceError;
use crate::options::{Options, PosWeight, ProbClamp, Reduction};

/// Floor of `h·(1−h)` in the probability gradient: `1e-12` rounded to `f32`,
/// the constant PyTorch 2.15 uses on the CPU.
pub const GRAD_DENOMINATOR_FLOOR: f64 = 9.999_999_960_041_972e-13;

/// Returns `σ(x) = 1/(1 + e^(−x))`, evaluated without overflow.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Returns `softplus(x) = log(1 + eˣ)`, evaluated without overflow.
pub fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// Returns the smoothed target `y·(1−ε) + ε/2`.
pub fn smooth_target(target: f64, epsilon: f64) -> f64 {
    target * (1.0 - epsilon) + epsilon / 2.0
}

/// Returns `coefficient·term`, defined as 0 when the coefficient is 0.
fn times(coefficient: f64, term: f64) -> f64 {
    if coefficient == 0.0 {
        0.0
    } else {
        coefficient * term
    }
}

/// Returns the unweighted cost `−[pw·y·log h + (1−y)·log(1−h)]` of one
/// probability under `clamp`.
pub fn prob_cost(prob: f64, target: f64, pos_weight: f64, clamp: ProbClamp) -> f64 {
    let (log_prob, log_one_minus_prob) = match clamp {
        ProbClamp::LogMin(floor) => (prob.ln().max(floor), (-prob).ln_1p().max(floor)),
        ProbClamp::Epsilon(epsilon) => {
            let clipped = prob.max(epsilon).min(1.0 - epsilon);
            (clipped.ln(), (-clipped).ln_1p())
        }
    };
    -times(pos_weight * target, log_prob) - times(1.0 - target, log_one_minus_prob)
}

/// Returns the unweighted gradient of [`prob_cost`] with respect to `prob`:
/// `[(1−y)·h − pw·y·(1−h)] / max(h·(1−h), floor)`, with `h` clipped first
/// for [`ProbClamp::Epsilon`].
pub fn prob_grad(prob: f64, target: f64, pos_weight: f64, clamp: ProbClamp) -> f64 {
    let prob = match clamp {
        ProbClamp::LogMin(_) => prob,
        ProbClamp::Epsilon(epsilon) => prob.max(epsilon).min(1.0 - epsilon),
    };
    let numerator = (1.0 - target) * prob - pos_weight * target * (1.0 - prob);
    numerator / (prob * (1.0 - prob)).max(GRAD_DENOMINATOR_FLOOR)
}

/// Returns the unweighted cost `(1−y)·softplus(x) + pw·y·softplus(−x)` of one
/// logit, which equals `−[pw·y·log σ(x) + (1−y)·log(1−σ(x))]`.
pub fn logit_cost(logit: f64, target: f64, pos_weight: f64) -> f64 {
    times(1.0 - target, softplus(logit)) + times(pos_weight * target, softplus(-logit))
}

/// Returns the unweighted gradient of [`logit_cost`] with respect to the
/// logit: `(1−y)·σ(x) − pw·y·σ(−x)`.
pub fn logit_grad(logit: f64, target: f64, pos_weight: f64) -> f64 {
    (1.0 - target) * sigmoid(logit) - pos_weight * target * sigmoid(-logit)
}

/// Reference result over a whole slice.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Weighted cost of each element.
    pub costs: Vec<f64>,
    /// `Σ costs / n` for [`Reduction::Mean`], `Σ costs` otherwise.
    pub reduced: f64,
    /// Gradient for an upstream gradient of 1, scaled by `1/n` for
    /// [`Reduction::Mean`].
    pub grad: Vec<f64>,
}

/// Evaluates the probability form over slices.
///
/// # Errors
///
/// The same validation as [`binary_cross_entropy`](crate::binary_cross_entropy).
pub fn evaluate_probs(
    probs: &[f64],
    targets: &[f64],
    options: &Options<'_, f64>,
) -> Result<Evaluation, BceError> {
    check::validate(Form::Probs, probs, targets, options)?;
    let clamp = options.clamp;
    Ok(evaluate(
        probs,
        targets,
        options,
        |h, y, pw| prob_cost(h, y, pw, clamp),
        |h, y, pw| prob_grad(h, y, pw, clamp),
    ))
}

/// Evaluates the logits form over slices.
///
/// # Errors
///
/// The same validation as
/// [`binary_cross_entropy_with_logits`](crate::binary_cross_entropy_with_logits).
pub fn evaluate_logits(
    logits: &[f64],
    targets: &[f64],
    options: &Options<'_, f64>,
) -> Result<Evaluation, BceError> {
    check::validate(Form::Logits, logits, targets, options)?;
    Ok(evaluate(logits, targets, options, logit_cost, logit_grad))
}

fn evaluate(
    values: &[f64],
    targets: &[f64],
    options: &Options<'_, f64>,
    cost: impl Fn(f64, f64, f64) -> f64,
    grad: impl Fn(f64, f64, f64) -> f64,
) -> Evaluation {
    let len = values.len();
    let mut costs = Vec::with_capacity(len);
    let mut grads = Vec::with_capacity(len);
    for (index, (&value, &target)) in values.iter().zip(targets).enumerate() {
        let weight = options.weights.map_or(1.0, |w| w[index]);
        let pos_weight = match options.pos_weight {
            None => 1.0,
            Some(PosWeight::Scalar(value)) => value,
            Some(PosWeight::PerClass(values)) => values[index % values.len()],
        };
        let target = smooth_target(target, options.label_smoothing);
        if weight == 0.0 {
            costs.push(0.0);
            grads.push(0.0);
        } else {
            costs.push(weight * cost(value, target, pos_weight));
            grads.push(weight * grad(value, target, pos_weight));
        }
    }

    let total = pairwise_sum(&costs);
    let (reduced, grad_scale) = match options.reduction {
        Reduction::Mean => (total / len as f64, 1.0 / len as f64),
        Reduction::Sum | Reduction::None => (total, 1.0),
    };
    for g in &mut grads {
        *g *= grad_scale;
    }
    Evaluation {
        costs,
        reduced,
        grad: grads,
    }
}

/// Sums by halving; the error grows with `log₂ n`, not `n`.
fn pairwise_sum(values: &[f64]) -> f64 {
    if values.len() <= 8 {
        values.iter().sum()
    } else {
        let (left, right) = values.split_at(values.len() / 2);
        pairwise_sum(left) + pairwise_sum(right)
    }
}
