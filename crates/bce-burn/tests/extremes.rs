//! Logits at ±100 and ±∞ in f32, where the naive `log(sigmoid(x))` overflows to ±∞ or NaN.

mod common;

use bce_burn::{BceOptions, Reduction, composed, fused};
use burn::tensor::activation::sigmoid;
use burn::tensor::{DType, Tensor};
use common::{autodiff_device, host_f32, plain_device, tensor};

/// Logits and targets covering both signs of 100 and of infinity, with matching and
/// mismatched targets.
const LOGITS: [f64; 8] = [
    100.0,
    100.0,
    -100.0,
    -100.0,
    f64::INFINITY,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NEG_INFINITY,
];
const TARGETS: [f64; 8] = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0];

/// Computes the exact per-element loss `y·softplus(−x) + (1 − y)·softplus(x)` in f64, rounded
/// to f32.
/// `softplus(±100)` is 100 or e^−100 ≈ 3.72e−44 (an f32 subnormal).
fn expected_losses() -> Vec<f32> {
    LOGITS
        .iter()
        .zip(TARGETS)
        .map(|(&x, y)| {
            let softplus = |t: f64| t.max(0.0) + (-t.abs()).exp().ln_1p();
            let positive = if y == 0.0 { 0.0 } else { y * softplus(-x) };
            let negative = if y == 1.0 {
                0.0
            } else {
                (1.0 - y) * softplus(x)
            };
            (positive + negative) as f32
        })
        .collect()
}

/// Computes the exact per-element gradient σ(x) − y in f64, rounded to f32. It is evaluated as
/// (1 − y)·σ(x) − y·σ(−x), so σ(100) − 1 = −σ(−100) ≈ −3.72e−44 does not cancel to 0.
fn expected_gradient() -> Vec<f32> {
    let sigmoid = |t: f64| {
        if t >= 0.0 {
            1.0 / (1.0 + (-t).exp())
        } else {
            t.exp() / (1.0 + t.exp())
        }
    };
    LOGITS
        .iter()
        .zip(TARGETS)
        .map(|(&x, y)| ((1.0 - y) * sigmoid(x) - y * sigmoid(-x)) as f32)
        .collect()
}

/// Returns whether `actual` equals `expected` exactly where `expected` is 0 or infinite, and
/// otherwise within 2 f32 ulps or 4 subnormal steps of 1.4e−45. `e^−100` is subnormal in f32,
/// so a correctly rounded f64 result and an f32 `exp` may differ in the last subnormal bits.
fn close_f32(actual: &[f32], expected: &[f32]) -> bool {
    actual.len() == expected.len()
        && actual.iter().zip(expected).all(|(&a, &b)| {
            if b == 0.0 || b.is_infinite() {
                a == b
            } else {
                (a - b).abs() <= 4.0 * 1.4e-45 + 2.0 * f32::EPSILON * b.abs()
            }
        })
}

#[test]
fn naive_composition_is_not_finite() {
    let device = plain_device();
    let logits = tensor(&LOGITS, [8], DType::F32, &device);
    let targets = tensor(&TARGETS, [8], DType::F32, &device);

    // −[y·log σ(x) + (1 − y)·log(1 − σ(x))], written the way it is usually first written.
    let probs = sigmoid(logits);
    let naive = targets
        .clone()
        .mul(probs.clone().log())
        .add(
            targets
                .neg()
                .add_scalar(1.0)
                .mul(probs.neg().add_scalar(1.0).log()),
        )
        .neg();
    let naive = host_f32(naive);

    let not_finite = naive.iter().filter(|v| !v.is_finite()).count();
    let nan = naive.iter().filter(|v| v.is_nan()).count();
    // x = 100, y = 1 gives 0·log(0) = NaN; x = 100, y = 0 gives −log(0) = +∞ instead of 100.
    assert!(
        nan >= 3,
        "naive losses {naive:?}: expected at least 3 NaN, found {nan}"
    );
    assert!(
        not_finite >= 4,
        "naive losses {naive:?}: expected at least 4 non-finite, found {not_finite}"
    );
}

