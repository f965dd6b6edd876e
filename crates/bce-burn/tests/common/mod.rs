//! Helpers shared by the integration tests: devices, seeded data, host reads and the
//! tolerance table.
#![allow(dead_code)]

use burn::tensor::{DType, Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Tolerances, each with its reason.
pub mod tolerance {
    /// The fused backward multiplies the saved `bce` gradient by an upstream gradient of
    /// exactly 1, so the result must match `bce` to the last bit.
    pub const FUSED_VS_BCE: f64 = 0.0;
    /// Central difference with step 1e-6 in f64: truncation error O(h²·f''') plus rounding
    /// O(ε·|f|/h) ≈ 1e-10 for losses of order 1.
    pub const FINITE_DIFFERENCE_F64: f64 = 1e-7;
    /// Composed tensor ops against the fused kernel in f64: a different evaluation order of
    /// the same formulas, some ulps per element plus the summation order.
    pub const COMPOSED_VS_FUSED_F64: f64 = 1e-12;
    /// The same comparison in f32.
    pub const COMPOSED_VS_FUSED_F32: f64 = 1e-5;
    /// burn's `BinaryCrossEntropyLoss` uses `(1 − y)·x − log_sigmoid(x)`, another stable
    /// formula; in f32 the two agree to a few ulps of the loss.
    pub const BURN_NN_F32: f64 = 1e-5;
}

/// Returns the flex CPU device with autodiff.
pub fn autodiff_device() -> Device {
    Device::flex().autodiff()
}

/// Returns the flex CPU device without autodiff.
pub fn plain_device() -> Device {
    Device::flex()
}

/// Returns a seeded generator, so every run draws the same data.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `count` values drawn uniformly from `[low, high)`.
pub fn uniform(rng: &mut ChaCha8Rng, count: usize, low: f64, high: f64) -> Vec<f64> {
    (0..count).map(|_| rng.random_range(low..high)).collect()
}

/// Builds a tensor of `shape` from `values`, stored as `dtype` (F32 or F64).
pub fn tensor<const D: usize>(
    values: &[f64],
    shape: [usize; D],
    dtype: DType,
    device: &Device,
) -> Tensor<D> {
    let data = match dtype {
        DType::F32 => TensorData::new(values.iter().map(|&v| v as f32).collect::<Vec<_>>(), shape),
        _ => TensorData::new(values.to_vec(), shape),
    };
    Tensor::from_data(data, (device, dtype))
}

/// Reads `tensor` back to the host, widened to f64.
pub fn host<const D: usize>(tensor: Tensor<D>) -> Vec<f64> {
    match tensor.try_into_vec_as::<f64>() {
        Ok(values) => values,
        Err(error) => panic!("failed to read a tensor back to the host: {error}"),
    }
}

/// Reads `tensor` back to the host as f32.
pub fn host_f32<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    match tensor.try_into_vec_as::<f32>() {
        Ok(values) => values,
        Err(error) => panic!("failed to read a tensor back to the host: {error}"),
    }
}

/// Largest `|a − b| / max(1, |b|)` over the two slices; `inf` when the lengths differ or one
/// side is NaN where the other is not.
pub fn max_relative_error(actual: &[f64], expected: &[f64]) -> f64 {
    if actual.len() != expected.len() {
        return f64::INFINITY;
    }
    actual
        .iter()
        .zip(expected)
        .map(|(&a, &b)| {
            if a == b {
                0.0
            } else if a.is_nan() || b.is_nan() {
                f64::INFINITY
            } else {
                (a - b).abs() / b.abs().max(1.0)
            }
        })
        .fold(0.0, f64::max)
}

/// Flattens a `bce` loss into a vector: one value when reduced.
pub fn loss_values<T: Copy + Into<f64>>(loss: &bce::Loss<T>) -> Vec<f64> {
    match loss {
        bce::Loss::Reduced(value) => vec![(*value).into()],
        bce::Loss::PerElement(values) => values.iter().map(|&v| v.into()).collect(),
    }
}

/// Rows and classes of the `[rows, classes]` inputs of the option cases.
pub const ROWS: usize = 6;
/// See [`ROWS`].
pub const CLASSES: usize = 3;
/// Element count of the option cases.
pub const COUNT: usize = ROWS * CLASSES;

/// The positive weight of an option case, on the host.
#[derive(Debug, Clone)]
pub enum PosWeightCase {
    Scalar(f64),
    PerClass(Vec<f64>),
}

/// One combination of options, held on the host so it can build both `bce::Options` and
/// `bce_burn::BceOptions`.
#[derive(Debug, Clone)]
pub struct OptionCase {
    pub name: &'static str,
    pub reduction: bce::Reduction,
    pub weights: Option<Vec<f64>>,
    pub pos_weight: Option<PosWeightCase>,
    pub label_smoothing: f64,
    pub clamp: bce::ProbClamp,
}

