//! Adversarial inputs for the hard-target sums of the `f32` mean and sum.
//! These take each lane's costs in a chunk as the log of their product.
//! Each case runs the loss, `_grad` and `_grad_into` forms on every
//! instruction set of the CPU in rayon pools of 1 and 2 threads. Results
//! must be bit-identical across all of those, within `F32_ULPS` of the
//! `f64` oracle rounded to `f32`, and invalid inputs must return the
//! oracle's error.

mod common;

use bce::dispatch::{Isa, with_isa};
use bce::{BceError, Loss, Options, PARALLEL_MIN, ProbClamp, Reduction};
use common::tolerance::F32_ULPS;
use common::{EntryResults, Form, call_entry_points, ulps_f32};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SUMS: [Reduction; 2] = [Reduction::Sum, Reduction::Mean];

/// Reduced cost and gradient of one run, or its error.
type Outcome = Result<(f32, Vec<f32>), BceError>;

/// Bits of an [`Outcome`], with the error as its debug text.
type OutcomeBits = Result<(u32, Vec<u32>), String>;

fn reduced(loss: &Loss<f32>) -> f32 {
    match loss {
        Loss::Reduced(value) => *value,
        Loss::PerElement(_) => panic!("expected a reduced loss for Sum or Mean"),
    }
}

/// Runs the three entry points, checks that their losses and gradients
/// agree bit for bit, and returns the fused result.
fn run_entry_points(
    case: &str,
    form: Form,
    values: &[f32],
    targets: &[f32],
    options: &Options<'_, f32>,
) -> Outcome {
    let mut into = vec![f32::NAN; values.len()];
    let EntryResults {
        loss,
        fused,
        into_loss,
    } = call_entry_points(form, (values, targets), options, &mut into);
    let fused = match fused {
        Ok(fused) => fused,
        Err(error) => {
            // Debug text, because an error that carries a NaN floor is not
            // equal to itself.
            let expected = Some(format!("{error:?}"));
            let loss_error = loss.err().map(|error| format!("{error:?}"));
            assert_eq!(loss_error, expected, "{case}: loss-only error");
            let into_error = into_loss.err().map(|error| format!("{error:?}"));
            assert_eq!(into_error, expected, "{case}: _grad_into error");
            return Err(error);
        }
    };

    let cost = reduced(&fused.loss);
    let (Ok(loss), Ok(into_loss)) = (loss, into_loss) else {
        panic!("{case}: the fused form succeeded but another entry point failed");
    };
    let (loss, into_loss) = (reduced(&loss), reduced(&into_loss));
    assert_eq!(
        loss.to_bits(),
        cost.to_bits(),
        "{case}: loss-only {loss:e} differs from _grad {cost:e}"
    );
    assert_eq!(
        into_loss.to_bits(),
        cost.to_bits(),
        "{case}: _grad_into loss {into_loss:e} differs from _grad {cost:e}"
    );

    let into_bits: Vec<u32> = into.iter().map(|g| g.to_bits()).collect();
    let fused_bits: Vec<u32> = fused.grad.iter().map(|g| g.to_bits()).collect();
    assert!(
        into_bits == fused_bits,
        "{case}: _grad_into gradient differs"
    );
    Ok((cost, fused.grad))
}

fn bits_of(outcome: &Outcome) -> OutcomeBits {
    match outcome {
        Ok((cost, grad)) => Ok((cost.to_bits(), grad.iter().map(|g| g.to_bits()).collect())),
        Err(error) => Err(format!("{error:?}")),
    }
}

/// Checks one case under Sum and Mean on every instruction set and in
/// pools of 1 and 2 threads.
fn check_case(label: &str, form: Form, values: &[f32], targets: &[f32]) {
    for reduction in SUMS {
        let options = form.options(reduction);
        let oracle = form.oracle(values, targets, &options);
        let mut first: Option<(String, OutcomeBits)> = None;
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap_or_else(|error| {
                    panic!("failed to build a rayon pool of {threads} threads: {error}")
                });
            for isa in Isa::available() {
                let case = format!(
                    "{label}, length {}, {form:?}, {reduction:?}, {isa}, {threads} threads",
                    values.len()
                );
                let run = || {
                    with_isa(isa, || {
                        run_entry_points(&case, form, values, targets, &options)
                    })
                };
                let Some(outcome) = pool.install(run) else {
                    panic!("{case}: listed as available but not run");
                };
                let bits = bits_of(&outcome);
                match &first {
                    None => first = Some((case.clone(), bits)),
                    Some((base, expected)) => {
                        assert!(bits == *expected, "{case}: bits differ from {base}");
                    }
                }
                check_against_oracle(&case, &outcome, &oracle, values, targets);
            }
        }
    }
}

