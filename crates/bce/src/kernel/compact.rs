//! The lean `f32` maths of the hard-target path ([`super::hard`]): fewer
//! operations than [`super::narrow`], for arguments that path has already
//! checked (finite, in range, normal where a log needs it), with 32-entry
//! tables ([`super::tables`]) that shorten the polynomials.
//!
//! - [`exp_neg`]: `e^x` for `x ∈ [−87, 0]`. `x = (32k + j)·ln 2/32 + r`
//!   with `|r| ≤ ln 2/64` (Cody–Waite, `ln 2/32` in two parts), then
//!   `2ᵏ·2^(j/32)·eʳ` with `2^(j/32)` from a table in two parts and `eʳ`
//!   by its Taylor series through `r³/6` (truncation below
//!   `0.0109⁴/24 ≈ 6e-10`). Within 2 `f32` ulp; the unit test below
//!   measures it on 2·10⁵ seeded arguments.
//! - [`log_two_part`]: `log(v + lo)` for a normal `v > 0` and a low part
//!   of a few ulp of `v` at most (`|lo| ≤ 2⁻²⁰·v`, so that the dropped
//!   `(lo/v)²/2` is below 2⁻⁴¹). Integer operations on the bits give `v = 2ᵏ·m`
//!   with `m ∈ [0.7421875, 1.484375)`. The top mantissa bits, rounded,
//!   pick a cell of width 1/32 above 1 and 1/64 below, with centre `c`
//!   (`c = 1` for the cell around 1). With `rc` the table's `1/c` in `f32`,
//!   `r = m·rc − 1` (one rounding, `|r| ≤ 1/64`) and
//!   `log v = k·ln 2 − log(rc) + log1p(r)`, `log1p(r)` by its series
//!   through `r⁴/4` (truncation below `r⁵/5`, 0.2 ulp) and `−log(rc)` from
//!   a table in two parts. `lo/v = lo·2⁻ᵏ·rc/(1 + r)` is added as
//!   `lo·2⁻ᵏ·rc·(1 − r)`, off by `r² ≤ 2⁻¹²` of itself. Without the factor
//!   `1 − r` the error would reach 1 ulp of a small result, and 6 ulp for
//!   the sums of `super::hard_sum`, whose `lo` spans several ulp of `v`. Within 2 ulp; the unit test below measures 1.
//!
//! A pair `(v, lo)` is how both forms reach a log with all their bits:
//! `1 + e = v + lo` for a logit's `log1p(e)`, and `1 − h = v + lo` for a
//! probability with target 0 (Fast2Sum in both cases: `|1| ≥ |e|, |h|`).
//! Series only, no fitted coefficients, like [`super::narrow`].

use super::narrow::Narrow;
use super::tables::{EXP2_HI, EXP2_LO, LOG_HI, LOG_LO, LOG_RECIPROCAL, Lookup};

