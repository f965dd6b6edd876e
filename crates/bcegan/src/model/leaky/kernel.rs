//! LeakyReLU slice kernels on f32: the forward value and the input gradient, each in one pass
//! over memory, split across rayon's current thread pool for long slices.
//!
//! Every element is computed on its own, so the result does not depend on how the slice is
//! split or on the number of threads.

use rayon::prelude::*;

/// Slices shorter than this run on the calling thread. The size is an estimate: waking rayon's
/// workers takes microseconds, about as long as one thread's pass over 32,768 values.
pub(crate) const PARALLEL_MIN_LEN: usize = 1 << 15;

/// Elements per rayon task: 32 KiB of f32, a share large enough to amortise the scheduling.
const CHUNK_LEN: usize = 1 << 13;

/// Returns LeakyReLU of one value as burn 0.22.1 composes it: `value · slope` where
/// `value < 0`, else `value`. So -0 and NaN pass unchanged.
#[inline]
pub(crate) fn forward_value(value: f32, slope: f32) -> f32 {
    // The product is computed for every element, so the compiler can use a select instead of
    // a branch.
    let scaled = value * slope;
    if value < 0.0 { scaled } else { value }
}

/// Returns the gradient with respect to `value`, for an upstream gradient `upstream`, with the
/// bits that burn 0.22.1's autodiff produces for its composed LeakyReLU.
#[inline]
pub(crate) fn backward_value(value: f32, upstream: f32, slope: f32) -> f32 {
    // burn builds the forward as `mask_where(value, value < 0, value · slope)`. Its backward
    // sends `where(mask, 0, upstream)` straight to `value` and `where(mask, upstream, 0)`
    // through the scaling, which multiplies it by `slope`, and then adds the two. One of the
    // two parts is a zero, and adding it turns a -0 upstream gradient into +0 for a positive
    // slope, so the sum is kept here instead of a plain select.
    let (direct, scaled) = if value < 0.0 {
        (0.0, upstream)
    } else {
        (upstream, 0.0)
    };
    scaled * slope + direct
}

/// Writes LeakyReLU of `values` to `output`. Extra elements of the longer slice are left as
/// they are.
pub(crate) fn forward_into(values: &[f32], slope: f32, output: &mut [f32]) {
    if values.len() < PARALLEL_MIN_LEN {
        forward_chunk_into(values, slope, output);
        return;
    }
    output
        .par_chunks_mut(CHUNK_LEN)
        .zip(values.par_chunks(CHUNK_LEN))
        .for_each(move |(output, values)| forward_chunk_into(values, slope, output));
}

/// Replaces each element of `values` with its LeakyReLU.
pub(crate) fn forward_in_place(values: &mut [f32], slope: f32) {
    if values.len() < PARALLEL_MIN_LEN {
        forward_chunk_in_place(values, slope);
        return;
    }
    values
        .par_chunks_mut(CHUNK_LEN)
        .for_each(move |values| forward_chunk_in_place(values, slope));
}

/// Writes the gradient with respect to `values` to `output`, for the upstream gradient
/// `upstream`. Elements past the shortest slice are left as they are.
pub(crate) fn backward_into(values: &[f32], upstream: &[f32], slope: f32, output: &mut [f32]) {
    if values.len() < PARALLEL_MIN_LEN {
        backward_chunk_into(values, upstream, slope, output);
        return;
    }
    output
        .par_chunks_mut(CHUNK_LEN)
        .zip(values.par_chunks(CHUNK_LEN))
        .zip(upstream.par_chunks(CHUNK_LEN))
        .for_each(move |((output, values), upstream)| {
            backward_chunk_into(values, upstream, slope, output)
        });
}

/// Replaces each element of `grad`, the upstream gradient on entry, with the gradient with
/// respect to the matching element of `values`.
pub(crate) fn backward_in_place(values: &[f32], grad: &mut [f32], slope: f32) {
    if values.len() < PARALLEL_MIN_LEN {
        backward_chunk_in_place(values, grad, slope);
        return;
    }
    grad.par_chunks_mut(CHUNK_LEN)
        .zip(values.par_chunks(CHUNK_LEN))
        .for_each(move |(grad, values)| backward_chunk_in_place(values, grad, slope));
}

