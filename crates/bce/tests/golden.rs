//! Every case of `tests/data/bce_torch.json`: loss and gradient against
//! PyTorch 2.15 and against the exact values (mpmath) stored beside them.
//!
//! A script outside this repository produced the file: PyTorch 2.15.0 on the
//! CPU wrote `expected_loss` and `expected_grad`, and mpmath at 50 digits
//! wrote `exact_loss_mp`. Its `meta` object records the formulas and
//! conventions.
//! Where PyTorch's value and the exact one differ beyond rounding, these
//! tests require the exact one and list the element in [`TORCH_DIFFERS`]
//! with the reason. Where this crate rejects input that PyTorch accepts,
//! [`rejected_by_design`] gives the reason.

mod common;

use bce::{
    BceError, Float, Loss, Operand, Options, PosWeight, Reduction, binary_cross_entropy,
    binary_cross_entropy_grad, binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad,
};
use common::tolerance::{self, MPMATH_ATOL};
use common::{close, close_with, reference_logits, reference_probs};
use serde_json::Value;

/// Elements where PyTorch's `expected_loss` is not the exact value and this
/// crate returns the exact one: `(case, index, reason)`.
const TORCH_DIFFERS: &[(&str, usize, &str)] = &[
    // f32, logits form.
    ("bcel_edge_y1_none_f32", 9, INF_NAN),
    ("bcel_edge_y1_none_f32", 10, INF_NAN),
    ("bcel_edge_y0_none_f32", 1, CANCELS),
    ("bcel_edge_y0_none_f32", 2, CANCELS),
    ("bcel_edge_y0_none_f32", 10, INF_NAN),
    ("bcel_edge_ysoft03_none_f32", 10, INF_NAN),
    ("bcel_posw1_none_f32", 1, CANCELS),
    ("bcel_posw3_none_f32", 1, CANCELS),
    // f64, logits form.
    ("bcel_edge_y1_none_f64", 9, INF_NAN),
    ("bcel_edge_y1_none_f64", 10, INF_NAN),
    ("bcel_edge_y0_none_f64", 1, CANCELS),
    ("bcel_edge_y0_none_f64", 2, CANCELS),
    ("bcel_edge_y0_none_f64", 10, INF_NAN),
    ("bcel_edge_ysoft03_none_f64", 10, INF_NAN),
    ("bcel_posw1_none_f64", 1, CANCELS),
    ("bcel_posw3_none_f64", 1, CANCELS),
];

const INF_NAN: &str = "PyTorch returns NaN at a ±∞ logit (0·∞ or ∞ − ∞ inside (1−y)·x − \
    log_sigmoid(x)); this crate skips the term with a zero coefficient and returns the \
    mathematical limit, 0 or +∞";
const CANCELS: &str = "PyTorch's (1−y)·x − log_sigmoid(x) cancels for negative x and y = 0, \
    losing about ulp(|x|) (x = −20 gives 0 in f32 and 2.061153026e-9 in f64, exact \
    2.061153620e-9); the softplus form keeps full relative precision";

/// Which entry point a case uses.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Function {
    Probs,
    Logits,
}

/// A parsed golden case. Weights and `pos_weight` are as stored; weights are
/// tiled to the full length by [`Case::weights`].
struct Case {
    name: String,
    function: Function,
    dtype: String,
    reduction: Reduction,
    input: Vec<f64>,
    target: Vec<f64>,
    weight: Option<Vec<f64>>,
    pos_weight: Option<Vec<f64>>,
    grad_output: Vec<f64>,
    expected_loss: Option<Value>,
    expected_grad: Option<Vec<f64>>,
    exact: Option<Vec<f64>>,
    expected_error: bool,
    /// Index of each element in the stored case.
    origin: Vec<usize>,
}

fn number(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        _ => f64::NAN,
    }
}

fn numbers(value: &Value) -> Vec<f64> {
    match value {
        Value::Array(items) => items.iter().map(number).collect(),
        other => vec![number(other)],
    }
}

fn load_cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/bce_torch.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let root: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"));
    let cases = root["cases"].as_array().cloned().unwrap_or_default();
    cases.iter().map(parse_case).collect()
}

