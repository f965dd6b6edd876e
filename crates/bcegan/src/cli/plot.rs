//! The `plot` command: the cost-vs-prediction figure and the curves of a run folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::report::plot::{
    CostAxis, CostFigure, CostMark, ImageFormat, MetricsFigure, write_figure,
};
use crate::report::{MetricsTable, ReportError};

/// Settings of `bcegan plot`.
#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    /// Figure to draw.
    #[command(subcommand)]
    pub figure: PlotFigure,
}

/// The figures.
#[derive(Debug, Clone, Subcommand)]
pub enum PlotFigure {
    /// Draw the cost of one example against the prediction h: −log h for target 1 and
    /// −log(1 − h) for target 0
    Cost(CostArgs),
    /// Draw d_loss, g_loss, D(x), D(G(z)) and FID (where logged) over steps from
    /// RUN_DIR/metrics.csv
    Metrics(MetricsArgs),
}

/// Settings of `bcegan plot cost`.
#[derive(Debug, Clone, Args)]
pub struct CostArgs {
    /// Output file; the extension picks the format, .svg or .png
    #[arg(long, value_name = "FILE", default_value = "cost.svg")]
    pub out: PathBuf,

    /// Point to mark with its cost, as PREDICTION:TARGET, such as 0.99:1 (repeatable). The
    /// prediction is a probability h in [0, 1], or a logit with --logits; the target y is
    /// in [0, 1]
    #[arg(long = "mark", value_name = "H:Y", value_parser = parse_mark, allow_hyphen_values = true)]
    pub marks: Vec<CostMark>,

    /// Draw the costs against the logit z (h = σ(z)) instead of the probability h
    #[arg(long)]
    pub logits: bool,
}

/// Settings of `bcegan plot metrics`.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// Run folder that contains metrics.csv
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,

    /// Output file; the extension picks the format, .svg or .png [default: RUN_DIR/metrics.svg]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Draws the figure that `args` selects, writes it, and prints its path on `stdout`.
///
/// # Errors
///
/// Returns [`ReportError`] for an invalid setting or input file, or when drawing or
/// writing fails.
pub fn run(args: &PlotArgs, stdout: &mut impl Write) -> Result<(), ReportError> {
    let out = match &args.figure {
        PlotFigure::Cost(cost) => {
            let format = ImageFormat::from_path(&cost.out)?;
            let axis = if cost.logits {
                CostAxis::Logit
            } else {
                CostAxis::Probability
            };
            let figure = CostFigure::new(axis, &cost.marks)?;
            write_figure(&cost.out, format, &figure)?;
            for (mark, value) in figure.marks() {
                writeln!(stdout, "{}", figure.mark_label(mark, *value))
                    .map_err(|error| ReportError::io("write", "stdout", error))?;
            }
            cost.out.clone()
        }
        PlotFigure::Metrics(metrics) => {
            let out = metrics
                .out
                .clone()
                .unwrap_or_else(|| metrics.run_dir.join("metrics.svg"));
            let format = ImageFormat::from_path(&out)?;
            let table = MetricsTable::read(&metrics_path(&metrics.run_dir))?;
            let figure = MetricsFigure::new(&table)?;
            write_figure(&out, format, &figure)?;
            out
        }
    };
    writeln!(stdout, "wrote {}", out.display())
        .map_err(|error| ReportError::io("write", "stdout", error))
}

fn metrics_path(run_dir: &Path) -> PathBuf {
    run_dir.join("metrics.csv")
}

/// Parses `PREDICTION:TARGET`. [`CostFigure::new`] checks the ranges, because they
/// depend on the axis.
fn parse_mark(text: &str) -> Result<CostMark, String> {
    let (position, target) = text
        .split_once(':')
        .ok_or_else(|| format!("expected PREDICTION:TARGET such as 0.99:1, got \"{text}\""))?;
    let number = |part: &str, what: &str| {
        part.trim()
            .parse::<f64>()
            .map_err(|_| format!("the {what} \"{part}\" in \"{text}\" is not a number"))
    };
    Ok(CostMark {
        position: number(position, "prediction")?,
        target: number(target, "target")?,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_mark;

    #[test]
    fn parse_mark_reads_prediction_and_target() {
        let cases = [
            ("0.99:1", 0.99, 1.0),
            ("-2.5:0", -2.5, 0.0),
            (" 0.2 : 0.5 ", 0.2, 0.5),
        ];
        for (text, position, target) in cases {
            let actual = parse_mark(text);
            let Ok(mark) = actual else {
                panic!("parse_mark({text:?}): expected a mark, got {actual:?}");
            };
            assert_eq!(mark.position, position, "prediction of {text:?}");
            assert_eq!(mark.target, target, "target of {text:?}");
        }
    }

    #[test]
    fn parse_mark_rejects_malformed_text() {
        for text in ["0.5", "a:1", "0.5:b", ""] {
            let actual = parse_mark(text);
            assert!(
                actual.is_err(),
                "parse_mark({text:?}): expected an error, got {actual:?}"
            );
        }
    }
}
