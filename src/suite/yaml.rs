//! The one YAML parse of a suite: serde-saphyr gives typed values and, through `At`, where each
//! value sits, so checks that run after parsing point at the right line without a second parser.
//!
//! Hostile input is bounded twice: the file size before parsing (`MAX_SUITE_BYTES`), and
//! serde-saphyr's streaming `Budget` (depth, nodes, aliases) while parsing, so a suite that is
//! too large or too deep is refused at the first node over the limit.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use miette::SourceSpan;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::ErrorKind as ScanErrorKind;
use serde_saphyr::{
    Error as YamlError, ExternalMessageSource, Location, MessageFormatter, Spanned, UserMessageFormatter,
};

use crate::errors::SuiteErrorKind;

/// Largest suite file accepted: real suites are a few KiB, and every byte is parsed.
pub const MAX_SUITE_BYTES: u64 = 1024 * 1024;
/// Deepest nesting accepted. A suite nests six levels at most (`risk_factors`, a factor,
/// `perturbations`, a perturbation, a parameter, its list); anything far deeper is an attack or
/// an accident, and deep nesting costs stack and time.
pub const MAX_DEPTH: usize = 32;
/// Most YAML nodes (scalars, lists, maps) in a suite: a large zoo suite has a few thousand.
pub const MAX_NODES: usize = 100_000;
/// Most aliases (`*name`): each replays its anchor, the classic way to blow up a small file.
pub const MAX_ALIASES: usize = 1_000;

/// A value from the suite file and where it is written there.
///
/// Deserialized through `serde_saphyr::Spanned`; its JSON schema is `T`'s, so the committed
/// schema does not see it. A value filled in by `#[serde(default)]` has no span: checks then
/// point at the enclosing node (`span_or`).
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    pub value: T,
    span: Option<SourceSpan>,
}

impl<T> At<T> {
    /// A default: a value the suite does not write.
    pub const fn absent(value: T) -> Self {
        Self { value, span: None }
    }

    /// Where the value is written (for a list or map, its first item or opening bracket), or
    /// `parent` for a default.
    pub fn span_or(&self, parent: SourceSpan) -> SourceSpan {
        self.span.unwrap_or(parent)
    }

    /// Where the value is written, or the start of the file for a default.
    pub fn span(&self) -> SourceSpan {
        self.span_or(nowhere())
    }

    /// Another value written where this one is (what a file named here holds).
    pub fn with<U>(&self, value: U) -> At<U> {
        At { value, span: self.span }
    }
}

/// The start of the file: where a problem without a node of its own is shown.
pub fn nowhere() -> SourceSpan {
    (0, 0).into()
}

impl<T: Default> Default for At<T> {
    fn default() -> Self {
        Self::absent(T::default())
    }
}

impl<T> std::ops::Deref for At<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<T>::deserialize(deserializer)?;
        Ok(Self { value: spanned.value, span: byte_span(&spanned.referenced) })
    }
}

/// Only the value: schemars writes defaults (`rule: ground_truth`) into the schema this way.
impl<T: serde::Serialize> serde::Serialize for At<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<T: JsonSchema> JsonSchema for At<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// The byte span of a location; `None` where serde lost it (inside buffered content).
fn byte_span(location: &Location) -> Option<SourceSpan> {
    let span = location.span();
    let (offset, len) = (span.byte_offset()?, span.byte_len()?);
    Some((offset as usize, len as usize).into())
}

/// A map whose keys are names to check (risk factors, perturbations, parameters): each entry
/// keeps where its key and its value are written. Entries are in key order, as a `BTreeMap`
/// would give them, so test names do not depend on how the file orders them.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyed<T>(pub Vec<Entry<T>>);

#[derive(Debug, Clone, PartialEq)]
pub struct Entry<T> {
    pub key: At<String>,
    pub value: At<T>,
}

impl<T> Keyed<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, Entry<T>> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T> Default for Keyed<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Keyed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyedVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for KeyedVisitor<T> {
            type Value = Keyed<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of names")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keyed<T>, A::Error> {
                let mut entries = Vec::new();
                // Duplicate keys never get here: the parser refuses them (`DuplicateKeyPolicy::Error`).
                while let Some(key) = map.next_key::<At<String>>()? {
                    entries.push(Entry { key, value: map.next_value()? });
                }
                entries.sort_by(|a: &Entry<T>, b| a.key.value.cmp(&b.key.value));
                Ok(Keyed(entries))
            }
        }

        deserializer.deserialize_map(KeyedVisitor(PhantomData))
    }
}

impl<T: serde::Serialize> serde::Serialize for Keyed<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|e| (&e.key.value, &e.value.value)))
    }
}

impl<T: JsonSchema> JsonSchema for Keyed<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        <std::collections::BTreeMap<String, T>>::schema_name()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        <std::collections::BTreeMap<String, T>>::json_schema(generator)
    }
}

/// A suite text that serde-saphyr refused: what kind of problem, where, and its message.
pub struct RawError {
    pub kind: SuiteErrorKind,
    pub span: SourceSpan,
    pub message: String,
}

