//! The element programs: cost, gradient and validity of one element, written
//! branch-free in `f64` so that a loop over a group of lanes vectorizes.
//!
//! They compute what `crate::logits` and `crate::probs` (the scalar forms,
//! used by `explain`) compute, with the polynomial `exp` and `log` of
//! [`super::math`] and one division shared by every quotient of an element.
//! The tests compare both with `crate::reference`.

use super::math::{
    LogParts, exp_nonpositive, log_finish, log_parts, log1p_parts_small, log1p_unit_parts,
};
use super::narrow::{self, Narrow, Wide};
use super::tables::Lookup;
use super::{LANES, hard, hard_sum};
use crate::probs::GRAD_DENOMINATOR_FLOOR;

/// Below this `h`, `log(1 − h)` is taken as `log1p(−h)` (so `1 − h` is
/// never formed); above it `1 − h ≥ √½` is exact for `f32` inputs.
const LOG1P_CUTOFF: f64 = 1.0 - core::f64::consts::FRAC_1_SQRT_2;

/// [`LOG1P_CUTOFF`] rounded to `f32` (either side of it serves: the
/// series takes `|d|` up to ½).
pub(crate) const LOG1P_CUTOFF_F32: f32 = LOG1P_CUTOFF as f32;

/// Below this, `log1p(t) = t` to `f64` precision (`t²/2` is below half an
/// ulp), and `t` is used as is: the shared-division quotients would lose the
/// bits of a subnormal `t`.
const LOG1P_LINEAR: f64 = 1e-200;

/// Cost and gradient of one element, before the weight.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element {
    pub(crate) cost: f64,
    pub(crate) grad: f64,
}

/// One form of the loss, evaluated one lane at a time.
pub(crate) trait Program: Copy + Send + Sync {
    /// Returns whether a probability or logit is rejected (NaN, or outside `[0, 1]`
    /// for probabilities).
    fn invalid_value(value: f64) -> bool;

    /// Returns the unweighted cost and, when `GRAD`, the gradient of one
    /// element. `negative` is `1 − y` and `positive` is `pw·y`, for the
    /// smoothed target `y`. `precise` requests `f64` accuracy. Without it
    /// the cost is good to about `1e-10` relative, for `f32` results. The
    /// cost does not depend on `GRAD`.
    fn element<const GRAD: bool>(
        &self,
        value: f64,
        negative: f64,
        positive: f64,
        precise: bool,
    ) -> Element;

    /// Set when the gradient of [`Program::element_narrow`] is valid only where
    /// the target is hard (`negative` or `positive` is 0). Elsewhere it
    /// cancels, so the caller takes the gradient of [`Program::element`].
    const NARROW_GRAD_HARD_ONLY: bool;

    /// Returns whether [`Program::element_narrow`] serves these settings.
    fn narrow(&self) -> bool;

    /// [`Program::element`] for a group of `f32` values, with the
    /// polynomials in `f32` lanes (`super::narrow`): writes the unweighted
    /// costs and, when `GRAD`, gradients. `coefficients` are the lanes'
    /// `negative` and `positive`, as in [`Program::element`]. They round to `f32` within 1 ulp
    /// of the `f64` oracle.
    fn group_narrow<const GRAD: bool, const N: usize>(
        &self,
        values: &Narrow<N>,
        coefficients: (&Wide<N>, &Wide<N>),
        cost: &mut Wide<N>,
        grad: &mut Wide<N>,
    );

    /// Runs the hard-target path of `super::hard` on a group of `f32`
    /// values: writes the costs and, when `GRAD`, the gradients times
    /// `scale`. Returns `false` where that path does not serve the group
    /// (a soft target, or a value it leaves to the general program).
    /// Callers use it only where [`Program::narrow`] holds, without
    /// weights, label smoothing or a `pos_weight` other than 1.
    fn group_hard<const GRAD: bool, L: Lookup, const N: usize>(
        &self,
        lookup: L,
        values: &Narrow<N>,
        targets: &Narrow<N>,
        scale: f64,
        cost: &mut Narrow<N>,
        grad: &mut Narrow<N>,
    ) -> bool;

