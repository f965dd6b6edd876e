//! Times every entry point, form, size and element type in ns/element with
//! `bce::bench::run`, next to the read-only and read-write floors, on 1
//! and 2 threads, and prints one JSON record a line. First it times the
//! logits loss on each instruction set the CPU has (on stderr).
//!
//! `cargo bench -p bce`; `BCE_BENCH_SIZES=1000,16777216` picks the sizes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bce::dispatch::{Isa, with_isa};
use bce::{Options, Reduction, binary_cross_entropy_with_logits};

/// Minimum time spent per measurement; the fastest call counts.
const BUDGET: Duration = Duration::from_millis(400);

/// Times the logits loss on one thread for each available path, so that a
/// path that fails to vectorize shows up.
fn time_paths() {
    let n = bce::PARALLEL_MIN - 1;
    let logits: Vec<f32> = (0..n).map(|i| (i % 17) as f32 - 8.0).collect();
    let targets: Vec<f32> = (0..n).map(|i| (i % 2) as f32).collect();
    let options = Options::new().reduction(Reduction::Sum);
    for isa in Isa::available() {
        let best = with_isa(isa, || {
            let mut best = Duration::MAX;
            let started = Instant::now();
            while started.elapsed() < BUDGET {
                let start = Instant::now();
                black_box(binary_cross_entropy_with_logits(&logits, &targets, &options).ok());
                best = best.min(start.elapsed());
            }
            best
        });
        if let Some(best) = best {
            let ns = best.as_nanos() as f64 / n as f64;
            eprintln!("path {isa}: logits loss {ns:.3} ns/element");
        }
    }
}

fn main() {
    let sizes: Vec<usize> = match std::env::var("BCE_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        Err(_) => bce::bench::SIZES.to_vec(),
    };
    eprintln!("instruction set: {}", Isa::detected());
    time_paths();
    let result = bce::bench::run(&sizes, &[1, 2], BUDGET, |record| {
        println!("{}", record.to_json());
    });
    if let Err(message) = result {
        eprintln!("bench failed: {message}");
        std::process::exit(1);
    }
}
