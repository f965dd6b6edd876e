//! The IDX reader on the embedded digits and on corrupted copies of them, folder
//! discovery, and the batch sampler.

use std::io::{Read, Write};
use std::path::Path;

use bcegan::data::{
    BatchSampler, DataError, Dataset, IMAGES_MAGIC, LABELS_MAGIC, embedded, parse_images,
    parse_labels,
};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// Count per label of the embedded digits, from `data/README.md`.
const EMBEDDED_CLASS_COUNTS: [usize; 10] = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
/// Debian's `dataset-fashion-mnist` package installs here.
const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    if let Err(error) = GzDecoder::new(bytes).read_to_end(&mut raw) {
        panic!("embedded gzip failed to decompress in the test helper: {error}");
    }
    raw
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    let written = encoder.write_all(bytes).and_then(|()| encoder.finish());
    match written {
        Ok(compressed) => compressed,
        Err(error) => panic!("gzip in the test helper failed: {error}"),
    }
}

fn raw_images() -> Vec<u8> {
    gunzip(embedded::IMAGES_GZ)
}

fn raw_labels() -> Vec<u8> {
    gunzip(embedded::LABELS_GZ)
}

fn embedded_dataset() -> Dataset {
    match Dataset::embedded() {
        Ok(dataset) => dataset,
        Err(error) => panic!("embedded dataset failed to parse: {error}"),
    }
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) {
    if let Err(error) = std::fs::write(dir.join(name), bytes) {
        panic!("writing {name} in {} failed: {error}", dir.display());
    }
}

fn temp_dir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("creating a temporary folder failed: {error}"),
    }
}

#[test]
fn embedded_shape_and_labels() {
    let dataset = embedded_dataset();
    assert_eq!(dataset.len(), 10_000, "embedded image count");
    assert_eq!(dataset.rows(), 28, "embedded rows");
    assert_eq!(dataset.cols(), 28, "embedded cols");
    assert_eq!(dataset.image_len(), 784, "embedded image_len");
    assert_eq!(dataset.images().len(), 10_000 * 784, "embedded pixel count");
    let max_label = dataset.labels().iter().max().copied();
    assert_eq!(max_label, Some(9), "largest embedded label");
}

#[test]
fn embedded_class_counts_match_readme() {
    let counts = embedded_dataset().class_counts();
    assert_eq!(
        counts, EMBEDDED_CLASS_COUNTS,
        "count per label: expected the table in data/README.md"
    );
}

#[test]
fn embedded_labels_sorted_ascending() {
    let dataset = embedded_dataset();
    let first_unsorted = dataset
        .labels()
        .windows(2)
        .position(|pair| pair[0] > pair[1]);
    assert_eq!(
        first_unsorted, None,
        "embedded labels are documented as ordered 0 first"
    );
}

#[test]
fn embedded_pixels_use_full_range() {
    let dataset = embedded_dataset();
    let min = dataset.images().iter().min().copied();
    let max = dataset.images().iter().max().copied();
    assert_eq!(min, Some(0), "smallest embedded pixel");
    assert_eq!(max, Some(255), "largest embedded pixel");
}

#[test]
fn raw_and_gzip_parse_equal() {
    let from_gzip = parse_images(embedded::IMAGES_GZ, "gzip images");
    let from_raw = parse_images(&raw_images(), "raw images");
    match (from_gzip, from_raw) {
        (Ok(gzip), Ok(raw)) => assert!(
            gzip == raw,
            "gzip and raw parses of the embedded images differ"
        ),
        (gzip, raw) => panic!("expected both to parse, got gzip {gzip:?} and raw {raw:?}"),
    }
}

#[test]
fn wrong_magic_rejected() {
    let mut bytes = raw_images();
    bytes[..4].copy_from_slice(&0x1234_5678_u32.to_be_bytes());
    let result = parse_images(&bytes, "bad magic");
    assert!(
        matches!(
            result,
            Err(DataError::WrongMagic {
                found: 0x1234_5678,
                expected: IMAGES_MAGIC,
                ..
            })
        ),
        "magic 0x12345678: expected WrongMagic, got {result:?}"
    );
}

