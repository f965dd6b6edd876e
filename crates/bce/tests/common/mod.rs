//! Helpers shared by the integration tests: the tolerance table, closeness
//! checks, and conversion of `f32` inputs and options to the `f64` oracle.
#![allow(dead_code)] // Each test binary uses a different subset.

use bce::reference::{self, Evaluation};
use bce::{BceError, Float, Options, PosWeight};

/// Every tolerance the tests use, with its reason. A check passes when
/// `|actual − expected| <= atol + rtol·|expected|`.
pub mod tolerance {
    /// One row of the table.
    #[derive(Debug, Clone, Copy)]
    pub struct Tolerance {
        pub rtol: f64,
        pub atol: f64,
        pub reason: &'static str,
    }

    /// `f32` results against the exact value (or the `f64` oracle).
    pub const F32_EXACT: Tolerance = Tolerance {
        rtol: 4e-6,
        // 2^-149, the spacing of f32 subnormals: below f32::MIN_POSITIVE
        // (1.2e-38) an f32 cannot hold a relative error, only this absolute one.
        atol: f32::from_bits(1) as f64,
        reason: "the f32 kernels are within 4 ulp (2^-24 ≈ 6e-8 each) of the f64 \
                 result rounded to f32; 4e-6 is the project's bound for f32 results, with headroom for \
                 f32 inputs the exact value was computed from",
    };

    /// `f64` results against the exact value (or the oracle).
    pub const F64_EXACT: Tolerance = Tolerance {
        rtol: 1e-12,
        // 2^-1074, the spacing of f64 subnormals.
        atol: f64::from_bits(1),
        reason: "a few roundings of well-conditioned f64 formulas plus compensated \
                 summation stay near 1e-15; 1e-12 is the project's bound",
    };

    /// Largest distance, in `f32` units in the last place, between an `f32`
    /// result and the `f64` oracle rounded to `f32`.
    pub const F32_ULPS: u32 = 4;
    pub const F32_ULPS_REASON: &str = "the f32 kernels evaluate exp and log in f32 lanes \
        (within 2 ulp) and combine them with targets and weights in f64, rounding once to \
        f32 (half an ulp); a logits gradient that cancels (soft target, σ(x)·(1−y) near \
        pw·y·σ(−x)) is taken from the f64 program instead, so no result is amplified \
        beyond that; with hard targets the cost is combined and rounded in f32 and the \
        logs skip one compensation (measured 3 ulp for logits, 2 elsewhere); 4 ulp leaves \
        headroom over those";

    /// Extra absolute error of the golden file's `exact_loss_mp`.
    pub const MPMATH_ATOL: f64 = 1e-49;
    pub const MPMATH_REASON: &str = "the golden file's exact_loss_mp was evaluated with \
        mpmath at 50 digits as log(1 ± tiny), which cancels: its entries near 1e-44 carry an \
        absolute error near 1e-50 (x = −100, y = 0: 3.720077939788866e-44 against the true \
        3.720075976020836e-44, checked with mpmath at 120 digits)";

    /// PyTorch's own `f32` results (`expected_loss`, `expected_grad`).
    pub const TORCH_F32: Tolerance = Tolerance {
        rtol: 1e-5,
        atol: 1e-6,
        reason: "PyTorch computes in f32 and its composed logits formula loses about \
                 ulp(|x|) in absolute terms (x = −20, y = 0 gives 0, exact 2.06e-9); the \
                 golden file suggests these values",
    };

    /// PyTorch's own `f64` results.
    pub const TORCH_F64: Tolerance = Tolerance {
        rtol: 1e-12,
        atol: 1e-12,
        reason: "PyTorch's f64 logits formula cancels as in f32 (x = −20, y = 0 gives \
                 2.061153026e-9, exact 2.061153620e-9); the golden file suggests these values",
    };

    /// Central finite differences of the oracle's cost against its gradient.
    pub const FINITE_DIFFERENCE: Tolerance = Tolerance {
        rtol: 1e-6,
        atol: 1e-8,
        reason: "step 1e-5: truncation error ~h²·f''' ≈ 1e-10 relative plus rounding \
                 ~eps·f/h ≈ 1e-11, for arguments kept away from 0 and 1",
    };

    /// Returns the exact tolerance for a dtype name of the golden file.
    pub fn exact(dtype: &str) -> Tolerance {
        if dtype == "float32" {
            F32_EXACT
        } else {
            F64_EXACT
        }
    }

    /// Returns PyTorch's tolerance for a dtype name of the golden file.
    pub fn torch(dtype: &str) -> Tolerance {
        if dtype == "float32" {
            TORCH_F32
        } else {
            TORCH_F64
        }
    }
}

use tolerance::Tolerance;

/// Returns whether `actual` is within `tol` (plus `extra_atol`) of
/// `expected`. NaN matches only NaN, an infinity only the same infinity, and
/// `−0.0` equals `0.0`.
pub fn close_with(actual: f64, expected: f64, tol: Tolerance, extra_atol: f64) -> bool {
    if expected.is_nan() || actual.is_nan() {
        return expected.is_nan() && actual.is_nan();
    }
    if expected.is_infinite() || actual.is_infinite() {
        return actual == expected;
    }
    (actual - expected).abs() <= tol.atol + extra_atol + tol.rtol * expected.abs()
}

/// Returns [`close_with`] without extra absolute tolerance.
pub fn close(actual: f64, expected: f64, tol: Tolerance) -> bool {
    close_with(actual, expected, tol, 0.0)
}

