//! The feature network: a small CNN whose 128-wide penultimate layer defines the feature
//! space of the Fréchet distance and of precision and recall.
//!
//! Layers, for images `[n, 784]` with pixels in [0, 1]:
//! conv 3×3 (1 → 16, padding 1), ReLU, max-pool 2 → `[n, 16, 14, 14]`;
//! conv 3×3 (16 → 32, padding 1), ReLU, max-pool 2 → `[n, 32, 7, 7]`;
//! conv 3×3 (32 → 32, stride 2, padding 1), ReLU → `[n, 32, 4, 4]`;
//! linear 512 → 128, ReLU (the features); linear 128 → 10 (the class logits).
//! 81,002 parameters, 324 KB as float32. No BatchNorm or dropout, so the features do not
//! depend on a training or evaluation mode.

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, PaddingConfig2d, Relu};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::model::{IMAGE_COLS, IMAGE_ROWS};

/// Width of the penultimate layer: the length of a feature vector.
pub const FEATURE_DIM: usize = 128;

/// Number of classes the classifier predicts.
pub const CLASS_COUNT: usize = crate::data::CLASS_COUNT;

/// Output channels of the three convolutions.
const CHANNELS: [usize; 3] = [16, 32, 32];

/// Side of the last convolution's output map: 28 → 14 → 7 → 4.
const LAST_MAP_SIDE: usize = 4;

/// Features and class logits of a batch of images.
#[derive(Debug, Clone)]
pub struct ClassifierOutput {
    /// Penultimate activations `[n, 128]`, after the ReLU.
    pub features: Tensor<2>,
    /// Class logits `[n, 10]`.
    pub logits: Tensor<2>,
}

/// The feature network; see the module documentation for its layers.
#[derive(Module, Debug)]
pub struct Classifier {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    pool: MaxPool2d,
    hidden: Linear,
    output: Linear,
    activation: Relu,
}

impl Classifier {
    /// Creates a classifier on `device`, drawing every weight from `rng` as PyTorch's
    /// default initialisation does: uniform in `[−k, k]` with `k = 1/√fan_in`.
    pub fn new(rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let [c1, c2, c3] = CHANNELS;
        Self {
            conv1: seeded_conv(1, c1, 1, rng, device),
            conv2: seeded_conv(c1, c2, 1, rng, device),
            conv3: seeded_conv(c2, c3, 2, rng, device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            hidden: seeded_linear(c3 * LAST_MAP_SIDE * LAST_MAP_SIDE, FEATURE_DIM, rng, device),
            output: seeded_linear(FEATURE_DIM, CLASS_COUNT, rng, device),
            activation: Relu::new(),
        }
    }

    /// Maps flattened images `[n, 784]` to their features and class logits.
    pub fn forward(&self, images: Tensor<2>) -> ClassifierOutput {
        let [count, _] = images.dims();
        let x: Tensor<4> = images.reshape([count, 1, IMAGE_ROWS, IMAGE_COLS]);
        let x = self
            .pool
            .forward(self.activation.forward(self.conv1.forward(x)));
        let x = self
            .pool
            .forward(self.activation.forward(self.conv2.forward(x)));
        let x = self.activation.forward(self.conv3.forward(x));
        let x: Tensor<2> = x.flatten(1, 3);
        let features = self.activation.forward(self.hidden.forward(x));
        let logits = self.output.forward(features.clone());
        ClassifierOutput { features, logits }
    }
}

/// Creates a 3×3 convolution with padding 1 and the given stride.
fn seeded_conv(
    channels_in: usize,
    channels_out: usize,
    stride: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Conv2d {
    let kernel = 3;
    let fan_in = channels_in * kernel * kernel;
    let bound = 1.0 / (fan_in as f32).sqrt();
    let weight = uniform(rng, channels_out * fan_in, bound);
    let bias = uniform(rng, channels_out, bound);
    Conv2d {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(weight, [channels_out, channels_in, kernel, kernel]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(bias, [channels_out]),
            device,
        ))),
        stride: [stride, stride],
        kernel_size: [kernel, kernel],
        dilation: [1, 1],
        groups: 1,
        padding: PaddingConfig2d::Explicit(1, 1, 1, 1),
    }
}

fn seeded_linear(d_input: usize, d_output: usize, rng: &mut ChaCha8Rng, device: &Device) -> Linear {
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
