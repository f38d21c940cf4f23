//! COCO json files (ground truth and detection results) read into [`coco_eval`](super::coco_eval) inputs.

use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;
use thiserror::Error;

use super::coco_eval::{self, CocoEvalError, CocoStats, Detection, EvalInput, GroundTruth};

/// A ground-truth or results file that cannot be evaluated.
#[derive(Debug, Error, Diagnostic)]
pub enum CocoJsonError {
    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(code(shakedown::eval::io))]
    Io { path: PathBuf, source: std::io::Error },
    /// Not JSON, or JSON of the wrong shape; points at the place serde_json stopped.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(Box<SyntaxError>),
    /// Well-formed JSON with one bad entry, e.g. `detections[17]: bbox must have 4 numbers`.
    #[error("{}: {entry}: {message}", path.display())]
    #[diagnostic(code(shakedown::eval::entry))]
    Entry {
        path: PathBuf,
        /// `annotations[3]`, `detections[17]`.
        entry: String,
        message: String,
        #[help]
        help: Option<String>,
    },
}

/// Not JSON, or JSON of the wrong shape, with the file (or a window of a long line) as source.
#[derive(Debug, Error, Diagnostic)]
#[error("{} is not a valid COCO {what} file: {message}", path.display())]
#[diagnostic(code(shakedown::eval::syntax))]
pub struct SyntaxError {
    pub path: PathBuf,
    pub what: &'static str,
    pub message: String,
    #[source_code]
    pub source_code: NamedSource<String>,
    #[label("here")]
    pub span: SourceSpan,
    #[help]
    pub help: &'static str,
}

impl CocoJsonError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_owned(), source }
    }
}

/// A COCO ground-truth file, as evaluated: images and categories as ids.
#[derive(Debug, Clone, PartialEq)]
pub struct CocoGroundTruth {
    pub image_ids: Vec<u64>,
    pub category_ids: Vec<u64>,
    pub annotations: Vec<GroundTruth>,
}

#[derive(Deserialize)]
struct RawGt {
    images: Vec<RawId>,
    annotations: Vec<RawAnnotation>,
    categories: Vec<RawId>,
}

#[derive(Deserialize)]
struct RawId {
    id: u64,
}

#[derive(Deserialize)]
struct RawAnnotation {
    image_id: u64,
    category_id: u64,
    bbox: Vec<f64>,
    area: Option<f64>,
    #[serde(default)]
    iscrowd: u8,
}

#[derive(Deserialize)]
struct RawDetection {
    image_id: u64,
    category_id: u64,
    bbox: Vec<f64>,
    score: f64,
}

const GT_HELP: &str = "a COCO ground-truth file is an object with `images` ([{id}]), `categories` ([{id}]) and \
                       `annotations` ([{image_id, category_id, bbox: [x, y, w, h], area?, iscrowd?}])";
const DT_HELP: &str = "a COCO results file is a list of {image_id, category_id, bbox: [x, y, w, h], score}";

/// Reads a ground-truth file. A missing `area` is the box's w·h, a missing `iscrowd` is 0.
pub fn load_ground_truth(path: &Path) -> Result<CocoGroundTruth, CocoJsonError> {
    let text = std::fs::read_to_string(path).map_err(|e| CocoJsonError::io(path, e))?;
    parse_ground_truth(path, &text)
}

/// Reads a results file.
pub fn load_detections(path: &Path) -> Result<Vec<Detection>, CocoJsonError> {
    let text = std::fs::read_to_string(path).map_err(|e| CocoJsonError::io(path, e))?;
    parse_detections(path, &text)
}

/// Parses a ground-truth file's text; `path` names it in errors.
pub fn parse_ground_truth(path: &Path, text: &str) -> Result<CocoGroundTruth, CocoJsonError> {
    let raw: RawGt = serde_json::from_str(text).map_err(|e| syntax(path, "ground-truth", text, &e, GT_HELP))?;
    let annotations = raw
        .annotations
        .into_iter()
        .enumerate()
        .map(|(k, a)| {
            let bbox = bbox4(&a.bbox).ok_or_else(|| bad_bbox(path, "annotations", k, &a.bbox))?;
            Ok(GroundTruth {
                image_id: a.image_id,
                category_id: a.category_id,
                bbox,
                area: a.area.unwrap_or(bbox[2] * bbox[3]),
                iscrowd: a.iscrowd != 0,
            })
        })
        .collect::<Result<_, CocoJsonError>>()?;
    Ok(CocoGroundTruth {
        image_ids: raw.images.iter().map(|i| i.id).collect(),
        category_ids: raw.categories.iter().map(|c| c.id).collect(),
        annotations,
    })
}

/// Parses a results file's text; `path` names it in errors.
pub fn parse_detections(path: &Path, text: &str) -> Result<Vec<Detection>, CocoJsonError> {
    let raw: Vec<RawDetection> = serde_json::from_str(text).map_err(|e| syntax(path, "results", text, &e, DT_HELP))?;
    raw.into_iter()
        .enumerate()
        .map(|(k, d)| {
            let bbox = bbox4(&d.bbox).ok_or_else(|| bad_bbox(path, "detections", k, &d.bbox))?;
            Ok(Detection { image_id: d.image_id, category_id: d.category_id, bbox, score: d.score })
        })
        .collect()
}

