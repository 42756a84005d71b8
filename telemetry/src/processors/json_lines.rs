//! The JSON-lines processor ([`JsonLinesProcessor`]): every event as one line of JSON on a
//! writer.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sdk::processor::{EventKind, TracingProcessor};
use crate::sdk::span::Span;
use crate::sdk::trace::Trace;

/// Writes every event as one line of JSON on a writer, serialized on the calling thread
/// straight from the span's state ([`Span::write_export`]) into a reused buffer.
///
/// Each line is `{"kind":"span_end","data":{…export…}}` (kinds as [`EventKind::as_str`]), the
/// export exactly as [`Span::export`] / [`Trace::export`] give it. A write error is counted
/// ([`JsonLinesProcessor::write_errors`]) and never reaches the instrumented code.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use codex_telemetry::{CustomSpanData, JsonLinesProcessor, TraceProvider};
///
/// #[derive(Clone, Default)]
/// struct Shared(Arc<Mutex<Vec<u8>>>);
/// impl std::io::Write for Shared {
///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
///
/// let out = Shared::default();
/// let provider = TraceProvider::builder().with_processor(JsonLinesProcessor::new(out.clone())).build();
/// {
///     let _trace = provider.trace("wf").start_as_current();
///     let _span = provider.span(CustomSpanData::new("step")).start_as_current();
/// }
/// let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
/// let kinds: Vec<&str> = text.lines().map(|l| &l[9..l.find("\",").unwrap()]).collect();
/// assert_eq!(kinds, ["trace_start", "span_start", "span_end", "trace_end"]);
/// ```
#[derive(Debug)]
pub struct JsonLinesProcessor<W> {
    state: Mutex<State<W>>,
    write_errors: AtomicU64,
}

#[derive(Debug)]
struct State<W> {
    writer: W,
    line: Vec<u8>,
}

impl<W: Write + Send + 'static> JsonLinesProcessor<W> {
    /// Lines go to `writer` (wrap a file or socket in a `BufWriter` as needed).
    pub fn new(writer: W) -> Self {
        Self {
            state: Mutex::new(State {
                writer,
                line: Vec::with_capacity(1024),
            }),
            write_errors: AtomicU64::new(0),
        }
    }

    /// How many lines could not be written.
    pub fn write_errors(&self) -> u64 {
        self.write_errors.load(Ordering::Relaxed)
    }

    fn write(&self, kind: EventKind, export: impl FnOnce(&mut Vec<u8>) -> std::io::Result<bool>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let State { writer, line } = &mut *state;
        line.clear();
        line.extend_from_slice(b"{\"kind\":\"");
        line.extend_from_slice(kind.as_str().as_bytes());
        line.extend_from_slice(b"\",\"data\":");
        let written = match export(line) {
            // A no-op trace or span has no export and no line.
            Ok(false) => return,
            Ok(true) => {
                line.extend_from_slice(b"}\n");
                writer.write_all(line)
            }
            Err(e) => Err(e),
        };
        if written.is_err() {
            self.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<W: Write + Send + 'static> TracingProcessor for JsonLinesProcessor<W> {
    fn on_trace_start(&self, trace: &Trace) {
        self.write(EventKind::TraceStart, |b| trace.write_export(b));
    }

    fn on_trace_end(&self, trace: &Trace) {
        self.write(EventKind::TraceEnd, |b| trace.write_export(b));
    }

    fn on_span_start(&self, span: &Span) {
        self.write(EventKind::SpanStart, |b| span.write_export(b));
    }

    fn on_span_end(&self, span: &Span) {
        self.write(EventKind::SpanEnd, |b| span.write_export(b));
    }

    fn force_flush(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.writer.flush().is_err() {
            self.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn shutdown(&self) {
        self.force_flush();
    }
}
