//! Seeded weight initialisation, independent of the backend's random generator.
//!
//! burn draws initial weights from a per-backend generator whose seed is global to the
//! process, so two runs in one process (tests in parallel, for example) interleave their
//! draws. Drawing from a run's own ChaCha stream makes the initial weights a function of
//! the seed alone, on every backend.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, PaddingConfig2d};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

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

/// Standard deviation of the normal draws in the DCGAN course's `weights_init`.
pub const DCGAN_INIT_STD: f32 = 0.02;

/// Draws `count` values from N(0, `std`²).
pub fn normal(rng: &mut ChaCha8Rng, count: usize, std: f32) -> Vec<f32> {
    (0..count)
        .map(|_| {
            let value: f32 = StandardNormal.sample(rng);
            value * std
        })
        .collect()
}

/// Creates a 2-D convolution with weights drawn from N(0, 0.02²), as the DCGAN course's
/// `weights_init` sets them, and a bias uniform in `[−k, k]` with
/// `k = 1/√(channels_in · kernel²)`, PyTorch's `nn.Conv2d` default that `weights_init` keeps.
pub fn seeded_conv2d(
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Conv2d {
    let [channels_in, channels_out] = channels;
    let mut conv = Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Valid)
        .init(device);
    let weight = normal(
        rng,
        channels_out * channels_in * kernel * kernel,
        DCGAN_INIT_STD,
    );
    let bound = 1.0 / ((channels_in * kernel * kernel) as f32).sqrt();
    let bias = uniform(rng, channels_out, bound);
    conv.weight = Param::from_tensor(Tensor::from_data(
        TensorData::new(weight, [channels_out, channels_in, kernel, kernel]),
        device,
    ));
    conv.bias = Some(Param::from_tensor(Tensor::from_data(
        TensorData::new(bias, [channels_out]),
        device,
    )));
    conv
}

/// Creates a 2-D transposed convolution with weights drawn from N(0, 0.02²) and a bias
/// uniform in `[−k, k]` with `k = 1/√(channels_out · kernel²)`: PyTorch computes the fan-in of
/// `nn.ConvTranspose2d` from dimension 1 of its `[in, out, k, k]` weight.
pub fn seeded_conv_transpose2d(
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> ConvTranspose2d {
    let [channels_in, channels_out] = channels;
    let mut conv = ConvTranspose2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .init(device);
    let weight = normal(
        rng,
        channels_in * channels_out * kernel * kernel,
        DCGAN_INIT_STD,
    );
    let bound = 1.0 / ((channels_out * kernel * kernel) as f32).sqrt();
    let bias = uniform(rng, channels_out, bound);
    conv.weight = Param::from_tensor(Tensor::from_data(
        TensorData::new(weight, [channels_in, channels_out, kernel, kernel]),
        device,
    ));
    conv.bias = Some(Param::from_tensor(Tensor::from_data(
        TensorData::new(bias, [channels_out]),
        device,
    )));
    conv
}

/// Creates a BatchNorm layer with scale drawn from N(0, 0.02²) and shift 0, as the DCGAN
/// course's `weights_init` sets `nn.BatchNorm2d`. Momentum 0.1 and epsilon 1e-5 are PyTorch's.
pub fn seeded_batch_norm(features: usize, rng: &mut ChaCha8Rng, device: &Device) -> BatchNorm {
    let mut norm = BatchNormConfig::new(features).init(device);
    let gamma = normal(rng, features, DCGAN_INIT_STD);
    norm.gamma = Param::from_tensor(Tensor::from_data(
        TensorData::new(gamma, [features]),
        device,
    ));
    norm
}
