//! Processors: the consumers of trace and span events.
//!
//! A [`TracingProcessor`] is told when traces and spans start and end, exactly like the
//! Python client's `TracingProcessor`:
//!
//! * every registered processor is called **synchronously, in registration order, on the
//!   thread that emitted the event** (Python's `SynchronousMultiTracingProcessor`), so
//!   events of concurrent runs interleave in one stream and consumers group them by
//!   `trace_id`/`parent_id`;
//! * a processor that panics is contained with [`catch_unwind`](std::panic::catch_unwind):
//!   the remaining processors still run, the host carries on, and an ERROR event
//!   `Error in trace processor during on_span_start` (or `on_trace_start`,
//!   `on_trace_end`, `on_span_end`) is logged to target
//!   [`openai.agents`](crate::LOG_TARGET), without the panic's payload (Python leaves the
//!   exception out too while its `DONT_LOG_*` defaults are in force). The process's panic
//!   hook still runs, so the default hook prints the panic to stderr; a crate built with
//!   `panic = "abort"` cannot contain a panic at all.
//!
//! Processors receive live handles: [`Span::export`](crate::Span::export) returns the
//! span as it is at that moment, so a processor that wants a snapshot exports during the
//! callback, as [`InMemoryProcessor`] does.
//!
//! ```
//! use codex_telemetry::{CustomSpanData, EventKind, InMemoryProcessor, TraceProvider};
//!
//! let memory = InMemoryProcessor::new();
//! let provider = TraceProvider::builder().with_processor(memory.clone()).build();
//! {
//!     let _trace = provider.trace("wf").start_as_current();
//!     let _span = provider.span(CustomSpanData::new("step")).start_as_current();
//! }
//! let kinds: Vec<EventKind> = memory.events().iter().map(|e| e.kind).collect();
//! assert_eq!(
//!     kinds,
//!     [EventKind::TraceStart, EventKind::SpanStart, EventKind::SpanEnd, EventKind::TraceEnd],
//! );
//! ```

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use serde_json::Value;

use crate::logging::{agents_debug, agents_error};
use crate::span::Span;
use crate::trace::Trace;

/// Receives trace and span events. Every method defaults to doing nothing.
///
/// Implementations must be thread-safe and should return quickly: they run inline on the
/// thread that starts or ends the trace or span.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{CustomSpanData, Span, TraceProvider, TracingProcessor};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// /// Counts finished spans.
/// #[derive(Default)]
/// struct Counter(AtomicUsize);
///
/// impl TracingProcessor for Counter {
///     fn on_span_end(&self, _span: &Span) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let counter = Arc::new(Counter::default());
/// let provider = TraceProvider::builder().with_processor(counter.clone()).build();
/// let _trace = provider.trace("wf").start_as_current();
/// drop(provider.span(CustomSpanData::new("a")).start_as_current());
/// assert_eq!(counter.0.load(Ordering::Relaxed), 1);
/// ```
pub trait TracingProcessor: Send + Sync {
    /// A trace started.
    ///
    /// ```
    /// use codex_telemetry::{Trace, TracingProcessor};
    ///
    /// struct Names;
    /// impl TracingProcessor for Names {
    ///     fn on_trace_start(&self, trace: &Trace) {
    ///         assert!(!trace.workflow_name().is_empty());
    ///     }
    /// }
    /// ```
    fn on_trace_start(&self, trace: &Trace) {
        let _ = trace;
    }

    /// A trace finished; its export is the same as at start.
    ///
    /// ```
    /// use codex_telemetry::{Trace, TracingProcessor};
    ///
    /// struct Exporter;
    /// impl TracingProcessor for Exporter {
    ///     fn on_trace_end(&self, trace: &Trace) {
    ///         let _json = trace.export();
    ///     }
    /// }
    /// ```
    fn on_trace_end(&self, trace: &Trace) {
        let _ = trace;
    }

    /// A span started: `started_at` is set, `ended_at` is not.
    ///
    /// ```
    /// use codex_telemetry::{Span, TracingProcessor};
    ///
    /// struct Starts;
    /// impl TracingProcessor for Starts {
    ///     fn on_span_start(&self, span: &Span) {
    ///         assert!(span.started_at().is_some() && span.ended_at().is_none());
    ///     }
    /// }
    /// ```
    fn on_span_start(&self, span: &Span) {
        let _ = span;
    }

    /// A span finished: `ended_at` is set.
    ///
    /// ```
    /// use codex_telemetry::{Span, TracingProcessor};
    ///
    /// struct Ends;
    /// impl TracingProcessor for Ends {
    ///     fn on_span_end(&self, span: &Span) {
    ///         assert!(span.ended_at().is_some());
    ///     }
    /// }
    /// ```
    fn on_span_end(&self, span: &Span) {
        let _ = span;
    }

