//! `shakedown predict`: run one model on images and print its detections, as COCO results
//! (`--json`, the input of `shakedown eval`) or as a short table.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::json;

use crate::config::Config;
use crate::dataset::coco::{self, CocoFile};
use crate::errors::{DatasetError, Error};
use crate::model::{Model, EVAL_CONFIDENCE};
use crate::onnx;
use crate::suite::{self, ModelSpec};
use crate::vocab::boxes::Detection;
use crate::vocab::{self, Backend, Family};

/// What to predict with and on (the command line of `shakedown predict`); `None` takes the
/// suite's value, then the default.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PredictArgs {
    /// The ONNX model (or the one --suite names).
    #[arg(long, value_name = "MODEL.onnx")]
    pub model: Option<PathBuf>,
    /// Its family (see `shakedown schema`); optional when the export's metadata says it.
    #[arg(long)]
    pub family: Option<String>,
    /// Class names in the model's output order, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "A,B,C")]
    pub classes: Option<Vec<String>>,
    /// Take the model (path, family, classes, thresholds, preprocess) from a suite file.
    #[arg(long, value_name = "SUITE.yaml")]
    pub suite: Option<PathBuf>,
    /// The model's name in --suite (default: its only model).
    #[arg(long)]
    pub model_name: Option<String>,
    /// Lowest score printed (default 0.001 with --json, as COCO evaluation wants; else the
    /// model's confidence, 0.25).
    #[arg(long)]
    pub conf: Option<f32>,
    /// NMS IoU threshold (default the model's, 0.7).
    #[arg(long)]
    pub iou: Option<f32>,
    /// Network input size for models declared with a dynamic one.
    #[arg(long, value_name = "H,W", value_parser = parse_hw)]
    pub input_size: Option<[u32; 2]>,
    /// COCO ground truth: image ids from its file names, category ids from its category names.
    #[arg(long, value_name = "GT.json")]
    pub gt: Option<PathBuf>,
    /// Print COCO results json.
    #[arg(long)]
    pub json: bool,
    /// Let every class above --conf label a box, as `yolo val` and yolov5's val.py select
    /// the detections they score (yolov8 and yolov5 families; the suite's mAP is computed
    /// so). Without it one label per box, as `yolo predict`.
    #[arg(long)]
    pub multi_label: bool,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
}

/// Parse `--input-size H,W`.
pub fn parse_hw(text: &str) -> Result<[u32; 2], String> {
    let parts: Vec<&str> = text.split([',', 'x']).map(str::trim).collect();
    match parts.as_slice() {
        [h, w] => match (h.parse::<u32>(), w.parse::<u32>()) {
            (Ok(h @ 1..=8192), Ok(w @ 1..=8192)) => Ok([h, w]),
            _ => Err(format!("`{text}` is not HEIGHT,WIDTH in pixels (1 to 8192)")),
        },
        _ => Err(format!("`{text}` is not HEIGHT,WIDTH, e.g. 640,640")),
    }
}

/// Run the model on every image; the text to print.
pub fn run(args: &PredictArgs) -> Result<String, Error> {
    if args.images.is_empty() {
        return Err(Error::Usage("give at least one IMAGE".into()));
    }
    let (spec, backend) = model_spec(args)?;
    let conf = args.conf.unwrap_or(if args.json { EVAL_CONFIDENCE } else { spec.confidence });
    if !(0.0..=1.0).contains(&conf) {
        return Err(Error::Usage(format!("--conf must be between 0 and 1, got {conf}")));
    }
    if spec.family == Family::Classifier {
        return classify(args, &spec, backend);
    }
    let gt = args.gt.as_deref().map(coco::read_annotations).transpose()?;
    let image_ids: Vec<Value> = args
        .images
        .iter()
        .map(|path| match (&gt, &args.gt) {
            (Some(gt), Some(gt_path)) => image_id(gt, gt_path, path).map(Value::from),
            _ => Ok(Value::from(file_name(path))),
        })
        .collect::<Result<_, _>>()?;
    let categories = category_ids(&spec.classes, gt.as_ref());
    let model = load(&spec, backend)?;
    let predictions = on_each_image(&args.images, |image| match args.multi_label {
        true => model.predict_multi_label_above(image, conf),
        false => model.predict_above(image, conf),
    })?;
    Ok(if args.json {
        coco_results(&image_ids, &predictions, &categories)
    } else {
        table(&args.images, &predictions, &spec.classes) + &speed(&model)
    })
}

