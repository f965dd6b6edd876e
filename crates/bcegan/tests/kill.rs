//! Crash safety: `bcegan train` killed with SIGKILL at random moments, many of them
//! during a checkpoint write, always leaves a run folder that loads and resumes, and the
//! finished run logs the same losses as one that was never killed.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bcegan::train::{CHECKPOINT_FILE, CONFIG_FILE, read_checkpoint};
use burn::tensor::Device;
use common::{loss_bits, stderr, train, train_command};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const STEPS: &str = "40";
const KILLS: usize = 24;

/// Starts the run, or resumes it once `config.json` exists, and kills it with SIGKILL
/// after `delay`; returns whether the process had already finished.
fn run_and_kill(out: &Path, delay: Duration) -> bool {
    let resume = out.join(CONFIG_FILE).exists();
    let mut words = vec!["--steps", STEPS, "--checkpoint-every", "1"];
    if resume {
        words.push("--resume");
    }
    let mut child = train_command(out, &words)
        .spawn()
        .expect("the bcegan binary starts");
    let started = Instant::now();
    while started.elapsed() < delay {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "run ended early with {status}");
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // `Child::kill` sends SIGKILL on Unix.
    child.kill().expect("SIGKILL is delivered");
    let _ = child.wait();
    false
}

/// Checks that the checkpoint left behind, if any, loads and is consistent.
fn check_folder(out: &Path, round: usize) {
    if !out.join(CONFIG_FILE).exists() {
        // Killed before the run folder was created: a fresh start is the way on.
        return;
    }
    let path = out.join(CHECKPOINT_FILE);
    if !path.exists() {
        return;
    }
    let device = Device::flex().autodiff();
    let checkpoint = read_checkpoint(&path, 64, &device);
    assert!(
        checkpoint.is_ok(),
        "kill {round}: checkpoint does not load: {:?}",
        checkpoint.err()
    );
}

#[test]
fn sigkill_at_random_moments_resumes() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("killed");
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut finished = false;
    let mut during_write = 0;
    for round in 0..KILLS {
        // Start-up takes about 0.3 s in the dev profile and a step with its checkpoint
        // about 70 ms, so delays up to 0.9 s land in start-up, steps and writes alike.
        let delay = Duration::from_millis(rng.random_range(0..900));
        finished = run_and_kill(&out, delay);
        // A leftover temporary file means the kill landed inside a checkpoint write.
        if out.join("checkpoint.safetensors.tmp").exists() {
            during_write += 1;
        }
        check_folder(&out, round);
        if finished {
            break;
        }
    }
    eprintln!("{during_write} of the kills landed inside a checkpoint write");
    if !finished {
        let output = train(
            &out,
            &["--steps", STEPS, "--checkpoint-every", "1", "--resume"],
        );
        assert!(output.status.success(), "final resume: {}", stderr(&output));
    }

    let reference = folder.path().join("reference");
    let output = train(&reference, &["--steps", STEPS]);
    assert!(
        output.status.success(),
        "reference run: {}",
        stderr(&output)
    );
    let expected = loss_bits(&reference);
    let actual = loss_bits(&out);
    let steps: Vec<u64> = actual.iter().map(|row| row.0).collect();
    let expected_steps: Vec<u64> = (1..=40).collect();
    assert_eq!(
        steps, expected_steps,
        "metrics.csv steps after {KILLS} kills"
    );
    for (expected_row, actual_row) in expected.iter().zip(&actual) {
        assert_eq!(
            actual_row, expected_row,
            "step {}: loss bits after kills differ from the reference run",
            expected_row.0
        );
    }
}

/// Sends `signal` ("INT" or "TERM") to `pid` with the `kill` utility.
fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("the kill utility runs");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Waits until `metrics.csv` in `out` has at least `rows` rows.
fn wait_for_rows(out: &Path, rows: usize) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let text = std::fs::read_to_string(out.join("metrics.csv")).unwrap_or_default();
        if text.lines().count() > rows {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} rows of metrics.csv did not appear within 60 s", rows);
}

#[test]
fn signals_write_checkpoint_and_resume() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let folder = tempfile::tempdir().expect("temporary folder");
        let out = folder.path().join("run");
        let mut child = train_command(&out, &["--steps", "100000"])
            .spawn()
            .expect("the bcegan binary starts");
        wait_for_rows(&out, 3);
        send_signal(child.id(), signal);
        let status = child.wait().expect("the run exits");
        assert_eq!(status.code(), Some(code), "exit status after SIG{signal}");

        let device = Device::flex().autodiff();
        let checkpoint = read_checkpoint(&out.join(CHECKPOINT_FILE), 64, &device);
        let step = match checkpoint {
            Ok(checkpoint) => checkpoint.state.step,
            Err(error) => panic!("SIG{signal}: checkpoint does not load: {error}"),
        };
        assert!(
            step >= 3,
            "SIG{signal}: checkpoint at step {step}, expected 3 or more"
        );
        let rows = loss_bits(&out);
        assert_eq!(
            rows.last().map(|row| row.0),
            Some(step),
            "SIG{signal}: last metrics.csv row is the checkpoint's step"
        );

        let total = (step + 2).to_string();
        let output = train(&out, &["--resume", "--steps", &total]);
        assert!(
            output.status.success(),
            "SIG{signal}: resume: {}",
            stderr(&output)
        );
        let last = loss_bits(&out).last().map(|row| row.0);
        assert_eq!(last, Some(step + 2), "SIG{signal}: last step after resume");
    }
}
