//! The one COCO json module: annotation files (datasets, `predict --gt`, `eval --gt`) and
//! results files (`predict --json`, `eval --dt`), read with diagnostics that point into the file.

use std::path::Path;

use miette::{NamedSource, SourceSpan};
use serde::Deserialize;

use crate::errors::{CocoJsonError, SyntaxError};

impl CocoJsonError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_owned(), source }
    }
}

/// An annotation file: images, boxes and categories. Keys that a use does not need may be
/// absent (evaluation needs no `file_name`, a folder of images no `annotations`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CocoFile {
    pub images: Vec<CocoImage>,
    #[serde(default)]
    pub annotations: Vec<CocoAnnotation>,
    pub categories: Vec<CocoCategory>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CocoImage {
    pub id: u64,
    #[serde(default)]
    pub file_name: String,
}

/// One labelled box, `[x, y, w, h]`. A missing `area` is the box's w·h, a missing `iscrowd` 0.
#[derive(Debug, Clone, PartialEq)]
pub struct CocoAnnotation {
    pub image_id: u64,
    pub category_id: u64,
    pub bbox: [f64; 4],
    pub area: f64,
    pub iscrowd: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CocoCategory {
    pub id: u64,
    #[serde(default)]
    pub name: String,
}

/// One detection of a results file, `[x, y, w, h]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CocoResult {
    pub image_id: u64,
    pub category_id: u64,
    pub bbox: [f64; 4],
    pub score: f64,
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
struct RawResult {
    image_id: u64,
    category_id: u64,
    bbox: Vec<f64>,
    score: f64,
}

impl<'de> Deserialize<'de> for CocoAnnotation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let a = RawAnnotation::deserialize(d)?;
        let bbox: [f64; 4] = a.bbox.as_slice().try_into().map_err(|_| {
            serde::de::Error::custom(format!("bbox must have 4 numbers [x, y, w, h], got {}", a.bbox.len()))
        })?;
        Ok(Self {
            image_id: a.image_id,
            category_id: a.category_id,
            bbox,
            area: a.area.unwrap_or(bbox[2] * bbox[3]),
            iscrowd: a.iscrowd != 0,
        })
    }
}

const GT_HELP: &str = "a COCO annotation file is an object with `images` ([{id, file_name}]), `categories` \
                       ([{id, name}]) and `annotations` ([{image_id, category_id, bbox: [x, y, w, h], area?, \
                       iscrowd?}])";
const DT_HELP: &str = "a COCO results file is a list of {image_id, category_id, bbox: [x, y, w, h], score}";

/// Reads an annotation file.
pub fn read_annotations(path: &Path) -> Result<CocoFile, CocoJsonError> {
    parse_annotations(path, &read_text(path, "annotation")?)
}

/// A file's text; one that is not text at all (an ONNX file named as annotations) says so.
fn read_text(path: &Path, what: &'static str) -> Result<String, CocoJsonError> {
    let bytes = std::fs::read(path).map_err(|e| CocoJsonError::io(path, e))?;
    String::from_utf8(bytes).map_err(|_| CocoJsonError::Entry {
        path: path.to_owned(),
        entry: "the whole file".into(),
        message: format!("it is not text, so not a COCO {what} file (JSON)"),
        help: Some("point at the COCO json file; models and images go elsewhere in the suite".into()),
    })
}

/// Reads a results file.
pub fn read_results(path: &Path) -> Result<Vec<CocoResult>, CocoJsonError> {
    parse_results(path, &read_text(path, "results")?)
}

/// Parses an annotation file's text; `path` names it in errors.
pub fn parse_annotations(path: &Path, text: &str) -> Result<CocoFile, CocoJsonError> {
    serde_json::from_str(text).map_err(|e| syntax(path, "annotation", text, &e, GT_HELP))
}

/// Parses a results file's text; `path` names it in errors.
pub fn parse_results(path: &Path, text: &str) -> Result<Vec<CocoResult>, CocoJsonError> {
    let raw: Vec<RawResult> = serde_json::from_str(text).map_err(|e| syntax(path, "results", text, &e, DT_HELP))?;
    raw.into_iter()
        .enumerate()
        .map(|(k, d)| {
            let bbox = d.bbox.as_slice().try_into().map_err(|_| CocoJsonError::Entry {
                path: path.to_owned(),
                entry: format!("detections[{k}]"),
                message: format!("bbox must have 4 numbers [x, y, w, h], got {}", d.bbox.len()),
                help: None,
            })?;
            Ok(CocoResult { image_id: d.image_id, category_id: d.category_id, bbox, score: d.score })
        })
        .collect()
}

