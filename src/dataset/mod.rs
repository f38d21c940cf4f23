//! Datasets: COCO annotations plus the image files a suite's glob selects, class folders, plain
//! image folders, or a YOLO data.yaml's split.

pub mod coco;
pub mod yolo;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;

use crate::errors::DatasetError;
use crate::suite::DatasetSpec;
use coco::CocoImage;

/// Labels of one object, as COCO stores them.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub category_id: u64,
    /// `[x, y, w, h]` in image pixels.
    pub bbox: [f64; 4],
    /// Object area (COCO's `area`: segmentation area, which decides the size range).
    pub area: f64,
    pub iscrowd: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImageRecord {
    pub id: u64,
    pub file_name: String,
    pub path: PathBuf,
    pub annotations: Vec<Annotation>,
    /// The image's class, for classification datasets (class folders).
    pub class_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub id: u64,
    pub name: String,
}

/// The images a suite runs on, in id order, with their labels.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub images: Vec<ImageRecord>,
    pub categories: Vec<Category>,
}

impl Dataset {
    /// Select the images the glob matches (the first `limit` by id), with their labels if the
    /// suite names annotations; or the images of a YOLO split.
    pub fn load(spec: &DatasetSpec) -> Result<Self, DatasetError> {
        if let Some(data) = &spec.yolo {
            // The split lists the images; `limit` applies before any label file is read.
            return yolo::load(data, spec.limit);
        }
        let mut dataset = match &spec.annotations {
            Some(path) => Self::from_coco(spec, path)?,
            None if spec.class_folders => Self::from_class_folders(spec)?,
            None => Self::unlabeled(spec)?,
        };
        if let Some(limit) = spec.limit {
            dataset.images.truncate(limit);
        }
        if dataset.images.is_empty() {
            return Err(DatasetError::Selection {
                message: format!("`{}` selects no image (relative to {})", spec.pattern, spec.root.display()),
                help: Some("check the `images` glob, e.g. `../data/val/images/*.jpg`".into()),
            });
        }
        Ok(dataset)
    }

    /// COCO annotations joined to the selected images; every selected image must be listed.
    fn from_coco(spec: &DatasetSpec, path: &Path) -> Result<Self, DatasetError> {
        let coco = coco::read_annotations(path)?;
        coco.check_references(path)?;
        let files = select_files(spec)?;
        let mut by_name: HashMap<&str, &CocoImage> = HashMap::new();
        for img in &coco.images {
            by_name.insert(img.file_name.as_str(), img);
        }
        let mut images = Vec::new();
        let mut unlisted = Vec::new();
        for (relative, path) in files {
            match lookup(&by_name, &relative) {
                Some(img) => images.push(ImageRecord {
                    id: img.id,
                    file_name: img.file_name.clone(),
                    path,
                    annotations: Vec::new(),
                    class_id: None,
                }),
                None => unlisted.push(relative),
            }
        }
        if !unlisted.is_empty() {
            return Err(DatasetError::Selection {
                message: format!(
                    "{} image(s) matched by `{}` are not in {}: {}",
                    unlisted.len(),
                    spec.pattern,
                    path.display(),
                    unlisted.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
                ),
                help: Some("narrow the `images` glob, or add the images to the annotations".into()),
            });
        }
        images.sort_by_key(|i| i.id);
        images.dedup_by_key(|i| i.id);
        let index: HashMap<u64, usize> = images.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        for a in coco.annotations {
            if let Some(&i) = index.get(&a.image_id) {
                images[i].annotations.push(Annotation {
                    category_id: a.category_id,
                    bbox: a.bbox,
                    area: a.area,
                    iscrowd: a.iscrowd,
                });
            }
        }
        let categories = coco.categories.into_iter().map(|c| Category { id: c.id, name: c.name }).collect();
        Ok(Self { images, categories })
    }

