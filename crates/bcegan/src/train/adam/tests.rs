//! Tests of the fused Adam update: against an `f64` twin of the textbook formula, and bit
//! for bit against burn's own `Adam`, whose optimizer state it shares.

use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, Optimizer};
use burn::tensor::{DType, Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::FusedAdam;
use super::kernel::{self, AdamScalars};

const BETAS: (f32, f32) = (0.5, 0.999);
const EPSILON: f32 = 1e-8;
const LR: f64 = 2e-4;

fn device() -> Device {
    Device::flex().autodiff()
}

/// Gradients over many magnitudes, with exact zeros, signed zeros and tiny values.
fn awkward_values(rng: &mut ChaCha8Rng, count: usize) -> Vec<f32> {
    (0..count)
        .map(|index| match index % 9 {
            0 => 0.0,
            1 => -0.0,
            2 => f32::MIN_POSITIVE * rng.random_range(-4.0..4.0),
            3 => rng.random_range(-1e4..1e4),
            _ => rng.random_range(-1.0f32..1.0) * 10f32.powi(rng.random_range(-12..2)),
        })
        .collect()
}

fn scalars(time: i32) -> AdamScalars {
    let (beta_1, beta_2) = BETAS;
    let correction_2_sqrt = (1.0 - beta_2.powi(time)).sqrt();
    AdamScalars {
        beta_1,
        beta_2,
        one_minus_beta_1: 1.0 - beta_1,
        one_minus_beta_2: 1.0 - beta_2,
        step_factor: correction_2_sqrt / (1.0 - beta_1.powi(time)),
        denominator_term: EPSILON * correction_2_sqrt,
        lr: LR as f32,
        first: time == 1,
    }
}

/// Units in the last place of `value` as an `f32`, at least the smallest normal's.
fn ulp(value: f64) -> f64 {
    let value = (value as f32).abs().max(f32::MIN_POSITIVE);
    f64::from(f32::from_bits(value.to_bits() + 1) - value)
}

#[test]
fn kernel_follows_the_f64_formula() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // Above the parallel chunk, so that the split path runs (the layer tests cover both).
    let count = 70_001;
    let mut params: Vec<f32> = (0..count).map(|_| rng.random_range(-0.5..0.5)).collect();
    let mut moment_1 = vec![0.0; count];
    let mut moment_2 = vec![0.0; count];
    let mut reference: Vec<(f64, f64, f64)> = params
        .iter()
        .map(|&param| (f64::from(param), 0.0, 0.0))
        .collect();
    let (beta_1, beta_2) = (f64::from(BETAS.0), f64::from(BETAS.1));
    let settings = (beta_1, beta_2, f64::from(EPSILON), f64::from(LR as f32));
    for time in 1..=4 {
        let grads = awkward_values(&mut rng, count);
        kernel::update(
            &mut params,
            &grads,
            &mut moment_1,
            &mut moment_2,
            &scalars(time),
        );
        for (index, state) in reference.iter_mut().enumerate() {
            let (param, m1, m2) = *state;
            *state =
                kernel::reference_step((param, f64::from(grads[index]), m1, m2), settings, time);
            let (want_param, want_m1, want_m2) = *state;
            // Each moment takes three roundings per step. The parameter moves by about lr per
            // step at most, and that move is good to a few f32 roundings.
            let m1_error = (f64::from(moment_1[index]) - want_m1).abs();
            let m2_error = (f64::from(moment_2[index]) - want_m2).abs();
            let param_error = (f64::from(params[index]) - want_param).abs();
            assert!(
                m1_error <= 1e-6 * want_m1.abs() + 1e-44,
                "step {time}, element {index}: first moment {} against {want_m1}",
                moment_1[index]
            );
            assert!(
                m2_error <= 1e-6 * want_m2.abs() + 1e-44,
                "step {time}, element {index}: second moment {} against {want_m2}",
                moment_2[index]
            );
            assert!(
                param_error <= 2.0 * ulp(want_param) + 1e-5 * settings.3,
                "step {time}, element {index}: parameter {} against {want_param}",
                params[index]
            );
            // Keep the twin on the kernel's parameter, so that rounding does not accumulate
            // into the comparison of later steps.
            state.0 = f64::from(params[index]);
            state.1 = f64::from(moment_1[index]);
            state.2 = f64::from(moment_2[index]);
        }
    }
}

/// Creates a layer whose weight (300 × 200) is above the parallel chunk and whose bias is below it.
fn layer(device: &Device) -> Linear {
    LinearConfig::new(300, 200).init(device)
}

/// Runs `steps` updates on batches drawn from `rng`.
fn train(
    mut optimizer: ModuleOptimizer,
    mut model: Linear,
    rng: &mut ChaCha8Rng,
    steps: usize,
) -> (Linear, ModuleOptimizer) {
    let device = device();
    for _ in 0..steps {
        let input = Tensor::<2>::from_data(
            TensorData::new(awkward_values(rng, 16 * 300), [16, 300]),
            &device,
        );
        let loss = model.forward(input).powi_scalar(2).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(LR, model, grads);
    }
    (model, optimizer)
}