fn parse_case(case: &Value) -> Case {
    let name = case["name"].as_str().unwrap_or_default().to_string();
    let function = match case["function"].as_str() {
        Some("bce") => Function::Probs,
        Some("bce_logits") => Function::Logits,
        other => panic!("{name}: unknown function {other:?}"),
    };
    let reduction = match case["reduction"].as_str() {
        Some("mean") => Reduction::Mean,
        Some("sum") => Reduction::Sum,
        Some("none") => Reduction::None,
        other => panic!("{name}: unknown reduction {other:?}"),
    };
    let input = numbers(&case["input"]);
    let optional = |key: &str| case.get(key).map(numbers);
    let grad_output = match &case["grad_output"] {
        Value::Array(_) => numbers(&case["grad_output"]),
        scalar => vec![number(scalar); input.len()],
    };
    Case {
        dtype: case["dtype"].as_str().unwrap_or_default().to_string(),
        function,
        reduction,
        target: numbers(&case["target"]),
        weight: optional("weight"),
        pos_weight: optional("pos_weight"),
        grad_output,
        expected_loss: case.get("expected_loss").cloned(),
        expected_grad: optional("expected_grad"),
        exact: optional("exact_loss_mp"),
        expected_error: case.get("expected_error").is_some(),
        origin: (0..input.len()).collect(),
        input,
        name,
    }
}

impl Case {
    /// Weights tiled to the input length (PyTorch broadcasts a `[k]` weight
    /// over the last dimension of a row-major `[n, k]` input).
    fn weights(&self) -> Option<Vec<f64>> {
        self.weight
            .as_ref()
            .map(|w| (0..self.input.len()).map(|i| w[i % w.len()]).collect())
    }

    fn is_f32(&self) -> bool {
        self.dtype == "float32"
    }

    /// Returns the same case restricted to the elements whose input is not NaN.
    fn without_nan(&self) -> Case {
        let keep: Vec<usize> = (0..self.input.len())
            .filter(|&i| !self.input[i].is_nan())
            .collect();
        let pick = |values: &[f64]| keep.iter().map(|&i| values[i]).collect::<Vec<f64>>();
        Case {
            name: self.name.clone(),
            function: self.function,
            dtype: self.dtype.clone(),
            reduction: self.reduction,
            input: pick(&self.input),
            target: pick(&self.target),
            weight: self.weights().map(|w| pick(&w)),
            pos_weight: self.pos_weight.clone(),
            grad_output: pick(&self.grad_output),
            expected_loss: self.expected_loss.as_ref().map(|loss| match loss {
                Value::Array(items) => {
                    Value::Array(keep.iter().map(|&i| items[i].clone()).collect())
                }
                other => other.clone(),
            }),
            expected_grad: self.expected_grad.as_deref().map(pick),
            exact: self.exact.as_deref().map(pick),
            expected_error: self.expected_error,
            origin: keep,
        }
    }
}

/// Loss (widened) and gradient (widened) from both the plain and the fused
/// entry point, plus the oracle's evaluation.
struct Outcome {
    loss: Vec<f64>,
    grad: Vec<f64>,
    reference_loss: Vec<f64>,
    reference_grad: Vec<f64>,
}

fn run<T: Float>(case: &Case) -> Result<Outcome, BceError> {
    let input: Vec<T> = case.input.iter().map(|&v| T::from_f64(v)).collect();
    let target: Vec<T> = case.target.iter().map(|&v| T::from_f64(v)).collect();
    let weights: Option<Vec<T>> = case
        .weights()
        .map(|w| w.iter().map(|&v| T::from_f64(v)).collect());
    let pos_weight: Option<Vec<T>> = case
        .pos_weight
        .as_ref()
        .map(|w| w.iter().map(|&v| T::from_f64(v)).collect());

    let mut options = Options::new().reduction(case.reduction);
    if let Some(weights) = &weights {
        options = options.weights(weights);
    }
    if let Some(pos_weight) = &pos_weight {
        options = options.pos_weight(match pos_weight.as_slice() {
            [single] => PosWeight::Scalar(*single),
            per_class => PosWeight::PerClass(per_class),
        });
    }

    let (plain, fused, reference) = match case.function {
        Function::Probs => (
            binary_cross_entropy(&input, &target, &options),
            binary_cross_entropy_grad(&input, &target, &options),
            reference_probs(&input, &target, &options),
        ),
        Function::Logits => (
            binary_cross_entropy_with_logits(&input, &target, &options),
            binary_cross_entropy_with_logits_grad(&input, &target, &options),
            reference_logits(&input, &target, &options),
        ),
    };
    let fused = match (plain, fused) {
        (Ok(plain), Ok(fused)) => {
            assert_eq!(
                plain, fused.loss,
                "{}: plain and fused losses differ",
                case.name
            );
            fused
        }
        (Err(plain), Err(fused)) => {
            assert_eq!(plain, fused, "{}: plain and fused errors differ", case.name);
            return Err(plain);
        }
        (plain, fused) => panic!("{}: plain {plain:?} but fused {fused:?}", case.name),
    };
    let reference = reference.unwrap_or_else(|e| panic!("{}: oracle rejected: {e}", case.name));

    let loss = match &fused.loss {
        Loss::Reduced(value) => vec![value.to_f64()],
        Loss::PerElement(values) => values.iter().map(|v| v.to_f64()).collect(),
    };
    let reference_loss = match case.reduction {
        Reduction::None => reference.costs,
        Reduction::Sum | Reduction::Mean => vec![reference.reduced],
    };
    Ok(Outcome {
        loss,
        grad: fused.grad.iter().map(|v| v.to_f64()).collect(),
        reference_loss,
        reference_grad: reference.grad,
    })
}

