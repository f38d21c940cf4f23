//! All terminal output besides libtest's own lines: diagnostics, warnings, the end-of-run table
//! of clean metrics and risk per factor, and where the time went. Nothing else prints.

use std::path::PathBuf;
use std::time::Duration;

use console::style;

use crate::engine::SuiteRun;
use crate::errors::Error;
use crate::judge::baseline::Baseline;
use crate::metrics::Validation;
use crate::vocab::{Family, Score};

/// An error that stops a command or a suite: the full diagnostic, with file, line, column and
/// hint.
pub fn error(error: Error) {
    eprintln!("{:?}", miette::Report::new(error));
}

/// Something the user should know that does not stop the run (an accelerator that fell back
/// to the CPU).
pub fn warning(text: &str) {
    eprintln!("{} {text}", style("warning:").yellow().bold());
}

/// Write to stdout; a reader that went away (`| head`) is not an error.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// One line per breaking point a run searched: `yolov8n  blur::gaussian_blur  sigma ≥ 2.34`.
fn breaking_points(run: &SuiteRun) -> String {
    let mut out = String::new();
    for case in &run.cases {
        let crate::suite::CaseKind::Search { factor, grid } = case.kind else { continue };
        let Some(o) = run.search_if_done(case.model, factor, grid) else { continue };
        let rf = &run.suite.risk_factors[factor];
        let what = format!("{}::{}", rf.factor, rf.grids[grid].perturbation.name);
        let found = match o.breaking_point {
            Some(v) => format!("risk > {} from {} = {v} {}", o.budget, o.parameter, o.unit),
            None => format!("holds up to {} = {} {}", o.parameter, o.harsh, o.unit),
        };
        out +=
            &format!("  {} {}  {what}: {found}\n", style("breaking point").bold(), run.suite.models[case.model].name);
    }
    out
}

/// The progress of `shakedown run`: cases done of all, images per second, time left. Drawn
/// on stderr when it is a terminal, hidden otherwise; failures print above it as they happen.
pub struct Progress {
    bar: indicatif::ProgressBar,
    images: std::sync::atomic::AtomicU64,
    started: std::time::Instant,
}

impl Progress {
    pub fn new(cases: u64) -> Self {
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} cases · {msg} · ETA {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        let bar = indicatif::ProgressBar::new(cases).with_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar, images: Default::default(), started: std::time::Instant::now() }
    }

    /// One case finished after seeing `images` images.
    pub fn case_done(&self, name: &str, images: u64, failed: bool) {
        use std::sync::atomic::Ordering;
        let seen = self.images.fetch_add(images, Ordering::Relaxed) + images;
        let rate = seen as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_message(format!("{rate:.0} images/s"));
        if failed {
            self.bar.println(format!("{} {name}", style("FAILED").red().bold()));
        }
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The failed cases of `shakedown run` with their messages, and the count.
pub fn failures(failures: &[(String, String)], cases: usize, wall: Duration) -> String {
    let mut out = String::new();
    for (name, message) in failures {
        out += &format!("\n{} {name}\n{message}\n", style("FAILED").red().bold());
    }
    let verdict = match failures.len() {
        0 => style("ok".to_owned()).green().bold(),
        n => style(format!("FAILED ({n} failed)")).red().bold(),
    };
    out += &format!("\n{verdict}: {cases} cases in {:.1} s\n\n", wall.as_secs_f64());
    out
}

/// One failing case's baseline message: what happened, and the one way to act on it here.
pub fn baseline_problem(problem: &Baseline, ci: bool) -> String {
    let accept = |pending: &Option<PathBuf>| match (pending, ci) {
        (Some(p), _) => format!(
            "review {} with `cargo insta review` (or `cargo insta accept`), or rerun with `INSTA_UPDATE=always`",
            shown(p)
        ),
        (None, true) => "CI writes no snapshots, so run the suite locally, accept with `cargo insta accept` \
                         and commit the snapshot"
            .to_owned(),
        (None, false) => "rerun with `INSTA_UPDATE=always` to write it, or `INSTA_UPDATE=new` for review".to_owned(),
    };
    match problem {
        Baseline::Kept | Baseline::Written => String::new(),
        Baseline::Missing { snapshot, pending } => {
            format!("baseline: no baseline yet at {}; {}", shown(snapshot), accept(pending))
        }
        Baseline::Moved { snapshot, pending, changes } => {
            let each: Vec<String> = changes.iter().map(ToString::to_string).collect();
            format!(
                "baseline: moved beyond tolerance: {} in {}; if intended, {}",
                each.join(", "),
                shown(snapshot),
                accept(pending)
            )
        }
    }
}

/// A path relative to the working directory when it is below it, as a reader would type it.
fn shown(path: &std::path::Path) -> String {
    let relative = std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.to_owned()));
    relative.unwrap_or_else(|| path.to_owned()).display().to_string()
}

