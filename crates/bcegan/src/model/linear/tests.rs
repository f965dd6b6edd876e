//! Tests of the fused Linear operation: the kernels against an `f64` triple-loop twin, and
//! the autodiff operation against burn's own `Linear` on the flex device.

use burn::backend::flex::FlexTensor;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{DType, Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::kernel::{self, MatrixView};
use super::linear;
use super::op::LinearBackend;
use crate::model::init::seeded_linear;

/// Shapes `(rows, d_input, d_output)`. The first two reach burn-flex's parallel threshold of
/// 192³ multiply-adds in the forward product and the others stay below it. `d_output` 1 is
/// the discriminator's output layer.
const SHAPES: [(usize, usize, usize); 5] = [
    (128, 1024, 784),
    (128, 784, 512),
    (128, 64, 128),
    (128, 128, 1),
    (5, 3, 1),
];

pub(super) fn uniform(rng: &mut ChaCha8Rng, count: usize) -> Vec<f32> {
    (0..count).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// `f64` twin of the product: returns `lhs · rhs` (`m × k` by `k × n`, row-major) and, per
/// element, `Σ |lhs(i, l)| · |rhs(l, j)|`, which bounds the rounding error of the `f32` sum.
pub(super) fn reference_product(
    lhs: &[f32],
    rhs: &[f32],
    (m, k, n): (usize, usize, usize),
) -> [Vec<f64>; 2] {
    let mut product = vec![0.0; m * n];
    let mut magnitude = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            for l in 0..k {
                let term = f64::from(lhs[i * k + l]) * f64::from(rhs[l * n + j]);
                product[i * n + j] += term;
                magnitude[i * n + j] += term.abs();
            }
        }
    }
    [product, magnitude]
}

/// Transposes a row-major `rows × cols` matrix.
pub(super) fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols)
        .map(|index| values[(index % rows) * cols + index / rows])
        .collect()
}

/// Asserts `|actual − expected| ≤ terms · ε_f32 · magnitude` element by element: the standard
/// bound on the rounding error of an `f32` sum of `terms` products.
pub(super) fn assert_within_sum_bound(
    actual: &[f32],
    [expected, magnitude]: &[Vec<f64>; 2],
    terms: usize,
    name: &str,
) {
    assert_eq!(actual.len(), expected.len(), "{name}: lengths");
    let unit = terms as f64 * f64::from(f32::EPSILON);
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
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (rows, d_input, d_output) in SHAPES {
        let input = uniform(&mut rng, rows * d_input);
        let weight = uniform(&mut rng, d_input * d_output);
        let bias = uniform(&mut rng, d_output);
        let upstream = uniform(&mut rng, rows * d_output);
        let name = |what: &str| format!("{rows}x{d_input}->{d_output} {what}");

        let mut output = kernel::matmul(
            MatrixView::row_major(&input, rows, d_input),
            MatrixView::row_major(&weight, d_input, d_output),
        )
        .expect("matching shapes");
        kernel::add_bias(&mut output, &bias);
        let [mut expected, magnitude] =
            reference_product(&input, &weight, (rows, d_input, d_output));
        for (index, value) in expected.iter_mut().enumerate() {
            *value += f64::from(bias[index % d_output]);
        }
        // One more term: the bias add rounds once more.
        let expected_output = [expected, magnitude];
        assert_within_sum_bound(&output, &expected_output, d_input + 1, &name("output"));

        let input_grad = kernel::matmul(
            MatrixView::row_major(&upstream, rows, d_output),
            MatrixView::row_major(&weight, d_input, d_output).transposed(),
        )
        .expect("matching shapes");
        let weight_t = transpose(&weight, d_input, d_output);
        let expected = reference_product(&upstream, &weight_t, (rows, d_output, d_input));
        assert_within_sum_bound(&input_grad, &expected, d_output, &name("input gradient"));

        let weight_grad = kernel::matmul(
            MatrixView::row_major(&input, rows, d_input).transposed(),
            MatrixView::row_major(&upstream, rows, d_output),
        )
        .expect("matching shapes");
        let input_t = transpose(&input, rows, d_input);
        let expected = reference_product(&input_t, &upstream, (d_input, rows, d_output));
        assert_within_sum_bound(&weight_grad, &expected, rows, &name("weight gradient"));

        // The column sums run in f64 and round once to f32: within half an f32 ulp, taken
        // here as ε_f32 relative to the sum of magnitudes.
        let ones = vec![1.0; rows];
        let expected = reference_product(&ones, &upstream, (1, rows, d_output));
        let sums = kernel::column_sums(&upstream, d_output);
        assert_within_sum_bound(&sums, &expected, 1, &name("bias gradient"));
    }
}

