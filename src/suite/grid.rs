//! Risk factors and their perturbation grids: names resolve against the catalog, parameters
//! are in range, and each grid expands into its points (one case per model each).

use miette::SourceSpan;

use super::raw::{RawRiskFactor, RawSuite, RawValues};
use super::validate::Validator;
use super::yaml::{Entry, Keyed};
use super::*;
use crate::errors::SuiteErrorKind;
use crate::perturb::{self, PerturbationInfo};
use crate::vocab::{self, RiskFactor};

impl Validator {
    pub(super) fn risk_factors(&mut self, raw: &RawSuite) -> Vec<RiskFactorSpec> {
        let mut out = Vec::new();
        for Entry { key, value: rf } in raw.risk_factors.iter() {
            let Some(factor) = RiskFactor::from_name(key) else {
                let help = vocab::did_you_mean(key, "risk factors", RiskFactor::NAMES.iter().copied());
                self.at(
                    SuiteErrorKind::UnknownRiskFactor,
                    key.span(),
                    format!("unknown risk factor `{}`", key.value),
                    Some(help),
                );
                continue;
            };
            out.push(self.risk_factor(raw, factor, key, rf));
        }
        if raw.risk_factors.is_empty() {
            self.at(
                SuiteErrorKind::Inconsistent,
                raw.risk_factors.span(),
                "a suite needs at least one risk factor".into(),
                None,
            );
        }
        out
    }

    fn risk_factor(
        &mut self,
        raw: &RawSuite,
        factor: RiskFactor,
        name: &yaml::At<String>,
        rf: &yaml::At<RawRiskFactor>,
    ) -> RiskFactorSpec {
        // Without a budget of its own the factor takes `budgets.factor_risk`: a bad one is
        // reported there and here, at the factor.
        let budget = rf.budget.as_ref().map_or(*raw.budgets.factor_risk, |b| b.value);
        let budget_span = rf.budget.as_ref().map_or(rf.span(), |b| b.span());
        self.in_range(budget, 0.0, 100.0, budget_span, "a risk factor's budget");
        let search = rf.search.as_ref().is_some_and(|s| s.value);
        let mut grids = Vec::new();
        for Entry { key, value: params } in rf.perturbations.iter() {
            if let Some(mut grid) = self.grid(factor, key, params) {
                // A factor's search covers its perturbations that have a numeric parameter.
                grid.search |= search;
                grids.push(grid);
            }
        }
        if rf.perturbations.is_empty() {
            self.at(
                SuiteErrorKind::Inconsistent,
                rf.span(),
                format!("risk factor `{}` lists no perturbations", name.value),
                None,
            );
        }
        RiskFactorSpec { factor, budget, grids }
    }

    pub(super) fn grid(
        &mut self,
        factor: RiskFactor,
        name: &yaml::At<String>,
        params: &yaml::At<Keyed<RawValues>>,
    ) -> Option<Grid> {
        let info = self.catalog_entry(factor, name)?;
        let name = name.as_str();
        let mut ok = true;
        let mut search = false;
        let mut axes: Vec<Axis> = Vec::new();
        for Entry { key, value } in params.iter() {
            match (key.as_str(), &value.value) {
                ("search", RawValues::Flag(on)) => search = *on,
                ("search", _) => {
                    let message = "`search` is `true` or `false`".to_owned();
                    self.at(SuiteErrorKind::OutOfRange, value.span(), message, None);
                    ok = false;
                }
                (_, RawValues::Flag(_)) => {
                    let message = format!("`{}` takes numbers, not `true` or `false`", key.value);
                    self.at(SuiteErrorKind::OutOfRange, value.span(), message, None);
                    ok = false;
                }
                _ => axes.extend(self.axis(info, name, key, value, &mut ok)),
            }
        }
        let severity = axes.iter().any(|(n, _)| n == "severity");
        if severity && axes.iter().any(|(n, _)| n != "severity") {
            self.at(
                SuiteErrorKind::Inconsistent,
                params.span(),
                format!("`{name}` mixes `severity` with explicit parameters"),
                Some("use either `severity: [...]` or parameter values, not both".into()),
            );
            return None;
        }
        if axes.is_empty() && ok && info.params.is_empty() {
            // A flip or a channel swap has one strength: `horizontal_flip: {}` is its whole grid.
            let grid = Grid {
                perturbation: info,
                points: vec![GridPoint { label: String::new(), values: Vec::new() }],
                search: false,
            };
            if search {
                let message = format!("`search` needs a numeric parameter, and `{name}` has none");
                self.at(SuiteErrorKind::Inconsistent, params.span(), message, None);
            }
            return Some(grid);
        }
        if axes.is_empty() && ok {
            self.at(
                SuiteErrorKind::Inconsistent,
                params.span(),
                format!("`{name}` needs a grid: `severity: [1, 3, 5]` or parameter values"),
                None,
            );
            return None;
        }
        ok.then(|| Grid { perturbation: info, points: cartesian(info, &axes), search })
    }

