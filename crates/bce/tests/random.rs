//! Seeded random comparisons of the kernels against the `f64` oracle in
//! `bce::reference`, for `f32` and `f64`, over every option. A
//! finite-difference check covers the oracle's own gradients.

mod common;

use bce::reference;
use bce::{
    Float, Loss, Options, PosWeight, ProbClamp, Reduction, binary_cross_entropy,
    binary_cross_entropy_grad, binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad,
};
use common::tolerance::FINITE_DIFFERENCE;
use common::{close, exact_for, reference_logits, reference_probs};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEED: u64 = 0x0bce_2026;
const ROUNDS: usize = 300;

/// Draws a probability that often hits the edges: exact 0 and 1, tiny values, values
/// next to 1, and uniform ones.
fn random_prob(rng: &mut ChaCha8Rng) -> f64 {
    match rng.random_range(0..8) {
        0 => 0.0,
        1 => 1.0,
        2 => 10f64.powf(rng.random_range(-40.0..-1.0)),
        3 => 1.0 - 10f64.powf(rng.random_range(-7.0..-1.0)),
        _ => rng.random::<f64>(),
    }
}

/// Draws a logit from the tails to the middle, including ±∞.
fn random_logit(rng: &mut ChaCha8Rng) -> f64 {
    match rng.random_range(0..12) {
        0 => f64::INFINITY,
        1 => f64::NEG_INFINITY,
        2 => rng.random_range(-1e4..1e4),
        3 => rng.random_range(-120.0..120.0),
        _ => rng.random_range(-12.0..12.0),
    }
}

fn random_target(rng: &mut ChaCha8Rng) -> f64 {
    match rng.random_range(0..3) {
        0 => 0.0,
        1 => 1.0,
        _ => rng.random::<f64>(),
    }
}

/// Random inputs and options of one round, as `f64` values.
struct Round {
    values: Vec<f64>,
    targets: Vec<f64>,
    weights: Option<Vec<f64>>,
    pos_weight: Option<Vec<f64>>,
    label_smoothing: f64,
    reduction: Reduction,
    clamp: ProbClamp,
}

fn random_round(rng: &mut ChaCha8Rng, logits: bool) -> Round {
    let classes = rng.random_range(1..5);
    let len = classes * rng.random_range(1..60);
    let values = (0..len)
        .map(|_| {
            if logits {
                random_logit(rng)
            } else {
                random_prob(rng)
            }
        })
        .collect();
    let targets = (0..len).map(|_| random_target(rng)).collect();
    let weights = rng.random_bool(0.5).then(|| {
        (0..len)
            .map(|_| {
                if rng.random_bool(0.1) {
                    0.0
                } else {
                    rng.random_range(0.0..3.0)
                }
            })
            .collect()
    });
    let pos_weight = match rng.random_range(0..3) {
        0 => None,
        1 => Some(vec![rng.random_range(0.0..10.0)]),
        _ => Some((0..classes).map(|_| rng.random_range(0.0..10.0)).collect()),
    };
    Round {
        values,
        targets,
        weights,
        pos_weight,
        label_smoothing: if rng.random_bool(0.3) {
            rng.random_range(0.0..0.3)
        } else {
            0.0
        },
        reduction: [Reduction::Mean, Reduction::Sum, Reduction::None][rng.random_range(0..3)],
        clamp: match rng.random_range(0..3) {
            0 => ProbClamp::KERAS,
            1 => ProbClamp::LogMin(rng.random_range(-200.0..-10.0)),
            _ => ProbClamp::PYTORCH,
        },
    }
}

fn cast<T: Float>(values: &[f64]) -> Vec<T> {
    values.iter().map(|&v| T::from_f64(v)).collect()
}

fn check_round<T: Float>(round: &Round, logits: bool, label: &str) {
    let values: Vec<T> = cast(&round.values);
    let targets: Vec<T> = cast(&round.targets);
    let weights: Option<Vec<T>> = round.weights.as_deref().map(cast);
    let pos_weight: Option<Vec<T>> = round.pos_weight.as_deref().map(cast);
    let mut options = Options::new()
        .reduction(round.reduction)
        .label_smoothing(round.label_smoothing)
        .clamp(round.clamp);
    if let Some(weights) = &weights {
        options = options.weights(weights);
    }
    if let Some(pos_weight) = &pos_weight {
        options = options.pos_weight(match pos_weight.as_slice() {
            [single] => PosWeight::Scalar(*single),
            per_class => PosWeight::PerClass(per_class),
        });
    }

    let (loss, fused, oracle) = if logits {
        (
            binary_cross_entropy_with_logits(&values, &targets, &options),
            binary_cross_entropy_with_logits_grad(&values, &targets, &options),
            reference_logits(&values, &targets, &options),
        )
    } else {
        (
            binary_cross_entropy(&values, &targets, &options),
            binary_cross_entropy_grad(&values, &targets, &options),
            reference_probs(&values, &targets, &options),
        )
    };
    let (Ok(loss), Ok(fused), Ok(oracle)) = (loss, fused, oracle) else {
        panic!("{label}: valid random input rejected");
    };
    assert_eq!(loss, fused.loss, "{label}: plain and fused losses differ");

    let tol = exact_for::<T>();
    match &loss {
        Loss::Reduced(value) => {
            let actual = value.to_f64();
            assert!(
                close(actual, oracle.reduced, tol),
                "{label}: {:?} reduced: oracle {:e}, got {actual:e}",
                round.reduction,
                oracle.reduced
            );
        }
        Loss::PerElement(costs) => {
            for (i, cost) in costs.iter().enumerate() {
                let actual = cost.to_f64();
                assert!(
                    close(actual, oracle.costs[i], tol),
                    "{label}[{i}]: value {} target {}: oracle {:e}, got {actual:e}",
                    round.values[i],
                    round.targets[i],
                    oracle.costs[i]
                );
            }
        }
    }
    for (i, grad) in fused.grad.iter().enumerate() {
        let actual = grad.to_f64();
        assert!(
            close(actual, oracle.grad[i], tol),
            "{label}: grad[{i}]: value {} target {}: oracle {:e}, got {actual:e}",
            round.values[i],
            round.targets[i],
            oracle.grad[i]
        );
    }
}

