//! Models: an inference backend runs the ONNX graph, a family decoder turns its outputs into
//! detections in original image pixels.
//!
//! A new family is one decoder file plus a `Family` variant; a new backend is one file
//! implementing `Session`.

mod argsort;
mod boxes_scores_labels;
mod classifier;
#[cfg(feature = "tract")]
mod contrib;
mod detr;
mod nms;
#[cfg(feature = "ort")]
mod onnxruntime;
#[cfg(test)]
mod parity;
mod preprocess;
mod rtdetr;
#[cfg(all(test, feature = "tract"))]
mod tests;
#[cfg(feature = "tract")]
mod tract;
mod yolov5;
mod yolov8;
mod yolox;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use image::RgbImage;

use crate::errors::ModelError;
use crate::onnx::OnnxFile;
use crate::suite::ModelSpec;
pub use crate::vocab::boxes::{Detection, ImageDetections};
use crate::vocab::{Backend, Family, Layout};
use argsort::torch_argsort_descending;
use preprocess::Geometry;
pub use preprocess::Preprocess;

/// A dense f32 tensor, the only thing backends and decoders exchange (integer outputs are
/// converted).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// The graph's name for an output (`logits`, `boxes`); empty for inputs.
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A loaded network that maps one input tensor to its outputs. Shared by all threads.
pub trait Session: Send + Sync {
    /// What the graph declares, read once at load time.
    fn signature(&self) -> &Signature;
    fn run(&self, input: Tensor) -> Result<Vec<Tensor>, String>;
    /// The processor the graph actually runs on: an accelerator that could not start has
    /// fallen back to the CPU.
    fn runs_on(&self) -> &'static str {
        "CPU"
    }
    /// What the user should know about how the session was set up (an accelerator that fell
    /// back to the CPU); the output stage prints them.
    fn warnings(&self) -> &[String] {
        &[]
    }
}

/// A graph's declared input and outputs, as a backend reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signature {
    /// Declared input shape; `None` for a dimension that is not fixed.
    pub input_shape: Vec<Option<usize>>,
    /// Declared output shapes, `None` for a dimension that is not fixed; empty when unknown.
    pub output_shapes: Vec<Vec<Option<usize>>>,
    /// The graph's output names, in output order; empty when unknown.
    pub output_names: Vec<String>,
}

/// Load an ONNX file with `backend`; `input_hw` fixes the input size for graphs declared
/// dynamic, in `layout` (else the one the graph declares).
// Without an inference backend compiled in (benchmarks build perturbations only) every
// backend is the error arm and the arguments go unused.
#[cfg_attr(not(any(feature = "tract", feature = "ort")), allow(unused_variables))]
pub fn load_session(
    backend: Backend,
    path: &Path,
    file: &OnnxFile,
    input_hw: Option<[u32; 2]>,
    layout: Option<Layout>,
) -> Result<Box<dyn Session>, ModelError> {
    match backend {
        #[cfg(feature = "tract")]
        Backend::Tract => tract::load(path, file, input_hw, layout),
        #[cfg(feature = "ort")]
        Backend::Ort => onnxruntime::load(path, file, onnxruntime::Accelerator::Cpu),
        #[cfg(feature = "cuda")]
        Backend::OrtCuda => onnxruntime::load(path, file, onnxruntime::Accelerator::Cuda),
        #[cfg(feature = "tensorrt")]
        Backend::OrtTensorRt => onnxruntime::load(path, file, onnxruntime::Accelerator::TensorRt),
        #[allow(unreachable_patterns)]
        other => Err(ModelError::Backend {
            backend: other.name(),
            message: "this build of shakedown does not include it".into(),
            help: Some(format!("rebuild with `--features {}`", other.feature())),
        }),
    }
}

impl Family {
    /// Detections in network input pixels, best first.
    pub fn decode(self, outputs: &[Tensor], params: &DecodeParams) -> Result<Vec<Detection>, String> {
        match self {
            Family::Yolov8 => yolov8::decode(outputs, params),
            Family::Yolov5 => yolov5::decode(outputs, params),
            Family::Yolox => yolox::decode(outputs, params),
            Family::Detr => detr::decode(outputs, params),
            Family::Rtdetr => rtdetr::decode(outputs, params),
            Family::BoxesScoresLabels => boxes_scores_labels::decode(outputs, params),
            Family::Classifier => Err("a classifier gives class probabilities, not boxes".into()),
        }
    }
}