type Value = serde_json::Value;

/// The model from `--suite`/`--model-name` and the flags, and the backend to run it on.
fn model_spec(args: &PredictArgs) -> Result<(ModelSpec, Backend), Error> {
    let env = Config::get()?.backend;
    let (mut spec, backend) = match &args.suite {
        Some(path) => {
            let suite = suite::load(path, env.map(Backend::name))?;
            let names: Vec<&str> = suite.models.iter().map(|m| m.name.as_str()).collect();
            let found = match &args.model_name {
                Some(name) => suite.models.iter().find(|m| &m.name == name).ok_or_else(|| {
                    let help = vocab::did_you_mean(name, "models", names.iter().copied());
                    Error::Usage(format!("{} has no model `{name}`; {help}", path.display()))
                })?,
                None if suite.models.len() == 1 => &suite.models[0],
                None => {
                    return Err(Error::Usage(format!(
                        "{} lists several models: choose one with --model-name ({})",
                        path.display(),
                        names.join(", ")
                    )))
                }
            };
            (found.clone(), suite.backend)
        }
        None => {
            let Some(model) = &args.model else {
                return Err(Error::Usage("give --model (and --family unless its metadata says it), or --suite".into()));
            };
            if !model.is_file() {
                return Err(Error::Usage(format!("model file {} does not exist", model.display())));
            }
            let backend = env.unwrap_or_default();
            let name = model.file_stem().map_or("model".into(), |s| s.to_string_lossy().into_owned());
            // An ultralytics export names its classes and task: --classes and --family may be left out.
            let facts = onnx::inspect(model).ok().and_then(|f| f.ultralytics()).unwrap_or_default();
            let family = match (&args.family, facts.family) {
                (Some(_), _) => Family::Yolov8, // set from the flag below
                (None, Some(family)) => family,
                (None, None) => {
                    return Err(Error::Usage(format!(
                        "give --family: {} does not say its task in its metadata",
                        model.display()
                    )))
                }
            };
            let mut spec = ModelSpec::new(name, model.clone(), family, facts.classes);
            spec.input_size = facts.input_size.filter(|_| args.input_size.is_none());
            (spec, backend)
        }
    };
    if let Some(model) = &args.model {
        spec.path = model.clone();
    }
    if let Some(name) = &args.family {
        spec.family = Family::from_name(name).ok_or_else(|| {
            let help = vocab::did_you_mean(name, "families", Family::NAMES.iter().copied());
            Error::Usage(format!("unknown family `{name}`; {help}"))
        })?;
    }
    if let Some(classes) = &args.classes {
        spec.classes = classes.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
    }
    if let Some(iou) = args.iou {
        if !(0.0..=1.0).contains(&iou) {
            return Err(Error::Usage(format!("--iou must be between 0 and 1, got {iou}")));
        }
        spec.iou = iou;
    }
    if args.input_size.is_some() {
        spec.input_size = args.input_size;
    }
    if !spec.path.is_file() {
        return Err(Error::Usage(format!("model file {} does not exist", spec.path.display())));
    }
    Ok((spec, backend))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The id of `image` in the ground truth at `gt_path`: the image whose `file_name` ends its path.
fn image_id(gt: &CocoFile, gt_path: &Path, image: &Path) -> Result<u64, Error> {
    gt.image_id_of(image).ok_or_else(|| {
        Error::Usage(format!(
            "image {} is not listed in {} (no `file_name` ends its path)",
            image.display(),
            gt_path.display()
        ))
    })
}

/// Category id of each class: by name when the classes name the ground truth's categories
/// (classes it lacks map to nothing, their detections are dropped), else the class index.
fn category_ids(classes: &[String], gt: Option<&CocoFile>) -> Box<dyn Fn(usize) -> Option<u64>> {
    let by_name: Vec<Option<u64>> = match gt {
        Some(gt) => classes.iter().map(|c| gt.categories.iter().find(|cat| &cat.name == c).map(|cat| cat.id)).collect(),
        None => Vec::new(),
    };
    if by_name.iter().any(Option::is_some) {
        Box::new(move |class| by_name.get(class).copied().flatten())
    } else {
        Box::new(|class| Some(class as u64))
    }
}

/// `[{image_id, category_id, bbox: [x, y, w, h], score}, …]`, one detection a line; 3 decimals
/// for pixels and 5 for scores, as ultralytics writes them.
fn coco_results(
    image_ids: &[Value],
    predictions: &[Vec<Detection>],
    category: &dyn Fn(usize) -> Option<u64>,
) -> String {
    let round = |v: f32, places: i32| {
        let f = 10f64.powi(places);
        (v as f64 * f).round() / f
    };
    let mut lines = Vec::new();
    for (image_id, detections) in image_ids.iter().zip(predictions) {
        for d in detections {
            let Some(category_id) = category(d.class) else { continue };
            let [x1, y1, x2, y2] = d.bbox;
            // Written by hand to keep COCO's key order (a json! map would sort the keys).
            let bbox = json!([round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)]);
            let score = json!(round(d.score, 5));
            lines.push(format!(
                "  {{\"image_id\": {image_id}, \"category_id\": {category_id}, \"bbox\": {bbox}, \"score\": {score}}}"
            ));
        }
    }
    if lines.is_empty() {
        "[]\n".into()
    } else {
        format!("[\n{}\n]\n", lines.join(",\n"))
    }
}

