//! The `_grad_into` entry points: the same loss and gradient as the
//! allocating forms, bit for bit, written over whatever the buffer held,
//! within tolerance of the oracle, and a length check on the buffer.

mod common;

use bce::{
    BceError, Float, Loss, Operand, Options, PosWeight, Reduction, binary_cross_entropy_grad,
    binary_cross_entropy_grad_into, binary_cross_entropy_with_logits_grad,
    binary_cross_entropy_with_logits_grad_into,
};
use common::{close, exact_for, reference_logits, reference_probs};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEED: u64 = 0x0bce_1270;

/// Lengths: one partial group, a tail, and one past the parallel threshold.
const LENGTHS: [usize; 3] = [5, 1_000, bce::PARALLEL_MIN + 77];

/// Seeded logits in `[−12, 12)`, probabilities in `[0, 1)`, and targets:
/// hard when `hard`, else soft.
fn inputs<T: Float>(len: usize, hard: bool) -> (Vec<T>, Vec<T>, Vec<T>) {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ len as u64 ^ u64::from(hard));
    let logits = (0..len)
        .map(|_| T::from_f64(rng.random_range(-12.0..12.0)))
        .collect();
    let probs = (0..len).map(|_| T::from_f64(rng.random::<f64>())).collect();
    let targets = (0..len)
        .map(|_| {
            let target = if hard {
                f64::from(u8::from(rng.random_bool(0.5)))
            } else {
                rng.random::<f64>()
            };
            T::from_f64(target)
        })
        .collect();
    (logits, probs, targets)
}

/// Option sets: the defaults (the hard-target path for `f32`), a sum with
/// `pos_weight`, per-element costs with label smoothing.
fn option_sets<'a, T: Float>() -> [Options<'a, T>; 3] {
    [
        Options::new(),
        Options::new()
            .reduction(Reduction::Sum)
            .pos_weight(PosWeight::Scalar(T::from_f64(2.0))),
        Options::new()
            .reduction(Reduction::None)
            .label_smoothing(0.1),
    ]
}

/// Compares bit patterns through `f64`, so that `−0.0` and `0.0` differ.
fn bits<T: Float>(values: &[T]) -> Vec<u64> {
    values.iter().map(|v| v.to_f64().to_bits()).collect()
}

fn loss_bits<T: Float>(loss: &Loss<T>) -> Vec<u64> {
    match loss {
        Loss::Reduced(value) => vec![value.to_f64().to_bits()],
        Loss::PerElement(values) => bits(values),
    }
}

fn matches_allocating_form<T: Float>() {
    for len in LENGTHS {
        for hard in [true, false] {
            let (logits, probs, targets) = inputs::<T>(len, hard);
            for options in option_sets::<T>() {
                let case = format!("len {len}, hard targets {hard}, {options:?}");
                // A buffer that held something else: every element must be
                // written.
                let mut grad = vec![T::from_f64(f64::NAN); len];

                let into = binary_cross_entropy_with_logits_grad_into(
                    &logits, &targets, &options, &mut grad,
                );
                let allocated = binary_cross_entropy_with_logits_grad(&logits, &targets, &options);
                let (Ok(loss), Ok(expected)) = (into, allocated) else {
                    panic!("{case}: valid logits were rejected");
                };
                assert_eq!(
                    loss_bits(&loss),
                    loss_bits(&expected.loss),
                    "{case}: logits loss differs from the allocating form"
                );
                assert_eq!(
                    bits(&grad),
                    bits(&expected.grad),
                    "{case}: logits gradient differs from the allocating form"
                );

                let into = binary_cross_entropy_grad_into(&probs, &targets, &options, &mut grad);
                let allocated = binary_cross_entropy_grad(&probs, &targets, &options);
                let (Ok(loss), Ok(expected)) = (into, allocated) else {
                    panic!("{case}: valid probabilities were rejected");
                };
                assert_eq!(
                    loss_bits(&loss),
                    loss_bits(&expected.loss),
                    "{case}: probs loss differs from the allocating form"
                );
                assert_eq!(
                    bits(&grad),
                    bits(&expected.grad),
                    "{case}: probs gradient differs from the allocating form"
                );
            }
        }
    }
}

#[test]
fn grad_into_matches_allocating_f32() {
    matches_allocating_form::<f32>();
}

