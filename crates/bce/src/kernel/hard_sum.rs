//! The hard-target path for the mean and sum reductions, where only the sum
//! of the costs is wanted. Each lane sums its costs in a chunk as the log
//! of a product. A chunk of `N` elements thus takes [`LANES`] logs, not
//! `N`.
//!
//! - Logits: `sp(z) = max(z, 0) + log(v + lo)` with `v + lo = 1 + e ∈ [1, 2]`
//!   ([`super::hard::softplus_parts`]). A lane multiplies its pairs and
//!   adds its `max(z, 0)` terms in `f64`.
//! - Probabilities: the cost is `−log(v + lo)` with `v ∈ [2⁻¹²⁶, 1]`
//!   ([`super::hard::probs_parts`]). Each pair is first split exactly into
//!   `2ᵏ·(m + lo·2⁻ᵏ)` with `m ∈ [1, 2)`, so that products cannot
//!   underflow. A lane multiplies the `m` pairs and adds the `k`, and
//!   [`super::compact::log_two_part_scaled`] takes that sum as an exponent. A lost
//!   probability (`h = 0` for target 1, `h = 1` for target 0) has `v = 0`,
//!   which splits into `m = 1` and `k = −127`. Its cost is `−log_floor`,
//!   so it adds `−log_floor − 127·ln 2` besides. The product form needs the
//!   floor below every normal log ([`PRODUCT_LOG_FLOOR`]); other floors
//!   sum the per-element costs.
//!
//! A chunk has at most four groups, so a lane's product stays below 16 and
//! its exponent above `−4·127`, inside the log's range.
//!
//! Error: the product of two pairs is `a·b` with its exact rounding error
//! (`mul_add`) plus `a·lo_b + lo_a·b`, rounded twice in `f32` relative to
//! that low part, and `lo_a·lo_b` (below 2⁻⁴⁶ of the product) dropped. A
//! lane's product therefore carries about 2⁻⁴⁶ relative error, which adds
//! about 2⁻⁴⁶ to the log: a fraction of an ulp of any lane sum above
//! 2⁻²². Below that, every factor is within 2⁻²² of 1, its high part is
//! exactly 1 or 1 + 2⁻²³, and the low parts add with relative precision.
//! The log adds its 2 ulp (see [`super::compact`]). The hard-target tests
//! in `tests/kernels.rs` and `tests/hard_path_edges.rs` check the sums
//! against the `f64` oracle within 4 ulp.

use super::LANES;
use super::compact;
use super::hard::{self, SoftplusParts};
use super::narrow::Narrow;
use super::tables::Lookup;

/// The highest log floor of the product form for probabilities: below the
/// log of the smallest normal `f32` (`−87.34`), so that the floor only
/// acts where `v = 0`.
pub(crate) const PRODUCT_LOG_FLOOR: f32 = -88.0;

/// Returns the costs of a group of logits with hard targets summed by lane
/// (lane `j` adds elements `j, j + LANES, …` of the first `valid`), and
/// writes the gradients times `scale` when `GRAD`. Returns `None`, with
/// the gradient unspecified, where [`hard::logits`] would return `false`.
#[inline(always)]
pub(crate) fn logits_sum<const GRAD: bool, L: Lookup, const N: usize>(
    lookup: L,
    logits: &Narrow<N>,
    targets: &Narrow<N>,
    valid: usize,
    scale: f64,
    grad: &mut Narrow<N>,
) -> Option<[f64; LANES]> {
    if !hard::logits_served(logits, targets) {
        return None;
    }
    let SoftplusParts { e, mut v, mut lo } = hard::softplus_parts(lookup, logits);
    if GRAD {
        let parts = SoftplusParts { e, v, lo };
        hard::logits_grad(logits, targets, &parts, scale, grad);
    }
    let mut linear = [0.0_f32; N];
    for j in 0..N {
        let counted = j < valid;
        let z = hard::signed_logit(logits[j], targets[j]);
        linear[j] = if counted { z.max(0.0) } else { 0.0 };
        v[j] = if counted { v[j] } else { 1.0 };
        lo[j] = if counted { lo[j] } else { 0.0 };
    }
    let (high, low) = lane_products(&v, &lo);
    let log = compact::log_two_part(lookup, &high, &low);
    Some(lane_sums(&log, 1.0, &linear))
}

