//! The current trace and span, and how they follow work into threads and async tasks.
//!
//! Python keeps the current trace and the current span in two `contextvars`, which every
//! asyncio task and `asyncio.to_thread` call copies, so concurrent runs never see each
//! other's spans. This crate keeps them in a [`Context`] value:
//!
//! * Each thread has a **stack of entered contexts** (thread-local); the current
//!   context is the top entry, or the empty context. Guards
//!   ([`TraceGuard`](crate::TraceGuard), [`SpanGuard`](crate::SpanGuard),
//!   [`ContextGuard`]) push an entry and remove exactly that entry when dropped, so
//!   dropping guards out of order never resurrects a stale context or removes someone
//!   else's: the current context is always the most recent entry still alive.
//! * Guards are `!Send`: a context never silently leaks onto another thread.
//! * Work crosses threads and tasks only **explicitly**: capture [`Context::current`]
//!   and enter it there, or use the helpers: [`spawn`] for threads, [`Context::wrap`]
//!   for thread pools, [`InContextExt::in_context`] for futures and, with the `tokio`
//!   feature, `spawn_task` and `spawn_blocking`.
//!
//! Trace and span are independent, as in Python: entering a trace keeps the current span,
//! entering a span keeps the current trace.
//!
//! ```
//! use codex_telemetry::context::{self, Context};
//! use codex_telemetry::{current_span, CustomSpanData, TraceProvider};
//!
//! let provider = TraceProvider::new();
//! let _trace = provider.trace("wf").start_as_current();
//! let tool = provider.span(CustomSpanData::new("tool"));
//! let _entered = tool.start_as_current();
//!
//! // A worker thread sees the tool span as its current span ...
//! let seen = context::spawn(|| current_span().map(|s| s.id().to_owned())).join().unwrap();
//! assert_eq!(seen.as_deref(), Some(tool.id()));
//! // ... a plain thread does not.
//! assert!(std::thread::spawn(|| current_span().is_none()).join().unwrap());
//! ```
//!
//! # Async code
//!
//! A guard must not be held across an `.await`: the task may move to another thread or
//! another task may run on this one. (For spawned tasks the compiler enforces this, since
//! guards are not `Send`.) Instead, attach a context to the future with
//! [`in_context`](InContextExt::in_context): it is entered around every poll.
//!
//! ```
//! use codex_telemetry::context::{Context, InContextExt};
//! use codex_telemetry::{current_span, CustomSpanData, TraceProvider};
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     use std::task::{Context as Cx, Poll, Waker};
//! #     let mut f = std::pin::pin!(f);
//! #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut Cx::from_waker(Waker::noop())) { return v } }
//! # }
//!
//! let provider = TraceProvider::new();
//! let _trace = provider.trace("wf").start_as_current();
//! let step = provider.span(CustomSpanData::new("step"));
//! step.start();
//! let in_step = async { current_span().map(|s| s.id().to_owned()) }
//!     .in_context(Context::current().with_span(step.clone().into_span()));
//! assert_eq!(block_on(in_step).as_deref(), Some(step.id()));
//! step.finish();
//! ```

use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::Poll;
use std::thread::JoinHandle;

use crate::span::Span;
use crate::trace::Trace;

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
        with_current(Self::clone)
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
        ContextGuard::push(self.clone())
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
    with_current(|cx| cx.trace.clone())
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
    with_current(|cx| cx.span.clone())
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
#[must_use = "the context stops being current when the guard is dropped"]
#[derive(Debug)]
pub struct ContextGuard {
    id: u64,
    // Entries live in a thread-local stack: the guard must be dropped on its thread.
    _not_send: PhantomData<*const ()>,
}

impl ContextGuard {
    fn push(cx: Context) -> Self {
        let id = STACK.with_borrow_mut(|stack| {
            stack.next_id += 1;
            let id = stack.next_id;
            stack.entries.push((id, cx));
            id
        });
        Self {
            id,
            _not_send: PhantomData,
        }
    }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        // `try_with`: the guard may be dropped while the thread's locals are torn down.
        let removed = STACK.try_with(|stack| {
            let mut stack = stack.borrow_mut();
            let position = stack.entries.iter().rposition(|(id, _)| *id == self.id)?;
            Some(stack.entries.remove(position).1)
        });
        // Dropped outside the borrow: releasing the last handle of a trace or span must
        // not run while the stack is borrowed.
        drop(removed);
    }
}

