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
//! callback, as [`InMemoryProcessor`](crate::InMemoryProcessor) does.
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

use crate::sdk::log::{agents_debug, agents_error};
use crate::sdk::span::Span;
use crate::sdk::trace::Trace;

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
    use crate::processors::memory::InMemoryProcessor;
    use crate::sdk::provider::TraceProvider;
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
}
