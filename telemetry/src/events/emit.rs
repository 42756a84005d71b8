//! Emitting events: [`Events`] (where they go and what they carry) and [`EventTimer`] (a
//! started event, ended by `stop` or `exception` with the same span token and its duration).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use tracing::Level;

use super::metrics::EventMetrics;
use super::model::{EVENT_TARGET, EventFields, Namespace, Originator, Phase, event_name};
use super::throttle::{ThrottleCounts, ThrottlePolicy, Throttles, policies_from_env};
use crate::model::clock::Timestamp;
use crate::sdk::context::{current_span, current_trace};
use crate::sdk::provider::TraceProvider;

/// The process's originator: 0 unset (read `CODEX_ORIGINATOR` at first use), else 1 + index.
static DEFAULT_ORIGINATOR: AtomicU8 = AtomicU8::new(0);

/// Sets the originator of every event of this process that does not name its own (see
/// [`Events::with_originator`]).
///
/// ```
/// use codex_telemetry::events::{default_originator, set_default_originator, Originator};
///
/// set_default_originator(Originator::Cli);
/// assert_eq!(default_originator(), Originator::Cli);
/// # set_default_originator(Originator::Sdk);
/// ```
pub fn set_default_originator(originator: Originator) {
    let code = match originator {
        Originator::Sdk => 1,
        Originator::Cli => 2,
    };
    DEFAULT_ORIGINATOR.store(code, Ordering::Relaxed);
}

/// The process's originator: set by [`set_default_originator`], else `CODEX_ORIGINATOR`
/// (`sdk` or `cli`, read once), else `sdk`.
pub fn default_originator() -> Originator {
    match DEFAULT_ORIGINATOR.load(Ordering::Relaxed) {
        1 => Originator::Sdk,
        2 => Originator::Cli,
        _ => {
            let from_env = std::env::var("CODEX_ORIGINATOR")
                .ok()
                .and_then(|value| Originator::parse(&value))
                .unwrap_or(Originator::Sdk);
            // Another thread may have set it meanwhile: its setting wins.
            let code = if from_env == Originator::Cli { 2 } else { 1 };
            let _ =
                DEFAULT_ORIGINATOR.compare_exchange(0, code, Ordering::Relaxed, Ordering::Relaxed);
            match DEFAULT_ORIGINATOR.load(Ordering::Relaxed) {
                2 => Originator::Cli,
                _ => Originator::Sdk,
            }
        }
    }
}

/// Emits Codex lifecycle events as `tracing` events (target [`EVENT_TARGET`]) on the calling
/// thread, with the fields every event has: `event.name`, `event.timestamp` (the provider's
/// clock), `originator`, `span.token`, the current `trace.id` / `span.id`, and `thread.id`.
/// Cheap to clone. The lifecycle API emits through one; SDKs report attachment cleanup
/// through [`attachment_cleanup`](Events::attachment_cleanup).
///
/// # Examples
///
/// ```
/// use codex_telemetry::events::{EventFields, Events, Namespace};
/// use codex_telemetry::TraceProvider;
///
/// let events = Events::new(TraceProvider::new()).with_thread_id("thread_1");
/// let timer = events.start(Namespace::Tool, EventFields::new().call("lookup", "call_1"));
/// timer.stop(EventFields::new().outcome("success"));
/// ```
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

struct Inner {
    provider: TraceProvider,
    enabled: bool,
    originator: Option<Originator>,
    thread_id: Option<String>,
    /// Shared by the emitters derived from one another (`with_originator`, …); reports what
    /// is left when the last of them drops.
    throttles: Arc<SharedThrottles>,
    /// The instruments event ends are recorded in, when a meter was given.
    metrics: Option<Arc<EventMetrics>>,
}

