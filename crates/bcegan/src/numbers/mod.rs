//! Number lists read for the `loss` command: comma-separated text on the command line,
//! or `@FILE` naming a `.npy` array or a text file of numbers.
//!
//! Every reader rounds each number to the requested [`Precision`] and returns it widened to
//! `f64`, so the caller's conversion to `f32` is exact. A finite number that would become ±∞,
//! or a non-zero number that would become 0, is an error rather than a silent change.
//! `inf`, `-inf`, `+inf` and `nan` (any letter case) are read as numbers, so that the cost
//! function, not the parser, decides whether they are valid. An empty list is valid too, and
//! the cost function decides what an empty input means.

use std::fmt;
use std::path::{Path, PathBuf};

mod npy;

use npy::NPY_MAGIC;
pub use npy::{NpyError, decode_npy};

/// Floating-point type that the numbers are rounded to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        })
    }
}

/// Reason a number cannot be stored in the requested precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeProblem {
    /// A finite number so large in magnitude that it would become ±∞.
    Overflow(Precision),
    /// A non-zero number so small in magnitude that it would become 0.
    Underflow(Precision),
}

impl fmt::Display for RangeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RangeProblem::Overflow(Precision::F32) => {
                "is outside the f32 range (largest magnitude about 3.4e38); use --dtype f64"
            }
            RangeProblem::Overflow(Precision::F64) => {
                "is outside the f64 range (largest magnitude about 1.8e308); write inf or -inf \
                 if an infinity is meant"
            }
            RangeProblem::Underflow(Precision::F32) => {
                "rounds to 0 in f32 (smallest non-zero magnitude about 1.4e-45); use --dtype \
                 f64, or write 0 if zero is meant"
            }
            RangeProblem::Underflow(Precision::F64) => {
                "rounds to 0 in f64 (smallest non-zero magnitude about 4.9e-324); write 0 if \
                 zero is meant"
            }
        })
    }
}

/// Errors from reading a number list.
#[derive(Debug, thiserror::Error)]
pub enum NumbersError {
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
    /// An item of a comma-separated list does not fit the requested precision.
    #[error("item {index} (0-based) of the list, `{text}`, {problem}")]
    ItemOutOfRange {
        /// Position of the item in the list, from 0.
        index: usize,
        /// The item as written.
        text: String,
        /// Overflow or underflow, and the precision.
        problem: RangeProblem,
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
    /// An item of a text file does not fit the requested precision.
    #[error("{path}, line {line}, column {column}: `{text}` {problem}", path = path.display())]
    FileItemOutOfRange {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// Column where the item starts, in characters from 1.
        column: usize,
        /// The item as written.
        text: String,
        /// Overflow or underflow, and the precision.
        problem: RangeProblem,
    },
    /// The `.npy` file is malformed or uses a layout this reader does not support.
    #[error("invalid .npy file {path}: {error}", path = path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// The decoding error.
        error: NpyError,
    },
    /// An element of a `.npy` file does not fit the requested precision.
    #[error(
        "{path}, element {index} (0-based, in C order), {value:e}, {problem}",
        path = path.display()
    )]
    NpyItemOutOfRange {
        /// The file.
        path: PathBuf,
        /// Position of the element in the flattened array, from 0.
        index: usize,
        /// The element as stored in the file.
        value: f64,
        /// Overflow or underflow, and the precision.
        problem: RangeProblem,
    },
}

/// Parses a number-list argument: comma-separated numbers, or `@FILE`.
///
/// `@FILE` reads a `.npy` file (recognized by its magic string, not its name) or a text
/// file of numbers; see [`read_number_file`]. A blank argument is an empty list.
///
/// # Errors
///
/// [`NumbersError`] naming the item that is empty, is not a number or does not fit
/// `precision`, or what is wrong with the file.
pub fn parse_number_list(argument: &str, precision: Precision) -> Result<Vec<f64>, NumbersError> {
    match argument.strip_prefix('@') {
        Some("") => Err(NumbersError::MissingPath),
        Some(path) => read_number_file(Path::new(path), precision),
        None => parse_comma_list(argument, precision),
    }
}

/// Parses comma-separated numbers; whitespace around each item is ignored, and a blank
/// string is an empty list.
///
/// # Errors
///
/// [`NumbersError::EmptyItem`] for an empty item (including one after a trailing comma),
/// [`NumbersError::InvalidItem`] for an item that is not a number, and
/// [`NumbersError::ItemOutOfRange`] for one that does not fit `precision`.
pub fn parse_comma_list(text: &str, precision: Precision) -> Result<Vec<f64>, NumbersError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut values = Vec::new();
    for (index, item) in text.split(',').enumerate() {
        let item = item.trim();
        if item.is_empty() {
            return Err(NumbersError::EmptyItem { index });
        }
        let value = parse_number(item, precision).map_err(|failure| match failure {
            ItemFailure::Invalid => NumbersError::InvalidItem {
                index,
                text: item.to_owned(),
            },
            ItemFailure::OutOfRange(problem) => NumbersError::ItemOutOfRange {
                index,
                text: item.to_owned(),
                problem,
            },
        })?;
        values.push(value);
    }
    Ok(values)
}