/// Pushes the current context with `trace` as its trace.
pub(crate) fn enter_trace(trace: Trace) -> ContextGuard {
    ContextGuard::push(Context::current().with_trace(trace))
}

/// Pushes the current context with `span` as its span.
pub(crate) fn enter_span(span: Span) -> ContextGuard {
    ContextGuard::push(Context::current().with_span(span))
}

/// Runs `f` on the current context without cloning it.
pub(crate) fn with_current<R>(f: impl FnOnce(&Context) -> R) -> R {
    const EMPTY: &Context = &Context {
        trace: None,
        span: None,
    };
    let mut f = Some(f);
    let mut result = None;
    // `try_with`/`try_borrow`: during thread teardown, or if `f` of an outer call
    // re-enters while the stack is being changed, the context reads as empty.
    let _ = STACK.try_with(|stack| {
        if let (Ok(stack), Some(f)) = (stack.try_borrow(), f.take()) {
            result = Some(f(stack.entries.last().map_or(EMPTY, |(_, cx)| cx)));
        }
    });
    match (result, f) {
        (Some(result), _) => result,
        (None, Some(f)) => f(EMPTY),
        (None, None) => unreachable!("`f` is only taken when it also produces the result"),
    }
}

struct Stack {
    entries: Vec<(u64, Context)>,
    next_id: u64,
}

thread_local! {
    static STACK: RefCell<Stack> = const { RefCell::new(Stack { entries: Vec::new(), next_id: 0 }) };
}

/// Attaches a [`Context`] to a future: the future is polled with the context current.
///
/// Implemented for every future.
///
/// # Examples
///
/// ```
/// use codex_telemetry::context::{Context, InContextExt};
/// use codex_telemetry::{current_trace, Trace};
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context as Cx, Poll, Waker};
/// #     let mut f = std::pin::pin!(f);
/// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut Cx::from_waker(Waker::noop())) { return v } }
/// # }
///
/// let fut = async { current_trace().is_some() }.in_context(Context::default().with_trace(Trace::noop()));
/// assert!(block_on(fut));
/// ```
pub trait InContextExt: Future + Sized {
    /// Polls this future with `cx` current.
    ///
    /// ```
    /// use codex_telemetry::context::{Context, InContextExt};
    /// use codex_telemetry::{current_span, Span};
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context as Cx, Poll, Waker};
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut Cx::from_waker(Waker::noop())) { return v } }
    /// # }
    ///
    /// let fut = async { current_span().is_some() }.in_context(Context::default().with_span(Span::noop()));
    /// assert!(block_on(fut));
    /// ```
    fn in_context(self, cx: Context) -> InContext<Self> {
        InContext { inner: self, cx }
    }

    /// Polls this future with the context current now (at the call, not at the first
    /// poll).
    ///
    /// ```
    /// use codex_telemetry::context::InContextExt;
    /// use codex_telemetry::{current_trace, TraceProvider};
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context as Cx, Poll, Waker};
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut Cx::from_waker(Waker::noop())) { return v } }
    /// # }
    ///
    /// let fut = {
    ///     let _guard = TraceProvider::new().trace("wf").start_as_current();
    ///     async { current_trace().map(|t| t.workflow_name().to_owned()) }.in_current_context()
    /// };
    /// assert_eq!(block_on(fut).as_deref(), Some("wf"));
    /// ```
    fn in_current_context(self) -> InContext<Self> {
        self.in_context(Context::current())
    }
}

impl<F: Future> InContextExt for F {}

