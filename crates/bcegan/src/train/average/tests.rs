//! Tests of the average's update rule against an `f64` evaluation of the formula, and of the
//! measured BatchNorm statistics against the mean of the first layer's outputs on the same
//! noise.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::model::ModelKind;

const LATENT_DIM: usize = 8;

fn device() -> Device {
    Device::flex().autodiff()
}

fn generator(seed: u64) -> Generator {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Generator::new(ModelKind::Mlp, LATENT_DIM, &mut rng, &device())
}

/// Reads the float tensors of `generator` in visiting order.
fn parameters(generator: &Generator) -> Vec<Vec<f32>> {
    let mut values = Vec::new();
    let mut fold = Fold {
        values: &mut values,
        index: 0,
        weight: 1.0,
        error: None,
    };
    generator.visit(&mut fold);
    assert!(fold.error.is_none(), "parameters read as f32");
    values
}

fn running_mean(generator: &mut Generator) -> Vec<f32> {
    let norm = generator.norms_mut().next().expect("a BatchNorm layer");
    norm.running_mean
        .value()
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 running mean")
}

#[test]
fn update_due_every_ten_steps() {
    let due: Vec<u64> = (1..=35)
        .filter(|&step| GeneratorAverage::is_due(step))
        .collect();
    assert_eq!(due, [10, 20, 30]);
}

#[test]
fn update_blends_by_formula() {
    let (first, second) = (generator(1), generator(2));
    let mut average = GeneratorAverage::new(0.999);
    assert!(
        average
            .generator(ModelKind::Mlp, 0, LATENT_DIM, &device())
            .is_none(),
        "no average before the first update"
    );
    average.update(10, &first).expect("first update");
    average.update(20, &second).expect("second update");
    // At step 20 the warm-up decay (1 + 20)/(10 + 20) = 0.7 is below 0.999.
    let retained = 0.7_f64.powi(10);
    let (a, b, got) = (parameters(&first), parameters(&second), &average.values);
    assert_eq!(got.len(), a.len(), "parameter count");
    for (index, ((a, b), got)) in a.iter().zip(&b).zip(got).enumerate() {
        for ((&a, &b), &got) in a.iter().zip(b).zip(got) {
            let want = retained * f64::from(a) + (1.0 - retained) * f64::from(b);
            assert!(
                (f64::from(got) - want).abs() <= 1e-6 * (1.0 + want.abs()),
                "parameter {index}: {got} against {want}"
            );
        }
    }
}

#[test]
fn calibration_gives_noise_mean() {
    let live = generator(3);
    let mut average = GeneratorAverage::new(0.999);
    average.update(10, &live).expect("update");
    let seed = 5;
    let mut averaged = average
        .generator(ModelKind::Mlp, seed, LATENT_DIM, &device())
        .expect("an average")
        .clone();

    // The first layer's output mean over all calibration noise: W·mean(z) + b, with the
    // weight stored [inputs, outputs] and visited before the bias.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ CALIBRATION_STREAM);
    let mut noise_sum = [0.0_f64; LATENT_DIM];
    for _ in 0..CALIBRATION_PASSES {
        let noise: Tensor<2> = standard_normal(&mut rng, CALIBRATION_BATCH, LATENT_DIM, &device());
        let values = noise.into_data().try_to_vec::<f32>().expect("f32 noise");
        for row in values.chunks(LATENT_DIM) {
            for (sum, &value) in noise_sum.iter_mut().zip(row) {
                *sum += f64::from(value);
            }
        }
    }
    let count = (CALIBRATION_PASSES * CALIBRATION_BATCH) as f64;
    let params = parameters(&live);
    let (weight, bias) = (&params[0], &params[1]);
    let outputs = bias.len();
    let got = running_mean(&mut averaged);
    assert_eq!(got.len(), outputs, "running mean length");
    for (j, &got) in got.iter().enumerate() {
        let want = f64::from(bias[j])
            + (0..LATENT_DIM)
                .map(|i| f64::from(weight[i * outputs + j]) * noise_sum[i] / count)
                .sum::<f64>();
        assert!(
            (f64::from(got) - want).abs() <= 1e-5,
            "feature {j}: running mean {got} against {want}"
        );
    }
    for norm in averaged.norms_mut() {
        assert_eq!(norm.momentum, 0.1, "momentum restored after calibration");
    }
}

#[test]
fn restore_keeps_values_and_statistics() {
    let live = generator(4);
    let mut average = GeneratorAverage::new(0.99);
    average.update(10, &live).expect("update");
    let built = average
        .generator(ModelKind::Mlp, 0, LATENT_DIM, &device())
        .expect("an average")
        .clone();
    let mut original = built.clone();
    let restored = GeneratorAverage::restored(0.99, built).expect("restored");
    let mut again = restored
        .generator(ModelKind::Mlp, 0, LATENT_DIM, &device())
        .expect("a restored average")
        .clone();
    assert_eq!(parameters(&again), parameters(&original), "parameters");
    assert_eq!(
        running_mean(&mut again),
        running_mean(&mut original),
        "statistics kept, not measured again"
    );
}

#[test]
fn calibration_keeps_live_statistics() {
    let mut live = generator(6);
    let before = running_mean(&mut live);
    let mut average = GeneratorAverage::new(0.999);
    average.update(10, &live).expect("update");
    let mut averaged = average
        .generator(ModelKind::Mlp, 1, LATENT_DIM, &device())
        .expect("an average")
        .clone();
    assert_ne!(
        running_mean(&mut averaged),
        before,
        "the average's statistics are measured"
    );
    assert_eq!(running_mean(&mut live), before, "live running mean");
}
