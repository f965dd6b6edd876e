//! Tests of the number-list readers: comma lists, text files and `.npy` files.

use std::path::PathBuf;

use super::*;

/// Builds `.npy` bytes by hand: magic, version, padded header, data.
fn npy_bytes(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let length_size = if major == 1 { 2 } else { 4 };
    let preamble = 8 + length_size;
    // numpy pads the header with spaces and a final newline to a multiple of 64 bytes.
    let unpadded = preamble + header.len() + 1;
    let padding = (64 - unpadded % 64) % 64;
    let mut text = header.to_owned();
    text.push_str(&" ".repeat(padding));
    text.push('\n');

    let mut bytes = NPY_MAGIC.to_vec();
    bytes.extend_from_slice(&[major, 0]);
    if major == 1 {
        let length = u16::try_from(text.len()).unwrap_or(u16::MAX);
        bytes.extend_from_slice(&length.to_le_bytes());
    } else {
        let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&length.to_le_bytes());
    }
    bytes.extend_from_slice(text.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

fn header(descr: &str, fortran_order: &str, shape: &str) -> String {
    format!("{{'descr': '{descr}', 'fortran_order': {fortran_order}, 'shape': {shape}, }}")
}

fn f64_data(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    let written = std::fs::write(&path, bytes);
    assert!(written.is_ok(), "writing {}: {written:?}", path.display());
    path
}

fn temp_dir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("creating a temporary directory failed: {error}"),
    }
}

/// Compares bit patterns so that NaN equals NaN.
fn same_values(actual: &[f64], expected: &[f64]) -> bool {
    actual.len() == expected.len()
        && actual
            .iter()
            .zip(expected)
            .all(|(a, e)| a.to_bits() == e.to_bits() || (a.is_nan() && e.is_nan()))
}

#[test]
fn comma_list_plain_numbers() {
    let input = " 0.5, 1 ,-2e-3,7";
    let actual = parse_number_list(input, Precision::F64);
    let expected = [0.5, 1.0, -2e-3, 7.0];
    assert!(
        matches!(&actual, Ok(values) if same_values(values, &expected)),
        "input {input:?}: expected {expected:?}, got {actual:?}"
    );
}

#[test]
fn comma_list_non_finite_words() {
    let input = "inf,-inf,+inf,nan,INF,-Inf,NaN,infinity";
    let actual = parse_number_list(input, Precision::F64);
    let inf = f64::INFINITY;
    let expected = [inf, -inf, inf, f64::NAN, inf, -inf, f64::NAN, inf];
    assert!(
        matches!(&actual, Ok(values) if same_values(values, &expected)),
        "input {input:?}: expected {expected:?}, got {actual:?}"
    );
}

#[test]
fn comma_list_blank_is_empty() {
    for input in ["", "   "] {
        let actual = parse_number_list(input, Precision::F64);
        assert!(
            matches!(&actual, Ok(values) if values.is_empty()),
            "input {input:?}: expected an empty list, got {actual:?}"
        );
    }
}

#[test]
fn comma_list_lone_comma_rejected() {
    let input = ",";
    let actual = parse_number_list(input, Precision::F64);
    assert!(
        matches!(actual, Err(NumbersError::EmptyItem { index: 0 })),
        "input {input:?}: expected EmptyItem at 0, got {actual:?}"
    );
}

