//! Checkpoints: both networks, both optimizers' state, the step, the random-number
//! positions and the configuration in one SafeTensors file, written atomically and
//! verified on load.
//!
//! Layout of `checkpoint.safetensors` (format version 2):
//! - one F32 tensor per network parameter or BatchNorm statistic, named by its module
//!   path without the model's variant (`generator.blocks.0.linear.weight` for the MLP,
//!   `generator.blocks.0.conv.weight` for the DCGAN, ...), so files written before the
//!   DCGAN existed keep their names; the configuration in `state` records the model;
//! - `optimizer.generator` and `optimizer.discriminator`: U8 tensors holding burn's
//!   serialized Adam state (burnpack bytes), keyed by parameter id;
//! - SafeTensors metadata: `format` = `bcegan-checkpoint`, `format_version` = `2`,
//!   `state` (JSON [`TrainingState`]: step, random-number positions, parameter ids,
//!   configuration) and `crc32`, a CRC-32 over `state` and every tensor's name, dtype,
//!   shape and bytes in name order.
//!
//! The parameter ids are saved so that the loaded networks get the ids the Adam state is
//! keyed by. The file is written under a temporary name in the same folder, synced and
//! renamed over the old one, so a crash or a full disk leaves the previous checkpoint intact.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Module;
use burn::store::ModuleSnapshot;
use burn::store::burn_pack::Tensor as PackTensor;
use burn::tensor::{Bytes, DType, Device};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};

use super::checkpoint_error::CheckpointProblem;
use super::config::TrainConfig;
use super::error::TrainError;
use super::run_folder::write_atomically_with;
use super::safetensors_stream::{StreamTensor, write_safetensors};
use crate::model::{Discriminator, Generator, ModelKind};

/// File name of the checkpoint inside a run folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

/// Value of the `format` metadata entry.
const FORMAT_NAME: &str = "bcegan-checkpoint";

/// Version of the layout this build writes and reads. Version 1, which held only the two
/// networks and no `format_version` entry, cannot be resumed.
pub const FORMAT_VERSION: u32 = 2;

/// Largest file accepted, far above the ~31 MB of the largest model (`latent_dim` 4096)
/// with its Adam state, so that a wrong path cannot make the loader read gigabytes.
const MAX_CHECKPOINT_BYTES: u64 = 1 << 30;

/// Whether tensor names leave out the variant of the `Generator` and `Discriminator` enums
/// (`generator.blocks.0...` rather than `generator.Mlp.blocks.0...`).
const SKIP_ENUM_VARIANTS: bool = true;

const GENERATOR_OPTIMIZER: &str = "optimizer.generator";
const DISCRIMINATOR_OPTIMIZER: &str = "optimizer.discriminator";
/// Start of the names of the averaged generator's tensors (the `average` field).
const AVERAGE_PREFIX: &str = "average.";

/// Both networks of a GAN, saved and loaded together.
#[derive(Module, Debug)]
pub struct GanNetworks {
    /// The generator.
    pub generator: Generator,
    /// The discriminator.
    pub discriminator: Discriminator,
    /// The average of the generator's parameters, with its own BatchNorm statistics, in
    /// runs that keep one (`--ema-decay`), from its first update on.
    pub average: Option<Generator>,
}

/// Progress of a run at a checkpoint, stored as JSON in the `state` metadata entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    /// Steps completed.
    pub step: u64,
    /// Steps whose update was skipped because a value was not finite (`--on-nan skip`).
    pub skipped_steps: u64,
    /// Wall-clock seconds of training up to this step, summed over resumed sessions.
    pub elapsed_s: f64,
    /// Position (in 32-bit words) of the noise generator's ChaCha8 stream.
    pub noise_word_pos: u128,
    /// Epochs the batch sampler has completed; checked after replaying its draws.
    pub sampler_epoch: u64,
    /// Lowest quick FID of the run up to this step, if one was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_fid: Option<f64>,
    /// Parameter id of each network tensor, by tensor name.
    pub param_ids: BTreeMap<String, u64>,
    /// The run's settings.
    pub config: TrainConfig,
}