/// What a decoder needs besides the outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeParams {
    /// Number of classes the suite lists; `None` accepts what the outputs imply.
    pub classes: Option<usize>,
    /// Detections must score above it.
    pub min_score: f32,
    /// NMS IoU threshold (families without NMS ignore it).
    pub iou: f32,
    pub max_detections: usize,
    /// Network input `[height, width]`.
    pub input_hw: [u32; 2],
    /// The map to image pixels, when an image is at hand: YOLOX's NMS measures overlap there.
    pub to_image: Option<Geometry>,
    /// Every class above `min_score` becomes a candidate, not only the best one (the YOLO
    /// validators' `multi_label=True`); families that choose one class per box ignore it.
    pub multi_label: bool,
}

/// How a family's own validator selects the detections it scores (ultralytics `yolo val`,
/// yolov5 `val.py`), where that differs from how its predictor shows them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValSelection {
    pub iou: f32,
    pub max_detections: usize,
}

impl Family {
    /// `None`: the family's validator keeps what its predictor keeps, down to `EVAL_CONFIDENCE`.
    pub fn val_selection(self) -> Option<ValSelection> {
        match self {
            // ultralytics `DetectionValidator`: conf 0.001, iou 0.7, max_det 300, multi_label.
            Family::Yolov8 => Some(ValSelection { iou: 0.7, max_detections: 300 }),
            // yolov5 `val.py`'s defaults: conf 0.001, iou 0.6, max_det 300, multi_label.
            Family::Yolov5 => Some(ValSelection { iou: 0.6, max_detections: 300 }),
            _ => None,
        }
    }
}

/// Candidates kept before NMS, ultralytics' and yolov5's `max_nms`.
const MAX_NMS: usize = 30_000;

/// The class count an output implies must be the suite's.
fn check_classes(found: usize, p: &DecodeParams, what: &str) -> Result<(), String> {
    match p.classes {
        Some(listed) if listed != found => Err(format!("{what}, so {found} classes, but `classes` lists {listed}")),
        _ => Ok(()),
    }
}

/// Output shapes for error messages: `logits [1, 100, 92], pred_boxes [1, 100, 4]`.
fn shapes(outputs: &[Tensor]) -> String {
    if outputs.is_empty() {
        return "no outputs".into();
    }
    let each: Vec<String> = outputs
        .iter()
        .map(|t| if t.name.is_empty() { format!("{:?}", t.shape) } else { format!("{} {:?}", t.name, t.shape) })
        .collect();
    each.join(", ")
}

/// A model ready to predict: session, family, pre-processing and thresholds.
pub struct Model {
    pub spec: ModelSpec,
    pub backend: Backend,
    session: Box<dyn Session>,
    /// Network input `[height, width]`.
    input_hw: [u32; 2],
    preprocess: Preprocess,
    /// Forward passes run and their summed time, for `predict`'s speed line.
    passes: AtomicU64,
    pass_nanos: AtomicU64,
}

/// Lowest score kept for mAP (ultralytics validates at 0.001 too); the impact rule applies the
/// model's own `confidence` on top.
pub const EVAL_CONFIDENCE: f32 = 0.001;

impl Model {
    pub fn load(spec: &ModelSpec, backend: Backend) -> Result<Self, ModelError> {
        // A JSON file or a PyTorch checkpoint named in `path` is named as such, not blamed on
        // the backend's parser.
        let file = crate::onnx::inspect(&spec.path).map_err(|message| ModelError::Load {
            path: spec.path.clone(),
            backend: backend.name(),
            message,
            help: Some("point `path` at the `.onnx` file your exporter wrote".into()),
        })?;
        // A dynamic export (`dynamic=True`) is sized as it was exported (`imgsz`) unless the
        // suite says `input_size`.
        let exported_size = file.ultralytics().and_then(|f| f.input_size);
        let sized = spec.input_size.or(exported_size);
        let session = load_session(backend, &spec.path, &file, sized, spec.preprocess.layout)?;
        let fail =
            |message: String| ModelError::Family { model: spec.name.clone(), family: spec.family.name(), message };
        let shape = session.signature().input_shape.clone();
        let expected = "expected one image input [1, 3, H, W] (NCHW) or [1, H, W, 3] (NHWC)";
        let layout = match (spec.preprocess.layout, shape.as_slice()) {
            (Some(Layout::Nchw), [_, Some(3) | None, _, _]) => Layout::Nchw,
            (Some(Layout::Nhwc), [_, _, _, Some(3) | None]) => Layout::Nhwc,
            (Some(layout), _) => {
                return Err(fail(format!("{expected} as `layout: {}` says, found {}", layout.name(), dims(&shape))))
            }
            (None, [_, Some(3), _, _]) => Layout::Nchw,
            (None, [_, _, _, Some(3)]) => Layout::Nhwc,
            (None, [_, None, _, _]) => Layout::Nchw,
            _ => return Err(fail(format!("{expected}, found {}", dims(&shape)))),
        };
        let declared = match (layout, shape.as_slice()) {
            (Layout::Nchw, [_, _, h, w]) | (Layout::Nhwc, [_, h, w, _]) => h.zip(*w).map(|(h, w)| [h as u32, w as u32]),
            _ => None,
        };
        let input_hw = spec.input_size.or(declared).or(exported_size).ok_or_else(|| {
            fail(format!(
                "its input {} has no fixed height and width: set `input_size: [height, width]` for it in the suite \
                 (`--input-size` for `shakedown predict`)",
                dims(&shape)
            ))
        })?;
        let preprocess = Preprocess::resolve(spec.family, &spec.preprocess, layout);
        let model = Self {
            spec: spec.clone(),
            backend,
            session,
            input_hw,
            preprocess,
            passes: AtomicU64::new(0),
            pass_nanos: AtomicU64::new(0),
        };
        model.check_declared_outputs()?;
        Ok(model)
    }

