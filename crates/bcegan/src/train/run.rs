//! The training loop: data, steps, logs, sample grids, checkpoints and resuming.
//!
//! # Determinism
//!
//! The same settings and seed give the same losses, bit for bit, on the same CPU and
//! thread count, and a run resumed from any checkpoint continues exactly as the
//! uninterrupted run: the checkpoint contains the networks with their parameter ids, the Adam
//! moments and step counts, the noise stream's position and the step, and the batch order
//! is replayed from the seed. The fixed sample noise is drawn from the seed at each start.
//!
//! The thread count does not change the losses either: runs with `RAYON_NUM_THREADS=1`
//! and `2` gave identical losses for 30 steps at batch 128 and 20 steps at batch 16
//! (burn 0.22.1 flex backend, 2-core x86-64; `tests/resume.rs` checks batch 16). The BCE
//! reductions are blocked and thread-independent by design; for burn's matrix products
//! this is measured, not guaranteed, so another CPU or burn version may differ.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::checkpoint::{
    CHECKPOINT_FILE, CheckpointContents, TrainingState, read_checkpoint, save_checkpoint,
};
use super::config::{DataSource, NonFinitePolicy, TrainConfig};
use super::error::TrainError;
use super::gan::{Gan, StepMetrics, standard_normal};
use super::metrics::MetricsWriter;
use super::quick_fid::{BEST_CHECKPOINT_FILE, QuickFid};
use super::run_folder::{
    create_run_folder, create_samples_folder, lock_run_folder, read_config, write_config,
};
use super::signals::StopSignal;
use super::validate::{check_dataset, validate};
use crate::data::{BatchSampler, Dataset};
use crate::interop::torch::read_torch_networks;
use crate::model::IMAGE_SIZE;
use crate::report::html::write_run_report;
use crate::report::progress::TrainProgress;
use crate::report::{GridLayout, write_grid_png};

/// Offset that separates the fixed sample noise from the other seeded streams of a run.
const FIXED_NOISE_STREAM: u64 = 0x6669786564;

/// Steps in a row that `--on-nan skip` may skip before the run stops: by then the weights
/// themselves have diverged, and skipping more batches cannot bring them back.
const MAX_SKIPS_IN_A_ROW: u64 = 50;

/// Start of a run: a new run folder, or a resume of the run in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StartMode {
    /// A new run in a missing or empty folder.
    #[default]
    New,
    /// A new run that may also use a non-empty folder that is not a bcegan run (`--force`).
    NewForce,
    /// Continue the run in the folder from its checkpoint (`--resume`).
    Resume,
}

/// How to start a run and when to stop it early.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// New run or resume.
    pub mode: StartMode,
    /// Signal flag read between steps; on a signal the run writes a checkpoint and returns
    /// [`TrainError::Interrupted`].
    pub stop: Option<StopSignal>,
    /// Hide the progress bar (`-q`). The bar is drawn only when stderr is a terminal.
    pub quiet: bool,
    /// Function called before each quick FID and checkpoint, whose buffers are the largest
    /// of a run, to return the memory that training steps freed to the OS. The `bcegan`
    /// binary passes mimalloc's collection, and `None` skips it.
    pub release_memory: Option<fn()>,
}

/// Outcome of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Total steps of the run, including those before a resume.
    pub steps: u64,
    /// Step the run started from: 0, or the checkpoint's step when resumed.
    pub start_step: u64,
    /// Metrics of the last step; `None` when a resumed run had no steps left.
    pub last: Option<StepMetrics>,
    /// Steps whose update was skipped (`--on-nan skip`).
    pub skipped_steps: u64,
    /// Wall-clock seconds of training, summed over resumed sessions.
    pub elapsed_s: f64,
    /// Whether the time limit (`config.time_limit_s`) ended the run before `config.steps`.
    pub time_limit_reached: bool,
    /// The run folder.
    pub out: PathBuf,
}