#[test]
fn matmul_rejects_mismatched_views() {
    let values = [1.0f32; 6];
    let lhs = MatrixView::row_major(&values, 2, 3);
    assert!(
        kernel::matmul(lhs, lhs).is_none(),
        "2x3 · 2x3 has mismatched inner dimensions"
    );
    let too_long = MatrixView::row_major(&values, 3, 3);
    assert!(
        kernel::matmul(lhs, too_long).is_none(),
        "a 3x3 view of 6 values does not fit"
    );
    let empty = kernel::matmul(lhs, MatrixView::row_major(&[], 3, 0));
    assert_eq!(empty, Some(Vec::new()), "2x3 · 3x0");
}

#[test]
fn matmul_without_inner_dimension_is_zero() {
    // The output buffer starts uninitialized, so gemm must store every element even when
    // there is nothing to sum.
    let product = kernel::matmul(
        MatrixView::row_major(&[], 4, 0),
        MatrixView::row_major(&[], 0, 5),
    );
    assert_eq!(product, Some(vec![0.0; 20]), "4x0 · 0x5");
}

/// Values and gradients of one run: output, input, weight and bias gradients (empty where
/// the parent is not tracked).
pub(super) type Run = [Vec<f32>; 4];

#[test]
fn transpose_matches_naive_twin() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (rows, cols) in [
        (0, 5),
        (1, 1),
        (1, 17),
        (17, 1),
        (16, 16),
        (33, 47),
        (784, 512),
    ] {
        let values = uniform(&mut rng, rows * cols);
        let tiled = kernel::transpose(&values, rows, cols);
        assert_eq!(tiled, transpose(&values, rows, cols), "{rows}x{cols}");
    }
}

fn to_vec<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_to_vec::<f32>().expect("f32 values")
}

/// Runs `layer` on `input` through the fused path or burn's `Linear::forward` and
/// backpropagates `Σ output · output_weights`.
pub(super) fn run(layer: &Linear, input: &Tensor<2>, output_weights: &[f32], fused: bool) -> Run {
    let output = if fused {
        linear(layer, input.clone())
    } else {
        layer.forward(input.clone())
    };
    let weights = Tensor::<2>::from_data(
        TensorData::new(output_weights.to_vec(), output.dims()),
        &output.device(),
    );
    let grads = (output.clone() * weights).sum().backward();
    let grad = |tensor: Tensor<2>| tensor.grad(&grads).map(to_vec).unwrap_or_default();
    let bias_grad = layer
        .bias
        .as_ref()
        .and_then(|bias| bias.val().grad(&grads))
        .map(to_vec)
        .unwrap_or_default();
    [
        to_vec(output.inner()),
        grad(input.clone()),
        grad(layer.weight.val()),
        bias_grad,
    ]
}

/// Checks the fused run against burn's: output and input and weight gradients bit for bit,
/// the bias gradient within the rounding of burn's `f32` column sums.
fn assert_matches_burn(fused: &Run, burn: &Run, rows: usize, name: &str) {
    for (index, what) in ["output", "input gradient", "weight gradient"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            fused[index].len(),
            burn[index].len(),
            "{name} {what}: lengths"
        );
        let first_difference = fused[index]
            .iter()
            .zip(&burn[index])
            .position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(
            first_difference, None,
            "{name} {what}: first differing element"
        );
    }
    // burn adds the rows in f32: an error up to about rows · ε_f32 · Σ|upstream|, and the
    // upstream gradient is the output weights, in [−1, 1], so Σ|upstream| ≤ rows.
    let (fused_bias, burn_bias) = (&fused[3], &burn[3]);
    assert_eq!(
        fused_bias.len(),
        burn_bias.len(),
        "{name} bias gradient: lengths"
    );
    for (index, (&a, &b)) in fused_bias.iter().zip(burn_bias).enumerate() {
        let bound = rows as f32 * f32::EPSILON * rows as f32;
        assert!(
            (a - b).abs() <= bound,
            "{name} bias gradient[{index}]: {a} against burn's {b} (bound {bound:e})"
        );
    }
}

#[test]
fn autodiff_matches_burn_linear() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (rows, d_input, d_output) in SHAPES {
        let layer = seeded_linear(d_input, d_output, &mut rng, &device);
        let values = uniform(&mut rng, rows * d_input);
        let output_weights = uniform(&mut rng, rows * d_output);
        let input = Tensor::<2>::from_data(TensorData::new(values, [rows, d_input]), &device)
            .require_grad();
        let fused = run(&layer, &input, &output_weights, true);
        let burn = run(&layer, &input, &output_weights, false);
        let name = format!("{rows}x{d_input}->{d_output}");
        assert_matches_burn(&fused, &burn, rows, &name);
        for (index, what) in ["input", "weight", "bias"].iter().enumerate() {
            assert!(!fused[index + 1].is_empty(), "{name}: no {what} gradient");
        }
    }
}

