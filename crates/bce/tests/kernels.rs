//! The fused kernels against the `f64` oracle. `f32` results stay within
//! [`F32_ULPS`] of the oracle rounded to `f32` over 10⁷ seeded inputs. Every
//! instruction set the CPU has and every thread count give bit-identical
//! results. Errors found in the fused pass name the same element as the
//! separate check.

mod common;

use bce::dispatch::{Isa, with_isa};
use bce::{
    BceError, Loss, LossAndGrad, Operand, Options, PosWeight, ProbClamp, Reduction,
    binary_cross_entropy, binary_cross_entropy_grad, binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad,
};
use common::tolerance::{F32_ULPS, F32_ULPS_REASON};
use common::{reference_logits, reference_probs, ulps_f32};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEED: u64 = 0x0bce_5eed;

/// Inputs per form in the accuracy test; both forms together make 10⁷.
const ACCURACY_LEN: usize = 5_000_000;

/// Draws a logit: the middle, the tails up to ±1e4, tiny magnitudes, ±∞, 0.
fn random_logit(rng: &mut ChaCha8Rng) -> f32 {
    let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let logit: f64 = match rng.random_range(0..16) {
        0 => f64::INFINITY * sign,
        1 => 0.0,
        2 | 3 => rng.random_range(-1e4..1e4),
        4 | 5 => rng.random_range(-120.0..120.0),
        6 => sign * 10f64.powf(rng.random_range(-30.0..4.0)),
        _ => rng.random_range(-12.0..12.0),
    };
    logit as f32
}

/// Draws a probability: exact 0 and 1, tiny values down to `f32`
/// subnormals, values next to 1, uniform ones.
fn random_prob(rng: &mut ChaCha8Rng) -> f32 {
    let prob: f64 = match rng.random_range(0..10) {
        0 => 0.0,
        1 => 1.0,
        2 | 3 => 10f64.powf(rng.random_range(-45.0..-1.0)),
        4 => 1.0 - 10f64.powf(rng.random_range(-7.5..-1.0)),
        _ => rng.random::<f64>(),
    };
    prob as f32
}

/// Draws a target: hard 0 or 1, or soft.
fn random_target(rng: &mut ChaCha8Rng) -> f32 {
    match rng.random_range(0..3) {
        0 => 0.0,
        1 => 1.0,
        _ => rng.random::<f32>(),
    }
}

/// Per-element costs of a `Reduction::None` result.
fn costs_of(loss: &Loss<f32>) -> &[f32] {
    loss.per_element().unwrap_or_default()
}

/// Counts the elements outside [`F32_ULPS`] and reports the first few.
#[derive(Default)]
struct UlpReport {
    checked: usize,
    worst: u32,
    failures: Vec<String>,
}

impl UlpReport {
    fn check(&mut self, what: &str, index: usize, input: (f32, f32), actual: f32, oracle: f64) {
        let expected = oracle as f32;
        let distance = ulps_f32(actual, expected);
        self.checked += 1;
        self.worst = self.worst.max(distance);
        if distance > F32_ULPS && self.failures.len() < 10 {
            self.failures.push(format!(
                "{what} at {index}: value {:e}, target {:e}: expected {expected:e} \
                 (oracle {oracle:e}), got {actual:e}, {distance} ulp",
                input.0, input.1
            ));
        }
    }

    fn assert_clean(&self, label: &str) {
        eprintln!(
            "{label}: {} results, worst {} ulp",
            self.checked, self.worst
        );
        assert!(
            self.failures.is_empty(),
            "{label}: results more than {F32_ULPS} ulp from the oracle ({F32_ULPS_REASON}):\n{}",
            self.failures.join("\n")
        );
    }
}

/// Option sets of the accuracy test, one per quarter of
/// the inputs.
fn option_sets<'a>(weights: &'a [f32], per_class: &'a [f32], probs: bool) -> [Options<'a, f32>; 4] {
    let none = Options::new().reduction(Reduction::None);
    [
        none,
        none.weights(weights)
            .pos_weight(PosWeight::Scalar(2.5))
            .clamp(if probs {
                ProbClamp::LogMin(f64::NEG_INFINITY)
            } else {
                ProbClamp::PYTORCH
            }),
        none.label_smoothing(0.1)
            .pos_weight(PosWeight::PerClass(per_class))
            .clamp(ProbClamp::KERAS),
        none.label_smoothing(1e-3).weights(weights),
    ]
}

