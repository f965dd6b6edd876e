//! The `loss` command: computes binary cross-entropy for numbers given on the command line
//! or in files, so that anyone can check a value against another implementation.
//!
//! This module parses the lists, calls `bce` and prints the result as text or JSON. It leaves
//! all validation (NaN, ranges, lengths, class counts, empty input) to `bce` and reports its
//! errors in command-line terms. The parser only rejects numbers that do not fit `--dtype`.

use std::fmt::LowerExp;
use std::io::Write;

use bce::{BceError, Float, Loss, PosWeight, ProbClamp, Reduction};
use clap::{ArgGroup, Parser, ValueEnum};
use serde::Serialize;

use std::path::PathBuf;

use crate::numbers::{
    NumbersError, Precision, STDIN_ARGUMENT, STDIN_NAME, parse_csv_columns, parse_number_list,
    read_stdin,
};

mod output;

use output::{format_in_dtype, write_json, write_text};

/// Arguments of `bcegan loss`; `--probs` and `--logits` are mutually exclusive and one of
/// them is required.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "loss",
    about = "Compute binary cross-entropy of probabilities or logits against targets",
    long_about = None,
    after_help = "Each LIST is comma-separated numbers (0.2,1,-inf) or @FILE: a .npy file, \
                  or a text file of numbers separated by commas, whitespace or newlines. \
                  @- reads a LIST from standard input in either format, and --csv - reads \
                  the CSV file from standard input; only one option can read standard input. \
                  --csv takes the numbers from named columns of a CSV file with a header row \
                  (fields may be quoted as in RFC 4180), one row per element. \
                  inf, -inf and nan are read as numbers, and the cost function then accepts \
                  or rejects them. A number that overflows or rounds to 0 in --dtype is \
                  rejected. An empty LIST (\"\") is an empty input. Invalid input exits with \
                  status 2.",
    group(ArgGroup::new("values").required(true).args(["probs", "logits", "probs_col", "logits_col"]))
)]
pub struct LossArgs {
    /// Probabilities h in [0, 1], one per element (LIST or @FILE).
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub probs: Option<String>,

    /// Logits (raw scores before the sigmoid), one per element (LIST or @FILE).
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub logits: Option<String>,

    /// Targets y in [0, 1], one per element; soft targets are allowed (LIST or @FILE).
    #[arg(
        long,
        value_name = "LIST",
        allow_hyphen_values = true,
        required_unless_present = "csv"
    )]
    pub targets: Option<String>,

    /// Weight of each element's cost, one per element (LIST or @FILE) [default: all 1].
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub weights: Option<String>,

    /// CSV file with a header row, read in place of --probs/--logits, --targets and
    /// --weights; `-` reads it from standard input. Name its columns with --probs-col or
    /// --logits-col, --targets-col and optionally --weights-col.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["probs", "logits", "targets", "weights"]
    )]
    pub csv: Option<String>,

    /// Name of the --csv column with the probabilities.
    #[arg(long, value_name = "NAME", requires = "csv")]
    pub probs_col: Option<String>,

    /// Name of the --csv column with the logits.
    #[arg(long, value_name = "NAME", requires = "csv")]
    pub logits_col: Option<String>,

    /// Name of the --csv column with the targets.
    #[arg(
        long,
        value_name = "NAME",
        requires = "csv",
        required_unless_present = "targets"
    )]
    pub targets_col: Option<String>,

    /// Name of the --csv column with the weights [default: all 1].
    #[arg(long, value_name = "NAME", requires = "csv")]
    pub weights_col: Option<String>,

    /// Weight of the positive term y·log h: one number for every element, or one per
    /// class, in which case the inputs are read as a row-major [n, classes] array with
    /// classes = the list's length (LIST or @FILE) [default: 1].
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub pos_weight: Option<String>,

    /// Label smoothing ε in [0, 1]: each target y becomes y·(1 − ε) + ε/2.
    #[arg(
        long,
        value_name = "EPSILON",
        default_value_t = 0.0,
        allow_hyphen_values = true
    )]
    pub label_smoothing: f64,

    /// Reduction of the per-element costs to the printed loss.
    #[arg(long, value_enum, default_value_t = ReductionArg::Mean)]
    pub reduction: ReductionArg,

    /// Clamp policy for probabilities at or near 0 and 1 (ignored with --logits).
    #[arg(long, value_enum, default_value_t = ClampPolicy::Pytorch)]
    pub clamp: ClampPolicy,

    /// Floating-point type the cost is computed in.
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    pub dtype: Dtype,

    /// Also print the gradient of the loss with respect to the probabilities or logits.
    #[arg(long)]
    pub grad: bool,

    /// Also print the per-example table, computed in f64: y·log h, (1 − y)·log(1 − h), cost,
    /// and the sum and mean of the costs.
    #[arg(long)]
    pub explain: bool,

    /// Print one line of JSON, {"loss": ..., "grad": [...]}, instead of text. Non-finite
    /// numbers are written as the strings "inf", "-inf" and "nan".
    #[arg(long)]
    pub json: bool,
}

