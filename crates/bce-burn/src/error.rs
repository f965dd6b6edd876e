//! Errors returned by the tensor-side binary cross-entropy functions.

use burn::tensor::DType;

/// Error of a binary cross-entropy call on burn tensors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BceBurnError {
    /// The values or options are invalid: a target or probability outside [0, 1], NaN, an
    /// option out of range, or the mean of zero elements. Both paths check the options and
    /// the empty mean; only the fused path reads the values.
    #[error(transparent)]
    Bce(#[from] bce::BceError),

    /// `targets`, `weights` or `pos_weight` does not have the shape the logits or probs require.
    #[error("{name} has shape {actual:?}, but the logits or probs require {expected:?}")]
    ShapeMismatch {
        /// The argument with the wrong shape.
        name: &'static str,
        /// The shape it must have.
        expected: Vec<usize>,
        /// The shape it has.
        actual: Vec<usize>,
    },

    /// A tensor has a dtype the fused kernels cannot read; they take F32 and F64 only.
    #[error("{name} has dtype {dtype:?}, but the fused kernels support only F32 and F64")]
    UnsupportedDType {
        /// The argument with the unsupported dtype.
        name: &'static str,
        /// Its dtype.
        dtype: DType,
    },

    /// The fused path was requested on an autodiff device whose backend has no fused operation.
    #[error(
        "the fused backward pass is not available on device {device}; \
         use the `composed` functions there"
    )]
    UnsupportedDevice {
        /// The device, as burn formats it.
        device: String,
    },

    /// Reading a tensor back to host memory failed.
    #[error("failed to read {name} from the device: {message}")]
    Read {
        /// The argument being read.
        name: &'static str,
        /// burn's error message.
        message: String,
    },
}
