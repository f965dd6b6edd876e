//! Tests of the fused BatchNorm and ReLU: the kernels against an `f64` twin of the textbook
//! formulas, and the autodiff operation against burn's BatchNorm and ReLU.

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Relu};
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::batch_norm_relu;
use super::kernel;
use super::spatial::{self, Layout};

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
            kernel::reference((&input, &upstream), (channels, 1), (&gamma, &beta), EPSILON);
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

/// Inputs `[images, channels, positions]` with a per-channel offset and spread.
fn spatial_inputs(rng: &mut ChaCha8Rng, layout: Layout) -> Vec<f32> {
    let Layout {
        images,
        channels,
        positions,
    } = layout;
    let offsets: Vec<f32> = (0..channels).map(|_| rng.random_range(-3.0..3.0)).collect();
    let spreads: Vec<f32> = (0..channels)
        .map(|_| rng.random_range(0.01..10.0))
        .collect();
    (0..images * channels * positions)
        .map(|index| {
            let channel = index / positions % channels;
            offsets[channel] + spreads[channel] * rng.random_range(-1.0f32..1.0)
        })
        .collect()
}

#[test]
fn spatial_kernels_follow_the_f64_formulas() {
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    // The DCGAN generator's three block shapes with 4 images, then an odd one whose 14
    // positions leave a tail after the 8-lane sums.
    let shapes = [(4, 256, 9), (4, 128, 36), (4, 64, 169), (3, 5, 14)];
    for (images, channels, positions) in shapes {
        let layout = Layout {
            images,
            channels,
            positions,
        };
        let count = images * channels * positions;
        let input = spatial_inputs(&mut rng, layout);
        let upstream = uniform(&mut rng, count, -1.0..1.0);
        let gamma = uniform(&mut rng, channels, 0.5..2.0);
        let beta = uniform(&mut rng, channels, -0.5..0.5);
        let (output, stats) = spatial::forward(&input, layout, (&gamma, &beta), EPSILON);
        let grads = spatial::backward(
            (&input, &output, &upstream),
            layout,
            &gamma,
            &stats,
            EPSILON,
        );
        let (want_output, want_mean, want_variance, [want_dx, want_dgamma, want_dbeta]) =
            kernel::reference(
                (&input, &upstream),
                (channels, positions),
                (&gamma, &beta),
                EPSILON,
            );
        // The f32 formulas round a few times per element; the sums run in f64.
        let tolerance = (1e-5, 1e-6);
        let name = |what: &str| format!("{images}x{channels}x{positions} {what}");
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
    // Channel 0 contains a NaN, so its statistics and outputs are NaN; channel 1 is constant,
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

/// Runs burn's own BatchNorm then ReLU, and the fused path, on the same module and input.
/// Returns each side's output, input gradient, γ and β gradients, and running statistics.
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

/// Compares the six results of [`both_paths`] within the tolerance of
/// `matches_burn_batch_norm_and_relu`.
fn assert_paths_agree(rows: usize, channels: usize, seed: u64) {
    let names = [
        "output",
        "input gradient",
        "gamma gradient",
        "beta gradient",
        "running mean",
        "running variance",
    ];
    let [fused, burn] = both_paths(rows, channels, seed);
    for ((fused, burn), name) in fused.iter().zip(&burn).zip(names) {
        let burn: Vec<f64> = burn.iter().map(|&v| f64::from(v)).collect();
        assert_close(
            fused,
            &burn,
            (1e-4, 1e-6),
            &format!("{rows}x{channels} {name}"),
        );
    }
}

#[test]
fn small_and_ragged_batches_match_burn() {
    // One row has variance 0, and 17 and 33 rows leave a short last part.
    for (rows, channels) in [(1, 5), (2, 3), (17, 1), (33, 9), (1, 1)] {
        assert_paths_agree(rows, channels, 31);
    }
}

/// Output, input gradient and γ/β gradients (empty when absent) of `forward` on a module
/// whose γ and β track gradients only when `track_affine`, for an input that tracks one only
/// when `track_input`.
fn outputs_and_grads(
    forward: impl Fn(&BatchNorm, Tensor<2>) -> Tensor<2>,
    track_input: bool,
    track_affine: bool,
    input_of: impl Fn(&Device) -> Tensor<2>,
) -> [Vec<f32>; 4] {
    let device = Device::flex().autodiff();
    let norm: BatchNorm = BatchNormConfig::new(4).init(&device);
    let norm = if track_affine { norm } else { norm.no_grad() };
    let input = input_of(&device);
    let input = if track_input {
        input.require_grad()
    } else {
        input
    };
    let output = forward(&norm, input.clone());
    let weights = Tensor::<2>::from_data(
        TensorData::new(
            (0..output.shape().num_elements())
                .map(|i| (i as f32 * 0.37).sin())
                .collect::<Vec<f32>>(),
            output.shape(),
        ),
        &device,
    );
    let grads = (output.clone() * weights).sum().backward();
    let host = |tensor: Option<Tensor<2>>| {
        tensor
            .map(|t| t.into_data().try_to_vec::<f32>().expect("f32"))
            .unwrap_or_default()
    };
    let host_1 = |tensor: Option<Tensor<1>>| host(tensor.map(|t| t.unsqueeze::<2>()));
    [
        host(Some(output.inner())),
        host(input.grad(&grads)),
        host_1(norm.gamma.val().grad(&grads)),
        host_1(norm.beta.val().grad(&grads)),
    ]
}

fn burn_norm_relu<const D: usize>(norm: &BatchNorm, input: Tensor<D>) -> Tensor<D> {
    Relu::new().forward(norm.forward(input))
}

fn assert_outputs_agree(case: &str, fused: &[Vec<f32>; 4], burn: &[Vec<f32>; 4]) {
    let names = [
        "output",
        "input gradient",
        "gamma gradient",
        "beta gradient",
    ];
    for ((fused, burn), name) in fused.iter().zip(burn).zip(names) {
        let burn: Vec<f64> = burn.iter().map(|&v| f64::from(v)).collect();
        assert_close(fused, &burn, (1e-4, 1e-6), &format!("{case}: {name}"));
    }
}

#[test]
fn tracking_combinations_match_burn() {
    let mut rng = ChaCha8Rng::seed_from_u64(32);
    let data = inputs(&mut rng, 24, 4);
    let input_of =
        |device: &Device| Tensor::<2>::from_data(TensorData::new(data.clone(), [24, 4]), device);
    for (track_input, track_affine) in [(true, false), (false, true), (true, true)] {
        let fused = outputs_and_grads(batch_norm_relu, track_input, track_affine, input_of);
        let burn = outputs_and_grads(burn_norm_relu, track_input, track_affine, input_of);
        let case = format!("input tracked {track_input}, affine tracked {track_affine}");
        assert_outputs_agree(&case, &fused, &burn);
    }
}

#[test]
fn views_of_the_input_match_burn() {
    let mut rng = ChaCha8Rng::seed_from_u64(33);
    let data = inputs(&mut rng, 40, 8);
    let base =
        |device: &Device| Tensor::<2>::from_data(TensorData::new(data.clone(), [40, 8]), device);
    type View = fn(Tensor<2>) -> Tensor<2>;
    let views: [(&str, View); 3] = [
        ("transposed", |t| t.reshape([4, 80]).transpose()),
        ("column slice", |t| t.slice([0..40, 2..6])),
        ("row slice", |t| t.slice([5..29, 0..4])),
    ];
    for (name, view) in views {
        let input_of = |device: &Device| view(base(device));
        let fused = outputs_and_grads(batch_norm_relu, true, true, input_of);
        let burn = outputs_and_grads(burn_norm_relu, true, true, input_of);
        assert_outputs_agree(name, &fused, &burn);
    }
}

#[test]
fn input_feeding_two_operations_matches_burn() {
    let mut rng = ChaCha8Rng::seed_from_u64(34);
    let data = inputs(&mut rng, 20, 4);
    let input_of =
        |device: &Device| Tensor::<2>::from_data(TensorData::new(data.clone(), [20, 4]), device);
    let twice = |forward: fn(&BatchNorm, Tensor<2>) -> Tensor<2>| {
        move |norm: &BatchNorm, input: Tensor<2>| {
            forward(norm, input.clone()) + forward(norm, input.clone() * 2.0) + input
        }
    };
    let fused = outputs_and_grads(twice(batch_norm_relu), true, true, input_of);
    let burn = outputs_and_grads(twice(burn_norm_relu), true, true, input_of);
    assert_outputs_agree("two uses", &fused, &burn);
}

#[test]
fn extreme_values_match_burn() {
    let cases: [(&str, Vec<f32>); 4] = [
        (
            "huge",
            vec![1e30, -1e30, 3e29, 0.0, 1e30, 1e30, -2e30, 5e29],
        ),
        (
            "tiny",
            vec![1e-40, -1e-40, 3e-41, 0.0, 1e-42, 1e-40, -2e-40, 5e-41],
        ),
        ("constant", vec![7.0; 8]),
        ("nan", vec![f32::NAN, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]),
    ];
    for (name, values) in cases {
        let input_of = |device: &Device| {
            Tensor::<2>::from_data(TensorData::new(values.clone(), [2, 4]), device)
        };
        let fused = outputs_and_grads(batch_norm_relu, true, true, input_of);
        let burn = outputs_and_grads(burn_norm_relu, true, true, input_of);
        // NaNs match any NaN; the rest match within a relative 1e-4.
        for (index, (f, b)) in fused.iter().zip(&burn).enumerate() {
            for (i, (x, y)) in f.iter().zip(b).enumerate() {
                let same = x.to_bits() == y.to_bits()
                    || (x.is_nan() && y.is_nan())
                    || (x - y).abs() <= 1e-4 * y.abs().max(1e-30);
                assert!(
                    same,
                    "{name}: result {index} element {i}: fused {x}, burn {y}"
                );
            }
        }
    }
}

#[test]
fn empty_batch_does_not_panic() {
    let device = Device::flex().autodiff();
    let norm: BatchNorm = BatchNormConfig::new(3).init(&device);
    let input = Tensor::<2>::zeros([0, 3], &device).require_grad();
    let output = batch_norm_relu(&norm, input.clone());
    assert_eq!(output.dims(), [0, 3]);
    let grads = output.sum().backward();
    let grad = input.grad(&grads).map(|g| g.dims());
    assert!(
        matches!(grad, None | Some([0, 3])),
        "input gradient {grad:?}"
    );
}

#[test]
fn wrong_channel_count_matches_burns_error() {
    // burn's BatchNorm rejects an input whose channel count differs from its own. The fused
    // path must not return a tensor with made-up channels.
    let device = Device::flex().autodiff();
    let norm: BatchNorm = BatchNormConfig::new(4).init(&device);
    for channels in [3, 5] {
        let input = Tensor::<2>::ones([6, channels], &device);
        let fused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            batch_norm_relu(&norm, input.clone()).dims()
        }));
        let burn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            burn_norm_relu(&norm, input.clone()).dims()
        }));
        assert_eq!(
            fused.is_err(),
            burn.is_err(),
            "{channels} channels: fused {fused:?}, burn {burn:?}"
        );
    }
}

