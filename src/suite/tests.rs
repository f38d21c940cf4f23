//! Suite parsing: a valid suite round-trips into cases; each kind of mistake is reported at its
//! line and column with a hint, and never panics.

use super::*;
use crate::errors::SuiteErrorKind as K;
use crate::vocab::{Channels, Layout, Resize};

/// A valid suite with files that exist, in a temporary folder.
struct Fixture {
    dir: tempfile::TempDir,
}

const VALID: &str = "\
name: demo
seed: 7
models:
  - name: det
    path: model.onnx
    family: yolov8
    classes: [circle, square]
dataset:
  annotations: ann.json
  images: imgs/*.jpg
impact:
  rule: ground_truth
  delta: 0.3
risk_factors:
  blur:
    budget: 30
    perturbations:
      gaussian_blur:
        sigma: [0.5, 1.5]
  lighting:
    perturbations:
      brightness:
        severity: [1, 3]
budgets:
  risk: 25
  clean_map50: 0.5
";

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.onnx"), b"x").unwrap();
        std::fs::write(dir.path().join("ann.json"), b"{}").unwrap();
        Self { dir }
    }

    fn parse(&self, text: &str) -> Result<Suite, Error> {
        self.parse_env(text, None)
    }

    fn parse_env(&self, text: &str, backend: Option<&str>) -> Result<Suite, Error> {
        parse(&self.dir.path().join("demo.yaml"), text.to_owned(), backend)
    }

    /// The problems of an invalid suite: (kind, line, column, message, help).
    fn problems(&self, text: &str) -> Vec<(K, usize, usize, String, String)> {
        match self.parse(text) {
            Ok(_) => panic!("suite should be invalid:\n{text}"),
            Err(Error::Suite(invalid)) => invalid
                .errors
                .iter()
                .map(|e| {
                    let (line, col) = line_col(text, e.span.offset());
                    (e.kind, line, col, e.message.clone(), e.help.clone().unwrap_or_default())
                })
                .collect(),
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = offset - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

fn one(problems: Vec<(K, usize, usize, String, String)>) -> (K, usize, usize, String, String) {
    assert_eq!(problems.len(), 1, "{problems:#?}");
    problems.into_iter().next().unwrap()
}

#[test]
fn valid_suite_resolves_everything() {
    let fx = Fixture::new();
    let suite = fx.parse(VALID).unwrap();
    assert_eq!(suite.name, "demo");
    assert_eq!(suite.seed, 7);
    assert_eq!(suite.backend, Backend::Tract);
    assert_eq!(suite.models[0].family, Family::Yolov8);
    assert_eq!(suite.models[0].confidence, 0.25);
    assert_eq!(suite.risk_factors.len(), 2);
    assert_eq!(suite.risk_factors[0].budget, 30.0);
    assert_eq!(suite.risk_factors[1].budget, 40.0, "default factor budget");
    let blur = &suite.risk_factors[0].grids[0];
    assert_eq!(blur.points.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(), ["sigma=0.5", "sigma=1.5"]);
    let bright = &suite.risk_factors[1].grids[0];
    assert_eq!(bright.points[1], GridPoint { label: "severity=3".into(), values: vec![0.3] });
    let names: Vec<String> = crate::suite::expand::expand(&suite).into_iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "demo::det::clean",
            "demo::det::blur",
            "demo::det::blur::gaussian_blur::sigma=0.5",
            "demo::det::blur::gaussian_blur::sigma=1.5",
            "demo::det::lighting",
            "demo::det::lighting::brightness::severity=1",
            "demo::det::lighting::brightness::severity=3",
        ]
    );
}

#[test]
fn environment_overrides_the_backend() {
    let fx = Fixture::new();
    let suite = fx.parse_env(&VALID.replace("seed: 7", "seed: 7\nbackend: tract"), Some("ort")).unwrap();
    assert_eq!(suite.backend, Backend::Ort);
    let err = fx.parse_env(VALID, Some("onnx-magic")).unwrap_err();
    assert!(err.to_string().contains("invalid"), "{err}");
}

#[test]
fn yaml_syntax_error() {
    let fx = Fixture::new();
    let (kind, line, col, _, help) = one(fx.problems(&VALID.replace("square]", "square]]")));
    assert_eq!(kind, K::Syntax);
    assert_eq!((line, col), (7, 30));
    assert!(help.contains("YAML"));
}

#[test]
fn unknown_key() {
    let fx = Fixture::new();
    let (kind, line, col, message, _) = one(fx.problems(&VALID.replace("    family: yolov8", "    familly: yolov8")));
    assert_eq!(kind, K::Schema);
    assert_eq!((line, col), (6, 5));
    assert!(message.contains("unknown field `familly`"), "{message}");
}

#[test]
fn wrong_type() {
    let fx = Fixture::new();
    let (kind, line, _, message, _) = one(fx.problems(&VALID.replace("seed: 7", "seed: lots")));
    assert_eq!(kind, K::Schema);
    assert_eq!(line, 2);
    assert!(message.contains("invalid type"), "{message}");
}

#[test]
fn unknown_perturbation_suggests_the_closest() {
    let fx = Fixture::new();
    let (kind, line, col, message, help) = one(fx.problems(&VALID.replace("gaussian_blur:", "gausian_blur:")));
    assert_eq!(kind, K::UnknownPerturbation);
    assert_eq!((line, col), (18, 7));
    assert!(message.contains("gausian_blur"));
    assert!(help.contains("did you mean `gaussian_blur`?"), "{help}");
}

#[test]
fn unknown_parameter_suggests_the_closest() {
    let fx = Fixture::new();
    let (kind, line, col, _, help) = one(fx.problems(&VALID.replace("sigma: [0.5, 1.5]", "sigmaa: [0.5, 1.5]")));
    assert_eq!(kind, K::UnknownParameter);
    assert_eq!((line, col), (19, 9));
    assert!(help.contains("did you mean `sigma`?"), "{help}");
}

#[test]
fn perturbation_under_the_wrong_factor() {
    let fx = Fixture::new();
    let text =
        VALID.replace("      brightness:\n        severity: [1, 3]", "      gaussian_noise:\n        severity: [1, 3]");
    let (kind, line, _, message, help) = one(fx.problems(&text));
    assert_eq!(kind, K::WrongRiskFactor);
    assert_eq!(line, 22);
    assert!(message.contains("belongs to risk factor `noise`"), "{message}");
    assert!(help.contains("risk_factors.noise"));
}

#[test]
fn unknown_risk_factor() {
    let fx = Fixture::new();
    let (kind, line, col, _, help) = one(fx.problems(&VALID.replace("  lighting:", "  lightning:")));
    assert_eq!(kind, K::UnknownRiskFactor);
    assert_eq!((line, col), (20, 3));
    assert!(help.contains("did you mean `lighting`?"), "{help}");
}

#[test]
fn missing_model_and_dataset_files() {
    let fx = Fixture::new();
    let text =
        VALID.replace("path: model.onnx", "path: nope.onnx").replace("annotations: ann.json", "annotations: gone.json");
    let problems = fx.problems(&text);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_eq!((problems[0].0, problems[0].1, problems[0].2), (K::MissingFile, 5, 11));
    assert!(problems[0].3.contains("nope.onnx"));
    assert!(problems[0].4.contains("relative to the suite file"));
    assert_eq!((problems[1].0, problems[1].1), (K::MissingFile, 9));
}

#[test]
fn out_of_range_values_point_at_the_element() {
    let fx = Fixture::new();
    let text = VALID.replace("sigma: [0.5, 1.5]", "sigma: [0.5, 99]").replace("severity: [1, 3]", "severity: [1, 7]");
    let problems = fx.problems(&text);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_eq!((problems[0].0, problems[0].1, problems[0].2), (K::OutOfRange, 19, 22));
    assert!(problems[0].3.contains("between 0 and 50"), "{}", problems[0].3);
    assert_eq!((problems[1].0, problems[1].1, problems[1].2), (K::OutOfRange, 23, 23));
    let (kind, line, _, _, _) = one(fx.problems(&VALID.replace("risk: 25", "risk: 250")));
    assert_eq!((kind, line), (K::OutOfRange, 25));
}

#[test]
fn unknown_family_and_rule() {
    let fx = Fixture::new();
    let text = VALID.replace("family: yolov8", "family: yolo8").replace("rule: ground_truth", "rule: vibes");
    let problems = fx.problems(&text);
    assert_eq!(problems.iter().map(|p| p.0).collect::<Vec<_>>(), [K::UnknownFamily, K::UnknownImpactRule]);
    assert!(problems[0].4.contains("did you mean `yolov8`?"), "{}", problems[0].4);
}

#[test]
fn every_detector_family_parses_and_preprocess_defaults_to_none() {
    let fx = Fixture::new();
    // Classifiers need a classification suite; VALID is a detection one.
    for &family in Family::NAMES.iter().filter(|&&f| f != "classifier") {
        let suite = fx.parse(&VALID.replace("family: yolov8", &format!("family: {family}"))).unwrap();
        assert_eq!(suite.models[0].family.name(), family);
        assert_eq!(suite.models[0].preprocess, PreprocessSpec::default());
    }
}

#[test]
fn preprocess_overrides_resolve() {
    let fx = Fixture::new();
    let text = VALID.replace(
        "    classes: [circle, square]\n",
        "    classes: [circle, square]\n    preprocess:\n      resize: stretch\n      mean: [0.5, 0.5, 0.5]\n      \
         std: [0.25, 0.25, 0.25]\n      channels: bgr\n      layout: nhwc\n      scale: 1\n",
    );
    let p = fx.parse(&text).unwrap().models[0].preprocess.clone();
    assert_eq!(
        p,
        PreprocessSpec {
            resize: Some(Resize::Stretch),
            mean: Some([0.5; 3]),
            std: Some([0.25; 3]),
            channels: Some(Channels::Bgr),
            layout: Some(Layout::Nhwc),
            scale: Some(1.0),
        }
    );
}

#[test]
fn unknown_family_suggests_the_closest() {
    let fx = Fixture::new();
    let (kind, line, col, message, help) = one(fx.problems(&VALID.replace("family: yolov8", "family: detr-resnet")));
    assert_eq!(kind, K::UnknownFamily);
    assert_eq!((line, col), (6, 13));
    assert!(message.contains("`detr-resnet`"), "{message}");
    assert!(help.contains("did you mean `detr`?") && help.contains("boxes-scores-labels"), "{help}");
    let (_, _, _, _, help) = one(fx.problems(&VALID.replace("family: yolov8", "family: boxes_scores_labels")));
    assert!(help.contains("did you mean `boxes-scores-labels`?"), "{help}");
}

#[test]
fn unknown_preprocess_values_suggest_the_closest() {
    let fx = Fixture::new();
    let with = |block: &str| {
        VALID.replace(
            "    classes: [circle, square]\n",
            &format!("    classes: [circle, square]\n    preprocess:\n{block}"),
        )
    };
    let (kind, line, col, message, help) = one(fx.problems(&with("      resize: letterbx\n")));
    assert_eq!(kind, K::UnknownPreprocessing);
    assert_eq!((line, col), (9, 15));
    assert!(message.contains("unknown preprocess resize `letterbx`"), "{message}");
    assert!(help.contains("did you mean `letterbox`?") && help.contains("stretch"), "{help}");
    let problems = fx.problems(&with("      channels: bgrr\n      layout: nchww\n"));
    assert_eq!(
        problems.iter().map(|p| (p.0, p.1, p.2)).collect::<Vec<_>>(),
        [(K::UnknownPreprocessing, 9, 17), (K::UnknownPreprocessing, 10, 15)]
    );
    assert!(problems[0].4.contains("did you mean `bgr`?"), "{}", problems[0].4);
    assert!(problems[1].4.contains("did you mean `nchw`?"), "{}", problems[1].4);
}

#[test]
fn preprocess_numbers_are_checked() {
    let fx = Fixture::new();
    let with = |block: &str| {
        VALID.replace(
            "    classes: [circle, square]\n",
            &format!("    classes: [circle, square]\n    preprocess:\n{block}"),
        )
    };
    let problems = fx.problems(&with("      std: [0.2, 0, 0.2]\n      scale: -1\n"));
    assert_eq!(
        problems.iter().map(|p| (p.0, p.1, p.2)).collect::<Vec<_>>(),
        [(K::OutOfRange, 9, 18), (K::OutOfRange, 10, 14)]
    );
    assert!(problems[0].3.contains("std must be a positive number"), "{}", problems[0].3);
    // Three values per channel list, and no unknown keys: the schema's errors.
    let (kind, line, _, message, _) = one(fx.problems(&with("      mean: [0.5, 0.5]\n")));
    assert_eq!((kind, line), (K::Schema, 9));
    assert!(message.contains("invalid length 2"), "{message}");
    let (kind, line, col, message, _) = one(fx.problems(&with("      sclae: 255\n")));
    assert_eq!((kind, line, col), (K::Schema, 9, 7));
    assert!(message.contains("unknown field `sclae`"), "{message}");
}

#[test]
fn invalid_and_duplicate_names() {
    let fx = Fixture::new();
    let text = VALID.replace("name: demo", "name: Demo Suite").replace(
        "models:\n",
        "models:\n  - name: det\n    path: model.onnx\n    family: yolov8\n    classes: [circle]\n",
    );
    let kinds: Vec<K> = fx.problems(&text).into_iter().map(|p| p.0).collect();
    assert_eq!(kinds, [K::InvalidName, K::Duplicate]);
}

#[test]
fn an_image_folder_needs_the_consistency_rule() {
    let fx = Fixture::new();
    let folder = VALID.replace("  annotations: ann.json\n", "");
    let problems = fx.problems(&folder);
    assert_eq!(problems.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(), [(K::Inconsistent, 11), (K::Inconsistent, 25)]);
    assert!(problems[0].4.contains("rule: consistency"), "{}", problems[0].4);
    let ok = folder.replace("rule: ground_truth", "rule: consistency").replace("  clean_map50: 0.5\n", "");
    assert!(fx.parse(&ok).unwrap().dataset.annotations.is_none());
}

#[test]
fn classifiers_take_class_folders_and_the_classification_rule() {
    let fx = Fixture::new();
    let classifier = VALID
        .replace("family: yolov8", "family: classifier")
        .replace("  annotations: ann.json\n  images: imgs/*.jpg", "  images: imgs/*/*.png\n  class_folders: true")
        .replace("rule: ground_truth", "rule: classification")
        .replace("clean_map50: 0.5", "clean_top1: 0.9");
    let suite = fx.parse(&classifier).unwrap();
    assert!(suite.dataset.class_folders);
    assert_eq!(suite.impact, ImpactRule::Classification { delta: 0.3 });
    assert_eq!(suite.budgets.clean_top1, 0.9);

    // A classifier under a box rule: pointed at its family, with the fix.
    let problems = fx.problems(&classifier.replace("rule: classification", "rule: consistency"));
    let lines: Vec<(K, usize)> = problems.iter().map(|p| (p.0, p.1)).collect();
    assert_eq!(lines, [(K::Inconsistent, 6), (K::Inconsistent, 10), (K::Inconsistent, 26)], "{problems:?}");
    assert!(problems[0].3.contains("model `det` is a classifier") && problems[0].4.contains("rule: classification"));
    // A detector under the classification rule, on COCO boxes.
    let problems = fx.problems(&VALID.replace("rule: ground_truth", "rule: classification"));
    let lines: Vec<(K, usize)> = problems.iter().map(|p| (p.0, p.1)).collect();
    assert_eq!(lines, [(K::Inconsistent, 6), (K::Inconsistent, 9)], "{problems:?}");
    // Class folders and COCO annotations at once.
    let both = classifier.replace("  class_folders: true", "  class_folders: true\n  annotations: ann.json");
    assert!(fx.problems(&both).iter().any(|p| p.3.contains("choose one")));
}

