//! Spans: timed, mutable operations inside a trace.
//!
//! A span is created by [`TraceProvider::span`](crate::TraceProvider::span) (parent: the
//! current span, else the current trace) or
//! [`create_span`](crate::TraceProvider::create_span) (explicit parent, id or
//! disabling). It is not started automatically: call [`Span::start`] and
//! [`Span::finish`], or [`Span::start_as_current`], Python's `with span:`, which also makes
//! it the current span until the guard drops.
//!
//! Between start and end a span stays mutable, as in Python, and the `span_start` and
//! `span_end` exports differ accordingly: set data with [`TypedSpan::update`] and errors
//! with [`Span::set_error`] before finishing.
//!
//! * `started_at` is read from the provider's clock right before `on_span_start`,
//!   `ended_at` right before `on_span_end`.
//! * A second `start` logs WARNING `Span already started` and a second `finish` logs
//!   WARNING `Span already finished` (target `openai.agents`); neither emits an event.
//!
//! ```
//! use codex_telemetry::{FunctionSpanData, InMemoryProcessor, SpanError, TraceProvider};
//! use serde_json::json;
//!
//! let memory = InMemoryProcessor::new();
//! let provider = TraceProvider::builder().with_processor(memory.clone()).build();
//! let _trace = provider.trace("wf").start_as_current();
//! {
//!     let tool = provider.span(FunctionSpanData::new("get_weather"));
//!     let _entered = tool.start_as_current();
//!     tool.update(|f| f.input = Some(r#"{"city":"Paris"}"#.into()));
//!     tool.set_error(SpanError::new("Error running tool (non-fatal)"));
//! }
//! let end = &memory.events()[2].data;
//! assert_eq!(end["span_data"]["input"], json!(r#"{"city":"Paris"}"#));
//! assert_eq!(end["error"], json!({"message": "Error running tool (non-fatal)", "data": null}));
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use crate::model::clock::Timestamp;
use crate::model::export::SpanEnvelope;
use crate::model::pyrepr::python_object_repr;
use crate::model::span_data::{JsonMap, SpanData, SpanDataKind};
use crate::model::span_error::SpanError;
use crate::sdk::context::{self, ContextGuard};
use crate::sdk::log::agents_warn;
use crate::sdk::shared::Shared;
use crate::sdk::trace::{NO_OP_ID, Trace};

/// Where a span created by [`TraceProvider::create_span`](crate::TraceProvider::create_span)
/// hangs, under which id, and whether it records: Python's `parent`, `span_id` and
/// `disabled` arguments.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{CustomSpanData, SpanOptions, TraceProvider};
///
/// let provider = TraceProvider::new();
/// let trace = provider.trace("wf");
/// let span = provider.create_span(
///     CustomSpanData::new("x"),
///     SpanOptions::new().with_parent_trace(&trace).with_span_id("span_bbbbbbbbbbbbbbbbbbbbbbbb"),
/// );
/// assert_eq!((span.id(), span.trace_id(), span.parent_id()), ("span_bbbbbbbbbbbbbbbbbbbbbbbb", trace.id(), None));
/// ```
#[derive(Debug, Clone, Default)]
pub struct SpanOptions {
    pub(crate) parent: SpanParent,
    pub(crate) span_id: Option<String>,
    pub(crate) disabled: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) enum SpanParent {
    #[default]
    Current,
    Trace(Trace),
    Span(Span),
}

impl SpanOptions {
    /// Defaults: parent from the current context, generated id, recording.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, SpanOptions, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.create_span(CustomSpanData::new("x"), SpanOptions::new());
    /// assert!(span.id().starts_with("span_"));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Hangs the span directly under `trace` (`parent_id` null), whatever is current.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, SpanOptions, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let trace = provider.trace("wf"); // not current
    /// let span = provider.create_span(CustomSpanData::new("x"), SpanOptions::new().with_parent_trace(&trace));
    /// assert_eq!(span.trace_id(), trace.id());
    /// ```
    pub fn with_parent_trace(mut self, trace: &Trace) -> Self {
        self.parent = SpanParent::Trace(trace.clone());
        self
    }

