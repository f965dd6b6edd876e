//! Options of the tensor-side functions: the burn-tensor twin of `bce::Options`.

use burn::tensor::Tensor;

pub use bce::{ProbClamp, Reduction};

/// Weight of the positive term `y·log h`, as in PyTorch's `BCEWithLogitsLoss(pos_weight=...)`.
// One value is built per loss call, so the size of the tensor variant costs nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum PosWeight {
    /// One weight for every element.
    Scalar(f64),
    /// One weight per class: the length must equal the last dimension of the logits or probs,
    /// and element `[.., c]` uses weight `c`.
    PerClass(Tensor<1>),
}

/// Options of [`binary_cross_entropy`](crate::binary_cross_entropy) and
/// [`binary_cross_entropy_with_logits`](crate::binary_cross_entropy_with_logits).
///
/// `D` is the rank of the logits or probs; it is inferred from the call.
#[derive(Debug, Clone)]
pub struct BceOptions<const D: usize> {
    /// Reduction of the per-element losses. `Mean` divides by the element count, not by the
    /// sum of the weights.
    pub reduction: Reduction,
    /// Per-element weights with the shape of the logits or probs. They are constants: no
    /// gradient flows into them.
    pub weights: Option<Tensor<D>>,
    /// Weight of the positive term.
    pub pos_weight: Option<PosWeight>,
    /// Label smoothing ε in [0, 1]: targets become y·(1 − ε) + ε/2.
    pub label_smoothing: f64,
    /// Clamp that keeps `log` finite at probabilities 0 and 1. The logits form ignores it.
    pub clamp: ProbClamp,
}

impl<const D: usize> Default for BceOptions<D> {
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

impl<const D: usize> BceOptions<D> {
    /// Creates the default options: mean reduction, no weights, no smoothing, PyTorch's clamp.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets per-element weights with the shape of the logits or probs.
    pub fn weights(mut self, weights: Tensor<D>) -> Self {
        self.weights = Some(weights);
        self
    }

    /// Sets the weight of the positive term.
    pub fn pos_weight(mut self, pos_weight: PosWeight) -> Self {
        self.pos_weight = Some(pos_weight);
        self
    }

    /// Sets the label smoothing ε.
    pub fn label_smoothing(mut self, epsilon: f64) -> Self {
        self.label_smoothing = epsilon;
        self
    }

    /// Sets the probability clamp of the probability form.
    pub fn clamp(mut self, clamp: ProbClamp) -> Self {
        self.clamp = clamp;
        self
    }
}
