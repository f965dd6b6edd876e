//! Run-folder rules, write failures and the non-finite guard, through the binary.

mod common;

use std::path::Path;

use bcegan::train::{CHECKPOINT_FILE, read_checkpoint};
use burn::tensor::Device;
use common::{loss_bits, stderr, train};

/// Exit status for rejected settings or folders.
const EXIT_INVALID_INPUT: i32 = 2;

fn assert_rejected(output: &std::process::Output, code: i32, needles: &[&str], case: &str) {
    let message = stderr(output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{case}: exit status, stderr {message:?}"
    );
    for needle in needles {
        assert!(
            message.contains(needle),
            "{case}: stderr {message:?} lacks {needle:?}"
        );
    }
}

fn finished_run(out: &Path) {
    let output = train(out, &["--steps", "2"]);
    assert!(output.status.success(), "2-step run: {}", stderr(&output));
}

#[test]
fn run_folder_existing_run_needs_resume() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    finished_run(&out);
    let before = std::fs::read(out.join(CHECKPOINT_FILE)).expect("checkpoint");
    for words in [&["--steps", "2"][..], &["--steps", "2", "--force"][..]] {
        let output = train(&out, words);
        assert_rejected(
            &output,
            EXIT_INVALID_INPUT,
            &["--resume", "--out"],
            "existing run",
        );
    }
    let after = std::fs::read(out.join(CHECKPOINT_FILE)).expect("checkpoint");
    assert!(
        before == after,
        "the existing run's checkpoint is unchanged"
    );
}

#[test]
fn run_folder_foreign_files_need_force() {
    let folder = tempfile::tempdir().expect("temporary folder");
    std::fs::write(folder.path().join("notes.txt"), "keep me").expect("write a file");
    let output = train(folder.path(), &["--steps", "2"]);
    assert_rejected(
        &output,
        EXIT_INVALID_INPUT,
        &["not empty", "--force"],
        "foreign folder",
    );

    let output = train(folder.path(), &["--steps", "2", "--force"]);
    assert!(output.status.success(), "--force: {}", stderr(&output));
    let kept = std::fs::read_to_string(folder.path().join("notes.txt")).expect("file kept");
    assert_eq!(kept, "keep me", "--force keeps files with other names");
}

#[test]
fn run_folder_resume_needs_run() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let output = train(folder.path(), &["--resume"]);
    assert_rejected(
        &output,
        EXIT_INVALID_INPUT,
        &["config.json", "without --resume"],
        "no run",
    );
}

#[test]
fn resume_conflicting_setting_rejected() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    finished_run(&out);
    let output = train(&out, &["--resume", "--steps", "3", "--lr", "0.001"]);
    assert_rejected(
        &output,
        EXIT_INVALID_INPUT,
        &["--lr", "0.001", "0.0001"],
        "--lr differs",
    );
    let output = train(
        &out,
        &["--resume", "--steps", "3", "--seed", "0", "--lr", "0.0001"],
    );
    assert!(
        output.status.success(),
        "same values as the run: {}",
        stderr(&output)
    );
}

#[test]
fn run_folder_under_file_fails_clearly() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let file = folder.path().join("file");
    std::fs::write(&file, "").expect("write a file");
    let output = train(&file.join("run"), &["--steps", "2"]);
    assert_rejected(
        &output,
        1,
        &["file/run", "writable"],
        "--out under a regular file",
    );
}

/// A full disk, made real by pointing the checkpoint's temporary file at /dev/full, where
/// every write fails with ENOSPC.
#[test]
fn checkpoint_disk_full_keeps_previous() {
    if !Path::new("/dev/full").exists() {
        panic!("/dev/full is missing; this test needs a Linux system");
    }
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    finished_run(&out);
    let before = std::fs::read(out.join(CHECKPOINT_FILE)).expect("checkpoint");
    std::os::unix::fs::symlink("/dev/full", out.join("checkpoint.safetensors.tmp"))
        .expect("symlink to /dev/full");

    let output = train(&out, &["--resume", "--steps", "4"]);
    assert_rejected(
        &output,
        1,
        &["No space left", "previous checkpoint is unchanged"],
        "disk full",
    );
    let after = std::fs::read(out.join(CHECKPOINT_FILE)).expect("checkpoint");
    assert!(before == after, "the previous checkpoint is unchanged");
    let device = Device::flex().autodiff();
    let loaded = read_checkpoint(&out.join(CHECKPOINT_FILE), 64, &device);
    let step = loaded
        .map(|checkpoint| checkpoint.state.step)
        .map_err(|error| error.to_string());
    assert_eq!(step, Ok(2), "the previous checkpoint loads at its step");

    // With space again, the run continues from that checkpoint.
    let output = train(&out, &["--resume", "--steps", "4"]);
    assert!(
        output.status.success(),
        "resume after the disk is free: {}",
        stderr(&output)
    );
}

