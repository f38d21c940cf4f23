//! What `shakedown check` verifies before anything runs: everything a run opens opens, every
//! model fits its family, every model's classes meet the dataset's categories.

use super::store::class_map;
use super::SuiteRun;
use crate::dataset::Dataset;
use crate::errors::Error;
use crate::model::Model;

impl SuiteRun {
    /// Open what a run would open, without running: the dataset (annotations parse, the glob
    /// selects images, every image's header reads), and each model (an ONNX file whose inputs
    /// and outputs fit its family and class count, with classes the dataset has). Every problem
    /// found is returned, not only the first.
    pub fn preflight(&self) -> Vec<Error> {
        let mut problems = Vec::new();
        let dataset = match Dataset::load(&self.suite.dataset) {
            Ok(dataset) => Some(dataset),
            Err(e) => {
                problems.push(e.into());
                None
            }
        };
        if let Some(Err(e)) = dataset.as_ref().map(Dataset::dimensions) {
            problems.push(e.into());
        }
        for spec in &self.suite.models {
            if let Err(e) = Model::load(spec, self.suite.backend) {
                problems.push(e.into());
            }
            if let Some(Err(e)) = dataset.as_ref().map(|d| class_map(spec, d)) {
                problems.push(e);
            }
        }
        problems
    }
}
