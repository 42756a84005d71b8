//! The current context of a thread: [`Context`], the `current_*` functions, [`spawn`], and
//! [`ContextGuard`], the entry a guard keeps on the thread's stack.

use std::marker::PhantomData;
use std::thread::JoinHandle;

use super::stack::{self, Entry, with_current};
use crate::sdk::span::Span;
use crate::sdk::trace::Trace;

/// A current trace and a current span, either of which may be absent: what code running
/// "inside" a trace or span sees.
///
/// # Examples
///
/// ```
/// use codex_telemetry::context::Context;
/// use codex_telemetry::{current_trace, TraceProvider};
///
/// let provider = TraceProvider::new();
/// let trace = provider.trace("wf");
/// trace.start();
/// let cx = Context::default().with_trace(trace.clone());
/// assert!(current_trace().is_none());
/// cx.run(|| assert_eq!(current_trace().unwrap().id(), trace.id()));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Context {
    trace: Option<Trace>,
    span: Option<Span>,
}

// === impl Context ===

impl Context {
    /// A context of `trace` and `span` (for the thread's stack).
    pub(super) fn from_parts(trace: Option<Trace>, span: Option<Span>) -> Self {
        Self { trace, span }
    }

    /// The context current on this thread (empty outside any trace).
    ///
    /// ```
    /// use codex_telemetry::context::Context;
    /// use codex_telemetry::TraceProvider;
    ///
    /// assert!(Context::current().trace().is_none());
    /// let _guard = TraceProvider::new().trace("wf").start_as_current();
    /// assert_eq!(Context::current().trace().unwrap().workflow_name(), "wf");
    /// ```
    pub fn current() -> Self {
        with_current(|cx| cx.to_context())
    }

    /// The current trace of this context.
    ///
    /// ```
    /// use codex_telemetry::context::Context;
    ///
    /// assert!(Context::default().trace().is_none());
    /// ```
    pub fn trace(&self) -> Option<&Trace> {
        self.trace.as_ref()
    }

    /// The current span of this context.
    ///
    /// ```
    /// use codex_telemetry::context::Context;
    ///
    /// assert!(Context::default().span().is_none());
    /// ```
    pub fn span(&self) -> Option<&Span> {
        self.span.as_ref()
    }

    /// The same context with `trace` as its trace (the span is kept).
    ///
    /// ```
    /// use codex_telemetry::context::Context;
    /// use codex_telemetry::Trace;
    ///
    /// assert!(Context::default().with_trace(Trace::noop()).trace().unwrap().is_noop());
    /// ```
    pub fn with_trace(mut self, trace: Trace) -> Self {
        self.trace = Some(trace);
        self
    }

    /// The same context with `span` as its span (the trace is kept).
    ///
    /// ```
    /// use codex_telemetry::context::Context;
    /// use codex_telemetry::Span;
    ///
    /// assert!(Context::default().with_span(Span::noop()).span().unwrap().is_noop());
    /// ```
    pub fn with_span(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    /// Makes this context current on this thread until the guard drops. Entering does not
    /// start or finish anything and logs nothing.
    ///
    /// ```
    /// use codex_telemetry::context::Context;
    /// use codex_telemetry::{current_trace, Trace};
    ///
    /// let cx = Context::default().with_trace(Trace::noop());
    /// {
    ///     let _guard = cx.attach();
    ///     assert!(current_trace().unwrap().is_noop());
    /// }
    /// assert!(current_trace().is_none());
    /// ```
    pub fn attach(&self) -> ContextGuard {
        ContextGuard::push(Entry::Context(self.clone()))
    }

    /// Runs `f` with this context current.
    ///
    /// ```
    /// use codex_telemetry::context::Context;
    /// use codex_telemetry::{current_span, Span};
    ///
    /// let noop = Context::default().with_span(Span::noop());
    /// assert!(noop.run(|| current_span().unwrap().is_noop()));
    /// ```
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.attach();
        f()
    }

    /// Wraps `f` so that it runs with this context current, wherever it is called: for
    /// thread pools and executors that take closures.
    ///
    /// ```
    /// use codex_telemetry::context::Context;
    /// use codex_telemetry::{current_trace, TraceProvider};
    ///
    /// let _guard = TraceProvider::new().trace("wf").start_as_current();
    /// let job = Context::current().wrap(|| current_trace().map(|t| t.workflow_name().to_owned()));
    /// std::thread::scope(|scope| {
    ///     assert_eq!(scope.spawn(job).join().unwrap().as_deref(), Some("wf"));
    /// });
    /// ```
    pub fn wrap<R>(self, f: impl FnOnce() -> R) -> impl FnOnce() -> R {
        move || self.run(f)
    }
}

