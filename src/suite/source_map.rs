//! Where each node of a YAML document sits, so that errors found after parsing can point at it.
//!
//! serde_yaml reports positions only for errors it raises itself; checks that run on the parsed
//! suite (a missing file, an unknown perturbation) look their node up here by path.

use std::collections::HashMap;

use miette::SourceSpan;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(key: &str) -> Self {
        Seg::Key(key.to_owned())
    }
}

impl From<usize> for Seg {
    fn from(index: usize) -> Self {
        Seg::Index(index)
    }
}

/// Build a path (an array of `Seg`): `path!["models", 0, "path"]`.
#[macro_export]
macro_rules! path {
    ($($seg:expr),* $(,)?) => { [$($crate::suite::source_map::Seg::from($seg)),*] };
}

/// Spans of keys and values by path.
#[derive(Debug, Default)]
pub struct SourceMap {
    keys: HashMap<Vec<Seg>, SourceSpan>,
    values: HashMap<Vec<Seg>, SourceSpan>,
}

impl SourceMap {
    /// Map a document; a document that does not parse maps to nothing (serde_yaml reports the
    /// syntax error with its own position first).
    pub fn new(source: &str) -> Self {
        let mut builder = Builder { source, ..Default::default() };
        let _ = Parser::new_from_str(source).load(&mut builder, false);
        builder.map
    }

    /// Span of the value at `path`, else of the nearest ancestor that exists.
    pub fn value(&self, path: &[Seg]) -> SourceSpan {
        (0..=path.len()).rev().find_map(|n| self.values.get(&path[..n]).copied()).unwrap_or_else(|| (0, 0).into())
    }

    /// Span of the key naming the node at `path` (its value's span for sequence items).
    pub fn key(&self, path: &[Seg]) -> SourceSpan {
        self.keys.get(path).copied().unwrap_or_else(|| self.value(path))
    }
}

enum Frame {
    Map { pending_key: Option<(String, SourceSpan)> },
    Seq { next: usize },
}

#[derive(Default)]
struct Builder<'a> {
    source: &'a str,
    map: SourceMap,
    stack: Vec<Frame>,
    path: Vec<Seg>,
    /// Start of the node opened at each depth, to give collections a span over their whole text.
    starts: Vec<usize>,
}

impl Builder<'_> {
    /// Called when a node starts: decides the path segment it lives under.
    /// Returns false when the node is a mapping key rather than a value.
    fn enter_node(&mut self, text: Option<&str>, span: SourceSpan) -> bool {
        match self.stack.last_mut() {
            Some(Frame::Map { pending_key }) => match pending_key.take() {
                None => {
                    // This scalar is a key; complex keys are not used by suites.
                    let key = text.unwrap_or_default().to_owned();
                    *pending_key = Some((key, span));
                    // A block mapping's start event comes after its first key: start there.
                    if let Some(start) = self.starts.last_mut() {
                        *start = (*start).min(span.offset());
                    }
                    false
                }
                Some((key, key_span)) => {
                    self.path.push(Seg::Key(key));
                    self.map.keys.insert(self.path.clone(), key_span);
                    true
                }
            },
            Some(Frame::Seq { next }) => {
                self.path.push(Seg::Index(*next));
                *next += 1;
                true
            }
            None => true,
        }
    }

    fn leave_node(&mut self) {
        if !self.stack.is_empty() {
            self.path.pop();
        }
    }

    fn scalar_span(&self, mark: &Marker, text: &str) -> SourceSpan {
        let start = mark.index().min(self.source.len());
        // Quoted scalars are longer in the source than their value; find the line's end instead.
        let rest = &self.source[start..];
        let raw_len = if rest.starts_with(['"', '\'']) {
            rest.find('\n').unwrap_or(rest.len())
        } else {
            text.len().max(1).min(rest.len())
        };
        (start, raw_len).into()
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, ..) => {
                let span = self.scalar_span(&mark, &text);
                if self.enter_node(Some(&text), span) {
                    self.map.values.insert(self.path.clone(), span);
                    self.leave_node();
                }
            }
            Event::Alias(_) => {
                let span: SourceSpan = (mark.index(), 1).into();
                if self.enter_node(Some(""), span) {
                    self.map.values.insert(self.path.clone(), span);
                    self.leave_node();
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                self.enter_node(None, (mark.index(), 0).into());
                self.starts.push(mark.index());
                self.stack.push(match ev {
                    Event::MappingStart(..) => Frame::Map { pending_key: None },
                    _ => Frame::Seq { next: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                let start = self.starts.pop().unwrap_or(0).min(self.source.len());
                let end = mark.index().clamp(start, self.source.len());
                let text = self.source[start..end].trim_end();
                self.map.values.insert(self.path.clone(), (start, text.len().max(1)).into());
                self.leave_node();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str =
        "name: demo\nmodels:\n  - name: a\n    path: \"x.onnx\"\n  - name: b\nrisk:\n  blur: {sigma: [1, 2]}\n";

    fn text(span: SourceSpan) -> &'static str {
        &DOC[span.offset()..span.offset() + span.len()]
    }

    #[test]
    fn finds_scalars_in_maps_and_sequences() {
        let map = SourceMap::new(DOC);
        assert_eq!(text(map.value(&crate::path!["name"])), "demo");
        assert_eq!(text(map.value(&crate::path!["models", 1, "name"])), "b");
        assert_eq!(text(map.value(&crate::path!["models", 0, "path"])), "\"x.onnx\"");
        assert_eq!(text(map.key(&crate::path!["models", 0, "path"])), "path");
        assert_eq!(text(map.value(&crate::path!["risk", "blur", "sigma", 1])), "2");
    }

    #[test]
    fn missing_paths_fall_back_to_the_nearest_ancestor() {
        let map = SourceMap::new(DOC);
        let span = map.value(&crate::path!["models", 0, "nope"]);
        assert!(text(span).starts_with("name: a"), "{:?}", text(span));
    }

    #[test]
    fn broken_yaml_maps_without_panicking() {
        let map = SourceMap::new("a: [1, 2\nb: {");
        let _ = map.value(&crate::path!["a", 0]);
    }
}
