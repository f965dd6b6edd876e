//! A short training run on the embedded digits, checked through its run folder.

use std::path::Path;

use bcegan::cli::train::TrainArgs;
use bcegan::train::{CHECKPOINT_FILE, TrainConfig, TrainError, load_checkpoint, train};
use burn::tensor::Device;
use clap::Parser;

#[derive(Parser)]
struct Wrapper {
    #[command(flatten)]
    args: TrainArgs,
}

/// Builds a configuration from command-line words, as a user would type them.
fn config(words: &[&str], out: &Path) -> TrainConfig {
    let mut argv = vec!["train"];
    argv.extend_from_slice(words);
    let wrapper = Wrapper::try_parse_from(argv).expect("test arguments parse");
    wrapper.args.to_config(out.to_path_buf())
}

fn device() -> Device {
    Device::flex().autodiff()
}

/// Metrics rows without the wall-clock column, which differs between runs.
fn metric_rows(out: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv is readable");
    text.lines()
        .skip(1)
        .map(|line| line.split(',').take(5).map(str::to_owned).collect())
        .collect()
}

const SHORT_RUN: [&str; 8] = [
    "--steps",
    "4",
    "--batch-size",
    "16",
    "--log-every",
    "1",
    "--sample-every",
    "3",
];

#[test]
fn train_short_run_writes_run_folder() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    let summary = train(&config(&SHORT_RUN, &out), &device()).expect("training succeeds");
    assert_eq!(summary.steps, 4, "steps run");

    let metrics = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv");
    let mut lines = metrics.lines();
    let header = lines.next().expect("metrics.csv has a header");
    assert!(
        header.starts_with("step,d_loss,g_loss,d_real,d_fake"),
        "metrics.csv header is {header:?}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "one row per logged step, got {rows:?}");
    for row in &rows {
        // The fid cell is empty: four steps are fewer than one quick-FID period.
        let (numbers, fid) = row.rsplit_once(',').expect("row has several cells");
        assert_eq!(fid, "", "no quick FID in row {row:?}");
        let values: Vec<f64> = numbers
            .split(',')
            .map(|cell| cell.parse().expect("numeric cell"))
            .collect();
        assert!(
            values.iter().all(|value| value.is_finite()),
            "row {row:?} has a non-finite value"
        );
        assert!(
            (0.0..=1.0).contains(&values[3]) && (0.0..=1.0).contains(&values[4]),
            "D(x) and D(G(z)) are probabilities in row {row:?}"
        );
    }

    for name in ["step-000003.png", "step-000004.png"] {
        let png = std::fs::read(out.join("samples").join(name)).expect("sample grid exists");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name} is a PNG file");
    }

    let saved: TrainConfig = serde_json::from_str(
        &std::fs::read_to_string(out.join("config.json")).expect("config.json"),
    )
    .expect("config.json parses");
    assert_eq!(saved.steps, 4, "config.json records the steps");
    assert_eq!(saved.batch_size, 16, "config.json records the batch size");

    let loaded = load_checkpoint(&out.join(CHECKPOINT_FILE), saved.latent_dim, &device());
    assert!(loaded.is_ok(), "checkpoint loads: {:?}", loaded.err());
}

#[test]
fn train_same_seed_same_losses() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let first = folder.path().join("first");
    let second = folder.path().join("second");
    train(&config(&SHORT_RUN, &first), &device()).expect("first run");
    train(&config(&SHORT_RUN, &second), &device()).expect("second run");
    assert_eq!(
        metric_rows(&first),
        metric_rows(&second),
        "two runs with the same seed log the same losses"
    );
}

#[test]
fn train_rejects_batch_of_one() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let result = train(&config(&["--batch-size", "1"], folder.path()), &device());
    assert!(
        matches!(
            result,
            Err(TrainError::InvalidConfig {
                name: "--batch-size",
                ..
            })
        ),
        "batch size 1 is rejected, got {result:?}"
    );
}

#[test]
fn train_rejects_non_empty_folder() {
    let folder = tempfile::tempdir().expect("temporary folder");
    std::fs::write(folder.path().join("notes.txt"), "keep me").expect("write a file");
    let result = train(&config(&SHORT_RUN, folder.path()), &device());
    assert!(
        matches!(result, Err(TrainError::RunFolderNotEmpty { .. })),
        "a folder with files in it is rejected, got {result:?}"
    );
    let kept = std::fs::read_to_string(folder.path().join("notes.txt")).expect("file kept");
    assert_eq!(kept, "keep me", "the existing file is untouched");
}

#[test]
fn train_rejects_oversized_settings() {
    let cases: [(&[&str], &str); 2] = [
        (&["--sample-count", "100000"], "--sample-count"),
        (&["--latent-dim", "100000000"], "--latent-dim"),
    ];
    for (words, option) in cases {
        let folder = tempfile::tempdir().expect("temporary folder");
        let result = train(&config(words, folder.path()), &device());
        let name = match &result {
            Err(TrainError::InvalidConfig { name, .. }) => *name,
            _ => "",
        };
        assert_eq!(name, option, "{words:?} is rejected, got {result:?}");
    }
}

#[test]
fn checkpoint_missing_file_is_error() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let result = load_checkpoint(&folder.path().join(CHECKPOINT_FILE), 64, &device());
    let message = result
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
    assert!(message.contains("not found"), "message is {message:?}");
}
