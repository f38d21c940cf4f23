//! `shakedown init`: the files a user commits to run suites in their own repository, written
//! once and never over an existing file.

use std::path::{Path, PathBuf};

use crate::errors::Error;
use crate::suite;

/// What `init` was asked for.
#[derive(Debug, Clone, Default)]
pub struct InitArgs {
    pub dir: PathBuf,
    /// A shakedown checkout to depend on by path; the published version otherwise.
    pub path: Option<PathBuf>,
    pub model: Option<PathBuf>,
    pub family: Option<String>,
    pub classes: Vec<String>,
    pub annotations: Option<PathBuf>,
    pub images: Option<String>,
    /// The suite's name (default: `robustness`).
    pub name: Option<String>,
}

/// One file `init` writes, or would have written.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub path: PathBuf,
    pub text: String,
}

/// The profile settings that keep inference optimised in a crate that depends on shakedown:
/// tract and the image codecs run 10-50× slower unoptimised.
pub const PROFILE: &str = "\
# Inference (tract), image codecs and shakedown itself run 10-50x slower unoptimised: build
# every dependency optimised, even in `cargo test`. (Profiles apply in the workspace root.)
[profile.dev.package.\"*\"]
opt-level = 3
debug = false
debug-assertions = false
overflow-checks = false
";

const TEST_FILE: &str = "\
//! Robustness tests: every suite in `suites/` becomes one test per model × perturbation ×
//! setting (shakedown). `cargo test --test robustness -- --list` lists them.

fn main() -> std::process::ExitCode {
    shakedown::harness::main(&std::path::Path::new(env!(\"CARGO_MANIFEST_DIR\")).join(\"suites\"))
}
";

const GITIGNORE: &str = "\
# shakedown: pending baselines (review with `cargo insta review`) and results
*.snap.new
*.pending-snap
/target
";

/// Write the files; returns those written and those left alone because they exist.
pub fn run(args: &InitArgs) -> Result<String, Error> {
    let plan = plan(args)?;
    let mut out = String::new();
    for file in &plan {
        if file.path.exists() {
            out.push_str(&format!("kept     {} (exists; see below)\n", file.path.display()));
            continue;
        }
        if let Some(parent) = file.path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&file.path, &file.text).map_err(|e| Error::io(&file.path, e))?;
        out.push_str(&format!("wrote    {}\n", file.path.display()));
    }
    for file in
        plan.iter().filter(|f| f.path.exists() && std::fs::read_to_string(&f.path).ok().as_ref() != Some(&f.text))
    {
        if file.path.ends_with("Cargo.toml") {
            out.push_str(&format!(
                "\n{} exists: add these lines to it yourself\n\n{}",
                file.path.display(),
                cargo_additions(args)
            ));
        }
    }
    out.push_str(&format!(
        "\nnext: `cargo test --test robustness` in {dir}; the first run has no baselines and says how to \
         accept them (`cargo insta accept`, or `INSTA_UPDATE=always`); commit `suites/` with its snapshots, \
         after which `CI=true cargo test --test robustness` passes\n",
        dir = args.dir.display()
    ));
    Ok(out)
}

/// The files `init` writes, with their text.
pub fn plan(args: &InitArgs) -> Result<Vec<Planned>, Error> {
    let name = args.name.clone().unwrap_or_else(|| "robustness".into());
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
        return Err(Error::Usage(format!("suite name `{name}`: use lowercase letters, digits, `_` and `-`")));
    }
    let dir = &args.dir;
    let package = dir
        .canonicalize()
        .unwrap_or_else(|_| dir.clone())
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-"))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "robustness".into());
    let manifest = format!(
        "[package]\nname = \"{package}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n{}",
        cargo_additions(args)
    );
    Ok(vec![
        Planned { path: dir.join("Cargo.toml"), text: manifest },
        Planned { path: dir.join("tests/robustness.rs"), text: TEST_FILE.into() },
        Planned { path: dir.join(format!("suites/{name}.yaml")), text: suite_text(args, &name) },
        Planned { path: dir.join("schemas/suite.schema.json"), text: suite::json_schema() },
        Planned { path: dir.join(".gitignore"), text: GITIGNORE.into() },
    ])
}

/// What a manifest needs: the dev-dependency, the harness-less test target, the profile.
pub fn cargo_additions(args: &InitArgs) -> String {
    let dependency = match &args.path {
        // Cargo reads a path dependency relative to the manifest, not to where init ran.
        Some(path) => {
            let path =
                if path.is_absolute() { path.clone() } else { pathdiff(path, &args.dir).unwrap_or(path.clone()) };
            format!("shakedown = {{ path = \"{}\" }}", path.display())
        }
        None => format!("shakedown = \"{}\"", env!("CARGO_PKG_VERSION")),
    };
    format!("[dev-dependencies]\n{dependency}\n\n[[test]]\nname = \"robustness\"\nharness = false\n\n{PROFILE}")
}

/// A suite that runs as it is when a model and data were given, else a commented template.
fn suite_text(args: &InitArgs, name: &str) -> String {
    let relative = |p: &Path| -> String {
        // Suites name files relative to their own folder, `suites/`.
        match pathdiff(p, &args.dir.join("suites")) {
            Some(r) => r.display().to_string(),
            None => p.display().to_string(),
        }
    };
    let model = args.model.as_deref().map(relative);
    let family = args.family.clone().unwrap_or_else(|| "yolov8".into());
    let classes = if args.classes.is_empty() {
        "[]  # the model's class names, in output order".into()
    } else {
        format!("[{}]", args.classes.join(", "))
    };
    let annotations = args.annotations.as_deref().map(relative);
    let images = args.images.clone().map(|g| {
        if Path::new(&g).is_absolute() {
            g
        } else {
            // A glob given relative to the working directory, like the other paths.
            relative(&std::env::current_dir().unwrap_or_default().join(&g))
        }
    });
    let runnable = model.is_some() && images.is_some();
    let comment = if runnable { "" } else { "# " };
    let impact = if annotations.is_some() { "ground_truth" } else { "consistency" };
    let mut text = String::from(
        "# yaml-language-server: $schema=../schemas/suite.schema.json\n#\n\
         # Robustness suite: `cargo test --test robustness` runs one test per model × perturbation ×\n\
         # setting, one per risk factor and one clean-accuracy test per model. Baselines go to\n\
         # suites/snapshots/ (commit them).\n",
    );
    if !runnable {
        text.push_str("# Fill in the model and the images, then remove the `# ` in front of each line.\n");
    }
    let line = |t: &mut String, s: &str| {
        t.push_str(comment);
        t.push_str(s);
        t.push('\n');
    };
    line(&mut text, &format!("name: {name}"));
    line(&mut text, "seed: 1");
    line(&mut text, "models:");
    line(
        &mut text,
        &format!(
            "  - name: {}",
            args.model
                .as_ref()
                .and_then(|m| m.file_stem())
                .map_or("model".into(), |s| s.to_string_lossy().to_lowercase())
        ),
    );
    line(&mut text, &format!("    path: {}", model.unwrap_or_else(|| "../models/model.onnx".into())));
    line(&mut text, &format!("    family: {family}"));
    line(&mut text, &format!("    classes: {classes}"));
    line(&mut text, "dataset:");
    if let Some(a) = &annotations {
        line(&mut text, &format!("  annotations: {a}"));
    }
    line(&mut text, &format!("  images: {}", images.unwrap_or_else(|| "../data/val/images/*.jpg".into())));
    line(&mut text, "  limit: 50");
    line(&mut text, "impact:");
    line(&mut text, &format!("  rule: {impact}"));
    line(&mut text, "  delta: 0.3");
    line(&mut text, "risk_factors:");
    for (factor, perturbation, grid) in [
        ("blur", "gaussian_blur", "sigma: [1, 2]"),
        ("noise", "gaussian_noise", "std: [0.01, 0.02]"),
        ("image_quality", "jpeg_compression", "quality: [30, 15]"),
        ("lighting", "brightness", "delta: [-0.3, 0.3]"),
    ] {
        line(&mut text, &format!("  {factor}:"));
        line(&mut text, "    perturbations:");
        line(&mut text, &format!("      {perturbation}:"));
        line(&mut text, &format!("        {grid}"));
    }
    line(&mut text, "budgets:");
    line(&mut text, "  risk: 30         # % of images a setting may impact heavily");
    line(&mut text, "  factor_risk: 45  # the same for a whole risk factor");
    if annotations.is_some() {
        line(&mut text, "  clean_map50: 0.5");
    }
    text
}

/// `path` relative to `base` when both are relative to the same place, component-wise.
fn pathdiff(path: &Path, base: &Path) -> Option<PathBuf> {
    let absolute =
        |p: &Path| if p.is_absolute() { Some(p.to_owned()) } else { std::env::current_dir().ok().map(|c| c.join(p)) };
    let (path, base) = (normalise(&absolute(path)?), normalise(&absolute(base)?));
    let common = path.components().zip(base.components()).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in base.components().skip(common) {
        out.push("..");
    }
    for c in path.components().skip(common) {
        out.push(c);
    }
    Some(out)
}

/// Drop `.` and fold `..` without touching the file system (the files may not exist yet).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes(dir: &Path) -> InitArgs {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        InitArgs {
            dir: dir.to_owned(),
            path: Some(root.to_owned()),
            model: Some(root.join("examples/shapes/models/yolov8n.onnx")),
            family: Some("yolov8".into()),
            classes: vec!["circle".into(), "square".into(), "triangle".into()],
            annotations: Some(root.join("examples/shapes/val/annotations.json")),
            images: Some(root.join("examples/shapes/val/images/*.jpg").display().to_string()),
            name: Some("shapes".into()),
        }
    }

    #[test]
    fn writes_a_crate_whose_suite_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let args = shapes(&dir.path().join("repo"));
        let out = run(&args).unwrap();
        assert_eq!(out.matches("wrote").count(), 5, "{out}");
        let manifest = std::fs::read_to_string(args.dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[[test]]\nname = \"robustness\"\nharness = false"), "{manifest}");
        assert!(manifest.contains("opt-level = 3") && manifest.contains("shakedown = { path ="), "{manifest}");
        let suite = suite::load(&args.dir.join("suites/shapes.yaml"), None)
            .unwrap_or_else(|e| panic!("{}", crate::errors::render(&e)));
        assert_eq!(suite.models[0].classes, ["circle", "square", "triangle"]);
        let text = std::fs::read_to_string(args.dir.join("suites/shapes.yaml")).unwrap();
        assert!(text.contains("path: ../../"), "paths relative to the suite: {text}");
        assert!(args.dir.join("schemas/suite.schema.json").is_file(), "the modeline resolves");
    }

    #[test]
    fn never_overwrites_and_says_what_to_add() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"mine\"\n").unwrap();
        let out = run(&InitArgs { dir: dir.path().to_owned(), ..InitArgs::default() }).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap(), "[package]\nname = \"mine\"\n");
        assert!(out.contains("kept") && out.contains("add these lines"), "{out}");
        assert!(out.contains(&format!("shakedown = \"{}\"", env!("CARGO_PKG_VERSION"))), "{out}");
        let again = run(&InitArgs { dir: dir.path().to_owned(), ..InitArgs::default() }).unwrap();
        assert_eq!(again.matches("kept").count(), 5, "{again}");
    }

    #[test]
    fn without_a_model_the_suite_is_a_commented_template() {
        let dir = tempfile::tempdir().unwrap();
        run(&InitArgs { dir: dir.path().to_owned(), ..InitArgs::default() }).unwrap();
        let text = std::fs::read_to_string(dir.path().join("suites/robustness.yaml")).unwrap();
        assert!(text.lines().filter(|l| !l.is_empty()).all(|l| l.starts_with('#')), "{text}");
    }
}