/// Everything a checkpoint holds, read back from a file.
pub struct Checkpoint {
    /// The generator, with the parameter ids it had when saved.
    pub generator: Generator,
    /// The discriminator, with the parameter ids it had when saved.
    pub discriminator: Discriminator,
    /// The averaged generator, in runs that keep one.
    pub average: Option<Generator>,
    /// Serialized Adam state of the generator (burnpack bytes).
    pub generator_optimizer: Vec<u8>,
    /// Serialized Adam state of the discriminator (burnpack bytes).
    pub discriminator_optimizer: Vec<u8>,
    /// Step, random-number positions and configuration.
    pub state: TrainingState,
}

/// Network tensors and optimizer bytes to write, as produced by [`super::Gan`].
pub struct CheckpointContents<'a> {
    /// The generator.
    pub generator: &'a Generator,
    /// The discriminator.
    pub discriminator: &'a Discriminator,
    /// The averaged generator, in runs that keep one.
    pub average: Option<&'a Generator>,
    /// Serialized Adam state of the generator.
    pub generator_optimizer: &'a [u8],
    /// Serialized Adam state of the discriminator.
    pub discriminator_optimizer: &'a [u8],
}

/// One tensor ready to be written: dtype, shape and little-endian bytes. The bytes are
/// borrowed or moved rather than copied, which keeps the peak memory of a write down.
struct RawTensor<'a> {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: RawBytes<'a>,
}

/// Bytes of a [`RawTensor`]: a network tensor's own buffer, or the optimizer state.
enum RawBytes<'a> {
    Owned(Bytes),
    Borrowed(&'a [u8]),
}

impl RawBytes<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Owned(bytes) => bytes,
            Self::Borrowed(bytes) => bytes,
        }
    }
}

/// Writes a checkpoint to `path`, replacing it atomically. `state.param_ids` is filled
/// in from the networks.
///
/// # Errors
///
/// Returns [`TrainError::CheckpointWrite`] when the file cannot be written, synced or
/// renamed (disk full, folder not writable); the previous file at `path` is then unchanged.
pub fn save_checkpoint(
    path: &Path,
    contents: &CheckpointContents<'_>,
    state: &TrainingState,
) -> Result<(), TrainError> {
    let networks = GanNetworks {
        generator: contents.generator.clone(),
        discriminator: contents.discriminator.clone(),
        average: contents.average.cloned(),
    };
    let mut tensors = BTreeMap::new();
    let mut state = state.clone();
    state.param_ids.clear();
    for tensor in networks.collect(None, None, SKIP_ENUM_VARIANTS) {
        let problem = |detail: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            problem: CheckpointProblem::Encode(detail),
        };
        let (name, dtype, shape, param_id, bytes) = tensor
            .into_parts()
            .map_err(|error| problem(format!("{error}")))?;
        if dtype != DType::F32 {
            return Err(problem(format!(
                "tensor {name} has dtype {dtype:?}, not F32"
            )));
        }
        if let Some(id) = param_id {
            state.param_ids.insert(name.clone(), id);
        }
        let raw = RawTensor {
            dtype: Dtype::F32,
            shape: shape.to_vec(),
            bytes: RawBytes::Owned(bytes),
        };
        tensors.insert(name, raw);
    }
    for (name, bytes) in [
        (GENERATOR_OPTIMIZER, contents.generator_optimizer),
        (DISCRIMINATOR_OPTIMIZER, contents.discriminator_optimizer),
    ] {
        let raw = RawTensor {
            dtype: Dtype::U8,
            shape: vec![bytes.len()],
            bytes: RawBytes::Borrowed(bytes),
        };
        tensors.insert(name.to_owned(), raw);
    }

    let encode_error = |detail: String| TrainError::Checkpoint {
        path: path.to_path_buf(),
        problem: CheckpointProblem::Encode(detail),
    };
    let state_json =
        serde_json::to_string(&state).map_err(|error| encode_error(error.to_string()))?;
    let crc = checksum(
        &state_json,
        tensors.iter().map(|(name, raw)| {
            (
                name.as_str(),
                raw.dtype,
                raw.shape.as_slice(),
                raw.bytes.as_slice(),
            )
        }),
    );
    let metadata = std::collections::HashMap::from([
        ("format".to_owned(), FORMAT_NAME.to_owned()),
        ("format_version".to_owned(), FORMAT_VERSION.to_string()),
        ("state".to_owned(), state_json),
        ("crc32".to_owned(), format!("{crc:08x}")),
    ]);
    // f32 tensors first, so that their data stays 4-byte aligned after the header.
    let mut ordered: Vec<StreamTensor<'_>> = tensors
        .iter()
        .map(|(name, raw)| StreamTensor {
            name,
            dtype: raw.dtype,
            shape: &raw.shape,
            bytes: raw.bytes.as_slice(),
        })
        .collect();
    ordered.sort_by_key(|tensor| tensor.dtype != Dtype::F32);
    write_atomically_with(path, |file| write_safetensors(file, &ordered, &metadata)).map_err(
        |(temporary, source)| TrainError::CheckpointWrite {
            path: path.to_path_buf(),
            temporary,
            source,
        },
    )
}

