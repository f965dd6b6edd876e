//! Errors of the number-list readers, each naming the item, line or element at fault.

use std::fmt;
use std::path::PathBuf;

use super::Precision;
use super::csv::CsvCell;
use super::npy::NpyError;

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
    #[error(
        "item {index} (0-based) of the list, `{text}`, is not a number; write decimal numbers such as 0.25 or 1e-3, or inf, -inf, nan"
    )]
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
    #[error(
        "{path} is neither a .npy file nor UTF-8 text (invalid UTF-8 at byte {offset}); save the numbers as text or with numpy.save",
        path = path.display()
    )]
    NotText {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first byte that is not valid UTF-8.
        offset: usize,
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
    #[error(
        "{path}, line {line}, column {column}: `{text}` is not a number; write decimal numbers such as 0.25 or 1e-3, or inf, -inf, nan, and start comment lines with #",
        path = path.display()
    )]
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
    /// The CSV data is empty, so it has no header row.
    #[error(
        "{path} is empty: a CSV file needs a header row naming its columns, then one row per element",
        path = path.display()
    )]
    CsvNoHeader {
        /// The file.
        path: PathBuf,
    },
    /// The header row has no column of the requested name.
    #[error(
        "{path}: no column named `{column}` in the header row (line 1); the columns are {}",
        list_columns(available),
        path = path.display()
    )]
    CsvMissingColumn {
        /// The file.
        path: PathBuf,
        /// The requested name.
        column: String,
        /// The names in the header row, in order.
        available: Vec<String>,
    },
    /// The header row has the requested name more than once.
    #[error(
        "{path}: the header row (line 1) names more than one column `{column}`; rename the columns so that each name is unique",
        path = path.display()
    )]
    CsvDuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        column: String,
    },
    /// A row cannot be read: it is not UTF-8, or its field count differs from the header's.
    #[error("{path}, line {line}: {reason}", path = path.display())]
    CsvSyntax {
        /// The file.
        path: PathBuf,
        /// Line where the row starts, from 1.
        line: u64,
        /// The problem and its fix.
        reason: String,
    },
    /// A cell of a requested column is empty.
    #[error(
        "{path}, line {line}, column `{column}` (row {row}, 0-based): the cell is empty; write a number, or nan if the value is unknown",
        path = .0.path.display(), line = .0.line, column = .0.column, row = .0.row
    )]
    CsvEmptyCell(Box<CsvCell>),
    /// A cell of a requested column is not a number.
    #[error(
        "{path}, line {line}, column `{column}` (row {row}, 0-based): `{text}` is not a number; write decimal numbers such as 0.25 or 1e-3, or inf, -inf, nan",
        path = .0.path.display(), line = .0.line, column = .0.column, row = .0.row, text = .0.text
    )]
    CsvInvalidCell(Box<CsvCell>),
    /// A cell of a requested column does not fit the requested precision.
    #[error(
        "{path}, line {line}, column `{column}` (row {row}, 0-based): `{text}` {problem}",
        path = .0.path.display(), line = .0.line, column = .0.column, row = .0.row, text = .0.text,
        problem = .1
    )]
    CsvCellOutOfRange(Box<CsvCell>, RangeProblem),
}

/// Lists column names for an error message: `a`, `b`, `c`.
fn list_columns(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
