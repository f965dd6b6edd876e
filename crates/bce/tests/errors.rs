//! Every error variant: when it is returned, what it names, and how its
//! message reads.

use bce::{
    BceError, Operand, Options, PosWeight, ProbClamp, Reduction, binary_cross_entropy,
    binary_cross_entropy_grad, binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad, explain, explain_with_logits,
};

/// Runs all four entry points on the same input and returns the first
/// error, after checking that all four agree.
fn error_of(values: &[f64], targets: &[f64], options: &Options<'_, f64>, logits: bool) -> BceError {
    let results = if logits {
        [
            binary_cross_entropy_with_logits(values, targets, options).err(),
            binary_cross_entropy_with_logits_grad(values, targets, options).err(),
            explain_with_logits(values, targets, options).err(),
        ]
    } else {
        [
            binary_cross_entropy(values, targets, options).err(),
            binary_cross_entropy_grad(values, targets, options).err(),
            explain(values, targets, options).err(),
        ]
    };
    let [first, second, third] = results;
    let Some(first) = first else {
        panic!("values {values:?} targets {targets:?}: expected an error, got a loss");
    };
    // Compared through Debug, because an error holding a NaN is not equal to itself.
    let expected = format!("{:?}", Some(&first));
    assert_eq!(
        format!("{:?}", second.as_ref()),
        expected,
        "fused form disagrees for {values:?}"
    );
    assert_eq!(
        format!("{:?}", third.as_ref()),
        expected,
        "explain disagrees for {values:?}"
    );
    first
}

fn assert_message_style(error: &BceError) {
    let message = error.to_string();
    let first = message.chars().next().unwrap_or(' ');
    assert!(!first.is_uppercase(), "message starts lowercase: {message}");
    assert!(
        !message.ends_with('.'),
        "message has no trailing period: {message}"
    );
}

#[test]
fn error_is_send_sync_clone() {
    fn check<E: Send + Sync + Clone + std::error::Error + 'static>() {}
    check::<BceError>();
}

#[test]
fn length_mismatch_targets() {
    for logits in [false, true] {
        let error = error_of(&[0.5, 0.2, 0.1], &[1.0, 0.0], &Options::new(), logits);
        let values = if logits {
            Operand::Logits
        } else {
            Operand::Probs
        };
        let expected = BceError::LengthMismatch {
            values,
            len: 3,
            operand: Operand::Targets,
            operand_len: 2,
        };
        assert_eq!(error, expected, "logits form: {logits}");
        assert_message_style(&error);
    }
}

/// A `[4, 1]` output against `4·3` targets: the message points at the shape.
#[test]
fn length_mismatch_column_hint() {
    let error = error_of(&[0.5; 4], &[1.0; 12], &Options::new(), false);
    let message = error.to_string();
    assert!(
        message.contains("targets has 12 values but probs has 4"),
        "message: {message}"
    );
    assert!(
        message.contains("3 per element"),
        "message names the ratio: {message}"
    );
    assert!(
        message.contains("[n, 1]"),
        "message mentions the column shape: {message}"
    );
    assert_message_style(&error);

    let error = error_of(&[0.5; 12], &[1.0; 4], &Options::new(), false);
    let message = error.to_string();
    assert!(message.contains("one per 3 elements"), "message: {message}");
    assert!(message.contains("[n, 3]"), "message: {message}");
}

#[test]
fn length_mismatch_weights() {
    let weights = [1.0, 2.0];
    let error = error_of(
        &[0.5; 3],
        &[1.0; 3],
        &Options::new().weights(&weights),
        false,
    );
    let expected = BceError::LengthMismatch {
        values: Operand::Probs,
        len: 3,
        operand: Operand::Weights,
        operand_len: 2,
    };
    assert_eq!(error, expected);
}

#[test]
fn probability_out_of_range() {
    for (bad, index) in [(1.5, 1), (-0.1, 1), (f64::INFINITY, 1)] {
        let error = error_of(&[0.5, bad], &[1.0, 0.0], &Options::new(), false);
        assert_eq!(
            error,
            BceError::ProbabilityOutOfRange { index, value: bad },
            "probability {bad}"
        );
        assert_message_style(&error);
    }
}

#[test]
fn target_out_of_range_both_forms() {
    for logits in [false, true] {
        for bad in [2.0, -0.1, f64::NEG_INFINITY] {
            let error = error_of(&[0.5, 0.5], &[bad, 0.0], &Options::new(), logits);
            assert_eq!(
                error,
                BceError::TargetOutOfRange {
                    index: 0,
                    value: bad
                },
                "target {bad}, logits {logits}"
            );
            assert_message_style(&error);
        }
    }
}

#[test]
fn nan_named_by_operand() {
    let nan = f64::NAN;
    let cases: [(&[f64], &[f64], bool, Operand); 4] = [
        (&[0.5, nan], &[1.0, 1.0], false, Operand::Probs),
        (&[0.5, nan], &[1.0, 1.0], true, Operand::Logits),
        (&[0.5, 0.5], &[1.0, nan], false, Operand::Targets),
        (&[0.5, 0.5], &[1.0, nan], true, Operand::Targets),
    ];
    for (values, targets, logits, operand) in cases {
        let error = error_of(values, targets, &Options::new(), logits);
        assert_eq!(
            error,
            BceError::NotANumber { operand, index: 1 },
            "{operand} NaN"
        );
        assert_message_style(&error);
    }

    let weights = [1.0, nan];
    let error = error_of(
        &[0.5, 0.5],
        &[1.0, 1.0],
        &Options::new().weights(&weights),
        true,
    );
    assert_eq!(
        error,
        BceError::NotANumber {
            operand: Operand::Weights,
            index: 1
        }
    );

    let options = Options::new().pos_weight(PosWeight::Scalar(nan));
    let error = error_of(&[0.5, 0.5], &[1.0, 1.0], &options, true);
    assert_eq!(
        error,
        BceError::NotANumber {
            operand: Operand::PosWeight,
            index: 0
        }
    );
}

