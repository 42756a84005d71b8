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
//! * A `Run` of the lifecycle API (module `lifecycle`) holds no guard: it keeps its
//!   own context (its trace and open spans over its caller's context) and makes it current
//!   only while one of its calls runs, so it can be held across `.await`s and move between
//!   threads. Its handles give out the contexts to attach for the SDK's own work
//!   (see the lifecycle module's *Threads and async*).
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
//! [`in_context`](InContextExt::in_context): it is entered around every poll. (Lifecycle
//! handles are not guards and may be held across `.await`s.)
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

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::Poll;
use std::thread::JoinHandle;

use crate::sdk::span::Span;
use crate::sdk::trace::Trace;
use stack::Entry;
pub(crate) use stack::with_current;

mod stack;

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
/// [`InContextExt::in_context`] there):
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
    #[inline]
    fn push(entry: Entry) -> Self {
        Self {
            id: stack::push(entry),
            _not_send: PhantomData,
        }
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

/// A frame of an [`OwnedContext`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameId(u64);

/// A context kept by its owner (a run) instead of a thread: a base context (the caller's,
/// when the owner was made) with a stack of frames on top, each a full [`Context`] like the
/// entries of a thread's stack. Removing a frame removes only that frame, whatever its
/// position, with the semantics of out-of-order guard drops.
///
/// The owner [`attach`](OwnedContext::attach)es it to the calling thread for the duration
/// of each call; frames pushed or removed while attached are mirrored into the thread's
/// entry at once, so everything the call does (span creation, processors, log lines,
/// hooks) sees the owner's current context. Between calls nothing is attached, so the owner
/// is `Send` and may move between threads.
#[derive(Debug)]
pub(crate) struct OwnedContext {
    base: Context,
    frames: Vec<(FrameId, Context)>,
    next_frame: u64,
    /// The thread-stack entry this context was last attached to; stale (no longer on any
    /// stack) once that call returned.
    attached: Option<stack::EntryId>,
}

impl OwnedContext {
    /// An owned context over `base`, without frames.
    pub(crate) fn new(base: Context) -> Self {
        Self {
            base,
            frames: Vec::new(),
            next_frame: 0,
            attached: None,
        }
    }

    /// The context the owner was made in.
    pub(crate) fn base(&self) -> &Context {
        &self.base
    }

    /// The top frame's context, or the base.
    pub(crate) fn current(&self) -> &Context {
        self.frames.last().map_or(&self.base, |(_, cx)| cx)
    }

    /// Pushes `cx` as the new current context.
    fn push(&mut self, cx: Context) -> FrameId {
        self.next_frame += 1;
        let id = FrameId(self.next_frame);
        self.frames.push((id, cx));
        self.sync();
        id
    }

    /// Pushes the current context with `span` as its span.
    fn push_span(&mut self, span: Span) -> FrameId {
        self.push(self.current().clone().with_span(span))
    }

    /// Pushes the current context with `trace` as its trace.
    fn push_trace(&mut self, trace: Trace) -> FrameId {
        self.push(self.current().clone().with_trace(trace))
    }

    /// Removes frame `id` (only it, wherever it is).
    fn remove(&mut self, id: FrameId) {
        let Some(position) = self.frames.iter().rposition(|(frame, _)| *frame == id) else {
            return;
        };
        let removed = self.frames.remove(position);
        self.sync();
        drop(removed);
    }

    /// Starts `span` and makes it current here: [`Span::start_as_current`] without a
    /// guard. `None` when it was already started (it is not made current then).
    pub(crate) fn start_span(&mut self, span: &Span) -> Option<FrameId> {
        span.start_for_current()
            .then(|| self.push_span(span.clone()))
    }

    /// Finishes `span` (still current), then removes its frame: dropping its
    /// [`SpanGuard`](crate::SpanGuard).
    pub(crate) fn end_span(&mut self, span: &Span, frame: Option<FrameId>) {
        span.finish();
        if let Some(frame) = frame {
            self.remove(frame);
        }
    }

    /// Starts `trace` and makes it current here: [`Trace::start_as_current`] without a
    /// guard. `None` when it is not made current (already started).
    pub(crate) fn start_trace(&mut self, trace: &Trace) -> Option<FrameId> {
        trace
            .start_for_current()
            .then(|| self.push_trace(trace.clone()))
    }

    /// Finishes `trace` (logging `Resetting current trace` while it is still current), then
    /// removes its frame: dropping its [`TraceGuard`](crate::TraceGuard).
    pub(crate) fn end_trace(&mut self, trace: &Trace, frame: Option<FrameId>) {
        trace.finish_current(frame.is_some());
        if let Some(frame) = frame {
            self.remove(frame);
        }
    }

    /// Makes the current context current on this thread until the guard drops, and keeps
    /// it so while frames change. Already attached on this thread (a call made inside
    /// another call of the same owner): nothing more to do.
    pub(crate) fn attach(&mut self) -> Attached {
        if self.attached.is_some_and(stack::is_live) {
            return Attached { _guard: None };
        }
        let guard = ContextGuard::push(Entry::Context(self.current().clone()));
        self.attached = Some(guard.id);
        Attached {
            _guard: Some(guard),
        }
    }

    fn sync(&self) {
        if let Some(id) = self.attached {
            stack::replace(id, self.current());
        }
    }
}

/// An [`OwnedContext`] attached to this thread; see [`OwnedContext::attach`].
#[must_use = "the owned context is detached when this is dropped"]
#[derive(Debug)]
pub(crate) struct Attached {
    // Held for its drop: removes the thread's entry.
    _guard: Option<ContextGuard>,
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

    fn ids(cx: &Context) -> (Option<String>, Option<String>) {
        (
            cx.trace().map(|t| t.id().to_owned()),
            cx.span().map(|s| s.id().to_owned()),
        )
    }

    #[test]
    fn an_owned_context_is_current_only_while_attached_and_follows_its_frames() {
        let provider = TraceProvider::new();
        let trace = provider.trace("wf");
        let mut owned = OwnedContext::new(Context::current());
        let trace_frame = owned.push_trace(trace.clone());
        assert!(
            current_trace().is_none(),
            "not attached: nothing is current"
        );
        {
            let _attached = owned.attach();
            assert_eq!(current_trace().unwrap().id(), trace.id());
            let span = provider.span(CustomSpanData::new("a"));
            let span_frame = owned.push_span(span.clone().into_span());
            assert_eq!(span_id().as_deref(), Some(span.id()), "pushes are mirrored");
            {
                // A call made inside a call: already attached, nothing more is pushed.
                let _nested = owned.attach();
                assert_eq!(stack::len(), 1);
            }
            assert_eq!(span_id().as_deref(), Some(span.id()));
            owned.remove(span_frame);
            assert_eq!(span_id(), None, "removals are mirrored");
        }
        assert!(current_trace().is_none() && current_span().is_none());
        assert_eq!(stack::len(), 0);
        owned.remove(trace_frame);
        assert!(owned.current().trace().is_none());
    }

    #[test]
    fn owned_frames_removed_out_of_order_keep_later_snapshots() {
        let provider = TraceProvider::new();
        let _trace = provider.trace("wf").start_as_current();
        let mut owned = OwnedContext::new(Context::current());
        let mask = provider.span(CustomSpanData::new("mask")).into_span();
        let inner = provider.trace("inner");
        let mask_frame = owned.push_span(mask.clone());
        let inner_frame = owned.push_trace(inner.clone());
        owned.remove(mask_frame);
        // As with guards: the inner frame still names the mask span.
        assert_eq!(
            ids(owned.current()),
            (Some(inner.id().to_owned()), Some(mask.id().to_owned()))
        );
        owned.remove(inner_frame);
        assert_eq!(ids(owned.current()), ids(&Context::current()));
    }

    #[test]
    fn a_span_entry_keeps_the_trace_it_was_entered_in() {
        // Span entries borrow the trace of the entry below; removing or replacing that
        // entry must not change what they see.
        let provider = TraceProvider::new();
        let trace = provider.trace("wf").start_as_current();
        let noop = Span::noop().start_as_current();
        let span = provider.span(CustomSpanData::new("x")); // under the no-op: a no-op
        assert!(span.is_noop());
        drop(trace); // out of order, directly under the no-op span's entry
        assert!(current_trace().is_some_and(|t| !t.is_noop()));
        assert!(current_span().is_some_and(|s| s.is_noop()));
        drop(noop);
        assert!(current_trace().is_none() && current_span().is_none());

        let first = provider.trace("first");
        let mut owned = OwnedContext::new(Context::default());
        owned.push_trace(first.clone());
        let attached = owned.attach();
        let tool = provider.span(CustomSpanData::new("tool"));
        let entered = tool.start_as_current();
        let second_frame = owned.push_trace(provider.trace("second")); // replaces the entry below
        assert_eq!(
            current_trace().map(|t| t.id().to_owned()).as_deref(),
            Some(first.id())
        );
        assert_eq!(span_id().as_deref(), Some(tool.id()));
        drop(entered);
        assert_ne!(
            current_trace().map(|t| t.id().to_owned()).as_deref(),
            Some(first.id())
        );
        owned.remove(second_frame);
        drop(attached);
        assert_eq!(stack::len(), 0);
    }

    #[test]
    fn an_owned_context_attaches_on_whatever_thread_uses_it() {
        let provider = TraceProvider::new();
        let trace = provider.trace("wf");
        let mut owned = OwnedContext::new(Context::default());
        owned.push_trace(trace.clone());
        drop(owned.attach()); // a stale attachment on this thread
        let seen = std::thread::spawn(move || {
            let _attached = owned.attach();
            current_trace().map(|t| t.id().to_owned())
        })
        .join()
        .unwrap();
        assert_eq!(seen.as_deref(), Some(trace.id()));
        assert!(current_trace().is_none());
    }

    #[test]
    fn with_current_tolerates_reentrancy() {
        let _guard = Context::default().with_span(Span::noop()).attach();
        let nested = with_current(|outer| (outer.span().is_some(), current_span().is_some()));
        assert_eq!(nested, (true, true));
    }
}
