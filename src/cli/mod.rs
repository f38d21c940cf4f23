//! The `shakedown` command: run suites without cargo, make reports, check suites, preview
//! perturbations, predict and evaluate, print the suite schema.

mod init;
mod predict;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::errors::Error;
use crate::metrics::coco_eval;
use crate::output::terminal::{self, emit};
use crate::{harness, perturb, suite};

#[derive(Parser)]
#[command(name = "shakedown", version, about = "Robustness tests for computer-vision models")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the prediction cache's size (`stats`) or empty it (`clear`). Its folder is
    /// SHAKEDOWN_CACHE, else `shakedown/cache` in the target folder.
    Cache {
        #[arg(value_enum)]
        action: CacheAction,
    },
    /// Validate suite files (a file or a folder of them), open every model, annotation file and
    /// image they name, and list their tests.
    Check {
        #[arg(default_value = "suites")]
        suites: PathBuf,
    },
    /// Apply one perturbation to an image, or list the catalog.
    Perturb {
        /// Perturbation name (see --list).
        name: Option<String>,
        input: Option<PathBuf>,
        output: Option<PathBuf>,
        /// Standard severity 1-5.
        #[arg(long)]
        severity: Option<u8>,
        /// Explicit parameter, `name=value`; repeat for several.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Seed of random perturbations.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print the catalog: name, risk factor, parameters with units and ranges.
        #[arg(long)]
        list: bool,
    },
    /// Print the JSON schema of suite files.
    Schema,
    /// Set up robustness tests in your own repository: a Cargo.toml (shakedown as a
    /// dev-dependency, the `robustness` test, optimised dependencies), tests/robustness.rs, a
    /// suite and its schema, .gitignore lines. Never overwrites a file.
    Init {
        /// The folder to set up (your repository, or a folder in it).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Depend on a shakedown checkout by path instead of the published version.
        #[arg(long, value_name = "CHECKOUT")]
        path: Option<PathBuf>,
        /// The ONNX model the suite tests.
        #[arg(long, value_name = "M.onnx")]
        model: Option<PathBuf>,
        /// Its family (yolov8, yolov5, detr, boxes-scores-labels, classifier).
        #[arg(long)]
        family: Option<String>,
        /// Its class names in output order, comma-separated.
        #[arg(long, value_delimiter = ',', value_name = "A,B,C")]
        classes: Vec<String>,
        /// COCO annotations of the images.
        #[arg(long, value_name = "A.json")]
        annotations: Option<PathBuf>,
        /// The images, a glob (relative to the working directory).
        #[arg(long, value_name = "GLOB")]
        images: Option<String>,
        /// The suite's name (default `robustness`).
        #[arg(long)]
        name: Option<String>,
    },
    /// Run one model on images and print its detections: COCO results with --json (the input
    /// of `eval`), else a short table.
    Predict(predict::PredictArgs),
    /// Evaluate COCO detection results against COCO ground truth, like pycocotools' COCOeval (bbox).
    Eval {
        /// COCO ground-truth json (images, annotations, categories).
        #[arg(long, value_name = "GT.json")]
        gt: PathBuf,
        /// COCO results json: a list of {image_id, category_id, bbox: [x, y, w, h], score}.
        #[arg(long, value_name = "DETECTIONS.json")]
        dt: PathBuf,
        /// Print `{"stats": [12 numbers], "per_category": {"<id>": {"ap", "ap50"}}}` instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Merge the results folders of several machines (`cargo nextest run --partition
    /// count:K/N` on each) into one: every `<suite>.json` they hold, case by case.
    Merge {
        /// Results folders (each machine's `target/shakedown`, or its SHAKEDOWN_RESULTS).
        #[arg(required = true, value_name = "FOLDER")]
        folders: Vec<PathBuf>,
        /// Where the merged `<suite>.json` files (and their `<suite>.html` reports) go.
        #[arg(long, short, value_name = "FOLDER")]
        output: PathBuf,
    },
    /// Run suite files (or every suite in a folder) without cargo: the same cases, verdicts,
    /// results files and reports as `cargo test --test robustness`, with a progress bar.
    /// Baselines are only read, unless --accept writes them. Exit code 1 when a case fails.
    Run {
        #[arg(required = true, value_name = "SUITE_OR_FOLDER")]
        suites: Vec<PathBuf>,
        /// Write every case's scores as its baseline (insta's INSTA_UPDATE=always).
        #[arg(long)]
        accept: bool,
    },
    /// Make the HTML report again from results files: one suite's `<suite>.json`, or several
    /// partial results of it (nextest partitions), merged. The report goes beside the first
    /// file as `<suite>.html`, or to --output.
    Report {
        #[arg(required = true, value_name = "RESULTS.json")]
        files: Vec<PathBuf>,
        /// The report file (one suite only).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Parse the command line and run the command.
pub fn main() -> ExitCode {
    crate::model::prepare_process();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { suites } => check(&suites),
        Command::Perturb { list: true, .. } => {
            emit(&catalog());
            Ok(())
        }
        Command::Perturb { name, input, output, severity, params, seed, .. } => {
            perturb_one(name, input, output, severity, &params, seed)
        }
        Command::Init { dir, path, model, family, classes, annotations, images, name } => {
            let args = init::InitArgs { dir, path, model, family, classes, annotations, images, name };
            init::run(&args).map(|out| emit(&out))
        }
        Command::Schema => {
            emit(&suite::json_schema());
            Ok(())
        }
        Command::Predict(args) => predict::run(&args).map(|out| emit(&out)),
        Command::Eval { gt, dt, json } => return eval(&gt, &dt, json),
        Command::Cache { action } => cache(action),
        Command::Merge { folders, output } => merge(&folders, &output),
        Command::Report { files, output } => report(&files, output.as_deref()),
        Command::Run { suites, accept } => {
            return run::run(&suites, accept).unwrap_or_else(|errors| {
                errors.into_iter().for_each(terminal::error);
                ExitCode::FAILURE
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            terminal::error(e);
            ExitCode::FAILURE
        }
    }
}

fn merge(folders: &[PathBuf], output: &std::path::Path) -> Result<(), Error> {
    for (path, merged) in crate::output::results::merge_folders(folders, output)? {
        emit(&format!("{}: {}\n", merged.suite, path.display()));
        write_report(&merged, &crate::report::path_for(&path))?;
    }
    Ok(())
}

fn report(files: &[PathBuf], output: Option<&std::path::Path>) -> Result<(), Error> {
    let merged = crate::output::results::merge_files(files)?;
    if output.is_some() && merged.len() > 1 {
        let names: Vec<&str> = merged.iter().map(|m| m.suite.as_str()).collect();
        return Err(Error::Usage(format!(
            "--output names one file, but the results are of {} suites ({}): give one suite's files, or no --output",
            names.len(),
            names.join(", ")
        )));
    }
    for results in &merged {
        let path = match output {
            Some(path) => path.to_owned(),
            None => files[0].with_file_name(format!("{}.html", results.suite)),
        };
        write_report(results, &path)?;
    }
    Ok(())
}

/// The report of `results` at `path`, thumbnails made from the suite file the results name.
fn write_report(results: &crate::output::results::SuiteResults, path: &std::path::Path) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let source = crate::report::load_source(results);
    let source = source.as_ref().map(|(suite, dataset)| crate::report::Source { suite, dataset }).map_err(Clone::clone);
    crate::report::write(results, &crate::report::RunFacts::default(), source, path)?;
    emit(&terminal::report_written(path, started.elapsed()));
    Ok(())
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CacheAction {
    Stats,
    Clear,
}

fn cache(action: CacheAction) -> Result<(), Error> {
    let Some(cache) = harness::prediction_cache(Config::get()?) else {
        emit("the prediction cache is off (SHAKEDOWN_CACHE=off)\n");
        return Ok(());
    };
    let mib = |bytes: u64| bytes as f64 / (1u64 << 20) as f64;
    let dir = cache.dir().display();
    match action {
        CacheAction::Stats => {
            let s = cache.stats();
            emit(&format!(
                "{dir}: {} entries, {:.1} MiB (bound {:.0} MiB)\n",
                s.entries,
                mib(s.bytes),
                mib(cache.max_bytes())
            ));
        }
        CacheAction::Clear => {
            let removed = cache.clear().map_err(|e| Error::io(cache.dir(), e))?;
            emit(&format!("{dir}: removed {} entries, {:.1} MiB\n", removed.entries, mib(removed.bytes)));
        }
    }
    Ok(())
}

fn check(location: &std::path::Path) -> Result<(), Error> {
    let runs = harness::load_suites(location, Config::get()?).map_err(|errors| {
        let count = errors.len();
        for e in errors {
            terminal::error(e);
        }
        Error::Usage(format!("{count} suite(s) failed to validate"))
    })?;
    let mut out = String::new();
    let mut problems = 0;
    for run in runs {
        // Everything a run opens, opened now: a model path naming a JSON file, annotations
        // that are an ONNX file or an empty glob fail here, not half-way through a run.
        let found = run.preflight();
        problems += found.len();
        found.into_iter().for_each(terminal::error);
        out.push_str(&format!("{}: {} tests\n", run.suite.path.display(), run.cases.len()));
        for case in &run.cases {
            out.push_str(&format!("  {}\n", case.name));
        }
    }
    if problems > 0 {
        return Err(Error::Usage(format!("{problems} problem(s) found; nothing was run")));
    }
    emit(&out);
    Ok(())
}

/// `shakedown eval`: its errors are diagnostics of their own (they name the file and entry).
fn eval(gt: &std::path::Path, dt: &std::path::Path, json: bool) -> ExitCode {
    let stats = match crate::metrics::coco_files::eval_files(gt, dt) {
        Ok(stats) => stats,
        Err(e) => {
            terminal::error(e.into());
            return ExitCode::FAILURE;
        }
    };
    if json {
        // Categories in id order (a serde_json::Map would sort "10" before "2").
        let per_category: Vec<String> = stats
            .per_category
            .iter()
            .map(|c| format!("\"{}\": {}", c.category_id, serde_json::json!({ "ap": c.ap, "ap50": c.ap50 })))
            .collect();
        emit(&format!(
            "{{\"stats\": {}, \"per_category\": {{{}}}}}\n",
            serde_json::json!(stats.stats),
            per_category.join(", ")
        ));
    } else {
        emit(&coco_eval::summary_lines(&stats.stats).iter().map(|line| format!("{line}\n")).collect::<String>());
    }
    ExitCode::SUCCESS
}

fn catalog() -> String {
    let mut out = String::new();
    for &factor in perturb::RiskFactor::ALL {
        let entries: Vec<_> = perturb::CATALOG.iter().filter(|p| p.factor == factor).collect();
        if entries.is_empty() {
            continue;
        }
        out.push_str(&format!("{factor}\n"));
        for p in entries {
            let params: Vec<String> = p
                .params
                .iter()
                .map(|q| format!("{}={}..{} ({}, default {})", q.name, q.min, q.max, q.unit, q.default))
                .collect();
            let params = if params.is_empty() { "(no parameters)".to_owned() } else { params.join("; ") };
            out.push_str(&format!("  {:<20} {}\n  {:<20} {}\n", p.name, p.summary, "", params));
        }
    }
    out
}

fn perturb_one(
    name: Option<String>,
    input: Option<PathBuf>,
    output: Option<PathBuf>,
    severity: Option<u8>,
    params: &[String],
    seed_value: u64,
) -> Result<(), Error> {
    let usage = |m: String| Error::Usage(m);
    let name = name.ok_or_else(|| usage("name a perturbation, or pass --list".into()))?;
    let info = perturb::lookup(&name).ok_or_else(|| {
        let help = crate::vocab::did_you_mean(&name, "perturbations", perturb::names());
        usage(format!("unknown perturbation `{name}` (`shakedown perturb --list`); {help}"))
    })?;
    let (input, output) = input.zip(output).ok_or_else(|| usage("give an INPUT and an OUTPUT image path".into()))?;
    let mut values: Vec<f64> = match severity {
        Some(s @ 1..=5) => info.severities[s as usize - 1].to_vec(),
        Some(s) => return Err(usage(format!("severity must be 1 to 5, got {s}"))),
        None => info.params.iter().map(|p| p.default).collect(),
    };
    for kv in params {
        let (k, v) = kv.split_once('=').ok_or_else(|| usage(format!("`{kv}` is not NAME=VALUE")))?;
        let (i, p) = info.param(k).ok_or_else(|| {
            let help = crate::vocab::did_you_mean(k, "it takes", info.params.iter().map(|p| p.name));
            usage(format!("`{name}` has no parameter `{k}`; {help}"))
        })?;
        let v: f64 = v.parse().map_err(|_| usage(format!("`{v}` is not a number")))?;
        if !(p.min..=p.max).contains(&v) {
            return Err(usage(format!("{k} must be between {} and {}, got {v}", p.min, p.max)));
        }
        values[i] = v;
    }
    let image = image::open(&input).map_err(|e| usage(format!("cannot read {}: {e}", input.display())))?.into_rgb8();
    let mut rng = perturb::case_rng(seed_value, info.name, 0);
    let out = info.build(&values).apply(&image, &mut rng);
    out.save(&output).map_err(|e| usage(format!("cannot write {}: {e}", output.display())))?;
    Ok(())
}
