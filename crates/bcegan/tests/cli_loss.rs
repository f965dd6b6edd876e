//! Tests of `bcegan loss`: arguments parsed by clap, then run against the `bce` crate.
//!
//! Each expected value comes from the formula written beside it, evaluated in Python's
//! `math` module; softplus(x) = log(1 + eˣ).

use std::io::Write;

use bcegan::cli::loss::{LossArgs, LossCommandError, run};
use clap::{CommandFactory, Parser};
use serde_json::Value;

/// Parses `args` as `bcegan loss ARGS`, panicking on a parse error.
fn parse(args: &[&str]) -> LossArgs {
    let argv = std::iter::once("loss").chain(args.iter().copied());
    match LossArgs::try_parse_from(argv) {
        Ok(parsed) => parsed,
        Err(error) => panic!("args {args:?}: parsing failed: {error}"),
    }
}

/// Runs `bcegan loss ARGS` and returns what it printed, or its error.
fn run_loss(args: &[&str]) -> Result<String, LossCommandError> {
    let parsed = parse(args);
    let mut out = Vec::new();
    run(&parsed, &mut out)?;
    match String::from_utf8(out) {
        Ok(text) => Ok(text),
        Err(error) => panic!("args {args:?}: output is not UTF-8: {error}"),
    }
}

/// Runs the command, panicking on an error.
fn output(args: &[&str]) -> String {
    match run_loss(args) {
        Ok(text) => text,
        Err(error) => panic!("args {args:?}: expected success, got error: {error}"),
    }
}

/// Runs the command with `--json` and parses the result.
fn json_output(args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let text = output(&with_json);
    match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(error) => panic!("args {with_json:?}: invalid JSON {text:?}: {error}"),
    }
}

/// Runs the command, panicking unless it fails; returns the error.
fn error(args: &[&str]) -> LossCommandError {
    match run_loss(args) {
        Ok(text) => panic!("args {args:?}: expected an error, got output {text:?}"),
        Err(error) => error,
    }
}

fn json_loss(args: &[&str]) -> f64 {
    let json = json_output(args);
    match json["loss"].as_f64() {
        Some(loss) => loss,
        None => panic!("args {args:?}: `loss` is not a number in {json}"),
    }
}

fn json_numbers(args: &[&str], key: &str) -> Vec<Value> {
    let json = json_output(args);
    match json[key].as_array() {
        Some(values) => values.clone(),
        None => panic!("args {args:?}: `{key}` is not a list in {json}"),
    }
}

fn assert_close(args: &[&str], actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "args {args:?}: expected {expected} ± {tolerance}, got {actual}"
    );
}

fn as_f64(args: &[&str], value: &Value) -> f64 {
    match value.as_f64() {
        Some(number) => number,
        None => panic!("args {args:?}: expected a number, got {value}"),
    }
}

/// Creates a temporary directory for @FILE arguments.
fn temp_dir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("creating a temporary directory failed: {error}"),
    }
}

fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.path().join(name);
    if let Err(error) = std::fs::write(&path, bytes) {
        panic!("writing {}: {error}", path.display());
    }
    format!("@{}", path.display())
}