#[test]
fn beta_of_another_dtype_matches_burn() {
    // Only the input's and γ's dtypes decide the path, so a β of another dtype reaches the
    // kernel, which reads it as `f32`.
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(35);
    let data = inputs(&mut rng, 12, 3);
    let run = |forward: fn(&BatchNorm, Tensor<2>) -> Tensor<2>| {
        let mut norm: BatchNorm = BatchNormConfig::new(3).init(&device);
        let beta = Tensor::<1>::from_data(
            TensorData::new(vec![0.5f64, 1.0, -0.25], [3]),
            (&device, burn::tensor::DType::F64),
        );
        norm.beta = burn::module::Param::from_tensor(beta);
        let input = Tensor::<2>::from_data(TensorData::new(data.clone(), [12, 3]), &device);
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            forward(&norm, input)
                .cast(burn::tensor::DType::F32)
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32")
        }))
    };
    let fused = run(batch_norm_relu);
    let burn = run(burn_norm_relu);
    match (&fused, &burn) {
        (Ok(fused), Ok(burn)) => {
            let burn: Vec<f64> = burn.iter().map(|&v| f64::from(v)).collect();
            assert_close(fused, &burn, (1e-4, 1e-6), "f64 beta output");
        }
        _ => assert_eq!(fused.is_err(), burn.is_err(), "only one side panicked"),
    }
}