/// Reads both networks from `path` into fresh networks of the model that the checkpoint's
/// configuration records, built for `latent_dim` on `device`. The generator is the
/// averaged one in checkpoints of runs that keep an average (`--ema-decay`), else the live
/// one.
///
/// This is the entry point for commands that only need the trained networks, such as
/// sampling or export; it verifies the file exactly as a resume does.
///
/// # Errors
///
/// Returns [`TrainError::Checkpoint`] with a [`CheckpointProblem`] naming what is wrong:
/// a missing, truncated or corrupted file, another format version, or tensors that do not
/// fit the model for `latent_dim`.
pub fn load_checkpoint(
    path: &Path,
    latent_dim: usize,
    device: &Device,
) -> Result<(Generator, Discriminator), TrainError> {
    let checkpoint = read_checkpoint(path, latent_dim, device)?;
    let generator = checkpoint.average.unwrap_or(checkpoint.generator);
    Ok((generator, checkpoint.discriminator))
}

/// Reads and verifies everything a checkpoint holds; the networks are those of the model in
/// the checkpoint's configuration (the MLP for files that record none), built for
/// `latent_dim` on `device`.
///
/// # Errors
///
/// As [`load_checkpoint`].
pub fn read_checkpoint(
    path: &Path,
    latent_dim: usize,
    device: &Device,
) -> Result<Checkpoint, TrainError> {
    let fail = |problem: CheckpointProblem| TrainError::Checkpoint {
        path: path.to_path_buf(),
        problem,
    };
    let size = match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => metadata.len(),
        Ok(_) => return Err(fail(CheckpointProblem::NotAFile)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(CheckpointProblem::NotFound));
        }
        Err(error) => return Err(fail(CheckpointProblem::Read(error))),
    };
    if size > MAX_CHECKPOINT_BYTES {
        return Err(fail(CheckpointProblem::TooLarge {
            size,
            max: MAX_CHECKPOINT_BYTES,
        }));
    }
    let bytes = std::fs::read(path).map_err(|error| fail(CheckpointProblem::Read(error)))?;
    check_length(&bytes).map_err(fail)?;
    let file = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|error| fail(CheckpointProblem::InvalidHeader(error.to_string())))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|error| fail(CheckpointProblem::InvalidHeader(error.to_string())))?;
    let metadata = header.metadata().clone().unwrap_or_default();

    match metadata.get("format") {
        Some(format) if format == FORMAT_NAME => {}
        other => {
            return Err(fail(CheckpointProblem::NotACheckpoint {
                format: other.cloned(),
            }));
        }
    }
    // Version 1 files carry no `format_version` entry.
    let version = metadata
        .get("format_version")
        .map_or("1", String::as_str)
        .to_owned();
    if version != FORMAT_VERSION.to_string() {
        return Err(fail(CheckpointProblem::UnsupportedVersion {
            found: version,
        }));
    }
    let Some(state_json) = metadata.get("state") else {
        return Err(fail(CheckpointProblem::InvalidState(
            "no `state` metadata entry".into(),
        )));
    };
    let stored = metadata.get("crc32").cloned().unwrap_or_default();
    let mut views: Vec<(String, TensorView<'_>)> = file.tensors();
    views.sort_by(|a, b| a.0.cmp(&b.0));
    let computed = checksum(
        state_json,
        views
            .iter()
            .map(|(name, view)| (name.as_str(), view.dtype(), view.shape(), view.data())),
    );
    if stored != format!("{computed:08x}") {
        return Err(fail(CheckpointProblem::ChecksumMismatch {
            stored,
            computed: format!("{computed:08x}"),
        }));
    }
    let state: TrainingState = serde_json::from_str(state_json)
        .map_err(|error| fail(CheckpointProblem::InvalidState(error.to_string())))?;

    let views: BTreeMap<String, TensorView<'_>> = views.into_iter().collect();
    let networks = read_networks(&views, &state, latent_dim, device).map_err(fail)?;
    let generator_optimizer = optimizer_bytes(&views, GENERATOR_OPTIMIZER).map_err(fail)?;
    let discriminator_optimizer = optimizer_bytes(&views, DISCRIMINATOR_OPTIMIZER).map_err(fail)?;
    Ok(Checkpoint {
        generator: networks.generator,
        discriminator: networks.discriminator,
        average: networks.average,
        generator_optimizer,
        discriminator_optimizer,
        state,
    })
}

