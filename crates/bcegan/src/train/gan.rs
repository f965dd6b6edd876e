//! One training step of the GAN: a discriminator update, then a generator update.

use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::adam::FusedAdam;
use super::average::GeneratorAverage;
use super::checkpoint::Checkpoint;
use super::checkpoint_error::CheckpointProblem;
use super::config::{AdamSettings, GeneratorLoss, TrainConfig};
use super::error::TrainError;
use super::sole::Sole;
use crate::model::{Discriminator, Generator, IMAGE_SIZE, ModelKind};

/// Loss values and discriminator outputs of one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepMetrics {
    /// Discriminator cost ½[BCE(D(x), t) + BCE(D(G(z)), 0)], with `t` the real target
    /// (1, or below 1 with one-sided label smoothing).
    pub d_loss: f32,
    /// Generator cost, by [`GeneratorLoss`]: BCE(D(G(z)), 1) = −mean log D(G(z)) for the
    /// non-saturating form (positive, falling as the fakes fool D), or
    /// −BCE(D(G(z)), 0) = mean log(1 − D(G(z))) for the minimax form (at most 0, falling
    /// as the fakes fool D).
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

/// The network whose update a non-finite value stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// The generator.
    Generator,
    /// The discriminator.
    Discriminator,
}

impl Network {
    /// The network's name as in messages: "generator" or "discriminator".
    pub fn name(self) -> &'static str {
        match self {
            Self::Generator => "generator",
            Self::Discriminator => "discriminator",
        }
    }
}

/// A value that was NaN or infinite, and the update that was therefore not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonFiniteValue {
    /// The network whose update was skipped.
    pub network: Network,
    /// What was not finite: the discriminator's output (logits) in this update, the loss,
    /// or the gradient of a parameter (named by its path).
    pub quantity: String,
}

/// Outcome of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// Losses and discriminator outputs; NaN for values not computed.
    pub metrics: StepMetrics,
    /// The first non-finite value, when the step skipped an update.
    pub non_finite: Option<NonFiniteValue>,
}

impl StepReport {
    fn rejected(metrics: StepMetrics, network: Network, quantity: impl Into<String>) -> Self {
        Self {
            metrics,
            non_finite: Some(NonFiniteValue {
                network,
                quantity: quantity.into(),
            }),
        }
    }
}

/// The two networks, their optimizers and the noise source.
pub struct Gan {
    generator: Sole<Generator>,
    discriminator: Sole<Discriminator>,
    generator_optimizer: ModuleOptimizer,
    discriminator_optimizer: ModuleOptimizer,
    generator_lr: f64,
    discriminator_lr: f64,
    model: ModelKind,
    real_target: f32,
    generator_loss: GeneratorLoss,
    latent_dim: usize,
    noise_rng: ChaCha8Rng,
    device: Device,
    seed: u64,
    average: Option<GeneratorAverage>,
}

/// Offsets that separate the seeded streams of a run: noise, and initial weights.
const NOISE_STREAM: u64 = 0x6e6f697365;
const WEIGHT_STREAM: u64 = 0x776569676874;

impl Gan {
    /// Creates fresh networks on `device` (an autodiff device) from the run's seed.
    pub fn new(config: &TrainConfig, device: &Device) -> Self {
        let mut weight_rng = ChaCha8Rng::seed_from_u64(config.seed ^ WEIGHT_STREAM);
        Self {
            generator: Sole::new(Generator::new(
                config.model,
                config.latent_dim,
                &mut weight_rng,
                device,
            )),
            discriminator: Sole::new(Discriminator::new(config.model, &mut weight_rng, device)),
            generator_optimizer: adam(&config.generator_adam),
            discriminator_optimizer: adam(&config.discriminator_adam),
            generator_lr: config.generator_adam.lr,
            discriminator_lr: config.discriminator_adam.lr,
            model: config.model,
            real_target: config.real_target,
            generator_loss: config.generator_loss,
            latent_dim: config.latent_dim,
            noise_rng: ChaCha8Rng::seed_from_u64(config.seed ^ NOISE_STREAM),
            device: device.clone(),
            seed: config.seed,
            average: (config.ema_decay > 0.0).then(|| GeneratorAverage::new(config.ema_decay)),
        }
    }

