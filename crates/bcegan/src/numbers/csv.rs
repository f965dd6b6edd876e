//! Number columns read from a CSV file with a header row (RFC 4180 quoting).

use std::path::{Path, PathBuf};

use super::text::{ItemFailure, parse_number};
use super::{NumbersError, Precision};

/// Reads the columns named in `columns` from CSV data with a header row.
///
/// Returns one list per requested name, in the order of `columns`, each with one number per
/// data row. Fields may be quoted as RFC 4180 describes, whitespace around a field is
/// ignored, and other columns may hold anything. A leading UTF-8 byte order mark is skipped.
/// `path` only names the data in errors.
///
/// # Errors
///
/// [`NumbersError`] when the data has no header row, or a requested column is missing or
/// appears twice. Also when a row is not valid UTF-8 or has a different number of fields
/// than the header, or when a cell of a requested column is empty, is not a number or does
/// not fit `precision`. Each error names the line, and a cell error names the column.
pub fn parse_csv_columns(
    bytes: &[u8],
    path: &Path,
    columns: &[&str],
    precision: Precision,
) -> Result<Vec<Vec<f64>>, NumbersError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(::csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|error| syntax_error(path, &error))?
        .clone();
    if headers.is_empty() {
        return Err(NumbersError::CsvNoHeader {
            path: path.to_owned(),
        });
    }
    let available: Vec<String> = headers.iter().map(str::to_owned).collect();
    let indices = columns
        .iter()
        .map(|&name| column_index(path, &available, name))
        .collect::<Result<Vec<usize>, NumbersError>>()?;

    let mut lists = vec![Vec::new(); columns.len()];
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|error| syntax_error(path, &error))?;
        let line = record.position().map_or(0, |position| position.line());
        for ((list, &index), &name) in lists.iter_mut().zip(&indices).zip(columns) {
            // The reader rejects rows of another length, so every index is present.
            let text = record.get(index).unwrap_or_default();
            let cell = || CsvCell {
                path: path.to_owned(),
                line,
                row,
                column: name.to_owned(),
                text: text.to_owned(),
            };
            if text.is_empty() {
                return Err(NumbersError::CsvEmptyCell(Box::new(cell())));
            }
            let value = parse_number(text, precision).map_err(|failure| match failure {
                ItemFailure::Invalid => NumbersError::CsvInvalidCell(Box::new(cell())),
                ItemFailure::OutOfRange(problem) => {
                    NumbersError::CsvCellOutOfRange(Box::new(cell()), problem)
                }
            })?;
            list.push(value);
        }
    }
    Ok(lists)
}

/// Location and text of one cell, for errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvCell {
    /// The file.
    pub path: PathBuf,
    /// Line of the row in the file, from 1.
    pub line: u64,
    /// Data row, from 0 (the first row after the header): the element's index.
    pub row: usize,
    /// Name of the column.
    pub column: String,
    /// The cell as written, without surrounding whitespace.
    pub text: String,
}

/// Finds the single column called `name`.
fn column_index(path: &Path, available: &[String], name: &str) -> Result<usize, NumbersError> {
    let mut matches = available
        .iter()
        .enumerate()
        .filter(|(_, header)| *header == name)
        .map(|(index, _)| index);
    match (matches.next(), matches.next()) {
        (Some(index), None) => Ok(index),
        (Some(_), Some(_)) => Err(NumbersError::CsvDuplicateColumn {
            path: path.to_owned(),
            column: name.to_owned(),
        }),
        (None, _) => Err(NumbersError::CsvMissingColumn {
            path: path.to_owned(),
            column: name.to_owned(),
            available: available.to_vec(),
        }),
    }
}

/// Converts an error of the `csv` reader: bad UTF-8 or a row of another length.
fn syntax_error(path: &Path, error: &::csv::Error) -> NumbersError {
    let line = error.position().map_or(0, ::csv::Position::line);
    let reason = match error.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "the row has {len} field{} but the header row has {expected_len}; give every row \
             as many fields as the header, and quote fields that contain commas",
            if *len == 1 { "" } else { "s" }
        ),
        ::csv::ErrorKind::Utf8 { .. } => {
            "the row is not valid UTF-8 text; save the file as UTF-8".to_owned()
        }
        _ => format!("{error}"),
    };
    NumbersError::CsvSyntax {
        path: path.to_owned(),
        line,
        reason,
    }
}
