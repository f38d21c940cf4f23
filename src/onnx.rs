//! An ONNX file's envelope, read without a backend: whether it is ONNX at all, and the
//! `metadata_props` exporters write (ultralytics: class names, input size, task).
//!
//! The `ModelProto` protobuf is walked by hand, two levels deep: the graph's nodes give the
//! operators it uses (quantized, contrib), its first input the element type; initializers are
//! skipped by their length, so this costs one read of the file and no parsing of the network.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::vocab::Family;

/// What the file's envelope says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OnnxFile {
    pub ir_version: u64,
    pub producer: String,
    /// `metadata_props`, key → value.
    pub metadata: BTreeMap<String, String>,
    /// Every operator the graph uses.
    pub operators: BTreeSet<Operator>,
    /// The element type of the graph's first input.
    pub input_type: Option<ElementType>,
    /// Some weights are fp16 (`half=True` exports).
    pub half_weights: bool,
}

/// An operator: its domain (empty for standard ONNX) and type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Operator {
    pub domain: String,
    pub op_type: String,
}

impl Operator {
    /// Standard ONNX operators: the empty domain or `ai.onnx`.
    pub fn is_standard(&self) -> bool {
        self.domain.is_empty() || self.domain == "ai.onnx"
    }
}

impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.is_standard() {
            true => f.write_str(&self.op_type),
            false => write!(f, "{} ({})", self.op_type, self.domain),
        }
    }
}

/// The element types shakedown feeds (others are named by their ONNX number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    Float32,
    Float16,
    Other(u64),
}

impl ElementType {
    fn from_onnx(code: u64) -> Self {
        match code {
            1 => ElementType::Float32,
            10 => ElementType::Float16,
            other => ElementType::Other(other),
        }
    }
}

/// What an ultralytics export says about itself in its metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportFacts {
    /// Class names in output order (`names`).
    pub classes: Vec<String>,
    /// Network input `[height, width]` (`imgsz`).
    pub input_size: Option<[u32; 2]>,
    /// The family its `task` (and `end2end`) imply, when shakedown decodes that task.
    pub family: Option<Family>,
    /// `task` as written (`detect`, `classify`, `segment`, …).
    pub task: Option<String>,
}

/// Read `path`'s envelope; `Err` says why it is not an ONNX model.
pub fn inspect(path: &Path) -> Result<OnnxFile, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    parse(&bytes)
}

/// Walk the top-level fields of a `ModelProto`, and of its graph the operators and input type.
pub fn parse(bytes: &[u8]) -> Result<OnnxFile, String> {
    const NOT_ONNX: &str = "it is not an ONNX model (a protobuf ModelProto with a graph)";
    let mut file = OnnxFile::default();
    let mut graph = None;
    for (number, value) in fields(bytes).ok_or(NOT_ONNX)? {
        match (number, value) {
            (1, Value::Varint(v)) => file.ir_version = v,
            (2, Value::Bytes(body)) => file.producer = String::from_utf8_lossy(body).into_owned(),
            (7, Value::Bytes(body)) => graph = Some(body),
            (14, Value::Bytes(body)) => {
                let (k, v) = entry(body).ok_or(NOT_ONNX)?;
                file.metadata.insert(k, v);
            }
            _ => {}
        }
    }
    let graph = graph.filter(|_| file.ir_version > 0).ok_or(NOT_ONNX)?;
    // A graph that does not parse is left to the backend to describe.
    if let Some(graph) = fields(graph) {
        for (number, value) in graph {
            match (number, value) {
                // NodeProto: op_type 4, domain 7.
                (1, Value::Bytes(node)) => {
                    let text =
                        |n| bytes_of(node, n).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
                    file.operators.insert(Operator { domain: text(7), op_type: text(4) });
                }
                // TensorProto initializers: data_type 2.
                (5, Value::Bytes(tensor)) if !file.half_weights => {
                    file.half_weights = fields(tensor).into_iter().flatten().any(|f| {
                        matches!(f, (2, Value::Varint(code)) if ElementType::from_onnx(code) == ElementType::Float16)
                    });
                }
                // The first ValueInfoProto input: type 2 → tensor_type 1 → elem_type 1.
                (11, Value::Bytes(input)) if file.input_type.is_none() => {
                    file.input_type = bytes_of(input, 2)
                        .and_then(|t| bytes_of(t, 1))
                        .and_then(|t| {
                            fields(t)?.into_iter().find_map(|f| match f {
                                (1, Value::Varint(v)) => Some(v),
                                _ => None,
                            })
                        })
                        .map(ElementType::from_onnx);
                }
                _ => {}
            }
        }
    }
    Ok(file)
}

