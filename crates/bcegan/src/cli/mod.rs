//! Command-line interface: the commands of the `bcegan` binary, as clap derive types.

pub mod bench;
pub mod bench_train;
pub mod classifier;
pub mod completions;
pub mod eval;
pub mod export;
pub mod loss;
pub mod plot;
pub mod report;
pub mod sample;
pub mod train;

use clap::{ArgAction, Args, Parser, Subcommand};

/// Binary cross-entropy and GAN training with it.
#[derive(Debug, Parser)]
#[command(name = "bcegan", version, about, long_about = None)]
pub struct Cli {
    /// Options of every command.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after any command.
#[derive(Debug, Clone, Copy, Args)]
pub struct GlobalArgs {
    /// Print only warnings and errors on stderr, and no progress bar
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,

    /// Print more on stderr: -v adds debug messages, -vv trace messages. RUST_LOG, when
    /// set, overrides both -q and -v
    #[arg(
        short,
        long,
        global = true,
        action = ArgAction::Count,
        help_heading = "Global options"
    )]
    pub verbose: u8,
}

impl GlobalArgs {
    /// Returns the tracing filter directive for these options, used when RUST_LOG is unset.
    pub fn log_filter(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "warn",
            (false, 0) => "info",
            // Debug messages of bcegan only; those of burn and its backends are rarely
            // what a user wants.
            (false, 1) => "info,bcegan=debug",
            (false, _) => "debug,bcegan=trace",
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train the GAN on real images and write a run folder.
    Train(train::TrainArgs),
    /// Compute binary cross-entropy of given probabilities or logits.
    Loss(loss::LossArgs),
    /// Draw a figure as SVG or PNG: the cost curves, or the curves of a run.
    Plot(plot::PlotArgs),
    /// Write RUN_DIR/report.html: configuration, curves, sample grids and final metrics.
    Report(report::ReportArgs),
    /// Time the cost-function kernels or a whole training step.
    Bench(bench::BenchArgs),
    /// Generate images with a trained generator, as a PNG grid or a .npy array.
    Sample(sample::SampleArgs),
    /// Measure generated images against held-out real ones: FID, class coverage,
    /// precision and recall in the classifier's features.
    Eval(eval::EvalArgs),
    /// Train the classifier whose features `eval` measures with.
    Classifier(classifier::ClassifierArgs),
    /// Write a run's networks with the parameter names of the course's PyTorch modules.
    Export(export::ExportArgs),
    /// Print a shell completion script to stdout.
    Completions(completions::CompletionsArgs),
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_set_log_filter() {
        let cases: [(&[&str], &str); 4] = [
            (&["bcegan", "report", "run"], "info"),
            (&["bcegan", "-q", "report", "run"], "warn"),
            (&["bcegan", "report", "run", "-v"], "info,bcegan=debug"),
            (&["bcegan", "-vv", "report", "run"], "debug,bcegan=trace"),
        ];
        for (arguments, expected) in cases {
            let parsed = Cli::try_parse_from(arguments);
            let Ok(cli) = parsed else {
                panic!("parse {arguments:?}: expected success, got {parsed:?}");
            };
            let actual = cli.global.log_filter();
            assert_eq!(actual, expected, "log filter of {arguments:?}");
        }
    }
}
