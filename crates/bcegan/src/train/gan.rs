//! One training step of the GAN: a discriminator update, then a generator update.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::config::{AdamSettings, TrainConfig};
use super::error::TrainError;
use crate::model::{Discriminator, Generator, IMAGE_SIZE};

/// Loss values and discriminator outputs of one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepMetrics {
    /// Discriminator cost ½[BCE(D(x), 1) + BCE(D(G(z)), 0)].
    pub d_loss: f32,
    /// Generator cost BCE(D(G(z)), 1), the non-saturating form.
    pub g_loss: f32,
    /// Mean probability D(x) that the discriminator gave the real images.
    pub d_real: f32,
    /// Mean probability D(G(z)) that the discriminator gave the generated images.
    pub d_fake: f32,
}

impl StepMetrics {
    /// Returns whether every value is finite.
    pub fn is_finite(&self) -> bool {
        [self.d_loss, self.g_loss, self.d_real, self.d_fake]
            .iter()
            .all(|value| value.is_finite())
    }
}

/// The two networks, their optimizers and the noise source.
pub struct Gan {
    generator: Generator,
    discriminator: Discriminator,
    generator_optimizer: ModuleOptimizer,
    discriminator_optimizer: ModuleOptimizer,
    generator_lr: f64,
    discriminator_lr: f64,
    latent_dim: usize,
    noise_rng: ChaCha8Rng,
    device: Device,
}

/// Offsets that separate the seeded streams of a run: noise, and initial weights.
const NOISE_STREAM: u64 = 0x6e6f697365;
const WEIGHT_STREAM: u64 = 0x776569676874;

impl Gan {
    /// Creates fresh networks on `device` (an autodiff device) from the run's seed.
    pub fn new(config: &TrainConfig, device: &Device) -> Self {
        let mut weight_rng = ChaCha8Rng::seed_from_u64(config.seed ^ WEIGHT_STREAM);
        Self {
            generator: Generator::new(config.latent_dim, &mut weight_rng, device),
            discriminator: Discriminator::new(&mut weight_rng, device),
            generator_optimizer: adam(&config.generator_adam),
            discriminator_optimizer: adam(&config.discriminator_adam),
            generator_lr: config.generator_adam.lr,
            discriminator_lr: config.discriminator_adam.lr,
            latent_dim: config.latent_dim,
            noise_rng: ChaCha8Rng::seed_from_u64(config.seed ^ NOISE_STREAM),
            device: device.clone(),
        }
    }

    /// Returns the generator in its current state.
    pub fn generator(&self) -> &Generator {
        &self.generator
    }

    /// Returns the discriminator in its current state.
    pub fn discriminator(&self) -> &Discriminator {
        &self.discriminator
    }

    /// Replaces both networks, for example with the ones read from a checkpoint.
    pub fn set_networks(&mut self, generator: Generator, discriminator: Discriminator) {
        self.generator = generator;
        self.discriminator = discriminator;
    }

    /// Runs one discriminator update and one generator update on a batch of real images
    /// (`[batch, 784]`, pixels in [0, 1]).
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::Loss`] when the cost function rejects its input, which
    /// happens when a network produced NaN.
    pub fn step(&mut self, real_images: Tensor<2>) -> Result<StepMetrics, TrainError> {
        let batch_size = real_images.dims()[0];

        // Discriminator: minimise ½[BCE(D(x), 1) + BCE(D(G(z)), 0)]. The fakes are
        // detached, so this backward pass stops at the discriminator's input.
        let noise = self.noise(batch_size);
        let fake_images = self.generator.forward(noise).detach();
        let real_logits = self.discriminator.forward(real_images);
        let fake_logits = self.discriminator.forward(fake_images);
        let d_real = mean_probability(&real_logits);
        let d_fake = mean_probability(&fake_logits);
        let real_loss = bce_against(real_logits, 1.0)?;
        let fake_loss = bce_against(fake_logits, 0.0)?;
        let d_loss = (real_loss + fake_loss).mul_scalar(0.5);
        let d_loss_value = scalar(&d_loss);
        let grads = GradientsParams::from_grads(d_loss.backward(), &self.discriminator);
        self.discriminator = self.discriminator_optimizer.step(
            self.discriminator_lr,
            self.discriminator.clone(),
            grads,
        );

        // Generator: minimise BCE(D(G(z)), 1) on fresh noise, the non-saturating form:
        // it pushes D(G(z)) towards 1 with a gradient that stays large while D rejects
        // the fakes. The discriminator's weights get no gradient in this pass.
        let noise = self.noise(batch_size);
        let frozen_discriminator = self.discriminator.clone().no_grad();
        let fake_logits = frozen_discriminator.forward(self.generator.forward(noise));
        let g_loss = bce_against(fake_logits, 1.0)?;
        let g_loss_value = scalar(&g_loss);
        let grads = GradientsParams::from_grads(g_loss.backward(), &self.generator);
        self.generator =
            self.generator_optimizer
                .step(self.generator_lr, self.generator.clone(), grads);

        Ok(StepMetrics {
            d_loss: d_loss_value,
            g_loss: g_loss_value,
            d_real,
            d_fake,
        })
    }

    /// Draws a `[count, latent_dim]` batch of standard normal noise from the run's stream.
    pub fn noise(&mut self, count: usize) -> Tensor<2> {
        standard_normal(&mut self.noise_rng, count, self.latent_dim, &self.device)
    }

    /// Generates images `[count, 784]` from `noise` with the generator in evaluation mode
    /// (BatchNorm uses its running statistics).
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::TensorRead`] when the images cannot be read back as `f32`.
    pub fn generate(&self, noise: Tensor<2>) -> Result<Vec<f32>, TrainError> {
        let generator = self.generator.valid();
        let images = generator.forward(noise.inner());
        debug_assert_eq!(images.dims()[1], IMAGE_SIZE);
        images
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|error| TrainError::TensorRead(format!("{error:?}")))
    }
}

/// Draws a `[rows, cols]` tensor of standard normal values from `rng`.
pub fn standard_normal(
    rng: &mut ChaCha8Rng,
    rows: usize,
    cols: usize,
    device: &Device,
) -> Tensor<2> {
    let values: Vec<f32> = (0..rows * cols)
        .map(|_| StandardNormal.sample(rng))
        .collect();
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

fn adam(settings: &AdamSettings) -> ModuleOptimizer {
    AdamConfig::new()
        .with_beta_1(settings.beta1)
        .with_beta_2(settings.beta2)
        .with_epsilon(settings.epsilon)
        .init()
}

/// BCE with logits of `logits` against a target of `target` everywhere, averaged.
fn bce_against(logits: Tensor<2>, target: f32) -> Result<Tensor<1>, TrainError> {
    let targets = Tensor::full(logits.dims(), target, &logits.device());
    bce_burn::binary_cross_entropy_with_logits(logits, targets, &bce_burn::BceOptions::default())
        .map_err(TrainError::Loss)
}

fn mean_probability(logits: &Tensor<2>) -> f32 {
    scalar(&sigmoid(logits.clone().detach()).mean())
}

fn scalar(tensor: &Tensor<1>) -> f32 {
    tensor.clone().detach().into_scalar::<f32>()
}
