//! A context kept by its owner (a lifecycle run) instead of a thread: [`OwnedContext`],
//! attached to the calling thread for the duration of each of the owner's calls.

use super::current::{Context, ContextGuard};
use super::stack::{self, Entry};
use crate::sdk::span::Span;
use crate::sdk::trace::Trace;

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
        self.attached = Some(guard.entry_id());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::span_data::CustomSpanData;
    use crate::sdk::context::{current_span, current_trace};
    use crate::sdk::provider::TraceProvider;

    fn span_id() -> Option<String> {
        current_span().map(|s| s.id().to_owned())
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
}