fn compare_with_oracle<T: Float>(logits: bool, seed_offset: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + seed_offset);
    for round_index in 0..ROUNDS {
        let round = random_round(&mut rng, logits);
        let form = if logits { "logits" } else { "probs" };
        let label = format!("{form} round {round_index} (seed {})", SEED + seed_offset);
        check_round::<T>(&round, logits, &label);
    }
}

#[test]
fn probs_match_oracle_f32() {
    compare_with_oracle::<f32>(false, 1);
}

#[test]
fn probs_match_oracle_f64() {
    compare_with_oracle::<f64>(false, 2);
}

#[test]
fn logits_match_oracle_f32() {
    compare_with_oracle::<f32>(true, 3);
}

#[test]
fn logits_match_oracle_f64() {
    compare_with_oracle::<f64>(true, 4);
}

/// Long inputs: the reduced cost must not drift with the length.
#[test]
fn logits_long_sum_matches_oracle() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 5);
    let len = 200_000;
    let logits: Vec<f64> = (0..len).map(|_| rng.random_range(-12.0..12.0)).collect();
    let targets: Vec<f64> = (0..len).map(|_| random_target(&mut rng)).collect();
    let options = Options::new().reduction(Reduction::Sum);
    let loss = binary_cross_entropy_with_logits(&logits, &targets, &options);
    let oracle = reference::evaluate_logits(&logits, &targets, &options);
    let (Ok(Loss::Reduced(loss)), Ok(oracle)) = (loss, oracle) else {
        panic!("rejected")
    };
    assert!(
        close(loss, oracle.reduced, common::tolerance::F64_EXACT),
        "sum of {len}: oracle {:e}, got {loss:e}",
        oracle.reduced
    );
}

/// Central difference `(f(v + h) − f(v − h)) / 2h`.
fn central_difference(f: impl Fn(f64) -> f64, value: f64) -> f64 {
    let step = 1e-5;
    (f(value + step) - f(value - step)) / (2.0 * step)
}

#[test]
fn reference_logit_grad_is_derivative() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 6);
    for _ in 0..1000 {
        let logit = rng.random_range(-15.0..15.0);
        let target = random_target(&mut rng);
        let pos_weight = rng.random_range(0.0..5.0);
        let numeric = central_difference(|x| reference::logit_cost(x, target, pos_weight), logit);
        let analytic = reference::logit_grad(logit, target, pos_weight);
        assert!(
            close(analytic, numeric, FINITE_DIFFERENCE),
            "logit {logit} target {target} pos_weight {pos_weight}: \
             finite difference {numeric:e}, grad {analytic:e}"
        );
    }
}

#[test]
fn reference_prob_grad_is_derivative() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 7);
    for _ in 0..1000 {
        // Away from 0 and 1 so that neither the clamp nor the step leaves [0, 1].
        let prob = rng.random_range(0.01..0.99);
        let target = random_target(&mut rng);
        let pos_weight = rng.random_range(0.0..5.0);
        let clamp = ProbClamp::PYTORCH;
        let numeric =
            central_difference(|p| reference::prob_cost(p, target, pos_weight, clamp), prob);
        let analytic = reference::prob_grad(prob, target, pos_weight, clamp);
        assert!(
            close(analytic, numeric, FINITE_DIFFERENCE),
            "prob {prob} target {target} pos_weight {pos_weight}: \
             finite difference {numeric:e}, grad {analytic:e}"
        );
    }
}

/// σ(x) of the logits form equals the probability form at σ(x), where σ(x)
/// is far enough from 0 and 1 for the probability form to be exact.
#[test]
fn logits_agree_with_probs_of_sigmoid() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 8);
    for _ in 0..1000 {
        let logit = rng.random_range(-8.0..8.0);
        let target = random_target(&mut rng);
        let prob = reference::sigmoid(logit);
        let from_logit = reference::logit_cost(logit, target, 1.0);
        let from_prob = reference::prob_cost(prob, target, 1.0, ProbClamp::PYTORCH);
        // σ(x) is rounded once (2^-53 relative), and log h amplifies that by at
        // most 1/(1 − h) ≈ e^8 for these logits.
        assert!(
            (from_logit - from_prob).abs() <= 1e-12 * from_logit.abs().max(1.0),
            "logit {logit} target {target}: logits form {from_logit:e}, probs form {from_prob:e}"
        );
    }
}
