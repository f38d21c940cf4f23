//! Every environment variable shakedown reads, read once and validated here.
//!
//! | variable | meaning |
//! |---|---|
//! | `SHAKEDOWN_SUITES` | a suite file or folder to run instead of the crate's `suites/` |
//! | `SHAKEDOWN_BACKEND` | backend for every suite, overriding each suite's `backend` |
//! | `SHAKEDOWN_RESULTS` | folder of the results files (default `<target>/shakedown/`) |
//! | `ORT_DYLIB_PATH` | the ONNX Runtime library the `ort` backends load |
//! | `INSTA_UPDATE` | how insta writes baselines (`auto`, `always`, `new`, `unseen`, `no`, `force`) |
//! | `CI` | set (not `false`/`0`): baselines are never written, as insta does |
//! | `SHAKEDOWN_CACHE` | the prediction cache's folder (default `<target>/shakedown/cache/`), or `off` |
//! | `SHAKEDOWN_CACHE_MAX` | the cache's size bound: bytes, or with `KB`, `MB`, `GB`, `KiB`, `MiB`, `GiB` (default 2 GiB) |
//! | `SHAKEDOWN_MEMORY` | decoded images kept between cases, per suite and process, as a size (default 1/64 of the machine's memory, at least 256 MiB) |

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::errors::Error;
use crate::vocab::{self, Backend};

/// Variable naming a suite file or folder to run instead of `suites/`.
pub const SUITES: &str = "SHAKEDOWN_SUITES";
/// Variable overriding every suite's `backend`.
pub const BACKEND: &str = "SHAKEDOWN_BACKEND";
/// Variable naming the folder of the results files.
pub const RESULTS: &str = "SHAKEDOWN_RESULTS";
/// Variable naming the ONNX Runtime shared library.
pub const ORT_DYLIB: &str = "ORT_DYLIB_PATH";
/// Variable naming the prediction cache's folder, or `off`.
pub const CACHE: &str = "SHAKEDOWN_CACHE";
/// Variable bounding the prediction cache's size.
pub const CACHE_MAX: &str = "SHAKEDOWN_CACHE_MAX";
/// Variable bounding the decoded images kept between cases.
pub const MEMORY: &str = "SHAKEDOWN_MEMORY";
/// insta's update mode; shakedown checks it up front rather than letting insta panic on it.
pub const INSTA_UPDATE: &str = "INSTA_UPDATE";
/// insta's values of `INSTA_UPDATE`.
pub const INSTA_UPDATE_MODES: &[&str] = &["auto", "always", "1", "new", "unseen", "no", "force"];

/// The environment as shakedown understands it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub suites: Option<PathBuf>,
    pub backend: Option<Backend>,
    pub results: Option<PathBuf>,
    pub ort_dylib: Option<PathBuf>,
    /// `INSTA_UPDATE`, one of [`INSTA_UPDATE_MODES`].
    pub insta_update: Option<String>,
    /// Running in CI (`CI` set and not `false` or `0`).
    pub ci: bool,
    /// Where predictions are cached.
    pub cache: CacheSetting,
    /// The cache's size bound in bytes, when set.
    pub cache_max: Option<u64>,
    /// Bytes of decoded images kept between cases, when set.
    pub memory: Option<u64>,
}

/// `SHAKEDOWN_CACHE`: the default folder (unset), another one, or no cache (`off`; also the
/// `Default` of a `Config` built in code, so that tests measure rather than read back).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum CacheSetting {
    InTarget,
    At(PathBuf),
    #[default]
    Off,
}

