//! An exponential moving average of the generator's parameters (`--ema-decay`): the
//! generator that sample grids, quick FIDs and checkpoints' readers use when a run keeps one.
//!
//! The average never feeds back into training: the live networks, their optimizers and the
//! noise stream follow the same path with and without it. Every [`UPDATE_EVERY`] steps the
//! average moves towards the live parameters. BatchNorm's running statistics belong to the
//! live weights, so [`GeneratorAverage::generator`] replaces them by statistics measured on
//! the averaged weights, with noise from a separate seeded stream.

use std::cell::OnceCell;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::error::TrainError;
use super::gan::standard_normal;
use crate::model::{Generator, ModelKind};

/// Steps between two updates of the average. Each update applies the decay of this many
/// steps at once, so it reads the weights a tenth as often as a per-step update.
// NOTE: Averaging nearly the same weights as a per-step update is an estimate from the
// horizon of about 1,000 steps at decay 0.999. Short horizons were not measured.
pub const UPDATE_EVERY: u64 = 10;
/// Noise batches that measure the averaged generator's BatchNorm statistics.
const CALIBRATION_PASSES: usize = 8;
/// Noise vectors in each calibration batch.
const CALIBRATION_BATCH: usize = 256;
/// Offset of the calibration noise stream from the run's seed.
const CALIBRATION_STREAM: u64 = 0x63616c6962;

/// The running average and the generator built from it.
pub struct GeneratorAverage {
    decay: f64,
    /// One vector per float tensor (parameters and running statistics), in the order
    /// `Module::visit` reaches them. Empty until the first update.
    values: Vec<Vec<f32>>,
    /// The averaged generator with measured statistics, built on the first request after an
    /// update.
    built: OnceCell<Generator>,
}

impl GeneratorAverage {
    /// Creates an empty average with the per-step `decay`, in (0, 1).
    pub fn new(decay: f64) -> Self {
        Self {
            decay,
            values: Vec::new(),
            built: OnceCell::new(),
        }
    }

    /// Creates an average from the parameters of `generator`, as a checkpoint stores it.
    /// `generator` becomes the built one, statistics included.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::TensorRead`] when a parameter cannot be read as `f32`.
    pub fn restored(decay: f64, generator: Generator) -> Result<Self, TrainError> {
        let mut average = Self::new(decay);
        let mut fold = Fold {
            values: &mut average.values,
            index: 0,
            weight: 1.0,
            error: None,
        };
        generator.visit(&mut fold);
        if let Some(error) = fold.error {
            return Err(error);
        }
        let _ = average.built.set(generator);
        Ok(average)
    }

    /// Returns whether the step numbered `step` (from 1) updates the average.
    pub fn is_due(step: u64) -> bool {
        step.is_multiple_of(UPDATE_EVERY)
    }

    /// Moves the average towards `live`'s parameters after step `step`. The first update
    /// copies them. Later ones retain `d^UPDATE_EVERY` of the average, where the per-step
    /// decay `d = min(decay, (1 + step)/(10 + step))` lets early averages follow the quickly
    /// changing weights of the first steps.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::TensorRead`] when a parameter cannot be read as `f32`.
    pub fn update(&mut self, step: u64, live: &Generator) -> Result<(), TrainError> {
        let warm_up = (1.0 + step as f64) / (10.0 + step as f64);
        let retained = self.decay.min(warm_up).powi(UPDATE_EVERY as i32);
        let weight = if self.values.is_empty() {
            1.0
        } else {
            (1.0 - retained) as f32
        };
        let mut fold = Fold {
            values: &mut self.values,
            index: 0,
            weight,
            error: None,
        };
        live.visit(&mut fold);
        self.built = OnceCell::new();
        fold.error.map_or(Ok(()), Err)
    }

    /// Returns the averaged generator, with BatchNorm statistics measured on
    /// `CALIBRATION_PASSES` batches of noise seeded from `seed`, or `None` before the first
    /// update. `model` and `latent_dim` are the live generator's. `device` must be
    /// autodiff, so that BatchNorm runs in training mode while the statistics are measured.
    pub fn generator(
        &self,
        model: ModelKind,
        seed: u64,
        latent_dim: usize,
        device: &Device,
    ) -> Option<&Generator> {
        if self.values.is_empty() {
            return None;
        }
        Some(self.built.get_or_init(|| {
            // A clone of the live generator would share its running statistics, because burn
            // keeps them behind an `Arc`. So the average starts from a new module.
            let mut placeholder_rng = ChaCha8Rng::seed_from_u64(0);
            let fresh = Generator::new(model, latent_dim, &mut placeholder_rng, device);
            let mut generator = fresh.map(&mut Replace {
                values: &self.values,
                index: 0,
            });
            calibrate(&mut generator, seed, latent_dim, device);
            generator
        }))
    }
}

/// Replaces the running statistics of each BatchNorm layer of `generator` by the mean of
/// its batch statistics over the calibration batches, then restores the layers' momentum.
/// A momentum of `1/(pass + 1)` makes each running value the cumulative mean.
fn calibrate(generator: &mut Generator, seed: u64, latent_dim: usize, device: &Device) {
    let momenta: Vec<f64> = generator.norms_mut().map(|norm| norm.momentum).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ CALIBRATION_STREAM);
    for pass in 0..CALIBRATION_PASSES {
        for norm in generator.norms_mut() {
            norm.momentum = 1.0 / (pass + 1) as f64;
        }
        let noise = standard_normal(&mut rng, CALIBRATION_BATCH, latent_dim, device);
        // Training mode: the forward pass updates the running statistics.
        drop(generator.forward(noise));
    }
    for (norm, momentum) in generator.norms_mut().zip(momenta) {
        norm.momentum = momentum;
        // Applies the last pass's statistics, which burn holds back until the next read.
        let _ = norm.running_mean.value_sync();
        let _ = norm.running_var.value_sync();
    }
}

/// Folds each float tensor of a module into `values`: `v ← (1 − weight)·v + weight·p`, or
/// a copy where `values` has no entry yet. burn visits BatchNorm's running statistics as
/// float tensors too, so they are folded like the parameters; [`calibrate`] replaces them
/// before the average generates.
struct Fold<'a> {
    values: &'a mut Vec<Vec<f32>>,
    index: usize,
    weight: f32,
    error: Option<TrainError>,
}

impl ModuleVisitor for Fold<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.error.is_some() {
            return;
        }
        let live = match param.val().into_data().try_to_vec::<f32>() {
            Ok(live) => live,
            Err(error) => {
                self.error = Some(TrainError::TensorRead(format!("{error:?}")));
                return;
            }
        };
        match self.values.get_mut(self.index) {
            Some(values) => {
                let retained = 1.0 - self.weight;
                for (value, live) in values.iter_mut().zip(live) {
                    *value = retained * *value + self.weight * live;
                }
            }
            None => self.values.push(live),
        }
        self.index += 1;
    }
}

/// Replaces each float tensor by the average's values, keeping its id and shape.
struct Replace<'a> {
    values: &'a [Vec<f32>],
    index: usize,
}

impl ModuleMapper for Replace<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(values) = self.values.get(self.index) else {
            return param;
        };
        self.index += 1;
        param.map(|tensor| {
            let shape = tensor.shape();
            Tensor::from_data(TensorData::new(values.clone(), shape), &tensor.device())
        })
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests;
