//! Helpers shared by the tests that run the `bcegan` binary on small settings.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Settings small enough for the dev profile: 16-image batches, every step logged.
pub const TINY: [&str; 6] = [
    "--batch-size",
    "16",
    "--log-every",
    "1",
    "--sample-every",
    "1000",
];

/// A `bcegan train` command writing to `out` with `words` after the tiny settings.
pub fn train_command(out: &Path, words: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bcegan"));
    command
        .arg("train")
        .args(TINY)
        .arg("--out")
        .arg(out)
        .args(words);
    command.env("RUST_LOG", "warn");
    command
}

/// Runs `bcegan train` to its end.
pub fn train(out: &Path, words: &[&str]) -> Output {
    train_command(out, words)
        .output()
        .expect("the bcegan binary starts")
}

/// Text of a finished command's stderr.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Rows of `metrics.csv` as (step, bits of d_loss, g_loss, d_real, d_fake).
pub fn loss_bits(out: &Path) -> Vec<(u64, [u32; 4])> {
    let text = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv is readable");
    text.lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let step = cells[0].parse().expect("step is an integer");
            let mut bits = [0_u32; 4];
            for (slot, cell) in bits.iter_mut().zip(&cells[1..5]) {
                *slot = cell.parse::<f32>().expect("loss is a number").to_bits();
            }
            (step, bits)
        })
        .collect()
}
