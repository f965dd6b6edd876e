//! Timing of the kernels in ns/element, for benchmarks and the command line.
//! It covers every entry point and form at a mean reduction, next to three
//! floors measured in the same run: a read of both inputs (a dot product),
//! and a read of both with a write of one (`out[i] = a[i]·b[i]`), once into
//! a new vector, as the allocating gradient forms write theirs, and once
//! into a buffer reused across calls, as the `_grad_into` forms do.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::kernel::output::{BlockOutput, NewOutput, Output};
use crate::reduce::BLOCK;
use crate::{
    Float, Options, binary_cross_entropy, binary_cross_entropy_grad,
    binary_cross_entropy_grad_into, binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad, binary_cross_entropy_with_logits_grad_into,
};

/// The sizes of the standard run: 1e3, 1e5, 1e6 and 2²⁴ elements.
pub const SIZES: [usize; 4] = [1_000, 100_000, 1_000_000, 16_777_216];

/// One measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `logits`, `probs`, `floor_read` or `floor_read_write`.
    pub entry: &'static str,
    /// `loss`, `loss_and_grad` (a new gradient vector per call) or
    /// `loss_and_grad_into` (a gradient buffer reused across calls). The
    /// floors: `loss` for the read, the other two for the read and write
    /// into a new or a reused output.
    pub form: &'static str,
    /// Always `mean`.
    pub reduction: &'static str,
    /// `float32` or `float64`.
    pub dtype: &'static str,
    /// Elements per call.
    pub n: usize,
    /// Threads of the rayon pool the call ran in.
    pub threads: usize,
    /// Fastest call (the fastest batch per call, below 100,000 elements)
    /// divided by `n`.
    pub ns_per_element: f64,
}

impl Record {
    /// Formats the record as one line of JSON with the field names above.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"entry\": \"{}\", \"form\": \"{}\", \"reduction\": \"{}\", \"dtype\": \"{}\", \
             \"n\": {}, \"threads\": {}, \"ns_per_element\": {:.4}}}",
            self.entry,
            self.form,
            self.reduction,
            self.dtype,
            self.n,
            self.threads,
            self.ns_per_element
        )
    }
}

/// Times every entry point, form and floor for each size and thread count,
/// on `f32` and `f64`, calling `report` after each measurement. Each
/// measurement repeats the call for at least `budget` (and 5 samples) and
/// keeps the fastest; calls on fewer than 100,000 elements are timed in
/// batches.
///
/// # Errors
///
/// The message of rayon's error when a thread pool cannot be built.
pub fn run(
    sizes: &[usize],
    threads: &[usize],
    budget: Duration,
    mut report: impl FnMut(&Record) + Send,
) -> Result<Vec<Record>, String> {
    let mut records = Vec::new();
    for &thread_count in threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(thread_count)
            .build()
            .map_err(|error| format!("cannot build a pool of {thread_count} threads: {error}"))?;
        pool.install(|| {
            for &n in sizes {
                let mut push = |record: Record| {
                    report(&record);
                    records.push(record);
                };
                measure::<f32>("float32", n, thread_count, budget, &mut push);
                measure::<f64>("float64", n, thread_count, budget, &mut push);
            }
        });
    }
    Ok(records)
}

/// Elements per timed sample: calls on fewer elements are timed in
/// batches of `SAMPLE_ELEMENTS / n`, so that the clock's own cost (tens of
/// nanoseconds a reading on a virtual machine) stays out of a call's time.
const SAMPLE_ELEMENTS: usize = 100_000;

/// Returns the time of one call, in nanoseconds: the fastest of repeated
/// samples, each a batch of calls on `n` elements divided by its size.
fn best_ns(budget: Duration, n: usize, mut call: impl FnMut()) -> f64 {
    call();
    let batch = (SAMPLE_ELEMENTS / n.max(1)).max(1);
    let mut best = f64::INFINITY;
    let started = Instant::now();
    let mut runs = 0;
    while runs < 5 || started.elapsed() < budget {
        let start = Instant::now();
        for _ in 0..batch {
            call();
        }
        best = best.min(start.elapsed().as_nanos() as f64 / batch as f64);
        runs += 1;
    }
    best
}

/// Writes `a[i]·b[i]` into the block: the write of the read and write floor.
fn write_product<T: Float>(mut block: BlockOutput<'_, T>, (a, b): (&[T], &[T])) {
    let products = a.iter().zip(b);
    block.write(
        0,
        products.map(|(a, b)| T::from_f64(a.to_f64() * b.to_f64())),
    );
    block.close();
}