#[test]
fn comma_list_overflow_rejected() {
    let cases = [
        (
            "1e400",
            Precision::F64,
            RangeProblem::Overflow(Precision::F64),
        ),
        (
            "-1e400",
            Precision::F64,
            RangeProblem::Overflow(Precision::F64),
        ),
        (
            "1e39",
            Precision::F32,
            RangeProblem::Overflow(Precision::F32),
        ),
        (
            "-3.5e38",
            Precision::F32,
            RangeProblem::Overflow(Precision::F32),
        ),
        (
            "1e-400",
            Precision::F64,
            RangeProblem::Underflow(Precision::F64),
        ),
        (
            "-2e-324",
            Precision::F64,
            RangeProblem::Underflow(Precision::F64),
        ),
        (
            "1e-50",
            Precision::F32,
            RangeProblem::Underflow(Precision::F32),
        ),
        (
            "0.0000001e-40",
            Precision::F32,
            RangeProblem::Underflow(Precision::F32),
        ),
    ];
    for (item, precision, expected) in cases {
        let input = format!("0.5,{item}");
        let actual = parse_number_list(&input, precision);
        assert!(
            matches!(
                &actual,
                Err(NumbersError::ItemOutOfRange { index: 1, text, problem })
                    if text == item && *problem == expected
            ),
            "input {input:?} in {precision}: expected {expected:?} at item 1, got {actual:?}"
        );
    }
}

#[test]
fn comma_list_range_message_names_precision() {
    let cases = [
        ("1e400", Precision::F64, "outside the f64 range"),
        ("1e39", Precision::F32, "--dtype f64"),
        ("1e-50", Precision::F32, "rounds to 0 in f32"),
    ];
    for (input, precision, needle) in cases {
        let message = parse_number_list(input, precision)
            .map_err(|error| error.to_string())
            .err();
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains(needle) && m.contains(input)),
            "input {input:?} in {precision}: expected {needle:?} and the item, got {message:?}"
        );
    }
}

#[test]
fn comma_list_zeros_and_words_accepted() {
    let input = "0,-0,0.000,0e-400,0e400,inf,-infinity,nan,1e-45,3.4028235e38";
    let inf = f64::INFINITY;
    let tiny = f64::from(f32::from_bits(1));
    let largest = f64::from(f32::MAX);
    let expected = [0.0, -0.0, 0.0, 0.0, 0.0, inf, -inf, f64::NAN, tiny, largest];
    let actual = parse_number_list(input, Precision::F32);
    assert!(
        matches!(&actual, Ok(values) if same_values(values, &expected)),
        "input {input:?} in f32: expected {expected:?}, got {actual:?}"
    );
}

#[test]
fn comma_list_f32_rounded_once() {
    // 0.9 read as f32 is the f32 nearest to 0.9, widened exactly.
    let input = "0.9,0.1";
    let expected = [f64::from(0.9f32), f64::from(0.1f32)];
    let actual = parse_number_list(input, Precision::F32);
    assert!(
        matches!(&actual, Ok(values) if same_values(values, &expected)),
        "input {input:?} in f32: expected {expected:?}, got {actual:?}"
    );
}

#[test]
fn comma_list_empty_item_named() {
    for (input, expected_index) in [("1,,2", 1), (",1", 0), ("1,2,", 2), ("1, ,2", 1)] {
        let actual = parse_number_list(input, Precision::F64);
        assert!(
            matches!(actual, Err(NumbersError::EmptyItem { index }) if index == expected_index),
            "input {input:?}: expected EmptyItem at {expected_index}, got {actual:?}"
        );
    }
}

#[test]
fn comma_list_bad_number_named() {
    let input = "0.5, abc ,1";
    let actual = parse_number_list(input, Precision::F64);
    assert!(
        matches!(&actual, Err(NumbersError::InvalidItem { index: 1, text }) if text == "abc"),
        "input {input:?}: expected InvalidItem 1 `abc`, got {actual:?}"
    );
    let message = actual.map_err(|error| error.to_string()).err();
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("`abc`") && m.contains("item 1")),
        "input {input:?}: message should name item 1 and `abc`, got {message:?}"
    );
}

#[test]
fn at_sign_without_path_rejected() {
    let actual = parse_number_list("@", Precision::F64);
    assert!(
        matches!(actual, Err(NumbersError::MissingPath)),
        "input \"@\": expected MissingPath, got {actual:?}"
    );
}