/// The current trace on this thread, if any (it may be a no-op trace).
///
/// # Examples
///
/// ```
/// use codex_telemetry::{current_trace, TraceProvider};
///
/// assert!(current_trace().is_none());
/// let _guard = TraceProvider::new().trace("wf").start_as_current();
/// assert!(current_trace().is_some());
/// ```
pub fn current_trace() -> Option<Trace> {
    with_current(|cx| cx.trace().cloned())
}

/// The current span on this thread, if any (it may be a no-op span).
///
/// # Examples
///
/// ```
/// use codex_telemetry::{current_span, CustomSpanData, TraceProvider};
///
/// let provider = TraceProvider::new();
/// let _trace = provider.trace("wf").start_as_current();
/// assert!(current_span().is_none());
/// let _span = provider.span(CustomSpanData::new("x")).start_as_current();
/// assert!(current_span().is_some());
/// ```
pub fn current_span() -> Option<Span> {
    with_current(|cx| cx.span().cloned())
}

/// Spawns a thread that runs `f` in the caller's current context (Python's
/// `asyncio.to_thread` copies the context the same way).
///
/// # Examples
///
/// ```
/// use codex_telemetry::{context, current_trace, TraceProvider};
///
/// let guard = TraceProvider::new().trace("wf").start_as_current();
/// let id = context::spawn(|| current_trace().unwrap().id().to_owned()).join().unwrap();
/// assert_eq!(id, guard.trace().id());
/// ```
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    std::thread::spawn(Context::current().wrap(f))
}

/// Keeps a [`Context`] current on this thread; returned by [`Context::attach`].
///
/// Dropping it removes exactly its own entry from the thread's context stack, whatever
/// order guards are dropped in. It cannot be sent to another thread.
///
/// # Examples
///
/// ```
/// use codex_telemetry::context::Context;
/// use codex_telemetry::{current_trace, Trace};
///
/// let outer = Context::default().with_trace(Trace::noop()).attach();
/// let inner = Context::default().attach(); // empty context on top
/// assert!(current_trace().is_none());
/// drop(outer); // out of order: the inner (empty) context stays current
/// assert!(current_trace().is_none());
/// drop(inner);
/// ```
///
/// It is not `Send`, so it cannot be held across an `.await` in a spawned task (use
/// [`InContextExt::in_context`](super::InContextExt::in_context) there):
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<codex_telemetry::context::ContextGuard>();
/// ```
#[must_use = "the context stops being current when the guard is dropped"]
#[derive(Debug)]
pub struct ContextGuard {
    id: stack::EntryId,
    // Entries live in a thread-local stack: the guard must be dropped on its thread.
    _not_send: PhantomData<*const ()>,
}

impl ContextGuard {
    /// Pushes `entry` on this thread's stack.
    #[inline]
    pub(super) fn push(entry: Entry) -> Self {
        Self {
            id: stack::push(entry),
            _not_send: PhantomData,
        }
    }

    /// The id of the guard's entry on this thread's stack.
    pub(super) fn entry_id(&self) -> stack::EntryId {
        self.id
    }
}

impl Drop for ContextGuard {
    #[inline]
    fn drop(&mut self) {
        stack::remove(self.id);
    }
}

/// Pushes the current context with `trace` as its trace.
pub(crate) fn enter_trace(trace: Trace) -> ContextGuard {
    ContextGuard::push(Entry::Context(Context::current().with_trace(trace)))
}

/// Pushes the current context with `span` as its span (without copying the context: a
/// no-op span is entered without touching a reference count).
#[inline]
pub(crate) fn enter_span(span: Span) -> ContextGuard {
    ContextGuard {
        id: stack::push_span(span),
        _not_send: PhantomData,
    }
}

/// The current trace and span, cloned (reference counts only, no allocation) so that the
/// event is dispatched outside the context's borrow: a subscriber may enter contexts.
pub(crate) fn log_handles() -> (Option<Trace>, Option<Span>) {
    with_current(|cx| (cx.trace().cloned(), cx.span().cloned()))
}

/// The id a log line reports for `trace`: none for a missing or no-op trace.
pub(crate) fn log_trace_id(trace: Option<&Trace>) -> Option<&str> {
    trace.filter(|trace| !trace.is_noop()).map(Trace::id)
}

