//! `bcegan eval` and `bcegan classifier train` through the binary, and the built-in
//! classifier through the library: measurements that must order as expected, and rejected
//! input.

use std::path::Path;
use std::process::{Command, Output};

use bcegan::device::cpu_device;
use bcegan::interop::npy::write_npy_f32;
use bcegan::quality::{BuiltinClassifier, accuracy, embedded_split};

/// Runs the `bcegan` binary with `args`.
fn bcegan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bcegan"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the bcegan binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Runs `bcegan eval ARGS --json` and returns the parsed object, panicking on failure.
fn eval_json(args: &[&str]) -> serde_json::Value {
    let mut argv = vec!["eval"];
    argv.extend_from_slice(args);
    argv.push("--json");
    let output = bcegan(&argv);
    assert!(
        output.status.success(),
        "eval {args:?} failed: {}",
        text(&output.stderr)
    );
    match serde_json::from_slice(&output.stdout) {
        Ok(value) => value,
        Err(error) => panic!(
            "eval {args:?}: invalid JSON ({error}): {}",
            text(&output.stdout)
        ),
    }
}

/// Runs `bcegan eval ARGS`, expects exit status 2 and returns stderr.
fn eval_rejected(args: &[&str]) -> String {
    let mut argv = vec!["eval"];
    argv.extend_from_slice(args);
    let output = bcegan(&argv);
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "eval {args:?}: exit status, stderr {stderr:?}"
    );
    stderr
}

fn number(value: &serde_json::Value, field: &str) -> f64 {
    match value.get(field).and_then(serde_json::Value::as_f64) {
        Some(number) => number,
        None => panic!("field {field} missing or not a number in {value}"),
    }
}

/// Writes a `.npy` file (format 1.0, C order) with the dtype `descr` and raw data bytes.
fn write_npy_raw(path: &Path, descr: &str, shape: &[usize], data: &[u8]) {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).expect("the .npy file is written");
}

/// Writes an IDX image file and label file named `STEM-*` in `dir`.
fn write_idx_pair(dir: &Path, stem: &str, pixels: &[u8], labels: &[u8]) {
    let mut images = 2051u32.to_be_bytes().to_vec();
    for dim in [labels.len() as u32, 28, 28] {
        images.extend_from_slice(&dim.to_be_bytes());
    }
    images.extend_from_slice(pixels);
    std::fs::write(dir.join(format!("{stem}-images-idx3-ubyte")), images)
        .expect("the IDX image file is written");
    let mut label_bytes = 2049u32.to_be_bytes().to_vec();
    label_bytes.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    label_bytes.extend_from_slice(labels);
    std::fs::write(dir.join(format!("{stem}-labels-idx1-ubyte")), label_bytes)
        .expect("the IDX label file is written");
}

#[test]
fn builtin_digits_classifier_accuracy() {
    let device = cpu_device();
    let loaded = match BuiltinClassifier::Digits.load(&device) {
        Ok(loaded) => loaded,
        Err(error) => panic!("built-in digits classifier: {error}"),
    };
    let split = embedded_split().expect("the embedded digits split");
    let measured = accuracy(
        &loaded.classifier,
        &split.heldout,
        &split.heldout.pixels_f32(),
        &device,
    )
    .expect("held-out accuracy");
    assert!(
        measured >= 0.975,
        "held-out accuracy of the built-in digits classifier: expected ≥ 0.975, got {measured}"
    );
    assert!(
        (measured - loaded.info.heldout_accuracy).abs() < 1e-6,
        "accuracy recorded in the file {} vs measured {measured}",
        loaded.info.heldout_accuracy
    );
}