    /// Replaces both networks, for example with weights read from a PyTorch export. Only
    /// for a new run: the optimizers' state refers to the replaced parameters.
    pub fn set_networks(&mut self, generator: Generator, discriminator: Discriminator) {
        self.generator = Sole::new(generator);
        self.discriminator = Sole::new(discriminator);
    }

    /// Returns the generator in its current state.
    pub fn generator(&self) -> &Generator {
        &self.generator
    }

    /// Returns the average of the generator's parameters with its own BatchNorm statistics,
    /// when the run keeps one (`--ema-decay` above 0) and it has had its first update.
    pub fn averaged_generator(&self) -> Option<&Generator> {
        self.average.as_ref().and_then(|average| {
            average.generator(self.model, self.seed, self.latent_dim, &self.device)
        })
    }

    /// Folds the generator's parameters into the run's average after step `step` (counted
    /// from 1), on the steps that update it. Does nothing in runs without an average.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::TensorRead`] when a parameter cannot be read as `f32`.
    pub fn update_average(&mut self, step: u64) -> Result<(), TrainError> {
        match &mut self.average {
            Some(average) if GeneratorAverage::is_due(step) => {
                average.update(step, &self.generator)
            }
            _ => Ok(()),
        }
    }

    /// Applies the last step's BatchNorm statistics, which burn holds back until the next
    /// read, to both networks' running values. A checkpoint then stores the same values
    /// that an uninterrupted run continues from. Converting a module with `valid` applies
    /// them.
    pub fn sync_running_statistics(&self) {
        drop(self.generator.valid());
        drop(self.discriminator.valid());
    }

    /// Returns the discriminator in its current state.
    pub fn discriminator(&self) -> &Discriminator {
        &self.discriminator
    }

    /// Runs one discriminator update and one generator update on a batch of real images
    /// (`[batch, 784]`, pixels in [0, 1]; the step scales them to the model's range).
    ///
    /// Before each update it checks the network's output, loss and gradients. When one is
    /// NaN or infinite, that update is not applied and the report names the value. When the
    /// discriminator's values are not finite, the generator's update is skipped as well,
    /// because it would train against the same broken discriminator; when only the
    /// generator's are, the discriminator's update of this step has already been applied.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::Loss`] when the cost function rejects its input for a reason
    /// other than a non-finite value.
    pub fn step(&mut self, real_images: Tensor<2>) -> Result<StepReport, TrainError> {
        let batch_size = real_images.dims()[0];
        let mut metrics = StepMetrics {
            d_loss: f32::NAN,
            g_loss: f32::NAN,
            d_real: f32::NAN,
            d_fake: f32::NAN,
        };

        // Discriminator: minimise ½[BCE(D(x), t) + BCE(D(G(z)), 0)], where the real target
        // t is 1, or below 1 for one-sided label smoothing (the fakes' target stays 0). The
        // fakes are detached, so this backward pass stops at the discriminator's input.
        let real_images = self.model.to_model_range(real_images);
        let noise = self.noise(batch_size);
        let fake_images = self.generator.forward(noise).detach();
        let real_logits = self.discriminator.forward(real_images);
        let fake_logits = self.discriminator.forward(fake_images);
        metrics.d_real = mean_probability(&real_logits);
        metrics.d_fake = mean_probability(&fake_logits);
        if has_nan(&real_logits) || has_nan(&fake_logits) {
            return Ok(StepReport::rejected(
                metrics,
                Network::Discriminator,
                "output",
            ));
        }
        let real_loss = bce_against(real_logits, self.real_target)?;
        let fake_loss = bce_against(fake_logits, 0.0)?;
        let d_loss = (real_loss + fake_loss).mul_scalar(0.5);
        metrics.d_loss = scalar(&d_loss);
        if !metrics.d_loss.is_finite() {
            return Ok(StepReport::rejected(
                metrics,
                Network::Discriminator,
                "loss",
            ));
        }
        let grads = GradientsParams::from_grads(d_loss.backward(), &*self.discriminator);
        if let Some(parameter) = first_non_finite_gradient(&*self.discriminator, &grads) {
            let quantity = format!("gradient of {parameter}");
            return Ok(StepReport::rejected(
                metrics,
                Network::Discriminator,
                quantity,
            ));
        }
        let (optimizer, lr) = (&mut self.discriminator_optimizer, self.discriminator_lr);
        self.discriminator
            .update(|discriminator| optimizer.step(lr, discriminator, grads));

        // Generator: minimise the chosen cost on fresh noise (see `generator_cost`). The
        // discriminator's weights get no gradient in this pass.
        let noise = self.noise(batch_size);
        let frozen_discriminator = self.discriminator.clone().no_grad();
        let fake_logits = frozen_discriminator.forward(self.generator.forward(noise));
        if has_nan(&fake_logits) {
            return Ok(StepReport::rejected(
                metrics,
                Network::Generator,
                "output (D(G(z)) logits)",
            ));
        }
        let g_loss = generator_cost(fake_logits, self.generator_loss)?;
        metrics.g_loss = scalar(&g_loss);
        if !metrics.g_loss.is_finite() {
            return Ok(StepReport::rejected(metrics, Network::Generator, "loss"));
        }
        let grads = GradientsParams::from_grads(g_loss.backward(), &*self.generator);
        if let Some(parameter) = first_non_finite_gradient(&*self.generator, &grads) {
            let quantity = format!("gradient of {parameter}");
            return Ok(StepReport::rejected(metrics, Network::Generator, quantity));
        }
        let (optimizer, lr) = (&mut self.generator_optimizer, self.generator_lr);
        self.generator
            .update(|generator| optimizer.step(lr, generator, grads));

        Ok(StepReport {
            metrics,
            non_finite: None,
        })
    }

