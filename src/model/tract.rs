//! tract backend: pure-Rust ONNX inference, the default (nothing to install).

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;
use tract_onnx::tract_hir::internal::DimLike;

use super::{Layout, Session, Signature, Tensor};
use crate::errors::ModelError;

struct TractSession {
    plan: Arc<TypedRunnableModel>,
    signature: Signature,
}

pub fn load(path: &Path, input_hw: Option<[u32; 2]>, layout: Option<Layout>) -> Result<Box<dyn Session>, ModelError> {
    let fail = |message: String| ModelError::Load {
        path: path.to_owned(),
        backend: "tract",
        message,
        help: Some(
            "tract needs static shapes: export with `dynamic=False` (ultralytics) or set \
             `input_size` in the suite; or try `backend: ort`"
                .into(),
        ),
    };
    let mut model = tract_onnx::onnx().model_for_path(path).map_err(|e| fail(format!("{e:#}")))?;
    if let Some([h, w]) = input_hw {
        let (h, w) = (h as usize, w as usize);
        let nhwc = match layout {
            Some(layout) => layout == Layout::Nhwc,
            None => declares_nhwc(&model),
        };
        let shape = if nhwc { [1, h, w, 3] } else { [1, 3, h, w] };
        model = model.with_input_fact(0, f32::fact(shape).into()).map_err(|e| fail(format!("{e:#}")))?;
    }
    let typed = model.into_optimized().map_err(|e| fail(format!("{e:#}")))?;
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
    Ok(Box::new(TractSession { plan, signature: Signature { input_shape, output_shapes, output_names } }))
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

    fn run(&self, input: Tensor) -> Result<Vec<Tensor>, String> {
        let tensor =
            tract_onnx::prelude::Tensor::from_shape(&input.shape, &input.data).map_err(|e| format!("{e:#}"))?;
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
