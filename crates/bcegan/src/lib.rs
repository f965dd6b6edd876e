//! GAN training with binary cross-entropy on burn: data, models, training loop and CLI.

pub mod cli;
pub mod data;
pub mod device;
#[cfg(feature = "flex")]
mod flex_host;
pub mod interop;
pub mod model;
pub mod numbers;
pub mod quality;
pub mod report;
pub mod train;
