//! Label smoothing, `pos_weight`, weights and the clamp policies, each
//! against a value worked out by hand (mpmath at 60 digits where noted).

mod common;

use bce::{
    Loss, Options, PosWeight, ProbClamp, Reduction, binary_cross_entropy,
    binary_cross_entropy_grad, binary_cross_entropy_with_logits, explain, explain_with_logits,
};
use common::close;
use common::tolerance::F64_EXACT;

fn single(loss: Result<Loss<f64>, bce::BceError>) -> f64 {
    match loss {
        Ok(Loss::Reduced(value)) => value,
        other => panic!("expected a reduced loss, got {other:?}"),
    }
}

#[test]
fn label_smoothing_moves_targets() {
    // ε = 0.2 turns y = 1 into 0.9: −(0.9·ln 0.9 + 0.1·ln 0.1).
    let options = Options::new().label_smoothing(0.2);
    let actual = single(binary_cross_entropy(&[0.9], &[1.0], &options));
    let exact = 0.3250829733914482;
    assert!(
        close(actual, exact, F64_EXACT),
        "expected {exact}, got {actual}"
    );
}

#[test]
fn pos_weight_scales_positive_term_probs() {
    let options = Options::new().pos_weight(PosWeight::Scalar(3.0));
    let actual = single(binary_cross_entropy(&[0.5], &[1.0], &options));
    let exact = 3.0 * std::f64::consts::LN_2;
    assert!(
        close(actual, exact, F64_EXACT),
        "expected {exact}, got {actual}"
    );

    // d/dh of −3·ln h at h = 0.5 is −6.
    let result = binary_cross_entropy_grad(&[0.5], &[1.0], &options);
    let grad = result.map(|r| r.grad);
    assert_eq!(grad, Ok(vec![-6.0]), "grad of −3·ln h at 0.5");
}

#[test]
fn pos_weight_per_class_cycles() {
    let per_class = [1.0, 4.0];
    let options = Options::new()
        .pos_weight(PosWeight::PerClass(&per_class))
        .reduction(Reduction::None);
    let loss = binary_cross_entropy_with_logits(&[0.0; 4], &[1.0; 4], &options);
    let ln2 = std::f64::consts::LN_2;
    assert_eq!(
        loss,
        Ok(Loss::PerElement(vec![ln2, 4.0 * ln2, ln2, 4.0 * ln2]))
    );
}

#[test]
fn keras_clamp_clips_probs() {
    let options = Options::new()
        .clamp(ProbClamp::KERAS)
        .reduction(Reduction::None);
    let loss = binary_cross_entropy(&[0.0, 1.0], &[1.0, 1.0], &options);
    let Ok(Loss::PerElement(costs)) = loss else {
        panic!("rejected: {loss:?}")
    };
    // −ln(1e-7) and −ln(1 − 1e-7), where 1 − 1e-7 is the f64 nearest to it,
    // as the kernel clips to; mpmath at 60 digits.
    let exact = [16.11809565095832, 1.0000000494736474e-7];
    for (i, (&actual, &exact)) in costs.iter().zip(&exact).enumerate() {
        assert!(
            close(actual, exact, F64_EXACT),
            "costs[{i}]: expected {exact:e}, got {actual:e}"
        );
    }
}

#[test]
fn zero_weight_removes_infinite_cost() {
    let weights = [0.0, 1.0];
    let options = Options::new().weights(&weights).reduction(Reduction::Sum);
    let loss = binary_cross_entropy_with_logits(&[f64::NEG_INFINITY, 0.0], &[1.0, 0.0], &options);
    assert_eq!(
        loss,
        Ok(Loss::Reduced(std::f64::consts::LN_2)),
        "0·∞ weight must remove the element"
    );
}

#[test]
fn explain_matches_kernel() {
    let probs = [0.9, 0.2, 0.0, 1.0];
    let targets = [1.0, 0.0, 1.0, 0.5];
    let weights = [1.0, 2.0, 0.5, 1.0];
    let options = Options::new().weights(&weights).reduction(Reduction::None);
    let explanation =
        explain(&probs, &targets, &options).unwrap_or_else(|e| panic!("explain rejected: {e}"));
    let Ok(Loss::PerElement(costs)) = binary_cross_entropy(&probs, &targets, &options) else {
        panic!("kernel rejected");
    };

    for (row, cost) in explanation.rows.iter().zip(&costs) {
        assert!(
            close(row.cost, *cost, F64_EXACT),
            "row {}: kernel {cost}, explain {}",
            row.index,
            row.cost
        );
    }

    let row = explanation.rows[0];
    assert_eq!(
        row.positive_term,
        0.9_f64.ln(),
        "y·log h for h = 0.9, y = 1"
    );
    assert_eq!(row.negative_term, 0.0, "(1−y)·log(1−h) for y = 1");
    assert_eq!(
        explanation.rows[2].positive_term, -100.0,
        "log 0 clamped at −100"
    );

    let mean = costs.iter().sum::<f64>() / 4.0;
    assert!(
        close(explanation.mean, mean, F64_EXACT),
        "mean: expected {mean}, got {}",
        explanation.mean
    );

    let table = explanation.to_string();
    assert_eq!(
        table.lines().count(),
        7,
        "header, 4 rows, sum, mean:\n{table}"
    );
}

#[test]
fn explain_logits_exact_in_tails() {
    let logits = [f64::INFINITY, -40.0, 0.0];
    let targets = [1.0, 1.0, 0.0];
    let explanation = explain_with_logits(&logits, &targets, &Options::new())
        .unwrap_or_else(|e| panic!("explain rejected: {e}"));
    let rows = &explanation.rows;
    assert_eq!(rows[0].cost, 0.0, "logit +∞, target 1");
    assert_eq!(
        rows[0].negative_term, 0.0,
        "(1−y)·log(1−h) skipped for y = 1, no NaN"
    );
    // log σ(−40) = −40 − log1p(e^−40), exact in f64 although σ(−40) ≈ 4e-18.
    let expected = -40.0 - (-40.0_f64).exp().ln_1p();
    assert_eq!(rows[1].positive_term, expected, "y·log h at logit −40");
    assert_eq!(
        rows[2].negative_term,
        -std::f64::consts::LN_2,
        "(1−y)·log(1−h) at logit 0"
    );
    let mean = (0.0 + 40.0 + (-40.0_f64).exp().ln_1p() + std::f64::consts::LN_2) / 3.0;
    assert!(
        close(explanation.mean, mean, F64_EXACT),
        "mean: expected {mean}, got {}",
        explanation.mean
    );
}