/// Reads the numbers in a `.npy` file or a text file.
///
/// A file starting with `\x93NUMPY` is decoded with [`decode_npy`]. Any other file must be
/// UTF-8 text with numbers separated by commas, whitespace or newlines. A leading byte order
/// mark, blank lines and lines starting with `#` are skipped, and a comma at the end of a
/// line is allowed. A file without numbers is an empty list.
///
/// # Errors
///
/// [`NumbersError`] when the file cannot be read, contains an item that is not a number or
/// does not fit `precision` (naming its line and column, or its index in a `.npy` array), or
/// when a `.npy` file is malformed.
pub fn read_number_file(path: &Path, precision: Precision) -> Result<Vec<f64>, NumbersError> {
    let bytes = std::fs::read(path).map_err(|source| NumbersError::Read {
        path: path.to_owned(),
        source,
    })?;
    if bytes.starts_with(NPY_MAGIC) {
        let values = decode_npy(&bytes).map_err(|error| NumbersError::Npy {
            path: path.to_owned(),
            error,
        })?;
        return round_to_precision(values, precision).map_err(|(index, value, problem)| {
            NumbersError::NpyItemOutOfRange {
                path: path.to_owned(),
                index,
                value,
                problem,
            }
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| NumbersError::NotText {
        path: path.to_owned(),
    })?;
    // Windows editors often start UTF-8 files with U+FEFF; it is not part of any number.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    parse_text_file(path, text, precision)
}

/// Rounds decoded `.npy` values to `precision`, returning the index, value and problem of
/// the first element that overflows or underflows.
fn round_to_precision(
    mut values: Vec<f64>,
    precision: Precision,
) -> Result<Vec<f64>, (usize, f64, RangeProblem)> {
    if precision == Precision::F64 {
        return Ok(values);
    }
    for (index, value) in values.iter_mut().enumerate() {
        // Rounding to the nearest f32 is the intended conversion.
        let rounded = *value as f32;
        if value.is_finite() && rounded.is_infinite() {
            return Err((index, *value, RangeProblem::Overflow(precision)));
        }
        if *value != 0.0 && rounded == 0.0 {
            return Err((index, *value, RangeProblem::Underflow(precision)));
        }
        *value = f64::from(rounded);
    }
    Ok(values)
}

/// Parses the contents of a text file of numbers; `path` is only used in errors.
fn parse_text_file(
    path: &Path,
    text: &str,
    precision: Precision,
) -> Result<Vec<f64>, NumbersError> {
    let mut values = Vec::new();
    for (line_index, line) in text.lines().enumerate() {
        let line_number = line_index + 1;
        if line.trim_start().starts_with('#') {
            continue;
        }
        parse_text_line(line, precision, &mut values).map_err(|failure| match failure {
            LineFailure::EmptyItem { offset } => NumbersError::EmptyFileItem {
                path: path.to_owned(),
                line: line_number,
                column: column_of(line, offset),
            },
            LineFailure::BadItem {
                offset,
                text,
                failure: ItemFailure::Invalid,
            } => NumbersError::InvalidFileItem {
                path: path.to_owned(),
                line: line_number,
                column: column_of(line, offset),
                text,
            },
            LineFailure::BadItem {
                offset,
                text,
                failure: ItemFailure::OutOfRange(problem),
            } => NumbersError::FileItemOutOfRange {
                path: path.to_owned(),
                line: line_number,
                column: column_of(line, offset),
                text,
                problem,
            },
        })?;
    }
    Ok(values)
}

/// A bad item on one line of a text file, located by byte offset in the line.
enum LineFailure {
    EmptyItem {
        offset: usize,
    },
    BadItem {
        offset: usize,
        text: String,
        failure: ItemFailure,
    },
}

/// Appends the numbers on one line to `values`.
///
/// Commas split the line into fields and whitespace splits each field into items, so
/// `1 2, 3` contains three numbers. A field with no item is an error unless it is the last
/// one on the line (a trailing comma) or the line is blank.
fn parse_text_line(
    line: &str,
    precision: Precision,
    values: &mut Vec<f64>,
) -> Result<(), LineFailure> {
    let field_count = line.split(',').count();
    let mut field_start = 0;
    for (field_index, field) in line.split(',').enumerate() {
        let is_last = field_index + 1 == field_count;
        let mut item_count = 0;
        for (item_offset, item) in split_whitespace_with_offsets(field) {
            let offset = field_start + item_offset;
            let value = parse_number(item, precision).map_err(|failure| LineFailure::BadItem {
                offset,
                text: item.to_owned(),
                failure,
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

/// Reason one item could not be read.
enum ItemFailure {
    /// Not a number in Rust's float grammar.
    Invalid,
    /// A number that overflows or underflows the requested precision.
    OutOfRange(RangeProblem),
}

/// Parses one number, rounded once to `precision` and widened to `f64`.
///
/// Rust's float grammar already accepts `inf`, `+inf`, `-inf`, `infinity` and `nan` in any
/// letter case. Any other item that rounds to ±∞ is an overflow, and an item with a non-zero
/// digit before its exponent that rounds to 0 is an underflow.
fn parse_number(text: &str, precision: Precision) -> Result<f64, ItemFailure> {
    let parsed = match precision {
        Precision::F32 => text.parse::<f32>().map(f64::from),
        Precision::F64 => text.parse::<f64>(),
    };
    let value = parsed.map_err(|_| ItemFailure::Invalid)?;
    // `inf` and `nan` are the only items that start with a letter after the sign.
    let is_word = text
        .trim_start_matches(['+', '-'])
        .starts_with(|character: char| character.is_ascii_alphabetic());
    if is_word {
        return Ok(value);
    }
    if value.is_infinite() {
        return Err(ItemFailure::OutOfRange(RangeProblem::Overflow(precision)));
    }
    let mantissa = text.find(['e', 'E']).map_or(text, |end| &text[..end]);
    let literal_is_zero = !mantissa
        .chars()
        .any(|character| matches!(character, '1'..='9'));
    if value == 0.0 && !literal_is_zero {
        return Err(ItemFailure::OutOfRange(RangeProblem::Underflow(precision)));
    }
    Ok(value)
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
}
