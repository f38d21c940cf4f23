//! The engine: computes each case's outcome once per process, sharing decoded images, loaded
//! models and clean predictions between the cases that need them.

mod preflight;
mod store;

pub use store::{Loaded, SuiteRun};