#[test]
fn untracked_parents_get_no_gradient() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let (rows, d_input, d_output) = (16, 8, 4);
    let layer = seeded_linear(d_input, d_output, &mut rng, &device);
    let values = uniform(&mut rng, rows * d_input);
    let output_weights = uniform(&mut rng, rows * d_output);

    // A detached input, as the discriminator's input usually is: only the layer's gradients.
    let input = Tensor::<2>::from_data(TensorData::new(values.clone(), [rows, d_input]), &device);
    let fused = run(&layer, &input, &output_weights, true);
    let burn = run(&layer, &input, &output_weights, false);
    assert!(fused[1].is_empty(), "input gradient of a detached input");
    assert_matches_burn(&fused, &burn, rows, "detached input");

    // A frozen layer, as the discriminator is in the generator's update: only the input's.
    let frozen = layer.no_grad();
    let input = input.require_grad();
    let fused = run(&frozen, &input, &output_weights, true);
    let burn = run(&frozen, &input, &output_weights, false);
    assert!(fused[2].is_empty(), "weight gradient of a frozen layer");
    assert!(fused[3].is_empty(), "bias gradient of a frozen layer");
    assert_matches_burn(&fused, &burn, rows, "frozen layer");
}

#[test]
fn transposed_input_matches_burn_linear() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let (rows, d_input, d_output) = (128, 64, 128);
    let layer = seeded_linear(d_input, d_output, &mut rng, &device);
    let values = uniform(&mut rng, rows * d_input);
    let output_weights = uniform(&mut rng, rows * d_output);
    // A `[rows, d_input]` view of a `[d_input, rows]` tensor, not contiguous, made a leaf
    // by `detach` so that both runs can take its gradient.
    let input = Tensor::<2>::from_data(TensorData::new(values, [d_input, rows]), &device)
        .transpose()
        .detach()
        .require_grad();
    let fused = run(&layer, &input, &output_weights, true);
    let burn = run(&layer, &input, &output_weights, false);
    assert_matches_burn(&fused, &burn, rows, "transposed input");
}

#[test]
fn f64_layer_falls_back_to_burn() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let (rows, d_input, d_output) = (6, 5, 3);
    let layer = seeded_linear(d_input, d_output, &mut rng, &device);
    let layer = Linear {
        weight: Param::from_tensor(layer.weight.val().cast(DType::F64).detach()),
        bias: layer
            .bias
            .map(|bias| Param::from_tensor(bias.val().cast(DType::F64).detach())),
    };
    let values = uniform(&mut rng, rows * d_input);
    let input =
        Tensor::<2>::from_data(TensorData::new(values, [rows, d_input]), &device).cast(DType::F64);
    let fused = linear(&layer, input.clone());
    let burn = layer.forward(input);
    assert_eq!(fused.dtype(), DType::F64, "output dtype");
    let fused = fused.into_data().try_to_vec::<f64>().expect("f64 values");
    let burn = burn.into_data().try_to_vec::<f64>().expect("f64 values");
    assert_eq!(fused, burn, "f64 output");
}

#[test]
fn flex_op_falls_back_for_f64() {
    let input = FlexTensor::from_data(TensorData::new(vec![1.0f64, 2.0, 3.0, 4.0], [2, 2]));
    let weight = FlexTensor::from_data(TensorData::new(vec![1.0f64, 0.5, -1.0, 2.0], [2, 2]));
    let bias = FlexTensor::from_data(TensorData::new(vec![0.25f64, -0.25], [2]));
    let output = <burn::backend::Flex as LinearBackend>::linear_fused(input, weight, bias);
    let values = output.into_data().try_to_vec::<f64>().expect("f64 values");
    // [1 2; 3 4] · [1 0.5; −1 2] + [0.25 −0.25]
    assert_eq!(values, vec![-0.75, 4.25, -0.75, 9.25], "f64 output");
}

#[test]
fn input_grad_copy_matches_view_product() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for rows in [16, 64, 128, 256] {
        for d_input in [64, 100, 512, 784, 1024] {
            for d_output in [1, 3, 64, 128, 784] {
                let weight = uniform(&mut rng, d_input * d_output);
                let upstream = uniform(&mut rng, rows * d_output);
                let upstream_view = MatrixView::row_major(&upstream, rows, d_output);
                let weight_view = MatrixView::row_major(&weight, d_input, d_output);
                let copied = kernel::input_grad(upstream_view, weight_view);
                let viewed = kernel::matmul(upstream_view, weight_view.transposed());
                let name = format!("{rows}x{d_output} by ({d_input}x{d_output})ᵀ");
                let (Some(copied), Some(viewed)) = (copied, viewed) else {
                    panic!("{name}: a product was rejected");
                };
                let first_difference = copied
                    .iter()
                    .zip(&viewed)
                    .position(|(a, b)| a.to_bits() != b.to_bits());
                assert_eq!(first_difference, None, "{name}: first differing element");
            }
        }
    }
}
