//! Risk factors and their perturbation grids: names resolve against the catalog, parameters
//! are in range, and each grid expands into its points (one case per model each).

use super::raw::{self, RawSuite};
use super::source_map::Seg;
use super::validate::Validator;
use super::*;
use crate::errors::SuiteErrorKind;
use crate::path;
use crate::perturb::{self, PerturbationInfo};
use crate::vocab::{self, RiskFactor};

impl Validator {
    pub(super) fn risk_factors(&mut self, raw: &RawSuite) -> Vec<RiskFactorSpec> {
        let mut out = Vec::new();
        for (factor_name, rf) in &raw.risk_factors {
            let at = path!["risk_factors", factor_name.as_str()].to_vec();
            let Some(factor) = RiskFactor::from_name(factor_name) else {
                let help = vocab::did_you_mean(factor_name, "risk factors", RiskFactor::NAMES.iter().copied());
                self.at_key(
                    SuiteErrorKind::UnknownRiskFactor,
                    &at,
                    format!("unknown risk factor `{factor_name}`"),
                    Some(help),
                );
                continue;
            };
            let budget = rf.budget.unwrap_or(raw.budgets.factor_risk);
            let mut budget_at = at.clone();
            budget_at.push("budget".into());
            self.in_range(budget, 0.0, 100.0, &budget_at, "a risk factor's budget");
            let mut grids = Vec::new();
            for (name, params) in &rf.perturbations {
                let mut p_at = at.clone();
                p_at.extend(path!["perturbations", name.as_str()]);
                if let Some(grid) = self.grid(factor, name, params, &p_at) {
                    grids.push(grid);
                }
            }
            if rf.perturbations.is_empty() {
                self.at_value(
                    SuiteErrorKind::Inconsistent,
                    &at,
                    format!("risk factor `{factor_name}` lists no perturbations"),
                    None,
                );
            }
            out.push(RiskFactorSpec { factor, budget, grids });
        }
        if raw.risk_factors.is_empty() {
            self.at_value(
                SuiteErrorKind::Inconsistent,
                &path!["risk_factors"],
                "a suite needs at least one risk factor".into(),
                None,
            );
        }
        out
    }

    pub(super) fn grid(
        &mut self,
        factor: RiskFactor,
        name: &str,
        params: &std::collections::BTreeMap<String, raw::RawValues>,
        at: &[Seg],
    ) -> Option<Grid> {
        let Some(info) = perturb::lookup(name) else {
            let help = match perturb::closest(name) {
                Some(close) => format!("did you mean `{close}`? `shakedown perturb --list` shows the catalog"),
                None => "`shakedown perturb --list` shows the catalog".to_owned(),
            };
            self.at_key(SuiteErrorKind::UnknownPerturbation, at, format!("unknown perturbation `{name}`"), Some(help));
            return None;
        };
        if info.factor != factor {
            self.at_key(
                SuiteErrorKind::WrongRiskFactor,
                at,
                format!("`{name}` belongs to risk factor `{}`, not `{factor}`", info.factor),
                Some(format!("move it under `risk_factors.{}`", info.factor)),
            );
        }
        let mut axes: Vec<(String, Vec<Vec<f64>>)> = Vec::new();
        let mut ok = true;
        let mut explicit = vec![false; info.params.len()];
        for (pname, values) in params {
            let mut v_at = at.to_vec();
            v_at.push(pname.as_str().into());
            if let raw::RawValues::Range(range) = &params[pname] {
                if let Some(problem) = range.problem() {
                    self.at_value(
                        SuiteErrorKind::OutOfRange,
                        &v_at,
                        problem,
                        Some("e.g. `{from: 1, to: 3, step: 0.5}`".into()),
                    );
                    ok = false;
                    continue;
                }
            }
            let values = values.to_vec();
            if values.is_empty() {
                self.at_value(SuiteErrorKind::Inconsistent, &v_at, format!("`{pname}` lists no values"), None);
                ok = false;
                continue;
            }
            if pname == "severity" {
                let mut points = Vec::new();
                for (k, &s) in values.iter().enumerate() {
                    let mut e_at = v_at.clone();
                    if matches!(params[pname], raw::RawValues::Many(_)) {
                        e_at.push(k.into());
                    }
                    if s.fract() != 0.0 || !(1.0..=5.0).contains(&s) {
                        self.at_value(
                            SuiteErrorKind::OutOfRange,
                            &e_at,
                            format!("severity must be an integer from 1 to 5, got {s}"),
                            None,
                        );
                        ok = false;
                    } else {
                        points.push(vec![s]);
                    }
                }
                axes.push(("severity".into(), points));
                continue;
            }
            let Some((index, pinfo)) = info.param(pname) else {
                let mut names: Vec<&str> = info.params.iter().map(|p| p.name).collect();
                names.push("severity");
                let help = vocab::did_you_mean(pname, &format!("`{name}` takes"), names.iter().copied());
                self.at_key(
                    SuiteErrorKind::UnknownParameter,
                    &v_at,
                    format!("`{name}` has no parameter `{pname}`"),
                    Some(help),
                );
                ok = false;
                continue;
            };
            explicit[index] = true;
            for (k, &value) in values.iter().enumerate() {
                let mut e_at = v_at.clone();
                if matches!(params[pname], raw::RawValues::Many(_)) {
                    e_at.push(k.into());
                }
                let what = format!("{name}.{pname} ({})", pinfo.unit);
                ok &= self.in_range(value, pinfo.min, pinfo.max, &e_at, &what);
            }
            axes.push((pname.clone(), values.into_iter().map(|v| vec![v]).collect()));
        }
        if axes.iter().any(|(n, _)| n == "severity") && explicit.iter().any(|&e| e) {
            self.at_value(
                SuiteErrorKind::Inconsistent,
                at,
                format!("`{name}` mixes `severity` with explicit parameters"),
                Some("use either `severity: [...]` or parameter values, not both".into()),
            );
            return None;
        }
        if axes.is_empty() && ok && info.params.is_empty() {
            // A flip or a channel swap has one strength: `horizontal_flip: {}` is its whole grid.
            return Some(Grid {
                perturbation: info,
                points: vec![GridPoint { label: String::new(), values: Vec::new() }],
            });
        }
        if axes.is_empty() && ok {
            self.at_value(
                SuiteErrorKind::Inconsistent,
                at,
                format!("`{name}` needs a grid: `severity: [1, 3, 5]` or parameter values"),
                None,
            );
            return None;
        }
        ok.then(|| Grid { perturbation: info, points: cartesian(info, &axes) })
    }
}

/// Expand named value lists into grid points, in the order written (last axis fastest).
fn cartesian(info: &'static PerturbationInfo, axes: &[(String, Vec<Vec<f64>>)]) -> Vec<GridPoint> {
    let mut points = vec![(Vec::<String>::new(), info.params.iter().map(|p| p.default).collect::<Vec<_>>())];
    for (name, values) in axes {
        let mut next = Vec::new();
        for (labels, base) in &points {
            for v in values {
                let mut labels = labels.clone();
                labels.push(format!("{name}={}", v[0]));
                let values = if name == "severity" {
                    info.severities[v[0] as usize - 1].to_vec()
                } else {
                    let mut b = base.clone();
                    b[info.param(name).map(|(i, _)| i).unwrap_or(0)] = v[0];
                    b
                };
                next.push((labels, values));
            }
        }
        points = next;
    }
    points.into_iter().map(|(labels, values)| GridPoint { label: labels.join(","), values }).collect()
}