/// Compares the file length with the length its header declares, so that a truncated
/// file is reported as such with both sizes instead of as a generic header error.
fn check_length(bytes: &[u8]) -> Result<(), CheckpointProblem> {
    let size = bytes.len() as u64;
    let Some(prefix) = bytes.get(..8) else {
        return Err(CheckpointProblem::Truncated {
            size,
            expected: None,
        });
    };
    let mut length = [0_u8; 8];
    length.copy_from_slice(prefix);
    let header_len = u64::from_le_bytes(length);
    let header_end = header_len.saturating_add(8);
    if header_end > size {
        return Err(CheckpointProblem::Truncated {
            size,
            expected: Some(header_end),
        });
    }
    // `header_end <= size`, so it fits in usize.
    let header = bytes.get(8..header_end as usize).unwrap_or_default();
    let Ok(entries) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(header)
    else {
        // Malformed headers are reported by the SafeTensors parser.
        return Ok(());
    };
    let data_len = entries
        .iter()
        .filter(|(name, _)| name.as_str() != "__metadata__")
        .filter_map(|(_, entry)| entry.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0);
    let expected = header_end.saturating_add(data_len);
    if expected > size {
        return Err(CheckpointProblem::Truncated {
            size,
            expected: Some(expected),
        });
    }
    Ok(())
}

/// Builds the two networks from the file's tensors after checking each name, dtype and
/// shape against a freshly built model.
fn read_networks(
    views: &BTreeMap<String, TensorView<'_>>,
    state: &TrainingState,
    latent_dim: usize,
    device: &Device,
) -> Result<GanNetworks, CheckpointProblem> {
    let model = state.config.model;
    // The state lists every network tensor by name, so a file stripped of all its average
    // tensors fails as a missing tensor instead of loading as a run without an average.
    let has_average = views
        .keys()
        .chain(state.param_ids.keys())
        .any(|name| name.starts_with(AVERAGE_PREFIX));
    // Every tensor of these networks is replaced by the file's.
    let mut networks = placeholder_networks(model, latent_dim, has_average, device);
    let mut loaded = Vec::new();
    for expected in networks.collect(None, None, SKIP_ENUM_VARIANTS) {
        let name = expected.name.clone();
        let Some(view) = views.get(&name) else {
            return Err(CheckpointProblem::MissingTensor { name });
        };
        if view.dtype() != Dtype::F32 {
            return Err(CheckpointProblem::WrongDtype {
                name,
                found: format!("{:?}", view.dtype()),
            });
        }
        let expected_shape = expected.shape.to_vec();
        if view.shape() != expected_shape.as_slice() {
            let written_latent_dim = written_latent_dim(
                model,
                &name,
                latent_dim,
                (&expected_shape, view.shape()),
                device,
            );
            return Err(CheckpointProblem::WrongShape {
                name,
                found: view.shape().to_vec(),
                expected: expected_shape,
                latent_dim,
                written_latent_dim,
            });
        }
        let param_id = state.param_ids.get(&name).copied();
        loaded.push(PackTensor::new(
            name,
            DType::F32,
            expected.shape.clone(),
            param_id,
            Bytes::from_bytes_vec(view.data().to_vec()),
        ));
    }
    let result = networks.apply(loaded, None, None, SKIP_ENUM_VARIANTS);
    if let Some((name, _)) = result.missing.first() {
        return Err(CheckpointProblem::MissingTensor { name: name.clone() });
    }
    if let Some(error) = result.errors.first() {
        return Err(CheckpointProblem::InvalidTensor(format!("{error:?}")));
    }
    Ok(networks)
}

/// Builds both networks for `latent_dim`, and the averaged generator when `with_average`,
/// with fixed weights that a checkpoint's tensors replace.
fn placeholder_networks(
    model: ModelKind,
    latent_dim: usize,
    with_average: bool,
    device: &Device,
) -> GanNetworks {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    GanNetworks {
        generator: Generator::new(model, latent_dim, &mut rng, device),
        discriminator: Discriminator::new(model, &mut rng, device),
        average: with_average.then(|| Generator::new(model, latent_dim, &mut rng, device)),
    }
}

