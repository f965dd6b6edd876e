//! Tests of `bcegan loss` reading CSV columns (`--csv`) and standard input (`@-`,
//! `--csv -`), run through the binary.
//!
//! Each CSV case is compared with the same numbers given as comma lists, so the expected
//! output needs no formula of its own.

use std::io::Write;
use std::process::{Command, Stdio};

/// What one run of the binary returned.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `bcegan loss ARGS` with `stdin` as standard input.
fn bcegan_loss(args: &[&str], stdin: &[u8]) -> Outcome {
    let spawned = Command::new(env!("CARGO_BIN_EXE_bcegan"))
        .arg("loss")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => panic!("starting bcegan failed: {error}"),
    };
    if let Some(mut pipe) = child.stdin.take() {
        // A command that fails before reading may close its end first; that is no error.
        let _ = pipe.write_all(stdin);
    }
    match child.wait_with_output() {
        Ok(output) => Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
        Err(error) => panic!("waiting for bcegan failed: {error}"),
    }
}

/// Runs the command and returns its standard output, panicking unless it succeeds.
fn success(args: &[&str], stdin: &[u8]) -> String {
    let outcome = bcegan_loss(args, stdin);
    assert_eq!(
        outcome.code,
        Some(0),
        "args {args:?}: exit status, stderr {:?}",
        outcome.stderr
    );
    outcome.stdout
}

/// Asserts that the command exits with status 2 and an error containing every needle.
fn assert_invalid(args: &[&str], stdin: &[u8], needles: &[&str]) {
    let outcome = bcegan_loss(args, stdin);
    assert_eq!(
        outcome.code,
        Some(2),
        "args {args:?}: exit status, stderr {:?}",
        outcome.stderr
    );
    for needle in needles {
        assert!(
            outcome.stderr.contains(needle),
            "args {args:?}: expected {needle:?} on stderr, got {:?}",
            outcome.stderr
        );
    }
}

fn temp_dir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("creating a temporary directory failed: {error}"),
    }
}

/// Writes `bytes` to `name` in `dir` and returns the path as a string.
fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.path().join(name);
    if let Err(error) = std::fs::write(&path, bytes) {
        panic!("writing {}: {error}", path.display());
    }
    path.display().to_string()
}

/// Asserts that two runs print the same output.
fn assert_same_output(csv_args: &[&str], stdin: &[u8], list_args: &[&str]) {
    let from_csv = success(csv_args, stdin);
    let from_lists = success(list_args, b"");
    assert_eq!(
        from_csv, from_lists,
        "args {csv_args:?} should print what {list_args:?} prints"
    );
}

const CSV: &str = "id,h,y,w\n1,0.9,1,2\n2,0.2,0,1\n3,0.6,1,0.5\n";

#[test]
fn csv_probs_columns_match_lists() {
    let dir = temp_dir();
    let path = write_file(&dir, "data.csv", CSV.as_bytes());
    assert_same_output(
        &[
            "--csv",
            &path,
            "--probs-col",
            "h",
            "--targets-col",
            "y",
            "--weights-col",
            "w",
            "--dtype",
            "f64",
            "--grad",
            "--json",
        ],
        b"",
        &[
            "--probs",
            "0.9,0.2,0.6",
            "--targets",
            "1,0,1",
            "--weights",
            "2,1,0.5",
            "--dtype",
            "f64",
            "--grad",
            "--json",
        ],
    );
}

#[test]
fn csv_logits_column_matches_lists() {
    let dir = temp_dir();
    let path = write_file(&dir, "data.csv", b"score,label\n-1.5,0\n2,1\n");
    assert_same_output(
        &[
            "--csv",
            &path,
            "--logits-col",
            "score",
            "--targets-col",
            "label",
            "--pos-weight",
            "3",
        ],
        b"",
        &[
            "--logits",
            "-1.5,2",
            "--targets",
            "0,1",
            "--pos-weight",
            "3",
        ],
    );
}

#[test]
fn csv_quoted_fields_rfc4180() {
    // Quoted names and numbers, a comma and doubled quotes inside a quoted field, a field
    // over two lines, CRLF line ends and a byte order mark.
    let text = "\u{feff}\"note\",\"h\",\"y\"\r\n\"a, \"\"b\"\"\",\"0.9\",1\r\n\"two\nlines\",0.2,\"0\"\r\n";
    let dir = temp_dir();
    let path = write_file(&dir, "quoted.csv", text.as_bytes());
    assert_same_output(
        &["--csv", &path, "--probs-col", "h", "--targets-col", "y"],
        b"",
        &["--probs", "0.9,0.2", "--targets", "1,0"],
    );
}

#[test]
fn csv_from_stdin_matches_lists() {
    assert_same_output(
        &["--csv", "-", "--probs-col", "h", "--targets-col", "y"],
        CSV.as_bytes(),
        &["--probs", "0.9,0.2,0.6", "--targets", "1,0,1"],
    );
}

#[test]
fn csv_header_only_is_empty_input() {
    assert_invalid(
        &["--csv", "-", "--probs-col", "h", "--targets-col", "y"],
        b"h,y\n",
        &["empty input", "--reduction sum"],
    );
}

#[test]
fn csv_missing_column_lists_available() {
    assert_invalid(
        &["--csv", "-", "--probs-col", "prob", "--targets-col", "y"],
        CSV.as_bytes(),
        &[
            "invalid --csv",
            "standard input",
            "no column named `prob`",
            "`id`, `h`, `y`, `w`",
        ],
    );
}

