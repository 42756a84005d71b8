//! Each thread's stack of entered contexts: what guards push and remove, and what
//! [`with_current`](super::with_current) reads.
//!
//! Entering a span is the hot path (every `start_as_current`), so an entry need not be a
//! whole [`Context`]: [`Entry::Span`] means "the entry below, with this span". Entering a
//! span then clones only the span, and entering a no-op span (disabled tracing, no trace)
//! touches no reference count and allocates nothing. Entry ids come from a per-thread block,
//! so pushing takes no shared atomic either.
//!
//! Semantics are those of whole snapshots: when an entry is removed or replaced while a
//! span entry sits on it, that span entry first becomes a whole context (the trace it saw),
//! so out-of-order drops never change what a later entry sees.

use std::cell::RefCell;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

use super::current::Context;
use crate::sdk::span::Span;
use crate::sdk::trace::Trace;

/// The current trace and span, borrowed from the stack.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Current<'a> {
    trace: Option<&'a Trace>,
    span: Option<&'a Span>,
}

impl<'a> Current<'a> {
    pub(crate) fn trace(self) -> Option<&'a Trace> {
        self.trace
    }

    pub(crate) fn span(self) -> Option<&'a Span> {
        self.span
    }

    pub(crate) fn to_context(self) -> Context {
        Context::from_parts(self.trace.cloned(), self.span.cloned())
    }
}

/// One entered context.
#[derive(Debug)]
pub(super) enum Entry {
    /// A whole context (attached contexts, entered traces).
    Context(Context),
    /// The entry directly below, with this span as its span (entered spans).
    Span(Span),
}

/// The id of an entry: unique in the process. Never zero, so that a guard holding an
/// optional entry stays two words and is returned in registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EntryId(NonZeroU64);

impl EntryId {
    /// The id of an entry pushed while this thread had no stack (it is on no stack).
    const NOWHERE: Self = Self(NonZeroU64::MIN);
}

#[derive(Debug)]
pub(super) struct Stack {
    entries: Vec<(EntryId, Entry)>,
    /// The next entry id of this thread; a multiple of [`ID_BLOCK`] means "take a block".
    next_id: u64,
}

/// Entry ids are unique in the process, not just on a thread (an owned context remembers
/// the id of the entry it is attached to and may later be used on another thread). Each
/// thread takes ids in blocks from this counter.
static NEXT_ID_BLOCK: AtomicU64 = AtomicU64::new(ID_BLOCK);
const ID_BLOCK: u64 = 1 << 20;

thread_local! {
    static STACK: RefCell<Stack> = const {
        RefCell::new(Stack { entries: Vec::new(), next_id: 0 })
    };
}

impl Stack {
    #[inline]
    fn take_id(&mut self) -> EntryId {
        if self.next_id.is_multiple_of(ID_BLOCK) {
            self.next_id = NEXT_ID_BLOCK.fetch_add(ID_BLOCK, Ordering::Relaxed);
        }
        let id = self.next_id;
        self.next_id += 1;
        // Blocks start at `ID_BLOCK`: ids are never 0 or `NOWHERE`.
        EntryId(NonZeroU64::new(id).expect("ids start at ID_BLOCK"))
    }

    fn current(&self) -> Current<'_> {
        let mut span = None;
        for (_, entry) in self.entries.iter().rev() {
            match entry {
                Entry::Span(top) => span = span.or(Some(top)),
                Entry::Context(cx) => {
                    return Current {
                        trace: cx.trace(),
                        span: span.or(cx.span()),
                    };
                }
            }
        }
        Current { trace: None, span }
    }

    /// The trace entry `position` sees.
    fn trace_at(&self, position: usize) -> Option<&Trace> {
        self.entries[..=position]
            .iter()
            .rev()
            .find_map(|(_, entry)| match entry {
                Entry::Context(cx) => Some(cx.trace()),
                Entry::Span(_) => None,
            })
            .flatten()
    }

    /// Before entry `position` changes or goes: a span entry directly above it becomes the
    /// whole context it sees now.
    fn detach_from(&mut self, position: usize) {
        let Some((_, Entry::Span(span))) = self.entries.get(position + 1) else {
            return;
        };
        let whole = Context::from_parts(self.trace_at(position).cloned(), Some(span.clone()));
        self.entries[position + 1].1 = Entry::Context(whole);
    }

    #[inline]
    fn position(&self, id: EntryId) -> Option<usize> {
        self.entries.iter().rposition(|(entry, _)| *entry == id)
    }
}