    /// Hangs the span under `span`, in `span`'s trace, whatever is current.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, SpanOptions, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let trace = provider.trace("wf");
    /// let parent = provider.create_span(CustomSpanData::new("p"), SpanOptions::new().with_parent_trace(&trace));
    /// let child = provider.create_span(CustomSpanData::new("c"), SpanOptions::new().with_parent_span(&parent));
    /// assert_eq!(child.parent_id(), Some(parent.id()));
    /// ```
    pub fn with_parent_span(mut self, span: &Span) -> Self {
        self.parent = SpanParent::Span(span.clone());
        self
    }

    /// Uses `span_id` verbatim (not validated, as in Python). Exactly `"no-op"` yields a
    /// no-op span.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, SpanOptions, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.create_span(CustomSpanData::new("x"), SpanOptions::new().with_span_id("no-op"));
    /// assert!(span.is_noop());
    /// ```
    pub fn with_span_id(mut self, span_id: impl Into<String>) -> Self {
        self.span_id = Some(span_id.into());
        self
    }

    /// When `true`, the span is a no-op (Python's `disabled=True`). Made current, a no-op
    /// span masks its parent: spans created under it are no-ops too.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, SpanOptions, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let masked = provider.create_span(CustomSpanData::new("m"), SpanOptions::new().with_disabled(true));
    /// let _guard = masked.start_as_current();
    /// assert!(provider.span(CustomSpanData::new("child")).is_noop());
    /// ```
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }
}

/// A handle to a span, whatever its data type. Cloning is cheap and clones refer to the
/// same span. This is what processors receive and what [`current_span`](crate::current_span)
/// returns; [`TypedSpan`] adds typed access to the data.
///
/// A no-op span (disabled tracing, no active trace, a no-op parent) records nothing,
/// reports the ids `"no-op"`, exports `None` and ignores every mutation. It is a `None`
/// inside: making, starting, finishing or entering it allocates nothing and reads no
/// clock.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{CustomSpanData, Span, TraceProvider};
///
/// let provider = TraceProvider::new();
/// let _trace = provider.trace("wf").start_as_current();
/// let span: Span = provider.span(CustomSpanData::new("x")).into_span();
/// span.start();
/// assert!(span.started_at().is_some());
/// span.finish();
/// assert!(span.ended_at().is_some());
/// ```
#[derive(Clone, Default)]
pub struct Span {
    inner: Option<Arc<SpanInner>>,
}

pub(crate) struct SpanInner {
    id: String,
    pub(crate) trace_id: Arc<str>,
    parent_id: Option<String>,
    /// The metadata of the trace the span was created in; only its routing keys are
    /// exported (see [`crate::export`]).
    pub(crate) trace_metadata: Option<Arc<JsonMap>>,
    shared: Arc<Shared>,
    state: Mutex<SpanState>,
}

#[derive(Debug)]
struct SpanState {
    started_at: Option<Timestamp>,
    ended_at: Option<Timestamp>,
    data: SpanData,
    error: Option<SpanError>,
}

/// Where a new recording span hangs; resolved by the provider.
pub(crate) struct SpanPlacement {
    pub(crate) trace_id: Arc<str>,
    pub(crate) parent_id: Option<String>,
    pub(crate) trace_metadata: Option<Arc<JsonMap>>,
}

// === impl Span ===

/// # Constructors
impl Span {
    /// The no-op span (Python's `NoOpSpan`). Costs nothing.
    ///
    /// ```
    /// use codex_telemetry::Span;
    ///
    /// let span = Span::noop();
    /// span.start();
    /// assert!(span.is_noop());
    /// assert_eq!((span.id(), span.trace_id()), ("no-op", "no-op"));
    /// assert_eq!(span.export(), None);
    /// ```
    pub const fn noop() -> Self {
        Self { inner: None }
    }

    pub(crate) fn recording(
        shared: Arc<Shared>,
        id: String,
        placement: SpanPlacement,
        data: SpanData,
    ) -> Self {
        Self {
            inner: Some(Arc::new(SpanInner {
                id,
                trace_id: placement.trace_id,
                parent_id: placement.parent_id,
                trace_metadata: placement.trace_metadata,
                shared,
                state: Mutex::new(SpanState {
                    started_at: None,
                    ended_at: None,
                    data,
                    error: None,
                }),
            })),
        }
    }

    /// Where a child of this span hangs: in the span's trace, under the span. `None` for a
    /// no-op span.
    pub(crate) fn child_placement(&self) -> Option<SpanPlacement> {
        let inner = self.inner.as_ref().filter(|_| !self.is_noop())?;
        Some(SpanPlacement {
            trace_id: inner.trace_id.clone(),
            parent_id: Some(inner.id.clone()),
            trace_metadata: inner.trace_metadata.clone(),
        })
    }