    /// Returns the networks and the serialized Adam state of both optimizers, for a checkpoint.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::Checkpoint`] when burn cannot serialize an optimizer.
    pub fn optimizer_bytes(&self, path: &Path) -> Result<(Bytes, Bytes), TrainError> {
        let encode = |optimizer: &ModuleOptimizer| {
            optimizer
                .into_bytes()
                .map_err(|error| TrainError::Checkpoint {
                    path: path.to_path_buf(),
                    problem: CheckpointProblem::Encode(format!("optimizer state: {error}")),
                })
        };
        Ok((
            encode(&self.generator_optimizer)?,
            encode(&self.discriminator_optimizer)?,
        ))
    }

    /// Position of the noise stream, in 32-bit words, for a checkpoint.
    pub fn noise_word_pos(&self) -> u128 {
        self.noise_rng.get_word_pos()
    }

    /// Replaces the networks, the optimizers' state and the noise position with a
    /// checkpoint's. The networks must carry the parameter ids the optimizer state is keyed
    /// by, as [`read_checkpoint`](super::checkpoint::read_checkpoint) returns them.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::Checkpoint`] when an optimizer's state cannot be decoded.
    pub fn restore(&mut self, path: &Path, checkpoint: Checkpoint) -> Result<(), TrainError> {
        let decode = |settings: &AdamSettings, bytes: Vec<u8>, name: &'static str| {
            adam(settings)
                .from_bytes(Bytes::from_bytes_vec(bytes))
                .map_err(|error| TrainError::Checkpoint {
                    path: path.to_path_buf(),
                    problem: CheckpointProblem::InvalidOptimizer {
                        name,
                        detail: error.to_string(),
                    },
                })
        };
        let config = &checkpoint.state.config;
        self.generator_optimizer = decode(
            &config.generator_adam,
            checkpoint.generator_optimizer,
            "optimizer.generator",
        )?;
        self.discriminator_optimizer = decode(
            &config.discriminator_adam,
            checkpoint.discriminator_optimizer,
            "optimizer.discriminator",
        )?;
        self.generator = Sole::new(checkpoint.generator);
        self.discriminator = Sole::new(checkpoint.discriminator);
        if let (Some(average), Some(saved)) = (&mut self.average, checkpoint.average) {
            *average = GeneratorAverage::restored(config.ema_decay, saved)?;
        }
        self.noise_rng.set_word_pos(checkpoint.state.noise_word_pos);
        Ok(())
    }

    /// Draws a `[count, latent_dim]` batch of standard normal noise from the run's stream.
    pub fn noise(&mut self, count: usize) -> Tensor<2> {
        standard_normal(&mut self.noise_rng, count, self.latent_dim, &self.device)
    }

    /// Generates images `[count, 784]` with pixels in [0, 1], whatever the model's range,
    /// from `noise` with the generator in evaluation mode (BatchNorm uses its running
    /// statistics): the averaged generator when the run keeps one, else the live one.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::TensorRead`] when the images cannot be read back as `f32`.
    pub fn generate(&self, noise: Tensor<2>) -> Result<Vec<f32>, TrainError> {
        let generator = self.averaged_generator().unwrap_or(&self.generator).valid();
        let images = generator.generate_pixels(noise.inner());
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
    ModuleOptimizer::from(FusedAdam::new(
        settings.beta1,
        settings.beta2,
        settings.epsilon,
    ))
}