#[test]
fn ranges_expand_inclusively_and_bad_ranges_point_at_themselves() {
    let fx = Fixture::new();
    let suite = fx.parse(&VALID.replace("sigma: [0.5, 1.5]", "sigma: {from: 0.1, to: 0.5, step: 0.1}")).unwrap();
    let labels: Vec<&str> = suite.risk_factors[0].grids[0].points.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["sigma=0.1", "sigma=0.2", "sigma=0.3", "sigma=0.4", "sigma=0.5"]);
    let severities = fx.parse(&VALID.replace("severity: [1, 3]", "severity: {from: 1, to: 5, step: 2}")).unwrap();
    assert_eq!(severities.risk_factors[1].grids[0].points.len(), 3);
    for (bad, message) in [
        ("{from: 3, to: 1, step: 1}", "runs up"),
        ("{from: 1, to: 3, step: 0}", "must be positive"),
        ("{from: 0, to: 50, step: 0.01}", "at most 100"),
    ] {
        let (kind, line, col, text, help) = one(fx.problems(&VALID.replace("[0.5, 1.5]", bad)));
        assert_eq!((kind, line, col), (K::OutOfRange, 19, 16), "{text}");
        assert!(text.contains(message) && help.contains("step"), "{text}");
    }
}

#[test]
fn search_on_a_factor_or_a_perturbation_adds_breaking_point_cases() {
    let fx = Fixture::new();
    let on_factor = fx.parse(&VALID.replace("    budget: 30\n", "    budget: 30\n    search: true\n")).unwrap();
    let on_perturbation =
        fx.parse(&VALID.replace("sigma: [0.5, 1.5]", "sigma: [0.5, 1.5]\n        search: true")).unwrap();
    for suite in [&on_factor, &on_perturbation] {
        let searches: Vec<String> = expand::expand(suite)
            .into_iter()
            .filter(|c| matches!(c.kind, CaseKind::Search { .. }))
            .map(|c| c.name)
            .collect();
        assert_eq!(searches, ["demo::det::blur::gaussian_blur::breaking_point"]);
        // The grid's parameter, from a little milder than severity 1 (toward no blur) to severity 5.
        let axis = suite.risk_factors[0].grids[0].search_axis().unwrap();
        assert_eq!((axis.param, axis.mild, axis.harsh, axis.integer), (0, 0.0, 6.0, false));
        assert_eq!(axis.step(), 6.0 / 64.0);
    }
    // Harsher is lower for a JPEG quality, which takes whole numbers.
    let jpeg = fx
        .parse(&VALID.replace("  blur:\n", "  image_quality:\n").replace(
            "gaussian_blur:\n        sigma: [0.5, 1.5]",
            "jpeg_compression:\n        quality: 30\n        search: true",
        ))
        .unwrap();
    let axis = jpeg.risk_factors[0].grids[0].search_axis().unwrap();
    assert!(axis.integer && axis.harsh < axis.mild, "{axis:?}");
    assert_eq!(axis.between(30.0, 7.0), 19.0);
    // `search` is a switch, and only a switch; numbers are not.
    let (kind, line, ..) =
        one(fx.problems(&VALID.replace("sigma: [0.5, 1.5]", "sigma: [0.5, 1.5]\n        search: 1")));
    assert_eq!((kind, line), (K::OutOfRange, 20));
    let (kind, ..) = one(fx.problems(&VALID.replace("sigma: [0.5, 1.5]", "sigma: true")));
    assert_eq!(kind, K::OutOfRange);
    // A flip has nothing to search.
    let flip = VALID
        .replace("  blur:\n", "  geometry:\n")
        .replace("gaussian_blur:\n        sigma: [0.5, 1.5]", "horizontal_flip:\n        search: true");
    let (kind, ..) = one(fx.problems(&flip));
    assert_eq!(kind, K::Inconsistent);
}