    /// [`Program::group_hard`] for the mean and sum reductions (see
    /// `super::hard_sum`): returns the costs of the first `valid` values
    /// summed by lane, lane `j` adding values `j, j + LANES, …`, and writes
    /// the gradients times `scale` when `GRAD`. Returns `None` where that
    /// path does not serve the group.
    fn group_hard_sum<const GRAD: bool, L: Lookup, const N: usize>(
        &self,
        lookup: L,
        values: &Narrow<N>,
        targets: &Narrow<N>,
        valid: usize,
        scale: f64,
        grad: &mut Narrow<N>,
    ) -> Option<[f64; LANES]>;
}

/// Stand-in for an infinite logit or log in the `f32` lane programs: any
/// nonzero multiple of it, summed or divided by any length, is still
/// beyond `f32::MAX`, so it rounds to ∞ in `f32`, while `0·HUGE` is 0.
const HUGE: f64 = 1e300;

/// Returns `coefficient·value`, or 0 when the coefficient is 0 (so that
/// `0·∞` is 0, not NaN).
#[inline(always)]
fn times(coefficient: f64, value: f64) -> f64 {
    if coefficient == 0.0 {
        0.0
    } else {
        coefficient * value
    }
}

/// The logits form: `(1−y)·sp(x) + pw·y·sp(−x)`, gradient
/// `(1−y)·σ(x) − pw·y·σ(−x)`, from `e = e^(−|x|)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Logits;

impl Program for Logits {
    #[inline(always)]
    fn invalid_value(value: f64) -> bool {
        value.is_nan()
    }

    #[inline(always)]
    fn element<const GRAD: bool>(
        &self,
        logit: f64,
        negative: f64,
        positive: f64,
        precise: bool,
    ) -> Element {
        // The gradient cancels where σ(x)·(1−y) ≈ pw·y·σ(−x), so it needs
        // the full exp. The loss-only form uses it too, so both forms return
        // the same cost.
        let e = exp_nonpositive(-logit.abs(), true);
        let LogParts { k, d } = log1p_unit_parts(e);
        let denominator = 2.0 + d;

        // One division for s = d/(2+d) and σ(|x|) = 1/(1+e). The loss-only
        // form does the same arithmetic, so both forms return the same cost.
        let one_plus_e = 1.0 + e;
        let reciprocal = 1.0 / (denominator * one_plus_e);
        let s = d * one_plus_e * reciprocal;
        let grad = if GRAD {
            let large = denominator * reciprocal;
            let small = e * large;
            let (sigmoid, sigmoid_neg) = if logit >= 0.0 {
                (large, small)
            } else {
                (small, large)
            };
            negative * sigmoid - positive * sigmoid_neg
        } else {
            0.0
        };

        let shared = if e < LOG1P_LINEAR {
            e
        } else {
            log_finish(k, s, precise)
        };
        let softplus = logit.max(0.0) + shared;
        let softplus_neg = (-logit).max(0.0) + shared;
        Element {
            cost: times(negative, softplus) + times(positive, softplus_neg),
            grad,
        }
    }

    const NARROW_GRAD_HARD_ONLY: bool = true;

    fn narrow(&self) -> bool {
        true
    }

    #[inline(always)]
    fn group_narrow<const GRAD: bool, const N: usize>(
        &self,
        logits: &Narrow<N>,
        (negative, positive): (&Wide<N>, &Wide<N>),
        cost: &mut Wide<N>,
        grad: &mut Wide<N>,
    ) {
        let parts = narrow::softplus_parts::<N>(logits);
        let logits: Wide<N> = core::array::from_fn(|j| f64::from(logits[j]));
        let mut e: Wide<N> = core::array::from_fn(|j| f64::from(parts.exp[j]));
        let mut shared: Wide<N> = core::array::from_fn(|j| f64::from(parts.log1p[j]));
        let far = parts
            .exponent
            .iter()
            .fold(0_u32, |any, &k| any | u32::from(k < narrow::FAR_EXPONENT));
        if far != 0 {
            // e below the f32 normals (|x| > 86): log1p(e) = e, scaled in f64.
            for j in 0..N {
                let scale = f64::from_bits(((i64::from(parts.exponent[j]) + 1023) as u64) << 52);
                let exact = f64::from(parts.mantissa[j]) * scale;
                if parts.exponent[j] < narrow::FAR_EXPONENT {
                    e[j] = exact;
                    shared[j] = exact;
                }
            }
        }
        if GRAD {
            // σ(|x|) = 1/(1 + e) and σ(−|x|) = e·σ(|x|), each within about
            // 1 f32 ulp: enough where one of the two terms is 0.
            let large: Narrow<N> = core::array::from_fn(|j| 1.0 / (1.0 + parts.exp[j]));
            for j in 0..N {
                let large = f64::from(large[j]);
                let small = e[j] * large;
                let (sigmoid, sigmoid_neg) = if logits[j] >= 0.0 {
                    (large, small)
                } else {
                    (small, large)
                };
                // Both sigmoids are finite, so no 0·∞ to guard against.
                grad[j] = negative[j] * sigmoid - positive[j] * sigmoid_neg;
            }
        }
        for j in 0..N {
            // (1−y)·max(x, 0) + pw·y·max(−x, 0) + (1 − y + pw·y)·log1p(e),
            // with ±∞ held at ±HUGE so that a zero coefficient gives 0; the
            // f32 result still rounds to ±∞.
            let logit = logits[j].clamp(-HUGE, HUGE);
            let shared_term = (negative[j] + positive[j]) * shared[j];
            cost[j] = negative[j].mul_add(
                logit.max(0.0),
                positive[j].mul_add((-logit).max(0.0), shared_term),
            );
        }
    }

