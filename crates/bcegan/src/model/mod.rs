//! The generator and discriminator networks.

mod init;
mod mlp;

pub use mlp::{Discriminator, Generator, IMAGE_COLS, IMAGE_ROWS, IMAGE_SIZE};