fn run_case(case: &Case) -> Result<Outcome, BceError> {
    if case.is_f32() {
        run::<f32>(case)
    } else {
        run::<f64>(case)
    }
}

/// Checks that an error is the one a case expects.
type ErrorCheck = fn(&BceError) -> bool;

/// Cases whose input this crate rejects although PyTorch returns a number:
/// the expected error, and why.
fn rejected_by_design(name: &str) -> Option<(ErrorCheck, &'static str)> {
    match name {
        "bce_empty_mean_f32"
        | "bce_empty_mean_f64"
        | "bcel_empty_mean_f32"
        | "bcel_empty_mean_f64" => Some((
            |e| *e == BceError::EmptyMean,
            "PyTorch returns NaN for the mean over no elements; an error says why",
        )),
        "bcel_nan_input_mean_f32" => Some((
            |e| {
                *e == BceError::NotANumber {
                    operand: Operand::Logits,
                    index: 0,
                }
            },
            "PyTorch propagates the NaN logit into the mean; an error names it",
        )),
        "bcel_target_outside01_none_f32" => Some((
            |e| {
                *e == BceError::TargetOutOfRange {
                    index: 0,
                    value: 2.0,
                }
            },
            "PyTorch's logits form does not check targets and returns a negative cost",
        )),
        _ => None,
    }
}

/// Checks that `error` is this crate's counterpart of the error PyTorch raises for `case`.
fn expected_torch_error(case: &Case, error: &BceError) -> bool {
    match case.name.as_str() {
        "bce_err_p_gt1_f32" => {
            *error
                == BceError::ProbabilityOutOfRange {
                    index: 1,
                    value: 1.5,
                }
        }
        "bce_err_p_neg_f32" => matches!(
            error,
            BceError::ProbabilityOutOfRange { index: 0, value } if *value == f64::from(-0.1_f32)
        ),
        "bce_err_p_nan_f32" => {
            *error
                == BceError::NotANumber {
                    operand: Operand::Probs,
                    index: 0,
                }
        }
        "bce_err_target_gt1_f32" => matches!(
            error,
            BceError::TargetOutOfRange { index: 0, value } if *value == f64::from(1.2_f32)
        ),
        "bce_err_size_mismatch_f32" => {
            *error
                == BceError::LengthMismatch {
                    values: Operand::Probs,
                    len: 3,
                    operand: Operand::Targets,
                    operand_len: 2,
                }
        }
        "bcel_err_size_mismatch_f32" => {
            *error
                == BceError::LengthMismatch {
                    values: Operand::Logits,
                    len: 3,
                    operand: Operand::Targets,
                    operand_len: 2,
                }
        }
        other => panic!("{other}: expected_error case without a translation in this test"),
    }
}

fn torch_differs(name: &str, index: usize) -> bool {
    TORCH_DIFFERS
        .iter()
        .any(|&(case, i, _)| case == name && i == index)
}

#[test]
fn golden_file_has_sixty_cases() {
    let cases = load_cases();
    assert_eq!(
        cases.len(),
        60,
        "number of golden cases: expected 60, got {}",
        cases.len()
    );
}

#[test]
fn golden_expected_errors_rejected() {
    for case in load_cases().iter().filter(|c| c.expected_error) {
        match run_case(case) {
            Ok(outcome) => panic!(
                "{}: expected an error, got loss {:?}",
                case.name, outcome.loss
            ),
            Err(error) => assert!(
                expected_torch_error(case, &error),
                "{}: input {:?} target {:?}: wrong error {error:?} ({error})",
                case.name,
                case.input,
                case.target
            ),
        }
    }
}

#[test]
fn golden_rejected_by_design() {
    let cases = load_cases();
    let mut seen = 0;
    for case in &cases {
        let Some((is_expected, reason)) = rejected_by_design(&case.name) else {
            continue;
        };
        seen += 1;
        match run_case(case) {
            Ok(outcome) => panic!(
                "{}: expected an error ({reason}), got {:?}",
                case.name, outcome.loss
            ),
            Err(error) => assert!(is_expected(&error), "{}: wrong error {error:?}", case.name),
        }
    }
    assert_eq!(seen, 6, "cases rejected by design: expected 6, got {seen}");
}