/// Where the results files went.
pub fn results_written(file: &std::path::Path) -> String {
    format!("{} {}\n", style("results").bold(), file.display())
}

/// Where the HTML report went, and how long it took to make.
pub fn report_written(file: &std::path::Path, made_in: Duration) -> String {
    format!("{}  {} ({:.2} s)\n", style("report").bold(), file.display(), made_in.as_secs_f64())
}

/// The summary printed after the tests: one row per model, like a paper's robustness table.
/// Columns for factors whose test did not run in this process (filtered out) show `-`.
pub fn summary(runs: &[&SuiteRun], wall: Duration) -> String {
    let mut out = String::new();
    for run in runs {
        let factors = crate::suite::expand::factors(&run.suite);
        let any = (0..run.suite.models.len())
            .any(|m| run.clean_if_done(m).is_some() || (0..factors.len()).any(|f| run.factor_if_done(m, f).is_some()));
        if !any {
            continue;
        }
        out.push_str(&format!(
            "\n{} {} ({} backend; risk = % of images heavily impacted; mPC = mean mAP over the \
             perturbed tests (top-1 for classifiers), rPC = mPC / clean)\n",
            style("suite").bold(),
            style(&run.suite.name).bold().cyan(),
            run.suite.backend
        ));
        let classifiers = run.suite.models.iter().any(|m| m.family == Family::Classifier);
        let mut header = vec!["model".to_owned()];
        header.extend([Score::Map50, Score::Map, Score::Mar10].map(|s| s.label().to_owned()));
        if classifiers {
            header.push(Score::Top1.label().into());
        }
        header.extend(factors.iter().map(|f| format!("{f} risk")));
        header.extend(["mPC".into(), "rPC".into()]);
        let mut rows = vec![header];
        for (m, model) in run.suite.models.iter().enumerate() {
            if run.clean_if_done(m).is_none() && (0..factors.len()).all(|f| run.factor_if_done(m, f).is_none()) {
                continue; // filtered out or ignored in this run
            }
            let mut row = vec![model.name.clone()];
            let clean = run.clean_if_done(m);
            let (boxes, top1) = match clean.as_ref().and_then(|c| c.validation.as_ref()) {
                Some(Validation::Detection(s)) => ([s.map50(), s.map(), s.mar10()].map(|v| format!("{v:.3}")), None),
                Some(Validation::Classification(s)) => {
                    (["-", "-", "-"].map(String::from), Some(format!("{:.3}", s.top1)))
                }
                None => (["-", "-", "-"].map(String::from), None),
            };
            row.extend(boxes);
            if classifiers {
                row.push(top1.unwrap_or_else(|| "-".into()));
            }
            for f in 0..factors.len() {
                row.push(run.factor_if_done(m, f).map_or("-".into(), |o| format!("{:.1}", o.risk)));
            }
            let (mpc, rpc) = match run.performance_under_corruption(m) {
                Some((mpc, rpc)) => (format!("{mpc:.3}"), rpc.map_or("-".into(), |r| format!("{:.1}%", 100.0 * r))),
                None => ("-".into(), "-".into()),
            };
            row.extend([mpc, rpc]);
            rows.push(row);
        }
        out.push_str(&table(&rows));
        out.push_str(&breaking_points(run));
    }
    let steps: Vec<(String, Duration)> = runs.iter().flat_map(|r| r.timings()).collect();
    if !steps.is_empty() {
        let busy: Duration = steps.iter().map(|(_, d)| *d).sum();
        out.push_str(&format!(
            "\n{} {:.1} s wall, {} steps ({:.1} s of work); slowest:\n",
            style("timing").bold(),
            wall.as_secs_f64(),
            steps.len(),
            busy.as_secs_f64()
        ));
        let mut slowest = steps;
        slowest.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
        for (what, d) in slowest.iter().take(5) {
            out.push_str(&format!("  {:>7.2} s  {what}\n", d.as_secs_f64()));
        }
    }
    out
}

/// Left-aligned first column, right-aligned numbers.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, s)| if c == 0 { format!("{s:<w$}", w = widths[c]) } else { format!("{s:>w$}", w = widths[c]) })
            .collect();
        let line = format!("  {}\n", cells.join("  "));
        out.push_str(&if i == 0 { style(line).dim().to_string() } else { line });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        console::set_colors_enabled(false);
        let rows = vec![vec!["model".to_owned(), "mAP".into()], vec!["yolov8n".into(), "0.5".into()]];
        assert_eq!(table(&rows), "  model    mAP\n  yolov8n  0.5\n");
    }
}
