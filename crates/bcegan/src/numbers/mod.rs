//! Number lists read for the `loss` command: comma-separated text on the command line,
//! or `@FILE` naming a `.npy` array or a text file of numbers.
//!
//! Every reader returns `f64` values; the caller converts them to the element type it needs.
//! `inf`, `-inf`, `+inf` and `nan` (any letter case) are read as numbers, so that the cost
//! function, not the parser, decides whether they are valid.

use std::path::{Path, PathBuf};

mod npy;

use npy::NPY_MAGIC;
pub use npy::{NpyError, decode_npy};

/// Errors from reading a number list.
#[derive(Debug, thiserror::Error)]
pub enum NumbersError {
    /// The list contains no numbers.
    #[error("empty number list: give at least one number, e.g. `0.5,1`")]
    EmptyList,
    /// An item between two commas is empty.
    #[error("item {index} (0-based) of the list is empty: remove the extra comma")]
    EmptyItem {
        /// Position of the item in the list, from 0.
        index: usize,
    },
    /// An item of a comma-separated list is not a number.
    #[error("item {index} (0-based) of the list, `{text}`, is not a number")]
    InvalidItem {
        /// Position of the item in the list, from 0.
        index: usize,
        /// The item as written.
        text: String,
    },
    /// `@` is not followed by a path.
    #[error("missing file name after `@`: write `@FILE`")]
    MissingPath,
    /// The file could not be read.
    #[error("failed to read {path}: {source}", path = path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a `.npy` file and not UTF-8 text.
    #[error("{path} is neither a .npy file nor UTF-8 text", path = path.display())]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// The text file contains no numbers.
    #[error("{path} contains no numbers", path = path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// An item of a text file is empty (two commas in a row, or a comma first on a line).
    #[error("{path}, line {line}, column {column}: empty item: remove the extra comma", path = path.display())]
    EmptyFileItem {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// Column of the comma that ends the empty item, in characters from 1.
        column: usize,
    },
    /// An item of a text file is not a number.
    #[error("{path}, line {line}, column {column}: `{text}` is not a number", path = path.display())]
    InvalidFileItem {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// Column where the item starts, in characters from 1.
        column: usize,
        /// The item as written.
        text: String,
    },
    /// The `.npy` file is malformed or uses a layout this reader does not support.
    #[error("invalid .npy file {path}: {error}", path = path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// The decoding error.
        error: NpyError,
    },
}

/// Parses a number-list argument: comma-separated numbers, or `@FILE`.
///
/// `@FILE` reads a `.npy` file (recognized by its magic string, not its name) or a text
/// file of numbers; see [`read_number_file`].
///
/// # Errors
///
/// [`NumbersError`] naming the item that is empty or not a number, or what is wrong with
/// the file.
pub fn parse_number_list(argument: &str) -> Result<Vec<f64>, NumbersError> {
    match argument.strip_prefix('@') {
        Some("") => Err(NumbersError::MissingPath),
        Some(path) => read_number_file(Path::new(path)),
        None => parse_comma_list(argument),
    }
}

/// Parses comma-separated numbers; whitespace around each item is ignored.
///
/// # Errors
///
/// [`NumbersError::EmptyList`] for a blank string, [`NumbersError::EmptyItem`] for an empty
/// item, and [`NumbersError::InvalidItem`] for an item that is not a number.
pub fn parse_comma_list(text: &str) -> Result<Vec<f64>, NumbersError> {
    if text.trim().is_empty() {
        return Err(NumbersError::EmptyList);
    }
    let mut values = Vec::new();
    for (index, item) in text.split(',').enumerate() {
        let item = item.trim();
        if item.is_empty() {
            return Err(NumbersError::EmptyItem { index });
        }
        let value = parse_number(item).ok_or_else(|| NumbersError::InvalidItem {
            index,
            text: item.to_owned(),
        })?;
        values.push(value);
    }
    Ok(values)
}

