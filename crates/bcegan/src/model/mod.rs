//! The generator and discriminator networks: the fully connected pair and the
//! convolutional (DCGAN) pair of the introductory GAN course.
//!
//! [`Generator`] and [`Discriminator`] hold either pair and take and return flattened
//! `[batch, 784]` images, so the training loop and the commands need not know which pair
//! they run. The pairs differ in pixel range: the MLP works on [0, 1] and the DCGAN on
//! [−1, 1]; [`ModelKind::to_model_range`] and [`ModelKind::to_pixels`] convert.

mod conv_transpose;
mod dcgan;
mod init;
mod leaky;
mod linear;
mod mlp;
mod norm_relu;
mod sigmoid;

use burn::module::Module;
use burn::nn::BatchNorm;
use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use dcgan::{DcganDiscriminator, DcganGenerator};
pub use leaky::leaky_relu;
pub use mlp::{IMAGE_COLS, IMAGE_ROWS, IMAGE_SIZE, MlpDiscriminator, MlpGenerator};

/// Architecture of the generator and discriminator pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Fully connected networks with BatchNorm in the generator; pixels in [0, 1]
    #[default]
    Mlp,
    /// Convolutional networks (transposed convolutions in the generator) with BatchNorm;
    /// pixels scaled to [−1, 1]
    Dcgan,
}

impl ModelKind {
    /// Returns the name as `--model` and `config.json` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mlp => "mlp",
            Self::Dcgan => "dcgan",
        }
    }

    /// Maps pixels in [0, 1] to the range the networks work in: unchanged for the MLP,
    /// `2p − 1` for the DCGAN.
    pub fn to_model_range(self, pixels: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Mlp => pixels,
            Self::Dcgan => pixels.mul_scalar(2.0).sub_scalar(1.0),
        }
    }

    /// Maps images in the networks' range back to pixels in [0, 1]: the inverse of
    /// [`to_model_range`](Self::to_model_range).
    pub fn to_pixels(self, images: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Mlp => images,
            Self::Dcgan => images.add_scalar(1.0).mul_scalar(0.5),
        }
    }
}

/// Generator: noise `[batch, latent_dim]` to flattened images `[batch, 784]`.
#[derive(Module, Debug)]
pub enum Generator {
    /// The fully connected generator.
    Mlp(MlpGenerator),
    /// The DCGAN generator.
    Dcgan(DcganGenerator),
}

impl Generator {
    /// Creates a generator of architecture `model` for noise of `latent_dim` values, drawing
    /// its weights from `rng`.
    pub fn new(model: ModelKind, latent_dim: usize, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        match model {
            ModelKind::Mlp => Self::Mlp(MlpGenerator::new(latent_dim, rng, device)),
            ModelKind::Dcgan => Self::Dcgan(DcganGenerator::new(latent_dim, rng, device)),
        }
    }

    /// Returns the architecture.
    pub fn kind(&self) -> ModelKind {
        match self {
            Self::Mlp(_) => ModelKind::Mlp,
            Self::Dcgan(_) => ModelKind::Dcgan,
        }
    }

    /// Maps noise `[batch, latent_dim]` to flattened images `[batch, 784]` in the model's
    /// range ([0, 1] for the MLP, [−1, 1] for the DCGAN).
    pub fn forward(&self, noise: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Mlp(generator) => generator.forward(noise),
            Self::Dcgan(generator) => generator.forward(noise),
        }
    }

    /// Maps noise `[batch, latent_dim]` to flattened images `[batch, 784]` with pixels in
    /// [0, 1], whatever the model's range.
    pub fn generate_pixels(&self, noise: Tensor<2>) -> Tensor<2> {
        self.kind().to_pixels(self.forward(noise))
    }

    /// Returns the BatchNorm layers, input side first, so that their running statistics can
    /// be replaced.
    pub(crate) fn norms_mut(&mut self) -> Box<dyn Iterator<Item = &mut BatchNorm> + '_> {
        match self {
            Self::Mlp(generator) => Box::new(generator.norms_mut()),
            Self::Dcgan(generator) => Box::new(generator.norms_mut()),
        }
    }
}

/// Discriminator: flattened images `[batch, 784]` in the model's range to logits
/// `[batch, 1]` (positive means "real").
#[derive(Module, Debug)]
pub enum Discriminator {
    /// The fully connected discriminator.
    Mlp(MlpDiscriminator),
    /// The DCGAN discriminator.
    Dcgan(DcganDiscriminator),
}

impl Discriminator {
    /// Creates a discriminator of architecture `model`, drawing its weights from `rng`.
    pub fn new(model: ModelKind, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        match model {
            ModelKind::Mlp => Self::Mlp(MlpDiscriminator::new(rng, device)),
            ModelKind::Dcgan => Self::Dcgan(DcganDiscriminator::new(rng, device)),
        }
    }

    /// Returns the architecture.
    pub fn kind(&self) -> ModelKind {
        match self {
            Self::Mlp(_) => ModelKind::Mlp,
            Self::Dcgan(_) => ModelKind::Dcgan,
        }
    }

    /// Maps flattened images `[batch, 784]` in the model's range to logits `[batch, 1]`.
    pub fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Mlp(discriminator) => discriminator.forward(images),
            Self::Dcgan(discriminator) => discriminator.forward(images),
        }
    }
}
