//! Throughput of every catalog perturbation at severity 3 on a 640x480 photo, one thread.
//!
//! ```sh
//! cargo run --profile perf --no-default-features --example perturb_bench -- [--seconds 1]
//!     [--only gaussian_blur,fog] [--image PATH] [--write-input PATH]
//! ```
//!
//! The photo is the first image of `examples/shapes/val/images` resized to 640x480 (or `--image`).
//! `--write-input` saves exactly that input as PNG, so that `benches/perturb/bench.py` times the
//! Python libraries on the same pixels. Prints one `name images_per_second` line per perturbation.

use std::path::PathBuf;
use std::time::Instant;

use image::imageops::FilterType;
use image::RgbImage;
use shakedown::perturb::case_rng;
use shakedown::perturb::CATALOG;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
const MIN_RUNS: usize = 5;

struct Args {
    seconds: f64,
    only: Option<Vec<String>>,
    image: Option<PathBuf>,
    write_input: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { seconds: 1.0, only: None, image: None, write_input: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => args.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--only" => args.only = Some(value()?.split(',').map(str::to_owned).collect()),
            "--image" => args.image = Some(value()?.into()),
            "--write-input" => args.write_input = Some(value()?.into()),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(args)
}

/// The first (by name) image of the shapes example's validation set.
fn default_image() -> Result<PathBuf, String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/shapes/val/images");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jpg" || x == "png"))
        .collect();
    files.sort();
    files.into_iter().next().ok_or_else(|| format!("no images in {}", dir.display()))
}

fn load(args: &Args) -> Result<RgbImage, String> {
    let path = match &args.image {
        Some(p) => p.clone(),
        None => default_image()?,
    };
    let img = image::open(&path).map_err(|e| format!("{}: {e}", path.display()))?.into_rgb8();
    Ok(image::imageops::resize(&img, WIDTH, HEIGHT, FilterType::Triangle))
}

fn main() {
    let run = || -> Result<(), String> {
        let args = parse_args()?;
        let input = load(&args)?;
        if let Some(path) = &args.write_input {
            input.save(path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        if let Some(only) = &args.only {
            if let Some(unknown) = only.iter().find(|n| CATALOG.iter().all(|p| p.name != n.as_str())) {
                return Err(format!("{unknown} is not in the catalog"));
            }
        }
        for info in CATALOG {
            if args.only.as_ref().is_some_and(|only| !only.iter().any(|n| n == info.name)) {
                continue;
            }
            let op = info.build(info.severities[2]);
            // One generator per image, as in a real run; the first call warms caches.
            let mut sink = op.apply(&input, &mut case_rng(0, info.name, 0)).as_raw()[0] as u64;
            let (start, mut runs) = (Instant::now(), 0usize);
            while runs < MIN_RUNS || start.elapsed().as_secs_f64() < args.seconds {
                let out = op.apply(&input, &mut case_rng(0, info.name, runs as u64 + 1));
                sink = sink.wrapping_add(out.as_raw()[out.len() / 2] as u64);
                runs += 1;
            }
            let per_second = runs as f64 / start.elapsed().as_secs_f64();
            println!("{} {per_second:.2}", info.name);
            // Keep the outputs observable so that no work is optimised away.
            std::hint::black_box(sink);
        }
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("perturb_bench: {e}");
        std::process::exit(2);
    }
}
