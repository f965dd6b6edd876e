//! Host kernels of the fused BatchNorm and ReLU for inputs `[images, channels, positions]`
//! in row-major order, with more than one position per channel (the spatial dimensions
//! flattened), as convolutional layers produce.
//!
//! The statistics of a channel run over all images and positions. Each image's sums run in
//! `f64` in [`LANES`] interleaved accumulators added in lane order, and the images' sums are
//! added in image order, so the result does not depend on the number of threads. Every pass
//! splits the images across the rayon pool and vectorizes along the positions.

use rayon::prelude::*;

use super::kernel::{BatchStats, NormReluGrads, normalized, passed, std_devs};

/// Accumulators per sum over one channel of one image: position `i` adds into lane
/// `i % LANES`, which lets the compiler vectorize the sum without reordering it.
const LANES: usize = 8;

/// Layout of an input: images, channels and positions per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub images: usize,
    pub channels: usize,
    pub positions: usize,
}

impl Layout {
    fn image_len(self) -> usize {
        self.channels * self.positions
    }

    fn count(self) -> f64 {
        (self.images * self.positions) as f64
    }
}

/// Runs `work` compiled for the widest vector instructions the CPU has, chosen at run time.
fn vectorized<R>(work: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(work)
}

/// Sums per-image, per-channel terms over the images: `image_sums` fills `width` zeroed
/// sums per channel for one image (on one thread), and the images are added in order.
fn sums_over_images(
    layout: Layout,
    width: usize,
    image_sums: impl Fn(usize, &mut [f64]) + Sync,
) -> Vec<f64> {
    let parts: Vec<Vec<f64>> = (0..layout.images)
        .into_par_iter()
        .map(|image| {
            let mut sums = vec![0.0; layout.channels * width];
            image_sums(image, &mut sums);
            sums
        })
        .collect();
    let mut total = vec![0.0; layout.channels * width];
    for part in parts {
        for (sum, value) in total.iter_mut().zip(part) {
            *sum += value;
        }
    }
    total
}

/// Sums `term` of each value in lane order (see [`LANES`]).
#[inline(always)]
fn lane_sum(values: &[f32], term: impl Fn(f32) -> f64) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &value) in lanes.iter_mut().zip(chunk) {
            *lane += term(value);
        }
    }
    for (lane, &value) in lanes.iter_mut().zip(tail) {
        *lane += term(value);
    }
    lanes.iter().sum()
}

/// Splits image `image` of `data` into its channels' positions.
fn channel_slices(data: &[f32], layout: Layout, image: usize) -> std::slice::Chunks<'_, f32> {
    let start = (image * layout.image_len()).min(data.len());
    let end = (start + layout.image_len()).min(data.len());
    data[start..end].chunks(layout.positions.max(1))
}

