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

mod current;
mod future;
mod owned;
mod stack;

pub use current::{Context, ContextGuard, current_span, current_trace, spawn};
pub(crate) use current::{enter_span, enter_trace, log_handles, log_span_id, log_trace_id};
pub use future::{InContext, InContextExt};
#[cfg(feature = "tokio")]
pub use future::{spawn_blocking, spawn_task};
pub(crate) use owned::{Attached, FrameId, OwnedContext};
pub(crate) use stack::with_current;