impl OptionCase {
    fn plain(name: &'static str, reduction: bce::Reduction) -> Self {
        Self {
            name,
            reduction,
            weights: None,
            pos_weight: None,
            label_smoothing: 0.0,
            clamp: bce::ProbClamp::PYTORCH,
        }
    }

    /// Builds the tensor-side options, with tensors stored as `dtype` on `device`.
    pub fn tensor_options(&self, dtype: DType, device: &Device) -> bce_burn::BceOptions<2> {
        let mut options = bce_burn::BceOptions::new()
            .reduction(self.reduction)
            .label_smoothing(self.label_smoothing)
            .clamp(self.clamp);
        if let Some(weights) = &self.weights {
            options = options.weights(tensor(weights, [ROWS, CLASSES], dtype, device));
        }
        match &self.pos_weight {
            Some(PosWeightCase::Scalar(value)) => {
                options = options.pos_weight(bce_burn::PosWeight::Scalar(*value));
            }
            Some(PosWeightCase::PerClass(values)) => {
                let values = tensor(values, [CLASSES], dtype, device);
                options = options.pos_weight(bce_burn::PosWeight::PerClass(values));
            }
            None => {}
        }
        options
    }

    /// Runs `body` with the slice-side options in element type `T`.
    pub fn with_bce_options<T: bce::Float, R>(
        &self,
        body: impl FnOnce(&bce::Options<'_, T>) -> R,
    ) -> R {
        let weights: Option<Vec<T>> = self
            .weights
            .as_ref()
            .map(|values| values.iter().map(|&v| T::from_f64(v)).collect());
        let per_class: Option<Vec<T>> = match &self.pos_weight {
            Some(PosWeightCase::PerClass(values)) => {
                Some(values.iter().map(|&v| T::from_f64(v)).collect())
            }
            _ => None,
        };
        let options = bce::Options {
            reduction: self.reduction,
            weights: weights.as_deref(),
            pos_weight: match &self.pos_weight {
                Some(PosWeightCase::Scalar(value)) => {
                    Some(bce::PosWeight::Scalar(T::from_f64(*value)))
                }
                Some(PosWeightCase::PerClass(_)) => {
                    per_class.as_deref().map(bce::PosWeight::PerClass)
                }
                None => None,
            },
            label_smoothing: self.label_smoothing,
            clamp: self.clamp,
        };
        body(&options)
    }
}

/// Lists every reduction, and each option alone and all together.
pub fn option_cases() -> Vec<OptionCase> {
    let mut rng = rng(7);
    let weights = uniform(&mut rng, COUNT, 0.1, 2.0);
    let per_class = uniform(&mut rng, CLASSES, 0.5, 3.0);

    let mut cases = vec![
        OptionCase::plain("mean", bce::Reduction::Mean),
        OptionCase::plain("sum", bce::Reduction::Sum),
        OptionCase::plain("none", bce::Reduction::None),
    ];
    for reduction in [bce::Reduction::Mean, bce::Reduction::None] {
        cases.push(OptionCase {
            weights: Some(weights.clone()),
            ..OptionCase::plain("weights", reduction)
        });
    }
    cases.push(OptionCase {
        pos_weight: Some(PosWeightCase::Scalar(2.5)),
        ..OptionCase::plain("pos_weight scalar", bce::Reduction::Mean)
    });
    cases.push(OptionCase {
        pos_weight: Some(PosWeightCase::PerClass(per_class.clone())),
        ..OptionCase::plain("pos_weight per class", bce::Reduction::None)
    });
    cases.push(OptionCase {
        label_smoothing: 0.1,
        ..OptionCase::plain("label smoothing", bce::Reduction::Sum)
    });
    cases.push(OptionCase {
        clamp: bce::ProbClamp::KERAS,
        ..OptionCase::plain("keras clamp", bce::Reduction::Mean)
    });
    cases.push(OptionCase {
        weights: Some(weights),
        pos_weight: Some(PosWeightCase::PerClass(per_class)),
        label_smoothing: 0.2,
        clamp: bce::ProbClamp::KERAS,
        ..OptionCase::plain("all options", bce::Reduction::Mean)
    });
    cases
}

/// Seeded logits in [−6, 6), probs in [0.02, 0.98) and soft targets with some exact 0 and 1,
/// each `COUNT` long.
pub fn case_inputs(seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = rng(seed);
    let logits = uniform(&mut rng, COUNT, -6.0, 6.0);
    let probs = uniform(&mut rng, COUNT, 0.02, 0.98);
    let targets = (0..COUNT)
        .map(|i| match i % 3 {
            0 => 0.0,
            1 => 1.0,
            _ => rng.random_range(0.0..1.0),
        })
        .collect();
    (logits, probs, targets)
}
