//! Classifier weights as a SafeTensors file, and the classifiers built into the binary.
//!
//! Layout (format version 1): one float32 tensor per parameter under burn's module path
//! (`conv1.weight`, `hidden.bias`, ...), and the metadata entries `format` =
//! `bcegan-classifier`, `format_version` = `1`, `dataset` (what it was trained on),
//! `heldout_accuracy` (share of held-out images classified right, as a decimal), and
//! `reference_crc32` (the fingerprint of the held-out images, see
//! [`super::reference_data::fingerprint`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::store::ModuleSnapshot;
use burn::store::burn_pack::Tensor as PackTensor;
use burn::tensor::{Bytes, DType, Device};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, TensorView};

use super::error::QualityError;
use super::network::Classifier;

/// Value of the `format` metadata entry.
const FORMAT_NAME: &str = "bcegan-classifier";

/// Value of the `format_version` metadata entry.
const FORMAT_VERSION: u32 = 1;

/// Hint printed with an invalid classifier file.
const TRAIN_HINT: &str = "pass a file written by `bcegan classifier train`";

/// Digits classifier built into the binary, trained on 8,000 of the embedded digits.
///
/// Reproduce it with a release build, from the repository root:
/// `bcegan classifier train --threads 2 --out crates/bcegan/assets/classifier-digits.safetensors`
/// (the defaults: embedded digits, 12 epochs, seed 0). burn-flex's parallel kernels may round
/// differently on another thread count or CPU, so the bytes may differ there.
static DIGITS_CLASSIFIER: &[u8] = include_bytes!("../../assets/classifier-digits.safetensors");

/// Fashion-MNIST classifier built into the binary, trained on the 60,000 training images of
/// Debian's `dataset-fashion-mnist` package and judged on its 10,000 test images.
///
/// Reproduce it with a release build, from the repository root:
/// `bcegan classifier train --data /usr/share/datasets/fashion-mnist --epochs 8 --threads 2
/// --out crates/bcegan/assets/classifier-fashion.safetensors` (seed 0).
static FASHION_CLASSIFIER: &[u8] = include_bytes!("../../assets/classifier-fashion.safetensors");

/// Metadata that a classifier file records besides its weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierInfo {
    /// Description of the training and held-out images.
    pub dataset: String,
    /// Share of the held-out images classified right, in [0, 1].
    pub heldout_accuracy: f64,
    /// Fingerprint of the held-out images, which are the real images of FID.
    pub reference_crc32: u32,
}

/// A classifier with what its file records.
#[derive(Debug, Clone)]
pub struct LoadedClassifier {
    /// The network, on the device it was loaded to.
    pub classifier: Classifier,
    /// The file's metadata.
    pub info: ClassifierInfo,
    /// The file path, or the name of the built-in classifier.
    pub name: String,
}

/// Classifiers compiled into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinClassifier {
    /// Trained on 8,000 of the embedded digits; the other 2,000 are its reference images.
    Digits,
    /// Trained on Fashion-MNIST's training images; its test images are the reference.
    Fashion,
}

impl BuiltinClassifier {
    /// Every built-in classifier.
    pub const ALL: [BuiltinClassifier; 2] = [BuiltinClassifier::Digits, BuiltinClassifier::Fashion];

    /// Name used in messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Digits => "built-in digits classifier",
            Self::Fashion => "built-in Fashion-MNIST classifier",
        }
    }

    /// Reads the classifier onto `device`.
    ///
    /// # Errors
    ///
    /// Returns [`QualityError::InvalidClassifier`] only if the embedded file is corrupt,
    /// which the tests rule out.
    pub fn load(self, device: &Device) -> Result<LoadedClassifier, QualityError> {
        let bytes = match self {
            Self::Digits => DIGITS_CLASSIFIER,
            Self::Fashion => FASHION_CLASSIFIER,
        };
        decode_classifier(bytes, self.name(), device)
    }
}

