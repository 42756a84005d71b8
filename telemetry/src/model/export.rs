//! The export wire format: what [`Trace::export`](crate::Trace::export) and
//! [`Span::export`](crate::Span::export) produce, identical to `export()` of the Python
//! client (openai-agents 0.25.0, `agents/tracing/traces.py` and `spans.py`).
//!
//! # Trace
//!
//! ```text
//! {"object": "trace", "id": …, "workflow_name": …, "group_id": …|null, "metadata": {…}|null}
//! ```
//!
//! Traces carry no timestamps. The export is the same at `trace_start` and `trace_end`. A
//! no-op trace exports nothing (`None`), and processors never see it.
//!
//! # Span
//!
//! ```text
//! {"object": "trace.span", "id": …, "trace_id": …, "parent_id": …|null,
//!  "started_at": iso|null, "ended_at": iso|null, "span_data": {…},
//!  "error": {"message": …, "data": {…}|null}|null[, "metadata": {…}]}
//! ```
//!
//! * `parent_id` is `null` for a span whose parent is the trace itself.
//! * `started_at`/`ended_at` are [`Timestamp`]s formatted like Python's `isoformat()`;
//!   `ended_at` is `null` in the `span_start` export.
//! * `span_data` is [`SpanData::export`](crate::SpanData::export).
//! * `metadata` appears only when non-empty. It is built from the trace's metadata, of
//!   which only the routing key `agent_harness_id` is copied (even when its value is
//!   `null`), followed by the keys of the span data's own `metadata` (agent, task and turn
//!   spans) that are not already present.
//!
//! ```
//! use codex_telemetry::{CustomSpanData, InMemoryProcessor, JsonMap, TraceOptions, TraceProvider};
//! use serde_json::json;
//!
//! let memory = InMemoryProcessor::new();
//! let provider = TraceProvider::builder().with_processor(memory.clone()).build();
//! let mut metadata = JsonMap::new();
//! metadata.insert("agent_harness_id".into(), json!("h1"));
//! metadata.insert("customer".into(), json!("c7"));
//! {
//!     let _trace = provider.trace(TraceOptions::new("wf").with_metadata(metadata)).start_as_current();
//!     let _span = provider.span(CustomSpanData::new("step")).start_as_current();
//! }
//! let span_end = &memory.events()[2].data;
//! assert_eq!(span_end["metadata"], json!({"agent_harness_id": "h1"}));
//! let keys: Vec<&str> = span_end.as_object().unwrap().keys().map(|k| k.as_str()).collect();
//! assert_eq!(
//!     keys,
//!     ["object", "id", "trace_id", "parent_id", "started_at", "ended_at", "span_data", "error", "metadata"],
//! );
//! ```

use std::io::{self, Write};

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::model::clock::Timestamp;
use crate::model::config::AGENT_HARNESS_ID_KEY;
use crate::model::span_data::{JsonMap, SpanData};
use crate::model::span_error::SpanError;

/// Trace-metadata keys that Python copies into every span's top-level `metadata`
/// (`_SPAN_METADATA_ROUTING_KEYS` in `spans.py`).
const SPAN_METADATA_ROUTING_KEYS: [&str; 1] = [AGENT_HARNESS_ID_KEY];

/// A trace's export, borrowed from the trace.
pub(crate) struct TraceEnvelope<'a> {
    pub(crate) id: &'a str,
    pub(crate) workflow_name: &'a str,
    pub(crate) group_id: Option<&'a str>,
    pub(crate) metadata: Option<&'a JsonMap>,
}

impl Serialize for TraceEnvelope<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("object", "trace")?;
        map.serialize_entry("id", self.id)?;
        map.serialize_entry("workflow_name", self.workflow_name)?;
        map.serialize_entry("group_id", &self.group_id)?;
        map.serialize_entry("metadata", &self.metadata)?;
        map.end()
    }
}

/// A span's export, borrowed from the span's state.
pub(crate) struct SpanEnvelope<'a> {
    pub(crate) id: &'a str,
    pub(crate) trace_id: &'a str,
    pub(crate) parent_id: Option<&'a str>,
    pub(crate) started_at: Option<Timestamp>,
    pub(crate) ended_at: Option<Timestamp>,
    pub(crate) span_data: &'a SpanData,
    pub(crate) error: Option<&'a SpanError>,
    pub(crate) trace_metadata: Option<&'a JsonMap>,
}

