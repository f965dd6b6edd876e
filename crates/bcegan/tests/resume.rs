//! Exact resume: a run interrupted at checkpoints and resumed logs the same losses, bit
//! for bit, and ends with the same network tensors as an uninterrupted run.

mod common;

use std::path::Path;

use common::{loss_bits, stderr, train};

/// Network tensors of a checkpoint by name, as raw bytes (optimizer state excluded,
/// because it is keyed by parameter ids that differ between runs).
fn network_tensors(out: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(out.join("checkpoint.safetensors")).expect("checkpoint is readable");
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("checkpoint parses");
    let mut tensors: Vec<(String, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("optimizer."))
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect();
    tensors.sort();
    tensors
}

#[test]
fn resume_matches_uninterrupted_run() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let whole = folder.path().join("whole");
    let pieces = folder.path().join("pieces");

    let output = train(&whole, &["--steps", "300"]);
    assert!(
        output.status.success(),
        "uninterrupted run: {}",
        stderr(&output)
    );
    let output = train(&pieces, &["--steps", "100"]);
    assert!(
        output.status.success(),
        "first 100 steps: {}",
        stderr(&output)
    );
    for steps in ["200", "300"] {
        let output = train(&pieces, &["--resume", "--steps", steps]);
        assert!(
            output.status.success(),
            "resume to {steps} steps: {}",
            stderr(&output)
        );
    }

    let expected = loss_bits(&whole);
    let actual = loss_bits(&pieces);
    assert_eq!(expected.len(), 300, "rows of the uninterrupted run");
    assert_eq!(actual.len(), 300, "rows of the resumed run");
    for (expected_row, actual_row) in expected.iter().zip(&actual) {
        assert_eq!(
            actual_row, expected_row,
            "step {}: resumed (step, loss bits) differ from the uninterrupted run",
            expected_row.0
        );
    }

    let expected_tensors = network_tensors(&whole);
    let actual_tensors = network_tensors(&pieces);
    // The MLP keeps a weight average by default, so the comparison covers it too.
    assert!(
        expected_tensors
            .iter()
            .any(|(name, _)| name.starts_with("average.")),
        "the uninterrupted run's checkpoint holds the averaged generator"
    );
    assert_eq!(
        actual_tensors.len(),
        expected_tensors.len(),
        "number of network tensors"
    );
    for ((name, expected_bytes), (actual_name, actual_bytes)) in
        expected_tensors.iter().zip(&actual_tensors)
    {
        assert_eq!(actual_name, name, "tensor names in order");
        assert!(
            actual_bytes == expected_bytes,
            "tensor {name} after 300 steps differs between the resumed and the uninterrupted run"
        );
    }
}

#[test]
fn thread_counts_give_same_losses() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let mut runs = Vec::new();
    for threads in ["1", "2"] {
        let out = folder.path().join(format!("threads-{threads}"));
        let output = common::train_command(&out, &["--steps", "20"])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .expect("the bcegan binary starts");
        assert!(
            output.status.success(),
            "{threads} threads: {}",
            stderr(&output)
        );
        runs.push(loss_bits(&out));
    }
    assert_eq!(
        runs[0], runs[1],
        "seed 0, batch 16: losses with RAYON_NUM_THREADS=1 (left) and 2 (right)"
    );
}
