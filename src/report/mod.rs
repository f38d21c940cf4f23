//! The HTML report: one self-contained page per suite (`<suite>.html` beside `<suite>.json`)
//! that a reviewer reads in a minute, failures first — budget breaches and moved baselines, the
//! risk per factor and model, stress curves, per-class slices, the worst images side by side,
//! and the run's facts. Inline SVG and CSS, images as data URIs: nothing is fetched.
//!
//! It reads only the results file (so `shakedown report` makes it again from merged partial
//! results), plus the suite's committed baselines and, for thumbnails, its dataset.

mod charts;
mod thumbnails;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::dataset::Dataset;
use crate::errors::Error;
use crate::judge::baseline;
use crate::output::results::{CaseResults, ClassResults, FactorResults, ModelResults, Stats, SuiteResults};
use crate::suite::Suite;
use crate::vocab::Score;
pub use thumbnails::Source;

/// Cases per model whose worst images are drawn, riskiest first.
const CASES_DRAWN: usize = 4;

/// What only a live run knows: where the time went.
#[derive(Default)]
pub struct RunFacts {
    pub wall: Option<Duration>,
    pub durations: Vec<(String, Duration)>,
}

/// The suite and dataset of `results`, for thumbnails: from the suite file the results name.
pub fn load_source(results: &SuiteResults) -> Result<(Suite, Dataset), String> {
    let suite = crate::suite::load(&results.file, Some(&results.backend)).map_err(|e| e.to_string())?;
    let dataset = Dataset::load(&suite.dataset).map_err(|e| e.to_string())?;
    Ok((suite, dataset))
}

/// Writes the report of `results` to `path` (aside, then renamed into place).
pub fn write(
    results: &SuiteResults,
    facts: &RunFacts,
    source: Result<Source, String>,
    path: &Path,
) -> Result<(), Error> {
    crate::output::results::write_aside(path, &render(results, facts, source))
}

/// Where the report of a results file goes: beside it, `.html` for `.json`.
pub fn path_for(results_file: &Path) -> PathBuf {
    results_file.with_extension("html")
}

