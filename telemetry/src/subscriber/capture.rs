//! Capturing telemetry in tests: the Codex events and `openai.agents` log lines emitted on
//! this thread inside a scope, and the spans of a provider, with assertions on their
//! sequence and payloads.
//!
//! ```
//! use codex_telemetry::config::EnvConfig;
//! use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
//! use codex_telemetry::testing::Capture;
//!
//! let capture = Capture::new();
//! let runner = Runner::new(capture.provider(), EnvConfig::default());
//! capture.run(|| {
//!     let mut run = runner.start_run(RunOptions::new());
//!     run.start_agent(&AgentInfo::new("assistant"));
//!     run.start_turn().unwrap().end();
//!     run.finish(Ok(serde_json::json!("done"))).unwrap();
//! });
//! capture.assert_event_names(&["codex.thread.start", "codex.turn.start", "codex.turn.stop", "codex.thread.stop"]);
//! let stop = &capture.events()[3];
//! assert_eq!(stop.field("outcome"), Some(&serde_json::json!("completed")));
//! assert_eq!(stop.field("duration_ms"), Some(&serde_json::json!(0)));
//! assert!(capture.logs().iter().any(|log| log.message() == Some("Running agent assistant (turn 1)")));
//! assert_eq!(capture.spans().len(), 8);
//! ```
//!
//! Only what is emitted on the thread that calls [`Capture::run`] is captured (events and log
//! lines are emitted on the calling thread; the lifecycle API's calls are). Spans are
//! captured from the [`provider`](Capture::provider) whatever thread ends them.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::LOG_TARGET;
use crate::events::EVENT_TARGET;
use crate::model::clock::{ManualClock, Timestamp};
use crate::model::ids::SequentialIdGenerator;
use crate::model::span_data::JsonMap;
use crate::processors::memory::{InMemoryProcessor, RecordedEvent};
use crate::sdk::log::JsonFields;
use crate::sdk::provider::TraceProvider;

/// One captured `tracing` event: its target, level and fields (as JSON values).
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedEvent {
    /// The `tracing` target (`codex.events`, `openai.agents`, …).
    pub target: String,
    /// The level.
    pub level: Level,
    /// The fields by name; a log line's text is `message`.
    pub fields: JsonMap,
}

impl CapturedEvent {
    /// A field's value.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// `event.name` of a Codex event.
    pub fn name(&self) -> Option<&str> {
        self.fields.get("event.name").and_then(Value::as_str)
    }

    /// The text of a log line.
    pub fn message(&self) -> Option<&str> {
        self.fields.get("message").and_then(Value::as_str)
    }
}

/// What a scope emitted: see the module docs.
#[derive(Clone)]
pub struct Capture {
    events: Arc<Mutex<Vec<CapturedEvent>>>,
    memory: InMemoryProcessor,
    clock: ManualClock,
}

impl Default for Capture {
    fn default() -> Self {
        Self::new()
    }
}

impl Capture {
    /// An empty capture; its provider's clock stands still at the Unix epoch until
    /// [`advance`](Capture::advance)d.
    pub fn new() -> Self {
        Self {
            events: Arc::new(Mutex::new(Vec::new())),
            memory: InMemoryProcessor::new(),
            clock: ManualClock::new(Timestamp::from_unix(0, 0).expect("the epoch is in range")),
        }
    }

    /// A provider whose spans this capture records, with sequential ids and the capture's
    /// manual clock (so timestamps and durations are deterministic).
    pub fn provider(&self) -> TraceProvider {
        TraceProvider::builder()
            .with_processor(self.memory.clone())
            .with_id_generator(SequentialIdGenerator::new())
            .with_clock(self.clock.clone())
            .build()
    }

    /// Moves the provider's clock forward (durations of events started before grow by `by`).
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Runs `scope` with this capture as the thread's `tracing` subscriber.
    pub fn run<R>(&self, scope: impl FnOnce() -> R) -> R {
        tracing::subscriber::with_default(
            CaptureSubscriber {
                events: self.events.clone(),
            },
            scope,
        )
    }

    /// Every captured event, in emission order.
    pub fn all(&self) -> Vec<CapturedEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The Codex events, in emission order.
    pub fn events(&self) -> Vec<CapturedEvent> {
        self.with_target(EVENT_TARGET)
    }

    /// The `openai.agents` log lines, in emission order.
    pub fn logs(&self) -> Vec<CapturedEvent> {
        self.with_target(LOG_TARGET)
    }

    /// The provider's trace and span events, in order.
    pub fn spans(&self) -> Vec<RecordedEvent> {
        self.memory.events()
    }

    fn with_target(&self, target: &str) -> Vec<CapturedEvent> {
        self.all()
            .into_iter()
            .filter(|event| event.target == target)
            .collect()
    }

    /// Asserts the Codex events' names, in order.
    ///
    /// # Panics
    ///
    /// When they differ, showing both lists.
    #[track_caller]
    pub fn assert_event_names(&self, expected: &[&str]) {
        let events = self.events();
        let names: Vec<&str> = events.iter().filter_map(CapturedEvent::name).collect();
        assert_eq!(names, expected, "Codex event names differ");
    }

    /// Asserts that every `stop` / `exception` event has exactly one earlier `start` of the
    /// same namespace with its `span.token`, and every start one end.
    ///
    /// # Panics
    ///
    /// Naming the first event that breaks the rule.
    #[track_caller]
    pub fn assert_events_paired(&self) {
        let mut open: Vec<(String, String)> = Vec::new();
        for event in self.events() {
            let (Some(name), Some(token)) = (
                event.name(),
                event.field("span.token").and_then(Value::as_str),
            ) else {
                panic!("a Codex event without event.name or span.token: {event:?}");
            };
            let (namespace, phase) = name.rsplit_once('.').unwrap_or((name, ""));
            if phase == "start" {
                open.push((namespace.to_owned(), token.to_owned()));
                continue;
            }
            let position = open.iter().position(|(n, t)| n == namespace && t == token);
            let Some(position) = position else {
                panic!("{name} with span.token {token} has no open start");
            };
            open.remove(position);
        }
        assert!(open.is_empty(), "started but never ended: {open:?}");
    }
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capture")
            .field("events", &self.all().len())
            .field("spans", &self.memory.events().len())
            .finish()
    }
}

/// A `tracing` subscriber that keeps every event; it has no spans of its own (the crate's
/// spans are its own, not `tracing` spans).
struct CaptureSubscriber {
    events: Arc<Mutex<Vec<CapturedEvent>>>,
}

impl Subscriber for CaptureSubscriber {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(CapturedEvent {
                target: metadata.target().to_owned(),
                level: *metadata.level(),
                fields: fields.into_map(),
            });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
