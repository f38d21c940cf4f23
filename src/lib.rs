//! shakedown: robustness tests for computer-vision models, as ordinary Rust tests.
//!
//! A suite file declares models, a dataset, perturbation grids grouped into risk factors, and
//! budgets. The pipeline, one folder per stage, each reading only the stages before it:
//!
//! - [`vocab`], [`errors`], [`config`]: the typed names, every diagnostic, every `SHAKEDOWN_*`
//!   variable; `onnx`: what an ONNX file says about itself (its metadata), read without a
//!   backend;
//! - `perturb`: the perturbation catalog (one file each) and the seeding of their randomness;
//! - [`suite`]: suite files, raw → validated → expanded into cases;
//! - `dataset`, `model`, `metrics`: images and labels, inference and decoding, COCOeval and
//!   impact rules;
//! - [`outcome`]: what a case measured, the one type every later stage reads;
//! - `engine`: computes outcomes, sharing work between a process's cases;
//! - `judge`: verdicts against budgets and baselines against snapshots;
//! - `output`: the terminal and the results file; `report`: the HTML report made from it;
//! - [`harness`] (libtest-mimic trials) and `cli` (the `shakedown` command) drive it all.
//!
//! A downstream crate needs one line in its `tests/robustness.rs`:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     shakedown::harness::main(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites"))
//! }
//! ```

pub mod config;
pub mod errors;
pub(crate) mod onnx;
pub mod vocab;

pub mod perturb;
pub mod suite;

pub(crate) mod dataset;
pub(crate) mod metrics;
pub(crate) mod model;

pub mod outcome;

pub mod engine;
pub mod judge;
pub mod output;
pub mod report;

#[doc(hidden)]
pub mod cli;
pub mod harness;

pub use errors::{Error, Result};
