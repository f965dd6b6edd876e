//! Host kernels of the generator's BatchNorm followed by ReLU, in training mode, for inputs
//! `[rows, channels]` in row-major order.
//!
//! Sums over the rows run in `f64`, in fixed parts of [`PART_ROWS`] rows that are added in
//! order, so the result does not depend on the number of threads. Element-wise passes split
//! the rows across the rayon pool.

use rayon::prelude::*;

/// Rows per part of a column sum.
const PART_ROWS: usize = 16;

/// The batch statistics of one forward pass, per channel, as burn's BatchNorm reports them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BatchStats {
    /// Mean of each channel over the rows.
    pub mean: Vec<f32>,
    /// Biased variance (mean squared deviation) of each channel over the rows.
    pub variance: Vec<f32>,
}

/// Gradients of the fused operation with respect to its three inputs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NormReluGrads {
    /// Gradient of the input, `[rows, channels]`.
    pub input: Vec<f32>,
    /// Gradient of the scale γ, `[channels]`.
    pub gamma: Vec<f32>,
    /// Gradient of the shift β, `[channels]`.
    pub beta: Vec<f32>,
}

/// Runs `work` compiled for the widest vector instructions the CPU has, chosen at run time.
fn vectorized<R>(work: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(work)
}

/// Sums over the rows, per channel: `part_sum` adds the terms of a range of rows (one part
/// of [`PART_ROWS`] rows, on one thread) into zeroed sums, and the parts are added in order.
fn column_sums(
    channels: usize,
    rows: usize,
    part_sum: impl Fn(std::ops::Range<usize>, &mut [f64]) + Sync,
) -> Vec<f64> {
    let parts: Vec<Vec<f64>> = (0..rows.div_ceil(PART_ROWS))
        .into_par_iter()
        .map(|part| {
            let mut sums = vec![0.0; channels];
            let start = part * PART_ROWS;
            part_sum(start..(start + PART_ROWS).min(rows), &mut sums);
            sums
        })
        .collect();
    let mut total = vec![0.0; channels];
    for part in parts {
        for (sum, value) in total.iter_mut().zip(part) {
            *sum += value;
        }
    }
    total
}

/// Computes the standard deviation of each channel as burn's BatchNorm divides by it:
/// `√(variance + ε)`, rounded to `f32` at each step.
pub(crate) fn std_devs(variance: &[f32], epsilon: f64) -> Vec<f32> {
    let epsilon = epsilon as f32;
    variance.iter().map(|&v| (v + epsilon).sqrt()).collect()
}

/// Normalizes `input` (`[rows, channels]`) with its own batch statistics, scales by `gamma`,
/// shifts by `beta` and applies ReLU. Returns the output and the statistics.
pub(crate) fn forward(
    input: &[f32],
    channels: usize,
    (gamma, beta): (&[f32], &[f32]),
    epsilon: f64,
) -> (Vec<f32>, BatchStats) {
    let rows = input.len() / channels;
    let row = |index: usize| &input[index * channels..(index + 1) * channels];
    let sums = column_sums(channels, rows, |range, sums| {
        vectorized(
            #[inline(always)]
            || {
                for index in range {
                    for (sum, &value) in sums.iter_mut().zip(row(index)) {
                        *sum += f64::from(value);
                    }
                }
            },
        )
    });
    let mean: Vec<f64> = sums.iter().map(|sum| sum / rows as f64).collect();
    let squares = column_sums(channels, rows, |range, sums| {
        vectorized(
            #[inline(always)]
            || {
                for index in range {
                    for ((sum, &value), &mean) in sums.iter_mut().zip(row(index)).zip(&mean) {
                        let deviation = f64::from(value) - mean;
                        *sum += deviation * deviation;
                    }
                }
            },
        )
    });
    let stats = BatchStats {
        mean: mean.iter().map(|&m| m as f32).collect(),
        variance: squares.iter().map(|&s| (s / rows as f64) as f32).collect(),
    };
    let std_devs = std_devs(&stats.variance, epsilon);
    let mut output = vec![0.0; input.len()];
    output
        .par_chunks_mut(channels * PART_ROWS)
        .zip(input.par_chunks(channels * PART_ROWS))
        .for_each(|(output, input)| {
            vectorized(
                #[inline(always)]
                || {
                    for (output, input) in output.chunks_mut(channels).zip(input.chunks(channels)) {
                        let per_channel =
                            stats.mean.iter().zip(&std_devs).zip(gamma.iter().zip(beta));
                        for ((y, &x), ((&mean, &std), (&gamma, &beta))) in
                            output.iter_mut().zip(input).zip(per_channel)
                        {
                            let shifted = ((x - mean) / std) * gamma + beta;
                            // `<=` keeps a NaN, as burn's ReLU does.
                            *y = if shifted <= 0.0 { 0.0 } else { shifted };
                        }
                    }
                },
            )
        });
    (output, stats)
}