#[test]
fn text_file_mixed_separators() {
    let dir = temp_dir();
    let text = "# header from np.savetxt\n0.25, 0.5\n\n1 2\t3,\n-inf nan\n";
    let path = write_file(&dir, "values.txt", text.as_bytes());
    let actual = parse_number_list(&format!("@{}", path.display()), Precision::F64);
    let expected = [0.25, 0.5, 1.0, 2.0, 3.0, f64::NEG_INFINITY, f64::NAN];
    assert!(
        matches!(&actual, Ok(values) if same_values(values, &expected)),
        "file {text:?}: expected {expected:?}, got {actual:?}"
    );
}

#[test]
fn text_file_bad_item_located() {
    let dir = temp_dir();
    let text = "1, 2\n3, x4, 5\n";
    let path = write_file(&dir, "values.txt", text.as_bytes());
    let actual = read_number_file(&path, Precision::F64);
    assert!(
        matches!(
            &actual,
            Err(NumbersError::InvalidFileItem { line: 2, column: 4, text, .. }) if text == "x4"
        ),
        "file {text:?}: expected `x4` at line 2 column 4, got {actual:?}"
    );
}

#[test]
fn text_file_empty_item_located() {
    let dir = temp_dir();
    let text = "1,2\n3,,4\n";
    let path = write_file(&dir, "values.txt", text.as_bytes());
    let actual = read_number_file(&path, Precision::F64);
    assert!(
        matches!(
            actual,
            Err(NumbersError::EmptyFileItem {
                line: 2,
                column: 3,
                ..
            })
        ),
        "file {text:?}: expected empty item at line 2 column 3, got {actual:?}"
    );
}

#[test]
fn text_file_without_numbers_empty() {
    let dir = temp_dir();
    for text in ["", "\n\n", "# only a comment\n", "\u{feff}"] {
        let path = write_file(&dir, "empty.txt", text.as_bytes());
        let actual = read_number_file(&path, Precision::F64);
        assert!(
            matches!(&actual, Ok(values) if values.is_empty()),
            "file {text:?}: expected an empty list, got {actual:?}"
        );
    }
}

#[test]
fn text_file_byte_order_mark_skipped() {
    let dir = temp_dir();
    let text = "\u{feff}0.1, 0.2\n0.3\n";
    let path = write_file(&dir, "bom.txt", text.as_bytes());
    let actual = read_number_file(&path, Precision::F64);
    let expected = [0.1, 0.2, 0.3];
    assert!(
        matches!(&actual, Ok(values) if same_values(values, &expected)),
        "file {text:?}: expected {expected:?}, got {actual:?}"
    );
}

#[test]
fn text_file_bom_column_counted_after() {
    let dir = temp_dir();
    let text = "\u{feff}x, 1\n";
    let path = write_file(&dir, "bom.txt", text.as_bytes());
    let actual = read_number_file(&path, Precision::F64);
    assert!(
        matches!(
            &actual,
            Err(NumbersError::InvalidFileItem { line: 1, column: 1, text, .. }) if text == "x"
        ),
        "file {text:?}: expected `x` at line 1 column 1, got {actual:?}"
    );
}

#[test]
fn text_file_out_of_range_located() {
    let dir = temp_dir();
    let text = "1, 2\n3, 1e-50\n";
    let path = write_file(&dir, "values.txt", text.as_bytes());
    let actual = read_number_file(&path, Precision::F32);
    assert!(
        matches!(
            &actual,
            Err(NumbersError::FileItemOutOfRange {
                line: 2,
                column: 4,
                text,
                problem: RangeProblem::Underflow(Precision::F32),
                ..
            }) if text == "1e-50"
        ),
        "file {text:?} in f32: expected underflow of `1e-50` at line 2 column 4, got {actual:?}"
    );
}

#[test]
fn npy_empty_array_is_empty() {
    let dir = temp_dir();
    let bytes = npy_bytes(1, &header("<f8", "False", "(0,)"), &[]);
    let path = write_file(&dir, "empty.npy", &bytes);
    let actual = read_number_file(&path, Precision::F32);
    assert!(
        matches!(&actual, Ok(values) if values.is_empty()),
        "npy <f8 (0,): expected an empty list, got {actual:?}"
    );
}

