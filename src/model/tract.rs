//! tract backend: pure-Rust ONNX inference, the default (nothing to install).

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;
use tract_onnx::tract_hir::internal::DimLike;

use super::{contrib, Layout, Session, Signature, Tensor};
use crate::errors::ModelError;
use crate::onnx::{ElementType, OnnxFile};

struct TractSession {
    plan: Arc<TypedRunnableModel>,
    signature: Signature,
    /// The graph takes fp16 (a GPU `half=True` export): inputs are converted.
    half_input: bool,
    warnings: Vec<String>,
}

/// tract 0.23.9's AMX int8 matrix kernel (`avx512amx_mmm_i32_8x8`, chosen on CPUs with AMX,
/// Sapphire Rapids and later) crashes the process with SIGSEGV on the second forward pass of an
/// onnxruntime dynamic-quantized graph (ConvInteger). Nothing can catch that, so the kernel is
/// turned off before tract first probes the CPU, unless `TRACT_CPU_ISA` already says otherwise.
/// The cost: QLinearConv graphs run 2.4x slower on such CPUs (MobileNetV2 int8 205 -> 492 ms).
pub fn avoid_crashing_kernels() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TRACT_CPU_ISA").is_none() {
            // Entry points call this first, while the process has one thread.
            std::env::set_var("TRACT_CPU_ISA", "-amx-int8");
        }
    });
}

pub fn load(
    path: &Path,
    file: &OnnxFile,
    input_hw: Option<[u32; 2]>,
    layout: Option<Layout>,
) -> Result<Box<dyn Session>, ModelError> {
    let load_error = |message: String, help: &str| ModelError::Load {
        path: path.to_owned(),
        backend: "tract",
        message,
        help: Some(help.into()),
    };
    avoid_crashing_kernels();
    let contrib: Vec<String> =
        file.operators.iter().filter(|o| !o.is_standard() && !contrib::rewrites(o)).map(ToString::to_string).collect();
    if !contrib.is_empty() {
        return Err(load_error(
            format!("it uses operators outside standard ONNX, which tract does not implement: {}", contrib.join(", ")),
            "run it on ONNX Runtime, which implements them: SHAKEDOWN_BACKEND=ort (README, \"ONNX Runtime\")",
        ));
    }
    let fail = |message: String| {
        load_error(
            message,
            "tract needs static shapes: export with `dynamic=False` (ultralytics) or set `input_size` in the \
             suite; or try SHAKEDOWN_BACKEND=ort",
        )
    };
    let half_input = file.input_type == Some(ElementType::Float16);
    let graph = Graph {
        path,
        input_hw,
        layout,
        half_input,
        half: half_input || file.half_weights,
        contrib: file.operators.iter().any(contrib::rewrites),
    };
    let typed = match graph.optimized(false) {
        Ok(typed) => typed,
        // Shapes the exporter declared for inner values (`value_info`) can contradict the fixed
        // input size (a `batch_size` symbol against batch 1): tract infers them itself instead.
        Err(first) => graph.optimized(true).map_err(|_| fail(first))?,
    };
    // After the f16 → f32 translation the graph takes f32 whatever the file declares.
    let half_input = half_input && !graph.half;
    let dims = |fact: &TypedFact| fact.shape.iter().map(|d| d.to_usize().ok()).collect::<Vec<_>>();
    let input_shape = dims(typed.input_fact(0).map_err(|e| fail(format!("{e:#}")))?);
    let outlets = typed.output_outlets().map_err(|e| fail(format!("{e:#}")))?.to_vec();
    let mut output_shapes = Vec::new();
    let mut output_names = Vec::new();
    for outlet in outlets {
        output_shapes.push(dims(typed.outlet_fact(outlet).map_err(|e| fail(format!("{e:#}")))?));
        let name = typed.outlet_label(outlet).map_or_else(|| typed.node(outlet.node).name.clone(), str::to_owned);
        output_names.push(name);
    }
    let plan = typed.into_runnable().map_err(|e| fail(format!("{e:#}")))?;
    let signature = Signature { input_shape, output_shapes, output_names };
    Ok(Box::new(TractSession { plan, signature, half_input, warnings: quantized_warning(file) }))
}