#[test]
fn label_file_as_images_rejected() {
    let result = parse_images(embedded::LABELS_GZ, embedded::LABELS_FILE);
    let message = result
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        matches!(
            result,
            Err(DataError::WrongMagic {
                found: LABELS_MAGIC,
                expected: IMAGES_MAGIC,
                ..
            })
        ),
        "label file parsed as images: expected WrongMagic 2049 vs 2051, got {result:?}"
    );
    assert!(
        message.contains("label file"),
        "message should say that this is a label file, got {message:?}"
    );
}

#[test]
fn image_file_as_labels_rejected() {
    let result = parse_labels(embedded::IMAGES_GZ, embedded::IMAGES_FILE);
    assert!(
        matches!(
            result,
            Err(DataError::WrongMagic {
                found: IMAGES_MAGIC,
                expected: LABELS_MAGIC,
                ..
            })
        ),
        "image file parsed as labels: expected WrongMagic 2051 vs 2049, got {result:?}"
    );
}

#[test]
fn wrong_dimension_count_rejected() {
    // 0x00000802: unsigned bytes, 2 dimensions.
    let mut bytes = raw_images();
    bytes[3] = 2;
    let result = parse_images(&bytes, "two dimensions");
    assert!(
        matches!(
            result,
            Err(DataError::WrongDimensionCount {
                found: 2,
                expected: 3,
                ..
            })
        ),
        "magic 0x00000802: expected WrongDimensionCount 2 vs 3, got {result:?}"
    );
}

#[test]
fn truncated_header_rejected() {
    let bytes = raw_images();
    for cut in [0, 3, 4, 15] {
        let result = parse_images(&bytes[..cut], "short header");
        let expected = if cut < 4 { 4 } else { 16 };
        assert!(
            matches!(
                result,
                Err(DataError::TruncatedHeader { expected: e, actual: a, .. }) if e == expected && a == cut
            ),
            "images cut to {cut} bytes: expected TruncatedHeader {expected} vs {cut}, got {result:?}"
        );
    }
}

#[test]
fn truncated_body_rejected() {
    let bytes = raw_images();
    let cut = bytes.len() - 100;
    let result = parse_images(&bytes[..cut], "short body");
    assert!(
        matches!(
            result,
            Err(DataError::TruncatedBody { expected: 7_840_016, actual: a, .. }) if a == cut
        ),
        "images cut to {cut} bytes: expected TruncatedBody 7840016 vs {cut}, got {result:?}"
    );
}

#[test]
fn truncated_body_in_gzip_rejected() {
    let bytes = raw_labels();
    let compressed = gzip(&bytes[..bytes.len() - 1]);
    let result = parse_labels(&compressed, "short gzip labels");
    assert!(
        matches!(
            result,
            Err(DataError::TruncatedBody {
                expected: 10_008,
                actual: 10_007,
                ..
            })
        ),
        "labels one byte short, gzip: expected TruncatedBody 10008 vs 10007, got {result:?}"
    );
}

#[test]
fn trailing_garbage_rejected() {
    let mut bytes = raw_labels();
    bytes.extend_from_slice(b"garbage");
    let result = parse_labels(&bytes, "trailing labels");
    assert!(
        matches!(
            result,
            Err(DataError::TrailingBytes {
                expected: 10_008,
                actual: 10_015,
                ..
            })
        ),
        "labels with 7 extra bytes: expected TrailingBytes 10008 vs 10015, got {result:?}"
    );

    let result = parse_labels(&gzip(&bytes), "trailing labels, gzip");
    assert!(
        matches!(
            result,
            Err(DataError::TrailingBytes {
                expected: 10_008,
                actual: 10_015,
                ..
            })
        ),
        "gzip labels with 7 extra bytes: expected TrailingBytes 10008 vs 10015, got {result:?}"
    );
}

