//! The composed tensor-op path against the fused path, for every reduction and option, and
//! the result shapes and the plain (non-autodiff) device.

mod common;

use bce_burn::{BceOptions, Reduction, composed, fused};
use burn::tensor::{DType, Tensor};
use common::{
    CLASSES, COUNT, ROWS, autodiff_device, case_inputs, host, max_relative_error, option_cases,
    plain_device, tensor, tolerance,
};

type LossFn = fn(Tensor<2>, Tensor<2>, &BceOptions<2>) -> Result<Tensor<1>, bce_burn::BceBurnError>;

/// Runs `function` and returns the loss and the input gradient.
fn loss_and_grad(
    function: LossFn,
    values: &[f64],
    targets: &[f64],
    case: &common::OptionCase,
    dtype: DType,
) -> (Vec<f64>, Vec<f64>) {
    let device = autodiff_device();
    let input = tensor(values, [ROWS, CLASSES], dtype, &device).require_grad();
    let target_tensor = tensor(targets, [ROWS, CLASSES], dtype, &device);
    let options = case.tensor_options(dtype, &device);
    let loss = function(input.clone(), target_tensor, &options)
        .unwrap_or_else(|error| panic!("case {} rejected valid input: {error}", case.name));
    let grads = loss.clone().sum().backward();
    let grad = match input.grad(&grads) {
        Some(grad) => host(grad),
        None => panic!("case {}: no gradient reached the input", case.name),
    };
    (host(loss), grad)
}

fn check_composed_matches_fused(dtype: DType, tolerance: f64) {
    let (logits, probs, targets) = case_inputs(41);
    let pairs: [(&str, LossFn, LossFn, &[f64]); 2] = [
        (
            "logits",
            composed::binary_cross_entropy_with_logits::<2>,
            fused::binary_cross_entropy_with_logits::<2>,
            &logits,
        ),
        (
            "probs",
            composed::binary_cross_entropy::<2>,
            fused::binary_cross_entropy::<2>,
            &probs,
        ),
    ];

    for case in option_cases() {
        for (form, composed_fn, fused_fn, values) in pairs {
            let (composed_loss, composed_grad) =
                loss_and_grad(composed_fn, values, &targets, &case, dtype);
            let (fused_loss, fused_grad) = loss_and_grad(fused_fn, values, &targets, &case, dtype);

            let loss_error = max_relative_error(&composed_loss, &fused_loss);
            assert!(
                loss_error <= tolerance,
                "{dtype:?} {form} case {}: composed loss {composed_loss:?}, fused {fused_loss:?}",
                case.name
            );
            let grad_error = max_relative_error(&composed_grad, &fused_grad);
            assert!(
                grad_error <= tolerance,
                "{dtype:?} {form} case {}: composed gradient {composed_grad:?}, fused {fused_grad:?}",
                case.name
            );
        }
    }
}

#[test]
fn composed_matches_fused_f64() {
    check_composed_matches_fused(DType::F64, tolerance::COMPOSED_VS_FUSED_F64);
}

#[test]
fn composed_matches_fused_f32() {
    check_composed_matches_fused(DType::F32, tolerance::COMPOSED_VS_FUSED_F32);
}

#[test]
fn result_shape_follows_reduction() {
    let device = autodiff_device();
    let (logits, _, targets) = case_inputs(42);
    for (reduction, expected) in [
        (Reduction::Mean, [1]),
        (Reduction::Sum, [1]),
        (Reduction::None, [COUNT]),
    ] {
        let options = BceOptions::new().reduction(reduction);
        let input = tensor(&logits, [ROWS, CLASSES], DType::F32, &device);
        let target_tensor = tensor(&targets, [ROWS, CLASSES], DType::F32, &device);
        let fused_shape = bce_burn::binary_cross_entropy_with_logits(
            input.clone(),
            target_tensor.clone(),
            &options,
        )
        .map(|loss| loss.dims());
        let composed_shape =
            composed::binary_cross_entropy_with_logits(input, target_tensor, &options)
                .map(|loss| loss.dims());
        assert_eq!(fused_shape, Ok(expected), "fused, reduction {reduction:?}");
        assert_eq!(
            composed_shape,
            Ok(expected),
            "composed, reduction {reduction:?}"
        );
    }
}

#[test]
fn plain_device_matches_bce() {
    // Without autodiff no backward node is built, and the forward value is still `bce`'s.
    let device = plain_device();
    let (logits, _, targets) = case_inputs(43);
    for case in option_cases() {
        let input = tensor(&logits, [ROWS, CLASSES], DType::F64, &device);
        let target_tensor = tensor(&targets, [ROWS, CLASSES], DType::F64, &device);
        let options = case.tensor_options(DType::F64, &device);
        let loss = bce_burn::binary_cross_entropy_with_logits(input, target_tensor, &options)
            .unwrap_or_else(|error| panic!("case {} rejected valid input: {error}", case.name));
        let loss = host(loss);

        let expected = case.with_bce_options::<f64, _>(|options| {
            bce::binary_cross_entropy_with_logits(&logits, &targets, options)
        });
        let expected = match expected {
            Ok(expected) => common::loss_values(&expected),
            Err(error) => panic!("bce rejected case {}: {error}", case.name),
        };
        assert_eq!(loss, expected, "case {}", case.name);
    }
}

#[test]
fn f32_targets_with_f64_logits() {
    // Targets are converted to the dtype of the logits before the kernel runs.
    let device = autodiff_device();
    let (logits, _, targets) = case_inputs(44);
    let input = tensor(&logits, [ROWS, CLASSES], DType::F64, &device);
    let target_tensor = tensor(&targets, [ROWS, CLASSES], DType::F32, &device);
    let loss =
        bce_burn::binary_cross_entropy_with_logits(input, target_tensor, &BceOptions::default())
            .unwrap_or_else(|error| panic!("mixed dtypes rejected: {error}"));
    assert_eq!(
        loss.dtype(),
        DType::F64,
        "loss dtype for F64 logits and F32 targets"
    );

    let targets_f32: Vec<f64> = targets.iter().map(|&t| f64::from(t as f32)).collect();
    let expected =
        bce::binary_cross_entropy_with_logits(&logits, &targets_f32, &bce::Options::default())
            .map(|loss| common::loss_values(&loss));
    assert_eq!(
        Ok(host(loss)),
        expected,
        "logits {logits:?}, targets {targets_f32:?}"
    );
}