/// The id a log line reports for `span`: none for a missing or no-op span.
pub(crate) fn log_span_id(span: Option<&Span>) -> Option<&str> {
    span.filter(|span| !span.is_noop()).map(Span::id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::span_data::CustomSpanData;
    use crate::sdk::provider::TraceProvider;
    use std::sync::{Arc, Barrier};

    fn span_id() -> Option<String> {
        current_span().map(|s| s.id().to_owned())
    }

    #[test]
    fn guards_restore_in_order() {
        let provider = TraceProvider::new();
        let trace = provider.trace("wf").start_as_current();
        let a = provider.span(CustomSpanData::new("a"));
        let a_guard = a.start_as_current();
        let b = provider.span(CustomSpanData::new("b"));
        let b_guard = b.start_as_current();
        assert_eq!(b.parent_id(), Some(a.id()));
        assert_eq!(span_id().as_deref(), Some(b.id()));
        drop(b_guard);
        assert_eq!(span_id().as_deref(), Some(a.id()));
        drop(a_guard);
        assert_eq!(span_id(), None);
        assert!(current_trace().is_some());
        drop(trace);
        assert!(current_trace().is_none());
    }

    #[test]
    fn out_of_order_drops_remove_only_their_own_entry() {
        let provider = TraceProvider::new();
        let trace = provider.trace("wf").start_as_current();
        let a = provider.span(CustomSpanData::new("a"));
        let a_guard = a.start_as_current();
        let b = provider.span(CustomSpanData::new("b"));
        let b_guard = b.start_as_current();
        drop(a_guard); // out of order: b stays current
        assert_eq!(span_id().as_deref(), Some(b.id()));
        assert!(a.ended_at().is_some());
        drop(trace); // out of order again: b's entry still names the trace
        assert_eq!(current_trace().unwrap().id(), b.trace_id());
        drop(b_guard);
        assert!(current_span().is_none() && current_trace().is_none());
        assert_eq!(stack::len(), 0);
    }

    #[test]
    fn contexts_do_not_leak_across_threads() {
        let provider = TraceProvider::new();
        let barrier = Arc::new(Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let provider = provider.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let trace = provider.trace(format!("run{i}")).start_as_current();
                    let span = provider.span(CustomSpanData::new(format!("s{i}")));
                    let _entered = span.start_as_current();
                    barrier.wait(); // all four threads have their spans current now
                    let child = provider.span(CustomSpanData::new("child"));
                    assert_eq!(child.trace_id(), trace.trace().id());
                    assert_eq!(child.parent_id(), Some(span.id()));
                    assert_eq!(current_trace().unwrap().workflow_name(), format!("run{i}"));
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert!(current_trace().is_none());
    }

    #[test]
    fn spawn_and_wrap_carry_the_context() {
        let provider = TraceProvider::new();
        let _trace = provider.trace("wf").start_as_current();
        let span = provider.span(CustomSpanData::new("tool"));
        let _entered = span.start_as_current();
        let expected = Some(span.id().to_owned());
        assert_eq!(spawn(span_id).join().unwrap(), expected);
        let job = Context::current().wrap(span_id);
        assert_eq!(std::thread::spawn(job).join().unwrap(), expected);
        // The spawned work creates children of the captured span, in the same trace.
        let child = spawn(move || {
            let child = provider.span(CustomSpanData::new("child"));
            (
                child.trace_id().to_owned(),
                child.parent_id().map(str::to_owned),
            )
        })
        .join()
        .unwrap();
        assert_eq!(child, (span.trace_id().to_owned(), expected));
    }

    #[test]
    fn entering_a_trace_keeps_the_current_span() {
        // Python quirk: `with trace("two")` inside a span of trace one leaves that span
        // current, so a span made next has trace two's id and the outer span as parent.
        let provider = TraceProvider::new();
        let _one = provider.trace("one").start_as_current();
        let outer = provider.span(CustomSpanData::new("outer"));
        let _outer = outer.start_as_current();
        let two = provider.trace("two").start_as_current();
        let inner = provider.span(CustomSpanData::new("inner"));
        assert_eq!(inner.trace_id(), two.trace().id());
        assert_eq!(inner.parent_id(), Some(outer.id()));
    }

    #[test]
    fn with_current_tolerates_reentrancy() {
        let _guard = Context::default().with_span(Span::noop()).attach();
        let nested = with_current(|outer| (outer.span().is_some(), current_span().is_some()));
        assert_eq!(nested, (true, true));
    }
}

#[cfg(test)]
mod log_id_tests {
    use super::*;
    use crate::model::span_data::CustomSpanData;
    use crate::sdk::provider::TraceProvider;

    #[test]
    fn noop_handles_report_no_ids() {
        let provider = TraceProvider::builder().with_disabled(true).build();
        let _trace = provider.trace("wf").start_as_current();
        let span = provider.span(CustomSpanData::new("x"));
        let _span = span.start_as_current();
        let (trace, span) = log_handles();
        assert!(trace.is_some() && span.is_some());
        assert_eq!(log_trace_id(trace.as_ref()), None);
        assert_eq!(log_span_id(span.as_ref()), None);
    }

    #[test]
    fn recording_handles_report_their_ids() {
        let provider = TraceProvider::new();
        let trace = provider.trace("wf").start_as_current();
        let span = provider.span(CustomSpanData::new("x"));
        let _span = span.start_as_current();
        let (t, s) = log_handles();
        assert_eq!(log_trace_id(t.as_ref()), Some(trace.trace().id()));
        assert_eq!(log_span_id(s.as_ref()), Some(span.id()));
    }
}
