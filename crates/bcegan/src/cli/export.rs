//! The `export` command: a run's networks written under the course's PyTorch names.

use std::fmt;
use std::path::PathBuf;

use clap::Args;

use crate::device::cpu_device;
use crate::interop::torch::write_torch_file;
use crate::interop::{InteropError, check_output_path, load_networks};

/// Settings of `bcegan export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Run folder written by `bcegan train`, or a checkpoint file
    #[arg(value_name = "RUN_DIR")]
    pub run: PathBuf,

    /// SafeTensors file to write, with the parameter names of the course's PyTorch modules
    /// (gen.0.0.weight, ..., disc.3.bias), loadable with load_state_dict(strict=True). The
    /// generator is the run's weight average where the run keeps one (--ema-decay)
    #[arg(long, value_name = "FILE.safetensors")]
    pub torch: PathBuf,

    /// Length of the noise vector; rarely needed, because run folders, checkpoints and
    /// exported files record it
    #[arg(long)]
    pub latent_dim: Option<usize>,
}

/// Summary of the files `bcegan export` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The file written.
    pub file: PathBuf,
    /// Tensors in the file.
    pub tensors: usize,
    /// Noise length of the generator.
    pub latent_dim: usize,
    /// Training steps, stored as each BatchNorm's `num_batches_tracked`.
    pub step: u64,
}

impl fmt::Display for ExportSummary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "wrote {} tensors (latent_dim {}, step {}) to {}",
            self.tensors,
            self.latent_dim,
            self.step,
            self.file.display()
        )
    }
}

/// Reads the networks of `args.run` and writes them to `args.torch`.
///
/// # Errors
///
/// Returns [`InteropError`] when the networks cannot be read or the file cannot be written.
pub fn run(args: &ExportArgs) -> Result<ExportSummary, InteropError> {
    check_output_path("--torch", &args.torch, Some("safetensors"))?;
    let device = cpu_device();
    let networks = load_networks(&args.run, args.latent_dim, &device)?;
    // PyTorch counts BatchNorm batches in an int64; a step count beyond it is clamped.
    let num_batches_tracked = i64::try_from(networks.step).unwrap_or(i64::MAX);
    let tensors = write_torch_file(
        &args.torch,
        &networks.generator,
        &networks.discriminator,
        num_batches_tracked,
    )?;
    Ok(ExportSummary {
        file: args.torch.clone(),
        tensors,
        latent_dim: networks.latent_dim,
        step: networks.step,
    })
}
