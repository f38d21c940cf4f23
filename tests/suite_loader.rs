//! The suite loader under hostile input: arbitrary bytes, mutated valid suites, deep nesting,
//! huge scalars and alias bombs never panic, always end in a suite or a diagnostic that renders,
//! and each takes a bounded time.
//!
//! A seeded generator (ChaCha) stands in for a property-testing crate: every run tries the same
//! cases, and a failure names its case so that it can be replayed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shakedown::errors::render;
use shakedown::Error;

/// Longest one case may take in a dev build; a legal suite parses in about a millisecond.
const CASE_LIMIT: Duration = Duration::from_secs(2);

/// Valid suites to mutate, with the folder their relative paths resolve from.
fn seeds() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    ["suites/shapes.yaml", "suites/model-zoo.yaml", "tests/suites/small.yaml", "tests/suites/classify.yaml"]
        .iter()
        .map(|p| (root.join(p), std::fs::read_to_string(root.join(p)).unwrap()))
        .collect()
}

/// Parse one input and check the outcome: no panic, a diagnostic whose every span lies inside
/// the text, a rendering, and the time bound.
fn check(case: &str, path: &Path, text: String) {
    let shown: String = text.chars().take(300).collect();
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| shakedown::suite::parse(path, text.clone(), None)));
    let elapsed = start.elapsed();
    let result = outcome.unwrap_or_else(|_| panic!("{case}: the loader panicked on {shown:?}"));
    assert!(elapsed < CASE_LIMIT, "{case}: took {elapsed:?} on {shown:?}");
    let Err(err) = result else { return };
    let Error::Suite(invalid) = &err else { panic!("{case}: not a suite diagnostic: {err:?}") };
    assert!(!invalid.errors.is_empty(), "{case}: an invalid suite without problems");
    for e in &invalid.errors {
        let (offset, len) = (e.span.offset(), e.span.len());
        let source = e.source_code.inner();
        assert!(source.get(offset..offset + len).is_some(), "{case}: span {offset}+{len} outside the text");
    }
    let rendered = render(&err);
    assert!(rendered.contains("suite") && rendered.contains('×'), "{case}: did not render: {rendered}");
}

/// One random edit of a line-based text: delete, duplicate, insert or alter a line or a byte.
fn mutate(rng: &mut ChaCha8Rng, text: &str) -> String {
    const PIECES: &[&str] = &[
        ":", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!str ", "? ", "\t", "\"", "'", "#", "|", ">", "\n", "  ",
        "~", "null", "1e999", ".nan", "-1", "0x1F", "<<: *a", "---\n", "...\n", "\u{feff}", "é",
    ];
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    for _ in 0..rng.random_range(1..=4) {
        let i = rng.random_range(0..lines.len());
        match rng.random_range(0..6) {
            0 if lines.len() > 1 => {
                lines.remove(i);
            }
            1 => {
                let copy = lines[i].clone();
                lines.insert(i, copy);
            }
            2 => {
                let j = rng.random_range(0..lines.len());
                lines.swap(i, j);
            }
            3 => {
                let line = &mut lines[i];
                let at = (0..=line.len()).filter(|&k| line.is_char_boundary(k)).nth(rng.random_range(0..=line.len()));
                line.insert_str(at.unwrap_or(line.len()), PIECES[rng.random_range(0..PIECES.len())]);
            }
            4 => {
                let line = &mut lines[i];
                if let Some((k, c)) = line.char_indices().nth(rng.random_range(0..=line.chars().count())) {
                    line.replace_range(k..k + c.len_utf8(), "");
                }
            }
            _ => {
                let indent = " ".repeat(rng.random_range(0..8));
                lines.insert(i, format!("{indent}{}", PIECES[rng.random_range(0..PIECES.len())]));
            }
        }
    }
    lines.join("\n")
}