#[test]
fn npy_f8_rounded_to_f32() {
    let dir = temp_dir();
    let values = [0.9, -0.0, f64::INFINITY];
    let bytes = npy_bytes(1, &header("<f8", "False", "(3,)"), &f64_data(&values));
    let path = write_file(&dir, "values.npy", &bytes);
    let actual = read_number_file(&path, Precision::F32);
    let expected = [f64::from(0.9f32), -0.0, f64::INFINITY];
    assert!(
        matches!(&actual, Ok(read) if same_values(read, &expected)),
        "npy <f8 {values:?} in f32: expected {expected:?}, got {actual:?}"
    );
}

#[test]
fn npy_f8_out_of_f32_range_rejected() {
    let dir = temp_dir();
    let cases = [
        (1e39, RangeProblem::Overflow(Precision::F32)),
        (-1e-50, RangeProblem::Underflow(Precision::F32)),
    ];
    for (value, expected) in cases {
        let bytes = npy_bytes(1, &header("<f8", "False", "(2,)"), &f64_data(&[0.5, value]));
        let path = write_file(&dir, "values.npy", &bytes);
        let actual = read_number_file(&path, Precision::F32);
        assert!(
            matches!(
                &actual,
                Err(NumbersError::NpyItemOutOfRange { index: 1, value: v, problem, .. })
                    if v.to_bits() == value.to_bits() && *problem == expected
            ),
            "npy <f8 [0.5, {value:e}] in f32: expected {expected:?} at 1, got {actual:?}"
        );
    }
}

#[test]
fn missing_file_reports_path() {
    let dir = temp_dir();
    let path = dir.path().join("absent.txt");
    let actual = read_number_file(&path, Precision::F64);
    let message = actual.as_ref().map_err(ToString::to_string).err();
    assert!(
        message.as_deref().is_some_and(|m| m.contains("absent.txt")),
        "path {}: expected a read error naming the file, got {actual:?}",
        path.display()
    );
}

#[test]
fn binary_non_npy_file_rejected() {
    let dir = temp_dir();
    let path = write_file(&dir, "values.bin", &[0xff, 0xfe, 0x00, 0x80]);
    let actual = read_number_file(&path, Precision::F64);
    assert!(
        matches!(actual, Err(NumbersError::NotText { .. })),
        "binary file: expected NotText, got {actual:?}"
    );
}

#[test]
fn npy_f8_version_1_read_from_file() {
    let dir = temp_dir();
    let values = [0.0, 1.0, -2.5, f64::INFINITY];
    let bytes = npy_bytes(1, &header("<f8", "False", "(4,)"), &f64_data(&values));
    // A name without `.npy`: the magic string decides the format.
    let path = write_file(&dir, "values.data", &bytes);
    let actual = parse_number_list(&format!("@{}", path.display()), Precision::F64);
    assert!(
        matches!(&actual, Ok(read) if same_values(read, &values)),
        "npy <f8 (4,): expected {values:?}, got {actual:?}"
    );
}

#[test]
fn npy_f4_2d_flattened_c_order() {
    let values = [0.5f32, 0.25, 1.0, 0.0, 0.125, 0.75];
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let bytes = npy_bytes(1, &header("<f4", "False", "(2, 3)"), &data);
    let actual = decode_npy(&bytes);
    let expected: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    assert!(
        matches!(&actual, Ok(read) if same_values(read, &expected)),
        "npy <f4 (2, 3): expected {expected:?}, got {actual:?}"
    );
}

#[test]
fn npy_versions_2_and_3_read() {
    let values = [0.1, 0.9];
    for major in [2, 3] {
        let bytes = npy_bytes(major, &header("<f8", "False", "(2,)"), &f64_data(&values));
        let actual = decode_npy(&bytes);
        assert!(
            matches!(&actual, Ok(read) if same_values(read, &values)),
            "npy version {major}.0: expected {values:?}, got {actual:?}"
        );
    }
}

