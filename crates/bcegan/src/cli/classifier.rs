//! The `classifier` command: trains the feature network that `bcegan eval` measures with.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::device::cpu_device;
use crate::interop::check_output_path;
use crate::quality::{
    ClassifierInfo, ClassifierTraining, EpochReport, LabelledSplit, QualityError, dir_split,
    embedded_split, fingerprint, save_classifier, train_classifier,
};

/// Settings of `bcegan classifier`.
#[derive(Debug, Clone, Args)]
pub struct ClassifierArgs {
    /// Classifier subcommand.
    #[command(subcommand)]
    pub command: ClassifierCommand,
}

/// Subcommands of `bcegan classifier`.
#[derive(Debug, Clone, Subcommand)]
pub enum ClassifierCommand {
    /// Train the feature network on a dataset's class labels and write its weights.
    Train(ClassifierTrainArgs),
}

/// Settings of `bcegan classifier train`.
#[derive(Debug, Clone, Args)]
pub struct ClassifierTrainArgs {
    /// MNIST-format (IDX) folder: trains on its train-* files and reports the accuracy on
    /// its t10k-* test files. Without it: 8,000 of the embedded digits, 2,000 held out
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// SafeTensors file to write the weights to
    #[arg(long, value_name = "FILE", default_value = "classifier.safetensors")]
    pub out: PathBuf,

    /// Passes over the training images
    #[arg(long, default_value_t = ClassifierTraining::default().epochs)]
    pub epochs: usize,

    /// Seed of the initial weights and of the batch order (the embedded digits' split is
    /// fixed)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Worker threads of the CPU backend [default: RAYON_NUM_THREADS, else every core]
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Trains the classifier, printing one line per epoch to `out`, and writes its weights.
///
/// # Errors
///
/// Returns [`QualityError`] for an invalid output path or setting, unreadable data, a
/// failed training or a file that cannot be written.
pub fn run(args: &ClassifierTrainArgs, out: &mut impl Write) -> Result<(), QualityError> {
    check_output_path("--out", &args.out, Some("safetensors")).map_err(|error| {
        QualityError::InvalidSetting {
            name: "--out",
            value: args.out.display().to_string(),
            expected: error.to_string(),
        }
    })?;
    let split: LabelledSplit = match &args.data {
        Some(dir) => dir_split(dir)?,
        None => embedded_split()?,
    };
    let settings = ClassifierTraining {
        epochs: args.epochs,
        seed: args.seed,
        ..ClassifierTraining::default()
    };
    let heldout_count = split.heldout.len();
    let write_error = |source: std::io::Error| QualityError::Write {
        path: "stdout".into(),
        source,
    };
    writeln!(out, "training on {}", split.description).map_err(write_error)?;
    let mut print_error = None;
    let (classifier, last) = train_classifier(&split, &settings, &cpu_device(), |report| {
        if print_error.is_none()
            && let Err(error) = print_epoch(out, report, settings.epochs, heldout_count)
        {
            print_error = Some(error);
        }
    })?;
    if let Some(error) = print_error {
        return Err(write_error(error));
    }
    let info = ClassifierInfo {
        dataset: split.description.clone(),
        heldout_accuracy: last.heldout_accuracy,
        reference_crc32: fingerprint(&split.heldout),
    };
    save_classifier(&args.out, &classifier, &info)?;
    writeln!(
        out,
        "wrote {} (held-out accuracy {:.2}%)",
        args.out.display(),
        100.0 * last.heldout_accuracy
    )
    .map_err(write_error)
}

fn print_epoch(
    out: &mut impl Write,
    report: &EpochReport,
    epochs: usize,
    heldout_count: usize,
) -> std::io::Result<()> {
    writeln!(
        out,
        "epoch {}/{epochs}: train loss {:.4}, held-out accuracy {:.2}% of {heldout_count}, {:.1} s",
        report.epoch,
        report.train_loss,
        100.0 * report.heldout_accuracy,
        report.elapsed_s
    )
}
