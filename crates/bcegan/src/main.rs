//! The `bcegan` binary: parses the command line and calls the library.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use bcegan::cli::bench::{self, BenchTarget};
use bcegan::cli::train::{TrainArgs, next_free_run_folder};
use bcegan::cli::{Cli, Command, completions, export, loss, plot, sample};
use bcegan::interop::InteropError;
use bcegan::report::ReportError;
use bcegan::report::html::write_run_report;
use bcegan::report::progress::StderrAboveProgress;
use bcegan::train::RunSummary;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Exit status for settings or data that the command rejects, as for a usage error.
const EXIT_INVALID_INPUT: u8 = 2;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(cli.global.log_filter())),
        )
        // Log lines are printed above the training progress bar while one is shown.
        .with_writer(StderrAboveProgress)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .init();

    match cli.command {
        Command::Train(args) => run_train(&args),
        Command::Bench(args) => match args.target {
            BenchTarget::Kernels(kernel_args) => {
                match bench::run(&kernel_args, &mut std::io::stdout()) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => {
                        let code = error.exit_code();
                        eprintln!("error: {:#}", anyhow::Error::from(error));
                        ExitCode::from(code)
                    }
                }
            }
        },
        Command::Export(args) => report_interop(export::run(&args)),
        Command::Sample(args) => report_interop(sample::run(&args)),
        Command::Loss(args) => {
            let stdout = std::io::stdout();
            match loss::run(&args, &mut stdout.lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::from(error.exit_code())
                }
            }
        }
        Command::Plot(args) => report_result(plot::run(&args, &mut std::io::stdout().lock())),
        Command::Report(args) => {
            let written = write_run_report(&args.run_dir).and_then(|path| {
                writeln!(std::io::stdout(), "wrote {}", path.display())
                    .map_err(|error| ReportError::io("write", "stdout", error))
            });
            report_result(written)
        }
        Command::Completions(args) => {
            report(completions::run(&args, &mut std::io::stdout().lock()).map_err(Into::into))
        }
    }
}

/// Prints a report or plot error and returns its exit status: 2 for invalid input, as for
/// a usage error, 1 otherwise.
fn report_result(result: Result<(), ReportError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if error.is_invalid_input() {
                ExitCode::from(EXIT_INVALID_INPUT)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run_train(args: &TrainArgs) -> ExitCode {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| next_free_run_folder(Path::new("runs")));
    let config = args.to_config(out);
    let device = burn::tensor::Device::flex().autodiff();
    let summary = match bcegan::train::train(&config, &device) {
        Ok(summary) => summary,
        Err(error) => {
            // The error's message already contains its causes.
            eprintln!("error: {error}");
            return if error.is_invalid_input() {
                ExitCode::from(EXIT_INVALID_INPUT)
            } else {
                ExitCode::FAILURE
            };
        }
    };
    report(print_summary(&summary))
}

fn print_summary(summary: &RunSummary) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "trained {} step{} in {:.1} s: d_loss {:.4}, g_loss {:.4}, D(x) {:.3}, D(G(z)) {:.3}\nrun folder: {}",
        summary.steps,
        if summary.steps == 1 { "" } else { "s" },
        summary.elapsed_s,
        summary.last.d_loss,
        summary.last.g_loss,
        summary.last.d_real,
        summary.last.d_fake,
        summary.out.display()
    )?;
    Ok(())
}

/// Prints the summary of `export` or `sample`, or the error with its exit status.
fn report_interop(result: Result<impl std::fmt::Display, InteropError>) -> ExitCode {
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            if error.is_invalid_input() {
                ExitCode::from(EXIT_INVALID_INPUT)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
