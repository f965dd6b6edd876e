//! Reading `metrics.csv` by column name, so that columns added later (such as `fid`) are
//! picked up and unknown ones are ignored.

use std::path::Path;

use super::error::ReportError;

/// The columns of `metrics.csv`, each a list of values by row; an empty cell is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsTable {
    names: Vec<String>,
    /// `columns[c][r]` is the value of column `c` in row `r`.
    columns: Vec<Vec<Option<f64>>>,
}

impl MetricsTable {
    /// Reads and parses a `metrics.csv` file.
    ///
    /// # Errors
    ///
    /// Returns [`ReportError::Io`] when the file cannot be read and
    /// [`ReportError::Metrics`] when it is malformed (see [`MetricsTable::parse`]).
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        let text =
            std::fs::read_to_string(path).map_err(|error| ReportError::io("read", path, error))?;
        Self::parse(&text, path)
    }

    /// Parses CSV text with a header line; `path` only names the file in errors.
    ///
    /// Every row must have as many cells as the header. Cells are numbers or empty. A
    /// `step` column is required; the others are optional.
    ///
    /// # Errors
    ///
    /// Returns [`ReportError::Metrics`] for a missing header or `step` column, a row with
    /// the wrong number of cells, or a cell that is not a number.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ReportError> {
        let invalid = |line: usize, message: String| ReportError::Metrics {
            path: path.to_path_buf(),
            line,
            message,
        };
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(index, line)| (index + 1, line.trim_end_matches('\r')))
            .filter(|(_, line)| !line.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(invalid(1, "missing header line".to_string()));
        };
        let names: Vec<String> = header
            .split(',')
            .map(|name| name.trim().to_string())
            .collect();
        if !names.iter().any(|name| name == "step") {
            return Err(invalid(
                1,
                format!("missing column \"step\" in header \"{header}\""),
            ));
        }

        let mut columns = vec![Vec::new(); names.len()];
        for (line_number, line) in lines {
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != names.len() {
                return Err(invalid(
                    line_number,
                    format!(
                        "expected {} cells as in the header, found {}",
                        names.len(),
                        cells.len()
                    ),
                ));
            }
            for ((column, cell), name) in columns.iter_mut().zip(&cells).zip(&names) {
                let cell = cell.trim();
                let value = if cell.is_empty() {
                    None
                } else {
                    let number = cell.parse::<f64>().map_err(|_| {
                        invalid(
                            line_number,
                            format!("column {name}: \"{cell}\" is not a number"),
                        )
                    })?;
                    Some(number)
                };
                column.push(value);
            }
        }
        Ok(Self { names, columns })
    }

    /// Returns the column names in file order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Returns the number of data rows.
    pub fn row_count(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// Returns the values of the column `name`, or `None` when the file has no such column.
    pub fn column(&self, name: &str) -> Option<&[Option<f64>]> {
        let index = self.names.iter().position(|column| column == name)?;
        Some(&self.columns[index])
    }

    /// Returns the `(step, value)` pairs of column `name` where both cells are present and
    /// finite; empty when the column is missing.
    pub fn series(&self, name: &str) -> Vec<(f64, f64)> {
        let (Some(steps), Some(values)) = (self.column("step"), self.column(name)) else {
            return Vec::new();
        };
        steps
            .iter()
            .zip(values)
            .filter_map(|(step, value)| Some(((*step)?, (*value)?)))
            .filter(|(step, value)| step.is_finite() && value.is_finite())
            .collect()
    }

    /// Returns the last present value of each column, in file order.
    pub fn last_values(&self) -> Vec<(&str, f64)> {
        self.names
            .iter()
            .zip(&self.columns)
            .filter_map(|(name, column)| {
                let value = column.iter().rev().find_map(|value| *value)?;
                Some((name.as_str(), value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::MetricsTable;
    use crate::report::ReportError;

    const CURRENT_HEADER: &str = "step,d_loss,g_loss,d_real,d_fake,elapsed_s";

    #[test]
    fn parse_reads_columns_by_name() {
        let text = format!("{CURRENT_HEADER}\n5,0.7,0.8,0.5,0.4,1.0\n10,0.6,0.9,0.6,0.3,2.0\n");
        let table = MetricsTable::parse(&text, Path::new("metrics.csv"));
        let Ok(table) = table else {
            panic!("parse({text:?}): expected a table, got {table:?}");
        };
        assert_eq!(table.row_count(), 2, "row count of {text:?}");
        assert_eq!(
            table.series("g_loss"),
            vec![(5.0, 0.8), (10.0, 0.9)],
            "g_loss series of {text:?}"
        );
    }

    #[test]
    fn parse_ignores_unknown_columns_and_empty_cells() {
        let text = "step,extra,d_loss,fid\n1,7,0.5,\n2,,0.4,31.5\n";
        let table = MetricsTable::parse(text, Path::new("metrics.csv"));
        let Ok(table) = table else {
            panic!("parse({text:?}): expected a table, got {table:?}");
        };
        assert_eq!(table.series("fid"), vec![(2.0, 31.5)], "fid of {text:?}");
        assert_eq!(table.series("d_loss").len(), 2, "d_loss rows of {text:?}");
        assert_eq!(table.series("missing"), vec![], "absent column of {text:?}");
        assert_eq!(
            table.last_values(),
            vec![
                ("step", 2.0),
                ("extra", 7.0),
                ("d_loss", 0.4),
                ("fid", 31.5)
            ],
            "last values of {text:?}"
        );
    }

    #[test]
    fn parse_rejects_malformed_files() {
        let cases = [
            ("", 1),
            ("d_loss,g_loss\n0.1,0.2\n", 1),
            ("step,d_loss\n1,0.5,9\n", 2),
            ("step,d_loss\n1,0.5\n2,abc\n", 3),
        ];
        for (text, expected_line) in cases {
            let result = MetricsTable::parse(text, Path::new("metrics.csv"));
            match result {
                Err(ReportError::Metrics { line, .. }) => assert_eq!(
                    line, expected_line,
                    "line of the error for {text:?}: expected {expected_line}, got {line}"
                ),
                other => panic!("parse({text:?}): expected a metrics error, got {other:?}"),
            }
        }
    }
}
