//! Edge inputs of the `f32` hard-target path, which serves every target 0
//! or 1 with no weights, `pos_weight` 1 and no label smoothing. The cases
//! are log-table cell edges, exp reduction ties, the ±86 logit cutoff,
//! extreme probabilities, groups that fall back to the general program,
//! and lengths around the chunk and parallel thresholds. Each case runs
//! every reduction and entry point on every instruction set of the CPU.
//! Results must be within `F32_ULPS` of the `f64` oracle (`f64` inputs
//! within `F64_EXACT`) and bit-identical across instruction sets, and
//! invalid inputs must return the oracle's error.

mod common;

use bce::dispatch::{Isa, with_isa};
use bce::{
    BceError, Float, Loss, Options, PARALLEL_MIN, ProbClamp, Reduction, binary_cross_entropy_grad,
};
use common::tolerance::{F32_ULPS, F64_EXACT};
use common::{EntryResults, Form, call_entry_points, close, ulps_f32};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ALL_REDUCTIONS: [Reduction; 3] = [Reduction::None, Reduction::Sum, Reduction::Mean];

/// Runs the loss, the fused gradient and the gradient into a NaN-filled
/// buffer, checks that the three agree bit for bit, and returns the bits
/// of the costs and of the gradient.
fn run_form<T: Float>(
    form: Form,
    values: &[T],
    targets: &[T],
    options: &Options<'_, T>,
) -> Result<(Vec<u64>, Vec<u64>), BceError> {
    let mut into = vec![T::from_f64(f64::NAN); values.len()];
    let EntryResults {
        loss,
        fused,
        into_loss,
    } = call_entry_points(form, (values, targets), options, &mut into);
    let fused = fused?;
    let (Ok(loss), Ok(into_loss)) = (loss, into_loss) else {
        panic!("{form:?}: the fused form succeeded but another entry point failed");
    };
    let costs = bits(&fused.loss);
    let grad = bits_of(&fused.grad);
    assert_eq!(bits(&loss), costs, "{form:?}: loss-only form differs");
    assert_eq!(bits(&into_loss), costs, "{form:?}: _grad_into loss differs");
    assert_eq!(
        bits_of(&into),
        grad,
        "{form:?}: _grad_into gradient differs"
    );
    Ok((costs, grad))
}

fn bits_of<T: Float>(values: &[T]) -> Vec<u64> {
    values.iter().map(|v| v.to_f64().to_bits()).collect()
}

/// Bits of the reduced cost, or of every per-element cost.
fn bits<T: Float>(loss: &Loss<T>) -> Vec<u64> {
    match loss {
        Loss::Reduced(value) => bits_of(&[*value]),
        Loss::PerElement(costs) => bits_of(costs),
    }
}

/// Returns whether a result is within the tolerance of its element type.
fn within<T: Float>(actual: f64, expected: f64) -> bool {
    if T::NARROW {
        ulps_f32(actual as f32, expected as f32) <= F32_ULPS
    } else {
        close(actual, expected, F64_EXACT)
    }
}

/// Checks one case under `reductions` on every available instruction set.
fn check_case<T: Float>(
    label: &str,
    form: Form,
    (values, targets): (&[T], &[T]),
    reductions: &[Reduction],
) {
    for &reduction in reductions {
        let options = form.options(reduction);
        let oracle = form.oracle(values, targets, &options);
        let mut first = None;
        for isa in Isa::available() {
            let case = format!("{label}, {form:?}, {reduction:?}, {isa}");
            let Some(result) = with_isa(isa, || run_form(form, values, targets, &options)) else {
                panic!("{case}: listed as available but not run");
            };
            let fingerprint = format!("{result:?}");
            match &first {
                None => first = Some((isa, fingerprint)),
                Some((base, expected)) => {
                    assert!(fingerprint == *expected, "{case}: bits differ from {base}");
                }
            }
            let ((costs, grad), oracle) = match (result, &oracle) {
                (Ok(result), Ok(oracle)) => (result, oracle),
                (Err(error), Err(expected)) => {
                    let (error, expected) = (format!("{error:?}"), format!("{expected:?}"));
                    assert_eq!(error, expected, "{case}: error differs from the oracle's");
                    continue;
                }
                (actual, expected) => {
                    let actual = actual.map(|_| "results");
                    let expected = expected.as_ref().map(|_| "results");
                    panic!("{case}: got {actual:?}, oracle {expected:?}");
                }
            };
            let inputs = (values, targets);
            let mut failures = if reduction == Reduction::None {
                mismatches("cost", &costs, &oracle.costs, inputs)
            } else {
                mismatches::<T>("reduced cost", &costs, &[oracle.reduced], (&[], &[]))
            };
            failures.extend(mismatches("grad", &grad, &oracle.grad, inputs));
            assert!(failures.is_empty(), "{case}:\n{}", failures.join("\n"));
        }
    }
}

