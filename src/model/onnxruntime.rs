//! ONNX Runtime backend through `ort`, with the library loaded at run time (`ORT_DYLIB_PATH`).

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use half::f16;
use ort::session::Session as OrtSession;
use ort::value::{DynValue, PrimitiveTensorElementType, Tensor as OrtTensor, TensorElementType};

use super::{Session, Signature, Tensor};
use crate::config::{Config, ORT_DYLIB};
use crate::errors::ModelError;
use crate::onnx::{ElementType, OnnxFile};

/// One environment per process; `ort::init()` would panic when the library is missing, so the
/// library is located and loaded explicitly and a failure becomes an error.
fn environment() -> Result<&'static ort::environment::Environment, ModelError> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    let unavailable = |message: String| ModelError::Backend {
        backend: "ort",
        message,
        help: Some(format!(
            "install ONNX Runtime 1.31 (`pip install onnxruntime==1.31.1`) and set {ORT_DYLIB} to \
             its onnxruntime/capi/libonnxruntime.so.1.31.1, or use `SHAKEDOWN_BACKEND=tract`"
        )),
    };
    let env = ENV.get_or_init(|| {
        let config = Config::get().map_err(|e| e.to_string())?;
        let lib = config.ort_dylib.as_ref().ok_or_else(|| format!("{ORT_DYLIB} is not set"))?;
        if !lib.is_file() {
            return Err(format!("{ORT_DYLIB} points to {}, which does not exist", lib.display()));
        }
        ort::init_from(lib)
            .map_err(|e| format!("cannot load {}: {e}", lib.display()))?
            .with_name("shakedown")
            .build()
            .map_err(|e| format!("{e}"))
    });
    env.as_ref().map_err(|m| unavailable(m.clone()))
}

struct OrtBackendSession {
    // `Session::run` takes `&mut self`: on the CPU one session per worker thread, each running
    // one image on one core, so that no worker waits for another's inference; an accelerator
    // gets one session (the device runs one graph at a time anyway).
    sessions: Vec<Mutex<OrtSession>>,
    signature: Signature,
    runs_on: Accelerator,
    /// Why the session runs elsewhere than asked (an accelerator that could not start).
    warnings: Vec<String>,
    /// The graph takes fp16 (a GPU `half=True` export): inputs are converted.
    half_input: bool,
}

/// Where ONNX Runtime runs the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accelerator {
    Cpu,
    #[cfg(feature = "cuda")]
    Cuda,
    #[cfg(feature = "tensorrt")]
    TensorRt,
}

impl Accelerator {
    fn name(self) -> &'static str {
        match self {
            Accelerator::Cpu => "CPU",
            #[cfg(feature = "cuda")]
            Accelerator::Cuda => "CUDA",
            #[cfg(feature = "tensorrt")]
            Accelerator::TensorRt => "TensorRT",
        }
    }

    /// Execution providers to register, preferred first (ONNX Runtime adds the CPU last).
    fn providers(self) -> Vec<ort::ep::ExecutionProviderDispatch> {
        match self {
            Accelerator::Cpu => Vec::new(),
            #[cfg(feature = "cuda")]
            Accelerator::Cuda => vec![cuda()],
            #[cfg(feature = "tensorrt")]
            Accelerator::TensorRt => vec![
                ort::ep::TensorRT::default().build().error_on_failure(),
                #[cfg(feature = "cuda")]
                cuda(),
            ],
        }
    }
}

/// CUDA with cuDNN's heuristic choice of convolution algorithm: the default exhaustive search
/// times the candidates and can pick another one, with other rounding, from run to run; the
/// heuristic's pick is fixed for a GPU and a shape, so scores repeat.
#[cfg(feature = "cuda")]
fn cuda() -> ort::ep::ExecutionProviderDispatch {
    ort::ep::CUDA::default()
        .with_conv_algorithm_search(ort::ep::cuda::ConvAlgorithmSearch::Heuristic)
        .build()
        .error_on_failure()
}