fn accuracy_of_form(probs: bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + u64::from(probs));
    let quarter = ACCURACY_LEN / 4;
    let per_class = [0.5_f32, 3.0, 1.0, 0.0];
    let weights: Vec<f32> = (0..quarter)
        .map(|_| {
            if rng.random_bool(0.1) {
                0.0
            } else {
                rng.random_range(0.0..4.0)
            }
        })
        .collect();
    let mut report = UlpReport::default();
    let mut reduced = UlpReport::default();

    for options in option_sets(&weights, &per_class, probs) {
        let values: Vec<f32> = (0..quarter)
            .map(|_| {
                if probs {
                    random_prob(&mut rng)
                } else {
                    random_logit(&mut rng)
                }
            })
            .collect();
        let targets: Vec<f32> = (0..quarter).map(|_| random_target(&mut rng)).collect();
        let (result, oracle) = if probs {
            (
                binary_cross_entropy_grad(&values, &targets, &options),
                reference_probs(&values, &targets, &options),
            )
        } else {
            (
                binary_cross_entropy_with_logits_grad(&values, &targets, &options),
                reference_logits(&values, &targets, &options),
            )
        };
        let (Ok(LossAndGrad { loss, grad }), Ok(oracle)) = (result, oracle) else {
            panic!("valid random inputs were rejected");
        };
        // The loss-only form runs without the gradient's f64 fallback for
        // soft targets, so its costs are checked separately.
        let loss_only = if probs {
            binary_cross_entropy(&values, &targets, &options)
        } else {
            binary_cross_entropy_with_logits(&values, &targets, &options)
        };
        let Ok(loss_only) = loss_only else {
            panic!("valid random inputs were rejected by the loss-only form");
        };
        for (i, (&value, &target)) in values.iter().zip(&targets).enumerate() {
            let input = (value, target);
            report.check("cost", i, input, costs_of(&loss)[i], oracle.costs[i]);
            report.check("grad", i, input, grad[i], oracle.grad[i]);
            let cost = costs_of(&loss_only)[i];
            report.check("loss-only cost", i, input, cost, oracle.costs[i]);
        }

        let mean = options.reduction(Reduction::Mean);
        let (result, oracle) = if probs {
            (
                binary_cross_entropy(&values, &targets, &mean),
                reference_probs(&values, &targets, &mean),
            )
        } else {
            (
                binary_cross_entropy_with_logits(&values, &targets, &mean),
                reference_logits(&values, &targets, &mean),
            )
        };
        let (Ok(Loss::Reduced(actual)), Ok(oracle)) = (result, oracle) else {
            panic!("valid random inputs were rejected by the mean");
        };
        reduced.check("mean", 0, (f32::NAN, f32::NAN), actual, oracle.reduced);
    }
    let label = if probs { "probs" } else { "logits" };
    report.assert_clean(label);
    reduced.assert_clean(&format!("{label} mean"));
}

#[test]
fn kernels_logits_within_ulps() {
    accuracy_of_form(false);
}

#[test]
fn kernels_probs_within_ulps() {
    accuracy_of_form(true);
}

/// Draws a logit for the hard-target test: mostly within ±86, where the
/// hard-target path serves it, and one in 500 beyond (up to ±1e4, ±∞),
/// so that some groups fall back to the general program.
fn random_hard_path_logit(rng: &mut ChaCha8Rng) -> f32 {
    if rng.random_bool(0.002) {
        return random_logit(rng);
    }
    let logit: f64 = match rng.random_range(0..8) {
        0 => rng.random_range(-86.0..86.0),
        1 => 0.0,
        2 => {
            10f64.powf(rng.random_range(-30.0..1.9)) * if rng.random_bool(0.5) { 1.0 } else { -1.0 }
        }
        _ => rng.random_range(-12.0..12.0),
    };
    logit as f32
}

