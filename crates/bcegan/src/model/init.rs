//! Seeded weight initialisation, independent of the backend's random generator.
//!
//! burn draws initial weights from a per-backend generator whose seed is global to the
//! process, so two runs in one process (tests in parallel, for example) interleave their
//! draws. Drawing from a run's own ChaCha stream makes the initial weights a function of
//! the seed alone, on every backend.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Creates a `Linear` layer initialised as PyTorch's `nn.Linear` is: weights and bias uniform in
/// `[−k, k]` with `k = 1/√d_input` (what `kaiming_uniform_(a = √5)` works out to).
pub fn seeded_linear(
    d_input: usize,
    d_output: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Linear {
    let bound = 1.0 / (d_input as f32).sqrt();
    let weight = uniform(rng, d_input * d_output, bound);
    let bias = uniform(rng, d_output, bound);
    Linear {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(weight, [d_input, d_output]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(bias, [d_output]),
            device,
        ))),
    }
}

fn uniform(rng: &mut ChaCha8Rng, count: usize, bound: f32) -> Vec<f32> {
    (0..count)
        .map(|_| rng.random_range(-bound..=bound))
        .collect()
}
