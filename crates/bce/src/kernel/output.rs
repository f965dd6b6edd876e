//! The blocks a pass writes its per-element outputs into: a caller's
//! buffer, or the spare capacity of a new vector.
//!
//! A new vector is not zero-filled first. That fill was a pass of its own
//! over the whole output, on the calling thread, and made the loss and
//! gradient into a new vector about a fifth slower than into a reused
//! buffer at 16,777,216 `f32` elements. A zero fill of each block just
//! before the kernel wrote it was no faster. Instead the kernels write each
//! element of a new vector once. A block keeps the length of its written
//! prefix. When closed, it zero-fills the rest (nothing, for a kernel
//! without a fault) and adds its length to the vector's count.
//! [`NewOutput::finish`] returns the vector only when that count covers it.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::iter::Either;
use rayon::prelude::*;

use crate::float::Float;
use crate::reduce::BLOCK;

/// The destination of one per-element output of a pass.
pub(crate) enum Output<'a, T> {
    /// The output is not wanted.
    Unwanted,
    /// A caller's buffer of the input's length.
    Buffer(&'a mut [T]),
    /// A new vector of the input's length.
    New(&'a mut NewOutput<T>),
}

impl<'a, T: Float> Output<'a, T> {
    /// Returns the output's `blocks` blocks, of [`BLOCK`] elements at the
    /// input's offsets, or as many `None` for an unwanted output.
    pub(crate) fn blocks(self, blocks: usize) -> impl Iterator<Item = Option<BlockOutput<'a, T>>> {
        match self {
            Output::Unwanted => Either::Left((0..blocks).map(|_| None)),
            Output::Buffer(buffer) => Either::Right(Either::Left(
                buffer
                    .chunks_mut(BLOCK)
                    .map(|elements| Some(BlockOutput::buffer(elements))),
            )),
            Output::New(new) => Either::Right(Either::Right(new.blocks().map(Some))),
        }
    }

    /// [`Output::blocks`] as a parallel iterator.
    pub(crate) fn par_blocks(
        self,
        blocks: usize,
    ) -> impl IndexedParallelIterator<Item = Option<BlockOutput<'a, T>>> {
        match self {
            Output::Unwanted => Either::Left((0..blocks).into_par_iter().map(|_| None)),
            Output::Buffer(buffer) => Either::Right(Either::Left(
                buffer
                    .par_chunks_mut(BLOCK)
                    .map(|elements| Some(BlockOutput::buffer(elements))),
            )),
            Output::New(new) => Either::Right(Either::Right(new.par_blocks().map(Some))),
        }
    }
}

/// A new vector of a fixed length, written block by block.
pub(crate) struct NewOutput<T> {
    vec: Vec<T>,
    len: usize,
    /// Elements written so far, counted by each [`BlockOutput`] as it is
    /// closed.
    written: AtomicUsize,
    /// Whether the blocks were handed out, which happens once only, so that
    /// no element is counted twice.
    handed_out: bool,
}

impl<T: Float> NewOutput<T> {
    /// Reserves `len` elements and writes none yet.
    pub(crate) fn new(len: usize) -> Self {
        Self {
            vec: Vec::with_capacity(len),
            len,
            written: AtomicUsize::new(0),
            handed_out: false,
        }
    }

    /// Returns the slots of the vector's elements the first time, and none
    /// after that.
    fn slots(&mut self) -> (&mut [MaybeUninit<T>], &AtomicUsize) {
        let len = if std::mem::replace(&mut self.handed_out, true) {
            0
        } else {
            self.len
        };
        (&mut self.vec.spare_capacity_mut()[..len], &self.written)
    }

    /// Splits the vector into blocks of [`BLOCK`] elements at the input's
    /// offsets, the first time it is called. Later calls return no blocks.
    fn blocks(&mut self) -> impl Iterator<Item = BlockOutput<'_, T>> {
        let (slots, counter) = self.slots();
        slots
            .chunks_mut(BLOCK)
            .map(|slots| BlockOutput::fresh(slots, counter))
    }

    /// [`NewOutput::blocks`] as a parallel iterator.
    fn par_blocks(&mut self) -> impl IndexedParallelIterator<Item = BlockOutput<'_, T>> {
        let (slots, counter) = self.slots();
        slots
            .par_chunks_mut(BLOCK)
            .map(|slots| BlockOutput::fresh(slots, counter))
    }

    /// Returns the vector.
    ///
    /// # Panics
    ///
    /// If a block was not closed: a bug of the pass, never a consequence of
    /// its input.
    #[allow(unsafe_code)]
    pub(crate) fn finish(mut self) -> Vec<T> {
        assert_eq!(
            self.written.load(Ordering::Acquire),
            self.len,
            "an output block was not written"
        );
        // SAFETY: the capacity is at least `len`. The blocks are handed out
        // once, are disjoint and cover the first `len` elements. Each adds its
        // length to `written` once, when closed (which takes it by value),
        // after all of its elements have been written. So all of them are
        // initialized.
        unsafe { self.vec.set_len(self.len) };
        self.vec
    }
}

/// One block of an output, which the kernel writes through
/// [`BlockOutput::write`], and the pass then closes.
pub(crate) struct BlockOutput<'a, T>(Slots<'a, T>);

enum Slots<'a, T> {
    /// Part of a caller's buffer.
    Buffer(&'a mut [T]),
    /// Part of a new vector's spare capacity, of which the first `written`
    /// elements are initialized.
    Fresh {
        slots: &'a mut [MaybeUninit<T>],
        written: usize,
        counter: &'a AtomicUsize,
    },
}

impl<'a, T: Float> BlockOutput<'a, T> {
    fn buffer(elements: &'a mut [T]) -> Self {
        Self(Slots::Buffer(elements))
    }

