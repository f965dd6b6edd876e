//! Fuzzes the text readers of number lists: comma lists, text files and CSV columns.
#![no_main]

use std::path::Path;

use bcegan::numbers::{Precision, parse_comma_list, parse_csv_columns, parse_number_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    for precision in [Precision::F32, Precision::F64] {
        let _ = parse_number_bytes(bytes, Path::new("fuzz.txt"), precision);
        let _ = parse_csv_columns(bytes, Path::new("fuzz.csv"), &["p", "y", "w"], precision);
        if let Ok(text) = std::str::from_utf8(bytes) {
            let _ = parse_comma_list(text, precision);
        }
    }
});