/// Returns the generator's cost of the discriminator's logits of generated images.
///
/// The non-saturating form BCE(D(G(z)), 1) has the gradient σ(l) − 1 in a logit `l`, near −1
/// where the discriminator rejects the fakes (l ≪ 0). The minimax form −BCE(D(G(z)), 0) has the
/// gradient −σ(l), near 0 there, so a generator that the discriminator beats learns slowly.
fn generator_cost(fake_logits: Tensor<2>, loss: GeneratorLoss) -> Result<Tensor<1>, TrainError> {
    match loss {
        GeneratorLoss::NonSaturating => bce_against(fake_logits, 1.0),
        GeneratorLoss::Minimax => Ok(bce_against(fake_logits, 0.0)?.neg()),
    }
}

/// BCE with logits of `logits` against a target of `target` everywhere, averaged.
fn bce_against(logits: Tensor<2>, target: f32) -> Result<Tensor<1>, TrainError> {
    let targets = Tensor::full(logits.dims(), target, &logits.device());
    bce_burn::binary_cross_entropy_with_logits(logits, targets, &bce_burn::BceOptions::default())
        .map_err(TrainError::Loss)
}

fn has_nan(logits: &Tensor<2>) -> bool {
    logits.clone().detach().is_nan().any().into_scalar::<bool>()
}

/// Returns the path of the first parameter of `module` whose gradient in `grads` has a NaN
/// or infinite element.
fn first_non_finite_gradient<M: Module>(module: &M, grads: &GradientsParams) -> Option<String> {
    let mut check = GradientCheck {
        grads,
        path: Vec::new(),
        first: None,
    };
    module.visit(&mut check);
    check.first
}

struct GradientCheck<'a> {
    grads: &'a GradientsParams,
    path: Vec<String>,
    first: Option<String>,
}

impl ModuleVisitor for GradientCheck<'_> {
    // The variant of the `Generator` and `Discriminator` enums is left out of the path, as
    // in checkpoints.
    fn enter_module(&mut self, name: &str, container_type: &str) {
        if !container_type.starts_with("Enum:") {
            self.path.push(name.to_owned());
        }
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        if !container_type.starts_with("Enum:") {
            self.path.pop();
        }
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.first.is_some() {
            return;
        }
        let Some(grad) = self.grads.get::<D>(param.id) else {
            return;
        };
        if has_non_finite(grad) {
            self.first = Some(self.path.join("."));
        }
    }
}

/// Returns whether `values` has a NaN or infinite element.
///
/// One sum decides the common case in a single read of the values: a NaN or infinite
/// element makes the sum NaN or infinite, so a finite sum proves every element finite. A
/// sum that overflows from finite elements is also infinite, so only then are the elements
/// tested one by one.
fn has_non_finite<const D: usize>(values: Tensor<D>) -> bool {
    if values.clone().sum().into_scalar::<f32>().is_finite() {
        return false;
    }
    !values.is_finite().all().into_scalar::<bool>()
}

fn mean_probability(logits: &Tensor<2>) -> f32 {
    scalar(&sigmoid(logits.clone().detach()).mean())
}

