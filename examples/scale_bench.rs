//! Scale benchmark: one suite (2 models, 4 settings) over growing slices of a 640x480
//! COCO-format dataset; per slice the wall time, the time per image and setting, and the peak
//! memory of the process that ran it.
//!
//! ```sh
//! python examples/shapes/make_dataset.py --scale target/shakedown-bench/scale --count 5000
//! cargo run --example scale_bench -- [--data DIR] [--sizes 500,1000,2000,5000] [--threads 2]
//! ```
//!
//! Each slice runs in a fresh child process (this program again, with `--child N`), so its peak
//! resident memory (`VmHWM`, Linux) is its own. The prediction cache is off: every case is
//! computed. `SHAKEDOWN_MEMORY` and `SHAKEDOWN_BACKEND` apply as in a test run. See
//! `benches/scale/README.md`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use shakedown::config::Config;
use shakedown::engine::SuiteRun;
use shakedown::harness;
use shakedown::judge::Scores;

/// The settings every image goes through besides the clean pass.
const SETTINGS: usize = 4;
const MODELS: [&str; 2] = ["yolov8-tiny", "yolov8-tiny-fp16"];

struct Args {
    data: PathBuf,
    sizes: Vec<usize>,
    threads: usize,
    child: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let mut args = Args {
        data: target.join("shakedown-bench/scale"),
        sizes: vec![500, 1000, 2000, 5000],
        threads: 2,
        child: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => args.data = value()?.into(),
            "--sizes" => {
                args.sizes = value()?
                    .split(',')
                    .map(|s| s.parse().map_err(|e| format!("--sizes: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--threads" => args.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--child" => args.child = Some(value()?.parse().map_err(|e| format!("--child: {e}"))?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// The benchmark's suite on the first `limit` images of `data`.
fn suite_yaml(data: &Path, limit: usize) -> String {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shapes/models");
    let mut yaml = String::from("name: scale\nseed: 7\nmodels:\n");
    for name in MODELS {
        yaml += &format!(
            "  - name: {name}\n    path: {}\n    family: yolov8\n    classes: [circle, square, triangle]\n",
            models.join(format!("{name}.onnx")).display()
        );
    }
    yaml += &format!(
        "dataset:\n  annotations: {}\n  images: {}/*.jpg\n  limit: {limit}\n",
        data.join("annotations.json").display(),
        data.join("images").display()
    );
    yaml += "risk_factors:\n  blur:\n    perturbations:\n      gaussian_blur:\n        sigma: 2\n  \
             image_quality:\n    perturbations:\n      jpeg_compression:\n        quality: 15\n  \
             lighting:\n    perturbations:\n      brightness:\n        delta: -0.3\n  \
             noise:\n    perturbations:\n      gaussian_noise:\n        std: 0.02\n";
    yaml
}

/// Peak resident memory of this process in KiB (`VmHWM` of `/proc/self/status`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Run every case of the suite on `limit` images; prints `wall_seconds images passes peak_kib`.
fn child(args: &Args, limit: usize) -> Result<(), String> {
    rayon::ThreadPoolBuilder::new().num_threads(args.threads).build_global().map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("scale.yaml");
    std::fs::write(&path, suite_yaml(&args.data, limit)).map_err(|e| e.to_string())?;
    let env = Config::get().map_err(|e| e.to_string())?;
    // The environment's backend and memory budget, never its cache: every case is computed.
    let config = Config { backend: env.backend, memory: env.memory, ..Config::default() };
    let started = Instant::now();
    let run: SuiteRun = harness::load_suites(&path, &config)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))?
        .remove(0);
    for case in &run.cases {
        Scores::of(&run, case).map_err(|e| format!("{}: {e}", case.name))?;
    }
    let wall = started.elapsed().as_secs_f64();
    let images = run.loaded().map_err(|e| e.to_string())?.dims.len();
    let passes: u64 = (0..MODELS.len()).filter_map(|m| run.model_if_done(m)).map(|m| m.0.mean_pass().0).sum();
    println!("{wall:.3} {images} {passes} {}", peak_rss_kib().unwrap_or(0));
    Ok(())
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("scale_bench: {e}");
        std::process::exit(2)
    });
    if let Some(limit) = args.child {
        if let Err(e) = child(&args, limit) {
            eprintln!("scale_bench: {e}");
            std::process::exit(1);
        }
        return;
    }
    if !args.data.join("annotations.json").is_file() {
        eprintln!(
            "scale_bench: no dataset at {}; make it with\n  python examples/shapes/make_dataset.py --scale {} --count {}",
            args.data.display(),
            args.data.display(),
            args.sizes.iter().max().unwrap_or(&5000)
        );
        std::process::exit(2);
    }
    let exe = std::env::current_exe().expect("the running program has a path");
    println!(
        "{} models x (clean + {SETTINGS} settings), {} worker threads, dataset {}",
        MODELS.len(),
        args.threads,
        args.data.display()
    );
    println!("| images | wall (s) | forward passes | ms per image per setting | peak RSS (MiB) |");
    println!("|---:|---:|---:|---:|---:|");
    let mut first: Option<(f64, u64)> = None;
    for &size in &args.sizes {
        let out = Command::new(&exe)
            .args(["--data", &args.data.to_string_lossy(), "--threads", &args.threads.to_string()])
            .args(["--child", &size.to_string()])
            .output()
            .expect("the benchmark can run itself");
        if !out.status.success() {
            eprintln!("scale_bench: {size} images failed:\n{}", String::from_utf8_lossy(&out.stderr));
            std::process::exit(1);
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let v: Vec<f64> = line.split_whitespace().filter_map(|s| s.parse().ok()).collect();
        let [wall, images, passes, peak] = v[..] else {
            eprintln!("scale_bench: unexpected child output {line:?}");
            std::process::exit(1);
        };
        // Per image per setting: the clean pass counts as a setting, over both models.
        let per = 1000.0 * wall / (images * (SETTINGS + 1) as f64 * MODELS.len() as f64);
        let (base_per, base_peak) = *first.get_or_insert((per, peak as u64));
        println!(
            "| {images} | {wall:.1} | {passes} | {per:.2} ({:.2}x) | {:.0} ({:.2}x) |",
            per / base_per,
            peak / 1024.0,
            peak / base_peak as f64
        );
    }
}
