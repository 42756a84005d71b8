//! A million spans through the batch processor with a slow exporter: memory stays bounded
//! by the queue, and every span is either exported or counted as dropped.
//!
//! Its own test binary, because it measures the process's live heap with a global
//! allocator: no other test may allocate while it runs.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use codex_telemetry::batch::{BatchConfig, BatchProcessor, ExportedEvent, SpanExporter};
use codex_telemetry::{CustomSpanData, TraceProvider, TracingProcessor};

#[path = "common/live_bytes.rs"]
mod live_bytes;

use live_bytes::{LIVE, PEAK};

/// Sleeps per batch and keeps nothing: the exporter of a slow network.
struct Slow;

impl SpanExporter for Slow {
    fn export(&mut self, batch: &[ExportedEvent]) -> Result<(), String> {
        std::hint::black_box(batch.len());
        std::thread::sleep(Duration::from_millis(2));
        Ok(())
    }
}

#[test]
fn a_million_spans_with_a_slow_exporter_keep_memory_bounded_by_the_queue() {
    const SPANS: u64 = 1_000_000;
    const CAPACITY: usize = 256;
    let batch = Arc::new(BatchProcessor::new(
        Slow,
        BatchConfig::default()
            .with_capacity(CAPACITY)
            .with_max_batch(64)
            .with_delay(Duration::from_millis(1)),
    ));
    let provider = TraceProvider::builder()
        .with_processor(batch.clone())
        .build();
    let trace = provider.trace("burst").start_as_current();
    // Warm up (the context stack, thread-locals, the worker's first batch), then measure
    // the peak above this baseline.
    for _ in 0..10_000 {
        drop(
            provider
                .span(CustomSpanData::new("tick"))
                .start_as_current(),
        );
    }
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    for _ in 0..SPANS {
        let span = provider.span(CustomSpanData::new("tick"));
        let _span = span.start_as_current();
    }
    let peak_above_baseline = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
    drop(trace);
    batch.shutdown();

    // A queued span holds its state (about 300 bytes with its id and data) and a batch
    // being exported holds its serialized events: the bound is the queue and one batch,
    // with room for the allocator's rounding. Without a bound, a million queued spans
    // would hold hundreds of megabytes.
    let bound = 64 * 1024 + CAPACITY * 1024 + 64 * 1024;
    assert!(
        peak_above_baseline <= bound,
        "peak heap grew by {peak_above_baseline} bytes over {SPANS} spans (bound {bound})"
    );
    let accepted = batch.accepted();
    assert_eq!(
        accepted,
        SPANS + 10_000 + 1,
        "every span end and the trace start"
    );
    assert!(
        batch.dropped() > 0,
        "the slow exporter let the queue overflow"
    );
    assert_eq!(
        batch.exported() + batch.dropped(),
        accepted,
        "accepted = exported + dropped, exactly"
    );
}
