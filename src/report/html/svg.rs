//! Inline SVG line charts drawn by hand (no chart crate, no JavaScript): a frame, a grid with labelled ticks,
//! one polyline per series and an HTML legend under it. Two x axes: plain seconds for the time series, and
//! HdrHistogram's percentile axis, `log10(1/(1−p))`, labelled 50 %, 90 %, 99 %, 99.9 %, … Pure: data in, markup
//! out, every label HTML-escaped, every number printed with a fixed precision so the same report always draws
//! the same bytes.

use std::fmt::Write as _;

use super::page::esc;

/// The drawing's coordinate box (the `<svg>` scales to its container through `viewBox`).
const W: f64 = 1100.0;
const H: f64 = 320.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 36.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 44.0;

/// Colour-blind-friendly (Tableau 10), dark enough to print on white.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
    "#9c755f", "#555555",
];

/// What the x values mean.
#[derive(Debug, Clone, Copy)]
pub enum XAxis {
    /// Seconds from the run's start, from 0 to `end`.
    Seconds { end: f64 },
    /// `log10(1/(1−p))` from 0 (0 %) to `decades` (99.9…% with `decades` nines).
    Percentile { decades: u32 },
}

/// One line: a legend name and its points in data coordinates (x per [`XAxis`], y ≥ 0).
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A chart: its accessible title, x axis, y axis label and lines.
pub struct Chart<'a> {
    pub title: &'a str,
    pub x: XAxis,
    pub y_label: &'a str,
    pub series: &'a [Series],
}

/// Data coordinates to drawing coordinates: x in `[0, x_end]`, y in `[0, y_end]`, clamped to the frame.
struct Scale {
    x_end: f64,
    y_end: f64,
}

impl Scale {
    fn px(&self, x: f64) -> f64 {
        LEFT + (x / self.x_end).clamp(0.0, 1.0) * (W - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        H - BOTTOM - (y / self.y_end).clamp(0.0, 1.0) * (H - TOP - BOTTOM)
    }
}

/// The chart as a `<figure>`: the SVG, then the legend.
pub fn line_chart(c: &Chart) -> String {
    let (x_end, x_ticks) = x_ticks(c.x);
    let y_max = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let (y_end, y_step) = nice_axis(y_max);
    let scale = Scale { x_end, y_end };
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" \
         role=\"img\" aria-label=\"{t}\"><title>{t}</title>\
         <rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#8c959f\"/>",
        W - LEFT - RIGHT,
        H - TOP - BOTTOM,
        t = esc(c.title),
    );
    axes(&mut s, c, &scale, &x_ticks, y_step);
    for (i, series) in c.series.iter().enumerate() {
        line(&mut s, series, color(i), &scale);
    }
    s.push_str("</svg>");
    legend(&mut s, c.series);
    s.push_str("</figure>\n");
    s
}

/// The grid lines with their tick labels, and the two axis titles.
fn axes(s: &mut String, c: &Chart, scale: &Scale, x_ticks: &[(f64, String)], y_step: f64) {
    for (x, label) in x_ticks {
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            H - BOTTOM,
            H - BOTTOM + 16.0,
            esc(label),
            x = scale.px(*x),
        );
    }
    let decimals = decimals(y_step);
    let mut y = 0.0;
    while y <= scale.y_end + y_step / 2.0 {
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{v:.1}\" x2=\"{:.1}\" y2=\"{v:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{y:.decimals$}</text>",
            W - RIGHT,
            LEFT - 6.0,
            scale.py(y) + 4.0,
            v = scale.py(y),
        );
        y += y_step;
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 8.0,
        esc(x_label(c.x)),
        TOP + (H - TOP - BOTTOM) / 2.0,
        esc(c.y_label),
    );
}

/// One series as a polyline named by its `<title>`; a lone point also as a dot, since a line needs two.
fn line(s: &mut String, series: &Series, color: &str, scale: &Scale) {
    if let [(x, y)] = series.points[..] {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"/>",
            scale.px(x),
            scale.py(y),
        );
    }
    let pts: Vec<String> = series
        .points
        .iter()
        .map(|&(x, y)| format!("{:.1},{:.1}", scale.px(x), scale.py(y)))
        .collect();
    let _ = write!(
        s,
        "<polyline class=\"line\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\" points=\"{}\">\
         <title>{}</title></polyline>",
        pts.join(" "),
        esc(&series.name)
    );
}