/// Cases with a NaN logit among valid ones: the whole call is rejected,
/// naming the first NaN; without it, the rest must match.
#[test]
fn golden_nan_elements_rejected_then_rest_matches() {
    let mut seen = 0;
    for case in load_cases().iter().filter(|c| !c.expected_error) {
        if rejected_by_design(&case.name).is_some() {
            continue;
        }
        let Some(first_nan) = case.input.iter().position(|v| v.is_nan()) else {
            continue;
        };
        seen += 1;
        let operand = match case.function {
            Function::Probs => Operand::Probs,
            Function::Logits => Operand::Logits,
        };
        let expected = BceError::NotANumber {
            operand,
            index: first_nan,
        };
        match run_case(case) {
            Ok(outcome) => panic!(
                "{}: expected {expected:?}, got {:?}",
                case.name, outcome.loss
            ),
            Err(error) => assert_eq!(error, expected, "{}: NaN at {first_nan}", case.name),
        }
        check_values(&case.without_nan());
    }
    assert_eq!(seen, 6, "cases with NaN inputs: expected 6, got {seen}");
}

#[test]
fn golden_loss_and_grad_match() {
    let mut seen = 0;
    for case in load_cases().iter().filter(|c| !c.expected_error) {
        let has_nan = case.input.iter().any(|v| v.is_nan());
        if rejected_by_design(&case.name).is_some() || has_nan {
            continue;
        }
        seen += 1;
        check_values(case);
    }
    // 60 cases − 6 expected errors − 6 rejected by design − 6 with NaN inputs.
    assert_eq!(seen, 42, "cases compared by value: expected 42, got {seen}");
}

#[test]
fn golden_torch_differs_entries_all_used() {
    let cases = load_cases();
    for &(name, index, _) in TORCH_DIFFERS {
        let case = cases.iter().find(|c| c.name == name);
        assert!(case.is_some(), "TORCH_DIFFERS names unknown case {name}");
        let Some(case) = case else { continue };
        assert!(
            case.exact.as_ref().is_some_and(|e| index < e.len()),
            "TORCH_DIFFERS entry {name}[{index}] has no exact value to compare with"
        );
    }
}

/// Compares one case that must succeed: loss against the exact values (or
/// PyTorch and the oracle when the file has no exact values), gradient
/// against PyTorch and the oracle.
fn check_values(case: &Case) {
    let outcome = run_case(case).unwrap_or_else(|e| panic!("{}: unexpected error {e}", case.name));
    let exact_tol = tolerance::exact(&case.dtype);
    let torch_tol = tolerance::torch(&case.dtype);
    let expected_loss = case.expected_loss.as_ref().map(numbers).unwrap_or_default();

    assert_eq!(
        outcome.loss.len(),
        expected_loss.len(),
        "{}: loss length",
        case.name
    );
    for (i, &actual) in outcome.loss.iter().enumerate() {
        let torch = expected_loss[i];
        if let Some(exact) = &case.exact {
            assert!(
                close_with(actual, exact[i], exact_tol, MPMATH_ATOL),
                "{}[{i}]: input {} target {}: exact {:e}, got {actual:e}",
                case.name,
                case.input[i],
                case.target[i],
                exact[i]
            );
            let agrees = close_with(actual, torch, exact_tol, 0.0);
            let listed = torch_differs(&case.name, case.origin[i]);
            assert!(
                agrees != listed,
                "{}[{i}]: input {} target {}: PyTorch {torch:e}, got {actual:e}; \
                 agrees with PyTorch: {agrees}, listed in TORCH_DIFFERS: {listed}",
                case.name,
                case.input[i],
                case.target[i]
            );
        } else {
            assert!(
                close(actual, torch, torch_tol),
                "{}[{i}]: PyTorch {torch:e}, got {actual:e}",
                case.name
            );
        }
        assert!(
            close(actual, outcome.reference_loss[i], exact_tol),
            "{}[{i}]: oracle {:e}, got {actual:e}",
            case.name,
            outcome.reference_loss[i]
        );
    }

    let Some(expected_grad) = &case.expected_grad else {
        panic!("{}: no expected_grad", case.name);
    };
    assert_eq!(
        outcome.grad.len(),
        expected_grad.len(),
        "{}: grad length",
        case.name
    );
    for (i, &grad) in outcome.grad.iter().enumerate() {
        // Our gradient is for an upstream gradient of 1; PyTorch's for grad_output.
        let actual = grad * case.grad_output[i];
        assert!(
            close(actual, expected_grad[i], torch_tol),
            "{}: grad[{i}]: input {} target {} grad_output {}: PyTorch {:e}, got {actual:e}",
            case.name,
            case.input[i],
            case.target[i],
            case.grad_output[i],
            expected_grad[i]
        );
        assert!(
            close(grad, outcome.reference_grad[i], exact_tol),
            "{}: grad[{i}]: oracle {:e}, got {grad:e}",
            case.name,
            outcome.reference_grad[i]
        );
    }
}
