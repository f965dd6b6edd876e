//! Cost and gradient of one element in the probability form.
//!
//! With `h` the probability, `y` the (smoothed) target and `pw` the
//! `pos_weight`:
//!
//! ```text
//! cost = −[pw·y·log h + (1−y)·log(1−h)]
//! d cost / d h = −pw·y/h + (1−y)/(1−h) = [(1−y)·h − pw·y·(1−h)] / (h·(1−h))
//! ```
//!
//! For `pw = 1` the numerator is `h − y`, PyTorch's gradient. The logs are
//! `ln h` and `ln_1p(−h)` (accurate for small `h`), clamped by the
//! [`ProbClamp`] policy. A term whose coefficient (`pw·y` or `1−y`) is exactly
//! 0 is skipped, so `h = 0, y = 0` costs 0 even without a clamp.

use crate::options::ProbClamp;

/// Floor of the gradient's denominator `h·(1−h)`.
///
/// PyTorch (2.15, CPU) floors it at `1e-12` stored as an `f32` constant, so
/// the floor seen by `f64` inputs is `1e-12` rounded to `f32`,
/// 9.999999960041972e-13. We use the same number so that `f64` gradients at
/// `h = 0` or `h = 1` match PyTorch's (±1.0000000039958e12) exactly.
pub(crate) const GRAD_DENOMINATOR_FLOOR: f64 = 1e-12_f32 as f64;

/// `log h` and `log(1−h)` after the clamp policy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogTerms {
    /// Probability the logs were taken of (after clipping for `Epsilon`).
    pub(crate) prob: f64,
    pub(crate) log_prob: f64,
    pub(crate) log_one_minus_prob: f64,
}

/// Computes both logs of `prob` under `clamp`.
pub(crate) fn log_terms(prob: f64, clamp: ProbClamp) -> LogTerms {
    match clamp {
        ProbClamp::LogMin(floor) => LogTerms {
            prob,
            log_prob: prob.ln().max(floor),
            log_one_minus_prob: (-prob).ln_1p().max(floor),
        },
        ProbClamp::Epsilon(epsilon) => {
            let clipped = prob.clamp(epsilon, 1.0 - epsilon);
            LogTerms {
                prob: clipped,
                log_prob: clipped.ln(),
                log_one_minus_prob: (-clipped).ln_1p(),
            }
        }
    }
}

/// Returns `coefficient·value`, or 0 when the coefficient is exactly 0 (so
/// that `0·(−∞)` is 0, not NaN).
pub(crate) fn scaled(coefficient: f64, value: f64) -> f64 {
    if coefficient == 0.0 {
        0.0
    } else {
        coefficient * value
    }
}

/// Returns the unweighted cost of one element.
#[cfg_attr(not(test), allow(dead_code))] // The scalar twin of `kernel::program`, compared in its tests.
pub(crate) fn cost(prob: f64, target: f64, pos_weight: f64, clamp: ProbClamp) -> f64 {
    let logs = log_terms(prob, clamp);
    // 0 − (…), not −(…), so that a cost of 0 is +0.
    0.0 - (scaled(pos_weight * target, logs.log_prob)
        + scaled(1.0 - target, logs.log_one_minus_prob))
}

/// Returns the unweighted gradient of one element's cost with respect to `prob`.
///
/// With [`ProbClamp::LogMin`] this is the gradient of the unclamped cost with
/// a floored denominator, as in PyTorch: at `h = 0, y = 1` it is about
/// `−1e12`, although the clamped cost is flat there. With
/// [`ProbClamp::Epsilon`] it is the same formula evaluated at the clipped
/// probability.
///
/// NOTE: TensorFlow differentiates its clip, so Keras's gradient is 0 for
/// probabilities outside `[ε, 1−ε]`; this one is not.
#[cfg_attr(not(test), allow(dead_code))] // The scalar twin of `kernel::program`, compared in its tests.
pub(crate) fn grad(prob: f64, target: f64, pos_weight: f64, clamp: ProbClamp) -> f64 {
    let prob = match clamp {
        ProbClamp::LogMin(_) => prob,
        ProbClamp::Epsilon(epsilon) => prob.clamp(epsilon, 1.0 - epsilon),
    };
    let one_minus_prob = 1.0 - prob;
    // (1−y)·h − pw·y·(1−h) equals h·(1−y+pw·y) − pw·y; written this way each
    // product is accurate and only the true zero of the gradient cancels.
    let numerator = (1.0 - target) * prob - pos_weight * target * one_minus_prob;
    numerator / (prob * one_minus_prob).max(GRAD_DENOMINATOR_FLOOR)
}
