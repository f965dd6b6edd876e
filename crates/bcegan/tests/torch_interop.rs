//! Export to the course's PyTorch names and back: the round trip and the rejected files.

use std::path::{Path, PathBuf};

use bcegan::interop::InteropError;
use bcegan::interop::torch::{read_torch_networks, write_torch_file};
use bcegan::model::{Discriminator, Generator, ModelKind};
use burn::module::Module;
use burn::store::ModuleSnapshot;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

const LATENT_DIM: usize = 10;

/// Tensor names, shapes and values of a module, in collection order.
fn snapshot<M: ModuleSnapshot>(module: &M) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    // `true` leaves the model variant out of the names (`blocks.0...`, not `Mlp.blocks.0...`).
    module
        .collect(None, None, true)
        .into_iter()
        .map(|tensor| {
            let name = tensor.name.clone();
            let shape = tensor.shape.to_vec();
            let bytes = tensor.into_bytes().expect("tensor bytes are readable");
            let values = bytes
                .chunks_exact(4)
                .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
                .collect();
            (name, shape, values)
        })
        .collect()
}

/// Networks with seeded weights whose BatchNorm running statistics moved away from 0 and 1,
/// so that a swap of mean and variance would show.
fn trained_like_networks() -> (Generator, Discriminator) {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let generator = Generator::new(ModelKind::Mlp, LATENT_DIM, &mut rng, &device);
    let discriminator = Discriminator::new(ModelKind::Mlp, &mut rng, &device);
    let noise: Vec<f32> = (0..16 * LATENT_DIM)
        .map(|index| ((index * 37 % 23) as f32 - 11.0) / 5.0)
        .collect();
    // A forward pass in training mode updates the running statistics.
    let _ = generator.forward(Tensor::from_data(
        TensorData::new(noise, [16, LATENT_DIM]),
        &device,
    ));
    (generator.valid(), discriminator.valid())
}

fn exported_file(folder: &Path) -> (PathBuf, Generator, Discriminator) {
    let (generator, discriminator) = trained_like_networks();
    let path = folder.join("course.safetensors");
    write_torch_file(&path, &generator, &discriminator, 30).expect("export succeeds");
    (path, generator, discriminator)
}

/// One tensor of a SafeTensors file: name, dtype, shape, bytes.
type Entry = (String, Dtype, Vec<usize>, Vec<u8>);

fn entries(path: &Path) -> Vec<Entry> {
    let bytes = std::fs::read(path).expect("file is readable");
    let file = SafeTensors::deserialize(&bytes).expect("file is SafeTensors");
    let mut entries: Vec<Entry> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            (
                name,
                view.dtype(),
                view.shape().to_vec(),
                view.data().to_vec(),
            )
        })
        .collect();
    entries.sort_by(|left, right| left.0.cmp(&right.0));
    entries
}

/// Writes `entries` to a new SafeTensors file `name` in `folder`.
fn write_entries(folder: &Path, name: &str, entries: &[Entry]) -> PathBuf {
    let views: Vec<(String, TensorView<'_>)> = entries
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            let view = TensorView::new(*dtype, shape.clone(), bytes).expect("valid view");
            (name.clone(), view)
        })
        .collect();
    let path = folder.join(name);
    let bytes = safetensors::serialize(views, None).expect("serialisation succeeds");
    std::fs::write(&path, bytes).expect("file is writable");
    path
}

fn read(path: &Path, latent_dim: usize) -> Result<(Generator, Discriminator), InteropError> {
    read_torch_networks(path, latent_dim, &Device::flex())
}

#[test]
fn export_then_read_same_tensors() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let (path, generator, discriminator) = exported_file(folder.path());
    let (read_generator, read_discriminator) = read(&path, LATENT_DIM).expect("read succeeds");

    let pairs = [
        ("generator", snapshot(&generator), snapshot(&read_generator)),
        (
            "discriminator",
            snapshot(&discriminator),
            snapshot(&read_discriminator),
        ),
    ];
    for (network, written, read_back) in pairs {
        assert_eq!(
            written.len(),
            read_back.len(),
            "{network}: tensor count written vs read"
        );
        for (expected, actual) in written.iter().zip(&read_back) {
            assert_eq!(expected, actual, "{network}: tensor {}", expected.0);
        }
    }
    let running_var = snapshot(&generator)
        .into_iter()
        .find(|(name, _, _)| name == "blocks.0.norm.running_var")
        .map(|(_, _, values)| values)
        .unwrap_or_default();
    assert!(
        running_var.iter().any(|&value| value != 1.0),
        "the test's running variance differs from its initial 1: {:?}",
        &running_var[..4.min(running_var.len())]
    );
}

