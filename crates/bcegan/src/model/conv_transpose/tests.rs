//! Tests of the fused transposed convolution: the kernels against an `f64` twin written from
//! the definition, and the autodiff operation against burn's own `ConvTranspose2d` on the
//! flex device.

use burn::backend::flex::FlexTensor;
use burn::module::{Module, Param};
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::{DType, Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::conv_transpose2d;
use super::kernel::{self, Geometry};
use super::op::ConvTransposeBackend;

/// A layer shape: channels in and out, kernel, stride, and the input's side.
#[derive(Debug, Clone, Copy)]
struct Case {
    channels: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    input: [usize; 2],
}

const fn square(channels: [usize; 2], kernel: usize, stride: usize, side: usize) -> Case {
    Case {
        channels,
        kernel: [kernel, kernel],
        stride: [stride, stride],
        input: [side, side],
    }
}

/// The DCGAN generator's four layers, then small stride-1, stride-3 and non-square cases.
const CASES: [Case; 7] = [
    square([64, 256], 3, 2, 1),
    square([256, 128], 4, 1, 3),
    square([128, 64], 3, 2, 6),
    square([64, 1], 4, 2, 13),
    square([3, 5], 3, 1, 4),
    square([4, 3], 2, 3, 5),
    Case {
        channels: [3, 2],
        kernel: [2, 3],
        stride: [3, 1],
        input: [4, 3],
    },
];

/// Batch size of every test case.
const BATCH: usize = 4;

fn uniform(rng: &mut ChaCha8Rng, count: usize) -> Vec<f32> {
    (0..count).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn geometry(case: &Case) -> Geometry {
    let [channels_in, channels_out] = case.channels;
    Geometry::new(
        [BATCH, channels_in, channels_out],
        case.input,
        case.kernel,
        case.stride,
    )
    .expect("valid test geometry")
}

fn layer(case: &Case, rng: &mut ChaCha8Rng, device: &Device) -> ConvTranspose2d {
    let [channels_in, channels_out] = case.channels;
    let mut layer = ConvTranspose2dConfig::new(case.channels, case.kernel)
        .with_stride(case.stride)
        .init(device);
    let [kernel_h, kernel_w] = case.kernel;
    let weight = uniform(rng, channels_in * channels_out * kernel_h * kernel_w);
    let bias = uniform(rng, channels_out);
    layer.weight = Param::from_tensor(Tensor::from_data(
        TensorData::new(weight, [channels_in, channels_out, kernel_h, kernel_w]),
        device,
    ));
    layer.bias = Some(Param::from_tensor(Tensor::from_data(
        TensorData::new(bias, [channels_out]),
        device,
    )));
    layer
}

/// Terms in one element's sum for the output, input, weight and bias gradients: the
/// bounds below scale with them.
fn terms(case: &Case) -> [usize; 4] {
    let [channels_in, channels_out] = case.channels;
    let taps = case.kernel[0] * case.kernel[1];
    let geometry = geometry(case);
    let positions = BATCH * case.input[0] * case.input[1];
    let pixels = BATCH * geometry.output[0] * geometry.output[1];
    [
        channels_in * taps + 1,
        channels_out * taps,
        positions,
        pixels,
    ]
}

/// Asserts `|actual − expected| ≤ scale · terms · ε_f32 · magnitude` element by element,
/// with `magnitude` the sum of the terms' magnitudes: the standard bound on the rounding
/// error of an `f32` sum of `terms` products, `scale` times.
fn assert_within_sum_bound(
    actual: &[f32],
    (expected, magnitude): (&[f64], &[f64]),
    terms: usize,
    scale: f64,
    name: &str,
) {
    assert_eq!(actual.len(), expected.len(), "{name}: lengths");
    let unit = scale * terms as f64 * f64::from(f32::EPSILON);
    for (index, &value) in actual.iter().enumerate() {
        let bound = unit * magnitude[index] + f64::from(f32::MIN_POSITIVE);
        let error = (f64::from(value) - expected[index]).abs();
        assert!(
            error <= bound,
            "{name}[{index}]: {value} against {} (error {error:e}, bound {bound:e})",
            expected[index]
        );
    }
}

#[test]
fn kernels_follow_f64_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for case in CASES {
        let geometry = geometry(&case);
        let x = uniform(&mut rng, geometry.input_len());
        let weight = uniform(&mut rng, geometry.weight_len());
        let bias = uniform(&mut rng, geometry.channels_out);
        let upstream = uniform(&mut rng, geometry.output_len());
        let expected = kernel::reference((&x, &weight, &bias, &upstream), &geometry);
        let plane = geometry.output[0] * geometry.output[1];
        let actual = [
            kernel::forward(&x, &weight, &bias, &geometry).expect("matching lengths"),
            kernel::input_grad(&weight, &upstream, &geometry).expect("matching lengths"),
            kernel::weight_grad(&x, &upstream, &geometry).expect("matching lengths"),
            kernel::bias_grad(&upstream, geometry.channels_out, plane),
        ];
        let names = [
            "output",
            "input gradient",
            "weight gradient",
            "bias gradient",
        ];
        for (index, name) in names.iter().enumerate() {
            let [values, magnitude] = &expected[index];
            let name = format!("{case:?} {name}");
            let terms = terms(&case)[index];
            assert_within_sum_bound(&actual[index], (values, magnitude), terms, 1.0, &name);
        }
    }
}

#[test]
fn kernels_reject_mismatched_lengths() {
    let geometry = geometry(&CASES[4]);
    let x = vec![0.0; geometry.input_len()];
    let weight = vec![0.0; geometry.weight_len()];
    let bias = vec![0.0; geometry.channels_out];
    let upstream = vec![0.0; geometry.output_len()];
    assert!(
        kernel::forward(&x[1..], &weight, &bias, &geometry).is_none(),
        "short input"
    );
    assert!(
        kernel::forward(&x, &weight, &bias[1..], &geometry).is_none(),
        "short bias"
    );
    assert!(
        kernel::input_grad(&weight[1..], &upstream, &geometry).is_none(),
        "short weight"
    );
    assert!(
        kernel::weight_grad(&x, &upstream[1..], &geometry).is_none(),
        "short upstream"
    );
    assert!(
        kernel::grads(&x, &weight, &upstream[1..], &geometry).is_none(),
        "short upstream for both gradients"
    );
}

#[test]
fn shared_gather_matches_separate_grads() {
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    for case in CASES {
        let geometry = geometry(&case);
        let x = uniform(&mut rng, geometry.input_len());
        let weight = uniform(&mut rng, geometry.weight_len());
        let upstream = uniform(&mut rng, geometry.output_len());
        let both = kernel::grads(&x, &weight, &upstream, &geometry);
        let x_grad = kernel::input_grad(&weight, &upstream, &geometry);
        let weight_grad = kernel::weight_grad(&x, &upstream, &geometry);
        let (Some((both_x, both_weight)), Some(x_grad), Some(weight_grad)) =
            (both, x_grad, weight_grad)
        else {
            panic!("{case:?}: matching lengths were rejected");
        };
        assert_eq!(both_x, x_grad, "{case:?}: input gradient");
        assert_eq!(both_weight, weight_grad, "{case:?}: weight gradient");
    }
}

#[test]
fn geometry_rejects_zero_and_overflow() {
    let zero_stride = Geometry::new([1, 1, 1], [2, 2], [2, 2], [0, 1]);
    assert_eq!(zero_stride, None, "stride 0");
    let empty_batch = Geometry::new([0, 1, 1], [2, 2], [2, 2], [1, 1]);
    assert_eq!(empty_batch, None, "batch 0");
    let huge = Geometry::new([usize::MAX, 2, 2], [2, 2], [2, 2], [1, 1]);
    assert_eq!(huge, None, "batch usize::MAX");
}

/// Output, input gradient, weight gradient and bias gradient of one run (empty where the
/// parent is not tracked).
type Run = [Vec<f32>; 4];

fn to_vec<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_to_vec::<f32>().expect("f32 values")
}

