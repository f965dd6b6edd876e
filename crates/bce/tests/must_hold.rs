//! The properties the cost function promises, each with its exact value.
//!
//! Exact values come from mpmath at 60 digits, e.g.
//! `python3 -c "import mpmath as m; m.mp.dps=60; print(m.log1p(m.exp(-20)))"`.

mod common;

use bce::{
    BceError, Float, Loss, Operand, Options, PosWeight, ProbClamp, Reduction, binary_cross_entropy,
    binary_cross_entropy_grad, binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad,
};
use common::{close, exact_for};

fn per_element<T: Copy>(loss: &Loss<T>) -> Vec<T> {
    match loss {
        Loss::PerElement(values) => values.clone(),
        Loss::Reduced(_) => panic!("expected a per-element loss, got a reduced one"),
    }
}

fn reduced<T: Copy>(loss: &Loss<T>) -> T {
    match loss {
        Loss::Reduced(value) => *value,
        Loss::PerElement(_) => panic!("expected a reduced loss, got a per-element one"),
    }
}

fn none<'a, T>() -> Options<'a, T> {
    Options::new().reduction(Reduction::None)
}

fn cast<T: Float>(values: &[f64]) -> Vec<T> {
    values.iter().map(|&v| T::from_f64(v)).collect()
}

fn infinite_logits_give_limits<T: Float>() {
    let logits: Vec<T> = cast(&[f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY]);
    let targets: Vec<T> = cast(&[1.0, 0.0, 0.0]);
    let result = binary_cross_entropy_with_logits_grad(&logits, &targets, &none())
        .unwrap_or_else(|e| panic!("±∞ logits rejected: {e}"));
    let costs: Vec<f64> = per_element(&result.loss)
        .iter()
        .map(|v| v.to_f64())
        .collect();
    assert_eq!(
        costs,
        vec![0.0, 0.0, f64::INFINITY],
        "logits {logits:?} targets {targets:?}"
    );
    let grad: Vec<f64> = result.grad.iter().map(|v| v.to_f64()).collect();
    // σ(x) − y at the limits: σ(+∞) − 1 = 0, σ(−∞) − 0 = 0, σ(+∞) − 0 = 1.
    assert_eq!(
        grad,
        vec![0.0, 0.0, 1.0],
        "grad at logits {logits:?} targets {targets:?}"
    );

    let sum = binary_cross_entropy_with_logits(
        &logits,
        &targets,
        &Options::new().reduction(Reduction::Sum),
    );
    let sum = sum.map(|loss| reduced(&loss).to_f64());
    assert_eq!(
        sum,
        Ok(f64::INFINITY),
        "sum over one infinite cost must be +∞, not NaN"
    );
}

#[test]
fn logits_infinite_give_limits_f32() {
    infinite_logits_give_limits::<f32>();
}

#[test]
fn logits_infinite_give_limits_f64() {
    infinite_logits_give_limits::<f64>();
}

/// `(logit, target, exact cost)` where the cost is a tiny tail value.
const TAIL_COSTS: &[(f64, f64, f64)] = &[
    // log1p(exp(−20))
    (20.0, 1.0, 2.061153620314381e-09),
    // log1p(exp(−89)): a subnormal in f32
    (-89.0, 0.0, 2.2273635617957438e-39),
    // log1p(exp(−100))
    (-100.0, 0.0, 3.720075976020836e-44),
];

fn tail_costs_exact<T: Float>() {
    for &(logit, target, exact) in TAIL_COSTS {
        let loss = binary_cross_entropy_with_logits(
            &[T::from_f64(logit)],
            &[T::from_f64(target)],
            &none(),
        );
        let actual = loss.map(|l| per_element(&l)[0].to_f64());
        let Ok(actual) = actual else {
            panic!("logit {logit} rejected: {actual:?}")
        };
        assert!(
            close(actual, exact, exact_for::<T>()),
            "logit {logit} target {target}: expected {exact:e}, got {actual:e}"
        );
    }
}

#[test]
fn logits_tail_costs_exact_f32() {
    tail_costs_exact::<f32>();
}

#[test]
fn logits_tail_costs_exact_f64() {
    tail_costs_exact::<f64>();
}