#[test]
fn severity_and_parameters_do_not_mix() {
    let fx = Fixture::new();
    let (kind, ..) = one(fx.problems(&VALID.replace("sigma: [0.5, 1.5]", "sigma: 1\n        severity: 2")));
    assert_eq!(kind, K::Inconsistent);
}

#[test]
fn diagnostics_render_with_file_line_and_hint() {
    let fx = Fixture::new();
    let err = fx.parse(&VALID.replace("gaussian_blur:", "gausian_blur:")).unwrap_err();
    let text = crate::errors::render(&err);
    assert!(text.contains("demo.yaml:18:7"), "{text}");
    assert!(text.contains("did you mean `gaussian_blur`?"), "{text}");
}

#[test]
fn arbitrary_garbage_never_panics() {
    let fx = Fixture::new();
    for text in [
        "",
        "]",
        "name: [",
        "- 1\n- 2",
        "name: x\nmodels: 3",
        "risk_factors: {blur: {perturbations: {gaussian_blur: {sigma: []}}}}",
        "\t\u{0}",
    ] {
        assert!(fx.parse(text).is_err(), "{text:?}");
    }
}

#[test]
fn committed_schema_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("schemas/suite.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let current = json_schema();
    if committed != current {
        if std::env::var_os("SHAKEDOWN_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, current).unwrap();
        } else {
            panic!(
                "schemas/suite.schema.json is stale: run `cargo run -- schema > schemas/suite.schema.json` \
                 (or this test with SHAKEDOWN_UPDATE_SCHEMA=1) and commit it"
            );
        }
    }
}