    /// The application is stopping: flush and release resources.
    /// Called by [`TraceProvider::shutdown`](crate::TraceProvider::shutdown).
    ///
    /// ```
    /// use codex_telemetry::TracingProcessor;
    ///
    /// struct Quiet;
    /// impl TracingProcessor for Quiet {
    ///     fn shutdown(&self) {}
    /// }
    /// ```
    fn shutdown(&self) {}

    /// Process anything queued now. Called by
    /// [`TraceProvider::force_flush`](crate::TraceProvider::force_flush).
    ///
    /// ```
    /// use codex_telemetry::TracingProcessor;
    ///
    /// struct Unbuffered;
    /// impl TracingProcessor for Unbuffered {
    ///     fn force_flush(&self) {}
    /// }
    /// ```
    fn force_flush(&self) {}
}

impl<P: TracingProcessor + ?Sized> TracingProcessor for Arc<P> {
    fn on_trace_start(&self, trace: &Trace) {
        (**self).on_trace_start(trace);
    }

    fn on_trace_end(&self, trace: &Trace) {
        (**self).on_trace_end(trace);
    }

    fn on_span_start(&self, span: &Span) {
        (**self).on_span_start(span);
    }

    fn on_span_end(&self, span: &Span) {
        (**self).on_span_end(span);
    }

    fn shutdown(&self) {
        (**self).shutdown();
    }

    fn force_flush(&self) {
        (**self).force_flush();
    }
}

/// The four trace and span events, named as in the raw records of the parity harness.
///
/// # Examples
///
/// ```
/// use codex_telemetry::EventKind;
///
/// assert_eq!(EventKind::SpanStart.as_str(), "span_start");
/// assert_eq!(EventKind::TraceEnd.to_string(), "trace_end");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `on_trace_start`.
    TraceStart,
    /// `on_trace_end`.
    TraceEnd,
    /// `on_span_start`.
    SpanStart,
    /// `on_span_end`.
    SpanEnd,
}

impl EventKind {
    /// `trace_start`, `trace_end`, `span_start` or `span_end`.
    ///
    /// ```
    /// use codex_telemetry::EventKind;
    ///
    /// assert_eq!(EventKind::TraceStart.as_str(), "trace_start");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TraceStart => "trace_start",
            Self::TraceEnd => "trace_end",
            Self::SpanStart => "span_start",
            Self::SpanEnd => "span_end",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// The registered processors, replaced as a whole (like Python's tuple) so that a
/// dispatch iterates over a stable snapshot and never holds a lock while a processor
/// runs: a processor may register another one, or start spans, without deadlocking.
/// Reading the snapshot is a lock-free load (`arc-swap`): dispatch is on every span start
/// and end.
pub(crate) struct ProcessorSet {
    processors: ArcSwap<Vec<Arc<dyn TracingProcessor>>>,
    /// Whether `processors` is empty, read with a plain load: with no processor, a
    /// dispatch takes no read-modify-write at all.
    empty: AtomicBool,
    /// Serializes `add` and `set` (rare), so that `empty` always follows the last list.
    writer: Mutex<()>,
}

impl fmt::Debug for ProcessorSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessorSet")
            .field("len", &self.processors.load().len())
            .finish()
    }
}

impl ProcessorSet {
    pub(crate) fn new() -> Self {
        Self {
            processors: ArcSwap::default(),
            empty: AtomicBool::new(true),
            writer: Mutex::new(()),
        }
    }

    pub(crate) fn add(&self, processor: Arc<dyn TracingProcessor>) {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut processors = Vec::clone(&self.processors.load());
        processors.push(processor);
        self.processors.store(Arc::new(processors));
        self.empty.store(false, Ordering::Release);
    }

    pub(crate) fn set(&self, processors: Vec<Arc<dyn TracingProcessor>>) {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let empty = processors.is_empty();
        self.processors.store(Arc::new(processors));
        self.empty.store(empty, Ordering::Release);
    }

    pub(crate) fn on_trace_start(&self, trace: &Trace) {
        self.dispatch(
            |p| p.on_trace_start(trace),
            || {
                agents_error!("Error in trace processor during on_trace_start");
            },
        );
    }

    pub(crate) fn on_trace_end(&self, trace: &Trace) {
        self.dispatch(
            |p| p.on_trace_end(trace),
            || {
                agents_error!("Error in trace processor during on_trace_end");
            },
        );
    }

    pub(crate) fn on_span_start(&self, span: &Span) {
        self.dispatch(
            |p| p.on_span_start(span),
            || {
                agents_error!("Error in trace processor during on_span_start");
            },
        );
    }

