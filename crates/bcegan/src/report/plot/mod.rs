//! Figures drawn with plotters: the cost-vs-prediction figure and the curves of a run, as
//! SVG or PNG.
//!
//! SVG output writes text as `<text>` elements for the viewer's own fonts. PNG output
//! draws text with DejaVu Sans, a subset of which is built into the binary
//! (`assets/DejaVuSans-subset.ttf`, Bitstream Vera license, see the file beside it).

mod cost;
mod metrics;

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, DrawingAreaErrorKind, DrawingBackend};
use plotters::prelude::{FontStyle, IntoDrawingArea, SVGBackend};

use super::error::ReportError;

pub use cost::{CostAxis, CostFigure, CostMark};
pub use metrics::MetricsFigure;

/// Font family name under which the bundled font is registered, and which the figures ask for.
const FONT_FAMILY: &str = "sans-serif";

/// DejaVu Sans reduced to Latin-1 and the few symbols the figures use (−, σ, ε, ∞, ≤, ≥).
const FONT_BYTES: &[u8] = include_bytes!("../../../assets/DejaVuSans-subset.ttf");

/// Image file format of a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// Scalable vector graphics, text kept as text.
    Svg,
    /// 8-bit RGB PNG.
    Png,
}

impl ImageFormat {
    /// Picks the format from the file extension, `.svg` or `.png` (any case).
    ///
    /// # Errors
    ///
    /// Returns [`ReportError::Invalid`] for any other extension.
    pub fn from_path(path: &Path) -> Result<Self, ReportError> {
        let extension = path
            .extension()
            .and_then(|extension| extension.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("svg") => Ok(Self::Svg),
            Some("png") => Ok(Self::Png),
            _ => Err(ReportError::Invalid {
                name: "--out",
                value: path.display().to_string(),
                expected: "must end in .svg or .png".to_string(),
            }),
        }
    }
}

/// A figure that can be drawn on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);

    /// Draws the figure on `root`, which covers [`Figure::size`].
    ///
    /// # Errors
    ///
    /// Returns [`ReportError::Draw`] when the backend fails.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ReportError>;
}

/// Draws `figure` as an SVG document.
///
/// # Errors
///
/// Returns [`ReportError`] when drawing fails.
pub fn render_svg(figure: &impl Figure) -> Result<String, ReportError> {
    register_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, figure.size()).into_drawing_area();
        figure.draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// Draws `figure` and encodes it as an RGB PNG.
///
/// # Errors
///
/// Returns [`ReportError`] when drawing or encoding fails.
pub fn render_png(figure: &impl Figure) -> Result<Vec<u8>, ReportError> {
    register_font()?;
    let (width, height) = figure.size();
    let mut pixels = vec![0_u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        figure.draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(bytes)
}

/// Draws `figure` in `format` and writes it to `path`.
///
/// # Errors
///
/// Returns [`ReportError`] when drawing, encoding or writing fails.
pub fn write_figure(
    path: &Path,
    format: ImageFormat,
    figure: &impl Figure,
) -> Result<(), ReportError> {
    let bytes = match format {
        ImageFormat::Svg => render_svg(figure)?.into_bytes(),
        ImageFormat::Png => render_png(figure)?,
    };
    std::fs::write(path, bytes).map_err(|error| ReportError::io("write", path, error))
}

/// Registers the bundled font once per process; plotters' `ab_glyph` text layout needs it
/// for both backends, because chart layout measures label sizes.
fn register_font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if registered {
        Ok(())
    } else {
        Err(ReportError::Draw(
            "the bundled font assets/DejaVuSans-subset.ttf is not a valid TrueType font"
                .to_string(),
        ))
    }
}

/// Converts a plotters error, whose type depends on the backend, to [`ReportError::Draw`].
fn draw_error<E: std::error::Error + Send + Sync>(error: DrawingAreaErrorKind<E>) -> ReportError {
    ReportError::Draw(error.to_string())
}

/// Formats `value` with `digits` significant digits, without an exponent from 1e-4 to
/// below 1e6. The figures and their tests compare this text.
pub fn format_significant(value: f64, digits: usize) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-4..=5).contains(&magnitude) {
        return format!("{value:.*e}", digits.saturating_sub(1));
    }
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{ImageFormat, format_significant};

    #[test]
    fn format_significant_keeps_four_digits() {
        let cases = [
            (0.010_050_335_853_501_4, "0.01005"),
            (4.605_170_185_988_091, "4.605"),
            (0.223_143_551_314_209_76, "0.2231"),
            (100.0, "100.0"),
            (12_345.6, "12346"),
            (1e-7, "1.000e-7"),
        ];
        for (value, expected) in cases {
            let actual = format_significant(value, 4);
            assert_eq!(actual, expected, "format_significant({value}, 4)");
        }
    }

    #[test]
    fn image_format_from_extension() {
        let cases = [
            ("a/cost.svg", Some(ImageFormat::Svg)),
            ("cost.PNG", Some(ImageFormat::Png)),
            ("cost.jpg", None),
            ("cost", None),
        ];
        for (path, expected) in cases {
            let actual = ImageFormat::from_path(Path::new(path)).ok();
            assert_eq!(actual, expected, "format of {path}");
        }
    }
}