/// Reduction of the per-element costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReductionArg {
    /// Mean over the elements (weighted costs divided by the element count).
    Mean,
    /// Sum over the elements.
    Sum,
    /// No reduction: one cost per element.
    None,
}

impl From<ReductionArg> for Reduction {
    fn from(reduction: ReductionArg) -> Self {
        match reduction {
            ReductionArg::Mean => Reduction::Mean,
            ReductionArg::Sum => Reduction::Sum,
            ReductionArg::None => Reduction::None,
        }
    }
}

/// Clamp policy for probabilities at or near 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClampPolicy {
    /// Each log clamped at −100, so one element costs at most 100 (PyTorch's BCELoss).
    Pytorch,
    /// Probabilities clipped to [1e-7, 1 − 1e-7] (Keras' binary_crossentropy).
    Keras,
}

impl From<ClampPolicy> for ProbClamp {
    fn from(policy: ClampPolicy) -> Self {
        match policy {
            ClampPolicy::Pytorch => ProbClamp::PYTORCH,
            ClampPolicy::Keras => ProbClamp::KERAS,
        }
    }
}

/// Floating-point type of the computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dtype {
    /// 32-bit floats, as most training code uses.
    F32,
    /// 64-bit floats.
    F64,
}

impl From<Dtype> for Precision {
    fn from(dtype: Dtype) -> Self {
        match dtype {
            Dtype::F32 => Precision::F32,
            Dtype::F64 => Precision::F64,
        }
    }
}

/// Errors of the `loss` command.
#[derive(Debug, thiserror::Error)]
pub enum LossCommandError {
    /// A list argument could not be read.
    #[error("invalid --{option}: {error}")]
    Numbers {
        /// The option name without dashes, e.g. `probs`.
        option: &'static str,
        /// The parse error.
        error: NumbersError,
    },
    /// Neither or both of `--probs` and `--logits` were given, or the targets are missing,
    /// or CSV columns were named without `--csv`.
    #[error(
        "invalid arguments: give exactly one of --probs and --logits with --targets, or --csv \
         with exactly one of --probs-col and --logits-col and with --targets-col"
    )]
    ValuesOption,
    /// More than one option reads standard input.
    #[error(
        "invalid arguments: {first} and {second} both read standard input, which can be read \
         only once; save one of them to a file"
    )]
    StdinTwice {
        /// The first option that reads standard input.
        first: &'static str,
        /// The second option that reads standard input.
        second: &'static str,
    },
    /// The cost function rejected the input.
    ///
    /// The message is written for the command line: values in `--dtype`, options in place
    /// of library names. `error` is deliberately not the `source`, so that a report of the
    /// error chain does not repeat the library's wording.
    #[error("{}", bce_message(error, *dtype, *explain))]
    Bce {
        /// The error from `bce`.
        error: BceError,
        /// The computation dtype, used to print the values in the message.
        dtype: Dtype,
        /// Whether `--explain` was given, which makes an empty input an error for every
        /// reduction.
        explain: bool,
    },
    /// Writing the result failed. A reader that closes the pipe early is not a failure (see
    /// [`run`]).
    #[error("failed to write the result: {0}")]
    Output(std::io::Error),
}

