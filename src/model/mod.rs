//! Models: an inference backend runs the ONNX graph, a family decoder turns its outputs into
//! detections in original image pixels.
//!
//! A new family is one decoder file plus a `Family` variant; a new backend is one file
//! implementing `Session`.

mod letterbox;
mod nms;
#[cfg(feature = "ort")]
mod onnxruntime;
#[cfg(feature = "tract")]
mod tract;
mod yolov8;

use std::fmt;
use std::path::Path;

use image::RgbImage;

use crate::errors::ModelError;
use crate::spec::ModelSpec;
pub use letterbox::Letterbox;
pub use nms::{iou, non_max_suppression};

/// One detected object, in original image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// `[x1, y1, x2, y2]`.
    pub bbox: [f32; 4],
    pub score: f32,
    /// Index into the model's class list.
    pub class: usize,
}

/// A dense f32 tensor, the only thing backends and decoders exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A loaded network that maps one input tensor to its outputs. Shared by all threads.
pub trait Session: Send + Sync {
    /// Declared input shape; `None` for a dimension that is not fixed.
    fn input_shape(&self) -> Vec<Option<usize>>;
    fn run(&self, input: Tensor) -> Result<Vec<Tensor>, String>;
}

/// Which runtime executes the ONNX graph. Chosen per suite or by `SHAKEDOWN_BACKEND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// tract: pure Rust, embedded, nothing to install.
    #[default]
    Tract,
    /// ONNX Runtime through `ort`, loaded from `ORT_DYLIB_PATH`.
    Ort,
}

impl BackendKind {
    pub const NAMES: [&'static str; 2] = ["tract", "ort"];

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Tract => "tract",
            BackendKind::Ort => "ort",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "tract" => Some(BackendKind::Tract),
            "ort" | "onnxruntime" => Some(BackendKind::Ort),
            _ => None,
        }
    }

    /// Load an ONNX file; `input_hw` fixes the input size for graphs declared dynamic.
    pub fn load(self, path: &Path, input_hw: Option<[u32; 2]>) -> Result<Box<dyn Session>, ModelError> {
        match self {
            #[cfg(feature = "tract")]
            BackendKind::Tract => tract::load(path, input_hw),
            #[cfg(feature = "ort")]
            BackendKind::Ort => onnxruntime::load(path, input_hw),
            #[allow(unreachable_patterns)]
            other => Err(ModelError::Backend {
                backend: other.name(),
                message: "this build of shakedown does not include it".into(),
                help: Some(format!("rebuild with `--features {}`", other.name())),
            }),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a model's outputs are laid out, and so how they are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// ultralytics YOLOv8 and later heads: one output `[1, 4 + C, N]`, boxes `cx, cy, w, h`.
    Yolov8,
}

impl Family {
    pub const NAMES: [&'static str; 1] = ["yolov8"];

    pub fn name(self) -> &'static str {
        match self {
            Family::Yolov8 => "yolov8",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "yolov8" => Some(Family::Yolov8),
            _ => None,
        }
    }
}

/// A model ready to predict: session, family and thresholds.
pub struct Model {
    pub spec: ModelSpec,
    pub backend: BackendKind,
    session: Box<dyn Session>,
    /// Network input `[height, width]`.
    input_hw: [u32; 2],
}

/// Lowest score kept for mAP (ultralytics validates at 0.001 too); the impact rule applies the
/// model's own `confidence` on top.
pub const EVAL_CONFIDENCE: f32 = 0.001;

impl Model {
    pub fn load(spec: &ModelSpec, backend: BackendKind) -> Result<Self, ModelError> {
        let session = backend.load(&spec.path, spec.input_size)?;
        let shape = session.input_shape();
        let declared = match shape.as_slice() {
            [_, Some(3), h, w] => h.zip(*w).map(|(h, w)| [h as u32, w as u32]),
            _ => {
                return Err(ModelError::Family {
                    model: spec.name.clone(),
                    family: spec.family.name(),
                    message: format!("expected one NCHW RGB input [1, 3, H, W], found {shape:?}"),
                })
            }
        };
        let input_hw = spec.input_size.or(declared).ok_or_else(|| ModelError::Family {
            model: spec.name.clone(),
            family: spec.family.name(),
            message: "the input size is not fixed in the graph".into(),
        })?;
        Ok(Self { spec: spec.clone(), backend, session, input_hw })
    }

    pub fn input_hw(&self) -> [u32; 2] {
        self.input_hw
    }

    /// Detections at `EVAL_CONFIDENCE` and above, best first.
    pub fn predict(&self, image: &RgbImage) -> Result<Vec<Detection>, ModelError> {
        let (input, letterbox) = match self.spec.family {
            Family::Yolov8 => Letterbox::fit(image, self.input_hw),
        };
        let outputs =
            self.session.run(input).map_err(|message| ModelError::Run { model: self.spec.name.clone(), message })?;
        let decoded = match self.spec.family {
            Family::Yolov8 => yolov8::decode(&outputs, &self.spec, EVAL_CONFIDENCE),
        };
        let mut detections = decoded.map_err(|message| ModelError::Family {
            model: self.spec.name.clone(),
            family: self.spec.family.name(),
            message,
        })?;
        for d in &mut detections {
            d.bbox = letterbox.to_image(d.bbox);
        }
        Ok(detections)
    }
}
