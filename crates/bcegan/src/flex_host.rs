//! Host access to flex tensors for the fused training operations: their `f32` elements as
//! one slice, buffers that contain exactly a tensor's elements, and tensors built on a
//! vector's own buffer.

use std::borrow::Cow;

use burn::backend::TensorMetadata;
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Shape, TensorData};

/// Returns an `f32` tensor's elements in row-major order, borrowed when the tensor is laid
/// out that way and copied otherwise. Returns `None` for other dtypes.
pub(crate) fn values(tensor: &FlexTensor) -> Option<Cow<'_, [f32]>> {
    if tensor.dtype() != DType::F32 {
        return None;
    }
    match tensor.as_slice::<f32>() {
        Some(values) => Some(Cow::Borrowed(values)),
        None => Some(Cow::Owned(
            tensor.to_contiguous().as_slice::<f32>()?.to_vec(),
        )),
    }
}

/// Returns `tensor` with a row-major layout that starts at offset 0 and spans its whole
/// buffer, so that its storage contains exactly its elements in order. Copies only when
/// needed; writing to a buffer that another tensor shares still copies it first.
pub(crate) fn dense(tensor: FlexTensor) -> FlexTensor {
    let count = tensor.shape().num_elements();
    let is_dense = tensor.layout().contiguous_offsets() == Some((0, count))
        && tensor.bytes().len() == count * tensor.dtype().size();
    if is_dense {
        tensor
    } else {
        // `to_contiguous` returns a copy here, and dropping `tensor` leaves that copy as the
        // only owner of its buffer.
        tensor.to_contiguous()
    }
}

/// Builds an `f32` tensor on the buffer of `values`, so that burn makes no aligned copy
/// of it.
pub(crate) fn tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}