/// Trains a new GAN with the settings in `config` on `device` (an autodiff device) and
/// writes the run folder; see [`run`].
///
/// # Errors
///
/// As [`run`].
pub fn train(config: &TrainConfig, device: &Device) -> Result<RunSummary, TrainError> {
    run(config, &RunOptions::default(), device)
}

/// Starts or resumes a run and trains until `config.steps`, or until the step that spends
/// `config.time_limit_s`, which ends the run in the same way: checkpoint, sample grid,
/// metrics row and report of that step.
///
/// For [`StartMode::Resume`], `config` is the run's `config.json` with the settings the
/// user may change on resume (`steps`, `time_limit_s`, `checkpoint_every`, `on_nan`)
/// applied. The run continues from `checkpoint.safetensors`, or from step 0 when the run
/// was stopped before its first checkpoint.
///
/// # Errors
///
/// Returns [`TrainError`] for an invalid setting, unreadable data, a run folder that the
/// mode does not allow, an invalid checkpoint, a file that cannot be written, a non-finite
/// value under [`NonFinitePolicy::Stop`], or a signal ([`TrainError::Interrupted`]).
pub fn run(
    config: &TrainConfig,
    options: &RunOptions,
    device: &Device,
) -> Result<RunSummary, TrainError> {
    validate(config)?;
    let dataset = match &config.data {
        DataSource::Embedded => Dataset::embedded()?,
        DataSource::Dir(path) => Dataset::from_dir(path)?,
    };
    check_dataset(&dataset, config.batch_size)?;
    let mut sampler = BatchSampler::new(&dataset, config.batch_size, config.seed)?;
    let mut gan = Gan::new(config, device);
    let checkpoint_path = config.out.join(CHECKPOINT_FILE);
    let metrics_path = config.out.join("metrics.csv");
    let mut quick_fid = QuickFid::for_run(config, device)?;

    let _lock;
    let (mut counters, mut metrics) = if options.mode == StartMode::Resume {
        _lock = lock_run_folder(&config.out)?;
        let counters = restore(config, &mut gan, &mut sampler, device)?;
        if let Some(quick_fid) = &mut quick_fid {
            quick_fid.resume_best(counters.best_fid);
        }
        write_config(config)?;
        create_samples_folder(&config.out)?;
        let metrics = MetricsWriter::resume(&metrics_path, counters.step)?;
        (counters, metrics)
    } else {
        // Read before the folder is created, so a bad file leaves no half-made run.
        if let Some(path) = &config.init_from {
            let (generator, discriminator) =
                read_torch_networks(path, config.latent_dim, device)
                    .map_err(|error| TrainError::InitFrom(Box::new(error)))?;
            if generator.kind() != config.model {
                return Err(TrainError::InvalidConfig {
                    name: "--init-from",
                    value: path.display().to_string(),
                    expected: format!(
                        "holds {} weights but the run trains the {} model; pass --model {}",
                        generator.kind().name(),
                        config.model.name(),
                        generator.kind().name()
                    ),
                });
            }
            gan.set_networks(generator, discriminator);
            tracing::info!(init_from = %path.display(), "initial weights read");
        }
        create_run_folder(config, options.mode == StartMode::NewForce)?;
        _lock = lock_run_folder(&config.out)?;
        let metrics = MetricsWriter::create(&metrics_path)?;
        (Counters::default(), metrics)
    };
    let samples_dir = config.out.join("samples");

    let mut fixed_rng = ChaCha8Rng::seed_from_u64(config.seed ^ FIXED_NOISE_STREAM);
    let fixed_noise = standard_normal(
        &mut fixed_rng,
        config.sample_count,
        config.latent_dim,
        device,
    );
    let start_step = counters.step;
    tracing::info!(
        images = dataset.len(),
        start_step,
        steps = config.steps,
        batch_size = config.batch_size,
        ema_decay = config.ema_decay,
        out = %config.out.display(),
        "training started"
    );

    let bar = TrainProgress::new(config.steps, start_step, options.quiet);
    let started = Instant::now();
    let elapsed_before = counters.elapsed_s;
    let mut last = None;
    let mut saved_step = None;
    let mut skipped_in_a_row = 0;
    // A resumed run whose budget was spent before trains no further step.
    let mut time_limit_reached =
        counters.step < config.steps && is_time_spent(config, counters.elapsed_s);
    while counters.step < config.steps && !time_limit_reached {
        if let Some(signal) = options.stop.as_ref().and_then(StopSignal::received) {
            return Err(interrupt(
                config, &gan, &sampler, &counters, signal, saved_step,
            ));
        }
        let step = counters.step + 1;
        let real_images = Tensor::from_data(
            TensorData::new(sampler.next_batch(), [config.batch_size, IMAGE_SIZE]),
            device,
        );
        let report = gan.step(real_images)?;
        if let Some(value) = &report.non_finite {
            if config.on_nan == NonFinitePolicy::Stop {
                return Err(TrainError::NonFinite {
                    step,
                    network: value.network.name(),
                    quantity: value.quantity.clone(),
                    d_loss: report.metrics.d_loss,
                    g_loss: report.metrics.g_loss,
                });
            }
            counters.skipped_steps += 1;
            skipped_in_a_row += 1;
            if skipped_in_a_row >= MAX_SKIPS_IN_A_ROW {
                return Err(TrainError::TooManySkips {
                    step,
                    skipped: skipped_in_a_row,
                    kept: match saved_step.or((start_step > 0).then_some(start_step)) {
                        Some(saved) => format!("the checkpoint of step {saved} is kept"),
                        None => "no checkpoint had been written yet".to_owned(),
                    },
                });
            }
            tracing::warn!(
                step,
                network = value.network.name(),
                quantity = %value.quantity,
                "skipped an update: value is not finite"
            );
        }
        if report.non_finite.is_none() {
            skipped_in_a_row = 0;
        }
        gan.update_average(step)?;
        counters.step = step;
        bar.update(step, &report.metrics);
        counters.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
        time_limit_reached = step < config.steps && is_time_spent(config, counters.elapsed_s);

        let is_last = step == config.steps || time_limit_reached;
        let fid_due = quick_fid
            .as_ref()
            .is_some_and(|quick_fid| quick_fid.is_due(step, start_step, is_last));
        let checkpoint_due = step.is_multiple_of(config.checkpoint_every) || is_last;
        let release_memory = || {
            if let Some(release) = options.release_memory {
                release();
            }
        };
        if fid_due {
            release_memory();
        }
        let fid = match &mut quick_fid {
            Some(quick_fid) if fid_due => {
                measure_quick_fid(config, quick_fid, &gan, &sampler, &mut counters)?
            }
            _ => None,
        };
        if step.is_multiple_of(config.log_every) || is_last || fid.is_some() {
            let steps_per_s =
                (step - start_step) as f64 / started.elapsed().as_secs_f64().max(1e-9);
            log_step(step, config.steps, &report.metrics, steps_per_s, fid);
            metrics.append(
                step,
                &report.metrics,
                counters.elapsed_s,
                counters.skipped_steps,
                fid,
            )?;
        }
        if step.is_multiple_of(config.sample_every) || is_last {
            let path = samples_dir.join(format!("step-{step:06}.png"));
            let pixels = gan.generate(fixed_noise.clone())?;
            write_grid_png(&path, &pixels, GridLayout::square(config.sample_count))?;
        }
        if checkpoint_due {
            release_memory();
            save(config, &gan, &sampler, &counters)?;
            write_report(&config.out);
            saved_step = Some(step);
        }
        last = Some(report.metrics);
    }
    if let Some(signal) = options.stop.as_ref().and_then(StopSignal::received) {
        return Err(interrupt(
            config, &gan, &sampler, &counters, signal, saved_step,
        ));
    }

    bar.finish();
    if time_limit_reached {
        tracing::info!(
            time_limit_s = config.time_limit_s,
            "time limit stopped the run at step {}",
            counters.step
        );
    }
    tracing::info!(
        elapsed_s = %format_args!("{:.1}", counters.elapsed_s),
        checkpoint = %checkpoint_path.display(),
        "training finished"
    );
    Ok(RunSummary {
        steps: counters.step,
        start_step,
        last,
        skipped_steps: counters.skipped_steps,
        elapsed_s: counters.elapsed_s,
        time_limit_reached,
        out: config.out.clone(),
    })
}

