//! Tests that the fused Linear operation never returns memory it did not write. While a
//! test here runs, the test binary's allocator fills every new block with `0xFF` bytes, a
//! NaN pattern for `f32`, so an output element that gemm skips shows up as NaN. The tests
//! also check that the gradients do not depend on the size of the rayon pool.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::kernel::{self, MatrixView};
use super::tests::{Run, assert_within_sum_bound, reference_product, run, transpose, uniform};
use crate::model::init::seeded_linear;

/// The system allocator, filling each new block with `0xFF` while [`POISON`] is set.
struct PoisoningAllocator;

static POISON: AtomicBool = AtomicBool::new(false);

// SAFETY: every call goes to `System`, and the fill writes only inside the block it returned.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for PoisoningAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let block = unsafe { System.alloc(layout) };
        if !block.is_null() && POISON.load(Ordering::Relaxed) {
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

/// Serializes the tests in this file, so that one does not turn poisoning off under another.
static POISON_LOCK: Mutex<()> = Mutex::new(());

/// Poisons new allocations until dropped.
struct Poisoned<'a>(#[allow(dead_code)] MutexGuard<'a, ()>);

impl Poisoned<'_> {
    fn start() -> Self {
        let guard = POISON_LOCK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        POISON.store(true, Ordering::Relaxed);
        Self(guard)
    }
}

impl Drop for Poisoned<'_> {
    fn drop(&mut self) {
        POISON.store(false, Ordering::Relaxed);
    }
}

/// Shapes `(m, k, n)` that reach each branch of `gemm_basic_generic` in gemm-common 0.19.
/// They cover empty dimensions, gevv (k ≤ 2) and gemv (m or n of 1). They also cover the
/// small-output kernels (m·n ≤ 256) over more than one 1024-deep block, several 512-deep
/// blocks, and the kernels' parallel path (m·n·k ≥ 192³).
const PRODUCT_SHAPES: [(usize, usize, usize); 20] = [
    (4, 0, 5),
    (1, 0, 1),
    (300, 0, 300),
    (0, 3, 4),
    (3, 4, 0),
    (0, 0, 0),
    (1, 1, 1),
    (1, 2, 7),
    (7, 2, 1),
    (9, 1, 33),
    (3, 3, 3),
    (1, 300, 50),
    (50, 300, 1),
    (1, 3000, 1),
    (16, 2000, 16),
    (5, 600, 70),
    (65, 1100, 67),
    (129, 7, 3),
    (200, 200, 200),
    (256, 300, 129),
];

#[test]
fn matmul_overwrites_poisoned_output() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for (m, k, n) in PRODUCT_SHAPES {
        let lhs = uniform(&mut rng, m * k);
        let rhs = uniform(&mut rng, k * n);
        let expected = reference_product(&lhs, &rhs, (m, k, n));
        // Each operand also as the transposed view of its stored transpose.
        let lhs_stored_transposed = transpose(&lhs, m, k);
        let rhs_stored_transposed = transpose(&rhs, k, n);
        let lhs_views = [
            (false, MatrixView::row_major(&lhs, m, k)),
            (
                true,
                MatrixView::row_major(&lhs_stored_transposed, k, m).transposed(),
            ),
        ];
        let rhs_views = [
            (false, MatrixView::row_major(&rhs, k, n)),
            (
                true,
                MatrixView::row_major(&rhs_stored_transposed, n, k).transposed(),
            ),
        ];
        for (lhs_transposed, lhs_view) in lhs_views {
            for (rhs_transposed, rhs_view) in rhs_views {
                let name = format!(
                    "{m}x{k}·{k}x{n} (lhs transposed {lhs_transposed}, rhs transposed {rhs_transposed})"
                );
                let product = {
                    let _poisoned = Poisoned::start();
                    kernel::matmul(lhs_view, rhs_view)
                };
                let product = product.unwrap_or_else(|| panic!("{name}: matching shapes"));
                assert_within_sum_bound(&product, &expected, k, &name);
            }
        }
    }
}

/// Runs the fused layer on seeded values and returns its output and its input, weight and
/// bias gradients (empty where untracked). `track[0]` tracks the input, `track[1]` the layer.
fn fused_run(rows: usize, d_input: usize, d_output: usize, seed: u64, track: [bool; 2]) -> Run {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut layer = seeded_linear(d_input, d_output, &mut rng, &device);
    if !track[1] {
        layer = layer.no_grad();
    }

    let values = uniform(&mut rng, rows * d_input);
    let output_weights = uniform(&mut rng, rows * d_output);
    let mut input = Tensor::<2>::from_data(TensorData::new(values, [rows, d_input]), &device);
    if track[0] {
        input = input.require_grad();
    }
    run(&layer, &input, &output_weights, true)
}

const LAYER_SHAPES: [(usize, usize, usize); 9] = [
    (1, 1, 1),
    (1, 100, 1),
    (2, 1, 256),
    (3, 784, 1),
    (7, 5, 3),
    (127, 128, 1),
    (129, 100, 256),
    (128, 1024, 784),
    (300, 784, 512),
];

#[test]
fn backward_is_identical_across_pool_sizes() {
    for (index, (rows, d_input, d_output)) in LAYER_SHAPES.into_iter().enumerate() {
        for track in [[true, true], [false, true], [true, false]] {
            let seed = 100 + index as u64;
            let runs: Vec<Run> = [1, 2, 3, 8]
                .into_iter()
                .map(|threads| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .expect("rayon pool");
                    let _poisoned = Poisoned::start();
                    pool.install(|| fused_run(rows, d_input, d_output, seed, track))
                })
                .collect();
            let name = format!("{rows}x{d_input}->{d_output} tracked {track:?}");
            for (part, what) in [
                "output",
                "input gradient",
                "weight gradient",
                "bias gradient",
            ]
            .into_iter()
            .enumerate()
            {
                let expected_len = match part {
                    0 => rows * d_output,
                    1 => usize::from(track[0]) * rows * d_input,
                    2 => usize::from(track[1]) * d_input * d_output,
                    _ => usize::from(track[1]) * d_output,
                };
                assert_eq!(runs[0][part].len(), expected_len, "{name} {what}: length");
                assert!(
                    runs[0][part].iter().all(|value| value.is_finite()),
                    "{name} {what}: non-finite value"
                );
                for (run, threads) in runs.iter().zip([1, 2, 3, 8]).skip(1) {
                    let same = run[part]
                        .iter()
                        .zip(&runs[0][part])
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(
                        same && run[part].len() == runs[0][part].len(),
                        "{name} {what}: {threads} threads differ from 1"
                    );
                }
            }
        }
    }
}

#[test]
fn poisoning_fills_new_blocks() {
    let layout = Layout::array::<f32>(1000).expect("layout");
    let bytes = {
        let _poisoned = Poisoned::start();
        // SAFETY: `layout` has a non-zero size.
        #[allow(unsafe_code)]
        unsafe {
            std::alloc::alloc(layout)
        }
    };
    assert!(!bytes.is_null(), "allocation failed");
    // SAFETY: the allocator wrote `layout.size()` bytes at `bytes`, and they are freed once.
    #[allow(unsafe_code)]
    let all_set = unsafe {
        let all_set = std::slice::from_raw_parts(bytes, layout.size())
            .iter()
            .all(|&byte| byte == 0xFF);
        std::alloc::dealloc(bytes, layout);
        all_set
    };
    assert!(all_set, "a block allocated while poisoning is not all 0xFF");
}