#[test]
fn shipped_suites_point_editors_at_the_schema_and_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    let files = crate::harness::suite_files(&dir).unwrap();
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/suite.schema.json"),
            "{} lacks the schema comment",
            file.display()
        );
        parse(&file, text, None).unwrap_or_else(|e| panic!("{}", crate::errors::render(&e)));
    }
}

/// One rendered diagnostic per kind of problem, as the terminal shows it (`src/suite/snapshots/`).
#[test]
fn every_error_kind_renders() {
    let fx = Fixture::new();
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let preprocess = |block: &str| {
        VALID.replace(
            "    classes: [circle, square]\n",
            &format!("    classes: [circle, square]\n    preprocess:\n{block}"),
        )
    };
    let cases: Vec<(K, String)> = vec![
        (K::Syntax, VALID.replace("square]", "square]]")),
        (K::Schema, VALID.replace("    family: yolov8", "    familly: yolov8")),
        (K::UnknownPerturbation, VALID.replace("gaussian_blur:", "gausian_blur:")),
        (K::UnknownParameter, VALID.replace("sigma: [0.5, 1.5]", "sigmaa: [0.5, 1.5]")),
        (K::UnknownRiskFactor, VALID.replace("  lighting:", "  lightning:")),
        (K::WrongRiskFactor, VALID.replace("      brightness:", "      gaussian_noise:")),
        (K::UnknownFamily, VALID.replace("family: yolov8", "family: yolo8")),
        (K::UnknownPreprocessing, preprocess("      resize: letterbx\n")),
        (K::UnknownBackend, VALID.replace("seed: 7", "seed: 7\nbackend: onnx")),
        (K::UnknownImpactRule, VALID.replace("rule: ground_truth", "rule: vibes")),
        (K::MissingFile, VALID.replace("path: model.onnx", "path: nope.onnx")),
        (K::OutOfRange, VALID.replace("sigma: [0.5, 1.5]", "sigma: [0.5, 99]")),
        (K::InvalidName, VALID.replace("name: demo", "name: Demo Suite")),
        (K::Duplicate, VALID.replace("seed: 7", "seed: 7\nseed: 8")),
        (K::Inconsistent, VALID.replace("sigma: [0.5, 1.5]", "sigma: []")),
        (K::TooLarge, format!("{VALID}# {}\n", "padding ".repeat(140_000))),
        (K::TooDeep, format!("{VALID}{deep}: 1\n")),
        (
            K::UnknownSplit,
            VALID.replace("  annotations: ann.json\n  images: imgs/*.jpg\n", "  yolo: data.yaml\n  split: vall\n"),
        ),
    ];
    std::fs::write(fx.dir.path().join("data.yaml"), "val: images\nnames: [circle]\n").unwrap();
    let dir = fx.dir.path().display().to_string();
    for (kind, text) in cases {
        let Err(Error::Suite(mut invalid)) = fx.parse(&text) else { panic!("{kind:?} should be invalid") };
        assert_eq!(invalid.kinds(), [kind], "{:#?}", invalid.errors);
        // The temporary folder differs every run: show it as the folder a user would see.
        invalid.path = PathBuf::from("demo.yaml");
        for e in &mut invalid.errors {
            let source = e.source_code.inner().clone();
            e.source_code = miette::NamedSource::new("demo.yaml", source);
            e.message = e.message.replace(&dir, "suites");
            e.help = e.help.as_ref().map(|h| h.replace(&dir, "suites"));
        }
        let name = format!("{kind:?}").chars().fold(String::new(), |mut s, c| {
            if c.is_uppercase() && !s.is_empty() {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
            s
        });
        insta::assert_snapshot!(name, crate::errors::render(&Error::Suite(invalid)));
    }
}

#[test]
fn yolo_datasets_name_a_data_yaml_and_a_split() {
    let fx = Fixture::new();
    std::fs::write(fx.dir.path().join("data.yaml"), "val: images\nnames: [circle, square]\n").unwrap();
    let coco = "  annotations: ann.json\n  images: imgs/*.jpg\n";
    let yolo = VALID.replace(coco, "  yolo: data.yaml\n");
    let spec = fx.parse(&yolo).unwrap().dataset;
    let data = fx.dir.path().join("data.yaml");
    assert_eq!(spec.yolo, Some(YoloSpec { data: data.clone(), split: Split::Val }));
    assert!(spec.annotations.is_none() && !spec.class_folders);
    let test = fx.parse(&VALID.replace(coco, "  yolo: data.yaml\n  split: test\n  limit: 5\n")).unwrap().dataset;
    assert_eq!((test.yolo, test.limit), (Some(YoloSpec { data, split: Split::Test }), Some(5)));
}

#[test]
fn yolo_misuse_points_at_the_key() {
    let fx = Fixture::new();
    std::fs::write(fx.dir.path().join("data.yaml"), "val: images\nnames: [circle]\n").unwrap();
    let coco = "  annotations: ann.json\n  images: imgs/*.jpg\n";
    // Beside COCO annotations and a glob: each pointed at, with the way out.
    let problems = fx.problems(&VALID.replace(coco, &format!("{coco}  yolo: data.yaml\n")));
    let at: Vec<(K, usize, usize)> = problems.iter().map(|p| (p.0, p.1, p.2)).collect();
    assert_eq!(at, [(K::Inconsistent, 9, 16), (K::Inconsistent, 10, 11)], "{problems:?}");
    assert!(problems.iter().all(|p| p.3.contains("choose one") && p.4.contains("limit")), "{problems:?}");
    // An unknown split, with the closest; a split without `yolo`.
    let (kind, line, col, message, help) = one(fx.problems(&VALID.replace(coco, "  yolo: data.yaml\n  split: vall\n")));
    assert_eq!((kind, line, col, message.as_str()), (K::UnknownSplit, 10, 10, "unknown split `vall`"));
    assert!(help.contains("did you mean `val`?"), "{help}");
    let (kind, line, col, message, help) = one(fx.problems(&VALID.replace(coco, &format!("{coco}  split: val\n"))));
    assert_eq!((kind, line, col), (K::Inconsistent, 11, 10));
    assert!(message.contains("no `yolo`") && help.contains("yolo: <data.yaml>"), "{message} / {help}");
    // A data.yaml that does not exist.
    let (kind, line, col, message, _) = one(fx.problems(&VALID.replace(coco, "  yolo: missing.yaml\n")));
    assert_eq!((kind, line, col), (K::MissingFile, 9, 9));
    assert!(message.contains("YOLO data file"), "{message}");
    // Neither images nor a data.yaml: at the dataset.
    let problems = fx.problems(&VALID.replace(coco, "  limit: 3\n"));
    let dataset = problems.iter().find(|p| p.3.contains("needs `images`")).expect("a problem at the dataset");
    assert_eq!((dataset.0, dataset.1, dataset.2), (K::Inconsistent, 9, 3), "{problems:?}");
    assert!(dataset.4.contains("yolo:"), "{dataset:?}");
    // YOLO boxes under the classification rule.
    let classifying = VALID.replace(coco, "  yolo: data.yaml\n").replace("rule: ground_truth", "rule: classification");
    let problems = fx.problems(&classifying);
    assert!(problems.iter().any(|p| p.1 == 9 && p.3.contains("YOLO labels give boxes")), "{problems:?}");
}

/// An ultralytics export says its classes and task: a suite may leave `family` and `classes`
/// out, and is told when it contradicts them.
#[test]
fn export_metadata_fills_in_family_and_classes() {
    let fx = Fixture::new();
    let names = "{0: 'circle', 1: 'square'}";
    let detect = crate::onnx::envelope(&[("names", names), ("task", "detect"), ("imgsz", "[64, 64]")]);
    std::fs::write(fx.dir.path().join("model.onnx"), detect).unwrap();
    let bare = VALID.replace("    family: yolov8\n    classes: [circle, square]\n", "");
    let suite = fx.parse(&bare).unwrap_or_else(|e| panic!("{}", crate::errors::render(&e)));
    assert_eq!(suite.models[0].family, Family::Yolov8);
    assert_eq!(suite.models[0].classes, ["circle", "square"]);

    // Another class count than the export names.
    let (kind, line, _, message, help) = one(fx.problems(&VALID.replace("[circle, square]", "[circle, square, star]")));
    assert_eq!((kind, line), (K::Inconsistent, 7), "{message}");
    assert!(message.contains("lists 3 classes, but the export names 2") && help.contains("circle, square"), "{help}");
    // Renamed classes of the same count are allowed (to match the dataset's names).
    assert!(fx.parse(&VALID.replace("[circle, square]", "[round, square]")).is_ok());

    // The other task than the export's.
    let classify = crate::onnx::envelope(&[("names", names), ("task", "classify")]);
    std::fs::write(fx.dir.path().join("model.onnx"), classify).unwrap();
    let (kind, line, _, message, _) = one(fx.problems(VALID));
    assert_eq!((kind, line), (K::Inconsistent, 6), "{message}");
    assert!(message.contains("exported for task `classify`, but the suite says family `yolov8`"), "{message}");

    // A file without metadata: the suite must say both.
    std::fs::write(fx.dir.path().join("model.onnx"), b"x").unwrap();
    let problems = fx.problems(&bare);
    let messages: Vec<&str> = problems.iter().map(|p| p.3.as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("needs a `family`")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("needs its class names")), "{messages:?}");
}

#[test]
fn class_names_from_a_file() {
    let fx = Fixture::new();
    std::fs::write(fx.dir.path().join("names.txt"), "circle\n  square \n\n").unwrap();
    let from_file = VALID.replace("classes: [circle, square]", "classes_file: names.txt");
    assert_eq!(fx.parse(&from_file).unwrap().models[0].classes, ["circle", "square"]);

    let missing = VALID.replace("classes: [circle, square]", "classes_file: nope.txt");
    let (kind, line, col, message, _) = one(fx.problems(&missing));
    assert_eq!((kind, line, col), (K::MissingFile, 7, 19), "{message}");
    assert!(message.contains("classes file") && message.contains("nope.txt"), "{message}");

    let both = VALID.replace("classes: [circle, square]", "classes: [a, b]\n    classes_file: names.txt");
    let (kind, line, _, message, _) = one(fx.problems(&both));
    assert_eq!((kind, line), (K::Inconsistent, 7), "{message}");
    assert!(message.contains("not both"), "{message}");
}
