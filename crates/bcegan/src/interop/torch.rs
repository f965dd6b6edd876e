//! The networks under the parameter names of the course's PyTorch modules, in SafeTensors files.
//!
//! The course's `Generator` keeps its layers in `self.gen = nn.Sequential(...)`: four blocks
//! of `nn.Linear`, `nn.BatchNorm1d` and `nn.ReLU`, then `nn.Linear` and `nn.Sigmoid`. Its
//! `Discriminator` keeps them in `self.disc`: three blocks of `nn.Linear` and `nn.LeakyReLU`,
//! then `nn.Linear`. So `state_dict()` names the tensors as follows:
//!
//! | our module path             | PyTorch name                        |
//! |-----------------------------|-------------------------------------|
//! | `blocks.i.linear.weight`    | `gen.i.0.weight` (transposed)       |
//! | `blocks.i.linear.bias`      | `gen.i.0.bias`                      |
//! | `blocks.i.norm.gamma`       | `gen.i.1.weight`                    |
//! | `blocks.i.norm.beta`        | `gen.i.1.bias`                      |
//! | `blocks.i.norm.running_*`   | `gen.i.1.running_*`                 |
//! | (none)                      | `gen.i.1.num_batches_tracked` (i64) |
//! | `output.weight`, `.bias`    | `gen.4.weight`, `gen.4.bias`        |
//!
//! and the same with `disc.` for the discriminator, whose output layer is `disc.3`.
//! `nn.Linear` stores its weight as `[out, in]` and burn's `Linear` as `[in, out]`, so
//! weights are transposed both ways. Both libraries' BatchNorm use epsilon 1e-5 and momentum
//! 0.1 by default, and our models keep those defaults.
//!
//! The course's DCGAN keeps every layer group, the last included, in an inner
//! `nn.Sequential`. The generator's `gen` contains three blocks of `nn.ConvTranspose2d`,
//! `nn.BatchNorm2d` and `nn.ReLU`, then `nn.ConvTranspose2d` and `nn.Tanh`. The
//! discriminator's `disc` contains two blocks of `nn.Conv2d`, `nn.BatchNorm2d` and
//! `nn.LeakyReLU`, then `nn.Conv2d`. So its names are
//!
//! | our module path             | PyTorch name                              |
//! |-----------------------------|-------------------------------------------|
//! | `blocks.i.conv.weight`      | `gen.i.0.weight`                          |
//! | `blocks.i.conv.bias`        | `gen.i.0.bias`                            |
//! | `blocks.i.norm.*`           | `gen.i.1.*`, as for the MLP               |
//! | `output.weight`, `.bias`    | `gen.3.0.weight`, `gen.3.0.bias`          |
//!
//! and `disc.` with the output layer `disc.2.0`. burn and PyTorch store convolution weights
//! in the same layout (`[out, in, k, k]` for `Conv2d`, `[in, out, k, k]` for
//! `ConvTranspose2d`), so they are copied unchanged. A file holds a DCGAN when
//! `gen.0.0.weight` has four dimensions; its first is the noise length.
//!
//! NOTE: burn 0.22.1 updates `running_var` with the biased batch variance and PyTorch with the
//! unbiased one, so training the same steps in both gives running variances that differ by
//! about a factor n/(n−1) for batch size n. The export copies our values unchanged.

use std::collections::HashMap;
use std::path::Path;

use burn::module::Module;
use burn::store::ModuleSnapshot;
use burn::store::burn_pack::{Bytes, Tensor as PackTensor};
use burn::tensor::{DType, Device};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::error::InteropError;
use super::write_atomically;
use crate::model::{Discriminator, Generator, ModelKind};

/// Prefix of the generator's tensors: the course's `Generator` stores its layers as `gen`.
pub const GENERATOR_PREFIX: &str = "gen";

/// Prefix of the discriminator's tensors: the course's `Discriminator` stores them as `disc`.
pub const DISCRIMINATOR_PREFIX: &str = "disc";

/// The generator's first weight: `[128, latent_dim]` in the MLP, `[latent_dim, 256, 3, 3]`
/// in the DCGAN; its shape gives the model and the noise length.
pub const FIRST_GENERATOR_WEIGHT: &str = "gen.0.0.weight";

/// Whether tensor names leave out the variant of the `Generator` and `Discriminator` enums.
const SKIP_ENUM_VARIANTS: bool = true;

/// Suffix of the BatchNorm batch counter that PyTorch keeps beside the running statistics.
const BATCH_COUNTER: &str = "num_batches_tracked";

