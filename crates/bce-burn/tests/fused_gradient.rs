//! The backward pass of the fused path: `backward()` must return the `bce` fused gradient
//! (scaled by the upstream gradient) and agree with a central finite difference.

mod common;

use bce_burn::{BceOptions, Reduction, fused};
use burn::tensor::{DType, Tensor};
use common::{
    CLASSES, COUNT, ROWS, autodiff_device, case_inputs, host, max_relative_error, option_cases,
    tensor, tolerance,
};

#[derive(Debug, Clone, Copy)]
enum Form {
    Logits,
    Probs,
}

/// Runs the fused function of `form` and returns the loss tensor.
fn fused_loss(
    form: Form,
    values: Tensor<2>,
    targets: Tensor<2>,
    options: &BceOptions<2>,
) -> Tensor<1> {
    let result = match form {
        Form::Logits => fused::binary_cross_entropy_with_logits(values, targets, options),
        Form::Probs => fused::binary_cross_entropy(values, targets, options),
    };
    match result {
        Ok(loss) => loss,
        Err(error) => panic!("fused {form:?} failed on valid input: {error}"),
    }
}

/// Computes the `bce` loss and gradient of `form` in element type `T`, widened to f64.
fn bce_reference<T: bce::Float + Into<f64>>(
    form: Form,
    values: &[f64],
    targets: &[f64],
    case: &common::OptionCase,
) -> (Vec<f64>, Vec<f64>) {
    let values: Vec<T> = values.iter().map(|&v| T::from_f64(v)).collect();
    let targets: Vec<T> = targets.iter().map(|&v| T::from_f64(v)).collect();
    let result = case.with_bce_options::<T, _>(|options| match form {
        Form::Logits => bce::binary_cross_entropy_with_logits_grad(&values, &targets, options),
        Form::Probs => bce::binary_cross_entropy_grad(&values, &targets, options),
    });
    match result {
        Ok(result) => (
            common::loss_values(&result.loss),
            result.grad.iter().map(|&g| g.into()).collect(),
        ),
        Err(error) => panic!("bce rejected valid input in case {}: {error}", case.name),
    }
}

fn check_backward_matches_bce(dtype: DType) {
    let device = autodiff_device();
    let (logits, probs, targets) = case_inputs(11);

    for case in option_cases() {
        for form in [Form::Logits, Form::Probs] {
            let values = match form {
                Form::Logits => &logits,
                Form::Probs => &probs,
            };
            let input = tensor(values, [ROWS, CLASSES], dtype, &device).require_grad();
            let target_tensor = tensor(&targets, [ROWS, CLASSES], dtype, &device);
            let options = case.tensor_options(dtype, &device);

            let loss = fused_loss(form, input.clone(), target_tensor, &options);
            let loss_host = host(loss.clone());
            // Summing an unreduced loss seeds each element with an upstream gradient of 1.
            let grads = loss.sum().backward();
            let grad = match input.grad(&grads) {
                Some(grad) => host(grad),
                None => panic!("no gradient reached the {form:?} in case {}", case.name),
            };

            let (expected_loss, expected_grad) = match dtype {
                DType::F32 => bce_reference::<f32>(form, values, &targets, &case),
                _ => bce_reference::<f64>(form, values, &targets, &case),
            };
            let loss_error = max_relative_error(&loss_host, &expected_loss);
            assert!(
                loss_error <= tolerance::FUSED_VS_BCE,
                "{dtype:?} {form:?} case {}: loss {loss_host:?}, expected {expected_loss:?}",
                case.name
            );
            let grad_error = max_relative_error(&grad, &expected_grad);
            assert!(
                grad_error <= tolerance::FUSED_VS_BCE,
                "{dtype:?} {form:?} case {}: gradient {grad:?}, expected {expected_grad:?}",
                case.name
            );
        }
    }
}

#[test]
fn backward_matches_bce_gradient_f64() {
    check_backward_matches_bce(DType::F64);
}

#[test]
fn backward_matches_bce_gradient_f32() {
    check_backward_matches_bce(DType::F32);
}

