//! Fuzzes the IDX readers: any bytes, raw or gzip, must parse or return an error.
#![no_main]

use bcegan::data::{parse_images, parse_labels};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = parse_images(bytes, "fuzz");
    let _ = parse_labels(bytes, "fuzz");
});