    /// Python's repr of the span: its default repr, of a `NoOpSpan` or a `SpanImpl`.
    pub(crate) fn python_repr(&self) -> String {
        let class = if self.is_noop() {
            "NoOpSpan"
        } else {
            "SpanImpl"
        };
        python_object_repr("agents.tracing.spans", class, self)
    }
}

/// # Accessors
impl Span {
    /// Whether this is a no-op span (including a recording span whose span or trace id is
    /// literally `"no-op"`, which Python treats the same way).
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, TraceProvider};
    ///
    /// // No active trace: a no-op.
    /// assert!(TraceProvider::new().span(CustomSpanData::new("x")).is_noop());
    /// ```
    pub fn is_noop(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|inner| inner.id == NO_OP_ID || &*inner.trace_id == NO_OP_ID)
    }

    /// The span id (`"no-op"` for a no-op span).
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// assert_eq!(provider.span(CustomSpanData::new("x")).id().len(), "span_".len() + 24);
    /// ```
    pub fn id(&self) -> &str {
        self.inner.as_ref().map_or(NO_OP_ID, |inner| &inner.id)
    }

    /// The id of the span's trace (`"no-op"` for a no-op span).
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let trace = provider.trace("wf").start_as_current();
    /// assert_eq!(provider.span(CustomSpanData::new("x")).trace_id(), trace.trace().id());
    /// ```
    pub fn trace_id(&self) -> &str {
        self.inner
            .as_ref()
            .map_or(NO_OP_ID, |inner| &inner.trace_id)
    }

    /// The parent span's id; `None` when the parent is the trace itself.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let outer = provider.span(CustomSpanData::new("outer"));
    /// let _entered = outer.start_as_current();
    /// assert_eq!(outer.parent_id(), None);
    /// assert_eq!(provider.span(CustomSpanData::new("inner")).parent_id(), Some(outer.id()));
    /// ```
    pub fn parent_id(&self) -> Option<&str> {
        self.inner.as_ref()?.parent_id.as_deref()
    }

    /// When the span started, if it has.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(CustomSpanData::new("x"));
    /// assert_eq!(span.started_at(), None);
    /// span.start();
    /// assert!(span.started_at().is_some());
    /// ```
    pub fn started_at(&self) -> Option<Timestamp> {
        self.inner.as_ref()?.lock().started_at
    }

    /// When the span finished, if it has.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(CustomSpanData::new("x"));
    /// span.start();
    /// span.finish();
    /// assert!(span.ended_at() >= span.started_at());
    /// ```
    pub fn ended_at(&self) -> Option<Timestamp> {
        self.inner.as_ref()?.lock().ended_at
    }

    /// The error set on the span, if any.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, SpanError, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(CustomSpanData::new("x"));
    /// span.set_error(SpanError::new("boom"));
    /// assert_eq!(span.error().unwrap().message, "boom");
    /// ```
    pub fn error(&self) -> Option<SpanError> {
        self.inner.as_ref()?.lock().error.clone()
    }

    /// A copy of the span's data (`None` for a no-op span).
    ///
    /// ```
    /// use codex_telemetry::{GuardrailSpanData, SpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(GuardrailSpanData::new("g"));
    /// assert!(matches!(span.data(), Some(SpanData::Guardrail(g)) if !g.triggered));
    /// ```
    pub fn data(&self) -> Option<SpanData> {
        Some(self.inner.as_ref()?.lock().data.clone())
    }

    /// The export `{"object":"trace.span","id","trace_id","parent_id","started_at",
    /// "ended_at","span_data","error"[,"metadata"]}` as the span is now, or `None` for a
    /// no-op span. See [`crate::export`] for the format.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, TraceProvider};
    /// use serde_json::json;
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(CustomSpanData::new("x"));
    /// let exported = span.export().unwrap();
    /// assert_eq!(exported["object"], "trace.span");
    /// assert_eq!(exported["started_at"], json!(null));
    /// assert_eq!(exported["span_data"], json!({"type": "custom", "name": "x", "data": {}}));
    /// ```
    pub fn export(&self) -> Option<Value> {
        // Strings, timestamps and JSON maps always serialize.
        self.with_envelope(|envelope| serde_json::to_value(envelope).ok())
            .flatten()
            .map(crate::model::scrub::scrubbed_value)
    }

    /// Writes the export as JSON straight from the span's state, without building a
    /// [`Value`] first: the same bytes as `serde_json::to_writer(writer, &span.export())`, for
    /// processors that serialize every event. Returns `Ok(false)`, writing nothing, for a
    /// no-op span.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(CustomSpanData::new("x")).into_span();
    /// let mut bytes = Vec::new();
    /// assert!(span.write_export(&mut bytes)?);
    /// assert_eq!(bytes, serde_json::to_vec(&span.export())?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_export(&self, mut writer: impl std::io::Write) -> std::io::Result<bool> {
        self.with_envelope(|envelope| envelope.write_json(&mut writer))
            .map_or(Ok(false), |written| written.map(|()| true))
    }

    fn with_envelope<R>(&self, f: impl FnOnce(SpanEnvelope<'_>) -> R) -> Option<R> {
        let inner = self.inner.as_ref()?;
        let state = inner.lock();
        Some(f(SpanEnvelope {
            id: &inner.id,
            trace_id: &inner.trace_id,
            parent_id: inner.parent_id.as_deref(),
            started_at: state.started_at,
            ended_at: state.ended_at,
            span_data: &state.data,
            error: state.error.as_ref(),
            trace_metadata: inner.trace_metadata.as_deref(),
        }))
    }
}

