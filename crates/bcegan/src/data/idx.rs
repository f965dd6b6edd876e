//! The MNIST file format (IDX) for images and labels of unsigned bytes, raw or gzip.
//!
//! An IDX file starts with a big-endian `u32` magic number whose third byte is the
//! element type (0x08, unsigned byte) and whose fourth byte is the number of
//! dimensions. One big-endian `u32` per dimension follows, then the elements in
//! row-major order. Image files have magic 0x00000803 (2051) and dimensions
//! `[count, rows, cols]`; label files have magic 0x00000801 (2049) and `[count]`.

use std::io::{self, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::error::DataError;

/// Magic number of an IDX file of unsigned-byte images with 3 dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte labels with 1 dimension.
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// First two bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Bytes before the first label: the magic number and the count.
const LABELS_HEADER_LEN: usize = 8;
/// Upper bound on the output-to-input ratio of deflate, used to cap the memory reserved
/// before decompressing. zlib's "Technical Details" page gives 1032:1 as the limit,
/// because a length/distance pair of at least 2 bits yields at most 258 bytes.
const MAX_DEFLATE_RATIO: usize = 1100;
/// Bytes read from the decoder per call.
const READ_CHUNK: usize = 64 * 1024;
/// Largest data section, in bytes, that a header may declare: 4 GiB, over six times the
/// largest IDX set in common use (EMNIST ByClass, 814,255 images of 28 x 28, 638 MB).
/// A larger declared size is rejected before anything is read or allocated.
pub const MAX_DATA_BYTES: usize = 1 << 32;
/// Bytes past the declared size that are counted for the trailing-bytes error before
/// reading stops, so that a small gzip file that expands to gigabytes stops early.
const TRAILING_COUNT_LIMIT: usize = 64 * 1024 * 1024;

/// Images read from an IDX file: `count` images of `rows` x `cols` bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Pixel rows per image.
    pub rows: usize,
    /// Pixel columns per image.
    pub cols: usize,
    /// `count * rows * cols` pixels, image after image, each image row after row.
    pub pixels: Vec<u8>,
}

/// The two kinds of IDX file that this module reads.
#[derive(Debug, Clone, Copy)]
enum IdxKind {
    Images,
    Labels,
}

impl IdxKind {
    fn name(self) -> &'static str {
        match self {
            IdxKind::Images => "images",
            IdxKind::Labels => "labels",
        }
    }

    fn magic(self) -> u32 {
        match self {
            IdxKind::Images => IMAGES_MAGIC,
            IdxKind::Labels => LABELS_MAGIC,
        }
    }

    fn dimension_count(self) -> u8 {
        match self {
            IdxKind::Images => 3,
            IdxKind::Labels => 1,
        }
    }
}

/// Parses an IDX image file held in memory, raw or gzip-compressed.
///
/// `file` names the data in error messages.
///
/// # Errors
///
/// Returns [`DataError`] for bad gzip data, a magic number other than
/// [`IMAGES_MAGIC`], a dimension count other than 3, a zero dimension, dimensions
/// whose product overflows, or data shorter or longer than the header declares.
pub fn parse_images(bytes: &[u8], file: &str) -> Result<IdxImages, DataError> {
    let (dimensions, pixels) = parse(bytes, file, IdxKind::Images)?;
    Ok(IdxImages {
        count: dimensions[0],
        rows: dimensions[1],
        cols: dimensions[2],
        pixels,
    })
}

/// Parses an IDX label file held in memory, raw or gzip-compressed, into one byte a label.
///
/// `file` names the data in error messages.
///
/// # Errors
///
/// As [`parse_images`], with [`LABELS_MAGIC`] and 1 dimension.
pub fn parse_labels(bytes: &[u8], file: &str) -> Result<Vec<u8>, DataError> {
    let (_, labels) = parse(bytes, file, IdxKind::Labels)?;
    Ok(labels)
}

/// Reads and parses an IDX image file, raw or gzip-compressed.
///
/// # Errors
///
/// Returns [`DataError::Io`] when the file cannot be read, else as [`parse_images`].
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    let file = path.display().to_string();
    let bytes = read_file(path, &file)?;
    parse_images(&bytes, &file)
}

/// Reads and parses an IDX label file, raw or gzip-compressed.
///
/// # Errors
///
/// Returns [`DataError::Io`] when the file cannot be read, else as [`parse_labels`].
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    let file = path.display().to_string();
    let bytes = read_file(path, &file)?;
    parse_labels(&bytes, &file)
}

/// Checks that every label is below `classes`, the number of classes of the dataset.
///
/// `file` names the label file in the error, which gives the label's index and its byte
/// offset in the uncompressed file (8 + index, after the header).
///
/// # Errors
///
/// [`DataError::LabelOutOfRange`] for the first label that is `classes` or more.
pub fn check_labels(labels: &[u8], classes: usize, file: &str) -> Result<(), DataError> {
    let bad = labels
        .iter()
        .enumerate()
        .find(|&(_, &label)| usize::from(label) >= classes);
    match bad {
        Some((index, &label)) => Err(DataError::LabelOutOfRange {
            file: file.to_owned(),
            index,
            offset: LABELS_HEADER_LEN + index,
            label,
            classes,
        }),
        None => Ok(()),
    }
}