/// Deterministic inputs: logits in `[−8, 8)`, probabilities in `[0, 1)`,
/// hard targets.
fn inputs<T: Float>(n: usize) -> (Vec<T>, Vec<T>, Vec<T>) {
    // A fixed linear congruential sequence (Knuth's MMIX constants).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut logits = Vec::with_capacity(n);
    let mut probs = Vec::with_capacity(n);
    let mut targets = Vec::with_capacity(n);
    for _ in 0..n {
        logits.push(T::from_f64(next() * 16.0 - 8.0));
        probs.push(T::from_f64(next()));
        targets.push(T::from_f64(if next() < 0.5 { 0.0 } else { 1.0 }));
    }
    (logits, probs, targets)
}

/// Returns `Σ a[i]·b[i]` in `f64`, with 16 accumulators so that it
/// vectorizes.
fn dot<T: Float>(a: &[T], b: &[T]) -> f64 {
    let mut lanes = [0.0_f64; 16];
    let (a_chunks, b_chunks) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail = a_chunks.remainder().iter().zip(b_chunks.remainder());
    let tail_sum: f64 = tail.map(|(a, b)| a.to_f64() * b.to_f64()).sum();
    for (a, b) in a_chunks.zip(b_chunks) {
        for j in 0..16 {
            lanes[j] += a[j].to_f64() * b[j].to_f64();
        }
    }
    lanes.iter().sum::<f64>() + tail_sum
}

fn measure<T: Float>(
    dtype: &'static str,
    n: usize,
    threads: usize,
    budget: Duration,
    push: &mut impl FnMut(Record),
) {
    let (logits, probs, targets) = inputs::<T>(n);
    let options = Options::new();
    let parallel = n >= crate::PARALLEL_MIN;
    let mut record = |entry, form, ns: f64| {
        push(Record {
            entry,
            form,
            reduction: "mean",
            dtype,
            n,
            threads,
            ns_per_element: ns / n as f64,
        });
    };

    let ns = best_ns(budget, n, || {
        let sum: f64 = if parallel {
            logits
                .par_chunks(BLOCK)
                .zip(targets.par_chunks(BLOCK))
                .map(|(a, b)| dot(a, b))
                .sum()
        } else {
            dot(&logits, &targets)
        };
        black_box(sum);
    });
    record("floor_read", "loss", ns);
    // The floors write through the kernels' outputs, so that a new vector
    // is written once, as the allocating forms write theirs.
    let write_products = |output: Output<'_, T>| {
        let write = |(block, inputs): (Option<BlockOutput<'_, T>>, _)| {
            if let Some(block) = block {
                write_product(block, inputs);
            }
        };
        let blocks = n.div_ceil(BLOCK);
        if parallel {
            let inputs = logits.par_chunks(BLOCK).zip(targets.par_chunks(BLOCK));
            output.par_blocks(blocks).zip(inputs).for_each(write);
        } else {
            let inputs = logits.chunks(BLOCK).zip(targets.chunks(BLOCK));
            output.blocks(blocks).zip(inputs).for_each(write);
        }
    };
    let ns = best_ns(budget, n, || {
        let mut out = NewOutput::new(n);
        write_products(Output::New(&mut out));
        black_box(out.finish());
    });
    record("floor_read_write", "loss_and_grad", ns);
    let mut reused = vec![T::from_f64(0.0); n];
    let ns = best_ns(budget, n, || {
        write_products(Output::Buffer(&mut reused));
        black_box(&mut reused);
    });
    record("floor_read_write", "loss_and_grad_into", ns);

    let ns = best_ns(budget, n, || {
        black_box(binary_cross_entropy_with_logits(&logits, &targets, &options).ok());
    });
    record("logits", "loss", ns);
    let ns = best_ns(budget, n, || {
        black_box(binary_cross_entropy_with_logits_grad(&logits, &targets, &options).ok());
    });
    record("logits", "loss_and_grad", ns);
    let ns = best_ns(budget, n, || {
        black_box(
            binary_cross_entropy_with_logits_grad_into(&logits, &targets, &options, &mut reused)
                .ok(),
        );
    });
    record("logits", "loss_and_grad_into", ns);
    let ns = best_ns(budget, n, || {
        black_box(binary_cross_entropy(&probs, &targets, &options).ok());
    });
    record("probs", "loss", ns);
    let ns = best_ns(budget, n, || {
        black_box(binary_cross_entropy_grad(&probs, &targets, &options).ok());
    });
    record("probs", "loss_and_grad", ns);
    let ns = best_ns(budget, n, || {
        black_box(binary_cross_entropy_grad_into(&probs, &targets, &options, &mut reused).ok());
    });
    record("probs", "loss_and_grad_into", ns);
}

#[cfg(test)]
mod tests {
    use super::dot;

    #[test]
    fn dot_reads_the_tail() {
        let ones = vec![1.0_f32; 1_000];
        assert_eq!(dot(&ones, &ones), 1_000.0);
        assert_eq!(dot(&ones[..7], &ones[..7]), 7.0);
    }
}
