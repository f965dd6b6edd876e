//! The `eval` command: measures generated images against held-out real ones with the
//! classifier's features (FID, class coverage, precision and recall).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::sample::{generate, seeded_noise};
use crate::device::cpu_device;
use crate::interop::npy::read_npy_images;
use crate::interop::{InteropError, load_networks};
use crate::model::{IMAGE_COLS, IMAGE_ROWS, IMAGE_SIZE};
use crate::quality::{CLASS_COUNT, NEIGHBOURS, QualityError, QualityReference, check_images};
use crate::train::{CONFIG_FILE, DataSource};

/// Generated images measured when `--count` is not given.
pub const DEFAULT_COUNT: usize = 2_000;

/// Largest `--count`: 100,000 images of 28×28 float32 pixels are 314 MB.
pub const MAX_COUNT: usize = 100_000;

/// Settings of `bcegan eval`.
///
/// `--json` prints one object with these fields: `source`, `image_count`, `classifier`,
/// `real_count`, `fid`, `fid_floor` (two disjoint halves of the real images),
/// `fid_ceiling` (uniform noise images), `classes_covered`, `class_count`,
/// `kl_from_uniform` (nats), `class_histogram`, `precision`, `recall`, `neighbours` (k).
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Run folder written by `bcegan train`, a checkpoint file, or a .npy file of images:
    /// [n, 28, 28] or [n, 784], float32/float64 in [0, 1] or uint8
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,

    /// Classifier file written by `bcegan classifier train` [default: the built-in
    /// classifier of the data]
    #[arg(long, value_name = "FILE")]
    pub classifier: Option<PathBuf>,

    /// MNIST-format (IDX) folder whose t10k-* test images are the real images [default:
    /// the data of the run's config.json, else the embedded digits]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Images to generate from a run or checkpoint, or to take from the start of a .npy
    /// file [default: 2000 generated, or every image of a .npy file]
    #[arg(long)]
    pub count: Option<usize>,

    /// Seed of the generator's noise and of the noise images of the ceiling
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,

    /// Worker threads of the CPU backend [default: RAYON_NUM_THREADS, else every core]
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Error of `bcegan eval`.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The images or the reference could not be measured.
    #[error(transparent)]
    Quality(#[from] QualityError),
    /// The networks or the .npy file could not be read.
    #[error(transparent)]
    Interop(#[from] InteropError),
}

impl EvalError {
    /// Tells whether the error is due to the caller's input rather than to the machine.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Self::Quality(error) => error.is_invalid_input(),
            Self::Interop(error) => error.is_invalid_input(),
        }
    }
}

/// Everything `bcegan eval` measured; `--json` prints it as one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalOutput {
    /// The SOURCE argument.
    pub source: String,
    /// Generated images measured.
    pub image_count: usize,
    /// Classifier whose features were used: a file path or a built-in name.
    pub classifier: String,
    /// Real (held-out) images compared with.
    pub real_count: usize,
    /// Fréchet distance between generated and real features.
    pub fid: f64,
    /// Fréchet distance between two disjoint halves of the real images.
    pub fid_floor: f64,
    /// Fréchet distance of `image_count` uniform-noise images.
    pub fid_ceiling: f64,
    /// Classes with at least half their uniform share of the generated images.
    pub classes_covered: usize,
    /// Number of classes the classifier predicts.
    pub class_count: usize,
    /// KL divergence of the predicted-class frequencies from uniform, in nats.
    pub kl_from_uniform: f64,
    /// Generated images predicted as each class.
    pub class_histogram: Vec<usize>,
    /// Share of generated images inside the real k-NN manifold.
    pub precision: f64,
    /// Share of real images inside the generated k-NN manifold.
    pub recall: f64,
    /// Neighbours (k) of the k-NN manifolds.
    pub neighbours: usize,
}