#[test]
fn zero_dimension_rejected() {
    for (index, offset) in [(0, 4), (1, 8), (2, 12)] {
        let mut bytes = raw_images();
        bytes[offset..offset + 4].copy_from_slice(&0_u32.to_be_bytes());
        let result = parse_images(&bytes, "zero dimension");
        assert!(
            matches!(
                result,
                Err(DataError::ZeroDimension { index: i, offset: o, .. }) if i == index && o == offset
            ),
            "dimension {index} set to 0: expected ZeroDimension at byte {offset}, got {result:?}"
        );
    }
}

#[test]
fn overflowing_dimensions_rejected() {
    let mut bytes = raw_images();
    for offset in [4, 8, 12] {
        bytes[offset..offset + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    }
    let result = parse_images(&bytes, "overflow");
    let expected_dimensions = vec![u32::MAX; 3];
    assert!(
        matches!(
            &result,
            Err(DataError::DimensionOverflow { dimensions, .. }) if *dimensions == expected_dimensions
        ),
        "dimensions [u32::MAX; 3]: expected DimensionOverflow, got {result:?}"
    );
}

#[test]
fn bad_gzip_rejected() {
    // Flip bytes in the middle of the deflate stream.
    let mut corrupted = embedded::IMAGES_GZ.to_vec();
    let middle = corrupted.len() / 2;
    for byte in &mut corrupted[middle..middle + 64] {
        *byte ^= 0x5a;
    }
    let result = parse_images(&corrupted, "corrupted gzip");
    assert!(
        matches!(result, Err(DataError::BadGzip { .. })),
        "gzip with 64 flipped bytes: expected BadGzip, got {result:?}"
    );

    // Cut the compressed file in half.
    let half = &embedded::IMAGES_GZ[..embedded::IMAGES_GZ.len() / 2];
    let result = parse_images(half, "half gzip");
    assert!(
        matches!(result, Err(DataError::BadGzip { .. })),
        "gzip cut in half: expected BadGzip, got {result:?}"
    );

    // Garbage after the gzip member is not a valid second member.
    let mut trailing = embedded::LABELS_GZ.to_vec();
    trailing.extend_from_slice(&[0x1f, 0x8b, 0, 0, 1, 2, 3]);
    let result = parse_labels(&trailing, "gzip plus garbage");
    assert!(
        matches!(result, Err(DataError::BadGzip { .. })),
        "gzip followed by a broken member: expected BadGzip, got {result:?}"
    );
}

#[test]
fn corrupted_gzip_crc_rejected() {
    // The last 8 bytes of a gzip member are the CRC-32 and the size of the data.
    let mut corrupted = embedded::LABELS_GZ.to_vec();
    let crc = corrupted.len() - 8;
    corrupted[crc] ^= 0xff;
    let result = parse_labels(&corrupted, "bad crc");
    assert!(
        matches!(result, Err(DataError::BadGzip { .. })),
        "gzip with a wrong CRC: expected BadGzip, got {result:?}"
    );
}

#[test]
fn from_dir_reads_embedded_names() {
    let dir = temp_dir();
    write_file(
        dir.path(),
        "digits-images-idx3-ubyte.gz",
        embedded::IMAGES_GZ,
    );
    write_file(dir.path(), "digits-labels-idx1-ubyte", &raw_labels());
    let result = Dataset::from_dir(dir.path());
    let embedded = embedded_dataset();
    match result {
        Ok(dataset) => assert!(
            dataset == embedded,
            "folder copy differs from the embedded dataset"
        ),
        Err(error) => panic!("folder with the embedded files: expected a dataset, got {error}"),
    }
}

#[test]
fn from_dir_reads_train_names() {
    let dir = temp_dir();
    write_file(dir.path(), "train-images-idx3-ubyte", &raw_images());
    write_file(
        dir.path(),
        "train-labels-idx1-ubyte.gz",
        embedded::LABELS_GZ,
    );
    let result = Dataset::from_dir(dir.path());
    let len = result.as_ref().map(Dataset::len).ok();
    assert_eq!(
        len,
        Some(10_000),
        "train-* files in a folder: got {result:?}"
    );
}

#[test]
fn from_dir_count_mismatch_rejected() {
    let dir = temp_dir();
    let mut labels = raw_labels();
    labels.truncate(8 + 9_999);
    labels[4..8].copy_from_slice(&9_999_u32.to_be_bytes());
    write_file(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        embedded::IMAGES_GZ,
    );
    write_file(dir.path(), "train-labels-idx1-ubyte", &labels);
    let result = Dataset::from_dir(dir.path());
    assert!(
        matches!(
            result,
            Err(DataError::CountMismatch {
                images: 10_000,
                labels: 9_999,
                ..
            })
        ),
        "10,000 images with 9,999 labels: expected CountMismatch, got {result:?}"
    );
}

#[test]
fn from_dir_label_ten_rejected() {
    let dir = temp_dir();
    let mut labels = raw_labels();
    // Label index 5 sits at byte 8 + 5 of the uncompressed file, after the header.
    labels[8 + 5] = 10;
    write_file(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        embedded::IMAGES_GZ,
    );
    write_file(dir.path(), "train-labels-idx1-ubyte", &labels);
    let result = Dataset::from_dir(dir.path());
    let message = result
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        matches!(result, Err(DataError::LabelOutOfRange { .. })),
        "label 10 in a 10-class set: expected LabelOutOfRange, got {result:?}"
    );
    assert!(
        message.contains("train-labels-idx1-ubyte") && message.contains("13"),
        "message names the file and the byte offset 13: {message:?}"
    );
}

