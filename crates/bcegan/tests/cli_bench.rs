//! The `bench kernels` command on tiny sizes: output shape, not speed.

use bcegan::cli::bench::{BenchError, KernelArgs, run};
use clap::Parser;

#[derive(Parser)]
struct Wrapper {
    #[command(flatten)]
    args: KernelArgs,
}

fn args(words: &[&str]) -> KernelArgs {
    let mut argv = vec!["kernels"];
    argv.extend_from_slice(words);
    Wrapper::try_parse_from(argv)
        .expect("test arguments parse")
        .args
}

#[test]
fn bench_json_records_cover_entries() {
    let mut out = Vec::new();
    let result = run(
        &args(&[
            "--sizes",
            "64,1000",
            "--threads",
            "1",
            "--budget-ms",
            "1",
            "--json",
        ]),
        &mut out,
    );
    assert!(result.is_ok(), "bench runs: {result:?}");
    let text = String::from_utf8(out).expect("UTF-8 output");
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();

    for entry in ["logits", "probs", "floor_read", "floor_read_write"] {
        for dtype in ["float32", "float64"] {
            for n in [64, 1000] {
                let found = records.iter().any(|record| {
                    record["entry"] == entry && record["dtype"] == dtype && record["n"] == n
                });
                assert!(found, "a record for {entry} {dtype} n={n} in {text}");
            }
        }
    }
    for record in &records {
        let ns = record["ns_per_element"].as_f64().unwrap_or(f64::NAN);
        assert!(ns.is_finite(), "finite time in {record}");
        assert!(ns > 0.0, "positive time in {record}");
        assert_eq!(record["threads"], 1, "thread count in {record}");
        assert_eq!(record["reduction"], "mean", "reduction in {record}");
    }
}

#[test]
fn bench_rejects_zero_size() {
    let result = run(&args(&["--sizes", "0"]), &mut Vec::new());
    assert!(
        matches!(
            result,
            Err(BenchError::Invalid {
                name: "--sizes",
                value: 0,
                ..
            })
        ),
        "size 0 is rejected, got {result:?}"
    );
}