fn pos_weight_one_mean<T: Float>() {
    let logits: Vec<T> = cast(&[0.0, -120.0]);
    let targets: Vec<T> = cast(&[0.0, 1.0]);
    let options = Options::new().pos_weight(PosWeight::Scalar(T::from_f64(1.0)));
    let loss = binary_cross_entropy_with_logits(&logits, &targets, &options);
    let actual = loss.map(|l| reduced(&l).to_f64());
    // (ln 2 + 120 + log1p(e^−120)) / 2
    let exact = 60.346573590279974;
    let Ok(actual) = actual else {
        panic!("rejected: {actual:?}")
    };
    assert!(
        close(actual, exact, exact_for::<T>()),
        "expected {exact}, got {actual}"
    );
}

#[test]
fn logits_pos_weight_one_mean_f32() {
    pos_weight_one_mean::<f32>();
}

#[test]
fn logits_pos_weight_one_mean_f64() {
    pos_weight_one_mean::<f64>();
}

fn grad_at_zero<T: Float>() {
    let zero = [T::from_f64(0.0)];
    let result = binary_cross_entropy_with_logits_grad(&zero, &zero, &none());
    let grad = result.map(|r| r.grad[0].to_f64());
    assert_eq!(grad, Ok(0.5), "grad at logit 0, target 0, reduction none");

    let two = [T::from_f64(0.0); 2];
    let result = binary_cross_entropy_with_logits_grad(&two, &two, &Options::new());
    let grad = result.map(|r| r.grad.iter().map(|g| g.to_f64()).collect::<Vec<_>>());
    assert_eq!(
        grad,
        Ok(vec![0.25, 0.25]),
        "grad with Mean over 2 elements is 0.5 / 2"
    );
}

#[test]
fn logits_grad_at_zero_f32() {
    grad_at_zero::<f32>();
}

#[test]
fn logits_grad_at_zero_f64() {
    grad_at_zero::<f64>();
}

/// −σ(−30), from mpmath at 60 digits.
const GRAD_AT_30: f64 = -9.357622968839299e-14;

fn grad_tail_precise<T: Float>() {
    let result =
        binary_cross_entropy_with_logits_grad(&[T::from_f64(30.0)], &[T::from_f64(1.0)], &none());
    let grad = result.map(|r| r.grad[0].to_f64());
    let Ok(grad) = grad else {
        panic!("rejected: {grad:?}")
    };
    assert!(
        close(grad, GRAD_AT_30, exact_for::<T>()),
        "grad at logit 30, target 1: expected {GRAD_AT_30:e}, got {grad:e}"
    );
}

#[test]
fn logits_grad_tail_precise_f32() {
    grad_tail_precise::<f32>();
}

#[test]
fn logits_grad_tail_precise_f64() {
    grad_tail_precise::<f64>();
}

/// The textbook form σ(x)·(1 − y + pw·y) − pw·y would fail the check above:
/// this keeps the test honest about what it protects against.
#[test]
fn logits_naive_grad_loses_tail() {
    let sigmoid = 1.0 / (1.0 + (-30.0_f64).exp());
    let naive = sigmoid - 1.0;
    let relative_error = ((naive - GRAD_AT_30) / GRAD_AT_30).abs();
    assert!(
        relative_error > 1e-6,
        "naive grad {naive:e} against {GRAD_AT_30:e}: relative error {relative_error:e}"
    );
}

fn probs_opposite_targets<T: Float>() {
    let probs: Vec<T> = cast(&[0.0, 1.0, 0.0, 1.0]);
    let targets: Vec<T> = cast(&[1.0, 0.0, 1.0, 0.0]);
    let loss = binary_cross_entropy(&probs, &targets, &Options::new());
    let loss = loss.map(|l| reduced(&l).to_f64());
    assert_eq!(
        loss,
        Ok(100.0),
        "probs {probs:?} targets {targets:?}: each log clamped at −100"
    );

    let result = binary_cross_entropy_grad(&probs, &targets, &Options::new());
    let Ok(result) = result else {
        panic!("rejected: {result:?}")
    };
    let loss = reduced(&result.loss).to_f64();
    assert_eq!(
        loss, 100.0,
        "fused loss for probs {probs:?} targets {targets:?}"
    );
    for (i, g) in result.grad.iter().enumerate() {
        assert!(
            g.to_f64().is_finite(),
            "grad[{i}] = {g:?} must be finite (floored denominator)"
        );
    }
}

#[test]
fn probs_opposite_targets_cost_100_f32() {
    probs_opposite_targets::<f32>();
}

#[test]
fn probs_opposite_targets_cost_100_f64() {
    probs_opposite_targets::<f64>();
}

