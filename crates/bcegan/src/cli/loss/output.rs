//! Printing a computed loss: the plain-text summary and table, or one line of JSON.

use std::fmt::LowerExp;
use std::io::Write;

use bce::{Float, Loss};
use serde::{Serialize, Serializer};

use super::{Dtype, Report, ValueKind};

pub(super) fn write_text<T: Float + LowerExp>(
    out: &mut impl Write,
    report: &Report<'_, T>,
) -> std::io::Result<()> {
    match &report.loss {
        Loss::Reduced(loss) => writeln!(out, "loss: {}", format_number(*loss))?,
        Loss::PerElement(losses) => {
            writeln!(out, "loss per element:")?;
            write_indexed_values(out, losses)?;
        }
    }
    if let Some(grad) = &report.grad {
        writeln!(out, "gradient with respect to the {}:", report.kind.name())?;
        write_indexed_values(out, grad)?;
    }
    if let Some(explanation) = &report.explanation {
        writeln!(out)?;
        write_explanation(out, report, explanation)?;
    }
    Ok(())
}

/// Formats a number with the fewest digits that read back to the same value, in
/// scientific notation below 1e-4 or from 1e9 in magnitude (e.g. `7.667648e-53`).
/// Both zeros print as `0`, because a `-0` cost or term only confuses the reader.
fn format_number<T: Float + LowerExp>(value: T) -> String {
    let magnitude = value.to_f64().abs();
    if magnitude == 0.0 {
        "0".to_owned()
    } else if magnitude.is_finite() && !(1e-4..1e9).contains(&magnitude) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// Formats an input value that `bce` widened to `f64` as a `T`, so that an f32 input
/// prints as typed (`0.9`, not `0.8999999761581421`). A value that `T` cannot hold exactly,
/// such as a target after label smoothing, was computed in f64 and prints as f64.
fn format_input<T: Float + LowerExp>(value: f64) -> String {
    match narrow_exactly::<T>(value) {
        Some(narrowed) => format_number(narrowed),
        None => format_number(value),
    }
}

/// Returns `value` as a `T` when the conversion loses nothing (NaN included).
fn narrow_exactly<T: Float>(value: f64) -> Option<T> {
    let narrowed = T::from_f64(value);
    let widened = narrowed.to_f64();
    (widened == value || (widened.is_nan() && value.is_nan())).then_some(narrowed)
}

/// Formats a value from a `bce` error, which `bce` widened to `f64`, in the computation
/// dtype; see [`format_input`].
pub(super) fn format_in_dtype(value: f64, dtype: Dtype) -> String {
    match dtype {
        Dtype::F32 => format_input::<f32>(value),
        Dtype::F64 => format_input::<f64>(value),
    }
}

/// Writes one `index value` line per element, indented, with aligned columns.
fn write_indexed_values<T: Float + LowerExp>(
    out: &mut impl Write,
    values: &[T],
) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = values
        .iter()
        .enumerate()
        .map(|(index, value)| vec![index.to_string(), format_number(*value)])
        .collect();
    write_table(out, &[], &rows)
}

/// Writes the `--explain` table, then the sum and mean of the costs.
///
/// The target column is the target after label smoothing. Weight columns appear only when
/// `--weights` or `--pos-weight` was given. The input columns (target, logit, prob, weight,
/// pos_weight) print in the computation dtype, the computed ones in f64.
fn write_explanation<T: Float + LowerExp>(
    out: &mut impl Write,
    report: &Report<'_, T>,
    explanation: &bce::Explanation,
) -> std::io::Result<()> {
    let show_logits = report.kind == ValueKind::Logits;
    let mut header = vec!["i", "target"];
    if show_logits {
        header.push("logit");
    }
    header.push("prob");
    if report.weighted {
        header.extend(["weight", "pos_weight"]);
    }
    header.extend(["y·log h", "(1−y)·log(1−h)", "cost"]);

    let rows: Vec<Vec<String>> = explanation
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.index.to_string(), format_input::<T>(row.target)];
            if show_logits {
                let logit = report.values.get(row.index);
                cells.push(logit.map_or_else(String::new, |&logit| format_number(logit)));
            }
            // σ(x) of a logit is computed in f64; an input probability (clipped only by the
            // Keras clamp) prints in the dtype.
            cells.push(match report.kind {
                ValueKind::Probs => format_input::<T>(row.prob),
                ValueKind::Logits => format_number(row.prob),
            });
            if report.weighted {
                cells.extend([
                    format_input::<T>(row.weight),
                    format_input::<T>(row.pos_weight),
                ]);
            }
            cells.extend([
                format_number(row.positive_term),
                format_number(row.negative_term),
                format_number(row.cost),
            ]);
            cells
        })
        .collect();
    write_table(out, &header, &rows)?;
    writeln!(out, "sum of costs: {}", format_number(explanation.sum))?;
    writeln!(out, "mean cost: {}", format_number(explanation.mean))
}

