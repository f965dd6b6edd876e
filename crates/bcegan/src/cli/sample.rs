//! The `sample` command: images from a trained generator, as a PNG grid or a `.npy` array.

use std::fmt;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use clap::{ArgGroup, Args};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::device::cpu_device;
use crate::interop::npy::{read_npy_f32, write_npy_f32};
use crate::interop::{InteropError, LoadedNetworks, check_output_path, load_networks};
use crate::model::{IMAGE_COLS, IMAGE_ROWS, IMAGE_SIZE};
use crate::report::{GridLayout, write_grid_png};

/// Images drawn when neither `--count` nor `--noise` sets the number.
pub const DEFAULT_COUNT: usize = 64;

/// Largest number of images: 100,000 images are 314 MB as float32, more than any
/// evaluation of 28×28 samples needs.
pub const MAX_COUNT: usize = 100_000;

/// Largest PNG grid: 32×32 images, about 1.9 Mpixel.
pub const MAX_GRID_COUNT: usize = 1024;

/// Rows run through the networks at once, which bounds the memory of the hidden layers.
const CHUNK_ROWS: usize = 1024;

/// Settings of `bcegan sample`.
#[derive(Debug, Clone, Args)]
#[command(group(
    ArgGroup::new("outputs")
        .args(["out", "npy", "logits"])
        .required(true)
        .multiple(true)
))]
pub struct SampleArgs {
    /// Run folder written by `bcegan train`, a checkpoint file, or a file written by
    /// `bcegan export`
    #[arg(value_name = "RUN_DIR_OR_CHECKPOINT")]
    pub source: PathBuf,

    /// PNG file to write a grid of the images to
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,

    /// .npy file to write the images to: float32 [count, 28, 28], pixels in [0, 1]
    #[arg(long, value_name = "FILE")]
    pub npy: Option<PathBuf>,

    /// .npy file to write the discriminator's logits of the images to: float32 [count, 1]
    #[arg(long, value_name = "FILE")]
    pub logits: Option<PathBuf>,

    /// Number of images [default: 64, or the rows of --noise]
    #[arg(long)]
    pub count: Option<usize>,

    /// Seed of the standard normal noise
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// .npy file of noise, float32 [count, latent_dim], to use instead of seeded noise
    #[arg(long, value_name = "FILE", conflicts_with = "seed")]
    pub noise: Option<PathBuf>,

    /// Length of the noise vector; rarely needed, because run folders, checkpoints and
    /// exported files record it
    #[arg(long)]
    pub latent_dim: Option<usize>,
}

/// Summary of the files `bcegan sample` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSummary {
    /// Images generated.
    pub count: usize,
    /// Files written, in the order PNG, images, logits.
    pub files: Vec<PathBuf>,
}

impl fmt::Display for SampleSummary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files: Vec<String> = self
            .files
            .iter()
            .map(|file| file.display().to_string())
            .collect();
        write!(
            formatter,
            "wrote {} image{} to {}",
            self.count,
            if self.count == 1 { "" } else { "s" },
            files.join(", ")
        )
    }
}

/// Generates images with the generator of `args.source` in evaluation mode (BatchNorm uses
/// its running statistics) and writes the requested files.
///
/// # Errors
///
/// Returns [`InteropError`] for a missing or unreadable source, an invalid count, a noise
/// file of the wrong shape, or a file that cannot be written.
pub fn run(args: &SampleArgs) -> Result<SampleSummary, InteropError> {
    let outputs = [
        ("--out", &args.out, Some("png")),
        ("--npy", &args.npy, Some("npy")),
        ("--logits", &args.logits, Some("npy")),
    ];
    for (name, path, extension) in outputs {
        if let Some(path) = path {
            check_output_path(name, path, extension)?;
        }
    }
    if let Some(count) = args.count {
        check_count("--count", count, args.out.is_some())?;
    }
    // On a device without autodiff, BatchNorm uses its running statistics.
    let device = cpu_device();
    let networks = load_networks(&args.source, args.latent_dim, &device)?;
    let (count, noise) = match &args.noise {
        Some(path) => read_noise(path, networks.latent_dim, args.count)?,
        None => {
            let count = args.count.unwrap_or(DEFAULT_COUNT);
            (count, seeded_noise(args.seed, count, networks.latent_dim))
        }
    };
    check_count("--count", count, args.out.is_some())?;

    let (images, logits) = generate(&networks, &noise, args.logits.is_some(), &device)?;
    let mut files = Vec::new();
    if let Some(path) = &args.out {
        write_grid_png(path, &images, GridLayout::square(count))?;
        files.push(path.clone());
    }
    if let Some(path) = &args.npy {
        write_npy_f32(path, &[count, IMAGE_ROWS, IMAGE_COLS], &images)?;
        files.push(path.clone());
    }
    if let Some(path) = &args.logits {
        write_npy_f32(path, &[count, 1], &logits)?;
        files.push(path.clone());
    }
    Ok(SampleSummary { count, files })
}

