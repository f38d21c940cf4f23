//! Harness benchmark: the speed goals of a suite run, as ratios measured in one run.
//!
//! ```sh
//! cargo run --example harness_bench -- [--suite suites/shapes.yaml] [--limit N]
//! ```
//!
//! Every case `cargo test --test robustness` runs (ignored models left out) is computed by a
//! fresh engine each time, cache off unless stated:
//! - P1: the suite on one thread against the same number of forward passes run bare (the backend
//!   alone on inputs pre-processed beforehand, one thread). Goal ≤ 1.10.
//! - P5: the suite on one thread against two. Goal ≥ 1.8 on two cores.
//! - P4: an unchanged suite re-run with a warm prediction cache against its cold run (two
//!   threads). Goal ≤ 5 %.
//!
//! See `benches/harness/README.md`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use shakedown::config::{CacheSetting, Config};
use shakedown::engine::SuiteRun;
use shakedown::harness;
use shakedown::judge::Scores;

struct Args {
    suite: PathBuf,
    limit: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { suite: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("suites/shapes.yaml"), limit: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--suite" => args.suite = value()?.into(),
            "--limit" => args.limit = Some(value()?.parse().map_err(|e| format!("--limit: {e}"))?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// A fresh engine for the suite, with `cache` (`Off`, or a folder).
fn engine(args: &Args, cache: CacheSetting) -> Result<SuiteRun, String> {
    let env = Config::get().map_err(|e| e.to_string())?;
    let config = Config { backend: env.backend, memory: env.memory, cache, ..Config::default() };
    let mut runs = harness::load_suites(&args.suite, &config)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))?;
    let mut run = runs.remove(0);
    if args.limit.is_some() {
        run.suite.dataset.limit = args.limit;
    }
    Ok(run)
}

/// Every non-ignored case of `run` on a pool of `threads`; the wall time.
fn run_cases(run: &SuiteRun, threads: usize) -> Result<Duration, String> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
    pool.install(|| {
        let start = Instant::now();
        for case in run.cases.iter().filter(|c| !run.suite.models[c.model].ignore) {
            Scores::of(run, case).map_err(|e| format!("{}: {e}", case.name))?;
        }
        Ok(start.elapsed())
    })
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let secs = |d: Duration| d.as_secs_f64();

    let one = engine(&args, CacheSetting::Off)?;
    let t1 = run_cases(&one, 1)?;
    let images = one.loaded().map_err(|e| e.to_string())?.dims.len();
    let mut bare = Duration::ZERO;
    let mut passes = 0;
    for m in 0..one.suite.models.len() {
        let Some(model) = one.model_if_done(m) else { continue };
        let n = model.0.mean_pass().0;
        passes += n;
        bare += one.bare_passes(m, n).map_err(|e| e.to_string())?;
    }
    drop(one);
    println!(
        "suite {} on {images} images, {passes} forward passes",
        args.suite.file_name().unwrap_or_default().to_string_lossy()
    );
    println!(
        "P1: suite on 1 thread {:.1} s, the same passes bare {:.1} s: {:.3}x (goal <= 1.10)",
        secs(t1),
        secs(bare),
        secs(t1) / secs(bare)
    );

    let two = engine(&args, CacheSetting::Off)?;
    let t2 = run_cases(&two, 2)?;
    drop(two);
    println!(
        "P5: 1 thread {:.1} s, 2 threads {:.1} s: {:.2}x (goal >= 1.8 on 2 cores)",
        secs(t1),
        secs(t2),
        secs(t1) / secs(t2)
    );

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cold = engine(&args, CacheSetting::At(dir.path().to_owned()))?;
    let tc = run_cases(&cold, 2)?;
    drop(cold);
    let warm = engine(&args, CacheSetting::At(dir.path().to_owned()))?;
    let tw = run_cases(&warm, 2)?;
    println!(
        "P4: cold {:.1} s, warm re-run {:.2} s: {:.2} % of the cold run (goal <= 5 %)",
        secs(tc),
        secs(tw),
        100.0 * secs(tw) / secs(tc)
    );
    Ok(())
}