/// What loading a graph takes.
struct Graph<'a> {
    path: &'a Path,
    input_hw: Option<[u32; 2]>,
    layout: Option<Layout>,
    /// The graph takes fp16.
    half_input: bool,
    /// The graph computes in fp16: widened to f32.
    half: bool,
    /// ONNX Runtime contrib operators to write as standard ones (`contrib.rs`).
    contrib: bool,
}

impl Graph<'_> {
    /// The graph parsed, sized and optimised.
    fn optimized(&self, ignore_value_info: bool) -> Result<TypedModel, String> {
        let onnx = tract_onnx::onnx().with_ignore_value_info(ignore_value_info);
        let err = |e: TractError| format!("{e:#}");
        let mut model = if self.contrib {
            let mut proto = onnx.proto_model_for_path(self.path).map_err(err)?;
            contrib::rewrite(&mut proto)?;
            let dir = self.path.parent().and_then(Path::to_str);
            onnx.parse(&proto, dir).map_err(err)?.model
        } else {
            onnx.model_for_path(self.path).map_err(err)?
        };
        if let Some([h, w]) = self.input_hw {
            let (h, w) = (h as usize, w as usize);
            let nhwc = match self.layout {
                Some(layout) => layout == Layout::Nhwc,
                None => declares_nhwc(&model),
            };
            let shape = if nhwc { [1, h, w, 3] } else { [1, 3, h, w] };
            let fact = if self.half_input { f16::fact(shape) } else { f32::fact(shape) };
            model = model.with_input_fact(0, fact.into()).map_err(err)?;
        }
        let mut typed = model.into_typed().map_err(err)?;
        if self.half {
            // tract has no fast fp16 kernels on most CPUs (a fp16 yolov8 ran 100x slower than its
            // fp32 original): the graph runs in f32 with the fp16 weights widened, exactly.
            let widen = tract_onnx::tract_core::transform::get_transform("f16_to_f32")
                .map_err(err)?
                .ok_or("tract lacks its f16_to_f32 transform")?;
            widen.transform(&mut typed).map_err(err)?;
        }
        typed.into_optimized().map_err(err)
    }
}

/// tract runs QLinearConv and QLinearMatMul on exact integer kernels, about 20x slower than the
/// float network (QDQ and dynamic-quantized graphs run within 1.5x of it; README "Quantized, fp16
/// and dynamic exports"); ONNX Runtime runs them faster than float. Said at load so that nobody
/// waits without knowing why.
fn quantized_warning(file: &OnnxFile) -> Vec<String> {
    let slow: Vec<&str> = file
        .operators
        .iter()
        .filter(|o| o.is_standard() && matches!(o.op_type.as_str(), "QLinearConv" | "QLinearMatMul"))
        .map(|o| o.op_type.as_str())
        .collect();
    if slow.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "int8 QOperator graph ({}): tract runs it about 20x slower than the float network; ONNX Runtime runs \
         it faster than float: SHAKEDOWN_BACKEND=ort",
        slow.join(", ")
    )]
}

/// Whether the graph's first input is declared `[.., .., .., 3]` with something else second.
fn declares_nhwc(model: &InferenceModel) -> bool {
    let Ok(fact) = model.input_fact(0) else { return false };
    let dims: Vec<Option<usize>> = fact.shape.dims().map(|d| d.concretize().and_then(|d| d.to_usize().ok())).collect();
    matches!(dims.as_slice(), [_, second, _, Some(3)] if *second != Some(3))
}

impl Session for TractSession {
    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn run(&self, input: Tensor) -> Result<Vec<Tensor>, String> {
        let mut tensor =
            tract_onnx::prelude::Tensor::from_shape(&input.shape, &input.data).map_err(|e| format!("{e:#}"))?;
        if self.half_input {
            tensor = tensor.cast_to::<f16>().map_err(|e| format!("{e:#}"))?.into_owned();
        }
        let outputs = self.plan.run(tvec!(tensor.into())).map_err(|e| format!("{e:#}"))?;
        outputs
            .iter()
            .enumerate()
            .map(|(i, o)| {
                // Integer outputs (labels of NMS-included exports) become f32 like the rest.
                let o = o.cast_to::<f32>().map_err(|e| format!("{e:#}"))?;
                let view = o.to_plain_array_view::<f32>().map_err(|e| format!("{e:#}"))?;
                Ok(Tensor {
                    name: self.signature.output_names.get(i).cloned().unwrap_or_default(),
                    shape: view.shape().to_vec(),
                    data: view.iter().copied().collect(),
                })
            })
            .collect()
    }
}
