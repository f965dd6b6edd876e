//! Damaged or mismatched checkpoints are rejected with an error that says what is wrong
//! and where, never with a panic.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bcegan::cli::train::TrainArgs;
use bcegan::train::{CHECKPOINT_FILE, CheckpointProblem, TrainError, load_checkpoint, train};
use burn::tensor::Device;
use clap::Parser;

#[derive(Parser)]
struct Wrapper {
    #[command(flatten)]
    args: TrainArgs,
}

fn device() -> Device {
    Device::flex().autodiff()
}

/// Bytes of a valid checkpoint from a 2-step run, made once for all tests.
fn valid_checkpoint() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let folder = tempfile::tempdir().expect("temporary folder");
        let out = folder.path().join("run");
        let argv = [
            "train",
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--sample-every",
            "1000",
        ];
        let config = Wrapper::try_parse_from(argv)
            .expect("test arguments parse")
            .args
            .to_config(out.clone());
        train(&config, &device()).expect("the 2-step run succeeds");
        std::fs::read(out.join(CHECKPOINT_FILE)).expect("checkpoint is readable")
    })
}

/// Writes `bytes` as a checkpoint in a new folder and loads it with `latent_dim`.
fn load(bytes: &[u8], latent_dim: usize) -> (PathBuf, TrainError) {
    static FOLDER: OnceLock<tempfile::TempDir> = OnceLock::new();
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let folder = FOLDER.get_or_init(|| tempfile::tempdir().expect("temporary folder"));
    let number = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = folder.path().join(format!("{number}-{CHECKPOINT_FILE}"));
    std::fs::write(&path, bytes).expect("write the damaged checkpoint");
    match load_checkpoint(&path, latent_dim, &device()) {
        Ok(_) => panic!("{} bytes loaded without an error", bytes.len()),
        Err(error) => (path, error),
    }
}

/// Returns the problem of a checkpoint error, checking that the message names the file.
fn problem(path: &Path, error: TrainError) -> CheckpointProblem {
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "message {message:?} names the file {}",
        path.display()
    );
    match error {
        TrainError::Checkpoint { problem, .. } => problem,
        other => panic!("expected a checkpoint error, got {other:?}"),
    }
}

/// Byte offset where the tensor data starts.
fn data_start(bytes: &[u8]) -> usize {
    let mut length = [0_u8; 8];
    length.copy_from_slice(&bytes[..8]);
    8 + u64::from_le_bytes(length) as usize
}

#[test]
fn checkpoint_valid_loads() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join(CHECKPOINT_FILE);
    std::fs::write(&path, valid_checkpoint()).expect("write checkpoint");
    let result = load_checkpoint(&path, 64, &device());
    assert!(result.is_ok(), "valid checkpoint: {:?}", result.err());
}

#[test]
fn checkpoint_truncated_names_sizes() {
    let bytes = valid_checkpoint();
    let cut = bytes.len() / 2;
    let (path, error) = load(&bytes[..cut], 64);
    let message = error.to_string();
    let problem = problem(&path, error);
    assert!(
        matches!(problem, CheckpointProblem::Truncated { size, expected: Some(expected) }
            if size == cut as u64 && expected == bytes.len() as u64),
        "cut at {cut} of {}: got {problem:?}",
        bytes.len()
    );
    assert!(
        message.contains(&cut.to_string()),
        "message {message:?} names offset {cut}"
    );
}

#[test]
fn checkpoint_cut_in_header_is_truncated() {
    for cut in [0, 5, 20] {
        let (path, error) = load(&valid_checkpoint()[..cut], 64);
        let problem = problem(&path, error);
        assert!(
            matches!(problem, CheckpointProblem::Truncated { .. }),
            "cut at {cut}: got {problem:?}"
        );
    }
}

#[test]
fn checkpoint_flipped_byte_fails_checksum() {
    let mut bytes = valid_checkpoint().to_vec();
    let offset = data_start(&bytes) + 1000;
    bytes[offset] ^= 0x40;
    let (path, error) = load(&bytes, 64);
    let problem = problem(&path, error);
    assert!(
        matches!(problem, CheckpointProblem::ChecksumMismatch { .. }),
        "byte {offset} flipped: got {problem:?}"
    );
}

