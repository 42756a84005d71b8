//! Lenient, read-only views over raw records, and an index of the log.
//!
//! Every later pass reads records through [`View`], whose accessors return `None` instead of
//! panicking when a field is missing or has the wrong JSON type: a malformed record is a
//! finding (reported by `validate`), never a crash.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::record::{RawLog, RecordKind};

/// Python's trace export keys, in export order.
pub(crate) const TRACE_KEYS: &[&str] = &["object", "id", "workflow_name", "group_id", "metadata"];
/// Python's span export keys, in export order; `metadata` is optional.
pub(crate) const SPAN_KEYS: &[&str] = &[
    "object",
    "id",
    "trace_id",
    "parent_id",
    "started_at",
    "ended_at",
    "span_data",
    "error",
    "metadata",
];
/// The fields of a `log` record.
pub(crate) const LOG_KEYS: &[&str] = &["logger", "level", "message", "trace_id", "span_id"];
/// The fields every `hook` record has besides the callback's arguments.
pub(crate) const HOOK_KEYS: &[&str] = &["hook", "scope", "trace_id", "span_id"];

/// Which id namespace a reference belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdKind {
    /// A trace id (`trace_…`).
    Trace,
    /// A span id (`span_…`).
    Span,
}

/// One raw record, read leniently.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    /// Position in emission order (index into [`RawLog::records`]).
    pub(crate) index: usize,
    /// The record's kind.
    pub(crate) kind: RecordKind,
    /// The record's `seq`.
    pub(crate) seq: u64,
    /// The whole payload.
    pub(crate) data: &'a Value,
}

impl<'a> View<'a> {
    /// The payload as a JSON object, if it is one.
    pub(crate) fn obj(&self) -> Option<&'a Map<String, Value>> {
        self.data.as_object()
    }

    /// A field of the payload, if the payload is an object that has it.
    pub(crate) fn field(&self, key: &str) -> Option<&'a Value> {
        self.obj().and_then(|obj| obj.get(key))
    }

    /// A string field of the payload.
    pub(crate) fn str(&self, key: &str) -> Option<&'a str> {
        self.field(key).and_then(Value::as_str)
    }

    /// Whether this record is a trace or span start/end.
    pub(crate) fn is_trace_event(&self) -> bool {
        matches!(self.kind, RecordKind::TraceStart | RecordKind::TraceEnd)
    }

    /// Whether this record is a span start/end.
    pub(crate) fn is_span_event(&self) -> bool {
        matches!(self.kind, RecordKind::SpanStart | RecordKind::SpanEnd)
    }

    /// The id this record is about: `id` of a trace or span event.
    pub(crate) fn own_id(&self) -> Option<&'a str> {
        if self.is_trace_event() || self.is_span_event() {
            self.str("id")
        } else {
            None
        }
    }

    /// The trace this record names in its own fields (`id` of a trace event, `trace_id` of a
    /// span, log or hook record).
    pub(crate) fn trace_ref(&self) -> Option<&'a str> {
        match self.kind {
            RecordKind::TraceStart | RecordKind::TraceEnd => self.str("id"),
            RecordKind::SpanStart | RecordKind::SpanEnd | RecordKind::Log | RecordKind::Hook => {
                self.str("trace_id")
            }
            RecordKind::Outcome => None,
        }
    }

    /// The `parent_id` of a span event, when it is a string.
    pub(crate) fn parent_ref(&self) -> Option<&'a str> {
        if self.is_span_event() {
            self.str("parent_id")
        } else {
            None
        }
    }

    /// The `span_id` of a log or hook record, when it is a string.
    pub(crate) fn span_ref(&self) -> Option<&'a str> {
        match self.kind {
            RecordKind::Log | RecordKind::Hook => self.str("span_id"),
            _ => None,
        }
    }

    /// The ids this record holds in id positions, in the fixed order that placeholder numbering
    /// uses: trace first, then the record's own span, then the span it points at.
    pub(crate) fn id_refs(&self) -> Vec<(IdKind, &'a str)> {
        let mut refs = Vec::with_capacity(3);
        match self.kind {
            RecordKind::TraceStart | RecordKind::TraceEnd => {
                refs.extend(self.str("id").map(|id| (IdKind::Trace, id)));
            }
            RecordKind::SpanStart | RecordKind::SpanEnd => {
                refs.extend(self.str("trace_id").map(|id| (IdKind::Trace, id)));
                refs.extend(self.str("id").map(|id| (IdKind::Span, id)));
                refs.extend(self.str("parent_id").map(|id| (IdKind::Span, id)));
            }
            RecordKind::Log | RecordKind::Hook => {
                refs.extend(self.str("trace_id").map(|id| (IdKind::Trace, id)));
                refs.extend(self.str("span_id").map(|id| (IdKind::Span, id)));
            }
            RecordKind::Outcome => {}
        }
        refs
    }
}

/// The records of a log plus lookup tables by id (all indices are emission indices).
#[derive(Debug)]
pub(crate) struct Index<'a> {
    /// One view per record, in emission order.
    pub(crate) views: Vec<View<'a>>,
    span_starts: HashMap<&'a str, Vec<usize>>,
    span_ends: HashMap<&'a str, Vec<usize>>,
    trace_starts: HashMap<&'a str, Vec<usize>>,
    trace_ends: HashMap<&'a str, Vec<usize>>,
    trace_keys: Vec<Option<&'a str>>,
}