/// Returns the latent size that a network tensor of shape `found` was built for: its size
/// on the one axis of tensor `name` that follows the latent size, when `found` differs
/// from `expected` (the shape for `latent_dim`) only there. Returns `None` otherwise,
/// because no `--latent-dim` can then fix the shape.
fn written_latent_dim(
    model: ModelKind,
    name: &str,
    latent_dim: usize,
    (expected, found): (&[usize], &[usize]),
    device: &Device,
) -> Option<usize> {
    // A model one latent dimension wider shows which axis, if any, follows the latent size.
    let wider = latent_dim.checked_add(1)?;
    let wider_shape = placeholder_networks(model, wider, true, device)
        .collect(None, None, SKIP_ENUM_VARIANTS)
        .into_iter()
        .find(|tensor| tensor.name == name)?
        .shape
        .to_vec();
    if wider_shape.len() != expected.len() || found.len() != expected.len() {
        return None;
    }
    let axis = (0..expected.len()).find(|&axis| expected[axis] != wider_shape[axis])?;
    let other_axes_match =
        (0..expected.len()).all(|index| index == axis || found[index] == expected[index]);
    (other_axes_match && found[axis] > 0).then_some(found[axis])
}

fn optimizer_bytes(
    views: &BTreeMap<String, TensorView<'_>>,
    name: &str,
) -> Result<Vec<u8>, CheckpointProblem> {
    let Some(view) = views.get(name) else {
        return Err(CheckpointProblem::MissingTensor { name: name.into() });
    };
    if view.dtype() != Dtype::U8 {
        return Err(CheckpointProblem::WrongDtype {
            name: name.into(),
            found: format!("{:?}", view.dtype()),
        });
    }
    Ok(view.data().to_vec())
}

/// CRC-32 over the state JSON and, for each tensor in the given order, its name, dtype,
/// shape and bytes.
fn checksum<'a>(
    state_json: &str,
    tensors: impl Iterator<Item = (&'a str, Dtype, &'a [usize], &'a [u8])>,
) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(state_json.as_bytes());
    for (name, dtype, shape, bytes) in tensors {
        hasher.update(name.as_bytes());
        hasher.update(&[0]);
        hasher.update(format!("{dtype:?}").as_bytes());
        for &dim in shape {
            hasher.update(&(dim as u64).to_le_bytes());
        }
        hasher.update(bytes);
    }
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device::flex().autodiff()
    }

    /// Lists every network tensor's name and shape in a model for `latent_dim`.
    fn shapes(model: ModelKind, latent_dim: usize) -> Vec<(String, Vec<usize>)> {
        let networks = placeholder_networks(model, latent_dim, true, &device());
        let tensors = networks.collect(None, None, SKIP_ENUM_VARIANTS);
        tensors
            .into_iter()
            .map(|tensor| (tensor.name.clone(), tensor.shape.to_vec()))
            .collect()
    }

    #[test]
    fn only_first_generator_layer_names_latent_dim() {
        // Latent size 128 equals the MLP's first hidden width, and 64 the channel count of
        // the DCGAN generator's last hidden layer, so equal sizes elsewhere must not count.
        for (model, latent_dim) in [(ModelKind::Mlp, 128), (ModelKind::Dcgan, 64)] {
            for (name, expected) in shapes(model, latent_dim) {
                let mut found = expected.clone();
                found[0] = 32;
                let written =
                    written_latent_dim(model, &name, latent_dim, (&expected, &found), &device());

                // Only the first layer of the generator and of its average takes the noise.
                let first_layer = name.ends_with("blocks.0.linear.weight")
                    || name.ends_with("blocks.0.conv.weight");
                let takes_noise = first_layer && !name.starts_with("discriminator");
                assert_eq!(
                    written,
                    takes_noise.then_some(32),
                    "{model:?} {name} {expected:?}"
                );

                // A transposed tensor is never explained by the latent size.
                let transposed: Vec<usize> = expected.iter().rev().copied().collect();
                if transposed != expected {
                    let written = written_latent_dim(
                        model,
                        &name,
                        latent_dim,
                        (&expected, &transposed),
                        &device(),
                    );
                    assert_eq!(written, None, "{model:?} {name} transposed");
                }
            }
        }
    }
}