fn read_file(path: &Path, file: &str) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| DataError::Io {
        file: file.to_owned(),
        source,
    })
}

/// Parses the header and body of an IDX file, returning its dimensions and elements.
fn parse(bytes: &[u8], file: &str, kind: IdxKind) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    if bytes.starts_with(&GZIP_MAGIC) {
        let max_output = bytes.len().saturating_mul(MAX_DEFLATE_RATIO);
        let mut reader = IdxReader {
            source: MultiGzDecoder::new(bytes),
            file,
            position: 0,
        };
        parse_stream(&mut reader, kind, max_output)
    } else {
        let mut reader = IdxReader {
            source: bytes,
            file,
            position: 0,
        };
        parse_stream(&mut reader, kind, bytes.len())
    }
}

/// A byte source that counts the bytes it has returned and names its file in errors.
struct IdxReader<'a, R> {
    source: R,
    file: &'a str,
    position: usize,
}

impl<R: Read> IdxReader<'_, R> {
    /// Reads until `buffer` is full or the data ends. Returns the number of bytes read.
    fn read_up_to(&mut self, buffer: &mut [u8]) -> Result<usize, DataError> {
        let mut filled = 0;
        while filled < buffer.len() {
            match self.source.read(&mut buffer[filled..]) {
                Ok(0) => break,
                Ok(read) => {
                    filled += read;
                    self.position += read;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(self.gzip_error(source)),
            }
        }
        Ok(filled)
    }

    /// Appends up to `limit` bytes to `buffer`, growing it only as data arrives.
    fn read_into(&mut self, buffer: &mut Vec<u8>, limit: usize) -> Result<(), DataError> {
        let mut chunk = vec![0_u8; READ_CHUNK.min(limit.max(1))];
        while buffer.len() < limit {
            let request_len = chunk.len().min(limit - buffer.len());
            let read = self.read_up_to(&mut chunk[..request_len])?;
            if read == 0 {
                break;
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
        Ok(())
    }

    /// Counts the bytes left, without keeping them, up to `limit`. Returns the count and
    /// whether the data ended before the limit.
    fn count_rest(&mut self, limit: usize) -> Result<(usize, bool), DataError> {
        let mut chunk = vec![0_u8; READ_CHUNK];
        let mut total = 0_usize;
        while total < limit {
            let request_len = chunk.len().min(limit - total);
            let read = self.read_up_to(&mut chunk[..request_len])?;
            if read == 0 {
                return Ok((total, true));
            }
            total += read;
        }
        // The data may end exactly at the limit, so read one more byte to find out.
        let read = self.read_up_to(&mut chunk[..1])?;
        Ok((total, read == 0))
    }

    /// Wraps a decoder error. Reading a byte slice never fails, so every error is gzip's.
    fn gzip_error(&self, source: io::Error) -> DataError {
        DataError::BadGzip {
            file: self.file.to_owned(),
            offset: self.position,
            source,
        }
    }
}

fn parse_stream<R: Read>(
    reader: &mut IdxReader<'_, R>,
    kind: IdxKind,
    max_output: usize,
) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let file = reader.file;

    let mut magic_bytes = [0_u8; 4];
    let read = reader.read_up_to(&mut magic_bytes)?;
    if read < magic_bytes.len() {
        return Err(DataError::TruncatedHeader {
            file: file.to_owned(),
            expected: magic_bytes.len(),
            actual: read,
        });
    }
    let magic = u32::from_be_bytes(magic_bytes);
    // An unsigned-byte IDX file with a dimension count of neither kind gets its own
    // error. Every other mismatch, the other kind's magic included, is a wrong magic.
    let is_unsigned_byte_idx = magic_bytes[..3] == [0, 0, 0x08];
    let is_known_kind = magic == IMAGES_MAGIC || magic == LABELS_MAGIC;
    if is_unsigned_byte_idx && !is_known_kind {
        return Err(DataError::WrongDimensionCount {
            file: file.to_owned(),
            kind: kind.name(),
            found: magic_bytes[3],
            expected: kind.dimension_count(),
        });
    }
    if magic != kind.magic() {
        return Err(DataError::WrongMagic {
            file: file.to_owned(),
            kind: kind.name(),
            found: magic,
            expected: kind.magic(),
        });
    }
    let dimension_count = kind.dimension_count();

    let header_len = 4 + 4 * usize::from(dimension_count);
    let mut dimension_bytes = vec![0_u8; header_len - 4];
    let read = reader.read_up_to(&mut dimension_bytes)?;
    if read < dimension_bytes.len() {
        return Err(DataError::TruncatedHeader {
            file: file.to_owned(),
            expected: header_len,
            actual: 4 + read,
        });
    }
    let dimensions = read_dimensions(&dimension_bytes, file, kind)?;
    let body_len = dimensions
        .iter()
        .try_fold(1_usize, |product, &dimension| {
            product.checked_mul(dimension)
        })
        .filter(|&body_len| body_len.checked_add(header_len + 1).is_some())
        .ok_or_else(|| DataError::DimensionOverflow {
            file: file.to_owned(),
            dimensions: dimension_bytes
                .chunks_exact(4)
                .map(|word| u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
                .collect(),
        })?;
    if body_len > MAX_DATA_BYTES {
        return Err(DataError::TooLarge {
            file: file.to_owned(),
            kind: kind.name(),
            dimensions,
            declared: body_len,
            limit: MAX_DATA_BYTES,
        });
    }

    // Reserve no more than the data could produce, so a header that declares a huge size
    // in a small file allocates only as much as the file actually decompresses to.
    let mut body = Vec::with_capacity(body_len.min(max_output));
    reader.read_into(&mut body, body_len + 1)?;
    if body.len() < body_len {
        return Err(DataError::TruncatedBody {
            file: file.to_owned(),
            expected: header_len + body_len,
            actual: header_len + body.len(),
        });
    }
    if body.len() > body_len {
        let (rest, counted_all) = reader.count_rest(TRAILING_COUNT_LIMIT)?;
        return Err(DataError::TrailingBytes {
            file: file.to_owned(),
            expected: header_len + body_len,
            actual: (header_len + body.len()).saturating_add(rest),
            counted_all,
        });
    }
    Ok((dimensions, body))
}

/// Decodes the big-endian dimensions and rejects zeros.
fn read_dimensions(bytes: &[u8], file: &str, kind: IdxKind) -> Result<Vec<usize>, DataError> {
    let mut dimensions = Vec::with_capacity(bytes.len() / 4);
    for (index, word) in bytes.chunks_exact(4).enumerate() {
        let dimension = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        if dimension == 0 {
            return Err(DataError::ZeroDimension {
                file: file.to_owned(),
                kind: kind.name(),
                index,
                offset: 4 + 4 * index,
            });
        }
        // A u32 exceeds usize only on 16-bit targets, where usize::MAX makes the
        // product check in `parse_stream` reject the header.
        dimensions.push(usize::try_from(dimension).unwrap_or(usize::MAX));
    }
    Ok(dimensions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut bytes = IMAGES_MAGIC.to_be_bytes().to_vec();
        for dimension in [count, rows, cols] {
            bytes.extend_from_slice(&dimension.to_be_bytes());
        }
        bytes.extend_from_slice(pixels);
        bytes
    }

    #[test]
    fn parse_images_raw_small() {
        let bytes = raw_images(2, 1, 3, &[0, 1, 2, 3, 4, 5]);
        let images = parse_images(&bytes, "small");
        let expected = IdxImages {
            count: 2,
            rows: 1,
            cols: 3,
            pixels: vec![0, 1, 2, 3, 4, 5],
        };
        assert!(
            matches!(&images, Ok(actual) if *actual == expected),
            "input {bytes:?}: expected {expected:?}, got {images:?}"
        );
    }

    #[test]
    fn parse_labels_raw_small() {
        let mut bytes = LABELS_MAGIC.to_be_bytes().to_vec();
        bytes.extend_from_slice(&3_u32.to_be_bytes());
        bytes.extend_from_slice(&[7, 0, 9]);
        let labels = parse_labels(&bytes, "small");
        assert!(
            matches!(&labels, Ok(actual) if *actual == [7, 0, 9]),
            "input {bytes:?}: expected [7, 0, 9], got {labels:?}"
        );
    }

    #[test]
    fn huge_header_small_file_truncated() {
        // The header declares 4 GiB of pixels but only 10 bytes follow: the reader must
        // report truncation without reserving the declared size.
        let bytes = raw_images(u32::MAX, 1, 1, &[1; 10]);
        let result = parse_images(&bytes, "huge");
        assert!(
            matches!(result, Err(DataError::TruncatedBody { actual: 26, .. })),
            "header declaring {} bytes with 10 present: expected TruncatedBody at 26, got {result:?}",
            u32::MAX
        );
    }

    #[test]
    fn wrong_type_byte_is_wrong_magic() {
        // Type 0x0d is IDX float32, which this reader does not accept.
        let mut bytes = raw_images(1, 1, 1, &[0]);
        bytes[2] = 0x0d;
        let result = parse_images(&bytes, "float");
        assert!(
            matches!(
                result,
                Err(DataError::WrongMagic {
                    found: 0x0000_0d03,
                    expected: IMAGES_MAGIC,
                    ..
                })
            ),
            "magic 0x00000d03: expected WrongMagic, got {result:?}"
        );
    }

    #[test]
    fn wrong_magic_message_names_other_kind() {
        let error = DataError::WrongMagic {
            file: "labels.idx".to_owned(),
            kind: "images",
            found: LABELS_MAGIC,
            expected: IMAGES_MAGIC,
        };
        let message = error.to_string();
        assert!(
            message.contains("0x00000801") && message.contains("label file"),
            "expected found magic and a hint naming the label file, got {message:?}"
        );
    }
}
