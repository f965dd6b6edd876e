//! The fused path: the loss and its gradient come from one pass of the `bce` slice kernels on
//! the host, and the backward step reuses that gradient instead of differentiating tensor ops.
//!
//! It reads the tensors back to host memory, so it suits CPU backends. It runs on the flex
//! backend with or without autodiff, for F32 and F64 tensors.

use burn::tensor::{DType, Device, Element, Tensor, TensorData};

use crate::validate::check_arguments;
use crate::{BceBurnError, BceOptions, PosWeight};

/// Returns whether the fused path runs on `device`: true for flex devices, with or without
/// autodiff.
pub fn is_supported(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    {
        matches!(
            device.clone().inner().as_dispatch(),
            burn::backend::DispatchDevice::Flex(_)
        )
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}

/// Computes binary cross-entropy on logits with the fused `bce` kernel and registers its saved
/// gradient as the backward step.
///
/// The result has shape `[1]` for `Mean` and `Sum` and `[n]` (row-major flattened) for `None`.
/// Gradients flow to `logits` only.
///
/// # Errors
///
/// Rejects mismatched shapes, dtypes other than F32 and F64, devices where
/// [`is_supported`] is false, invalid options, and everything `bce` rejects (targets outside
/// [0, 1], NaN).
pub fn binary_cross_entropy_with_logits<const D: usize>(
    logits: Tensor<D>,
    targets: Tensor<D>,
    options: &BceOptions<D>,
) -> Result<Tensor<1>, BceBurnError> {
    run(Form::Logits, logits, targets, options)
}

/// Computes binary cross-entropy on probabilities with the fused `bce` kernel and registers
/// its saved gradient as the backward step.
///
/// The result has shape `[1]` for `Mean` and `Sum` and `[n]` (row-major flattened) for `None`.
/// Gradients flow to `probs` only.
///
/// # Errors
///
/// As [`binary_cross_entropy_with_logits`], and `bce` also rejects probs outside [0, 1].
pub fn binary_cross_entropy<const D: usize>(
    probs: Tensor<D>,
    targets: Tensor<D>,
    options: &BceOptions<D>,
) -> Result<Tensor<1>, BceBurnError> {
    run(Form::Probs, probs, targets, options)
}

/// Role of the first tensor argument.
#[derive(Debug, Clone, Copy)]
enum Form {
    Logits,
    Probs,
}

impl Form {
    fn name(self) -> &'static str {
        match self {
            Form::Logits => "logits",
            Form::Probs => "probs",
        }
    }
}

/// Element types of the fused path.
trait HostFloat: bce::Float + Element {}
impl HostFloat for f32 {}
impl HostFloat for f64 {}

fn run<const D: usize>(
    form: Form,
    values: Tensor<D>,
    targets: Tensor<D>,
    options: &BceOptions<D>,
) -> Result<Tensor<1>, BceBurnError> {
    let name = form.name();
    check_arguments(&values, &targets, options)?;

    let device = values.device();
    if !is_supported(&device) {
        return Err(BceBurnError::UnsupportedDevice {
            device: format!("{device:?}"),
        });
    }

    match values.dtype() {
        DType::F32 => run_typed::<f32, D>(form, values, targets, options),
        DType::F64 => run_typed::<f64, D>(form, values, targets, options),
        dtype => Err(BceBurnError::UnsupportedDType { name, dtype }),
    }
}

fn run_typed<T: HostFloat, const D: usize>(
    form: Form,
    values: Tensor<D>,
    targets: Tensor<D>,
    options: &BceOptions<D>,
) -> Result<Tensor<1>, BceBurnError> {
    let device = values.device();
    let dtype = values.dtype();
    let count = values.shape().num_elements();

    let values_host = read::<T, D>(form.name(), values.clone())?;
    let targets_host = read::<T, D>("targets", targets)?;
    let weights_host = match &options.weights {
        Some(weights) => Some(read::<T, D>("weights", weights.clone())?),
        None => None,
    };
    let pos_weight_host = match &options.pos_weight {
        Some(PosWeight::PerClass(pos_weight)) => {
            Some(read::<T, 1>("pos_weight", pos_weight.clone())?)
        }
        _ => None,
    };

    let host_options = bce::Options {
        reduction: options.reduction,
        weights: weights_host.as_deref(),
        pos_weight: match &options.pos_weight {
            Some(PosWeight::Scalar(pos_weight)) => {
                Some(bce::PosWeight::Scalar(T::from_f64(*pos_weight)))
            }
            Some(PosWeight::PerClass(_)) => {
                pos_weight_host.as_deref().map(bce::PosWeight::PerClass)
            }
            None => None,
        },
        label_smoothing: options.label_smoothing,
        clamp: options.clamp,
    };

    // An untracked input needs no gradient, so the cheaper loss-only kernel is enough.
    if !values.is_tracked() {
        let loss = match form {
            Form::Logits => {
                bce::binary_cross_entropy_with_logits(&values_host, &targets_host, &host_options)?
            }
            Form::Probs => bce::binary_cross_entropy(&values_host, &targets_host, &host_options)?,
        };
        return Ok(loss_tensor(loss, &device, dtype));
    }

    let bce::LossAndGrad { loss, grad } = match form {
        Form::Logits => {
            bce::binary_cross_entropy_with_logits_grad(&values_host, &targets_host, &host_options)?
        }
        Form::Probs => bce::binary_cross_entropy_grad(&values_host, &targets_host, &host_options)?,
    };

    let loss = loss_tensor(loss, &device, dtype);
    let grad = Tensor::<1>::from_data(TensorData::new(grad, [count]), (&device, dtype));
    let source = values.reshape([count]);
    attach_backward(source, loss, grad)
}

/// Returns `loss` as a graph node whose backward step sends `grad · upstream` to `source`.
#[cfg(feature = "flex")]
fn attach_backward(
    source: Tensor<1>,
    loss: Tensor<1>,
    grad: Tensor<1>,
) -> Result<Tensor<1>, BceBurnError> {
    use crate::fused_op::FusedBceBackend;
    use burn::backend::Dispatch;

    let output = <Dispatch as FusedBceBackend>::fused_bce(
        source.into_dispatch(),
        loss.into_dispatch(),
        grad.into_dispatch(),
    );
    Ok(Tensor::from_dispatch(output))
}

/// Without a backend that has the fused operation, no device reaches this point: [`run`]
/// rejects it first.
#[cfg(not(feature = "flex"))]
fn attach_backward(
    source: Tensor<1>,
    _loss: Tensor<1>,
    _grad: Tensor<1>,
) -> Result<Tensor<1>, BceBurnError> {
    Err(BceBurnError::UnsupportedDevice {
        device: format!("{:?}", source.device()),
    })
}

fn read<T: HostFloat, const D: usize>(
    name: &'static str,
    tensor: Tensor<D>,
) -> Result<Vec<T>, BceBurnError> {
    let dtype = tensor.dtype();
    if !matches!(dtype, DType::F32 | DType::F64) {
        return Err(BceBurnError::UnsupportedDType { name, dtype });
    }
    tensor
        .try_into_vec_as::<T>()
        .map_err(|error| BceBurnError::Read {
            name,
            message: error.to_string(),
        })
}

fn loss_tensor<T: HostFloat>(loss: bce::Loss<T>, device: &Device, dtype: DType) -> Tensor<1> {
    let values = match loss {
        bce::Loss::Reduced(value) => vec![value],
        bce::Loss::PerElement(values) => values,
    };
    let count = values.len();
    Tensor::from_data(TensorData::new(values, [count]), (device, dtype))
}
