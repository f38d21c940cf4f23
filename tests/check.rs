//! `shakedown check` opens what a run opens: a model path naming a JSON file, annotations that
//! are an ONNX file, a glob that selects nothing, classes the dataset does not have and every
//! unreadable image are reported before anything runs, all at once, without a panic.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A suite in `dir` named `name`, with its model, annotations, glob and classes.
fn suite(dir: &Path, name: &str, model: &Path, annotations: &Path, images: &str, classes: &str) {
    let text = format!(
        "name: {name}\nmodels:\n  - name: m\n    path: {}\n    family: yolov8\n    classes: [{classes}]\n\
         dataset:\n  annotations: {}\n  images: {images}\nrisk_factors:\n  blur:\n    perturbations:\n      \
         gaussian_blur:\n        sigma: 1\n",
        model.display(),
        annotations.display()
    );
    std::fs::write(dir.join(format!("{name}.yaml")), text).unwrap();
}

#[test]
fn check_reports_every_problem_a_run_would_meet() {
    let dir = tempfile::tempdir().unwrap();
    let shapes = root().join("examples/shapes");
    let (model, annotations) = (shapes.join("models/yolov8n.onnx"), shapes.join("val/annotations.json"));
    let images = format!("{}/val/images/00000*.jpg", shapes.display());
    let classes = "circle, square, triangle";
    suite(dir.path(), "swapped", &annotations, &model, &images, classes);
    suite(dir.path(), "empty", &model, &annotations, "nothing/*.jpg", classes);
    suite(dir.path(), "classes", &model, &annotations, &images, "cat, dog, bird");
    // Two images that are not images, listed under the annotations' file names.
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("000001.jpg"), b"not a jpeg").unwrap();
    std::fs::write(broken.join("000002.jpg"), b"").unwrap();
    suite(dir.path(), "unreadable", &model, &annotations, "broken/*.jpg", classes);

    let out = Command::new(env!("CARGO_BIN_EXE_shakedown")).arg("check").arg(dir.path()).output().unwrap();
    // Diagnostics wrap at the terminal's width: read them as one line.
    let stderr: String =
        String::from_utf8_lossy(&out.stderr).replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for expected in [
        "annotations.json with tract", // the model path names the annotations
        "it is not an ONNX model",
        "yolov8n.onnx: the whole file: it is not text, so not a COCO annotation file", // the annotations name the model
        "selects no image",
        "none of model m's classes (cat, dog, bird) is a category of the dataset",
        "2 images cannot be decoded",
        "000001.jpg",
        "000002.jpg",
        "5 problem(s) found; nothing was run",
    ] {
        assert!(stderr.contains(expected), "expected `{expected}` in:\n{stderr}");
    }
}

#[test]
fn check_passes_the_shipped_suites() {
    let out = Command::new(env!("CARGO_BIN_EXE_shakedown")).arg("check").arg(root().join("suites")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("shapes.yaml: ") && stdout.contains("shapes::yolov8n::clean"), "{stdout}");
}