/// Checks the hard-target path (every target 0 or 1, default options, and
/// `LogMin(−∞)` for probabilities): per-element costs, gradients of the
/// mean, and the mean, against the oracle. One group in about 50 holds a
/// soft target, so that the general program runs next to it.
fn hard_accuracy_of_form(probs: bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 0x4a2d ^ u64::from(probs));
    let half = ACCURACY_LEN / 2;
    let clamps = [ProbClamp::PYTORCH, ProbClamp::LogMin(f64::NEG_INFINITY)];
    let mut report = UlpReport::default();
    let mut reduced = UlpReport::default();
    for clamp in clamps {
        let values: Vec<f32> = (0..half)
            .map(|_| {
                if probs {
                    random_prob(&mut rng)
                } else {
                    random_hard_path_logit(&mut rng)
                }
            })
            .collect();
        let targets: Vec<f32> = (0..half)
            .map(|_| {
                if rng.random_bool(0.0003) {
                    rng.random::<f32>()
                } else if rng.random_bool(0.5) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let options = Options::new().clamp(clamp);
        let none = options.reduction(Reduction::None);
        let (result, loss_only, oracle, oracle_mean) = if probs {
            (
                binary_cross_entropy_grad(&values, &targets, &options),
                binary_cross_entropy(&values, &targets, &none),
                reference_probs(&values, &targets, &none),
                reference_probs(&values, &targets, &options),
            )
        } else {
            (
                binary_cross_entropy_with_logits_grad(&values, &targets, &options),
                binary_cross_entropy_with_logits(&values, &targets, &none),
                reference_logits(&values, &targets, &none),
                reference_logits(&values, &targets, &options),
            )
        };
        let (Ok(result), Ok(loss_only), Ok(oracle), Ok(oracle_mean)) =
            (result, loss_only, oracle, oracle_mean)
        else {
            panic!("valid random inputs with hard targets were rejected");
        };
        for (i, (&value, &target)) in values.iter().zip(&targets).enumerate() {
            let input = (value, target);
            report.check("cost", i, input, costs_of(&loss_only)[i], oracle.costs[i]);
            report.check(
                "grad of the mean",
                i,
                input,
                result.grad[i],
                oracle_mean.grad[i],
            );
        }
        let Loss::Reduced(mean) = result.loss else {
            panic!("the mean returned per-element costs");
        };
        reduced.check("mean", 0, (f32::NAN, f32::NAN), mean, oracle_mean.reduced);
    }
    let label = if probs {
        "probs, hard targets"
    } else {
        "logits, hard targets"
    };
    report.assert_clean(label);
    reduced.assert_clean(&format!("{label}, mean"));
}

#[test]
fn kernels_hard_targets_logits_within_ulps() {
    hard_accuracy_of_form(false);
}

#[test]
fn kernels_hard_targets_probs_within_ulps() {
    hard_accuracy_of_form(true);
}

/// Every length up to two chunks and a half, with hard targets: the
/// partial groups and the padded rest of a block take the hard-target path
/// too, and must write exactly their own elements.
#[test]
fn kernels_hard_targets_every_short_length() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 0x5407);
    let mut report = UlpReport::default();
    for len in 1..=160 {
        let logits: Vec<f32> = (0..len).map(|_| random_hard_path_logit(&mut rng)).collect();
        let probs: Vec<f32> = (0..len).map(|_| random_prob(&mut rng)).collect();
        let targets: Vec<f32> = (0..len)
            .map(|_| f32::from(u8::from(rng.random_bool(0.5))))
            .collect();
        let none = Options::new().reduction(Reduction::None);
        let mean = Options::new();
        let results = [
            (
                "logits",
                &logits,
                binary_cross_entropy_with_logits(&logits, &targets, &none),
                binary_cross_entropy_with_logits_grad(&logits, &targets, &mean),
                reference_logits(&logits, &targets, &none),
                reference_logits(&logits, &targets, &mean),
            ),
            (
                "probs",
                &probs,
                binary_cross_entropy(&probs, &targets, &none),
                binary_cross_entropy_grad(&probs, &targets, &mean),
                reference_probs(&probs, &targets, &none),
                reference_probs(&probs, &targets, &mean),
            ),
        ];
        for (form, values, costs, with_grad, oracle, oracle_mean) in results {
            let (Ok(costs), Ok(with_grad), Ok(oracle), Ok(oracle_mean)) =
                (costs, with_grad, oracle, oracle_mean)
            else {
                panic!("{form}, length {len}: valid inputs were rejected");
            };
            let costs = costs_of(&costs);
            assert_eq!(costs.len(), len, "{form}, length {len}: cost count");
            assert_eq!(
                with_grad.grad.len(),
                len,
                "{form}, length {len}: gradient count"
            );
            for i in 0..len {
                let input = (values[i], targets[i]);
                report.check(form, i, input, costs[i], oracle.costs[i]);
                report.check(form, i, input, with_grad.grad[i], oracle_mean.grad[i]);
            }
            let Loss::Reduced(actual) = with_grad.loss else {
                panic!("{form}, length {len}: the mean returned per-element costs");
            };
            report.check(form, len, (f32::NAN, f32::NAN), actual, oracle_mean.reduced);
        }
    }
    report.assert_clean("hard targets, lengths 1 to 160");
}

