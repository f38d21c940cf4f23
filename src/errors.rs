//! Every error shakedown reports, as miette diagnostics that name the file and how to fix it.

use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

/// What went wrong in a suite file. Tests match on it; users read the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuiteErrorKind {
    /// Not YAML.
    Syntax,
    /// YAML of the wrong shape: an unknown key, a wrong type, a missing field.
    Schema,
    UnknownPerturbation,
    UnknownParameter,
    UnknownRiskFactor,
    /// A perturbation listed under a risk factor it does not belong to.
    WrongRiskFactor,
    UnknownFamily,
    /// A `preprocess` value outside its choices (`resize`, `channels`, `layout`).
    UnknownPreprocessing,
    UnknownBackend,
    UnknownImpactRule,
    /// A YOLO `split` other than `train`, `val`, `test`.
    UnknownSplit,
    MissingFile,
    OutOfRange,
    InvalidName,
    Duplicate,
    /// A glob, dataset or class list that cannot work together.
    Inconsistent,
    /// A suite file over the size or node limit, refused before (or as soon as) it is parsed.
    TooLarge,
    /// A suite nested deeper than the parser's limit.
    TooDeep,
}

/// One problem at one place in a suite file.
#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(shakedown::suite))]
pub struct SuiteError {
    pub kind: SuiteErrorKind,
    pub message: String,
    #[source_code]
    pub source_code: NamedSource<String>,
    #[label("{label}")]
    pub span: SourceSpan,
    pub label: String,
    #[help]
    pub help: Option<String>,
}

/// A suite that cannot run; lists every problem found, each pointing into the file.
#[derive(Debug, Error, Diagnostic)]
#[error("suite {} is invalid ({} problem{})", path.display(), errors.len(), if errors.len() == 1 { "" } else { "s" })]
#[diagnostic(code(shakedown::invalid_suite), help("fix the suite file; nothing was run"))]
pub struct InvalidSuite {
    pub path: PathBuf,
    #[related]
    pub errors: Vec<SuiteError>,
}

impl InvalidSuite {
    pub fn kinds(&self) -> Vec<SuiteErrorKind> {
        self.errors.iter().map(|e| e.kind).collect()
    }
}

/// A dataset that cannot be read.
#[derive(Debug, Error, Diagnostic)]
pub enum DatasetError {
    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(code(shakedown::dataset::io))]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Coco(#[from] CocoJsonError),
    /// A YOLO data.yaml or label file that cannot be used, pointing into it.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Yolo(Box<YoloFileError>),
    #[error("cannot decode image {}: {message}", path.display())]
    #[diagnostic(code(shakedown::dataset::image), help("re-export the image as PNG or JPEG"))]
    Image { path: PathBuf, message: String },
    /// Several images that cannot be decoded, every one listed.
    #[error("{} images cannot be decoded:\n{}", images.len(), images.iter().map(|(p, m)| format!("  {}: {m}", p.display())).collect::<Vec<_>>().join("\n"))]
    #[diagnostic(code(shakedown::dataset::images), help("re-export them as PNG or JPEG, or narrow the `images` glob"))]
    Images { images: Vec<(PathBuf, String)> },
    #[error("{message}")]
    #[diagnostic(code(shakedown::dataset::selection))]
    Selection {
        message: String,
        #[help]
        help: Option<String>,
    },
}

/// A problem in one file of a YOLO dataset (the data.yaml or a label file), with the file as
/// source so that the terminal shows the line and column.
#[derive(Debug, Error, Diagnostic)]
#[error("{}: {message}", path.display())]
#[diagnostic(code(shakedown::dataset::yolo))]
pub struct YoloFileError {
    pub path: PathBuf,
    pub message: String,
    #[source_code]
    pub source_code: NamedSource<String>,
    #[label("here")]
    pub span: SourceSpan,
    #[help]
    pub help: Option<String>,
}

