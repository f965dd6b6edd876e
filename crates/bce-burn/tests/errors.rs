//! Invalid input returns an error from both paths; nothing panics.

mod common;

use bce::BceError;
use bce_burn::{BceBurnError, BceOptions, PosWeight, ProbClamp, Reduction, composed};
use burn::tensor::{DType, Tensor};
use common::{autodiff_device, tensor};

type LossFn = fn(Tensor<2>, Tensor<2>, &BceOptions<2>) -> Result<Tensor<1>, BceBurnError>;

/// Both forms of both the default (fused on flex) and the composed path.
const FUNCTIONS: [(&str, LossFn); 4] = [
    ("logits", bce_burn::binary_cross_entropy_with_logits::<2>),
    ("probs", bce_burn::binary_cross_entropy::<2>),
    (
        "composed logits",
        composed::binary_cross_entropy_with_logits::<2>,
    ),
    ("composed probs", composed::binary_cross_entropy::<2>),
];

fn values(rows: usize, columns: usize) -> Tensor<2> {
    let data = vec![0.5; rows * columns];
    tensor(&data, [rows, columns], DType::F32, &autodiff_device())
}

#[test]
fn targets_shape_mismatch_rejected() {
    for (name, function) in FUNCTIONS {
        let result = function(values(2, 3), values(3, 2), &BceOptions::default());
        let expected = BceBurnError::ShapeMismatch {
            name: "targets",
            expected: vec![2, 3],
            actual: vec![3, 2],
        };
        assert_eq!(
            result.err(),
            Some(expected),
            "{name}: targets [3, 2] for values [2, 3]"
        );
    }
}

#[test]
fn weights_shape_mismatch_rejected() {
    for (name, function) in FUNCTIONS {
        let options = BceOptions::new().weights(values(2, 1));
        let result = function(values(2, 3), values(2, 3), &options);
        let expected = BceBurnError::ShapeMismatch {
            name: "weights",
            expected: vec![2, 3],
            actual: vec![2, 1],
        };
        assert_eq!(
            result.err(),
            Some(expected),
            "{name}: weights [2, 1] for values [2, 3]"
        );
    }
}

#[test]
fn pos_weight_classes_mismatch_rejected() {
    for (name, function) in FUNCTIONS {
        let pos_weight = Tensor::<1>::from_data([1.0f32, 2.0], &autodiff_device());
        let options = BceOptions::new().pos_weight(PosWeight::PerClass(pos_weight));
        let result = function(values(2, 3), values(2, 3), &options);
        let expected = BceBurnError::ShapeMismatch {
            name: "pos_weight",
            expected: vec![3],
            actual: vec![2],
        };
        assert_eq!(
            result.err(),
            Some(expected),
            "{name}: 2 class weights for 3 classes"
        );
    }
}

#[test]
fn empty_mean_rejected() {
    for (name, function) in FUNCTIONS {
        let result = function(values(0, 3), values(0, 3), &BceOptions::default());
        assert_eq!(
            result.err(),
            Some(BceBurnError::Bce(BceError::EmptyMean)),
            "{name}: mean of a [0, 3] input"
        );
    }
}

#[test]
fn empty_sum_is_zero() {
    for (name, function) in FUNCTIONS {
        let options = BceOptions::new().reduction(Reduction::Sum);
        let result = function(values(0, 3), values(0, 3), &options).map(common::host);
        assert_eq!(result, Ok(vec![0.0]), "{name}: sum of a [0, 3] input");
    }
}

#[test]
fn invalid_options_rejected() {
    let cases: [(&str, BceOptions<2>, BceError); 5] = [
        (
            "label_smoothing 1.5",
            BceOptions::new().label_smoothing(1.5),
            BceError::InvalidLabelSmoothing { value: 1.5 },
        ),
        (
            "pos_weight -1",
            BceOptions::new().pos_weight(PosWeight::Scalar(-1.0)),
            BceError::InvalidWeight {
                operand: bce::Operand::PosWeight,
                index: 0,
                value: -1.0,
            },
        ),
        (
            "clamp LogMin 1",
            BceOptions::new().clamp(ProbClamp::LogMin(1.0)),
            BceError::InvalidClampLogMin { value: 1.0 },
        ),
        (
            "clamp Epsilon 0.7",
            BceOptions::new().clamp(ProbClamp::Epsilon(0.7)),
            BceError::InvalidClampEpsilon { value: 0.7 },
        ),
        (
            "clamp Epsilon -0.1",
            BceOptions::new().clamp(ProbClamp::Epsilon(-0.1)),
            BceError::InvalidClampEpsilon { value: -0.1 },
        ),
    ];
    for (case, options, error) in cases {
        for (name, function) in FUNCTIONS {
            let result = function(values(2, 3), values(2, 3), &options);
            assert_eq!(
                result.err(),
                Some(BceBurnError::Bce(error.clone())),
                "{name}: {case}"
            );
        }
    }
}

#[test]
fn fused_rejects_target_out_of_range() {
    let device = autodiff_device();
    let logits = tensor(&[0.0, 1.0, 2.0], [3], DType::F32, &device);
    let targets = tensor(&[0.0, 1.5, 1.0], [3], DType::F32, &device);
    let result =
        bce_burn::binary_cross_entropy_with_logits(logits, targets, &BceOptions::default());
    assert_eq!(
        result.err(),
        Some(BceBurnError::Bce(BceError::TargetOutOfRange {
            index: 1,
            value: 1.5
        })),
        "target 1.5 at index 1"
    );
}

#[test]
fn fused_rejects_probability_out_of_range() {
    let device = autodiff_device();
    let probs = tensor(&[0.2, -0.5, 0.9], [3], DType::F32, &device);
    let targets = tensor(&[0.0, 1.0, 1.0], [3], DType::F32, &device);
    let result = bce_burn::binary_cross_entropy(probs, targets, &BceOptions::default());
    assert_eq!(
        result.err(),
        Some(BceBurnError::Bce(BceError::ProbabilityOutOfRange {
            index: 1,
            value: -0.5
        })),
        "probability -0.5 at index 1"
    );
}

#[test]
fn fused_rejects_nan_logit() {
    let device = autodiff_device();
    let logits = tensor(&[0.0, f64::NAN], [2], DType::F32, &device);
    let targets = tensor(&[0.0, 1.0], [2], DType::F32, &device);
    let result =
        bce_burn::binary_cross_entropy_with_logits(logits, targets, &BceOptions::default());
    assert_eq!(
        result.err(),
        Some(BceBurnError::Bce(BceError::NotANumber {
            operand: bce::Operand::Logits,
            index: 1
        })),
        "NaN logit at index 1"
    );
}

#[test]
fn fused_rejects_unsupported_dtype() {
    let device = autodiff_device();
    let logits = tensor(&[0.0, 1.0], [2], DType::F32, &device).cast(DType::F16);
    let targets = tensor(&[0.0, 1.0], [2], DType::F32, &device);
    let result =
        bce_burn::fused::binary_cross_entropy_with_logits(logits, targets, &BceOptions::default());
    assert_eq!(
        result.err(),
        Some(BceBurnError::UnsupportedDType {
            name: "logits",
            dtype: DType::F16
        }),
        "F16 logits on the fused path"
    );
}