fn check_against_oracle(
    case: &str,
    outcome: &Outcome,
    oracle: &Result<bce::reference::Evaluation, BceError>,
    values: &[f32],
    targets: &[f32],
) {
    let ((cost, grad), oracle) = match (outcome, oracle) {
        (Ok(result), Ok(oracle)) => (result, oracle),
        (Err(error), Err(expected)) => {
            let (error, expected) = (format!("{error:?}"), format!("{expected:?}"));
            assert_eq!(error, expected, "{case}: error differs from the oracle's");
            return;
        }
        (actual, expected) => {
            panic!("{case}: got {actual:?}, oracle {expected:?}");
        }
    };
    let expected = oracle.reduced as f32;
    let distance = ulps_f32(*cost, expected);
    assert!(
        distance <= F32_ULPS,
        "{case}: reduced cost expected {expected:e} ({:e} in f64), got {cost:e}, {distance} ulp",
        oracle.reduced
    );
    for (i, (&actual, &expected)) in grad.iter().zip(&oracle.grad).enumerate() {
        let expected = expected as f32;
        let distance = ulps_f32(actual, expected);
        assert!(
            distance <= F32_ULPS,
            "{case}: grad {i} of input ({:e}, {}) expected {expected:e}, got {actual:e}, \
             {distance} ulp",
            values[i],
            targets[i]
        );
    }
}

/// Every probability clamp the sums treat differently: the product form
/// up to a floor of −88, the per-element form above it.
const CLAMPS: [ProbClamp; 12] = [
    ProbClamp::PYTORCH,
    ProbClamp::LogMin(f64::NEG_INFINITY),
    ProbClamp::LogMin(-88.0),
    ProbClamp::LogMin(-87.99),
    ProbClamp::LogMin(-87.0),
    ProbClamp::LogMin(-5.0),
    ProbClamp::LogMin(-1000.0),
    ProbClamp::LogMin(0.0),
    ProbClamp::LogMin(-0.0),
    ProbClamp::Epsilon(0.0),
    ProbClamp::KERAS,
    ProbClamp::Epsilon(0.5),
];

fn check_probs(label: &str, probs: &[f32], targets: &[f32]) {
    for clamp in CLAMPS {
        check_case(label, Form::Probs(clamp), probs, targets);
    }
}

/// Lengths of one and several groups, padded rests, chunk multiples.
fn lengths() -> impl Iterator<Item = usize> {
    (1..=70).chain([96, 127, 128, 129, 193, 200, 4096])
}

#[test]
fn sums_all_lost_probabilities() {
    // Four lost probabilities in a lane: exponent −508.
    for len in lengths() {
        let ones = vec![1.0_f32; len];
        let zeros = vec![0.0_f32; len];
        check_probs("h = 0, target 1", &zeros, &ones);
        check_probs("h = 1, target 0", &ones, &zeros);
    }
}

#[test]
fn sums_smallest_normal_with_lost() {
    let smallest = f32::MIN_POSITIVE;
    for len in lengths() {
        let ones = vec![1.0_f32; len];
        let bottom = vec![smallest; len];
        check_probs("h = MIN_POSITIVE, target 1", &bottom, &ones);
        // Each lane mixes lost and bottom-of-range probabilities.
        let mixed: Vec<f32> = (0..len)
            .map(|i| if (i / 16) % 2 == 0 { 0.0 } else { smallest })
            .collect();
        check_probs("lost and MIN_POSITIVE, target 1", &mixed, &ones);
    }
}

#[test]
fn sums_subnormal_probs_target_zero() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xa77a_c401);
    for len in lengths() {
        let zeros = vec![0.0_f32; len];
        let subnormal: Vec<f32> = (0..len)
            .map(|_| f32::from_bits(rng.random_range(1..0x0080_0000)))
            .collect();
        check_probs("subnormal h, target 0", &subnormal, &zeros);
        let tiny_normal: Vec<f32> = (0..len)
            .map(|_| f32::from_bits(rng.random_range(0x0080_0000..0x0100_0000)))
            .collect();
        check_probs("h in the lowest binade, target 0", &tiny_normal, &zeros);
    }
}

