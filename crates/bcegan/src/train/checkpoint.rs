//! Checkpoints: both networks in one SafeTensors file, written atomically.
//!
//! Tensor names are the module paths, `generator.blocks.0.linear.weight` and so on.
//! The file is written under a temporary name in the same folder and renamed over the
//! old one, so a crash during the write leaves the previous checkpoint intact.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::error::TrainError;
use crate::model::{Discriminator, Generator};

/// File name of the checkpoint inside a run folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

/// Both networks of a GAN, saved and loaded together.
#[derive(Module, Debug)]
pub struct GanNetworks {
    /// The generator.
    pub generator: Generator,
    /// The discriminator.
    pub discriminator: Discriminator,
}

/// Writes both networks to `path`, replacing it atomically, with `step` in the metadata.
///
/// # Errors
///
/// Returns [`TrainError::Checkpoint`] when the file cannot be written or renamed.
pub fn save_checkpoint(
    path: &Path,
    generator: &Generator,
    discriminator: &Discriminator,
    step: u64,
) -> Result<(), TrainError> {
    let networks = GanNetworks {
        generator: generator.clone(),
        discriminator: discriminator.clone(),
    };
    let temporary = temporary_path(path);
    let mut store = SafetensorsStore::from_file(&temporary)
        .metadata("format", "bcegan-checkpoint")
        .metadata("step", step.to_string());
    networks
        .save_into(&mut store)
        .map_err(|error| checkpoint_error(path, format!("failed to write: {error}")))?;
    std::fs::rename(&temporary, path).map_err(|error| {
        checkpoint_error(
            path,
            format!("failed to move {} into place: {error}", temporary.display()),
        )
    })
}

/// Reads both networks from `path` into fresh networks built for `latent_dim` on `device`.
///
/// # Errors
///
/// Returns [`TrainError::Checkpoint`] when the file cannot be read or does not hold
/// every tensor of the two networks with the expected shapes.
pub fn load_checkpoint(
    path: &Path,
    latent_dim: usize,
    device: &Device,
) -> Result<(Generator, Discriminator), TrainError> {
    if !path.is_file() {
        return Err(checkpoint_error(
            path,
            "file not found; pass a run folder that contains checkpoint.safetensors".into(),
        ));
    }
    // The initial weights are placeholders: every tensor is replaced by the file's.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut networks = GanNetworks {
        generator: Generator::new(latent_dim, &mut rng, device),
        discriminator: Discriminator::new(&mut rng, device),
    };
    let mut store = SafetensorsStore::from_file(path);
    let result = networks
        .load_from(&mut store)
        .map_err(|error| checkpoint_error(path, format!("failed to read: {error}")))?;
    if !result.missing.is_empty() || !result.errors.is_empty() {
        let missing: Vec<&str> = result
            .missing
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        return Err(checkpoint_error(
            path,
            format!(
                "does not match the model (latent_dim {latent_dim}): missing tensors {missing:?}, errors {:?}",
                result.errors
            ),
        ));
    }
    Ok((networks.generator, networks.discriminator))
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn checkpoint_error(path: &Path, message: String) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        message,
    }
}
