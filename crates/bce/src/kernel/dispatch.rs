//! Runtime choice of the instruction set the kernels are compiled for.
//!
//! The kernels are written once as loops over lanes; `pulp` compiles them
//! inside functions with AVX-512 (x86-64-v4) or AVX2+FMA (x86-64-v3) enabled
//! and picks one at run time, with no `unsafe` here and no
//! `-C target-cpu=native`. Elsewhere the portable path runs (NEON on aarch64
//! through `pulp::Arch`). The hard-target path also looks values up in
//! small tables, with a permute on AVX-512 and AVX2 and an array index
//! elsewhere. All paths round identically, so their results
//! are bit-identical.

use std::cell::Cell;
use std::fmt;

use super::tables::{Lookup, Scalar};

/// An instruction set the kernels can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Baseline code for the target (SSE2 on x86-64, NEON on aarch64).
    Portable,
    /// x86-64 with AVX2 and FMA (x86-64-v3).
    Avx2Fma,
    /// x86-64 with AVX-512 F/BW/CD/DQ/VL (x86-64-v4).
    Avx512,
}

impl Isa {
    /// Every instruction set, from the most basic.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2Fma, Isa::Avx512];

    /// Returns whether this CPU can run the path.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => pulp::x86::V3::try_new().is_some(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => pulp::x86::V4::try_new().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2Fma | Isa::Avx512 => false,
        }
    }

    /// Returns the paths this CPU can run, from the most basic.
    pub fn available() -> Vec<Isa> {
        Isa::ALL
            .into_iter()
            .filter(|isa| isa.is_available())
            .collect()
    }

    /// Returns the fastest path this CPU can run: the one the kernels use
    /// unless [`with_isa`] selects another.
    pub fn detected() -> Isa {
        if Isa::Avx512.is_available() {
            Isa::Avx512
        } else if Isa::Avx2Fma.is_available() {
            Isa::Avx2Fma
        } else {
            Isa::Portable
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Isa::Portable => "portable",
            Isa::Avx2Fma => "avx2+fma",
            Isa::Avx512 => "avx512",
        })
    }
}

thread_local! {
    static FORCED: Cell<Option<Isa>> = const { Cell::new(None) };
}

/// Restores the previous forced path when dropped, also on unwinding.
struct Restore(Option<Isa>);

impl Drop for Restore {
    fn drop(&mut self) {
        FORCED.with(|forced| forced.set(self.0));
    }
}

/// Runs `f` with the kernels called from this thread forced onto `isa`
/// (their worker threads follow). Returns `None`, without running `f`, when
/// the CPU cannot run `isa`.
pub fn with_isa<R>(isa: Isa, f: impl FnOnce() -> R) -> Option<R> {
    if !isa.is_available() {
        return None;
    }
    let _restore = Restore(FORCED.with(|forced| forced.replace(Some(isa))));
    Some(f())
}

/// Returns the path for a kernel call starting on this thread.
pub(crate) fn current() -> Isa {
    FORCED.with(Cell::get).unwrap_or_else(Isa::detected)
}

/// Work that runs compiled for one instruction set and uses its table
/// lookup ([`Lookup`]): the kernels' blocks.
pub(crate) trait Job {
    /// The result of the work.
    type Output;

    /// Runs the work with `lookup`, inside a function compiled for the
    /// lookup's instruction set.
    fn run<L: Lookup>(self, lookup: L) -> Self::Output;
}

/// Runs `job` compiled for `isa`, with that instruction set's lookup. `isa`
/// comes from [`current`], so it is available; if it is not, `job` runs on
/// the portable path.
#[inline(always)]
pub(crate) fn run_job<J: Job>(isa: Isa, job: J) -> J::Output {
    #[cfg(target_arch = "x86_64")]
    {
        match isa {
            Isa::Avx512 => {
                if let Some(simd) = pulp::x86::V4::try_new() {
                    return simd.vectorize(
                        #[inline(always)]
                        move || job.run(simd),
                    );
                }
            }
            Isa::Avx2Fma => {
                if let Some(simd) = pulp::x86::V3::try_new() {
                    return simd.vectorize(
                        #[inline(always)]
                        move || job.run(simd),
                    );
                }
            }
            Isa::Portable => {}
        }
        job.run(Scalar)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = isa;
        pulp::Arch::new().dispatch(
            #[inline(always)]
            move || job.run(Scalar),
        )
    }
}
