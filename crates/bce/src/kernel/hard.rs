//! The hard-target path for `f32` inputs: every target 0 or 1, no weights,
//! `pos_weight` 1 and no label smoothing, the settings of a GAN's
//! discriminator and generator losses.
//!
//! A hard target keeps one of the two terms of the cost, so each element
//! needs one `softplus` (logits) or one `log` (probabilities). Both are
//! computed and rounded in `f32` lanes with the lean maths of
//! [`super::compact`]. The logits gradient is one `f32` quotient,
//! multiplied by the mean's `1/n` held as an `f32` pair. The probability
//! gradient is two quotients, with `1/n` folded into the second. A group
//! that contains a soft target or an element this path does not serve
//! returns `false`, and the caller runs the general program on it. The mean
//! and sum take their costs from `super::hard_sum` instead, which shares
//! the parts and gradients of this module.
//!
//! The error was measured against the `f64` oracle rounded to `f32` over 10⁷
//! seeded inputs, by the unit tests below with their sample count raised and by
//! the hard-target tests in `tests/kernels.rs`, which enforce 4 ulp. Logits
//! reach at most 2 ulp for the cost and 3 for the gradient in the unit
//! tests, and 4 in `tests/kernels.rs`, whose logits reach `±10⁻³⁰`.
//! Probabilities reach at most 1 ulp for the cost and 2 for the gradient.

use super::compact;
use super::narrow::Narrow;
use super::tables::Lookup;

/// The largest `|logit|` the path serves: `e^(−86) ≈ 4.4e-38` is still a
/// normal `f32`, so `log1p(e) = e` and `σ(−|x|)` keep their relative
/// precision. Larger logits, `±∞` and NaN go to the general program.
const MAX_LOGIT: f32 = 86.0;

/// The bits of `1.0_f32`: a probability's bits are at most this exactly
/// when it lies in `[+0, 1]` (negatives, `−0`, NaN and values above 1
/// have larger bits, read as unsigned).
const ONE_BITS: u32 = 0x3f80_0000;

/// The largest bits of a subnormal `f32`.
const SUBNORMAL_BITS: u32 = 0x007f_ffff;

