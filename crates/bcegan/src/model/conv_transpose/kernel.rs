//! Host kernels of the fused transposed convolution on `f32` tensors in NCHW order, without
//! padding, dilation or groups.
//!
//! Each pass runs one matrix product for the whole batch. The columns matrix has one row per
//! tap `(channel_out, i, j)` and one column per input position `(image, h, w)`. Tap
//! `(c, i, j)` at position `(b, h, w)` meets output pixel `(b, c, h·stride + i, w·stride + j)`.
//! The scatter into the output and the bias gradient each give every image to one task and
//! add in a fixed order, so the results do not depend on the number of threads.

use rayon::prelude::*;

use crate::model::linear::kernel::{MatrixView, matmul};

/// Sizes of one transposed convolution: input `[batch, channels_in, input]`, weight
/// `[channels_in, channels_out, kernel]`, output `[batch, channels_out, output]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub batch: usize,
    pub channels_in: usize,
    pub channels_out: usize,
    pub input: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// `(input − 1) · stride + kernel` per axis.
    pub output: [usize; 2],
    /// Taps per input channel: `channels_out · kernel_h · kernel_w`.
    taps: usize,
    /// Input positions in the batch: `batch · height · width`.
    positions: usize,
}

impl Geometry {
    /// Returns the geometry, or `None` when a size is zero or a buffer's length overflows
    /// `isize`.
    pub fn new(
        [batch, channels_in, channels_out]: [usize; 3],
        input: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> Option<Self> {
        let sizes = [batch, channels_in, channels_out, input[0], input[1]];
        let steps = [kernel[0], kernel[1], stride[0], stride[1]];
        if sizes.iter().chain(&steps).any(|&size| size == 0) {
            return None;
        }
        let product = |factors: &[usize]| {
            factors
                .iter()
                .try_fold(1usize, |total, &factor| total.checked_mul(factor))
                .filter(|&total| isize::try_from(total).is_ok())
        };
        let side = |axis: usize| {
            (input[axis] - 1)
                .checked_mul(stride[axis])?
                .checked_add(kernel[axis])
        };
        let output = [side(0)?, side(1)?];
        let taps = product(&[channels_out, kernel[0], kernel[1]])?;
        let positions = product(&[batch, input[0], input[1]])?;
        // Every buffer's length, checked once here so that the passes can multiply freely.
        product(&[taps, positions])?;
        product(&[channels_in, positions])?;
        product(&[channels_in, taps])?;
        product(&[batch, channels_out, output[0], output[1]])?;
        Some(Self {
            batch,
            channels_in,
            channels_out,
            input,
            kernel,
            stride,
            output,
            taps,
            positions,
        })
    }

    fn input_plane(&self) -> usize {
        self.input[0] * self.input[1]
    }

    fn output_plane(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Elements of the input, `[batch, channels_in, input]`.
    pub fn input_len(&self) -> usize {
        self.batch * self.channels_in * self.input_plane()
    }

    /// Elements of the weight, `[channels_in, channels_out, kernel]`.
    pub fn weight_len(&self) -> usize {
        self.channels_in * self.taps
    }

    /// Elements of the output, `[batch, channels_out, output]`.
    pub fn output_len(&self) -> usize {
        self.batch * self.channels_out * self.output_plane()
    }

    /// Splits a tap index into `(channel_out, i, j)`.
    fn tap(&self, index: usize) -> (usize, usize, usize) {
        let per_channel = self.kernel[0] * self.kernel[1];
        let within = index % per_channel;
        (
            index / per_channel,
            within / self.kernel[1],
            within % self.kernel[1],
        )
    }
}

/// Copies `x` from `[batch, channels_in, plane]` to `[channels_in, batch · plane]`.
fn pack_channels(x: &[f32], geometry: &Geometry) -> Vec<f32> {
    let plane = geometry.input_plane();
    let mut packed = vec![0.0; geometry.input_len()];
    packed
        .par_chunks_mut(geometry.positions)
        .enumerate()
        .for_each(|(channel, row)| {
            for (image, target) in row.chunks_exact_mut(plane).enumerate() {
                let start = (image * geometry.channels_in + channel) * plane;
                target.copy_from_slice(&x[start..start + plane]);
            }
        });
    packed
}

/// Copies `packed` from `[channels_in, batch · plane]` back to `[batch, channels_in, plane]`.
fn unpack_channels(packed: &[f32], geometry: &Geometry) -> Vec<f32> {
    let plane = geometry.input_plane();
    let mut x = vec![0.0; geometry.input_len()];
    x.par_chunks_mut(geometry.channels_in * plane)
        .enumerate()
        .for_each(|(image, target)| {
            for (channel, target) in target.chunks_exact_mut(plane).enumerate() {
                let start = channel * geometry.positions + image * plane;
                target.copy_from_slice(&packed[start..start + plane]);
            }
        });
    x
}

/// Gathers `upstream` (`[batch, channels_out, output]`) into the columns matrix
/// `[taps, positions]`: element `((c, i, j), (b, h, w))` is
/// `upstream[b, c, h·stride + i, w·stride + j]`.
fn gather_columns(upstream: &[f32], geometry: &Geometry) -> Vec<f32> {
    let [height, width] = geometry.input;
    let [stride_h, stride_w] = geometry.stride;
    let out_width = geometry.output[1];
    let out_plane = geometry.output_plane();
    let mut columns = vec![0.0; geometry.taps * geometry.positions];
    columns
        .par_chunks_mut(geometry.positions)
        .enumerate()
        .for_each(|(tap, row)| {
            let (channel, i, j) = geometry.tap(tap);
            for (image, target) in row.chunks_exact_mut(height * width).enumerate() {
                let plane_start = (image * geometry.channels_out + channel) * out_plane;
                let plane = &upstream[plane_start..plane_start + out_plane];
                for (h, target) in target.chunks_exact_mut(width).enumerate() {
                    // Every `stride_w`-th element from column `j` on, with no bounds check per element.
                    let line = plane[(h * stride_h + i) * out_width + j..]
                        .iter()
                        .step_by(stride_w);
                    for (value, &source) in target.iter_mut().zip(line) {
                        *value = source;
                    }
                }
            }
        });
    columns
}

/// Returns the output `[batch, channels_out, output]`: `bias[c]` plus, for each tap in
/// order, the columns that land on each pixel. One task writes each image.
fn scatter_columns(columns: &[f32], bias: &[f32], geometry: &Geometry) -> Vec<f32> {
    let [height, width] = geometry.input;
    let [stride_h, stride_w] = geometry.stride;
    let [kernel_h, kernel_w] = geometry.kernel;
    let out_width = geometry.output[1];
    let out_plane = geometry.output_plane();
    let in_plane = geometry.input_plane();
    let mut output = vec![0.0; geometry.output_len()];
    output
        .par_chunks_mut(geometry.channels_out * out_plane)
        .enumerate()
        .for_each(|(image, planes)| {
            for (channel, plane) in planes.chunks_exact_mut(out_plane).enumerate() {
                plane.fill(bias[channel]);
                for i in 0..kernel_h {
                    for j in 0..kernel_w {
                        let tap = (channel * kernel_h + i) * kernel_w + j;
                        let start = tap * geometry.positions + image * in_plane;
                        let source = &columns[start..start + in_plane];
                        for (h, source) in source.chunks_exact(width).enumerate().take(height) {
                            let start = (h * stride_h + i) * out_width + j;
                            let line = plane[start..].iter_mut().step_by(stride_w);
                            for (target, &value) in line.zip(source) {
                                *target += value;
                            }
                        }
                    }
                }
            }
        });
    output
}

/// Returns the output `[batch, channels_out, output]` for `x` `[batch, channels_in, input]`,
/// `weight` `[channels_in, channels_out, kernel]` and `bias` `[channels_out]`, or `None`
/// when a length does not match the geometry.
pub(crate) fn forward(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    geometry: &Geometry,
) -> Option<Vec<f32>> {
    let lengths_match = x.len() == geometry.input_len()
        && weight.len() == geometry.weight_len()
        && bias.len() == geometry.channels_out;
    if !lengths_match {
        return None;
    }
    let packed = pack_channels(x, geometry);
    // columns [taps, positions] = weightᵀ [taps, channels_in] · packed [channels_in, positions]
    let columns = matmul(
        MatrixView::row_major(weight, geometry.channels_in, geometry.taps).transposed(),
        MatrixView::row_major(&packed, geometry.channels_in, geometry.positions),
    )?;
    Some(scatter_columns(&columns, bias, geometry))
}

/// Returns the input gradient `[batch, channels_in, input]` from the output gradient
/// `upstream`, or `None` when a length does not match the geometry.
pub(crate) fn input_grad(
    weight: &[f32],
    upstream: &[f32],
    geometry: &Geometry,
) -> Option<Vec<f32>> {
    if weight.len() != geometry.weight_len() || upstream.len() != geometry.output_len() {
        return None;
    }
    let columns = gather_columns(upstream, geometry);
    input_grad_from_columns(weight, &columns, geometry)
}

/// Returns the weight gradient `[channels_in, channels_out, kernel]` from the input `x` and
/// the output gradient `upstream`, or `None` when a length does not match the geometry.
pub(crate) fn weight_grad(x: &[f32], upstream: &[f32], geometry: &Geometry) -> Option<Vec<f32>> {
    if x.len() != geometry.input_len() || upstream.len() != geometry.output_len() {
        return None;
    }
    let columns = gather_columns(upstream, geometry);
    weight_grad_from_columns(x, &columns, geometry)
}

/// Returns the input and weight gradients, as [`input_grad`] and [`weight_grad`] do, from one
/// gather of `upstream` into columns instead of two. `None` when a length does not match the
/// geometry.
pub(crate) fn grads(
    x: &[f32],
    weight: &[f32],
    upstream: &[f32],
    geometry: &Geometry,
) -> Option<(Vec<f32>, Vec<f32>)> {
    let lengths_match = x.len() == geometry.input_len()
        && weight.len() == geometry.weight_len()
        && upstream.len() == geometry.output_len();
    if !lengths_match {
        return None;
    }
    let columns = gather_columns(upstream, geometry);
    Some((
        input_grad_from_columns(weight, &columns, geometry)?,
        weight_grad_from_columns(x, &columns, geometry)?,
    ))
}

fn input_grad_from_columns(
    weight: &[f32],
    columns: &[f32],
    geometry: &Geometry,
) -> Option<Vec<f32>> {
    // packed [channels_in, positions] = weight [channels_in, taps] · columns [taps, positions]
    let packed = matmul(
        MatrixView::row_major(weight, geometry.channels_in, geometry.taps),
        MatrixView::row_major(columns, geometry.taps, geometry.positions),
    )?;
    Some(unpack_channels(&packed, geometry))
}

fn weight_grad_from_columns(x: &[f32], columns: &[f32], geometry: &Geometry) -> Option<Vec<f32>> {
    let packed = pack_channels(x, geometry);
    // grad [channels_in, taps] = packed [channels_in, positions] · columnsᵀ [positions, taps]
    matmul(
        MatrixView::row_major(&packed, geometry.channels_in, geometry.positions),
        MatrixView::row_major(columns, geometry.taps, geometry.positions).transposed(),
    )
}

/// Returns the bias gradient: the sum of `upstream` (`[batch, channels, plane]`) over the
/// images and pixels, per channel. Each image is summed in `f64` on one thread and the
/// images are added in order, so the result does not depend on the number of threads.
/// Returns zeros when `plane` is zero.
pub(crate) fn bias_grad(upstream: &[f32], channels: usize, plane: usize) -> Vec<f32> {
    let Some(image_len) = channels.checked_mul(plane).filter(|&len| len > 0) else {
        return vec![0.0; channels];
    };
    let parts: Vec<Vec<f64>> = upstream
        .par_chunks(image_len)
        .map(|image| {
            image
                .chunks(plane)
                .map(|values| values.iter().map(|&value| f64::from(value)).sum())
                .collect()
        })
        .collect();
    let mut total = vec![0.0f64; channels];
    for part in parts {
        for (sum, value) in total.iter_mut().zip(part) {
            *sum += value;
        }
    }
    total.into_iter().map(|sum| sum as f32).collect()
}

/// Computes the output, input gradient, weight gradient and bias gradient in `f64` from the
/// definition, one term at a time, for tests. Also returns, per element of each, the sum of
/// the terms' magnitudes, which bounds the rounding error of an `f32` sum.
#[cfg(test)]
pub(crate) fn reference(
    (x, weight, bias, upstream): (&[f32], &[f32], &[f32], &[f32]),
    geometry: &Geometry,
) -> [[Vec<f64>; 2]; 4] {
    let [height, width] = geometry.input;
    let [kernel_h, kernel_w] = geometry.kernel;
    let [stride_h, stride_w] = geometry.stride;
    let [out_h, out_w] = geometry.output;
    let (ci, co) = (geometry.channels_in, geometry.channels_out);
    let zeros = |len: usize| [vec![0.0; len], vec![0.0; len]];
    let mut output = zeros(geometry.output_len());
    let mut x_grad = zeros(geometry.input_len());
    let mut w_grad = zeros(geometry.weight_len());
    let mut b_grad = zeros(co);
    let add = |sums: &mut [Vec<f64>; 2], index: usize, term: f64| {
        sums[0][index] += term;
        sums[1][index] += term.abs();
    };
    for b in 0..geometry.batch {
        for (c, &shift) in bias.iter().enumerate() {
            for oh in 0..out_h {
                for ow in 0..out_w {
                    let out_index = ((b * co + c) * out_h + oh) * out_w + ow;
                    add(&mut output, out_index, f64::from(shift));
                    add(&mut b_grad, c, f64::from(upstream[out_index]));
                }
            }
        }
        for k in 0..ci {
            for c in 0..co {
                for h in 0..height {
                    for w in 0..width {
                        for i in 0..kernel_h {
                            for j in 0..kernel_w {
                                let (oh, ow) = (h * stride_h + i, w * stride_w + j);
                                let x_index = ((b * ci + k) * height + h) * width + w;
                                let w_index = ((k * co + c) * kernel_h + i) * kernel_w + j;
                                let out_index = ((b * co + c) * out_h + oh) * out_w + ow;
                                let (xv, wv) = (f64::from(x[x_index]), f64::from(weight[w_index]));
                                let g = f64::from(upstream[out_index]);
                                add(&mut output, out_index, xv * wv);
                                add(&mut x_grad, x_index, g * wv);
                                add(&mut w_grad, w_index, g * xv);
                            }
                        }
                    }
                }
            }
        }
    }
    [output, x_grad, w_grad, b_grad]
}
