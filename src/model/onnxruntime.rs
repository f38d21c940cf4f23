//! ONNX Runtime backend through `ort`, with the library loaded at run time (`ORT_DYLIB_PATH`).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::Session as OrtSession;
use ort::value::Tensor as OrtTensor;

use super::{Session, Tensor};
use crate::errors::ModelError;

/// Where the ONNX Runtime library is looked for.
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// One environment per process; `ort::init()` would panic when the library is missing, so the
/// library is located and loaded explicitly and a failure becomes an error.
fn environment() -> Result<&'static ort::environment::Environment, ModelError> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    let unavailable = |message: String| ModelError::Backend {
        backend: "ort",
        message,
        help: Some(format!(
            "install ONNX Runtime 1.31 (`pip install onnxruntime==1.31.1`) and set {DYLIB_ENV} to \
             its onnxruntime/capi/libonnxruntime.so.1.31.1, or use `SHAKEDOWN_BACKEND=tract`"
        )),
    };
    let env = ENV.get_or_init(|| {
        let lib = std::env::var_os(DYLIB_ENV).map(PathBuf::from).ok_or_else(|| format!("{DYLIB_ENV} is not set"))?;
        if !lib.is_file() {
            return Err(format!("{DYLIB_ENV} points to {}, which does not exist", lib.display()));
        }
        ort::init_from(&lib)
            .map_err(|e| format!("cannot load {}: {e}", lib.display()))?
            .with_name("shakedown")
            .build()
            .map_err(|e| format!("{e}"))
    });
    env.as_ref().map_err(|m| unavailable(m.clone()))
}

struct OrtBackendSession {
    // `Session::run` takes `&mut self`; trials share one session per model.
    session: Mutex<OrtSession>,
    input_shape: Vec<Option<usize>>,
}

pub fn load(path: &Path, _input_hw: Option<[u32; 2]>) -> Result<Box<dyn Session>, ModelError> {
    let env = environment()?;
    let fail =
        |e: ort::Error| ModelError::Load { path: path.to_owned(), backend: "ort", message: e.to_string(), help: None };
    // Runs are serialised by the session's mutex, so each one may use every core.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let session = OrtSession::builder(env)
        .map_err(fail)?
        .with_intra_threads(threads)
        .map_err(|e| fail(e.into()))?
        .commit_from_file(path)
        .map_err(fail)?;
    let input_shape = session
        .inputs()
        .first()
        .and_then(|i| i.dtype().tensor_shape())
        .map(|s| s.iter().map(|&d| usize::try_from(d).ok()).collect())
        .unwrap_or_default();
    Ok(Box::new(OrtBackendSession { session: Mutex::new(session), input_shape }))
}

impl Session for OrtBackendSession {
    fn input_shape(&self) -> Vec<Option<usize>> {
        self.input_shape.clone()
    }

    fn run(&self, input: Tensor) -> Result<Vec<Tensor>, String> {
        let shape: Vec<i64> = input.shape.iter().map(|&d| d as i64).collect();
        let tensor = OrtTensor::from_array((shape, input.data)).map_err(|e| e.to_string())?;
        let mut session = self.session.lock().map_err(|_| "a previous inference panicked".to_string())?;
        let outputs = session.run(ort::inputs![tensor]).map_err(|e| e.to_string())?;
        let mut result = Vec::new();
        for (_, value) in outputs.iter() {
            let (shape, data) = value.try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
            result.push(Tensor { shape: shape.iter().map(|&d| d as usize).collect(), data: data.to_vec() });
        }
        Ok(result)
    }
}
