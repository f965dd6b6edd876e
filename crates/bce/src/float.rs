//! The element types the cost function accepts.

/// Element type of the cost function: `f32` or `f64`.
///
/// The kernels compute `f64` inputs in `f64`. They compute `f32` inputs in
/// `f32` lanes with `f32` polynomials, widen to `f64` to combine them with
/// targets and weights, and round the result once (with hard targets and
/// default options, the whole cost stays in `f32`). An `f32` result is
/// within a few `f32` ulp of the `f64` one: the accuracy tests measure at
/// most 3 ulp over 10⁷ seeded inputs and enforce 4.
pub trait Float:
    Copy + PartialOrd + core::fmt::Debug + core::fmt::Display + Send + Sync + 'static
{
    /// Whether results of this type need `f64` accuracy from the kernels'
    /// polynomials (`false` lets `f32` use shorter ones).
    #[doc(hidden)]
    const F64_RESULTS: bool = true;

    /// Whether the kernels may compute this type in `f32` lanes
    /// (`kernel::narrow`): only for `f32`, whose inputs are exact there.
    #[doc(hidden)]
    const NARROW: bool = false;

    /// Rounds the value to `f32` (exact for `f32`; used only when
    /// [`Float::NARROW`]).
    #[doc(hidden)]
    fn to_f32(self) -> f32;

    /// Widens the value to `f64` without loss.
    fn to_f64(self) -> f64;

    /// Rounds an `f64` to this type (round to nearest even, overflow to ±∞).
    fn from_f64(value: f64) -> Self;
}

impl Float for f32 {
    const F64_RESULTS: bool = false;
    const NARROW: bool = true;

    fn to_f32(self) -> f32 {
        self
    }

    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    fn from_f64(value: f64) -> Self {
        // Rounding to the nearest f32 is the intended conversion.
        value as f32
    }
}

impl Float for f64 {
    fn to_f32(self) -> f32 {
        // Rounding is the intended conversion; the kernels never call it
        // for f64 (`NARROW` is false).
        self as f32
    }

    fn to_f64(self) -> f64 {
        self
    }

    fn from_f64(value: f64) -> Self {
        value
    }
}
