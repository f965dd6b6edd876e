//! One test per input error kind of every parser: IDX, `.npy` and number lists.
//!
//! Each test checks that the message states what is wrong, where (file, byte offset, line or
//! index) and what to do, as a user reading only the message would need.

use std::io::Write;
use std::path::Path;

use bcegan::cli::loss::{LossArgs, run};
use bcegan::data::idx::{MAX_DATA_BYTES, check_labels};
use bcegan::data::{DataError, IMAGES_MAGIC, LABELS_MAGIC, parse_images, parse_labels};
use bcegan::numbers::{NpyError, NumbersError, Precision, decode_npy, parse_number_bytes};
use clap::Parser;
use flate2::Compression;
use flate2::write::GzEncoder;

/// Asserts that `message` contains every needle, naming the case on failure.
fn assert_mentions(case: &str, message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            message.contains(needle),
            "{case}: expected {needle:?} in the message, got {message:?}"
        );
    }
}

/// Returns the message of an error result, panicking on success.
fn message<T: std::fmt::Debug, E: std::fmt::Display>(case: &str, result: Result<T, E>) -> String {
    match result {
        Ok(value) => panic!("{case}: expected an error, got {value:?}"),
        Err(error) => error.to_string(),
    }
}

fn idx_header(magic: u32, dimensions: &[u32]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for dimension in dimensions {
        bytes.extend_from_slice(&dimension.to_be_bytes());
    }
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    if let Err(error) = encoder.write_all(bytes) {
        panic!("gzip failed: {error}");
    }
    match encoder.finish() {
        Ok(compressed) => compressed,
        Err(error) => panic!("gzip failed: {error}"),
    }
}

#[test]
fn idx_wrong_magic_message() {
    let mut bytes = idx_header(0x1234_5678, &[1, 1, 1]);
    bytes.push(0);
    let text = message("magic 0x12345678", parse_images(&bytes, "x.idx"));
    assert_mentions(
        "magic 0x12345678",
        &text,
        &[
            "x.idx",
            "0x12345678",
            "byte 0",
            "not an MNIST-format IDX file",
        ],
    );
}

#[test]
fn idx_zero_dimension_message() {
    let bytes = idx_header(IMAGES_MAGIC, &[2, 0, 3]);
    let text = message("rows 0", parse_images(&bytes, "zero.idx"));
    assert_mentions(
        "rows 0",
        &text,
        &[
            "zero.idx",
            "dimension 1",
            "byte 8",
            "is 0",
            "at least one element",
        ],
    );
}

#[test]
fn idx_huge_dimensions_rejected_before_reading() {
    // 65,537 images of 256 x 256 declare 4 GiB + 64 KiB, just past the limit, in a file
    // with no data at all.
    let bytes = idx_header(IMAGES_MAGIC, &[65_537, 256, 256]);
    let result = parse_images(&bytes, "huge.idx");
    assert!(
        matches!(&result, Err(DataError::TooLarge { declared, limit, .. })
            if *declared == 65_537 * 256 * 256 && *limit == MAX_DATA_BYTES),
        "[65537, 256, 256]: expected TooLarge, got {result:?}"
    );
    let text = message("huge", result);
    assert_mentions(
        "huge",
        &text,
        &[
            "huge.idx",
            "byte 4",
            "4295032832",
            "limit",
            "header is corrupt",
        ],
    );
}

#[test]
fn idx_overflowing_dimensions_message() {
    let bytes = idx_header(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX]);
    let text = message("overflow", parse_images(&bytes, "overflow.idx"));
    assert_mentions(
        "overflow",
        &text,
        &["overflow.idx", "byte 4", "4294967295", "header is corrupt"],
    );
}

#[test]
fn idx_truncated_header_message() {
    let bytes = idx_header(IMAGES_MAGIC, &[1, 1]);
    let text = message("header cut at 12", parse_images(&bytes, "short.idx"));
    assert_mentions(
        "header cut at 12",
        &text,
        &["short.idx", "byte 12", "16", "download it again"],
    );
}