#[test]
fn export_names_dtypes_and_layout() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let (path, generator, _) = exported_file(folder.path());
    let entries = entries(&path);
    let names: Vec<&str> = entries.iter().map(|entry| entry.0.as_str()).collect();

    let mut expected = Vec::new();
    for block in 0..4 {
        for leaf in ["0.weight", "0.bias", "1.weight", "1.bias"] {
            expected.push(format!("gen.{block}.{leaf}"));
        }
        for leaf in ["running_mean", "running_var", "num_batches_tracked"] {
            expected.push(format!("gen.{block}.1.{leaf}"));
        }
    }
    expected.extend(["gen.4.weight".to_string(), "gen.4.bias".to_string()]);
    for block in 0..3 {
        expected.push(format!("disc.{block}.0.weight"));
        expected.push(format!("disc.{block}.0.bias"));
    }
    expected.extend(["disc.3.weight".to_string(), "disc.3.bias".to_string()]);
    expected.sort();
    assert_eq!(names, expected, "tensor names of the exported file");

    for (name, dtype, shape, bytes) in &entries {
        if name.ends_with("num_batches_tracked") {
            assert_eq!(*dtype, Dtype::I64, "{name} dtype");
            assert!(shape.is_empty(), "{name} is a scalar, shape {shape:?}");
            assert_eq!(bytes.as_slice(), &30i64.to_le_bytes(), "{name} value");
        } else {
            assert_eq!(*dtype, Dtype::F32, "{name} dtype");
        }
    }
    let shape_of = |wanted: &str| {
        entries
            .iter()
            .find(|entry| entry.0 == wanted)
            .map(|entry| entry.2.clone())
    };
    assert_eq!(
        shape_of("gen.0.0.weight"),
        Some(vec![128, LATENT_DIM]),
        "gen.0.0.weight is [out, in]"
    );
    assert_eq!(
        shape_of("disc.0.0.weight"),
        Some(vec![512, 784]),
        "disc.0.0.weight is [out, in]"
    );

    // Element [out = 3, in = 5] of PyTorch's weight is element [in = 5, out = 3] of ours.
    let ours = snapshot(&generator)
        .into_iter()
        .find(|(name, _, _)| name == "blocks.0.linear.weight")
        .map(|(_, _, values)| values)
        .unwrap_or_default();
    let theirs = entries
        .iter()
        .find(|entry| entry.0 == "gen.0.0.weight")
        .map(|entry| entry.3.clone())
        .unwrap_or_default();
    let theirs_value = f32::from_le_bytes([
        theirs[4 * (3 * LATENT_DIM + 5)],
        theirs[4 * (3 * LATENT_DIM + 5) + 1],
        theirs[4 * (3 * LATENT_DIM + 5) + 2],
        theirs[4 * (3 * LATENT_DIM + 5) + 3],
    ]);
    assert_eq!(theirs_value, ours[5 * 128 + 3], "weight element transposed");
}

#[test]
fn read_lists_missing_tensors() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let (path, _, _) = exported_file(folder.path());
    let kept: Vec<Entry> = entries(&path)
        .into_iter()
        .filter(|entry| entry.0 != "gen.2.1.running_var" && entry.0 != "disc.3.bias")
        .collect();
    let broken = write_entries(folder.path(), "missing.safetensors", &kept);
    match read(&broken, LATENT_DIM) {
        Err(InteropError::MissingTensors { names, .. }) => assert_eq!(
            names,
            vec!["gen.2.1.running_var", "disc.3.bias"],
            "missing names"
        ),
        other => panic!("expected MissingTensors, got {other:?}"),
    }
}

#[test]
fn read_ignores_batch_counters() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let (path, _, _) = exported_file(folder.path());
    let kept: Vec<Entry> = entries(&path)
        .into_iter()
        .filter(|entry| !entry.0.ends_with("num_batches_tracked"))
        .collect();
    let without = write_entries(folder.path(), "no-counters.safetensors", &kept);
    let result = read(&without, LATENT_DIM);
    assert!(result.is_ok(), "file without counters: {:?}", result.err());
}

#[test]
fn read_rejects_wrong_shape() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let (path, _, _) = exported_file(folder.path());
    let mut all = entries(&path);
    for entry in &mut all {
        if entry.0 == "gen.1.0.bias" {
            entry.2 = vec![255];
            entry.3.truncate(255 * 4);
        }
    }
    let broken = write_entries(folder.path(), "shape.safetensors", &all);
    match read(&broken, LATENT_DIM) {
        Err(InteropError::WrongShape {
            name,
            expected,
            found,
            ..
        }) => {
            assert_eq!(name, "gen.1.0.bias", "tensor name");
            assert_eq!(expected, vec![256], "expected shape");
            assert_eq!(found, vec![255], "found shape");
        }
        other => panic!("expected WrongShape, got {other:?}"),
    }
}

#[test]
fn read_rejects_float64_tensor() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let (path, _, _) = exported_file(folder.path());
    let mut all = entries(&path);
    for entry in &mut all {
        if entry.0 == "disc.3.bias" {
            entry.1 = Dtype::F64;
            entry.3 = 0.5f64.to_le_bytes().to_vec();
        }
    }
    let broken = write_entries(folder.path(), "dtype.safetensors", &all);
    match read(&broken, LATENT_DIM) {
        Err(error @ InteropError::WrongDtype { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains("disc.3.bias") && message.contains("F64"),
                "message names the tensor and dtype: {message}"
            );
        }
        other => panic!("expected WrongDtype, got {other:?}"),
    }
}

#[test]
fn read_reports_latent_dim_mismatch() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let (path, _, _) = exported_file(folder.path());
    match read(&path, 64) {
        Err(error @ InteropError::LatentDimMismatch { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains("latent_dim 10") && message.contains("--latent-dim 10"),
                "message names the file's latent_dim and the fix: {message}"
            );
        }
        other => panic!("expected LatentDimMismatch, got {other:?}"),
    }
}

#[test]
fn read_rejects_unreadable_files() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let absent = folder.path().join("absent.safetensors");
    let result = read(&absent, LATENT_DIM);
    assert!(
        matches!(result, Err(InteropError::Read { .. })),
        "absent file: {:?}",
        result.err()
    );

    let garbage = folder.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"not a safetensors file").expect("file is writable");
    let result = read(&garbage, LATENT_DIM);
    assert!(
        matches!(result, Err(InteropError::InvalidSafetensors { .. })),
        "garbage file: {:?}",
        result.err()
    );
}
