//! The per-example view of the cost, for teaching and debugging: each
//! example's two log terms, its cost, and the batch mean.

use core::fmt;

use crate::check::{self, Form};
use crate::error::BceError;
use crate::float::Float;
use crate::options::{Options, Reduction};
use crate::sum::CompensatedSum;
use crate::{logits, probs};

/// One example of an [`Explanation`]. All values are `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExplainRow {
    /// Position in the input.
    pub index: usize,
    /// The probability `hᵢ` the logs are taken of: the input probability
    /// (clipped under [`ProbClamp::Epsilon`](crate::ProbClamp::Epsilon)), or
    /// `σ(xᵢ)` for logits.
    pub prob: f64,
    /// The target `yᵢ` after label smoothing.
    pub target: f64,
    /// `yᵢ·log hᵢ` (0 when `yᵢ = 0`, clamped by the options' policy).
    pub positive_term: f64,
    /// `(1 − yᵢ)·log(1 − hᵢ)` (0 when `yᵢ = 1`).
    pub negative_term: f64,
    /// `pos_weight` of this example.
    pub pos_weight: f64,
    /// Weight of this example.
    pub weight: f64,
    /// `−wᵢ·(pwᵢ·positive_term + negative_term)`.
    pub cost: f64,
}

/// Per-example costs of a batch and their mean.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// One row per example, in input order.
    pub rows: Vec<ExplainRow>,
    /// Sum of the costs.
    pub sum: f64,
    /// Sum of the costs divided by the number of examples.
    pub mean: f64,
}

/// Explains [`binary_cross_entropy`](crate::binary_cross_entropy) of
/// probabilities example by example. [`Options::reduction`] is ignored: the
/// explanation always reports both the sum and the mean.
///
/// # Errors
///
/// As [`binary_cross_entropy`](crate::binary_cross_entropy), and
/// [`BceError::EmptyMean`] for an empty input whatever the reduction.
pub fn explain<T: Float>(
    probs: &[T],
    targets: &[T],
    options: &Options<'_, T>,
) -> Result<Explanation, BceError> {
    let options = options.reduction(Reduction::Mean);
    let plan = check::validate(Form::Probs, probs, targets, &options)?;
    let rows = probs
        .iter()
        .zip(targets)
        .enumerate()
        .map(|(index, (&prob, &target))| {
            let logs = probs::log_terms(prob.to_f64(), plan.clamp);
            row(
                index,
                logs.prob,
                plan.target(target),
                (logs.log_prob, logs.log_one_minus_prob),
                plan.pos_weight(index),
                plan.weight(index),
            )
        })
        .collect();
    Ok(summarize(rows))
}

/// Explains [`binary_cross_entropy_with_logits`](crate::binary_cross_entropy_with_logits)
/// example by example, with `hᵢ = σ(xᵢ)`. The logs are computed from the
/// logits (`log σ(x) = −softplus(−x)`), so they stay exact where `σ(x)`
/// rounds to 0 or 1.
///
/// # Errors
///
/// As [`binary_cross_entropy_with_logits`](crate::binary_cross_entropy_with_logits),
/// and [`BceError::EmptyMean`] for an empty input whatever the reduction.
pub fn explain_with_logits<T: Float>(
    logits: &[T],
    targets: &[T],
    options: &Options<'_, T>,
) -> Result<Explanation, BceError> {
    let options = options.reduction(Reduction::Mean);
    let plan = check::validate(Form::Logits, logits, targets, &options)?;
    let rows = logits
        .iter()
        .zip(targets)
        .enumerate()
        .map(|(index, (&logit, &target))| {
            let parts = logits::parts(logit.to_f64());
            row(
                index,
                parts.sigmoid,
                plan.target(target),
                (-parts.softplus_neg, -parts.softplus),
                plan.pos_weight(index),
                plan.weight(index),
            )
        })
        .collect();
    Ok(summarize(rows))
}

/// Builds one row from `(log h, log(1−h))`.
fn row(
    index: usize,
    prob: f64,
    target: f64,
    (log_prob, log_one_minus_prob): (f64, f64),
    pos_weight: f64,
    weight: f64,
) -> ExplainRow {
    let positive_term = probs::scaled(target, log_prob);
    let negative_term = probs::scaled(1.0 - target, log_one_minus_prob);
    let cost = probs::scaled(
        weight,
        -(probs::scaled(pos_weight, positive_term) + negative_term),
    );
    ExplainRow {
        index,
        prob,
        target,
        positive_term,
        negative_term,
        pos_weight,
        weight,
        cost,
    }
}

fn summarize(rows: Vec<ExplainRow>) -> Explanation {
    let mut sum = CompensatedSum::default();
    for row in &rows {
        sum.add(row.cost);
    }
    let sum = sum.total();
    // Validation rejects an empty input, so the division is by n ≥ 1.
    let mean = sum / rows.len() as f64;
    Explanation { rows, sum, mean }
}

impl fmt::Display for Explanation {
    /// Writes a table with one line per example, then the sum and the mean.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>6} {:>12} {:>8} {:>14} {:>18} {:>12}",
            "i", "h", "y", "y·log h", "(1−y)·log(1−h)", "cost"
        )?;
        for row in &self.rows {
            writeln!(
                f,
                "{:>6} {:>12.6e} {:>8.4} {:>14.6e} {:>18.6e} {:>12.6e}",
                row.index, row.prob, row.target, row.positive_term, row.negative_term, row.cost
            )?;
        }
        writeln!(f, "sum  {:.10e}", self.sum)?;
        write!(f, "mean {:.10e}", self.mean)
    }
}