#[test]
fn idx_truncated_data_message() {
    let mut bytes = idx_header(LABELS_MAGIC, &[5]);
    bytes.extend_from_slice(&[1, 2, 3]);
    let text = message("3 of 5 labels", parse_labels(&bytes, "labels.idx"));
    assert_mentions(
        "3 of 5 labels",
        &text,
        &["labels.idx", "byte 11", "13 bytes", "download it again"],
    );
}

#[test]
fn idx_trailing_garbage_message() {
    let mut bytes = idx_header(LABELS_MAGIC, &[2]);
    bytes.extend_from_slice(&[1, 2, 0xde, 0xad]);
    let text = message("2 extra bytes", parse_labels(&bytes, "labels.idx"));
    assert_mentions(
        "2 extra bytes",
        &text,
        &["labels.idx", "declares 10 bytes", "has 12", "corrupt"],
    );
}

#[test]
fn idx_gzip_bomb_stops_counting() {
    // 2 labels followed by 100 MiB of zeros, which compress to about 100 KiB: the reader
    // must stop counting at its 64 MiB limit and report the count as a lower bound.
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    let chunk = vec![0_u8; 1 << 20];
    let mut header = idx_header(LABELS_MAGIC, &[2]);
    header.extend_from_slice(&[1, 2]);
    let written = encoder
        .write_all(&header)
        .and_then(|()| (0..100).try_for_each(|_| encoder.write_all(&chunk)));
    if let Err(error) = written {
        panic!("gzip failed: {error}");
    }
    let compressed = match encoder.finish() {
        Ok(compressed) => compressed,
        Err(error) => panic!("gzip failed: {error}"),
    };
    let result = parse_labels(&compressed, "bomb.gz");
    assert!(
        matches!(
            &result,
            Err(DataError::TrailingBytes {
                counted_all: false,
                ..
            })
        ),
        "100 MiB of trailing zeros: expected TrailingBytes counted up to the limit, got {result:?}"
    );
    let text = message("bomb", result);
    assert_mentions("bomb", &text, &["bomb.gz", "declares 10 bytes", "at least"]);
}

#[test]
fn idx_gzip_declaring_more_than_present() {
    // The header declares 4 GiB - 1 labels, and the gzip stream contains 3. Nothing near the
    // declared size may be reserved (the test would abort on allocation failure).
    let mut bytes = idx_header(LABELS_MAGIC, &[u32::MAX]);
    bytes.extend_from_slice(&[1, 2, 3]);
    let text = message("declared 4 GiB", parse_labels(&gzip(&bytes), "big.gz"));
    assert_mentions(
        "declared 4 GiB",
        &text,
        &["big.gz", "ends at byte 11", "4294967303"],
    );
}

#[test]
fn idx_bad_gzip_message() {
    let mut bytes = gzip(&idx_header(LABELS_MAGIC, &[1]));
    // A gzip header followed by a deflate block of reserved type 3.
    bytes.truncate(10);
    bytes.extend_from_slice(&[0xff; 8]);
    let text = message("bad deflate", parse_labels(&bytes, "bad.gz"));
    assert_mentions(
        "bad deflate",
        &text,
        &[
            "bad.gz",
            "invalid gzip data",
            "after 0 decompressed bytes",
            "download it again",
        ],
    );
}

#[test]
fn idx_label_out_of_range_message() {
    let labels = [0_u8, 9, 10, 3];
    let result = check_labels(&labels, 10, "labels.idx");
    assert!(
        matches!(
            result,
            Err(DataError::LabelOutOfRange {
                index: 2,
                offset: 10,
                label: 10,
                classes: 10,
                ..
            })
        ),
        "labels {labels:?} with 10 classes: expected label 10 at index 2, got {result:?}"
    );
    let text = message("label 10", result);
    assert_mentions(
        "label 10",
        &text,
        &[
            "labels.idx",
            "label 10",
            "index 2",
            "byte 10",
            "labels 0 to 9",
        ],
    );
    let valid = check_labels(&[0, 9], 10, "labels.idx");
    assert!(
        valid.is_ok(),
        "labels [0, 9] with 10 classes: got {valid:?}"
    );
}