/// `ln 2` split so that `k·LN2_HI` is exact for `|k| < 2⁹`.
const LN2_HI: f32 = 0.693_145_75;
/// `ln 2 − LN2_HI`.
const LN2_LO: f32 = 1.428_606_8e-6;
/// `ln 2/32` to 12 significant bits, so that `n·LN2_32_HI` is exact for
/// `|n| < 2¹²` (`x ≥ −87` gives `|n| ≤ 4017`).
const LN2_32_HI: f32 = 2_839.0 / 131_072.0;
/// `ln 2/32 − LN2_32_HI`, rounded to `f32`.
const LN2_32_LO: f32 = 9.983_182e-7;
/// `32/ln 2`, rounded to `f32`.
const THIRTY_TWO_LOG2_E: f32 = 46.166_24;
/// The bits of `0.7421875`, the bottom of the reduced mantissa range: a
/// cell boundary in both binades the range spans.
const MANTISSA_FLOOR_BITS: u32 = 0x3f3e_0000;
/// Added to a mantissa's bits before the cell is read from bits 18 to 22,
/// so that cells are centred on multiples of their width.
const CELL_ROUNDING: u32 = 1 << 17;
/// `1.5·2²³`: adding it rounds an `f32` below `2²²` to an integer.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// Returns `e^x` for each `x ∈ [−87, 0]` (see the module docs).
#[inline(always)]
pub(crate) fn exp_neg<L: Lookup, const N: usize>(lookup: L, x: &Narrow<N>) -> Narrow<N> {
    let mut index = [0_u32; N];
    let mut p = [0.0_f32; N];
    let mut scale = [0.0_f32; N];
    for j in 0..N {
        let shifted = x[j].mul_add(THIRTY_TWO_LOG2_E, ROUND_MAGIC);
        let n = shifted - ROUND_MAGIC;
        let n_int = shifted.to_bits() as i32 - ROUND_MAGIC.to_bits() as i32;
        let r = n.mul_add(-LN2_32_HI, x[j]);
        let r = n.mul_add(-LN2_32_LO, r);
        let t = r.mul_add(1.0 / 6.0, 0.5);
        let t = t.mul_add(r, 1.0);
        p[j] = t.mul_add(r, 1.0);
        index[j] = n_int as u32;
        // n = 32k + j with j ≥ 0: k = n >> 5, and 2ᵏ is normal (k ≥ −126).
        scale[j] = f32::from_bits((((n_int >> 5) + 127) as u32) << 23);
    }
    let high = lookup.lookup(&EXP2_HI, &index);
    let low = lookup.lookup(&EXP2_LO, &index);
    // Loops, not `array::from_fn`, which may not inline into the function
    // compiled for the instruction set (its `mul_add` would then be a call).
    let mut e = [0.0_f32; N];
    for j in 0..N {
        e[j] = high[j].mul_add(p[j], low[j] * p[j]) * scale[j];
    }
    e
}

/// Returns `log(v + lo)` for each normal `v > 0` with `|lo| ≤ 2⁻²⁰·v`
/// (see the module docs). Other `v` give finite garbage: callers select
/// what those lanes need.
#[inline(always)]
pub(crate) fn log_two_part<L: Lookup, const N: usize>(
    lookup: L,
    v: &Narrow<N>,
    lo: &Narrow<N>,
) -> Narrow<N> {
    log_two_part_scaled(lookup, v, lo, &[0; N])
}