    fn fresh(slots: &'a mut [MaybeUninit<T>], counter: &'a AtomicUsize) -> Self {
        Self(Slots::Fresh {
            slots,
            written: 0,
            counter,
        })
    }

    /// Writes `values` from element `offset` of the block on.
    #[inline(always)]
    pub(crate) fn write(&mut self, offset: usize, values: impl ExactSizeIterator<Item = T>) {
        let end = offset + values.len();
        match &mut self.0 {
            Slots::Buffer(elements) => {
                for (element, value) in elements[offset..end].iter_mut().zip(values) {
                    *element = value;
                }
            }
            Slots::Fresh { slots, written, .. } => {
                // The kernels write in order, so the gap is always empty.
                zero_fill(&mut slots[(*written).min(offset)..offset]);
                // The prefix grows by the values actually stored, not by what
                // `len` promised, so an iterator that ends early leaves no
                // uninitialized slot counted as written.
                let mut stored = 0;
                for (slot, value) in slots[offset..end].iter_mut().zip(values) {
                    slot.write(value);
                    stored += 1;
                }
                *written = (*written).max(offset + stored);
            }
        }
    }
}

impl<T: Float> BlockOutput<'_, T> {
    /// Zero-fills what the kernel left unwritten (nothing, for a kernel
    /// without a fault) and counts a new vector's block as written.
    pub(crate) fn close(self) {
        if let Slots::Fresh {
            slots,
            written,
            counter,
        } = self.0
        {
            zero_fill(&mut slots[written..]);
            counter.fetch_add(slots.len(), Ordering::Release);
        }
    }
}

fn zero_fill<T: Float>(slots: &mut [MaybeUninit<T>]) {
    for slot in slots {
        slot.write(T::from_f64(0.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `fill` through every block of a new output of `len` elements,
    /// skipping the first `skip` elements of each block.
    fn write_blocks(len: usize, skip: usize, fill: f32) -> Vec<f32> {
        let mut output = NewOutput::new(len);
        for block in Output::New(&mut output).blocks(len.div_ceil(BLOCK)) {
            let mut block = block.expect("a new output has every block");
            let block_len = match &block.0 {
                Slots::Fresh { slots, .. } => slots.len(),
                Slots::Buffer(_) => unreachable!("a new output has fresh blocks"),
            };
            let skipped = skip.min(block_len);
            block.write(skipped, std::iter::repeat_n(fill, block_len - skipped));
            block.close();
        }
        output.finish()
    }

    #[test]
    fn new_output_returns_written_values() {
        for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17] {
            let vec = write_blocks(len, 0, 1.5);
            assert_eq!(vec.len(), len);
            assert!(vec.iter().all(|&value| value == 1.5), "length {len}");
        }
    }

    #[test]
    fn unwritten_elements_are_zero() {
        let vec = write_blocks(2 * BLOCK + 5, 3, 2.5);
        for (index, &value) in vec.iter().enumerate() {
            let expected = if index % BLOCK < 3 { 0.0 } else { 2.5 };
            assert_eq!(value, expected, "element {index}");
        }
    }

    #[test]
    fn close_zero_fills_unwritten_tail() {
        let mut output = NewOutput::new(5);
        for block in Output::New(&mut output).blocks(1) {
            let mut block = block.expect("a new output has every block");
            block.write(0, [1.0_f32, 2.0].into_iter());
            block.close();
        }
        assert_eq!(output.finish(), [1.0, 2.0, 0.0, 0.0, 0.0]);
    }

    /// An iterator whose `len` promises more values than it yields.
    struct ShortIterator(std::ops::Range<u8>);

    impl Iterator for ShortIterator {
        type Item = f32;

        fn next(&mut self) -> Option<f32> {
            self.0.next().map(f32::from)
        }

        fn size_hint(&self) -> (usize, Option<usize>) {
            (self.0.len() + 2, Some(self.0.len() + 2))
        }
    }

    impl ExactSizeIterator for ShortIterator {}

    #[test]
    fn short_iterator_leaves_zeros() {
        let mut output = NewOutput::new(4);
        for block in Output::New(&mut output).blocks(1) {
            let mut block = block.expect("a new output has every block");
            block.write(0, ShortIterator(1..3));
            block.close();
        }
        assert_eq!(output.finish(), [1.0, 2.0, 0.0, 0.0]);
    }

    #[test]
    fn buffer_blocks_write_in_place() {
        let mut buffer = vec![0.0_f64; BLOCK + 2];
        let mut blocks = Output::Buffer(&mut buffer).blocks(2);
        let mut second = blocks.nth(1).flatten().expect("the buffer has two blocks");
        second.write(1, std::iter::once(4.0));
        assert!(blocks.next().is_none());
        second.close();
        drop(blocks);
        assert_eq!(buffer[BLOCK + 1], 4.0);
        assert_eq!(buffer.iter().filter(|&&value| value != 0.0).count(), 1);
    }

    #[test]
    #[should_panic(expected = "not written")]
    fn blocks_are_handed_out_once() {
        // Closing the first block twice would count as many elements as the
        // vector holds, though the second block was never written.
        let mut output = NewOutput::<f32>::new(2 * BLOCK);
        for _ in 0..2 {
            let first = Output::New(&mut output).blocks(2).next().flatten();
            if let Some(first) = first {
                first.close();
            }
        }
        let _ = output.finish();
    }

    #[test]
    #[should_panic(expected = "not written")]
    fn finish_panics_on_unclosed_block() {
        let mut output = NewOutput::<f64>::new(BLOCK + 1);
        let mut blocks = Output::New(&mut output).blocks(2);
        if let Some(Some(first)) = blocks.next() {
            first.close();
        }
        drop(blocks);
        let _ = output.finish();
    }
}