    #[inline(always)]
    fn group_hard<const GRAD: bool, L: Lookup, const N: usize>(
        &self,
        lookup: L,
        logits: &Narrow<N>,
        targets: &Narrow<N>,
        scale: f64,
        cost: &mut Narrow<N>,
        grad: &mut Narrow<N>,
    ) -> bool {
        hard::logits::<GRAD, L, N>(lookup, logits, targets, scale, cost, grad)
    }

    #[inline(always)]
    fn group_hard_sum<const GRAD: bool, L: Lookup, const N: usize>(
        &self,
        lookup: L,
        logits: &Narrow<N>,
        targets: &Narrow<N>,
        valid: usize,
        scale: f64,
        grad: &mut Narrow<N>,
    ) -> Option<[f64; LANES]> {
        hard_sum::logits_sum::<GRAD, L, N>(lookup, logits, targets, valid, scale, grad)
    }
}

/// The lowest finite log floor of the hard-target path: a lost probability
/// costs `−log_floor` there, in `f32`, and a lane adds up to four of them
/// in `f32`. Lower floors, where that could overflow or round to ∞ while
/// the `f64` mean stays finite, take the general program.
const HARD_LOG_FLOOR_MIN: f64 = -1e30;

/// The probability form under a clamp policy, both policies in one shape:
/// the probability is clipped to `[low, high]` and each log floored at
/// `log_floor`. `LogMin(f)` is `[0, 1]` and `f`; `Epsilon(ε)` is
/// `[ε, 1−ε]` and `−∞`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probs {
    pub(crate) low: f64,
    pub(crate) high: f64,
    pub(crate) log_floor: f64,
}

impl Probs {
    /// Returns whether the hard-target path serves this floor: `−∞`, or a
    /// finite floor down to [`HARD_LOG_FLOOR_MIN`].
    fn hard_floor(&self) -> bool {
        self.log_floor >= HARD_LOG_FLOOR_MIN || self.log_floor == f64::NEG_INFINITY
    }
}

impl Program for Probs {
    #[inline(always)]
    fn invalid_value(value: f64) -> bool {
        !(0.0..=1.0).contains(&value)
    }

    #[inline(always)]
    fn element<const GRAD: bool>(
        &self,
        prob: f64,
        negative: f64,
        positive: f64,
        precise: bool,
    ) -> Element {
        let prob = prob.max(self.low).min(self.high);
        let one_minus_prob = 1.0 - prob;

        let first = log_parts(prob);
        let small = prob <= LOG1P_CUTOFF;
        let rest = log_parts(one_minus_prob);
        let second = if small {
            log1p_parts_small(-prob)
        } else {
            rest
        };

        let denominator_first = 2.0 + first.d;
        let denominator_second = 2.0 + second.d;
        let both = denominator_first * denominator_second;
        // One division for both logs and the gradient's quotient. The
        // loss-only form does the same arithmetic, so both forms return the
        // same cost.
        let floor = (prob * one_minus_prob).max(GRAD_DENOMINATOR_FLOOR);
        let reciprocal = 1.0 / (both * floor);
        let s_first = first.d * denominator_second * floor * reciprocal;
        let s_second = second.d * denominator_first * floor * reciprocal;
        let grad = if GRAD {
            let numerator = negative * prob - positive * one_minus_prob;
            // both·reciprocal (1/floor) first: for a subnormal prob,
            // numerator·both would round to a subnormal and lose bits.
            numerator * (both * reciprocal)
        } else {
            0.0
        };

        let log_prob = if prob == 0.0 {
            f64::NEG_INFINITY
        } else {
            log_finish(first.k, s_first, precise)
        };
        let log_one_minus_prob = if prob == 1.0 {
            f64::NEG_INFINITY
        } else if prob < LOG1P_LINEAR {
            -prob
        } else {
            log_finish(second.k, s_second, precise)
        };
        let log_prob = log_prob.max(self.log_floor);
        let log_one_minus_prob = log_one_minus_prob.max(self.log_floor);
        Element {
            // 0 − (…), not −(…), so that a cost of 0 is +0.
            cost: 0.0 - (times(positive, log_prob) + times(negative, log_one_minus_prob)),
            grad,
        }
    }