/// Runs `layer` on `x` through the fused path or burn's `ConvTranspose2d::forward` and
/// backpropagates `Σ output · output_weights`.
fn run(layer: &ConvTranspose2d, x: &Tensor<4>, output_weights: &[f32], fused: bool) -> Run {
    let output = if fused {
        conv_transpose2d(layer, x.clone())
    } else {
        layer.forward(x.clone())
    };
    let weights = Tensor::<4>::from_data(
        TensorData::new(output_weights.to_vec(), output.dims()),
        &output.device(),
    );
    let grads = (output.clone() * weights).sum().backward();
    let bias_grad = layer
        .bias
        .as_ref()
        .and_then(|bias| bias.val().grad(&grads))
        .map(to_vec)
        .unwrap_or_default();
    [
        to_vec(output.inner()),
        x.grad(&grads).map(to_vec).unwrap_or_default(),
        layer
            .weight
            .val()
            .grad(&grads)
            .map(to_vec)
            .unwrap_or_default(),
        bias_grad,
    ]
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    to_vec(tensor.inner())
}

#[test]
fn autodiff_matches_burn_conv_transpose() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    for case in CASES {
        let geometry = geometry(&case);
        let layer = layer(&case, &mut rng, &device);
        let x_values = uniform(&mut rng, geometry.input_len());
        let output_weights = uniform(&mut rng, geometry.output_len());
        let [channels_in, _] = case.channels;
        let [height, width] = case.input;
        let x = Tensor::<4>::from_data(
            TensorData::new(x_values.clone(), [BATCH, channels_in, height, width]),
            &device,
        )
        .require_grad();
        let fused = run(&layer, &x, &output_weights, true);
        let burn = run(&layer, &x, &output_weights, false);

        let weight = values(layer.weight.val());
        let bias = values(layer.bias.as_ref().expect("bias").val());
        let magnitudes = kernel::reference((&x_values, &weight, &bias, &output_weights), &geometry);
        let names = [
            "output",
            "input gradient",
            "weight gradient",
            "bias gradient",
        ];
        for (index, name) in names.iter().enumerate() {
            let name = format!("{case:?} {name}");
            assert!(!fused[index].is_empty(), "{name}: missing");
            let burn_values: Vec<f64> = burn[index].iter().map(|&v| f64::from(v)).collect();
            // Both sums carry a rounding error within the bound, in different orders, so
            // they differ by at most twice the bound.
            assert_within_sum_bound(
                &fused[index],
                (&burn_values, &magnitudes[index][1]),
                terms(&case)[index],
                2.0,
                &format!("{name} against burn"),
            );
        }
    }
}

