//! The batch processor and the JSON-lines processor: what users see of them (exports, counts,
//! timeouts).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codex_telemetry::batch::{BatchConfig, BatchProcessor, ExportedEvent, SpanExporter};
use codex_telemetry::{
    CustomSpanData, EventKind, InMemoryProcessor, JsonLinesProcessor, TraceProvider,
    TracingProcessor,
};

#[derive(Clone, Default)]
struct Collect {
    events: Arc<Mutex<Vec<ExportedEvent>>>,
    delay: Duration,
}

impl SpanExporter for Collect {
    fn export(&mut self, batch: &[ExportedEvent]) -> Result<(), String> {
        std::thread::sleep(self.delay);
        self.events.lock().unwrap().extend_from_slice(batch);
        Ok(())
    }
}

#[test]
fn every_accepted_event_is_exported_once_with_its_end_export() {
    let collect = Collect::default();
    let batch = Arc::new(BatchProcessor::new(
        collect.clone(),
        BatchConfig::default()
            .with_max_batch(7)
            .with_delay(Duration::from_millis(5)),
    ));
    let memory = InMemoryProcessor::new();
    let provider = TraceProvider::builder()
        .with_processor(memory.clone())
        .with_processor(batch.clone())
        .build();
    {
        let _trace = provider.trace("wf").start_as_current();
        for i in 0..50 {
            let span = provider.span(CustomSpanData::new(format!("step {i}")));
            let _span = span.start_as_current();
        }
    }
    batch.shutdown();
    assert_eq!(
        (batch.accepted(), batch.dropped(), batch.exported()),
        (51, 0, 51)
    );
    let exported = collect.events.lock().unwrap();
    let expected: Vec<Vec<u8>> = memory
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TraceStart | EventKind::SpanEnd))
        .map(|e| serde_json::to_vec(&e.data).unwrap())
        .collect();
    let got: Vec<Vec<u8>> = exported.iter().map(|e| e.json.clone()).collect();
    assert_eq!(got, expected, "the exports, in order, byte for byte");
    // After shutdown, events are dropped and counted.
    {
        let _trace = provider.trace("late").start_as_current();
    }
    assert_eq!((batch.accepted(), batch.dropped()), (52, 1));
}

#[test]
fn a_slow_exporter_drops_and_counts_exactly_with_a_bounded_queue() {
    let collect = Collect {
        delay: Duration::from_millis(2),
        ..Collect::default()
    };
    let batch = Arc::new(BatchProcessor::new(
        collect.clone(),
        BatchConfig::default()
            .with_capacity(64)
            .with_max_batch(16)
            .with_delay(Duration::from_millis(1)),
    ));
    let provider = TraceProvider::builder()
        .with_processor(batch.clone())
        .build();
    let spans = 200_000;
    {
        let _trace = provider.trace("burst").start_as_current();
        for _ in 0..spans {
            let span = provider.span(CustomSpanData::new("tick"));
            let _span = span.start_as_current();
        }
    }
    batch.shutdown();
    let accepted = batch.accepted();
    assert_eq!(accepted, spans + 1);
    assert!(batch.dropped() > 0, "the queue of 64 overflowed");
    assert_eq!(
        batch.exported() + batch.dropped(),
        accepted,
        "emitted = delivered + dropped"
    );
    assert_eq!(
        collect.events.lock().unwrap().len() as u64,
        batch.exported()
    );
}

#[test]
fn shutdown_returns_within_its_timeout_when_the_exporter_hangs() {
    struct Hang;
    impl SpanExporter for Hang {
        fn export(&mut self, _: &[ExportedEvent]) -> Result<(), String> {
            std::thread::sleep(Duration::from_secs(3600));
            Ok(())
        }
    }
    let batch = BatchProcessor::new(
        Hang,
        BatchConfig::default()
            .with_max_batch(1)
            .with_delay(Duration::from_millis(1))
            .with_timeout(Duration::from_millis(200)),
    );
    let provider = TraceProvider::builder().build();
    let trace = provider.trace("wf");
    batch.on_trace_start(&trace);
    let start = Instant::now();
    batch.shutdown();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(bytes)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn json_lines_carry_every_event_with_its_export() {
    let out = Shared::default();
    let memory = InMemoryProcessor::new();
    let provider = TraceProvider::builder()
        .with_processor(memory.clone())
        .with_processor(JsonLinesProcessor::new(out.clone()))
        .build();
    {
        let _trace = provider.trace("wf").start_as_current();
        let span = provider.span(CustomSpanData::new("step"));
        let _span = span.start_as_current();
    }
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events = memory.events();
    assert_eq!(lines.len(), events.len());
    for (line, event) in lines.iter().zip(&events) {
        assert_eq!(line["kind"], event.kind.as_str());
        assert_eq!(line["data"], event.data);
    }
}