/// Position of one of our tensors in the PyTorch state dict.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TorchSlot {
    /// Name in our module, such as `blocks.0.linear.weight`.
    burn_name: String,
    /// Name in PyTorch's state dict, such as `gen.0.0.weight`.
    torch_name: String,
    /// Shape in our module.
    burn_shape: Vec<usize>,
    /// Whether the tensor is a linear weight, stored transposed in PyTorch.
    transposed: bool,
}

impl TorchSlot {
    /// Returns the shape PyTorch stores.
    fn torch_shape(&self) -> Vec<usize> {
        let mut shape = self.burn_shape.clone();
        if self.transposed {
            shape.reverse();
        }
        shape
    }
}

/// Writes both networks to `path` under the course's PyTorch names, replacing the file
/// atomically, and returns the number of tensors written.
///
/// `num_batches_tracked` is stored in every BatchNorm layer's int64 counter, so that
/// `load_state_dict(strict=True)` accepts the file; pass the number of training steps.
///
/// # Errors
///
/// Returns [`InteropError::TensorRead`] when a parameter cannot be read back from the
/// device, and [`InteropError::Write`] when the file cannot be written.
pub fn write_torch_file(
    path: &Path,
    generator: &Generator,
    discriminator: &Discriminator,
    num_batches_tracked: i64,
) -> Result<usize, InteropError> {
    let mut entries: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    let model = generator.kind();
    for (prefix, tensors) in [
        (
            GENERATOR_PREFIX,
            generator.collect(None, None, SKIP_ENUM_VARIANTS),
        ),
        (
            DISCRIMINATOR_PREFIX,
            discriminator.collect(None, None, SKIP_ENUM_VARIANTS),
        ),
    ] {
        let names: Vec<(String, Vec<usize>)> = tensors
            .iter()
            .map(|tensor| (tensor.name.clone(), tensor.shape.to_vec()))
            .collect();
        let slots = torch_slots(model, prefix, &names)?;
        for (tensor, slot) in tensors.into_iter().zip(slots) {
            let values = pack_values(tensor)?;
            let values = if slot.transposed {
                transpose(&values, slot.burn_shape[0], slot.burn_shape[1])
            } else {
                values
            };
            let bytes = values
                .iter()
                .flat_map(|value| value.to_le_bytes())
                .collect();
            if let Some(norm) = slot.torch_name.strip_suffix(".running_mean") {
                entries.push((
                    format!("{norm}.{BATCH_COUNTER}"),
                    Dtype::I64,
                    Vec::new(),
                    num_batches_tracked.to_le_bytes().to_vec(),
                ));
            }
            entries.push((
                slot.torch_name.clone(),
                Dtype::F32,
                slot.torch_shape(),
                bytes,
            ));
        }
    }

    let views = entries
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|error| InteropError::TensorRead {
                    name: name.clone(),
                    message: error.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // "format": "pt" is what safetensors.torch.save_file records.
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("producer".to_string(), "bcegan".to_string()),
    ]);
    let bytes = safetensors::serialize(views, Some(metadata)).map_err(|error| {
        InteropError::TensorRead {
            name: path.display().to_string(),
            message: format!("failed to encode SafeTensors: {error}"),
        }
    })?;
    write_atomically(path, &bytes)?;
    Ok(entries.len())
}

/// Reads the model and the generator's noise length from the shape of `gen.0.0.weight` in
/// `path`.
///
/// # Errors
///
/// Returns [`InteropError`] when the file cannot be read, is not SafeTensors, or lacks a
/// 2-D or 4-D `gen.0.0.weight`.
pub fn torch_model(path: &Path) -> Result<(ModelKind, usize), InteropError> {
    let bytes = read_file(path)?;
    let file = parse_safetensors(path, &bytes)?;
    model_of(path, &file)
}

