//! The training progress bar on stderr, and a tracing writer that prints log lines above it
//! instead of through it.
//!
//! The bar is drawn only when stderr is a terminal and `-q` is not given. Otherwise
//! [`TrainProgress`] does nothing and log lines go straight to stderr.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use tracing_subscriber::fmt::MakeWriter;

use crate::train::StepMetrics;

/// The bar currently shown, if any, with the id of its [`TrainProgress`], so that
/// [`StderrAboveProgress`] can print above it.
static ACTIVE_BAR: Mutex<Option<(u64, ProgressBar)>> = Mutex::new(None);

/// Source of [`TrainProgress`] ids.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Redraws per second; indicatif skips updates between two redraws, so calling
/// [`TrainProgress::update`] every step is cheap.
const REFRESH_HZ: u8 = 10;

/// Progress of a training run: step/total, steps per second, time left, and the latest
/// d_loss, g_loss, D(x) and D(G(z)).
pub struct TrainProgress {
    id: u64,
    bar: Option<ProgressBar>,
}

impl TrainProgress {
    /// Starts a bar for a run of `total_steps` steps that begins after `start_step` (0 for
    /// a new run, the checkpoint's step when resuming).
    ///
    /// The bar stays hidden when `quiet` is set or stderr is not a terminal.
    pub fn new(total_steps: u64, start_step: u64, quiet: bool) -> Self {
        Self::with_visibility(
            total_steps,
            start_step,
            !quiet && std::io::stderr().is_terminal(),
        )
    }

    /// Like [`TrainProgress::new`], with the decision to draw made by the caller.
    pub fn with_visibility(total_steps: u64, start_step: u64, visible: bool) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if !visible {
            return Self { id, bar: None };
        }
        let bar = ProgressBar::with_draw_target(
            Some(total_steps),
            ProgressDrawTarget::stderr_with_hz(REFRESH_HZ),
        )
        .with_style(bar_style())
        .with_position(start_step.min(total_steps));
        bar.reset_eta();
        bar.enable_steady_tick(Duration::from_millis(500));
        *lock_active() = Some((id, bar.clone()));
        Self { id, bar: Some(bar) }
    }

    /// Returns whether the bar is drawn.
    pub fn is_visible(&self) -> bool {
        self.bar.is_some()
    }

    /// Moves the bar to `step` (the number of steps finished) and shows `metrics`.
    pub fn update(&self, step: u64, metrics: &StepMetrics) {
        if let Some(bar) = &self.bar {
            bar.set_position(step);
            bar.set_message(format_metrics(metrics));
        }
    }

    /// Prints `line` above the bar, or to stderr when no bar is drawn.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Draws the bar in its final state and stops routing log lines through it.
    pub fn finish(self) {
        // Drop does the work, so that an early return with `?` also releases the bar.
        drop(self);
    }
}

impl Drop for TrainProgress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            let mut active = lock_active();
            if active.as_ref().is_some_and(|(id, _)| *id == self.id) {
                *active = None;
            }
            drop(active);
            if bar.position() >= bar.length().unwrap_or(0) {
                bar.finish();
            } else {
                bar.abandon();
            }
        }
    }
}

/// A tracing writer for stderr that suspends the progress bar, if one is shown, while a
/// log line is written, so that lines and bar never mix. Pass it to
/// `tracing_subscriber::fmt().with_writer(StderrAboveProgress)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrAboveProgress;

impl<'a> MakeWriter<'a> for StderrAboveProgress {
    type Writer = StderrAboveProgress;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

impl Write for StderrAboveProgress {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        // tracing-subscriber formats a whole event and writes it with one `write_all`, so
        // one call here is one log line.
        let bar = lock_active().as_ref().map(|(_, bar)| bar.clone());
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(bytes))?,
            None => std::io::stderr().write_all(bytes)?,
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Locks [`ACTIVE_BAR`]; a panic in another thread while it held the lock leaves a valid
/// `Option`, so a poisoned lock is used as is.
fn lock_active() -> std::sync::MutexGuard<'static, Option<(u64, ProgressBar)>> {
    ACTIVE_BAR.lock().unwrap_or_else(PoisonError::into_inner)
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("step {pos}/{len} [{bar:30.cyan/blue}] {rate} ETA {eta}  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{:.1} steps/s", state.per_sec());
            },
        )
        .progress_chars("=> ")
}

/// Formats the latest metrics as the log lines do.
fn format_metrics(metrics: &StepMetrics) -> String {
    format!(
        "d_loss {:.4}  g_loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}",
        metrics.d_loss, metrics.g_loss, metrics.d_real, metrics.d_fake
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::{StderrAboveProgress, TrainProgress, format_metrics, lock_active};
    use crate::train::StepMetrics;

    #[test]
    fn progress_hidden_draws_nothing() {
        let progress = TrainProgress::with_visibility(100, 0, false);
        let metrics = StepMetrics {
            d_loss: 0.5,
            g_loss: 1.0,
            d_real: 0.75,
            d_fake: 0.25,
        };
        progress.update(10, &metrics);
        assert!(
            !progress.is_visible(),
            "a hidden progress bar reports itself visible"
        );
        progress.finish();
    }

    #[test]
    fn progress_visible_routes_log_lines() {
        let progress = TrainProgress::with_visibility(10, 2, true);
        let metrics = StepMetrics {
            d_loss: 0.5,
            g_loss: 1.0,
            d_real: 0.75,
            d_fake: 0.25,
        };
        progress.update(3, &metrics);
        let written = StderrAboveProgress.write(b"a log line while the bar is shown\n");
        assert!(
            matches!(written, Ok(34)),
            "write through the bar: expected Ok(34), got {written:?}"
        );
        assert!(
            progress.is_visible(),
            "a visible progress bar reports itself hidden"
        );
        progress.finish();
        let active = lock_active().is_some();
        assert!(
            !active,
            "the finished bar is still registered for log lines"
        );
    }

    #[test]
    fn format_metrics_matches_log_lines() {
        let metrics = StepMetrics {
            d_loss: 0.712_345,
            g_loss: 1.25,
            d_real: 0.5,
            d_fake: 0.125,
        };
        let text = format_metrics(&metrics);
        assert_eq!(
            text, "d_loss 0.7123  g_loss 1.2500  D(x) 0.500  D(G(z)) 0.125",
            "text of {metrics:?}"
        );
    }
}
