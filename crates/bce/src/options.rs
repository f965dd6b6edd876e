//! Options shared by both entry points: reduction, weights, `pos_weight`,
//! label smoothing and the clamp policy of the probability form.

/// Combination of the per-element costs into the returned loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Sum of the weighted costs divided by the number of elements (not by
    /// the sum of the weights, as in PyTorch). An empty input is an error.
    #[default]
    Mean,
    /// Sum of the weighted costs; 0 for an empty input.
    Sum,
    /// One weighted cost per element.
    None,
}

/// Weight of the positive term `y·log h` (PyTorch's `pos_weight`).
///
/// With `pw`, the cost of one element is `−[pw·y·log h + (1−y)·log(1−h)]`.
/// Values must be finite and non-negative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PosWeight<'a, T> {
    /// One value for every element.
    Scalar(T),
    /// One value per class for a row-major `[n, classes]` layout: element `i`
    /// uses `values[i % classes]`, so the input length must be a multiple of
    /// `classes`.
    PerClass(&'a [T]),
}

/// Policy that keeps `log 0` finite in the probability form. The logits form ignores it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProbClamp {
    /// Each log is clamped from below: `max(log h, floor)` and
    /// `max(log(1−h), floor)`. The floor must be ≤ 0 and not NaN; `−∞`
    /// disables the clamp, so `h = 0` with `y > 0` costs `+∞`.
    LogMin(f64),
    /// Probabilities are clipped to `[ε, 1−ε]` before the logs. `ε` must be
    /// in `[0, 0.5]`.
    Epsilon(f64),
}

impl ProbClamp {
    /// PyTorch's rule (`torch.nn.functional.binary_cross_entropy`): each log
    /// clamped at −100, so one element costs at most 100.
    pub const PYTORCH: Self = ProbClamp::LogMin(-100.0);

    /// Keras's rule (`keras.losses.binary_crossentropy`): probabilities
    /// clipped to `[1e-7, 1 − 1e-7]`.
    pub const KERAS: Self = ProbClamp::Epsilon(1e-7);
}

impl Default for ProbClamp {
    fn default() -> Self {
        Self::PYTORCH
    }
}

/// Options of [`binary_cross_entropy`](crate::binary_cross_entropy) and
/// [`binary_cross_entropy_with_logits`](crate::binary_cross_entropy_with_logits).
///
/// The default is a plain mean with no weights, no `pos_weight`, no label
/// smoothing and PyTorch's clamp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options<'a, T> {
    /// Combination of the per-element costs.
    pub reduction: Reduction,
    /// One finite, non-negative weight per element, multiplying its cost.
    /// A weight of 0 removes the element (cost and gradient 0, even where the
    /// unweighted cost is `+∞`).
    pub weights: Option<&'a [T]>,
    /// Weight of the positive term; `None` means 1.
    pub pos_weight: Option<PosWeight<'a, T>>,
    /// Label smoothing `ε` in `[0, 1]`: every target `y` becomes
    /// `y·(1−ε) + ε/2` before anything else uses it.
    pub label_smoothing: f64,
    /// Clamp policy of the probability form.
    pub clamp: ProbClamp,
}

impl<T> Default for Options<'_, T> {
    fn default() -> Self {
        Self {
            reduction: Reduction::Mean,
            weights: None,
            pos_weight: None,
            label_smoothing: 0.0,
            clamp: ProbClamp::default(),
        }
    }
}

impl<'a, T> Options<'a, T> {
    /// Creates the default options (see [`Options`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets one weight per element.
    pub fn weights(mut self, weights: &'a [T]) -> Self {
        self.weights = Some(weights);
        self
    }

    /// Sets the weight of the positive term.
    pub fn pos_weight(mut self, pos_weight: PosWeight<'a, T>) -> Self {
        self.pos_weight = Some(pos_weight);
        self
    }

    /// Sets the label smoothing `ε` (targets become `y·(1−ε) + ε/2`).
    pub fn label_smoothing(mut self, epsilon: f64) -> Self {
        self.label_smoothing = epsilon;
        self
    }

    /// Sets the clamp policy of the probability form.
    pub fn clamp(mut self, clamp: ProbClamp) -> Self {
        self.clamp = clamp;
        self
    }
}