#[test]
fn arbitrary_bytes_end_in_a_diagnostic() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let path = Path::new("/nonexistent/suite.yaml");
    for case in 0..4000 {
        let len = rng.random_range(0..400);
        let bytes: Vec<u8> = if case % 2 == 0 {
            (0..len).map(|_| rng.random()).collect()
        } else {
            // Mostly YAML punctuation, where the parser's states are.
            let alphabet = b"ab01 :-[]{},&*!?|>'\"#\n\t.~%@`";
            (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())]).collect()
        };
        check(&format!("bytes #{case}"), path, String::from_utf8_lossy(&bytes).into_owned());
    }
}

#[test]
fn mutated_suites_end_in_a_suite_or_a_diagnostic() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let seeds = seeds();
    for (path, text) in &seeds {
        check(&format!("{} as shipped", path.display()), path, text.clone());
    }
    for case in 0..6000 {
        let (path, text) = &seeds[case % seeds.len()];
        check(&format!("mutation #{case} of {}", path.display()), path, mutate(&mut rng, text));
    }
}

#[test]
fn hostile_shapes_are_refused_quickly() {
    let path = Path::new("/nonexistent/suite.yaml");
    let (_, shapes) = &seeds()[0];
    let mut cases: Vec<(String, String)> = Vec::new();
    for depth in [40, 1_000, 10_000, 100_000] {
        let flow = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        cases.push((format!("flow list {depth} deep"), format!("name: {flow}\n")));
        cases.push((format!("flow list {depth} deep as a key"), format!("{{{flow}: 1}}\n")));
        cases.push((
            format!("flow map {depth} deep"),
            format!("name: {}1{}\n", "{a: ".repeat(depth), "}".repeat(depth)),
        ));
        cases.push((format!("block list {depth} deep"), format!("name:\n{}1\n", "- ".repeat(depth))));
        cases.push((format!("unclosed {depth} deep"), format!("risk_factors: {}\n", "[".repeat(depth))));
        let under = shapes.replace("  blur:\n", &format!("  blur:\n    x: {flow}\n"));
        cases.push((format!("{depth} deep inside a suite"), under));
    }
    for size in [1_000, 500_000, 1_048_577, 3_000_000] {
        cases.push((format!("{size}-byte scalar"), format!("name: {}\n", "x".repeat(size))));
        cases.push((format!("{size}-byte key"), format!("{}: 1\n", "k".repeat(size))));
    }
    // Each alias level multiplies the previous one by ten: a billion `lol`s from 800 bytes.
    let mut laughs = String::from("a0: &a0 [lol]\n");
    for k in 1..10 {
        let refs = vec![format!("*a{}", k - 1); 10].join(", ");
        laughs.push_str(&format!("a{k}: &a{k} [{refs}]\n"));
    }
    cases.push(("billion laughs".into(), laughs.clone()));
    cases.push(("billion laughs in a suite".into(), shapes.replace("seed: 20261129\n", &laughs)));
    let many = (0..200_000).map(|i| format!("- {i}\n")).collect::<String>();
    cases.push(("200 000 list items".into(), format!("name: x\nmodels:\n{many}")));
    for (case, text) in cases {
        check(&case, path, text);
    }
}

#[test]
fn limits_have_their_own_kinds() {
    use shakedown::errors::SuiteErrorKind as K;
    let path = Path::new("/nonexistent/suite.yaml");
    let kinds = |text: String| match shakedown::suite::parse(path, text, None) {
        Err(Error::Suite(invalid)) => invalid.kinds(),
        other => panic!("expected a diagnostic, got {other:?}"),
    };
    assert_eq!(kinds(format!("name: {}\n", "x".repeat(2 << 20))), [K::TooLarge]);
    for depth in [40, 100, 10_000] {
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(kinds(format!("{{{deep}: 1}}\n")), [K::TooDeep], "{depth} deep");
    }
    let many = "0, ".repeat(200_000);
    assert_eq!(kinds(format!("{{[{many}]: 1}}\n")), [K::TooLarge]);
}