#[test]
fn fused_logits_exact_at_extremes() {
    let device = autodiff_device();
    let logits = tensor(&LOGITS, [8], DType::F32, &device).require_grad();
    let targets = tensor(&TARGETS, [8], DType::F32, &device);
    let options = BceOptions::new().reduction(Reduction::None);

    let loss = match fused::binary_cross_entropy_with_logits(logits.clone(), targets, &options) {
        Ok(loss) => loss,
        Err(error) => panic!("fused path rejected infinite logits: {error}"),
    };
    let grads = loss.clone().sum().backward();
    let loss = host_f32(loss);
    let grad = host_f32(logits.grad(&grads).unwrap_or_else(|| panic!("no gradient")));

    let expected = expected_losses();
    assert!(
        close_f32(&loss, &expected),
        "logits {LOGITS:?}, targets {TARGETS:?}: loss {loss:?}, expected {expected:?}"
    );
    let expected = expected_gradient();
    assert!(
        close_f32(&grad, &expected),
        "logits {LOGITS:?}, targets {TARGETS:?}: gradient {grad:?}, expected {expected:?}"
    );
}

#[test]
fn fused_logits_mean_finite_at_matching_extremes() {
    let device = autodiff_device();
    // Confident and right: every term is 0 or e^−100, so the mean is finite and tiny.
    let logits = tensor(
        &[100.0, -100.0, f64::INFINITY, f64::NEG_INFINITY],
        [4],
        DType::F32,
        &device,
    )
    .require_grad();
    let targets = tensor(&[1.0, 0.0, 1.0, 0.0], [4], DType::F32, &device);

    let loss = match fused::binary_cross_entropy_with_logits(
        logits.clone(),
        targets,
        &BceOptions::default(),
    ) {
        Ok(loss) => loss,
        Err(error) => panic!("fused path rejected infinite logits: {error}"),
    };
    let grads = loss.clone().backward();
    let loss = host_f32(loss);
    let grad = host_f32(logits.grad(&grads).unwrap_or_else(|| panic!("no gradient")));

    assert!(
        loss[0].is_finite() && loss[0] >= 0.0 && loss[0] < 1e-40,
        "mean loss {loss:?}"
    );
    assert!(grad.iter().all(|g| g.is_finite()), "gradient {grad:?}");
}

#[test]
fn composed_logits_exact_at_extremes_on_flex() {
    // flex's log_sigmoid returns −∞ at −∞, so the composed path is exact here too.
    let device = autodiff_device();
    let logits = tensor(&LOGITS, [8], DType::F32, &device).require_grad();
    let targets = tensor(&TARGETS, [8], DType::F32, &device);
    let options = BceOptions::new().reduction(Reduction::None);

    let loss = match composed::binary_cross_entropy_with_logits(logits.clone(), targets, &options) {
        Ok(loss) => loss,
        Err(error) => panic!("composed path rejected infinite logits: {error}"),
    };
    let grads = loss.clone().sum().backward();
    let loss = host_f32(loss);
    let grad = host_f32(logits.grad(&grads).unwrap_or_else(|| panic!("no gradient")));

    let expected = expected_losses();
    assert!(
        close_f32(&loss, &expected),
        "logits {LOGITS:?}, targets {TARGETS:?}: loss {loss:?}, expected {expected:?}"
    );
    let expected = expected_gradient();
    assert!(
        close_f32(&grad, &expected),
        "logits {LOGITS:?}, targets {TARGETS:?}: gradient {grad:?}, expected {expected:?}"
    );
}

#[test]
fn fused_probs_finite_at_zero_and_one() {
    let device = autodiff_device();
    // The PyTorch clamp floors each log at −100, so a wrong confident prediction costs 100.
    let probs = Tensor::<1>::from_data([0.0f32, 1.0, 0.0, 1.0], &device).require_grad();
    let targets = Tensor::<1>::from_data([0.0f32, 1.0, 1.0, 0.0], &device);
    let options = BceOptions::new().reduction(Reduction::None);

    let loss = match fused::binary_cross_entropy(probs.clone(), targets, &options) {
        Ok(loss) => loss,
        Err(error) => panic!("fused path rejected probs 0 and 1: {error}"),
    };
    let grads = loss.clone().sum().backward();
    let loss = host_f32(loss);
    let grad = host_f32(probs.grad(&grads).unwrap_or_else(|| panic!("no gradient")));

    assert_eq!(
        loss,
        vec![0.0, 0.0, 100.0, 100.0],
        "probs [0, 1, 0, 1], targets [0, 1, 1, 0]"
    );
    assert!(grad.iter().all(|g| g.is_finite()), "gradient {grad:?}");
}