impl Config {
    /// The process environment, read and validated once; later calls return the same answer.
    pub fn get() -> Result<&'static Config, Error> {
        static CONFIG: OnceLock<Result<Config, (String, Option<String>)>> = OnceLock::new();
        let read = || {
            Config::from_vars(|name| std::env::var_os(name)).map_err(|e| match e {
                Error::Config { message, help } => (message, help),
                other => (other.to_string(), None),
            })
        };
        CONFIG
            .get_or_init(read)
            .as_ref()
            .map_err(|(message, help)| Error::Config { message: message.clone(), help: help.clone() })
    }

    /// Read the variables through `var` (tests pass their own); empty values count as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Result<Config, Error> {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let backend = match set(BACKEND) {
            None => None,
            Some(value) => {
                let text = value.to_string_lossy();
                Some(Backend::parse(&text).ok_or_else(|| Error::Config {
                    message: format!("{BACKEND}={text} names no backend"),
                    help: Some(vocab::did_you_mean(&text, "backends", Backend::NAMES.iter().copied())),
                })?)
            }
        };
        let insta_update = set(INSTA_UPDATE).map(|v| v.to_string_lossy().into_owned());
        if let Some(mode) = insta_update.as_deref().filter(|m| !INSTA_UPDATE_MODES.contains(m)) {
            return Err(Error::Config {
                message: format!("{INSTA_UPDATE}={mode} is not an update mode insta knows"),
                help: Some(vocab::did_you_mean(mode, "modes", INSTA_UPDATE_MODES.iter().copied())),
            });
        }
        let ci = set("CI").is_some_and(|v| v != "false" && v != "0");
        let cache = match set(CACHE) {
            None => CacheSetting::InTarget,
            Some(v) if v == "off" => CacheSetting::Off,
            Some(v) => CacheSetting::At(PathBuf::from(v)),
        };
        let size = |name: &str| -> Result<Option<u64>, Error> {
            let Some(v) = set(name) else { return Ok(None) };
            let text = v.to_string_lossy();
            let bytes = parse_bytes(&text).ok_or_else(|| Error::Config {
                message: format!("{name}={text} is not a size"),
                help: Some("write bytes, or a number with KB, MB, GB, KiB, MiB or GiB: 500MB, 2GiB".into()),
            })?;
            Ok(Some(bytes))
        };
        Ok(Config {
            cache,
            cache_max: size(CACHE_MAX)?,
            memory: size(MEMORY)?,
            suites: set(SUITES).map(PathBuf::from),
            backend,
            results: set(RESULTS).map(PathBuf::from),
            ort_dylib: set(ORT_DYLIB).map(PathBuf::from),
            insta_update,
            ci,
        })
    }
}

/// `1234`, `500MB`, `2GiB`, `1.5 GB` → bytes.
fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = (text[..split].trim().parse::<f64>().ok()?, &text[split..]);
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    (number.is_finite() && number >= 0.0).then_some((number * scale as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, Error> {
        Config::from_vars(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v)))
    }

    #[test]
    fn reads_every_variable() {
        let c = from(&[(SUITES, "s.yaml"), (BACKEND, "onnxruntime"), (RESULTS, "out"), (ORT_DYLIB, "lib.so")]).unwrap();
        assert_eq!(c.suites, Some(PathBuf::from("s.yaml")));
        assert_eq!(c.backend, Some(Backend::Ort));
        assert_eq!(c.results, Some(PathBuf::from("out")));
        assert_eq!(c.ort_dylib, Some(PathBuf::from("lib.so")));
        let unset = Config { cache: CacheSetting::InTarget, ..Config::default() };
        assert_eq!(from(&[(BACKEND, "")]).unwrap(), unset, "empty is unset");
        assert!(from(&[("CI", "true")]).unwrap().ci);
        assert!(!from(&[("CI", "false")]).unwrap().ci);
    }

    #[test]
    fn cache_folder_and_size() {
        assert_eq!(from(&[]).unwrap().cache, CacheSetting::InTarget);
        assert_eq!(from(&[(CACHE, "off")]).unwrap().cache, CacheSetting::Off);
        assert_eq!(from(&[(CACHE, "/c")]).unwrap().cache, CacheSetting::At("/c".into()));
        assert_eq!(from(&[(CACHE_MAX, "2GiB")]).unwrap().cache_max, Some(2 << 30));
        assert_eq!(from(&[(CACHE_MAX, "1.5 MB")]).unwrap().cache_max, Some(1_500_000));
        assert_eq!(from(&[(CACHE_MAX, "4096")]).unwrap().cache_max, Some(4096));
        let err = from(&[(CACHE_MAX, "2 gigs")]).unwrap_err();
        assert!(err.to_string().contains("SHAKEDOWN_CACHE_MAX=2 gigs"), "{err}");
    }

    #[test]
    fn memory_budget() {
        assert_eq!(from(&[]).unwrap().memory, None);
        assert_eq!(from(&[(MEMORY, "512MiB")]).unwrap().memory, Some(512 << 20));
        assert_eq!(from(&[(MEMORY, "0")]).unwrap().memory, Some(0));
        let err = from(&[(MEMORY, "lots")]).unwrap_err();
        assert!(err.to_string().contains("SHAKEDOWN_MEMORY=lots"), "{err}");
    }

    #[test]
    fn an_unknown_insta_mode_is_refused() {
        assert_eq!(from(&[(INSTA_UPDATE, "always")]).unwrap().insta_update.as_deref(), Some("always"));
        let err = from(&[(INSTA_UPDATE, "alwasy")]).unwrap_err();
        assert!(err.to_string().contains("INSTA_UPDATE=alwasy"), "{err}");
    }

    #[test]
    fn an_unknown_backend_is_refused_with_the_closest_name() {
        let err = from(&[(BACKEND, "trakt")]).unwrap_err();
        assert!(err.to_string().contains("SHAKEDOWN_BACKEND=trakt"), "{err}");
        let help = miette::Diagnostic::help(&err).map(|h| h.to_string()).unwrap_or_default();
        assert!(help.contains("did you mean `tract`?"), "{help}");
    }
}