impl CocoFile {
    /// Every annotation names a listed image and category and has a valid box; the first that
    /// does not is the error, naming its entry.
    pub fn check_references(&self, path: &Path) -> Result<(), CocoJsonError> {
        let images: std::collections::HashSet<u64> = self.images.iter().map(|i| i.id).collect();
        let categories: std::collections::HashSet<u64> = self.categories.iter().map(|c| c.id).collect();
        let entry = |k: usize, message: String| CocoJsonError::Entry {
            path: path.to_owned(),
            entry: format!("annotations[{k}]"),
            message,
            help: None,
        };
        for (k, a) in self.annotations.iter().enumerate() {
            if !images.contains(&a.image_id) {
                return Err(entry(k, format!("refers to image_id {}, which is not in `images`", a.image_id)));
            }
            if !categories.contains(&a.category_id) {
                return Err(entry(k, format!("refers to category_id {}, which is not in `categories`", a.category_id)));
            }
            if a.bbox.iter().any(|v| !v.is_finite()) || a.bbox[2] < 0.0 || a.bbox[3] < 0.0 {
                return Err(entry(k, format!("has an invalid bbox {:?} (expected [x, y, w, h], w, h ≥ 0)", a.bbox)));
            }
        }
        Ok(())
    }

    /// The id of the image whose `file_name` ends `image`, component-wise; the longest such
    /// name wins (`val/a.jpg` over `a.jpg`).
    pub fn image_id_of(&self, image: &Path) -> Option<u64> {
        self.images
            .iter()
            .filter(|i| !i.file_name.is_empty() && image.ends_with(&i.file_name))
            .max_by_key(|i| Path::new(&i.file_name).components().count())
            .map(|i| i.id)
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
pub(crate) mod tests {
    use super::*;

    /// A small annotation file: optional `area`, `iscrowd` and `file_name`, one crowd box.
    pub(crate) const GT: &str = r#"{
  "images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2}],
  "categories": [{"id": 7, "name": "cat"}],
  "annotations": [
    {"id": 1, "image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 20]},
    {"id": 2, "image_id": 2, "category_id": 7, "bbox": [5, 5, 10, 10], "area": 50.5, "iscrowd": 1}
  ]
}"#;

    #[test]
    fn optional_area_and_iscrowd() {
        let gt = parse_annotations(Path::new("gt.json"), GT).unwrap();
        assert_eq!(gt.images.iter().map(|i| i.id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(gt.categories.iter().map(|c| c.id).collect::<Vec<_>>(), [7]);
        assert_eq!(gt.annotations[0].area, 200.0);
        assert!(!gt.annotations[0].iscrowd);
        assert_eq!(gt.annotations[1].area, 50.5);
        assert!(gt.annotations[1].iscrowd);
    }

    #[test]
    fn short_bbox_names_the_entry() {
        let text = r#"[{"image_id": 1, "category_id": 7, "bbox": [0, 0, 1, 1], "score": 0.9},
                       {"image_id": 1, "category_id": 7, "bbox": [0, 0, 1], "score": 0.9}]"#;
        let e = parse_results(Path::new("dets.json"), text).unwrap_err();
        assert_eq!(e.to_string(), "dets.json: detections[1]: bbox must have 4 numbers [x, y, w, h], got 3");
    }

    #[test]
    fn syntax_error_points_into_the_file() {
        let text = "[{\"image_id\": 1, \"category_id\": 7,\n \"bbox\": [0, 0, 1, 1], \"score\": \"high\"}]";
        let e = parse_results(Path::new("dets.json"), text).unwrap_err();
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
        let e = parse_results(Path::new("dets.json"), &text).unwrap_err();
        assert!(e.to_string().contains("missing field `score`"), "{e}");
        let rendered = crate::errors::render(&e);
        assert!(rendered.len() < 2000, "{rendered}");
    }

    #[test]
    fn missing_gt_field_is_a_syntax_error() {
        let e = parse_annotations(Path::new("gt.json"), r#"{"images": [], "annotations": []}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `categories`"), "{e}");
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let e = read_results(Path::new("/nonexistent/dets.json")).unwrap_err();
        assert!(matches!(e, CocoJsonError::Io { .. }), "{e:?}");
    }
}