/// Writes rows as right-aligned columns, two spaces apart and indented by two; the header
/// row is skipped when `header` is empty.
fn write_table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let column_count = rows
        .iter()
        .map(Vec::len)
        .chain([header.len()])
        .max()
        .unwrap_or(0);
    let mut widths = vec![0; column_count];
    let all_rows = std::iter::once(header.iter().map(|cell| cell.to_string()).collect())
        .filter(|cells: &Vec<String>| !cells.is_empty())
        .chain(rows.iter().cloned());
    let all_rows: Vec<Vec<String>> = all_rows.collect();
    for cells in &all_rows {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for cells in &all_rows {
        let line: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, &width)| format!("{cell:>width$}"))
            .collect();
        writeln!(out, "  {}", line.join("  "))?;
    }
    Ok(())
}

// ---- JSON output ----

/// A float written as a JSON number in its own precision, or as "inf", "-inf" or "nan".
/// Both zeros are written as `0.0`.
struct JsonFloat<T>(T);

impl<T: Float + Serialize> Serialize for JsonFloat<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = self.0.to_f64();
        if value.is_nan() {
            serializer.serialize_str("nan")
        } else if value == f64::INFINITY {
            serializer.serialize_str("inf")
        } else if value == f64::NEG_INFINITY {
            serializer.serialize_str("-inf")
        } else if value == 0.0 {
            T::from_f64(0.0).serialize(serializer)
        } else {
            // f32 goes through serialize_f32, which writes the shortest f32 digits
            // (0.1, not 0.10000000149011612).
            self.0.serialize(serializer)
        }
    }
}

fn json_list<T: Copy>(values: &[T]) -> Vec<JsonFloat<T>> {
    values.iter().map(|&value| JsonFloat(value)).collect()
}

/// An input value that `bce` widened to `f64`, written as a `T` when `T` represents it exactly;
/// see [`format_input`].
enum JsonInput<T> {
    Exact(JsonFloat<T>),
    Computed(JsonFloat<f64>),
}

impl<T: Float + Serialize> JsonInput<T> {
    fn new(value: f64) -> Self {
        match narrow_exactly::<T>(value) {
            Some(narrowed) => JsonInput::Exact(JsonFloat(narrowed)),
            None => JsonInput::Computed(JsonFloat(value)),
        }
    }
}

impl<T: Float + Serialize> Serialize for JsonInput<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            JsonInput::Exact(value) => value.serialize(serializer),
            JsonInput::Computed(value) => value.serialize(serializer),
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum JsonLoss<T: Float + Serialize> {
    Reduced(JsonFloat<T>),
    PerElement(Vec<JsonFloat<T>>),
}

#[derive(Serialize)]
struct JsonExplainRow<T: Float + Serialize> {
    i: usize,
    target: JsonInput<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logit: Option<JsonFloat<T>>,
    prob: JsonInput<T>,
    weight: JsonInput<T>,
    pos_weight: JsonInput<T>,
    y_log_h: JsonFloat<f64>,
    one_minus_y_log_one_minus_h: JsonFloat<f64>,
    cost: JsonFloat<f64>,
}

