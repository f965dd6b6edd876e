//! Number lists read for the `loss` command: comma-separated text on the command line,
//! `@FILE` naming a `.npy` array or a text file of numbers, `@-` for standard input, and
//! named columns of a CSV file.
//!
//! Every reader rounds each number to the requested [`Precision`] and returns it widened to
//! `f64`, so the caller's conversion to `f32` is exact. A finite number that would become ±∞,
//! or a non-zero number that would become 0, is an error rather than a silent change.
//! `inf`, `-inf`, `+inf` and `nan` (any letter case) are read as numbers, so that the cost
//! function, not the parser, decides whether they are valid. An empty list is valid too, and
//! the cost function decides what an empty input means.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

mod csv;
mod error;
mod npy;
mod text;

pub use csv::{CsvCell, parse_csv_columns};
pub use error::{NumbersError, RangeProblem};
use npy::NPY_MAGIC;
pub use npy::{NpyError, decode_npy};
pub use text::parse_comma_list;
use text::parse_text_file;

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

/// Argument of `@FILE` that reads standard input instead of a file.
pub const STDIN_ARGUMENT: &str = "@-";

/// Name that errors give to standard input in place of a file name.
pub const STDIN_NAME: &str = "standard input";

/// Parses a number-list argument: comma-separated numbers, `@FILE`, or `@-` for standard
/// input.
///
/// `@FILE` reads a `.npy` file (recognized by its magic string, not its name) or a text
/// file of numbers; see [`read_number_file`]. `@-` reads the same formats from standard
/// input, to its end. A blank argument is an empty list.
///
/// # Errors
///
/// [`NumbersError`] naming the item that is empty, is not a number or does not fit
/// `precision`, or what is wrong with the file.
pub fn parse_number_list(argument: &str, precision: Precision) -> Result<Vec<f64>, NumbersError> {
    match argument.strip_prefix('@') {
        Some("") => Err(NumbersError::MissingPath),
        Some("-") => {
            let bytes = read_stdin()?;
            parse_number_bytes(&bytes, Path::new(STDIN_NAME), precision)
        }
        Some(path) => read_number_file(Path::new(path), precision),
        None => parse_comma_list(argument, precision),
    }
}

/// Reads standard input to its end.
///
/// # Errors
///
/// [`NumbersError::Read`] naming standard input when reading fails.
pub fn read_stdin() -> Result<Vec<u8>, NumbersError> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|source| NumbersError::Read {
            path: PathBuf::from(STDIN_NAME),
            source,
        })?;
    Ok(bytes)
}

/// Reads the numbers in a `.npy` file or a text file.
///
/// See [`parse_number_bytes`] for the formats.
///
/// # Errors
///
/// [`NumbersError::Read`] when the file cannot be read, else as [`parse_number_bytes`].
pub fn read_number_file(path: &Path, precision: Precision) -> Result<Vec<f64>, NumbersError> {
    let bytes = std::fs::read(path).map_err(|source| NumbersError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_number_bytes(&bytes, path, precision)
}

/// Parses the contents of a `.npy` file or a text file of numbers held in memory; `path`
/// only names the data in errors.
///
/// Bytes starting with `\x93NUMPY` are decoded with [`decode_npy`]. Any other bytes must be
/// UTF-8 text with numbers separated by commas, whitespace or newlines. A leading byte order
/// mark, blank lines and lines starting with `#` are skipped, and a comma at the end of a
/// line is allowed. Text without numbers is an empty list.
///
/// # Errors
///
/// [`NumbersError`] when the data contains an item that is not a number or does not fit
/// `precision` (naming its line and column, or its index in a `.npy` array), is neither
/// `.npy` nor UTF-8, or is a malformed `.npy` file.
pub fn parse_number_bytes(
    bytes: &[u8],
    path: &Path,
    precision: Precision,
) -> Result<Vec<f64>, NumbersError> {
    if bytes.starts_with(NPY_MAGIC) {
        let values = decode_npy(bytes).map_err(|error| NumbersError::Npy {
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
    let text = std::str::from_utf8(bytes).map_err(|error| NumbersError::NotText {
        path: path.to_owned(),
        offset: error.valid_up_to(),
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

#[cfg(test)]
mod tests;