/// Writes the message of a `bce` error for a command-line user.
///
/// Values are printed as the `--dtype` numbers the user gave (`0.9`, not the f32 widened to
/// `0.8999999761581421`), and hints that name library items point to options instead.
fn bce_message(error: &BceError, dtype: Dtype, explain: bool) -> String {
    match error {
        BceError::ProbabilityOutOfRange { index, value } => format!(
            "probability at index {index} is {}, outside [0, 1]; pass probabilities in [0, 1], \
             or pass raw scores with --logits",
            format_in_dtype(*value, dtype)
        ),
        BceError::TargetOutOfRange { index, value } => format!(
            "target at index {index} is {}, outside [0, 1]; targets must be 0, 1 or a soft \
             target between them",
            format_in_dtype(*value, dtype)
        ),
        BceError::InvalidWeight {
            operand,
            index,
            value,
        } => format!(
            "{operand} at index {index} is {}; weights must be finite and non-negative",
            format_in_dtype(*value, dtype)
        ),
        BceError::InvalidLabelSmoothing { value } => {
            format!("--label-smoothing is {value}; pass a value in [0, 1] (0 disables it)")
        }
        BceError::EmptyMean if explain => "--explain prints the mean cost, which is undefined \
             for an empty input; pass at least one element, or leave out --explain"
            .to_owned(),
        BceError::EmptyMean => "the mean over an empty input is undefined; pass at least one \
             element, or use --reduction sum or --reduction none"
            .to_owned(),
        // The remaining messages contain no values and no library-only advice. The clamp
        // parameter errors cannot occur here because --clamp only offers valid presets.
        other => other.to_string(),
    }
}

impl LossCommandError {
    /// Returns the process exit status for this error: 2 for invalid input, 1 for a
    /// failure to write the output.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Numbers { .. }
            | Self::ValuesOption
            | Self::StdinTwice { .. }
            | Self::Bce { .. } => 2,
            Self::Output(_) => 1,
        }
    }
}

/// Runs `bcegan loss`: reads the lists, computes the cost in the requested dtype and
/// writes the result to `out`, then flushes it.
///
/// A reader that closes the pipe early (`bcegan loss ... | head -2`) is not an error: the
/// write fails with [`std::io::ErrorKind::BrokenPipe`], and `run` stops writing and returns
/// `Ok`, so the command exits quietly with status 0. The reader has stopped by choice, and
/// status 0 keeps `set -o pipefail` scripts from failing on `| head`.
///
/// # Errors
///
/// [`LossCommandError`] when a list cannot be read, when `bce` rejects the input (both
/// exit status 2, see [`LossCommandError::exit_code`]), or when writing fails for another
/// reason.
pub fn run(args: &LossArgs, out: &mut impl Write) -> Result<(), LossCommandError> {
    let lists = ParsedLists::parse(args)?;
    let written = match args.dtype {
        Dtype::F32 => run_typed::<f32>(args, &lists, out)?,
        Dtype::F64 => run_typed::<f64>(args, &lists, out)?,
    };
    match written.and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(LossCommandError::Output(error)),
        Ok(()) => Ok(()),
    }
}

/// Whether the values are probabilities or logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Probs,
    Logits,
}

impl ValueKind {
    fn name(self) -> &'static str {
        match self {
            ValueKind::Probs => "probabilities",
            ValueKind::Logits => "logits",
        }
    }
}

/// The list arguments, rounded to the computation dtype and widened to `f64`.
struct ParsedLists {
    kind: ValueKind,
    values: Vec<f64>,
    targets: Vec<f64>,
    weights: Option<Vec<f64>>,
    pos_weight: Option<Vec<f64>>,
}

