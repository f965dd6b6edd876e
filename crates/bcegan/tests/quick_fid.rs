//! The quick FID of a training run: its metrics column, the best checkpoint, and that
//! measuring changes neither the losses nor what a resumed run measures.

use std::path::Path;

use bcegan::cli::train::TrainArgs;
use bcegan::train::{
    BEST_CHECKPOINT_FILE, RunOptions, StartMode, TrainConfig, read_checkpoint, run, train,
};
use burn::tensor::Device;
use clap::Parser;

#[derive(Parser)]
struct Wrapper {
    #[command(flatten)]
    args: TrainArgs,
}

fn config(words: &[&str], out: &Path) -> TrainConfig {
    let mut argv = vec!["train"];
    argv.extend_from_slice(words);
    let wrapper = Wrapper::try_parse_from(argv).expect("test arguments parse");
    wrapper.args.to_config(out.to_path_buf())
}

fn device() -> Device {
    Device::flex().autodiff()
}

/// A six-step run measured at steps 3 and 6 on 64 generated images.
const MEASURED_RUN: [&str; 12] = [
    "--steps",
    "6",
    "--batch-size",
    "16",
    "--log-every",
    "2",
    "--sample-every",
    "6",
    "--fid-every",
    "3",
    "--fid-samples",
    "64",
];

/// Rows of `metrics.csv` as (step, losses and outputs, fid cell).
fn rows(out: &Path) -> Vec<(u64, Vec<String>, String)> {
    let text = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv is readable");
    let mut lines = text.lines();
    let header = lines.next().expect("metrics.csv has a header");
    assert!(
        header.ends_with(",fid"),
        "header {header:?} ends with the fid column"
    );
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let step = cells[0].parse().expect("step is an integer");
            let losses = cells[1..5].iter().map(|cell| (*cell).to_owned()).collect();
            (step, losses, cells[7].to_owned())
        })
        .collect()
}

#[test]
fn fid_steps_keep_best_checkpoint() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    train(&config(&MEASURED_RUN, &out), &device()).expect("training succeeds");

    let rows = rows(&out);
    let steps: Vec<u64> = rows.iter().map(|(step, _, _)| *step).collect();
    assert_eq!(steps, [2, 3, 4, 6], "rows at log steps and measured steps");
    let fids: Vec<f64> = rows
        .iter()
        .filter(|(_, _, fid)| !fid.is_empty())
        .map(|(_, _, fid)| fid.parse().expect("fid cell is a number"))
        .collect();
    assert_eq!(fids.len(), 2, "steps 3 and 6 are measured: {rows:?}");
    assert!(
        fids.iter().all(|fid| fid.is_finite() && *fid > 0.0),
        "{fids:?}"
    );

    let best = read_checkpoint(&out.join(BEST_CHECKPOINT_FILE), 64, &device())
        .expect("the best checkpoint reads back");
    let lowest = fids.iter().copied().fold(f64::INFINITY, f64::min);
    let best_fid = best
        .state
        .best_fid
        .expect("the best checkpoint records its FID");
    assert!(
        (best_fid - lowest).abs() <= 1e-4 * lowest,
        "best checkpoint FID {best_fid} against the lowest logged {lowest}"
    );
    let best_step = if fids[0] <= fids[1] { 3 } else { 6 };
    assert_eq!(best.state.step, best_step, "step of the best checkpoint");
}

#[test]
fn fid_leaves_losses_unchanged() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let measured = folder.path().join("measured");
    let plain = folder.path().join("plain");
    train(&config(&MEASURED_RUN, &measured), &device()).expect("measured run succeeds");
    let mut words = MEASURED_RUN.to_vec();
    words[9] = "0";
    train(&config(&words, &plain), &device()).expect("unmeasured run succeeds");

    let losses = |out: &Path| -> Vec<(u64, Vec<String>)> {
        rows(out)
            .into_iter()
            .filter(|(step, _, _)| step % 2 == 0)
            .map(|(step, losses, _)| (step, losses))
            .collect()
    };
    assert_eq!(
        losses(&measured),
        losses(&plain),
        "losses with and without quick FID"
    );
    assert!(
        !plain.join(BEST_CHECKPOINT_FILE).exists(),
        "--fid-every 0 writes no best checkpoint"
    );
}

#[test]
fn resumed_run_repeats_fids() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let whole = folder.path().join("whole");
    let parts = folder.path().join("parts");
    train(&config(&MEASURED_RUN, &whole), &device()).expect("whole run succeeds");

    let mut first = MEASURED_RUN.to_vec();
    first[1] = "3";
    train(&config(&first, &parts), &device()).expect("first part succeeds");
    let resumed = config(&MEASURED_RUN, &parts);
    let options = RunOptions {
        mode: StartMode::Resume,
        ..RunOptions::default()
    };
    run(&resumed, &options, &device()).expect("resume succeeds");

    let fid_cells = |out: &Path| -> Vec<(u64, String)> {
        rows(out)
            .into_iter()
            .filter(|(_, _, fid)| !fid.is_empty())
            .map(|(step, _, fid)| (step, fid))
            .collect()
    };
    assert_eq!(
        fid_cells(&parts),
        fid_cells(&whole),
        "FIDs of the resumed run"
    );
}

#[test]
fn bad_classifier_stops_before_folder() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let bogus = folder.path().join("classifier.safetensors");
    std::fs::write(&bogus, b"not a classifier").expect("write the bogus file");
    let out = folder.path().join("run");
    let mut words = MEASURED_RUN.to_vec();
    let bogus_text = bogus.to_string_lossy().into_owned();
    words.extend(["--classifier", &bogus_text]);
    let error = train(&config(&words, &out), &device()).expect_err("a bogus classifier fails");
    assert!(error.is_invalid_input(), "bad input, exit 2: {error}");
    assert!(
        error.to_string().contains("classifier.safetensors"),
        "the message names the file: {error}"
    );
    assert!(!out.exists(), "no run folder was made");
}