fn bits(tensor: Tensor<2>) -> Vec<u32> {
    tensor
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 weights")
        .iter()
        .map(|value| value.to_bits())
        .collect()
}

/// Fails with the first differing element and the count of differences, if any.
fn assert_same_bits(left: Tensor<2>, right: Tensor<2>, name: &str) {
    let (left, right) = (bits(left), bits(right));
    assert_eq!(left.len(), right.len(), "{name}: lengths");
    let differing: Vec<usize> = (0..left.len()).filter(|&i| left[i] != right[i]).collect();
    if let Some(&first) = differing.first() {
        panic!(
            "{name}: {} of {} elements differ, the first at {first}: {} against {}",
            differing.len(),
            left.len(),
            f32::from_bits(left[first]),
            f32::from_bits(right[first])
        );
    }
}

fn fused() -> ModuleOptimizer {
    ModuleOptimizer::from(FusedAdam::new(BETAS.0, BETAS.1, EPSILON))
}

fn composed() -> ModuleOptimizer {
    AdamConfig::new()
        .with_beta_1(BETAS.0)
        .with_beta_2(BETAS.1)
        .with_epsilon(EPSILON)
        .init()
}

#[test]
fn matches_burn_adam_bit_for_bit() {
    let start = layer(&device());
    let seeded = || ChaCha8Rng::seed_from_u64(11);
    let (fused_model, _) = train(fused(), start.clone(), &mut seeded(), 5);
    let (burn_model, _) = train(composed(), start, &mut seeded(), 5);
    assert_same_bits(fused_model.weight.val(), burn_model.weight.val(), "weights");
    let bias = |model: Linear| model.bias.expect("bias").val().unsqueeze::<2>();
    assert_same_bits(bias(fused_model), bias(burn_model), "biases");
}

#[test]
fn state_moves_between_the_two_optimizers() {
    let start = layer(&device());
    let (straight, _) = train(fused(), start.clone(), &mut ChaCha8Rng::seed_from_u64(5), 4);
    // Two steps with each optimizer, the state handed over through burn's record bytes.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (halfway, optimizer) = train(composed(), start, &mut rng, 2);
    let bytes = optimizer.into_bytes().expect("burn encodes its Adam state");
    let resumed = fused()
        .from_bytes(bytes)
        .expect("the fused optimizer reads it");
    let (handed_over, _) = train(resumed, halfway, &mut rng, 2);
    assert_same_bits(straight.weight.val(), handed_over.weight.val(), "weights");
}

#[test]
fn other_dtypes_take_burns_path() {
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let tensor = |values: Vec<f32>| {
        Tensor::<1>::from_data(TensorData::new(values, [64]), (&device, DType::F64))
    };
    let param = tensor(awkward_values(&mut rng, 64));
    let grad = tensor(awkward_values(&mut rng, 64));
    let fused = FusedAdam::new(BETAS.0, BETAS.1, EPSILON);
    let burn = AdamConfig::new()
        .with_beta_1(BETAS.0)
        .with_beta_2(BETAS.1)
        .with_epsilon(EPSILON)
        .build();
    let (fused_param, fused_state) = fused.step(LR, param.clone(), grad.clone(), None);
    let (burn_param, _) = burn.step(LR, param, grad, None);
    assert_eq!(fused_param.dtype(), DType::F64);
    assert_eq!(
        fused_param.into_data().try_to_vec::<f64>().expect("f64"),
        burn_param.into_data().try_to_vec::<f64>().expect("f64")
    );
    assert_eq!(fused_state.expect("a state").momentum.time, 1);
}

/// Runs one fused and one burn step on `param` and `grad` (plain flex) and then a second
/// step from each one's state, and checks that both give the same bits.
fn assert_two_steps_match_burn(param: Tensor<2>, grad: Tensor<2>, case: &str) {
    let fused = FusedAdam::new(BETAS.0, BETAS.1, EPSILON);
    let burn = AdamConfig::new()
        .with_beta_1(BETAS.0)
        .with_beta_2(BETAS.1)
        .with_epsilon(EPSILON)
        .build();
    let (fused_param, fused_state) = fused.step(LR, param.clone(), grad.clone(), None);
    let (burn_param, burn_state) = burn.step(LR, param, grad.clone(), None);

    assert_same_bits(
        fused_param.clone(),
        burn_param.clone(),
        &format!("{case}, step 1"),
    );
    let (fused_param, fused_state) = fused.step(LR, fused_param, grad.clone(), fused_state);
    let (burn_param, burn_state) = burn.step(LR, burn_param, grad, burn_state);
    assert_same_bits(fused_param, burn_param, &format!("{case}, step 2"));

    let (fused_state, burn_state) = (
        fused_state.expect("a fused state").momentum,
        burn_state.expect("a burn state").momentum,
    );
    assert_eq!(fused_state.time, burn_state.time, "{case}: time");
    assert_same_bits(
        fused_state.moment_1,
        burn_state.moment_1,
        &format!("{case}, moment 1"),
    );
    assert_same_bits(
        fused_state.moment_2,
        burn_state.moment_2,
        &format!("{case}, moment 2"),
    );
}