/// The report page. Without a `source` (suite or dataset unreadable) the worst images are
/// listed by name instead of drawn.
pub fn render(results: &SuiteResults, facts: &RunFacts, source: Result<Source, String>) -> String {
    let mut page = String::with_capacity(1 << 20);
    let title = format!("shakedown · {}", results.suite);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let breaches = breaches(results);
    let moved = baseline_rows(results);
    let moved_count = moved.iter().filter(|r| r.moved).count();
    let _ = write!(
        page,
        "<header><h1>{}</h1><p class=\"verdict {}\">{} · {} · suite <code>{}</code></p></header>",
        escape(&title),
        if breaches.is_empty() { "pass" } else { "fail" },
        match breaches.len() {
            0 => "every case within its budget".to_owned(),
            n => format!("<strong>{n} over budget</strong>"),
        },
        match moved_count {
            0 => "no baseline moved beyond tolerance".to_owned(),
            n => format!("<strong>{n} baseline scores moved</strong>"),
        },
        escape(&results.file.display().to_string())
    );
    section_failures(&mut page, &breaches);
    section_summary(&mut page, results);
    section_breaking_points(&mut page, results);
    section_baselines(&mut page, &moved);
    section_curves(&mut page, results);
    section_slices(&mut page, results);
    section_worst(&mut page, results, source);
    section_facts(&mut page, results, facts);
    page.push_str("</body></html>\n");
    page
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}\
h1{font-size:22px;margin:0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}\
td:first-child,th:first-child{text-align:left}.over{color:#b00020;font-weight:600}.fail{color:#b00020}.pass{color:#1b7f3b}\
.chart .bar.over{stroke:#b00020;stroke-width:2}.chart .budget{stroke:#b00020;stroke-dasharray:4 3;stroke-width:1.5}\
.chart .grid{stroke:#e4e4e4}.chart .tick{font-size:11px;fill:#555}.chart .title{font-size:12px;font-weight:600}\
.chart .line{fill:none;stroke-width:2}.curves{display:flex;flex-wrap:wrap;gap:8px}\
.pair{display:inline-flex;gap:6px;flex-wrap:wrap;margin:6px 12px 10px 0;vertical-align:top}.pair>div{display:flex;flex-direction:column}\
.pair figcaption{font-size:12px;color:#444}.pair .file{flex-basis:100%;color:#777}\
.thumb .truth{fill:none;stroke:#fff;stroke-dasharray:3 2;stroke-width:1.5}.thumb .truth-under{fill:none;stroke:#000;stroke-width:2.5}.thumb .shown{fill:none;stroke-width:2}\
.thumb .box-label{font-size:10px;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:2px}\
code{background:#f4f4f4;padding:0 3px}details summary{cursor:pointer;color:#0072b2}";

/// `<`, `>`, `&` and quotes escaped for HTML text and attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `gaussian_blur sigma=2`, or the perturbation alone when it has no parameters.
pub(crate) fn setting_title(case: &CaseResults) -> String {
    match case.setting.as_str() {
        "" => case.perturbation.clone(),
        s => format!("{} {s}", case.perturbation),
    }
}

/// The factor name at the end of a factor test's name.
fn last_segment(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
}

fn headline(stats: &Stats) -> Option<(Score, f64)> {
    [Score::Map, Score::Top1].into_iter().find_map(|s| Some((s, *stats.stats.get(s.name())?)))
}

/// A case over its budget: (case, measured, budget, what).
struct Breach {
    case: String,
    value: f64,
    budget: f64,
    what: &'static str,
}

fn breaches(results: &SuiteResults) -> Vec<Breach> {
    let mut out = Vec::new();
    let budgets = results.budgets;
    for model in &results.models {
        if let (Some(clean), Some(b)) = (&model.clean, budgets) {
            for (score, budget) in [(Score::Map50, b.clean_map50), (Score::Top1, b.clean_top1)] {
                if let Some(&v) = clean.stats.get(score.name()) {
                    if v < budget {
                        let case = format!("{}::{}::clean", results.suite, model.model);
                        out.push(Breach { case, value: v, budget, what: score.label() });
                    }
                }
            }
        }
        for f in &model.risk_factors {
            if let Some(budget) = f.budget.filter(|b| f.risk > *b) {
                out.push(Breach { case: f.case.clone(), value: f.risk, budget, what: "risk" });
            }
        }
        for c in &model.cases {
            if let Some(budget) = budgets.map(|b| b.risk).filter(|b| c.risk > *b) {
                out.push(Breach { case: c.case.clone(), value: c.risk, budget, what: "risk" });
            }
        }
    }
    out.sort_by(|a, b| (b.value - b.budget).abs().total_cmp(&(a.value - a.budget).abs()));
    out
}

fn section_failures(page: &mut String, breaches: &[Breach]) {
    page.push_str("<h2 id=\"failures\">Over budget</h2>");
    if breaches.is_empty() {
        page.push_str("<p class=\"pass\">No case is over its budget.</p>");
        return;
    }
    page.push_str("<table><tr><th>case</th><th>score</th><th>measured</th><th>budget</th></tr>");
    for b in breaches {
        let _ = write!(
            page,
            "<tr><td class=\"over\">{}</td><td>{}</td><td class=\"over\">{}</td><td>{}</td></tr>",
            escape(&b.case),
            b.what,
            number(b.value),
            number(b.budget)
        );
    }
    page.push_str("</table>");
}

fn number(v: f64) -> String {
    if v.abs() >= 1.0 || v == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// The risk factors in suite order, as their tests name them.
fn factor_names(results: &SuiteResults) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for m in &results.models {
        for f in &m.risk_factors {
            let name = last_segment(&f.case).to_owned();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

fn section_summary(page: &mut String, results: &SuiteResults) {
    let factors = factor_names(results);
    let models: Vec<String> = results.models.iter().map(|m| m.model.clone()).collect();
    fn factor_of<'a>(m: &'a ModelResults, name: &str) -> Option<&'a FactorResults> {
        m.risk_factors.iter().find(|f| last_segment(&f.case) == name)
    }
    let groups: Vec<charts::BarGroup> = factors
        .iter()
        .map(|name| charts::BarGroup {
            label: name.clone(),
            values: results.models.iter().map(|m| factor_of(m, name).map(|f| f.risk)).collect(),
            budget: results.models.iter().find_map(|m| factor_of(m, name)?.budget),
        })
        .collect();
    page.push_str("<h2 id=\"summary\">Risk per factor</h2>");
    if !groups.is_empty() {
        page.push_str(&charts::grouped_bars("risk per factor (0 robust … 100 broken)", &models, &groups));
    }
    let classifier = results.models.iter().any(|m| m.clean.as_ref().is_some_and(|c| c.stats.contains_key("top1")));
    let metrics: &[Score] = if classifier { &[Score::Top1] } else { &[Score::Map50, Score::Map, Score::Mar10] };
    page.push_str("<table><tr><th>model</th>");
    for s in metrics {
        let _ = write!(page, "<th>{}</th>", s.label());
    }
    for f in &factors {
        let _ = write!(page, "<th>{}</th>", escape(f));
    }
    page.push_str("<th>mPC</th><th>rPC</th></tr>");
    // Models this run did not measure (ignored, or filtered out) have no row.
    for m in results.models.iter().filter(|m| m.clean.is_some() || !m.risk_factors.is_empty() || !m.cases.is_empty()) {
        let _ = write!(page, "<tr><td>{}</td>", escape(&m.model));
        for s in metrics {
            let v = m.clean.as_ref().and_then(|c| c.stats.get(s.name()));
            let _ = write!(page, "<td>{}</td>", v.map_or("–".into(), |v| format!("{v:.3}")));
        }
        for f in &factors {
            let cell = match factor_of(m, f) {
                Some(r) if r.budget.is_some_and(|b| r.risk > b) => format!("<td class=\"over\">{:.1}</td>", r.risk),
                Some(r) => format!("<td>{:.1}</td>", r.risk),
                None => "<td>–</td>".into(),
            };
            page.push_str(&cell);
        }
        let _ = write!(
            page,
            "<td>{}</td><td>{}</td></tr>",
            m.mpc.map_or("–".into(), |v| format!("{v:.3}")),
            m.rpc.map_or("–".into(), |v| format!("{:.1} %", v * 100.0))
        );
    }
    page.push_str("</table>");
}

fn section_breaking_points(page: &mut String, results: &SuiteResults) {
    let points: Vec<(&str, &crate::output::results::BreakingPointResults)> =
        results.models.iter().flat_map(|m| m.breaking_points.iter().map(|b| (m.model.as_str(), b))).collect();
    if points.is_empty() {
        return;
    }
    page.push_str("<h2 id=\"breaking-points\">Breaking points</h2><p>The mildest value of each searched perturbation's parameter at which the risk score passes the budget, by bisection between the search's ends.</p>");
    page.push_str("<table><tr><th>model</th><th>perturbation</th><th>breaking point</th><th>searched</th><th>evaluations (value → risk)</th></tr>");
    for (model, b) in points {
        let found = match b.breaking_point {
            Some(v) => {
                format!("<td class=\"over\">{} = {v} <small>{}</small></td>", escape(&b.parameter), escape(&b.unit))
            }
            None => format!("<td class=\"pass\">holds to {} = {}</td>", escape(&b.parameter), b.harsh),
        };
        let evaluations: Vec<String> = b.evaluations.iter().map(|(v, r)| format!("{v} → {r:.1}")).collect();
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{} · {}</td>{found}<td>{} … {} (± {:.3}), budget {}</td><td>{}</td></tr>",
            escape(model),
            escape(&b.factor),
            escape(&b.perturbation),
            b.mild,
            b.harsh,
            b.step,
            b.budget,
            escape(&evaluations.join(", "))
        );
    }
    page.push_str("</table>");
}

/// One score of one case against its committed baseline.
struct BaselineRow {
    case: String,
    score: String,
    stored: Option<f64>,
    now: Option<f64>,
    moved: bool,
}

/// Every case's scores against its snapshot beside the suite, as insta would diff them:
/// rounded like the snapshot, moved when beyond the suite's tolerance (or no baseline yet).
fn baseline_rows(results: &SuiteResults) -> Vec<BaselineRow> {
    let dir = baseline::snapshot_dir(&results.file);
    let tolerance = results.tolerance;
    let mut rows = Vec::new();
    let mut case = |name: &str, now: BTreeMap<String, f64>| {
        let path = dir.join(format!("{}.snap", name.replace("::", "__")));
        let stored = baseline::read_stored(&path).ok().flatten().map(|s| s.scores);
        let mut names: Vec<&String> = now.keys().collect();
        if let Some(s) = &stored {
            names.extend(s.keys().filter(|k| !now.contains_key(*k)));
        }
        let step = now.get(Score::SearchStep.name()).copied().unwrap_or(0.0);
        for score in names {
            let risk = score == Score::Risk.name();
            let digits = if risk { 100.0 } else { 10_000.0 };
            let now = now.get(score).map(|v| (v * digits).round() / digits);
            let before = stored.as_ref().and_then(|s| s.get(score).copied());
            let limit = match (tolerance, score.as_str()) {
                (None, _) => 0.0,
                (Some(t), _) if risk => t.risk,
                (Some(t), "breaking_point" | "holds_to") => t.metric.max(2.0 * step),
                (Some(t), _) => t.metric,
            };
            let moved = match (before, now) {
                (Some(b), Some(n)) => (n - b).abs() > limit + 1e-9,
                _ => true,
            };
            rows.push(BaselineRow { case: name.to_owned(), score: score.clone(), stored: before, now, moved });
        }
    };
    for m in &results.models {
        if let Some(clean) = &m.clean {
            case(&format!("{}::{}::clean", results.suite, m.model), clean.stats.clone());
        }
        for f in &m.risk_factors {
            case(&f.case, [(Score::Risk.name().to_owned(), f.risk)].into());
        }
        for b in &m.breaking_points {
            let found = match b.breaking_point {
                Some(v) => (Score::BreakingPoint.name().to_owned(), v),
                None => (Score::HoldsTo.name().to_owned(), b.harsh),
            };
            case(&b.case, [found, (Score::SearchStep.name().to_owned(), b.step)].into());
        }
        for c in &m.cases {
            let mut now: BTreeMap<String, f64> = [(Score::Risk.name().to_owned(), c.risk)].into();
            if let Some(stats) = &c.stats {
                for s in [Score::Map50, Score::Map, Score::Top1] {
                    if let Some(&v) = stats.stats.get(s.name()) {
                        now.insert(s.name().to_owned(), v);
                    }
                }
            }
            case(&c.case, now);
        }
    }
    rows
}

fn section_baselines(page: &mut String, rows: &[BaselineRow]) {
    page.push_str("<h2 id=\"baselines\">Baselines</h2>");
    let table = |page: &mut String, rows: &[&BaselineRow]| {
        page.push_str("<table><tr><th>case</th><th>score</th><th>baseline</th><th>now</th><th>Δ</th></tr>");
        for r in rows {
            let show = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v}"));
            let delta = match (r.stored, r.now) {
                (Some(b), Some(n)) => format!("{:+.4}", n - b),
                (None, _) => "no baseline yet".to_owned(),
                (_, None) => "not measured".to_owned(),
            };
            let _ = write!(
                page,
                "<tr><td{}>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if r.moved { " class=\"over\"" } else { "" },
                escape(&r.case),
                escape(&r.score),
                show(r.stored),
                show(r.now),
                delta
            );
        }
        page.push_str("</table>");
    };
    let moved: Vec<&BaselineRow> = rows.iter().filter(|r| r.moved).collect();
    let kept: Vec<&BaselineRow> = rows.iter().filter(|r| !r.moved).collect();
    if moved.is_empty() {
        page.push_str("<p class=\"pass\">Every score is within the suite's tolerance of its baseline.</p>");
    } else {
        let _ = write!(
            page,
            "<p>{} scores moved beyond the suite's tolerance (what <code>cargo insta review</code> shows):</p>",
            moved.len()
        );
        table(page, &moved);
    }
    if !kept.is_empty() {
        let _ = write!(page, "<details><summary>{} scores within tolerance</summary>", kept.len());
        table(page, &kept);
        page.push_str("</details>");
    }
}

/// A setting's position on its curve: the value of its one parameter, else its order.
fn setting_value(setting: &str) -> Option<f64> {
    let (_, value) = setting.split_once('=')?;
    if setting.contains(',') {
        return None;
    }
    value.parse().ok()
}

fn section_curves(page: &mut String, results: &SuiteResults) {
    // (factor, perturbation) → settings in suite order.
    let mut groups: Vec<((String, String), Vec<String>)> = Vec::new();
    for m in &results.models {
        for c in &m.cases {
            let key = (c.factor.clone(), c.perturbation.clone());
            let at = match groups.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    groups.push((key, Vec::new()));
                    groups.len() - 1
                }
            };
            if !groups[at].1.contains(&c.setting) {
                groups[at].1.push(c.setting.clone());
            }
        }
    }
    page.push_str("<h2 id=\"curves\">Stress curves</h2><p>Risk score and the validation metric against each perturbation's setting, per model.</p><div class=\"curves\">");
    for ((factor, perturbation), settings) in &groups {
        let numeric: Option<Vec<f64>> = settings.iter().map(|s| setting_value(s)).collect();
        let x_of = |s: &str| match &numeric {
            Some(_) => setting_value(s).unwrap_or(0.0),
            None => settings.iter().position(|t| t == s).unwrap_or(0) as f64,
        };
        let ticks: Vec<(f64, String)> = settings
            .iter()
            .map(|s| {
                let label = s.split_once('=').map_or(s.as_str(), |(_, v)| v);
                (x_of(s), if label.is_empty() { perturbation.clone() } else { label.to_owned() })
            })
            .collect();
        let param = settings.first().and_then(|s| s.split_once('=')).map_or("", |(p, _)| p);
        let lines = |value: &dyn Fn(&CaseResults) -> Option<f64>| -> Vec<charts::Line> {
            results
                .models
                .iter()
                .enumerate()
                .map(|(series, m)| {
                    let mut points: Vec<(f64, f64)> = (m.cases.iter())
                        .filter(|c| c.factor == *factor && c.perturbation == *perturbation)
                        .filter_map(|c| Some((x_of(&c.setting), value(c)?)))
                        .collect();
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    charts::Line { series, name: m.model.clone(), points }
                })
                .filter(|l| !l.points.is_empty())
                .collect()
        };
        let title = format!("{factor} · {perturbation} {param}");
        let risk_lines = lines(&|c| Some(c.risk));
        page.push_str(&charts::curve(&charts::Curve {
            title: &title,
            y_label: "risk",
            y_max: 100.0,
            ticks: &ticks,
            lines: &risk_lines,
            budget: results.budgets.map(|b| b.risk),
        }));
        let metric_lines = lines(&|c| c.stats.as_ref().and_then(headline).map(|(_, v)| v));
        if !metric_lines.is_empty() {
            let metric = (results.models.iter().flat_map(|m| &m.cases))
                .find_map(|c| c.stats.as_ref().and_then(headline))
                .map_or("metric", |(s, _)| s.label());
            page.push_str(&charts::curve(&charts::Curve {
                title: &title,
                y_label: metric,
                y_max: 1.0,
                ticks: &ticks,
                lines: &metric_lines,
                budget: None,
            }));
        }
    }
    page.push_str("</div>");
    if results.models.len() > 1 {
        page.push_str("<p>");
        for (s, m) in results.models.iter().enumerate() {
            let _ = write!(page, "<span style=\"color:{}\">■</span> {} &nbsp; ", charts::color(s), escape(&m.model));
        }
        page.push_str("</p>");
    }
}

/// The slice that fails most so far: (risk, model, slice, case).
type WorstSlice = Option<(f64, String, String, String)>;

fn section_slices(page: &mut String, results: &SuiteResults) {
    page.push_str("<h2 id=\"slices\">Slices: risk per class and object size</h2><p>Per class and per object size (COCO's small, medium, large), the highest risk score over each factor's settings, among the images showing one.</p>");
    let factors = factor_names(results);
    let mut worst: WorstSlice = None;
    for m in &results.models {
        let mut classes: Vec<String> = m.cases.iter().flat_map(|c| c.class_risk.keys().cloned()).collect();
        classes.sort();
        classes.dedup();
        slice_table(page, results, m, &factors, "class", &classes, &|c, k| c.class_risk.get(k), &mut worst);
        let sizes: Vec<String> = (crate::metrics::impact::OBJECT_SIZES.iter())
            .filter(|s| m.cases.iter().any(|c| c.size_risk.contains_key(**s)))
            .map(|s| s.to_string())
            .collect();
        slice_table(page, results, m, &factors, "object size", &sizes, &|c, k| c.size_risk.get(k), &mut worst);
    }
    if let Some((risk, model, slice, case)) = worst {
        let _ = write!(
            page,
            "<p>The slice that fails most: <strong>{}</strong> of {} under <code>{}</code>, risk {risk:.1}.</p>",
            escape(&slice),
            escape(&model),
            escape(&case)
        );
    }
}

/// One model's slices of one kind: a row per slice, a column per factor.
#[allow(clippy::too_many_arguments)]
fn slice_table(
    page: &mut String,
    results: &SuiteResults,
    m: &ModelResults,
    factors: &[String],
    kind: &str,
    slices: &[String],
    risk_of: &dyn for<'c> Fn(&'c CaseResults, &str) -> Option<&'c ClassResults>,
    worst: &mut WorstSlice,
) {
    if slices.is_empty() {
        return;
    }
    let _ = write!(page, "<table><tr><th>{} · {kind}</th>", escape(&m.model));
    for f in factors {
        let _ = write!(page, "<th>{}</th>", escape(f));
    }
    page.push_str("</tr>");
    for slice in slices {
        let _ = write!(page, "<tr><td>{}</td>", escape(slice));
        for f in factors {
            let best = (m.cases.iter().filter(|c| c.factor == *f))
                .filter_map(|c| Some((risk_of(c, slice)?, c)))
                .filter(|(r, _)| r.images > 0)
                .max_by(|a, b| a.0.risk.total_cmp(&b.0.risk));
            match best {
                Some((r, c)) => {
                    if worst.as_ref().is_none_or(|w| r.risk > w.0) {
                        *worst = Some((r.risk, m.model.clone(), format!("{kind} {slice}"), c.case.clone()));
                    }
                    let over = results.budgets.is_some_and(|b| r.risk > b.risk);
                    let _ = write!(
                        page,
                        "<td{} title=\"{} · {} images\">{:.1}</td>",
                        if over { " class=\"over\"" } else { "" },
                        escape(&setting_title(c)),
                        r.images,
                        r.risk
                    );
                }
                None => page.push_str("<td>–</td>"),
            }
        }
        page.push_str("</tr>");
    }
    page.push_str("</table>");
}

fn section_worst(page: &mut String, results: &SuiteResults, source: Result<Source, String>) {
    page.push_str("<h2 id=\"worst\">Worst images</h2><p>Per model, the riskiest cases: clean and perturbed, labels dashed black and white, the model's boxes with class and score; the score is the impact rule's (F1, or the true class's probability) before and after.</p>");
    if let Err(why) = &source {
        let _ = write!(page, "<p>Thumbnails could not be made ({}); the images are listed by name.</p>", escape(why));
    }
    for m in &results.models {
        let mut cases: Vec<&CaseResults> =
            m.cases.iter().filter(|c| c.risk > 0.0 && !c.worst_images.is_empty()).collect();
        cases.sort_by(|a, b| b.risk.total_cmp(&a.risk));
        cases.truncate(CASES_DRAWN);
        if cases.is_empty() {
            continue;
        }
        let _ = write!(page, "<h3>{}</h3>", escape(&m.model));
        for c in cases {
            let _ = write!(page, "<h4>{} · risk {:.1}</h4>", escape(&c.case), c.risk);
            for w in c.worst_images.iter().take(crate::outcome::WORST_DRAWN) {
                match source.as_ref().map_err(Clone::clone).and_then(|s| thumbnails::pair(*s, c, w)) {
                    Ok(pair) => page.push_str(&pair),
                    Err(why) => {
                        let _ = write!(
                            page,
                            "<p>{} · score {:.2} → {:.2} <small>({})</small></p>",
                            escape(&w.file_name),
                            w.before,
                            w.after,
                            escape(&why)
                        );
                    }
                }
            }
        }
    }
}

fn section_facts(page: &mut String, results: &SuiteResults, facts: &RunFacts) {
    let _ = write!(
        page,
        "<h2 id=\"facts\">Run</h2><table><tr><td>suite file</td><td>{}</td></tr><tr><td>seed</td><td>{}</td></tr><tr><td>backend</td><td>{}</td></tr><tr><td>shakedown</td><td>{}</td></tr>",
        escape(&results.file.display().to_string()),
        results.seed,
        escape(&results.backend),
        escape(&results.version)
    );
    for m in &results.models {
        let _ = write!(
            page,
            "<tr><td>{} ran on</td><td>{}</td></tr>",
            escape(&m.model),
            escape(m.runs_on.as_deref().unwrap_or("not loaded (cached or not run)"))
        );
    }
    if let Some(wall) = facts.wall {
        let _ = write!(page, "<tr><td>wall time</td><td>{:.1} s</td></tr>", wall.as_secs_f64());
    }
    page.push_str("</table>");
    if !facts.durations.is_empty() {
        let _ = write!(page, "<details><summary>{} timed steps</summary><table>", facts.durations.len());
        for (what, d) in &facts.durations {
            let _ = write!(page, "<tr><td>{}</td><td>{:.2} s</td></tr>", escape(what), d.as_secs_f64());
        }
        page.push_str("</table></details>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn settings_with_one_number_are_placed_by_value() {
        assert_eq!(setting_value("sigma=2.5"), Some(2.5));
        assert_eq!(setting_value("delta=-0.3"), Some(-0.3));
        assert_eq!(setting_value(""), None);
        assert_eq!(setting_value("a=1,b=2"), None);
    }
}
