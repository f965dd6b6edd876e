//! The `bench` command: timings of the cost-function kernels, next to the memory floor
//! measured in the same run, and of a whole training step (in [`super::bench_train`]).

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand};

/// Settings of `bcegan bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Benchmark to run.
    #[command(subcommand)]
    pub target: BenchTarget,
}

/// The benchmarks.
#[derive(Debug, Clone, Subcommand)]
pub enum BenchTarget {
    /// Time both BCE entry points, loss and loss-and-gradient, f32 and f64, against the
    /// cost of reading the inputs (the floor any BCE must pay)
    Kernels(KernelArgs),
    /// Time one GAN training step (a discriminator update and a generator update) on
    /// random images, and report the process's peak memory
    TrainStep(super::bench_train::TrainStepArgs),
}

/// Settings of `bcegan bench kernels`.
#[derive(Debug, Clone, Args)]
pub struct KernelArgs {
    /// Element counts to time, comma-separated
    #[arg(long, value_delimiter = ',', default_values_t = bce::bench::SIZES)]
    pub sizes: Vec<usize>,

    /// Thread counts to time, comma-separated [default: 1 and the number of cores]
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,

    /// Minimum time spent on each measurement, in milliseconds; the fastest call is kept
    #[arg(long, default_value_t = 300)]
    pub budget_ms: u64,

    /// Print one JSON record per line (entry, form, reduction, dtype, n, threads,
    /// ns_per_element) instead of a table
    #[arg(long)]
    pub json: bool,
}

/// Error of the `bench` command.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A setting is out of range.
    #[error("invalid {name} {value}: {expected}")]
    Invalid {
        /// Option name.
        name: &'static str,
        /// The rejected value.
        value: usize,
        /// Accepted values of the option.
        expected: &'static str,
    },
    /// The requested benchmark does not exist yet.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A training step failed.
    #[error("training step failed")]
    Step(#[source] crate::train::TrainError),
    /// The thread pool could not be built.
    #[error("failed to start the benchmark: {0}")]
    Pool(String),
    /// The output could not be written.
    #[error("failed to write the results")]
    Output(#[from] std::io::Error),
}

impl BenchError {
    /// Returns the exit status: 2 for an invalid setting, as for a usage error, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Invalid { .. } | Self::Unsupported(_) => 2,
            Self::Pool(_) | Self::Step(_) | Self::Output(_) => 1,
        }
    }
}

/// Runs the benchmark and prints a table, or JSON lines with `--json`, as each result
/// arrives.
///
/// # Errors
///
/// Returns [`BenchError`] for a zero size or thread count, or when writing fails.
pub fn run(args: &KernelArgs, out: &mut (impl Write + Send)) -> Result<(), BenchError> {
    let threads = thread_counts(&args.threads);
    for (name, values) in [("--sizes", &args.sizes), ("--threads", &threads)] {
        if let Some(&zero) = values.iter().find(|&&value| value == 0) {
            return Err(BenchError::Invalid {
                name,
                value: zero,
                expected: "must be at least 1",
            });
        }
    }
    if !args.json {
        writeln!(
            out,
            "{:<18} {:<19} {:<8} {:>10} {:>8} {:>14}",
            "entry", "form", "dtype", "n", "threads", "ns/element"
        )?;
    }
    let mut write_error = None;
    bce::bench::run(
        &args.sizes,
        &threads,
        Duration::from_millis(args.budget_ms),
        |record| {
            let line = if args.json {
                record.to_json()
            } else {
                format!(
                    "{:<18} {:<19} {:<8} {:>10} {:>8} {:>14.4}",
                    record.entry,
                    record.form,
                    record.dtype,
                    record.n,
                    record.threads,
                    record.ns_per_element
                )
            };
            if write_error.is_none()
                && let Err(error) = writeln!(out, "{line}").and_then(|()| out.flush())
            {
                write_error = Some(error);
            }
        },
    )
    .map_err(BenchError::Pool)?;
    match write_error {
        // A reader that closed the pipe (`| head`) wanted no more lines: not an error.
        Some(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Some(error) => Err(error.into()),
        None => Ok(()),
    }
}

/// Returns the requested thread counts, or 1 and the number of cores when none are given.
fn thread_counts(requested: &[usize]) -> Vec<usize> {
    if !requested.is_empty() {
        return requested.to_vec();
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores == 1 { vec![1] } else { vec![1, cores] }
}