#[test]
fn from_dir_empty_lists_names() {
    let dir = temp_dir();
    let result = Dataset::from_dir(dir.path());
    let expected = [
        "train-images-idx3-ubyte",
        "train-images-idx3-ubyte.gz",
        "digits-images-idx3-ubyte",
        "digits-images-idx3-ubyte.gz",
    ];
    assert!(
        matches!(&result, Err(DataError::NoTrainingFiles { looked_for, .. }) if *looked_for == expected),
        "empty folder: expected NoTrainingFiles listing {expected:?}, got {result:?}"
    );
}

#[test]
fn from_dir_missing_labels_lists_names() {
    let dir = temp_dir();
    write_file(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        embedded::IMAGES_GZ,
    );
    let result = Dataset::from_dir(dir.path());
    assert!(
        matches!(
            &result,
            Err(DataError::NoTrainingFiles { looked_for, .. })
                if looked_for.iter().any(|name| name == "train-labels-idx1-ubyte.gz")
        ),
        "images without labels: expected NoTrainingFiles naming the label file, got {result:?}"
    );
}

#[test]
fn from_dir_missing_folder_rejected() {
    let dir = temp_dir();
    let missing = dir.path().join("absent");
    let result = Dataset::from_dir(&missing);
    assert!(
        matches!(result, Err(DataError::NotADirectory { .. })),
        "{}: expected NotADirectory, got {result:?}",
        missing.display()
    );
}

#[test]
fn from_dir_debian_fashion_mnist() {
    let dir = Path::new(DEBIAN_FASHION_MNIST);
    if !dir.is_dir() {
        println!(
            "skipped: {DEBIAN_FASHION_MNIST} not found; install Debian's dataset-fashion-mnist to run this test"
        );
        return;
    }
    let dataset = match Dataset::from_dir(dir) {
        Ok(dataset) => dataset,
        Err(error) => panic!("{DEBIAN_FASHION_MNIST}: expected the training set, got {error}"),
    };
    assert_eq!(dataset.len(), 60_000, "Fashion-MNIST training images");
    assert_eq!(dataset.image_len(), 784, "Fashion-MNIST image_len");
    assert_eq!(
        dataset.class_counts(),
        vec![6_000; 10],
        "Fashion-MNIST training set has 6,000 images per class"
    );
}

