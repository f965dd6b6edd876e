//! Times the quality reference on the embedded digits: building it, `quick_fid` and
//! `evaluate` on 2,000 real training digits (not the held-out ones), and prints the FID
//! floor and ceiling. Run with `cargo run --release -p bcegan --example quality_timing`.

use std::time::Instant;

use bcegan::device::cpu_device;
use bcegan::quality::{QualityReference, embedded_split};
use bcegan::train::DataSource;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let device = cpu_device();
    let started = Instant::now();
    let reference = QualityReference::for_data(&DataSource::Embedded, None, &device)?;
    println!(
        "reference built in {:.3} s",
        started.elapsed().as_secs_f64()
    );

    let split = embedded_split()?;
    let images: Vec<f32> = split.train.pixels_f32()[..2_000 * split.train.image_len()].to_vec();
    for _ in 0..3 {
        let started = Instant::now();
        let fid = reference.quick_fid(&images)?;
        println!(
            "quick_fid of 2000 training digits: {fid:.4} in {:.3} s",
            started.elapsed().as_secs_f64()
        );
    }
    let started = Instant::now();
    let report = reference.evaluate(&images)?;
    println!(
        "evaluate: {report:?} in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let floor = reference.fid_floor()?;
    println!(
        "floor {floor:.4} in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let ceiling = reference.fid_ceiling(2_000, 0)?;
    println!(
        "ceiling {ceiling:.4} in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