    const NARROW_GRAD_HARD_ONLY: bool = false;

    /// Only without clipping: a clipped probability is not an `f32`.
    fn narrow(&self) -> bool {
        self.low == 0.0 && self.high == 1.0
    }

    #[inline(always)]
    fn group_narrow<const GRAD: bool, const N: usize>(
        &self,
        probs: &Narrow<N>,
        (negative, positive): (&Wide<N>, &Wide<N>),
        cost: &mut Wide<N>,
        grad: &mut Wide<N>,
    ) {
        // Of h and 1 − h, the smaller m is exact in f32 and takes the full
        // log; the larger is 1 − m, whose log is log1p(−m) with an exact
        // d: −m itself up to the cutoff, else 2·(1 − m) = 1 + (1 − 2m).
        let mut small = [0.0_f32; N];
        let mut k_large = [0.0_f32; N];
        let mut d_large = [0.0_f32; N];
        for j in 0..N {
            let prob = probs[j];
            let m = if prob < 0.5 { prob } else { 1.0 - prob };
            let near = m <= LOG1P_CUTOFF_F32;
            small[j] = m;
            k_large[j] = if near { 0.0 } else { -1.0 };
            d_large[j] = if near { -m } else { 2.0_f32.mul_add(-m, 1.0) };
        }
        let (k_small, d_small) = narrow::log_parts(&small);
        let log_small = narrow::log_from_parts::<N>(&k_small, &d_small);
        let log_large = narrow::log_from_parts::<N>(&k_large, &d_large);
        for j in 0..N {
            let prob = f64::from(probs[j]);
            let m = small[j];
            let log_small = if m == 0.0 {
                f32::NEG_INFINITY
            } else {
                log_small[j]
            };
            // Below 2⁻²⁶, log1p(−m) = −m (and the series would lose the
            // bits of a subnormal m).
            let log_large = if m < narrow::LINEAR_BELOW_F32 {
                -m
            } else {
                log_large[j]
            };
            let (log_prob, log_one_minus_prob) = if probs[j] < 0.5 {
                (log_small, log_large)
            } else {
                (log_large, log_small)
            };
            let (log_prob, log_one_minus_prob) =
                (f64::from(log_prob), f64::from(log_one_minus_prob));
            // −∞ held at −HUGE so that a zero coefficient gives 0; the f32
            // result still rounds to +∞.
            let log_prob = log_prob.max(self.log_floor).max(-HUGE);
            let log_one_minus_prob = log_one_minus_prob.max(self.log_floor).max(-HUGE);
            // 0 − (…), not −(…), so that a cost of 0 is +0.
            cost[j] = 0.0 - positive[j].mul_add(log_prob, negative[j] * log_one_minus_prob);
            if GRAD {
                let one_minus_prob = 1.0 - prob;
                let numerator = negative[j] * prob - positive[j] * one_minus_prob;
                grad[j] = numerator / (prob * one_minus_prob).max(GRAD_DENOMINATOR_FLOOR);
            }
        }
    }

    #[inline(always)]
    fn group_hard<const GRAD: bool, L: Lookup, const N: usize>(
        &self,
        lookup: L,
        probs: &Narrow<N>,
        targets: &Narrow<N>,
        scale: f64,
        cost: &mut Narrow<N>,
        grad: &mut Narrow<N>,
    ) -> bool {
        if !self.hard_floor() {
            return false;
        }
        // Both floors are f32 values here: −100 (or −∞, or another floor
        // rounded once) and 1e-12 rounded to f32.
        let floors = (self.log_floor as f32, GRAD_DENOMINATOR_FLOOR as f32);
        hard::probs::<GRAD, L, N>(lookup, probs, targets, floors, scale, cost, grad)
    }