pin_project_lite::pin_project! {
    /// A future polled with a [`Context`] current; see [`InContextExt`].
    ///
    /// Dropping an unfinished `InContext` drops the inner future outside the context.
    ///
    /// # Examples
    ///
    /// ```
    /// use codex_telemetry::context::{Context, InContext, InContextExt};
    ///
    /// let fut: InContext<_> = async { 1 }.in_context(Context::default());
    /// assert_eq!(fut.context().trace().map(|t| t.id().to_owned()), None);
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct InContext<F> {
        #[pin]
        inner: F,
        cx: Context,
    }
}

impl<F> InContext<F> {
    /// The context the future is polled in.
    ///
    /// ```
    /// use codex_telemetry::context::{Context, InContextExt};
    /// use codex_telemetry::Trace;
    ///
    /// let fut = async {}.in_context(Context::default().with_trace(Trace::noop()));
    /// assert!(fut.context().trace().unwrap().is_noop());
    /// ```
    pub fn context(&self) -> &Context {
        &self.cx
    }
}

impl<F: Future> Future for InContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut std::task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = this.cx.attach();
        this.inner.poll(task)
    }
}

#[cfg(feature = "tokio")]
mod tokio_helpers {
    use super::{Context, InContextExt};
    use std::future::Future;

    /// Spawns a tokio task that runs in the caller's current context (Python's
    /// `asyncio.create_task` copies the context the same way). Requires the `tokio`
    /// feature and a running tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use codex_telemetry::{context, current_trace, TraceProvider};
    ///
    /// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let guard = TraceProvider::new().trace("wf").start_as_current();
    /// let task = runtime.block_on(async {
    ///     context::spawn_task(async { current_trace().unwrap().id().to_owned() })
    /// });
    /// drop(guard);
    /// let id = runtime.block_on(task).unwrap();
    /// assert!(id.starts_with("trace_"));
    /// ```
    pub fn spawn_task<F>(future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::task::spawn(future.in_context(Context::current()))
    }

    /// Runs `f` on tokio's blocking pool in the caller's current context (Python's
    /// `asyncio.to_thread`). Requires the `tokio` feature and a running tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use codex_telemetry::{context, current_trace, TraceProvider};
    ///
    /// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let _guard = TraceProvider::new().trace("wf").start_as_current();
    /// let name = runtime.block_on(async {
    ///     context::spawn_blocking(|| current_trace().unwrap().workflow_name().to_owned()).await
    /// });
    /// assert_eq!(name.unwrap(), "wf");
    /// ```
    pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        tokio::task::spawn_blocking(Context::current().wrap(f))
    }
}

#[cfg(feature = "tokio")]
pub use tokio_helpers::{spawn_blocking, spawn_task};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::TraceProvider;
    use crate::span_data::CustomSpanData;
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
        STACK.with_borrow(|stack| assert!(stack.entries.is_empty()));
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
        let child = spawn({
            let provider = provider.clone();
            move || {
                let child = provider.span(CustomSpanData::new("child"));
                (
                    child.trace_id().to_owned(),
                    child.parent_id().map(str::to_owned),
                )
            }
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
    fn in_context_enters_only_during_polls() {
        use std::task::{Context as TaskContext, Poll, Waker};

        let provider = TraceProvider::new();
        let trace = provider.trace("wf");
        trace.start();
        let mut polls = 0;
        let fut = std::future::poll_fn(|_| {
            polls += 1;
            assert_eq!(current_trace().unwrap().id(), trace.id());
            if polls < 3 {
                Poll::Pending
            } else {
                Poll::Ready(polls)
            }
        })
        .in_context(Context::default().with_trace(trace.clone()));
        let mut fut = std::pin::pin!(fut);
        let mut task = TaskContext::from_waker(Waker::noop());
        loop {
            assert!(current_trace().is_none(), "not current between polls");
            if let Poll::Ready(n) = fut.as_mut().poll(&mut task) {
                assert_eq!(n, 3);
                break;
            }
        }
    }

    #[test]
    fn with_current_tolerates_reentrancy() {
        let _guard = Context::default().with_span(Span::noop()).attach();
        let nested = with_current(|outer| (outer.span().is_some(), current_span().is_some()));
        assert_eq!(nested, (true, true));
    }
}