#[test]
fn checkpoint_edited_state_fails_checksum() {
    let text = valid_checkpoint().to_vec();
    let header_end = data_start(&text);
    let header = String::from_utf8(text[8..header_end].to_vec()).expect("header is UTF-8");
    // The state JSON is escaped inside the metadata string.
    let edited = header.replacen("\\\"seed\\\":0", "\\\"seed\\\":7", 1);
    assert_ne!(edited, header, "the header contains the seed");
    let mut bytes = text[..8].to_vec();
    bytes.extend_from_slice(edited.as_bytes());
    bytes.extend_from_slice(&text[header_end..]);
    let (path, error) = load(&bytes, 64);
    let problem = problem(&path, error);
    assert!(
        matches!(problem, CheckpointProblem::ChecksumMismatch { .. }),
        "seed edited in the state: got {problem:?}"
    );
}

#[test]
fn checkpoint_other_version_rejected() {
    let text = valid_checkpoint().to_vec();
    let header_end = data_start(&text);
    let header = String::from_utf8(text[8..header_end].to_vec()).expect("header is UTF-8");
    let edited = header.replacen("\"format_version\":\"2\"", "\"format_version\":\"9\"", 1);
    assert_ne!(edited, header, "the header contains format_version 2");
    let mut bytes = text[..8].to_vec();
    bytes.extend_from_slice(edited.as_bytes());
    bytes.extend_from_slice(&text[header_end..]);
    let (path, error) = load(&bytes, 64);
    let message = error.to_string();
    let problem = problem(&path, error);
    assert!(
        matches!(&problem, CheckpointProblem::UnsupportedVersion { found } if found == "9"),
        "format_version 9: got {problem:?}"
    );
    assert!(
        message.contains("version 9"),
        "message {message:?} names version 9"
    );
}

#[test]
fn checkpoint_wrong_latent_dim_names_tensor() {
    let (path, error) = load(valid_checkpoint(), 32);
    let message = error.to_string();
    let problem = problem(&path, error);
    assert!(
        matches!(&problem, CheckpointProblem::WrongShape { name, found, expected, .. }
            if name == "generator.blocks.0.linear.weight" && found == &[64, 128] && expected == &[32, 128]),
        "latent_dim 32 for a 64 checkpoint: got {problem:?}"
    );
    assert!(
        message.contains("pass --latent-dim 64"),
        "message {message:?} names the latent size the file was written with"
    );
}

#[test]
fn checkpoint_foreign_safetensors_rejected() {
    let data = [0_u8; 16];
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![4], &data)
        .expect("tensor view");
    let bytes = safetensors::serialize([("weight", view)], None).expect("serialize");
    let (path, error) = load(&bytes, 64);
    let problem = problem(&path, error);
    assert!(
        matches!(problem, CheckpointProblem::NotACheckpoint { format: None }),
        "SafeTensors file without bcegan metadata: got {problem:?}"
    );
}

#[test]
fn checkpoint_garbage_header_rejected() {
    let mut bytes = 12_u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{not json!!}");
    let (path, error) = load(&bytes, 64);
    let problem = problem(&path, error);
    assert!(
        matches!(problem, CheckpointProblem::InvalidHeader(_)),
        "garbage header: got {problem:?}"
    );
}

#[test]
fn checkpoint_huge_header_length_is_truncated() {
    let mut bytes = u64::MAX.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    let (path, error) = load(&bytes, 64);
    let problem = problem(&path, error);
    assert!(
        matches!(problem, CheckpointProblem::Truncated { size: 10, .. }),
        "header length u64::MAX in a 10-byte file: got {problem:?}"
    );
}

#[test]
fn checkpoint_missing_file_not_found() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join(CHECKPOINT_FILE);
    let result = load_checkpoint(&path, 64, &device());
    let problem = match result {
        Err(error) => problem(&path, error),
        Ok(_) => panic!("a missing file loaded"),
    };
    assert!(
        matches!(problem, CheckpointProblem::NotFound),
        "missing file: got {problem:?}"
    );
}
