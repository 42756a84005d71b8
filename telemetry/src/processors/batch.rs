//! [`BatchProcessor`]: a bounded queue between the instrumented code and a slow
//! [`SpanExporter`] (a network backend, an OTLP collector), like the Python client's
//! `BatchTraceProcessor` and OpenTelemetry's `BatchSpanProcessor`.
//!
//! * The hot path only enqueues a handle (no serialization, no I/O): on the calling thread
//!   a span end or trace start costs a clone of an `Arc` and a `try_send`. As in Python's
//!   batch processor, only trace starts and span ends are exported (a span's end export is
//!   complete; its start export is a subset).
//! * A full queue drops the event and counts it ([`BatchProcessor::dropped`]); memory stays
//!   bounded by the queue's capacity whatever the exporter's speed. Events accepted are
//!   exported exactly once (`accepted = exported + dropped` after [`shutdown`]).
//! * A worker thread serializes each item ([`Span::write_export`]) and hands batches of up to
//!   `max_batch` to the exporter, at least every `delay`.
//! * [`force_flush`] and [`shutdown`] wait for the queue to drain, at most `timeout`.
//!
//! [`force_flush`]: TracingProcessor::force_flush
//! [`shutdown`]: TracingProcessor::shutdown

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::sdk::processor::{EventKind, TracingProcessor};
use crate::sdk::span::Span;
use crate::sdk::trace::Trace;

/// One exported event: its kind and its export as JSON bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedEvent {
    /// [`EventKind::TraceStart`] or [`EventKind::SpanEnd`].
    pub kind: EventKind,
    /// The export, serialized (`Trace::write_export` / `Span::write_export`).
    pub json: Vec<u8>,
}

/// Receives batches on the [`BatchProcessor`]'s worker thread; may be slow, may fail.
pub trait SpanExporter: Send + 'static {
    /// Exports one batch. An `Err` is counted ([`BatchProcessor::export_errors`]); the batch
    /// is not retried.
    fn export(&mut self, batch: &[ExportedEvent]) -> Result<(), String>;

    /// Called once, after the last batch.
    fn shutdown(&mut self) {}
}

/// Settings of a [`BatchProcessor`]; consuming `with_*` methods.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    capacity: usize,
    max_batch: usize,
    delay: Duration,
    timeout: Duration,
}

impl Default for BatchConfig {
    /// Python's defaults: a queue of 8192, batches of 128, every 5 s, 30 s to drain.
    fn default() -> Self {
        Self {
            capacity: 8192,
            max_batch: 128,
            delay: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
        }
    }
}

impl BatchConfig {
    /// Queue capacity, in events (at least 1).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Most events per batch (at least 1).
    pub fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self
    }

    /// Longest wait before a partial batch is exported.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Longest wait of `force_flush` and `shutdown`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

enum Item {
    Trace(Trace),
    Span(Span),
    /// Export what is queued, then answer.
    Flush(SyncSender<()>),
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    dropped: AtomicU64,
    exported: AtomicU64,
    export_errors: AtomicU64,
    /// Set by `shutdown`: the worker drains what is queued and stops.
    stopping: AtomicBool,
}

/// Queues trace starts and span ends for a [`SpanExporter`] on a worker thread (see the
/// [module docs](self)).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use codex_telemetry::batch::{BatchConfig, BatchProcessor, ExportedEvent, SpanExporter};
/// use codex_telemetry::{CustomSpanData, TraceProvider, TracingProcessor};
///
/// #[derive(Clone, Default)]
/// struct Collect(Arc<Mutex<Vec<ExportedEvent>>>);
/// impl SpanExporter for Collect {
///     fn export(&mut self, batch: &[ExportedEvent]) -> Result<(), String> {
///         self.0.lock().unwrap().extend_from_slice(batch);
///         Ok(())
///     }
/// }
///
/// let exported = Collect::default();
/// let batch = Arc::new(BatchProcessor::new(exported.clone(), BatchConfig::default()));
/// let provider = TraceProvider::builder().with_processor(batch.clone()).build();
/// {
///     let _trace = provider.trace("wf").start_as_current();
///     let _span = provider.span(CustomSpanData::new("step")).start_as_current();
/// }
/// batch.shutdown();
/// assert_eq!(exported.0.lock().unwrap().len(), 2); // the trace start and the span end
/// assert_eq!((batch.accepted(), batch.dropped()), (2, 0));
/// ```
#[derive(Debug)]
pub struct BatchProcessor {
    queue: SyncSender<Item>,
    counters: Arc<Counters>,
    /// The worker, and the channel on which it says it has finished.
    worker: Mutex<Option<(JoinHandle<()>, Receiver<()>)>>,
    timeout: Duration,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Item::Trace(_) => "Trace",
            Item::Span(_) => "Span",
            Item::Flush(_) => "Flush",
        })
    }
}

