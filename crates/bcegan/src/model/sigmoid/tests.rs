//! Tests of the fused sigmoid: bit for bit against burn's own sigmoid, and against an `f64`
//! twin of the formula.

use burn::tensor::activation::sigmoid as burn_sigmoid;
use burn::tensor::{DType, Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::sigmoid;

/// Values across the sigmoid's range and its edge cases.
fn values(rng: &mut ChaCha8Rng, count: usize) -> Vec<f32> {
    let edges = [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        88.8,
        -88.8,
        -104.0,
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
    ];
    (0..count)
        .map(|index| match edges.get(index % 40) {
            Some(&edge) => edge,
            None => rng.random_range(-30.0..30.0),
        })
        .collect()
}

fn bits(tensor: Tensor<2>) -> Vec<u32> {
    let values = tensor.into_data().try_to_vec::<f32>().expect("f32 values");
    values.iter().map(|value| value.to_bits()).collect()
}

/// Runs `activation` on `input` and returns the output and the gradient of
/// `sum(output · weights)` with respect to `input`, both as bits.
fn output_and_grad(
    activation: fn(Tensor<2>) -> Tensor<2>,
    input: &[f32],
    weights: &[f32],
    shape: [usize; 2],
) -> (Vec<u32>, Vec<u32>) {
    let device = Device::flex().autodiff();
    let input =
        Tensor::<2>::from_data(TensorData::new(input.to_vec(), shape), &device).require_grad();
    let weights = Tensor::<2>::from_data(TensorData::new(weights.to_vec(), shape), &device);
    let output = activation(input.clone());
    let grads = (output.clone() * weights).sum().backward();
    let grad = input.grad(&grads).expect("a gradient of the input");
    (bits(output.inner()), bits(grad))
}

#[test]
fn matches_burn_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    // Above and below the kernels' parallel chunk.
    for shape in [[128, 784], [3, 7]] {
        let count = shape[0] * shape[1];
        let input = values(&mut rng, count);
        let weights: Vec<f32> = (0..count).map(|_| rng.random_range(-2.0..2.0)).collect();
        let (fused_output, fused_grad) = output_and_grad(sigmoid, &input, &weights, shape);
        let (burn_output, burn_grad) = output_and_grad(burn_sigmoid, &input, &weights, shape);
        assert_eq!(fused_output, burn_output, "{shape:?}: outputs");
        assert_eq!(fused_grad, burn_grad, "{shape:?}: gradients");
    }
}

#[test]
fn follows_the_f64_formula() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let input = values(&mut rng, 5_000);
    let tensor = Tensor::<2>::from_data(TensorData::new(input.clone(), [50, 100]), &Device::flex());
    let output = sigmoid(tensor)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
    for (&x, &y) in input.iter().zip(&output) {
        let want = 1.0 / (1.0 + (-f64::from(x)).exp());
        if x.is_nan() {
            assert!(y.is_nan(), "σ(NaN) = {y}");
            continue;
        }
        // A few f32 roundings of a value in [0, 1], relative to the value.
        let error = (f64::from(y) - want).abs();
        assert!(
            error <= 4.0 * f64::from(f32::EPSILON) * want + 1e-45,
            "σ({x}) = {y}, want {want}"
        );
    }
}

#[test]
fn leaves_a_shared_input_unchanged() {
    let device = Device::flex();
    let input = Tensor::<2>::from_data(
        TensorData::new(vec![0.5f32, -1.0, 2.0, 0.0], [2, 2]),
        &device,
    );
    let before = bits(input.clone());
    let output = sigmoid(input.clone());
    assert_eq!(bits(input), before, "input");
    assert_eq!(
        bits(output),
        bits(burn_sigmoid(Tensor::from_data(
            TensorData::new(vec![0.5f32, -1.0, 2.0, 0.0], [2, 2]),
            &device
        )))
    );
}

#[test]
fn transposed_and_f64_inputs_match_burn() {
    let device = Device::flex();
    let data = vec![0.25f32, -3.0, 7.5, 0.0, -0.5, 40.0];
    let transposed =
        Tensor::<2>::from_data(TensorData::new(data.clone(), [2, 3]), &device).transpose();
    assert_eq!(
        bits(sigmoid(transposed.clone())),
        bits(burn_sigmoid(transposed)),
        "transposed"
    );
    let wide = Tensor::<2>::from_data(TensorData::new(data, [2, 3]), (&device, DType::F64));
    let fused = sigmoid(wide.clone())
        .into_data()
        .try_to_vec::<f64>()
        .expect("f64");
    let burn = burn_sigmoid(wide)
        .into_data()
        .try_to_vec::<f64>()
        .expect("f64");
    assert_eq!(fused, burn, "f64");
}

#[test]
fn input_feeding_two_operations_matches_burn() {
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let shape = [16, 33];
    let count = shape[0] * shape[1];
    let input = values(&mut rng, count);
    let weights: Vec<f32> = (0..count).map(|_| rng.random_range(-2.0..2.0)).collect();
    fn fused_twice(x: Tensor<2>) -> Tensor<2> {
        sigmoid(x.clone()) * 3.0 + sigmoid(x.clone() * 0.5) + x.exp()
    }
    fn burn_twice(x: Tensor<2>) -> Tensor<2> {
        burn_sigmoid(x.clone()) * 3.0 + burn_sigmoid(x.clone() * 0.5) + x.exp()
    }
    let (fused_output, fused_grad) = output_and_grad(fused_twice, &input, &weights, shape);
    let (burn_output, burn_grad) = output_and_grad(burn_twice, &input, &weights, shape);
    assert_eq!(fused_output, burn_output, "outputs");
    assert_eq!(fused_grad, burn_grad, "gradients");
}

#[test]
fn sliced_and_flipped_inputs_match_burn() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let input = values(&mut rng, 40 * 50);
    let weights = vec![1.0f32; 40 * 50];
    type Activation = fn(Tensor<2>) -> Tensor<2>;
    // Each case: a name, the fused path and burn's path through the same view.
    let views: [(&str, Activation, Activation); 2] = [
        (
            "sliced",
            |x| sigmoid(x.slice([3..30, 5..45])).pad((5, 5, 3, 10), 0.0),
            |x| burn_sigmoid(x.slice([3..30, 5..45])).pad((5, 5, 3, 10), 0.0),
        ),
        (
            "flipped",
            |x| sigmoid(x.flip([1])).flip([1]),
            |x| burn_sigmoid(x.flip([1])).flip([1]),
        ),
    ];
    for (name, fused, burn) in views {
        let (fused_output, fused_grad) = output_and_grad(fused, &input, &weights, [40, 50]);
        let (burn_output, burn_grad) = output_and_grad(burn, &input, &weights, [40, 50]);
        assert_eq!(fused_output, burn_output, "{name}: outputs");
        assert_eq!(fused_grad, burn_grad, "{name}: gradients");
    }
}

#[test]
fn empty_tensor_has_empty_output_and_grad() {
    let (output, grad) = output_and_grad(sigmoid, &[], &[], [0, 5]);
    assert!(output.is_empty(), "output {output:?}");
    assert!(grad.is_empty(), "gradient {grad:?}");
}
