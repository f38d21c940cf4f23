//! Expansion: a suite becomes its cases, one test each, named
//! `suite::model::clean`, `suite::model::factor` and `suite::model::factor::perturbation::params`.

use super::{RiskFactor, Suite};

/// What a case measures.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseKind {
    /// The model on unperturbed images: validation metrics against `budgets.clean_map50`.
    Clean,
    /// One grid point of one perturbation: its risk score against `budgets.risk`.
    Perturbed { factor: usize, grid: usize, point: usize },
    /// A whole risk factor: images impacted by any of its cases, against the factor's budget.
    Factor { factor: usize },
    /// The breaking point of one grid's perturbation (`search: true`): reported, baselined,
    /// never over a budget.
    Search { factor: usize, grid: usize },
}

/// One test: a model and what to measure on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Full test name, `::`-separated.
    pub name: String,
    /// Index of the model in the suite.
    pub model: usize,
    pub kind: CaseKind,
}

impl Case {
    /// Snapshot name: the test name with file-system-safe separators.
    pub fn snapshot_name(&self) -> String {
        self.name.replace("::", "__")
    }
}

/// All cases of a suite, model by model: clean first, then each factor and its grid.
pub fn expand(suite: &Suite) -> Vec<Case> {
    let mut cases = Vec::new();
    for (m, model) in suite.models.iter().enumerate() {
        let prefix = format!("{}::{}", suite.name, model.name);
        cases.push(Case { name: format!("{prefix}::clean"), model: m, kind: CaseKind::Clean });
        for (f, rf) in suite.risk_factors.iter().enumerate() {
            cases.push(Case {
                name: format!("{prefix}::{}", rf.factor),
                model: m,
                kind: CaseKind::Factor { factor: f },
            });
            for (g, grid) in rf.grids.iter().enumerate() {
                for p in 0..grid.points.len() {
                    cases.push(Case {
                        name: format!("{prefix}::{}", rf.setting(g, p)),
                        model: m,
                        kind: CaseKind::Perturbed { factor: f, grid: g, point: p },
                    });
                }
                if grid.search && grid.search_axis().is_some() {
                    cases.push(Case {
                        name: format!("{prefix}::{}::{}::breaking_point", rf.factor, grid.perturbation.name),
                        model: m,
                        kind: CaseKind::Search { factor: f, grid: g },
                    });
                }
            }
        }
    }
    cases
}

/// The perturbed cases of one model and factor, as indices into `expand`'s grid coordinates.
pub fn factor_points(suite: &Suite, factor: usize) -> Vec<(usize, usize)> {
    suite.risk_factors[factor]
        .grids
        .iter()
        .enumerate()
        .flat_map(|(g, grid)| (0..grid.points.len()).map(move |p| (g, p)))
        .collect()
}

/// Risk factors a suite covers, in order.
pub fn factors(suite: &Suite) -> Vec<RiskFactor> {
    suite.risk_factors.iter().map(|f| f.factor).collect()
}
