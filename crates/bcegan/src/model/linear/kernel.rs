//! Host kernels of the fused Linear operation on `f32` matrices: the matrix products through
//! the `gemm` crate, called as burn-flex 0.22.1 calls it, and the bias passes.

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// Rows of the upstream gradient from which [`input_grad`] copies the weight.
const COPY_MIN_ROWS: usize = 16;

/// Inputs of the layer from which [`input_grad`] copies the weight.
const COPY_MIN_INPUTS: usize = 64;

/// Side of the square tiles of [`transpose`].
const TILE: usize = 16;

/// Rows per part of the bias add and of the bias gradient's column sums.
const PART_ROWS: usize = 16;

/// Work, in multiply-adds `m·n·k`, from which a product runs on all rayon threads: the rule
/// of burn-flex 0.22.1 (`PARALLEL_THRESHOLD` in `ops/matmul.rs`), so that the fused products
/// use the threads as burn's do. With gemm 0.19 the bits do not rest on it: this crate's
/// tests found the same products with every call run in parallel.
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;

/// A read-only `rows × cols` matrix whose element (i, j) is
/// `values[i · row_stride + j · col_stride]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MatrixView<'a> {
    pub values: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatrixView<'a> {
    /// Views `values` as a `rows × cols` matrix in row-major order.
    pub fn row_major(values: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            values,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// Returns the transpose, as a view of the same values.
    pub fn transposed(self) -> Self {
        Self {
            values: self.values,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Returns whether the view is a row-major matrix filling `values` exactly.
    fn is_row_major(&self) -> bool {
        self.col_stride == 1
            && self.row_stride == self.cols
            && self.rows.checked_mul(self.cols) == Some(self.values.len())
    }

    /// Returns whether every element lies inside `values` and both strides fit in `isize`.
    fn fits(&self) -> bool {
        if isize::try_from(self.row_stride).is_err() || isize::try_from(self.col_stride).is_err() {
            return false;
        }
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .zip((self.cols - 1).checked_mul(self.col_stride))
            .and_then(|(row, col)| row.checked_add(col));
        last.is_some_and(|last| last < self.values.len())
    }
}

/// Returns the product `lhs · rhs` in row-major order, or `None` when the inner dimensions
/// differ or a view does not fit its values.
///
/// The output starts uninitialized: filling it with zeros first cost a memory pass per
/// product, about 3 % of the MLP training step, and gemm overwrites every element anyway.
#[allow(unsafe_code)]
pub(crate) fn matmul(lhs: MatrixView<'_>, rhs: MatrixView<'_>) -> Option<Vec<f32>> {
    let len = lhs.rows.checked_mul(rhs.cols)?;
    let mut product = Vec::with_capacity(len);
    if !gemm_into(&mut product.spare_capacity_mut()[..len], lhs, rhs) {
        return None;
    }
    // SAFETY: the capacity is at least `len`, and `gemm_into` returned true, so it stored
    // every one of the first `len` elements.
    unsafe { product.set_len(len) };
    Some(product)
}

/// Returns the input gradient `upstream · weightᵀ` (`upstream` `rows × d_output`, `weight`
/// `d_input × d_output`), row-major, or `None` when the views do not fit their values or
/// `d_output` differs.
///
/// From [`COPY_MIN_ROWS`] rows and [`COPY_MIN_INPUTS`] inputs on, gemm reads a transposed
/// copy of the weight instead of a transposed view. gemm 0.19 transposes the whole product to
/// write a row-major result, so the weight becomes its left operand. It packs a row-major left
/// operand block by block, which took about 9 % of the MLP step's samples at 1 thread. The
/// copy takes about 5 %, and the step got about 4 % faster.
///
/// With the copy, gemm makes the same sums in the same order as with the view, in the shapes
/// the tests cover. Smaller products take other paths in gemm (a matrix-vector product for
/// one row, for example) that round differently, so they keep the view.
pub(crate) fn input_grad(upstream: MatrixView<'_>, weight: MatrixView<'_>) -> Option<Vec<f32>> {
    if upstream.cols != weight.cols {
        return None;
    }
    if upstream.rows < COPY_MIN_ROWS || weight.rows < COPY_MIN_INPUTS || !weight.is_row_major() {
        return matmul(upstream, weight.transposed());
    }
    let copy = transpose(weight.values, weight.rows, weight.cols);
    matmul(
        upstream,
        MatrixView::row_major(&copy, weight.cols, weight.rows),
    )
}

/// Writes `lhs · rhs` into `product` (`lhs.rows × rhs.cols`, row-major) with one `gemm::gemm`
/// call: the arguments burn-flex 0.22.1's `matmul_2d_strided` passes for views with these
/// strides, including the parallelism rule. Returns true after storing every element of
/// `product`, or false, storing nothing, when the sizes do not match or a view does not fit
/// its values.
#[allow(unsafe_code)]
fn gemm_into(product: &mut [MaybeUninit<f32>], lhs: MatrixView<'_>, rhs: MatrixView<'_>) -> bool {
    let (m, n, k) = (lhs.rows, rhs.cols, lhs.cols);
    let valid = lhs.fits()
        && rhs.fits()
        && rhs.rows == k
        && m.checked_mul(n) == Some(product.len())
        && isize::try_from(n).is_ok();
    if !valid {
        return false;
    }

    let parallelism = if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_THRESHOLD {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };

    // SAFETY: `gemm` reads lhs(i, l) at `lhs.values + i·row_stride + l·col_stride` for i < m,
    // l < k, and rhs(l, j) likewise for l < k, j < n. `fits` checked that the largest such
    // offset of each view lies inside its slice, and that the strides fit in `isize`. It
    // writes product(i, j) at `i·n + j` < m·n = `product.len()`, and n fits in `isize`. The
    // output is a `&mut` borrow, so it overlaps neither input. With `read_dst` false, gemm
    // 0.19 reads no element of `product` and stores every one: the product, or zeros when
    // k is 0 (`gemm_basic_generic` in gemm-common). The conjugation flags have no effect on
    // f32.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            product.as_mut_ptr().cast::<f32>(),
            1,
            n as isize,
            false,
            lhs.values.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.values.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    true
}

/// Returns the transpose of the row-major `rows × cols` matrix `values`, row-major
/// (`cols × rows`).
///
/// The transpose is written one strip of [`TILE`] of its rows at a time, zero-filled and
/// written while it stays in cache. Within a strip, tiles of `TILE × TILE` elements are read
/// by whole source rows and written by whole rows of the transpose.
pub(crate) fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut transposed = Vec::with_capacity(rows * cols);
    let mut tile = [[0.0_f32; TILE]; TILE];
    for col_start in (0..cols).step_by(TILE) {
        let width = TILE.min(cols - col_start);
        let strip_start = transposed.len();
        transposed.resize(strip_start + width * rows, 0.0);
        let strip = &mut transposed[strip_start..];
        for row_start in (0..rows).step_by(TILE) {
            let height = TILE.min(rows - row_start);
            for (i, tile_row) in tile.iter_mut().enumerate().take(height) {
                let start = (row_start + i) * cols + col_start;
                let source = &values[start..start + width];
                match <&[f32; TILE]>::try_from(source) {
                    Ok(full) => *tile_row = *full,
                    Err(_) => tile_row[..width].copy_from_slice(source),
                }
            }
            for (j, strip_row) in strip.chunks_exact_mut(rows).enumerate() {
                let part = &mut strip_row[row_start..row_start + height];
                for (value, tile_row) in part.iter_mut().zip(&tile) {
                    *value = tile_row[j];
                }
            }
        }
    }
    transposed
}

/// Adds `bias` to every row of `output` (row-major, `bias.len()` columns), with parts of
/// [`PART_ROWS`] rows spread over the rayon pool. Each sum is one `f32` addition, so the
/// result matches burn's broadcast add bit for bit.
pub(crate) fn add_bias(output: &mut [f32], bias: &[f32]) {
    if bias.is_empty() {
        return;
    }
    output
        .par_chunks_mut(bias.len() * PART_ROWS)
        .for_each(|part| {
            for row in part.chunks_exact_mut(bias.len()) {
                for (value, &shift) in row.iter_mut().zip(bias) {
                    *value += shift;
                }
            }
        });
}

/// Returns the sum over the rows of `upstream` (row-major, `cols` columns): the bias
/// gradient. Each part of [`PART_ROWS`] rows is summed in `f64` on one thread and the parts
/// are added in order, so the result does not depend on the number of threads.
pub(crate) fn column_sums(upstream: &[f32], cols: usize) -> Vec<f32> {
    if cols == 0 {
        return Vec::new();
    }
    let parts: Vec<Vec<f64>> = upstream
        .par_chunks(cols * PART_ROWS)
        .map(|part| {
            let mut sums = vec![0.0; cols];
            for row in part.chunks_exact(cols) {
                for (sum, &value) in sums.iter_mut().zip(row) {
                    *sum += f64::from(value);
                }
            }
            sums
        })
        .collect();
    let mut total = vec![0.0f64; cols];
    for part in parts {
        for (sum, value) in total.iter_mut().zip(part) {
            *sum += value;
        }
    }
    total.into_iter().map(|sum| sum as f32).collect()
}