#[test]
fn eval_trained_run_between_floor_ceiling() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let run = folder.path().join("run");
    let output = bcegan(&[
        "train",
        "--steps",
        "300",
        "--batch-size",
        "32",
        "--out",
        path_str(&run),
        "--sample-every",
        "1000",
    ]);
    assert!(
        output.status.success(),
        "training failed: {}",
        text(&output.stderr)
    );
    let measured = eval_json(&[path_str(&run), "--count", "1000"]);
    let fid = number(&measured, "fid");
    let floor = number(&measured, "fid_floor");
    let ceiling = number(&measured, "fid_ceiling");
    assert!(floor < fid, "floor {floor} < FID {fid} of a 300-step run");
    assert!(
        fid < ceiling,
        "FID {fid} of a 300-step run < ceiling {ceiling}"
    );
    assert_eq!(number(&measured, "image_count"), 1000.0, "images generated");
}

#[test]
fn eval_collapsed_set_worse_coverage() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let split = embedded_split().expect("the embedded digits split");
    let train = &split.train;
    let image_len = train.image_len();
    // Healthy: the first 1,000 training images (not the held-out reference), as uint8.
    let healthy: Vec<u8> = train.images()[..1000 * image_len].to_vec();
    let healthy_path = folder.path().join("healthy.npy");
    write_npy_raw(&healthy_path, "|u1", &[1000, 28, 28], &healthy);
    // Collapsed: 1,000 images of the digit 3, as float32 [n, 784].
    let threes: Vec<f32> = (0..train.len())
        .filter(|&index| train.labels()[index] == 3)
        .take(1000)
        .flat_map(|index| {
            let image = train.image(index).expect("index below the length");
            image
                .iter()
                .map(|&pixel| f32::from(pixel) / 255.0)
                .collect::<Vec<_>>()
        })
        .collect();
    let count = threes.len() / image_len;
    let collapsed_path = folder.path().join("collapsed.npy");
    write_npy_f32(&collapsed_path, &[count, image_len], &threes).expect("the .npy file is written");

    let healthy = eval_json(&[path_str(&healthy_path)]);
    let collapsed = eval_json(&[path_str(&collapsed_path)]);
    let covered = |value: &serde_json::Value| number(value, "classes_covered");
    assert_eq!(
        covered(&healthy),
        10.0,
        "classes covered by real digits: {healthy}"
    );
    assert!(
        covered(&collapsed) < covered(&healthy),
        "classes covered: collapsed {} < healthy {}",
        covered(&collapsed),
        covered(&healthy)
    );
    let kl = |value: &serde_json::Value| number(value, "kl_from_uniform");
    assert!(
        kl(&collapsed) > kl(&healthy),
        "KL from uniform: collapsed {} > healthy {}",
        kl(&collapsed),
        kl(&healthy)
    );
    let fid = |value: &serde_json::Value| number(value, "fid");
    assert!(
        fid(&collapsed) > fid(&healthy),
        "FID: collapsed {} > healthy {}",
        fid(&collapsed),
        fid(&healthy)
    );
    let recall = |value: &serde_json::Value| number(value, "recall");
    assert!(
        recall(&collapsed) < recall(&healthy),
        "recall: collapsed {} < healthy {}",
        recall(&collapsed),
        recall(&healthy)
    );
}

#[test]
fn eval_rejects_missing_source() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let missing = folder.path().join("nothing.npy");
    let stderr = eval_rejected(&[path_str(&missing)]);
    assert!(stderr.contains("not found"), "missing source: {stderr}");
}

#[test]
fn eval_rejects_int16_npy() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("int16.npy");
    write_npy_raw(&path, "<i2", &[4, 784], &vec![0u8; 4 * 784 * 2]);
    let stderr = eval_rejected(&[path_str(&path)]);
    assert!(
        stderr.contains("<i2") && stderr.contains("uint8"),
        "int16 images: {stderr}"
    );
}

#[test]
fn eval_rejects_wrong_npy_shape() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("small.npy");
    write_npy_f32(&path, &[4, 27, 27], &vec![0.5; 4 * 27 * 27]).expect("the .npy file is written");
    let stderr = eval_rejected(&[path_str(&path)]);
    assert!(
        stderr.contains("[4, 27, 27]") && stderr.contains("[n, 28, 28]"),
        "27×27 images: {stderr}"
    );
}

