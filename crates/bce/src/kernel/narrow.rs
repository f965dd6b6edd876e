//! `exp` and `log` in `f32` lanes (16 per AVX-512 vector) for `f32` inputs.
//!
//! The kernels widen these results to `f64`, combine them with the targets
//! and weights there, and round once to `f32`. Measured against `std` in
//! `f64` by the unit tests below (2·10⁵ seeded arguments each):
//!
//! - [`softplus_parts`]: `e^(−|x|)` by a Cody–Waite reduction
//!   `x = k·ln 2 + r` in `f32` and the Taylor series of `eʳ` through
//!   `r⁷/7!` (truncation below `0.347⁸/8! ≈ 5e-9`): within `1.2e-7`
//!   relative (2 `f32` ulp), measured `7.3e-8`. `log1p(e)` from it: within
//!   2 ulp, measured 1.
//! - [`log_parts`] and [`log_from_parts`]: `w = 2ᵏ·(1 + d)` with `d`
//!   exact, `log(1 + d) = 2·atanh(d/(2 + d))` by the series through
//!   `s¹¹/11` with the quotient's rounding error recovered (see
//!   [`atanh_series`]): within 1 ulp, measured 1.
//!
//! Series only, no fitted coefficients. Over the 10⁷ inputs of
//! `tests/kernels.rs`, the `f32` costs and gradients are within 2 ulp of
//! the `f64` oracle rounded to `f32` (the tests enforce 4). The
//! hard-target path has its own, leaner maths in [`super::compact`].

/// `2²⁵`: lifts any subnormal `f32` into the normal range.
const SUBNORMAL_LIFT: f32 = 33_554_432.0;
/// `√2`, the top of the reduced mantissa range.
const SQRT_2: f32 = core::f32::consts::SQRT_2;

/// `1/(2j + 1)` for `j = 5, 4, …, 1`, highest first.
const ATANH_TAIL: [f32; 5] = [1.0 / 11.0, 1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0];

/// Lanes of `f64` values.
pub(crate) type Wide<const N: usize> = [f64; N];
/// Lanes of `f32` values.
pub(crate) type Narrow<const N: usize> = [f32; N];

/// Splits each `w > 0` (subnormals included) into `k` and `d`, with
/// `w = 2ᵏ·(1 + d)` and `1 + d ∈ [√½, √2)`; `d` is exact and `k` an
/// integer. `w = 0` gives finite garbage: callers select `−∞`.
#[inline(always)]
pub(crate) fn log_parts<const N: usize>(w: &Narrow<N>) -> (Narrow<N>, Narrow<N>) {
    let mut k = [0.0_f32; N];
    let mut d = [0.0_f32; N];
    for j in 0..N {
        let tiny = w[j] < f32::MIN_POSITIVE;
        let lifted = if tiny { w[j] * SUBNORMAL_LIFT } else { w[j] };
        let bits = lifted.to_bits();
        let exponent = ((bits >> 23) & 0xff) as i32 - 127 - if tiny { 25 } else { 0 };
        let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
        let high = mantissa >= SQRT_2;
        let mantissa = if high { mantissa * 0.5 } else { mantissa };
        k[j] = (exponent + i32::from(high)) as f32;
        d[j] = mantissa - 1.0;
    }
    (k, d)
}

/// Returns `k·ln 2 + log(1 + d)` in `f32` for each `d ∈ [√½ − 1, √2 − 1]`
/// (exact) and integer `|k| < 2⁹`: the compensated `2·atanh(d/(2 + d))`
/// of [`atanh_series`] plus `k·ln 2` in two parts. Within about 1 `f32`
/// ulp.
#[inline(always)]
pub(crate) fn log_from_parts<const N: usize>(k: &Narrow<N>, d: &Narrow<N>) -> Narrow<N> {
    let mut log = [0.0_f32; N];
    for j in 0..N {
        let series = atanh_series(d[j]);
        log[j] = k[j].mul_add(LN2_HI_F32, k[j].mul_add(LN2_LO_F32, series));
    }
    log
}

