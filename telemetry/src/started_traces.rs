//! The trace ids a provider has started: Python's `_started_trace_ids` (an LRU of 4096 ids
//! per process), which decides whether a run resumed from a `RunState` reattaches to its
//! trace (no second `trace_start`/`trace_end`) or starts a new trace with the saved id.

use std::sync::{Mutex, PoisonError};

use indexmap::IndexSet;

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