#[test]
fn non_finite_loss_stops_run() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    // With seed 0 and batch 16, lr 1e8 makes the discriminator's loss infinite at step 2.
    let output = train(
        &out,
        &["--steps", "30", "--lr", "1e8", "--checkpoint-every", "1"],
    );
    assert_rejected(
        &output,
        1,
        &["training stopped at step 2", "not finite", "--on-nan skip"],
        "lr 1e8",
    );
    let message = stderr(&output);
    assert!(
        message.contains("discriminator") || message.contains("generator"),
        "stderr {message:?} names the network"
    );
    let device = Device::flex().autodiff();
    let loaded = read_checkpoint(&out.join(CHECKPOINT_FILE), 64, &device);
    let step = loaded
        .map(|checkpoint| checkpoint.state.step)
        .map_err(|error| error.to_string());
    assert_eq!(step, Ok(1), "the checkpoint of the last good step loads");
}

#[test]
fn non_finite_skip_counts_steps() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    let output = train(&out, &["--steps", "10", "--lr", "1e30", "--on-nan", "skip"]);
    assert!(
        output.status.success(),
        "--on-nan skip: {}",
        stderr(&output)
    );
    let text = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv");
    let header = text.lines().next().unwrap_or_default();
    assert_eq!(
        header, "step,d_loss,g_loss,d_real,d_fake,elapsed_s,skipped_steps,fid",
        "metrics.csv header"
    );
    let skipped: u64 = text
        .lines()
        .last()
        .and_then(|line| line.split(',').nth(6))
        .and_then(|cell| cell.parse().ok())
        .unwrap_or(0);
    assert!(
        skipped > 0,
        "lr 1e30: skipped_steps in the last row is {skipped}"
    );
    assert_eq!(loss_bits(&out).len(), 10, "one row per step");
}

#[test]
fn non_finite_skips_in_a_row_stop_run() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    // lr 1e30 makes the first update finite but so large that every later step is skipped.
    let output = train(&out, &["--steps", "80", "--lr", "1e30", "--on-nan", "skip"]);
    assert_rejected(
        &output,
        1,
        &["last 50 steps were all skipped", "no checkpoint"],
        "skips in a row",
    );
}

#[test]
fn resume_with_lost_checkpoint_rejected() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    let output = train(&out, &["--steps", "4", "--checkpoint-every", "2"]);
    assert!(output.status.success(), "4-step run: {}", stderr(&output));
    std::fs::remove_file(out.join(CHECKPOINT_FILE)).expect("remove the checkpoint");
    let output = train(&out, &["--resume", "--steps", "6"]);
    assert_rejected(
        &output,
        EXIT_INVALID_INPUT,
        &["no checkpoint.safetensors", "steps up to 4"],
        "lost checkpoint",
    );
}

#[test]
fn resume_damaged_checkpoint_exits_2() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    finished_run(&out);
    std::fs::write(out.join(CHECKPOINT_FILE), "hello world\n").expect("overwrite checkpoint");
    let output = train(&out, &["--resume", "--steps", "4"]);
    assert_rejected(
        &output,
        EXIT_INVALID_INPUT,
        &["checkpoint.safetensors"],
        "damaged checkpoint",
    );
}

#[test]
fn run_folder_in_use_rejected() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    finished_run(&out);
    let lock = std::fs::File::open(out.join(".train.lock")).expect("the run made a lock file");
    lock.try_lock().expect("the finished run released its lock");
    let output = train(&out, &["--resume", "--steps", "4"]);
    assert_rejected(&output, 1, &["in use", ".train.lock"], "locked run");
}
