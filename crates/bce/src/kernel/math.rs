//! Branch-free `f64` exp and log for the kernels' lane loops.
//!
//! Each function takes and returns one `f64` and is `#[inline(always)]`, so
//! a loop over a block of lanes inlines it and the compiler vectorizes the
//! loop for whichever instruction set the dispatch selected. Every multiply-add
//! is an explicit `mul_add`, so every dispatch path rounds identically (the
//! portable x86 path pays for a software `fma` call).
//!
//! Polynomials (no fitted coefficients, so nothing to trust but the series):
//!
//! - `exp`: Cody–Waite reduction `x = k·ln 2 + r`, `|r| ≤ ln 2 / 2`, then the
//!   Taylor series of `eʳ` through `r¹³/13!`. The truncation error is below
//!   `0.347¹⁴/14! ≈ 4e-18` relative.
//! - `log`: `w = 2ᵏ·(1 + d)` with `1 + d ∈ [√½, √2)`, then
//!   `log(1 + d) = 2·atanh(s)`, `s = d/(2 + d)`, `|s| ≤ 0.1716`, by the
//!   series `2s·Σ s²ʲ/(2j + 1)` through `j = 10`. The truncation error is
//!   below `0.02944¹¹/23 ≈ 6e-19` relative.
//!
//! The unit tests below check both against `std`'s `exp`, `ln` and `ln_1p`
//! over 2·10⁵ seeded arguments each: `exp` within 2 ulp, `log` and `log1p`
//! within 3 ulp of `f64` (with `precise`).

/// `ln 2` split so that `k·LN2_HI` is exact for `|k| < 2¹¹` (fdlibm's split).
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
/// `ln 2 − LN2_HI`.
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// `ln 2` rounded to `f64`.
pub(crate) const LN2: f64 = core::f64::consts::LN_2;
/// `1.5·2⁵²`: adding it rounds a value below `2⁵¹` to an integer kept in the
/// low mantissa bits.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;
/// Below this argument `eˣ` rounds to 0 in `f64` (`ln(2⁻¹⁰⁷⁵) ≈ −745.13`).
const EXP_MIN_ARG: f64 = -746.0;
/// `√2`, the top of the reduced mantissa range of [`log_parts`].
const SQRT_2: f64 = core::f64::consts::SQRT_2;
/// `2⁻¹⁰²²`, the smallest normal `f64`.
const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
/// `2⁵⁴`, which lifts any subnormal `f64` into the normal range.
const SUBNORMAL_LIFT: f64 = 18_014_398_509_481_984.0;

/// `1/k!` for `k = 13, 12, …, 2`, highest first (Taylor series of `eʳ`).
const EXP_TAYLOR: [f64; 12] = [
    1.0 / 6_227_020_800.0,
    1.0 / 479_001_600.0,
    1.0 / 39_916_800.0,
    1.0 / 3_628_800.0,
    1.0 / 362_880.0,
    1.0 / 40_320.0,
    1.0 / 5_040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
];

/// `1/(2j + 1)` for `j = 10, 9, …, 1`, highest first (series of `atanh(s)/s`).
const ATANH_SERIES: [f64; 10] = [
    1.0 / 21.0,
    1.0 / 19.0,
    1.0 / 17.0,
    1.0 / 15.0,
    1.0 / 13.0,
    1.0 / 11.0,
    1.0 / 9.0,
    1.0 / 7.0,
    1.0 / 5.0,
    1.0 / 3.0,
];

/// Taylor terms [`exp_nonpositive`] skips when not `precise`: it stops at
/// `r⁸/8!`, a truncation error below `0.347⁹/9! ≈ 2e-10` relative.
const EXP_SHORT_SKIP: usize = 5;

/// Series terms [`log_finish`] skips when not `precise`: it stops at
/// `j = 5`, a truncation error below `0.02944⁶/13 ≈ 5e-11` relative.
const ATANH_SHORT_SKIP: usize = 5;

/// Returns `eˣ` for `x ≤ 0` (including `−∞`, which gives 0). Arguments
/// above 0 are not used by the kernels and lose accuracy past `2¹⁰`.
/// `precise` selects the full series (a few `f64` ulp); without it the
/// result is good to about `2e-10` relative, enough for results rounded to
/// `f32` that do not cancel.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f64, precise: bool) -> f64 {
    let x = x.max(EXP_MIN_ARG);
    let shifted = x.mul_add(core::f64::consts::LOG2_E, ROUND_MAGIC);
    let k = shifted - ROUND_MAGIC;
    let k_int = shifted.to_bits() as i64 - ROUND_MAGIC.to_bits() as i64;
    let r = k.mul_add(-LN2_LO, k.mul_add(-LN2_HI, x));

    let series = if precise {
        &EXP_TAYLOR[..]
    } else {
        &EXP_TAYLOR[EXP_SHORT_SKIP..]
    };
    let mut p = series[0];
    for c in &series[1..] {
        p = p.mul_add(r, *c);
    }
    let p = p.mul_add(r, 1.0).mul_add(r, 1.0);

    // 2ᵏ in two factors, so that k down to −1076 scales into the subnormal
    // range with a single rounding.
    let half = k_int >> 1;
    let first = f64::from_bits(((half + 1023) as u64) << 52);
    let second = f64::from_bits(((k_int - half + 1023) as u64) << 52);
    p * first * second
}