/// Runs burn's own BatchNorm then ReLU, and the fused path, on the same module and 4-D input.
/// Returns each side's output, input gradient, γ and β gradients, and running statistics.
fn both_paths_4d(shape: [usize; 4], seed: u64) -> [[Vec<f32>; 6]; 2] {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let [images, channels, height, width] = shape;
    let layout = Layout {
        images,
        channels,
        positions: height * width,
    };
    let data = spatial_inputs(&mut rng, layout);
    let weights = uniform(&mut rng, data.len(), -1.0..1.0);
    let run = |fused: bool| {
        let norm: BatchNorm = BatchNormConfig::new(channels).init(&device);
        let input =
            Tensor::<4>::from_data(TensorData::new(data.clone(), shape), &device).require_grad();
        let output = if fused {
            batch_norm_relu(&norm, input.clone())
        } else {
            Relu::new().forward(norm.forward(input.clone()))
        };
        let weights = Tensor::<4>::from_data(TensorData::new(weights.clone(), shape), &device);
        let grads = (output.clone() * weights).sum().backward();
        let host = |data: TensorData| data.try_to_vec::<f32>().expect("f32");
        let grad_of =
            |tensor: Tensor<1>| host(tensor.grad(&grads).expect("a gradient").into_data());
        [
            host(output.inner().into_data()),
            host(input.grad(&grads).expect("input gradient").into_data()),
            grad_of(norm.gamma.val()),
            grad_of(norm.beta.val()),
            host(norm.running_mean.value().into_data()),
            host(norm.running_var.value().into_data()),
        ]
    };
    [run(true), run(false)]
}

