//! The pipeline reads in one direction: each top-level module of `src/` uses only the modules
//! listed before it here, so `ls src` and this list tell the whole dependency story and no
//! import cycle can come back unnoticed.

use std::path::Path;

/// The stages, first to last.
const ORDER: &[&str] = &[
    "vocab", "errors", "config", "onnx", "perturb", "suite", "dataset", "model", "metrics", "outcome", "engine",
    "judge", "output", "report", "harness", "cli",
];

/// `crate::<module>` paths in the non-test code of `text`.
fn uses(text: &str) -> Vec<String> {
    // Unit tests may reach anywhere; they start at the first `#[cfg(test)]`.
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut found = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        // `$crate::` in macros and `shakedown::` are not this crate's own paths here.
        if code[..i].ends_with('$') {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        found.push(name);
    }
    // `use crate::{a, b}` names several.
    for (i, _) in code.match_indices("crate::{") {
        let rest = &code[i + "crate::{".len()..];
        let group = &rest[..rest.find('}').unwrap_or(rest.len())];
        found.extend(group.split(',').map(|p| p.trim().split("::").next().unwrap_or_default().to_owned()));
    }
    found.retain(|n| !n.is_empty());
    found
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_uses_only_earlier_stages() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let top =
            relative.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        let name = file.file_name().unwrap().to_string_lossy();
        if name == "tests.rs" || name == "parity.rs" {
            continue; // test modules
        }
        let Some(rank) = ORDER.iter().position(|m| *m == top) else {
            problems.push(format!("{}: module `{top}` is not in the stage list", relative.display()));
            continue;
        };
        seen.insert(top.clone());
        for used in uses(&std::fs::read_to_string(&file).unwrap()) {
            match ORDER.iter().position(|m| *m == used) {
                Some(r) if r > rank => {
                    problems.push(format!("{}: `{top}` uses `{used}`, a later stage", relative.display()))
                }
                None => problems.push(format!("{}: uses `crate::{used}`, not a stage", relative.display())),
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(seen.len(), ORDER.len(), "every stage has code: {seen:?}");
}

#[test]
fn the_check_sees_a_later_stage() {
    assert_eq!(
        uses("use crate::engine::SuiteRun;\nuse crate::{judge, output::terminal};"),
        ["engine", "judge", "output"]
    );
    assert!(uses("#[cfg(test)]\nmod tests { use crate::cli; }").is_empty());
}