#[derive(Serialize)]
struct JsonExplanation<T: Float + Serialize> {
    rows: Vec<JsonExplainRow<T>>,
    sum: JsonFloat<f64>,
    mean: JsonFloat<f64>,
}

#[derive(Serialize)]
struct JsonReport<T: Float + Serialize> {
    loss: JsonLoss<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grad: Option<Vec<JsonFloat<T>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    explain: Option<JsonExplanation<T>>,
}

fn json_explanation<T: Float + Serialize>(
    report: &Report<'_, T>,
    explanation: &bce::Explanation,
) -> JsonExplanation<T> {
    let rows = explanation
        .rows
        .iter()
        .map(|row| JsonExplainRow {
            i: row.index,
            target: JsonInput::new(row.target),
            logit: match report.kind {
                ValueKind::Logits => report.values.get(row.index).copied().map(JsonFloat),
                ValueKind::Probs => None,
            },
            prob: match report.kind {
                ValueKind::Probs => JsonInput::new(row.prob),
                ValueKind::Logits => JsonInput::Computed(JsonFloat(row.prob)),
            },
            weight: JsonInput::new(row.weight),
            pos_weight: JsonInput::new(row.pos_weight),
            y_log_h: JsonFloat(row.positive_term),
            one_minus_y_log_one_minus_h: JsonFloat(row.negative_term),
            cost: JsonFloat(row.cost),
        })
        .collect();
    JsonExplanation {
        rows,
        sum: JsonFloat(explanation.sum),
        mean: JsonFloat(explanation.mean),
    }
}

/// Writes the report as one line of JSON: `loss`, then `grad` with `--grad`, then `explain`
/// with `--explain` (`rows` of `i`, `target`, `logit` for logits only, `prob`, `weight`,
/// `pos_weight`, `y_log_h`, `one_minus_y_log_one_minus_h`, `cost`, then `sum` and `mean`).
pub(super) fn write_json<T: Float + Serialize>(
    out: &mut impl Write,
    report: &Report<'_, T>,
) -> std::io::Result<()> {
    let loss = match &report.loss {
        Loss::Reduced(loss) => JsonLoss::Reduced(JsonFloat(*loss)),
        Loss::PerElement(losses) => JsonLoss::PerElement(json_list(losses)),
    };
    let json = JsonReport {
        loss,
        grad: report.grad.as_deref().map(json_list),
        explain: report
            .explanation
            .as_ref()
            .map(|explanation| json_explanation(report, explanation)),
    };
    serde_json::to_writer(&mut *out, &json)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_number_negative_zero_plain() {
        for (value, dtype) in [(-0.0f64, "f64"), (0.0, "f64")] {
            let actual = format_number(value);
            assert_eq!(actual, "0", "{dtype} {value:?}: text form");
        }
        let actual = format_number(-0.0f32);
        assert_eq!(actual, "0", "f32 -0.0: text form");
    }

    #[test]
    fn json_float_negative_zero_positive() {
        let cases = [
            (serde_json::to_string(&JsonFloat(-0.0f64)).ok(), "f64"),
            (serde_json::to_string(&JsonFloat(-0.0f32)).ok(), "f32"),
            (
                serde_json::to_string(&JsonInput::<f32>::new(-0.0)).ok(),
                "f32 input",
            ),
        ];
        for (actual, kind) in cases {
            assert_eq!(
                actual.as_deref(),
                Some("0.0"),
                "{kind} -0.0: expected JSON 0.0, got {actual:?}"
            );
        }
    }

    #[test]
    fn format_input_f32_shortest_digits() {
        let cases = [
            (f64::from(0.9f32), "0.9"),
            (f64::from(-0.1f32), "-0.1"),
            // Not an f32: computed in f64, so it keeps its f64 digits.
            (0.86, "0.86"),
            (f64::NAN, "NaN"),
        ];
        for (value, expected) in cases {
            let actual = format_in_dtype(value, Dtype::F32);
            assert_eq!(actual, expected, "f32 input {value:?}: text form");
        }
    }
}