#[test]
fn npy_integer_dtypes_read() {
    let cases: Vec<(&str, Vec<u8>, Vec<f64>)> = vec![
        ("|u1", vec![0, 1, 255], vec![0.0, 1.0, 255.0]),
        ("|i1", vec![0, 1, 0xff], vec![0.0, 1.0, -1.0]),
        (
            "<i4",
            [-3i32, 0, 7].iter().flat_map(|v| v.to_le_bytes()).collect(),
            vec![-3.0, 0.0, 7.0],
        ),
        (
            "<i8",
            [-3i64, 0, 1 << 40]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            vec![-3.0, 0.0, 2f64.powi(40)],
        ),
        (
            ">i4",
            [-3i32, 0, 7].iter().flat_map(|v| v.to_be_bytes()).collect(),
            vec![-3.0, 0.0, 7.0],
        ),
    ];
    for (descr, data, expected) in cases {
        let bytes = npy_bytes(1, &header(descr, "False", "(3,)"), &data);
        let actual = decode_npy(&bytes);
        assert!(
            matches!(&actual, Ok(read) if same_values(read, &expected)),
            "npy {descr}: expected {expected:?}, got {actual:?}"
        );
    }
}

#[test]
fn npy_big_endian_floats_read() {
    let values = [0.5, -1.0, f64::NAN];
    let data8: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let data4: Vec<u8> = values
        .iter()
        .flat_map(|&v| (v as f32).to_be_bytes())
        .collect();
    for (descr, data) in [(">f8", data8), (">f4", data4)] {
        let bytes = npy_bytes(1, &header(descr, "False", "(3,)"), &data);
        let actual = decode_npy(&bytes);
        assert!(
            matches!(&actual, Ok(read) if same_values(read, &values)),
            "npy {descr}: expected {values:?}, got {actual:?}"
        );
    }
}

#[test]
fn npy_scalar_shape_one_element() {
    let bytes = npy_bytes(1, &header("<f8", "False", "()"), &f64_data(&[0.75]));
    let actual = decode_npy(&bytes);
    assert!(
        matches!(&actual, Ok(read) if same_values(read, &[0.75])),
        "npy shape (): expected [0.75], got {actual:?}"
    );
}

#[test]
fn npy_keys_in_any_order() {
    let text = "{\"shape\": (1,), \"fortran_order\": False, \"descr\": \"<f8\"}";
    let bytes = npy_bytes(1, text, &f64_data(&[2.0]));
    let actual = decode_npy(&bytes);
    assert!(
        matches!(&actual, Ok(read) if same_values(read, &[2.0])),
        "npy header {text:?}: expected [2.0], got {actual:?}"
    );
}

#[test]
fn npy_fortran_order_rejected() {
    let bytes = npy_bytes(1, &header("<f8", "True", "(2, 2)"), &f64_data(&[0.0; 4]));
    let actual = decode_npy(&bytes);
    assert_eq!(
        actual,
        Err(NpyError::FortranOrder),
        "npy fortran_order True: expected FortranOrder, got {actual:?}"
    );
}

#[test]
fn npy_truncated_data_reports_sizes() {
    let bytes = npy_bytes(1, &header("<f8", "False", "(3,)"), &f64_data(&[1.0, 2.0]));
    let actual = decode_npy(&bytes);
    assert!(
        matches!(
            actual,
            Err(NpyError::DataLength {
                expected: 24,
                actual: 16,
                ..
            })
        ),
        "npy (3,) with 2 elements: expected DataLength 24 vs 16, got {actual:?}"
    );
    let message = actual.map_err(|e| e.to_string()).err();
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("24") && m.contains("16")),
        "message should give both sizes, got {message:?}"
    );
}

#[test]
fn npy_extra_data_rejected() {
    let bytes = npy_bytes(1, &header("<f8", "False", "(1,)"), &f64_data(&[1.0, 2.0]));
    let actual = decode_npy(&bytes);
    assert!(
        matches!(
            actual,
            Err(NpyError::DataLength {
                expected: 8,
                actual: 16,
                ..
            })
        ),
        "npy (1,) with 2 elements: expected DataLength 8 vs 16, got {actual:?}"
    );
}