/// Evaluates a results file against a ground-truth file, as pycocotools' `COCOeval(gt, dt, 'bbox')`.
/// The two files are read in parallel.
pub fn eval_files(gt: &Path, dt: &Path) -> Result<CocoStats, CocoJsonError> {
    let (truth, detections) = rayon::join(|| load_ground_truth(gt), || load_detections(dt));
    let (truth, detections) = (truth?, detections?);
    evaluate(&truth, &detections, dt)
}

/// Evaluates loaded files; `dt_path` names the results file in errors.
pub fn evaluate(truth: &CocoGroundTruth, detections: &[Detection], dt_path: &Path) -> Result<CocoStats, CocoJsonError> {
    let input = EvalInput {
        image_ids: &truth.image_ids,
        category_ids: &truth.category_ids,
        ground_truth: &truth.annotations,
        detections,
    };
    coco_eval::evaluate(&input).map_err(|e| match e {
        CocoEvalError::UnknownImage { image_id, index } => CocoJsonError::Entry {
            path: dt_path.to_owned(),
            entry: format!("detections[{index}]"),
            message: format!("image_id {image_id} is not among the ground truth's `images`"),
            help: Some("evaluate against the ground-truth file the detections were made for".into()),
        },
    })
}

fn bbox4(v: &[f64]) -> Option<[f64; 4]> {
    v.try_into().ok()
}

fn bad_bbox(path: &Path, list: &str, k: usize, v: &[f64]) -> CocoJsonError {
    CocoJsonError::Entry {
        path: path.to_owned(),
        entry: format!("{list}[{k}]"),
        message: format!("bbox must have 4 numbers [x, y, w, h], got {}", v.len()),
        help: None,
    }
}

/// Lines longer than this are shown as a window around the error (results files are often one line).
const MAX_LINE: usize = 240;
const WINDOW: usize = 80;