#[test]
fn sums_near_one_and_lost() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xa77a_c402);
    for len in lengths() {
        let ones = vec![1.0_f32; len];
        let near_one: Vec<f32> = (0..len)
            .map(|i| {
                if i % 13 == 6 {
                    0.0
                } else {
                    1.0 - rng.random_range(1..8) as f32 * 2f32.powi(-24)
                }
            })
            .collect();
        check_probs("near 1 with lost, target 1", &near_one, &ones);
    }
}

#[test]
fn sums_one_huge_many_tiny_per_lane() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xa77a_c403);
    for len in lengths() {
        // The first 16 elements of each chunk cost 60 to 86, and the three
        // elements that share a lane with each cost below 2^-24.
        let (logits, targets): (Vec<f32>, Vec<f32>) = (0..len)
            .map(|i| {
                let x = if i % 64 < 16 {
                    rng.random_range(60.0..86.0)
                } else {
                    rng.random_range(17.0..86.0)
                };
                let positive = rng.random_bool(0.5);
                let wrong = i % 64 < 16;
                let logit = if positive { x } else { -x };
                (logit, f32::from(u8::from(positive != wrong)))
            })
            .unzip();
        check_case(
            "one large, three tiny per lane",
            Form::Logits,
            &logits,
            &targets,
        );
        let probs: Vec<f32> = (0..len)
            .map(|i| {
                if i % 64 < 16 {
                    f32::MIN_POSITIVE * rng.random_range(1.0..2.0)
                } else {
                    1.0 - 2f32.powi(-24)
                }
            })
            .collect();
        check_probs("one large, three tiny per lane", &probs, &vec![1.0; len]);
    }
}

#[test]
fn sums_negative_zero_and_soft_targets() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xa77a_c404);
    for len in lengths() {
        let targets: Vec<f32> = (0..len)
            .map(|i| match i % 5 {
                0 => -0.0,
                1 | 3 => 1.0,
                _ => 0.0,
            })
            .collect();
        let probs: Vec<f32> = (0..len).map(|_| rng.random::<f32>()).collect();
        let logits: Vec<f32> = (0..len).map(|_| rng.random_range(-86.0..86.0)).collect();
        check_probs("-0.0 targets", &probs, &targets);
        check_case("-0.0 targets", Form::Logits, &logits, &targets);
        let mut soft = targets.clone();
        soft[len / 2] = 0.5;
        check_probs("one soft target", &probs, &soft);
        check_case("one soft target", Form::Logits, &logits, &soft);
    }
}

#[test]
fn sums_huge_floor_does_not_overflow() {
    // Two lost probabilities in one lane with a floor of −3e38 cost 6e38
    // in f64, beyond f32::MAX, but their mean over 17 elements is finite.
    let mut probs = vec![0.5_f32; 17];
    let targets = vec![1.0_f32; 17];
    probs[0] = 0.0;
    probs[16] = 0.0;
    for floor in [-3e38, -2e38, -1e38] {
        check_case(
            "two lost in lane 0",
            Form::Probs(ProbClamp::LogMin(floor)),
            &probs,
            &targets,
        );
    }
}

#[test]
fn sums_floor_beyond_f32_range() {
    // A floor of −1e39 rounds to −∞ in f32, but the mean of one lost
    // probability and two others over 3 elements is 3.3e38, below f32::MAX.
    let probs = [0.0_f32, 0.5, 0.5];
    let targets = [1.0_f32; 3];
    check_case(
        "one lost of three",
        Form::Probs(ProbClamp::LogMin(-1e39)),
        &probs,
        &targets,
    );
}

#[test]
fn sums_around_parallel_threshold() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xa77a_c405);
    for len in [PARALLEL_MIN - 1, PARALLEL_MIN, PARALLEL_MIN + 17] {
        let targets: Vec<f32> = (0..len)
            .map(|_| f32::from(u8::from(rng.random_bool(0.5))))
            .collect();
        let probs: Vec<f32> = (0..len)
            .map(|i| {
                if i % 97 == 3 {
                    0.0
                } else {
                    rng.random::<f32>()
                }
            })
            .collect();
        let logits: Vec<f32> = (0..len).map(|_| rng.random_range(-86.0..86.0)).collect();
        check_case("random", Form::Probs(ProbClamp::PYTORCH), &probs, &targets);
        check_case("random", Form::Logits, &logits, &targets);
    }
}

