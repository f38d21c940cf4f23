//! The typed vocabulary every stage shares: families, backends, risk factors, impact rules,
//! pre-processing choices and score names, each one enum with its spelling in suites.
//!
//! One macro writes each enum's name table, so the suite schema (schemars), the parser (serde),
//! the diagnostics ("did you mean") and the terminal all spell a name the same way.

use std::fmt;

/// An enum whose every variant has one spelling in suite files and output.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize, schemars::JsonSchema,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every spelling, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The spelling in suite files and output.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The variant spelt `name`.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.name() == name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

vocabulary! {
    /// How a model's outputs are laid out, and so how they are decoded and its input prepared.
    pub enum Family {
        /// ultralytics YOLOv8 and later heads (YOLO11 too): one output `[1, 4 + C, N]`, boxes
        /// `cx, cy, w, h`; end-to-end exports (YOLOv10, YOLO26, `end2end=True`) `[1, N, 6]` of
        /// `x1, y1, x2, y2, score, class` are recognised by their shape, as ultralytics does.
        Yolov8 = "yolov8",
        /// yolov5 anchor heads: one output `[1, N, 5 + C]`, boxes, objectness, class probabilities.
        Yolov5 = "yolov5",
        /// YOLOX raw heads: one output `[1, N, 5 + C]` of grid offsets, log sizes, objectness and
        /// class probabilities over strides 8, 16, 32; BGR 0-255 input pasted top-left.
        Yolox = "yolox",
        /// DETR: `logits [1, Q, C + 1]` and `pred_boxes [1, Q, 4]` normalised, no NMS.
        Detr = "detr",
        /// ultralytics RT-DETR: one output `[1, Q, 4 + C]` of normalised `cx, cy, w, h` and class
        /// scores (`[1, Q, 6]` of `cx, cy, w, h, score, class` since ultralytics 8.4), no NMS.
        Rtdetr = "rtdetr",
        /// Exports with NMS inside: `boxes [1, N, 4]`, `scores [1, N]`, `labels [1, N]`.
        BoxesScoresLabels = "boxes-scores-labels",
        /// Image classifiers: logits or probabilities `[1, C]`.
        Classifier = "classifier",
    }
}

vocabulary! {
    /// Which runtime executes the ONNX graph. Chosen per suite or by `SHAKEDOWN_BACKEND`.
    #[derive(Default)]
    pub enum Backend {
        /// tract: pure Rust, embedded, nothing to install.
        #[default]
        Tract = "tract",
        /// ONNX Runtime through `ort`, loaded from `ORT_DYLIB_PATH`, on the CPU.
        Ort = "ort",
        /// ONNX Runtime with its CUDA execution provider (feature `cuda`); CPU if unavailable.
        OrtCuda = "ort-cuda",
        /// ONNX Runtime with TensorRT, then CUDA (feature `tensorrt`); CPU if unavailable.
        OrtTensorRt = "ort-tensorrt",
    }
}

impl Backend {
    /// The backend spelt `name`, accepting `onnxruntime` for `ort`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "onnxruntime" => Some(Backend::Ort),
            other => Self::from_name(other),
        }
    }

    /// The cargo feature a build needs for this backend.
    pub fn feature(self) -> &'static str {
        match self {
            Backend::Tract => "tract",
            Backend::Ort => "ort",
            Backend::OrtCuda => "cuda",
            Backend::OrtTensorRt => "tensorrt",
        }
    }
}

vocabulary! {
    /// A family of everyday image changes that a model should survive.
    pub enum RiskFactor {
        /// Defocus, motion, zoom and glass blur.
        Blur = "blur",
        /// Sensor and transmission noise.
        Noise = "noise",
        /// Compression, pixelation, downscaling, sharpening.
        ImageQuality = "image_quality",
        /// Exposure, contrast, gamma, glare.
        Lighting = "lighting",
        /// Saturation, hue, colour casts, channel order.
        Color = "color",
        /// Flips, rotation, perspective, crops, translation, scale.
        Geometry = "geometry",
        /// Fog, snow, frost, spatter.
        Weather = "weather",
        /// Cutout, dark and oil spots, packet loss.
        Occlusion = "occlusion",
        /// ISO noise, dead pixels, chromatic aberration, vignetting.
        Sensor = "sensor",
    }
}

vocabulary! {
    /// When an image counts as heavily impacted by a perturbation.
    pub enum ImpactRuleKind {
        /// F1 against the labels drops by more than `delta`.
        GroundTruth = "ground_truth",
        /// F1 of the perturbed predictions against the clean ones is below `1 - delta`.
        Consistency = "consistency",
        /// Classifiers: the top-1 class changes, or the true class's probability drops by more
        /// than `delta`.
        Classification = "classification",
    }
}

vocabulary! {
    /// Which split of a YOLO dataset's data.yaml a suite runs on.
    #[derive(Default)]
    pub enum Split {
        Train = "train",
        #[default]
        Val = "val",
        Test = "test",
    }
}

vocabulary! {
    /// How an image is brought to the network input size.
    pub enum Resize {
        /// Keep the aspect ratio, centre, pad with grey 114.
        Letterbox = "letterbox",
        /// Scale each axis to the input size.
        Stretch = "stretch",
    }
}

vocabulary! {
    /// Order of the colour channels the network expects.
    pub enum Channels {
        Rgb = "rgb",
        Bgr = "bgr",
    }
}

vocabulary! {
    /// Memory layout of the input tensor.
    pub enum Layout {
        /// `[1, 3, H, W]`.
        Nchw = "nchw",
        /// `[1, H, W, 3]`.
        Nhwc = "nhwc",
    }
}

