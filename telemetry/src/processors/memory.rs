//! The in-memory processor: every event kept as the export of its trace or span at that
//! moment, for tests.

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use crate::sdk::processor::{EventKind, TracingProcessor};
use crate::sdk::span::Span;
use crate::sdk::trace::Trace;

/// One event seen by an [`InMemoryProcessor`]: its kind and the export of the trace or
/// span at that moment.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{EventKind, InMemoryProcessor, TraceProvider};
///
/// let memory = InMemoryProcessor::new();
/// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
/// drop(provider.trace("wf").start_as_current());
/// let first = &memory.events()[0];
/// assert_eq!(first.kind, EventKind::TraceStart);
/// assert_eq!(first.data["workflow_name"], "wf");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedEvent {
    /// Which event it was.
    pub kind: EventKind,
    /// [`Trace::export`] or [`Span::export`] taken during the callback.
    pub data: Value,
}

/// A processor that keeps a snapshot of every event in memory, for tests.
///
/// Clones share the same record, so a test keeps one handle and registers another.
///
/// Each event is kept as its JSON text ([`Span::write_export`]), written straight from
/// the span's state, and becomes a [`Value`] only when read: recording costs one
/// serialization and one allocation per event, not a tree of maps and strings.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{AgentSpanData, InMemoryProcessor, TraceProvider};
/// use serde_json::json;
///
/// let memory = InMemoryProcessor::new();
/// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
/// {
///     let _trace = provider.trace("wf").start_as_current();
///     let agent = provider.span(AgentSpanData::new("A"));
///     let _entered = agent.start_as_current();
///     agent.update(|a| a.tools = Some(vec!["t".into()]));
/// }
/// let events = memory.events();
/// // Snapshots: the start export still has the tools unset.
/// assert_eq!(events[1].data["span_data"]["tools"], json!(null));
/// assert_eq!(events[2].data["span_data"]["tools"], json!(["t"]));
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemoryProcessor {
    events: Arc<Mutex<Vec<KeptEvent>>>,
}

/// One event as the in-memory processor keeps it: its kind and its export, serialized.
type KeptEvent = (EventKind, Box<[u8]>);

impl InMemoryProcessor {
    /// An empty record.
    ///
    /// ```
    /// use codex_telemetry::InMemoryProcessor;
    ///
    /// assert!(InMemoryProcessor::new().events().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events recorded so far, in order.
    ///
    /// ```
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
    /// let trace = provider.trace("wf");
    /// trace.start();
    /// assert_eq!(memory.events().len(), 1);
    /// ```
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.lock().iter().map(Self::decode).collect()
    }

    /// Removes and returns the events recorded so far.
    ///
    /// ```
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
    /// drop(provider.trace("wf").start_as_current());
    /// assert_eq!(memory.take().len(), 2);
    /// assert!(memory.events().is_empty());
    /// ```
    pub fn take(&self) -> Vec<RecordedEvent> {
        let taken = std::mem::take(&mut *self.lock());
        taken.iter().map(Self::decode).collect()
    }

    /// Forgets the events recorded so far.
    ///
    /// ```
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
    /// drop(provider.trace("wf").start_as_current());
    /// memory.clear();
    /// assert!(memory.events().is_empty());
    /// ```
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Records the export `write` produces (`null` when it writes nothing: no-op handles).
    fn record<F>(&self, kind: EventKind, write: F)
    where
        F: FnOnce(&mut Vec<u8>) -> std::io::Result<bool>,
    {
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let mut write = Some(write);
        let encode = |buffer: &mut Vec<u8>, write: &mut Option<_>| {
            buffer.clear();
            match write.take().map(|write: F| write(buffer)) {
                Some(Ok(true)) => Box::from(buffer.as_slice()),
                // Writing to a `Vec` cannot fail; a no-op handle writes nothing.
                _ => Box::from(&b"null"[..]),
            }
        };
        // Written into a reused per-thread buffer, then copied once at its exact size (a
        // fresh buffer while the thread's locals are torn down).
        let text = BUFFER
            .try_with(|buffer| encode(&mut buffer.borrow_mut(), &mut write))
            .unwrap_or_else(|_| encode(&mut Vec::new(), &mut write));
        self.lock().push((kind, text));
    }

    fn decode((kind, text): &(EventKind, Box<[u8]>)) -> RecordedEvent {
        RecordedEvent {
            kind: *kind,
            // The text was written by `write_export` (serde_json, floats round-trip).
            data: serde_json::from_slice(text).expect("recorded exports are valid JSON"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(EventKind, Box<[u8]>)>> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TracingProcessor for InMemoryProcessor {
    fn on_trace_start(&self, trace: &Trace) {
        self.record(EventKind::TraceStart, |b| trace.write_export(b));
    }

    fn on_trace_end(&self, trace: &Trace) {
        self.record(EventKind::TraceEnd, |b| trace.write_export(b));
    }

    fn on_span_start(&self, span: &Span) {
        self.record(EventKind::SpanStart, |b| span.write_export(b));
    }

    fn on_span_end(&self, span: &Span) {
        self.record(EventKind::SpanEnd, |b| span.write_export(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::provider::TraceProvider;

    #[test]
    fn in_memory_take_and_clear() {
        let memory = InMemoryProcessor::new();
        let provider = TraceProvider::builder()
            .with_processor(memory.clone())
            .build();
        provider.trace("wf").start();
        assert_eq!(memory.take().len(), 1);
        assert!(memory.events().is_empty());
        provider.trace("wf").start();
        memory.clear();
        assert!(memory.events().is_empty());
    }
}