/// Lanes of four logits with target 0 whose costs, between 8e-9 and
/// 6e-3, share lane 0. The other elements cost 4e-38 each, so the sum is
/// the lane's. The product's low part spans several ulp here, and without
/// the log's `1 − r` factor on it such lanes summed up to 6 ulp off.
#[test]
fn sums_one_lane_of_small_logit_costs() {
    let lanes = [
        // 7.3943157e-3, which summed to 7.394318e-3 (5 ulp off).
        [-6.832_506_f32, -5.232_612_6, -6.915_912_6, -18.685_535],
        // 1.8052681e-3, which summed to 1.8052688e-3 (6 ulp off).
        [-9.166_628, -6.401_804, -10.588_506, -10.902_445],
    ];
    for lane in lanes {
        let logits: Vec<f32> = (0..49)
            .map(|i| if i % 16 == 0 { lane[i / 16] } else { -86.0 })
            .collect();
        let targets = vec![0.0_f32; logits.len()];
        let label = format!("lane 0 of {lane:?}");
        check_case(&label, Form::Logits, &logits, &targets);

        // The same lane in all 16 lanes of a chunk, so that the errors add.
        let logits: Vec<f32> = (0..64).map(|i| lane[i / 16]).collect();
        let targets = vec![0.0_f32; logits.len()];
        let label = format!("16 lanes of {lane:?}");
        check_case(&label, Form::Logits, &logits, &targets);
    }
}

/// Draws one probability of a kind the sums treat specially, with its
/// target.
fn draw_probability(rng: &mut ChaCha8Rng) -> (f32, f32) {
    let target = f32::from(u8::from(rng.random_bool(0.5)));
    let toward_target = |h: f32| if target == 1.0 { 1.0 - h } else { h };
    let away_from_target = |h: f32| if target == 1.0 { h } else { 1.0 - h };
    let prob = match rng.random_range(0..10) {
        0 => away_from_target(0.0),
        8 => toward_target(0.0),
        9 => -0.0,
        1 => away_from_target(f32::MIN_POSITIVE * rng.random_range(1.0..4.0)),
        2 => toward_target(rng.random_range(1..16) as f32 * 2f32.powi(-24)),
        3 => toward_target(10f64.powf(rng.random_range(-45.0..-7.0)) as f32),
        4 => away_from_target(10f64.powf(rng.random_range(-37.0..-1.0)) as f32),
        5 => f32::from_bits(rng.random_range(1..0x0080_0000)),
        _ => rng.random::<f32>(),
    };
    (prob, target)
}

/// Random mixtures of the special kinds at random lengths and clamps.
/// `ATTACK_ROUNDS` sets the number of rounds (default 40).
#[test]
fn sums_random_mixtures_of_extremes() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xa77a_c406);
    let rounds: usize = std::env::var("ATTACK_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(40);
    for round in 0..rounds {
        let len = rng.random_range(1..300);
        let (mut probs, targets): (Vec<f32>, Vec<f32>) =
            (0..len).map(|_| draw_probability(&mut rng)).unzip();
        // One round in 16 carries a NaN, whose error must name its index.
        if round % 16 == 15 {
            probs[rng.random_range(0..len)] = f32::NAN;
        }
        let clamp = CLAMPS[rng.random_range(0..CLAMPS.len())];
        check_case(
            &format!("round {round}"),
            Form::Probs(clamp),
            &probs,
            &targets,
        );
        let logits: Vec<f32> = (0..len)
            .map(|_| match rng.random_range(0..5) {
                0 => rng.random_range(-86.0..=86.0),
                4 => [
                    86.0,
                    -86.0,
                    86.00001,
                    -86.00001,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                ][rng.random_range(0..6)],
                1 => rng.random_range(15.0..=86.0),
                2 => -rng.random_range(15.0..=86.0),
                _ => rng.random_range(-2.0..2.0),
            })
            .collect();
        check_case(&format!("round {round}"), Form::Logits, &logits, &targets);
    }
}

#[test]
fn sums_invalid_floor_same_error() {
    let probs = vec![0.25_f32; 70];
    let targets = vec![1.0_f32; 70];
    for floor in [f64::NAN, 0.5, f64::INFINITY] {
        check_case(
            "invalid floor",
            Form::Probs(ProbClamp::LogMin(floor)),
            &probs,
            &targets,
        );
    }
    let mut soft = targets.clone();
    soft[33] = 1.5;
    check_case(
        "target above 1",
        Form::Probs(ProbClamp::PYTORCH),
        &probs,
        &soft,
    );
    check_case("target above 1", Form::Logits, &probs, &soft);
}
