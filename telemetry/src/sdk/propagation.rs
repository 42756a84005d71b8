//! Carrying a run's correlation ids across a process boundary.
//!
//! [`PropagatedContext::current`] captures the current trace and span as a plain value, which
//! serializes to one line ([`PropagatedContext::to_header`], JSON, for an environment variable
//! or a request header such as [`HEADER`]). A child process parses it
//! ([`PropagatedContext::from_header`]) and enters it with
//! [`TraceProvider::resume`](crate::TraceProvider::resume): everything it then records joins
//! the parent's trace, its top spans hang off the span that was current in the parent, and its
//! `openai.agents` log lines carry those ids. The child emits no `trace_start`/`trace_end` and
//! no event for the parent's span: both belong to the parent, which starts and ends them.
//!
//! The Python client has no such mechanism (its context lives in `contextvars` of one
//! process); this is an extension, and the ids keep the client's shapes so that the parent's
//! and the child's exports merge into one trace.
//!
//! ```
//! use codex_telemetry::propagation::PropagatedContext;
//! use codex_telemetry::{CustomSpanData, InMemoryProcessor, TraceProvider, current_span};
//!
//! let provider = TraceProvider::new();
//! let _trace = provider.trace("wf").start_as_current();
//! let step = provider.span(CustomSpanData::new("step"));
//! let _step = step.start_as_current();
//! let header = PropagatedContext::current().unwrap().to_header();
//!
//! // In the child process:
//! let child = TraceProvider::builder().with_processor(InMemoryProcessor::new()).build();
//! let remote = PropagatedContext::from_header(&header).unwrap();
//! let _resumed = child.resume(&remote).attach();
//! let work = child.span(CustomSpanData::new("child work"));
//! assert_eq!(work.parent_id(), Some(step.id()));
//! assert_eq!(work.trace_id(), remote.trace_id());
//! ```

use serde::{Deserialize, Serialize};

use crate::model::span_data::JsonMap;
use crate::sdk::context::Context;

/// The environment variable (and header name) this crate's examples use to hand a
/// [`PropagatedContext`] to a child process.
pub const HEADER: &str = "CODEX_TELEMETRY_CONTEXT";

/// A trace and span to continue in another process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropagatedContext {
    trace_id: String,
    #[serde(default)]
    span_id: Option<String>,
    workflow_name: String,
    #[serde(default)]
    group_id: Option<String>,
    /// The trace metadata: spans export its routing keys (e.g. `agent_harness_id`).
    #[serde(default)]
    metadata: Option<JsonMap>,
}

/// A propagated context could not be read; the message says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid propagated context: {message}")]
pub struct ParseContextError {
    message: String,
}

impl PropagatedContext {
    /// The current trace and span, or `None` outside a trace or in a no-op one.
    ///
    /// ```
    /// use codex_telemetry::propagation::PropagatedContext;
    ///
    /// assert!(PropagatedContext::current().is_none());
    /// ```
    pub fn current() -> Option<PropagatedContext> {
        let cx = Context::current();
        let trace = cx.trace().filter(|t| !t.is_noop())?;
        let export = trace.export();
        let field = |name: &str| {
            export
                .as_ref()
                .and_then(|e| e.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        Some(PropagatedContext {
            trace_id: trace.id().to_owned(),
            span_id: cx
                .span()
                .filter(|s| !s.is_noop())
                .map(|s| s.id().to_owned()),
            workflow_name: trace.workflow_name().to_owned(),
            group_id: field("group_id"),
            metadata: export
                .as_ref()
                .and_then(|e| e.get("metadata"))
                .and_then(|m| m.as_object())
                .cloned(),
        })
    }

    /// The trace id to continue.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The span the child's top spans hang off, if a span was current.
    pub fn span_id(&self) -> Option<&str> {
        self.span_id.as_deref()
    }

    /// One line of JSON.
    pub fn to_header(&self) -> String {
        serde_json::to_string(self).expect("a propagated context serializes")
    }

    /// Reads [`to_header`](Self::to_header)'s line back; ids must have the client's shapes
    /// (`trace_` + 32 hex, `span_` + 24 hex).
    ///
    /// ```
    /// use codex_telemetry::propagation::PropagatedContext;
    ///
    /// let err = PropagatedContext::from_header(r#"{"trace_id":"x","workflow_name":"wf"}"#).unwrap_err();
    /// assert_eq!(err.to_string(), "invalid propagated context: trace_id \"x\" is not trace_ followed by 32 lowercase hex digits");
    /// ```
    pub fn from_header(header: &str) -> Result<PropagatedContext, ParseContextError> {
        let context: PropagatedContext =
            serde_json::from_str(header).map_err(|e| ParseContextError {
                message: e.to_string(),
            })?;
        check_shape(&context.trace_id, "trace_id", "trace_", 32)?;
        if let Some(span) = &context.span_id {
            check_shape(span, "span_id", "span_", 24)?;
        }
        Ok(context)
    }

    pub(crate) fn workflow_name(&self) -> &str {
        &self.workflow_name
    }

    pub(crate) fn group_id(&self) -> Option<&str> {
        self.group_id.as_deref()
    }

    pub(crate) fn metadata(&self) -> Option<&JsonMap> {
        self.metadata.as_ref()
    }
}

fn check_shape(id: &str, field: &str, prefix: &str, hex: usize) -> Result<(), ParseContextError> {
    let ok = id.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == hex
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if ok {
        Ok(())
    } else {
        Err(ParseContextError {
            message: format!(
                "{field} {id:?} is not {prefix} followed by {hex} lowercase hex digits"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::span_data::CustomSpanData;
    use crate::sdk::provider::TraceProvider;
    use crate::sdk::trace::TraceOptions;

    #[test]
    fn a_header_round_trips_with_group_and_metadata() {
        let provider = TraceProvider::new();
        let options = TraceOptions::new("wf")
            .with_group_id("g")
            .with_metadata(JsonMap::from_iter([(
                "agent_harness_id".into(),
                "h".into(),
            )]));
        let _trace = provider.trace(options).start_as_current();
        let span = provider.span(CustomSpanData::new("s"));
        let _span = span.start_as_current();
        let context = PropagatedContext::current().unwrap();
        let back = PropagatedContext::from_header(&context.to_header()).unwrap();
        assert_eq!(back, context);
        assert_eq!(back.span_id(), Some(span.id()));
        assert_eq!(back.group_id(), Some("g"));
        assert_eq!(back.metadata().unwrap()["agent_harness_id"], "h");
    }

    #[test]
    fn a_resumed_context_emits_nothing_of_its_own() {
        let memory = crate::InMemoryProcessor::new();
        let provider = TraceProvider::builder()
            .with_processor(memory.clone())
            .build();
        let header = r#"{"trace_id":"trace_0123456789abcdef0123456789abcdef","span_id":"span_0123456789abcdef01234567","workflow_name":"wf"}"#;
        let remote = PropagatedContext::from_header(header).unwrap();
        {
            let _resumed = provider.resume(&remote).attach();
            let child = provider.span(CustomSpanData::new("child"));
            let _child = child.start_as_current();
        }
        let events = memory.events();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["span_start", "span_end"]);
        assert_eq!(events[0].data["trace_id"], remote.trace_id());
        assert_eq!(events[0].data["parent_id"], "span_0123456789abcdef01234567");
    }
}