fn probs_equal_targets<T: Float>() {
    let values: Vec<T> = cast(&[0.0, 1.0, 1.0, 0.0]);
    let result = binary_cross_entropy_grad(&values, &values, &none());
    let Ok(result) = result else {
        panic!("rejected: {result:?}")
    };
    let costs: Vec<f64> = per_element(&result.loss)
        .iter()
        .map(|v| v.to_f64())
        .collect();
    assert_eq!(
        costs,
        vec![0.0; 4],
        "cost of probs equal to hard targets {values:?}"
    );
    let grad: Vec<f64> = result.grad.iter().map(|v| v.to_f64()).collect();
    assert_eq!(
        grad,
        vec![0.0; 4],
        "grad of probs equal to hard targets {values:?}"
    );

    // Also without any clamp: 0·log 0 must be 0, not NaN.
    let options = Options::new().clamp(ProbClamp::LogMin(f64::NEG_INFINITY));
    let loss = binary_cross_entropy(&values, &values, &options).map(|l| reduced(&l).to_f64());
    assert_eq!(
        loss,
        Ok(0.0),
        "unclamped cost of probs equal to hard targets"
    );
}

#[test]
fn probs_equal_targets_cost_zero_f32() {
    probs_equal_targets::<f32>();
}

#[test]
fn probs_equal_targets_cost_zero_f64() {
    probs_equal_targets::<f64>();
}

fn weighted_mean_divides_by_n<T: Float>() {
    let logits: Vec<T> = cast(&[1.0, -2.0, 0.5]);
    let targets: Vec<T> = cast(&[1.0, 0.0, 0.0]);
    let weights: Vec<T> = cast(&[0.2, 1.0, 2.0]);
    let options = Options::new().weights(&weights);
    let loss = binary_cross_entropy_with_logits(&logits, &targets, &options);
    let Ok(loss) = loss.map(|l| reduced(&l).to_f64()) else {
        panic!("rejected")
    };
    // (0.2·sp(−1) + sp(−2) + 2·sp(0.5)) / 3; dividing by Σw = 3.2 would give 0.66804197403.
    let exact = 0.7125781056356102;
    assert!(
        close(loss, exact, exact_for::<T>()),
        "weighted mean: expected {exact}, got {loss}"
    );
    let by_weight_sum = 0.6680419740333845;
    assert!(
        !close(loss, by_weight_sum, exact_for::<T>()),
        "mean divided by the weight sum"
    );
}

#[test]
fn logits_weighted_mean_divides_by_n_f32() {
    weighted_mean_divides_by_n::<f32>();
}

#[test]
fn logits_weighted_mean_divides_by_n_f64() {
    weighted_mean_divides_by_n::<f64>();
}

fn invalid_values_named<T: Float>() {
    let half = T::from_f64(0.5);
    for bad in [2.0, -0.1] {
        let targets = [T::from_f64(1.0), T::from_f64(bad)];
        let expected = BceError::TargetOutOfRange {
            index: 1,
            value: T::from_f64(bad).to_f64(),
        };
        let probs = binary_cross_entropy(&[half, half], &targets, &Options::new());
        assert_eq!(probs, Err(expected.clone()), "probs form, target {bad}");
        let logits = binary_cross_entropy_with_logits(&[half, half], &targets, &Options::new());
        assert_eq!(logits, Err(expected.clone()), "logits form, target {bad}");
        let message = expected.to_string();
        assert!(
            message.contains("index 1"),
            "message names the index: {message}"
        );
        assert!(
            message.contains(&format!("{}", T::from_f64(bad).to_f64())),
            "message names {bad}: {message}"
        );
    }

    let targets = [T::from_f64(1.0); 2];
    let probs = [half, T::from_f64(1.5)];
    let error = binary_cross_entropy(&probs, &targets, &Options::new());
    let expected = BceError::ProbabilityOutOfRange {
        index: 1,
        value: 1.5,
    };
    assert_eq!(error, Err(expected.clone()), "probability 1.5");
    let message = expected.to_string();
    assert!(
        message.contains("index 1") && message.contains("1.5"),
        "message: {message}"
    );

    let probs = [T::from_f64(f64::NAN), half];
    let error = binary_cross_entropy_grad(&probs, &targets, &Options::new());
    let expected = BceError::NotANumber {
        operand: Operand::Probs,
        index: 0,
    };
    assert_eq!(error, Err(expected.clone()), "probability NaN");
    let message = expected.to_string();
    assert!(
        message.contains("probs at index 0 is NaN"),
        "message: {message}"
    );
}

#[test]
fn invalid_values_named_f32() {
    invalid_values_named::<f32>();
}

#[test]
fn invalid_values_named_f64() {
    invalid_values_named::<f64>();
}
