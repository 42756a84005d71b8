//! Disabled and no-op paths cost next to nothing: no heap allocation, no id generation,
//! no clock read. Allocations are counted per thread by a wrapping global allocator; the
//! id generator and clock panic if called.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use codex_telemetry::{
    Clock, CustomSpanData, IdGenerator, Span, SpanOptions, Timestamp, Trace, TraceOptions,
    TraceProvider,
};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: allocations can happen while this thread's locals are torn down.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as this method.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as this method.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: same contract as this method.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as this method.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Allocations made by `f` on this thread, after one warm-up call (which may grow the
/// thread's context stack or register `tracing` callsites once).
///
/// The binary's global log subscriber is installed first, so the DEBUG events of the no-op
/// paths are dispatched to a subscriber that wants them: the stricter case.
fn allocations(mut f: impl FnMut()) -> usize {
    crate::support::Timeline::default().capture_logs(|| ());
    f();
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[derive(Debug)]
struct NoIds;

impl IdGenerator for NoIds {
    fn trace_id(&self) -> String {
        panic!("a trace id was generated on a no-op path")
    }
    fn span_id(&self) -> String {
        panic!("a span id was generated on a no-op path")
    }
    fn group_id(&self) -> String {
        panic!("a group id was generated on a no-op path")
    }
}

#[derive(Debug)]
struct NoClock;

impl Clock for NoClock {
    fn now(&self) -> Timestamp {
        panic!("the clock was read on a no-op path")
    }
}

fn strict_provider() -> TraceProvider {
    // The process's scrubber is built at its first use: not inside a measured scope.
    let _ = codex_telemetry::scrub::scrubber();
    TraceProvider::builder()
        .with_id_generator(NoIds)
        .with_clock(NoClock)
        .build()
}

#[test]
fn disabled_provider_allocates_nothing() {
    let provider = strict_provider();
    provider.set_disabled(true);
    let count = allocations(|| {
        let trace = provider.trace("Agent workflow").start_as_current();
        assert!(trace.trace().is_noop());
        let data = CustomSpanData::default(); // empty name: allocation-free
        let span = provider.span(data);
        let guard = span.start_as_current();
        span.update(|c| c.name.push_str("never runs"));
        span.set_error(codex_telemetry::SpanError::new(String::new()));
        drop(guard);
        drop(trace);
    });
    assert_eq!(count, 0);
}

#[test]
fn lazily_built_span_data_is_not_built_on_no_op_paths() {
    // `span_with` is the hot-path spelling: a named span costs nothing when it is a no-op.
    let disabled = strict_provider();
    disabled.set_disabled(true);
    let no_trace = strict_provider();
    let count = allocations(|| {
        let _trace = disabled.trace("Agent workflow").start_as_current();
        let span = disabled.span_with(|| CustomSpanData::new("step"));
        drop(span.start_as_current());
        let span = no_trace.span_with(|| CustomSpanData::new("step"));
        drop(span.start_as_current());
    });
    assert_eq!(count, 0);
}

#[test]
fn spans_without_a_trace_allocate_nothing() {
    let provider = strict_provider();
    let count = allocations(|| {
        let span = provider.span(CustomSpanData::default());
        span.start();
        span.finish();
        assert_eq!(span.export(), None);
    });
    assert_eq!(count, 0);
}

#[test]
fn spans_under_a_noop_trace_allocate_nothing() {
    let provider = strict_provider();
    let count = allocations(|| {
        let _trace = provider
            .trace(TraceOptions::new("wf").with_disabled(true))
            .start_as_current();
        let _span = provider.span(CustomSpanData::default()).start_as_current();
        let _child = provider
            .create_span(CustomSpanData::default(), SpanOptions::new())
            .start_as_current();
        let _explicit = provider.create_span(
            CustomSpanData::default(),
            SpanOptions::new().with_parent_trace(&Trace::noop()),
        );
        let _by_span = provider.create_span(
            CustomSpanData::default(),
            SpanOptions::new().with_parent_span(&Span::noop()),
        );
    });
    assert_eq!(count, 0);
}

#[test]
fn a_recording_span_does_allocate() {
    // The counter works: the recording path allocates (ids, the shared span state).
    let provider = TraceProvider::new();
    let _trace = provider.trace("wf").start_as_current();
    let count = allocations(|| drop(provider.span(CustomSpanData::default()).start_as_current()));
    assert!(count > 0);
}