impl Events {
    /// Events timed by `provider`'s clock, with span tokens from its id generator.
    ///
    /// Throttling policies come from `CODEX_EVENTS_THROTTLE` (`name=policy` pairs separated by
    /// `;`, policies as [`ThrottlePolicy::parse`] reads them), or from
    /// [`with_throttle`](Events::with_throttle).
    pub fn new(provider: TraceProvider) -> Self {
        let throttles = SharedThrottles {
            throttles: Throttles::default(),
            provider: Some(provider.clone()),
        };
        for (name, policy) in policies_from_env() {
            throttles.throttles.set(&name, policy);
        }
        Self {
            inner: Arc::new(Inner {
                provider,
                enabled: true,
                originator: None,
                thread_id: None,
                throttles: Arc::new(throttles),
                metrics: None,
            }),
        }
    }

    /// Emits nothing.
    pub fn disabled() -> Self {
        Self {
            inner: Arc::new(Inner {
                provider: TraceProvider::new(),
                enabled: false,
                originator: None,
                thread_id: None,
                throttles: Arc::new(SharedThrottles::quiet()),
                metrics: None,
            }),
        }
    }

    /// The same events, with `originator` instead of the process's default.
    pub fn with_originator(&self, originator: Originator) -> Self {
        self.with(|inner| inner.originator = Some(originator))
    }

    /// The same events, for the thread (conversation, session) `thread_id`.
    pub fn with_thread_id(&self, thread_id: impl Into<String>) -> Self {
        let thread_id = thread_id.into();
        self.with(|inner| inner.thread_id = Some(thread_id))
    }

    fn with(&self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner {
            provider: self.inner.provider.clone(),
            enabled: self.inner.enabled,
            originator: self.inner.originator,
            thread_id: self.inner.thread_id.clone(),
            throttles: self.inner.throttles.clone(),
            metrics: self.inner.metrics.clone(),
        };
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Throttles events named `name` (for instance `codex.stream.delta`) by `policy`, for this
    /// emitter and those derived from it.
    ///
    /// ```
    /// use codex_telemetry::events::{EventFields, Events, ThrottlePolicy};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let events = Events::new(TraceProvider::new()).with_throttle("codex.stream.delta", ThrottlePolicy::Sample { n: 100 });
    /// for _ in 0..1_000 {
    ///     events.stream_delta(EventFields::new());
    /// }
    /// let counts = events.throttle_counts("codex.stream.delta");
    /// assert_eq!((counts.offered, counts.delivered, counts.dropped), (1_000, 10, 990));
    /// ```
    pub fn with_throttle(self, name: &str, policy: ThrottlePolicy) -> Self {
        self.inner.throttles.throttles.set(name, policy);
        self
    }

    /// Records the end of every timed event (its count and duration, see
    /// [`crate::events`]'s metrics table in `docs/telemetry-events.md`) through `meter`'s
    /// instruments, whether or not a `tracing` subscriber wants the events.
    ///
    /// ```
    /// use codex_telemetry::events::Events;
    /// use codex_telemetry::TraceProvider;
    ///
    /// // The application's meter provider (here the global one: a no-op until one is set).
    /// let meter = opentelemetry::global::meter("codex-telemetry");
    /// let _events = Events::new(TraceProvider::new()).with_meter(&meter);
    /// ```
    #[cfg(feature = "metrics")]
    pub fn with_meter(&self, meter: &opentelemetry::metrics::Meter) -> Self {
        let metrics = Arc::new(EventMetrics::new(meter));
        self.with(|inner| inner.metrics = Some(metrics))
    }

    /// Whether ends are timed: events go somewhere, or metrics are recorded.
    pub(crate) fn is_recording(&self) -> bool {
        self.inner.enabled && (self.inner.metrics.is_some() || self.is_enabled())
    }

    /// How many events named `name` were offered, delivered and dropped by its throttle.
    pub fn throttle_counts(&self, name: &str) -> ThrottleCounts {
        self.inner.throttles.throttles.counts(name)
    }

    /// `codex.stream.delta`: one piece of a streamed response (a high-volume event, to
    /// throttle). Offered events are counted even when no subscriber wants them.
    pub fn stream_delta(&self, fields: EventFields) {
        self.point("codex.stream.delta", fields);
    }

    /// A point event `name` (no start or end) through its throttle.
    fn point(&self, name: &'static str, fields: EventFields) {
        if !self.inner.enabled {
            return;
        }
        if !self.inner.throttles.throttles.is_empty() {
            let now = self.inner.provider.clock().monotonic();
            if !self.inner.throttles.throttles.admit(name, now) {
                if let Some(metrics) = &self.inner.metrics {
                    metrics.record_dropped(name, self.originator());
                }
                return;
            }
        }
        self.emit_named(name, Level::INFO, None, None, &fields);
    }

    /// Emits `codex.telemetry.dropped` for each event name with drops since the last report
    /// (`dropped.kind`, `dropped.count`). Also done when the last emitter sharing the
    /// throttles drops.
    pub fn report_dropped(&self) {
        report(self, self.inner.throttles.throttles.take_unreported());
    }

    /// The originator events carry.
    pub fn originator(&self) -> Originator {
        self.inner.originator.unwrap_or_else(default_originator)
    }

    /// The thread id events carry, if any.
    pub fn thread_id(&self) -> Option<&str> {
        self.inner.thread_id.as_deref()
    }

    /// Whether an event would go anywhere: enabled, and a subscriber wants the target.
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled && tracing::enabled!(target: EVENT_TARGET, Level::INFO)
    }