vocabulary! {
    /// A score a case measures, under the one name snapshots, results files and the terminal use.
    pub enum Score {
        /// Risk score: % of images heavily impacted (0 robust … 100 broken).
        Risk = "risk",
        /// COCO mAP@[.5:.95].
        Map = "map",
        /// COCO mAP@0.5.
        Map50 = "map50",
        /// COCO mAP@0.75.
        Map75 = "map75",
        /// COCO mAP@[.5:.95], small objects.
        MapSmall = "map_small",
        /// COCO mAP@[.5:.95], medium objects.
        MapMedium = "map_medium",
        /// COCO mAP@[.5:.95], large objects.
        MapLarge = "map_large",
        /// COCO mAR with 1 detection per image.
        Mar1 = "mar1",
        /// COCO mAR with 10 detections per image.
        Mar10 = "mar10",
        /// COCO mAR with 100 detections per image.
        Mar100 = "mar100",
        /// COCO mAR@100, small objects.
        MarSmall = "mar_small",
        /// COCO mAR@100, medium objects.
        MarMedium = "mar_medium",
        /// COCO mAR@100, large objects.
        MarLarge = "mar_large",
        /// A classifier's top-1 accuracy.
        Top1 = "top1",
        /// A classifier's top-5 accuracy.
        Top5 = "top5",
        /// Images a case saw (label-free clean cases record only this).
        Images = "images",
        /// A search's breaking point: the mildest value of its parameter at which the risk
        /// score passes the budget (in the parameter's unit).
        BreakingPoint = "breaking_point",
        /// A search that found no breaking point: the risk holds up to this value.
        HoldsTo = "holds_to",
        /// The resolution a search ended at (its tolerance is twice this).
        SearchStep = "search_step",
    }
}

impl Score {
    /// The 12 COCOeval stats, in pycocotools' order.
    pub const COCO: [Score; 12] = [
        Score::Map,
        Score::Map50,
        Score::Map75,
        Score::MapSmall,
        Score::MapMedium,
        Score::MapLarge,
        Score::Mar1,
        Score::Mar10,
        Score::Mar100,
        Score::MarSmall,
        Score::MarMedium,
        Score::MarLarge,
    ];

    /// How the terminal table heads it.
    pub fn label(self) -> &'static str {
        match self {
            Score::Risk => "risk",
            Score::Map => "mAP",
            Score::Map50 => "mAP@0.5",
            Score::Map75 => "mAP@0.75",
            Score::MapSmall => "mAP small",
            Score::MapMedium => "mAP medium",
            Score::MapLarge => "mAP large",
            Score::Mar1 => "mAR@1",
            Score::Mar10 => "mAR@10",
            Score::Mar100 => "mAR@100",
            Score::MarSmall => "mAR small",
            Score::MarMedium => "mAR medium",
            Score::MarLarge => "mAR large",
            Score::Top1 => "top-1",
            Score::Top5 => "top-5",
            Score::Images => "images",
            Score::BreakingPoint => "breaking point",
            Score::HoldsTo => "holds to",
            Score::SearchStep => "search step",
        }
    }

    /// Whether it is in points (0-100, the suite's risk tolerance applies) rather than a 0-1
    /// metric.
    pub fn is_risk(self) -> bool {
        self == Score::Risk
    }
}

/// The candidate closest to `name` by Jaro-Winkler similarity, when similar enough to suggest.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The help line of an unknown name: "did you mean `x`? WHAT: a, b, c".
pub fn did_you_mean<'a>(name: &str, what: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> String {
    let all: Vec<&str> = candidates.clone().into_iter().collect();
    match closest(name, candidates) {
        Some(close) => format!("did you mean `{close}`? {what}: {}", all.join(", ")),
        None => format!("{what}: {}", all.join(", ")),
    }
}

/// One box and one detection type, shared by models, metrics and output.
pub mod boxes {
    /// An axis-aligned box `[x1, y1, x2, y2]` in image pixels.
    pub type BBox = [f32; 4];

    /// One detected object, in original image pixels.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Detection {
        pub bbox: BBox,
        pub score: f32,
        /// Index into the model's class list.
        pub class: usize,
    }

    /// One image's detections, both read from one forward pass, in original image pixels.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct ImageDetections {
        /// What mAP scores: down to the evaluation threshold (0.001), selected as the family's
        /// validator does (`yolo val`, yolov5 `val.py`: every class above it may label a box).
        pub val: Vec<Detection>,
        /// What the impact rule reads: above the model's `confidence`, selected as the family's
        /// predictor does (`yolo predict`: one label per box).
        pub shown: Vec<Detection>,
    }

    /// Intersection over union of two `[x1, y1, x2, y2]` boxes (0 when the union is empty).
    pub fn iou(a: &BBox, b: &BBox) -> f32 {
        let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
        let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
        let inter = iw * ih;
        let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for f in Family::ALL {
            assert_eq!(Family::from_name(f.name()), Some(*f));
            assert_eq!(serde_json::to_string(f).unwrap(), format!("\"{}\"", f.name()));
        }
        for s in Score::ALL {
            assert_eq!(Score::from_name(s.name()), Some(*s));
        }
        assert_eq!(Backend::parse("onnxruntime"), Some(Backend::Ort));
        assert_eq!(RiskFactor::from_name("image_quality"), Some(RiskFactor::ImageQuality));
    }

    #[test]
    fn suggests_the_closest_name() {
        assert_eq!(closest("yolo8", Family::NAMES.iter().copied()), Some("yolov8"));
        assert_eq!(closest("zzzz", Family::NAMES.iter().copied()), None);
        assert_eq!(
            did_you_mean("rgbb", "takes", Channels::NAMES.iter().copied()),
            "did you mean `rgb`? takes: rgb, bgr"
        );
    }
}