#[test]
fn csv_bad_cell_names_line_and_column() {
    let dir = temp_dir();
    let path = write_file(&dir, "bad.csv", b"h,y\n0.9,1\n0.2,zero\n");
    assert_invalid(
        &["--csv", &path, "--probs-col", "h", "--targets-col", "y"],
        b"",
        &[
            "bad.csv",
            "line 3",
            "column `y`",
            "row 1",
            "`zero` is not a number",
        ],
    );
}

#[test]
fn csv_empty_cell_rejected() {
    assert_invalid(
        &["--csv", "-", "--probs-col", "h", "--targets-col", "y"],
        b"h,y\n0.9,1\n,0\n",
        &["line 3", "column `h`", "the cell is empty"],
    );
}

#[test]
fn csv_short_row_rejected() {
    assert_invalid(
        &["--csv", "-", "--probs-col", "h", "--targets-col", "y"],
        b"h,y\n0.9,1\n0.2\n",
        &[
            "line 3",
            "has 1 field but",
            "header row has 2",
            "quote fields",
        ],
    );
}

#[test]
fn csv_empty_file_rejected() {
    assert_invalid(
        &["--csv", "-", "--probs-col", "h", "--targets-col", "y"],
        b"",
        &["standard input is empty", "header row"],
    );
}

#[test]
fn csv_duplicate_column_rejected() {
    assert_invalid(
        &["--csv", "-", "--probs-col", "h", "--targets-col", "y"],
        b"h,y,h\n0.9,1,0.1\n",
        &["more than one column `h`", "unique"],
    );
}

#[test]
fn csv_f32_overflow_located() {
    assert_invalid(
        &["--csv", "-", "--logits-col", "h", "--targets-col", "y"],
        b"h,y\n1e39,1\n",
        &["line 2", "column `h`", "`1e39`", "--dtype f64"],
    );
}

#[test]
fn csv_missing_file_named() {
    let dir = temp_dir();
    let path = dir.path().join("absent.csv").display().to_string();
    assert_invalid(
        &["--csv", &path, "--probs-col", "h", "--targets-col", "y"],
        b"",
        &["failed to read", "absent.csv"],
    );
}

#[test]
fn csv_conflicts_with_lists() {
    let outcome = bcegan_loss(
        &[
            "--csv",
            "-",
            "--probs",
            "0.5",
            "--probs-col",
            "h",
            "--targets-col",
            "y",
        ],
        b"",
    );
    assert_eq!(outcome.code, Some(2), "--csv with --probs: exit status");
    assert!(
        outcome.stderr.contains("--csv") && outcome.stderr.contains("cannot be used"),
        "--csv with --probs: expected a conflict error, got {:?}",
        outcome.stderr
    );
}

#[test]
fn csv_requires_targets_column() {
    let outcome = bcegan_loss(&["--csv", "-", "--probs-col", "h"], b"h\n0.5\n");
    assert_eq!(
        outcome.code,
        Some(2),
        "--csv without --targets-col: exit status"
    );
    assert!(
        outcome.stderr.contains("--targets-col"),
        "--csv without --targets-col: expected the option named, got {:?}",
        outcome.stderr
    );
}

#[test]
fn column_option_requires_csv() {
    let outcome = bcegan_loss(&["--probs-col", "h", "--targets", "1"], b"");
    assert_eq!(
        outcome.code,
        Some(2),
        "--probs-col without --csv: exit status"
    );
    assert!(
        outcome.stderr.contains("--csv"),
        "--probs-col without --csv: expected --csv named, got {:?}",
        outcome.stderr
    );
}

#[test]
fn list_from_stdin_text() {
    assert_same_output(
        &["--probs", "@-", "--targets", "1,0,1"],
        b"0.9\n0.2, 0.6\n",
        &["--probs", "0.9,0.2,0.6", "--targets", "1,0,1"],
    );
}

#[test]
fn list_from_stdin_npy() {
    // `.npy` version 1.0 of the f64 array [1.0, 0.0].
    let mut header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }".to_owned();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let length = u16::try_from(header.len()).unwrap_or(u16::MAX);
    bytes.extend_from_slice(&length.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for value in [1.0_f64, 0.0] {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    assert_same_output(
        &["--logits", "3,-2", "--targets", "@-"],
        &bytes,
        &["--logits", "3,-2", "--targets", "1,0"],
    );
}

#[test]
fn list_bad_item_on_stdin_located() {
    assert_invalid(
        &["--probs", "@-", "--targets", "1,0"],
        b"0.9\n0.2 x\n",
        &["invalid --probs", "standard input, line 2, column 5", "`x`"],
    );
}

#[test]
fn stdin_read_twice_rejected() {
    assert_invalid(
        &["--probs", "@-", "--targets", "@-"],
        b"0.5\n",
        &[
            "--probs and --targets both read standard input",
            "save one of them",
        ],
    );
    assert_invalid(
        &[
            "--csv",
            "-",
            "--probs-col",
            "h",
            "--targets-col",
            "y",
            "--pos-weight",
            "@-",
        ],
        b"h,y\n0.5,1\n",
        &["--pos-weight and --csv both read standard input"],
    );
}

#[test]
fn help_documents_stdin_and_csv() {
    let outcome = bcegan_loss(&["--help"], b"");
    assert_eq!(outcome.code, Some(0), "--help: exit status");
    for needle in ["@-", "--csv -", "--probs-col", "RFC 4180"] {
        assert!(
            outcome.stdout.contains(needle),
            "--help: expected {needle:?}, got {:?}",
            outcome.stdout
        );
    }
}