    /// Emits `codex.<namespace>.start` with `fields` and returns the timer that ends it.
    /// When nothing would receive the event, nothing is emitted, now or at its end.
    pub fn start(&self, namespace: Namespace, fields: EventFields) -> EventTimer {
        if !self.is_recording() {
            return EventTimer::inert(namespace);
        }
        // A token only for events that go out: metrics alone need none.
        let token = if self.is_enabled() {
            self.new_token()
        } else {
            String::new()
        };
        self.emit(namespace, Phase::Start, &token, None, &fields);
        EventTimer {
            events: Some(self.clone()),
            namespace,
            token,
            started: self.inner.provider.clock().monotonic(),
            base: fields,
        }
    }

    /// `codex.attachment_cleanup.start` for `attachment` (a file, a server connection, a
    /// sandbox): end the timer when the cleanup is done or failed.
    ///
    /// ```
    /// use codex_telemetry::events::{EventFields, Events};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let cleanup = Events::new(TraceProvider::new()).attachment_cleanup("mcp:files");
    /// cleanup.exception("TimeoutError", "the server did not exit", EventFields::new());
    /// ```
    pub fn attachment_cleanup(&self, attachment: impl Into<String>) -> EventTimer {
        let fields = EventFields {
            attachment: Some(attachment.into()),
            ..EventFields::default()
        };
        self.start(Namespace::AttachmentCleanup, fields)
    }

    /// A new thread id (`thread_` and 32 hex digits from the provider's id generator).
    pub(crate) fn new_thread_id(&self) -> String {
        let trace_id = self.inner.provider.new_trace_id();
        format!(
            "thread_{}",
            trace_id.strip_prefix("trace_").unwrap_or(&trace_id)
        )
    }

    /// A new span token (`tok_` and 24 hex digits from the provider's id generator).
    pub(crate) fn new_token(&self) -> String {
        let span_id = self.inner.provider.new_span_id();
        format!("tok_{}", span_id.strip_prefix("span_").unwrap_or(&span_id))
    }

    /// The provider's wall clock now.
    pub(crate) fn now(&self) -> Timestamp {
        self.inner.provider.clock().now()
    }

