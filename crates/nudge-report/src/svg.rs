//! Inline SVG charts. Geometry derives from the figures; every text is a [`Fig`] or a fixed
//! word, so a chart shows no number the report's JSON does not hold.

use std::fmt::Write as _;

use crate::figure::{escape, Fig};

const WIDTH: f64 = 760.0;
const LABEL_W: f64 = 180.0;
const ROW_H: f64 = 26.0;
const BAR_H: f64 = 16.0;
const TOP: f64 = 8.0;

/// One bar: its label, its stacked segments (value and CSS class), and the figures after it.
pub(crate) struct Bar {
    pub label: Fig,
    pub segments: Vec<(f64, &'static str)>,
    pub figs: Vec<Fig>,
}

/// One row of an interval plot: a label, the difference with its interval if estimated, and
/// the figures beside it.
pub(crate) struct IntervalRow {
    pub label: Fig,
    pub interval: Option<(f64, f64, f64)>,
    pub figs: Vec<Fig>,
}

/// A horizontal bar chart, bars scaled to the longest; `legend` names the segment classes.
pub(crate) fn bars(title: &str, rows: &[Bar], legend: &[(&str, &str)]) -> String {
    let bar_w = 360.0;
    let max = rows
        .iter()
        .map(|r| r.segments.iter().map(|s| s.0).sum::<f64>())
        .fold(0.0, f64::max);
    let legend_h = if legend.is_empty() { 0.0 } else { ROW_H };
    let height = TOP + ROW_H * rows.len() as f64 + legend_h;
    let mut out = open(title, height);
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        label(&mut out, &row.label, y);
        let mut x = LABEL_W;
        for (value, class) in &row.segments {
            let w = if max > 0.0 { value / max * bar_w } else { 0.0 };
            let _ = write!(
                out,
                r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{BAR_H}"/>"#
            );
            x += w;
        }
        figs(&mut out, &row.figs, &[], LABEL_W + bar_w + 10.0, y);
    }
    let y = TOP + ROW_H * rows.len() as f64;
    let mut x = LABEL_W;
    for (class, name) in legend {
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="12" height="12"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            x + 16.0,
            y + 11.0,
            escape(name)
        );
        x += 120.0;
    }
    out + "</svg>"
}

/// Differences with their confidence intervals around a "no effect" line at zero.
pub(crate) fn intervals(title: &str, rows: &[IntervalRow]) -> String {
    let (plot_x, plot_w) = (LABEL_W, 300.0);
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for (_, low, high) in rows.iter().filter_map(|r| r.interval) {
        lo = lo.min(low);
        hi = hi.max(high);
    }
    if hi - lo < 1e-9 {
        (lo, hi) = (-1.0, 1.0);
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
    let at = |v: f64| plot_x + (v - lo) / (hi - lo) * plot_w;
    let height = TOP + ROW_H * (rows.len() as f64 + 1.0);
    let mut out = open(title, height);
    let zero = at(0.0);
    let _ = write!(
        out,
        r#"<line class="zero" x1="{zero:.1}" y1="{TOP}" x2="{zero:.1}" y2="{:.1}"/><text class="axis" x="{zero:.1}" y="{:.1}" text-anchor="middle">no effect</text>"#,
        height - ROW_H,
        height - 8.0
    );
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        label(&mut out, &row.label, y);
        let mid = y + BAR_H / 2.0;
        if let Some((d, low, high)) = row.interval {
            let _ = write!(
                out,
                r#"<line class="ci" x1="{:.1}" y1="{mid:.1}" x2="{:.1}" y2="{mid:.1}"/><circle class="point" cx="{:.1}" cy="{mid:.1}" r="5"/>"#,
                at(low),
                at(high),
                at(d)
            );
        }
        // With an interval, the figures are the difference, its low and its high end.
        let joins: &[&str] = if row.interval.is_some() {
            &[" (", " to ", ")"]
        } else {
            &[]
        };
        figs(&mut out, &row.figs, joins, plot_x + plot_w + 12.0, y);
    }
    out + "</svg>"
}

fn open(title: &str, height: f64) -> String {
    let title = escape(title);
    format!(
        r#"<svg class="chart" role="img" aria-label="{title}" viewBox="0 0 {WIDTH} {height:.1}" width="{WIDTH}" height="{height:.1}"><title>{title}</title>"#
    )
}

fn label(out: &mut String, fig: &Fig, y: f64) {
    let _ = write!(
        out,
        r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="end" {}>{}</text>"#,
        LABEL_W - 8.0,
        y + BAR_H - 3.0,
        fig.attrs(),
        fig.html_text()
    );
}

/// The figures of a row in one line, each followed by its `joins` entry (or a dot).
fn figs(out: &mut String, figs: &[Fig], joins: &[&str], x: f64, y: f64) {
    let _ = write!(out, r#"<text x="{x:.1}" y="{:.1}">"#, y + BAR_H - 3.0);
    for (i, f) in figs.iter().enumerate() {
        out.push_str(&f.el("tspan"));
        let last = i + 1 == figs.len();
        out.push_str(
            joins
                .get(i)
                .copied()
                .unwrap_or(if last { "" } else { " · " }),
        );
    }
    out.push_str("</text>");
}
