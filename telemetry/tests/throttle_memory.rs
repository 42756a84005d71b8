//! A burst of 1,000,000 high-volume events (`codex.stream.delta`) through a throttle: memory
//! stays bounded (nothing is kept per event), and every event offered is counted as delivered
//! or dropped, exactly; the drops are reported as `codex.telemetry.dropped`.
//!
//! Its own test binary, because it measures the process's live heap with a global
//! allocator: no other test may allocate while it runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use codex_telemetry::events::{EVENT_TARGET, EventFields, Events, ThrottlePolicy};
use codex_telemetry::{ManualClock, Timestamp, TraceProvider};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[path = "common/live_bytes.rs"]
mod live_bytes;

use live_bytes::{LIVE, PEAK};

/// Counts delivered deltas and sums the reported drops; keeps nothing per event.
#[derive(Default)]
struct Counting {
    delivered: AtomicUsize,
    reported_drops: AtomicUsize,
}

struct DroppedCount(u64);

impl Visit for DroppedCount {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "dropped.count" {
            self.0 = value;
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

struct CountingSubscriber(Arc<Counting>);

impl Subscriber for CountingSubscriber {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == EVENT_TARGET
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut dropped = DroppedCount(0);
        event.record(&mut dropped);
        if dropped.0 > 0 {
            self.0
                .reported_drops
                .fetch_add(dropped.0 as usize, Ordering::Relaxed);
        } else {
            self.0.delivered.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[test]
fn a_million_event_burst_is_bounded_and_counted_exactly() {
    const BURST: usize = 1_000_000;
    let counting = Arc::new(Counting::default());
    // One event per microsecond against 1,000 per second with bursts of 50: most are dropped.
    let clock = ManualClock::new(Timestamp::from_unix(0, 0).unwrap());
    let provider = TraceProvider::builder().with_clock(clock.clone()).build();
    tracing::subscriber::with_default(CountingSubscriber(counting.clone()), || {
        let events = Events::new(provider).with_throttle(
            "codex.stream.delta",
            ThrottlePolicy::RateLimit {
                per_second: 1_000.0,
                burst: 50,
            },
        );
        // Warm up (first event, lazily built statics), then measure the burst.
        events.stream_delta(EventFields::new());
        clock.advance(Duration::from_secs(1));
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        for _ in 1..BURST {
            events.stream_delta(EventFields::new());
            clock.advance(Duration::from_micros(1));
        }
        let peak_growth = PEAK.load(Ordering::Relaxed).saturating_sub(before);
        // Nothing is kept per event: the only growth is per-event scratch, freed at once.
        assert!(
            peak_growth < 64 * 1024,
            "the peak grew by {peak_growth} bytes"
        );
        let counts = events.throttle_counts("codex.stream.delta");
        assert_eq!(counts.offered, BURST as u64);
        assert_eq!(counts.delivered + counts.dropped, counts.offered);
        // 50 + one second of refill (1,000) + the first, give or take the bucket's rounding.
        assert!((1_000..1_200).contains(&counts.delivered), "{counts:?}");
        assert_eq!(
            counting.delivered.load(Ordering::Relaxed) as u64,
            counts.delivered
        );
        events.report_dropped();
        assert_eq!(
            counting.reported_drops.load(Ordering::Relaxed) as u64,
            counts.dropped
        );
    });
}