/// Reads the numbers in a `.npy` file or a text file.
///
/// A file starting with `\x93NUMPY` is decoded with [`decode_npy`]. Any other file must be
/// UTF-8 text with numbers separated by commas, whitespace or newlines. Blank lines and
/// lines starting with `#` are skipped, and a comma at the end of a line is allowed.
///
/// # Errors
///
/// [`NumbersError`] when the file cannot be read, is empty, or contains an item that is
/// not a number (naming its line and column), or when a `.npy` file is malformed.
pub fn read_number_file(path: &Path) -> Result<Vec<f64>, NumbersError> {
    let bytes = std::fs::read(path).map_err(|source| NumbersError::Read {
        path: path.to_owned(),
        source,
    })?;
    if bytes.starts_with(NPY_MAGIC) {
        return decode_npy(&bytes).map_err(|error| NumbersError::Npy {
            path: path.to_owned(),
            error,
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| NumbersError::NotText {
        path: path.to_owned(),
    })?;
    parse_text_file(path, text)
}

/// Parses the contents of a text file of numbers; `path` is only used in errors.
fn parse_text_file(path: &Path, text: &str) -> Result<Vec<f64>, NumbersError> {
    let mut values = Vec::new();
    for (line_index, line) in text.lines().enumerate() {
        let line_number = line_index + 1;
        if line.trim_start().starts_with('#') {
            continue;
        }
        parse_text_line(line, &mut values).map_err(|failure| match failure {
            LineFailure::EmptyItem { offset } => NumbersError::EmptyFileItem {
                path: path.to_owned(),
                line: line_number,
                column: column_of(line, offset),
            },
            LineFailure::InvalidItem { offset, text } => NumbersError::InvalidFileItem {
                path: path.to_owned(),
                line: line_number,
                column: column_of(line, offset),
                text,
            },
        })?;
    }
    if values.is_empty() {
        return Err(NumbersError::EmptyFile {
            path: path.to_owned(),
        });
    }
    Ok(values)
}

/// A bad item on one line of a text file, located by byte offset in the line.
enum LineFailure {
    EmptyItem { offset: usize },
    InvalidItem { offset: usize, text: String },
}

/// Appends the numbers on one line to `values`.
///
/// Commas split the line into fields and whitespace splits each field into items, so
/// `1 2, 3` contains three numbers. A field with no item is an error unless it is the last
/// one on the line (a trailing comma) or the line is blank.
fn parse_text_line(line: &str, values: &mut Vec<f64>) -> Result<(), LineFailure> {
    let field_count = line.split(',').count();
    let mut field_start = 0;
    for (field_index, field) in line.split(',').enumerate() {
        let is_last = field_index + 1 == field_count;
        let mut item_count = 0;
        for (item_offset, item) in split_whitespace_with_offsets(field) {
            let offset = field_start + item_offset;
            let value = parse_number(item).ok_or_else(|| LineFailure::InvalidItem {
                offset,
                text: item.to_owned(),
            })?;
            values.push(value);
            item_count += 1;
        }
        if item_count == 0 && !is_last {
            // The offset of the comma that closes the empty field.
            return Err(LineFailure::EmptyItem {
                offset: field_start + field.len(),
            });
        }
        field_start += field.len() + 1;
    }
    Ok(())
}

/// Splits on whitespace, returning each piece with its byte offset in `text`.
fn split_whitespace_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut pieces = Vec::new();
    let mut piece_start = None;
    for (offset, character) in text.char_indices() {
        match (character.is_whitespace(), piece_start) {
            (false, None) => piece_start = Some(offset),
            (true, Some(start)) => {
                pieces.push((start, &text[start..offset]));
                piece_start = None;
            }
            _ => {}
        }
    }
    if let Some(start) = piece_start {
        pieces.push((start, &text[start..]));
    }
    pieces
}

/// Converts a byte offset in `line` to a column counted in characters from 1.
fn column_of(line: &str, offset: usize) -> usize {
    line.get(..offset)
        .map_or(offset, |prefix| prefix.chars().count())
        + 1
}

/// Parses one number; Rust's float grammar already accepts `inf`, `+inf`, `-inf`,
/// `infinity` and `nan` in any letter case.
fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
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
        let actual = parse_number_list(input);
        let expected = [0.5, 1.0, -2e-3, 7.0];
        assert!(
            matches!(&actual, Ok(values) if same_values(values, &expected)),
            "input {input:?}: expected {expected:?}, got {actual:?}"
        );
    }

    #[test]
    fn comma_list_non_finite_words() {
        let input = "inf,-inf,+inf,nan,INF,-Inf,NaN,infinity";
        let actual = parse_number_list(input);
        let inf = f64::INFINITY;
        let expected = [inf, -inf, inf, f64::NAN, inf, -inf, f64::NAN, inf];
        assert!(
            matches!(&actual, Ok(values) if same_values(values, &expected)),
            "input {input:?}: expected {expected:?}, got {actual:?}"
        );
    }

    #[test]
    fn comma_list_empty_rejected() {
        for input in ["", "   "] {
            let actual = parse_number_list(input);
            assert!(
                matches!(actual, Err(NumbersError::EmptyList)),
                "input {input:?}: expected EmptyList, got {actual:?}"
            );
        }
    }

    #[test]
    fn comma_list_empty_item_named() {
        for (input, expected_index) in [("1,,2", 1), (",1", 0), ("1,2,", 2), ("1, ,2", 1)] {
            let actual = parse_number_list(input);
            assert!(
                matches!(actual, Err(NumbersError::EmptyItem { index }) if index == expected_index),
                "input {input:?}: expected EmptyItem at {expected_index}, got {actual:?}"
            );
        }
    }

    #[test]
    fn comma_list_bad_number_named() {
        let input = "0.5, abc ,1";
        let actual = parse_number_list(input);
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
        let actual = parse_number_list("@");
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
        let actual = parse_number_list(&format!("@{}", path.display()));
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
        let actual = read_number_file(&path);
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
        let actual = read_number_file(&path);
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
    fn text_file_without_numbers_rejected() {
        let dir = temp_dir();
        for text in ["", "\n\n", "# only a comment\n"] {
            let path = write_file(&dir, "empty.txt", text.as_bytes());
            let actual = read_number_file(&path);
            assert!(
                matches!(actual, Err(NumbersError::EmptyFile { .. })),
                "file {text:?}: expected EmptyFile, got {actual:?}"
            );
        }
    }

    #[test]
    fn missing_file_reports_path() {
        let dir = temp_dir();
        let path = dir.path().join("absent.txt");
        let actual = read_number_file(&path);
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
        let actual = read_number_file(&path);
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
        let actual = parse_number_list(&format!("@{}", path.display()));
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
        let actual = read_number_file(&path);
        let message = actual.as_ref().map_err(ToString::to_string).err();
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("fortran.npy") && m.contains("fortran_order")),
            "expected an error naming the file and fortran_order, got {actual:?}"
        );
    }
}