/// The model, its load-time warnings printed.
fn load(spec: &ModelSpec, backend: Backend) -> Result<Model, Error> {
    let model = Model::load(spec, backend)?;
    model.warnings().iter().for_each(|w| crate::output::terminal::warning(w));
    Ok(model)
}

/// `f` on every image, decoded, in parallel, in the order given.
fn on_each_image<T: Send>(
    images: &[PathBuf],
    f: impl Fn(&image::RgbImage) -> Result<T, crate::errors::ModelError> + Sync,
) -> Result<Vec<T>, Error> {
    images
        .par_iter()
        .map(|path| {
            let image = image::open(path)
                .map_err(|e| DatasetError::Image { path: path.clone(), message: e.to_string() })?
                .into_rgb8();
            Ok(f(&image)?)
        })
        .collect()
}

/// The mean forward pass, as ultralytics prints its speed line.
fn speed(model: &Model) -> String {
    let (passes, mean) = model.mean_pass();
    let threads = rayon::current_num_threads();
    format!(
        "speed: {:.1} ms inference per image on {} ({} {}, {passes} images, {threads} thread{})\n",
        mean.as_secs_f64() * 1e3,
        model.runs_on(),
        model.backend.name(),
        model.spec.path.display(),
        if threads == 1 { "" } else { "s" },
    )
}

/// How many classes `predict` shows per image for a classifier.
const TOP: usize = 5;