/// Normalizes `input` with its own batch statistics per channel, scales by `gamma`, shifts
/// by `beta` and applies ReLU. Returns the output and the statistics.
///
/// `layout.positions` must be at least 1 and `input` must hold `layout`'s elements.
pub(crate) fn forward(
    input: &[f32],
    layout: Layout,
    (gamma, beta): (&[f32], &[f32]),
    epsilon: f64,
) -> (Vec<f32>, BatchStats) {
    let sums = sums_over_images(layout, 1, |image, sums| {
        vectorized(
            #[inline(always)]
            || {
                for (sum, values) in sums.iter_mut().zip(channel_slices(input, layout, image)) {
                    *sum += lane_sum(values, f64::from);
                }
            },
        )
    });
    let mean: Vec<f64> = sums.iter().map(|sum| sum / layout.count()).collect();
    let squares = sums_over_images(layout, 1, |image, sums| {
        vectorized(
            #[inline(always)]
            || {
                let channels = channel_slices(input, layout, image).zip(&mean);
                for (sum, (values, &mean)) in sums.iter_mut().zip(channels) {
                    *sum += lane_sum(values, |value| {
                        let deviation = f64::from(value) - mean;
                        deviation * deviation
                    });
                }
            },
        )
    });
    let stats = BatchStats {
        mean: mean.iter().map(|&m| m as f32).collect(),
        variance: squares
            .iter()
            .map(|&s| (s / layout.count()) as f32)
            .collect(),
    };
    let std_devs = std_devs(&stats.variance, epsilon);

    let mut output = vec![0.0; input.len()];
    output
        .par_chunks_mut(layout.image_len().max(1))
        .zip(input.par_chunks(layout.image_len().max(1)))
        .for_each(|(output, input)| {
            vectorized(
                #[inline(always)]
                || {
                    let per_channel = stats.mean.iter().zip(&std_devs).zip(gamma.iter().zip(beta));
                    let slices = output
                        .chunks_mut(layout.positions.max(1))
                        .zip(input.chunks(layout.positions.max(1)));
                    for ((output, input), ((&mean, &std), (&gamma, &beta))) in
                        slices.zip(per_channel)
                    {
                        for (y, &x) in output.iter_mut().zip(input) {
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
    layout: Layout,
    gamma: &[f32],
    stats: &BatchStats,
    epsilon: f64,
) -> NormReluGrads {
    let std_devs = std_devs(&stats.variance, epsilon);
    // Per channel: the sum of the gradient that the ReLU passes (β's gradient), then its
    // sum weighted by the normalized input (γ's gradient).
    let sums = sums_over_images(layout, 2, |image, sums| {
        vectorized(
            #[inline(always)]
            || {
                let slices = channel_slices(input, layout, image)
                    .zip(channel_slices(output, layout, image))
                    .zip(channel_slices(upstream, layout, image));
                let per_channel = stats.mean.iter().zip(&std_devs);
                for ((sums, ((x, y), g)), (&mean, &std)) in
                    sums.chunks_mut(2).zip(slices).zip(per_channel)
                {
                    let (beta_sum, gamma_sum) = grad_sums((x, y, g), mean, std);
                    sums[0] += beta_sum;
                    sums[1] += gamma_sum;
                }
            },
        )
    });
    let beta_sums: Vec<f64> = sums.iter().step_by(2).copied().collect();
    let gamma_sums: Vec<f64> = sums.iter().skip(1).step_by(2).copied().collect();
    let means =
        |sums: &[f64]| -> Vec<f32> { sums.iter().map(|s| (s / layout.count()) as f32).collect() };
    let (grad_means, product_means) = (means(&beta_sums), means(&gamma_sums));
    let scales: Vec<f32> = gamma.iter().zip(&std_devs).map(|(g, s)| g / s).collect();

    let mut input_grad = vec![0.0; input.len()];
    input_grad
        .par_chunks_mut(layout.image_len().max(1))
        .enumerate()
        .for_each(|(image, grads)| {
            vectorized(
                #[inline(always)]
                || {
                    let slices = grads
                        .chunks_mut(layout.positions.max(1))
                        .zip(channel_slices(input, layout, image))
                        .zip(channel_slices(output, layout, image))
                        .zip(channel_slices(upstream, layout, image));
                    let per_channel = stats
                        .mean
                        .iter()
                        .zip(&std_devs)
                        .zip(grad_means.iter().zip(&product_means).zip(&scales));
                    for ((((grads, x), y), g), ((&mean, &std), ((&mg, &mgx), &scale))) in
                        slices.zip(per_channel)
                    {
                        let values = x.iter().zip(y).zip(g);
                        for (dx, ((&x, &y), &g)) in grads.iter_mut().zip(values) {
                            let centred = passed(y, g) - mg;
                            *dx = scale * (centred - normalized(x, mean, std) * mgx);
                        }
                    }
                },
            )
        });
    NormReluGrads {
        input: input_grad,
        gamma: gamma_sums.iter().map(|&s| s as f32).collect(),
        beta: beta_sums.iter().map(|&s| s as f32).collect(),
    }
}

/// Returns the sums over one channel of one image of the gradient `g` that the ReLU passes
/// and of that gradient times the normalized input, each in lane order (see [`LANES`]).
#[inline(always)]
fn grad_sums((x, y, g): (&[f32], &[f32], &[f32]), mean: f32, std: f32) -> (f64, f64) {
    let mut beta_lanes = [0.0f64; LANES];
    let mut gamma_lanes = [0.0f64; LANES];
    let mut add = |lane: usize, x: f32, y: f32, g: f32| {
        let passed = f64::from(passed(y, g));
        beta_lanes[lane] += passed;
        gamma_lanes[lane] += passed * f64::from(normalized(x, mean, std));
    };
    let chunks = x
        .chunks_exact(LANES)
        .zip(y.chunks_exact(LANES))
        .zip(g.chunks_exact(LANES));
    for ((x, y), g) in chunks {
        for lane in 0..LANES {
            add(lane, x[lane], y[lane], g[lane]);
        }
    }
    let done = x.len() / LANES * LANES;
    let tails = x[done..].iter().zip(&y[done..]).zip(&g[done..]);
    for (lane, ((&x, &y), &g)) in tails.enumerate() {
        add(lane, x, y, g);
    }
    (beta_lanes.iter().sum(), gamma_lanes.iter().sum())
}