/// A protobuf field's value: a varint or a length-delimited body (fixed-width ones are skipped).
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// Every field of one protobuf message, in order; `None` when it is not one.
fn fields(bytes: &[u8]) -> Option<Vec<(u64, Value<'_>)>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        let (number, wire) = (key >> 3, key & 7);
        if number == 0 {
            return None;
        }
        let value = match wire {
            0 => Value::Varint(varint(bytes, &mut at)?),
            1 | 5 => {
                at = at.checked_add(if wire == 1 { 8 } else { 4 }).filter(|&a| a <= bytes.len())?;
                Value::Fixed
            }
            2 => {
                let len = usize::try_from(varint(bytes, &mut at)?).ok()?;
                let end = at.checked_add(len).filter(|&e| e <= bytes.len())?;
                let body = &bytes[at..end];
                at = end;
                Value::Bytes(body)
            }
            _ => return None,
        };
        out.push((number, value));
    }
    Some(out)
}

/// The first length-delimited field `number` of a message.
fn bytes_of(message: &[u8], number: u64) -> Option<&[u8]> {
    fields(message)?.into_iter().find_map(|(n, v)| match v {
        Value::Bytes(b) if n == number => Some(b),
        _ => None,
    })
}

/// A protobuf varint at `at`, advancing it.
fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// A `StringStringEntryProto`: (key, value).
fn entry(body: &[u8]) -> Option<(String, String)> {
    let (mut at, mut key, mut value) = (0, String::new(), String::new());
    while at < body.len() {
        let tag = varint(body, &mut at)?;
        if tag & 7 != 2 {
            return None;
        }
        let len = usize::try_from(varint(body, &mut at)?).ok()?;
        let text = String::from_utf8_lossy(body.get(at..at.checked_add(len)?)?).into_owned();
        at += len;
        match tag >> 3 {
            1 => key = text,
            2 => value = text,
            _ => {}
        }
    }
    Some((key, value))
}

impl OnnxFile {
    /// The ultralytics facts, when the metadata has them (`names` at least).
    pub fn ultralytics(&self) -> Option<ExportFacts> {
        let names = self.metadata.get("names")?;
        let classes = python_dict_values(names)?;
        let input_size = self.metadata.get("imgsz").and_then(|s| {
            let n: Vec<u32> =
                s.trim_matches(['[', ']', ' ']).split(',').filter_map(|v| v.trim().parse().ok()).collect();
            match n.as_slice() {
                [h, w] => Some([*h, *w]),
                [s] => Some([*s, *s]),
                _ => None,
            }
        });
        let task = self.metadata.get("task").cloned();
        // RT-DETR exports say `detect` too: ultralytics 8.4 names the head (`RTDETRDecoder`);
        // older exports only the model in the description (`… rtdetr-l model …`, `RT-DETR`).
        let rtdetr = self.metadata.get("head").is_some_and(|h| h == "RTDETRDecoder")
            || self.metadata.get("description").is_some_and(|d| {
                let d = d.to_ascii_lowercase();
                d.contains("rt-detr") || d.contains("rtdetr")
            });
        let family = match task.as_deref() {
            Some("classify") => Some(Family::Classifier),
            Some("detect") if rtdetr => Some(Family::Rtdetr),
            Some("detect") => Some(Family::Yolov8),
            _ => None,
        };
        Some(ExportFacts { classes, input_size, family, task })
    }
}

/// The values of a Python dict literal with integer keys, in key order:
/// `{0: 'person', 1: "bicycle"}` → `[person, bicycle]`. `None` when it is not one.
fn python_dict_values(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut entries: Vec<(u64, String)> = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once(':')?;
        let key: u64 = key.trim().parse().ok()?;
        let after = after.trim_start();
        let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let body = &after[1..];
        let end = body.find(quote)?;
        entries.push((key, body[..end].to_owned()));
        rest = body[end + 1..].trim_start().trim_start_matches(',').trim_start();
    }
    entries.sort_by_key(|(k, _)| *k);
    let contiguous = entries.iter().enumerate().all(|(i, (k, _))| *k == i as u64);
    contiguous.then(|| entries.into_iter().map(|(_, v)| v).collect())
}