    /// The processor inference runs on (`CPU`, `CUDA`, `TensorRT`).
    pub fn runs_on(&self) -> &'static str {
        self.session.runs_on()
    }

    /// How loading went, for the output stage to print.
    pub fn warnings(&self) -> &[String] {
        self.session.warnings()
    }

    pub fn input_hw(&self) -> [u32; 2] {
        self.input_hw
    }

    pub fn preprocess(&self) -> &Preprocess {
        &self.preprocess
    }

    /// One forward pass read twice: for mAP as the family's validator, for the impact rule as
    /// its predictor (see `ImageDetections`).
    pub fn detect(&self, image: &RgbImage) -> Result<ImageDetections, ModelError> {
        let (outputs, geometry) = self.forward_boxes(image)?;
        let confidence = self.spec.confidence;
        Ok(match self.spec.family.val_selection() {
            Some(val) => ImageDetections {
                val: self.decode(&outputs, geometry, self.val_params(EVAL_CONFIDENCE, val))?,
                shown: self.decode(&outputs, geometry, self.params(confidence))?,
            },
            None => {
                let val = self.decode(&outputs, geometry, self.params(EVAL_CONFIDENCE))?;
                let shown = val.iter().filter(|d| d.score > confidence).copied().collect();
                ImageDetections { val, shown }
            }
        })
    }

    /// Detections scoring above `min_score`, best first, in original image pixels, selected as
    /// the family's predictor does (`yolo predict`: one label per box).
    pub fn predict_above(&self, image: &RgbImage, min_score: f32) -> Result<Vec<Detection>, ModelError> {
        let (outputs, geometry) = self.forward_boxes(image)?;
        self.decode(&outputs, geometry, self.params(min_score))
    }

    /// As `predict_above`, but every class above `min_score` may label a box, as the YOLO
    /// validators select them (the model's `iou` and `max_detections` still apply).
    pub fn predict_multi_label_above(&self, image: &RgbImage, min_score: f32) -> Result<Vec<Detection>, ModelError> {
        let (outputs, geometry) = self.forward_boxes(image)?;
        self.decode(&outputs, geometry, DecodeParams { multi_label: true, ..self.params(min_score) })
    }

    fn forward_boxes(&self, image: &RgbImage) -> Result<(Vec<Tensor>, Geometry), ModelError> {
        if self.spec.family == Family::Classifier {
            return Err(self.task_error("gives class probabilities, not boxes: use `Model::classify`"));
        }
        let (input, geometry) = self.preprocess.apply(image, self.input_hw);
        Ok((self.run(input)?, geometry))
    }

    fn decode(
        &self,
        outputs: &[Tensor],
        geometry: Geometry,
        params: DecodeParams,
    ) -> Result<Vec<Detection>, ModelError> {
        let params = DecodeParams { to_image: Some(geometry), ..params };
        let mut detections = self.spec.family.decode(outputs, &params).map_err(|m| self.family_error(m))?;
        for d in &mut detections {
            d.bbox = geometry.to_image(d.bbox);
        }
        Ok(detections)
    }

    /// Class probabilities of a `classifier` model, in the order of its classes.
    pub fn classify(&self, image: &RgbImage) -> Result<Vec<f32>, ModelError> {
        if self.spec.family != Family::Classifier {
            return Err(self.task_error("gives boxes, not class probabilities: use `Model::detect`"));
        }
        let (input, _) = self.preprocess.apply(image, self.input_hw);
        let outputs = self.run(input)?;
        classifier::probabilities(&outputs, self.classes()).map_err(|m| self.family_error(m))
    }

    fn classes(&self) -> Option<usize> {
        // `shakedown predict` without `--classes` takes the count the outputs imply.
        Some(self.spec.classes.len()).filter(|&n| n > 0)
    }

    fn params(&self, min_score: f32) -> DecodeParams {
        DecodeParams {
            classes: self.classes(),
            min_score,
            iou: self.spec.iou,
            max_detections: self.spec.max_detections,
            input_hw: self.input_hw,
            to_image: None,
            multi_label: false,
        }
    }

    fn val_params(&self, min_score: f32, val: ValSelection) -> DecodeParams {
        DecodeParams { iou: val.iou, max_detections: val.max_detections, multi_label: true, ..self.params(min_score) }
    }

    /// Forward passes run so far and their mean time (the backend alone, without pre- and
    /// post-processing); several threads may have run them at once.
    pub fn mean_pass(&self) -> (u64, Duration) {
        let passes = self.passes.load(Ordering::Relaxed);
        let nanos = self.pass_nanos.load(Ordering::Relaxed);
        (passes, Duration::from_nanos(nanos.checked_div(passes).unwrap_or(0)))
    }

    /// The backend alone on an input already pre-processed: what benchmarks compare a suite's
    /// time with.
    pub fn run_prepared(&self, input: Tensor) -> Result<Vec<Tensor>, ModelError> {
        self.session.run(input).map_err(|message| ModelError::Run { model: self.spec.name.clone(), message })
    }

    /// Run the graph; outputs that are malformed or hold NaN are errors, never detections.
    fn run(&self, input: Tensor) -> Result<Vec<Tensor>, ModelError> {
        let started = Instant::now();
        let outputs =
            self.session.run(input).map_err(|message| ModelError::Run { model: self.spec.name.clone(), message })?;
        self.pass_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.passes.fetch_add(1, Ordering::Relaxed);
        for t in &outputs {
            if t.data.len() != t.shape.iter().product::<usize>() {
                return Err(ModelError::Run {
                    model: self.spec.name.clone(),
                    message: format!("output `{}` has {} values for shape {:?}", t.name, t.data.len(), t.shape),
                });
            }
            let nan = t.data.iter().filter(|v| v.is_nan()).count();
            if nan > 0 {
                return Err(ModelError::InvalidOutput {
                    model: self.spec.name.clone(),
                    message: format!("output `{}` {:?} holds {nan} NaN of {} values", t.name, t.shape, t.data.len()),
                });
            }
        }
        Ok(outputs)
    }

    /// When the graph declares every output dimension, decode zeros of those shapes so that a
    /// model that does not fit its family fails at load time rather than on its first image.
    fn check_declared_outputs(&self) -> Result<(), ModelError> {
        let declared = &self.session.signature().output_shapes;
        let Some(shapes) =
            declared.iter().map(|s| s.iter().copied().collect::<Option<Vec<usize>>>()).collect::<Option<Vec<_>>>()
        else {
            return Ok(());
        };
        if shapes.is_empty() || shapes.iter().any(|s| s.iter().product::<usize>() > 1 << 26) {
            return Ok(());
        }
        let names = &self.session.signature().output_names;
        let zeros: Vec<Tensor> = shapes
            .into_iter()
            .enumerate()
            .map(|(i, shape)| Tensor {
                name: names.get(i).cloned().unwrap_or_default(),
                data: vec![0.0; shape.iter().product()],
                shape,
            })
            .collect();
        let checked = match self.spec.family {
            Family::Classifier => classifier::probabilities(&zeros, self.classes()).map(drop),
            family => family.decode(&zeros, &self.params(f32::INFINITY)).map(drop),
        };
        checked.map_err(|m| self.family_error(m))
    }

    fn family_error(&self, message: String) -> ModelError {
        ModelError::Family { model: self.spec.name.clone(), family: self.spec.family.name(), message }
    }

    fn task_error(&self, message: &str) -> ModelError {
        ModelError::Task { model: self.spec.name.clone(), family: self.spec.family.name(), message: message.into() }
    }
}

/// Set up the backends' process-wide switches; entry points call it before any thread starts.
pub fn prepare_process() {
    #[cfg(feature = "tract")]
    tract::avoid_crashing_kernels();
}

/// A declared shape with `?` for free dimensions: `[1, 3, ?, ?]`.
fn dims(shape: &[Option<usize>]) -> String {
    let each: Vec<String> = shape.iter().map(|d| d.map_or("?".into(), |d| d.to_string())).collect();
    format!("[{}]", each.join(", "))
}
