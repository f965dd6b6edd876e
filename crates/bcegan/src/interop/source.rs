//! Networks read from a run folder, a checkpoint file, or a file with PyTorch names.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use safetensors::SafeTensors;

use super::error::InteropError;
use super::torch::{FIRST_GENERATOR_WEIGHT, read_torch_networks, torch_model};
use crate::model::{Discriminator, Generator};
use crate::train::CHECKPOINT_FILE;

/// Name of the training settings inside a run folder.
const CONFIG_FILE: &str = "config.json";

/// Kind of file the networks were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkSource {
    /// A checkpoint written by `bcegan train`.
    Checkpoint,
    /// A file with the course's PyTorch names, such as one written by `bcegan export`.
    Torch,
}

/// Networks read from disk, with what is known about them.
#[derive(Debug)]
pub struct LoadedNetworks {
    /// The generator.
    pub generator: Generator,
    /// The discriminator.
    pub discriminator: Discriminator,
    /// Length of the generator's noise vector.
    pub latent_dim: usize,
    /// Training steps recorded in the checkpoint, or 0 where the file records none.
    pub step: u64,
    /// The file the networks were read from.
    pub file: PathBuf,
    /// Kind of that file.
    pub source: NetworkSource,
}

/// Reads the networks from `path`: a run folder, a checkpoint file, or a SafeTensors file
/// with the course's PyTorch names (recognised by `gen.0.0.weight`).
///
/// The noise length comes from `latent_dim` when given, else from the run's `config.json`
/// (in the folder, or beside a checkpoint file), else from the settings that a checkpoint
/// stores in its `state` metadata entry. A PyTorch-named file records it in the shape of `gen.0.0.weight`.
///
/// # Errors
///
/// Returns [`InteropError::SourceNotFound`] for a path that does not exist,
/// [`InteropError::UnknownLatentDim`] when the noise length cannot be determined,
/// [`InteropError::InvalidRunConfig`] for an unreadable `config.json`,
/// [`InteropError::InvalidSetting`] for a `latent_dim` that contradicts the run's, and the
/// errors of reading the networks.
pub fn load_networks(
    path: &Path,
    latent_dim: Option<usize>,
    device: &Device,
) -> Result<LoadedNetworks, InteropError> {
    if path.is_dir() {
        let file = path.join(CHECKPOINT_FILE);
        let latent_dim = match (latent_dim, run_latent_dim(&path.join(CONFIG_FILE))?) {
            (Some(requested), Some(recorded)) if requested != recorded => {
                return Err(InteropError::InvalidSetting {
                    name: "--latent-dim",
                    value: requested.to_string(),
                    expected: format!(
                        "must equal latent_dim {recorded} in the run's config.json, or be left out"
                    ),
                });
            }
            (_, Some(recorded)) => recorded,
            (Some(requested), None) => requested,
            (None, None) => return Err(InteropError::UnknownLatentDim { path: file }),
        };
        return load_checkpoint_file(&file, latent_dim, device);
    }
    if !path.is_file() {
        return Err(InteropError::SourceNotFound {
            path: path.to_path_buf(),
        });
    }

    let header = read_header(path);
    if header
        .names
        .iter()
        .any(|name| name == FIRST_GENERATOR_WEIGHT)
    {
        let latent_dim = match latent_dim {
            Some(requested) => requested,
            None => torch_model(path)?.1,
        };
        let (generator, discriminator) = read_torch_networks(path, latent_dim, device)?;
        return Ok(LoadedNetworks {
            generator,
            discriminator,
            latent_dim,
            step: 0,
            file: path.to_path_buf(),
            source: NetworkSource::Torch,
        });
    }
    let beside = path
        .parent()
        .map(|folder| folder.join(CONFIG_FILE))
        .filter(|config| config.is_file());
    let latent_dim = match latent_dim {
        Some(requested) => requested,
        None => match beside
            .map(|config| run_latent_dim(&config))
            .transpose()?
            .flatten()
        {
            Some(recorded) => recorded,
            None => header
                .latent_dim
                .ok_or_else(|| InteropError::UnknownLatentDim {
                    path: path.to_path_buf(),
                })?,
        },
    };
    load_checkpoint_file(path, latent_dim, device)
}

/// Reads a checkpoint written by `bcegan train`.
///
/// This is the only call of [`crate::train::load_checkpoint`] in this module, so a change of
/// the checkpoint format is handled here.
fn load_checkpoint_file(
    file: &Path,
    latent_dim: usize,
    device: &Device,
) -> Result<LoadedNetworks, InteropError> {
    let (generator, discriminator) = crate::train::load_checkpoint(file, latent_dim, device)
        .map_err(InteropError::Checkpoint)?;
    Ok(LoadedNetworks {
        generator,
        discriminator,
        latent_dim,
        step: read_header(file).step.unwrap_or(0),
        file: file.to_path_buf(),
        source: NetworkSource::Checkpoint,
    })
}

/// Returns `latent_dim` from a run's `config.json`, or `None` when the file does not exist.
fn run_latent_dim(config: &Path) -> Result<Option<usize>, InteropError> {
    let text = match std::fs::read_to_string(config) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(InteropError::Read {
                path: config.to_path_buf(),
                source,
            });
        }
    };
    let invalid = |message: String| InteropError::InvalidRunConfig {
        path: config.to_path_buf(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| invalid(error.to_string()))?;
    let latent_dim = value
        .get("latent_dim")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| invalid("no positive integer latent_dim".into()))?;
    usize::try_from(latent_dim)
        .ok()
        .filter(|&dim| dim > 0)
        .map(Some)
        .ok_or_else(|| invalid(format!("latent_dim {latent_dim} is out of range")))
}

/// Tensor names and metadata entries of a SafeTensors file, empty for any other file.
#[derive(Debug, Default)]
struct HeaderFacts {
    /// Tensor names.
    names: Vec<String>,
    /// The step of a checkpoint, from its `state` metadata entry.
    step: Option<u64>,
    /// The run's `latent_dim`, from a checkpoint's `state` metadata entry.
    latent_dim: Option<usize>,
}

/// Reads the tensor names and metadata of a SafeTensors file.
///
/// Failures give empty facts: the reader that follows reports them with the path.
fn read_header(path: &Path) -> HeaderFacts {
    let Ok(bytes) = std::fs::read(path) else {
        return HeaderFacts::default();
    };
    let Ok((_, metadata)) = SafeTensors::read_metadata(&bytes) else {
        return HeaderFacts::default();
    };
    let entries = metadata.metadata().clone().unwrap_or_default();
    // Checkpoints keep the step and the run's settings as JSON in the `state` entry.
    let state: Option<serde_json::Value> = entries
        .get("state")
        .and_then(|json| serde_json::from_str(json).ok());
    let state_field = |pointer: &str| {
        state
            .as_ref()
            .and_then(|state| state.pointer(pointer))
            .and_then(serde_json::Value::as_u64)
    };
    HeaderFacts {
        names: metadata.tensors().into_keys().collect(),
        step: state_field("/step"),
        latent_dim: state_field("/config/latent_dim")
            .and_then(|dim| usize::try_from(dim).ok())
            .filter(|&dim| dim > 0),
    }
}
