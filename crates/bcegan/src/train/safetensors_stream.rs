//! Writes a SafeTensors file tensor by tensor, without assembling it in memory.
//!
//! `safetensors::serialize` returns the whole file as one buffer, which doubles the memory a
//! checkpoint needs while it is written. `serialize_to_file` streams, but through a randomly
//! named temporary file of its own that a killed process would leave in the run folder. This
//! writer produces the same layout (header length, JSON header padded with spaces to a
//! multiple of 8 bytes, then the tensor data) into any `Write`.

use std::collections::HashMap;
use std::io::Write;

use safetensors::tensor::Dtype;
use serde_json::{Map, Value, json};

/// One tensor to write: its name, element type, shape and little-endian bytes.
pub struct StreamTensor<'a> {
    /// Name in the header.
    pub name: &'a str,
    /// Element type.
    pub dtype: Dtype,
    /// Shape; the product times the element size must equal `bytes.len()`.
    pub shape: &'a [usize],
    /// Little-endian element bytes.
    pub bytes: &'a [u8],
}

/// Writes `tensors` (in the given order, which should put types of larger alignment first)
/// and `metadata` as a SafeTensors file to `out`.
///
/// # Errors
///
/// Returns the writer's error, or `InvalidInput` when a tensor's byte count does not match
/// its shape.
pub fn write_safetensors(
    out: &mut dyn Write,
    tensors: &[StreamTensor<'_>],
    metadata: &HashMap<String, String>,
) -> std::io::Result<()> {
    let header = header_bytes(tensors, metadata)?;
    out.write_all(&(header.len() as u64).to_le_bytes())?;
    out.write_all(&header)?;
    for tensor in tensors {
        out.write_all(tensor.bytes)?;
    }
    Ok(())
}

fn header_bytes(
    tensors: &[StreamTensor<'_>],
    metadata: &HashMap<String, String>,
) -> std::io::Result<Vec<u8>> {
    let mut header = Map::new();
    header.insert("__metadata__".to_owned(), json!(metadata));
    let mut offset = 0usize;
    for tensor in tensors {
        let elements: usize = tensor.shape.iter().product();
        if elements * tensor.dtype.bitsize() / 8 != tensor.bytes.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "tensor {} has {} bytes, but its shape {:?} needs {}",
                    tensor.name,
                    tensor.bytes.len(),
                    tensor.shape,
                    elements * tensor.dtype.bitsize() / 8
                ),
            ));
        }
        let end = offset + tensor.bytes.len();
        header.insert(
            tensor.name.to_owned(),
            json!({
                "dtype": tensor.dtype,
                "shape": tensor.shape,
                "data_offsets": [offset, end],
            }),
        );
        offset = end;
    }
    let mut bytes = serde_json::to_vec(&Value::Object(header))?;
    bytes.resize(bytes.len().next_multiple_of(8), b' ');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use safetensors::SafeTensors;
    use safetensors::tensor::{Dtype, TensorView};

    use super::{StreamTensor, write_safetensors};

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect()
    }

    #[test]
    fn stream_reads_back() {
        let weights = f32_bytes(&[1.0, -2.5, 3.25, 0.0, 7.0, -0.125]);
        let state = vec![9u8, 8, 7];
        let metadata = HashMap::from([("format".to_owned(), "test".to_owned())]);
        let tensors = [
            StreamTensor {
                name: "w",
                dtype: Dtype::F32,
                shape: &[2, 3],
                bytes: &weights,
            },
            StreamTensor {
                name: "state",
                dtype: Dtype::U8,
                shape: &[3],
                bytes: &state,
            },
        ];
        let mut file = Vec::new();
        write_safetensors(&mut file, &tensors, &metadata).expect("writing to a Vec succeeds");

        let (_, header) = SafeTensors::read_metadata(&file).expect("valid header");
        assert_eq!(header.metadata(), &Some(metadata));
        let read = SafeTensors::deserialize(&file).expect("valid file");
        let w = read.tensor("w").expect("w is present");
        assert_eq!(
            (w.dtype(), w.shape(), w.data()),
            (Dtype::F32, &[2usize, 3][..], &weights[..])
        );
        let s = read.tensor("state").expect("state is present");
        assert_eq!(s.data(), &state[..]);
    }

    #[test]
    fn stream_matches_serialize() {
        let weights = f32_bytes(&[0.5; 4]);
        let state = vec![1u8; 5];
        let metadata = HashMap::from([("k".to_owned(), "v".to_owned())]);
        let mut streamed = Vec::new();
        let tensors = [
            StreamTensor {
                name: "a",
                dtype: Dtype::F32,
                shape: &[4],
                bytes: &weights,
            },
            StreamTensor {
                name: "b",
                dtype: Dtype::U8,
                shape: &[5],
                bytes: &state,
            },
        ];
        write_safetensors(&mut streamed, &tensors, &metadata).expect("writing to a Vec succeeds");
        let views = [
            (
                "a",
                TensorView::new(Dtype::F32, vec![4], &weights).expect("valid view"),
            ),
            (
                "b",
                TensorView::new(Dtype::U8, vec![5], &state).expect("valid view"),
            ),
        ];
        let reference = safetensors::serialize(views, Some(metadata)).expect("serializes");
        let data_start = |file: &[u8]| {
            8 + usize::try_from(u64::from_le_bytes(file[..8].try_into().expect("8 bytes")))
                .expect("small header")
        };
        assert_eq!(
            streamed[data_start(&streamed)..],
            reference[data_start(&reference)..]
        );
    }

    #[test]
    fn stream_rejects_short_bytes() {
        let bytes = vec![0u8; 7];
        let tensors = [StreamTensor {
            name: "w",
            dtype: Dtype::F32,
            shape: &[2],
            bytes: &bytes,
        }];
        let error = write_safetensors(&mut Vec::new(), &tensors, &HashMap::new())
            .expect_err("7 bytes cannot hold two f32");
        assert!(
            error.to_string().contains("tensor w has 7 bytes"),
            "{error}"
        );
    }
}