/// Lists the first results outside the tolerance, with their inputs.
fn mismatches<T: Float>(
    kind: &str,
    actual: &[u64],
    expected: &[f64],
    (values, targets): (&[T], &[T]),
) -> Vec<String> {
    let pairs = actual
        .iter()
        .map(|&bits| f64::from_bits(bits))
        .zip(expected);
    pairs
        .enumerate()
        .filter(|&(_, (actual, &expected))| !within::<T>(actual, expected))
        .take(8)
        .map(|(i, (actual, expected))| {
            let input = (
                values.get(i).map(|v| v.to_f64()),
                targets.get(i).map(|t| t.to_f64()),
            );
            format!("{kind} {i}, input {input:?}: expected {expected:e}, got {actual:e}")
        })
        .collect()
}

/// Returns `value` and its two nearest `f32` neighbours on each side
/// (`value` positive and normal).
fn neighbours(value: f64) -> [f32; 5] {
    let bits = (value as f32).to_bits();
    [bits - 2, bits - 1, bits, bits + 1, bits + 2].map(f32::from_bits)
}

/// Edges of the 32 log cells in the reduced mantissa range
/// `[0.7421875, 1.484375)`: width 1/64 below 1, 1/32 above, centred on
/// multiples of the width, plus 1 itself.
fn cell_edges() -> Vec<f64> {
    let below = (15..32).map(|i| 0.5 + f64::from(2 * i + 1) / 128.0);
    let above = (0..16).map(|i| 1.0 + f64::from(2 * i + 1) / 64.0);
    below.chain([1.0]).chain(above).collect()
}

/// Checks each value with target 1 and then 0, so that every group mixes
/// both hard targets.
fn check_both_targets<T: Float>(label: &str, form: Form, values: &[T]) {
    let doubled: Vec<T> = values.iter().flat_map(|&v| [v, v]).collect();
    let targets: Vec<T> = (0..doubled.len())
        .map(|i| T::from_f64((i % 2) as f64))
        .collect();
    check_case(label, form, (&doubled, &targets), &ALL_REDUCTIONS);
}

#[test]
fn hard_logits_table_and_cutoff_edges() {
    // 1 + e^(−|x|) on each log cell edge, in both binades that [1, 2] spans.
    let mut values = Vec::new();
    for v in cell_edges().into_iter().flat_map(|edge| [edge, 2.0 * edge]) {
        if v > 1.0 && v < 2.0 {
            let x = -(v - 1.0).ln();
            values.extend(neighbours(x).into_iter().flat_map(|x| [x, -x]));
        }
    }
    check_both_targets("logits at log cell edges", Form::Logits, &values);

    // x·32/ln 2 near a half-integer, where the exp reduction rounds n.
    let ties = (0..48).chain((100..3970).step_by(123)).chain(3960..3970);
    let values: Vec<f32> = ties
        .flat_map(|n| neighbours((f64::from(n) + 0.5) * core::f64::consts::LN_2 / 32.0))
        .flat_map(|x| [x, -x])
        .collect();
    check_both_targets("logits at exp reduction ties", Form::Logits, &values);

    // The hard path serves every group of this case (|x| ≤ 86).
    let served = [86.0, 85.999_99, 85.5, 1.0, 0.0, -0.0, 1e-45, 2e-38, 6e-8];
    let values: Vec<f32> = served.iter().flat_map(|&x| [x, -x]).collect();
    check_both_targets("logits up to the cutoff", Form::Logits, &values);

    // One logit beyond the cutoff sends its group to the general program.
    let beyond = [86.000_01, 87.0, 87.5, 88.0, 88.8, 1e4, f32::INFINITY];
    for far in beyond.iter().flat_map(|&x| [x, -x]) {
        let mut values = served.repeat(5);
        values[37] = far;
        check_both_targets(&format!("logits with {far:e}"), Form::Logits, &values);
    }
}

