//! Cost and gradient of one element in the logits form.
//!
//! With `x` the logit, `σ` the sigmoid, `y` the (smoothed) target and `pw`
//! the `pos_weight`, the cost `−[pw·y·log σ(x) + (1−y)·log(1−σ(x))]` is
//! written with softplus, `sp(z) = log(1 + eᶻ)`:
//!
//! ```text
//! −log σ(x)     = sp(−x)
//! −log(1−σ(x))  = sp(x)
//! cost          = (1−y)·sp(x) + pw·y·sp(−x)
//! sp(±x)        = max(±x, 0) + log1p(e^(−|x|))
//! ```
//!
//! so one `exp` and one `log1p` serve both terms, nothing overflows, and
//! both terms are non-negative (no cancellation). A term whose coefficient
//! is exactly 0 is skipped: with `x = ±∞` the other term is `0·∞` otherwise,
//! which would be NaN. So matching targets at `±∞` cost 0 and mismatched
//! ones `+∞`.
//!
//! Gradient, from `sp'(z) = σ(z)`:
//!
//! ```text
//! d cost / d x = (1−y)·σ(x) − pw·y·σ(−x)
//!              = σ(x)·(1 − y + pw·y) − pw·y        (since σ(−x) = 1 − σ(x))
//! ```
//!
//! The second line is the usual one but cancels in the tails: at `x = 30,
//! y = 1` it subtracts 1 from `σ(30) = 1 − 9.4e-14` and keeps only about
//! three correct digits. The first line never subtracts nearly equal terms
//! unless the gradient itself is near 0, and `σ(x)`, `σ(−x)` are both
//! computed without cancellation from `e = e^(−|x|)`: `σ(|x|) = 1/(1+e)`,
//! `σ(−|x|) = e/(1+e)`.

use crate::probs::scaled;

/// The parts of one logit shared by the cost and the gradient.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts {
    /// `sp(x) = −log(1−σ(x))`.
    pub(crate) softplus: f64,
    /// `sp(−x) = −log σ(x)`.
    pub(crate) softplus_neg: f64,
    /// `σ(x)`.
    pub(crate) sigmoid: f64,
    /// `σ(−x) = 1 − σ(x)`, computed without cancellation.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) sigmoid_neg: f64,
}

/// Computes softplus and sigmoid of `logit` and `−logit` from one `exp`.
pub(crate) fn parts(logit: f64) -> Parts {
    // e = e^(−|x|) is in [0, 1]: no overflow for any logit, 0 at ±∞.
    let e = (-logit.abs()).exp();
    let shared = e.ln_1p();
    let large = 1.0 / (1.0 + e);
    let small = e / (1.0 + e);
    if logit >= 0.0 {
        Parts {
            softplus: logit + shared,
            softplus_neg: shared,
            sigmoid: large,
            sigmoid_neg: small,
        }
    } else {
        Parts {
            softplus: shared,
            softplus_neg: shared - logit,
            sigmoid: small,
            sigmoid_neg: large,
        }
    }
}

/// Returns the unweighted cost of one element.
#[cfg_attr(not(test), allow(dead_code))] // The scalar twin of `kernel::program`, compared in its tests.
pub(crate) fn cost(logit: f64, target: f64, pos_weight: f64) -> f64 {
    let parts = parts(logit);
    cost_from_parts(&parts, target, pos_weight)
}

/// Cost from precomputed [`Parts`]; see the module docs for the formula.
#[cfg_attr(not(test), allow(dead_code))] // The scalar twin of `kernel::program`, compared in its tests.
pub(crate) fn cost_from_parts(parts: &Parts, target: f64, pos_weight: f64) -> f64 {
    scaled(1.0 - target, parts.softplus) + scaled(pos_weight * target, parts.softplus_neg)
}

/// Gradient from precomputed [`Parts`]; see the module docs for the derivation.
#[cfg_attr(not(test), allow(dead_code))] // The scalar twin of `kernel::program`, compared in its tests.
pub(crate) fn grad_from_parts(parts: &Parts, target: f64, pos_weight: f64) -> f64 {
    (1.0 - target) * parts.sigmoid - pos_weight * target * parts.sigmoid_neg
}