/// Returns `log(1 + d) = 2·atanh(s)`, `s = d/(2 + d)`, for `d` exact in
/// `f32` with `|d| ≤ ½`. The quotient's remainder is recovered exactly
/// (`2 + d` as a two-term sum, the remainder by `mul_add`), so `s` carries
/// about 45 bits, and the series `2s·(1 + z/3 + … + z⁵/11)`, `z = s²`
/// (truncation below `0.04⁶/13 ≈ 3e-10`), rounds once at the end.
#[inline(always)]
fn atanh_series(d: f32) -> f32 {
    let denominator = 2.0 + d;
    // 2 + d = denominator + denominator_low exactly (|d| ≤ 2).
    let denominator_low = (2.0 - denominator) + d;
    let q = d / denominator;
    // The remainder d − q·(2 + d), exact up to the tiny product with
    // denominator_low, divided by ≈ 2 + d (1% suffices).
    let remainder = (-q).mul_add(denominator, d) - q * denominator_low;
    let reciprocal = (0.125 * d).mul_add(d, (-0.25_f32).mul_add(d, 0.5));
    let q_low = remainder * reciprocal;
    let z = q * q;
    let mut t = ATANH_TAIL[0];
    for c in &ATANH_TAIL[1..] {
        t = t.mul_add(z, *c);
    }
    let twice = 2.0 * q;
    twice.mul_add(z * t, 2.0 * q_low) + twice
}

/// `1.5·2²³`: adding it rounds an `f32` below `2²²` to an integer.
const ROUND_MAGIC_F32: f32 = 12_582_912.0;
/// Lower clamp of the `f32` `exp` argument: `e⁻³⁰⁰ ≈ 5e-131` stays 0 in
/// `f32` even times the largest weight and `pos_weight` (`3.4e38` each),
/// and `|k| ≤ 433` keeps `k·LN2_HI_F32` exact and `2ᵏ` a normal `f64`.
const EXP_MIN_ARG_F32: f32 = -300.0;
/// `ln 2` split so that `k·LN2_HI_F32` is exact for `|k| < 2⁹`: the
/// `f32` nearest this literal is `0x3f31_7200` = `0.693145751953125`.
const LN2_HI_F32: f32 = 0.693_145_75;
/// `ln 2 − LN2_HI_F32`.
const LN2_LO_F32: f32 = 1.428_606_8e-6;
/// `1/k!` for `k = 7, 6, …, 1`, highest first (with a final `+1`).
const EXP_SERIES_F32: [f32; 7] = [
    1.0 / 5_040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
];

/// `e = e^(−|x|)` and `log1p(e)` for `f32` logits, in `f32` lanes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SoftplusParts<const N: usize> {
    /// `e`, rounded to `f32`: exact scaling down to `2⁻¹²⁶`
    /// ([`FAR_EXPONENT`]); below, use `mantissa·2^exponent` in `f64`.
    pub(crate) exp: Narrow<N>,
    /// `p ∈ [0.7, 1.42]` with `e = p·2^exponent`.
    pub(crate) mantissa: Narrow<N>,
    /// The exponent `k` of `e = p·2ᵏ`.
    pub(crate) exponent: [i32; N],
    /// `log1p(e)`, which is `e` itself below `2⁻²⁶`.
    pub(crate) log1p: Narrow<N>,
}

/// Below this exponent `e` is not a normal `f32`, and `log1p(e) = e` must
/// be scaled in `f64`.
pub(crate) const FAR_EXPONENT: i32 = -125;

/// Below `2⁻²⁶`, `log1p(t) = t` to `f32` precision.
pub(crate) const LINEAR_BELOW_F32: f32 = 1.0 / 67_108_864.0;

