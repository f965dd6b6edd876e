//! Ctrl-C (SIGINT) and SIGTERM: a flag that the training loop reads between steps, so
//! that the run writes a checkpoint before it exits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

use super::error::TrainError;

/// Records the first SIGINT or SIGTERM the process receives.
///
/// A second signal while the run is writing its checkpoint ends the process at once with
/// status 128 + signal number, as a shell does for an unhandled signal; the previous
/// checkpoint stays intact because checkpoints are written atomically.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    received: Arc<AtomicUsize>,
}

impl StopSignal {
    /// Installs handlers for SIGINT and SIGTERM that set the flag.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::Io`] when a handler cannot be installed.
    pub fn install() -> Result<Self, TrainError> {
        let stop = Self::default();
        let pending = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            let install_error =
                |error| TrainError::io("install a handler for", format!("signal {signal}"), error);
            // Registered first, so it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(
                signal,
                128 + signal,
                Arc::clone(&pending),
            )
            .map_err(install_error)?;
            signal_hook::flag::register(signal, Arc::clone(&pending)).map_err(install_error)?;
            signal_hook::flag::register_usize(signal, Arc::clone(&stop.received), signal as usize)
                .map_err(install_error)?;
        }
        Ok(stop)
    }

    /// Returns the number of the signal received, if any.
    pub fn received(&self) -> Option<i32> {
        match self.received.load(Ordering::Relaxed) {
            0 => None,
            signal => i32::try_from(signal).ok(),
        }
    }
}