#[test]
fn hard_probs_table_and_extreme_edges() {
    let mut values = Vec::new();
    let scales = [0, -1, -2, -7, -60, -125].map(|k| 2f64.powi(k));
    for edge in cell_edges() {
        for v in scales
            .map(|scale| edge * scale)
            .into_iter()
            .filter(|&v| v < 1.0)
        {
            // The log reads h for target 1 and 1 − h (rounded or not) for 0.
            values.extend(neighbours(v));
            values.extend(neighbours(v).map(|v| 1.0 - v));
        }
    }
    values.extend([0.0, 1.0, 2f32.powi(-24), 2f32.powi(-25)]);
    let (below_one, smallest_normal) = (1.0 - 2f32.powi(-24), f32::MIN_POSITIVE);
    values.extend([below_one, smallest_normal, smallest_normal.next_up()]);
    values.extend(neighbours(1e-12_f32.into()));
    values.extend(neighbours(0.5));
    for clamp in [ProbClamp::PYTORCH, ProbClamp::LogMin(f64::NEG_INFINITY)] {
        check_both_targets("probs at cell edges", Form::Probs(clamp), &values);
    }

    // A subnormal with target 1, or −0, sends its group to the general
    // program, and a subnormal with target 0 stays on the hard path.
    let plain = [0.25_f32, 0.75, 1e-3, 0.999, 0.0, 1.0].repeat(11);
    let largest_subnormal = f32::MIN_POSITIVE.next_down();
    for odd in [f32::from_bits(1), 1e-40, largest_subnormal, -0.0] {
        let mut values = plain.clone();
        (values[20], values[65]) = (odd, odd);
        let form = Form::Probs(ProbClamp::PYTORCH);
        check_both_targets(&format!("probs with {odd:e}"), form, &values);
    }
}

/// Every length from 1 to 200, so full chunks, partial groups and padded
/// rests. Each length has one element that may move its group off the hard
/// path: none, a soft target, a target of −0, a far logit or a subnormal
/// probability with target 1.
#[test]
fn hard_mixed_groups_every_length() {
    let logit_pool = [0.5_f32, -3.0, 40.0, -0.0, 86.0, -86.0, 4.16, 1e-20];
    let prob_pool = [0.5_f32, 0.0, 1.0, 0.3, 1e-20, 1e-45, 0.75, 0.99];
    for len in 1..=200 {
        let position = (len * 29 + 7) % len;
        let kind = len % 4;
        for form in [Form::Logits, Form::Probs(ProbClamp::PYTORCH)] {
            let (pool, far) = match form {
                Form::Logits => (&logit_pool[..], 87.0),
                Form::Probs(_) => (&prob_pool[..], 1e-40),
            };
            let mut values: Vec<f32> = (0..len).map(|i| pool[(i * 5) % pool.len()]).collect();
            let mut targets: Vec<f32> = (0..len).map(|i| ((i / 3) % 2) as f32).collect();
            match kind {
                1 => targets[position] = 0.3,
                2 => targets[position] = -0.0,
                3 => (values[position], targets[position]) = (far, 1.0),
                _ => {}
            }
            let label = format!("length {len}, kind {kind}");
            check_case(&label, form, (&values, &targets), &ALL_REDUCTIONS);
        }
    }
}