/// `.npy` version 1.0 bytes of a little-endian f64 vector.
fn npy_f64(values: &[f64]) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    // Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes.
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let length = u16::try_from(header.len()).unwrap_or(u16::MAX);
    bytes.extend_from_slice(&length.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for value in values {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

#[test]
fn command_definition_valid() {
    LossArgs::command().debug_assert();
}

#[test]
fn logits_pos_weight_issue_value() {
    // (ln 2 + 120)/2 = 60.34657359: logit 0 with target 0 costs ln 2, and logit −120 with
    // target 1 costs softplus(120) ≈ 120.
    let args = [
        "--logits",
        "0,-120",
        "--targets",
        "0,1",
        "--pos-weight",
        "1",
    ];
    assert_close(&args, json_loss(&args), 60.346_573_59, 1e-5);
}

#[test]
fn probs_clamped_issue_value() {
    // Every element is maximally wrong, and the default (PyTorch) policy clamps each log
    // at −100, so each costs 100 and so does the mean.
    let args = [
        "--probs",
        "0,1,0,1",
        "--targets",
        "1,0,1,0",
        "--reduction",
        "mean",
    ];
    assert_close(&args, json_loss(&args), 100.0, 0.0);
}

#[test]
fn weighted_mean_issue_value() {
    // (0.2·softplus(−1) + 1·softplus(−2) + 2·softplus(0.5))/3 = 0.7125781056: the mean
    // divides by n, not by the sum of the weights.
    let args = [
        "--logits",
        "1,-2,0.5",
        "--targets",
        "1,0,0",
        "--weights",
        "0.2,1.0,2.0",
        "--dtype",
        "f64",
    ];
    assert_close(&args, json_loss(&args), 0.712_578_105_6, 1e-10);
}

#[test]
fn text_output_prints_loss() {
    let args = ["--probs", "0,1,0,1", "--targets", "1,0,1,0"];
    let text = output(&args);
    assert_eq!(text, "loss: 100\n", "args {args:?}: text output");
}

#[test]
fn json_non_finite_as_strings() {
    // Mismatched infinite logits cost +inf; matching ones cost exactly 0.
    let args = [
        "--logits",
        "inf,-inf,inf",
        "--targets",
        "1,0,0",
        "--reduction",
        "none",
    ];
    let losses = json_numbers(&args, "loss");
    let expected = [
        Value::from(0.0),
        Value::from(0.0),
        Value::from("inf".to_owned()),
    ];
    assert_eq!(losses, expected, "args {args:?}: per-element loss");
}

#[test]
fn json_has_no_grad_without_flag() {
    let args = ["--logits", "0", "--targets", "1"];
    let json = json_output(&args);
    assert!(
        json.get("grad").is_none(),
        "args {args:?}: expected no `grad` key, got {json}"
    );
}

#[test]
fn json_f32_shortest_digits() {
    // 0.1 in f32 written as 0.1, not as its f64 widening 0.10000000149011612.
    let args = [
        "--probs",
        "0.5",
        "--targets",
        "0.5",
        "--reduction",
        "none",
        "--grad",
    ];
    let text = output(&[&args[..], &["--json"]].concat());
    assert!(
        !text.contains("000000"),
        "args {args:?}: expected shortest f32 digits, got {text}"
    );
}

#[test]
fn grad_logits_mean() {
    // d(mean)/dx = (σ(x) − y)/n: (0.5 − 0)/2 and (σ(−120) − 1)/2.
    let args = [
        "--logits",
        "0,-120",
        "--targets",
        "0,1",
        "--grad",
        "--dtype",
        "f64",
    ];
    let grad = json_numbers(&args, "grad");
    assert_eq!(
        grad.len(),
        2,
        "args {args:?}: gradient length, got {grad:?}"
    );
    assert_close(&args, as_f64(&args, &grad[0]), 0.25, 1e-15);
    assert_close(&args, as_f64(&args, &grad[1]), -0.5, 1e-15);
}

#[test]
fn grad_probs_text_listed() {
    // d(sum)/dh = −y/h + (1 − y)/(1 − h): −1/0.5 = −2 and 1/(1 − 0.5) = 2.
    let args = [
        "--probs",
        "0.5,0.5",
        "--targets",
        "1,0",
        "--reduction",
        "sum",
        "--grad",
    ];
    let text = output(&args);
    let expected_lines = [
        "gradient with respect to the probabilities:",
        "0  -2",
        "1   2",
    ];
    for line in expected_lines {
        assert!(
            text.contains(line),
            "args {args:?}: expected a line containing {line:?}, got\n{text}"
        );
    }
}

#[test]
fn explain_probs_table() {
    let args = ["--probs", "0,1", "--targets", "1,0", "--explain"];
    let text = output(&args);
    for expected in [
        "i",
        "target",
        "prob",
        "y·log h",
        "(1−y)·log(1−h)",
        "cost",
        "-100",
        "mean cost: 100",
    ] {
        assert!(
            text.contains(expected),
            "args {args:?}: expected {expected:?} in\n{text}"
        );
    }
    assert!(
        !text.contains("logit"),
        "args {args:?}: probabilities input should have no logit column, got\n{text}"
    );
}

#[test]
fn explain_table_columns_aligned() {
    let args = ["--probs", "0.25,1", "--targets", "1,0", "--explain"];
    let text = output(&args);
    let table: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.contains("cost") || line.contains(':'))
        .take(3)
        .collect();
    let widths: Vec<usize> = table.iter().map(|line| line.chars().count()).collect();
    assert_eq!(
        table.len(),
        3,
        "args {args:?}: header and two rows in\n{text}"
    );
    assert!(
        widths.iter().all(|&width| width == widths[0]),
        "args {args:?}: right-aligned rows should have equal widths, got {widths:?} in\n{text}"
    );
}

#[test]
fn explain_logits_json_rows() {
    // Row 1: logit −120 with target 1 costs softplus(120) = 120, and y·log h = −120.
    let args = [
        "--logits",
        "0,-120",
        "--targets",
        "0,1",
        "--explain",
        "--dtype",
        "f64",
    ];
    let json = json_output(&args);
    let rows = json["explain"]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rows.len(), 2, "args {args:?}: explain rows in {json}");
    assert_close(&args, as_f64(&args, &rows[1]["logit"]), -120.0, 0.0);
    assert_close(&args, as_f64(&args, &rows[1]["y_log_h"]), -120.0, 1e-12);
    assert_close(&args, as_f64(&args, &rows[1]["cost"]), 120.0, 1e-12);
    assert_close(
        &args,
        as_f64(&args, &rows[0]["one_minus_y_log_one_minus_h"]),
        -std::f64::consts::LN_2,
        1e-15,
    );
    let mean = as_f64(&args, &json["explain"]["mean"]);
    assert_close(&args, mean, 60.346_573_590_279_97, 1e-12);
}