#[test]
fn untracked_parents_get_no_gradient() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let case = CASES[4];
    let geometry = geometry(&case);
    let layer = layer(&case, &mut rng, &device);
    let output_weights = uniform(&mut rng, geometry.output_len());
    let [channels_in, _] = case.channels;
    let [height, width] = case.input;
    let x = Tensor::<4>::from_data(
        TensorData::new(
            uniform(&mut rng, geometry.input_len()),
            [BATCH, channels_in, height, width],
        ),
        &device,
    );

    // A detached input, as the noise is: only the layer's gradients.
    let fused = run(&layer, &x, &output_weights, true);
    assert!(fused[1].is_empty(), "input gradient of a detached input");
    assert!(
        !fused[2].is_empty(),
        "weight gradient with a detached input"
    );
    assert!(!fused[3].is_empty(), "bias gradient with a detached input");

    // A frozen layer: only the input's gradient.
    let frozen = layer.no_grad();
    let x = x.require_grad();
    let fused = run(&frozen, &x, &output_weights, true);
    let burn = run(&frozen, &x, &output_weights, false);
    assert!(fused[2].is_empty(), "weight gradient of a frozen layer");
    assert!(fused[3].is_empty(), "bias gradient of a frozen layer");
    assert_eq!(fused[1].len(), burn[1].len(), "input gradient length");
}

