//! The DCGAN pair end to end: a short run and its resume, sampling and export, and MLP
//! checkpoints written before the model option existed.

use std::collections::HashMap;
use std::path::Path;

use bcegan::cli::sample::SampleArgs;
use bcegan::cli::train::TrainArgs;
use bcegan::interop::npy::{read_npy_f32, write_npy_f32};
use bcegan::interop::torch::{read_torch_networks, write_torch_file};
use bcegan::model::{Generator, ModelKind};
use bcegan::train::{
    CHECKPOINT_FILE, RunOptions, StartMode, TrainConfig, load_checkpoint, read_run_config, run,
    train,
};
use burn::tensor::{Device, Tensor, TensorData};
use clap::Parser;
use safetensors::SafeTensors;
use safetensors::tensor::TensorView;

#[derive(Parser)]
struct Wrapper {
    #[command(flatten)]
    args: TrainArgs,
}

fn config(words: &[&str], out: &Path) -> TrainConfig {
    let mut argv = vec!["train"];
    argv.extend_from_slice(words);
    let wrapper = Wrapper::try_parse_from(argv).expect("test arguments parse");
    wrapper.args.to_config(out.to_path_buf())
}

fn device() -> Device {
    Device::flex().autodiff()
}

/// Settings of a 4-step DCGAN run with checkpoints at steps 2 and 4.
const DCGAN_RUN: [&str; 12] = [
    "--model",
    "dcgan",
    "--steps",
    "4",
    "--batch-size",
    "8",
    "--log-every",
    "1",
    "--sample-every",
    "2",
    "--checkpoint-every",
    "2",
];

/// Rows of `metrics.csv` as (step, d_loss, g_loss, d_real, d_fake) text fields.
fn metric_rows(out: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv is readable");
    text.lines()
        .skip(1)
        .map(|line| line.split(',').take(5).map(str::to_owned).collect())
        .collect()
}

#[test]
fn dcgan_short_run_and_resume() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let whole = folder.path().join("whole");
    let summary = train(&config(&DCGAN_RUN, &whole), &device()).expect("DCGAN run succeeds");
    assert_eq!(summary.steps, 4, "steps run");

    let rows = metric_rows(&whole);
    assert_eq!(rows.len(), 4, "metrics.csv rows: {rows:?}");
    for row in &rows {
        for value in &row[1..] {
            let number: f32 = value.parse().expect("metric is a number");
            assert!(
                number.is_finite(),
                "metric {value} in row {row:?} is finite"
            );
        }
    }
    let saved = read_run_config(&whole).expect("config.json parses");
    assert_eq!(saved.model, ModelKind::Dcgan, "model in config.json");
    assert_eq!(saved.generator_adam.lr, 2e-4, "DCGAN default learning rate");
    assert!(
        whole.join("samples/step-000004.png").is_file(),
        "last sample grid written"
    );
    let (generator, _) = load_checkpoint(&whole.join(CHECKPOINT_FILE), 64, &device())
        .expect("DCGAN checkpoint loads");
    assert_eq!(
        generator.kind(),
        ModelKind::Dcgan,
        "model of the checkpoint"
    );

    // Two steps, then a resume to four, must give the uninterrupted run's losses.
    let split = folder.path().join("split");
    let mut first_half = config(&DCGAN_RUN, &split);
    first_half.steps = 2;
    train(&first_half, &device()).expect("first two steps succeed");
    let options = RunOptions {
        mode: StartMode::Resume,
        ..RunOptions::default()
    };
    let resumed = read_run_config(&split).expect("config.json of the split run");
    let resumed = TrainConfig {
        steps: 4,
        ..resumed
    };
    let summary = run(&resumed, &options, &device()).expect("resume succeeds");
    assert_eq!(summary.start_step, 2, "resumed from the step-2 checkpoint");
    assert_eq!(
        metric_rows(&split),
        rows,
        "losses of the resumed run against the uninterrupted run"
    );
}