/// The series' colour by position (cycles after ten).
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

fn legend(s: &mut String, series: &[Series]) {
    s.push_str("<figcaption><ul class=\"legend\">");
    for (i, series) in series.iter().enumerate() {
        let _ = write!(
            s,
            "<li><svg class=\"swatch\" width=\"18\" height=\"8\" viewBox=\"0 0 18 8\">\
             <rect width=\"18\" height=\"8\" fill=\"{}\"/></svg>{}</li>",
            color(i),
            esc(&series.name)
        );
    }
    s.push_str("</ul></figcaption>");
}

fn x_label(x: XAxis) -> &'static str {
    match x {
        XAxis::Seconds { .. } => "seconds since the start",
        XAxis::Percentile { .. } => "percentile (log scale of 1/(1−p))",
    }
}

/// The x domain's end and its labelled ticks (data coordinates).
fn x_ticks(x: XAxis) -> (f64, Vec<(f64, String)>) {
    match x {
        XAxis::Seconds { end } => {
            // Whole seconds only: a one-second run gets ticks 0 and 1, not 0, 0.2, …
            let (end, step) = nice_axis(end.max(1.0));
            let step = step.max(1.0);
            let end = (end / step).ceil() * step;
            let ticks = (0..)
                .map(|i| i as f64 * step)
                .take_while(|t| *t <= end + step / 2.0)
                .map(|t| (t, format!("{t:.0}")))
                .collect();
            (end, ticks)
        }
        XAxis::Percentile { decades } => {
            let mut ticks = vec![(0.0, "0%".to_string()), (2f64.log10(), "50%".to_string())];
            for d in 1..=decades {
                ticks.push((f64::from(d), percent_label(d)));
            }
            (f64::from(decades), ticks)
        }
    }
}

/// `d` nines as a percentage: 1 → 90%, 2 → 99%, 3 → 99.9%.
fn percent_label(d: u32) -> String {
    match d {
        1 => "90%".into(),
        2 => "99%".into(),
        _ => format!("99.{}%", "9".repeat(d as usize - 2)),
    }
}

/// A round axis end ≥ `max` and its step (1, 2 or 5 × 10ⁿ, about five steps).
pub fn nice_axis(max: f64) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, 0.2);
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

/// Decimals enough to tell ticks `step` apart.
fn decimals(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_axis(7.3), (8.0, 2.0));
        assert_eq!(nice_axis(480.0), (500.0, 100.0));
        assert_eq!(nice_axis(0.0), (1.0, 0.2));
        assert_eq!(decimals(0.2), 1);
        assert_eq!(decimals(0.05), 2);
    }

    #[test]
    fn the_seconds_axis_ticks_whole_seconds() {
        let labels = |end| -> Vec<String> {
            x_ticks(XAxis::Seconds { end })
                .1
                .into_iter()
                .map(|t| t.1)
                .collect()
        };
        assert_eq!(labels(0.0), ["0", "1"]);
        assert_eq!(labels(9.0), ["0", "2", "4", "6", "8", "10"]);
    }

    #[test]
    fn the_percentile_axis_is_labelled_with_nines() {
        let (end, ticks) = x_ticks(XAxis::Percentile { decades: 4 });
        assert_eq!(end, 4.0);
        let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0%", "50%", "90%", "99%", "99.9%", "99.99%"]);
    }

    #[test]
    fn a_chart_draws_one_line_per_series_and_escapes_names() {
        let series = [
            Series {
                name: "<b>".into(),
                points: vec![(0.0, 1.0), (1.0, 3.0)],
            },
            Series {
                name: "two".into(),
                points: vec![(0.0, 2.0)],
            },
        ];
        let svg = line_chart(&Chart {
            title: "t&t",
            x: XAxis::Seconds { end: 1.0 },
            y_label: "ms",
            series: &series,
        });
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(svg.contains("aria-label=\"t&amp;t\""));
    }
}
