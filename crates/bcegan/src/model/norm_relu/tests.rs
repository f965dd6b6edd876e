//! Tests of the fused BatchNorm and ReLU: the kernels against an `f64` twin of the textbook
//! formulas, and the autodiff operation against burn's BatchNorm and ReLU.

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Relu};
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::batch_norm_relu;
use super::kernel;

const EPSILON: f64 = 1e-5;

/// Inputs with a per-channel offset and spread, so that the statistics matter.
fn inputs(rng: &mut ChaCha8Rng, rows: usize, channels: usize) -> Vec<f32> {
    let offsets: Vec<f32> = (0..channels).map(|_| rng.random_range(-3.0..3.0)).collect();
    let spreads: Vec<f32> = (0..channels)
        .map(|_| rng.random_range(0.01..10.0))
        .collect();
    (0..rows * channels)
        .map(|index| {
            let channel = index % channels;
            offsets[channel] + spreads[channel] * rng.random_range(-1.0f32..1.0)
        })
        .collect()
}

fn uniform(rng: &mut ChaCha8Rng, count: usize, range: std::ops::Range<f32>) -> Vec<f32> {
    (0..count)
        .map(|_| rng.random_range(range.clone()))
        .collect()
}

/// Asserts that every `actual` is within `relative · max|expected| + absolute` of `expected`.
fn assert_close(actual: &[f32], expected: &[f64], tolerance: (f64, f64), name: &str) {
    assert_eq!(actual.len(), expected.len(), "{name}: lengths");
    let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let bound = tolerance.0 * scale + tolerance.1;
    for (index, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (f64::from(a) - e).abs() <= bound,
            "{name}[{index}]: {a} against {e} (bound {bound:e})"
        );
    }
}

#[test]
fn kernels_follow_the_f64_formulas() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    // 37 rows: not a multiple of the 16-row parts, so the last part is short.
    for (rows, channels) in [(128, 256), (37, 5), (2, 3)] {
        let input = inputs(&mut rng, rows, channels);
        let upstream = uniform(&mut rng, rows * channels, -1.0..1.0);
        let gamma = uniform(&mut rng, channels, 0.5..2.0);
        let beta = uniform(&mut rng, channels, -0.5..0.5);
        let (output, stats) = kernel::forward(&input, channels, (&gamma, &beta), EPSILON);
        let grads = kernel::backward(
            (&input, &output, &upstream),
            channels,
            &gamma,
            &stats,
            EPSILON,
        );
        let (want_output, want_mean, want_variance, [want_dx, want_dgamma, want_dbeta]) =
            kernel::reference((&input, &upstream), channels, (&gamma, &beta), EPSILON);
        // The f32 formulas round a few times per element; the sums run in f64.
        let tolerance = (1e-5, 1e-6);
        let name = |what: &str| format!("{rows}x{channels} {what}");
        assert_close(&output, &want_output, tolerance, &name("output"));
        assert_close(&stats.mean, &want_mean, tolerance, &name("mean"));
        assert_close(
            &stats.variance,
            &want_variance,
            tolerance,
            &name("variance"),
        );
        assert_close(&grads.input, &want_dx, tolerance, &name("input gradient"));
        assert_close(
            &grads.gamma,
            &want_dgamma,
            tolerance,
            &name("gamma gradient"),
        );
        assert_close(&grads.beta, &want_dbeta, tolerance, &name("beta gradient"));
    }
}

#[test]
fn relu_keeps_nan_and_zeroes_negatives() {
    // Channel 0 holds a NaN, so its statistics and outputs are NaN; channel 1 is constant,
    // so every normalized value is 0 and ReLU gives β's positive part.
    let input = [f32::NAN, 2.0, 1.0, 2.0];
    let (output, stats) = kernel::forward(&input, 2, (&[1.0, 1.0], &[0.0, -0.5]), EPSILON);
    assert!(
        stats.mean[0].is_nan(),
        "mean of the NaN channel: {}",
        stats.mean[0]
    );
    assert!(
        output[0].is_nan() && output[2].is_nan(),
        "outputs: {output:?}"
    );
    assert_eq!((output[1], output[3]), (0.0, 0.0), "constant channel");
}

/// burn's own BatchNorm then ReLU, and the fused path, on the same module and input; returns
/// each side's output, input gradient, γ and β gradients, and running statistics.
fn both_paths(rows: usize, channels: usize, seed: u64) -> [[Vec<f32>; 6]; 2] {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data = inputs(&mut rng, rows, channels);
    let weights = uniform(&mut rng, rows * channels, -1.0..1.0);
    let run = |fused: bool| {
        let norm: BatchNorm = BatchNormConfig::new(channels).init(&device);
        let input =
            Tensor::<2>::from_data(TensorData::new(data.clone(), [rows, channels]), &device)
                .require_grad();
        let output = if fused {
            batch_norm_relu(&norm, input.clone())
        } else {
            Relu::new().forward(norm.forward(input.clone()))
        };
        let weights =
            Tensor::<2>::from_data(TensorData::new(weights.clone(), [rows, channels]), &device);
        let grads = (output.clone() * weights).sum().backward();
        let values = |tensor: Tensor<2>| tensor.into_data().try_to_vec::<f32>().expect("f32");
        let grad_of = |tensor: Tensor<1>| {
            tensor
                .grad(&grads)
                .expect("a gradient")
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32")
        };
        let running = |tensor: Tensor<1>| tensor.into_data().try_to_vec::<f32>().expect("f32");
        [
            values(output.inner()),
            input
                .grad(&grads)
                .expect("input gradient")
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32"),
            grad_of(norm.gamma.val()),
            grad_of(norm.beta.val()),
            running(norm.running_mean.value()),
            running(norm.running_var.value()),
        ]
    };
    [run(true), run(false)]
}

#[test]
fn matches_burn_batch_norm_and_relu() {
    let names = [
        "output",
        "input gradient",
        "gamma gradient",
        "beta gradient",
        "running mean",
        "running variance",
    ];
    for (rows, channels) in [(128, 300), (7, 4)] {
        let [fused, burn] = both_paths(rows, channels, 5);
        for ((fused, burn), name) in fused.iter().zip(&burn).zip(names) {
            let burn: Vec<f64> = burn.iter().map(|&v| f64::from(v)).collect();
            // burn sums the statistics in f32, so the two agree to f32 rounding of sums
            // over `rows` values.
            assert_close(
                fused,
                &burn,
                (1e-4, 1e-6),
                &format!("{rows}x{channels} {name}"),
            );
        }
    }
}

#[test]
fn evaluation_mode_uses_running_statistics() {
    let device = Device::flex().autodiff();
    let norm: BatchNorm = BatchNormConfig::new(3).init(&device);
    let norm = norm.valid();
    let input = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f32, -2.0, 3.0, 4.0, 5.0, -6.0], [2, 3]),
        &Device::flex(),
    );
    let output = batch_norm_relu(&norm, input)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
    // Running mean 0 and variance 1 at initialization: the output is ReLU(x / √(1 + ε)).
    let scale = (1.0 + EPSILON).sqrt() as f32;
    let expected: Vec<f32> = [1.0f32, -2.0, 3.0, 4.0, 5.0, -6.0]
        .iter()
        .map(|x| (x / scale).max(0.0))
        .collect();
    assert_eq!(output, expected);
}
