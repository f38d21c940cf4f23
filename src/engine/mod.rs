//! The engine: computes each case's outcome once per process, sharing decoded images, loaded
//! models and clean predictions between the cases that need them, and predictions between
//! processes through the cache on disk.

pub mod cache;
pub mod images;
mod preflight;
mod store;

pub use cache::PredictionCache;
pub use store::{Loaded, SuiteRun};