/// `log(w) = k·ln 2 + log(1 + d)`, split for the shared division in the
/// kernels: the caller computes `s = d/(2 + d)` and passes it to [`log_finish`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogParts {
    pub(crate) k: f64,
    pub(crate) d: f64,
}

/// Splits `w > 0` (subnormals included) into `2ᵏ·(1 + d)`, `1 + d ∈ [√½, √2)`.
/// `d` is exact. `w = 0` gives a finite garbage value: callers select `−∞`.
#[inline(always)]
pub(crate) fn log_parts(w: f64) -> LogParts {
    let tiny = w < MIN_NORMAL;
    let lifted = if tiny { w * SUBNORMAL_LIFT } else { w };
    let bits = lifted.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023 - if tiny { 54 } else { 0 };
    let mantissa = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let high = mantissa >= SQRT_2;
    let mantissa = if high { mantissa * 0.5 } else { mantissa };
    let k = exponent as f64 + if high { 1.0 } else { 0.0 };
    LogParts {
        k,
        d: mantissa - 1.0,
    }
}

/// Parts of `log1p(d)` for `d` in `[√½ − 1, √2 − 1]`, where `1 + d` need not
/// be formed.
#[inline(always)]
pub(crate) fn log1p_parts_small(d: f64) -> LogParts {
    LogParts { k: 0.0, d }
}

/// Returns `k·ln 2 + 2·atanh(s)`, with `s = d/(2 + d)` from [`LogParts`].
/// Without `precise` the result is good to about `5e-11` relative.
#[inline(always)]
pub(crate) fn log_finish(k: f64, s: f64, precise: bool) -> f64 {
    let z = s * s;
    let series = if precise {
        &ATANH_SERIES[..]
    } else {
        &ATANH_SERIES[ATANH_SHORT_SKIP..]
    };
    let mut p = series[0];
    for c in &series[1..] {
        p = p.mul_add(z, *c);
    }
    let p = p.mul_add(z, 1.0);
    k.mul_add(LN2, 2.0 * s * p)
}

/// Parts of `log1p(e)` for `e ∈ [0, 1]`: `d = e` below `√2 − 1`, else
/// `log1p(e) = ln 2 + log(1 + (e − 1)/2)`.
#[inline(always)]
pub(crate) fn log1p_unit_parts(e: f64) -> LogParts {
    if e < SQRT_2 - 1.0 {
        LogParts { k: 0.0, d: e }
    } else {
        LogParts {
            k: 1.0,
            d: (e - 1.0) * 0.5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Distance in units in the last place between two finite `f64`.
    fn ulps(a: f64, b: f64) -> u64 {
        let key = |v: f64| {
            let bits = v.to_bits() as i64;
            if bits < 0 { i64::MIN - bits } else { bits }
        };
        key(a).abs_diff(key(b))
    }

    fn log_via_parts(w: f64) -> f64 {
        let parts = log_parts(w);
        log_finish(parts.k, parts.d / (2.0 + parts.d), true)
    }

    fn log1p_unit(e: f64) -> f64 {
        let parts = log1p_unit_parts(e);
        log_finish(parts.k, parts.d / (2.0 + parts.d), true)
    }

    const SAMPLES: usize = 200_000;

    #[test]
    fn math_exp_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x0e4b);
        let mut worst = 0;
        for _ in 0..SAMPLES {
            let x: f64 = rng.random_range(-745.0..0.0);
            let error = ulps(exp_nonpositive(x, true), x.exp());
            // Subnormal results have fewer bits: compare those absolutely.
            if x.exp() >= MIN_NORMAL {
                worst = worst.max(error);
            }
        }
        assert!(worst <= 2, "exp: worst error {worst} ulp, expected <= 2");
    }

    #[test]
    fn math_exp_edges() {
        for (x, expected) in [
            (0.0, 1.0),
            (-0.0, 1.0),
            (f64::NEG_INFINITY, 0.0),
            (-746.0, 0.0),
            (-1e300, 0.0),
        ] {
            let actual = exp_nonpositive(x, true);
            assert!(
                actual == expected,
                "exp({x}): expected {expected}, got {actual}"
            );
        }
        let x = -740.0;
        let (actual, expected) = (exp_nonpositive(x, true), x.exp());
        assert!(
            (actual - expected).abs() <= f64::from_bits(1),
            "exp({x}) (subnormal): expected {expected:e}, got {actual:e}"
        );
    }

    #[test]
    fn math_log_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x1065);
        let mut worst = 0;
        for _ in 0..SAMPLES {
            let w = 10f64.powf(rng.random_range(-320.0..300.0));
            worst = worst.max(ulps(log_via_parts(w), w.ln()));
        }
        assert!(worst <= 3, "log: worst error {worst} ulp, expected <= 3");
    }

    #[test]
    fn math_log1p_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x1091);
        let mut worst = 0;
        for _ in 0..SAMPLES {
            let e = if rng.random_bool(0.5) {
                rng.random::<f64>()
            } else {
                10f64.powf(rng.random_range(-300.0..0.0))
            };
            worst = worst.max(ulps(log1p_unit(e), e.ln_1p()));
            let small = -rng.random_range(0.0..0.29);
            let parts = log1p_parts_small(small);
            let actual = log_finish(parts.k, parts.d / (2.0 + parts.d), true);
            worst = worst.max(ulps(actual, small.ln_1p()));
        }
        assert!(worst <= 3, "log1p: worst error {worst} ulp, expected <= 3");
    }
}