/// Lengths on both sides of the parallel threshold, with one soft target
/// in the last block.
#[test]
fn hard_parallel_threshold_lengths() {
    for len in [PARALLEL_MIN - 1, PARALLEL_MIN + 70] {
        let logits: Vec<f32> = (0..len).map(|i| (i % 173) as f32 * 0.5 - 43.0).collect();
        let probs: Vec<f32> = (0..len).map(|i| (i % 997) as f32 / 996.0).collect();
        let mut targets: Vec<f32> = (0..len).map(|i| f32::from(u8::from(i % 3 == 0))).collect();
        targets[len - 20] = 0.75;
        let reductions = [Reduction::None, Reduction::Mean];
        let label = format!("length {len}");
        check_case(&label, Form::Logits, (&logits, &targets), &reductions);
        let form = Form::Probs(ProbClamp::PYTORCH);
        check_case(&label, form, (&probs, &targets), &reductions);
    }
}

/// An invalid element inside an otherwise hard chunk, or in the rest, must
/// return the error that the oracle's validation returns.
#[test]
fn hard_invalid_inputs_same_errors() {
    let len = 150;
    let probs_form = Form::Probs(ProbClamp::PYTORCH);
    for position in [0, 40, 64, 140, 149] {
        for (value, target) in [(f32::NAN, 1.0), (0.5, 2.0), (0.5, f32::NAN), (0.5, -1.0)] {
            let (mut logits, mut probs) = (vec![1.5_f32; len], vec![0.25_f32; len]);
            let mut targets = vec![1.0_f32; len];
            (logits[position], probs[position], targets[position]) = (value, value, target);
            let label = format!("{value} with target {target} at {position}");
            check_case(&label, Form::Logits, (&logits, &targets), &ALL_REDUCTIONS);
            check_case(&label, probs_form, (&probs, &targets), &ALL_REDUCTIONS);
        }
        for invalid in [1.0_f32.next_up(), 1.5, -0.5, -1e-30, f32::INFINITY] {
            let mut probs = vec![0.25_f32; len];
            probs[position] = invalid;
            let targets = vec![0.0_f32; len];
            let label = format!("probability {invalid} at {position}");
            check_case(&label, probs_form, (&probs, &targets), &ALL_REDUCTIONS);
        }
    }
}

/// `f64` inputs never take the `f32` hard path: the same edges stay within
/// the `f64` tolerance of the oracle on every instruction set.
#[test]
fn hard_edges_f64_unaffected() {
    let logits = [0.0, -0.0, 86.0, 87.0, 86.000_01, 4.16, 1e-30, 745.0];
    let logits: Vec<f64> = logits.iter().flat_map(|&x: &f64| [x, -x]).collect();
    check_both_targets("f64 logits", Form::Logits, &logits);
    let probs = [0.0, 1.0, 0.75, 0.99, 2.2e-308, 1e-320, 1.0 - 1e-16];
    check_both_targets("f64 probs", Form::Probs(ProbClamp::PYTORCH), &probs);
}

/// A subnormal `f64` probability h with target 0 has the gradient
/// `h/1e-12`, 10¹² times h and so normal or nearly so. It must be computed
/// without a subnormal intermediate product, which would round away bits.
#[test]
fn f64_subnormal_prob_grad_precise() {
    let probs = [1e-320, 4e-315, f64::MIN_POSITIVE / 3.0];
    let targets = [0.0; 3];
    let options = Options::new().reduction(Reduction::None);
    let Ok(result) = binary_cross_entropy_grad(&probs, &targets, &options) else {
        panic!("valid subnormal f64 probabilities were rejected");
    };
    for (&h, &grad) in probs.iter().zip(&result.grad) {
        let expected = bce::reference::prob_grad(h, 0.0, 1.0, ProbClamp::PYTORCH);
        assert!(
            close(grad, expected, F64_EXACT),
            "probability {h:e}, target 0: expected gradient {expected:e}, got {grad:e}"
        );
    }
}