impl ParsedLists {
    fn parse(args: &LossArgs) -> Result<Self, LossCommandError> {
        check_stdin_once(args)?;
        let precision = Precision::from(args.dtype);
        if let Some(csv) = &args.csv {
            return Self::parse_csv(args, csv, precision);
        }
        // clap's "values" group and `required_unless_present` already enforce these, but a
        // `LossArgs` built in code bypasses them.
        let has_columns = args.probs_col.is_some()
            || args.logits_col.is_some()
            || args.targets_col.is_some()
            || args.weights_col.is_some();
        let (kind, option, text) = match (&args.probs, &args.logits) {
            (Some(probs), None) => (ValueKind::Probs, "probs", probs.as_str()),
            (None, Some(logits)) => (ValueKind::Logits, "logits", logits.as_str()),
            _ => return Err(LossCommandError::ValuesOption),
        };
        let targets = match &args.targets {
            Some(targets) if !has_columns => targets,
            _ => return Err(LossCommandError::ValuesOption),
        };
        Ok(Self {
            kind,
            values: parse_list(option, text, precision)?,
            targets: parse_list("targets", targets, precision)?,
            weights: parse_optional_list("weights", args.weights.as_deref(), precision)?,
            pos_weight: parse_optional_list("pos-weight", args.pos_weight.as_deref(), precision)?,
        })
    }

    /// Reads the values, targets and weights from the named columns of the `--csv` file.
    fn parse_csv(
        args: &LossArgs,
        csv: &str,
        precision: Precision,
    ) -> Result<Self, LossCommandError> {
        let has_lists = args.probs.is_some()
            || args.logits.is_some()
            || args.targets.is_some()
            || args.weights.is_some();
        let (kind, values_column) = match (&args.probs_col, &args.logits_col) {
            (Some(probs), None) => (ValueKind::Probs, probs.as_str()),
            (None, Some(logits)) => (ValueKind::Logits, logits.as_str()),
            _ => return Err(LossCommandError::ValuesOption),
        };
        let targets_column = match &args.targets_col {
            Some(targets) if !has_lists => targets.as_str(),
            _ => return Err(LossCommandError::ValuesOption),
        };
        let mut columns = vec![values_column, targets_column];
        columns.extend(args.weights_col.as_deref());

        let csv_error = |error| LossCommandError::Numbers {
            option: "csv",
            error,
        };
        let (bytes, path) = if csv == "-" {
            (read_stdin().map_err(csv_error)?, PathBuf::from(STDIN_NAME))
        } else {
            let path = PathBuf::from(csv);
            let bytes = std::fs::read(&path).map_err(|source| {
                csv_error(NumbersError::Read {
                    path: path.clone(),
                    source,
                })
            })?;
            (bytes, path)
        };
        let mut lists = parse_csv_columns(&bytes, &path, &columns, precision)
            .map_err(csv_error)?
            .into_iter();
        let values = lists.next().unwrap_or_default();
        let targets = lists.next().unwrap_or_default();
        let weights = lists.next();
        Ok(Self {
            kind,
            values,
            targets,
            weights,
            pos_weight: parse_optional_list("pos-weight", args.pos_weight.as_deref(), precision)?,
        })
    }
}

/// Rejects a command line on which two options read standard input: the first would
/// consume all of it, and the second would silently read nothing.
fn check_stdin_once(args: &LossArgs) -> Result<(), LossCommandError> {
    let lists = [
        ("--probs", args.probs.as_deref()),
        ("--logits", args.logits.as_deref()),
        ("--targets", args.targets.as_deref()),
        ("--weights", args.weights.as_deref()),
        ("--pos-weight", args.pos_weight.as_deref()),
    ];
    let mut readers = lists
        .iter()
        .filter(|(_, text)| *text == Some(STDIN_ARGUMENT))
        .map(|(option, _)| *option)
        .chain(
            args.csv
                .as_deref()
                .filter(|&csv| csv == "-")
                .map(|_| "--csv"),
        );
    if let (Some(first), Some(second)) = (readers.next(), readers.next()) {
        return Err(LossCommandError::StdinTwice { first, second });
    }
    Ok(())
}

fn parse_list(
    option: &'static str,
    text: &str,
    precision: Precision,
) -> Result<Vec<f64>, LossCommandError> {
    parse_number_list(text, precision).map_err(|error| LossCommandError::Numbers { option, error })
}

