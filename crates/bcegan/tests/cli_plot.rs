//! `bcegan plot`, `bcegan completions` and the global flags, run as a user runs them.
//!
//! The PNG figures are also copied to `target/test-artifacts/` for a look by eye.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bcegan(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bcegan"))
        .args(arguments)
        .output()
        .expect("the bcegan binary starts")
}

/// Returns `target/test-artifacts/`, created if needed.
fn artifacts_dir() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside target/")
        .to_path_buf();
    let folder = target.join("test-artifacts");
    std::fs::create_dir_all(&folder).expect("create target/test-artifacts");
    folder
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Costs −ln 0.99 = 0.0100503 and −ln 0.01 = 4.60517 at four significant digits.
#[test]
fn plot_cost_svg_shows_marked_costs() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let svg_path = folder.path().join("cost.svg");
    let svg_arg = svg_path.to_str().expect("UTF-8 path");
    let output = bcegan(&[
        "plot", "cost", "--mark", "0.99:1", "--mark", "0.01:1", "--out", svg_arg,
    ]);
    assert!(
        output.status.success(),
        "plot cost exited with {}: {}",
        output.status,
        text(&output.stderr)
    );
    let svg = std::fs::read_to_string(&svg_path).expect("cost.svg is written");
    for expected in [
        "h = 0.99, y = 1: cost 0.01005",
        "h = 0.01, y = 1: cost 4.605",
        "target y = 1: −log h",
        "target y = 0: −log(1 − h)",
        "prediction h = D(x)",
        "cost of the example",
    ] {
        assert!(
            svg.contains(expected),
            "cost.svg lacks the text {expected:?}"
        );
    }
    let polylines = svg.matches("<polyline").count();
    assert!(
        polylines >= 2,
        "cost.svg: expected a polyline for each curve, found {polylines}"
    );
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("cost 4.605"),
        "stdout of plot cost lacks the mark's cost: {stdout:?}"
    );
}

#[test]
fn plot_cost_png_is_written() {
    let folder = tempfile::tempdir().expect("temporary folder");
    for (name, extra) in [("cost.png", None), ("cost-logits.png", Some("--logits"))] {
        let path = folder.path().join(name);
        let mut arguments = vec![
            "plot",
            "cost",
            "--mark",
            "0.99:1",
            "--mark",
            "0.01:1",
            "--out",
            path.to_str().expect("UTF-8 path"),
        ];
        arguments.extend(extra);
        let output = bcegan(&arguments);
        assert!(
            output.status.success(),
            "plot cost {arguments:?} exited with {}: {}",
            output.status,
            text(&output.stderr)
        );
        let bytes = std::fs::read(&path).expect("the PNG is written");
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{name} does not start with the PNG signature"
        );
        std::fs::copy(&path, artifacts_dir().join(name)).expect("copy the PNG to the artifacts");
    }
}

#[test]
fn plot_cost_rejects_invalid_settings() {
    let cases: [&[&str]; 4] = [
        &["plot", "cost", "--mark", "1.5:1"],
        &["plot", "cost", "--mark", "0.5:2"],
        &["plot", "cost", "--mark", "0.5"],
        &["plot", "cost", "--out", "cost.jpg"],
    ];
    for arguments in cases {
        let output = bcegan(arguments);
        assert_eq!(
            output.status.code(),
            Some(2),
            "bcegan {arguments:?}: expected exit status 2, stderr {}",
            text(&output.stderr)
        );
    }
}

#[test]
fn plot_metrics_reads_columns_by_name() {
    let folder = tempfile::tempdir().expect("temporary folder");
    // Columns in another order, an unknown column and an FID column with gaps.
    let csv = "step,g_loss,d_loss,d_real,d_fake,elapsed_s,future,fid\n\
               10,0.9,0.7,0.6,0.4,1.0,3,\n\
               20,1.1,0.6,0.7,0.3,2.0,4,55.5\n\
               30,1.2,0.5,0.8,0.2,3.0,5,41.0\n";
    std::fs::write(folder.path().join("metrics.csv"), csv).expect("write metrics.csv");
    let run_dir = folder.path().to_str().expect("UTF-8 path");

    let output = bcegan(&["plot", "metrics", run_dir]);
    assert!(
        output.status.success(),
        "plot metrics exited with {}: {}",
        output.status,
        text(&output.stderr)
    );
    let svg = std::fs::read_to_string(folder.path().join("metrics.svg")).expect("metrics.svg");
    for expected in ["d_loss", "g_loss", "D(x)", "D(G(z))", "FID"] {
        assert!(svg.contains(expected), "metrics.svg lacks {expected:?}");
    }

    let png = folder.path().join("metrics.png");
    let output = bcegan(&[
        "plot",
        "metrics",
        run_dir,
        "--out",
        png.to_str().expect("UTF-8 path"),
    ]);
    assert!(
        output.status.success(),
        "plot metrics --out metrics.png exited with {}: {}",
        output.status,
        text(&output.stderr)
    );
    std::fs::copy(&png, artifacts_dir().join("metrics.png")).expect("copy the PNG");
}

#[test]
fn plot_metrics_missing_file_fails() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let output = bcegan(&[
        "plot",
        "metrics",
        folder.path().to_str().expect("UTF-8 path"),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "exit status, stderr {stderr}"
    );
    assert!(
        stderr.contains("metrics.csv"),
        "stderr does not name metrics.csv: {stderr:?}"
    );
}

#[test]
fn completions_cover_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let output = bcegan(&["completions", shell]);
        assert!(
            output.status.success(),
            "completions {shell} exited with {}",
            output.status
        );
        let script = text(&output.stdout);
        for command in ["train", "loss", "plot", "report", "bench", "completions"] {
            assert!(
                script.contains(command),
                "the {shell} script does not mention {command}"
            );
        }
    }
}

#[test]
fn help_lists_units_and_defaults() {
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["plot", "cost", "--help"],
            &["[default: cost.svg]", ".svg or .png"],
        ),
        (&["plot", "metrics", "--help"], &["RUN_DIR/metrics.svg"]),
        (&["report", "--help"], &["RUN_DIR/report.html"]),
        (&["--help"], &["--quiet", "--verbose", "completions"]),
    ];
    for (arguments, expected) in cases {
        let output = bcegan(arguments);
        let help = text(&output.stdout);
        for phrase in expected {
            assert!(
                help.contains(phrase),
                "bcegan {arguments:?} lacks {phrase:?}:\n{help}"
            );
        }
    }
}