/// # Mutation
impl Span {
    /// Sets (or replaces) the span's error. Does nothing on a no-op span.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, JsonMap, SpanError, TraceProvider};
    /// use serde_json::json;
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(CustomSpanData::new("x"));
    /// span.set_error(SpanError::new("m").with_data(JsonMap::from_iter([("x".to_string(), json!(1))])));
    /// assert_eq!(span.export().unwrap()["error"], json!({"message": "m", "data": {"x": 1}}));
    /// ```
    pub fn set_error(&self, error: SpanError) {
        if let Some(inner) = &self.inner {
            inner.lock().error = Some(error);
        }
    }

    /// Runs `f` on the span's data and returns its result, or returns `None` without
    /// running `f` on a no-op span. Prefer [`TypedSpan::update`], which hands out the
    /// concrete data type.
    ///
    /// `f` runs under the span's lock: it must not call back into the same span.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, SpanData, TraceProvider};
    /// use serde_json::json;
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(CustomSpanData::new("x")).into_span();
    /// span.update_data(|data| {
    ///     if let SpanData::Custom(custom) = data {
    ///         custom.data.insert("rows".into(), json!(3));
    ///     }
    /// });
    /// assert_eq!(span.export().unwrap()["span_data"]["data"]["rows"], json!(3));
    /// ```
    pub fn update_data<R>(&self, f: impl FnOnce(&mut SpanData) -> R) -> Option<R> {
        Some(f(&mut self.inner.as_ref()?.lock().data))
    }
}

/// # Lifecycle
impl Span {
    /// Starts the span: sets `started_at` and calls the processors' `on_span_start`. A
    /// second start logs WARNING `Span already started` and does nothing else. Does not
    /// make the span current.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
    /// let trace = provider.trace("wf");
    /// let span = provider.create_span(
    ///     CustomSpanData::new("x"),
    ///     codex_telemetry::SpanOptions::new().with_parent_trace(&trace),
    /// );
    /// span.start();
    /// span.start(); // WARNING "Span already started", no event
    /// assert_eq!(memory.events().len(), 1);
    /// ```
    pub fn start(&self) {
        self.start_for_current();
    }

    /// Finishes the span: sets `ended_at` and calls the processors' `on_span_end`. A
    /// second finish logs WARNING `Span already finished` and does nothing else.
    ///
    /// As in Python, finishing a span that never started still emits `span_end` (with a
    /// null `started_at`).
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, EventKind, InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(CustomSpanData::new("x"));
    /// span.start();
    /// span.finish();
    /// span.finish(); // WARNING "Span already finished", no event
    /// let kinds: Vec<_> = memory.events().iter().map(|e| e.kind).collect();
    /// assert_eq!(kinds, [EventKind::TraceStart, EventKind::SpanStart, EventKind::SpanEnd]);
    /// ```
    pub fn finish(&self) {
        let Some(inner) = &self.inner else { return };
        if !inner.mark(|state| &mut state.ended_at) {
            agents_warn!("Span already finished");
            return;
        }
        inner.shared.processors.on_span_end(self);
    }

