//! The curves of a run over steps: d_loss and g_loss, D(x) and D(G(z)), and FID where
//! `metrics.csv` has a `fid` column.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT_FAMILY, Figure, draw_error};
use crate::report::error::ReportError;
use crate::report::metrics_csv::MetricsTable;

/// Width of the figure in pixels.
const WIDTH: u32 = 960;
/// Height of one panel in pixels.
const PANEL_HEIGHT: u32 = 320;

/// One curve: a `metrics.csv` column, its legend label and colour.
struct Curve {
    column: &'static str,
    label: &'static str,
    color: RGBColor,
}

/// One panel: a title, its curves, and a fixed vertical range where the values have one.
struct Panel {
    title: &'static str,
    curves: &'static [Curve],
    fixed_range: Option<(f64, f64)>,
}

const PANELS: [Panel; 3] = [
    Panel {
        title: "Losses (binary cross-entropy)",
        curves: &[
            Curve {
                column: "d_loss",
                label: "d_loss",
                color: RGBColor(31, 119, 180),
            },
            Curve {
                column: "g_loss",
                label: "g_loss",
                color: RGBColor(255, 127, 14),
            },
        ],
        fixed_range: None,
    },
    Panel {
        title: "Discriminator outputs (mean probability)",
        curves: &[
            Curve {
                column: "d_real",
                label: "D(x)",
                color: RGBColor(44, 160, 44),
            },
            Curve {
                column: "d_fake",
                label: "D(G(z))",
                color: RGBColor(214, 39, 40),
            },
        ],
        fixed_range: Some((0.0, 1.0)),
    },
    Panel {
        title: "FID (lower is better)",
        curves: &[Curve {
            column: "fid",
            label: "FID",
            color: RGBColor(148, 103, 189),
        }],
        fixed_range: None,
    },
];

/// The `(step, value)` points of each curve of one panel.
type PanelPoints = Vec<Vec<(f64, f64)>>;

/// The run's curves, one panel per group of columns that `metrics.csv` has.
pub struct MetricsFigure {
    /// Per shown panel: its index in [`PANELS`] and the points of each of its curves.
    panels: Vec<(usize, PanelPoints)>,
    steps: (f64, f64),
}

impl MetricsFigure {
    /// Collects the curves from `table`; a panel is shown when any of its columns has a
    /// value.
    ///
    /// # Errors
    ///
    /// Returns [`ReportError::Invalid`] when the table has no row with a step and a value.
    pub fn new(table: &MetricsTable) -> Result<Self, ReportError> {
        let mut panels = Vec::new();
        for (index, panel) in PANELS.iter().enumerate() {
            let curves: Vec<Vec<(f64, f64)>> = panel
                .curves
                .iter()
                .map(|curve| table.series(curve.column))
                .collect();
            if curves.iter().any(|points| !points.is_empty()) {
                panels.push((index, curves));
            }
        }
        let steps = panels
            .iter()
            .flat_map(|(_, curves)| curves.iter().flatten())
            .map(|(step, _)| *step);
        let (first, last) = steps.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), step| {
            (low.min(step), high.max(step))
        });
        if panels.is_empty() {
            return Err(ReportError::Invalid {
                name: "metrics.csv",
                value: format!("with columns {}", table.names().join(",")),
                expected: "needs a row with step and at least one of d_loss, g_loss, d_real, \
                           d_fake, fid; train for at least --log-every steps"
                    .to_string(),
            });
        }
        Ok(Self {
            panels,
            steps: (first, last),
        })
    }

    /// Returns the titles of the panels shown, top to bottom.
    pub fn panel_titles(&self) -> Vec<&'static str> {
        self.panels
            .iter()
            .map(|(index, _)| PANELS[*index].title)
            .collect()
    }
}

impl Figure for MetricsFigure {
    fn size(&self) -> (u32, u32) {
        (WIDTH, PANEL_HEIGHT * self.panels.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ReportError> {
        root.fill(&WHITE).map_err(draw_error)?;
        let areas = root.split_evenly((self.panels.len(), 1));
        let steps = padded_range(self.steps.0, self.steps.1);
        for (area, (index, curves)) in areas.iter().zip(&self.panels) {
            let panel = &PANELS[*index];
            let values = curves.iter().flatten().map(|(_, value)| *value);
            let (low, high) = panel.fixed_range.unwrap_or_else(|| {
                let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                    (l.min(v), h.max(v))
                });
                let range = padded_range(low, high);
                (range.start, range.end)
            });
            let mut chart = ChartBuilder::on(area)
                .caption(panel.title, (FONT_FAMILY, 20).into_font())
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(steps.clone(), low..high)
                .map_err(draw_error)?;
            chart
                .configure_mesh()
                .x_desc("step")
                .x_label_formatter(&|step| format!("{step:.0}"))
                .label_style((FONT_FAMILY, 14))
                .axis_desc_style((FONT_FAMILY, 15))
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.1))
                .draw()
                .map_err(draw_error)?;
            for (curve, points) in panel.curves.iter().zip(curves) {
                if points.is_empty() {
                    continue;
                }
                let color = curve.color;
                chart
                    .draw_series(LineSeries::new(
                        points.iter().copied(),
                        color.stroke_width(2),
                    ))
                    .map_err(draw_error)?
                    .label(curve.label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                // A single logged row draws no line, so every point also gets a dot.
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|point| Circle::new(*point, 2, color.filled())),
                    )
                    .map_err(draw_error)?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font((FONT_FAMILY, 15))
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.4))
                .draw()
                .map_err(draw_error)?;
        }
        Ok(())
    }
}

/// Returns `[low, high]` widened by 5 % on each side, or by 0.5 when the two are equal.
fn padded_range(low: f64, high: f64) -> std::ops::Range<f64> {
    if !(low.is_finite() && high.is_finite()) {
        return 0.0..1.0;
    }
    let pad = if high > low { (high - low) * 0.05 } else { 0.5 };
    (low - pad)..(high + pad)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::MetricsFigure;
    use crate::report::metrics_csv::MetricsTable;

    #[test]
    fn metrics_figure_adds_fid_panel_when_present() {
        let cases = [
            ("step,d_loss,g_loss,d_real,d_fake\n1,0.7,0.7,0.5,0.5\n", 2),
            (
                "step,d_loss,g_loss,d_real,d_fake,fid\n1,0.7,0.7,0.5,0.5,\n",
                2,
            ),
            (
                "step,d_loss,g_loss,d_real,d_fake,fid\n1,0.7,0.7,0.5,0.5,40\n",
                3,
            ),
            ("step,fid\n1,40\n", 1),
        ];
        for (text, expected) in cases {
            let table = MetricsTable::parse(text, Path::new("metrics.csv"));
            let figure = table.and_then(|table| MetricsFigure::new(&table));
            let Ok(figure) = figure else {
                panic!("MetricsFigure from {text:?}: expected a figure, got an error");
            };
            let titles = figure.panel_titles();
            assert_eq!(titles.len(), expected, "panels for {text:?}: {titles:?}");
        }
    }

    #[test]
    fn metrics_figure_rejects_table_without_rows() {
        let text = "step,d_loss,g_loss,d_real,d_fake,elapsed_s\n";
        let table = MetricsTable::parse(text, Path::new("metrics.csv"));
        let result = table.and_then(|table| MetricsFigure::new(&table));
        assert!(
            result.is_err(),
            "MetricsFigure from {text:?}: expected an error"
        );
    }
}