/// Reads a generator and a discriminator from a SafeTensors file with the course's PyTorch
/// names, building them for noise of `latent_dim` values on `device`. The model (MLP or
/// DCGAN) is the one the file holds; callers that need a given model compare
/// [`Generator::kind`].
///
/// The BatchNorm counters `num_batches_tracked` are ignored, and so are tensors that the
/// networks do not use (they are logged as a warning).
///
/// # Errors
///
/// Returns [`InteropError::Read`] or [`InteropError::InvalidSafetensors`] for a file that
/// cannot be read or parsed, [`InteropError::LatentDimMismatch`] when `gen.0.0.weight` is
/// built for another noise length, [`InteropError::MissingTensors`] listing every missing
/// name, and [`InteropError::WrongShape`] or [`InteropError::WrongDtype`] for the first
/// tensor that does not fit.
pub fn read_torch_networks(
    path: &Path,
    latent_dim: usize,
    device: &Device,
) -> Result<(Generator, Discriminator), InteropError> {
    let bytes = read_file(path)?;
    let file = parse_safetensors(path, &bytes)?;
    let (model, found) = model_of(path, &file)?;
    if found != latent_dim {
        return Err(InteropError::LatentDimMismatch {
            path: path.to_path_buf(),
            expected: latent_dim,
            found,
        });
    }

    // The initial weights are placeholders: every tensor is replaced by the file's.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut generator = Generator::new(model, latent_dim, &mut rng, device);
    let mut discriminator = Discriminator::new(model, &mut rng, device);
    let generator_slots = module_slots(model, GENERATOR_PREFIX, &generator)?;
    let discriminator_slots = module_slots(model, DISCRIMINATOR_PREFIX, &discriminator)?;

    let missing: Vec<String> = generator_slots
        .iter()
        .chain(&discriminator_slots)
        .filter(|slot| file.tensor(&slot.torch_name).is_err())
        .map(|slot| slot.torch_name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(InteropError::MissingTensors {
            path: path.to_path_buf(),
            names: missing,
        });
    }
    warn_unused(
        path,
        &file,
        generator_slots.iter().chain(&discriminator_slots),
    );

    let generator_tensors = slot_tensors(path, &file, &generator_slots)?;
    let discriminator_tensors = slot_tensors(path, &file, &discriminator_slots)?;
    apply_tensors(&mut generator, generator_tensors, GENERATOR_PREFIX)?;
    apply_tensors(
        &mut discriminator,
        discriminator_tensors,
        DISCRIMINATOR_PREFIX,
    )?;
    Ok((generator, discriminator))
}

/// Maps the tensors of one network, given as names and shapes in our module, to their
/// PyTorch slots.
fn torch_slots(
    model: ModelKind,
    prefix: &str,
    tensors: &[(String, Vec<usize>)],
) -> Result<Vec<TorchSlot>, InteropError> {
    // The output layer follows the last block in the nn.Sequential.
    let block_count = tensors
        .iter()
        .filter_map(|(name, _)| block_index(name))
        .max()
        .map_or(0, |last| last + 1);
    tensors
        .iter()
        .map(|(name, shape)| {
            torch_slot(model, prefix, block_count, name, shape).ok_or_else(|| {
                InteropError::TensorRead {
                    name: name.clone(),
                    message: "the tensor has no counterpart in the course's PyTorch modules".into(),
                }
            })
        })
        .collect()
}

/// Returns the slots of every tensor of `module`.
fn module_slots<M: ModuleSnapshot>(
    model: ModelKind,
    prefix: &str,
    module: &M,
) -> Result<Vec<TorchSlot>, InteropError> {
    let names: Vec<(String, Vec<usize>)> = module
        .collect(None, None, SKIP_ENUM_VARIANTS)
        .iter()
        .map(|tensor| (tensor.name.clone(), tensor.shape.to_vec()))
        .collect();
    torch_slots(model, prefix, &names)
}

