//! The `bench train-step` command: wall-clock time of one training step
//! ([`Gan::step`](crate::train::Gan::step)) on random images, and the process's peak memory.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::bench::BenchError;
use crate::device::cpu_device;
use crate::model::{IMAGE_SIZE, ModelKind};
use crate::train::{
    AdamSettings, DataSource, Gan, GeneratorLoss, NonFinitePolicy, TrainConfig,
    default_learning_rate,
};

/// Settings of `bcegan bench train-step`.
#[derive(Debug, Clone, Args)]
pub struct TrainStepArgs {
    /// Model to train
    #[arg(long, value_enum, default_value_t = ModelKind::Mlp)]
    pub model: ModelKind,

    /// Worker threads of the step [default: RAYON_NUM_THREADS, else the number of cores]
    #[arg(long)]
    pub threads: Option<usize>,

    /// Images per batch
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,

    /// Untimed steps run first, so that caches, the allocator and the thread pool settle
    #[arg(long, default_value_t = 10)]
    pub warmup: usize,

    /// Timed steps
    #[arg(long, default_value_t = 50)]
    pub steps: usize,

    /// Seed of the weights, the noise and the random images
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Print one JSON record (model, threads, batch_size, steps, ms_per_step_median,
    /// ms_per_step_min, ms_per_step_max, peak_rss_mib) instead of a line of text
    #[arg(long)]
    pub json: bool,
}

/// Result of `bench train-step`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrainStepRecord {
    /// `--model`'s name.
    pub model: &'static str,
    /// Threads of the rayon pool that ran the steps.
    pub threads: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Timed steps.
    pub steps: usize,
    /// Median wall-clock time of one step, in milliseconds.
    pub ms_per_step_median: f64,
    /// Fastest step, in milliseconds.
    pub ms_per_step_min: f64,
    /// Slowest step, in milliseconds.
    pub ms_per_step_max: f64,
    /// Peak resident memory of the whole process so far (VmHWM), in MiB; `None` where
    /// `/proc/self/status` cannot be read.
    pub peak_rss_mib: Option<f64>,
}

/// Times the training step and prints the result as text or, with `--json`, as one JSON
/// line.
///
/// With `--threads` the steps run in a rayon pool of that size; without it, in the
/// current pool (rayon's global pool unless the caller installed another).
///
/// # Errors
///
/// Returns [`BenchError::Invalid`] for a zero `--threads`, `--batch-size` or `--steps`,
/// [`BenchError::Pool`] when the thread
/// pool cannot start, [`BenchError::Step`] when a step fails, and [`BenchError::Output`]
/// when writing fails.
pub fn run(args: &TrainStepArgs, out: &mut impl Write) -> Result<TrainStepRecord, BenchError> {
    for (name, value) in [
        ("--threads", args.threads.unwrap_or(1)),
        ("--batch-size", args.batch_size),
        ("--steps", args.steps),
    ] {
        if value == 0 {
            return Err(BenchError::Invalid {
                name,
                value,
                expected: "must be at least 1",
            });
        }
    }

    let record = match args.threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|error| BenchError::Pool(error.to_string()))?
            .install(|| time_steps(args))?,
        None => time_steps(args)?,
    };

    if args.json {
        let line = serde_json::to_string(&record)
            .map_err(|error| BenchError::Output(std::io::Error::other(error)))?;
        writeln!(out, "{line}")?;
    } else {
        let peak = record
            .peak_rss_mib
            .map_or_else(|| "unknown".to_owned(), |mib| format!("{mib:.1} MiB"));
        writeln!(
            out,
            "{} train step, batch {}, {} thread{}: {:.2} ms/step median \
             (min {:.2}, max {:.2}) over {} steps after {} warm-up; peak RSS {peak}",
            record.model,
            record.batch_size,
            record.threads,
            if record.threads == 1 { "" } else { "s" },
            record.ms_per_step_median,
            record.ms_per_step_min,
            record.ms_per_step_max,
            record.steps,
            args.warmup,
        )?;
    }
    Ok(record)
}

