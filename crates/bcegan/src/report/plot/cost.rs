//! The cost of one example against the prediction: −log h for target 1 and −log(1 − h) for
//! target 0, or the same costs against the logit z with h = σ(z).

use bce::{Loss, Options, Reduction};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT_FAMILY, Figure, draw_error, format_significant};
use crate::report::error::ReportError;

/// Colour of the target-1 curve and its marks.
const TARGET_ONE_COLOR: RGBColor = RGBColor(31, 119, 180);
/// Colour of the target-0 curve and its marks.
const TARGET_ZERO_COLOR: RGBColor = RGBColor(214, 39, 40);
/// Colour of marks with a soft target, which lie between the two curves.
const SOFT_TARGET_COLOR: RGBColor = RGBColor(60, 60, 60);

/// Logits that bound the probability curves: σ(±12) is within 6.2e-6 of 0 and 1, so the
/// curves reach the left and right edges of the (0, 1) axis.
const CURVE_LOGIT_LIMIT: f64 = 12.0;
/// Default half-width of the logit axis.
const LOGIT_AXIS_LIMIT: f64 = 8.0;
/// Lowest top of the cost axis on the probability figure: −log h ≤ 5 for h ≥ 0.0067.
const MIN_PROBABILITY_COST_AXIS: f64 = 5.0;

/// Quantity on the horizontal axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostAxis {
    /// The prediction h ∈ (0, 1).
    Probability,
    /// The logit z, with h = σ(z).
    Logit,
}

/// A marked point: a prediction (probability or logit, as the axis shows) and its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostMark {
    /// Probability h in [0, 1], or a finite logit z on a [`CostAxis::Logit`] figure.
    pub position: f64,
    /// Target y in [0, 1]; soft targets give a point between the two curves.
    pub target: f64,
}

/// The cost-vs-prediction figure.
#[derive(Debug, Clone, PartialEq)]
pub struct CostFigure {
    axis: CostAxis,
    marks: Vec<(CostMark, f64)>,
}

impl CostFigure {
    /// Builds the figure and computes the cost of each mark with `bce`.
    ///
    /// # Errors
    ///
    /// Returns [`ReportError::Invalid`] for a probability outside [0, 1], a non-finite
    /// logit, or a target outside [0, 1].
    pub fn new(axis: CostAxis, marks: &[CostMark]) -> Result<Self, ReportError> {
        let mut costed = Vec::with_capacity(marks.len());
        for mark in marks {
            check_mark(axis, mark)?;
            let cost = costs(axis, &[mark.position], mark.target)?;
            costed.push((*mark, cost[0]));
        }
        Ok(Self {
            axis,
            marks: costed,
        })
    }

    /// Returns each mark with its cost.
    pub fn marks(&self) -> &[(CostMark, f64)] {
        &self.marks
    }

    /// Returns the text drawn beside a mark, such as `h = 0.99, y = 1: cost 0.01005`.
    pub fn mark_label(&self, mark: &CostMark, cost: f64) -> String {
        let symbol = match self.axis {
            CostAxis::Probability => "h",
            CostAxis::Logit => "z",
        };
        format!(
            "{symbol} = {}, y = {}: cost {}",
            mark.position,
            mark.target,
            format_significant(cost, 4)
        )
    }

    /// Returns the horizontal range and the sample positions of the two curves.
    fn curve_positions(&self) -> (std::ops::Range<f64>, Vec<f64>) {
        match self.axis {
            CostAxis::Probability => {
                let positions = logit_grid(-CURVE_LOGIT_LIMIT, CURVE_LOGIT_LIMIT, 1200)
                    .into_iter()
                    .map(sigmoid)
                    .collect();
                (0.0..1.0, positions)
            }
            CostAxis::Logit => {
                let widest_mark = self
                    .marks
                    .iter()
                    .map(|(mark, _)| mark.position.abs())
                    .fold(LOGIT_AXIS_LIMIT, f64::max);
                let limit = if widest_mark > LOGIT_AXIS_LIMIT {
                    widest_mark * 1.1
                } else {
                    LOGIT_AXIS_LIMIT
                };
                (-limit..limit, logit_grid(-limit, limit, 800))
            }
        }
    }
}