fn scalar(tensor: &Tensor<1>) -> f32 {
    tensor.clone().detach().into_scalar::<f32>()
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Tensor, TensorData};

    use super::{GeneratorLoss, generator_cost, has_non_finite};
    use crate::device::cpu_device;

    /// Tolerance of the gradients against the f64 formulas: a few f32 roundings of values
    /// near 1, and a relative 1e-3 of the small minimax gradient, which the logits form of
    /// BCE computes through `exp` in f32.
    const GRADIENT_ABS_TOLERANCE: f64 = 1e-6;
    const GRADIENT_REL_TOLERANCE: f64 = 1e-3;

    /// Returns d cost / d logit at `logit`, through burn's autodiff on the cost the
    /// training step uses. Both costs are batch means, so a batch of one gives the
    /// gradient in that logit itself.
    fn cost_gradient(logit: f32, loss: GeneratorLoss) -> f64 {
        let device = cpu_device().autodiff();
        let logits =
            Tensor::<2>::from_data(TensorData::new(vec![logit], [1, 1]), &device).require_grad();
        let cost = match generator_cost(logits.clone(), loss) {
            Ok(cost) => cost,
            Err(error) => panic!("{} cost of logit {logit}: {error}", loss.name()),
        };
        let grads = cost.backward();
        let Some(grad) = logits.grad(&grads) else {
            panic!("{} cost: no gradient reached the logit", loss.name());
        };
        let values = grad.into_data().try_to_vec::<f32>();
        match values.as_deref() {
            Ok([value]) => f64::from(*value),
            other => panic!(
                "{} cost: expected one gradient value, got {other:?}",
                loss.name()
            ),
        }
    }

    fn sigmoid_f64(logit: f64) -> f64 {
        1.0 / (1.0 + (-logit).exp())
    }

    #[test]
    fn minimax_gradient_vanishes_when_rejected() {
        let logit = -10.0;
        let minimax = cost_gradient(logit as f32, GeneratorLoss::Minimax);
        let non_saturating = cost_gradient(logit as f32, GeneratorLoss::NonSaturating);

        // d/dl [−BCE(l, 0)] = −σ(l) ≈ −4.54e-5 and d/dl BCE(l, 1) = σ(l) − 1 ≈ −0.99995.
        let expected_minimax = -sigmoid_f64(logit);
        let expected_non_saturating = sigmoid_f64(logit) - 1.0;
        let minimax_error = (minimax - expected_minimax).abs();
        assert!(
            minimax_error <= GRADIENT_REL_TOLERANCE * expected_minimax.abs(),
            "minimax gradient at logit {logit}: expected {expected_minimax:e}, got {minimax:e}"
        );
        let non_saturating_error = (non_saturating - expected_non_saturating).abs();
        assert!(
            non_saturating_error <= GRADIENT_ABS_TOLERANCE,
            "non-saturating gradient at logit {logit}: expected {expected_non_saturating}, \
             got {non_saturating}"
        );
        assert!(
            non_saturating.abs() > 1e4 * minimax.abs(),
            "the non-saturating gradient {non_saturating} should exceed the minimax gradient \
             {minimax} by more than 10^4 at logit {logit}"
        );
    }

    #[test]
    fn non_finite_check_cases() {
        let device = cpu_device();
        // The last two cases overflow the sum from finite elements, so the element-wise
        // check has to decide them.
        let cases: [(&str, Vec<f32>, bool); 7] = [
            ("finite", vec![0.5, -2.0, 1e30, -0.0], false),
            ("NaN", vec![0.5, f32::NAN, 1.0, 2.0], true),
            ("+inf", vec![0.5, 1.0, f32::INFINITY, 2.0], true),
            ("-inf", vec![f32::NEG_INFINITY, 1.0, 0.5, 2.0], true),
            (
                "+inf and -inf",
                vec![f32::INFINITY, 1.0, f32::NEG_INFINITY, 2.0],
                true,
            ),
            ("sum overflows", vec![f32::MAX, f32::MAX, 1.0, 0.0], false),
            (
                "sum overflows, NaN",
                vec![f32::MAX, f32::MAX, f32::NAN, 0.0],
                true,
            ),
        ];
        for (name, values, expected) in cases {
            let tensor = Tensor::<2>::from_data(TensorData::new(values.clone(), [2, 2]), &device);
            assert_eq!(
                has_non_finite(tensor),
                expected,
                "{name}: has_non_finite({values:?})"
            );
        }
    }
}
