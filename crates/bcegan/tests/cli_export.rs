//! `bcegan export` through the binary: a trained run written under PyTorch's names.

use std::path::Path;
use std::process::{Command, Output};

use safetensors::{Dtype, SafeTensors};

/// Runs the `bcegan` binary with `args`.
fn bcegan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bcegan"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the bcegan binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Trains a 4-step run of batch 16 into `out`.
fn train(out: &Path) {
    let out = out.to_str().expect("UTF-8 path");
    let output = bcegan(&["train", "--steps", "4", "--batch-size", "16", "--out", out]);
    assert!(
        output.status.success(),
        "training failed: {}",
        text(&output.stderr)
    );
}

#[test]
fn export_run_folder_writes_torch_names() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = folder.path().join("run");
    train(&run);
    let file = folder.path().join("course.safetensors");
    let output = export(&run, &file);
    assert!(
        output.status.success(),
        "export failed: {}",
        text(&output.stderr)
    );
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("wrote 38 tensors (latent_dim 64, step 4)"),
        "summary line: {stdout:?}"
    );

    let bytes = std::fs::read(&file).expect("exported file exists");
    let tensors = SafeTensors::deserialize(&bytes).expect("exported file is SafeTensors");
    let weight = tensors
        .tensor("gen.0.0.weight")
        .expect("gen.0.0.weight exists");
    assert_eq!(weight.shape(), &[128, 64], "gen.0.0.weight shape");
    let counter = tensors
        .tensor("gen.3.1.num_batches_tracked")
        .expect("gen.3.1.num_batches_tracked exists");
    assert_eq!(counter.dtype(), Dtype::I64, "counter dtype");
    assert_eq!(
        counter.data(),
        &4i64.to_le_bytes(),
        "counter holds the steps"
    );
    let leftovers: Vec<String> = std::fs::read_dir(folder.path())
        .expect("folder is readable")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn export_checkpoint_file_directly() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = folder.path().join("run");
    train(&run);
    let checkpoint = run.join("checkpoint.safetensors");
    let file = folder.path().join("course.safetensors");
    let output = export(&checkpoint, &file);
    assert!(
        output.status.success(),
        "export of a checkpoint beside config.json failed: {}",
        text(&output.stderr)
    );
}

#[test]
fn export_missing_run_folder_exits_2() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let missing = folder.path().join("no-such-run");
    let file = folder.path().join("course.safetensors");
    let output = export(&missing, &file);
    assert_eq!(output.status.code(), Some(2), "exit status");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no-such-run not found") && stderr.contains("bcegan train"),
        "message names the path and the fix: {stderr:?}"
    );
    assert!(!file.exists(), "no file is written on error");
}

#[test]
fn export_to_missing_folder_exits_1() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = folder.path().join("run");
    train(&run);
    let file = folder
        .path()
        .join("absent-folder")
        .join("course.safetensors");
    let output = export(&run, &file);
    assert_eq!(output.status.code(), Some(1), "exit status");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("failed to write") && stderr.contains("absent-folder"),
        "message names the file: {stderr:?}"
    );
}

/// Runs `bcegan export RUN --torch FILE`.
fn export(run: &Path, file: &Path) -> Output {
    bcegan(&[
        "export",
        run.to_str().expect("UTF-8 path"),
        "--torch",
        file.to_str().expect("UTF-8 path"),
    ])
}

/// Returns the bytes of tensor `name` in the SafeTensors file at `path`.
fn tensor_bytes(path: &Path, name: &str) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("exported file exists");
    let tensors = SafeTensors::deserialize(&bytes).expect("exported file is SafeTensors");
    tensors
        .tensor(name)
        .unwrap_or_else(|error| panic!("{name} in {}: {error}", path.display()))
        .data()
        .to_vec()
}

#[test]
fn init_from_starts_a_run_from_exported_weights() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let first = folder.path().join("first");
    train(&first);
    let exported = folder.path().join("first.safetensors");
    let output = export(&first, &exported);
    assert!(output.status.success(), "export: {}", text(&output.stderr));

    // A learning rate of 1e-30 moves no f32 weight, so the second run's linear weights
    // after one step are exactly those it started from.
    let second = folder.path().join("second");
    let output = bcegan(&[
        "train",
        "--steps",
        "1",
        "--batch-size",
        "16",
        "--lr",
        "1e-30",
        "--seed",
        "7",
        "--init-from",
        exported.to_str().expect("UTF-8 path"),
        "--out",
        second.to_str().expect("UTF-8 path"),
    ]);
    assert!(output.status.success(), "train: {}", text(&output.stderr));
    let reexported = folder.path().join("second.safetensors");
    let output = export(&second, &reexported);
    assert!(output.status.success(), "export: {}", text(&output.stderr));
    for name in [
        "gen.0.0.weight",
        "gen.4.weight",
        "disc.0.0.weight",
        "disc.3.bias",
    ] {
        assert!(
            tensor_bytes(&exported, name) == tensor_bytes(&reexported, name),
            "{name} of the --init-from run equals the exported one"
        );
    }
}

#[test]
fn init_from_garbage_file_exits_2() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let bad = folder.path().join("weights.safetensors");
    std::fs::write(&bad, b"not a SafeTensors file").expect("file is writable");
    let output = bcegan(&[
        "train",
        "--steps",
        "1",
        "--batch-size",
        "16",
        "--init-from",
        bad.to_str().expect("UTF-8 path"),
        "--out",
        folder.path().join("run").to_str().expect("UTF-8 path"),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit status; stderr {stderr:?}"
    );
    assert!(
        stderr.contains("--init-from") && stderr.contains("weights.safetensors"),
        "message names the option and the file: {stderr:?}"
    );
    assert!(
        !folder.path().join("run").exists(),
        "a rejected --init-from leaves no run folder behind"
    );
}

#[test]
fn export_over_run_checkpoint_rejected() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = folder.path().join("run");
    train(&run);
    let checkpoint = run.join("checkpoint.safetensors");
    let before = std::fs::read(&checkpoint).expect("checkpoint exists");
    let output = export(&run, &checkpoint);
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit status; stderr {stderr:?}"
    );
    assert!(
        stderr.contains("would replace the checkpoint.safetensors"),
        "message says what would be lost: {stderr:?}"
    );
    let after = std::fs::read(&checkpoint).expect("checkpoint still exists");
    assert!(before == after, "the run's checkpoint is unchanged");
}

#[test]
fn sample_grid_needs_png_extension() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = folder.path().join("run");
    train(&run);
    let output = bcegan(&[
        "sample",
        run.to_str().expect("UTF-8 path"),
        "--out",
        folder.path().join("grid.jpg").to_str().expect("UTF-8 path"),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit status; stderr {stderr:?}"
    );
    assert!(
        stderr.contains("--out") && stderr.contains(".png"),
        "message names the option and the extension: {stderr:?}"
    );
}