impl Figure for CostFigure {
    fn size(&self) -> (u32, u32) {
        (900, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ReportError> {
        let (x_range, positions) = self.curve_positions();
        let ones = costs(self.axis, &positions, 1.0)?;
        let zeros = costs(self.axis, &positions, 0.0)?;
        let highest_mark = self.marks.iter().map(|(_, cost)| *cost).fold(0.0, f64::max);
        let y_top = match self.axis {
            CostAxis::Probability => MIN_PROBABILITY_COST_AXIS.max(highest_mark * 1.15),
            // Both curves reach their maximum at an edge of the logit axis.
            CostAxis::Logit => ones[0].max(highest_mark) * 1.1,
        };
        let (x_description, one_label, zero_label) = match self.axis {
            CostAxis::Probability => (
                "prediction h = D(x)",
                "target y = 1: −log h",
                "target y = 0: −log(1 − h)",
            ),
            CostAxis::Logit => (
                "logit z, with h = σ(z)",
                "target y = 1: −log σ(z)",
                "target y = 0: −log(1 − σ(z))",
            ),
        };

        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Binary cross-entropy of one example",
                (FONT_FAMILY, 26).into_font(),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range, 0.0..y_top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc(x_description)
            .y_desc("cost of the example")
            .label_style((FONT_FAMILY, 15))
            .axis_desc_style((FONT_FAMILY, 18))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.1))
            .draw()
            .map_err(draw_error)?;

        for (values, color, label) in [
            (&ones, TARGET_ONE_COLOR, one_label),
            (&zeros, TARGET_ZERO_COLOR, zero_label),
        ] {
            let points = positions
                .iter()
                .zip(values.iter())
                .filter(|(_, cost)| **cost <= y_top)
                .map(|(position, cost)| (*position, *cost));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(3)))
                .map_err(draw_error)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
                });
        }

        let label_style = TextStyle::from((FONT_FAMILY, 17).into_font()).color(&BLACK);
        let x_middle = (chart.x_range().start + chart.x_range().end) / 2.0;
        // Label boxes already drawn, in pixels, so that close marks stack their labels.
        let mut placed: Vec<[i32; 4]> = Vec::new();
        for (mark, cost) in &self.marks {
            let color = mark_color(mark.target);
            let label = self.mark_label(mark, *cost);
            let (width, height) = root
                .estimate_text_size(&label, &label_style)
                .map_err(draw_error)?;
            let (width, height) = (width as i32, height as i32);
            // Labels of marks on the right half go to the left of the point, so they stay
            // inside the figure.
            let x_offset = if mark.position > x_middle {
                -width - 14
            } else {
                14
            };
            let (x, y) = chart.backend_coord(&(mark.position, *cost));
            let mut y_offset = -height - 16;
            let overlaps = |y_offset: i32, placed: &[[i32; 4]]| {
                let (left, top) = (x + x_offset - 4, y + y_offset - 3);
                let (right, bottom) = (left + width + 8, top + height + 6);
                placed
                    .iter()
                    .any(|[l, t, r, b]| left < *r && *l < right && top < *b && *t < bottom)
            };
            while overlaps(y_offset, &placed) {
                y_offset -= height + 8;
            }
            placed.push([
                x + x_offset - 4,
                y + y_offset - 3,
                x + x_offset + width + 4,
                y + y_offset + height + 3,
            ]);
            // A light box behind the label keeps it readable where it crosses a curve.
            let element = EmptyElement::at((mark.position, *cost))
                + Circle::new((0, 0), 7, color.filled())
                + Circle::new((0, 0), 7, BLACK.stroke_width(1))
                + Rectangle::new(
                    [
                        (x_offset - 4, y_offset - 3),
                        (x_offset + width + 4, y_offset + height + 3),
                    ],
                    WHITE.mix(0.85).filled(),
                )
                + Text::new(label, (x_offset, y_offset), label_style.clone());
            chart
                .draw_series(std::iter::once(element))
                .map_err(draw_error)?;
        }

        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperMiddle)
            .label_font((FONT_FAMILY, 17))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(draw_error)?;
        Ok(())
    }
}

