//! Float32 `.npy` arrays with their shape, for exchanging noise and images with NumPy.
//!
//! The writer produces format version 1.0, `<f4`, C order. The reader takes versions 1.0,
//! 2.0 and 3.0 with `<f4` or `<f8` data in C order and converts to `f32`; the image reader
//! also takes `|u1` (uint8) data and divides it by 255.

use std::path::Path;

use super::error::InteropError;
use super::write_atomically;

/// First bytes of every `.npy` file.
const MAGIC: &[u8] = b"\x93NUMPY";

/// Bytes before the header text in format 1.0: magic, two version bytes, a u16 length.
const PREAMBLE_V1: usize = MAGIC.len() + 2 + 2;

/// NumPy pads the header so that the data starts at a multiple of this many bytes.
const HEADER_ALIGNMENT: usize = 64;

/// Encodes `values` as a `.npy` file (format 1.0, little-endian float32, C order) of `shape`.
///
/// # Errors
///
/// Returns the message of an invalid request: `values.len()` is not the product of `shape`,
/// or the header does not fit format 1.0's 16-bit length.
pub fn encode_npy_f32(shape: &[usize], values: &[f32]) -> Result<Vec<u8>, String> {
    let count: usize = shape.iter().product();
    if count != values.len() {
        return Err(format!(
            "shape {shape:?} needs {count} values, got {}",
            values.len()
        ));
    }
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    // A 1-tuple needs its trailing comma in Python.
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad with spaces and end with a newline so the data section starts aligned.
    let unpadded = PREAMBLE_V1 + header.len() + 1;
    let padding = unpadded.next_multiple_of(HEADER_ALIGNMENT) - unpadded;
    header.push_str(&" ".repeat(padding));
    header.push('\n');
    let header_len = u16::try_from(header.len())
        .map_err(|_| format!("header of shape {shape:?} is longer than 65535 bytes"))?;

    let mut bytes = Vec::with_capacity(PREAMBLE_V1 + header.len() + 4 * values.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&header_len.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for value in values {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    Ok(bytes)
}

/// Writes `values` as a float32 `.npy` file of `shape`, replacing `path` atomically.
///
/// # Errors
///
/// Returns [`InteropError::InvalidSetting`] when `values` does not fill `shape`, and
/// [`InteropError::Write`] when the file cannot be written.
pub fn write_npy_f32(path: &Path, shape: &[usize], values: &[f32]) -> Result<(), InteropError> {
    let bytes = encode_npy_f32(shape, values).map_err(|message| InteropError::InvalidSetting {
        name: "shape",
        value: format!("{shape:?}"),
        expected: message,
    })?;
    write_atomically(path, &bytes)
}

/// Decodes a `.npy` file with `<f4` or `<f8` data in C order into its shape and values.
///
/// # Errors
///
/// Returns a message naming what is malformed or unsupported.
pub fn decode_npy_f32(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), String> {
    if !bytes.starts_with(MAGIC) {
        return Err("missing the \\x93NUMPY magic string; write the file with np.save".into());
    }
    let (header, data) = split_header(bytes)?;
    let descr = header_value(header, "descr")?;
    let item_size = match descr.trim_matches(|c| c == '\'' || c == '"') {
        "<f4" => 4,
        "<f8" => 8,
        other => {
            return Err(format!(
                "unsupported dtype {other}: expected <f4 or <f8; convert with .astype(np.float32)"
            ));
        }
    };
    if header_value(header, "fortran_order")? != "False" {
        return Err(
            "fortran_order is not False: save a C-order array with np.ascontiguousarray".into(),
        );
    }
    let shape = parse_shape(header_value(header, "shape")?)?;

    let count = shape
        .iter()
        .try_fold(1usize, |product, &dim| product.checked_mul(dim))
        .ok_or_else(|| format!("shape {shape:?} is too large"))?;
    let expected = count
        .checked_mul(item_size)
        .ok_or_else(|| format!("shape {shape:?} is too large"))?;
    if data.len() != expected {
        return Err(format!(
            "data is {} bytes, but shape {shape:?} with {item_size}-byte items needs {expected} bytes",
            data.len()
        ));
    }
    let values = if item_size == 4 {
        data.chunks_exact(4)
            .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|chunk| {
                let mut buffer = [0u8; 8];
                buffer.copy_from_slice(chunk);
                f64::from_le_bytes(buffer) as f32
            })
            .collect()
    };
    Ok((shape, values))
}

/// Reads a `.npy` file with [`decode_npy_f32`].
///
/// # Errors
///
/// Returns [`InteropError::Read`] when the file cannot be read and
/// [`InteropError::InvalidNpy`] when it cannot be decoded.
pub fn read_npy_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>), InteropError> {
    let bytes = std::fs::read(path).map_err(|source| InteropError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decode_npy_f32(&bytes).map_err(|message| InteropError::InvalidNpy {
        path: path.to_path_buf(),
        message,
    })
}

/// Decodes a `.npy` file of images: `|u1` (uint8) data divided by 255, or `<f4` or `<f8`
/// data as [`decode_npy_f32`] reads it. The values are not range-checked here.
///
/// # Errors
///
/// Returns a message naming what is malformed or unsupported.
pub fn decode_npy_images(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), String> {
    if !bytes.starts_with(MAGIC) {
        return Err("missing the \\x93NUMPY magic string; write the file with np.save".into());
    }
    let (header, data) = split_header(bytes)?;
    let descr = header_value(header, "descr")?.trim_matches(|c| c == '\'' || c == '"');
    match descr {
        "|u1" | "<u1" | "u1" => {}
        "<f4" | "<f8" => return decode_npy_f32(bytes),
        other => {
            return Err(format!(
                "unsupported dtype {other}: expected uint8 (|u1), float32 (<f4) or float64 (<f8); convert with .astype(np.float32)"
            ));
        }
    }
    if header_value(header, "fortran_order")? != "False" {
        return Err(
            "fortran_order is not False: save a C-order array with np.ascontiguousarray".into(),
        );
    }
    let shape = parse_shape(header_value(header, "shape")?)?;
    let count = shape
        .iter()
        .try_fold(1usize, |product, &dim| product.checked_mul(dim))
        .ok_or_else(|| format!("shape {shape:?} is too large"))?;
    if data.len() != count {
        return Err(format!(
            "data is {} bytes, but shape {shape:?} with 1-byte items needs {count} bytes",
            data.len()
        ));
    }
    let values = data.iter().map(|&pixel| f32::from(pixel) / 255.0).collect();
    Ok((shape, values))
}

/// Reads a `.npy` file of images with [`decode_npy_images`].
///
/// # Errors
///
/// Returns [`InteropError::Read`] when the file cannot be read and
/// [`InteropError::InvalidNpy`] when it cannot be decoded.
pub fn read_npy_images(path: &Path) -> Result<(Vec<usize>, Vec<f32>), InteropError> {
    let bytes = std::fs::read(path).map_err(|source| InteropError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decode_npy_images(&bytes).map_err(|message| InteropError::InvalidNpy {
        path: path.to_path_buf(),
        message,
    })
}

/// Splits the bytes after the magic string into the header text and the data section.
fn split_header(bytes: &[u8]) -> Result<(&str, &[u8]), String> {
    let truncated = || "the file ends inside the header".to_string();
    let major = *bytes.get(MAGIC.len()).ok_or_else(truncated)?;
    // Version 1.0 stores the header length as a u16, versions 2.0 and 3.0 as a u32.
    let (length_bytes, header_start) = match major {
        1 => (2, PREAMBLE_V1),
        2 | 3 => (4, PREAMBLE_V1 + 2),
        other => {
            return Err(format!(
                "unsupported format version {other}: expected 1, 2 or 3"
            ));
        }
    };
    let length_field = bytes
        .get(MAGIC.len() + 2..MAGIC.len() + 2 + length_bytes)
        .ok_or_else(truncated)?;
    let mut buffer = [0u8; 4];
    buffer[..length_bytes].copy_from_slice(length_field);
    let header_len = u32::from_le_bytes(buffer) as usize;
    let header_end = header_start.checked_add(header_len).ok_or_else(truncated)?;
    let header = bytes.get(header_start..header_end).ok_or_else(truncated)?;
    let header = std::str::from_utf8(header).map_err(|_| "the header is not UTF-8".to_string())?;
    Ok((header, &bytes[header_end..]))
}

/// Returns the text of the value of `'key'` in the header dictionary, up to the next
/// top-level comma or the closing brace.
fn header_value<'a>(header: &'a str, key: &str) -> Result<&'a str, String> {
    let quoted = format!("'{key}':");
    let start = header
        .find(&quoted)
        .map(|index| index + quoted.len())
        .ok_or_else(|| format!("invalid header: missing key '{key}' in {header:?}"))?;
    let rest = &header[start..];
    let mut depth = 0usize;
    for (index, character) in rest.char_indices() {
        match character {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' | '}' if depth == 0 => return Ok(rest[..index].trim()),
            _ => {}
        }
    }
    Err(format!(
        "invalid header: unterminated value of '{key}' in {header:?}"
    ))
}