    /// Emits one event, with the fields every event has.
    pub(crate) fn emit(
        &self,
        namespace: Namespace,
        phase: Phase,
        token: &str,
        duration: Option<Duration>,
        fields: &EventFields,
    ) {
        if let (Some(metrics), Some(duration), Phase::Stop | Phase::Exception) =
            (&self.inner.metrics, duration, phase)
        {
            metrics.record_end(namespace, phase, duration, fields, self.originator());
        }
        let level = match phase {
            Phase::Exception => Level::WARN,
            Phase::Start | Phase::Stop => Level::INFO,
        };
        self.emit_named(
            event_name(namespace, phase),
            level,
            Some(token),
            duration,
            fields,
        );
    }

    /// Emits one event named `name`, with the fields every event has.
    fn emit_named(
        &self,
        name: &str,
        level: Level,
        token: Option<&str>,
        duration: Option<Duration>,
        fields: &EventFields,
    ) {
        if !self.is_enabled() {
            return;
        }
        let timestamp = self.now().to_isoformat();
        let trace_id = current_trace()
            .filter(|t| !t.is_noop())
            .map(|t| t.id().to_owned());
        let span_id = current_span()
            .filter(|s| !s.is_noop())
            .map(|s| s.id().to_owned());
        let duration_ms = duration.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        // Names, ids and messages may quote user data: scrubbed before they leave.
        fn scrub(text: &Option<String>) -> Option<std::borrow::Cow<'_, str>> {
            text.as_deref().map(crate::model::scrub::scrub_str)
        }
        let (agent, workflow, tool) = (
            scrub(&fields.agent),
            scrub(&fields.workflow),
            scrub(&fields.tool),
        );
        let (call_id, attachment) = (scrub(&fields.call_id), scrub(&fields.attachment));
        let (error_type, error_message) = (scrub(&fields.error_type), scrub(&fields.error_message));
        let thread_id = scrub(&self.inner.thread_id);
        let dropped_kind = scrub(&fields.dropped_kind);
        macro_rules! event {
            ($level:expr) => {
                tracing::event!(
                    target: EVENT_TARGET,
                    $level,
                    event.name = name,
                    event.timestamp = timestamp.as_str(),
                    originator = self.originator().as_str(),
                    span.token = token,
                    trace.id = trace_id.as_deref(),
                    span.id = span_id.as_deref(),
                    thread.id = thread_id.as_deref(),
                    duration_ms = duration_ms,
                    agent.name = agent.as_deref(),
                    workflow.name = workflow.as_deref(),
                    streamed = fields.streamed,
                    resumed = fields.resumed,
                    turn.number = fields.turn,
                    tool.name = tool.as_deref(),
                    tool.kind = fields.tool_kind,
                    call.id = call_id.as_deref(),
                    outcome = fields.outcome,
                    next_step = fields.next_step,
                    decision = fields.decision,
                    attachment = attachment.as_deref(),
                    error.r#type = error_type.as_deref(),
                    error.message = error_message.as_deref(),
                    dropped.kind = dropped_kind.as_deref(),
                    dropped.count = fields.dropped_count,
                )
            };
        }
        if level == Level::WARN {
            event!(Level::WARN)
        } else {
            event!(Level::INFO)
        }
    }
}

/// `codex.telemetry.dropped` through `events`, one per event name.
fn report(events: &Events, unreported: Vec<(String, u64)>) {
    for (kind, count) in unreported {
        let fields = EventFields {
            dropped_kind: Some(kind),
            dropped_count: Some(count),
            ..EventFields::default()
        };
        events.emit_named("codex.telemetry.dropped", Level::WARN, None, None, &fields);
    }
}

/// The throttles shared by emitters derived from one another, and the provider their final
/// report goes through. Dropped once, with the last emitter: then it reports what was dropped
/// and not reported yet.
struct SharedThrottles {
    throttles: Throttles,
    /// `None` for an emitter that emits nothing.
    provider: Option<TraceProvider>,
}

impl SharedThrottles {
    fn quiet() -> Self {
        Self {
            throttles: Throttles::default(),
            provider: None,
        }
    }
}