/// Rejects marks that cannot be placed on the figure.
fn check_mark(axis: CostAxis, mark: &CostMark) -> Result<(), ReportError> {
    let expected = match axis {
        CostAxis::Probability if !(0.0..=1.0).contains(&mark.position) => {
            Some("the prediction h must be in [0, 1]")
        }
        CostAxis::Logit if !mark.position.is_finite() => Some("the logit z must be finite"),
        _ if !(0.0..=1.0).contains(&mark.target) => Some("the target y must be in [0, 1]"),
        _ => None,
    };
    match expected {
        Some(expected) => Err(ReportError::Invalid {
            name: "--mark",
            value: format!("{}:{}", mark.position, mark.target),
            expected: expected.to_string(),
        }),
        None => Ok(()),
    }
}

/// Computes the per-element cost of `positions` (probabilities or logits) against one
/// target with `bce`, in f64, with PyTorch's clamp of each log at −100.
fn costs(axis: CostAxis, positions: &[f64], target: f64) -> Result<Vec<f64>, ReportError> {
    let targets = vec![target; positions.len()];
    let options = Options::new().reduction(Reduction::None);
    let loss = match axis {
        CostAxis::Probability => bce::binary_cross_entropy(positions, &targets, &options)?,
        CostAxis::Logit => bce::binary_cross_entropy_with_logits(positions, &targets, &options)?,
    };
    match loss {
        Loss::PerElement(values) => Ok(values),
        Loss::Reduced(value) => Ok(vec![value]),
    }
}

fn mark_color(target: f64) -> RGBColor {
    if target == 1.0 {
        TARGET_ONE_COLOR
    } else if target == 0.0 {
        TARGET_ZERO_COLOR
    } else {
        SOFT_TARGET_COLOR
    }
}

/// Returns `count + 1` evenly spaced values from `start` to `end`.
fn logit_grid(start: f64, end: f64, count: usize) -> Vec<f64> {
    (0..=count)
        .map(|index| start + (end - start) * index as f64 / count as f64)
        .collect()
}

fn sigmoid(logit: f64) -> f64 {
    1.0 / (1.0 + (-logit).exp())
}

#[cfg(test)]
mod tests {
    use super::{CostAxis, CostFigure, CostMark};

    /// Expected costs from the definition: −ln 0.99 and −ln 0.01.
    #[test]
    fn cost_figure_marks_have_bce_costs() {
        let marks = [
            CostMark {
                position: 0.99,
                target: 1.0,
            },
            CostMark {
                position: 0.01,
                target: 1.0,
            },
        ];
        let figure = CostFigure::new(CostAxis::Probability, &marks);
        let Ok(figure) = figure else {
            panic!("CostFigure::new({marks:?}): expected a figure, got {figure:?}");
        };
        let expected = [-(0.99_f64.ln()), -(0.01_f64.ln())];
        for ((mark, actual), expected) in figure.marks().iter().zip(expected) {
            assert!(
                (actual - expected).abs() <= 1e-12,
                "cost of {mark:?}: expected {expected}, got {actual}"
            );
        }
    }

    #[test]
    fn cost_figure_rejects_out_of_range_marks() {
        let cases = [
            (CostAxis::Probability, 1.5, 1.0),
            (CostAxis::Probability, 0.5, 2.0),
            (CostAxis::Probability, f64::NAN, 1.0),
            (CostAxis::Logit, f64::INFINITY, 0.0),
            (CostAxis::Logit, 3.0, -0.5),
        ];
        for (axis, position, target) in cases {
            let mark = CostMark { position, target };
            let result = CostFigure::new(axis, &[mark]);
            assert!(
                result.is_err(),
                "CostFigure::new({axis:?}, {mark:?}): expected an error, got {result:?}"
            );
        }
    }

    #[test]
    fn mark_label_shows_four_digits() {
        let mark = CostMark {
            position: 0.99,
            target: 1.0,
        };
        let figure = CostFigure::new(CostAxis::Probability, &[mark]);
        let Ok(figure) = figure else {
            panic!("CostFigure::new: expected a figure, got {figure:?}");
        };
        let label = figure.mark_label(&mark, figure.marks()[0].1);
        assert_eq!(label, "h = 0.99, y = 1: cost 0.01005", "label of {mark:?}");
    }
}