/// A model that cannot be loaded or run, or whose outputs do not fit its family.
#[derive(Debug, Error, Diagnostic)]
pub enum ModelError {
    #[error("cannot load model {} with {backend}: {message}", path.display())]
    #[diagnostic(code(shakedown::model::load))]
    Load {
        path: PathBuf,
        backend: &'static str,
        message: String,
        #[help]
        help: Option<String>,
    },
    #[error("inference failed for model {model}: {message}")]
    #[diagnostic(code(shakedown::model::run))]
    Run { model: String, message: String },
    #[error("model {model} does not fit family {family}: {message}")]
    #[diagnostic(code(shakedown::model::family), help("check `family` and `classes` in the suite"))]
    Family { model: String, family: &'static str, message: String },
    #[error("model {model} (family {family}) {message}")]
    #[diagnostic(code(shakedown::model::task))]
    Task { model: String, family: &'static str, message: String },
    #[error("model {model} produced an invalid output: {message}")]
    #[diagnostic(
        code(shakedown::model::output),
        help("re-export the model and check it in its own framework; a NaN often comes from fp16 overflow or an input scaled differently from training (`preprocess` in the suite)")
    )]
    InvalidOutput { model: String, message: String },
    #[error("backend {backend} is unavailable: {message}")]
    #[diagnostic(code(shakedown::model::backend))]
    Backend {
        backend: &'static str,
        message: String,
        #[help]
        help: Option<String>,
    },
}

/// A ground-truth or results file that cannot be evaluated.
#[derive(Debug, Error, Diagnostic)]
pub enum CocoJsonError {
    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(code(shakedown::coco::io))]
    Io { path: PathBuf, source: std::io::Error },
    /// Not JSON, or JSON of the wrong shape; points at the place serde_json stopped.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(Box<SyntaxError>),
    /// Well-formed JSON with one bad entry, e.g. `detections[17]: bbox must have 4 numbers`.
    #[error("{}: {entry}: {message}", path.display())]
    #[diagnostic(code(shakedown::coco::entry))]
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
#[diagnostic(code(shakedown::coco::syntax))]
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

/// A stored baseline that cannot be trusted; it is left as it is.
#[derive(Debug, Error, Diagnostic)]
#[error("baseline {} is unreadable: {message}", path.display())]
#[diagnostic(
    code(shakedown::baseline),
    help(
        "the file was not changed; fix it by hand, or delete it and accept the new snapshot with `cargo insta review`"
    )
)]
pub struct BaselineError {
    pub path: PathBuf,
    pub message: String,
}