impl Drop for SharedThrottles {
    fn drop(&mut self) {
        let unreported = self.throttles.take_unreported();
        let Some(provider) = self.provider.take() else {
            return;
        };
        if unreported.is_empty() {
            return;
        }
        let events = Events {
            inner: Arc::new(Inner {
                provider,
                enabled: true,
                originator: None,
                thread_id: None,
                throttles: Arc::new(SharedThrottles::quiet()),
                metrics: None,
            }),
        };
        report(&events, unreported);
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("enabled", &self.inner.enabled)
            .field("originator", &self.inner.originator)
            .field("thread_id", &self.inner.thread_id)
            .finish_non_exhaustive()
    }
}

/// A started event: [`stop`](EventTimer::stop) or [`exception`](EventTimer::exception) emits
/// its end with the same `span.token`, `duration_ms` (the provider's monotonic clock since the
/// start) and the start's fields, overlaid with the end's. Dropped without either, it emits
/// `exception` with `error.type` `dropped`.
#[must_use = "an event timer emits its end when stopped (or `exception` when dropped)"]
pub struct EventTimer {
    events: Option<Events>,
    namespace: Namespace,
    token: String,
    started: Duration,
    base: EventFields,
}

impl EventTimer {
    fn inert(namespace: Namespace) -> Self {
        Self {
            events: None,
            namespace,
            token: String::new(),
            started: Duration::ZERO,
            base: EventFields::default(),
        }
    }

    /// The span token tying the start to its end (empty when nothing was emitted).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Ends the timer without emitting its end, for an event whose end comes from elsewhere
    /// (another run, another process): its token, when it was emitted.
    pub(crate) fn into_token(mut self) -> Option<String> {
        // A timer of metrics alone has no token: nothing was emitted to pair with.
        self.events
            .take()
            .map(|_| std::mem::take(&mut self.token))
            .filter(|token| !token.is_empty())
    }

    /// Emits `codex.<namespace>.stop`.
    pub fn stop(mut self, fields: EventFields) {
        self.end(Phase::Stop, fields);
    }

    /// Emits `codex.<namespace>.exception` with `error.type` and `error.message`.
    pub fn exception(
        mut self,
        error_type: impl Into<String>,
        error_message: impl Into<String>,
        fields: EventFields,
    ) {
        self.end(Phase::Exception, fields.error(error_type, error_message));
    }

    fn end(&mut self, phase: Phase, fields: EventFields) {
        let Some(events) = self.events.take() else {
            return;
        };
        let duration = events
            .inner
            .provider
            .clock()
            .monotonic()
            .saturating_sub(self.started);
        let fields = overlay(std::mem::take(&mut self.base), fields);
        events.emit(self.namespace, phase, &self.token, Some(duration), &fields);
    }
}

impl Drop for EventTimer {
    fn drop(&mut self) {
        if self.events.is_some() {
            self.end(
                Phase::Exception,
                EventFields::new().error("dropped", "the event ended without stop or exception"),
            );
        }
    }
}

impl fmt::Debug for EventTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventTimer")
            .field("namespace", &self.namespace)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// `base` with every field `end` sets replaced.
fn overlay(base: EventFields, end: EventFields) -> EventFields {
    EventFields {
        agent: end.agent.or(base.agent),
        workflow: end.workflow.or(base.workflow),
        streamed: end.streamed.or(base.streamed),
        resumed: end.resumed.or(base.resumed),
        turn: end.turn.or(base.turn),
        tool: end.tool.or(base.tool),
        tool_kind: end.tool_kind.or(base.tool_kind),
        call_id: end.call_id.or(base.call_id),
        outcome: end.outcome.or(base.outcome),
        next_step: end.next_step.or(base.next_step),
        decision: end.decision.or(base.decision),
        attachment: end.attachment.or(base.attachment),
        error_type: end.error_type.or(base.error_type),
        error_message: end.error_message.or(base.error_message),
        dropped_kind: end.dropped_kind.or(base.dropped_kind),
        dropped_count: end.dropped_count.or(base.dropped_count),
    }
}
