//! The new vectors that the kernels return (gradients, and per-element
//! costs) hold only values the pass wrote. Every allocation of this test
//! binary is filled with `0xFF` bytes, a NaN pattern for `f32` and `f64`,
//! so an element that a block skips shows up as NaN instead of as a zero
//! that happens to be right.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};

use bce::{
    Float, Loss, Options, PosWeight, Reduction, binary_cross_entropy_grad,
    binary_cross_entropy_grad_into, binary_cross_entropy_with_logits_grad,
    binary_cross_entropy_with_logits_grad_into,
};
use common::{close, exact_for, reference_logits, reference_probs};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The system allocator, filling each new block with `0xFF`.
struct PoisoningAllocator;

// SAFETY: every call goes to `System`, and the fill writes only inside the
// block that `System` returned.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for PoisoningAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let block = unsafe { System.alloc(layout) };
        if !block.is_null() {
            // SAFETY: `block` is a fresh allocation of `layout.size()` bytes.
            unsafe { block.write_bytes(0xFF, layout.size()) };
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: `block` came from `alloc` above with this layout.
        unsafe { System.dealloc(block, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: PoisoningAllocator = PoisoningAllocator;

const SEED: u64 = 0x0f2e_5400;

/// Lengths around the edges of a group (16), a block (4096) and the
/// parallel threshold, where a chunk could be cut short.
fn lengths() -> Vec<usize> {
    let parallel = bce::PARALLEL_MIN;
    vec![
        1,
        16,
        17,
        4095,
        4096,
        4097,
        parallel - 1,
        parallel,
        parallel + 1,
        3 * parallel + 4095,
    ]
}

/// Seeded logits, probabilities and hard or soft targets.
fn inputs<T: Float>(len: usize, hard: bool) -> (Vec<T>, Vec<T>, Vec<T>) {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ len as u64 ^ u64::from(hard));
    let logits = (0..len)
        .map(|_| T::from_f64(rng.random_range(-20.0..20.0)))
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

/// Option sets that reach each program: the hard-target path, `pos_weight`,
/// and per-element costs (a new cost vector) with and without smoothing.
fn option_sets<'a, T: Float>() -> [Options<'a, T>; 4] {
    [
        Options::new(),
        Options::new()
            .reduction(Reduction::Sum)
            .pos_weight(PosWeight::Scalar(T::from_f64(3.0))),
        Options::new().reduction(Reduction::None),
        Options::new()
            .reduction(Reduction::None)
            .label_smoothing(0.05),
    ]
}

/// Checks a new gradient bit for bit against the one written into a zeroed
/// buffer, and per-element costs against the `f64` oracle.
fn check_outputs<T: Float>(
    case: &str,
    (loss, grad): (&Loss<T>, &[T]),
    into_grad: &[T],
    expected_costs: &[f64],
) {
    assert_eq!(grad.len(), into_grad.len(), "{case}: gradient length");
    for (index, (new, into)) in grad.iter().zip(into_grad).enumerate() {
        assert!(
            new.to_f64().to_bits() == into.to_f64().to_bits(),
            "{case}: gradient element {index} is {new} in the new vector, {into} in the buffer"
        );
    }
    if let Loss::PerElement(costs) = loss {
        assert_eq!(costs.len(), expected_costs.len(), "{case}: cost count");
        for (index, (cost, expected)) in costs.iter().zip(expected_costs).enumerate() {
            assert!(
                close(cost.to_f64(), *expected, exact_for::<T>()),
                "{case}: cost {index} is {cost}, the oracle gives {expected}"
            );
        }
    }
}

fn new_vectors_are_written<T: Float>() {
    for len in lengths() {
        for hard in [true, false] {
            let (logits, probs, targets) = inputs::<T>(len, hard);
            for options in option_sets::<T>() {
                let case = format!("{len} elements, hard targets {hard}, {options:?}");
                let mut into_grad = vec![T::from_f64(0.0); len];

                let new = binary_cross_entropy_with_logits_grad(&logits, &targets, &options)
                    .unwrap_or_else(|error| panic!("{case}: logits rejected: {error}"));
                binary_cross_entropy_with_logits_grad_into(
                    &logits,
                    &targets,
                    &options,
                    &mut into_grad,
                )
                .unwrap_or_else(|error| panic!("{case}: logits rejected: {error}"));
                let oracle = reference_logits(&logits, &targets, &options)
                    .unwrap_or_else(|error| panic!("{case}: the oracle rejected: {error}"));
                check_outputs(
                    &format!("logits, {case}"),
                    (&new.loss, &new.grad),
                    &into_grad,
                    &oracle.costs,
                );

                let new = binary_cross_entropy_grad(&probs, &targets, &options)
                    .unwrap_or_else(|error| panic!("{case}: probabilities rejected: {error}"));
                binary_cross_entropy_grad_into(&probs, &targets, &options, &mut into_grad)
                    .unwrap_or_else(|error| panic!("{case}: probabilities rejected: {error}"));
                let oracle = reference_probs(&probs, &targets, &options)
                    .unwrap_or_else(|error| panic!("{case}: the oracle rejected: {error}"));
                check_outputs(
                    &format!("probabilities, {case}"),
                    (&new.loss, &new.grad),
                    &into_grad,
                    &oracle.costs,
                );
            }
        }
    }
}

#[test]
fn fresh_outputs_written_f32() {
    new_vectors_are_written::<f32>();
}

#[test]
fn fresh_outputs_written_f64() {
    new_vectors_are_written::<f64>();
}
