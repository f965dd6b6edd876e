//! `bcegan train --time-limit` through the binary: an early stop that leaves a complete run
//! folder, and rejected durations.

mod common;

use std::path::Path;

use bcegan::train::{CHECKPOINT_FILE, read_checkpoint};
use burn::tensor::Device;

/// Steps far beyond what the dev profile trains in the time limit of the tests.
const UNREACHED_STEPS: u64 = 1_000_000;

/// Returns the step of the last row of the run's `metrics.csv`.
fn last_metrics_step(out: &Path) -> u64 {
    let text = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv is readable");
    let last = text.lines().skip(1).last().expect("metrics.csv has rows");
    let cell = last.split(',').next().unwrap_or_default();
    cell.parse()
        .unwrap_or_else(|error| panic!("step cell {cell:?} of {last:?}: {error}"))
}

#[test]
fn time_limit_stops_run_early() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    let steps = UNREACHED_STEPS.to_string();
    let output = common::train_command(&out, &["--steps", &steps, "--time-limit", "1s"])
        .env("RUST_LOG", "info")
        .output()
        .expect("the bcegan binary starts");
    let stderr = common::stderr(&output);
    assert!(output.status.success(), "training failed: {stderr}");

    let step = last_metrics_step(&out);
    assert!(
        (1..UNREACHED_STEPS).contains(&step),
        "last metrics row is step {step}, expected between 1 and {UNREACHED_STEPS}"
    );
    let log_line = format!("time limit stopped the run at step {step}");
    assert!(
        stderr.contains(&log_line),
        "expected {log_line:?} in the log, got {stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let trained = format!("trained {step} step");
    assert!(
        stdout.starts_with(&trained),
        "expected the summary to start with {trained:?}, got {stdout:?}"
    );

    let grid = out.join("samples").join(format!("step-{step:06}.png"));
    assert!(
        grid.is_file(),
        "final sample grid {} exists",
        grid.display()
    );
    assert!(out.join("report.html").is_file(), "report.html exists");
    let checkpoint = read_checkpoint(&out.join(CHECKPOINT_FILE), 64, &Device::flex().autodiff());
    let checkpoint_step = checkpoint.map(|checkpoint| checkpoint.state.step);
    assert_eq!(
        checkpoint_step.ok(),
        Some(step),
        "the checkpoint is that of the last step"
    );
}

#[test]
fn time_limit_rejects_bad_durations() {
    let cases: [(&str, &str); 3] = [
        ("5x", "unknown unit"),
        ("300", "has no unit"),
        ("0m", "longer than zero"),
    ];
    for (duration, needle) in cases {
        let folder = tempfile::tempdir().expect("temporary folder");
        let out = folder.path().join("run");
        let output = common::train(&out, &["--time-limit", duration]);
        let stderr = common::stderr(&output);
        assert_eq!(
            output.status.code(),
            Some(2),
            "--time-limit {duration}: expected exit status 2, stderr {stderr}"
        );
        for expected in ["--time-limit", duration, needle] {
            assert!(
                stderr.contains(expected),
                "--time-limit {duration}: expected {expected:?} in {stderr:?}"
            );
        }
        assert!(
            !out.exists(),
            "--time-limit {duration}: no run folder is created"
        );
    }
}