    /// Starts the span and makes it the current span of this thread until the returned
    /// guard drops; dropping the guard finishes the span, then restores the previous
    /// current span (Python's `with span:`, so `on_span_end` still sees the span current).
    ///
    /// A span that was already started logs WARNING `Span already started` and is not made
    /// current; the guard still finishes it. A no-op span is made current, masking its
    /// parent.
    ///
    /// The guard cannot leave its thread. To carry the span into other threads or async
    /// tasks, see [`crate::context`].
    ///
    /// ```
    /// use codex_telemetry::{current_span, CustomSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(CustomSpanData::new("x"));
    /// {
    ///     let guard = span.start_as_current();
    ///     assert_eq!(current_span().unwrap().id(), span.id());
    ///     assert_eq!(guard.span().id(), span.id());
    /// }
    /// assert!(current_span().is_none());
    /// assert!(span.ended_at().is_some());
    /// ```
    pub fn start_as_current(&self) -> SpanGuard {
        let context = self
            .start_for_current()
            .then(|| context::enter_span(self.clone()));
        SpanGuard {
            span: self.clone(),
            context,
        }
    }

    /// What [`start_as_current`](Span::start_as_current) does before making the span
    /// current: starts it, or logs `Span already started`. Returns whether it is to be made
    /// current (a no-op span is, to mask its parent).
    pub(crate) fn start_for_current(&self) -> bool {
        if let Some(inner) = &self.inner {
            if !inner.mark(|state| &mut state.started_at) {
                agents_warn!("Span already started");
                return false;
            }
            inner.shared.processors.on_span_start(self);
        }
        true
    }
}

impl SpanInner {
    fn lock(&self) -> MutexGuard<'_, SpanState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the chosen timestamp to now unless it is already set; `true` if it was set.
    fn mark(&self, field: impl FnOnce(&mut SpanState) -> &mut Option<Timestamp>) -> bool {
        let mut state = self.lock();
        let slot = field(&mut state);
        if slot.is_some() {
            return false;
        }
        *slot = Some(self.shared.clock.now());
        true
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => f.write_str("Span(no-op)"),
            Some(inner) => f
                .debug_struct("Span")
                .field("id", &inner.id)
                .field("trace_id", &inner.trace_id)
                .field("parent_id", &inner.parent_id)
                .finish_non_exhaustive(),
        }
    }
}

/// A [`Span`] whose data is known to be a `D`: what
/// [`TraceProvider::span`](crate::TraceProvider::span) returns. Dereferences to
/// [`Span`] for everything else.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{HandoffSpanData, TraceProvider};
/// use serde_json::json;
///
/// let provider = TraceProvider::new();
/// let _trace = provider.trace("wf").start_as_current();
/// let handoff = provider.span(HandoffSpanData::new(Some("A".into()), None));
/// handoff.start();
/// handoff.update(|h| h.to_agent = Some("B".into()));
/// handoff.finish();
/// assert_eq!(handoff.export().unwrap()["span_data"]["to_agent"], json!("B"));
/// ```
pub struct TypedSpan<D> {
    span: Span,
    _data: PhantomData<fn() -> D>,
}

impl<D: SpanDataKind> TypedSpan<D> {
    pub(crate) fn new(span: Span) -> Self {
        Self {
            span,
            _data: PhantomData,
        }
    }

    /// Runs `f` on the span's data and returns its result, or returns `None` without
    /// running `f` on a no-op span (or if the data was replaced by another type through
    /// [`Span::update_data`]).
    ///
    /// `f` runs under the span's lock: it must not call back into the same span.
    ///
    /// ```
    /// use codex_telemetry::{AgentSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let agent = provider.span(AgentSpanData::new("A"));
    /// let count = agent.update(|a| {
    ///     a.tools = Some(vec!["get_weather".into()]);
    ///     a.tools.as_ref().map_or(0, Vec::len)
    /// });
    /// assert_eq!(count, Some(1));
    /// ```
    pub fn update<R>(&self, f: impl FnOnce(&mut D) -> R) -> Option<R> {
        self.span
            .update_data(|data| D::downcast_mut(data).map(f))
            .flatten()
    }