#[test]
fn four_dimensional_inputs_match_burn() {
    let names = [
        "output",
        "input gradient",
        "gamma gradient",
        "beta gradient",
        "running mean",
        "running variance",
    ];
    let shapes = [
        [4, 256, 3, 3],
        [4, 128, 6, 6],
        [4, 64, 13, 13],
        [3, 5, 2, 7],
    ];
    for shape in shapes {
        let [fused, burn] = both_paths_4d(shape, 36);
        for ((fused, burn), name) in fused.iter().zip(&burn).zip(names) {
            let burn: Vec<f64> = burn.iter().map(|&v| f64::from(v)).collect();
            // burn sums the statistics in f32, so the two agree to f32 rounding of sums
            // over images × positions values.
            assert_close(fused, &burn, (1e-4, 1e-6), &format!("{shape:?} {name}"));
        }
    }
}

#[test]
fn four_dimensional_edge_shapes_fall_back() {
    // A module with another channel count panics in burn, so the fused call must panic too.
    // An empty spatial dimension takes burn's path and keeps the shape.
    let device = Device::flex().autodiff();
    let norm: BatchNorm = BatchNormConfig::new(4).init(&device);
    let wrong = Tensor::<4>::ones([2, 3, 2, 2], &device);
    let fused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        batch_norm_relu(&norm, wrong.clone()).dims()
    }));
    let burn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        burn_norm_relu(&norm, wrong.clone()).dims()
    }));
    assert_eq!(
        fused.is_err(),
        burn.is_err(),
        "3 channels: fused {fused:?}, burn {burn:?}"
    );
    let empty = Tensor::<4>::zeros([2, 4, 0, 3], &device);
    let fused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        batch_norm_relu(&norm, empty.clone()).dims()
    }));
    let burn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        burn_norm_relu(&norm, empty.clone()).dims()
    }));
    assert_eq!(
        fused.as_ref().ok(),
        burn.as_ref().ok(),
        "empty spatial dimension: fused {fused:?}, burn {burn:?}"
    );
}

#[test]
fn spatial_results_ignore_thread_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(37);
    let layout = Layout {
        images: 9,
        channels: 6,
        positions: 25,
    };
    let input = spatial_inputs(&mut rng, layout);
    let upstream = uniform(&mut rng, input.len(), -1.0..1.0);
    let gamma = uniform(&mut rng, layout.channels, 0.5..2.0);
    let beta = uniform(&mut rng, layout.channels, -0.5..0.5);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        pool.install(|| {
            let (output, stats) = spatial::forward(&input, layout, (&gamma, &beta), EPSILON);
            let grads = spatial::backward(
                (&input, &output, &upstream),
                layout,
                &gamma,
                &stats,
                EPSILON,
            );
            (output, stats, grads)
        })
    };
    assert_eq!(run(1), run(3), "one thread against three");
}
