//! `bcegan sample` through the binary: grids, arrays, given noise and rejected input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bcegan::interop::npy::{read_npy_f32, write_npy_f32};

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

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Trains a 4-step run of batch 16 in `folder` and returns its run folder.
fn trained_run(folder: &Path) -> PathBuf {
    let run = folder.join("run");
    let output = bcegan(&[
        "train",
        "--steps",
        "4",
        "--batch-size",
        "16",
        "--out",
        path_str(&run),
    ]);
    assert!(
        output.status.success(),
        "training failed: {}",
        text(&output.stderr)
    );
    run
}

/// Runs `bcegan sample ARGS`, panicking unless it succeeds.
fn sample_ok(args: &[&str]) {
    let mut argv = vec!["sample"];
    argv.extend_from_slice(args);
    let output = bcegan(&argv);
    assert!(
        output.status.success(),
        "sample {args:?} failed: {}",
        text(&output.stderr)
    );
}

/// Runs `bcegan sample ARGS`, expects exit status 2 and returns stderr.
fn sample_rejected(args: &[&str]) -> String {
    let mut argv = vec!["sample"];
    argv.extend_from_slice(args);
    let output = bcegan(&argv);
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "sample {args:?}: exit status, stderr {stderr:?}"
    );
    stderr
}

fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    match read_npy_f32(path) {
        Ok(array) => array,
        Err(error) => panic!("{}: {error}", path.display()),
    }
}

#[test]
fn sample_writes_png_grid() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = trained_run(folder.path());
    let png = folder.path().join("grid.png");
    sample_ok(&[path_str(&run), "--out", path_str(&png), "--count", "9"]);
    let bytes = std::fs::read(&png).expect("grid exists");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "grid is a PNG file");
}

#[test]
fn sample_npy_shape_and_range() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = trained_run(folder.path());
    let images = folder.path().join("images.npy");
    let logits = folder.path().join("logits.npy");
    sample_ok(&[
        path_str(&run),
        "--npy",
        path_str(&images),
        "--logits",
        path_str(&logits),
        "--count",
        "5",
    ]);
    let (shape, values) = read_npy(&images);
    assert_eq!(shape, vec![5, 28, 28], "image array shape");
    assert!(
        values.iter().all(|value| (0.0..=1.0).contains(value)),
        "pixels in [0, 1]"
    );
    let (shape, values) = read_npy(&logits);
    assert_eq!(shape, vec![5, 1], "logit array shape");
    assert!(
        values.iter().all(|value| value.is_finite()),
        "finite logits: {values:?}"
    );
}

#[test]
fn sample_seed_decides_images() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = trained_run(folder.path());
    let draw = |name: &str, seed: &str| {
        let path = folder.path().join(name);
        sample_ok(&[
            path_str(&run),
            "--npy",
            path_str(&path),
            "--count",
            "4",
            "--seed",
            seed,
        ]);
        read_npy(&path).1
    };
    let first = draw("first.npy", "3");
    let again = draw("again.npy", "3");
    let other = draw("other.npy", "4");
    assert_eq!(first, again, "same seed, same images");
    assert_ne!(first, other, "seeds 3 and 4 give different images");
}

#[test]
fn sample_noise_file_same_for_every_source() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = trained_run(folder.path());
    let noise: Vec<f32> = (0..3 * 64)
        .map(|index| ((index * 29 % 31) as f32 - 15.0) / 6.0)
        .collect();
    let noise_file = folder.path().join("noise.npy");
    write_npy_f32(&noise_file, &[3, 64], &noise).expect("noise file is writable");

    let from_run = folder.path().join("from-run.npy");
    sample_ok(&[
        path_str(&run),
        "--noise",
        path_str(&noise_file),
        "--npy",
        path_str(&from_run),
    ]);
    let (shape, run_images) = read_npy(&from_run);
    assert_eq!(shape, vec![3, 28, 28], "count taken from the noise rows");

    let exported = folder.path().join("course.safetensors");
    let output = bcegan(&["export", path_str(&run), "--torch", path_str(&exported)]);
    assert!(output.status.success(), "export: {}", text(&output.stderr));
    let from_torch = folder.path().join("from-torch.npy");
    sample_ok(&[
        path_str(&exported),
        "--noise",
        path_str(&noise_file),
        "--npy",
        path_str(&from_torch),
    ]);
    assert_eq!(
        read_npy(&from_torch).1,
        run_images,
        "the exported file gives the run's images"
    );
}

#[test]
fn sample_rejects_wrong_noise_shape() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = trained_run(folder.path());
    let noise_file = folder.path().join("noise.npy");
    write_npy_f32(&noise_file, &[3, 10], &[0.5; 30]).expect("noise file is writable");
    let out = folder.path().join("images.npy");
    let stderr = sample_rejected(&[
        path_str(&run),
        "--noise",
        path_str(&noise_file),
        "--npy",
        path_str(&out),
    ]);
    assert!(
        stderr.contains("[3, 10]") && stderr.contains("[count, 64]"),
        "message gives found and expected shapes: {stderr:?}"
    );
    assert!(!out.exists(), "no images are written on error");
}

#[test]
fn sample_rejects_missing_run_folder() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let missing = folder.path().join("no-such-run");
    let out = folder.path().join("images.npy");
    let stderr = sample_rejected(&[path_str(&missing), "--npy", path_str(&out)]);
    assert!(
        stderr.contains("no-such-run not found"),
        "message names the path: {stderr:?}"
    );
}

#[test]
fn sample_rejects_bad_counts() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = trained_run(folder.path());
    let npy = folder.path().join("images.npy");
    let png = folder.path().join("grid.png");
    let stderr = sample_rejected(&[path_str(&run), "--npy", path_str(&npy), "--count", "0"]);
    assert!(
        stderr.contains("--count = 0") && stderr.contains("from 1 to"),
        "count 0 message: {stderr:?}"
    );
    let stderr = sample_rejected(&[path_str(&run), "--out", path_str(&png), "--count", "1025"]);
    assert!(
        stderr.contains("at most 1024"),
        "oversized grid message: {stderr:?}"
    );
}

#[test]
fn sample_requires_an_output() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let stderr = sample_rejected(&[path_str(folder.path())]);
    assert!(
        stderr.contains("--out") && stderr.contains("--npy"),
        "usage error names the outputs: {stderr:?}"
    );
}

#[test]
fn sample_checkpoint_alone_reads_its_latent_dim() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = trained_run(folder.path());
    let alone = folder.path().join("alone");
    std::fs::create_dir(&alone).expect("folder is creatable");
    let checkpoint = alone.join("checkpoint.safetensors");
    std::fs::copy(run.join("checkpoint.safetensors"), &checkpoint).expect("checkpoint copies");
    let out = folder.path().join("images.npy");

    // No config.json beside the file: the checkpoint's own state gives latent_dim.
    sample_ok(&[
        path_str(&checkpoint),
        "--npy",
        path_str(&out),
        "--count",
        "2",
    ]);
    assert_eq!(
        read_npy(&out).0,
        vec![2, 28, 28],
        "images of the checkpoint"
    );

    let stderr = sample_rejected(&[
        path_str(&checkpoint),
        "--latent-dim",
        "32",
        "--npy",
        path_str(&out),
    ]);
    assert!(
        stderr.contains("latent_dim") || stderr.contains("shape"),
        "a --latent-dim that contradicts the checkpoint is rejected: {stderr:?}"
    );
}