/// The envelope of an ONNX model with `metadata`, for tests: ir_version 8, an empty graph.
#[cfg(test)]
pub(crate) fn envelope(metadata: &[(&str, &str)]) -> Vec<u8> {
    let field = |number: u64, body: &[u8]| {
        let mut out = vec![((number << 3) | 2) as u8, body.len() as u8];
        out.extend_from_slice(body);
        out
    };
    let mut bytes = vec![0x08, 0x08];
    bytes.extend(field(2, b"pytorch"));
    bytes.extend(field(7, b"\x0a\x00"));
    for (k, v) in metadata {
        let entry = [field(1, k.as_bytes()), field(2, v.as_bytes())].concat();
        bytes.extend(field(14, &entry));
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A protobuf field: key, then a varint or length-delimited body.
    fn field(number: u64, body: &[u8]) -> Vec<u8> {
        let mut out = vec![((number << 3) | 2) as u8, body.len() as u8];
        out.extend_from_slice(body);
        out
    }

    fn model(metadata: &[(&str, &str)]) -> Vec<u8> {
        let mut bytes = vec![0x08, 0x08]; // ir_version 8
        bytes.extend(field(2, b"pytorch"));
        bytes.extend(field(7, b"\x0a\x00")); // a graph, skipped by length
        for (k, v) in metadata {
            let entry = [field(1, k.as_bytes()), field(2, v.as_bytes())].concat();
            bytes.extend(field(14, &entry));
        }
        bytes
    }

    #[test]
    fn reads_ultralytics_metadata() {
        let bytes = model(&[
            ("names", "{0: 'circle', 1: \"square\", 2: 'triangle'}"),
            ("imgsz", "[320, 320]"),
            ("task", "detect"),
        ]);
        let file = parse(&bytes).unwrap();
        assert_eq!((file.ir_version, file.producer.as_str()), (8, "pytorch"));
        let facts = file.ultralytics().unwrap();
        assert_eq!(facts.classes, ["circle", "square", "triangle"]);
        assert_eq!(facts.input_size, Some([320, 320]));
        assert_eq!(facts.family, Some(Family::Yolov8));
        assert_eq!(parse(&model(&[])).unwrap().ultralytics(), None);
        // RT-DETR: by its head (8.4), or by the model named in the description.
        let names = ("names", "{0: 'a'}");
        for rtdetr in [("head", "RTDETRDecoder"), ("description", "Ultralytics rtdetr-l model trained on coco.yaml")] {
            let facts = parse(&model(&[names, ("task", "detect"), rtdetr])).unwrap().ultralytics().unwrap();
            assert_eq!(facts.family, Some(Family::Rtdetr), "{rtdetr:?}");
        }
        let yolo = [names, ("task", "detect"), ("head", "Detect"), ("description", "Ultralytics YOLO11n model")];
        assert_eq!(parse(&model(&yolo)).unwrap().ultralytics().unwrap().family, Some(Family::Yolov8));
    }

    #[test]
    fn refuses_what_is_not_onnx() {
        for bytes in [&b"{\"images\": []}"[..], b"", b"\x08\x08", b"\xff\xff\xff", b"\x3a\x10abc"] {
            assert!(parse(bytes).unwrap_err().contains("not an ONNX model"), "{bytes:?}");
        }
    }

    #[test]
    fn the_committed_models_are_onnx() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shapes/models/yolov8n.onnx");
        let file = inspect(&path).unwrap();
        assert!(file.ir_version > 0);
        let facts = file.ultralytics().expect("an ultralytics export");
        assert_eq!(facts.classes, ["circle", "square", "triangle"]);
    }

    #[test]
    fn reads_operators_and_input_types() {
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let read = |p: &str| inspect(&models.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        let fp32 = read("shapes/models/yolov8-tiny.onnx");
        assert_eq!((fp32.input_type, fp32.half_weights), (Some(ElementType::Float32), false));
        assert!(fp32.operators.iter().any(|o| o.op_type == "Conv" && o.is_standard()));
        let half = read("shapes/models/yolov8-tiny-fp16.onnx");
        assert_eq!((half.input_type, half.half_weights), (Some(ElementType::Float32), true));
        let half_io = read("shapes/models/yolov8-tiny-fp16-io.onnx");
        assert_eq!(half_io.input_type, Some(ElementType::Float16));
        let mobilenet = read("real-photos/mobilenetv2-12-int8.onnx");
        assert!(mobilenet.operators.iter().any(|o| o.op_type == "QLinearConv"));
        assert!(mobilenet.operators.iter().any(|o| o.op_type == "QLinearAdd" && !o.is_standard()));
        let contrib = Operator { domain: "com.microsoft".into(), op_type: "QLinearAdd".into() };
        assert_eq!((contrib.is_standard(), contrib.to_string().as_str()), (false, "QLinearAdd (com.microsoft)"));
    }

    #[test]
    fn python_dicts() {
        assert_eq!(python_dict_values("{0: 'a', 1: 'b, c'}"), Some(vec!["a".into(), "b, c".into()]));
        assert_eq!(python_dict_values("{1: 'a'}"), None, "classes start at 0");
        assert_eq!(python_dict_values("[0, 1]"), None);
    }
}
