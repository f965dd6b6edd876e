//! Errors of reading IDX files and of building batches from them.

use std::path::PathBuf;

use super::idx::{IMAGES_MAGIC, LABELS_MAGIC};

/// Error of reading or sampling a dataset. Byte offsets count from the start of the
/// uncompressed IDX data, which for a gzip file is the decompressed stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be read from disk.
    #[error("failed to read {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The first four bytes are not the magic number of the expected IDX file kind.
    #[error(
        "{file}: magic number 0x{found:08x} ({found}) at byte 0 is not the IDX {kind} magic 0x{expected:08x} ({expected}); {}",
        magic_hint(*.found)
    )]
    WrongMagic {
        /// The file.
        file: String,
        /// `"images"` or `"labels"`: the kind the caller asked for.
        kind: &'static str,
        /// The magic number read.
        found: u32,
        /// The magic number of `kind`.
        expected: u32,
    },

    /// The header declares a number of dimensions other than 3 (images) or 1 (labels).
    #[error(
        "{file}: byte 3 declares {found} dimensions, but an IDX {kind} file has {expected}; the file does not have the MNIST layout"
    )]
    WrongDimensionCount {
        /// The file.
        file: String,
        /// `"images"` or `"labels"`.
        kind: &'static str,
        /// The dimension count read.
        found: u8,
        /// The dimension count of `kind`.
        expected: u8,
    },

    /// A dimension is 0, so the file contains no image or label.
    #[error(
        "{file}: dimension {index} at byte {offset} is 0; an IDX {kind} file needs at least one element in every dimension"
    )]
    ZeroDimension {
        /// The file.
        file: String,
        /// `"images"` or `"labels"`.
        kind: &'static str,
        /// Position of the dimension, 0 for the count.
        index: usize,
        /// Byte offset of the dimension in the header.
        offset: usize,
    },

    /// The product of the dimensions does not fit in `usize`.
    #[error(
        "{file}: dimensions {dimensions:?} at byte 4 multiply to more bytes than this machine can address; the header is corrupt"
    )]
    DimensionOverflow {
        /// The file.
        file: String,
        /// The dimensions read.
        dimensions: Vec<u32>,
    },

    /// The data ends inside the header.
    #[error(
        "{file}: the IDX header ends at byte {actual}, expected at least {expected} bytes; the file is incomplete, copy or download it again"
    )]
    TruncatedHeader {
        /// The file.
        file: String,
        /// Header bytes needed so far.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },

    /// The data ends before the size that the header declares.
    #[error(
        "{file}: the IDX data ends at byte {actual}, but its header declares {expected} bytes; the file is incomplete, copy or download it again"
    )]
    TruncatedBody {
        /// The file.
        file: String,
        /// Header plus body size that the header declares.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },

    /// Bytes follow the size that the header declares.
    #[error(
        "{file}: the header declares {expected} bytes, but the data has {}{actual}, so the dimensions do not match the data; the file is corrupt, or its dimensions were edited",
        if *.counted_all { "" } else { "at least " }
    )]
    TrailingBytes {
        /// The file.
        file: String,
        /// Header plus body size that the header declares.
        expected: usize,
        /// Bytes present, counted up to 64 MiB past `expected`.
        actual: usize,
        /// False when counting stopped at the limit, so that `actual` is a lower bound.
        counted_all: bool,
    },

    /// The header declares more data than the reader accepts.
    #[error(
        "{file}: dimensions {dimensions:?} at byte 4 declare {declared} bytes of {kind}, more than the limit of {limit} bytes; the header is corrupt, or split the set into smaller files"
    )]
    TooLarge {
        /// The file.
        file: String,
        /// `"images"` or `"labels"`.
        kind: &'static str,
        /// The dimensions read.
        dimensions: Vec<usize>,
        /// Body size that the header declares.
        declared: usize,
        /// The limit, [`MAX_DATA_BYTES`](super::idx::MAX_DATA_BYTES).
        limit: usize,
    },

    /// A label is not below the number of classes.
    #[error(
        "{file}: label {label} at index {index} (byte {offset}) is not below the class count {classes}; use labels 0 to {}, or a dataset with more classes",
        .classes.saturating_sub(1)
    )]
    LabelOutOfRange {
        /// The label file.
        file: String,
        /// Position of the label, from 0.
        index: usize,
        /// Byte offset of the label in the uncompressed file.
        offset: usize,
        /// The label read.
        label: u8,
        /// Number of classes.
        classes: usize,
    },

    /// The file starts like gzip but does not decompress.
    #[error(
        "{file}: invalid gzip data after {offset} decompressed bytes: {source}; the file is corrupt or incomplete, copy or download it again"
    )]
    BadGzip {
        /// The file.
        file: String,
        /// Decompressed bytes read before the error.
        offset: usize,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },

    /// The image file and the label file hold different numbers of items.
    #[error(
        "{images_file} has {images} images but {labels_file} has {labels} labels; pass an image file and a label file of the same set"
    )]
    CountMismatch {
        /// The image file.
        images_file: String,
        /// Image count.
        images: usize,
        /// The label file.
        labels_file: String,
        /// Label count.
        labels: usize,
    },

    /// The folder given as a dataset does not exist or is not a folder.
    #[error("dataset folder {} not found or not a folder; pass a folder of IDX files", .dir.display())]
    NotADirectory {
        /// The path given.
        dir: PathBuf,
    },

    /// The folder contains no pair of IDX training files under a known name.
    #[error(
        "no IDX training files in {}: looked for {}; rename the files or pass another folder",
        .dir.display(),
        .looked_for.join(", ")
    )]
    NoTrainingFiles {
        /// The folder searched.
        dir: PathBuf,
        /// The file names tried, in the order tried.
        looked_for: Vec<String>,
    },

    /// The folder contains no pair of IDX test files under a known name.
    #[error(
        "no IDX test files in {}: looked for {}; pass a folder with the dataset's test files (t10k-*), as the MNIST and Fashion-MNIST downloads have",
        .dir.display(),
        .looked_for.join(", ")
    )]
    NoTestFiles {
        /// The folder searched.
        dir: PathBuf,
        /// The file names tried, in the order tried.
        looked_for: Vec<String>,
    },

    /// A batch size of 0, or larger than the dataset.
    #[error(
        "batch size {batch_size} is invalid for a dataset of {len} images; use a batch size from 1 to {len}"
    )]
    InvalidBatchSize {
        /// The batch size requested.
        batch_size: usize,
        /// Images in the dataset.
        len: usize,
    },
}

/// Suggests a fix for a wrong magic number: the other IDX kind, or not IDX at all.
fn magic_hint(found: u32) -> &'static str {
    match found {
        IMAGES_MAGIC => "this is an IDX image file, pass it as the image file",
        LABELS_MAGIC => "this is an IDX label file, pass it as the label file",
        _ => "the file is not an MNIST-format IDX file of unsigned bytes, raw or gzip",
    }
}