#[test]
fn sampler_invalid_batch_size_rejected() {
    let dataset = embedded_dataset();
    for batch_size in [0, 10_001] {
        let result = BatchSampler::new(&dataset, batch_size, 0).map(|sampler| sampler.batch_size());
        assert!(
            matches!(result, Err(DataError::InvalidBatchSize { len: 10_000, .. })),
            "batch size {batch_size} of 10,000 images: expected InvalidBatchSize, got {result:?}"
        );
    }
}

fn draw_batches(dataset: &Dataset, batch_size: usize, seed: u64, count: usize) -> Vec<Vec<f32>> {
    let mut sampler = match BatchSampler::new(dataset, batch_size, seed) {
        Ok(sampler) => sampler,
        Err(error) => panic!("batch size {batch_size}: {error}"),
    };
    (0..count).map(|_| sampler.next_batch()).collect()
}

#[test]
fn sampler_same_seed_same_batches() {
    let dataset = embedded_dataset();
    let first = draw_batches(&dataset, 64, 42, 5);
    let second = draw_batches(&dataset, 64, 42, 5);
    assert!(
        first == second,
        "seed 42, 5 batches of 64: two samplers differ"
    );
}

#[test]
fn sampler_different_seed_differs() {
    let dataset = embedded_dataset();
    let first = draw_batches(&dataset, 64, 42, 1);
    let second = draw_batches(&dataset, 64, 43, 1);
    assert!(
        first != second,
        "seeds 42 and 43: first batches of 64 are equal"
    );
}

#[test]
fn sampler_values_in_unit_range() {
    let dataset = embedded_dataset();
    let batches = draw_batches(&dataset, 128, 3, 3);
    for (number, batch) in batches.iter().enumerate() {
        assert_eq!(batch.len(), 128 * 784, "batch {number} length");
        let outside = batch.iter().find(|value| !(0.0..=1.0).contains(*value));
        assert_eq!(outside, None, "batch {number}: value outside [0, 1]");
    }
    let max = batches.iter().flatten().copied().fold(0.0_f32, f32::max);
    assert_eq!(max, 1.0, "largest value of 3 batches: expected 255 / 255");
}

#[test]
fn sampler_covers_each_epoch_once() {
    let dataset = embedded_dataset();
    // 10,000 is not a multiple of 96, so batches straddle the epoch ends.
    let mut sampler = match BatchSampler::new(&dataset, 96, 11) {
        Ok(sampler) => sampler,
        Err(error) => panic!("batch size 96: {error}"),
    };
    let epochs = 3;
    let mut drawn = Vec::new();
    while drawn.len() < epochs * dataset.len() {
        drawn.extend_from_slice(sampler.next_indices());
    }
    for (epoch, chunk) in drawn.chunks(dataset.len()).take(epochs).enumerate() {
        let mut seen = vec![0_u32; dataset.len()];
        for &index in chunk {
            seen[index] += 1;
        }
        let wrong = seen.iter().position(|&times| times != 1);
        assert_eq!(
            wrong, None,
            "seed 11, batch 96: epoch {epoch} did not draw every image exactly once"
        );
    }
    let first_epoch = &drawn[..dataset.len()];
    let second_epoch = &drawn[dataset.len()..2 * dataset.len()];
    assert!(
        first_epoch != second_epoch,
        "seed 11: the second epoch repeats the order of the first"
    );
}

#[test]
fn sampler_batch_matches_indices() {
    let dataset = embedded_dataset();
    let Ok(mut sampler) = BatchSampler::new(&dataset, 8, 5) else {
        panic!("batch size 8 rejected");
    };
    let indices = sampler.clone().next_indices().to_vec();
    let mut batch = vec![7.0; 3];
    sampler.fill_batch(&mut batch);
    let expected: Vec<f32> = indices
        .iter()
        .filter_map(|&index| dataset.image(index))
        .flatten()
        .map(|&pixel| f32::from(pixel) / 255.0)
        .collect();
    assert!(
        batch == expected,
        "seed 5, indices {indices:?}: batch is not their pixels / 255"
    );
}