/// A classifier's top classes per image: a table, or with `--json` one object per image,
/// `{"image", "top": [{"class", "index", "probability"}]}`.
fn classify(args: &PredictArgs, spec: &ModelSpec, backend: Backend) -> Result<String, Error> {
    let model = load(spec, backend)?;
    let probabilities = on_each_image(&args.images, |image| model.classify(image))?;
    let name = |i: usize| spec.classes.get(i).cloned().unwrap_or_else(|| i.to_string());
    let top = |p: &[f32]| -> Vec<(usize, f32)> {
        crate::metrics::classification::ranked(p).into_iter().take(TOP).map(|i| (i, p[i])).collect()
    };
    if args.json {
        let images: Vec<Value> = args
            .images
            .iter()
            .zip(&probabilities)
            .map(|(path, p)| {
                let top: Vec<Value> = top(p)
                    .into_iter()
                    .map(|(i, prob)| json!({ "class": name(i), "index": i, "probability": prob }))
                    .collect();
                json!({ "image": file_name(path), "top": top })
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&images).expect("json values serialise") + "\n");
    }
    let mut out = String::new();
    for (path, p) in args.images.iter().zip(&probabilities) {
        out.push_str(&format!("{}:\n", path.display()));
        for (i, prob) in top(p) {
            out.push_str(&format!("  {:<24} {prob:>7.4}\n", name(i)));
        }
    }
    Ok(out + &speed(&model))
}

fn table(images: &[PathBuf], predictions: &[Vec<Detection>], classes: &[String]) -> String {
    let mut out = String::new();
    for (path, detections) in images.iter().zip(predictions) {
        let count = detections.len();
        out.push_str(&format!("{}: {count} detection{}\n", path.display(), if count == 1 { "" } else { "s" }));
        if count > 0 {
            out.push_str(&format!(
                "  {:<16} {:>6} {:>8} {:>8} {:>8} {:>8}\n",
                "class", "score", "x1", "y1", "x2", "y2"
            ));
        }
        for d in detections {
            let class = classes.get(d.class).cloned().unwrap_or_else(|| d.class.to_string());
            let [x1, y1, x2, y2] = d.bbox;
            out.push_str(&format!("  {class:<16} {:>6.3} {x1:>8.1} {y1:>8.1} {x2:>8.1} {y2:>8.1}\n", d.score));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_size_parses_height_then_width() {
        assert_eq!(parse_hw("480,640"), Ok([480, 640]));
        assert_eq!(parse_hw("320x320"), Ok([320, 320]));
        assert!(parse_hw("640").is_err());
        assert!(parse_hw("0,10").is_err());
    }

    #[test]
    fn image_ids_match_the_longest_file_name() {
        let image = |id, name: &str| coco::CocoImage { id, file_name: name.into() };
        let gt = CocoFile {
            images: vec![image(1, "a.jpg"), image(2, "val/a.jpg"), image(3, "b.jpg")],
            ..CocoFile::default()
        };
        let at = Path::new("gt.json");
        assert_eq!(image_id(&gt, at, Path::new("data/val/a.jpg")).unwrap(), 2);
        assert_eq!(image_id(&gt, at, Path::new("x/a.jpg")).unwrap(), 1);
        assert!(image_id(&gt, at, Path::new("ab.jpg")).is_err());
    }

    #[test]
    fn categories_by_name_else_by_index() {
        let category = |id, name: &str| coco::CocoCategory { id, name: name.into() };
        let gt = CocoFile { categories: vec![category(7, "circle"), category(9, "square")], ..CocoFile::default() };
        let classes: Vec<String> = ["square", "star"].map(String::from).to_vec();
        let map = category_ids(&classes, Some(&gt));
        assert_eq!((map(0), map(1)), (Some(9), None));
        let other: Vec<String> = ["cat"].map(String::from).to_vec();
        assert_eq!(category_ids(&other, Some(&gt))(0), Some(0));
        let results = coco_results(
            &[Value::from("a.jpg")],
            &[vec![Detection { bbox: [1.0, 2.0, 4.5, 8.0], score: 0.123456, class: 0 }]],
            &*map,
        );
        assert_eq!(
            results,
            "[\n  {\"image_id\": \"a.jpg\", \"category_id\": 9, \"bbox\": [1.0,2.0,3.5,6.0], \"score\": 0.12346}\n]\n"
        );
    }
}