/// ONNX Runtime resolves dynamic shapes itself: the input size and layout need no fixing. With
/// an accelerator that cannot start (no GPU, no CUDA libraries) the model runs on the CPU, with
/// a warning for the output stage: the scores are the same, only slower.
pub fn load(path: &Path, file: &OnnxFile, accelerator: Accelerator) -> Result<Box<dyn Session>, ModelError> {
    let env = environment()?;
    let fail =
        |e: ort::Error| ModelError::Load { path: path.to_owned(), backend: "ort", message: e.to_string(), help: None };
    // Workers run images in parallel, each on its own CPU session with one core; one
    // accelerator session takes every core for what stays on the CPU.
    let workers = rayon::current_num_threads().max(1);
    let on_cpu = accelerator == Accelerator::Cpu;
    let threads = if on_cpu { 1 } else { std::thread::available_parallelism().map_or(1, |n| n.get()) };
    let builder = || OrtSession::builder(env).map_err(fail)?.with_intra_threads(threads).map_err(|e| fail(e.into()));
    let providers = accelerator.providers();
    let mut warnings = Vec::new();
    let (session, runs_on) = if providers.is_empty() {
        (builder()?.commit_from_file(path).map_err(fail)?, Accelerator::Cpu)
    } else {
        match builder()?
            .with_execution_providers(&providers)
            .map_err(|e| e.into())
            .and_then(|mut b| b.commit_from_file(path))
        {
            Ok(session) => (session, accelerator),
            Err(e) => {
                warnings.push(format!(
                    "{} is unavailable for {} ({e}); running on the CPU",
                    accelerator.name(),
                    path.display()
                ));
                (builder()?.commit_from_file(path).map_err(fail)?, Accelerator::Cpu)
            }
        }
    };
    let input_shape = session
        .inputs()
        .first()
        .and_then(|i| i.dtype().tensor_shape())
        .map(|s| s.iter().map(|&d| usize::try_from(d).ok()).collect())
        .unwrap_or_default();
    let output_shapes = session
        .outputs()
        .iter()
        .map(|o| {
            o.dtype().tensor_shape().map(|s| s.iter().map(|&d| usize::try_from(d).ok()).collect()).unwrap_or_default()
        })
        .collect();
    let output_names = session.outputs().iter().map(|o| o.name().to_owned()).collect();
    let signature = Signature { input_shape, output_shapes, output_names };
    let half_input = file.input_type == Some(ElementType::Float16);
    let mut sessions = vec![Mutex::new(session)];
    if on_cpu {
        for _ in 1..workers {
            sessions.push(Mutex::new(builder()?.commit_from_file(path).map_err(fail)?));
        }
    }
    Ok(Box::new(OrtBackendSession { sessions, signature, runs_on, warnings, half_input }))
}

/// An output as f32, whatever its numeric type (labels of NMS-included exports are int64).
fn to_f32(value: &DynValue) -> Result<(Vec<usize>, Vec<f32>), String> {
    fn convert<T: PrimitiveTensorElementType + Copy>(
        value: &DynValue,
        f: impl Fn(T) -> f32,
    ) -> Result<(Vec<usize>, Vec<f32>), String> {
        let (shape, data) = value.try_extract_tensor::<T>().map_err(|e| e.to_string())?;
        Ok((shape.iter().map(|&d| d as usize).collect(), data.iter().map(|&v| f(v)).collect()))
    }
    match value.dtype().tensor_type() {
        Some(TensorElementType::Int64) => convert::<i64>(value, |v| v as f32),
        Some(TensorElementType::Int32) => convert::<i32>(value, |v| v as f32),
        Some(TensorElementType::Float64) => convert::<f64>(value, |v| v as f32),
        Some(TensorElementType::Float16) => convert::<f16>(value, f16::to_f32),
        _ => convert::<f32>(value, |v| v),
    }
}

impl Session for OrtBackendSession {
    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn runs_on(&self) -> &'static str {
        self.runs_on.name()
    }

    fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn run(&self, input: Tensor) -> Result<Vec<Tensor>, String> {
        let shape: Vec<i64> = input.shape.iter().map(|&d| d as i64).collect();
        let tensor: DynValue = if self.half_input {
            let data: Vec<f16> = input.data.iter().map(|&v| f16::from_f32(v)).collect();
            OrtTensor::from_array((shape, data)).map_err(|e| e.to_string())?.into_dyn()
        } else {
            OrtTensor::from_array((shape, input.data)).map_err(|e| e.to_string())?.into_dyn()
        };
        // Each worker thread has its own session; other callers share the first.
        let slot = rayon::current_thread_index().unwrap_or(0) % self.sessions.len();
        let mut session = self.sessions[slot].lock().map_err(|_| "a previous inference panicked".to_string())?;
        let outputs = session.run(ort::inputs![tensor]).map_err(|e| e.to_string())?;
        let mut result = Vec::new();
        for (name, value) in outputs.iter() {
            let (shape, data) = to_f32(&value)?;
            result.push(Tensor { name: name.to_string(), shape, data });
        }
        Ok(result)
    }
}
