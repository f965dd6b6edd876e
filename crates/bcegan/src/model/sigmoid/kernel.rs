//! Host kernels of the fused sigmoid, in burn-flex 0.22.1's formulas, split across the rayon
//! pool above [`PARALLEL_CHUNK`] elements. Each element's result does not depend on the split.

use rayon::prelude::*;

/// Elements per rayon task; smaller inputs run on the calling thread.
const PARALLEL_CHUNK: usize = 1 << 14;

/// Returns σ(x) as burn-flex computes it: `1 / (1 + e^(−x))` for x ≥ 0 and `e^x / (1 + e^x)`
/// below, so that the exponential never overflows.
#[inline]
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Replaces each value of `values` with its sigmoid.
pub(crate) fn forward_in_place(values: &mut [f32]) {
    let apply = |chunk: &mut [f32]| chunk.iter_mut().for_each(|x| *x = sigmoid(*x));
    if values.len() <= PARALLEL_CHUNK {
        apply(values);
    } else {
        values.par_chunks_mut(PARALLEL_CHUNK).for_each(apply);
    }
}

/// Replaces each upstream gradient `g` in `grads` with `g·s·(1 − s)`, where `s` is the
/// sigmoid's output at the same position, multiplied in burn-flex's order.
pub(crate) fn backward_in_place(outputs: &[f32], grads: &mut [f32]) {
    let apply = |(grads, outputs): (&mut [f32], &[f32])| {
        for (g, &s) in grads.iter_mut().zip(outputs) {
            *g = *g * s * (1.0 - s);
        }
    };
    if grads.len() <= PARALLEL_CHUNK {
        apply((grads, outputs));
    } else {
        grads
            .par_chunks_mut(PARALLEL_CHUNK)
            .zip(outputs.par_chunks(PARALLEL_CHUNK))
            .for_each(apply);
    }
}
