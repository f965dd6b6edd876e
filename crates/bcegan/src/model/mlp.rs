//! The fully connected generator and discriminator of the introductory GAN course.
//!
//! The generator maps noise of `latent_dim` values to a 28×28 image with pixels in
//! (0, 1). The discriminator maps an image to one logit, so the cost is computed by
//! `bce-burn`'s logits form instead of a sigmoid followed by a log.

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, LeakyRelu, LeakyReluConfig, Linear, Relu};

use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;

use super::init::seeded_linear;
use super::leaky::leaky_relu;
use super::linear::linear;
use super::sigmoid::sigmoid;

/// Height of the images the models take.
pub const IMAGE_ROWS: usize = 28;

/// Width of the images the models take.
pub const IMAGE_COLS: usize = 28;

/// Pixels in one flattened 28×28 image.
pub const IMAGE_SIZE: usize = IMAGE_ROWS * IMAGE_COLS;

/// Widths of the generator's hidden blocks, from the noise side.
const GENERATOR_WIDTHS: [usize; 4] = [128, 256, 512, 1024];

/// Widths of the discriminator's hidden blocks, from the image side.
const DISCRIMINATOR_WIDTHS: [usize; 3] = [512, 256, 128];

/// Negative slope of the discriminator's LeakyReLU activations.
const LEAKY_SLOPE: f64 = 0.2;

/// One generator block: Linear, then BatchNorm, then ReLU.
#[derive(Module, Debug)]
pub struct GeneratorBlock {
    linear: Linear,
    norm: BatchNorm,
    activation: Relu,
}

impl GeneratorBlock {
    fn new(d_input: usize, d_output: usize, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        Self {
            linear: seeded_linear(d_input, d_output, rng, device),
            norm: BatchNormConfig::new(d_output).init(device),
            activation: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        // `activation` is a ReLU; the fused operation applies it, or burn's when it does not
        // run (see `batch_norm_relu`).
        super::norm_relu::batch_norm_relu(&self.norm, linear(&self.linear, x))
    }
}

/// Generator: noise `[batch, latent_dim]` to images `[batch, 784]` in (0, 1).
#[derive(Module, Debug)]
pub struct MlpGenerator {
    blocks: Vec<GeneratorBlock>,
    output: Linear,
}

impl MlpGenerator {
    /// Creates a generator for noise of `latent_dim` values, drawing its weights from `rng`.
    pub fn new(latent_dim: usize, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let mut blocks = Vec::with_capacity(GENERATOR_WIDTHS.len());
        let mut width = latent_dim;
        for next in GENERATOR_WIDTHS {
            blocks.push(GeneratorBlock::new(width, next, rng, device));
            width = next;
        }
        Self {
            blocks,
            output: seeded_linear(width, IMAGE_SIZE, rng, device),
        }
    }

    /// Maps noise `[batch, latent_dim]` to flattened images `[batch, 784]`.
    pub fn forward(&self, noise: Tensor<2>) -> Tensor<2> {
        let mut x = noise;
        for block in &self.blocks {
            x = block.forward(x);
        }
        sigmoid(linear(&self.output, x))
    }

    /// Returns the BatchNorm layers, input side first.
    pub(crate) fn norms_mut(&mut self) -> impl Iterator<Item = &mut BatchNorm> {
        self.blocks.iter_mut().map(|block| &mut block.norm)
    }
}

/// One discriminator block: Linear, then LeakyReLU with slope 0.2.
#[derive(Module, Debug)]
pub struct DiscriminatorBlock {
    linear: Linear,
    activation: LeakyRelu,
}

impl DiscriminatorBlock {
    fn new(d_input: usize, d_output: usize, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        Self {
            linear: seeded_linear(d_input, d_output, rng, device),
            activation: LeakyReluConfig::new()
                .with_negative_slope(LEAKY_SLOPE)
                .init(),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        // The fused LeakyReLU gives the same bits as `self.activation.forward`, in fewer
        // passes. The `LeakyRelu` field stays for its slope and the module's structure.
        leaky_relu(linear(&self.linear, x), self.activation.negative_slope)
    }
}

/// Discriminator: images `[batch, 784]` to logits `[batch, 1]` (positive means "real").
#[derive(Module, Debug)]
pub struct MlpDiscriminator {
    blocks: Vec<DiscriminatorBlock>,
    output: Linear,
}

impl MlpDiscriminator {
    /// Creates a discriminator, drawing its weights from `rng`.
    pub fn new(rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let mut blocks = Vec::with_capacity(DISCRIMINATOR_WIDTHS.len());
        let mut width = IMAGE_SIZE;
        for next in DISCRIMINATOR_WIDTHS {
            blocks.push(DiscriminatorBlock::new(width, next, rng, device));
            width = next;
        }
        Self {
            blocks,
            output: seeded_linear(width, 1, rng, device),
        }
    }

    /// Maps flattened images `[batch, 784]` to logits `[batch, 1]`.
    pub fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        let mut x = images;
        for block in &self.blocks {
            x = block.forward(x);
        }
        linear(&self.output, x)
    }
}