/// Reads the settings of the run in `out` (its `config.json`), for [`StartMode::Resume`].
///
/// # Errors
///
/// Returns [`TrainError::NotARun`] when `config.json` is missing and
/// [`TrainError::InvalidRunConfig`] when it cannot be parsed.
pub fn read_run_config(out: &std::path::Path) -> Result<TrainConfig, TrainError> {
    let mut config = read_config(out)?;
    // The folder may have been moved since the run started.
    config.out = out.to_path_buf();
    Ok(config)
}

/// Returns whether `elapsed_s` seconds of training spend the run's time limit, if it has one.
fn is_time_spent(config: &TrainConfig, elapsed_s: f64) -> bool {
    config
        .time_limit_s
        .is_some_and(|limit_s| elapsed_s >= limit_s)
}

/// Counters saved in each checkpoint.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    step: u64,
    skipped_steps: u64,
    elapsed_s: f64,
    best_fid: Option<f64>,
}

/// Loads the run's checkpoint into `gan` and replays the sampler to its step; returns the
/// checkpoint's progress, or step 0 when the run has no checkpoint yet.
fn restore(
    config: &TrainConfig,
    gan: &mut Gan,
    sampler: &mut BatchSampler<'_>,
    device: &Device,
) -> Result<Counters, TrainError> {
    let path = config.out.join(CHECKPOINT_FILE);
    if !path.exists() {
        // A run killed before its first checkpoint restarts from step 0. The metrics row of
        // the first checkpoint's step is written before that checkpoint, so only steps
        // logged past it mean the checkpoint was there and is now lost.
        if let Some(logged_step) = last_logged_step(&config.out.join("metrics.csv"))
            .filter(|&step| step > config.checkpoint_every)
        {
            return Err(TrainError::CheckpointMissing {
                out: config.out.clone(),
                logged_step,
            });
        }
        tracing::info!(out = %config.out.display(), "no checkpoint yet: starting from step 0");
        return Ok(Counters::default());
    }
    let checkpoint = read_checkpoint(&path, config.latent_dim, device)?;
    if let Some(field) = config.first_difference(&checkpoint.state.config) {
        return Err(TrainError::ConfigMismatch {
            path: config.out.join(super::run_folder::CONFIG_FILE),
            field,
        });
    }
    let state = checkpoint.state.clone();
    if config.steps < state.step {
        return Err(TrainError::StepsBelowCheckpoint {
            steps: config.steps,
            checkpoint_step: state.step,
        });
    }
    gan.restore(&path, checkpoint)?;
    // One batch is drawn per step, skipped steps included, so replaying `step` draws puts
    // the sampler where the checkpoint left it. Replaying copies indices only.
    for _ in 0..state.step {
        sampler.next_indices();
    }
    if sampler.epoch() != state.sampler_epoch {
        return Err(TrainError::ConfigMismatch {
            path: config.out.join(super::run_folder::CONFIG_FILE),
            field: "data (the dataset's size changed)",
        });
    }
    tracing::info!(step = state.step, checkpoint = %path.display(), "resuming");
    Ok(Counters {
        step: state.step,
        skipped_steps: state.skipped_steps,
        elapsed_s: state.elapsed_s,
        best_fid: state.best_fid,
    })
}