/// Returns `i` of a name `blocks.i.…`.
fn block_index(name: &str) -> Option<usize> {
    name.strip_prefix("blocks.")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// Maps one of our tensor names to its PyTorch slot, or `None` for an unknown name.
fn torch_slot(
    model: ModelKind,
    prefix: &str,
    block_count: usize,
    name: &str,
    shape: &[usize],
) -> Option<TorchSlot> {
    let parts: Vec<&str> = name.split('.').collect();
    let (torch_name, transposed) = match (model, parts.as_slice()) {
        (ModelKind::Mlp, ["blocks", index, "linear", leaf @ ("weight" | "bias")]) => {
            (format!("{prefix}.{index}.0.{leaf}"), *leaf == "weight")
        }
        (ModelKind::Dcgan, ["blocks", index, "conv", leaf @ ("weight" | "bias")]) => {
            (format!("{prefix}.{index}.0.{leaf}"), false)
        }
        (_, ["blocks", index, "norm", leaf]) => {
            let torch_leaf = match *leaf {
                "gamma" => "weight",
                "beta" => "bias",
                "running_mean" | "running_var" => leaf,
                _ => return None,
            };
            (format!("{prefix}.{index}.1.{torch_leaf}"), false)
        }
        (ModelKind::Mlp, ["output", leaf @ ("weight" | "bias")]) => {
            (format!("{prefix}.{block_count}.{leaf}"), *leaf == "weight")
        }
        // The DCGAN's output layer sits in its own nn.Sequential with the activation.
        (ModelKind::Dcgan, ["output", leaf @ ("weight" | "bias")]) => {
            (format!("{prefix}.{block_count}.0.{leaf}"), false)
        }
        _ => return None,
    };
    if transposed && shape.len() != 2 {
        return None;
    }
    Some(TorchSlot {
        burn_name: name.to_string(),
        torch_name,
        burn_shape: shape.to_vec(),
        transposed,
    })
}

/// Reads the values of a collected float32 tensor.
fn pack_values(tensor: PackTensor) -> Result<Vec<f32>, InteropError> {
    let name = tensor.name.clone();
    let read_error = |message: String| InteropError::TensorRead {
        name: name.clone(),
        message,
    };
    if tensor.dtype != DType::F32 {
        return Err(read_error(format!(
            "dtype {:?}, expected F32",
            tensor.dtype
        )));
    }
    let bytes = tensor
        .into_bytes()
        .map_err(|error| read_error(format!("{error:?}")))?;
    Ok(f32_values(&bytes))
}

/// Decodes little-endian float32 bytes.
fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
        .collect()
}

/// Transposes a row-major `[rows, cols]` matrix.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut transposed = vec![0.0; values.len()];
    for row in 0..rows {
        for col in 0..cols {
            transposed[col * rows + row] = values[row * cols + col];
        }
    }
    transposed
}

fn read_file(path: &Path) -> Result<Vec<u8>, InteropError> {
    std::fs::read(path).map_err(|source| InteropError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_safetensors<'data>(
    path: &Path,
    bytes: &'data [u8],
) -> Result<SafeTensors<'data>, InteropError> {
    SafeTensors::deserialize(bytes).map_err(|error| InteropError::InvalidSafetensors {
        path: path.to_path_buf(),
        message: error.to_string(),
    })
}

/// Returns the model and the noise length of `gen.0.0.weight`: `in` of the MLP's
/// `[out, in]` weight, or `in` of the DCGAN's `[in, out, k, k]` transposed-convolution weight.
fn model_of(path: &Path, file: &SafeTensors<'_>) -> Result<(ModelKind, usize), InteropError> {
    let weight = file
        .tensor(FIRST_GENERATOR_WEIGHT)
        .map_err(|_| InteropError::MissingTensors {
            path: path.to_path_buf(),
            names: vec![FIRST_GENERATOR_WEIGHT.to_string()],
        })?;
    match weight.shape() {
        [_, latent_dim] if *latent_dim > 0 => Ok((ModelKind::Mlp, *latent_dim)),
        [latent_dim, _, _, _] if *latent_dim > 0 => Ok((ModelKind::Dcgan, *latent_dim)),
        shape => Err(InteropError::WrongShape {
            path: path.to_path_buf(),
            name: FIRST_GENERATOR_WEIGHT.to_string(),
            expected: vec![128, 0],
            found: shape.to_vec(),
        }),
    }
}

/// Logs the tensors in the file that no slot reads, other than the BatchNorm counters.
fn warn_unused<'a>(
    path: &Path,
    file: &SafeTensors<'_>,
    slots: impl Iterator<Item = &'a TorchSlot>,
) {
    let used: Vec<&str> = slots.map(|slot| slot.torch_name.as_str()).collect();
    let mut unused: Vec<&str> = file
        .names()
        .into_iter()
        .filter(|name| !used.contains(name) && !name.ends_with(BATCH_COUNTER))
        .collect();
    if !unused.is_empty() {
        unused.sort_unstable();
        tracing::warn!(
            file = %path.display(),
            "ignoring tensors that the networks do not use: {unused:?}"
        );
    }
}