#[test]
fn dcgan_sample_writes_pixels_in_range() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    let mut settings = config(&DCGAN_RUN, &out);
    settings.steps = 1;
    train(&settings, &device()).expect("one DCGAN step succeeds");

    let npy = folder.path().join("images.npy");
    let png = folder.path().join("grid.png");
    let noise_file = folder.path().join("noise.npy");
    let noise: Vec<f32> = (0..9 * 64)
        .map(|i| ((i * 13 % 17) as f32 - 8.0) / 4.0)
        .collect();
    write_npy_f32(&noise_file, &[9, 64], &noise).expect("write the noise");
    let args = SampleArgs {
        source: out.clone(),
        out: Some(png.clone()),
        npy: Some(npy.clone()),
        logits: None,
        count: None,
        seed: 0,
        noise: Some(noise_file),
        latent_dim: None,
    };
    let summary = bcegan::cli::sample::run(&args).expect("sample succeeds on a DCGAN run");
    assert_eq!(summary.count, 9, "images sampled");
    assert!(png.is_file(), "grid written to {}", png.display());
    let (shape, pixels) = read_npy_f32(&npy).expect("images.npy reads back");
    assert_eq!(shape, vec![9, 28, 28], "shape of images.npy");
    let outside = pixels.iter().find(|pixel| !(0.0..=1.0).contains(*pixel));
    assert_eq!(outside, None, "every pixel in [0, 1]");

    // The generator's Tanh output in [−1, 1], mapped by (x + 1) / 2.
    let cpu = Device::flex();
    let (generator, _) =
        load_checkpoint(&out.join(CHECKPOINT_FILE), 64, &cpu).expect("checkpoint loads");
    let raw = generator
        .forward(Tensor::from_data(TensorData::new(noise, [9, 64]), &cpu))
        .into_data()
        .try_to_vec::<f32>()
        .expect("images are f32");
    for (index, (pixel, value)) in pixels.iter().zip(&raw).enumerate() {
        let expected = (value + 1.0) / 2.0;
        assert!(
            (pixel - expected).abs() <= 1e-6,
            "pixel {index}: expected (tanh output {value} + 1) / 2 = {expected}, got {pixel}"
        );
    }
}

#[test]
fn dcgan_torch_export_round_trips() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    let mut settings = config(&DCGAN_RUN, &out);
    settings.steps = 1;
    train(&settings, &device()).expect("one DCGAN step succeeds");
    let cpu = Device::flex();
    let (generator, discriminator) =
        load_checkpoint(&out.join(CHECKPOINT_FILE), 64, &cpu).expect("checkpoint loads");

    let file = folder.path().join("dcgan.safetensors");
    write_torch_file(&file, &generator, &discriminator, 1).expect("export succeeds");
    let bytes = std::fs::read(&file).expect("export reads back");
    let tensors = SafeTensors::deserialize(&bytes).expect("export is SafeTensors");
    let expected_shapes: [(&str, &[usize]); 6] = [
        ("gen.0.0.weight", &[64, 256, 3, 3]),
        ("gen.0.1.weight", &[256]),
        ("gen.3.0.weight", &[64, 1, 4, 4]),
        ("disc.0.0.weight", &[16, 1, 4, 4]),
        ("disc.1.1.running_var", &[32]),
        ("disc.2.0.bias", &[1]),
    ];
    for (name, shape) in expected_shapes {
        let tensor = tensors.tensor(name);
        assert_eq!(
            tensor.as_ref().map(TensorView::shape).ok(),
            Some(shape),
            "shape of {name} in the export"
        );
    }

    let (read_generator, read_discriminator) =
        read_torch_networks(&file, 64, &cpu).expect("export reads back as networks");
    assert_eq!(read_generator.kind(), ModelKind::Dcgan, "model read back");
    let noise = Tensor::<2>::from_data(
        TensorData::new((0..2 * 64).map(|i| (i % 7) as f32 - 3.0).collect(), [2, 64]),
        &cpu,
    );
    let values = |generator: &Generator| {
        generator
            .forward(noise.clone())
            .into_data()
            .try_to_vec::<f32>()
            .expect("images are f32")
    };
    assert_eq!(
        values(&read_generator),
        values(&generator),
        "images of the exported generator"
    );
    let images = generator.forward(noise.clone());
    let logits = |discriminator: &bcegan::model::Discriminator| {
        discriminator
            .forward(images.clone())
            .into_data()
            .try_to_vec::<f32>()
            .expect("logits are f32")
    };
    assert_eq!(
        logits(&read_discriminator),
        logits(&discriminator),
        "logits of the exported discriminator"
    );
}

