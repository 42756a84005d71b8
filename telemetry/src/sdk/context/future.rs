//! Contexts that follow futures: [`InContextExt::in_context`] enters a context around every
//! poll; with the `tokio` feature, `spawn_task` and `spawn_blocking` carry the caller's
//! context into tokio tasks.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use super::current::Context;

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
#[cfg(feature = "tokio")]
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
#[cfg(feature = "tokio")]
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(Context::current().wrap(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::context::current_trace;
    use crate::sdk::provider::TraceProvider;

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
}