// The chunk loops take `slope` by value. A closure that captures it by reference makes LLVM
// reload it from memory on every element, which keeps the loop scalar.

fn forward_chunk_into(values: &[f32], slope: f32, output: &mut [f32]) {
    for (out, &value) in output.iter_mut().zip(values) {
        *out = forward_value(value, slope);
    }
}

fn forward_chunk_in_place(values: &mut [f32], slope: f32) {
    for value in values.iter_mut() {
        *value = forward_value(*value, slope);
    }
}

fn backward_chunk_into(values: &[f32], upstream: &[f32], slope: f32, output: &mut [f32]) {
    for ((out, &value), &up) in output.iter_mut().zip(values).zip(upstream) {
        *out = backward_value(value, up, slope);
    }
}

fn backward_chunk_in_place(values: &[f32], grad: &mut [f32], slope: f32) {
    for (out, &value) in grad.iter_mut().zip(values) {
        *out = backward_value(value, *out, slope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values on both sides of zero and at the edges of f32.
    const EDGE_VALUES: [f32; 14] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        1e-45,
        -1e-45,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
    ];

    #[test]
    fn backward_value_zero_upstream_signs() {
        // Expected bits follow IEEE 754 round-to-nearest sums: -0 + +0 is +0.
        let cases = [
            (1.0, -0.0, 0.2, 0.0),
            (-1.0, -0.0, 0.2, 0.0),
            (1.0, 0.0, -0.5, 0.0),
            (1.0, -0.0, -0.5, -0.0),
            (-1.0, 3.0, 0.2, 3.0 * 0.2),
            (0.0, 3.0, 0.2, 3.0),
            (-0.0, 3.0, 0.2, 3.0),
        ];
        for (value, upstream, slope, expected) in cases {
            let actual = backward_value(value, upstream, slope);
            assert_eq!(
                actual.to_bits(),
                f32::to_bits(expected),
                "value {value:?}, upstream {upstream:?}, slope {slope}: expected {expected:?}, got {actual:?}"
            );
        }
    }

    #[test]
    fn slice_kernels_match_value_functions() {
        // Longer than PARALLEL_MIN_LEN and not a multiple of CHUNK_LEN, so both paths and a
        // short last chunk run.
        for len in [EDGE_VALUES.len(), PARALLEL_MIN_LEN + CHUNK_LEN / 2 + 3] {
            let values: Vec<f32> = (0..len)
                .map(|i| EDGE_VALUES[i % EDGE_VALUES.len()] * if i % 3 == 0 { 1.0 } else { -0.75 })
                .collect();
            let upstream: Vec<f32> = (0..len)
                .map(|i| EDGE_VALUES[(i * 7 + 3) % EDGE_VALUES.len()])
                .collect();
            let slope = 0.2;

            let mut forward = vec![f32::NAN; len];
            forward_into(&values, slope, &mut forward);
            let mut forward_inplace = values.clone();
            forward_in_place(&mut forward_inplace, slope);
            let mut backward = vec![f32::NAN; len];
            backward_into(&values, &upstream, slope, &mut backward);
            let mut backward_inplace = upstream.clone();
            backward_in_place(&values, &mut backward_inplace, slope);

            for i in 0..len {
                let expected = forward_value(values[i], slope).to_bits();
                assert_eq!(
                    forward[i].to_bits(),
                    expected,
                    "forward_into, len {len}, index {i}"
                );
                assert_eq!(
                    forward_inplace[i].to_bits(),
                    expected,
                    "forward_in_place, len {len}, index {i}"
                );
                let expected = backward_value(values[i], upstream[i], slope).to_bits();
                assert_eq!(
                    backward[i].to_bits(),
                    expected,
                    "backward_into, len {len}, index {i}"
                );
                assert_eq!(
                    backward_inplace[i].to_bits(),
                    expected,
                    "backward_in_place, len {len}, index {i}"
                );
            }
        }
    }
}