/// Returns the costs of a group of probabilities with hard targets summed
/// by lane, as [`logits_sum`] does, under `ProbClamp::LogMin` with
/// `log_floor ≤` [`PRODUCT_LOG_FLOOR`] (`grad_floor` as in
/// [`hard::probs`]). Returns `None` where [`hard::probs`] would return
/// `false`.
#[inline(always)]
pub(crate) fn probs_sum<const GRAD: bool, L: Lookup, const N: usize>(
    lookup: L,
    probs: &Narrow<N>,
    targets: &Narrow<N>,
    (log_floor, grad_floor): (f32, f32),
    valid: usize,
    scale: f64,
    grad: &mut Narrow<N>,
) -> Option<[f64; LANES]> {
    let (mut v, mut lo) = hard::probs_parts(probs, targets)?;
    if GRAD {
        hard::probs_grad(probs, targets, &v, grad_floor, scale, grad);
    }

    // A lost probability (v = 0, and then lo = 0) splits into m = 1 and
    // k = −127, which adds 127·ln 2 to the cost: its floor term takes that
    // back. Either way, the term is its element's cost or less.
    let lost_cost = (-f64::from(log_floor) - 127.0 * core::f64::consts::LN_2) as f32;
    let mut floored = [0.0_f32; N];
    let mut exponent = [0_i32; N];
    for j in 0..N {
        let counted = j < valid;
        let lost = counted & (v[j] == 0.0);
        floored[j] = if lost { lost_cost } else { 0.0 };
        // v = 2ᵏ·m exactly, m ∈ [1, 2), and lo·2⁻ᵏ exact: lo is nonzero
        // only for target 0, where v ≥ 2⁻²⁴.
        let bits = v[j].to_bits();
        let k = (bits >> 23) as i32 - 127;
        let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
        let inverse_scale = f32::from_bits(((127 - k) as u32) << 23);
        exponent[j] = if counted { k } else { 0 };
        lo[j] = if counted { lo[j] * inverse_scale } else { 0.0 };
        v[j] = if counted { m } else { 1.0 };
    }

    let (high, low) = lane_products(&v, &lo);
    let mut lane_exponent = [0_i32; LANES];
    for group in 0..N / LANES {
        for j in 0..LANES {
            lane_exponent[j] += exponent[group * LANES + j];
        }
    }
    let log = compact::log_two_part_scaled(lookup, &high, &low, &lane_exponent);
    Some(lane_sums(&log, -1.0, &floored))
}

/// Returns the costs of the first `valid` of `cost` summed by lane in
/// `f64`: the per-element form of [`logits_sum`] and [`probs_sum`], for
/// settings the product form does not serve.
#[inline(always)]
pub(crate) fn per_element_sum<const N: usize>(cost: &Narrow<N>, valid: usize) -> [f64; LANES] {
    let mut sums = [0.0; LANES];
    for (group, costs) in cost.chunks_exact(LANES).enumerate() {
        for (j, (sum, &cost)) in sums.iter_mut().zip(costs).enumerate() {
            if group * LANES + j < valid {
                *sum += f64::from(cost);
            }
        }
    }
    sums
}

/// Returns, for each lane, the product of its pairs `v + lo` over the
/// groups of the chunk, as a pair (see the module docs for its error).
#[inline(always)]
fn lane_products<const N: usize>(v: &Narrow<N>, lo: &Narrow<N>) -> ([f32; LANES], [f32; LANES]) {
    const { assert!(N.is_multiple_of(LANES) && N / LANES <= 4) };
    let mut high = [0.0_f32; LANES];
    let mut low = [0.0_f32; LANES];
    high.copy_from_slice(&v[..LANES]);
    low.copy_from_slice(&lo[..LANES]);
    for group in 1..N / LANES {
        for j in 0..LANES {
            let (factor, factor_low) = (v[group * LANES + j], lo[group * LANES + j]);
            let product = high[j] * factor;
            let error = high[j].mul_add(factor, -product);
            let tail = high[j].mul_add(factor_low, error);
            low[j] = low[j].mul_add(factor, tail);
            high[j] = product;
        }
    }
    (high, low)
}

/// Returns `sign·log` plus each lane's `linear` terms: the terms added in
/// `f32` (pairwise for four groups, in order for fewer), then both parts in
/// `f64`.
///
/// Each term is 0 or at most its element's cost (see the callers). The
/// `f32` additions put at most two roundings on each term's path, so they
/// cost at most 2⁻²³ of the lane's sum. With the log's 2 ulp, the sum
/// stays within 3 ulp.
#[inline(always)]
fn lane_sums<const N: usize>(log: &[f32; LANES], sign: f64, linear: &Narrow<N>) -> [f64; LANES] {
    let groups = N / LANES;
    let mut sums = [0.0; LANES];
    for j in 0..LANES {
        let term = |group: usize| linear[group * LANES + j];
        let linear_sum = if groups == 4 {
            (term(0) + term(1)) + (term(2) + term(3))
        } else {
            (1..groups).fold(term(0), |sum, group| sum + term(group))
        };
        sums[j] = sign * f64::from(log[j]) + f64::from(linear_sum);
    }
    sums
}