/// Any shakedown error.
#[derive(Debug, Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Suite(#[from] Box<InvalidSuite>),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Baseline(#[from] BaselineError),
    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(code(shakedown::io))]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    #[diagnostic(transparent)]
    CocoJson(#[from] CocoJsonError),
    /// An environment variable that shakedown cannot use (see `config`).
    #[error("{message}")]
    #[diagnostic(code(shakedown::config))]
    Config {
        message: String,
        #[help]
        help: Option<String>,
    },
    #[error("{0}")]
    #[diagnostic(code(shakedown::usage))]
    Usage(String),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io { path: path.to_owned(), source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Render a diagnostic the way the terminal shows it (used in trial failure messages).
pub fn render(diagnostic: &dyn Diagnostic) -> String {
    let mut out = String::new();
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    match handler.render_report(&mut out, diagnostic) {
        Ok(()) => out,
        Err(_) => diagnostic.to_string(),
    }
}

#[cfg(test)]
mod tests {
    //! How each kind of error outside suite files reads on a terminal (suite files' own kinds
    //! are in `suite::tests`): one snapshot each, so a change to any wording shows in review.

    use super::*;

    fn path(p: &str) -> PathBuf {
        PathBuf::from(p)
    }

    fn io(kind: std::io::ErrorKind) -> std::io::Error {
        std::io::Error::from(kind)
    }

    #[test]
    fn every_error_kind_renders() {
        let syntax = crate::dataset::coco::parse_results(Path::new("dets.json"), "[{\"image_id\": 1,\n \"bbox\": 7}]")
            .unwrap_err();
        let cases: Vec<(&str, Error)> = vec![
            ("io", Error::io(Path::new("suites/a.yaml"), io(std::io::ErrorKind::NotFound))),
            ("usage", Error::Usage("give --model, or --suite".into())),
            (
                "config",
                Error::Config {
                    message: "SHAKEDOWN_BACKEND=trakt names no backend".into(),
                    help: Some("did you mean `tract`? backends: tract, ort, ort-cuda, ort-tensorrt".into()),
                },
            ),
            (
                "baseline",
                Error::Baseline(BaselineError {
                    path: path("suites/snapshots/a.snap"),
                    message: "missing the `---` header insta writes".into(),
                }),
            ),
            (
                "dataset_io",
                DatasetError::Io { path: path("data/val"), source: io(std::io::ErrorKind::PermissionDenied) }.into(),
            ),
            (
                "dataset_image",
                DatasetError::Image { path: path("data/a.jpg"), message: "Format error decoding Jpeg".into() }.into(),
            ),
            (
                "dataset_images",
                DatasetError::Images {
                    images: vec![(path("data/a.jpg"), "truncated".into()), (path("data/b.png"), "not a PNG".into())],
                }
                .into(),
            ),
            (
                "dataset_yolo",
                DatasetError::Yolo(Box::new(YoloFileError {
                    path: path("data/labels/val/a.txt"),
                    message: "line 2: class 7 is not below nc 3".into(),
                    source_code: NamedSource::new(
                        "data/labels/val/a.txt",
                        "0 0.5 0.5 0.2 0.2\n7 0.1 0.1 0.1 0.1\n".into(),
                    ),
                    span: (18, 1).into(),
                    help: Some("classes are 0 to nc - 1, as `names` lists them".into()),
                }))
                .into(),
            ),
            (
                "dataset_selection",
                DatasetError::Selection {
                    message: "`val/*.jpg` selects no image (relative to suites)".into(),
                    help: Some("check the `images` glob".into()),
                }
                .into(),
            ),
            ("coco_syntax", Error::CocoJson(syntax)),
            (
                "coco_entry",
                Error::CocoJson(CocoJsonError::Entry {
                    path: path("gt.json"),
                    entry: "annotations[3]".into(),
                    message: "refers to image_id 9, which is not in `images`".into(),
                    help: None,
                }),
            ),
            (
                "coco_io",
                Error::CocoJson(CocoJsonError::Io { path: path("gt.json"), source: io(std::io::ErrorKind::NotFound) }),
            ),
            (
                "model_load",
                ModelError::Load {
                    path: path("models/a.json"),
                    backend: "tract",
                    message: "it is not an ONNX model (a protobuf ModelProto with a graph)".into(),
                    help: Some("point `path` at the `.onnx` file your exporter wrote".into()),
                }
                .into(),
            ),
            (
                "model_run",
                ModelError::Run { model: "yolov8n".into(), message: "a previous inference panicked".into() }.into(),
            ),
            (
                "model_family",
                ModelError::Family {
                    model: "yolov8n".into(),
                    family: "detr",
                    message: "expected outputs `logits` and `pred_boxes`, found [1, 7, 2100]".into(),
                }
                .into(),
            ),
            (
                "model_task",
                ModelError::Task {
                    model: "cls".into(),
                    family: "classifier",
                    message: "gives class probabilities, not boxes".into(),
                }
                .into(),
            ),
            (
                "model_output",
                ModelError::InvalidOutput {
                    model: "yolov8n".into(),
                    message: "output `output0` [1, 7, 2100] holds 3 NaN of 14700 values".into(),
                }
                .into(),
            ),
            (
                "model_backend",
                ModelError::Backend {
                    backend: "ort",
                    message: "ORT_DYLIB_PATH is not set".into(),
                    help: Some("install ONNX Runtime 1.31 and set ORT_DYLIB_PATH".into()),
                }
                .into(),
            ),
        ];
        // Beside the other diagnostics snapshots, not in src/ (which shows the pipeline).
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../tests/snapshots/diagnostics");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| {
            for (name, error) in cases {
                insta::assert_snapshot!(name, render(&error));
            }
        });
    }
}