/// Pushes `entry` on this thread's stack and returns its id.
#[inline]
pub(super) fn push(entry: Entry) -> EntryId {
    // `try_with`: while the thread's locals are torn down (a run dropped by a
    // thread-local destructor), there is no stack to enter; the id is then on no stack
    // (ids of a torn-down thread's block are never handed out again).
    STACK
        .try_with(|stack| {
            let mut stack = stack.borrow_mut();
            let id = stack.take_id();
            stack.entries.push((id, entry));
            id
        })
        .unwrap_or(EntryId::NOWHERE)
}

/// Pushes a span entry: [`push`] for the hot path, with the entry built in its slot from
/// the span's one pointer (moving a whole `Entry` through the closure costs more than the
/// rest of entering a no-op span).
#[inline]
pub(super) fn push_span(span: Span) -> EntryId {
    let mut span = Some(span);
    STACK
        .try_with(|stack| {
            let mut stack = stack.borrow_mut();
            let id = stack.take_id();
            if let Some(span) = span.take() {
                stack.entries.push((id, Entry::Span(span)));
            }
            id
        })
        .unwrap_or(EntryId::NOWHERE)
}

/// Removes entry `id` from this thread's stack, if it is there.
#[inline]
pub(super) fn remove(id: EntryId) {
    let removed = STACK.try_with(|stack| {
        let mut stack = stack.borrow_mut();
        let position = stack.position(id)?;
        stack.detach_from(position);
        Some(stack.entries.remove(position))
    });
    // Dropped outside the borrow: releasing the last handle of a trace or span must not
    // run while the stack is borrowed.
    drop(removed);
}

/// Replaces the context of this thread's entry `id`, if it is on this thread's stack.
pub(super) fn replace(id: EntryId, cx: &Context) {
    let replaced = STACK.try_with(|stack| {
        let mut stack = stack.try_borrow_mut().ok()?;
        let position = stack.position(id)?;
        stack.detach_from(position);
        Some(std::mem::replace(
            &mut stack.entries[position].1,
            Entry::Context(cx.clone()),
        ))
    });
    // Dropped outside the borrow, like a removed entry.
    drop(replaced);
}

/// Whether this thread's stack holds the entry `id`.
pub(super) fn is_live(id: EntryId) -> bool {
    STACK
        .try_with(|stack| {
            stack
                .try_borrow()
                .is_ok_and(|stack| stack.position(id).is_some())
        })
        .unwrap_or(false)
}

/// Runs `f` on the current trace and span of this thread. While the stack is unavailable
/// (during thread teardown, or when `f` of an outer call re-enters while the stack is
/// being changed) the context reads as empty.
pub(crate) fn with_current<R>(f: impl FnOnce(Current<'_>) -> R) -> R {
    let mut f = Some(f);
    let mut result = None;
    let _ = STACK.try_with(|stack| {
        if let (Ok(stack), Some(f)) = (stack.try_borrow(), f.take()) {
            result = Some(f(stack.current()));
        }
    });
    match (result, f) {
        (Some(result), _) => result,
        (None, Some(f)) => f(Current::default()),
        (None, None) => unreachable!("`f` is only taken when it also produces the result"),
    }
}

/// How many entries this thread's stack holds (for tests).
#[cfg(test)]
pub(super) fn len() -> usize {
    STACK.with_borrow(|stack| stack.entries.len())
}
