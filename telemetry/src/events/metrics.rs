//! Metrics of the timed Codex events, through the `opentelemetry` metrics API: a counter and
//! a duration histogram per namespace, recorded when an event ends, tagged by what it was and
//! how it ended. Exported by whatever `MeterProvider` the application installs (an OTLP
//! exporter, a Prometheus one; an in-memory reader in tests).
//!
//! | instrument | kind | attributes |
//! |---|---|---|
//! | `codex.thread.run`, `codex.thread.duration_ms` | counter, histogram (ms) | `outcome`, `originator` |
//! | `codex.turn`, `codex.turn.duration_ms` | counter, histogram (ms) | `agent`, `outcome` (the next step, or `error`), `originator` |
//! | `codex.tool.call`, `codex.tool.call.duration_ms` | counter, histogram (ms) | `tool`, `outcome`, `originator` |
//! | `codex.approval`, `codex.approval.duration_ms` | counter, histogram (ms) | `tool`, `outcome` (the decision), `originator` |
//! | `codex.attachment_cleanup`, `codex.attachment_cleanup.duration_ms` | counter, histogram (ms) | `outcome`, `originator` |
//! | `codex.telemetry.dropped` | counter | `kind` (the event name), `originator` |
//!
//! An exception's `outcome` is `error` and it adds `error.type`.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};

use super::model::{EventFields, Namespace, Originator, Phase};

/// A counter and a duration histogram.
struct Timed {
    count: Counter<u64>,
    duration: Histogram<f64>,
}

impl Timed {
    fn new(
        meter: &Meter,
        name: &'static str,
        duration_name: &'static str,
        what: &'static str,
    ) -> Self {
        Self {
            count: meter
                .u64_counter(name)
                .with_description(format!("{what} that ended"))
                .build(),
            duration: meter
                .f64_histogram(duration_name)
                .with_unit("ms")
                .with_description(format!("How long {what} took"))
                .build(),
        }
    }
}

/// The instruments of one emitter.
pub(crate) struct EventMetrics {
    thread: Timed,
    turn: Timed,
    tool: Timed,
    approval: Timed,
    cleanup: Timed,
    dropped: Counter<u64>,
}

impl EventMetrics {
    pub(crate) fn new(meter: &Meter) -> Self {
        Self {
            thread: Timed::new(
                meter,
                "codex.thread.run",
                "codex.thread.duration_ms",
                "runs",
            ),
            turn: Timed::new(meter, "codex.turn", "codex.turn.duration_ms", "turns"),
            tool: Timed::new(
                meter,
                "codex.tool.call",
                "codex.tool.call.duration_ms",
                "tool calls",
            ),
            approval: Timed::new(
                meter,
                "codex.approval",
                "codex.approval.duration_ms",
                "waits for approval",
            ),
            cleanup: Timed::new(
                meter,
                "codex.attachment_cleanup",
                "codex.attachment_cleanup.duration_ms",
                "attachment cleanups",
            ),
            dropped: meter
                .u64_counter("codex.telemetry.dropped")
                .with_description("High-volume events dropped by their throttle")
                .build(),
        }
    }

    /// Records the end of an event of `namespace`.
    pub(crate) fn record_end(
        &self,
        namespace: Namespace,
        phase: Phase,
        duration: Duration,
        fields: &EventFields,
        originator: Originator,
    ) {
        let mut attributes = vec![KeyValue::new("originator", originator.as_str())];
        let outcome = match phase {
            Phase::Exception => {
                if let Some(kind) = &fields.error_type {
                    attributes.push(KeyValue::new("error.type", kind.clone()));
                }
                "error"
            }
            Phase::Start | Phase::Stop => fields
                .outcome
                .or(fields.next_step)
                .or(fields.decision)
                .unwrap_or("ok"),
        };
        attributes.push(KeyValue::new("outcome", outcome));
        let timed = match namespace {
            Namespace::Thread => &self.thread,
            Namespace::Turn => {
                if let Some(agent) = &fields.agent {
                    attributes.push(KeyValue::new("agent", agent.clone()));
                }
                &self.turn
            }
            Namespace::Tool | Namespace::Approval => {
                if let Some(tool) = &fields.tool {
                    attributes.push(KeyValue::new("tool", tool.clone()));
                }
                if namespace == Namespace::Tool {
                    &self.tool
                } else {
                    &self.approval
                }
            }
            Namespace::AttachmentCleanup => &self.cleanup,
        };
        timed.count.add(1, &attributes);
        timed
            .duration
            .record(duration.as_secs_f64() * 1000.0, &attributes);
    }

    /// Counts one event named `kind` dropped by its throttle.
    pub(crate) fn record_dropped(&self, kind: &str, originator: Originator) {
        self.dropped.add(
            1,
            &[
                KeyValue::new("kind", kind.to_owned()),
                KeyValue::new("originator", originator.as_str()),
            ],
        );
    }
}