/// Returns the step of the last row of `metrics.csv`, or `None` when the file is missing
/// or has no rows.
fn last_logged_step(metrics: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(metrics).ok()?;
    text.lines()
        .skip(1)
        .filter_map(|line| line.split(',').next()?.parse().ok())
        .last()
}

/// Measures the quick FID of this step; a new lowest distance is kept in the best checkpoint.
fn measure_quick_fid(
    config: &TrainConfig,
    quick_fid: &mut QuickFid,
    gan: &Gan,
    sampler: &BatchSampler<'_>,
    counters: &mut Counters,
) -> Result<Option<f64>, TrainError> {
    let Some((fid, is_best)) = quick_fid.measure(gan)? else {
        return Ok(None);
    };
    if is_best {
        counters.best_fid = Some(fid);
        save_to(
            &config.out.join(BEST_CHECKPOINT_FILE),
            config,
            gan,
            sampler,
            counters,
        )?;
    }
    Ok(Some(fid))
}

fn save(
    config: &TrainConfig,
    gan: &Gan,
    sampler: &BatchSampler<'_>,
    counters: &Counters,
) -> Result<(), TrainError> {
    save_to(
        &config.out.join(CHECKPOINT_FILE),
        config,
        gan,
        sampler,
        counters,
    )
}