/// Draws `len` logits whose cost is `e^(−|x|)` (the target on the logit's
/// side), with `|x|` in `magnitudes`, and every `wrong`-th element on the
/// other side, where its cost is about `|x|`.
fn side_logits(
    rng: &mut ChaCha8Rng,
    len: usize,
    magnitudes: core::ops::Range<f32>,
    wrong: usize,
) -> (Vec<f32>, Vec<f32>) {
    (0..len)
        .map(|i| {
            let x = rng.random_range(magnitudes.clone());
            let positive = rng.random_bool(0.5);
            let logit = if positive { x } else { -x };
            let on_side = i % wrong != wrong - 1;
            (logit, f32::from(u8::from(positive == on_side)))
        })
        .unzip()
}

/// The mean and sum take a lane's costs in a chunk as the log of their
/// product (`hard_sum`). Costs far below 2⁻²⁴, costs near it, and tiny
/// costs next to large ones in the same lane must still sum within the
/// tolerance, at lengths with full chunks, padded rests and lone groups.
#[test]
fn hard_logit_sums_of_small_and_mixed_costs() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5_0a11);
    let reductions = [Reduction::Sum, Reduction::Mean];
    for len in (1..=150).step_by(7).chain([64, 128, 4096 + 64]) {
        // e^(−17) ≈ 2⁻²⁴.⁵: from just below the f32 ulp of 1 down to 4e-38.
        for (label, magnitudes, wrong) in [
            ("tiny", 17.0..86.0, usize::MAX),
            ("near 2^-24", 12.0..19.0, usize::MAX),
            ("tiny and large", 17.0..86.0, 5),
            ("small and moderate", 0.0..30.0, 3),
        ] {
            let (logits, targets) = side_logits(&mut rng, len, magnitudes, wrong);
            let case = format!("{label} costs, length {len}");
            check_case(&case, Form::Logits, (&logits, &targets), &reductions);
        }
    }
}

/// The probability sums split each factor into a power of two and a
/// mantissa, so that a lane's product cannot underflow. The cases are
/// probabilities at the bottom of the normal range, near 0 and 1, and lost
/// ones (cost 100, or ∞ without a floor). A floor above every normal log
/// makes the sums add the costs one by one.
#[test]
fn hard_prob_sums_of_extreme_probabilities() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5_0a12);
    let all_reductions = [Reduction::Sum, Reduction::Mean];
    let smallest = f64::from(f32::MIN_POSITIVE);
    for len in (1..=150).step_by(7).chain([64, 128, 4096 + 64]) {
        let mut cases: Vec<(&str, Vec<f32>, Vec<f32>)> = Vec::new();
        let bottom = (0..len).map(|_| (smallest * rng.random_range(1.0..1.5)) as f32);
        cases.push((
            "bottom of the normal range",
            bottom.collect(),
            vec![1.0; len],
        ));
        let near_one = (0..len).map(|_| 1.0 - rng.random_range(1..2000) as f32 * 2f32.powi(-24));
        cases.push(("near 1, target 1", near_one.collect(), vec![1.0; len]));
        let tiny = (0..len).map(|_| 10f64.powf(rng.random_range(-44.0..-7.0)) as f32);
        cases.push(("tiny, target 0", tiny.collect(), vec![0.0; len]));
        let lost = (0..len).map(|i| if i % 9 == 4 { 0.0 } else { rng.random::<f32>() });
        let mixed_targets = (0..len).map(|i| f32::from(u8::from(i % 2 == 0))).collect();
        cases.push(("with lost probabilities", lost.collect(), mixed_targets));
        for (label, probs, targets) in &cases {
            let case = format!("{label}, length {len}");
            for clamp in [
                ProbClamp::PYTORCH,
                ProbClamp::LogMin(f64::NEG_INFINITY),
                ProbClamp::LogMin(-5.0),
            ] {
                let form = Form::Probs(clamp);
                check_case(&case, form, (probs, targets), &all_reductions);
            }
        }
    }
}
