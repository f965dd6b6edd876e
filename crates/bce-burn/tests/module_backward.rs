//! `backward()` through a real module: a `Linear` layer produces logits `[batch, 1]`, the
//! loss is the mean binary cross-entropy, and the parameter gradients must equal the chain
//! rule worked by hand: dL/dz = (σ(z) − y)/n, dL/dW = xᵀ·dL/dz, dL/db = Σ dL/dz.

mod common;

use bce_burn::{BceOptions, binary_cross_entropy_with_logits};
use burn::nn::LinearConfig;
use burn::tensor::{DType, Device, Tensor};
use common::{host, max_relative_error, rng, tensor, uniform};

/// The hand computation is in f64 from the f32 parameters, so f32 rounding in the forward
/// pass and in burn's matrix product bounds the difference.
const TOLERANCE: f64 = 1e-5;

fn parameter_gradients_match(device: &Device, batch: usize, features: usize) {
    let layer = LinearConfig::new(features, 1).init(device);
    let inputs = uniform(&mut rng(31), batch * features, -2.0, 2.0);
    let targets: Vec<f64> = (0..batch)
        .map(|i| if i % 2 == 0 { 1.0 } else { 0.0 })
        .collect();

    let input_tensor = tensor(&inputs, [batch, features], DType::F32, device);
    let target_tensor = tensor(&targets, [batch, 1], DType::F32, device);
    let logits = layer.forward(input_tensor);
    let loss = binary_cross_entropy_with_logits(logits, target_tensor, &BceOptions::default())
        .unwrap_or_else(|error| panic!("loss rejected valid input: {error}"));
    let grads = loss.backward();

    let weight = layer.weight.val();
    let weight_grad = match weight.grad(&grads) {
        Some(grad) => host(grad),
        None => panic!("no gradient reached the weight"),
    };
    let bias = match &layer.bias {
        Some(bias) => bias.val(),
        None => panic!("LinearConfig builds a bias by default"),
    };
    let bias_grad = match bias.grad(&grads) {
        Some(grad) => host(grad),
        None => panic!("no gradient reached the bias"),
    };

    // The hand computation. burn's `Linear` weight has shape [in, out].
    let weight_host = host(weight);
    let bias_host = host(bias)[0];
    let mut expected_weight_grad = vec![0.0; features];
    let mut expected_bias_grad = 0.0;
    for row in 0..batch {
        let x = &inputs[row * features..(row + 1) * features];
        // The forward pass ran on f32 inputs, so the hand computation uses them too.
        let z: f64 = x
            .iter()
            .zip(&weight_host)
            .map(|(&xi, &wi)| f64::from(xi as f32) * wi)
            .sum::<f64>()
            + bias_host;
        let dz = (1.0 / (1.0 + (-z).exp()) - targets[row]) / batch as f64;
        for (grad, &xi) in expected_weight_grad.iter_mut().zip(x) {
            *grad += f64::from(xi as f32) * dz;
        }
        expected_bias_grad += dz;
    }

    let weight_error = max_relative_error(&weight_grad, &expected_weight_grad);
    assert!(
        weight_error <= TOLERANCE,
        "weight gradient {weight_grad:?}, by hand {expected_weight_grad:?}"
    );
    let bias_error = max_relative_error(&bias_grad, &[expected_bias_grad]);
    assert!(
        bias_error <= TOLERANCE,
        "bias gradient {bias_grad:?}, by hand {expected_bias_grad}"
    );
}

#[test]
fn linear_gradients_match_hand_computation() {
    parameter_gradients_match(&common::autodiff_device(), 16, 5);
}

#[test]
fn discriminator_step_gradients_flow() {
    // The GAN discriminator loss: ½[BCE(D(x), 1) + BCE(D(G(z)), 0)], both through one layer.
    let device = common::autodiff_device();
    let layer = LinearConfig::new(4, 1).init(&device);
    let real = tensor(
        &uniform(&mut rng(32), 8 * 4, -1.0, 1.0),
        [8, 4],
        DType::F32,
        &device,
    );
    let fake = tensor(
        &uniform(&mut rng(33), 8 * 4, -1.0, 1.0),
        [8, 4],
        DType::F32,
        &device,
    );
    let options = BceOptions::default();

    let real_loss = binary_cross_entropy_with_logits(
        layer.forward(real),
        Tensor::ones([8, 1], &device),
        &options,
    )
    .unwrap_or_else(|error| panic!("real loss rejected valid input: {error}"));
    let fake_loss = binary_cross_entropy_with_logits(
        layer.forward(fake),
        Tensor::zeros([8, 1], &device),
        &options,
    )
    .unwrap_or_else(|error| panic!("fake loss rejected valid input: {error}"));
    let d_loss = real_loss.add(fake_loss).mul_scalar(0.5);
    let grads = d_loss.backward();

    let weight_grad = layer.weight.val().grad(&grads).map(host);
    assert!(
        weight_grad
            .as_ref()
            .is_some_and(|grad| grad.iter().all(|g| g.is_finite() && *g != 0.0)),
        "weight gradient of the discriminator loss: {weight_grad:?}"
    );
}