#[test]
fn explain_logits_text_column() {
    let args = ["--logits", "0,-120", "--targets", "0,1", "--explain"];
    let text = output(&args);
    assert!(
        text.contains("logit") && text.contains("-120"),
        "args {args:?}: expected a logit column with -120, got\n{text}"
    );
}

#[test]
fn dtype_f64_more_precise() {
    // Exact value (ln 2 + 120)/2 = 60.346573590279974; the nearest f32 is 60.346573.
    let exact = 60.346_573_590_279_97;
    let f32_args = ["--logits", "0,-120", "--targets", "0,1", "--dtype", "f32"];
    let f64_args = ["--logits", "0,-120", "--targets", "0,1", "--dtype", "f64"];
    let f32_loss = json_loss(&f32_args);
    let f64_loss = json_loss(&f64_args);
    assert_close(&f64_args, f64_loss, exact, 1e-12);
    assert_close(&f32_args, f32_loss, exact, 4e-6);
    assert!(
        f32_loss != f64_loss,
        "f32 and f64 results should differ: f32 {f32_loss}, f64 {f64_loss}"
    );
    let f32_text = output(&f32_args);
    assert_eq!(
        f32_text, "loss: 60.346573\n",
        "args {f32_args:?}: text output"
    );
}

#[test]
fn pos_weight_per_class() {
    // A [2, 2] array of zero logits with per-class pos_weight [2, 3]: a positive target
    // costs pw·ln 2 and a negative one ln 2.
    let args = [
        "--logits",
        "0,0,0,0",
        "--targets",
        "1,1,0,1",
        "--pos-weight",
        "2,3",
        "--reduction",
        "none",
        "--dtype",
        "f64",
    ];
    let losses = json_numbers(&args, "loss");
    let ln2 = std::f64::consts::LN_2;
    let expected = [2.0 * ln2, 3.0 * ln2, ln2, 3.0 * ln2];
    assert_eq!(
        losses.len(),
        4,
        "args {args:?}: loss length, got {losses:?}"
    );
    for (index, (actual, expected)) in losses.iter().zip(expected).enumerate() {
        let actual = as_f64(&args, actual);
        assert!(
            (actual - expected).abs() <= 1e-15,
            "args {args:?}: element {index}: expected {expected}, got {actual}"
        );
    }
}

#[test]
fn pos_weight_class_count_mismatch() {
    let args = [
        "--logits",
        "0,0,0",
        "--targets",
        "1,1,0",
        "--pos-weight",
        "2,3",
    ];
    let failure = error(&args);
    assert_eq!(
        failure.exit_code(),
        2,
        "args {args:?}: exit code for {failure}"
    );
}

