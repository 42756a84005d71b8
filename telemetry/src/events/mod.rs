//! Codex lifecycle events: what downstream monitoring uses to track latency and failure
//! modes of agent runs without instrumenting them by hand. An extension of this crate: the
//! Python client has no such events, and they never appear in its export format.
//!
//! Each event is a `tracing` event with target [`EVENT_TARGET`] (`codex.events`), named
//! `codex.<namespace>.<phase>` in its `event.name` field, as Codex's own Rust telemetry names
//! its events. Namespaces: thread (a run), turn, tool (a call), approval (a call waiting for a
//! decision) and attachment cleanup; phases: `start`, then `stop` or `exception`. Every event
//! carries `event.timestamp`, `originator` (`sdk` or `cli`), a `span.token` that ties the end
//! to its start, the current `trace.id` / `span.id`, and `thread.id`; ends carry
//! `duration_ms` from the clock's monotonic reading. The fields of each event are listed in
//! `docs/telemetry-events.md`.
//!
//! The lifecycle API (module `lifecycle`) emits them on its own; [`Events`] emits them for an
//! SDK's other work (attachment cleanup). They are emitted on the calling thread in order, and
//! cost a callsite check when no subscriber enables the target.
//!
//! ```
//! use codex_telemetry::events::{EventFields, Events, Namespace, Originator};
//! use codex_telemetry::TraceProvider;
//!
//! let events = Events::new(TraceProvider::new())
//!     .with_originator(Originator::Cli)
//!     .with_thread_id("thread_42");
//! let turn = events.start(Namespace::Turn, EventFields::new().agent("triage"));
//! turn.stop(EventFields::new());
//! ```

mod emit;
#[cfg(feature = "metrics")]
mod metrics;
/// Without the `metrics` feature no meter can be given: nothing is ever recorded.
#[cfg(not(feature = "metrics"))]
mod metrics {
    use std::time::Duration;

    use super::model::{EventFields, Namespace, Originator, Phase};

    pub(crate) enum EventMetrics {}

    impl EventMetrics {
        pub(crate) fn record_end(
            &self,
            _: Namespace,
            _: Phase,
            _: Duration,
            _: &EventFields,
            _: Originator,
        ) {
            match *self {}
        }

        pub(crate) fn record_dropped(&self, _: &str, _: Originator) {
            match *self {}
        }
    }
}
mod model;
mod throttle;

pub use emit::{EventTimer, Events, default_originator, set_default_originator};
pub use model::{EVENT_TARGET, EventFields, Namespace, Originator, Phase, event_name};
pub use throttle::{ThrottleCounts, ThrottlePolicy};
