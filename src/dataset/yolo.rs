//! YOLO (ultralytics) datasets: a data.yaml naming the classes and each split's images, and one
//! label text file per image (`cls cx cy w h`, normalised, or a segment polygon).
//!
//! The rules mirror ultralytics so that a dataset trained on there is read the same here:
//! `check_det_dataset` (keys, `path`, split entries), `BaseDataset.get_img_files` (folders and
//! `.txt` lists, sorted), `img2label_paths` (`/images/` → `/labels/`, extension → `.txt`) and
//! `verify_image_label` (missing or empty label file: no objects; polygons become their boxes;
//! coordinates within 1% of the image; duplicate rows dropped). Where ultralytics resolves a
//! relative path against the working directory, shakedown resolves it against the data.yaml's
//! folder (or `path`), so a suite means the same wherever it runs.

use std::fmt;
use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};
use rayon::prelude::*;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{Annotation, Category, ImageRecord};
use crate::errors::{DatasetError, YoloFileError};
use crate::suite::yaml::{self, At};
use crate::suite::YoloSpec;
use crate::vocab::Split;

/// ultralytics' `IMG_FORMATS`: files of other extensions in a split folder are not images.
const IMG_FORMATS: &[&str] =
    &["avif", "bmp", "dng", "heic", "heif", "jp2", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp"];

/// The keys of a data.yaml that shakedown reads; the others (`download`, `kpt_shape`, …) are
/// left alone, as ultralytics leaves keys it does not need.
#[derive(Debug, Deserialize)]
struct DataYaml {
    #[serde(default)]
    path: Option<At<String>>,
    #[serde(default)]
    train: Option<At<Entries>>,
    #[serde(default)]
    val: Option<At<Entries>>,
    /// ultralytics renames `validation` to `val`.
    #[serde(default)]
    validation: Option<At<Entries>>,
    #[serde(default)]
    test: Option<At<Entries>>,
    #[serde(default)]
    names: Option<At<Names>>,
    #[serde(default)]
    nc: Option<At<f64>>,
}

/// A split: one folder or `.txt` list, or a list of them.
#[derive(Debug)]
struct Entries(Vec<String>);

/// Class names: a list, or a map from class index to name.
#[derive(Debug)]
enum Names {
    List(Vec<String>),
    Map(Vec<(String, String)>),
}

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a folder or .txt list of images, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Entries, E> {
                Ok(Entries(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<String>()? {
                    out.push(v);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of class names, or a map `{0: name, 1: name, …}`")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<String>()? {
                    out.push(v);
                }
                Ok(Names::List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Names, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    out.push(entry);
                }
                Ok(Names::Map(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A file of the dataset (data.yaml or a label file) with its text, for diagnostics that point
/// into it.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn error(&self, span: SourceSpan, message: String, help: Option<String>) -> DatasetError {
        DatasetError::Yolo(Box::new(YoloFileError {
            path: self.path.to_owned(),
            message,
            source_code: NamedSource::new(self.path.display().to_string(), self.text.to_owned()),
            span,
            help,
        }))
    }
}

/// Reads the split's images (the first `limit` in path order) with their labels. Image ids are
/// 1, 2, … in sorted path order; category ids are class index + 1, named by `names`.
pub fn load(spec: &YoloSpec, limit: Option<usize>) -> Result<super::Dataset, DatasetError> {
    let text = read_text(&spec.data)?;
    let source = Source { path: &spec.data, text: &text };
    let data: DataYaml = yaml::parse(&text).map_err(|e| {
        source.error(
            e.span,
            format!("not a valid YOLO data file: {}", e.message),
            Some("a data.yaml has `names` (a list, or `{0: name, …}`) and `train`/`val`/`test` (a folder or .txt list of images, or a list of them), optionally `path`".into()),
        )
    })?;
    let names = class_names(&source, &data)?;
    let folder = spec.data.parent().map(Path::to_path_buf).unwrap_or_default();
    // ultralytics: `path` (absolute, or here relative to the data.yaml), else the yaml's folder.
    let root = match data.path.as_ref().filter(|p| !p.is_empty()) {
        Some(p) => folder.join(&p.value),
        None => folder.clone(),
    };
    let entries = match spec.split {
        Split::Train => data.train.as_ref(),
        Split::Val => data.val.as_ref().or(data.validation.as_ref()),
        Split::Test => data.test.as_ref(),
    };
    let Some(entries) = entries.filter(|e| !e.0.is_empty()) else {
        return Err(source.error(
            yaml::nowhere(),
            format!("has no `{}` split", spec.split.name()),
            Some(format!(
                "add `{}: images/{}` (a folder, or a .txt list of images), or pick another `split` in the suite",
                spec.split.name(),
                spec.split.name()
            )),
        ));
    };
    let mut files = Vec::new();
    for entry in &entries.0 {
        files.extend(split_images(&source, entries.span(), &root, entry)?);
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        return Err(source.error(
            entries.span(),
            format!("the `{}` split holds no image ({})", spec.split.name(), IMG_FORMATS.join(", ")),
            None,
        ));
    }
    if let Some(limit) = limit {
        files.truncate(limit);
    }
    let read: Vec<Result<ImageRecord, DatasetError>> = files
        .into_par_iter()
        .enumerate()
        .map(|(k, path)| {
            let id = k as u64 + 1;
            let (width, height) = image::image_dimensions(&path)
                .map_err(|e| DatasetError::Image { path: path.clone(), message: e.to_string() })?;
            let annotations = labels(&label_path(&path), names.len(), width, height)?;
            let file_name = path.strip_prefix(&root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            Ok(ImageRecord { id, file_name, path, annotations, class_id: None })
        })
        .collect();
    let images = read.into_iter().collect::<Result<Vec<_>, _>>()?;
    let categories = names.into_iter().zip(1..).map(|(name, id)| Category { id, name }).collect();
    Ok(super::Dataset { images, categories })
}

fn read_text(path: &Path) -> Result<String, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io { path: path.to_owned(), source })?;
    // ultralytics reads with `utf-8-sig`: a byte-order mark is not part of the text.
    Ok(text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text))
}

/// `names` as a list or `{index: name}` map (indices 0..n-1), or `nc` alone (`class_0`, …), as
/// `check_det_dataset` and `check_class_names` accept them.
fn class_names(source: &Source, data: &DataYaml) -> Result<Vec<String>, DatasetError> {
    let nc = match &data.nc {
        Some(nc) if nc.value < 0.0 || nc.value.fract() != 0.0 => {
            return Err(source.error(nc.span(), format!("`nc: {}` must be a whole number", nc.value), None));
        }
        Some(nc) => Some(nc.value as usize),
        None => None,
    };
    let names = match (&data.names, nc) {
        (None, None) => {
            return Err(source.error(
                yaml::nowhere(),
                "has neither `names` nor `nc`".into(),
                Some("add `names: [person, car, …]` in class-index order".into()),
            ))
        }
        (None, Some(nc)) => (0..nc).map(|i| format!("class_{i}")).collect(),
        (Some(At { value: Names::List(list), .. }), _) => list.clone(),
        (Some(names @ At { value: Names::Map(map), .. }), _) => {
            let mut out = vec![None; map.len()];
            for (key, name) in map {
                let slot = key.trim().parse::<usize>().ok().and_then(|i| out.get_mut(i));
                match slot {
                    Some(slot) => *slot = Some(name.clone()),
                    None => {
                        return Err(source.error(
                            names.span(),
                            format!(
                                "a {}-class `names` map needs the indices 0-{}, and has `{key}`",
                                map.len(),
                                map.len().saturating_sub(1)
                            ),
                            None,
                        ))
                    }
                }
            }
            out.into_iter().flatten().collect()
        }
    };
    let span = data.names.as_ref().map_or(yaml::nowhere(), At::span);
    if names.is_empty() {
        return Err(source.error(span, "has no class: `names` is empty".into(), None));
    }
    if let Some(nc) = nc.filter(|&nc| nc != names.len()) {
        return Err(source.error(
            span,
            format!("`names` has {} classes and `nc` says {nc}: they must match", names.len()),
            None,
        ));
    }
    Ok(names)
}

/// The images of one split entry: a folder (searched recursively) or a `.txt` list, as
/// `get_img_files` reads them. A missing entry is an error at the split's value.
fn split_images(source: &Source, span: SourceSpan, root: &Path, entry: &str) -> Result<Vec<PathBuf>, DatasetError> {
    let mut path = root.join(entry);
    // ultralytics retries a missing `../x` as `x` under `path`.
    if let (false, Some(rest)) = (path.exists(), entry.strip_prefix("../")) {
        path = root.join(rest);
    }
    let is_image = |p: &Path| {
        p.extension().and_then(|e| e.to_str()).is_some_and(|e| IMG_FORMATS.contains(&e.to_ascii_lowercase().as_str()))
    };
    if path.is_dir() {
        let mut out = Vec::new();
        walk(&path, &mut out)?;
        out.retain(|p| is_image(p));
        return Ok(out);
    }
    if path.is_file() {
        let list = read_text(&path)?;
        let parent = path.parent().unwrap_or(Path::new(""));
        // `./x` is relative to the list's folder (ultralytics); any other relative line to `path`.
        let lines = list.lines().map(str::trim).filter(|l| !l.is_empty());
        let files = lines.map(|l| match l.strip_prefix("./") {
            Some(rest) => parent.join(rest),
            None => root.join(l),
        });
        return Ok(files.filter(|p| is_image(p)).collect());
    }
    Err(source.error(
        span,
        format!("`{entry}` does not exist (looked for {})", path.display()),
        Some(format!(
            "split entries are folders or .txt lists of images, relative to `path`, which is relative to the data.yaml's folder ({})",
            root.display()
        )),
    ))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DatasetError> {
    let io = |source| DatasetError::Io { path: dir.to_owned(), source };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// `img2label_paths`: the last `/images/` becomes `/labels/`, the extension `.txt`.
pub fn label_path(image: &Path) -> PathBuf {
    let s = image.to_string_lossy();
    let sep = std::path::MAIN_SEPARATOR;
    let (images, labels) = (format!("{sep}images{sep}"), format!("{sep}labels{sep}"));
    let swapped = match s.rfind(&images) {
        Some(i) => format!("{}{labels}{}", &s[..i], &s[i + images.len()..]),
        None => s.into_owned(),
    };
    let stem = swapped.rsplit_once('.').map_or(swapped.as_str(), |(stem, _)| stem);
    PathBuf::from(format!("{stem}.txt"))
}

/// One image's objects from its label file, in pixels; a missing or empty file means none.
fn labels(path: &Path, classes: usize, width: u32, height: u32) -> Result<Vec<Annotation>, DatasetError> {
    let text = match read_text(path) {
        Ok(text) => text,
        Err(DatasetError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let boxes = parse_labels(&Source { path, text: &text }, classes)?;
    let (w, h) = (f64::from(width), f64::from(height));
    Ok(boxes
        .into_iter()
        .map(|(class, [cx, cy, bw, bh])| Annotation {
            category_id: class + 1,
            bbox: [(cx - bw / 2.0) * w, (cy - bh / 2.0) * h, bw * w, bh * h],
            area: bw * w * bh * h,
            iscrowd: false,
        })
        .collect())
}

/// A label file's rows as (class index, normalised `[cx, cy, w, h]`), checked as
/// `verify_image_label` checks them; each problem points at its line.
fn parse_labels(source: &Source, classes: usize) -> Result<Vec<(u64, [f64; 4])>, DatasetError> {
    let mut rows: Vec<(SourceSpan, Vec<f64>)> = Vec::new();
    let mut offset = 0;
    for line in source.text.split_inclusive('\n') {
        let span = SourceSpan::from((offset, line.trim_end().len()));
        offset += line.len();
        let mut values = Vec::new();
        for token in line.split_whitespace() {
            match token.parse::<f64>() {
                Ok(v) if v.is_finite() => values.push(v),
                _ => return Err(source.error(span, format!("`{token}` is not a number"), Some(LABEL_HELP.into()))),
            }
        }
        if !values.is_empty() {
            rows.push((span, values));
        }
    }
    // ultralytics: a file with any row over 6 values holds polygons, and then no plain boxes.
    let segments = rows.iter().any(|(_, r)| r.len() > 6);
    let mut out: Vec<(u64, [f64; 4])> = Vec::new();
    let mut seen: Vec<&[f64]> = Vec::new();
    for (span, row) in &rows {
        let bad = |message: String| source.error(*span, message, Some(LABEL_HELP.into()));
        let xywh = if segments {
            if row.len() == 5 {
                return Err(bad("labels mix segment and detection rows".into()));
            }
            if row.len() % 2 == 0 {
                return Err(bad(format!("a polygon needs x y pairs after the class, got {} numbers", row.len() - 1)));
            }
            polygon_box(&row[1..])
        } else if row.len() == 5 {
            [row[1], row[2], row[3], row[4]]
        } else {
            return Err(bad(format!("labels need 5 columns (cls cx cy w h), got {}", row.len())));
        };
        let class = row[0];
        if class.fract() != 0.0 || class < 0.0 || class >= classes as f64 {
            return Err(bad(format!(
                "class {class} is not one of the data.yaml's {classes} classes (0-{})",
                classes - 1
            )));
        }
        let min = xywh.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xywh.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // ultralytics' 1% tolerance: slightly outside the image is fine, a pixel coordinate is not.
        if max > 1.01 || !(min >= 0.0 || (min >= -0.01 && xywh[2] >= 0.0 && xywh[3] >= 0.0)) {
            return Err(bad(format!("coordinates {xywh:?} are not normalised to 0-1")));
        }
        // Duplicate rows count once (`verify_image_label` drops them); distinct polygons with
        // the same box stay.
        if seen.contains(&row.as_slice()) {
            continue;
        }
        seen.push(row);
        out.push((class as u64, xywh));
    }
    Ok(out)
}

const LABEL_HELP: &str =
    "a YOLO label line is `class cx cy w h` (normalised to 0-1), or `class x1 y1 x2 y2 …` for a polygon";

/// `segments2boxes`: a polygon's bounding box, `[cx, cy, w, h]`.
fn polygon_box(xy: &[f64]) -> [f64; 4] {
    let (xs, ys): (Vec<f64>, Vec<f64>) = xy.chunks(2).map(|p| (p[0], p[1])).unzip();
    let lo = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (x0, x1, y0, y1) = (lo(&xs), hi(&xs), lo(&ys), hi(&ys));
    [(x0 + x1) / 2.0, (y0 + y1) / 2.0, x1 - x0, y1 - y0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

    /// A YOLO dataset in a temporary folder: `data/images/val/{a,b,c}.png` (40×20 pixels) and the
    /// label files given, with `data.yaml` written as given.
    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new(data_yaml: &str, labels: &[(&str, &str)]) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let images = dir.path().join("data/images/val");
            std::fs::create_dir_all(&images).unwrap();
            std::fs::create_dir_all(dir.path().join("data/labels/val")).unwrap();
            for name in ["a", "b", "c"] {
                RgbImage::new(40, 20).save(images.join(format!("{name}.png"))).unwrap();
            }
            std::fs::write(images.join("notes.md"), "not an image").unwrap();
            for (name, text) in labels {
                std::fs::write(dir.path().join("data/labels/val").join(name), text).unwrap();
            }
            std::fs::write(dir.path().join("data/data.yaml"), data_yaml).unwrap();
            Self { dir }
        }

        fn spec(&self, split: Split) -> YoloSpec {
            YoloSpec { data: self.dir.path().join("data/data.yaml"), split }
        }

        fn load(&self, limit: Option<usize>) -> Result<super::super::Dataset, DatasetError> {
            load(&self.spec(Split::Val), limit)
        }
    }

    const DATA: &str = "path: .\ntrain: images/train\nval: images/val\nnames: [circle, square]\n";

    fn names(ds: &super::super::Dataset) -> Vec<(u64, &str)> {
        ds.categories.iter().map(|c| (c.id, c.name.as_str())).collect()
    }

    #[test]
    fn boxes_become_pixels_and_missing_or_empty_labels_mean_no_objects() {
        let fx = Fixture::new(DATA, &[("a.txt", "1 0.5 0.5 0.5 0.5\n0 0.25 0.75 0.1 0.2\n"), ("b.txt", "\n")]);
        let ds = fx.load(None).unwrap();
        let files: Vec<(u64, &str)> = ds.images.iter().map(|i| (i.id, i.file_name.as_str())).collect();
        assert_eq!(files, [(1, "images/val/a.png"), (2, "images/val/b.png"), (3, "images/val/c.png")]);
        assert_eq!(names(&ds), [(1, "circle"), (2, "square")]);
        let a = &ds.images[0].annotations;
        assert_eq!(a.len(), 2);
        // 40×20 pixels: cx 0.5, w 0.5 → x 10, w 20; cy 0.5, h 0.5 → y 5, h 10.
        assert_eq!((a[0].category_id, a[0].bbox, a[0].area, a[0].iscrowd), (2, [10.0, 5.0, 20.0, 10.0], 200.0, false));
        assert_eq!(a[1].category_id, 1);
        assert!((a[1].bbox[0] - 8.0).abs() < 1e-12 && (a[1].bbox[3] - 4.0).abs() < 1e-12, "{:?}", a[1].bbox);
        assert!(ds.images[1].annotations.is_empty() && ds.images[2].annotations.is_empty());
        assert!(ds.is_labeled() && !ds.is_classification());
    }

    #[test]
    fn names_as_a_map_or_from_nc() {
        let map = DATA.replace("names: [circle, square]", "names:\n  1: square\n  0: circle\n");
        assert_eq!(names(&Fixture::new(&map, &[]).load(None).unwrap()), [(1, "circle"), (2, "square")]);
        let quoted = DATA.replace("names: [circle, square]", "names: {'0': circle, '1': square}\nnc: 2");
        assert_eq!(names(&Fixture::new(&quoted, &[]).load(None).unwrap()), [(1, "circle"), (2, "square")]);
        let nc = DATA.replace("names: [circle, square]", "nc: 2");
        assert_eq!(names(&Fixture::new(&nc, &[]).load(None).unwrap()), [(1, "class_0"), (2, "class_1")]);
        let gap = DATA.replace("names: [circle, square]", "names: {0: circle, 2: square}");
        let err = Fixture::new(&gap, &[]).load(None).unwrap_err();
        assert!(err.to_string().contains("needs the indices 0-1, and has `2`"), "{err}");
        let mismatch = DATA.replace("names: [circle, square]", "names: [circle, square]\nnc: 3");
        assert!(Fixture::new(&mismatch, &[]).load(None).unwrap_err().to_string().contains("must match"));
    }

    #[test]
    fn txt_lists_and_lists_of_entries() {
        let fx = Fixture::new(
            "val: [lists/first.txt, images/val/c.png.txt]\nnames: [circle, square]\n",
            &[("b.txt", "0 0.5 0.5 0.5 0.5\n")],
        );
        let data = fx.dir.path().join("data");
        std::fs::create_dir_all(data.join("lists")).unwrap();
        // `./` is relative to the list; other lines to `path` (here the data.yaml's folder).
        std::fs::write(data.join("lists/first.txt"), "\u{feff}./../images/val/b.png\nimages/val/a.png\n\nnotes.md\n")
            .unwrap();
        std::fs::write(data.join("images/val/c.png.txt"), "images/val/a.png\n").unwrap();
        let ds = fx.load(None).unwrap();
        let files: Vec<&str> = ds.images.iter().map(|i| i.file_name.as_str()).collect();
        // Sorted and without duplicates; `./../` stays unnormalised as ultralytics leaves it.
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(files.contains(&"images/val/a.png"), "{files:?}");
        let b = ds.images.iter().find(|i| i.file_name.ends_with("b.png")).unwrap();
        assert_eq!(b.annotations.len(), 1);
    }

    #[test]
    fn polygons_become_their_boxes_and_duplicates_count_once() {
        let polygon = "0 0.1 0.2 0.6 0.2 0.35 0.7\n0 0.1 0.2 0.6 0.2 0.35 0.7\n1 0.5 0.5 0.6 0.5 0.55 0.6\n";
        let fx = Fixture::new(DATA, &[("a.txt", polygon), ("b.txt", "1 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2\n")]);
        let ds = fx.load(None).unwrap();
        let a = &ds.images[0].annotations;
        assert_eq!(a.len(), 2);
        let expected = [0.1 * 40.0, 0.2 * 20.0, 0.5 * 40.0, 0.5 * 20.0];
        assert!(a[0].bbox.iter().zip(expected).all(|(x, y)| (x - y).abs() < 1e-9), "{:?}", a[0].bbox);
        assert_eq!(ds.images[1].annotations.len(), 1);
        let mixed = Fixture::new(DATA, &[("a.txt", "0 0.5 0.5 0.2 0.2\n0 0.1 0.2 0.6 0.2 0.35 0.7\n")]);
        let err = mixed.load(None).unwrap_err();
        assert!(err.to_string().contains("mix segment and detection rows"), "{err}");
    }

    #[test]
    fn limit_keeps_the_first_images_in_path_order() {
        // Reading stops at the limit: c's broken label file is never read.
        let fx = Fixture::new(DATA, &[("c.txt", "not a label")]);
        let ds = fx.load(Some(2)).unwrap();
        assert_eq!(ds.images.iter().map(|i| i.id).collect::<Vec<_>>(), [1, 2]);
        assert!(fx.load(None).is_err());
    }

    #[test]
    fn bad_label_lines_point_at_their_line() {
        for (text, message, line) in [
            ("0 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.2 0.2\n", "class 2 is not one of the data.yaml's 2 classes", 2),
            ("0 50 40 20 20\n", "not normalised", 1),
            ("0 0.5 0.5 0.2\n", "5 columns", 1),
            ("0 0.5 0.5 0.2 0.2\n\n0.5 0.5 0.5 0.2 0.2\n", "class 0.5", 3),
            ("0 0.1 0.2 0.6 0.2 0.35 0.7 0.1\n", "x y pairs", 1),
        ] {
            let err = Fixture::new(DATA, &[("a.txt", text)]).load(None).unwrap_err();
            assert!(err.to_string().contains(message), "{text:?}: {err}");
            let rendered = crate::errors::render(&err);
            assert!(rendered.contains(&format!("a.txt:{line}:1")), "{text:?}: {rendered}");
        }
    }

    #[test]
    fn a_bad_data_yaml_is_a_diagnostic_at_its_line() {
        let fx = Fixture::new("val: images/val\nnames: [circle, square\nnc: 2\n", &[]);
        let rendered = crate::errors::render(&fx.load(None).unwrap_err());
        assert!(rendered.contains("data.yaml") && rendered.contains("not a valid YOLO data file"), "{rendered}");
        assert!(rendered.contains("data.yaml:3:") || rendered.contains("data.yaml:2:"), "{rendered}");
        let fx = Fixture::new("val: images/val\nnames: 7\n", &[]);
        let rendered = crate::errors::render(&fx.load(None).unwrap_err());
        assert!(rendered.contains("data.yaml:2:") && rendered.contains("integer `7`"), "{rendered}");
        // A split entry that does not exist points at the split.
        let fx = Fixture::new("names: [a]\nval: images/missing\n", &[]);
        let rendered = crate::errors::render(&fx.load(None).unwrap_err());
        assert!(rendered.contains("does not exist") && rendered.contains("data.yaml:2:6"), "{rendered}");
        // A split the file lacks.
        let err = load(&Fixture::new(DATA, &[]).spec(Split::Test), None).unwrap_err();
        assert!(err.to_string().contains("has no `test` split"), "{err}");
    }

    #[test]
    fn path_is_relative_to_the_data_yaml_and_parent_entries_fall_back() {
        let fx = Fixture::new("path: ../data\nval: ../images/val\nnames: [circle, square]\n", &[]);
        // `path: ../data` from `data/` is `data` again; `../images/val` is missing there and
        // retried as `images/val`, as ultralytics does.
        assert_eq!(fx.load(None).unwrap().images.len(), 3);
        let absolute = format!("path: {}\nval: images/val\nnames: [a]\n", fx.dir.path().join("data").display());
        std::fs::write(fx.dir.path().join("data/data.yaml"), absolute).unwrap();
        assert_eq!(fx.load(None).unwrap().images.len(), 3);
    }

    #[test]
    fn label_paths_follow_img2label_paths() {
        let sep = std::path::MAIN_SEPARATOR;
        let p = |s: &str| PathBuf::from(s.replace('/', &sep.to_string()));
        assert_eq!(label_path(&p("/d/images/x/images/val/a.b.jpg")), p("/d/images/x/labels/val/a.b.txt"));
        assert_eq!(label_path(&p("/d/pics/a.png")), p("/d/pics/a.txt"));
    }
}