/// `.npy` version 1.0 bytes with the header dictionary `dict`.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_owned();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let length = u16::try_from(header.len()).unwrap_or(u16::MAX);
    bytes.extend_from_slice(&length.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

fn npy_message(case: &str, bytes: &[u8]) -> String {
    message(
        case,
        parse_number_bytes(bytes, Path::new("a.npy"), Precision::F64),
    )
}

#[test]
fn npy_unsupported_dtype_message() {
    let bytes = npy(
        "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
        &[0; 16],
    );
    let text = npy_message("complex", &bytes);
    assert_mentions(
        "complex",
        &text,
        &[
            "a.npy",
            "unsupported dtype `<c16`",
            "<f8",
            "astype(numpy.float64)",
        ],
    );
}

#[test]
fn npy_fortran_order_message() {
    let bytes = npy(
        "{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }",
        &[0; 8],
    );
    let text = npy_message("fortran", &bytes);
    assert_mentions(
        "fortran",
        &text,
        &["a.npy", "fortran_order is True", "ascontiguousarray"],
    );
}

#[test]
fn npy_wrong_shape_message() {
    // The shape declares 3 elements, and the data contains 2.
    let bytes = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
        &[0; 16],
    );
    let text = npy_message("shape (3,) with 2 elements", &bytes);
    assert_mentions(
        "shape (3,) with 2 elements",
        &text,
        &[
            "a.npy",
            "from byte 128",
            "16 bytes",
            "[3]",
            "24 bytes",
            "save or copy it again",
        ],
    );

    let bytes = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }",
        &[0; 8],
    );
    let result = decode_npy(&bytes);
    assert!(
        matches!(result, Err(NpyError::InvalidHeader { offset: 61, .. })),
        "shape (-1,): expected InvalidHeader at byte 61, got {result:?}"
    );
    let text = npy_message("shape (-1,)", &bytes);
    assert_mentions(
        "shape (-1,)",
        &text,
        &["invalid header at byte 61", "a dimension", "numpy.save"],
    );
}

#[test]
fn npy_truncated_message() {
    let full = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
        &[0; 8],
    );
    let text = npy_message("cut at 30", &full[..30]);
    assert_mentions(
        "cut at 30",
        &text,
        &["a.npy", "ends at byte 30", "128 bytes", "incomplete"],
    );
    let text = npy_message("cut at 132", &full[..132]);
    assert_mentions(
        "cut at 132",
        &text,
        &["from byte 128", "4 bytes", "8 bytes"],
    );
}

#[test]
fn npy_unsupported_version_message() {
    let mut bytes = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
        &[0; 8],
    );
    bytes[6] = 9;
    let text = npy_message("version 9", &bytes);
    assert_mentions(
        "version 9",
        &text,
        &["version 9.0 at byte 6", "1.0, 2.0 or 3.0", "numpy.save"],
    );
}

#[test]
fn text_not_utf8_message() {
    let result = parse_number_bytes(b"0.5, \xff\xfe", Path::new("v.txt"), Precision::F64);
    assert!(
        matches!(result, Err(NumbersError::NotText { offset: 5, .. })),
        "invalid UTF-8 at byte 5: got {result:?}"
    );
    let text = message("not UTF-8", result);
    assert_mentions("not UTF-8", &text, &["v.txt", "byte 5", "save the numbers"]);
}

/// Runs `bcegan loss ARGS` in the library and returns the error message.
fn loss_error(args: &[&str]) -> String {
    let argv = std::iter::once("loss").chain(args.iter().copied());
    let parsed = match LossArgs::try_parse_from(argv) {
        Ok(parsed) => parsed,
        Err(error) => panic!("args {args:?}: parsing failed: {error}"),
    };
    let mut out = Vec::new();
    match run(&parsed, &mut out) {
        Ok(()) => panic!(
            "args {args:?}: expected an error, got {:?}",
            String::from_utf8_lossy(&out)
        ),
        Err(error) => {
            assert_eq!(error.exit_code(), 2, "args {args:?}: exit code of {error}");
            error.to_string()
        }
    }
}

