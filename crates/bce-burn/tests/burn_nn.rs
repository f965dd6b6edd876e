//! Agreement with burn's own `BinaryCrossEntropyLoss` where both are defined: 0/1 targets,
//! mean reduction, per-class weights on `[n, classes]`, and label smoothing on rank 1.
//! burn smooths towards 1/classes on rank ≥ 2 but towards 1/2 on rank 1, and this crate always
//! smooths towards 1/2.

mod common;

use bce_burn::BceOptions;
use burn::nn::loss::BinaryCrossEntropyLossConfig;
use burn::tensor::{DType, Int, Tensor, TensorData};
use common::{autodiff_device, host, max_relative_error, rng, tensor, tolerance, uniform};
use rand::Rng;

/// Seeded 0/1 targets, as f64 for this crate and as integers for burn.
fn binary_targets(seed: u64, count: usize) -> Vec<i64> {
    let mut rng = rng(seed);
    (0..count)
        .map(|_| i64::from(rng.random_bool(0.5)))
        .collect()
}

/// Loss and input gradient of both implementations on the same input.
struct Comparison {
    ours_loss: Vec<f64>,
    burn_loss: Vec<f64>,
    ours_grad: Vec<f64>,
    burn_grad: Vec<f64>,
}

fn compare<const D: usize>(
    values: &[f64],
    targets: &[i64],
    shape: [usize; D],
    logits: bool,
    configure: impl Fn(BinaryCrossEntropyLossConfig) -> BinaryCrossEntropyLossConfig,
    options: &BceOptions<D>,
) -> Comparison {
    let device = autodiff_device();
    let target_floats: Vec<f64> = targets.iter().map(|&t| t as f64).collect();

    let ours_input = tensor(values, shape, DType::F32, &device).require_grad();
    let ours_targets = tensor(&target_floats, shape, DType::F32, &device);
    let ours = if logits {
        bce_burn::binary_cross_entropy_with_logits(ours_input.clone(), ours_targets, options)
    } else {
        bce_burn::binary_cross_entropy(ours_input.clone(), ours_targets, options)
    };
    let ours = ours.unwrap_or_else(|error| panic!("bce-burn rejected valid input: {error}"));
    let ours_grads = ours.clone().backward();

    let burn_input = tensor(values, shape, DType::F32, &device).require_grad();
    let burn_targets =
        Tensor::<D, Int>::from_data(TensorData::new(targets.to_vec(), shape), &device);
    let loss = configure(BinaryCrossEntropyLossConfig::new().with_logits(logits)).init(&device);
    let reference = loss.forward(burn_input.clone(), burn_targets);
    let burn_grads = reference.clone().backward();

    let grad_of = |input: &Tensor<D>, grads| match input.grad(grads) {
        Some(grad) => host(grad),
        None => panic!("no gradient reached the input"),
    };
    Comparison {
        ours_grad: grad_of(&ours_input, &ours_grads),
        burn_grad: grad_of(&burn_input, &burn_grads),
        ours_loss: host(ours),
        burn_loss: host(reference),
    }
}

fn assert_agree(case: &str, comparison: &Comparison) {
    let loss_error = max_relative_error(&comparison.ours_loss, &comparison.burn_loss);
    assert!(
        loss_error <= tolerance::BURN_NN_F32,
        "{case}: loss {:?}, burn {:?}",
        comparison.ours_loss,
        comparison.burn_loss
    );
    let grad_error = max_relative_error(&comparison.ours_grad, &comparison.burn_grad);
    assert!(
        grad_error <= tolerance::BURN_NN_F32,
        "{case}: gradient {:?}, burn {:?}",
        comparison.ours_grad,
        comparison.burn_grad
    );
}

#[test]
fn burn_nn_agrees_on_logits() {
    let count = 32;
    let logits = uniform(&mut rng(21), count, -8.0, 8.0);
    let targets = binary_targets(22, count);
    let comparison = compare(
        &logits,
        &targets,
        [count],
        true,
        |c| c,
        &BceOptions::default(),
    );
    assert_agree(
        &format!("logits {logits:?}, targets {targets:?}"),
        &comparison,
    );
}

#[test]
fn burn_nn_agrees_on_probs() {
    let count = 32;
    let probs = uniform(&mut rng(23), count, 0.01, 0.99);
    let targets = binary_targets(24, count);
    let comparison = compare(
        &probs,
        &targets,
        [count],
        false,
        |c| c,
        &BceOptions::default(),
    );
    assert_agree(
        &format!("probs {probs:?}, targets {targets:?}"),
        &comparison,
    );
}

#[test]
fn burn_nn_agrees_on_class_weights() {
    let (rows, classes) = (8, 4);
    let logits = uniform(&mut rng(25), rows * classes, -5.0, 5.0);
    let targets = binary_targets(26, rows * classes);
    let class_weights = [0.5f32, 1.0, 2.0, 3.5];

    // burn takes one weight per class; this crate takes the same weights per element.
    let per_element: Vec<f64> = (0..rows * classes)
        .map(|i| f64::from(class_weights[i % classes]))
        .collect();
    let device = autodiff_device();
    let options =
        BceOptions::new().weights(tensor(&per_element, [rows, classes], DType::F32, &device));

    let comparison = compare(
        &logits,
        &targets,
        [rows, classes],
        true,
        |c| c.with_weights(Some(class_weights.to_vec())),
        &options,
    );
    assert_agree(
        &format!("weights {class_weights:?}, logits {logits:?}"),
        &comparison,
    );
}

#[test]
fn burn_nn_agrees_on_smoothing_rank_one() {
    let count = 32;
    let logits = uniform(&mut rng(27), count, -6.0, 6.0);
    let targets = binary_targets(28, count);
    let options = BceOptions::new().label_smoothing(0.1);
    let comparison = compare(
        &logits,
        &targets,
        [count],
        true,
        |c| c.with_smoothing(Some(0.1)),
        &options,
    );
    assert_agree(&format!("smoothing 0.1, logits {logits:?}"), &comparison);
}