/// Computes the gradients of [`forward`] from the gradient of its output `upstream`, given
/// the forward pass's `input`, `output` and statistics.
pub(crate) fn backward(
    (input, output, upstream): (&[f32], &[f32], &[f32]),
    channels: usize,
    gamma: &[f32],
    stats: &BatchStats,
    epsilon: f64,
) -> NormReluGrads {
    let rows = input.len() / channels;
    let std_devs = std_devs(&stats.variance, epsilon);
    let at = |index: usize| index * channels..(index + 1) * channels;
    let beta_sums = column_sums(channels, rows, |range, sums| {
        vectorized(
            #[inline(always)]
            || {
                for index in range {
                    let pairs = output[at(index)].iter().zip(&upstream[at(index)]);
                    for (sum, (&y, &g)) in sums.iter_mut().zip(pairs) {
                        *sum += f64::from(passed(y, g));
                    }
                }
            },
        )
    });
    let gamma_sums = column_sums(channels, rows, |range, sums| {
        vectorized(
            #[inline(always)]
            || {
                for index in range {
                    let pairs = output[at(index)].iter().zip(&upstream[at(index)]);
                    let inputs = input[at(index)]
                        .iter()
                        .zip(stats.mean.iter().zip(&std_devs));
                    for ((sum, (&y, &g)), (&x, (&mean, &std))) in
                        sums.iter_mut().zip(pairs).zip(inputs)
                    {
                        *sum += f64::from(passed(y, g)) * f64::from(normalized(x, mean, std));
                    }
                }
            },
        )
    });

    let means =
        |sums: &[f64]| -> Vec<f32> { sums.iter().map(|s| (s / rows as f64) as f32).collect() };
    let input_grad = input_gradient(
        (input, output, upstream),
        channels,
        (gamma, &stats.mean, &std_devs),
        (&means(&beta_sums), &means(&gamma_sums)),
    );
    NormReluGrads {
        input: input_grad,
        gamma: gamma_sums.iter().map(|&s| s as f32).collect(),
        beta: beta_sums.iter().map(|&s| s as f32).collect(),
    }
}