#[test]
fn list_empty_message() {
    let args = ["--probs", "", "--targets", ""];
    let text = loss_error(&args);
    assert_mentions(
        "empty lists",
        &text,
        &["empty input", "at least one element", "--reduction sum"],
    );
}

#[test]
fn list_empty_item_message() {
    let args = ["--probs", "0.5,,0.2", "--targets", "1,0,1"];
    let text = loss_error(&args);
    assert_mentions(
        "empty item",
        &text,
        &["--probs", "item 1", "empty", "remove the extra comma"],
    );
}

#[test]
fn list_non_numeric_message() {
    let args = ["--probs", "0.5,abc", "--targets", "1,0"];
    let text = loss_error(&args);
    assert_mentions(
        "non-numeric",
        &text,
        &[
            "--probs",
            "item 1",
            "`abc`",
            "is not a number",
            "such as 0.25",
        ],
    );
}

#[test]
fn list_non_numeric_in_file_message() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("temporary directory: {error}"),
    };
    let path = dir.path().join("targets.txt");
    if let Err(error) = std::fs::write(&path, "1\n0, 1\n# note\n0 x1\n") {
        panic!("writing {}: {error}", path.display());
    }
    let argument = format!("@{}", path.display());
    let args = ["--probs", "0.1,0.2,0.3,0.4,0.5", "--targets", &argument];
    let text = loss_error(&args);
    assert_mentions(
        "non-numeric in file",
        &text,
        &[
            "targets.txt",
            "line 4",
            "column 3",
            "`x1`",
            "is not a number",
        ],
    );
}

#[test]
fn list_nan_message() {
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &["--probs", "0.5,nan", "--targets", "1,0"],
            &["index 1", "NaN", "remove it"],
        ),
        (
            &["--logits", "0.5,1", "--targets", "nan,0"],
            &["target", "index 0", "NaN"],
        ),
        (
            &[
                "--logits",
                "0.5,1",
                "--targets",
                "1,0",
                "--weights",
                "1,nan",
            ],
            &["weights", "index 1", "NaN", "remove it"],
        ),
    ];
    for (args, needles) in cases {
        let text = loss_error(args);
        assert_mentions(&format!("{args:?}"), &text, needles);
    }
}

#[test]
fn list_infinity_where_not_allowed_message() {
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["--probs", "inf,0.5", "--targets", "1,0"],
            &[
                "probability at index 0 is inf",
                "outside [0, 1]",
                "--logits",
            ],
        ),
        (
            &["--logits", "0.5,1", "--targets", "1,-inf"],
            &["target at index 1 is -inf", "outside [0, 1]"],
        ),
        (
            &[
                "--logits",
                "0.5,1",
                "--targets",
                "1,0",
                "--weights",
                "inf,1",
            ],
            &["index 0 is inf", "finite and non-negative"],
        ),
        (
            &[
                "--logits",
                "0.5,1",
                "--targets",
                "1,0",
                "--pos-weight",
                "inf",
            ],
            &["index 0 is inf", "finite and non-negative"],
        ),
    ];
    for (args, needles) in cases {
        let text = loss_error(args);
        assert_mentions(&format!("{args:?}"), &text, needles);
    }
}

#[test]
fn list_infinite_logits_accepted() {
    let args = ["loss", "--logits", "inf,-inf", "--targets", "1,0", "--json"];
    let parsed = match LossArgs::try_parse_from(args) {
        Ok(parsed) => parsed,
        Err(error) => panic!("args {args:?}: parsing failed: {error}"),
    };
    let mut out = Vec::new();
    let result = run(&parsed, &mut out);
    let printed = String::from_utf8_lossy(&out);
    assert!(
        result.is_ok() && printed.contains("\"loss\":0"),
        "args {args:?}: expected loss 0, got {result:?} with output {printed:?}"
    );
}
