//! Where a pass writes its per-element outputs: nowhere, a caller's buffer, or
//! a new vector that the pass fills.
//!
//! A new vector is not zero-filled first, because the fill would be a whole
//! extra write pass over memory. Instead each block writes into a zeroed
//! scratch array, which stays in the L1 cache, and copies it into its part of
//! the vector's spare capacity. So each element reaches memory once, and no
//! reference to uninitialized memory is made.

use std::mem::MaybeUninit;

use crate::float::Float;
use crate::reduce::BLOCK;

/// The destination of one per-element output of a pass.
pub(crate) enum Output<'a, T> {
    /// The output is not wanted.
    Skip,
    /// A caller's buffer of the input's length.
    Buffer(&'a mut [T]),
    /// The spare capacity of a new vector, at least the input's length.
    Fresh(&'a mut [MaybeUninit<T>]),
}

/// The part of an [`Output`] that one block writes.
pub(crate) enum Chunk<'a, T> {
    Buffer(&'a mut [T]),
    Fresh(&'a mut [MaybeUninit<T>]),
}

impl<'a, T> Output<'a, T> {
    /// Splits the output into one chunk per block of an input of `len`
    /// elements, each `None` when the output is not wanted.
    pub(crate) fn chunks(self, len: usize) -> Chunks<'a, T> {
        let output = match self {
            Self::Fresh(spare) => Self::Fresh(&mut spare[..len]),
            other => other,
        };
        Chunks {
            output,
            blocks: len.div_ceil(BLOCK),
        }
    }
}

/// Iterator over the chunks of an [`Output`], one per block.
pub(crate) struct Chunks<'a, T> {
    output: Output<'a, T>,
    blocks: usize,
}

impl<'a, T> Iterator for Chunks<'a, T> {
    type Item = Option<Chunk<'a, T>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.blocks == 0 {
            return None;
        }
        self.blocks -= 1;
        Some(match &mut self.output {
            Output::Skip => None,
            Output::Buffer(rest) => {
                let rest = std::mem::take(rest);
                let (chunk, tail) = rest.split_at_mut(rest.len().min(BLOCK));
                self.output = Output::Buffer(tail);
                Some(Chunk::Buffer(chunk))
            }
            Output::Fresh(rest) => {
                let rest = std::mem::take(rest);
                let (chunk, tail) = rest.split_at_mut(rest.len().min(BLOCK));
                self.output = Output::Fresh(tail);
                Some(Chunk::Fresh(chunk))
            }
        })
    }
}

/// Runs `write` on the chunk itself for a buffer, else on a zeroed scratch
/// array that is then copied into the chunk. Every element of a fresh chunk is
/// initialized when this returns.
pub(crate) fn write_through<T: Float, R>(
    chunk: Option<Chunk<'_, T>>,
    write: impl FnOnce(Option<&mut [T]>) -> R,
) -> R {
    match chunk {
        None => write(None),
        Some(Chunk::Buffer(buffer)) => write(Some(buffer)),
        Some(Chunk::Fresh(fresh)) => {
            let mut scratch = [T::from_f64(0.0); BLOCK];
            let scratch = &mut scratch[..fresh.len()];
            let result = write(Some(&mut *scratch));
            for (slot, value) in fresh.iter_mut().zip(scratch.iter()) {
                slot.write(*value);
            }
            result
        }
    }
}