#[test]
fn padded_layer_falls_back_to_burn() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let case = CASES[4];
    let mut layer = layer(&case, &mut rng, &device);
    layer.padding = [1, 1];
    let geometry = geometry(&case);
    let [channels_in, _] = case.channels;
    let [height, width] = case.input;
    let x = Tensor::<4>::from_data(
        TensorData::new(
            uniform(&mut rng, geometry.input_len()),
            [BATCH, channels_in, height, width],
        ),
        &device,
    );
    let fused = values(conv_transpose2d(&layer, x.clone()));
    let burn = values(layer.forward(x));
    let first_difference = fused
        .iter()
        .zip(&burn)
        .position(|(a, b)| a.to_bits() != b.to_bits());
    assert_eq!(fused.len(), burn.len(), "padded output length");
    assert_eq!(
        first_difference, None,
        "padded output: first differing element"
    );
}

#[test]
fn f64_layer_falls_back_to_burn() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let case = CASES[5];
    let layer = layer(&case, &mut rng, &device);
    let layer = ConvTranspose2d {
        weight: Param::from_tensor(layer.weight.val().cast(DType::F64).detach()),
        bias: layer
            .bias
            .clone()
            .map(|bias| Param::from_tensor(bias.val().cast(DType::F64).detach())),
        ..layer
    };
    let geometry = geometry(&case);
    let [channels_in, _] = case.channels;
    let [height, width] = case.input;
    let x = Tensor::<4>::from_data(
        TensorData::new(
            uniform(&mut rng, geometry.input_len()),
            [BATCH, channels_in, height, width],
        ),
        &device,
    )
    .cast(DType::F64);
    let fused = conv_transpose2d(&layer, x.clone());
    let burn = layer.forward(x);
    assert_eq!(fused.dtype(), DType::F64, "output dtype");
    let fused = fused.into_data().try_to_vec::<f64>().expect("f64 values");
    let burn = burn.into_data().try_to_vec::<f64>().expect("f64 values");
    assert_eq!(fused, burn, "f64 output");
}

#[test]
fn flex_op_falls_back_for_f64() {
    // A 1×1 input, one channel in and out, kernel 2, stride 1: the output is x · weight + bias.
    let x = FlexTensor::from_data(TensorData::new(vec![2.0f64], [1, 1, 1, 1]));
    let weight = FlexTensor::from_data(TensorData::new(vec![1.0f64, -1.0, 0.5, 3.0], [1, 1, 2, 2]));
    let bias = FlexTensor::from_data(TensorData::new(vec![0.25f64], [1]));
    let output = <burn::backend::Flex as ConvTransposeBackend>::conv_transpose2d_fused(
        x,
        weight,
        bias,
        [1, 1],
    );
    let values = output.into_data().try_to_vec::<f64>().expect("f64 values");
    assert_eq!(values, vec![2.25, -1.75, 1.25, 6.25], "f64 output");
}

#[test]
fn kernels_ignore_thread_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(26);
    let case = CASES[2];
    let geometry = geometry(&case);
    let x = uniform(&mut rng, geometry.input_len());
    let weight = uniform(&mut rng, geometry.weight_len());
    let bias = uniform(&mut rng, geometry.channels_out);
    let upstream = uniform(&mut rng, geometry.output_len());
    let plane = geometry.output[0] * geometry.output[1];
    let all = || {
        [
            kernel::forward(&x, &weight, &bias, &geometry).expect("matching lengths"),
            kernel::input_grad(&weight, &upstream, &geometry).expect("matching lengths"),
            kernel::weight_grad(&x, &upstream, &geometry).expect("matching lengths"),
            kernel::bias_grad(&upstream, geometry.channels_out, plane),
        ]
    };
    let pool = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool")
    };
    let one = pool(1).install(all);
    let three = pool(3).install(all);
    for (index, (one, three)) in one.iter().zip(&three).enumerate() {
        let same = one
            .iter()
            .zip(three)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "result {index} differs between 1 and 3 threads");
    }
}
