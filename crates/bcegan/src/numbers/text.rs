//! Numbers written as text: comma-separated lists and text files of numbers.

use std::path::Path;

use super::{NumbersError, Precision, RangeProblem};

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

/// Parses the contents of a text file of numbers; `path` is only used in errors.
pub(super) fn parse_text_file(
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
pub(super) enum ItemFailure {
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
pub(super) fn parse_number(text: &str, precision: Precision) -> Result<f64, ItemFailure> {
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