    /// ImageNet-style class folders: each image's class is the name of the folder holding it.
    /// Categories are the folder names, sorted, with ids 1, 2, …; images get ids in path order.
    fn from_class_folders(spec: &DatasetSpec) -> Result<Self, DatasetError> {
        let files = select_files(spec)?;
        let folder = |relative: &str| relative.rsplit('/').nth(1).map(str::to_owned);
        let mut names: Vec<String> = files.iter().filter_map(|(relative, _)| folder(relative)).collect();
        names.sort();
        names.dedup();
        let categories: Vec<Category> = names.into_iter().zip(1..).map(|(name, id)| Category { id, name }).collect();
        let mut images = Vec::new();
        for ((file_name, path), id) in files.into_iter().zip(1..) {
            let Some(class) = folder(&file_name) else {
                return Err(DatasetError::Selection {
                    message: format!("`{file_name}` is not inside a class folder"),
                    help: Some(
                        "with `class_folders: true` the glob selects `<class>/<image>` files, e.g. `val/*/*.png`"
                            .into(),
                    ),
                });
            };
            let class_id = categories.iter().find(|c| c.name == class).map(|c| c.id);
            images.push(ImageRecord { id, file_name, path, annotations: Vec::new(), class_id });
        }
        Ok(Self { images, categories })
    }

    /// A plain image folder: ids 1, 2, … in path order, no labels, no categories.
    fn unlabeled(spec: &DatasetSpec) -> Result<Self, DatasetError> {
        let images = select_files(spec)?
            .into_iter()
            .zip(1..)
            .map(|((file_name, path), id)| ImageRecord { id, file_name, path, annotations: Vec::new(), class_id: None })
            .collect();
        Ok(Self { images, categories: Vec::new() })
    }

    /// Whether the images carry labels (COCO annotations or class folders).
    pub fn is_labeled(&self) -> bool {
        !self.categories.is_empty()
    }

    /// Read every image's header (format and size) without decoding it, in dataset order:
    /// each image's `(width, height)`. Every image that fails is listed, not only the first.
    pub fn dimensions(&self) -> Result<Vec<(u32, u32)>, DatasetError> {
        let read = |path: &Path| -> Result<(u32, u32), String> {
            let reader = image::ImageReader::open(path).map_err(|e| e.to_string())?;
            reader.with_guessed_format().map_err(|e| e.to_string())?.into_dimensions().map_err(|e| e.to_string())
        };
        let checked: Vec<Result<(u32, u32), String>> = self.images.par_iter().map(|r| read(&r.path)).collect();
        let failed: Vec<(PathBuf, String)> = self
            .images
            .iter()
            .zip(&checked)
            .filter_map(|(r, result)| result.as_ref().err().map(|e| (r.path.clone(), e.clone())))
            .collect();
        match failed.is_empty() {
            true => Ok(checked.into_iter().flatten().collect()),
            false => Err(unreadable(failed)),
        }
    }

    /// Whether the labels are one class per image (class folders) rather than boxes.
    pub fn is_classification(&self) -> bool {
        self.images.iter().any(|i| i.class_id.is_some())
    }

    pub fn category_by_name(&self, name: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.name == name)
    }
}

/// The error for images that cannot be read: one named, or several listed.
pub fn unreadable(mut failed: Vec<(PathBuf, String)>) -> DatasetError {
    match failed.len() {
        1 => {
            let (path, message) = failed.remove(0);
            DatasetError::Image { path, message }
        }
        _ => DatasetError::Images { images: failed },
    }
}

/// A COCO `file_name` matches a selected path when it is a suffix of it, component-wise.
fn lookup<'a>(by_name: &HashMap<&str, &'a CocoImage>, relative: &str) -> Option<&'a CocoImage> {
    let parts: Vec<&str> = relative.split('/').collect();
    (0..parts.len()).find_map(|k| by_name.get(parts[k..].join("/").as_str()).copied())
}

