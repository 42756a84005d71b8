//! Per-span cost of codex-telemetry (start + end of one custom span inside a trace), in each
//! configuration a host can run it in, beside the floor of a raw `tracing` span.
//!
//! `cargo bench -p codex-telemetry --bench spans` (add `-- --quick` for a smoke run). The
//! figures and how to regenerate `docs/benchmarks.md` are described there.

use std::hint::black_box;
use std::sync::Mutex;

use codex_telemetry::batch::{BatchConfig, BatchProcessor, ExportedEvent, SpanExporter};
use codex_telemetry::{
    CustomSpanData, InMemoryProcessor, JsonLinesProcessor, Span, Trace, TraceProvider,
    TracingProcessor,
};
use criterion::{Criterion, criterion_group, criterion_main};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Serializes every start and end export to bytes into a reused buffer, as an exporter
/// would: straight from the span's state (`write_export`), or through `export()`'s `Value`.
struct RecordingProcessor {
    buffer: Mutex<Vec<u8>>,
    via_value: bool,
}

impl RecordingProcessor {
    fn new(via_value: bool) -> Self {
        Self {
            buffer: Mutex::new(Vec::with_capacity(1024)),
            via_value,
        }
    }

    fn record(&self, export: impl FnOnce(&mut Vec<u8>)) {
        let mut buffer = self.buffer.lock().unwrap();
        buffer.clear();
        export(&mut buffer);
        black_box(buffer.len());
    }
}

impl TracingProcessor for RecordingProcessor {
    fn on_trace_start(&self, trace: &Trace) {
        self.record(|b| drop(trace.write_export(b)));
    }
    fn on_trace_end(&self, trace: &Trace) {
        self.record(|b| drop(trace.write_export(b)));
    }
    fn on_span_start(&self, span: &Span) {
        self.on_span(span);
    }
    fn on_span_end(&self, span: &Span) {
        self.on_span(span);
    }
}

impl RecordingProcessor {
    fn on_span(&self, span: &Span) {
        if self.via_value {
            self.record(|b| serde_json::to_writer(b, &span.export()).unwrap());
        } else {
            self.record(|b| drop(span.write_export(b)));
        }
    }
}

/// A layer that accepts every event and formats its fields into a sink.
struct SinkLayer;

impl<S: tracing::Subscriber> Layer<S> for SinkLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Format(String);
        impl tracing::field::Visit for Format {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                use std::fmt::Write;
                let _ = write!(self.0, "{}={value:?} ", field.name());
            }
        }
        let mut line = Format(String::new());
        event.record(&mut line);
        black_box(line.0.len());
    }
}

/// A layer that does nothing, for the `tracing` floor.
struct Trivial;

impl<S: tracing::Subscriber> Layer<S> for Trivial {}

fn span_in_trace(c: &mut Criterion, name: &str, provider: &TraceProvider) {
    let _trace = provider.trace("bench").start_as_current();
    c.bench_function(name, |b| {
        b.iter(|| {
            let span = provider.span(CustomSpanData::new("step"));
            let _guard = span.start_as_current(); // its drop ends the span: nothing to black_box
        })
    });
}

/// A span whose data is built only if it records (`span_with`): the spelling for hot paths.
fn lazy_span(c: &mut Criterion, name: &str, provider: &TraceProvider) {
    c.bench_function(name, |b| {
        b.iter(|| {
            let span = provider.span_with(|| CustomSpanData::new("step"));
            let _guard = span.start_as_current(); // its drop ends the span: nothing to black_box
        })
    });
}

