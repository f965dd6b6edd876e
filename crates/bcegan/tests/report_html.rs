//! `report.html` of a real run folder, opened in headless Chromium: the page must load
//! without console messages and show its four sections. A screenshot is kept in
//! `target/test-artifacts/report.png`.
//!
//! Chromium is Debian's `chromium` package at /usr/bin/chromium (or the path in
//! `BCEGAN_CHROMIUM`). Without it the browser test fails when the environment variable CI
//! is set and is skipped with a message otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Sections that `report.html` must contain, by element id.
const SECTIONS: [&str; 4] = ["final-metrics", "curves", "samples", "config"];

/// Maximum time one Chromium run may take before the test fails.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);

/// Largest report accepted.
const MAX_REPORT_BYTES: u64 = 5 * 1024 * 1024;

fn bcegan(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bcegan"))
        .args(arguments)
        .output()
        .expect("the bcegan binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Trains 20 steps into `folder/run` and writes its report; returns the report's path.
fn short_run_report(folder: &Path) -> PathBuf {
    let run_dir = folder.join("run");
    let run_arg = run_dir.to_str().expect("UTF-8 path");
    let output = bcegan(&[
        "train",
        "--steps",
        "20",
        "--batch-size",
        "16",
        "--sample-every",
        "5",
        "--log-every",
        "5",
        "--out",
        run_arg,
    ]);
    assert!(
        output.status.success(),
        "train exited with {}: {}",
        output.status,
        text(&output.stderr)
    );
    let output = bcegan(&["report", run_arg]);
    assert!(
        output.status.success(),
        "report exited with {}: {}",
        output.status,
        text(&output.stderr)
    );
    run_dir.join("report.html")
}

/// Returns the Chromium binary, `None` (after printing why) when it is missing outside CI.
///
/// # Panics
///
/// Panics when Chromium is missing and the environment variable CI is set.
fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("BCEGAN_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.is_file() {
        return Some(path);
    }
    let reason = format!(
        "Chromium not found at {}; install Debian's package with `apt-get install -y chromium` \
         or set BCEGAN_CHROMIUM",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{reason}");
    }
    eprintln!("skipping the browser check: {reason}");
    None
}

/// Output of one Chromium run.
struct ChromiumOutput {
    success: bool,
    status: String,
    stdout: String,
    stderr: String,
}

/// Runs headless Chromium on `page` with `extra` flags and a fresh profile.
///
/// Its stdout and stderr go to files, because a `--dump-dom` of the report is larger than
/// a pipe's buffer and would block Chromium while the test waits.
fn run_chromium(chromium: &Path, page: &Path, extra: &[&str]) -> ChromiumOutput {
    let scratch = tempfile::tempdir().expect("temporary Chromium folder");
    let profile = scratch.path().join("profile");
    let stdout_path = scratch.path().join("stdout.txt");
    let stderr_path = scratch.path().join("stderr.txt");
    let url = format!(
        "file://{}",
        page.canonicalize().expect("page path").display()
    );
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("create stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("create stderr file"))
        .spawn()
        .expect("Chromium starts");
    let started = Instant::now();
    let status = loop {
        match child.try_wait().expect("wait for Chromium") {
            Some(status) => break status,
            None if started.elapsed() > CHROMIUM_TIMEOUT => {
                // The child is ours; it is killed so the test does not hang.
                let _ = child.kill();
                let _ = child.wait();
                let stderr = std::fs::read(&stderr_path).unwrap_or_default();
                panic!(
                    "Chromium did not finish {url} within {CHROMIUM_TIMEOUT:?}; stderr:\n{}",
                    text(&stderr)
                );
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    ChromiumOutput {
        success: status.success(),
        status: status.to_string(),
        stdout: text(&std::fs::read(&stdout_path).expect("read Chromium's stdout")),
        stderr: text(&std::fs::read(&stderr_path).expect("read Chromium's stderr")),
    }
}

/// Returns the console messages of the page: Chromium logs them on stderr as
/// `...:CONSOLE:LINE] "message", source: URL (LINE)`.
fn console_messages(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .collect()
}

#[test]
fn report_html_is_self_contained_and_small() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let report = short_run_report(folder.path());
    let html = std::fs::read_to_string(&report).expect("report.html is readable");
    for id in SECTIONS {
        let tag = format!("<section id=\"{id}\">");
        assert!(html.contains(&tag), "report.html lacks {tag}");
    }
    for reference in ["src=\"http", "href=\"http", "url(http", "<script"] {
        assert!(
            !html.contains(reference),
            "report.html contains {reference:?}, which loads or runs something"
        );
    }
    let grids = html.matches("src=\"data:image/png;base64,").count();
    assert_eq!(grids, 4, "sample grids inlined for steps 5, 10, 15, 20");
    let bytes = std::fs::metadata(&report)
        .expect("report.html metadata")
        .len();
    assert!(
        bytes < MAX_REPORT_BYTES,
        "report.html is {bytes} bytes, expected under {MAX_REPORT_BYTES}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(report.parent().expect("run folder"))
        .expect("read run folder")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn report_rejects_empty_folder() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().to_str().expect("UTF-8 temporary path");
    let output = bcegan(&["report", path]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "exit code; stderr: {stderr}");
    assert!(
        stderr.contains("invalid run folder") && stderr.contains("bcegan train"),
        "stderr should name the folder and say what it needs: {stderr}"
    );
    assert!(
        !folder.path().join("report.html").exists(),
        "no report should be written for an empty folder"
    );
}

#[test]
fn report_html_loads_in_chromium() {
    let Some(chromium) = find_chromium() else {
        return;
    };
    let folder = tempfile::tempdir().expect("temporary folder");

    // A control page proves that console messages reach the check below.
    let control = folder.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><body><script>console.error(\"bcegan-control\")</script></body></html>",
    )
    .expect("write the control page");
    let output = run_chromium(&chromium, &control, &["--dump-dom"]);
    let stderr = &output.stderr;
    let messages = console_messages(stderr);
    assert!(
        messages.iter().any(|line| line.contains("bcegan-control")),
        "the control page's console.error was not seen; Chromium's stderr:\n{stderr}"
    );

    let report = short_run_report(folder.path());
    let output = run_chromium(&chromium, &report, &["--dump-dom"]);
    let stderr = &output.stderr;
    assert!(
        output.success,
        "Chromium exited with {} on report.html; stderr:\n{stderr}",
        output.status
    );
    let messages = console_messages(stderr);
    assert!(
        messages.is_empty(),
        "report.html logged console messages: {messages:#?}"
    );
    let dom = &output.stdout;
    for id in SECTIONS {
        let tag = format!("<section id=\"{id}\">");
        assert!(dom.contains(&tag), "the loaded page lacks {tag}");
    }
    assert!(
        dom.contains("<svg"),
        "the loaded page has no inline SVG curves"
    );

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside target/")
        .join("test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("create target/test-artifacts");
    let screenshot = artifacts.join("report.png");
    let _ = std::fs::remove_file(&screenshot);
    let output = run_chromium(
        &chromium,
        &report,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1100,2600",
            "--hide-scrollbars",
        ],
    );
    let size = std::fs::metadata(&screenshot).map(|metadata| metadata.len());
    assert!(
        matches!(size, Ok(bytes) if bytes > 0),
        "no screenshot at {}: {size:?}; Chromium's stderr:\n{}",
        screenshot.display(),
        output.stderr
    );
}
