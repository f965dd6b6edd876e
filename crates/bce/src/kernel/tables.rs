//! The 32-entry tables of the hard-target path's maths ([`super::compact`])
//! and their lookup on each instruction set.
//!
//! A lookup returns `table[index & 31]` in every lane. AVX-512 does it with
//! one two-register permute per 16 lanes, AVX2 with four one-register
//! permutes and three blends per 8 lanes, the portable path with an array
//! index. All three return the same `f32` values, so the maths built on
//! them rounds the same on every path.

/// A table of 32 `f32` values, indexed by the low 5 bits of a lane.
pub(crate) type Table = [f32; 32];

/// Looks tables up for the lanes of one instruction set.
pub(crate) trait Lookup: Copy {
    /// Returns `table[index[j] & 31]` for each lane `j`; `N` is a multiple
    /// of 16.
    fn lookup<const N: usize>(self, table: &Table, index: &[u32; N]) -> [f32; N];
}

/// The portable lookup: one array index a lane.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scalar;

impl Lookup for Scalar {
    #[inline(always)]
    fn lookup<const N: usize>(self, table: &Table, index: &[u32; N]) -> [f32; N] {
        let mut out = [0.0_f32; N];
        for j in 0..N {
            out[j] = table[(index[j] & 31) as usize];
        }
        out
    }
}

/// Copies `M` values from `start` (a copy rather than `array::from_fn`,
/// which may not inline into the function compiled for the instruction
/// set).
#[inline(always)]
fn part<T: Copy + Default, const M: usize>(values: &[T], start: usize) -> [T; M] {
    let mut out = [T::default(); M];
    out.copy_from_slice(&values[start..start + M]);
    out
}

#[cfg(target_arch = "x86_64")]
impl Lookup for pulp::x86::V4 {
    #[inline(always)]
    fn lookup<const N: usize>(self, table: &Table, index: &[u32; N]) -> [f32; N] {
        use core::arch::x86_64::{__m512, __m512i};
        const { assert!(N.is_multiple_of(16)) };
        let low: __m512 = pulp::cast(part::<f32, 16>(table, 0));
        let high: __m512 = pulp::cast(part::<f32, 16>(table, 16));
        let mut out = [0.0_f32; N];
        for start in (0..N).step_by(16) {
            let lanes: __m512i = pulp::cast(part::<u32, 16>(index, start));
            let found = self.avx512f._mm512_permutex2var_ps(low, lanes, high);
            out[start..start + 16].copy_from_slice(&pulp::cast::<__m512, [f32; 16]>(found));
        }
        out
    }
}

#[cfg(target_arch = "x86_64")]
impl Lookup for pulp::x86::V3 {
    #[inline(always)]
    fn lookup<const N: usize>(self, table: &Table, index: &[u32; N]) -> [f32; N] {
        use core::arch::x86_64::{__m256, __m256i};
        const { assert!(N.is_multiple_of(16)) };
        let quarters: [__m256; 4] = [
            pulp::cast(part::<f32, 8>(table, 0)),
            pulp::cast(part::<f32, 8>(table, 8)),
            pulp::cast(part::<f32, 8>(table, 16)),
            pulp::cast(part::<f32, 8>(table, 24)),
        ];
        let mut out = [0.0_f32; N];
        for start in (0..N).step_by(8) {
            let lanes: __m256i = pulp::cast(part::<u32, 8>(index, start));
            let permute = |q: usize| self.avx2._mm256_permutevar8x32_ps(quarters[q], lanes);
            let found = [permute(0), permute(1), permute(2), permute(3)];
            // blendv reads each lane's sign bit: bit 3 of the index, then bit 4.
            let bit3: __m256 = pulp::cast(self.avx2._mm256_slli_epi32::<28>(lanes));
            let bit4: __m256 = pulp::cast(self.avx2._mm256_slli_epi32::<27>(lanes));
            let first = self.avx._mm256_blendv_ps(found[0], found[1], bit3);
            let second = self.avx._mm256_blendv_ps(found[2], found[3], bit3);
            let found = self.avx._mm256_blendv_ps(first, second, bit4);
            out[start..start + 8].copy_from_slice(&pulp::cast::<__m256, [f32; 8]>(found));
        }
        out
    }
}

