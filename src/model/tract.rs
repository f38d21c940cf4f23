//! tract backend: pure-Rust ONNX inference, the default (nothing to install).

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::DimLike;

use super::{Session, Tensor};
use crate::errors::ModelError;

struct TractSession {
    plan: Arc<TypedRunnableModel>,
    input_shape: Vec<Option<usize>>,
}

pub fn load(path: &Path, input_hw: Option<[u32; 2]>) -> Result<Box<dyn Session>, ModelError> {
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
        model = model
            .with_input_fact(0, f32::fact([1, 3, h as usize, w as usize]).into())
            .map_err(|e| fail(format!("{e:#}")))?;
    }
    let typed = model.into_optimized().map_err(|e| fail(format!("{e:#}")))?;
    let input_shape =
        typed.input_fact(0).map_err(|e| fail(format!("{e:#}")))?.shape.iter().map(|d| d.to_usize().ok()).collect();
    let plan = typed.into_runnable().map_err(|e| fail(format!("{e:#}")))?;
    Ok(Box::new(TractSession { plan, input_shape }))
}

impl Session for TractSession {
    fn input_shape(&self) -> Vec<Option<usize>> {
        self.input_shape.clone()
    }

    fn run(&self, input: Tensor) -> Result<Vec<Tensor>, String> {
        let tensor =
            tract_onnx::prelude::Tensor::from_shape(&input.shape, &input.data).map_err(|e| format!("{e:#}"))?;
        let outputs = self.plan.run(tvec!(tensor.into())).map_err(|e| format!("{e:#}"))?;
        outputs
            .iter()
            .map(|o| {
                let view = o.to_plain_array_view::<f32>().map_err(|e| format!("{e:#}"))?;
                Ok(Tensor { shape: view.shape().to_vec(), data: view.iter().copied().collect() })
            })
            .collect()
    }
}
