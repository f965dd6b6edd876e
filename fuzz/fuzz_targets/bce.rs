//! Fuzzes every public `bce` entry point with arbitrary slices, lengths and options.
//!
//! Every call must return a loss or a `BceError`, never panic. A returned loss must have
//! one gradient and (for `Reduction::None`) one cost per element.
#![no_main]

use arbitrary::Arbitrary;
use bce::{Float, Loss, Options, PARALLEL_MIN, PosWeight, ProbClamp, Reduction};
use libfuzzer_sys::fuzz_target;

/// One number: a raw float, a point of [0, 1], or a value from the edge list.
#[derive(Debug, Arbitrary)]
enum Number {
    Raw(f64),
    Unit(u16),
    Edge(u8),
}

/// Values at the boundaries of the domains: ±0, 0 and 1, ±∞, NaN, tiny and huge.
const EDGES: [f64; 14] = [
    0.0,
    -0.0,
    1.0,
    0.5,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    1e-300,
    1e-45,
    1e-7,
    1.0 - 1e-7,
    -1.0,
    1e300,
    f64::MIN_POSITIVE,
];

impl Number {
    fn value(&self) -> f64 {
        match *self {
            Number::Raw(value) => value,
            Number::Unit(step) => f64::from(step) / f64::from(u16::MAX),
            Number::Edge(index) => EDGES[usize::from(index) % EDGES.len()],
        }
    }
}

#[derive(Debug, Arbitrary)]
enum PosWeightCase {
    Scalar(Number),
    PerClass(Vec<Number>),
}

#[derive(Debug, Arbitrary)]
enum ClampCase {
    Pytorch,
    Keras,
    LogMin(Number),
    Epsilon(Number),
}

#[derive(Debug, Arbitrary)]
enum ReductionCase {
    Mean,
    Sum,
    None,
}

/// Lengths that differ from the values' length, to reach the length checks.
#[derive(Debug, Arbitrary)]
struct Skew {
    targets: u8,
    weights: u8,
}

#[derive(Debug, Arbitrary)]
struct Case {
    values: Vec<Number>,
    targets: Vec<Number>,
    weights: Option<Vec<Number>>,
    pos_weight: Option<PosWeightCase>,
    label_smoothing: Number,
    clamp: ClampCase,
    reduction: ReductionCase,
    /// `Some` makes the targets and weights as long as the values, cycling their items,
    /// then drops the given number of items from their end.
    matched: Option<Skew>,
    /// 0 tiles the values past `PARALLEL_MIN`, so that the rayon path runs too.
    tile: u8,
}

/// Resizes `items` to `len` by cycling them (empty stays empty).
fn cycle(items: &[f64], len: usize) -> Vec<f64> {
    if items.is_empty() {
        return Vec::new();
    }
    items.iter().copied().cycle().take(len).collect()
}

fn numbers(items: &[Number]) -> Vec<f64> {
    items.iter().map(Number::value).collect()
}

/// The case as `f64` slices of their final lengths.
struct Slices {
    values: Vec<f64>,
    targets: Vec<f64>,
    weights: Option<Vec<f64>>,
    pos_weight: Option<Vec<f64>>,
    pos_weight_scalar: bool,
}

impl Slices {
    fn new(case: &Case) -> Self {
        let mut values = numbers(&case.values);
        if case.tile == 0 && !values.is_empty() {
            values = cycle(&values, PARALLEL_MIN + values.len());
        }
        let mut targets = numbers(&case.targets);
        let mut weights = case.weights.as_deref().map(numbers);
        if let Some(skew) = &case.matched {
            let len = values.len();
            targets = cycle(&targets, len.saturating_sub(usize::from(skew.targets % 2)));
            weights = weights.map(|w| cycle(&w, len.saturating_sub(usize::from(skew.weights % 2))));
        }
        let (pos_weight, pos_weight_scalar) = match &case.pos_weight {
            None => (None, false),
            Some(PosWeightCase::Scalar(number)) => (Some(vec![number.value()]), true),
            Some(PosWeightCase::PerClass(items)) => (Some(numbers(items)), false),
        };
        Self {
            values,
            targets,
            weights,
            pos_weight,
            pos_weight_scalar,
        }
    }
}

fn convert<T: Float>(values: &[f64]) -> Vec<T> {
    values.iter().map(|&value| T::from_f64(value)).collect()
}

fn run<T: Float>(case: &Case, slices: &Slices) {
    let values = convert::<T>(&slices.values);
    let targets = convert::<T>(&slices.targets);
    let weights = slices.weights.as_deref().map(convert::<T>);
    let pos_weight = slices.pos_weight.as_deref().map(convert::<T>);

    let reduction = match case.reduction {
        ReductionCase::Mean => Reduction::Mean,
        ReductionCase::Sum => Reduction::Sum,
        ReductionCase::None => Reduction::None,
    };
    let clamp = match &case.clamp {
        ClampCase::Pytorch => ProbClamp::PYTORCH,
        ClampCase::Keras => ProbClamp::KERAS,
        ClampCase::LogMin(number) => ProbClamp::LogMin(number.value()),
        ClampCase::Epsilon(number) => ProbClamp::Epsilon(number.value()),
    };
    let mut options = Options::new()
        .reduction(reduction)
        .label_smoothing(case.label_smoothing.value())
        .clamp(clamp);
    if let Some(weights) = weights.as_deref() {
        options = options.weights(weights);
    }
    match pos_weight.as_deref() {
        Some(&[scalar]) if slices.pos_weight_scalar => {
            options = options.pos_weight(PosWeight::Scalar(scalar));
        }
        Some(per_class) => options = options.pos_weight(PosWeight::PerClass(per_class)),
        None => {}
    }

    let len = values.len();
    for loss in [
        bce::binary_cross_entropy(&values, &targets, &options),
        bce::binary_cross_entropy_with_logits(&values, &targets, &options),
    ]
    .into_iter()
    .flatten()
    {
        check_loss(&loss, len);
    }
    for result in [
        bce::binary_cross_entropy_grad(&values, &targets, &options),
        bce::binary_cross_entropy_with_logits_grad(&values, &targets, &options),
    ]
    .into_iter()
    .flatten()
    {
        check_loss(&result.loss, len);
        assert_eq!(result.grad.len(), len, "one gradient per element");
    }
    for explanation in [
        bce::explain(&values, &targets, &options),
        bce::explain_with_logits(&values, &targets, &options),
    ]
    .into_iter()
    .flatten()
    {
        assert_eq!(explanation.rows.len(), len, "one explained row per element");
    }
}

fn check_loss<T: Float>(loss: &Loss<T>, len: usize) {
    if let Loss::PerElement(costs) = loss {
        assert_eq!(costs.len(), len, "one cost per element");
    }
}

fuzz_target!(|case: Case| {
    let slices = Slices::new(&case);
    run::<f32>(&case, &slices);
    run::<f64>(&case, &slices);
});
