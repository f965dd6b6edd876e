//! The `bcegan` binary: parses the command line and calls the library.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use bcegan::cli::{Cli, Command, loss, train::next_free_run_folder};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .init();

    match cli.command {
        Command::Train(args) => report(run_train(&args)),
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
    }
}

fn run_train(args: &bcegan::cli::train::TrainArgs) -> anyhow::Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| next_free_run_folder(Path::new("runs")));
    let config = args.to_config(out);
    let device = burn::tensor::Device::flex().autodiff();
    let summary = bcegan::train::train(&config, &device).context("training failed")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "trained {} steps in {:.1} s: d_loss {:.4}, g_loss {:.4}, D(x) {:.3}, D(G(z)) {:.3}\nrun folder: {}",
        summary.steps,
        summary.elapsed_s,
        summary.last.d_loss,
        summary.last.g_loss,
        summary.last.d_real,
        summary.last.d_fake,
        summary.out.display()
    )?;
    Ok(())
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