/// Writes `classifier` and `info` to `path` as SafeTensors, replacing the file atomically.
///
/// # Errors
///
/// Returns [`QualityError::Write`] when the file cannot be written, and
/// [`QualityError::TensorRead`] when a parameter cannot be read back from the backend.
pub fn save_classifier(
    path: &Path,
    classifier: &Classifier,
    info: &ClassifierInfo,
) -> Result<(), QualityError> {
    let mut tensors = BTreeMap::new();
    for snapshot in classifier.collect(None, None, false) {
        let (name, dtype, shape, _, bytes) =
            snapshot
                .into_parts()
                .map_err(|error| QualityError::TensorRead {
                    name: "classifier parameter",
                    message: format!("{error}"),
                })?;
        if dtype != DType::F32 {
            return Err(QualityError::TensorRead {
                name: "classifier parameter",
                message: format!("tensor {name} has dtype {dtype:?}, not F32"),
            });
        }
        tensors.insert(name, (shape.to_vec(), bytes));
    }
    let mut views = Vec::with_capacity(tensors.len());
    for (name, (shape, bytes)) in &tensors {
        let view = TensorView::new(Dtype::F32, shape.clone(), bytes).map_err(|error| {
            QualityError::TensorRead {
                name: "classifier parameter",
                message: format!("tensor {name}: {error}"),
            }
        })?;
        views.push((name.as_str(), view));
    }
    let metadata = HashMap::from([
        ("format".to_owned(), FORMAT_NAME.to_owned()),
        ("format_version".to_owned(), FORMAT_VERSION.to_string()),
        ("dataset".to_owned(), info.dataset.clone()),
        (
            "heldout_accuracy".to_owned(),
            format!("{:.6}", info.heldout_accuracy),
        ),
        (
            "reference_crc32".to_owned(),
            format!("{:08x}", info.reference_crc32),
        ),
    ]);
    let bytes = safetensors::serialize(views, Some(metadata)).map_err(|error| {
        QualityError::TensorRead {
            name: "classifier file",
            message: error.to_string(),
        }
    })?;
    crate::interop::write_atomically(path, &bytes).map_err(|error| match error {
        crate::interop::InteropError::Write { path, source } => {
            QualityError::Write { path, source }
        }
        other => QualityError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

/// Reads a classifier file written by [`save_classifier`] onto `device`.
///
/// # Errors
///
/// Returns [`QualityError::Read`] when the file cannot be read and
/// [`QualityError::InvalidClassifier`] when it is not a classifier file of this format.
pub fn load_classifier(path: &Path, device: &Device) -> Result<LoadedClassifier, QualityError> {
    let bytes = std::fs::read(path).map_err(|source| QualityError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decode_classifier(&bytes, &path.display().to_string(), device)
}

/// Parses classifier file bytes; `name` appears in errors.
fn decode_classifier(
    bytes: &[u8],
    name: &str,
    device: &Device,
) -> Result<LoadedClassifier, QualityError> {
    let invalid = |problem: String| QualityError::InvalidClassifier {
        name: name.to_owned(),
        problem,
        hint: TRAIN_HINT,
    };
    let file = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|error| invalid(format!("not a SafeTensors file ({error})")))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|error| invalid(format!("not a SafeTensors file ({error})")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let entry = |key: &str| {
        metadata
            .get(key)
            .ok_or_else(|| invalid(format!("no `{key}` metadata entry")))
    };
    let format = entry("format")?;
    if format != FORMAT_NAME {
        return Err(invalid(format!(
            "format is `{format}`, expected `{FORMAT_NAME}`"
        )));
    }
    let version = entry("format_version")?;
    if version != &FORMAT_VERSION.to_string() {
        return Err(invalid(format!(
            "format version {version} is not the supported {FORMAT_VERSION}"
        )));
    }
    let heldout_accuracy = entry("heldout_accuracy")?
        .parse::<f64>()
        .map_err(|error| invalid(format!("heldout_accuracy is not a number ({error})")))?;
    let reference_crc32 = u32::from_str_radix(entry("reference_crc32")?, 16)
        .map_err(|error| invalid(format!("reference_crc32 is not hexadecimal ({error})")))?;
    let info = ClassifierInfo {
        dataset: entry("dataset")?.clone(),
        heldout_accuracy,
        reference_crc32,
    };

    let views: BTreeMap<String, TensorView<'_>> = file.tensors().into_iter().collect();
    // The initial weights are placeholders: every tensor is replaced by the file's.
    let mut classifier = Classifier::new(&mut ChaCha8Rng::seed_from_u64(0), device);
    let mut loaded = Vec::new();
    for expected in classifier.collect(None, None, false) {
        let tensor_name = expected.name.clone();
        let Some(view) = views.get(&tensor_name) else {
            return Err(invalid(format!("tensor {tensor_name} is missing")));
        };
        if view.dtype() != Dtype::F32 {
            return Err(invalid(format!(
                "tensor {tensor_name} has dtype {:?}, expected F32",
                view.dtype()
            )));
        }
        if view.shape() != expected.shape.to_vec().as_slice() {
            return Err(invalid(format!(
                "tensor {tensor_name} has shape {:?}, expected {:?}",
                view.shape(),
                expected.shape.to_vec()
            )));
        }
        loaded.push(PackTensor::new(
            tensor_name,
            DType::F32,
            expected.shape.clone(),
            None,
            Bytes::from_bytes_vec(view.data().to_vec()),
        ));
    }
    let result = classifier.apply(loaded, None, None, false);
    if let Some((missing, _)) = result.missing.first() {
        return Err(invalid(format!("tensor {missing} is missing")));
    }
    if let Some(error) = result.errors.first() {
        return Err(invalid(format!("{error:?}")));
    }
    Ok(LoadedClassifier {
        classifier,
        info,
        name: name.to_owned(),
    })
}