/// CRC-32 of a checkpoint as the writer computes it: the state JSON, then each tensor's
/// name, a zero byte, dtype, shape and bytes in name order.
fn checkpoint_crc(state_json: &str, tensors: &[(String, TensorView<'_>)]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(state_json.as_bytes());
    for (name, view) in tensors {
        hasher.update(name.as_bytes());
        hasher.update(&[0]);
        hasher.update(format!("{:?}", view.dtype()).as_bytes());
        for &dim in view.shape() {
            hasher.update(&(dim as u64).to_le_bytes());
        }
        hasher.update(view.data());
    }
    hasher.finalize()
}

#[test]
fn mlp_checkpoint_without_model_loads() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("run");
    let words = [
        "--steps",
        "1",
        "--batch-size",
        "4",
        "--sample-every",
        "1000",
    ];
    train(&config(&words, &out), &device()).expect("one MLP step succeeds");

    // Rewrite the checkpoint as a build without the model option wrote it: the same
    // tensors, and a configuration without `model`, `real_target` and `generator_loss`.
    let bytes = std::fs::read(out.join(CHECKPOINT_FILE)).expect("checkpoint reads");
    let file = SafeTensors::deserialize(&bytes).expect("checkpoint is SafeTensors");
    let (_, header) = SafeTensors::read_metadata(&bytes).expect("checkpoint header");
    let mut metadata: HashMap<String, String> = header.metadata().clone().unwrap_or_default();
    let mut state: serde_json::Value =
        serde_json::from_str(&metadata["state"]).expect("state is JSON");
    let Some(settings) = state
        .get_mut("config")
        .and_then(serde_json::Value::as_object_mut)
    else {
        panic!("state has a config object: {state}");
    };
    for key in ["model", "real_target", "generator_loss"] {
        assert!(settings.remove(key).is_some(), "config records {key}");
    }
    let state_json = state.to_string();
    let mut tensors = file.tensors();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = tensors.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        names.contains(&"generator.blocks.0.linear.weight"),
        "MLP tensor names keep their old form: {names:?}"
    );
    metadata.insert(
        "crc32".into(),
        format!("{:08x}", checkpoint_crc(&state_json, &tensors)),
    );
    metadata.insert("state".into(), state_json);
    let rewritten = safetensors::serialize(tensors.clone(), Some(metadata)).expect("serialize");
    let old = folder.path().join("old-checkpoint.safetensors");
    std::fs::write(&old, rewritten).expect("write the old-format checkpoint");

    let loaded = load_checkpoint(&old, 64, &device());
    let Ok((generator, _)) = loaded else {
        panic!(
            "old-format MLP checkpoint: expected to load, got {:?}",
            loaded.err()
        );
    };
    assert_eq!(
        generator.kind(),
        ModelKind::Mlp,
        "model of an old checkpoint"
    );
}

/// Feeds one noise batch many times in training mode, so that BatchNorm's running
/// statistics converge to that batch's statistics. Evaluation mode, which sample grids
/// use, must then give the images that training mode gives.
#[test]
fn dcgan_eval_matches_converged_train() {
    use rand::SeedableRng;

    let device = device();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let generator = Generator::new(ModelKind::Dcgan, 64, &mut rng, &device);
    let noise: Vec<f32> = (0..16 * 64)
        .map(|i| ((i * 29 % 31) as f32 - 15.0) / 8.0)
        .collect();
    let noise = Tensor::<2>::from_data(TensorData::new(noise, [16, 64]), &device);
    let mut train_images = Vec::new();
    for _ in 0..200 {
        train_images = generator
            .forward(noise.clone())
            .into_data()
            .try_to_vec::<f32>()
            .expect("images are f32");
    }
    let eval_images = burn::module::Module::valid(&generator)
        .forward(noise.inner())
        .into_data()
        .try_to_vec::<f32>()
        .expect("images are f32");
    let max_difference = train_images
        .iter()
        .zip(&eval_images)
        .map(|(train, eval)| (train - eval).abs())
        .fold(0.0_f32, f32::max);
    let spread = train_images
        .iter()
        .fold(0.0_f32, |max, value| max.max(value.abs()));
    assert!(
        max_difference <= 1e-3 * spread.max(1e-6),
        "evaluation against training mode: max difference {max_difference}, largest |pixel| {spread}"
    );
}
