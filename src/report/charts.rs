//! The report's charts as inline SVG: grouped bars with budget lines, and stress curves.

use std::fmt::Write;

use super::escape;

/// One color per model, in suite order (colorblind-safe Okabe–Ito).
pub const PALETTE: [&str; 7] = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442"];

pub fn color(series: usize) -> &'static str {
    PALETTE[series % PALETTE.len()]
}

/// One group of bars (a risk factor): a value per series (model), `None` where not run, and the
/// group's budget.
pub struct BarGroup {
    pub label: String,
    pub values: Vec<Option<f64>>,
    pub budget: Option<f64>,
}

/// Grouped bars on a 0–100 scale, a dashed budget line over each group, a legend of `series`.
pub fn grouped_bars(title: &str, series: &[String], groups: &[BarGroup]) -> String {
    let (left, top, plot_h, group_w) = (44.0, 28.0, 180.0, 24.0 * series.len().max(1) as f64 + 28.0);
    let legend_w: f64 = series.iter().map(|s| 22.0 + 7.0 * s.chars().count() as f64).sum::<f64>() + 80.0;
    let width = (left + group_w * groups.len() as f64 + 16.0).max(left + legend_w).max(300.0);
    let height = top + plot_h + 70.0;
    let y = |v: f64| top + plot_h * (1.0 - v.clamp(0.0, 100.0) / 100.0);
    let mut svg = open_svg(width, height, title);
    axis_y(&mut svg, left, width - 8.0, &y, &[0.0, 25.0, 50.0, 75.0, 100.0], "risk");
    for (g, group) in groups.iter().enumerate() {
        let x0 = left + group_w * g as f64 + 14.0;
        for (s, value) in group.values.iter().enumerate() {
            let Some(v) = value else { continue };
            let x = x0 + 24.0 * s as f64;
            let over = group.budget.is_some_and(|b| *v > b);
            let _ = write!(
                svg,
                r#"<rect class="bar{}" x="{x:.1}" y="{:.1}" width="20" height="{:.1}" fill="{}"><title>{}: {}: risk {v:.1}</title></rect>"#,
                if over { " over" } else { "" },
                y(*v),
                (y(0.0) - y(*v)).max(0.5),
                color(s),
                escape(&series[s]),
                escape(&group.label),
            );
        }
        if let Some(b) = group.budget {
            let x1 = x0 + 24.0 * group.values.len() as f64 - 4.0;
            let _ = write!(
                svg,
                r#"<line class="budget" x1="{x0:.1}" x2="{x1:.1}" y1="{yb:.1}" y2="{yb:.1}"><title>budget {b}</title></line>"#,
                x0 = x0 - 4.0,
                yb = y(b)
            );
        }
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x0 + 12.0 * group.values.len() as f64 - 2.0,
            top + plot_h + 16.0,
            escape(&group.label)
        );
    }
    legend(&mut svg, left, top + plot_h + 36.0, series, true);
    svg.push_str("</svg>");
    svg
}

/// One line of a stress curve: a series' values at each x (`None` where not run).
pub struct Line {
    pub series: usize,
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A small line chart: `lines` over the x values `ticks` (labelled `tick_labels`), the y axis
/// from 0 to `y_max`, and an optional dashed `budget`.
pub struct Curve<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub y_max: f64,
    pub ticks: &'a [(f64, String)],
    pub lines: &'a [Line],
    pub budget: Option<f64>,
}

pub fn curve(c: &Curve) -> String {
    let (left, top, plot_w, plot_h) = (44.0, 26.0, 230.0, 120.0);
    let (width, height) = (left + plot_w + 14.0, top + plot_h + 34.0);
    let (x_min, x_max) =
        c.ticks.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (x, _)| (a.min(*x), b.max(*x)));
    let span = if x_max > x_min { x_max - x_min } else { 1.0 };
    let x = |v: f64| left + 10.0 + (plot_w - 20.0) * if x_max > x_min { (v - x_min) / span } else { 0.5 };
    let y = |v: f64| top + plot_h * (1.0 - (v / c.y_max).clamp(0.0, 1.0));
    let mut svg = open_svg(width, height, c.title);
    let steps: Vec<f64> = (0..=4).map(|i| c.y_max * f64::from(i) / 4.0).collect();
    axis_y(&mut svg, left, left + plot_w, &y, &steps, c.y_label);
    for (v, label) in c.ticks {
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x(*v),
            top + plot_h + 14.0,
            escape(label)
        );
    }
    if let Some(b) = c.budget {
        let _ = write!(
            svg,
            r#"<line class="budget" x1="{left}" x2="{x2:.1}" y1="{yb:.1}" y2="{yb:.1}"><title>budget {b}</title></line>"#,
            x2 = left + plot_w,
            yb = y(b)
        );
    }
    for line in c.lines {
        let path: Vec<String> = line.points.iter().map(|&(px, py)| format!("{:.1},{:.1}", x(px), y(py))).collect();
        let _ = write!(svg, r#"<polyline class="line" points="{}" stroke="{}"/>"#, path.join(" "), color(line.series));
        for &(px, py) in &line.points {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"><title>{}: {py:.3}</title></circle>"#,
                x(px),
                y(py),
                color(line.series),
                escape(&line.name)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn open_svg(width: f64, height: f64, title: &str) -> String {
    format!(
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="{0}"><text class="title" x="4" y="14">{0}</text>"#,
        escape(title)
    )
}

/// Horizontal grid lines at `steps` with their values, and the axis name.
fn axis_y(svg: &mut String, left: f64, right: f64, y: &dyn Fn(f64) -> f64, steps: &[f64], name: &str) {
    for &v in steps {
        let label = if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.2}") };
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{left}" x2="{right:.1}" y1="{0:.1}" y2="{0:.1}"/><text class="tick" x="{1:.1}" y="{2:.1}" text-anchor="end">{label}</text>"#,
            y(v),
            left - 4.0,
            y(v) + 4.0
        );
    }
    let _ =
        write!(svg, r#"<text class="tick" x="4" y="{:.1}">{}</text>"#, y(steps[steps.len() - 1]) - 6.0, escape(name));
}

fn legend(svg: &mut String, left: f64, y: f64, series: &[String], with_budget: bool) {
    let mut x = left;
    for (s, name) in series.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="10" height="10" fill="{}"/><text class="tick" x="{:.1}" y="{y:.1}">{}</text>"#,
            y - 9.0,
            color(s),
            x + 14.0,
            escape(name)
        );
        x += 22.0 + 7.0 * name.chars().count() as f64;
    }
    if with_budget {
        let _ = write!(
            svg,
            r#"<line class="budget" x1="{x:.1}" x2="{x2:.1}" y1="{yl:.1}" y2="{yl:.1}"/><text class="tick" x="{xt:.1}" y="{y:.1}">budget</text>"#,
            x2 = x + 16.0,
            yl = y - 4.0,
            xt = x + 20.0
        );
    }
}
