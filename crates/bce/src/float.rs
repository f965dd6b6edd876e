//! The element types the cost function accepts.

/// Element type of the cost function: `f32` or `f64`.
///
/// The kernels widen every element to `f64`, compute there and round the
/// result once, so an `f32` result is within one `f32` rounding of the
/// `f64` one.
pub trait Float:
    Copy + PartialOrd + core::fmt::Debug + core::fmt::Display + Send + Sync + 'static
{
    /// Widens the value to `f64` without loss.
    fn to_f64(self) -> f64;

    /// Rounds an `f64` to this type (round to nearest even, overflow to ±∞).
    fn from_f64(value: f64) -> Self;
}

impl Float for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    fn from_f64(value: f64) -> Self {
        // Rounding to the nearest f32 is the intended conversion.
        value as f32
    }
}

impl Float for f64 {
    fn to_f64(self) -> f64 {
        self
    }

    fn from_f64(value: f64) -> Self {
        value
    }
}