#[test]
fn step_leaves_model_clone_unchanged() {
    let device = device();
    let model = layer(&device);
    let kept = model.clone();
    let before = bits(kept.weight.val());
    let (trained, _) = train(fused(), model, &mut ChaCha8Rng::seed_from_u64(21), 2);
    assert_ne!(
        bits(trained.weight.val()),
        before,
        "training changed nothing"
    );
    assert_eq!(bits(kept.weight.val()), before, "the kept clone changed");
}

#[test]
fn step_leaves_saved_state_unchanged() {
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let (model, optimizer) = train(fused(), layer(&device()), &mut rng, 2);
    let saved = optimizer.clone();
    let before = saved.clone().into_bytes().expect("state bytes");
    let _ = train(optimizer, model, &mut rng, 2);
    let after = saved.into_bytes().expect("state bytes");
    assert!(before == after, "a later step changed a saved state");
}

#[test]
fn views_and_shared_buffers_match_burn() {
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let tensor = |rng: &mut ChaCha8Rng, shape: [usize; 2]| {
        Tensor::<2>::from_data(
            TensorData::new(awkward_values(rng, shape[0] * shape[1]), shape),
            &device,
        )
    };
    let (param, grad) = (tensor(&mut rng, [40, 30]), tensor(&mut rng, [30, 40]));
    assert_two_steps_match_burn(param.clone(), grad.clone().transpose(), "transposed grad");
    assert_two_steps_match_burn(grad.clone().transpose(), param.clone(), "transposed param");
    let wide = tensor(&mut rng, [40, 50]);
    assert_two_steps_match_burn(
        wide.clone().slice([0..40, 10..40]),
        param.clone(),
        "sliced param",
    );
    assert_two_steps_match_burn(param.clone(), param.clone(), "grad is the param");
    let row = tensor(&mut rng, [1, 30]);
    assert_two_steps_match_burn(param.clone(), row.expand([40, 30]), "broadcast grad");
    let large = tensor(&mut rng, [300, 300]);
    assert_two_steps_match_burn(large.clone(), large.clone().flip([0]), "flipped grad");
}

#[test]
fn empty_and_single_params_match_burn() {
    let device = Device::flex();
    let empty = Tensor::<2>::zeros([0, 4], &device);
    assert_two_steps_match_burn(empty.clone(), empty, "empty");
    let one = Tensor::<2>::from_data(TensorData::new(vec![0.5f32], [1, 1]), &device);
    let grad = Tensor::<2>::from_data(TensorData::new(vec![-3.0f32], [1, 1]), &device);
    assert_two_steps_match_burn(one, grad, "one element");
}

#[test]
fn non_finite_grads_match_burn() {
    let device = Device::flex();
    let values = vec![
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN,
        1e30,
        -1e-30,
        0.0,
    ];
    let grad = Tensor::<2>::from_data(TensorData::new(values, [2, 4]), &device);
    let param = Tensor::<2>::ones([2, 4], &device);
    assert_two_steps_match_burn(param, grad, "non-finite grads");
}

#[test]
fn f16_params_take_burns_path() {
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let tensor = |values: Vec<f32>| {
        Tensor::<1>::from_data(TensorData::new(values, [64]), (&device, DType::F16))
    };
    let param = tensor(awkward_values(&mut rng, 64));
    let grad = tensor(awkward_values(&mut rng, 64));
    let fused = FusedAdam::new(BETAS.0, BETAS.1, EPSILON);
    let (fused_param, fused_state) = fused.step(LR, param.clone(), grad.clone(), None);
    let (fused_param, _) = fused.step(LR, fused_param, grad, fused_state);
    assert_eq!(fused_param.dtype(), DType::F16);
}

#[test]
fn edge_hyperparameters_match_burn() {
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let param =
        Tensor::<1>::from_data(TensorData::new(awkward_values(&mut rng, 50), [50]), &device);
    let grad = Tensor::<1>::from_data(TensorData::new(awkward_values(&mut rng, 50), [50]), &device);
    let cases = [
        (0.0, 0.0, 0.0, 1e-3),
        (1.0, 0.999, 1e-8, 1e-3),
        (0.9, 1.0, 1e-8, 1e-3),
        (0.5, 0.999, 1e30, 1e40),
    ];
    for (beta_1, beta_2, epsilon, lr) in cases {
        let fused = FusedAdam::new(beta_1, beta_2, epsilon);
        let burn = AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .build();
        let (mut fused_param, mut fused_state) = (param.clone(), None);
        let (mut burn_param, mut burn_state) = (param.clone(), None);
        for step in 1..=3 {
            (fused_param, fused_state) = fused.step(lr, fused_param, grad.clone(), fused_state);
            (burn_param, burn_state) = burn.step(lr, burn_param, grad.clone(), burn_state);
            assert_same_bits(
                fused_param.clone().unsqueeze(),
                burn_param.clone().unsqueeze(),
                &format!("betas ({beta_1}, {beta_2}), epsilon {epsilon}, lr {lr}, step {step}"),
            );
        }
    }
}