    /// The untyped handle.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, Span, TraceProvider};
    ///
    /// let span: Span = TraceProvider::new().span(CustomSpanData::new("x")).into_span();
    /// assert!(span.is_noop());
    /// ```
    pub fn into_span(self) -> Span {
        self.span
    }
}

impl<D> Deref for TypedSpan<D> {
    type Target = Span;

    fn deref(&self) -> &Span {
        &self.span
    }
}

impl<D> Clone for TypedSpan<D> {
    fn clone(&self) -> Self {
        Self {
            span: self.span.clone(),
            _data: PhantomData,
        }
    }
}

impl<D> fmt::Debug for TypedSpan<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.span.fmt(f)
    }
}

impl<D> From<TypedSpan<D>> for Span {
    fn from(span: TypedSpan<D>) -> Self {
        span.span
    }
}

/// Keeps a span current on this thread; finishes it when dropped.
///
/// Returned by [`Span::start_as_current`]. Guards may be dropped in any order: each
/// removes only its own entry from the thread's context stack (see [`crate::context`]).
///
/// # Examples
///
/// ```
/// use codex_telemetry::{CustomSpanData, TraceProvider};
///
/// let provider = TraceProvider::new();
/// let _trace = provider.trace("wf").start_as_current();
/// let guard = provider.span(CustomSpanData::new("x")).start_as_current();
/// let span = guard.span().clone();
/// drop(guard);
/// assert!(span.ended_at().is_some());
/// ```
///
/// A guard is an entry on this thread's context stack, so it is not `Send`: it cannot be
/// held across an `.await` in a spawned task or moved to another thread. Async code attaches
/// contexts to futures instead ([`InContextExt`](crate::context::InContextExt)), and the
/// lifecycle API's handles (module `lifecycle`) keep their spans without guards.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<codex_telemetry::SpanGuard>();
/// ```
#[must_use = "the span stops being current, and finishes, when the guard is dropped"]
#[derive(Debug)]
pub struct SpanGuard {
    span: Span,
    context: Option<ContextGuard>,
}

impl SpanGuard {
    /// The span this guard keeps current.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let guard = provider.span(CustomSpanData::new("x")).start_as_current();
    /// assert!(guard.span().started_at().is_some());
    /// ```
    pub fn span(&self) -> &Span {
        &self.span
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        self.span.finish();
        drop(self.context.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::clock::ManualClock;
    use crate::model::ids::SequentialIdGenerator;
    use crate::model::span_data::{AgentSpanData, CustomSpanData};
    use crate::processors::memory::InMemoryProcessor;
    use crate::sdk::context::current_span;
    use crate::sdk::processor::EventKind;
    use crate::sdk::provider::TraceProvider;
    use crate::sdk::trace::TraceOptions;
    use serde_json::json;
    use std::time::Duration;

    fn deterministic() -> (TraceProvider, InMemoryProcessor) {
        let memory = InMemoryProcessor::new();
        let clock = ManualClock::new(Timestamp::from_unix(1_795_246_930, 0).unwrap())
            .with_auto_advance(Duration::from_micros(387_012));
        let provider = TraceProvider::builder()
            .with_processor(memory.clone())
            .with_id_generator(SequentialIdGenerator::new())
            .with_clock(clock)
            .build();
        (provider, memory)
    }

    #[test]
    fn start_and_end_exports_match_python_shape() {
        let (provider, memory) = deterministic();
        {
            let _trace = provider.trace("wf").start_as_current();
            let agent = provider.span(AgentSpanData::new("A"));
            let _entered = agent.start_as_current();
            agent.update(|a| a.tools = Some(vec!["t".into()]));
        }
        let events = memory.events();
        assert_eq!(
            serde_json::to_string(&events[1].data).unwrap(),
            concat!(
                r#"{"object":"trace.span","id":"span_000000000000000000000001","#,
                r#""trace_id":"trace_00000000000000000000000000000001","parent_id":null,"#,
                r#""started_at":"2026-11-21T07:42:10+00:00","ended_at":null,"#,
                r#""span_data":{"type":"agent","name":"A","handoffs":null,"tools":null,"output_type":null},"#,
                r#""error":null}"#
            )
        );
        assert_eq!(
            events[2].data["ended_at"],
            json!("2026-11-21T07:42:10.387012+00:00")
        );
        assert_eq!(events[2].data["span_data"]["tools"], json!(["t"]));
    }

    #[test]
    fn second_start_and_finish_emit_nothing() {
        let (provider, memory) = deterministic();
        let _trace = provider.trace("wf").start_as_current();
        let span = provider.span(CustomSpanData::new("x"));
        span.start();
        let started = span.started_at();
        span.start();
        let guard = span.start_as_current();
        assert!(
            current_span().is_none(),
            "an already started span is not made current"
        );
        span.finish();
        drop(guard);
        span.finish();
        assert_eq!(span.started_at(), started);
        let kinds: Vec<_> = memory.events().iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::TraceStart,
                EventKind::SpanStart,
                EventKind::SpanEnd
            ]
        );
    }