#[test]
fn infinite_logits_accepted() {
    let logits = [f64::INFINITY, f64::NEG_INFINITY];
    let result = binary_cross_entropy_with_logits(&logits, &[1.0, 0.0], &Options::new());
    assert!(result.is_ok(), "±∞ logits are valid input: {result:?}");
}

#[test]
fn invalid_weights_rejected() {
    for bad in [-1.0, f64::INFINITY] {
        let weights = [1.0, bad];
        let error = error_of(
            &[0.5, 0.5],
            &[1.0, 1.0],
            &Options::new().weights(&weights),
            false,
        );
        let expected = BceError::InvalidWeight {
            operand: Operand::Weights,
            index: 1,
            value: bad,
        };
        assert_eq!(error, expected, "weight {bad}");
        assert_message_style(&error);

        let per_class = [2.0, bad];
        let options = Options::new().pos_weight(PosWeight::PerClass(&per_class));
        let error = error_of(&[0.5, 0.5], &[1.0, 1.0], &options, true);
        let expected = BceError::InvalidWeight {
            operand: Operand::PosWeight,
            index: 1,
            value: bad,
        };
        assert_eq!(error, expected, "pos_weight {bad}");
    }
}

#[test]
fn pos_weight_classes_must_divide_length() {
    let per_class = [1.0, 2.0, 3.0];
    let options = Options::new().pos_weight(PosWeight::PerClass(&per_class));
    let error = error_of(&[0.5; 4], &[1.0; 4], &options, true);
    assert_eq!(error, BceError::PosWeightClasses { classes: 3, len: 4 });
    assert_message_style(&error);

    let options = Options::new().pos_weight(PosWeight::PerClass(&[]));
    let error = error_of(&[0.5; 4], &[1.0; 4], &options, false);
    assert_eq!(error, BceError::PosWeightClasses { classes: 0, len: 4 });
}

#[test]
fn label_smoothing_out_of_range() {
    for bad in [-0.1, 1.5, f64::NAN] {
        let options = Options::new().label_smoothing(bad);
        let error = error_of(&[0.5], &[1.0], &options, true);
        let matches = matches!(error, BceError::InvalidLabelSmoothing { value } if value.to_bits() == bad.to_bits());
        assert!(matches, "label_smoothing {bad}: got {error:?}");
        assert_message_style(&error);
    }
}

#[test]
fn clamp_out_of_range() {
    for bad in [-1e-7, 0.6, f64::NAN] {
        let options = Options::new().clamp(ProbClamp::Epsilon(bad));
        let error = error_of(&[0.5], &[1.0], &options, false);
        let matches = matches!(error, BceError::InvalidClampEpsilon { value } if value.to_bits() == bad.to_bits());
        assert!(matches, "epsilon {bad}: got {error:?}");
        assert_message_style(&error);
    }
    for bad in [1.0, f64::NAN] {
        let options = Options::new().clamp(ProbClamp::LogMin(bad));
        let error = error_of(&[0.5], &[1.0], &options, false);
        let matches = matches!(error, BceError::InvalidClampLogMin { value } if value.to_bits() == bad.to_bits());
        assert!(matches, "log floor {bad}: got {error:?}");
    }
    // The logits form has no clamp, so it ignores the option.
    let options = Options::new().clamp(ProbClamp::Epsilon(0.9));
    let result = binary_cross_entropy_with_logits(&[0.5], &[1.0], &options);
    assert!(result.is_ok(), "logits form ignores the clamp: {result:?}");
}

#[test]
fn empty_mean_rejected_sum_is_zero() {
    for logits in [false, true] {
        let error = error_of(&[], &[], &Options::new(), logits);
        assert_eq!(error, BceError::EmptyMean, "logits form: {logits}");
        assert_message_style(&error);
    }
    let sum = binary_cross_entropy(
        &[] as &[f32],
        &[],
        &Options::new().reduction(Reduction::Sum),
    );
    assert_eq!(sum, Ok(bce::Loss::Reduced(0.0)), "sum over nothing");
    let none = binary_cross_entropy_with_logits_grad(
        &[] as &[f64],
        &[],
        &Options::new().reduction(Reduction::None),
    );
    let none = none.map(|r| (r.loss, r.grad));
    assert_eq!(
        none,
        Ok((bce::Loss::PerElement(vec![]), vec![])),
        "per-element over nothing"
    );
}

/// Lengths are checked before values, so the length error wins.
#[test]
fn length_checked_before_values() {
    let error = error_of(&[f64::NAN, 0.5], &[1.0], &Options::new(), false);
    assert!(
        matches!(error, BceError::LengthMismatch { .. }),
        "got {error:?}"
    );
}