#[test]
fn label_smoothing_and_keras_clamp() {
    // Keras clips h = 0 to 1e-7; with ε = 0.2 the target 1 becomes 0.9:
    // −(0.9·ln 1e-7 + 0.1·ln(1 − 1e-7)).
    let args = [
        "--probs",
        "0",
        "--targets",
        "1",
        "--label-smoothing",
        "0.2",
        "--clamp",
        "keras",
        "--dtype",
        "f64",
    ];
    let expected = -(0.9 * 1e-7_f64.ln() + 0.1 * (-1e-7_f64).ln_1p());
    assert_close(&args, json_loss(&args), expected, 1e-6);
}

#[test]
fn text_file_values() {
    let dir = temp_dir();
    let logits = write_file(&dir, "logits.txt", b"1 -2\n0.5\n");
    let targets = write_file(&dir, "targets.csv", b"1,0,0\n");
    let args = [
        "--logits",
        &logits,
        "--targets",
        &targets,
        "--weights",
        "0.2,1,2",
        "--dtype",
        "f64",
    ];
    assert_close(&args, json_loss(&args), 0.712_578_105_6, 1e-10);
}

#[test]
fn npy_file_values() {
    let dir = temp_dir();
    let probs = write_file(&dir, "probs.npy", &npy_f64(&[0.0, 1.0, 0.0, 1.0]));
    let args = ["--probs", &probs, "--targets", "1,0,1,0"];
    assert_close(&args, json_loss(&args), 100.0, 0.0);
}

#[test]
fn negative_first_value_parsed() {
    // A list starting with '-' is a value, not an option.
    let args = [
        "--logits",
        "-inf,-120",
        "--targets",
        "0,1",
        "--dtype",
        "f64",
    ];
    assert_close(&args, json_loss(&args), 60.0, 1e-12);
}

/// Asserts that `args` fails with exit code 2 and a message containing each of `needles`.
fn assert_invalid(args: &[&str], needles: &[&str]) {
    let failure = error(args);
    let message = failure.to_string();
    assert_eq!(
        failure.exit_code(),
        2,
        "args {args:?}: exit code for error {message:?}"
    );
    for needle in needles {
        assert!(
            message.contains(needle),
            "args {args:?}: expected {needle:?} in the error, got {message:?}"
        );
    }
}

#[test]
fn error_target_out_of_range() {
    assert_invalid(
        &["--probs", "0.5,0.5", "--targets", "0,2"],
        &["target", "2"],
    );
}

#[test]
fn error_probability_out_of_range() {
    assert_invalid(&["--probs", "0.5,1.5", "--targets", "0,1"], &["1.5"]);
}

#[test]
fn error_nan_probability() {
    assert_invalid(
        &["--probs", "0.5,nan", "--targets", "0,1"],
        &["probs", "NaN"],
    );
}

#[test]
fn error_length_mismatch() {
    assert_invalid(&["--probs", "0.5,0.5,0.5", "--targets", "0,1"], &["3", "2"]);
}

#[test]
fn error_empty_item() {
    assert_invalid(
        &["--probs", "0.5,,1", "--targets", "1,0,1"],
        &["--probs", "item 1", "empty"],
    );
    assert_invalid(
        &["--probs", "0.5,", "--targets", "1"],
        &["--probs", "item 1", "empty"],
    );
}

#[test]
fn error_empty_list_length_mismatch() {
    assert_invalid(
        &["--probs", "", "--targets", "1", "--reduction", "sum"],
        &["targets has 1 values", "probs has 0"],
    );
}

#[test]
fn error_bad_number() {
    assert_invalid(
        &["--probs", "0.5,abc", "--targets", "0,1"],
        &["--probs", "abc", "item 1"],
    );
}

#[test]
fn error_missing_file() {
    assert_invalid(
        &["--probs", "@/nonexistent/probs.txt", "--targets", "1"],
        &["--probs", "/nonexistent/probs.txt"],
    );
}

#[test]
fn error_f32_overflow() {
    assert_invalid(
        &["--logits", "1e300", "--targets", "1"],
        &["1e300", "f32", "--dtype f64"],
    );
}

#[test]
fn error_negative_label_smoothing() {
    assert_invalid(
        &[
            "--probs",
            "0.5",
            "--targets",
            "1",
            "--label-smoothing",
            "-0.1",
        ],
        &["-0.1"],
    );
}