/// Returns the exact tolerance for results of element type `T`.
pub fn exact_for<T: Float>() -> Tolerance {
    if core::mem::size_of::<T>() == 4 {
        tolerance::F32_EXACT
    } else {
        tolerance::F64_EXACT
    }
}

/// Widens a slice to `f64`.
pub fn widen<T: Float>(values: &[T]) -> Vec<f64> {
    values.iter().map(|v| v.to_f64()).collect()
}

/// Owned `f64` copies of the slices inside an `Options<T>`.
pub struct WideOptions {
    weights: Option<Vec<f64>>,
    pos_weight: Option<WidePosWeight>,
    base: Options<'static, f64>,
}

enum WidePosWeight {
    Scalar(f64),
    PerClass(Vec<f64>),
}

impl WideOptions {
    pub fn new<T: Float>(options: &Options<'_, T>) -> Self {
        let pos_weight = options.pos_weight.map(|pw| match pw {
            PosWeight::Scalar(value) => WidePosWeight::Scalar(value.to_f64()),
            PosWeight::PerClass(values) => WidePosWeight::PerClass(widen(values)),
        });
        Self {
            weights: options.weights.map(widen),
            pos_weight,
            base: Options::new()
                .reduction(options.reduction)
                .label_smoothing(options.label_smoothing)
                .clamp(options.clamp),
        }
    }

    /// Builds the `f64` options, borrowing from `self`.
    pub fn options(&self) -> Options<'_, f64> {
        let mut options = self.base;
        options.weights = self.weights.as_deref();
        options.pos_weight = self.pos_weight.as_ref().map(|pw| match pw {
            WidePosWeight::Scalar(value) => PosWeight::Scalar(*value),
            WidePosWeight::PerClass(values) => PosWeight::PerClass(values.as_slice()),
        });
        options
    }
}

/// Runs the oracle on the probability form for inputs of any element type.
pub fn reference_probs<T: Float>(
    probs: &[T],
    targets: &[T],
    options: &Options<'_, T>,
) -> Result<Evaluation, BceError> {
    let wide = WideOptions::new(options);
    reference::evaluate_probs(&widen(probs), &widen(targets), &wide.options())
}

/// Runs the oracle on the logits form for inputs of any element type.
pub fn reference_logits<T: Float>(
    logits: &[T],
    targets: &[T],
    options: &Options<'_, T>,
) -> Result<Evaluation, BceError> {
    let wide = WideOptions::new(options);
    reference::evaluate_logits(&widen(logits), &widen(targets), &wide.options())
}

/// Distance between two `f32` in units in the last place: the number of
/// representable values between them. `0.0` and `−0.0` are 0 apart, NaN is
/// `u32::MAX` from everything, and an infinity is 0 from itself.
pub fn ulps_f32(a: f32, b: f32) -> u32 {
    if a.is_nan() || b.is_nan() {
        return u32::MAX;
    }
    let key = |v: f32| {
        let bits = v.to_bits() as i32;
        if bits < 0 {
            i32::MIN.wrapping_sub(bits)
        } else {
            bits
        }
    };
    key(a).abs_diff(key(b))
}

/// The input form of a case: logits, or probabilities under a clamp.
#[derive(Debug, Clone, Copy)]
pub enum Form {
    Logits,
    Probs(bce::ProbClamp),
}

impl Form {
    /// Returns the default options with `reduction` and, for probabilities,
    /// the form's clamp.
    pub fn options<'a, T: Float>(self, reduction: bce::Reduction) -> Options<'a, T> {
        let options = Options::new().reduction(reduction);
        match self {
            Form::Logits => options,
            Form::Probs(clamp) => options.clamp(clamp),
        }
    }

    /// Runs the `f64` oracle of the form.
    pub fn oracle<T: Float>(
        self,
        values: &[T],
        targets: &[T],
        options: &Options<'_, T>,
    ) -> Result<Evaluation, BceError> {
        match self {
            Form::Logits => reference_logits(values, targets, options),
            Form::Probs(_) => reference_probs(values, targets, options),
        }
    }
}

/// Results of the three entry points of one form on one input.
pub struct EntryResults<T> {
    /// The loss-only form.
    pub loss: Result<bce::Loss<T>, BceError>,
    /// The loss and a new gradient vector.
    pub fused: Result<bce::LossAndGrad<T>, BceError>,
    /// The loss of the form that writes its gradient into a given buffer.
    pub into_loss: Result<bce::Loss<T>, BceError>,
}

/// Runs the loss-only, `_grad` and `_grad_into` entry points of `form`,
/// the last writing into `into`.
pub fn call_entry_points<T: Float>(
    form: Form,
    (values, targets): (&[T], &[T]),
    options: &Options<'_, T>,
    into: &mut [T],
) -> EntryResults<T> {
    match form {
        Form::Logits => EntryResults {
            loss: bce::binary_cross_entropy_with_logits(values, targets, options),
            fused: bce::binary_cross_entropy_with_logits_grad(values, targets, options),
            into_loss: bce::binary_cross_entropy_with_logits_grad_into(
                values, targets, options, into,
            ),
        },
        Form::Probs(_) => EntryResults {
            loss: bce::binary_cross_entropy(values, targets, options),
            fused: bce::binary_cross_entropy_grad(values, targets, options),
            into_loss: bce::binary_cross_entropy_grad_into(values, targets, options, into),
        },
    }
}