/// Returns [`SoftplusParts`] of each logit, all in `f32` lanes.
///
/// `exp`: Cody–Waite reduction `k·ln 2 + r` in `f32` (`k·LN2_HI_F32`
/// exact), Taylor series through `r⁷/7!` (truncation below `0.347⁸/8! ≈
/// 5e-9`), so `e` is within about 1 `f32` ulp. `log1p(e)`: `d = e` below
/// ½, else `ln 2 + log(1 + (e − 1)/2)` (exact `d`), then
/// [`atanh_series`]: within 2 `f32` ulp with the error of `e`.
#[inline(always)]
pub(crate) fn softplus_parts<const N: usize>(logits: &Narrow<N>) -> SoftplusParts<N> {
    let mut exp = [0.0_f32; N];
    let mut mantissa = [0.0_f32; N];
    let mut exponent = [0_i32; N];
    let mut shared = [0.0_f32; N];
    for j in 0..N {
        let x = (-logits[j].abs()).max(EXP_MIN_ARG_F32);
        let shifted = x.mul_add(core::f32::consts::LOG2_E, ROUND_MAGIC_F32);
        let k = shifted - ROUND_MAGIC_F32;
        let k_int = shifted.to_bits() as i32 - ROUND_MAGIC_F32.to_bits() as i32;
        let r = k.mul_add(-LN2_HI_F32, x);
        let r = k.mul_add(-LN2_LO_F32, r);
        let mut p = EXP_SERIES_F32[0];
        for c in &EXP_SERIES_F32[1..] {
            p = p.mul_add(r, *c);
        }
        let p = p.mul_add(r, 1.0);
        let e = p * f32::from_bits(((k_int.max(-126) + 127) as u32) << 23);

        let low = e < 0.5;
        let d = if low { e } else { (e - 1.0) * 0.5 };
        let series = atanh_series(d);
        let (high, low_part) = if low {
            (0.0, 0.0)
        } else {
            (LN2_HI_F32, LN2_LO_F32)
        };
        exp[j] = e;
        mantissa[j] = p;
        exponent[j] = k_int;
        shared[j] = if e < LINEAR_BELOW_F32 {
            e
        } else {
            high + (low_part + series)
        };
    }
    SoftplusParts {
        exp,
        mantissa,
        exponent,
        log1p: shared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LANES;
    use crate::kernel::test_support::ulps;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const SAMPLES: usize = 200_000;

    #[test]
    fn narrow_softplus_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x0e32);
        let mut worst_exp: f64 = 0.0;
        let mut worst_log = 0;
        for _ in 0..SAMPLES / LANES {
            let x: Narrow<LANES> = core::array::from_fn(|_| rng.random_range(-120.0_f32..120.0));
            let parts = softplus_parts::<LANES>(&x);
            for (j, &x) in x.iter().enumerate() {
                let e = f64::from(parts.mantissa[j]) * 2f64.powi(parts.exponent[j]);
                let expected = (-f64::from(x).abs()).exp();
                worst_exp = worst_exp.max(((e - expected) / expected).abs());
                if parts.exponent[j] >= FAR_EXPONENT {
                    worst_log = worst_log.max(ulps(parts.log1p[j], expected.ln_1p()));
                }
            }
        }
        eprintln!("exp: worst {worst_exp:e} relative; log1p: worst {worst_log} ulp");
        assert!(
            worst_exp <= 1.2e-7,
            "exp: worst relative error {worst_exp:e}, expected <= 1.2e-7"
        );
        assert!(
            worst_log <= 2,
            "log1p(e): worst {worst_log} ulp, expected <= 2"
        );
    }

    #[test]
    fn narrow_ln2_split() {
        let high = LN2_HI_F32.to_bits();
        assert!(
            high == 0x3f31_7200,
            "LN2_HI_F32: expected 0x3f317200, got {high:#x}"
        );
        let sum = f64::from(LN2_HI_F32) + f64::from(LN2_LO_F32);
        let error = (sum - core::f64::consts::LN_2).abs();
        assert!(
            error < 1e-13,
            "LN2_HI_F32 + LN2_LO_F32: off ln 2 by {error:e}"
        );
    }

    #[test]
    fn narrow_log_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x1032);
        let mut worst = 0;
        for _ in 0..SAMPLES / LANES {
            // Down to the smallest f32 subnormal (1.4e-45).
            let w: Narrow<LANES> = core::array::from_fn(|_| {
                (10f64.powf(rng.random_range(-44.8..38.0)) as f32).max(f32::from_bits(1))
            });
            let (k, d) = log_parts(&w);
            let log = log_from_parts::<LANES>(&k, &d);
            for j in 0..LANES {
                worst = worst.max(ulps(log[j], f64::from(w[j]).ln()));
            }
        }
        eprintln!("log: worst {worst} ulp");
        assert!(worst <= 1, "log: worst {worst} ulp, expected <= 1");
    }
}