/// Files under the glob's literal prefix that the glob matches: (path as matched, full path).
fn select_files(spec: &DatasetSpec) -> Result<Vec<(String, PathBuf)>, DatasetError> {
    let pattern = Path::new(&spec.pattern);
    let mut prefix = PathBuf::new();
    for c in pattern.components() {
        let s = c.as_os_str().to_string_lossy();
        if s.contains(['*', '?', '[', '{']) {
            break;
        }
        prefix.push(c);
    }
    if matches!(pattern.components().next_back(), Some(Component::Normal(_))) && prefix == pattern {
        prefix.pop(); // a literal file name: walk its folder
    }
    let base = spec.root.join(&prefix);
    let mut out = Vec::new();
    if !base.is_dir() {
        return Ok(out); // nothing to select: the caller says which glob selected nothing
    }
    let mut stack = vec![base.clone()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| DatasetError::Io { path: dir.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| DatasetError::Io { path: dir.clone(), source })?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(rest) = path.strip_prefix(&base) else { continue };
            let relative = prefix.join(rest).to_string_lossy().replace('\\', "/");
            if spec.matcher.is_match(&relative) {
                out.push((relative, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use globset::Glob;

    fn spec(dir: &Path, pattern: &str) -> DatasetSpec {
        DatasetSpec {
            annotations: Some(dir.join("ann.json")),
            root: dir.to_owned(),
            pattern: pattern.into(),
            matcher: Glob::new(pattern).unwrap().compile_matcher(),
            limit: None,
            class_folders: false,
            yolo: None,
        }
    }

    fn write_dataset(dir: &Path, extra_file: bool) {
        std::fs::create_dir_all(dir.join("imgs")).unwrap();
        for name in ["a.png", "b.png"] {
            image::RgbImage::new(4, 4).save(dir.join("imgs").join(name)).unwrap();
        }
        if extra_file {
            image::RgbImage::new(4, 4).save(dir.join("imgs/c.png")).unwrap();
        }
        std::fs::write(
            dir.join("ann.json"),
            r#"{"images":[{"id":2,"file_name":"b.png"},{"id":1,"file_name":"imgs/a.png"}],
               "annotations":[{"image_id":1,"category_id":7,"bbox":[0,0,2,2]},
                              {"image_id":2,"category_id":7,"bbox":[1,1,1,1],"area":0.5,"iscrowd":1}],
               "categories":[{"id":7,"name":"thing"}]}"#,
        )
        .unwrap();
    }

    #[test]
    fn selects_by_glob_and_joins_labels() {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(dir.path(), false);
        let ds = Dataset::load(&spec(dir.path(), "imgs/*.png")).unwrap();
        assert_eq!(ds.images.iter().map(|i| i.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(ds.images[0].annotations[0].area, 4.0);
        assert!(ds.images[1].annotations[0].iscrowd);
        assert_eq!(ds.category_by_name("thing").unwrap().id, 7);
        assert_eq!(ds.dimensions().unwrap().len(), 2);
    }

    #[test]
    fn an_image_folder_needs_no_annotations() {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(dir.path(), true);
        let folder = DatasetSpec { annotations: None, limit: Some(2), ..spec(dir.path(), "imgs/*.png") };
        let ds = Dataset::load(&folder).unwrap();
        let names: Vec<(u64, &str)> = ds.images.iter().map(|i| (i.id, i.file_name.as_str())).collect();
        assert_eq!(names, [(1, "imgs/a.png"), (2, "imgs/b.png")]);
        assert!(!ds.is_labeled() && ds.images.iter().all(|i| i.annotations.is_empty()));
    }

    #[test]
    fn unlisted_images_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(dir.path(), true);
        let err = Dataset::load(&spec(dir.path(), "imgs/*.png")).unwrap_err();
        assert!(err.to_string().contains("imgs/c.png"), "{err}");
    }

    #[test]
    fn empty_selection_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(dir.path(), false);
        let err = Dataset::load(&spec(dir.path(), "imgs/*.jpg")).unwrap_err();
        assert!(err.to_string().contains("selects no image"), "{err}");
        let folder = DatasetSpec { annotations: None, ..spec(dir.path(), "imgs/*.jpg") };
        assert!(Dataset::load(&folder).unwrap_err().to_string().contains("selects no image"));
    }

    #[test]
    fn malformed_json_points_at_the_line() {
        let text = "{\n \"images\": [\n  {\"id\": \"one\"}]}";
        let err = coco::parse_annotations(Path::new("x.json"), text).err().unwrap();
        match err {
            // Line 3 holds the string where a number belongs.
            crate::errors::CocoJsonError::Syntax(e) => {
                assert_eq!(text[..e.span.offset()].matches('\n').count(), 2)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dangling_references_are_an_error() {
        let text = r#"{"images":[{"id":1,"file_name":"a"}],"annotations":[{"image_id":9,"category_id":1,"bbox":[0,0,1,1]}],"categories":[{"id":1,"name":"x"}]}"#;
        let coco = coco::parse_annotations(Path::new("x.json"), text).unwrap();
        let err = coco.check_references(Path::new("x.json")).unwrap_err();
        assert!(err.to_string().contains("image_id 9"), "{err}");
    }
}