#[test]
fn npy_huge_shape_not_allocated() {
    // The shape claims about 10^18 elements; the check must fail before any allocation.
    let bytes = npy_bytes(1, &header("<f8", "False", "(1000000000, 1000000000)"), &[]);
    let actual = decode_npy(&bytes);
    assert!(
        matches!(
            actual,
            Err(NpyError::DataLength { .. } | NpyError::ShapeOverflow { .. })
        ),
        "npy huge shape: expected DataLength or ShapeOverflow, got {actual:?}"
    );
    let overflowing = npy_bytes(
        1,
        &header("<f8", "False", "(4294967296, 4294967296, 4294967296)"),
        &[],
    );
    let actual = decode_npy(&overflowing);
    assert!(
        matches!(actual, Err(NpyError::ShapeOverflow { .. })),
        "npy overflowing shape: expected ShapeOverflow, got {actual:?}"
    );
}

#[test]
fn npy_truncated_header_rejected() {
    let full = npy_bytes(1, &header("<f8", "False", "(1,)"), &f64_data(&[1.0]));
    for cut in [7, 9, 20] {
        let actual = decode_npy(&full[..cut]);
        assert!(
            matches!(actual, Err(NpyError::TruncatedHeader { actual, .. }) if actual == cut),
            "npy cut to {cut} bytes: expected TruncatedHeader, got {actual:?}"
        );
    }
}

#[test]
fn npy_header_length_beyond_file() {
    let mut bytes = NPY_MAGIC.to_vec();
    bytes.extend_from_slice(&[2, 0]);
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    bytes.extend_from_slice(b"{'descr'");
    let actual = decode_npy(&bytes);
    assert!(
        matches!(actual, Err(NpyError::TruncatedHeader { .. })),
        "npy header length 2^32-1 in a short file: expected TruncatedHeader, got {actual:?}"
    );
}

#[test]
fn npy_unsupported_version_rejected() {
    let mut bytes = npy_bytes(1, &header("<f8", "False", "(1,)"), &f64_data(&[1.0]));
    bytes[6] = 4;
    let actual = decode_npy(&bytes);
    assert_eq!(
        actual,
        Err(NpyError::UnsupportedVersion { major: 4, minor: 0 }),
        "npy version 4.0: expected UnsupportedVersion, got {actual:?}"
    );
}

#[test]
fn npy_unsupported_dtype_rejected() {
    for descr in ["<c16", "<f2", "<U3", "|b1", "<u4"] {
        let bytes = npy_bytes(1, &header(descr, "False", "(1,)"), &[0; 16]);
        let actual = decode_npy(&bytes);
        assert!(
            matches!(&actual, Err(NpyError::UnsupportedDtype { descr: d }) if d == descr),
            "npy {descr}: expected UnsupportedDtype, got {actual:?}"
        );
    }
}

#[test]
fn npy_malformed_headers_rejected() {
    let cases = [
        "{'descr': '<f8', 'shape': (1,), }",
        "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (a,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
        "['descr']",
        "{'descr: '<f8'",
    ];
    for text in cases {
        let bytes = npy_bytes(1, text, &f64_data(&[1.0]));
        let actual = decode_npy(&bytes);
        assert!(
            matches!(actual, Err(NpyError::InvalidHeader { .. })),
            "npy header {text:?}: expected InvalidHeader, got {actual:?}"
        );
    }
}

#[test]
fn npy_error_names_file() {
    let dir = temp_dir();
    let bytes = npy_bytes(1, &header("<f8", "True", "(1,)"), &f64_data(&[1.0]));
    let path = write_file(&dir, "fortran.npy", &bytes);
    let actual = read_number_file(&path, Precision::F64);
    let message = actual.as_ref().map_err(ToString::to_string).err();
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("fortran.npy") && m.contains("fortran_order")),
        "expected an error naming the file and fortran_order, got {actual:?}"
    );
}