    #[test]
    fn finishing_inside_the_guard_still_restores_the_context() {
        // Python 0.24.0 leaves the span current here (its second `finish` returns before
        // resetting the context), so a later span would become its child. This crate
        // restores the previous span: a finished span never stays current.
        let (provider, memory) = deterministic();
        let _trace = provider.trace("wf").start_as_current();
        let span = provider.span(CustomSpanData::new("x"));
        {
            let _guard = span.start_as_current();
            span.finish();
        } // WARNING "Span already finished"
        assert!(current_span().is_none());
        assert_eq!(provider.span(CustomSpanData::new("y")).parent_id(), None);
        assert_eq!(memory.events().len(), 3);
    }

    #[test]
    fn finishing_an_unstarted_span_emits_end_with_null_start() {
        let (provider, memory) = deterministic();
        let _trace = provider.trace("wf").start_as_current();
        provider.span(CustomSpanData::new("x")).finish();
        let end = memory.events().pop().unwrap();
        assert_eq!(end.kind, EventKind::SpanEnd);
        assert_eq!(end.data["started_at"], json!(null));
        assert!(end.data["ended_at"].is_string());
    }

    #[test]
    fn span_metadata_carries_the_harness_id() {
        let (provider, memory) = deterministic();
        let metadata = JsonMap::from_iter([
            ("agent_harness_id".to_string(), json!("h1")),
            ("other".to_string(), json!(2)),
        ]);
        {
            let _trace = provider
                .trace(TraceOptions::new("w").with_metadata(metadata))
                .start_as_current();
            let outer = provider.span(CustomSpanData::new("x"));
            let _outer = outer.start_as_current();
            // Explicit span parents inherit the trace metadata too.
            let child = provider.create_span(
                CustomSpanData::new("c"),
                SpanOptions::new().with_parent_span(&outer),
            );
            drop(child.start_as_current());
        }
        let events = memory.events();
        assert_eq!(events.len(), 6);
        for event in &events[1..5] {
            assert_eq!(
                event.data["metadata"],
                json!({"agent_harness_id": "h1"}),
                "{}",
                event.data
            );
        }
        assert_eq!(
            events[5].data["metadata"],
            json!({"agent_harness_id": "h1", "other": 2})
        );
    }

    #[test]
    fn noop_span_ignores_everything() {
        let span = TypedSpan::<CustomSpanData>::new(Span::noop());
        assert_eq!(span.update(|c| c.name.clone()), None);
        span.set_error(SpanError::new("x"));
        assert_eq!(span.error(), None);
        assert_eq!(span.data(), None);
        assert_eq!(
            (span.started_at(), span.ended_at(), span.parent_id()),
            (None, None, None)
        );
        assert_eq!(format!("{span:?}"), "Span(no-op)");
    }

    #[test]
    fn typed_update_after_replacing_the_variant_returns_none() {
        let (provider, _memory) = deterministic();
        let _trace = provider.trace("wf").start_as_current();
        let span = provider.span(AgentSpanData::new("A"));
        span.update_data(|data| *data = CustomSpanData::new("c").into());
        assert_eq!(span.update(|a| a.name.clone()), None);
    }

    #[test]
    fn processors_see_live_spans() {
        struct Mutates;
        impl crate::sdk::processor::TracingProcessor for Mutates {
            fn on_span_start(&self, span: &Span) {
                span.set_error(SpanError::new("set by processor"));
            }
        }
        let memory = InMemoryProcessor::new();
        let provider = TraceProvider::builder()
            .with_processor(Mutates)
            .with_processor(memory.clone())
            .build();
        let _trace = provider.trace("wf").start_as_current();
        drop(provider.span(CustomSpanData::new("x")).start_as_current());
        assert_eq!(
            memory.events()[1].data["error"]["message"],
            json!("set by processor")
        );
    }
}