/// `2^(j/32)` rounded to `f32`, for `j = 0, 1, …, 31`.
pub(super) const EXP2_HI: Table = [
    f32::from_bits(0x3f800000),
    f32::from_bits(0x3f82cd87),
    f32::from_bits(0x3f85aac3),
    f32::from_bits(0x3f88980f),
    f32::from_bits(0x3f8b95c2),
    f32::from_bits(0x3f8ea43a),
    f32::from_bits(0x3f91c3d3),
    f32::from_bits(0x3f94f4f0),
    f32::from_bits(0x3f9837f0),
    f32::from_bits(0x3f9b8d3a),
    f32::from_bits(0x3f9ef532),
    f32::from_bits(0x3fa27043),
    f32::from_bits(0x3fa5fed7),
    f32::from_bits(0x3fa9a15b),
    f32::from_bits(0x3fad583f),
    f32::from_bits(0x3fb123f6),
    f32::from_bits(0x3fb504f3),
    f32::from_bits(0x3fb8fbaf),
    f32::from_bits(0x3fbd08a4),
    f32::from_bits(0x3fc12c4d),
    f32::from_bits(0x3fc5672a),
    f32::from_bits(0x3fc9b9be),
    f32::from_bits(0x3fce248c),
    f32::from_bits(0x3fd2a81e),
    f32::from_bits(0x3fd744fd),
    f32::from_bits(0x3fdbfbb8),
    f32::from_bits(0x3fe0ccdf),
    f32::from_bits(0x3fe5b907),
    f32::from_bits(0x3feac0c7),
    f32::from_bits(0x3fefe4ba),
    f32::from_bits(0x3ff5257d),
    f32::from_bits(0x3ffa83b3),
];

/// `2^(j/32) − EXP2_HI[j]`, rounded to `f32`.
pub(super) const EXP2_LO: Table = [
    f32::from_bits(0x00000000),
    f32::from_bits(0xb34ea7a9),
    f32::from_bits(0x334f9891),
    f32::from_bits(0xb37eda4b),
    f32::from_bits(0xb260aba1),
    f32::from_bits(0xb3697465),
    f32::from_bits(0x33675624),
    f32::from_bits(0xb32e0212),
    f32::from_bits(0x33231b71),
    f32::from_bits(0xb30c5563),
    f32::from_bits(0x33412342),
    f32::from_bits(0x30c3125a),
    f32::from_bits(0xb32c9d5e),
    f32::from_bits(0xb3162b08),
    f32::from_bits(0xb22deaf6),
    f32::from_bits(0xb37c5aa8),
    f32::from_bits(0x32cfe77a),
    f32::from_bits(0x330ec5f7),
    f32::from_bits(0xb3414fe8),
    f32::from_bits(0xb2d6663e),
    f32::from_bits(0x320aa837),
    f32::from_bits(0xb37323a2),
    f32::from_bits(0x3228fc24),
    f32::from_bits(0xb35c1daa),
    f32::from_bits(0xb2d4a58a),
    f32::from_bits(0xb3504a1c),
    f32::from_bits(0xb21eab59),
    f32::from_bits(0xb2441be6),
    f32::from_bits(0xb24116de),
    f32::from_bits(0xb348464a),
    f32::from_bits(0x32292436),
    f32::from_bits(0xb2923758),
];

/// `1/c` rounded to `f32` for the centre `c` of mantissa cell `i` (see
/// `compact::log_two_part`); exactly 1 for the cell around 1.
pub(super) const LOG_RECIPROCAL: Table = [
    f32::from_bits(0x3f800000),
    f32::from_bits(0x3f783e10),
    f32::from_bits(0x3f70f0f1),
    f32::from_bits(0x3f6a0ea1),
    f32::from_bits(0x3f638e39),
    f32::from_bits(0x3f5d67c9),
    f32::from_bits(0x3f579436),
    f32::from_bits(0x3f520d21),
    f32::from_bits(0x3f4ccccd),
    f32::from_bits(0x3f47ce0c),
    f32::from_bits(0x3f430c31),
    f32::from_bits(0x3f3e82fa),
    f32::from_bits(0x3f3a2e8c),
    f32::from_bits(0x3f360b61),
    f32::from_bits(0x3f321643),
    f32::from_bits(0x3f2e4c41),
    f32::from_bits(0x3faaaaab),
    f32::from_bits(0x3fa72f05),
    f32::from_bits(0x3fa3d70a),
    f32::from_bits(0x3fa0a0a1),
    f32::from_bits(0x3f9d89d9),
    f32::from_bits(0x3f9a90e8),
    f32::from_bits(0x3f97b426),
    f32::from_bits(0x3f94f209),
    f32::from_bits(0x3f924925),
    f32::from_bits(0x3f8fb824),
    f32::from_bits(0x3f8d3dcb),
    f32::from_bits(0x3f8ad8f3),
    f32::from_bits(0x3f888889),
    f32::from_bits(0x3f864b8a),
    f32::from_bits(0x3f842108),
    f32::from_bits(0x3f820821),
];