/// Reads or generates the images of `args.source` and measures them.
///
/// # Errors
///
/// Returns [`EvalError`] for a missing or invalid source, a .npy file of another dtype,
/// shape or range, data without a fitting classifier, or a classifier file that is not one.
pub fn run(args: &EvalArgs) -> Result<EvalOutput, EvalError> {
    if let Some(count) = args.count
        && !(1..=MAX_COUNT).contains(&count)
    {
        return Err(QualityError::InvalidSetting {
            name: "--count",
            value: count.to_string(),
            expected: format!("must be from 1 to {MAX_COUNT}"),
        }
        .into());
    }
    let device = cpu_device();
    let is_npy = args
        .source
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("npy"));
    if !args.source.exists() {
        return Err(InteropError::SourceNotFound {
            path: args.source.clone(),
        }
        .into());
    }
    // The images are read or generated first, so that a bad file is reported before the
    // reference's features are computed.
    let images = if is_npy {
        npy_images(&args.source, args.count)?
    } else {
        let networks = load_networks(&args.source, None, &device)?;
        let count = args.count.unwrap_or(DEFAULT_COUNT);
        let noise = seeded_noise(args.seed, count, networks.latent_dim);
        let (images, _) = generate(&networks, &noise, false, &device)?;
        check_images(
            &images,
            &format!("images generated by {}", args.source.display()),
        )?;
        images
    };
    let data = match &args.data {
        Some(dir) => DataSource::Dir(dir.clone()),
        None if is_npy => DataSource::Embedded,
        // NOTE: a checkpoint without a config.json beside it is measured against the
        // embedded digits unless --data is given, although its `state` metadata records
        // the run's data source.
        None => run_data_source(&args.source)?.unwrap_or(DataSource::Embedded),
    };
    let reference = QualityReference::for_data(&data, args.classifier.as_deref(), &device)?;
    let report = reference.evaluate(&images)?;
    let fid_floor = reference.fid_floor()?;
    let fid_ceiling = reference.fid_ceiling(report.image_count, args.seed)?;
    Ok(EvalOutput {
        source: args.source.display().to_string(),
        image_count: report.image_count,
        classifier: reference.classifier().name.clone(),
        real_count: reference.real_count(),
        fid: report.fid,
        fid_floor,
        fid_ceiling,
        classes_covered: report.coverage.classes_covered,
        class_count: CLASS_COUNT,
        kl_from_uniform: report.coverage.kl_from_uniform,
        class_histogram: report.coverage.histogram,
        precision: report.precision,
        recall: report.recall,
        neighbours: NEIGHBOURS,
    })
}

/// Formats the measurements for a terminal.
pub fn format_text(output: &EvalOutput) -> String {
    let mut text = String::new();
    let histogram: Vec<String> = output
        .class_histogram
        .iter()
        .enumerate()
        .map(|(class, count)| format!("{class}:{count}"))
        .collect();
    // `fmt::Write` for `String` always returns `Ok`.
    let _ = writeln!(
        text,
        "source: {} ({} images)\nreference: {}, {} real images",
        output.source, output.image_count, output.classifier, output.real_count
    );
    let _ = writeln!(
        text,
        "FID: {:.3} (floor {:.3}: two halves of the real images; ceiling {:.3}: uniform noise)",
        output.fid, output.fid_floor, output.fid_ceiling
    );
    let _ = writeln!(
        text,
        "coverage: {} of {} classes, KL from uniform {:.4} nats\nclass histogram: {}",
        output.classes_covered,
        output.class_count,
        output.kl_from_uniform,
        histogram.join(" ")
    );
    let _ = write!(
        text,
        "precision: {:.4}, recall: {:.4} (k = {})",
        output.precision, output.recall, output.neighbours
    );
    text
}

/// Reads images from a .npy file, `[n, 28, 28]` or `[n, 784]`, keeping the first `count`.
fn npy_images(path: &Path, count: Option<usize>) -> Result<Vec<f32>, EvalError> {
    let (shape, mut values) = read_npy_images(path)?;
    let invalid = |message: String| InteropError::InvalidNpy {
        path: path.to_path_buf(),
        message,
    };
    let available = match shape.as_slice() {
        [n, rows, cols] if *rows == IMAGE_ROWS && *cols == IMAGE_COLS && *n > 0 => *n,
        [n, pixels] if *pixels == IMAGE_SIZE && *n > 0 => *n,
        _ => {
            return Err(invalid(format!(
                "shape {shape:?} is not images: expected [n, {IMAGE_ROWS}, {IMAGE_COLS}] or [n, {IMAGE_SIZE}] with n ≥ 1"
            ))
            .into());
        }
    };
    if let Some(count) = count {
        if count > available {
            return Err(QualityError::InvalidSetting {
                name: "--count",
                value: count.to_string(),
                expected: format!(
                    "must be at most the {available} images of {}",
                    path.display()
                ),
            }
            .into());
        }
        values.truncate(count * IMAGE_SIZE);
    }
    check_images(&values, &path.display().to_string())?;
    Ok(values)
}

/// Returns the data source recorded for a run folder or checkpoint: the `data` field of the
/// run's `config.json` (in the folder, or beside the checkpoint), or `None` without one.
fn run_data_source(source: &Path) -> Result<Option<DataSource>, EvalError> {
    let config = if source.is_dir() {
        source.join(CONFIG_FILE)
    } else {
        match source.parent() {
            Some(folder) => folder.join(CONFIG_FILE),
            None => return Ok(None),
        }
    };
    let text = match std::fs::read_to_string(&config) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(InteropError::Read {
                path: config,
                source,
            }
            .into());
        }
    };
    let invalid = |message: String| InteropError::InvalidRunConfig {
        path: config.clone(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| invalid(error.to_string()))?;
    let Some(data) = value.get("data") else {
        return Err(invalid(
            "no `data` field; pass --data DIR, or leave it out for the embedded digits".into(),
        )
        .into());
    };
    let data: DataSource = serde_json::from_value(data.clone())
        .map_err(|error| invalid(format!("invalid `data` field: {error}")))?;
    Ok(Some(data))
}