#[test]
fn parse_requires_probs_or_logits() {
    let argv = ["loss", "--targets", "1"];
    let parsed = LossArgs::try_parse_from(argv);
    assert!(
        parsed.is_err(),
        "args {argv:?}: expected a parse error, got {parsed:?}"
    );
}

#[test]
fn parse_rejects_probs_and_logits() {
    let argv = ["loss", "--probs", "0.5", "--logits", "0", "--targets", "1"];
    let parsed = LossArgs::try_parse_from(argv);
    assert!(
        parsed.is_err(),
        "args {argv:?}: expected a parse error, got {parsed:?}"
    );
}

#[test]
fn parse_rejects_unknown_reduction() {
    let argv = [
        "loss",
        "--probs",
        "0.5",
        "--targets",
        "1",
        "--reduction",
        "max",
    ];
    let parsed = LossArgs::try_parse_from(argv);
    assert!(
        parsed.is_err(),
        "args {argv:?}: expected a parse error, got {parsed:?}"
    );
}

#[test]
fn tiny_grad_scientific_notation() {
    // d cost/dx = σ(−120) − 0 = 7.667648073722e-53 (Python: 1/(1+math.exp(120))).
    let args = [
        "--logits",
        "-120",
        "--targets",
        "0",
        "--reduction",
        "sum",
        "--grad",
        "--dtype",
        "f64",
    ];
    let text = output(&args);
    assert!(
        text.contains("7.667648073722e-53"),
        "args {args:?}: expected the gradient in scientific notation, got\n{text}"
    );
}

/// Asserts that the error message of `args` does not contain `needle`.
fn assert_message_lacks(args: &[&str], needle: &str) {
    let message = error(args).to_string();
    assert!(
        !message.contains(needle),
        "args {args:?}: expected no {needle:?} in the error, got {message:?}"
    );
}

#[test]
fn error_probability_hint_names_logits() {
    let args = ["--probs", "1.5", "--targets", "1"];
    assert_invalid(
        &args,
        &[
            "index 0",
            "1.5",
            "[0, 1]",
            "pass probabilities in [0, 1], or pass raw scores with --logits",
        ],
    );
    assert_message_lacks(&args, "binary_cross_entropy_with_logits");
}

#[test]
fn error_empty_mean_names_reduction_option() {
    let args = ["--probs", "", "--targets", ""];
    assert_invalid(&args, &["empty", "--reduction sum"]);
    assert_message_lacks(&args, "Reduction::");
}

#[test]
fn error_empty_explain_names_option() {
    let args = [
        "--probs",
        "",
        "--targets",
        "",
        "--reduction",
        "sum",
        "--explain",
    ];
    assert_invalid(&args, &["empty", "--explain"]);
    assert_message_lacks(&args, "--reduction sum");
}

#[test]
fn error_label_smoothing_names_option() {
    let args = [
        "--probs",
        "0.5",
        "--targets",
        "1",
        "--label-smoothing",
        "1.5",
    ];
    assert_invalid(&args, &["--label-smoothing", "1.5"]);
}

#[test]
fn error_f32_values_as_typed() {
    let cases: [(&[&str], &str, &str); 3] = [
        (
            &["--probs", "0.5", "--targets=-0.1"],
            "-0.1",
            "-0.10000000149011612",
        ),
        (
            &["--probs", "1.1", "--targets", "1"],
            "1.1",
            "1.100000023841858",
        ),
        (
            &["--probs", "0.5", "--targets", "1", "--weights=-0.3"],
            "-0.3",
            "-0.30000001192092896",
        ),
    ];
    for (args, typed, widened) in cases {
        assert_invalid(args, &[typed]);
        assert_message_lacks(args, widened);
    }
}

#[test]
fn error_f64_values_full_precision() {
    let args = ["--probs", "0.5", "--targets=-0.1", "--dtype", "f64"];
    assert_invalid(&args, &["-0.1,"]);
}

#[test]
fn explain_f32_inputs_as_typed() {
    let args = [
        "--probs",
        "0.9",
        "--targets",
        "0.7",
        "--weights",
        "0.3",
        "--pos-weight",
        "1.1",
        "--explain",
    ];
    let text = output(&args);
    let row = text
        .lines()
        .find(|line| line.trim_start().starts_with("0 "))
        .unwrap_or_default();
    let cells: Vec<&str> = row.split_whitespace().collect();
    let expected = ["0", "0.7", "0.9", "0.3", "1.1"];
    assert_eq!(
        cells.get(..5),
        Some(&expected[..]),
        "args {args:?}: expected input columns {expected:?} in row {row:?} of\n{text}"
    );
}