fn syntax(path: &Path, what: &'static str, text: &str, e: &serde_json::Error, help: &'static str) -> CocoJsonError {
    let line_start: usize = text.split_inclusive('\n').take(e.line().saturating_sub(1)).map(str::len).sum();
    let offset = (line_start + e.column().saturating_sub(1)).min(text.len());
    let line_end = text[line_start..].find('\n').map_or(text.len(), |n| line_start + n);
    let name = path.display().to_string();
    let (source, span) = if line_end - line_start <= MAX_LINE {
        (NamedSource::new(name, text.to_owned()), SourceSpan::from((offset, 1)))
    } else {
        let lo = floor_char(text, offset.saturating_sub(WINDOW).max(line_start));
        let hi = floor_char(text, (offset + WINDOW).min(line_end));
        (NamedSource::new(name, text[lo..hi].to_owned()), SourceSpan::from((offset - lo, 1)))
    };
    CocoJsonError::Syntax(Box::new(SyntaxError {
        path: path.to_owned(),
        what,
        message: e.to_string(),
        source_code: source,
        span,
        help,
    }))
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    const GT: &str = r#"{
  "images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2}],
  "categories": [{"id": 7, "name": "cat"}],
  "annotations": [
    {"id": 1, "image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 20]},
    {"id": 2, "image_id": 2, "category_id": 7, "bbox": [5, 5, 10, 10], "area": 50.5, "iscrowd": 1}
  ]
}"#;

    #[test]
    fn optional_area_and_iscrowd() {
        let gt = parse_ground_truth(Path::new("gt.json"), GT).unwrap();
        assert_eq!(gt.image_ids, [1, 2]);
        assert_eq!(gt.category_ids, [7]);
        assert_eq!(gt.annotations[0].area, 200.0);
        assert!(!gt.annotations[0].iscrowd);
        assert_eq!(gt.annotations[1].area, 50.5);
        assert!(gt.annotations[1].iscrowd);
    }

    #[test]
    fn perfect_detection_from_files() {
        let gt = file(GT);
        let dt = file(r#"[{"image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 20], "score": 0.9}]"#);
        let stats = eval_files(gt.path(), dt.path()).unwrap();
        assert!((stats.stats[0] - 1.0).abs() < 1e-12, "{:?}", stats.stats);
        assert_eq!(stats.per_category.len(), 1);
        assert_eq!(stats.per_category[0].category_id, 7);
    }

    #[test]
    fn short_bbox_names_the_entry() {
        let text = r#"[{"image_id": 1, "category_id": 7, "bbox": [0, 0, 1, 1], "score": 0.9},
                       {"image_id": 1, "category_id": 7, "bbox": [0, 0, 1], "score": 0.9}]"#;
        let e = parse_detections(Path::new("dets.json"), text).unwrap_err();
        assert_eq!(e.to_string(), "dets.json: detections[1]: bbox must have 4 numbers [x, y, w, h], got 3");
    }

    #[test]
    fn syntax_error_points_into_the_file() {
        let text = "[{\"image_id\": 1, \"category_id\": 7,\n \"bbox\": [0, 0, 1, 1], \"score\": \"high\"}]";
        let e = parse_detections(Path::new("dets.json"), text).unwrap_err();
        let CocoJsonError::Syntax(ref syntax) = e else { panic!("{e:?}") };
        let span = syntax.span;
        assert!(e.to_string().starts_with("dets.json is not a valid COCO results file: invalid type"), "{e}");
        assert!(e.to_string().contains("line 2"), "{e}");
        let high = text.find("\"high\"").unwrap();
        assert!((high..=high + 6).contains(&span.offset()), "{span:?}");
        let rendered = crate::errors::render(&e);
        assert!(rendered.contains("dets.json:2:"), "{rendered}");
    }

    #[test]
    fn syntax_error_on_a_long_line_shows_a_window() {
        let mut text = String::from("[");
        for _ in 0..1000 {
            text.push_str(r#"{"image_id": 1, "category_id": 7, "bbox": [0, 0, 1, 1], "score": 0.9},"#);
        }
        text.push_str(r#"{"image_id": 1, "category_id": 7, "bbox": [0, 0, 1, 1]}]"#);
        let e = parse_detections(Path::new("dets.json"), &text).unwrap_err();
        assert!(e.to_string().contains("missing field `score`"), "{e}");
        let rendered = crate::errors::render(&e);
        assert!(rendered.len() < 2000, "{rendered}");
    }

    #[test]
    fn missing_gt_field_is_a_syntax_error() {
        let e = parse_ground_truth(Path::new("gt.json"), r#"{"images": [], "annotations": []}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `categories`"), "{e}");
    }

    #[test]
    fn unknown_image_names_the_results_file() {
        let gt = file(GT);
        let dt = file(
            r#"[{"image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 20], "score": 0.9},
                {"image_id": 3, "category_id": 7, "bbox": [0, 0, 10, 20], "score": 0.9}]"#,
        );
        let e = eval_files(gt.path(), dt.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}: detections[1]: image_id 3 is not among the ground truth's `images`", dt.path().display())
        );
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let e = load_detections(Path::new("/nonexistent/dets.json")).unwrap_err();
        assert!(matches!(e, CocoJsonError::Io { .. }), "{e:?}");
    }

    #[derive(Deserialize)]
    struct Fixture {
        gt: serde_json::Value,
        dt: serde_json::Value,
        stats: [f64; 12],
        per_category: std::collections::HashMap<String, f64>,
        summary: Vec<String>,
    }

    /// Fixtures written by scripts/make_cocoeval_fixtures.py from pycocotools 2.0.11 (a perfect
    /// case and a crowded one), evaluated through files.
    #[test]
    fn eval_files_matches_pycocotools_fixtures() {
        for case in ["case_00.json", "case_05.json"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cocoeval").join(case);
            let f: Fixture = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let gt = file(&f.gt.to_string());
            let dt = file(&f.dt.to_string());
            let got = eval_files(gt.path(), dt.path()).unwrap();
            for (i, (&g, &w)) in got.stats.iter().zip(&f.stats).enumerate() {
                assert!((g - w).abs() <= 1e-6, "{case}: {} = {g}, pycocotools {w}", coco_eval::STAT_NAMES[i]);
            }
            assert_eq!(coco_eval::summary_lines(&got.stats), f.summary, "{case}");
            assert_eq!(got.per_category.len(), f.per_category.len(), "{case}");
            for c in &got.per_category {
                let w = f.per_category[&c.category_id.to_string()];
                assert!((c.ap - w).abs() <= 1e-6, "{case}: category {}: {} vs {w}", c.category_id, c.ap);
            }
        }
    }

    /// Load/evaluate split for benches/cocoeval/bench.py --split:
    /// `SHAKEDOWN_BENCH_GT=.. SHAKEDOWN_BENCH_DT=.. cargo test --lib time_eval_files -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing for benches/cocoeval; needs SHAKEDOWN_BENCH_GT and SHAKEDOWN_BENCH_DT"]
    fn time_eval_files() {
        let (Some(gt), Some(dt)) = (std::env::var_os("SHAKEDOWN_BENCH_GT"), std::env::var_os("SHAKEDOWN_BENCH_DT"))
        else {
            panic!("set SHAKEDOWN_BENCH_GT and SHAKEDOWN_BENCH_DT");
        };
        let (gt, dt) = (Path::new(&gt), Path::new(&dt));
        let start = std::time::Instant::now();
        let (truth, detections) = rayon::join(|| load_ground_truth(gt), || load_detections(dt));
        let (truth, detections) = (truth.unwrap(), detections.unwrap());
        let loaded = start.elapsed().as_secs_f64();
        let start = std::time::Instant::now();
        evaluate(&truth, &detections, dt).unwrap();
        let evaluated = start.elapsed().as_secs_f64();
        println!("TIMING {}", serde_json::json!({ "load_s": loaded, "eval_s": evaluated }));
    }
}