/// Parses a Python tuple of integers such as `(3, 28, 28)`, `(5,)` or `()`.
fn parse_shape(text: &str) -> Result<Vec<usize>, String> {
    let inner = text
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(|| format!("invalid header: shape {text:?} is not a tuple"))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|dim| !dim.is_empty())
        .map(|dim| {
            dim.parse::<usize>()
                .map_err(|_| format!("invalid header: shape {text:?} has a non-integer {dim:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{decode_npy_f32, decode_npy_images, encode_npy_f32};

    #[test]
    fn encode_then_decode_round_trip() {
        let values: Vec<f32> = (0..24).map(|index| index as f32 * 0.25 - 1.0).collect();
        for shape in [vec![24], vec![2, 3, 4], vec![4, 6]] {
            let bytes = match encode_npy_f32(&shape, &values) {
                Ok(bytes) => bytes,
                Err(message) => panic!("shape {shape:?}: encoding failed: {message}"),
            };
            let data_offset = 10 + header_len(&bytes);
            assert_eq!(
                data_offset % 64,
                0,
                "shape {shape:?}: data offset {data_offset} is a multiple of 64"
            );
            let decoded = decode_npy_f32(&bytes);
            assert_eq!(
                decoded,
                Ok((shape.clone(), values.clone())),
                "shape {shape:?}: decoded array"
            );
        }
    }

    /// Returns the header length field of a format 1.0 file.
    fn header_len(bytes: &[u8]) -> usize {
        usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))
    }

    #[test]
    fn encode_one_dimension_trailing_comma() {
        let bytes = encode_npy_f32(&[3], &[1.0, 2.0, 3.0]).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains("'shape': (3,)"),
            "header of a 1-D array: {text:?}"
        );
    }

    #[test]
    fn encode_rejects_wrong_count() {
        let result = encode_npy_f32(&[2, 2], &[1.0, 2.0, 3.0]);
        assert!(result.is_err(), "3 values for shape [2, 2]: {result:?}");
    }

    #[test]
    fn decode_numpy_float64_file() {
        // Bytes of np.save(f, np.array([[0.5, -2.0]])), format 1.0, as NumPy 2.4 writes them.
        let mut bytes = b"\x93NUMPY\x01\x00v\x00".to_vec();
        let mut header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }".to_string();
        header.push_str(&" ".repeat(118 - header.len() - 1));
        header.push('\n');
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&0.5f64.to_le_bytes());
        bytes.extend_from_slice(&(-2.0f64).to_le_bytes());
        assert_eq!(
            decode_npy_f32(&bytes),
            Ok((vec![1, 2], vec![0.5, -2.0])),
            "float64 data converted to f32"
        );
    }

    #[test]
    fn decode_rejects_integer_dtype() {
        let mut bytes = encode_npy_f32(&[1], &[1.0]).unwrap_or_default();
        if let Some(index) = bytes.windows(3).position(|window| window == b"<f4") {
            bytes[index + 1] = b'i';
        }
        let result = decode_npy_f32(&bytes);
        assert!(
            matches!(&result, Err(message) if message.contains("<i4")),
            "<i4 file: {result:?}"
        );
    }

    #[test]
    fn decode_images_scales_uint8() {
        let mut bytes = b"\x93NUMPY\x01\x00v\x00".to_vec();
        let mut header = "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 3), }".to_string();
        header.push_str(&" ".repeat(118 - header.len() - 1));
        header.push('\n');
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&[0, 51, 255]);
        assert_eq!(
            decode_npy_images(&bytes),
            Ok((vec![1, 3], vec![0.0, 0.2, 1.0])),
            "uint8 pixels 0, 51, 255 divided by 255"
        );
    }

    #[test]
    fn decode_images_rejects_int16() {
        let mut bytes = encode_npy_f32(&[1], &[1.0]).unwrap_or_default();
        if let Some(index) = bytes.windows(3).position(|window| window == b"<f4") {
            bytes[index + 1] = b'i';
            bytes[index + 2] = b'2';
        }
        let result = decode_npy_images(&bytes);
        assert!(
            matches!(&result, Err(message) if message.contains("<i2") && message.contains("uint8")),
            "<i2 file: {result:?}"
        );
    }

    #[test]
    fn decode_rejects_truncated_data() {
        let mut bytes = encode_npy_f32(&[2], &[1.0, 2.0]).unwrap_or_default();
        bytes.truncate(bytes.len() - 1);
        let result = decode_npy_f32(&bytes);
        assert!(
            matches!(&result, Err(message) if message.contains("needs 8 bytes")),
            "7 data bytes for shape [2]: {result:?}"
        );
    }
}