    pub(crate) fn on_span_end(&self, span: &Span) {
        self.dispatch(
            |p| p.on_span_end(span),
            || {
                agents_error!("Error in trace processor during on_span_end");
            },
        );
    }

    /// Python's `SynchronousMultiTracingProcessor.shutdown` (without its timeout).
    pub(crate) fn shutdown(&self) {
        self.dispatch(
            |p| {
                agents_debug!("Shutting down trace processor");
                p.shutdown();
            },
            || {
                agents_error!("Error shutting down trace processor");
            },
        );
    }

    pub(crate) fn force_flush(&self) {
        self.dispatch(
            |p| p.force_flush(),
            || {
                agents_error!("Error flushing trace processor");
            },
        );
    }

    fn dispatch(&self, call: impl Fn(&dyn TracingProcessor), on_panic: impl Fn()) {
        if self.empty.load(Ordering::Acquire) {
            return;
        }
        for processor in self.processors.load().iter() {
            // The processor only borrows the handle and the payload is dropped here, so
            // no broken invariant can leak out of the unwound call.
            if panic::catch_unwind(AssertUnwindSafe(|| call(&**processor))).is_err() {
                on_panic();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::span_data::CustomSpanData;
    use crate::provider::TraceProvider;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Calls {
        log: Mutex<Vec<String>>,
    }

    struct Named(&'static str, Arc<Calls>);

    impl TracingProcessor for Named {
        fn on_trace_start(&self, _: &Trace) {
            self.1
                .log
                .lock()
                .unwrap()
                .push(format!("{}:trace_start", self.0));
        }
        fn on_span_start(&self, _: &Span) {
            self.1
                .log
                .lock()
                .unwrap()
                .push(format!("{}:span_start", self.0));
        }
        fn shutdown(&self) {
            self.1
                .log
                .lock()
                .unwrap()
                .push(format!("{}:shutdown", self.0));
        }
        fn force_flush(&self) {
            self.1
                .log
                .lock()
                .unwrap()
                .push(format!("{}:force_flush", self.0));
        }
    }

    struct Panics;

    impl TracingProcessor for Panics {
        fn on_span_start(&self, _: &Span) {
            panic!("processor bug");
        }
        fn shutdown(&self) {
            panic!("shutdown bug");
        }
    }

    #[test]
    fn processors_run_in_registration_order() {
        let calls = Arc::new(Calls::default());
        let provider = TraceProvider::builder()
            .with_processor(Named("a", calls.clone()))
            .with_processor(Named("b", calls.clone()))
            .build();
        provider.register_processor(Named("c", calls.clone()));
        provider.trace("wf").start();
        provider.force_flush();
        provider.shutdown();
        assert_eq!(
            *calls.log.lock().unwrap(),
            [
                "a:trace_start",
                "b:trace_start",
                "c:trace_start",
                "a:force_flush",
                "b:force_flush",
                "c:force_flush",
                "a:shutdown",
                "b:shutdown",
                "c:shutdown",
            ]
        );
    }

    #[test]
    fn set_processors_replaces_the_list() {
        let calls = Arc::new(Calls::default());
        let provider = TraceProvider::builder()
            .with_processor(Named("old", calls.clone()))
            .build();
        provider.set_processors(vec![Arc::new(Named("new", calls.clone()))]);
        provider.trace("wf").start();
        assert_eq!(*calls.log.lock().unwrap(), ["new:trace_start"]);
    }

    #[test]
    fn a_panicking_processor_is_contained() {
        let memory = InMemoryProcessor::new();
        let provider = TraceProvider::builder()
            .with_processor(Panics)
            .with_processor(memory.clone())
            .build();
        {
            let _trace = provider.trace("wf").start_as_current();
            let _span = provider.span(CustomSpanData::new("x")).start_as_current();
        }
        provider.shutdown();
        let kinds: Vec<_> = memory.events().iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::TraceStart,
                EventKind::SpanStart,
                EventKind::SpanEnd,
                EventKind::TraceEnd
            ]
        );
    }

    #[test]
    fn a_processor_may_register_another_during_a_callback() {
        struct Registers(TraceProvider, AtomicUsize);
        impl TracingProcessor for Registers {
            fn on_trace_start(&self, _: &Trace) {
                if self.1.fetch_add(1, Ordering::Relaxed) == 0 {
                    self.0.register_processor(InMemoryProcessor::new());
                }
            }
        }
        let provider = TraceProvider::new();
        let registers = Arc::new(Registers(provider.clone(), AtomicUsize::new(0)));
        provider.register_processor(registers.clone());
        provider.trace("wf").start();
        provider.trace("wf").start();
        assert_eq!(registers.1.load(Ordering::Relaxed), 2);
    }

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