fn parse_optional_list(
    option: &'static str,
    text: Option<&str>,
    precision: Precision,
) -> Result<Option<Vec<f64>>, LossCommandError> {
    text.map(|text| parse_list(option, text, precision))
        .transpose()
}

/// Converts a list to the computation dtype. The parser already rounded every value to
/// that dtype, so the conversion is exact.
fn convert_list<T: Float>(values: &[f64]) -> Vec<T> {
    values.iter().map(|&value| T::from_f64(value)).collect()
}

/// Everything the command prints.
struct Report<'a, T> {
    kind: ValueKind,
    /// The probabilities or logits, for the `--explain` table.
    values: &'a [T],
    /// True when weights or a `pos_weight` were given; the table then shows their columns.
    weighted: bool,
    loss: Loss<T>,
    grad: Option<Vec<T>>,
    explanation: Option<bce::Explanation>,
}

/// Computes the report in `T` and writes it. The outer error is invalid input, and the
/// inner result is the outcome of writing.
fn run_typed<T: Float + LowerExp + Serialize>(
    args: &LossArgs,
    lists: &ParsedLists,
    out: &mut impl Write,
) -> Result<std::io::Result<()>, LossCommandError> {
    let values = convert_list::<T>(&lists.values);
    let targets = convert_list::<T>(&lists.targets);
    let weights = lists.weights.as_deref().map(convert_list::<T>);
    let pos_weight = lists.pos_weight.as_deref().map(convert_list::<T>);
    let options = build_options(args, weights.as_deref(), pos_weight.as_deref());

    let report =
        compute_report(lists.kind, &values, &targets, &options, args).map_err(|error| {
            LossCommandError::Bce {
                error,
                dtype: args.dtype,
                explain: args.explain,
            }
        })?;
    Ok(if args.json {
        write_json(out, &report)
    } else {
        write_text(out, &report)
    })
}

/// Builds the `bce` options; a one-element `--pos-weight` is a scalar, a longer one is
/// per class.
fn build_options<'a, T: Float>(
    args: &LossArgs,
    weights: Option<&'a [T]>,
    pos_weight: Option<&'a [T]>,
) -> bce::Options<'a, T> {
    let mut options = bce::Options::new()
        .reduction(args.reduction.into())
        .label_smoothing(args.label_smoothing)
        .clamp(args.clamp.into());
    if let Some(weights) = weights {
        options = options.weights(weights);
    }
    match pos_weight {
        Some(&[scalar]) => options = options.pos_weight(PosWeight::Scalar(scalar)),
        Some(per_class) => options = options.pos_weight(PosWeight::PerClass(per_class)),
        None => {}
    }
    options
}

/// Calls the `bce` entry point that matches the value kind and the `--grad` and
/// `--explain` flags.
fn compute_report<'a, T: Float>(
    kind: ValueKind,
    values: &'a [T],
    targets: &[T],
    options: &bce::Options<'_, T>,
    args: &LossArgs,
) -> Result<Report<'a, T>, BceError> {
    let (loss, grad) = match (kind, args.grad) {
        (ValueKind::Probs, false) => (bce::binary_cross_entropy(values, targets, options)?, None),
        (ValueKind::Logits, false) => (
            bce::binary_cross_entropy_with_logits(values, targets, options)?,
            None,
        ),
        (ValueKind::Probs, true) => {
            let result = bce::binary_cross_entropy_grad(values, targets, options)?;
            (result.loss, Some(result.grad))
        }
        (ValueKind::Logits, true) => {
            let result = bce::binary_cross_entropy_with_logits_grad(values, targets, options)?;
            (result.loss, Some(result.grad))
        }
    };
    let explanation = match (kind, args.explain) {
        (_, false) => None,
        (ValueKind::Probs, true) => Some(bce::explain(values, targets, options)?),
        (ValueKind::Logits, true) => Some(bce::explain_with_logits(values, targets, options)?),
    };
    Ok(Report {
        kind,
        values,
        weighted: options.weights.is_some() || options.pos_weight.is_some(),
        loss,
        grad,
        explanation,
    })
}