/// Returns `log((v + lo)·2^exponent)` for each `v` and `lo` as in
/// [`log_two_part`] and `exponent` with `|exponent + log₂ v| < 2⁹`, within
/// 2 ulp: the `exponent` joins `k`, whose product with `ln 2` in two parts
/// stays exact.
#[inline(always)]
pub(crate) fn log_two_part_scaled<L: Lookup, const N: usize>(
    lookup: L,
    v: &Narrow<N>,
    lo: &Narrow<N>,
    exponent: &[i32; N],
) -> Narrow<N> {
    let mut k = [0_i32; N];
    let mut m = [0.0_f32; N];
    let mut cell = [0_u32; N];
    for j in 0..N {
        let bits = v[j].to_bits();
        // k = floor(log₂(v/0.7421875)); m = v·2⁻ᵏ, exact.
        k[j] = (bits.wrapping_sub(MANTISSA_FLOOR_BITS) as i32) >> 23;
        let m_bits = bits.wrapping_sub((k[j] as u32) << 23);
        m[j] = f32::from_bits(m_bits);
        cell[j] = m_bits.wrapping_add(CELL_ROUNDING) >> 18;
    }
    let reciprocal = lookup.lookup(&LOG_RECIPROCAL, &cell);
    let table_high = lookup.lookup(&LOG_HI, &cell);
    let table_low = lookup.lookup(&LOG_LO, &cell);
    let mut log = [0.0_f32; N];
    for j in 0..N {
        let r = m[j].mul_add(reciprocal[j], -1.0);
        let t = (-0.25_f32).mul_add(r, 1.0 / 3.0);
        let t = t.mul_add(r, -0.5);
        let series = (r * r).mul_add(t, r);
        // lo/v = lo·2⁻ᵏ·rc/(1 + r) ≈ lo·2⁻ᵏ·rc·(1 − r) (see the module
        // docs); 2⁻ᵏ is normal for every normal v.
        let inverse_scale = f32::from_bits(((127 - k[j]) as u32) << 23);
        let low = lo[j] * inverse_scale * reciprocal[j];
        let low = (-low).mul_add(r, low);
        let kf = (k[j] + exponent[j]) as f32;
        let tail = kf.mul_add(LN2_LO, table_low[j] + low);
        log[j] = kf.mul_add(LN2_HI, table_high[j] + (series + tail));
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LANES;
    use crate::kernel::tables::Scalar;
    use crate::kernel::test_support::ulps;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const SAMPLES: usize = 200_000;

    #[test]
    fn compact_constants() {
        let ln2_32 = core::f64::consts::LN_2 / 32.0;
        let split = f64::from(LN2_32_HI) + f64::from(LN2_32_LO);
        assert!(
            (split - ln2_32).abs() < 1e-13,
            "LN2_32_HI + LN2_32_LO: off ln 2/32 by {:e}",
            split - ln2_32
        );
        // 12 significant bits: the product with any |n| < 2¹² is exact.
        let scaled = f64::from(LN2_32_HI) * 131_072.0;
        assert!(
            scaled.fract() == 0.0 && scaled < 4096.0,
            "LN2_32_HI: expected a multiple of 2⁻¹⁷ below 2⁻⁵, got {LN2_32_HI:e}"
        );
        let expected = (32.0 / core::f64::consts::LN_2) as f32;
        assert!(
            THIRTY_TWO_LOG2_E == expected,
            "32/ln 2: expected {expected:e}, got {THIRTY_TWO_LOG2_E:e}"
        );
    }

    #[test]
    fn compact_exp_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x0c01);
        let mut worst = 0;
        for _ in 0..SAMPLES / LANES {
            let x: Narrow<LANES> = core::array::from_fn(|_| rng.random_range(-87.0_f32..=0.0));
            let e = exp_neg(Scalar, &x);
            for j in 0..LANES {
                worst = worst.max(ulps(e[j], f64::from(x[j]).exp()));
            }
        }
        eprintln!("exp_neg: worst {worst} ulp");
        assert!(worst <= 2, "exp_neg: worst {worst} ulp, expected <= 2");
    }

    #[test]
    fn compact_log_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x0c02);
        let mut worst = 0;
        for _ in 0..SAMPLES / LANES {
            // Two-part sums 1 + e and 1 − h, and plain normal values.
            let mut v = [0.0_f32; LANES];
            let mut lo = [0.0_f32; LANES];
            let mut exact = [0.0_f64; LANES];
            for j in 0..LANES {
                let a = 10f64.powf(rng.random_range(-40.0..0.0)) as f32;
                match rng.random_range(0..3) {
                    0 => {
                        v[j] = 1.0 + a;
                        lo[j] = a - (v[j] - 1.0);
                        exact[j] = f64::from(a).ln_1p();
                    }
                    1 => {
                        let h = a.min(0.5);
                        v[j] = 1.0 - h;
                        lo[j] = (1.0 - v[j]) - h;
                        exact[j] = (-f64::from(h)).ln_1p();
                    }
                    _ => {
                        v[j] = (10f64.powf(rng.random_range(-37.9..38.0)) as f32)
                            .max(f32::MIN_POSITIVE);
                        exact[j] = f64::from(v[j]).ln();
                    }
                }
            }
            let log = log_two_part(Scalar, &v, &lo);
            for j in 0..LANES {
                worst = worst.max(ulps(log[j], exact[j]));
            }
        }
        eprintln!("log_two_part: worst {worst} ulp");
        assert!(worst <= 2, "log_two_part: worst {worst} ulp, expected <= 2");
    }
}
