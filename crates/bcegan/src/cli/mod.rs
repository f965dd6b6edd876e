//! Command-line interface: the commands of the `bcegan` binary, as clap derive types.

pub mod bench;
pub mod export;
pub mod loss;
pub mod sample;
pub mod train;

use clap::{Parser, Subcommand};

/// Binary cross-entropy and GAN training with it.
#[derive(Debug, Parser)]
#[command(name = "bcegan", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train the GAN on real images and write a run folder.
    Train(train::TrainArgs),
    /// Compute binary cross-entropy of given probabilities or logits.
    Loss(loss::LossArgs),
    /// Time the cost-function kernels.
    Bench(bench::BenchArgs),
    /// Write a run's networks with the parameter names of the course's PyTorch modules.
    Export(export::ExportArgs),
    /// Generate images with a trained generator, as a PNG grid or a .npy array.
    Sample(sample::SampleArgs),
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