/// Runs the warm-up and timed steps in the current rayon pool.
fn time_steps(args: &TrainStepArgs) -> Result<TrainStepRecord, BenchError> {
    let device = cpu_device().autodiff();
    let config = bench_config(args);
    let mut gan = Gan::new(&config, &device);
    let real_images = random_images(args.batch_size, args.seed, &device);

    let mut times_ms = Vec::with_capacity(args.steps);
    for index in 0..args.warmup + args.steps {
        let start = Instant::now();
        gan.step(real_images.clone()).map_err(BenchError::Step)?;
        if index >= args.warmup {
            times_ms.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times_ms.sort_by(f64::total_cmp);

    Ok(TrainStepRecord {
        model: args.model.name(),
        threads: rayon::current_num_threads(),
        batch_size: args.batch_size,
        steps: args.steps,
        ms_per_step_median: median(&times_ms),
        ms_per_step_min: times_ms.first().copied().unwrap_or(f64::NAN),
        ms_per_step_max: times_ms.last().copied().unwrap_or(f64::NAN),
        peak_rss_mib: peak_rss_mib(),
    })
}

/// Builds the settings of a default `bcegan train --model MODEL` with the benchmark's batch
/// size and seed.
fn bench_config(args: &TrainStepArgs) -> TrainConfig {
    // The defaults of `bcegan train`: Adam with the model's learning rate, betas
    // (0.5, 0.999), PyTorch's epsilon, and 64 noise values.
    let adam = AdamSettings {
        lr: default_learning_rate(args.model),
        beta1: 0.5,
        beta2: 0.999,
        epsilon: 1e-8,
    };
    TrainConfig {
        data: DataSource::Embedded,
        model: args.model,
        steps: u64::try_from(args.warmup + args.steps).unwrap_or(u64::MAX),
        time_limit_s: None,
        batch_size: args.batch_size,
        latent_dim: 64,
        generator_adam: adam,
        discriminator_adam: adam,
        real_target: 1.0,
        generator_loss: GeneratorLoss::NonSaturating,
        // The benchmark times the course's step, which keeps no weight average.
        ema_decay: 0.0,
        seed: args.seed,
        log_every: 1,
        sample_every: 1,
        sample_count: 1,
        checkpoint_every: 1,
        on_nan: NonFinitePolicy::Stop,
        init_from: None,
        fid_every: 0,
        fid_samples: 0,
        classifier: None,
        out: PathBuf::new(),
    }
}

/// Draws `[batch_size, 784]` pixels uniformly from [0, 1).
fn random_images(batch_size: usize, seed: u64, device: &Device) -> Tensor<2> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pixels: Vec<f32> = (0..batch_size * IMAGE_SIZE)
        .map(|_| rng.random::<f32>())
        .collect();
    Tensor::from_data(TensorData::new(pixels, [batch_size, IMAGE_SIZE]), device)
}

/// Returns the median of sorted values: the mean of the two middle ones for an even
/// count, NaN for none.
fn median(sorted: &[f64]) -> f64 {
    let count = sorted.len();
    match count {
        0 => f64::NAN,
        _ if count % 2 == 1 => sorted[count / 2],
        _ => (sorted[count / 2 - 1] + sorted[count / 2]) / 2.0,
    }
}

/// Reads the process's peak resident set size (VmHWM) from `/proc/self/status`, in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_odd_even_empty() {
        let cases: [(&[f64], f64); 3] = [
            (&[1.0, 2.0, 9.0], 2.0),
            (&[1.0, 2.0, 4.0, 9.0], 3.0),
            (&[], f64::NAN),
        ];
        for (values, expected) in cases {
            let actual = median(values);
            let same = actual == expected || (actual.is_nan() && expected.is_nan());
            assert!(
                same,
                "median of {values:?}: expected {expected}, got {actual}"
            );
        }
    }
}