/// Everything one call can return, for bit-for-bit comparison.
#[derive(Debug, PartialEq)]
struct Outcome {
    logits_sum: Vec<u32>,
    logits_none: Vec<u32>,
    logits_grad: Vec<u32>,
    probs_none: Vec<u32>,
    probs_mean: u32,
    logits_mean_f64: u64,
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Runs every form on seeded inputs of `len` (a length with a tail).
fn outcome(len: usize) -> Outcome {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ len as u64);
    let logits: Vec<f32> = (0..len).map(|_| random_logit(&mut rng)).collect();
    let probs: Vec<f32> = (0..len).map(|_| random_prob(&mut rng)).collect();
    let targets: Vec<f32> = (0..len).map(|_| random_target(&mut rng)).collect();
    let wide: Vec<f64> = logits.iter().map(|&v| f64::from(v)).collect();
    let wide_targets: Vec<f64> = targets.iter().map(|&v| f64::from(v)).collect();
    let sum = Options::new()
        .reduction(Reduction::Sum)
        .label_smoothing(0.05);
    let none = Options::new().reduction(Reduction::None);

    let logits_sum = binary_cross_entropy_with_logits_grad(&logits, &targets, &sum);
    let weights: Vec<f32> = (0..len).map(|i| (i % 5) as f32 * 0.5).collect();
    let weighted = Options::new().reduction(Reduction::None).weights(&weights);
    let logits_none = binary_cross_entropy_with_logits(&logits, &targets, &weighted);
    let Ok(logits_none) = logits_none else {
        panic!("valid random inputs were rejected");
    };
    let probs_none = binary_cross_entropy(&probs, &targets, &none);
    let probs_mean = binary_cross_entropy(&probs, &targets, &Options::new());
    let logits_mean_f64 = binary_cross_entropy_with_logits(&wide, &wide_targets, &Options::new());
    let (
        Ok(logits_sum),
        Ok(probs_none),
        Ok(Loss::Reduced(probs_mean)),
        Ok(Loss::Reduced(f64_mean)),
    ) = (logits_sum, probs_none, probs_mean, logits_mean_f64)
    else {
        panic!("valid random inputs were rejected");
    };
    Outcome {
        logits_sum: vec![logits_sum.loss.reduced().unwrap_or(f32::NAN).to_bits()],
        logits_grad: bits(&logits_sum.grad),
        logits_none: bits(logits_none.per_element().unwrap_or_default()),
        probs_none: bits(probs_none.per_element().unwrap_or_default()),
        probs_mean: probs_mean.to_bits(),
        logits_mean_f64: f64_mean.to_bits(),
    }
}

/// Lengths: below one group, a block with a tail, and past the parallel
/// threshold with a tail.
const LENGTHS: [usize; 3] = [13, 4_099, bce::PARALLEL_MIN * 3 + 5];

#[test]
fn kernels_every_isa_identical() {
    // Paths this test must cover on this architecture; a missing one fails
    // the test. BCE_REQUIRE_AVX512=1 adds AVX-512 (for CI on AVX-512 hosts).
    let mut required = vec![Isa::Portable];
    if cfg!(target_arch = "x86_64") {
        required.push(Isa::Avx2Fma);
        if std::env::var("BCE_REQUIRE_AVX512").is_ok_and(|v| v == "1") {
            required.push(Isa::Avx512);
        }
    }
    let missing: Vec<Isa> = required
        .iter()
        .copied()
        .filter(|isa| !isa.is_available())
        .collect();
    assert!(
        missing.is_empty(),
        "required instruction sets missing on this CPU: {missing:?}"
    );

    for len in LENGTHS {
        let expected = outcome(len);
        let mut ran = Vec::new();
        for isa in Isa::ALL {
            let Some(actual) = with_isa(isa, || outcome(len)) else {
                eprintln!("len {len}: {isa} not available on this CPU, not run");
                continue;
            };
            assert!(
                actual == expected,
                "len {len}: path {isa} differs from the detected path {}",
                Isa::detected()
            );
            ran.push(isa.to_string());
        }
        eprintln!("len {len}: paths run: {}", ran.join(", "));
    }
}