#[test]
fn explain_f32_json_inputs_as_typed() {
    let args = [
        "--logits",
        "0.9",
        "--targets",
        "0.7",
        "--weights",
        "0.3",
        "--explain",
    ];
    let json = json_output(&args);
    let row = &json["explain"]["rows"][0];
    for (key, expected) in [("logit", 0.9), ("target", 0.7), ("weight", 0.3)] {
        let actual = row[key].as_f64();
        assert_eq!(
            actual,
            Some(expected),
            "args {args:?}: `{key}` should be the f32 digits {expected}, got {actual:?} in {json}"
        );
    }
}

#[test]
fn explain_smoothed_target_computed_in_f64() {
    // The target after smoothing, 0.9·(1 − 0.1) + 0.05 = 0.86, is computed in f64 from the
    // f32 target 0.9, so it is not an f32 and keeps its f64 digits.
    let args = [
        "--probs",
        "0.5",
        "--targets",
        "0.9",
        "--label-smoothing",
        "0.1",
        "--explain",
    ];
    let json = json_output(&args);
    let target = json["explain"]["rows"][0]["target"].as_f64();
    let expected = f64::from(0.9f32) * 0.9 + 0.05;
    assert_eq!(
        target,
        Some(expected),
        "args {args:?}: smoothed target in {json}"
    );
}

#[test]
fn error_f64_overflow_named() {
    assert_invalid(
        &["--logits", "0,1e400", "--targets", "1,1", "--dtype", "f64"],
        &["--logits", "item 1", "1e400", "outside the f64 range"],
    );
    assert_invalid(
        &[
            "--probs",
            "0.5",
            "--targets",
            "1",
            "--weights=-1e309",
            "--dtype",
            "f64",
        ],
        &["--weights", "item 0", "-1e309", "outside the f64 range"],
    );
}

#[test]
fn error_underflow_named() {
    assert_invalid(
        &["--probs", "1e-50", "--targets", "0"],
        &[
            "--probs",
            "item 0",
            "1e-50",
            "rounds to 0 in f32",
            "--dtype f64",
        ],
    );
    assert_invalid(
        &["--probs", "1e-400", "--targets", "0", "--dtype", "f64"],
        &["--probs", "item 0", "1e-400", "rounds to 0 in f64"],
    );
}

#[test]
fn error_out_of_range_in_file_located() {
    let dir = temp_dir();
    let file = write_file(&dir, "logits.txt", b"0\n2e38 4e38\n");
    assert_invalid(
        &["--logits", &file, "--targets", "1,1,1"],
        &[
            "--logits",
            "line 2, column 6",
            "4e38",
            "outside the f32 range",
        ],
    );
}

#[test]
fn zero_and_infinity_words_accepted() {
    // Literal zeros are never out of range, and inf is a word, not an overflow.
    let args = [
        "--logits",
        "0e-400,-0.0e999,inf",
        "--targets",
        "0.5,0.5,1",
        "--reduction",
        "sum",
        "--dtype",
        "f64",
    ];
    // Two logits of 0 with target 0.5 cost ln 2 each; inf with target 1 costs 0.
    assert_close(&args, json_loss(&args), 2.0 * std::f64::consts::LN_2, 1e-15);
}

#[test]
fn subnormal_f32_accepted() {
    let args = ["--probs", "1e-45", "--targets", "0", "--reduction", "sum"];
    let loss = json_loss(&args);
    assert!(
        loss.is_finite() && loss >= 0.0,
        "args {args:?}: expected a finite loss for the smallest f32 subnormal, got {loss}"
    );
}

#[test]
fn empty_lists_reduced_by_bce() {
    let sum_args = ["--probs", "", "--targets", "", "--reduction", "sum"];
    let text = output(&sum_args);
    assert_eq!(text, "loss: 0\n", "args {sum_args:?}: text output");

    let none_args = ["--logits", " ", "--targets", "", "--reduction", "none"];
    let losses = json_numbers(&none_args, "loss");
    assert!(
        losses.is_empty(),
        "args {none_args:?}: expected an empty list, got {losses:?}"
    );
}