impl<'a> Index<'a> {
    /// Indexes a raw log.
    pub(crate) fn new(log: &'a RawLog) -> Index<'a> {
        let views: Vec<View<'a>> = log
            .records
            .iter()
            .enumerate()
            .map(|(index, record)| View {
                index,
                kind: record.kind,
                seq: record.seq,
                data: &record.data,
            })
            .collect();
        let mut index = Index {
            views,
            span_starts: HashMap::new(),
            span_ends: HashMap::new(),
            trace_starts: HashMap::new(),
            trace_ends: HashMap::new(),
            trace_keys: Vec::new(),
        };
        for view in &index.views {
            let Some(id) = view.own_id() else { continue };
            let table = match view.kind {
                RecordKind::TraceStart => &mut index.trace_starts,
                RecordKind::TraceEnd => &mut index.trace_ends,
                RecordKind::SpanStart => &mut index.span_starts,
                RecordKind::SpanEnd => &mut index.span_ends,
                _ => continue,
            };
            table.entry(id).or_default().push(view.index);
        }
        index.trace_keys = index
            .views
            .iter()
            .map(|view| index.compute_trace_key(view))
            .collect();
        index
    }

    /// The record at an emission index.
    pub(crate) fn view(&self, index: usize) -> &View<'a> {
        &self.views[index]
    }

    /// Emission indices of the `span_start` records of a span id.
    pub(crate) fn span_starts(&self, id: &str) -> &[usize] {
        self.span_starts.get(id).map_or(&[], Vec::as_slice)
    }

    /// Emission indices of the `span_end` records of a span id.
    pub(crate) fn span_ends(&self, id: &str) -> &[usize] {
        self.span_ends.get(id).map_or(&[], Vec::as_slice)
    }

    /// Emission indices of the `trace_start` records of a trace id.
    pub(crate) fn trace_starts(&self, id: &str) -> &[usize] {
        self.trace_starts.get(id).map_or(&[], Vec::as_slice)
    }

    /// Emission indices of the `trace_end` records of a trace id.
    pub(crate) fn trace_ends(&self, id: &str) -> &[usize] {
        self.trace_ends.get(id).map_or(&[], Vec::as_slice)
    }

    /// Whether a span id has a start or an end record.
    pub(crate) fn is_span(&self, id: &str) -> bool {
        self.span_starts.contains_key(id) || self.span_ends.contains_key(id)
    }

    /// The record that defines a span's identity: its first start, else its first end.
    pub(crate) fn span_record(&self, id: &str) -> Option<&View<'a>> {
        self.span_starts(id)
            .first()
            .or_else(|| self.span_ends(id).first())
            .map(|&i| self.view(i))
    }

    /// The trace a span belongs to, read from its defining record.
    pub(crate) fn span_trace(&self, id: &str) -> Option<&'a str> {
        self.span_record(id).and_then(|view| view.str("trace_id"))
    }

    /// The parent a span names in its defining record.
    pub(crate) fn span_parent(&self, id: &str) -> Option<&'a str> {
        self.span_record(id).and_then(View::parent_ref)
    }

    /// The trace a record belongs to for ordering and grouping, or `None` for records with no
    /// trace context (outcomes, logs outside any trace).
    pub(crate) fn trace_key(&self, index: usize) -> Option<&'a str> {
        self.trace_keys[index]
    }

    fn compute_trace_key(&self, view: &View<'a>) -> Option<&'a str> {
        if let Some(trace) = view.trace_ref() {
            return Some(trace);
        }
        // A record that lost its trace id still belongs where its span does.
        let span = if view.is_span_event() {
            view.own_id()
        } else {
            view.span_ref()
        };
        span.and_then(|id| self.span_trace(id))
    }
}

/// The JSON type name of a value, for findings (`"a number"`).
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::testing::{LogBuilder, sid, tid};
    use serde_json::json;

    #[test]
    fn id_refs_are_listed_trace_then_own_then_parent() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.span_start(&sid(2), &tid(1), Some(&sid(1)), json!({"type": "agent"}));
        let log = b.build();
        let index = Index::new(&log);
        assert_eq!(
            index.view(1).id_refs(),
            vec![
                (IdKind::Trace, tid(1).as_str()),
                (IdKind::Span, sid(2).as_str()),
                (IdKind::Span, sid(1).as_str())
            ]
        );
    }

    #[test]
    fn a_log_without_trace_id_belongs_to_its_span_trace() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.span_start(&sid(1), &tid(1), None, json!({"type": "agent"}));
        b.log("DEBUG", "x", None, Some(&sid(1)));
        b.log("DEBUG", "y", None, None);
        let log = b.build();
        let index = Index::new(&log);
        assert_eq!(index.trace_key(2), Some(tid(1).as_str()));
        assert_eq!(index.trace_key(3), None);
    }

    #[test]
    fn malformed_records_read_as_none() {
        let mut b = LogBuilder::new();
        b.push(RecordKind::SpanStart, json!("not an object"));
        b.push(RecordKind::Log, json!({"trace_id": 5, "span_id": ["x"]}));
        let log = b.build();
        let index = Index::new(&log);
        assert_eq!(index.view(0).own_id(), None);
        assert!(index.view(1).id_refs().is_empty());
        assert_eq!(index.trace_key(1), None);
    }
}
