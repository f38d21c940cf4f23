//! All terminal output of a run besides libtest's own lines: suite errors, the end-of-run table
//! of clean metrics and risk per factor, and where the time went.

use std::time::Duration;

use console::style;

use crate::errors::Error;
use crate::metrics::Validation;
use crate::run::SuiteRun;

/// A suite that cannot run: the full diagnostic, with file, line, column and hint.
pub fn suite_error(error: Error) {
    eprintln!("{:?}", miette::Report::new(error));
}

/// An accelerator that could not start: the model runs on the CPU instead.
pub fn accelerator_fallback(model: &std::path::Path, accelerator: &str, reason: &str) {
    eprintln!(
        "{} {accelerator} is unavailable for {} ({reason}); running on the CPU",
        style("warning:").yellow().bold(),
        model.display()
    );
}

/// Where the results files went.
pub fn results_written(files: &[std::path::PathBuf]) -> String {
    files.iter().map(|f| format!("{} {}\n", style("results").bold(), f.display())).collect()
}

/// The summary printed after the tests: one row per model, like a paper's robustness table.
/// Columns for factors whose test did not run in this process (filtered out) show `-`.
pub fn summary(runs: &[&SuiteRun], wall: Duration) -> String {
    let mut out = String::new();
    for run in runs {
        let factors = crate::expand::factors(&run.suite);
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
        let classifiers = run.suite.models.iter().any(|m| m.family == crate::model::Family::Classifier);
        let mut header = vec!["model".to_owned(), "mAP@0.5".into(), "mAP".into(), "mAR@10".into()];
        if classifiers {
            header.push("top-1".into());
        }
        header.extend(factors.iter().map(|f| format!("{f} risk")));
        header.extend(["mPC".into(), "rPC".into()]);
        let mut rows = vec![header];
        for (m, model) in run.suite.models.iter().enumerate() {
            if run.clean_if_done(m).is_none() && (0..factors.len()).all(|f| run.factor_if_done(m, f).is_none()) {
                continue; // filtered out or ignored in this run
            }
            let mut row = vec![model.name.clone()];
            let (boxes, top1) = match run.clean_if_done(m).map(|c| c.validation.clone()) {
                Some(Validation::Detection(s)) => {
                    ([s.stats[1], s.stats[0], s.stats[7]].map(|v| format!("{v:.3}")), None)
                }
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
