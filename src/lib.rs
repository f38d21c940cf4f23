//! shakedown: robustness tests for computer-vision models, as ordinary Rust tests.
//!
//! The pipeline, one module per stage:
//! `spec` (suite files) → `expand` (cases) → `dataset` / `perturb` / `model` → `metrics` →
//! `verdict` & `baseline` → `report` & `results`. `run` shares the work between a process's tests and
//! `harness` turns cases into libtest-mimic trials.

pub mod baseline;
pub mod dataset;
pub mod errors;
pub mod expand;
pub mod harness;
pub mod metrics;
pub mod model;
pub mod perturb;
pub mod predict;
pub mod report;
pub mod results;
pub mod run;
pub mod seed;
pub mod spec;
pub mod verdict;

pub use errors::{Error, Result};