    #[inline(always)]
    fn group_hard_sum<const GRAD: bool, L: Lookup, const N: usize>(
        &self,
        lookup: L,
        probs: &Narrow<N>,
        targets: &Narrow<N>,
        valid: usize,
        scale: f64,
        grad: &mut Narrow<N>,
    ) -> Option<[f64; LANES]> {
        if !self.hard_floor() {
            return None;
        }
        let floors = (self.log_floor as f32, GRAD_DENOMINATOR_FLOOR as f32);
        if floors.0 <= hard_sum::PRODUCT_LOG_FLOOR {
            return hard_sum::probs_sum::<GRAD, L, N>(
                lookup, probs, targets, floors, valid, scale, grad,
            );
        }
        let mut cost = [0.0_f32; N];
        hard::probs::<GRAD, L, N>(lookup, probs, targets, floors, scale, &mut cost, grad)
            .then(|| hard_sum::per_element_sum(&cost, valid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ProbClamp;
    use crate::{logits, probs};

    /// Relative distance, with `±∞` equal only to itself.
    fn relative_error(actual: f64, expected: f64) -> f64 {
        if actual == expected {
            0.0
        } else {
            (actual - expected).abs() / expected.abs().max(f64::MIN_POSITIVE)
        }
    }

    const TOLERANCE: f64 = 1e-14;

    #[test]
    fn program_logits_match_scalar() {
        let logits_list = [
            0.0,
            -0.0,
            1e-300,
            0.5,
            -0.5,
            1.0,
            -1.0,
            20.0,
            -20.0,
            30.0,
            -30.0,
            709.0,
            -745.0,
            800.0,
            -800.0,
            1e4,
            -1e4,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for &logit in &logits_list {
            for target in [0.0, 0.25, 0.5, 1.0] {
                let parts = logits::parts(logit);
                let expected_cost = logits::cost(logit, target, 1.5);
                let expected_grad = logits::grad_from_parts(&parts, target, 1.5);
                let element = Logits.element::<true>(logit, 1.0 - target, 1.5 * target, true);
                let cost_error = relative_error(element.cost, expected_cost);
                let grad_error = relative_error(element.grad, expected_grad);
                assert!(
                    cost_error <= TOLERANCE,
                    "logit {logit}, target {target}: cost expected {expected_cost:e}, got {:e}",
                    element.cost
                );
                assert!(
                    grad_error <= TOLERANCE,
                    "logit {logit}, target {target}: grad expected {expected_grad:e}, got {:e}",
                    element.grad
                );
            }
        }
    }

    #[test]
    fn program_probs_match_scalar() {
        let probs_list = [
            0.0,
            1e-310,
            1e-45,
            1e-7,
            0.1,
            0.29,
            0.3,
            0.5,
            0.9,
            1.0 - 1e-7,
            1.0 - 1e-16,
            1.0,
        ];
        let clamps = [
            ProbClamp::PYTORCH,
            ProbClamp::KERAS,
            ProbClamp::LogMin(f64::NEG_INFINITY),
        ];
        for clamp in clamps {
            let program = super::super::probs_program(clamp);
            for &prob in &probs_list {
                for target in [0.0, 0.25, 0.5, 1.0] {
                    let expected_cost = probs::cost(prob, target, 1.5, clamp);
                    let expected_grad = probs::grad(prob, target, 1.5, clamp);
                    let element = program.element::<true>(prob, 1.0 - target, 1.5 * target, true);
                    let cost_error = relative_error(element.cost, expected_cost);
                    let grad_error = relative_error(element.grad, expected_grad);
                    assert!(
                        cost_error <= TOLERANCE,
                        "{clamp:?}, prob {prob:e}, target {target}: cost expected \
                         {expected_cost:e}, got {:e}",
                        element.cost
                    );
                    assert!(
                        grad_error <= TOLERANCE,
                        "{clamp:?}, prob {prob:e}, target {target}: grad expected \
                         {expected_grad:e}, got {:e}",
                        element.grad
                    );
                }
            }
        }
    }
}