impl BatchProcessor {
    /// Starts the worker thread that feeds `exporter`.
    pub fn new(exporter: impl SpanExporter, config: BatchConfig) -> Self {
        let (queue, items) = sync_channel(config.capacity);
        let counters = Arc::new(Counters::default());
        let (finished, on_finished) = sync_channel(1);
        let worker = {
            let counters = counters.clone();
            std::thread::Builder::new()
                .name("codex-telemetry-batch".into())
                .spawn(move || {
                    work(items, exporter, config, &counters);
                    let _ = finished.send(());
                })
                .expect("the batch export thread starts")
        };
        Self {
            queue,
            counters,
            worker: Mutex::new(Some((worker, on_finished))),
            timeout: config.timeout,
        }
    }

    /// Events enqueued or dropped so far (trace starts and span ends).
    pub fn accepted(&self) -> u64 {
        self.counters.accepted.load(Ordering::Relaxed)
    }

    /// Events dropped because the queue was full (or the processor shut down).
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Events handed to the exporter.
    pub fn exported(&self) -> u64 {
        self.counters.exported.load(Ordering::Relaxed)
    }

    /// Batches the exporter failed.
    pub fn export_errors(&self) -> u64 {
        self.counters.export_errors.load(Ordering::Relaxed)
    }

    fn enqueue(&self, item: Item) {
        self.counters.accepted.fetch_add(1, Ordering::Relaxed);
        let stopped = self.counters.stopping.load(Ordering::Relaxed);
        if stopped || self.queue.try_send(item).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until everything queued before the call is exported, at most the timeout.
    fn flush(&self) {
        let deadline = Instant::now() + self.timeout;
        let (done, wait) = sync_channel(1);
        let mut request = Item::Flush(done);
        // The queue may be full: retry until there is room or time is up.
        loop {
            match self.queue.try_send(request) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                    request = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return,
            }
        }
        let _ = wait.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

impl TracingProcessor for BatchProcessor {
    fn on_trace_start(&self, trace: &Trace) {
        self.enqueue(Item::Trace(trace.clone()));
    }

    fn on_span_end(&self, span: &Span) {
        self.enqueue(Item::Span(span.clone()));
    }

    fn force_flush(&self) {
        self.flush();
    }

    /// Exports what is queued and stops the worker, waiting at most the timeout (a worker
    /// still busy then is left to finish on its own); later events are dropped and counted.
    fn shutdown(&self) {
        let deadline = Instant::now() + self.timeout;
        self.flush();
        self.counters.stopping.store(true, Ordering::Relaxed);
        let worker = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((worker, finished)) = worker {
            // Wakes a worker waiting for items; if the queue is full it is busy and will see
            // `stopping` after the items it drains.
            let (wake, _) = sync_channel(0);
            let _ = self.queue.try_send(Item::Flush(wake));
            if finished
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .is_ok()
            {
                let _ = worker.join();
            }
        }
    }
}

/// The worker: batches items, serializes them, exports; once `stopping` is set it drains
/// what is queued and stops (or when every sender is gone).
fn work(
    items: Receiver<Item>,
    mut exporter: impl SpanExporter,
    config: BatchConfig,
    counters: &Counters,
) {
    let mut batch: Vec<ExportedEvent> = Vec::with_capacity(config.max_batch);
    let mut export = |batch: &mut Vec<ExportedEvent>| {
        if batch.is_empty() {
            return;
        }
        if exporter.export(batch).is_err() {
            counters.export_errors.fetch_add(1, Ordering::Relaxed);
        }
        counters
            .exported
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch.clear();
    };
    loop {
        let stopping = counters.stopping.load(Ordering::Relaxed);
        let next = if stopping {
            // Drain without waiting.
            match items.try_recv() {
                Ok(item) => Ok(item),
                Err(_) => break,
            }
        } else {
            items.recv_timeout(config.delay)
        };
        match next {
            Ok(Item::Trace(trace)) => {
                push(&mut batch, EventKind::TraceStart, |b| trace.write_export(b))
            }
            Ok(Item::Span(span)) => push(&mut batch, EventKind::SpanEnd, |b| span.write_export(b)),
            Ok(Item::Flush(done)) => {
                export(&mut batch);
                // A requester that is gone (the shutdown wake-up) needs no answer.
                let _ = done.send(());
                continue;
            }
            Err(RecvTimeoutError::Timeout) => {
                export(&mut batch);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if batch.len() >= config.max_batch {
            export(&mut batch);
        }
    }
    export(&mut batch);
    exporter.shutdown();
}

/// Serializes one item into the batch (nothing for a no-op handle).
fn push(
    batch: &mut Vec<ExportedEvent>,
    kind: EventKind,
    write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<bool>,
) {
    let mut json = Vec::with_capacity(512);
    if write(&mut json).unwrap_or(false) {
        batch.push(ExportedEvent { kind, json });
    }
}