/// Converts the file's tensors for `slots` into tensors named and shaped as in our module.
fn slot_tensors(
    path: &Path,
    file: &SafeTensors<'_>,
    slots: &[TorchSlot],
) -> Result<Vec<PackTensor>, InteropError> {
    slots
        .iter()
        .map(|slot| {
            let view = file
                .tensor(&slot.torch_name)
                .map_err(|_| InteropError::MissingTensors {
                    path: path.to_path_buf(),
                    names: vec![slot.torch_name.clone()],
                })?;
            if view.dtype() != Dtype::F32 {
                return Err(InteropError::WrongDtype {
                    path: path.to_path_buf(),
                    name: slot.torch_name.clone(),
                    expected: "F32",
                    found: view.dtype().to_string(),
                });
            }
            let expected = slot.torch_shape();
            if view.shape() != expected.as_slice() {
                return Err(InteropError::WrongShape {
                    path: path.to_path_buf(),
                    name: slot.torch_name.clone(),
                    expected,
                    found: view.shape().to_vec(),
                });
            }
            let values = f32_values(view.data());
            let values = if slot.transposed {
                // PyTorch's [out, in] back to our [in, out].
                transpose(&values, expected[0], expected[1])
            } else {
                values
            };
            Ok(PackTensor::new(
                slot.burn_name.clone(),
                DType::F32,
                slot.burn_shape.clone(),
                None,
                Bytes::from_elems(values),
            ))
        })
        .collect()
}

/// Replaces the tensors of `module` with `tensors`, which must cover every one of them.
fn apply_tensors<M: ModuleSnapshot + Module>(
    module: &mut M,
    tensors: Vec<PackTensor>,
    prefix: &str,
) -> Result<(), InteropError> {
    let result = module.apply(tensors, None, None, SKIP_ENUM_VARIANTS);
    if result.missing.is_empty() && result.errors.is_empty() {
        return Ok(());
    }
    let missing: Vec<&str> = result
        .missing
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let errors: Vec<String> = result.errors.iter().map(ToString::to_string).collect();
    Err(InteropError::TensorRead {
        name: prefix.to_string(),
        message: format!("tensors not applied: missing {missing:?}, errors {errors:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::{torch_slot, transpose};
    use crate::model::ModelKind;

    #[test]
    fn transpose_two_by_three() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(
            transpose(&values, 2, 3),
            vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0],
            "transpose of [[1, 2, 3], [4, 5, 6]]"
        );
    }

    #[test]
    fn torch_slot_maps_course_names() {
        let cases = [
            (
                "blocks.0.linear.weight",
                vec![64, 128],
                "gen.0.0.weight",
                true,
            ),
            ("blocks.2.linear.bias", vec![512], "gen.2.0.bias", false),
            ("blocks.1.norm.gamma", vec![256], "gen.1.1.weight", false),
            ("blocks.1.norm.beta", vec![256], "gen.1.1.bias", false),
            (
                "blocks.3.norm.running_var",
                vec![1024],
                "gen.3.1.running_var",
                false,
            ),
            ("output.weight", vec![1024, 784], "gen.4.weight", true),
            ("output.bias", vec![784], "gen.4.bias", false),
        ];
        for (name, shape, expected, transposed) in cases {
            let slot = torch_slot(ModelKind::Mlp, "gen", 4, name, &shape);
            assert_eq!(
                slot.as_ref()
                    .map(|slot| (slot.torch_name.as_str(), slot.transposed)),
                Some((expected, transposed)),
                "slot of {name}"
            );
        }
    }

    #[test]
    fn torch_slot_rejects_unknown_name() {
        let slot = torch_slot(ModelKind::Mlp, "disc", 3, "blocks.0.dropout.weight", &[4]);
        assert_eq!(slot, None, "slot of an unknown layer");
    }

    #[test]
    fn torch_slot_maps_dcgan_names() {
        let cases = [
            (
                "gen",
                3,
                "blocks.0.conv.weight",
                vec![64, 256, 3, 3],
                "gen.0.0.weight",
            ),
            ("gen", 3, "blocks.2.norm.gamma", vec![64], "gen.2.1.weight"),
            (
                "gen",
                3,
                "output.weight",
                vec![64, 1, 4, 4],
                "gen.3.0.weight",
            ),
            ("gen", 3, "output.bias", vec![1], "gen.3.0.bias"),
            ("disc", 2, "blocks.1.conv.bias", vec![32], "disc.1.0.bias"),
            (
                "disc",
                2,
                "blocks.1.norm.running_mean",
                vec![32],
                "disc.1.1.running_mean",
            ),
            (
                "disc",
                2,
                "output.weight",
                vec![1, 32, 4, 4],
                "disc.2.0.weight",
            ),
        ];
        for (prefix, block_count, name, shape, expected) in cases {
            let slot = torch_slot(ModelKind::Dcgan, prefix, block_count, name, &shape);
            assert_eq!(
                slot.as_ref()
                    .map(|slot| (slot.torch_name.as_str(), slot.transposed)),
                Some((expected, false)),
                "DCGAN slot of {prefix} {name}"
            );
        }
    }
}