/// Computes the input gradient `γ/σ · (g − mean(g) − x̂·mean(g·x̂))` of [`backward`], with
/// `g` the gradient that the ReLU passes and `x̂` the normalized input. `means` are
/// `mean(g)` and `mean(g·x̂)` per channel.
fn input_gradient(
    (input, output, upstream): (&[f32], &[f32], &[f32]),
    channels: usize,
    (gamma, mean, std_devs): (&[f32], &[f32], &[f32]),
    (grad_means, product_means): (&[f32], &[f32]),
) -> Vec<f32> {
    let at = |index: usize| index * channels..(index + 1) * channels;
    let scales: Vec<f32> = gamma.iter().zip(std_devs).map(|(g, s)| g / s).collect();
    let mut input_grad = vec![0.0; input.len()];
    input_grad
        .par_chunks_mut(channels * PART_ROWS)
        .enumerate()
        .for_each(|(part, grads)| {
            vectorized(
                #[inline(always)]
                || {
                    for (offset, grads) in grads.chunks_mut(channels).enumerate() {
                        let index = part * PART_ROWS + offset;
                        let pairs = output[at(index)].iter().zip(&upstream[at(index)]);
                        let inputs = input[at(index)].iter().zip(mean.iter().zip(std_devs));
                        let means = grad_means.iter().zip(product_means).zip(&scales);
                        for (((dx, (&y, &g)), (&x, (&mean, &std))), ((&mg, &mgx), &scale)) in
                            grads.iter_mut().zip(pairs).zip(inputs).zip(means)
                        {
                            let centred = passed(y, g) - mg;
                            *dx = scale * (centred - normalized(x, mean, std) * mgx);
                        }
                    }
                },
            )
        });
    input_grad
}

/// Returns the gradient that the ReLU passes back: 0 where its output `y` is 0 (the input
/// was at most 0), else `g`, also where `y` is NaN.
#[inline(always)]
pub(super) fn passed(y: f32, g: f32) -> f32 {
    if y <= 0.0 { 0.0 } else { g }
}

/// Returns the normalized value `(x − mean) / std`, in burn's order of operations.
#[inline(always)]
pub(super) fn normalized(x: f32, mean: f32, std: f32) -> f32 {
    (x - mean) / std
}

/// Computes [`forward`] and [`backward`] in `f64` from the textbook formulas, one element at
/// a time, for tests, on an input `[rows, channels, positions]` (`positions` is 1 for the
/// 2-D kernels). Returns the output, the mean, the biased variance and the three gradients.
#[cfg(test)]
pub(crate) fn reference(
    (input, upstream): (&[f32], &[f32]),
    (channels, positions): (usize, usize),
    (gamma, beta): (&[f32], &[f32]),
    epsilon: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, [Vec<f64>; 3]) {
    let rows = input.len() / (channels * positions);
    let count = (rows * positions) as f64;
    let index = |r: usize, c: usize, p: usize| (r * channels + c) * positions + p;
    let mut output = vec![0.0; input.len()];
    let (mut means, mut variances) = (vec![0.0; channels], vec![0.0; channels]);
    let mut grads = [
        vec![0.0; input.len()],
        vec![0.0; channels],
        vec![0.0; channels],
    ];
    for c in 0..channels {
        let indices: Vec<usize> = (0..rows)
            .flat_map(|r| (0..positions).map(move |p| index(r, c, p)))
            .collect();
        let value = |i: usize| f64::from(input[i]);
        let mean = indices.iter().map(|&i| value(i)).sum::<f64>() / count;
        let variance = indices
            .iter()
            .map(|&i| (value(i) - mean).powi(2))
            .sum::<f64>()
            / count;
        let std = (variance + epsilon).sqrt();
        let (g_c, b_c) = (f64::from(gamma[c]), f64::from(beta[c]));
        let normalized = |i: usize| (value(i) - mean) / std;
        let mut passed = vec![0.0; input.len()];
        for &i in &indices {
            let shifted = normalized(i) * g_c + b_c;
            output[i] = shifted.max(0.0);
            passed[i] = if shifted > 0.0 {
                f64::from(upstream[i])
            } else {
                0.0
            };
        }
        let beta_grad: f64 = indices.iter().map(|&i| passed[i]).sum();
        let gamma_grad: f64 = indices.iter().map(|&i| passed[i] * normalized(i)).sum();
        for &i in &indices {
            grads[0][i] =
                g_c / std * (passed[i] - beta_grad / count - normalized(i) * gamma_grad / count);
        }
        (grads[1][c], grads[2][c]) = (gamma_grad, beta_grad);
        (means[c], variances[c]) = (mean, variance);
    }
    (output, means, variances, grads)
}