#[test]
fn grad_into_matches_allocating_f64() {
    matches_allocating_form::<f64>();
}

fn matches_oracle<T: Float>() {
    let tolerance = exact_for::<T>();
    for len in LENGTHS {
        for hard in [true, false] {
            let (logits, probs, targets) = inputs::<T>(len, hard);
            let options = Options::new();
            let mut grad = vec![T::from_f64(0.0); len];

            let result =
                binary_cross_entropy_with_logits_grad_into(&logits, &targets, &options, &mut grad);
            let oracle = reference_logits(&logits, &targets, &options);
            let (Ok(Loss::Reduced(mean)), Ok(oracle)) = (result, oracle) else {
                panic!("len {len}: valid logits were rejected");
            };
            assert!(
                close(mean.to_f64(), oracle.reduced, tolerance),
                "logits, len {len}, hard targets {hard}: mean expected {:e}, got {mean}",
                oracle.reduced
            );
            for (i, (actual, expected)) in grad.iter().zip(&oracle.grad).enumerate() {
                assert!(
                    close(actual.to_f64(), *expected, tolerance),
                    "logits, len {len}, hard targets {hard}, element {i} (logit {}, target {}): \
                     gradient expected {expected:e}, got {actual}",
                    logits[i],
                    targets[i]
                );
            }

            let result = binary_cross_entropy_grad_into(&probs, &targets, &options, &mut grad);
            let oracle = reference_probs(&probs, &targets, &options);
            let (Ok(Loss::Reduced(mean)), Ok(oracle)) = (result, oracle) else {
                panic!("len {len}: valid probabilities were rejected");
            };
            assert!(
                close(mean.to_f64(), oracle.reduced, tolerance),
                "probs, len {len}, hard targets {hard}: mean expected {:e}, got {mean}",
                oracle.reduced
            );
            for (i, (actual, expected)) in grad.iter().zip(&oracle.grad).enumerate() {
                assert!(
                    close(actual.to_f64(), *expected, tolerance),
                    "probs, len {len}, hard targets {hard}, element {i} (prob {}, target {}): \
                     gradient expected {expected:e}, got {actual}",
                    probs[i],
                    targets[i]
                );
            }
        }
    }
}

#[test]
fn grad_into_matches_oracle_f32() {
    matches_oracle::<f32>();
}

#[test]
fn grad_into_matches_oracle_f64() {
    matches_oracle::<f64>();
}

#[test]
fn grad_into_wrong_length_rejected() {
    let values = [0.25_f32, 0.5, 0.75];
    let targets = [0.0_f32, 1.0, 1.0];
    let options = Options::new();
    for grad_len in [0, 2, 4] {
        let mut grad = vec![0.0_f32; grad_len];
        let expected_logits = BceError::GradLength {
            values: Operand::Logits,
            len: 3,
            grad_len,
        };
        let result =
            binary_cross_entropy_with_logits_grad_into(&values, &targets, &options, &mut grad);
        assert_eq!(
            result.as_ref().err(),
            Some(&expected_logits),
            "logits with a gradient buffer of {grad_len}: expected {expected_logits:?}, got {result:?}"
        );
        let expected_probs = BceError::GradLength {
            values: Operand::Probs,
            len: 3,
            grad_len,
        };
        let result = binary_cross_entropy_grad_into(&values, &targets, &options, &mut grad);
        assert_eq!(
            result.as_ref().err(),
            Some(&expected_probs),
            "probs with a gradient buffer of {grad_len}: expected {expected_probs:?}, got {result:?}"
        );
        let message = expected_probs.to_string();
        assert!(
            message.contains(&format!("{grad_len} elements")) && message.contains("probs has 3"),
            "message names both lengths: {message}"
        );
    }
}

#[test]
fn grad_into_invalid_value_named() {
    let values = [0.25_f32, f32::NAN, 0.75];
    let targets = [0.0_f32, 1.0, 1.0];
    let mut grad = [0.0_f32; 3];
    let result =
        binary_cross_entropy_with_logits_grad_into(&values, &targets, &Options::new(), &mut grad);
    let expected = BceError::NotANumber {
        operand: Operand::Logits,
        index: 1,
    };
    assert_eq!(
        format!("{:?}", result.as_ref().err()),
        format!("{:?}", Some(&expected)),
        "NaN logit at index 1: expected {expected:?}, got {result:?}"
    );
}