fn save_to(
    path: &std::path::Path,
    config: &TrainConfig,
    gan: &Gan,
    sampler: &BatchSampler<'_>,
    counters: &Counters,
) -> Result<(), TrainError> {
    let (generator_optimizer, discriminator_optimizer) = gan.optimizer_bytes(path)?;
    gan.sync_running_statistics();
    let contents = CheckpointContents {
        generator: gan.generator(),
        discriminator: gan.discriminator(),
        average: gan.averaged_generator(),
        generator_optimizer: &generator_optimizer,
        discriminator_optimizer: &discriminator_optimizer,
    };
    let state = TrainingState {
        step: counters.step,
        skipped_steps: counters.skipped_steps,
        elapsed_s: counters.elapsed_s,
        noise_word_pos: gan.noise_word_pos(),
        sampler_epoch: sampler.epoch(),
        best_fid: counters.best_fid,
        param_ids: Default::default(),
        config: config.clone(),
    };
    save_checkpoint(path, &contents, &state)?;
    tracing::debug!(step = counters.step, checkpoint = %path.display(), "checkpoint written");
    Ok(())
}

/// Rewrites the run's `report.html`. A report that cannot be written is logged and does
/// not stop training: the checkpoint, metrics and samples it is made from are intact.
fn write_report(out: &std::path::Path) {
    if let Err(error) = write_run_report(out) {
        tracing::warn!(%error, "report.html not updated");
    }
}

/// Writes a checkpoint for a signal (unless the current step already has one) and
/// returns the error that ends the run.
fn interrupt(
    config: &TrainConfig,
    gan: &Gan,
    sampler: &BatchSampler<'_>,
    counters: &Counters,
    signal: i32,
    saved_step: Option<u64>,
) -> TrainError {
    if saved_step != Some(counters.step) {
        if let Err(error) = save(config, gan, sampler, counters) {
            return error;
        }
        write_report(&config.out);
    }
    TrainError::Interrupted {
        signal,
        step: counters.step,
        out: config.out.clone(),
    }
}

fn log_step(step: u64, steps: u64, metrics: &StepMetrics, steps_per_s: f64, fid: Option<f64>) {
    let fid = fid.map(|fid| format!("  FID {fid:.2}")).unwrap_or_default();
    tracing::info!(
        "step {step:>6}/{steps}  d_loss {:.4}  g_loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}  {steps_per_s:.1} steps/s{fid}",
        metrics.d_loss,
        metrics.g_loss,
        metrics.d_real,
        metrics.d_fake,
    );
}