#[test]
fn eval_rejects_pixels_out_of_range() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("bright.npy");
    let mut pixels = vec![0.5f32; 8 * 784];
    pixels[3 * 784 + 29] = 1.5;
    write_npy_f32(&path, &[8, 784], &pixels).expect("the .npy file is written");
    let stderr = eval_rejected(&[path_str(&path)]);
    assert!(
        stderr.contains("pixel 1.5 of image 3 at row 1, column 1"),
        "pixel 1.5: {stderr}"
    );
}

#[test]
fn eval_rejects_non_classifier_file() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let images = folder.path().join("images.npy");
    write_npy_f32(&images, &[8, 784], &vec![0.5; 8 * 784]).expect("the .npy file is written");
    let not_classifier = folder.path().join("notes.safetensors");
    std::fs::write(&not_classifier, b"these are not weights").expect("the file is written");
    let stderr = eval_rejected(&[path_str(&images), "--classifier", path_str(&not_classifier)]);
    assert!(
        stderr.contains("invalid classifier") && stderr.contains("bcegan classifier train"),
        "text file as classifier: {stderr}"
    );
}

#[test]
fn eval_unknown_data_names_fix() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let data = folder.path().join("data");
    std::fs::create_dir(&data).expect("the data folder is created");
    let pixels: Vec<u8> = (0..10 * 784).map(|index| (index % 251) as u8).collect();
    let labels: Vec<u8> = (0..10).collect();
    write_idx_pair(&data, "t10k", &pixels, &labels);
    let images = folder.path().join("images.npy");
    write_npy_f32(&images, &[8, 784], &vec![0.5; 8 * 784]).expect("the .npy file is written");
    let stderr = eval_rejected(&[path_str(&images), "--data", path_str(&data)]);
    assert!(
        stderr.contains("no built-in classifier") && stderr.contains("--classifier FILE"),
        "folder without a fitting classifier: {stderr}"
    );
}

#[test]
fn eval_rejects_folder_without_test_files() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let images = folder.path().join("images.npy");
    write_npy_f32(&images, &[8, 784], &vec![0.5; 8 * 784]).expect("the .npy file is written");
    let stderr = eval_rejected(&[path_str(&images), "--data", path_str(folder.path())]);
    assert!(
        stderr.contains("no IDX test files") && stderr.contains("t10k-images-idx3-ubyte"),
        "folder without t10k files: {stderr}"
    );
}

#[test]
fn classifier_train_then_eval_with_file() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let data = folder.path().join("data");
    std::fs::create_dir(&data).expect("the data folder is created");
    // Class c: a bright horizontal bar at rows 2c..2c+2, so the classes are learnable.
    let image = |class: u8| -> Vec<u8> {
        (0..784)
            .map(|pixel| {
                let row = pixel / 28;
                if row / 2 == usize::from(class) {
                    255
                } else {
                    0
                }
            })
            .collect()
    };
    let labels: Vec<u8> = (0..100).map(|index| (index % 10) as u8).collect();
    let pixels: Vec<u8> = labels.iter().flat_map(|&label| image(label)).collect();
    write_idx_pair(&data, "train", &pixels, &labels);
    write_idx_pair(&data, "t10k", &pixels[..40 * 784], &labels[..40]);

    let weights = folder.path().join("bars.safetensors");
    let output = bcegan(&[
        "classifier",
        "train",
        "--data",
        path_str(&data),
        "--epochs",
        "2",
        "--out",
        path_str(&weights),
    ]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "classifier train failed: {}",
        text(&output.stderr)
    );
    assert!(stdout.contains("epoch 2/2"), "per-epoch lines: {stdout}");
    assert!(
        weights.is_file(),
        "weights written to {}",
        weights.display()
    );

    let generated = folder.path().join("generated.npy");
    write_npy_raw(&generated, "|u1", &[20, 784], &pixels[..20 * 784]);
    let measured = eval_json(&[
        path_str(&generated),
        "--data",
        path_str(&data),
        "--classifier",
        path_str(&weights),
    ]);
    assert_eq!(
        number(&measured, "real_count"),
        40.0,
        "real images: the t10k files"
    );
    assert_eq!(number(&measured, "image_count"), 20.0, "images measured");
}
