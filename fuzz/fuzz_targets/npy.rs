//! Fuzzes the `.npy` decoder and its rounding to f32 and f64.
#![no_main]

use std::path::Path;

use bcegan::numbers::{Precision, decode_npy, parse_number_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = decode_npy(bytes);
    for precision in [Precision::F32, Precision::F64] {
        let _ = parse_number_bytes(bytes, Path::new("fuzz.npy"), precision);
    }
});
