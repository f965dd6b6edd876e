//! The convolutional (DCGAN) generator and discriminator of the GAN course's DCGAN lesson.
//!
//! Both networks work on images with pixels in [−1, 1]: the generator ends in Tanh, and
//! the training step scales real images to that range. The shapes follow the course
//! (hidden_dim 64 for the generator, 16 for the discriminator, no padding):
//!
//! - generator: noise `[n, z, 1, 1]`, then transposed convolutions z→256 (kernel 3,
//!   stride 2), 256→128 (4, 1), 128→64 (3, 2), each with BatchNorm and ReLU, and 64→1
//!   (4, 2) with Tanh; the side grows 1 → 3 → 6 → 13 → 28;
//! - discriminator: convolutions 1→16 and 16→32 (kernel 4, stride 2), each with BatchNorm
//!   and LeakyReLU 0.2, and 32→1 (4, 2). The side shrinks 28 → 13 → 5 → 1, to one logit.

use burn::module::Module;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{BatchNorm, LeakyRelu, LeakyReluConfig, Relu};
use burn::tensor::activation::tanh;
use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;

use super::conv_transpose::conv_transpose2d;
use super::init::{seeded_batch_norm, seeded_conv_transpose2d, seeded_conv2d};
use super::leaky::leaky_relu;
use super::mlp::{IMAGE_COLS, IMAGE_ROWS, IMAGE_SIZE};

/// Output channels, kernel size and stride of the generator's hidden blocks, from the
/// noise side.
const GENERATOR_BLOCKS: [(usize, usize, usize); 3] = [(256, 3, 2), (128, 4, 1), (64, 3, 2)];

/// Kernel size and stride of the generator's output layer (64 channels to 1).
const GENERATOR_OUTPUT: (usize, usize) = (4, 2);

/// Output channels of the discriminator's hidden blocks, from the image side; every
/// convolution of the discriminator has kernel 4 and stride 2.
const DISCRIMINATOR_CHANNELS: [usize; 2] = [16, 32];

/// Kernel size of every discriminator convolution.
const DISCRIMINATOR_KERNEL: usize = 4;

/// Stride of every discriminator convolution.
const DISCRIMINATOR_STRIDE: usize = 2;

/// Negative slope of the discriminator's LeakyReLU activations.
const LEAKY_SLOPE: f64 = 0.2;

/// One generator block: transposed convolution, then BatchNorm, then ReLU.
#[derive(Module, Debug)]
pub struct UpBlock {
    conv: ConvTranspose2d,
    norm: BatchNorm,
    activation: Relu,
}

impl UpBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        // The fused transposed convolution runs one matrix product for the whole batch
        // instead of one per image. The `ConvTranspose2d` field keeps the weights and the
        // module's structure. `activation` is a ReLU; the fused BatchNorm and ReLU applies
        // it, or burn's when it does not run (see `batch_norm_relu`).
        super::norm_relu::batch_norm_relu(&self.norm, conv_transpose2d(&self.conv, x))
    }
}

/// DCGAN generator: noise `[batch, latent_dim]` to images `[batch, 784]` in [−1, 1].
#[derive(Module, Debug)]
pub struct DcganGenerator {
    blocks: Vec<UpBlock>,
    output: ConvTranspose2d,
}

impl DcganGenerator {
    /// Creates a generator for noise of `latent_dim` values, drawing its weights from `rng`.
    pub fn new(latent_dim: usize, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let mut blocks = Vec::with_capacity(GENERATOR_BLOCKS.len());
        let mut channels = latent_dim;
        for (next, kernel, stride) in GENERATOR_BLOCKS {
            blocks.push(UpBlock {
                conv: seeded_conv_transpose2d([channels, next], kernel, stride, rng, device),
                norm: seeded_batch_norm(next, rng, device),
                activation: Relu::new(),
            });
            channels = next;
        }
        let (kernel, stride) = GENERATOR_OUTPUT;
        Self {
            blocks,
            output: seeded_conv_transpose2d([channels, 1], kernel, stride, rng, device),
        }
    }

    /// Maps noise `[batch, latent_dim]` to flattened images `[batch, 784]` in [−1, 1].
    pub fn forward(&self, noise: Tensor<2>) -> Tensor<2> {
        let [batch, latent_dim] = noise.dims();
        let mut x = noise.reshape([batch, latent_dim, 1, 1]);
        for block in &self.blocks {
            x = block.forward(x);
        }
        tanh(conv_transpose2d(&self.output, x)).reshape([batch, IMAGE_SIZE])
    }

    /// Returns the BatchNorm layers, input side first.
    pub(crate) fn norms_mut(&mut self) -> impl Iterator<Item = &mut BatchNorm> {
        self.blocks.iter_mut().map(|block| &mut block.norm)
    }
}

/// One discriminator block: convolution, then BatchNorm, then LeakyReLU with slope 0.2.
#[derive(Module, Debug)]
pub struct DownBlock {
    conv: Conv2d,
    norm: BatchNorm,
    activation: LeakyRelu,
}

impl DownBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        // The fused LeakyReLU gives the same bits as `self.activation.forward`, in fewer
        // passes. The `LeakyRelu` field stays for its slope and the module's structure.
        leaky_relu(
            self.norm.forward(self.conv.forward(x)),
            self.activation.negative_slope,
        )
    }
}

/// DCGAN discriminator: images `[batch, 784]` in [−1, 1] to logits `[batch, 1]`.
#[derive(Module, Debug)]
pub struct DcganDiscriminator {
    blocks: Vec<DownBlock>,
    output: Conv2d,
}

impl DcganDiscriminator {
    /// Creates a discriminator, drawing its weights from `rng`.
    pub fn new(rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let mut blocks = Vec::with_capacity(DISCRIMINATOR_CHANNELS.len());
        let mut channels = 1;
        for next in DISCRIMINATOR_CHANNELS {
            blocks.push(DownBlock {
                conv: seeded_conv2d(
                    [channels, next],
                    DISCRIMINATOR_KERNEL,
                    DISCRIMINATOR_STRIDE,
                    rng,
                    device,
                ),
                norm: seeded_batch_norm(next, rng, device),
                activation: LeakyReluConfig::new()
                    .with_negative_slope(LEAKY_SLOPE)
                    .init(),
            });
            channels = next;
        }
        Self {
            blocks,
            output: seeded_conv2d(
                [channels, 1],
                DISCRIMINATOR_KERNEL,
                DISCRIMINATOR_STRIDE,
                rng,
                device,
            ),
        }
    }

    /// Maps flattened images `[batch, 784]` to logits `[batch, 1]`.
    pub fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        let [batch, _] = images.dims();
        let mut x = images.reshape([batch, 1, IMAGE_ROWS, IMAGE_COLS]);
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.output.forward(x).reshape([batch, 1])
    }
}
