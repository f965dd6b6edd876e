//! The `bcegan` binary: parses the command line and calls the library.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use bcegan::cli::bench::{self, BenchTarget};
use bcegan::cli::bench_train;
use bcegan::cli::classifier::ClassifierCommand;
use bcegan::cli::train::{TrainArgs, given_options, next_free_run_folder};
use bcegan::cli::{Cli, Command, classifier, completions, eval, export, loss, plot, sample};
use bcegan::interop::InteropError;
use bcegan::report::ReportError;
use bcegan::report::html::write_run_report;
use bcegan::report::progress::StderrAboveProgress;
use bcegan::train::{RunOptions, RunSummary, StartMode, StopSignal, TrainConfig, TrainError};
use clap::{CommandFactory, FromArgMatches};
use tracing_subscriber::EnvFilter;

/// Exit status for settings or data that the command rejects, as for a usage error.
const EXIT_INVALID_INPUT: u8 = 2;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`, entry 15 of `mi_option_t` in `mimalloc.h`. The
/// mimalloc 3.3 sources that libmimalloc-sys 0.1.49 bundles define it, but the crate exports
/// no constant for it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    keep_freed_memory();
    // The matches are kept so that `train --resume` can tell the options given on the
    // command line from their defaults.
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
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
        Command::Train(args) => {
            if let Err(code) = set_global_threads(args.threads) {
                return code;
            }
            let given = matches
                .subcommand_matches("train")
                .map(given_options)
                .unwrap_or_default();
            run_train(&args, &given, cli.global.quiet)
        }
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
            BenchTarget::TrainStep(step_args) => {
                match bench_train::run(&step_args, &mut std::io::stdout()) {
                    Ok(_) => ExitCode::SUCCESS,
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
        Command::Eval(args) => {
            if let Err(code) = set_global_threads(args.threads) {
                return code;
            }
            run_eval(&args)
        }
        Command::Classifier(args) => match args.command {
            ClassifierCommand::Train(train_args) => {
                if let Err(code) = set_global_threads(train_args.threads) {
                    return code;
                }
                let trained = classifier::run(&train_args, &mut std::io::stdout().lock());
                match trained {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => {
                        eprintln!("error: {error}");
                        exit_code(error.is_invalid_input())
                    }
                }
            }
        },
        Command::Completions(args) => {
            report(completions::run(&args, &mut std::io::stdout().lock()).map_err(Into::into))
        }
    }
}

/// Runs `bcegan eval` and prints its text or JSON, or the error with its exit status.
fn run_eval(args: &eval::EvalArgs) -> ExitCode {
    let output = match eval::run(args) {
        Ok(output) => output,
        Err(error) => {
            eprintln!("error: {error}");
            return exit_code(error.is_invalid_input());
        }
    };
    let text = if args.json {
        match serde_json::to_string_pretty(&output) {
            Ok(json) => json,
            Err(error) => {
                eprintln!("error: failed to encode the measurements as JSON: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        eval::format_text(&output)
    };
    report(writeln!(std::io::stdout(), "{text}").map_err(Into::into))
}

/// Returns 2 for invalid input, as for a usage error, and 1 otherwise.
fn exit_code(invalid_input: bool) -> ExitCode {
    if invalid_input {
        ExitCode::from(EXIT_INVALID_INPUT)
    } else {
        ExitCode::FAILURE
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

/// Raises mimalloc's purge delay from 1 s to a minute, so that freed memory stays for reuse.
///
/// mimalloc 3.3 by default returns memory that has been free for 1 s (`purge_delay`) with
/// `MADV_DONTNEED`. A training step frees and allocates the same sizes every step, so
/// those pages were faulted back in, zeroed by the kernel, 80 to 100 times a step in the
/// MLP `bench train-step` (2 % of its CPU time). A delay of a minute keeps them, and
/// [`release_freed_memory`] still returns them on request. A `MIMALLOC_PURGE_DELAY`
/// environment variable takes precedence.
#[allow(unsafe_code)]
fn keep_freed_memory() {
    // SAFETY: mimalloc's option setters are not thread safe, and this runs first in `main`,
    // before any other thread starts. The option index is valid for the linked mimalloc,
    // and the delay is in milliseconds.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, 60_000) };
}

/// Returns mimalloc's free memory to the OS now, whatever its purge delay.
///
/// Training calls it before each quick FID and checkpoint. Without it, the memory that
/// those large, short-lived buffers took on top of the steps' own stayed resident, and a
/// default run grew from 95 to 185 MiB over its twelve checkpoints.
///
/// Each thread keeps its own free memory, and the quick FID runs on the whole rayon pool,
/// so every pool thread collects as well as the calling one.
#[allow(unsafe_code)]
fn release_freed_memory() {
    // SAFETY: `mi_collect` takes no pointers and may be called from any thread.
    let collect = || unsafe { libmimalloc_sys::mi_collect(true) };
    rayon::broadcast(|_| collect());
    collect();
}

/// Sizes rayon's global pool, which runs burn's parallel kernels, to `threads` when given;
/// otherwise rayon reads RAYON_NUM_THREADS or uses every core.
fn set_global_threads(threads: Option<usize>) -> Result<(), ExitCode> {
    let Some(threads) = threads else {
        return Ok(());
    };
    if threads == 0 {
        eprintln!("error: invalid --threads 0: must be at least 1");
        return Err(ExitCode::from(EXIT_INVALID_INPUT));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|error| {
            eprintln!("error: failed to start {threads} worker threads: {error}");
            ExitCode::FAILURE
        })
}

fn run_train(args: &TrainArgs, given: &[String], quiet: bool) -> ExitCode {
    let summary = match train_with_signals(args, given, quiet) {
        Ok(summary) => summary,
        Err(error) => {
            // The error's message already contains its causes.
            eprintln!("error: {error}");
            return match &error {
                // 128 + signal number, as a shell reports a process ended by the signal.
                TrainError::Interrupted { signal, .. } => {
                    ExitCode::from(u8::try_from(128 + signal).unwrap_or(1))
                }
                error if error.is_invalid_input() => ExitCode::from(EXIT_INVALID_INPUT),
                _ => ExitCode::FAILURE,
            };
        }
    };
    report(print_summary(&summary))
}

fn train_with_signals(
    args: &TrainArgs,
    given: &[String],
    quiet: bool,
) -> Result<RunSummary, TrainError> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| next_free_run_folder(Path::new("runs")));
    let (config, mode): (TrainConfig, StartMode) = if args.resume {
        let saved = bcegan::train::read_run_config(&out)?;
        (args.resume_config(saved, given)?, StartMode::Resume)
    } else if args.force {
        (args.to_config(out), StartMode::NewForce)
    } else {
        (args.to_config(out), StartMode::New)
    };
    let options = RunOptions {
        mode,
        stop: Some(StopSignal::install()?),
        quiet,
        release_memory: Some(release_freed_memory),
    };
    let device = burn::tensor::Device::flex().autodiff();
    bcegan::train::run(&config, &options, &device)
}

fn print_summary(summary: &RunSummary) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let trained = summary.steps - summary.start_step;
    write!(
        stdout,
        "trained {trained} step{} in {:.1} s",
        if trained == 1 { "" } else { "s" },
        summary.elapsed_s,
    )?;
    if summary.start_step > 0 {
        write!(stdout, " (resumed at step {})", summary.start_step)?;
    }
    if let Some(last) = &summary.last {
        write!(
            stdout,
            ": d_loss {:.4}, g_loss {:.4}, D(x) {:.3}, D(G(z)) {:.3}",
            last.d_loss, last.g_loss, last.d_real, last.d_fake
        )?;
    }
    if summary.skipped_steps > 0 {
        write!(stdout, ", {} steps skipped", summary.skipped_steps)?;
    }
    writeln!(stdout, "\nrun folder: {}", summary.out.display())?;
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