/// Rejects a count of 0, above [`MAX_COUNT`], or above [`MAX_GRID_COUNT`] for a grid.
fn check_count(name: &'static str, count: usize, grid: bool) -> Result<(), InteropError> {
    let invalid = |expected: String| InteropError::InvalidSetting {
        name,
        value: count.to_string(),
        expected,
    };
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(invalid(format!("must be from 1 to {MAX_COUNT}")));
    }
    if grid && count > MAX_GRID_COUNT {
        return Err(invalid(format!(
            "a PNG grid takes at most {MAX_GRID_COUNT} images; write more with --npy alone"
        )));
    }
    Ok(())
}

/// Draws `[count, latent_dim]` standard normal values from a ChaCha8 stream seeded with `seed`.
pub(crate) fn seeded_noise(seed: u64, count: usize, latent_dim: usize) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count * latent_dim)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect()
}

/// Reads noise `[count, latent_dim]` from a `.npy` file and returns the count and the values.
fn read_noise(
    path: &Path,
    latent_dim: usize,
    requested_count: Option<usize>,
) -> Result<(usize, Vec<f32>), InteropError> {
    let (shape, values) = read_npy_f32(path)?;
    let count = match shape.as_slice() {
        [count, dim] if *dim == latent_dim && (1..=MAX_COUNT).contains(count) => *count,
        _ => {
            return Err(InteropError::NoiseShape {
                path: path.to_path_buf(),
                latent_dim,
                max_count: MAX_COUNT,
                found: shape,
            });
        }
    };
    if let Some(requested) = requested_count
        && requested != count
    {
        return Err(InteropError::InvalidSetting {
            name: "--count",
            value: requested.to_string(),
            expected: format!(
                "must equal the {count} rows of {}, or be left out",
                path.display()
            ),
        });
    }
    if let Some(index) = values.iter().position(|value| !value.is_finite()) {
        return Err(InteropError::InvalidNpy {
            path: path.to_path_buf(),
            message: format!(
                "noise value {} at row {}, column {} is not finite",
                values[index],
                index / latent_dim,
                index % latent_dim
            ),
        });
    }
    Ok((count, values))
}

/// Runs the generator, and the discriminator when `with_logits`, over the noise in chunks;
/// returns the images `[count × 784]` and the logits `[count]` (empty without `with_logits`).
pub(crate) fn generate(
    networks: &LoadedNetworks,
    noise: &[f32],
    with_logits: bool,
    device: &Device,
) -> Result<(Vec<f32>, Vec<f32>), InteropError> {
    let latent_dim = networks.latent_dim;
    let mut images = Vec::with_capacity(noise.len() / latent_dim * IMAGE_SIZE);
    let mut logits = Vec::new();
    for chunk in noise.chunks(CHUNK_ROWS * latent_dim) {
        let rows = chunk.len() / latent_dim;
        let noise = Tensor::from_data(TensorData::new(chunk.to_vec(), [rows, latent_dim]), device);
        // The discriminator takes the images in the model's range; the files get pixels
        // in [0, 1].
        let generated = networks.generator.forward(noise);
        if with_logits {
            let chunk_logits = networks.discriminator.forward(generated.clone());
            logits.extend(tensor_values("discriminator logits", chunk_logits)?);
        }
        let pixels = networks.generator.kind().to_pixels(generated);
        images.extend(tensor_values("generated images", pixels)?);
    }
    Ok((images, logits))
}

fn tensor_values(name: &str, tensor: Tensor<2>) -> Result<Vec<f32>, InteropError> {
    tensor
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|error| InteropError::TensorRead {
            name: name.to_string(),
            message: format!("{error:?}"),
        })
}