#[test]
fn kernels_every_thread_count_identical() {
    let len = LENGTHS[2];
    let expected = outcome(len);
    for threads in [1, 2, 3, 4, 7] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|error| panic!("cannot build a pool of {threads}: {error}"));
        let actual = pool.install(|| outcome(len));
        assert!(
            actual == expected,
            "len {len}: {threads} threads differ from the default pool"
        );
    }
}

#[test]
fn kernels_first_invalid_named_in_parallel() {
    let len = bce::PARALLEL_MIN * 4;
    let mut logits = vec![0.5_f32; len];
    let mut targets = vec![1.0_f32; len];
    let late = len - 3;
    let early = bce::PARALLEL_MIN * 2 + 7;
    targets[late] = 2.0;
    logits[early] = f32::NAN;
    targets[early + 1] = -1.0;

    let error = binary_cross_entropy_with_logits(&logits, &targets, &Options::new());
    let expected = BceError::NotANumber {
        operand: Operand::Logits,
        index: early,
    };
    assert!(
        error == Err(expected.clone()),
        "expected {expected:?}, got {error:?}"
    );

    logits[early] = 0.5;
    let error = binary_cross_entropy_with_logits_grad(&logits, &targets, &Options::new());
    let expected = BceError::TargetOutOfRange {
        index: early + 1,
        value: -1.0,
    };
    assert!(
        error.as_ref().err() == Some(&expected),
        "expected {expected:?}, got {:?}",
        error.err()
    );

    // Label smoothing of 0.5 maps the target 1.5 to 1.0, inside [0, 1]: the
    // check must still see 1.5.
    targets[early + 1] = 1.0;
    targets[early + 2] = 1.5;
    let smoothed = Options::new().label_smoothing(0.5);
    let error = binary_cross_entropy_with_logits(&logits, &targets, &smoothed);
    let expected = BceError::TargetOutOfRange {
        index: early + 2,
        value: 1.5,
    };
    assert!(
        error == Err(expected.clone()),
        "expected {expected:?}, got {error:?}"
    );
    targets[early + 2] = 1.0;

    let probs = vec![0.5_f32; len];
    let mut weights = vec![1.0_f32; len];
    weights[late - 1] = -0.5;
    let options = Options::new().weights(&weights);
    targets[early + 1] = 1.0;
    let error = binary_cross_entropy_grad(&probs, &targets, &options);
    let expected = BceError::InvalidWeight {
        operand: Operand::Weights,
        index: late - 1,
        value: -0.5,
    };
    assert!(
        error.as_ref().err() == Some(&expected),
        "expected {expected:?}, got {:?}",
        error.err()
    );
}

/// A cost of exactly 0 is +0, never −0: −(y·log h + (1−y)·log(1−h)) gives
/// −0 when both logs are 0.
#[test]
fn kernels_zero_cost_positive() {
    let probs = [0.0_f32, 1.0, 1.0];
    let targets = [0.0_f32, 1.0, 1.0];
    let none = Options::new().reduction(Reduction::None);
    let wide_probs: Vec<f64> = probs.iter().map(|&v| f64::from(v)).collect();
    let wide_targets: Vec<f64> = targets.iter().map(|&v| f64::from(v)).collect();
    let logits = [f32::NEG_INFINITY, f32::INFINITY, f32::INFINITY];

    let narrow = [
        ("probs f32", binary_cross_entropy(&probs, &targets, &none)),
        (
            "probs f32 with gradient",
            binary_cross_entropy_grad(&probs, &targets, &none).map(|result| result.loss),
        ),
        (
            "logits f32",
            binary_cross_entropy_with_logits(&logits, &targets, &none),
        ),
    ];
    for (label, result) in narrow {
        let Ok(loss) = result else {
            panic!("{label}: valid inputs were rejected: {result:?}");
        };
        let costs = costs_of(&loss);
        for (i, cost) in costs.iter().enumerate() {
            assert!(
                cost.to_bits() == 0,
                "{label}, element {i}: expected +0, got {cost:?}"
            );
        }
    }
    let wide_none = Options::new().reduction(Reduction::None);
    let wide = binary_cross_entropy(&wide_probs, &wide_targets, &wide_none);
    let Ok(Loss::PerElement(costs)) = wide else {
        panic!("probs f64: expected per-element costs, got {wide:?}");
    };
    for (i, cost) in costs.iter().enumerate() {
        assert!(
            cost.to_bits() == 0,
            "probs f64, element {i}: expected +0, got {cost:?}"
        );
    }
}