fn configurations(c: &mut Criterion) {
    let disabled = TraceProvider::builder().with_disabled(true).build();
    {
        let _trace = disabled.trace("bench").start_as_current();
        lazy_span(c, "span/tracing_disabled", &disabled);
    }
    span_in_trace(c, "span/tracing_disabled_eager_data", &disabled);
    let provider = TraceProvider::new();
    lazy_span(c, "span/no_current_trace", &provider);
    c.bench_function("span/no_current_trace_eager_data", |b| {
        b.iter(|| {
            let span = provider.span(CustomSpanData::new("step"));
            let _guard = span.start_as_current(); // its drop ends the span: nothing to black_box
        })
    });
    span_in_trace(c, "span/no_processor", &TraceProvider::new());
    // OTLP export (feature `otlp`): the caller's cost of a span through the OTel bridge (GenAI
    // mapping, the SDK span, the batch queue); the export itself runs on the SDK's thread, to
    // a loopback receiver. A full queue drops, so the figure holds at any rate.
    {
        use codex_telemetry::otel::receiver::{Behaviour, LoopbackReceiver};
        use codex_telemetry::otel::{Endpoint, OtlpExportBuilder, OtlpSettings};
        let receiver = LoopbackReceiver::http(Behaviour::Accept).expect("a loopback receiver");
        let mut settings = OtlpSettings::from_lookup(|_| None);
        settings.endpoint = Endpoint::Url(receiver.endpoint());
        let export = OtlpExportBuilder::new(settings)
            .build()
            .expect("the export builds");
        let provider = TraceProvider::builder()
            .with_processor(export.processor())
            .build();
        span_in_trace(c, "span/otlp_export", &provider);
        export.shutdown();
    }
    // The in-memory processor keeps every event: cleared after each timed batch so that the
    // figure is the per-span cost, not the cost of an ever-growing list.
    let memory = InMemoryProcessor::new();
    let provider = TraceProvider::builder()
        .with_processor(memory.clone())
        .build();
    {
        let _trace = provider.trace("bench").start_as_current();
        c.bench_function("span/in_memory", |b| {
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    let span = provider.span(CustomSpanData::new("step"));
                    let _guard = span.start_as_current(); // its drop ends the span: nothing to black_box
                }
                let elapsed = start.elapsed();
                memory.clear();
                elapsed
            })
        });
    }
    span_in_trace(
        c,
        "span/recording_to_bytes",
        &TraceProvider::builder()
            .with_processor(RecordingProcessor::new(false))
            .build(),
    );
    span_in_trace(
        c,
        "span/recording_to_bytes_via_value",
        &TraceProvider::builder()
            .with_processor(RecordingProcessor::new(true))
            .build(),
    );
    span_in_trace(
        c,
        "span/json_lines_to_sink",
        &TraceProvider::builder()
            .with_processor(JsonLinesProcessor::new(std::io::sink()))
            .build(),
    );
    // A slow exporter behind a small queue: the hot path only enqueues (or drops).
    struct Slow;
    impl SpanExporter for Slow {
        fn export(&mut self, _: &[ExportedEvent]) -> Result<(), String> {
            std::thread::sleep(std::time::Duration::from_millis(1));
            Ok(())
        }
    }
    let batch = std::sync::Arc::new(BatchProcessor::new(
        Slow,
        BatchConfig::default()
            .with_capacity(2048)
            .with_max_batch(128),
    ));
    span_in_trace(
        c,
        "span/batch_slow_exporter",
        &TraceProvider::builder()
            .with_processor(batch.clone())
            .build(),
    );
    batch.shutdown();

    let subscriber = tracing_subscriber::registry().with(SinkLayer);
    tracing::subscriber::with_default(subscriber, || {
        span_in_trace(c, "span/no_processor_logs_to_sink", &TraceProvider::new());
        // One `openai.agents` DEBUG line on its own: a span asked for outside any trace
        // logs "No active trace. ..." and is a no-op (its data is never built).
        let provider = TraceProvider::new();
        c.bench_function("log/debug_line_to_sink", |b| {
            b.iter(|| drop(provider.span_with(|| CustomSpanData::new("step"))))
        });
        // A Codex event's start and stop, formatted by the sink: the cost of a timed event
        // that someone listens to.
        let events = codex_telemetry::events::Events::new(TraceProvider::new());
        c.bench_function("event/start_stop_to_sink", |b| {
            b.iter(|| {
                let timer = events.start(
                    codex_telemetry::events::Namespace::Tool,
                    codex_telemetry::events::EventFields::new(),
                );
                timer.stop(codex_telemetry::events::EventFields::new());
            })
        });
    });

    // The same with no subscriber for the target: a callsite check, no fields, no token.
    let events = codex_telemetry::events::Events::new(TraceProvider::new());
    c.bench_function("event/start_stop_unwanted", |b| {
        b.iter(|| {
            let timer = events.start(
                codex_telemetry::events::Namespace::Tool,
                codex_telemetry::events::EventFields::new(),
            );
            timer.stop(codex_telemetry::events::EventFields::new());
        })
    });

    c.bench_function("ids/span_id", |b| {
        b.iter(|| {
            black_box(codex_telemetry::IdGenerator::span_id(
                &codex_telemetry::RandomIdGenerator,
            ))
        })
    });

    let subscriber = tracing_subscriber::registry().with(Trivial);
    tracing::subscriber::with_default(subscriber, || {
        c.bench_function("floor/tracing_span_registry", |b| {
            b.iter(|| {
                let span = tracing::info_span!("step");
                let _entered = black_box(span.enter());
            })
        });
    });
    c.bench_function("floor/tracing_disabled_callsite", |b| {
        b.iter(|| tracing::debug!(target: "openai.agents", "Creating span with id None"))
    });
    machine_floors(c);
}

/// What the primitives a span is made of cost on this machine, so that docs/benchmarks.md
/// can say how far each configuration is from what it must do at least.
fn machine_floors(c: &mut Criterion) {
    use codex_telemetry::{Clock, SystemClock};
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU64, Ordering};

    c.bench_function("floor/clock_read", |b| {
        b.iter(|| black_box(SystemClock.now()))
    });
    c.bench_function("floor/alloc_free_64_bytes", |b| {
        b.iter(|| black_box(Vec::<u8>::with_capacity(black_box(64))))
    });
    let counter = AtomicU64::new(0);
    c.bench_function("floor/atomic_increment", |b| {
        b.iter(|| black_box(&counter).fetch_add(1, Ordering::Relaxed))
    });
    let mutex = Mutex::new(0u64);
    c.bench_function("floor/mutex_lock_unlock", |b| {
        b.iter(|| *black_box(&mutex).lock().unwrap() += 1)
    });
    thread_local! {
        static STACK: RefCell<Vec<(u64, usize)>> = const { RefCell::new(Vec::new()) };
    }
    c.bench_function("floor/thread_local_push_pop", |b| {
        b.iter(|| {
            STACK.with_borrow_mut(|stack| stack.push((black_box(1), 0)));
            STACK.with_borrow_mut(|stack| black_box(stack.pop()));
        })
    });
}

criterion_group!(benches, configurations);
criterion_main!(benches);
