//! The `loss` command: computes binary cross-entropy for numbers given on the command line
//! or in files, so that anyone can check a value against another implementation.
//!
//! This module parses the lists, calls `bce` and prints the result as text or JSON. It leaves
//! all validation (NaN, ranges, lengths, class counts) to `bce` and reports its errors.

use std::fmt::LowerExp;
use std::io::Write;

use bce::{Float, Loss, PosWeight, ProbClamp, Reduction};
use clap::{ArgGroup, Parser, ValueEnum};
use serde::Serialize;

use crate::numbers::{NumbersError, parse_number_list};

mod output;

use output::{write_json, write_text};

/// Arguments of `bcegan loss`; `--probs` and `--logits` are mutually exclusive and one of
/// them is required.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "loss",
    about = "Compute binary cross-entropy of probabilities or logits against targets",
    long_about = None,
    after_help = "Each LIST is comma-separated numbers (0.2,1,-inf) or @FILE: a .npy file, \
                  or a text file of numbers separated by commas, whitespace or newlines. \
                  inf, -inf and nan are read as numbers, and the cost function then accepts \
                  or rejects them. Invalid input exits with status 2.",
    group(ArgGroup::new("values").required(true).args(["probs", "logits"]))
)]
pub struct LossArgs {
    /// Probabilities h in [0, 1], one per element (LIST or @FILE).
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub probs: Option<String>,

    /// Logits (raw scores before the sigmoid), one per element (LIST or @FILE).
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub logits: Option<String>,

    /// Targets y in [0, 1], one per element; soft targets are allowed (LIST or @FILE).
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub targets: String,

    /// Weight of each element's cost, one per element (LIST or @FILE) [default: all 1].
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub weights: Option<String>,

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
    /// A finite number is too large in magnitude for `--dtype f32`.
    #[error(
        "invalid --{option}: item {index} (0-based), {value:e}, is outside the f32 range; \
         use --dtype f64"
    )]
    OutOfF32Range {
        /// The option name without dashes.
        option: &'static str,
        /// Position in the list, from 0.
        index: usize,
        /// The value as read.
        value: f64,
    },
    /// Neither or both of `--probs` and `--logits` were given.
    #[error("invalid arguments: give exactly one of --probs and --logits")]
    ValuesOption,
    /// The cost function rejected the input.
    #[error(transparent)]
    Bce(#[from] bce::BceError),
    /// Writing the result failed.
    #[error("failed to write the result: {0}")]
    Output(std::io::Error),
}

impl LossCommandError {
    /// Returns the process exit status for this error: 2 for invalid input, 1 for a
    /// failure to write the output.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Numbers { .. }
            | Self::OutOfF32Range { .. }
            | Self::ValuesOption
            | Self::Bce(_) => 2,
            Self::Output(_) => 1,
        }
    }
}

/// Runs `bcegan loss`: reads the lists, computes the cost in the requested dtype and
/// writes the result to `out`.
///
/// # Errors
///
/// [`LossCommandError`] when a list cannot be read, when `bce` rejects the input (both
/// exit status 2, see [`LossCommandError::exit_code`]), or when writing fails.
pub fn run(args: &LossArgs, out: &mut impl Write) -> Result<(), LossCommandError> {
    let lists = ParsedLists::parse(args)?;
    match args.dtype {
        Dtype::F32 => run_typed::<f32>(args, &lists, out),
        Dtype::F64 => run_typed::<f64>(args, &lists, out),
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

/// The list arguments read as `f64`, before conversion to the computation dtype.
struct ParsedLists {
    kind: ValueKind,
    values: Vec<f64>,
    targets: Vec<f64>,
    weights: Option<Vec<f64>>,
    pos_weight: Option<Vec<f64>>,
}

impl ParsedLists {
    fn parse(args: &LossArgs) -> Result<Self, LossCommandError> {
        // clap's "values" group already enforces exactly one of the two, but a `LossArgs`
        // built in code bypasses it.
        let (kind, option, text) = match (&args.probs, &args.logits) {
            (Some(probs), None) => (ValueKind::Probs, "probs", probs.as_str()),
            (None, Some(logits)) => (ValueKind::Logits, "logits", logits.as_str()),
            _ => return Err(LossCommandError::ValuesOption),
        };
        Ok(Self {
            kind,
            values: parse_list(option, text)?,
            targets: parse_list("targets", &args.targets)?,
            weights: parse_optional_list("weights", args.weights.as_deref())?,
            pos_weight: parse_optional_list("pos-weight", args.pos_weight.as_deref())?,
        })
    }
}

fn parse_list(option: &'static str, text: &str) -> Result<Vec<f64>, LossCommandError> {
    parse_number_list(text).map_err(|error| LossCommandError::Numbers { option, error })
}

fn parse_optional_list(
    option: &'static str,
    text: Option<&str>,
) -> Result<Option<Vec<f64>>, LossCommandError> {
    text.map(|text| parse_list(option, text)).transpose()
}

/// Converts a list to the computation dtype, rejecting finite values that overflow it.
fn convert_list<T: Float>(
    option: &'static str,
    values: &[f64],
) -> Result<Vec<T>, LossCommandError> {
    values
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            let converted = T::from_f64(value);
            if value.is_finite() && !converted.to_f64().is_finite() {
                return Err(LossCommandError::OutOfF32Range {
                    option,
                    index,
                    value,
                });
            }
            Ok(converted)
        })
        .collect()
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

fn run_typed<T: Float + LowerExp + Serialize>(
    args: &LossArgs,
    lists: &ParsedLists,
    out: &mut impl Write,
) -> Result<(), LossCommandError> {
    let values_option = match lists.kind {
        ValueKind::Probs => "probs",
        ValueKind::Logits => "logits",
    };
    let values = convert_list::<T>(values_option, &lists.values)?;
    let targets = convert_list::<T>("targets", &lists.targets)?;
    let weights = convert_optional_list::<T>("weights", lists.weights.as_deref())?;
    let pos_weight = convert_optional_list::<T>("pos-weight", lists.pos_weight.as_deref())?;
    let options = build_options(args, weights.as_deref(), pos_weight.as_deref());

    let report = compute_report(lists.kind, &values, &targets, &options, args)?;
    let written = if args.json {
        write_json(out, &report)
    } else {
        write_text(out, &report)
    };
    written.map_err(LossCommandError::Output)
}

fn convert_optional_list<T: Float>(
    option: &'static str,
    values: Option<&[f64]>,
) -> Result<Option<Vec<T>>, LossCommandError> {
    values
        .map(|values| convert_list(option, values))
        .transpose()
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
) -> Result<Report<'a, T>, LossCommandError> {
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