/// Returns the larger of `a` and `b`, neither NaN, in one `vmaxps`.
/// `f32::max` must return the number beside a NaN, which takes three
/// instructions when neither operand is a constant.
#[inline(always)]
fn max(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// Returns whether every target of the group is exactly 0 or 1.
#[inline(always)]
fn all_hard<const N: usize>(targets: &Narrow<N>) -> bool {
    let soft = targets
        .iter()
        .fold(0_u32, |any, &t| any | u32::from(t != 0.0 && t != 1.0));
    soft == 0
}

/// Returns whether the hard-target path serves a group of logits: every
/// target 0 or 1 and every logit within [`MAX_LOGIT`] (NaN is not).
#[inline(always)]
pub(super) fn logits_served<const N: usize>(logits: &Narrow<N>, targets: &Narrow<N>) -> bool {
    let far = logits.iter().fold(0_u32, |any, &x| {
        // NaN fails the comparison, so it is flagged too.
        let served = x.abs() <= MAX_LOGIT;
        any | u32::from(!served)
    });
    far == 0 && all_hard(targets)
}

/// The parts of a logit's cost and gradient: `e = e^(−|x|)` and the exact
/// pair `v + lo = 1 + e` (Fast2Sum, `e ≤ 1`).
pub(super) struct SoftplusParts<const N: usize> {
    pub(super) e: Narrow<N>,
    pub(super) v: Narrow<N>,
    pub(super) lo: Narrow<N>,
}

/// Returns the [`SoftplusParts`] of served logits.
#[inline(always)]
pub(super) fn softplus_parts<L: Lookup, const N: usize>(
    lookup: L,
    logits: &Narrow<N>,
) -> SoftplusParts<N> {
    let mut negative_abs = [0.0_f32; N];
    for j in 0..N {
        negative_abs[j] = -logits[j].abs();
    }
    let e = compact::exp_neg(lookup, &negative_abs);
    let mut v = [0.0_f32; N];
    let mut lo = [0.0_f32; N];
    for j in 0..N {
        v[j] = 1.0 + e[j];
        lo[j] = e[j] - (v[j] - 1.0);
    }
    SoftplusParts { e, v, lo }
}

/// Returns `z`: the logit for target 0, its negation for target 1, so
/// that the cost is `sp(z)`.
#[inline(always)]
pub(super) fn signed_logit(logit: f32, target: f32) -> f32 {
    if target == 1.0 { -logit } else { logit }
}

/// Computes the costs and, when `GRAD`, the gradients times `scale` of a
/// group of logits with hard targets. Returns `false`, with the outputs
/// unspecified, when a target is soft or a logit is NaN or beyond
/// [`MAX_LOGIT`] in magnitude.
///
/// With `z = x` for target 0 and `z = −x` for target 1, the cost is
/// `sp(z) = max(z, 0) + log1p(e)`, `e = e^(−|x|)`, and the gradient is
/// `σ(x)` for target 0 and `−σ(−x)` for target 1, which is `±σ(z)`:
/// `1/(1 + e)` for `z ≥ 0`, `e/(1 + e)` below. `1 + e` is the exact pair
/// `v + lo`, which feeds both the log and the quotient.
#[inline(always)]
pub(crate) fn logits<const GRAD: bool, L: Lookup, const N: usize>(
    lookup: L,
    logits: &Narrow<N>,
    targets: &Narrow<N>,
    scale: f64,
    cost: &mut Narrow<N>,
    grad: &mut Narrow<N>,
) -> bool {
    if !logits_served(logits, targets) {
        return false;
    }
    let parts = softplus_parts(lookup, logits);
    let log1p = compact::log_two_part(lookup, &parts.v, &parts.lo);
    for j in 0..N {
        cost[j] = signed_logit(logits[j], targets[j]).max(0.0) + log1p[j];
    }
    if GRAD {
        logits_grad(logits, targets, &parts, scale, grad);
    }
    true
}

/// Writes the gradients times `scale` of served logits (see [`logits`]).
#[inline(always)]
pub(super) fn logits_grad<const N: usize>(
    logits: &Narrow<N>,
    targets: &Narrow<N>,
    SoftplusParts { e, v, lo }: &SoftplusParts<N>,
    scale: f64,
    grad: &mut Narrow<N>,
) {
    // The scale as an f32 pair, so that the product rounds once.
    let scale_high = scale as f32;
    let scale_low = (scale - f64::from(scale_high)) as f32;
    for j in 0..N {
        let positive = targets[j] == 1.0;
        let z = signed_logit(logits[j], targets[j]);
        let numerator = if z >= 0.0 { 1.0 } else { e[j] };
        // n/(v + lo) = (n/v)·(1 − lo/v) to within (lo/v)², with 1/v
        // taken as 1.5 − v/2 (within 12% on [1, 2], which is enough
        // for a correction below 2⁻²⁴). So the quotient carries the
        // error of e and one rounding.
        let quotient = numerator / v[j];
        let correction = lo[j] * (-0.5_f32).mul_add(v[j], 1.5);
        let sigmoid = (-quotient).mul_add(correction, quotient);
        let signed = if positive { -sigmoid } else { sigmoid };
        grad[j] = signed.mul_add(scale_high, signed * scale_low);
    }
}

/// Returns the pair `v + lo` whose log is the negated cost of each
/// probability with a hard target: `v = h` for target 1, and `v = 1 − h`
/// for target 0, exact by Fast2Sum. Returns `None` when the path does not
/// serve the group. That is a soft target, a probability that is NaN, `−0`
/// or outside `[0, 1]`, or a subnormal `v`; the general program serves
/// those.
#[inline(always)]
pub(super) fn probs_parts<const N: usize>(
    probs: &Narrow<N>,
    targets: &Narrow<N>,
) -> Option<(Narrow<N>, Narrow<N>)> {
    let mut v = [0.0_f32; N];
    let mut lo = [0.0_f32; N];
    let mut unserved = 0_u32;
    for j in 0..N {
        let h = probs[j];
        // With a = 1 − y (0 or 1, exact), d = a − h is −h or 1 − h rounded,
        // and v = |d|. Arithmetic rather than selects, which the compiler
        // turns into mask operations. lo is Fast2Sum's error of d: 0 for
        // target 1.
        let a = 1.0 - targets[j];
        let d = a - h;
        v[j] = d.abs();
        lo[j] = (a - d) - h;
        let outside = h.to_bits() > ONE_BITS;
        let subnormal = v[j].to_bits().wrapping_sub(1) < SUBNORMAL_BITS;
        unserved |= u32::from(outside) | u32::from(subnormal);
    }
    (unserved == 0 && all_hard(targets)).then_some((v, lo))
}

/// Computes the costs and, when `GRAD`, the gradients times `scale` of a
/// group of probabilities with hard targets under `ProbClamp::LogMin`
/// (`log_floor` the floor of each log, `grad_floor` the floor of the
/// gradient's denominator). Returns `false`, with the outputs unspecified,
/// where [`probs_parts`] does not serve the group.
///
/// The cost is `−max(log(v + lo), log_floor)` with the pair of
/// [`probs_parts`], so `log1p(−h)` keeps every bit of a small `h`.
#[inline(always)]
pub(crate) fn probs<const GRAD: bool, L: Lookup, const N: usize>(
    lookup: L,
    probs: &Narrow<N>,
    targets: &Narrow<N>,
    (log_floor, grad_floor): (f32, f32),
    scale: f64,
    cost: &mut Narrow<N>,
    grad: &mut Narrow<N>,
) -> bool {
    let Some((v, lo)) = probs_parts(probs, targets) else {
        return false;
    };
    let log = compact::log_two_part(lookup, &v, &lo);
    for j in 0..N {
        let log = if v[j] == 0.0 {
            f32::NEG_INFINITY
        } else {
            log[j]
        };
        // 0 − (…), not −(…), so that a cost of 0 is +0.
        cost[j] = 0.0 - log.max(log_floor);
    }
    if GRAD {
        probs_grad(probs, targets, &v, grad_floor, scale, grad);
    }
    true
}

/// Writes the gradients times `scale` of served probabilities, from the
/// high parts `v` of [`probs_parts`].
///
/// The gradient `[(1 − y)·h − y·(1 − h)] / max(h·(1 − h), grad_floor)` is
/// `∓1/max(v, grad_floor/w)` for a hard target, with `v` as in
/// [`probs_parts`] and `w` the other probability: `1 − h` for target 1 and
/// `h` for target 0. `w = 0` gives `grad_floor/w = ∞` and so the gradient
/// 0 of `h = 1` with target 1 and `h = 0` with target 0. Every lane takes
/// the same two quotients, with no case selected by a mask, and `scale`
/// enters the second one in `f32`.
#[inline(always)]
pub(super) fn probs_grad<const N: usize>(
    probs: &Narrow<N>,
    targets: &Narrow<N>,
    v: &Narrow<N>,
    grad_floor: f32,
    scale: f64,
    grad: &mut Narrow<N>,
) {
    // `scale` rounded to f32 adds half an ulp, and does not underflow
    // (`scale ≥ 2⁻⁶⁴`).
    let scale_f32 = scale as f32;
    for j in 0..N {
        let h = probs[j];
        let positive = targets[j] == 1.0;
        // |y − h|: 1 − h rounded for target 1, h for target 0, with no
        // select, which would let the compiler split the quotient in two.
        let other = (targets[j] - h).abs();
        let magnitude = scale_f32 / max(v[j], grad_floor / other);
        // 0 − m, not −m, so that a gradient of 0 is +0.
        grad[j] = if positive { 0.0 - magnitude } else { magnitude };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LANES;
    use crate::kernel::tables::Scalar;
    use crate::kernel::test_support::ulps;
    use crate::options::ProbClamp;
    use crate::probs::GRAD_DENOMINATOR_FLOOR;
    use crate::reference;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const SAMPLES: usize = 400_000;
    /// The mean's `1/n` for a batch of 1000.
    const SCALE: f64 = 1e-3;

    fn hard_targets(rng: &mut ChaCha8Rng) -> Narrow<LANES> {
        core::array::from_fn(|_| if rng.random_bool(0.5) { 1.0 } else { 0.0 })
    }

    #[test]
    fn hard_logits_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x4a2d_0001);
        let (mut worst_cost, mut worst_grad) = (0, 0);
        for _ in 0..SAMPLES / LANES {
            let values: Narrow<LANES> = core::array::from_fn(|_| {
                if rng.random_bool(0.3) {
                    rng.random_range(-MAX_LOGIT..MAX_LOGIT)
                } else {
                    rng.random_range(-10.0..10.0)
                }
            });
            let targets = hard_targets(&mut rng);
            let mut cost = [0.0; LANES];
            let mut grad = [0.0_f32; LANES];
            let served = super::logits::<true, _, LANES>(
                Scalar, &values, &targets, SCALE, &mut cost, &mut grad,
            );
            assert!(served, "hard targets, logits {values:?}: path not taken");
            for j in 0..LANES {
                let (x, y) = (f64::from(values[j]), f64::from(targets[j]));
                worst_cost = worst_cost.max(ulps(cost[j], reference::logit_cost(x, y, 1.0)));
                let expected = reference::logit_grad(x, y, 1.0) * SCALE;
                worst_grad = worst_grad.max(ulps(grad[j], expected));
            }
        }
        eprintln!("hard logits: cost worst {worst_cost} ulp, grad worst {worst_grad} ulp");
        assert!(
            worst_cost <= 4,
            "cost: worst {worst_cost} ulp, expected <= 4"
        );
        assert!(
            worst_grad <= 4,
            "grad: worst {worst_grad} ulp, expected <= 4"
        );
    }

    #[test]
    fn hard_probs_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x4a2d_0002);
        let floors = (-100.0, GRAD_DENOMINATOR_FLOOR as f32);
        let (mut worst_cost, mut worst_grad) = (0, 0);
        for _ in 0..SAMPLES / LANES {
            let values: Narrow<LANES> = core::array::from_fn(|_| match rng.random_range(0..4) {
                // Normal: a subnormal h with target 1 goes to the general program.
                0 => 10f64.powf(rng.random_range(-37.9..0.0)) as f32,
                1 => (1.0 - 10f64.powf(rng.random_range(-7.5..0.0))) as f32,
                _ => rng.random::<f32>(),
            });
            let targets = hard_targets(&mut rng);
            let mut cost = [0.0; LANES];
            let mut grad = [0.0_f32; LANES];
            let served = super::probs::<true, _, LANES>(
                Scalar, &values, &targets, floors, SCALE, &mut cost, &mut grad,
            );
            assert!(served, "hard targets, probs {values:?}: path not taken");
            for j in 0..LANES {
                let (h, y) = (f64::from(values[j]), f64::from(targets[j]));
                let clamp = ProbClamp::PYTORCH;
                worst_cost = worst_cost.max(ulps(cost[j], reference::prob_cost(h, y, 1.0, clamp)));
                let expected = reference::prob_grad(h, y, 1.0, clamp) * SCALE;
                worst_grad = worst_grad.max(ulps(grad[j], expected));
            }
        }
        eprintln!("hard probs: cost worst {worst_cost} ulp, grad worst {worst_grad} ulp");
        assert!(
            worst_cost <= 4,
            "cost: worst {worst_cost} ulp, expected <= 4"
        );
        assert!(
            worst_grad <= 4,
            "grad: worst {worst_grad} ulp, expected <= 4"
        );
    }

    #[test]
    fn hard_rejects_soft_and_far() {
        let mut cost = [0.0; LANES];
        let mut grad = [0.0_f32; LANES];
        let mut targets = [1.0_f32; LANES];
        targets[3] = 0.5;
        let values = [0.25_f32; LANES];
        let served =
            super::logits::<true, _, LANES>(Scalar, &values, &targets, 1.0, &mut cost, &mut grad);
        assert!(
            !served,
            "logits with a soft target: expected the general program"
        );
        let floors = (-100.0, 1e-12);
        let served = super::probs::<true, _, LANES>(
            Scalar, &values, &targets, floors, 1.0, &mut cost, &mut grad,
        );
        assert!(
            !served,
            "probs with a soft target: expected the general program"
        );

        let targets = [1.0_f32; LANES];
        for far in [87.0, -1e4, f32::INFINITY, f32::NAN] {
            let mut values = [0.25_f32; LANES];
            values[7] = far;
            let served = super::logits::<true, _, LANES>(
                Scalar, &values, &targets, 1.0, &mut cost, &mut grad,
            );
            assert!(!served, "logit {far}: expected the general program");
        }
        for invalid in [-0.5, 1.5, f32::NAN, -0.0, f32::from_bits(1), 1e-39] {
            let mut values = [0.25_f32; LANES];
            values[7] = invalid;
            let served = super::probs::<true, _, LANES>(
                Scalar, &values, &targets, floors, 1.0, &mut cost, &mut grad,
            );
            assert!(
                !served,
                "probability {invalid:e}: expected the general program"
            );
        }
    }
}
