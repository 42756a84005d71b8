//! What the traces and spans of one provider share: the processors they dispatch to, the
//! id generator, the clock, the disabled switch, and the trace ids started so far
//! ([`StartedTraces`], Python's `_started_trace_ids`: an LRU of 4096 ids per process, which
//! decides whether a run resumed from a `RunState` reattaches to its trace, with no second
//! `trace_start`/`trace_end`, or starts a new trace with the saved id).
//!
//! The provider builds it; every trace and span holds it (an `Arc`), so that starting and
//! ending them needs no provider.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use indexmap::IndexSet;

use super::processor::ProcessorSet;
use crate::model::clock::Clock;
use crate::model::ids::IdGenerator;

/// What traces and spans of one provider share.
pub(crate) struct Shared {
    pub(crate) processors: ProcessorSet,
    pub(crate) ids: Box<dyn IdGenerator>,
    pub(crate) clock: Box<dyn Clock>,
    /// The trace ids started through this provider (a resumed run reattaches to those).
    pub(crate) started_traces: StartedTraces,
    disabled: AtomicBool,
    /// Python logs a created span's data (`Creating span <…SpanData object at 0x…> with id
    /// None`) when neither `OPENAI_AGENTS_DONT_LOG_*` switch is set.
    pub(crate) logs_span_data: bool,
}

impl Shared {
    pub(crate) fn new(
        processors: ProcessorSet,
        ids: Box<dyn IdGenerator>,
        clock: Box<dyn Clock>,
        disabled: bool,
        logs_span_data: bool,
    ) -> Self {
        Self {
            processors,
            ids,
            clock,
            started_traces: StartedTraces::default(),
            disabled: AtomicBool::new(disabled),
            logs_span_data,
        }
    }

    /// Whether tracing is disabled for what is created from now on.
    pub(crate) fn is_disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }

    pub(crate) fn set_disabled(&self, disabled: bool) {
        self.disabled.store(disabled, Ordering::Relaxed);
    }
}

/// How many ids are remembered (Python's `_MAX_STARTED_TRACE_IDS`).
pub(crate) const MAX_STARTED_TRACE_IDS: usize = 4096;

/// Started trace ids, least recently started first.
#[derive(Debug, Default)]
pub(crate) struct StartedTraces {
    ids: Mutex<IndexSet<String>>,
}

impl StartedTraces {
    /// Records `id` as started (again), forgetting the oldest beyond the limit.
    pub(crate) fn mark(&self, id: &str) {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        // Moved to the end when already known, as `OrderedDict.move_to_end`.
        ids.shift_remove(id);
        ids.insert(id.to_owned());
        while ids.len() > MAX_STARTED_TRACE_IDS {
            ids.shift_remove_index(0);
        }
    }

    /// Whether `id` was started and is still remembered.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_most_recent_4096() {
        let started = StartedTraces::default();
        for i in 0..=MAX_STARTED_TRACE_IDS {
            started.mark(&format!("trace_{i}"));
        }
        assert!(!started.contains("trace_0"));
        assert!(started.contains("trace_1"));
        // Marking again makes an id the most recent: it outlives ids started after it.
        started.mark("trace_1");
        started.mark("trace_new");
        assert!(started.contains("trace_1"));
        assert!(!started.contains("trace_2"));
    }
}