#[test]
fn empty_files_reduced_by_bce() {
    let dir = temp_dir();
    let npy = write_file(&dir, "empty.npy", &npy_f64(&[]));
    let text = write_file(&dir, "empty.txt", b"# no numbers\n");
    let args = ["--probs", &npy, "--targets", &text, "--reduction", "sum"];
    let loss = json_loss(&args);
    assert_eq!(loss, 0.0, "args {args:?}: loss of empty files");
}

#[test]
fn text_file_byte_order_mark_skipped() {
    let dir = temp_dir();
    let file = write_file(&dir, "probs.txt", "\u{feff}0.25, 0.5\n".as_bytes());
    let args = ["--probs", &file, "--targets", "1,1", "--dtype", "f64"];
    // −(ln 0.25 + ln 0.5)/2 = 1.5·ln 2.
    assert_close(&args, json_loss(&args), 1.5 * std::f64::consts::LN_2, 1e-15);
}

#[test]
fn explain_infinite_logits_no_negative_zero() {
    for dtype in ["f32", "f64"] {
        let args = [
            "--logits",
            "inf,-inf",
            "--targets",
            "1,0",
            "--explain",
            "--grad",
            "--dtype",
            dtype,
        ];
        let text = output(&args);
        let negative_zeros: Vec<&str> = text
            .split_whitespace()
            .filter(|token| token.starts_with("-0") && token.parse::<f64>() == Ok(0.0))
            .collect();
        assert!(
            negative_zeros.is_empty(),
            "args {args:?}: expected no negative zero, found {negative_zeros:?} in\n{text}"
        );

        let json = json_output(&args).to_string();
        assert!(
            !json.contains("-0.0,") && !json.contains("-0.0}") && !json.contains("-0.0]"),
            "args {args:?}: expected no -0.0 in the JSON, got {json}"
        );
    }
}

/// A writer whose every write fails with `kind`.
struct FailingWriter(std::io::ErrorKind);

impl Write for FailingWriter {
    fn write(&mut self, _buf: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::from(self.0))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::from(self.0))
    }
}

#[test]
fn broken_pipe_not_an_error() {
    let args = [
        "--probs",
        "0.5,0.25",
        "--targets",
        "1,0",
        "--reduction",
        "none",
    ];
    let parsed = parse(&args);
    let mut out = FailingWriter(std::io::ErrorKind::BrokenPipe);
    let result = run(&parsed, &mut out);
    assert!(
        result.is_ok(),
        "args {args:?}: a closed pipe should end quietly, got {result:?}"
    );
}

#[test]
fn write_failure_exit_code_one() {
    let args = ["--probs", "0.5", "--targets", "1"];
    let parsed = parse(&args);
    let mut out = FailingWriter(std::io::ErrorKind::StorageFull);
    let code = run(&parsed, &mut out).err().map(|error| error.exit_code());
    assert_eq!(code, Some(1), "args {args:?}: exit code of a failed write");
}

#[test]
fn binary_closed_pipe_exits_quietly() {
    // Enough output (about 2 MB) to fill any pipe buffer, written to a pipe whose reader
    // closes it at once, as `| head` does.
    let dir = temp_dir();
    let count = 200_000;
    let numbers = vec!["0.5"; count].join("\n");
    let probs = write_file(&dir, "probs.txt", numbers.as_bytes());
    let targets = write_file(&dir, "targets.txt", numbers.as_bytes());
    let spawned = std::process::Command::new(env!("CARGO_BIN_EXE_bcegan"))
        .args(["loss", "--probs", &probs, "--targets", &targets])
        .args(["--reduction", "none"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => panic!("starting bcegan failed: {error}"),
    };
    drop(child.stdout.take());
    let finished = match child.wait_with_output() {
        Ok(output) => output,
        Err(error) => panic!("waiting for bcegan failed: {error}"),
    };
    let stderr = String::from_utf8_lossy(&finished.stderr);
    assert_eq!(
        finished.status.code(),
        Some(0),
        "closed pipe: exit status, stderr {stderr:?}"
    );
    assert!(
        stderr.is_empty(),
        "closed pipe: expected nothing on stderr, got {stderr:?}"
    );
}
