//! The HTML report of a small suite: one self-contained file naming every model, factor and
//! perturbation, with its charts and the worst images drawn; made again from results files by
//! `shakedown report`; rendered by headless Chromium without a console error.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use shakedown::output::results::{self, SuiteResults};
use shakedown::report;

/// Runs every case of `tests/suites/small.yaml`, writes its results and report into `dir`;
/// returns the results file, the results and the report's text.
fn small_report(dir: &Path) -> (PathBuf, SuiteResults, String) {
    let run = common::load("small.yaml");
    for case in &run.cases {
        common::scores(&run, case);
    }
    let (json, merged) = results::write(&[&run], dir).unwrap().remove(0);
    let loaded = run.loaded().unwrap();
    let html = report::path_for(&json);
    let source = report::Source { suite: &run.suite, dataset: &loaded.dataset };
    report::write(&merged, &report::RunFacts::default(), Ok(source), &html).unwrap();
    let text = std::fs::read_to_string(&html).unwrap();
    (json, merged, text)
}

/// What every rendering of the report must show: each model, factor and perturbation name,
/// the charts and the side-by-side images.
fn assert_complete(html: &str, results: &SuiteResults) {
    for model in &results.models {
        assert!(html.contains(&model.model), "model {}", model.model);
        for case in &model.cases {
            assert!(html.contains(&case.factor), "factor {}", case.factor);
            assert!(html.contains(&case.perturbation), "perturbation {}", case.perturbation);
        }
    }
    assert!(html.matches("<svg class=\"chart\"").count() >= 3, "the risk figure and stress curves");
    let pairs = html.matches("<figure class=\"pair\">").count();
    assert!(pairs >= 2, "worst images side by side: {pairs}");
    assert!(html.matches("data:image/jpeg;base64,").count() >= 2 * pairs, "a clean and a perturbed thumbnail each");
}

#[test]
fn the_report_is_self_contained_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let (_, results, html) = small_report(dir.path());
    assert_complete(&html, &results);
    // Nothing fetched: no external stylesheet, script or image (the SVG namespace is a name).
    for fetch in ["<link", "<script src", "src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(fetch), "the report fetches `{fetch}`");
    }
    assert!(html.len() < 5 << 20, "{} bytes", html.len());
    // The failing model's breaches come first, before the summary.
    let (failures, summary) = (html.find("id=\"failures\"").unwrap(), html.find("id=\"summary\"").unwrap());
    assert!(failures < summary);
    assert!(html.contains("class=\"verdict fail\""), "yolov8n-epoch4 is over budget in this suite");
}

#[test]
fn shakedown_report_makes_it_again_from_results_files() {
    let dir = tempfile::tempdir().unwrap();
    let (json, results, made_by_run) = small_report(dir.path());
    let out = dir.path().join("again.html");
    let status = Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .arg("report")
        .arg(&json)
        .arg("-o")
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let again = std::fs::read_to_string(&out).unwrap();
    assert_complete(&again, &results);
    // The same page: only the run facts a results file does not keep (durations) differ.
    let body = |html: &str| html[..html.find("id=\"facts\"").unwrap()].to_owned();
    assert_eq!(body(&again), body(&made_by_run));
}

#[test]
fn partial_results_of_one_suite_make_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let (json, results, _) = small_report(dir.path());
    // Two partitions' results: each keeps every other perturbed case and factor.
    let part = |keep: usize| {
        let mut part = results.clone();
        for m in &mut part.models {
            m.cases = m.cases.iter().enumerate().filter(|(i, _)| i % 2 == keep).map(|(_, c)| c.clone()).collect();
            m.risk_factors =
                m.risk_factors.iter().enumerate().filter(|(i, _)| i % 2 == keep).map(|(_, f)| f.clone()).collect();
        }
        let path = dir.path().join(format!("part{keep}.json"));
        std::fs::write(&path, serde_json::to_string(&part).unwrap()).unwrap();
        path
    };
    let (a, b) = (part(0), part(1));
    let report = |files: &[&Path], out: &Path| {
        let status = Command::new(env!("CARGO_BIN_EXE_shakedown"))
            .arg("report")
            .args(files)
            .arg("-o")
            .arg(out)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        std::fs::read_to_string(out).unwrap()
    };
    let whole = report(&[&json], &dir.path().join("whole.html"));
    let merged = report(&[&a, &b], &dir.path().join("merged.html"));
    assert_eq!(merged, whole, "the partitions' report is the whole run's");
    assert_ne!(report(&[&a], &dir.path().join("half.html")), whole, "a partition alone is not");
}

/// Headless Chromium, if installed (`.ci/run` installs Debian's `chromium`).
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].into_iter().find_map(|name| {
        let found = Command::new("which").arg(name).output().ok()?;
        found.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&found.stdout).trim()))
    })
}

#[test]
fn chromium_renders_the_report_without_console_errors() {
    let Some(browser) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI must render the report: install chromium");
        eprintln!("skipped: no chromium on this machine (apt-get install -y chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, results, _) = small_report(dir.path());
    let page = format!("file://{}", dir.path().join("small.html").display());
    let headless = |extra: &[&str]| {
        let mut c = Command::new(&browser);
        c.args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"]);
        c.arg(format!("--user-data-dir={}", dir.path().join("profile").display()));
        c.args(extra).arg(&page);
        c.output().unwrap()
    };
    let dump = headless(&["--dump-dom"]);
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let dom = String::from_utf8_lossy(&dump.stdout);
    assert_complete(&dom, &results);
    let log = String::from_utf8_lossy(&dump.stderr);
    let console_errors: Vec<&str> =
        log.lines().filter(|l| l.contains("CONSOLE") && (l.contains("ERROR") || l.contains("Uncaught"))).collect();
    assert!(console_errors.is_empty(), "console errors: {console_errors:#?}");

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-small.png");
    let _ = std::fs::remove_file(&shot);
    let screenshot = headless(&[&format!("--screenshot={}", shot.display()), "--window-size=1280,3000"]);
    assert!(screenshot.status.success(), "{}", String::from_utf8_lossy(&screenshot.stderr));
    let png = image::open(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
    assert_eq!((png.width(), png.height()), (1280, 3000));
    eprintln!("screenshot: {}", shot.display());
}