/// `−log(LOG_RECIPROCAL[i])` rounded to `f32`.
pub(super) const LOG_HI: Table = [
    f32::from_bits(0x80000000),
    f32::from_bits(0x3cfc14c8),
    f32::from_bits(0x3d785185),
    f32::from_bits(0x3db78694),
    f32::from_bits(0x3df1383a),
    f32::from_bits(0x3e14aa96),
    f32::from_bits(0x3e2ff983),
    f32::from_bits(0x3e4a92d4),
    f32::from_bits(0x3e647fbd),
    f32::from_bits(0x3e7dc8c6),
    f32::from_bits(0x3e8b3ae5),
    f32::from_bits(0x3e974716),
    f32::from_bits(0x3ea30c5d),
    f32::from_bits(0x3eae8ded),
    f32::from_bits(0x3eb9cebf),
    f32::from_bits(0x3ec4d19d),
    f32::from_bits(0xbe934b12),
    f32::from_bits(0xbe88bc73),
    f32::from_bits(0xbe7cc8e2),
    f32::from_bits(0xbe6881c2),
    f32::from_bits(0xbe549f6c),
    f32::from_bits(0xbe411e0c),
    f32::from_bits(0xbe2dfa04),
    f32::from_bits(0xbe1b2fe3),
    f32::from_bits(0xbe08bc77),
    f32::from_bits(0xbded393c),
    f32::from_bits(0xbdc99af2),
    f32::from_bits(0xbda6988b),
    f32::from_bits(0xbd842ccd),
    f32::from_bits(0xbd44a542),
    f32::from_bits(0xbd020ae4),
    f32::from_bits(0xbc8102d2),
];

/// `−log(LOG_RECIPROCAL[i]) − LOG_HI[i]`, rounded to `f32`.
pub(super) const LOG_LO: Table = [
    f32::from_bits(0x00000000),
    f32::from_bits(0x30678338),
    f32::from_bits(0x2d0b1538),
    f32::from_bits(0xb151a94b),
    f32::from_bits(0x3162af2e),
    f32::from_bits(0x3103fea6),
    f32::from_bits(0x2fa793d5),
    f32::from_bits(0x2ff456b8),
    f32::from_bits(0x31735345),
    f32::from_bits(0xb0a8706f),
    f32::from_bits(0xb205459f),
    f32::from_bits(0xb08f7168),
    f32::from_bits(0x310717b2),
    f32::from_bits(0x31ab013a),
    f32::from_bits(0x312ef402),
    f32::from_bits(0x320c1426),
    f32::from_bits(0x326cb247),
    f32::from_bits(0xb2427e48),
    f32::from_bits(0x30d31324),
    f32::from_bits(0x304d50ce),
    f32::from_bits(0xb1c8ad9d),
    f32::from_bits(0xb12a3478),
    f32::from_bits(0x3115784a),
    f32::from_bits(0xb1c15900),
    f32::from_bits(0xb089f916),
    f32::from_bits(0xb06111a8),
    f32::from_bits(0xb1559498),
    f32::from_bits(0xb0a40fd6),
    f32::from_bits(0x31261c66),
    f32::from_bits(0x30b604da),
    f32::from_bits(0xb09e7440),
    f32::from_bits(0x2fed9533),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits an `f64` into an `f32` and the `f32` rounding of the rest.
    fn split(value: f64) -> (f32, f32) {
        let high = value as f32;
        (high, (value - f64::from(high)) as f32)
    }

    /// Returns the centre of mantissa cell `i` of `compact::log_two_part`.
    fn cell_centre(i: usize) -> f64 {
        match i {
            0 => 1.0,
            1..16 => 1.0 + i as f64 / 32.0,
            _ => 0.5 + i as f64 / 64.0,
        }
    }

    #[test]
    fn tables_match_definitions() {
        for j in 0..32 {
            let (high, low) = split((j as f64 / 32.0).exp2());
            assert!(
                EXP2_HI[j] == high && EXP2_LO[j] == low,
                "2^({j}/32): expected {high:e} + {low:e}, got {:e} + {:e}",
                EXP2_HI[j],
                EXP2_LO[j]
            );
            let reciprocal = if j == 0 {
                1.0
            } else {
                (1.0 / cell_centre(j)) as f32
            };
            let (high, low) = split(-f64::from(reciprocal).ln());
            assert!(
                LOG_RECIPROCAL[j] == reciprocal && LOG_HI[j] == high && LOG_LO[j] == low,
                "log cell {j}: expected 1/c = {reciprocal:e}, −log = {high:e} + {low:e}, got \
                 {:e}, {:e} + {:e}",
                LOG_RECIPROCAL[j],
                LOG_HI[j],
                LOG_LO[j]
            );
        }
    }

    #[test]
    fn tables_lookup_agrees_on_every_path() {
        let index: [u32; 64] = core::array::from_fn(|j| (j as u32).wrapping_mul(0x9e37_79b9));
        let expected = Scalar.lookup(&EXP2_HI, &index);
        for j in 0..64 {
            assert!(
                expected[j] == EXP2_HI[(index[j] & 31) as usize],
                "scalar lookup, lane {j}: wrong entry"
            );
        }
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(simd) = pulp::x86::V4::try_new() {
                let found = simd.vectorize(
                    #[inline(always)]
                    || simd.lookup(&EXP2_HI, &index),
                );
                assert!(found == expected, "AVX-512 lookup differs: {found:?}");
            }
            if let Some(simd) = pulp::x86::V3::try_new() {
                let found = simd.vectorize(
                    #[inline(always)]
                    || simd.lookup(&EXP2_HI, &index),
                );
                assert!(found == expected, "AVX2 lookup differs: {found:?}");
            }
        }
    }
}
