//! `report.html`: one self-contained page per run folder with the configuration, the
//! curves, the sample grids over time and the final metrics.
//!
//! The page loads nothing: the curves are inline SVG, the grids are PNG data URIs, and a
//! Content-Security-Policy forbids every other source, so it opens the same offline, from
//! an archive or as an e-mail attachment.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::error::ReportError;
use super::metrics_csv::MetricsTable;
use super::plot::{MetricsFigure, format_significant, render_svg};

/// File name of the report in the run folder.
pub const REPORT_FILE: &str = "report.html";

/// Most sample grids shown; a long run with frequent grids is thinned to this many,
/// evenly spaced, always keeping the first and the last.
pub const MAX_GRIDS_SHOWN: usize = 12;

/// Budget for the PNG bytes of the grids shown, before base64 (which adds a third), so
/// that the page stays well under 5 MiB with its curves and text.
pub const GRID_BYTES_BUDGET: u64 = 3 * 1024 * 1024;

/// A sample grid file `samples/step-NNNNNN.png`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleGrid {
    /// Step after which the grid was drawn.
    pub step: u64,
    /// The PNG file.
    pub path: PathBuf,
    /// File size in bytes.
    pub bytes: u64,
}

/// Writes `run_dir/report.html` from the files in the run folder, replacing the old report
/// atomically (a temporary file renamed over it), and returns its path.
///
/// Missing parts (no `metrics.csv` or samples yet) become a note in their section, so the
/// report can be written at any point of a run.
///
/// # Errors
///
/// Returns [`ReportError`] when `run_dir` cannot be read or contains none of a run's files,
/// `metrics.csv` is malformed, or the report cannot be written.
pub fn write_run_report(run_dir: &Path) -> Result<PathBuf, ReportError> {
    let html = render_run_report(run_dir)?;
    let path = run_dir.join(REPORT_FILE);
    let temporary = run_dir.join(format!(".{REPORT_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, html.as_bytes())
        .map_err(|error| ReportError::io("write", &temporary, error))?;
    if let Err(error) = std::fs::rename(&temporary, &path) {
        // The temporary file is useless without the rename; its removal is best effort.
        let _ = std::fs::remove_file(&temporary);
        return Err(ReportError::io("replace", &path, error));
    }
    Ok(path)
}

/// Builds the report page of `run_dir` (see [`write_run_report`]).
///
/// # Errors
///
/// Returns [`ReportError`] when `run_dir` is not a readable folder, contains none of a
/// run's files, or `metrics.csv` is malformed.
pub fn render_run_report(run_dir: &Path) -> Result<String, ReportError> {
    std::fs::read_dir(run_dir).map_err(|error| ReportError::io("read folder", run_dir, error))?;
    let name = run_dir
        .canonicalize()
        .ok()
        .and_then(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| run_dir.display().to_string());

    let metrics_path = run_dir.join("metrics.csv");
    let run_files = [
        metrics_path.clone(),
        run_dir.join("config.json"),
        run_dir.join("samples"),
    ];
    if !run_files.iter().any(|path| path.exists()) {
        return Err(ReportError::Invalid {
            name: "run folder",
            value: run_dir.display().to_string(),
            expected: "a folder written by `bcegan train`, with metrics.csv, config.json or \
                       samples/ in it; pass the folder given to `train --out`"
                .to_string(),
        });
    }
    let table = if metrics_path.is_file() {
        Some(MetricsTable::read(&metrics_path)?)
    } else {
        None
    };

    let mut page = String::new();
    page.push_str(&page_head(&name));
    page.push_str(&final_metrics_section(table.as_ref()));
    page.push_str(&curves_section(table.as_ref())?);
    page.push_str(&samples_section(run_dir)?);
    page.push_str(&config_section(run_dir)?);
    let _ = write!(
        page,
        "<footer>Written by bcegan {} from the files in this run folder.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(page)
}

/// Lists `run_dir/samples/step-NNNNNN.png` by step; a missing folder gives an empty list.
///
/// # Errors
///
/// Returns [`ReportError::Io`] when the folder exists but cannot be read.
pub fn sample_grids(run_dir: &Path) -> Result<Vec<SampleGrid>, ReportError> {
    let folder = run_dir.join("samples");
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(&folder)
        .map_err(|error| ReportError::io("read folder", &folder, error))?;
    let mut grids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| ReportError::io("read folder", &folder, error))?;
        let file_name = entry.file_name();
        let Some(step) = file_name
            .to_str()
            .and_then(|name| name.strip_prefix("step-"))
            .and_then(|rest| rest.strip_suffix(".png"))
            .and_then(|digits| digits.parse::<u64>().ok())
        else {
            continue;
        };
        let bytes = entry
            .metadata()
            .map_err(|error| ReportError::io("read", entry.path(), error))?
            .len();
        grids.push(SampleGrid {
            step,
            path: entry.path(),
            bytes,
        });
    }
    grids.sort_by_key(|grid| grid.step);
    Ok(grids)
}

/// Picks the grids to show: at most [`MAX_GRIDS_SHOWN`], evenly spaced with the first and
/// the last, and fewer while their PNG bytes exceed [`GRID_BYTES_BUDGET`].
pub fn choose_grids(grids: &[SampleGrid]) -> Vec<&SampleGrid> {
    let mut count = grids.len().min(MAX_GRIDS_SHOWN);
    loop {
        let chosen: Vec<&SampleGrid> = evenly_spaced(grids.len(), count)
            .into_iter()
            .map(|index| &grids[index])
            .collect();
        let total: u64 = chosen.iter().map(|grid| grid.bytes).sum();
        if total <= GRID_BYTES_BUDGET || count <= 1 {
            return chosen;
        }
        count -= 1;
    }
}

/// Returns `count` indices into `0..len`, evenly spaced, including 0 and `len - 1` when
/// `count >= 2`.
fn evenly_spaced(len: usize, count: usize) -> Vec<usize> {
    match (len, count) {
        (0, _) | (_, 0) => Vec::new(),
        (_, 1) => vec![len - 1],
        _ => {
            let count = count.min(len);
            let mut indices: Vec<usize> = (0..count)
                .map(|slot| ((slot * (len - 1)) as f64 / (count - 1) as f64).round() as usize)
                .collect();
            indices.dedup();
            indices
        }
    }
}

fn page_head(name: &str) -> String {
    let title = escape(name);
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bcegan run {title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 1000px; padding: 0 1em; color: #222; }}
h1 {{ font-size: 1.6em; }}
h2 {{ border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: 0.25em 1em; border-bottom: 1px solid #eee; text-align: left; }}
td.number {{ text-align: right; font-family: monospace; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
svg {{ max-width: 100%; height: auto; }}
.grids {{ display: flex; flex-wrap: wrap; gap: 1em; }}
figure {{ margin: 0; }}
figure img {{ width: 232px; image-rendering: pixelated; border: 1px solid #ccc; }}
figcaption {{ text-align: center; font-size: 0.9em; }}
.note {{ color: #666; font-style: italic; }}
footer {{ margin-top: 3em; color: #888; font-size: 0.85em; }}
</style>
</head>
<body>
<h1>bcegan run {title}</h1>
"#
    )
}

fn final_metrics_section(table: Option<&MetricsTable>) -> String {
    let mut html = String::from("<section id=\"final-metrics\">\n<h2>Final metrics</h2>\n");
    let values = table.map(MetricsTable::last_values).unwrap_or_default();
    if values.is_empty() {
        html.push_str("<p class=\"note\">No metrics logged yet.</p>\n");
    } else {
        html.push_str("<table>\n<tr><th>metric</th><th>last value</th></tr>\n");
        for (name, value) in values {
            let shown = if name == "step" {
                format!("{value}")
            } else {
                format_significant(value, 5)
            };
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td class=\"number\">{}</td></tr>",
                escape(&metric_title(name)),
                escape(&shown)
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str("</section>\n");
    html
}

/// Names a `metrics.csv` column as the logs do.
fn metric_title(column: &str) -> String {
    match column {
        "d_real" => "D(x) (d_real)".to_string(),
        "d_fake" => "D(G(z)) (d_fake)".to_string(),
        "elapsed_s" => "elapsed time, s (elapsed_s)".to_string(),
        "fid" => "FID".to_string(),
        other => other.to_string(),
    }
}

fn curves_section(table: Option<&MetricsTable>) -> Result<String, ReportError> {
    let mut html = String::from("<section id=\"curves\">\n<h2>Curves</h2>\n");
    let figure = table.map(MetricsFigure::new);
    match figure {
        Some(Ok(figure)) => {
            html.push_str(&render_svg(&figure)?);
            html.push('\n');
        }
        Some(Err(_)) | None => {
            html.push_str("<p class=\"note\">No metrics logged yet.</p>\n");
        }
    }
    html.push_str("</section>\n");
    Ok(html)
}

fn samples_section(run_dir: &Path) -> Result<String, ReportError> {
    let mut html = String::from("<section id=\"samples\">\n<h2>Samples from fixed noise</h2>\n");
    let grids = sample_grids(run_dir)?;
    let chosen = choose_grids(&grids);
    if chosen.is_empty() {
        html.push_str("<p class=\"note\">No sample grids written yet.</p>\n");
    } else {
        if chosen.len() < grids.len() {
            let _ = writeln!(
                html,
                "<p class=\"note\">Showing {} of {} grids, evenly spaced; all are in samples/.</p>",
                chosen.len(),
                grids.len()
            );
        }
        html.push_str("<div class=\"grids\">\n");
        for grid in chosen {
            let bytes = std::fs::read(&grid.path)
                .map_err(|error| ReportError::io("read", &grid.path, error))?;
            let _ = writeln!(
                html,
                "<figure><img src=\"data:image/png;base64,{}\" alt=\"samples after step {step}\"><figcaption>step {step}</figcaption></figure>",
                BASE64.encode(&bytes),
                step = grid.step
            );
        }
        html.push_str("</div>\n");
    }
    html.push_str("</section>\n");
    Ok(html)
}

fn config_section(run_dir: &Path) -> Result<String, ReportError> {
    let mut html = String::from("<section id=\"config\">\n<h2>Configuration</h2>\n");
    let path = run_dir.join("config.json");
    if path.is_file() {
        let text = std::fs::read_to_string(&path)
            .map_err(|error| ReportError::io("read", &path, error))?;
        // Pretty-printed again so that hand-edited files read the same; invalid JSON is
        // shown as it is.
        let shown = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|value| serde_json::to_string_pretty(&value).ok())
            .unwrap_or(text);
        let _ = writeln!(html, "<pre>{}</pre>", escape(&shown));
    } else {
        html.push_str("<p class=\"note\">config.json not found.</p>\n");
    }
    html.push_str("</section>\n");
    Ok(html)
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{
        GRID_BYTES_BUDGET, MAX_GRIDS_SHOWN, SampleGrid, choose_grids, escape, evenly_spaced,
    };

    #[test]
    fn evenly_spaced_keeps_first_and_last() {
        let cases: [(usize, usize, &[usize]); 5] = [
            (0, 5, &[]),
            (3, 5, &[0, 1, 2]),
            (10, 1, &[9]),
            (10, 2, &[0, 9]),
            (40, 4, &[0, 13, 26, 39]),
        ];
        for (len, count, expected) in cases {
            let actual = evenly_spaced(len, count);
            assert_eq!(actual, expected, "evenly_spaced({len}, {count})");
        }
    }

    #[test]
    fn choose_grids_respects_count_and_budget() {
        let grids = |count: u64, bytes: u64| -> Vec<SampleGrid> {
            (1..=count)
                .map(|step| SampleGrid {
                    step,
                    path: PathBuf::from(format!("step-{step:06}.png")),
                    bytes,
                })
                .collect()
        };
        let many = grids(200, 1000);
        let chosen = choose_grids(&many);
        assert_eq!(
            chosen.len(),
            MAX_GRIDS_SHOWN,
            "grids shown of 200 small ones"
        );
        assert_eq!(
            chosen.last().map(|grid| grid.step),
            Some(200),
            "last grid shown"
        );

        let large = grids(200, GRID_BYTES_BUDGET / 4 + 1);
        let chosen = choose_grids(&large);
        assert_eq!(chosen.len(), 3, "grids shown of 200 large ones");
    }

    #[test]
    fn escape_replaces_markup() {
        let text = "<a href=\"x\">&'";
        let actual = escape(text);
        assert_eq!(
            actual, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;",
            "escape({text:?})"
        );
    }
}