impl Serialize for SpanEnvelope<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let metadata = span_metadata(self.trace_metadata, self.span_data.metadata());
        let mut map = serializer.serialize_map(Some(8 + usize::from(metadata.is_some())))?;
        map.serialize_entry("object", "trace.span")?;
        map.serialize_entry("id", self.id)?;
        map.serialize_entry("trace_id", self.trace_id)?;
        map.serialize_entry("parent_id", &self.parent_id)?;
        map.serialize_entry("started_at", &self.started_at)?;
        map.serialize_entry("ended_at", &self.ended_at)?;
        map.serialize_entry("span_data", self.span_data)?;
        map.serialize_entry("error", &self.error)?;
        if let Some(metadata) = &metadata {
            map.serialize_entry("metadata", metadata)?;
        }
        map.end()
    }
}

// === JSON text ===
//
// `write_export` is on the hot path of every processor that serializes events, so the
// envelopes are written directly: keys and constants as literal bytes, strings that need no
// escaping copied as they are, and everything else (span data, errors, metadata, strings
// that need escapes) through `serde_json`. The bytes are exactly those of
// `serde_json::to_writer` on the `Serialize` impls above, which `export()` uses
// (`tests/integration/write_export.rs` compares them for every span type).

impl TraceEnvelope<'_> {
    pub(crate) fn write_json(&self, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
        out.write_all(br#"{"object":"trace","id":"#)?;
        write_str(out, self.id)?;
        out.write_all(br#","workflow_name":"#)?;
        write_user_str(out, self.workflow_name)?;
        out.write_all(br#","group_id":"#)?;
        match self.group_id {
            Some(group_id) => write_user_str(out, group_id)?,
            None => out.write_all(b"null")?,
        }
        out.write_all(br#","metadata":"#)?;
        write_user_value(out, &self.metadata)?;
        out.write_all(b"}")
    }
}

impl SpanEnvelope<'_> {
    pub(crate) fn write_json(&self, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
        out.write_all(br#"{"object":"trace.span","id":"#)?;
        write_str(out, self.id)?;
        out.write_all(br#","trace_id":"#)?;
        write_str(out, self.trace_id)?;
        out.write_all(br#","parent_id":"#)?;
        match self.parent_id {
            Some(parent_id) => write_str(out, parent_id)?,
            None => out.write_all(b"null")?,
        }
        out.write_all(br#","started_at":"#)?;
        write_timestamp(out, self.started_at)?;
        out.write_all(br#","ended_at":"#)?;
        write_timestamp(out, self.ended_at)?;
        out.write_all(br#","span_data":"#)?;
        write_user_value(out, self.span_data)?;
        out.write_all(br#","error":"#)?;
        write_user_value(out, &self.error)?;
        if let Some(metadata) = span_metadata(self.trace_metadata, self.span_data.metadata()) {
            out.write_all(br#","metadata":"#)?;
            write_user_value(out, &metadata)?;
        }
        out.write_all(b"}")
    }
}

/// A JSON string as `serde_json` writes it; copied as it is when nothing needs escaping
/// (generated ids, names, timestamps: the common case).
fn write_str(out: &mut (impl Write + ?Sized), value: &str) -> io::Result<()> {
    // serde_json escapes exactly the control characters, `"` and `\`.
    if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.write_all(b"\"")?;
        out.write_all(value.as_bytes())?;
        out.write_all(b"\"")
    } else {
        write_value(out, value)
    }
}

fn write_timestamp(
    out: &mut (impl Write + ?Sized),
    timestamp: Option<Timestamp>,
) -> io::Result<()> {
    match timestamp {
        Some(timestamp) => {
            out.write_all(b"\"")?;
            out.write_all(timestamp.iso_format().as_bytes())?;
            out.write_all(b"\"")
        }
        None => out.write_all(b"null"),
    }
}

/// A user-data string (a name, a group), scrubbed of secrets (see [`crate::scrub`]).
fn write_user_str(out: &mut (impl Write + ?Sized), value: &str) -> io::Result<()> {
    write_str(out, &crate::model::scrub::scrub_str(value))
}

/// User data (span data, errors, metadata) through a per-thread scratch buffer, scrubbed of
/// secrets before it is written (ids and timestamps, generated, are written directly).
fn write_user_value(
    out: &mut (impl Write + ?Sized),
    value: &(impl Serialize + ?Sized),
) -> io::Result<()> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| {
        // A processor serializing inside another's serialization gets a buffer of its own.
        let mut owned = Vec::new();
        let mut borrowed = scratch.try_borrow_mut();
        let bytes = match borrowed.as_deref_mut() {
            Ok(bytes) => bytes,
            Err(_) => &mut owned,
        };
        bytes.clear();
        write_value(bytes, value)?;
        crate::model::scrub::scrub_json_chunk(bytes);
        out.write_all(bytes)
    })
}

fn write_value(
    out: &mut (impl Write + ?Sized),
    value: &(impl Serialize + ?Sized),
) -> io::Result<()> {
    serde_json::to_writer(out, value).map_err(io::Error::from)
}

/// The span's top-level `metadata`, or `None` when it would be empty
/// (`SpanImpl.export` in `spans.py`).
fn span_metadata(
    trace_metadata: Option<&JsonMap>,
    span_data_metadata: Option<&JsonMap>,
) -> Option<JsonMap> {
    if trace_metadata.is_none() && span_data_metadata.is_none_or(JsonMap::is_empty) {
        return None;
    }
    let mut metadata = JsonMap::new();
    if let Some(trace_metadata) = trace_metadata {
        for key in SPAN_METADATA_ROUTING_KEYS {
            if let Some(value) = trace_metadata.get(key) {
                metadata.insert(key.to_owned(), value.clone());
            }
        }
    }
    for (key, value) in span_data_metadata.into_iter().flatten() {
        if !metadata.contains_key(key) {
            metadata.insert(key.clone(), value.clone());
        }
    }
    (!metadata.is_empty()).then_some(metadata)
}

impl Serialize for SpanError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("message", &self.message)?;
        map.serialize_entry("data", &self.data)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::span_data::{AgentSpanData, CustomSpanData};
    use serde_json::json;

    fn map(value: serde_json::Value) -> JsonMap {
        match value {
            serde_json::Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn trace_envelope_matches_python_text() {
        let metadata = map(json!({"k": "v"}));
        let envelope = TraceEnvelope {
            id: "trace_1",
            workflow_name: "wf",
            group_id: Some("g"),
            metadata: Some(&metadata),
        };
        assert_eq!(
            serde_json::to_string(&envelope).unwrap(),
            r#"{"object":"trace","id":"trace_1","workflow_name":"wf","group_id":"g","metadata":{"k":"v"}}"#
        );
        let bare = TraceEnvelope {
            id: "t",
            workflow_name: "w",
            group_id: None,
            metadata: None,
        };
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            r#"{"object":"trace","id":"t","workflow_name":"w","group_id":null,"metadata":null}"#
        );
    }

    #[test]
    fn span_envelope_matches_python_text() {
        let data = SpanData::from(CustomSpanData::with_data("outer", map(json!({"a": 1}))));
        let error = SpanError::new("m").with_data(map(json!({"x": 1})));
        let envelope = SpanEnvelope {
            id: "span_1",
            trace_id: "trace_1",
            parent_id: None,
            started_at: Some(Timestamp::from_unix(1_795_246_930, 387_012_000).unwrap()),
            ended_at: None,
            span_data: &data,
            error: Some(&error),
            trace_metadata: None,
        };
        assert_eq!(
            serde_json::to_string(&envelope).unwrap(),
            concat!(
                r#"{"object":"trace.span","id":"span_1","trace_id":"trace_1","parent_id":null,"#,
                r#""started_at":"2026-11-21T07:42:10.387012+00:00","ended_at":null,"#,
                r#""span_data":{"type":"custom","name":"outer","data":{"a":1}},"#,
                r#""error":{"message":"m","data":{"x":1}}}"#
            )
        );
    }

    #[test]
    fn metadata_takes_routing_keys_then_span_data_keys() {
        // Python 0.24.0: trace metadata {"agent_harness_id": "H", "other": 2} and agent
        // span_data.metadata {"usage": {...}, "agent_harness_id": "X"} export
        // "metadata": {"agent_harness_id": "H", "usage": {...}}.
        let trace_metadata = map(json!({"agent_harness_id": "H", "other": 2}));
        let mut agent = AgentSpanData::new("A");
        agent.metadata = Some(map(
            json!({"usage": {"requests": 1}, "agent_harness_id": "X"}),
        ));
        let merged =
            span_metadata(Some(&trace_metadata), SpanData::from(agent).metadata()).unwrap();
        assert_eq!(
            serde_json::to_string(&merged).unwrap(),
            r#"{"agent_harness_id":"H","usage":{"requests":1}}"#
        );
    }

    #[test]
    fn metadata_absent_when_empty() {
        let no_routing = map(json!({"other": 2}));
        assert_eq!(span_metadata(Some(&no_routing), None), None);
        assert_eq!(span_metadata(None, Some(&JsonMap::new())), None);
        assert_eq!(span_metadata(None, None), None);
        let null_harness = map(json!({"agent_harness_id": null}));
        assert_eq!(
            span_metadata(Some(&null_harness), None),
            Some(null_harness.clone())
        );
    }
}