    /// The catalog entry a grid names; an unknown name, or one under another risk factor, is
    /// reported (the latter still returns the entry, so its parameters get checked too).
    fn catalog_entry(&mut self, factor: RiskFactor, name: &yaml::At<String>) -> Option<&'static PerturbationInfo> {
        let Some(info) = perturb::lookup(name) else {
            let help = match perturb::closest(name) {
                Some(close) => format!("did you mean `{close}`? `shakedown perturb --list` shows the catalog"),
                None => "`shakedown perturb --list` shows the catalog".to_owned(),
            };
            self.at(
                SuiteErrorKind::UnknownPerturbation,
                name.span(),
                format!("unknown perturbation `{}`", name.value),
                Some(help),
            );
            return None;
        };
        if info.factor != factor {
            self.at(
                SuiteErrorKind::WrongRiskFactor,
                name.span(),
                format!("`{}` belongs to risk factor `{}`, not `{factor}`", name.value, info.factor),
                Some(format!("move it under `risk_factors.{}`", info.factor)),
            );
        }
        Some(info)
    }

    /// One parameter's values (`severity` or a catalog parameter) as a grid axis. Every wrong
    /// value is reported and clears `ok`; `None` when the parameter gives no axis at all.
    fn axis(
        &mut self,
        info: &'static PerturbationInfo,
        name: &str,
        pname: &yaml::At<String>,
        values: &yaml::At<RawValues>,
        ok: &mut bool,
    ) -> Option<Axis> {
        if let RawValues::Range(range) = &values.value {
            if let Some(problem) = range.problem() {
                let help = Some("e.g. `{from: 1, to: 3, step: 0.5}`".into());
                self.at(SuiteErrorKind::OutOfRange, values.span(), problem, help);
                *ok = false;
                return None;
            }
        }
        let spans = value_spans(values);
        let values = values.to_vec();
        if values.is_empty() {
            self.at(SuiteErrorKind::Inconsistent, spans[0], format!("`{}` lists no values", pname.value), None);
            *ok = false;
            return None;
        }
        if pname.as_str() == "severity" {
            let mut points = Vec::new();
            for (&s, &span) in values.iter().zip(spans.iter().cycle()) {
                if s.fract() != 0.0 || !(1.0..=5.0).contains(&s) {
                    let message = format!("severity must be an integer from 1 to 5, got {s}");
                    self.at(SuiteErrorKind::OutOfRange, span, message, None);
                    *ok = false;
                } else {
                    points.push(vec![s]);
                }
            }
            return Some(("severity".into(), points));
        }
        let Some((_, pinfo)) = info.param(pname) else {
            let mut names: Vec<&str> = info.params.iter().map(|p| p.name).collect();
            names.push("severity");
            let help = vocab::did_you_mean(pname, &format!("`{name}` takes"), names.iter().copied());
            let message = format!("`{name}` has no parameter `{}`", pname.value);
            self.at(SuiteErrorKind::UnknownParameter, pname.span(), message, Some(help));
            *ok = false;
            return None;
        };
        let what = format!("{name}.{} ({})", pname.value, pinfo.unit);
        for (&value, &span) in values.iter().zip(spans.iter().cycle()) {
            *ok &= self.in_range(value, pinfo.min, pinfo.max, span, &what);
        }
        Some((pname.value.clone(), values.into_iter().map(|v| vec![v]).collect()))
    }
}

/// One parameter's name and its values, each a one-element point.
type Axis = (String, Vec<Vec<f64>>);

/// Where each value of a parameter is written: list items one by one, else the whole value
/// (a single number, or a range).
fn value_spans(values: &yaml::At<RawValues>) -> Vec<SourceSpan> {
    match &values.value {
        RawValues::Many(items) if !items.is_empty() => items.iter().map(|v| v.span_or(values.span())).collect(),
        _ => vec![values.span()],
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
