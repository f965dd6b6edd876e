//! Sample grids: many small grayscale images tiled into one PNG.

use std::path::{Path, PathBuf};

/// Tiling of images in a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridLayout {
    /// Height of one image in pixels.
    pub image_rows: usize,
    /// Width of one image in pixels.
    pub image_cols: usize,
    /// Images per grid row.
    pub columns: usize,
    /// Background pixels between two images and around the border.
    pub padding: usize,
    /// Each source pixel becomes a `scale`×`scale` block.
    pub scale: usize,
}

impl GridLayout {
    /// Returns a near-square grid of 28×28 images with 2 pixels of padding, drawn at twice the size.
    pub fn square(count: usize) -> Self {
        let columns = (count as f64).sqrt().ceil().max(1.0) as usize;
        Self {
            image_rows: 28,
            image_cols: 28,
            columns,
            padding: 2,
            scale: 2,
        }
    }
}

/// Error from making or writing a grid.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    /// The pixel buffer does not hold a whole number of images.
    #[error(
        "invalid image buffer: {len} values is not a multiple of one image ({image_len} values); pass whole images"
    )]
    PartialImage {
        /// Values given.
        len: usize,
        /// Values in one image.
        image_len: usize,
    },
    /// The layout has a zero dimension.
    #[error("invalid grid layout {0:?}: image size, columns and scale must be at least 1")]
    EmptyLayout(GridLayout),
    /// The PNG encoder failed.
    #[error("failed to encode PNG: {0}")]
    Encode(#[from] png::EncodingError),
    /// The file could not be written.
    #[error("failed to write {}: {source}", path.display())]
    Write {
        /// Target file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// Encodes images (row-major, pixel values in [0, 1], clamped) as one grayscale PNG.
///
/// # Errors
///
/// Returns [`GridError`] for a partial image or an empty layout.
pub fn encode_grid_png(pixels: &[f32], layout: GridLayout) -> Result<Vec<u8>, GridError> {
    let (width, height, canvas) = render(pixels, layout)?;
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width as u32, height as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&canvas)?;
    writer.finish()?;
    Ok(bytes)
}

/// Encodes images as a grid (see [`encode_grid_png`]) and writes the PNG to `path`.
///
/// # Errors
///
/// Returns [`GridError`] when encoding or writing fails.
pub fn write_grid_png(path: &Path, pixels: &[f32], layout: GridLayout) -> Result<(), GridError> {
    let bytes = encode_grid_png(pixels, layout)?;
    std::fs::write(path, bytes).map_err(|source| GridError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Gray level of the padding, so black image borders stay visible.
const PADDING_GRAY: u8 = 96;

/// Returns the canvas width, height and 8-bit pixels.
fn render(pixels: &[f32], layout: GridLayout) -> Result<(usize, usize, Vec<u8>), GridError> {
    let image_len = layout.image_rows * layout.image_cols;
    if image_len == 0 || layout.columns == 0 || layout.scale == 0 {
        return Err(GridError::EmptyLayout(layout));
    }
    if !pixels.len().is_multiple_of(image_len) {
        return Err(GridError::PartialImage {
            len: pixels.len(),
            image_len,
        });
    }
    let count = pixels.len() / image_len;
    let grid_rows = count.div_ceil(layout.columns).max(1);
    let cell_rows = layout.image_rows * layout.scale + layout.padding;
    let cell_cols = layout.image_cols * layout.scale + layout.padding;
    let width = layout.columns * cell_cols + layout.padding;
    let height = grid_rows * cell_rows + layout.padding;
    let mut canvas = vec![PADDING_GRAY; width * height];

    for (index, image) in pixels.chunks_exact(image_len).enumerate() {
        let top = layout.padding + (index / layout.columns) * cell_rows;
        let left = layout.padding + (index % layout.columns) * cell_cols;
        for y in 0..layout.image_rows * layout.scale {
            for x in 0..layout.image_cols * layout.scale {
                let value = image[(y / layout.scale) * layout.image_cols + x / layout.scale];
                canvas[(top + y) * width + left + x] = to_gray(value);
            }
        }
    }
    Ok((width, height, canvas))
}

/// Maps [0, 1] to 0..=255; NaN becomes 0.
fn to_gray(value: f32) -> u8 {
    let clamped = if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 1.0)
    };
    (clamped * 255.0).round() as u8
}