#[test]
fn backward_scales_by_scalar_upstream() {
    let device = autodiff_device();
    let (logits, _, targets) = case_inputs(12);
    let input = tensor(&logits, [ROWS, CLASSES], DType::F64, &device).require_grad();
    let target_tensor = tensor(&targets, [ROWS, CLASSES], DType::F64, &device);

    let loss = fused_loss(
        Form::Logits,
        input.clone(),
        target_tensor,
        &BceOptions::default(),
    );
    let grads = loss.mul_scalar(0.5).backward();
    let grad = host(
        input
            .grad(&grads)
            .unwrap_or_else(|| panic!("no gradient for the logits")),
    );

    let (_, bce_grad) = bce_reference::<f64>(Form::Logits, &logits, &targets, &option_cases()[0]);
    let expected: Vec<f64> = bce_grad.iter().map(|g| g * 0.5).collect();
    assert_eq!(
        grad, expected,
        "upstream 0.5 on the mean: gradient {grad:?}, expected {expected:?}"
    );
}

#[test]
fn backward_scales_by_elementwise_upstream() {
    let device = autodiff_device();
    let (logits, _, targets) = case_inputs(13);
    let upstream = common::uniform(&mut common::rng(14), COUNT, -2.0, 2.0);
    let input = tensor(&logits, [ROWS, CLASSES], DType::F64, &device).require_grad();
    let target_tensor = tensor(&targets, [ROWS, CLASSES], DType::F64, &device);
    let options = BceOptions::new().reduction(Reduction::None);

    let loss = fused_loss(Form::Logits, input.clone(), target_tensor, &options);
    let upstream_tensor = tensor(&upstream, [COUNT], DType::F64, &device);
    let grads = loss.mul(upstream_tensor).sum().backward();
    let grad = host(
        input
            .grad(&grads)
            .unwrap_or_else(|| panic!("no gradient for the logits")),
    );

    let none_case = &option_cases()[2];
    let (_, bce_grad) = bce_reference::<f64>(Form::Logits, &logits, &targets, none_case);
    let expected: Vec<f64> = bce_grad.iter().zip(&upstream).map(|(g, u)| g * u).collect();
    assert_eq!(
        grad, expected,
        "per-element upstream {upstream:?}: gradient {grad:?}, expected {expected:?}"
    );
}

/// Computes the central difference of the summed loss with respect to each input element.
fn central_difference(
    form: Form,
    values: &[f64],
    targets: &[f64],
    case: &common::OptionCase,
) -> Vec<f64> {
    let device = common::plain_device();
    let step = 1e-6;
    let target_tensor = tensor(targets, [ROWS, CLASSES], DType::F64, &device);
    let options = case.tensor_options(DType::F64, &device);
    let total = |shifted: &[f64]| -> f64 {
        let input = tensor(shifted, [ROWS, CLASSES], DType::F64, &device);
        host(fused_loss(form, input, target_tensor.clone(), &options))
            .iter()
            .sum()
    };

    (0..values.len())
        .map(|i| {
            let mut plus = values.to_vec();
            let mut minus = values.to_vec();
            plus[i] += step;
            minus[i] -= step;
            (total(&plus) - total(&minus)) / (2.0 * step)
        })
        .collect()
}

#[test]
fn backward_matches_central_difference_f64() {
    let device = autodiff_device();
    let (logits, probs, targets) = case_inputs(15);

    for case in option_cases() {
        for form in [Form::Logits, Form::Probs] {
            let values = match form {
                Form::Logits => &logits,
                Form::Probs => &probs,
            };
            let input = tensor(values, [ROWS, CLASSES], DType::F64, &device).require_grad();
            let target_tensor = tensor(&targets, [ROWS, CLASSES], DType::F64, &device);
            let options = case.tensor_options(DType::F64, &device);

            let loss = fused_loss(form, input.clone(), target_tensor, &options);
            let grads = loss.sum().backward();
            let grad = match input.grad(&grads) {
                Some(grad) => host(grad),
                None => panic!("no gradient reached the {form:?} in case {}", case.name),
            };

            let expected = central_difference(form, values, &targets, &case);
            let error = max_relative_error(&grad, &expected);
            assert!(
                error <= tolerance::FINITE_DIFFERENCE_F64,
                "{form:?} case {}: gradient {grad:?}, central difference {expected:?}, error {error}",
                case.name
            );
        }
    }
}

#[test]
fn untracked_input_gets_no_backward_node() {
    let device = autodiff_device();
    let (logits, _, targets) = case_inputs(16);
    // Neither tensor requires a gradient, so the loss must not be tracked either.
    let input = tensor(&logits, [ROWS, CLASSES], DType::F32, &device);
    let target_tensor = tensor(&targets, [ROWS, CLASSES], DType::F32, &device);

    let loss = fused_loss(Form::Logits, input, target_tensor, &BceOptions::default());
    assert!(
        !loss.is_tracked(),
        "loss of untracked logits is tracked: {loss}"
    );
}