/// Parse suite text into `T` (a `RawSuite`) within the budget.
pub fn parse<'de, T: Deserialize<'de>>(source: &'de str) -> Result<T, RawError> {
    let options = serde_saphyr::options! {
        // miette draws the snippet; serde-saphyr's own would repeat the file in the message.
        with_snippet: false,
        // `yes`/`no`/`on` stay strings, as in YAML 1.2 and serde_yaml.
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            // The scanner looks ahead through a flow collection written as a key before the
            // budget sees its events: it gets the same depth limit.
            flow_nesting_limit: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_events: 4 * MAX_NODES,
            max_aliases: MAX_ALIASES,
            max_anchors: MAX_ALIASES,
            max_documents: 1,
            max_total_scalar_bytes: MAX_SUITE_BYTES as usize,
        },
    };
    serde_saphyr::from_str_with_options(source, options).map_err(|e| raw_error(source, &e))
}

/// The error serde-saphyr wraps in alias and snippet context.
fn original(mut e: &YamlError) -> &YamlError {
    loop {
        match e {
            YamlError::WithSnippet { error, .. } | YamlError::AliasError { error, .. } => e = error,
            other => return other,
        }
    }
}

fn raw_error(source: &str, e: &YamlError) -> RawError {
    let inner = original(e);
    let span = error_span(source, e.location());
    let message = match inner {
        YamlError::Budget { breach, .. } => budget_message(breach),
        _ if kind(inner) == SuiteErrorKind::TooDeep => budget_message(&BudgetBreach::Depth { depth: MAX_DEPTH + 1 }),
        YamlError::Unexpected { expected, .. } => format!("invalid type: expected {expected}"),
        YamlError::InvalidScalar { ty, .. } => {
            let text = source.get(span.offset()..span.offset() + span.len()).unwrap_or_default();
            format!("invalid type: `{}` is not {}", text.escape_debug(), scalar_name(ty))
        }
        other => UserMessageFormatter.format_message(other).into_owned(),
    };
    RawError { kind: kind(inner), span, message }
}

/// Which kind of suite problem a serde-saphyr error is, by its variant.
fn kind(e: &YamlError) -> SuiteErrorKind {
    use YamlError as E;
    match e {
        E::Budget { breach: BudgetBreach::Depth { .. }, .. } | E::AliasReplayStackDepthExceeded { .. } => {
            SuiteErrorKind::TooDeep
        }
        E::ExternalMessage { source, .. }
            if matches!(&**source, ExternalMessageSource::Parser(scan)
                if *scan.kind() == ScanErrorKind::RecursionLimitExceeded) =>
        {
            SuiteErrorKind::TooDeep
        }
        E::Budget { .. } | E::AliasReplayLimitExceeded { .. } | E::AliasExpansionLimitExceeded { .. } => {
            SuiteErrorKind::TooLarge
        }
        E::DuplicateMappingKey { .. } => SuiteErrorKind::Duplicate,
        // Well-formed YAML of the wrong shape: serde's own errors, a scalar of the wrong type,
        // and the messages of our own visitors (`At`, `Keyed`, `RawValues`).
        E::SerdeInvalidType { .. }
        | E::SerdeInvalidValue { .. }
        | E::SerdeInvalidLength { .. }
        | E::SerdeUnknownVariant { .. }
        | E::SerdeUnknownField { .. }
        | E::SerdeMissingField { .. }
        | E::SerdeVariantId { .. }
        | E::InvalidScalar { .. }
        | E::NonFiniteFloat { .. }
        | E::InvalidBooleanStrict { .. }
        | E::NullIntoString { .. }
        | E::Unexpected { .. }
        | E::Message { .. } => SuiteErrorKind::Schema,
        _ => SuiteErrorKind::Syntax,
    }
}

fn budget_message(breach: &BudgetBreach) -> String {
    match breach {
        BudgetBreach::Depth { .. } => format!("the suite nests deeper than {MAX_DEPTH} levels"),
        BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
            format!("the suite has more than {MAX_NODES} YAML nodes")
        }
        BudgetBreach::Aliases { .. } | BudgetBreach::Anchors { .. } => {
            format!("the suite uses more than {MAX_ALIASES} aliases or anchors")
        }
        BudgetBreach::ScalarBytes { .. } => format!("the suite's text is over {MAX_SUITE_BYTES} bytes"),
        other => format!("the suite is too large to parse ({other:?})"),
    }
}

/// How a scalar type reads in a message.
fn scalar_name(ty: &str) -> String {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "bool" => "`true` or `false`".into(),
        other => format!("a value of type {other}"),
    }
}

/// The span of an error: its byte span when serde-saphyr has one, else the character at its
/// line and column (parser errors carry only those).
fn error_span(source: &str, location: Option<Location>) -> SourceSpan {
    let Some(location) = location.filter(|l| l.line() > 0) else { return nowhere() };
    let within = |s: &SourceSpan| !s.is_empty() && source.get(s.offset()..s.offset() + s.len()).is_some();
    if let Some(span) = byte_span(&location).filter(within) {
        return span;
    }
    let offset = byte_offset(source, location.line(), location.column());
    let len = source[offset..].chars().next().map_or(0, char::len_utf8);
    (offset, len).into()
}

/// Byte offset of a 1-based line and character column, clamped to the text.
pub(super) fn byte_offset(source: &str, line: u64, column: u64) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match source[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return source.len(),
        }
    }
    let line_text = &source[start..];
    let end = line_text.find('\n').unwrap_or(line_text.len());
    let within = line_text[..end].char_indices().nth(column.saturating_sub(1) as usize).map_or(end, |(i, _)| i);
    start + within
}
