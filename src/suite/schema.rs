//! The JSON schema of suite files, generated from `RawSuite`, with the catalog's names spelt out
//! so that editors complete risk factors, perturbations and parameters as you type.

use schemars::{json_schema, Schema, SchemaGenerator};
use serde_json::{Map, Value};

use super::raw::{RawSuite, RawValues};
use crate::perturb::{PerturbationInfo, CATALOG};
use crate::vocab::RiskFactor;

/// JSON schema of suite files (committed as `schemas/suite.schema.json`; a test fails when that
/// copy is stale).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawSuite);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}

/// `risk_factors`: one key per risk factor, each listing only its own perturbations, each of
/// those only its own parameters (and `severity`). The validator reports the same mistakes
/// with a suggestion; the schema lets editors catch them first.
pub(super) fn risk_factors(generator: &mut SchemaGenerator) -> Schema {
    let values = serde_json::to_value(generator.subschema_for::<RawValues>()).expect("a schema is JSON");
    let mut factors = Map::new();
    for &factor in RiskFactor::ALL {
        let perturbations: Map<String, Value> =
            CATALOG.iter().filter(|p| p.factor == factor).map(|p| (p.name.to_owned(), grid(p, &values))).collect();
        let schema = json_schema!({
            "type": "object",
            "properties": {
                "budget": {
                    "description": "Largest risk score (0-100) of the factor as a whole; defaults to `budgets.factor_risk`.",
                    "type": "number",
                    "minimum": 0,
                    "maximum": 100
                },
                "perturbations": {
                    "description": "Perturbation name → parameter grid (`shakedown perturb --list` shows the catalog).",
                    "type": "object",
                    "properties": perturbations,
                    "additionalProperties": false
                }
            },
            "required": ["perturbations"],
            "additionalProperties": false
        });
        factors.insert(factor.name().to_owned(), schema.into());
    }
    json_schema!({
        "description": "Perturbation grids grouped by risk factor.",
        "type": "object",
        "properties": factors,
        "additionalProperties": false
    })
}

/// One perturbation's grid: its parameters by name, or `severity`.
fn grid(info: &PerturbationInfo, values: &Value) -> Value {
    let mut params = Map::new();
    for p in info.params {
        let description = format!("{}; {} to {}, default {}", p.unit, p.min, p.max, p.default);
        let mut schema = values.clone();
        if let Value::Object(fields) = &mut schema {
            fields.insert("description".into(), description.into());
        }
        params.insert(p.name.to_owned(), schema);
    }
    let mut severity = values.clone();
    if let Value::Object(fields) = &mut severity {
        fields.insert("description".into(), "Standard severities 1 to 5, instead of parameter values.".into());
    }
    params.insert("severity".into(), severity);
    serde_json::json!({
        "description": info.summary,
        "type": "object",
        "properties": params,
        "additionalProperties": false
    })
}
