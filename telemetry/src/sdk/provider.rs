//! The [`TraceProvider`]: creates traces and spans against the current context and
//! hands their events to the registered processors.
//!
//! It is Python's `DefaultTraceProvider` plus the `trace()`/`*_span()` helpers, with
//! explicit seams: an [`IdGenerator`], a [`Clock`] and the processors are given at build
//! time, so tests run isolated and deterministic. [`global_provider`] holds a provider
//! for code that has no handle (the crate-level [`trace`](crate::trace()) and
//! [`span`](crate::span()) functions use it).
//!
//! # Log lines
//!
//! Creation logs the DEBUG lines of the Python client (target
//! [`openai.agents`](crate::LOG_TARGET)), before the corresponding start event:
//!
//! | situation | level | message |
//! |---|---|---|
//! | trace created | DEBUG | `Creating trace` |
//! | trace while tracing is disabled | DEBUG | `Tracing is disabled. Not creating trace` |
//! | [`trace`](TraceProvider::trace) while a trace is current | WARNING | `Trace already exists. Creating a new trace, but this is probably a mistake.` |
//! | span created | DEBUG | `Creating span with id None` (or the explicit id) |
//! | span while tracing is disabled | DEBUG | `Tracing is disabled. Not creating span` |
//! | span id `"no-op"` | DEBUG | `Span id is no-op, returning NoOpSpan` |
//! | no current trace | DEBUG | ``No active trace. Make sure to start a trace with `trace()` first Returning NoOpSpan.`` |
//! | current trace or span is a no-op | DEBUG | `Current trace parent is no-op, returning NoOpSpan` |
//! | explicit parent trace is a no-op | DEBUG | `Parent trace is no-op, returning NoOpSpan` |
//! | explicit parent span is a no-op | DEBUG | `Parent span is no-op, returning NoOpSpan` |
//!
//! # Cost when nothing is recorded
//!
//! A disabled provider, a missing trace or a no-op parent yields a no-op handle without
//! allocating, generating an id or reading the clock; only the DEBUG event above is
//! emitted (nearly free when no subscriber wants it). The span data passed in is the
//! caller's and is simply dropped.
//!
//! ```
//! use codex_telemetry::{CustomSpanData, InMemoryProcessor, TraceProvider};
//!
//! let memory = InMemoryProcessor::new();
//! let provider = TraceProvider::builder().with_processor(memory.clone()).build();
//! provider.set_disabled(true);
//! {
//!     let trace = provider.trace("wf").start_as_current();
//!     assert!(trace.trace().is_noop());
//!     assert!(provider.span(CustomSpanData::new("x")).is_noop());
//! }
//! assert!(memory.events().is_empty());
//! ```

use std::fmt;

use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::model::clock::{Clock, SystemClock};
use crate::model::ids::{IdGenerator, RandomIdGenerator};
use crate::model::pyrepr::python_object_repr;
use crate::model::span_data::{CustomSpanData, SpanData, SpanDataKind};
use crate::sdk::context::{self, Context};
use crate::sdk::log::{agents_debug, agents_warn};
use crate::sdk::processor::{ProcessorSet, TracingProcessor};
use crate::sdk::propagation::PropagatedContext;
use crate::sdk::shared::Shared;
use crate::sdk::span::{Span, SpanOptions, SpanParent, SpanPlacement, TypedSpan};
use crate::sdk::trace::{NO_OP_ID, Trace, TraceOptions};

/// Creates traces and spans and dispatches their events to processors. Cloning is cheap
/// and clones share everything.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{AgentSpanData, FunctionSpanData, InMemoryProcessor, TraceProvider};
///
/// let memory = InMemoryProcessor::new();
/// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
/// {
///     let _trace = provider.trace("Agent workflow").start_as_current();
///     let agent = provider.span(AgentSpanData::new("weather"));
///     let _agent = agent.start_as_current();
///     let tool = provider.span(FunctionSpanData::new("get_weather"));
///     assert_eq!(tool.parent_id(), Some(agent.id()));
///     tool.start();
///     tool.update(|f| f.output = Some("sunny".into()));
///     tool.finish();
/// }
/// assert_eq!(memory.events().len(), 6);
/// ```
#[derive(Clone)]
pub struct TraceProvider {
    shared: Arc<Shared>,
}

// === impl TraceProvider ===

/// # Construction and configuration
impl TraceProvider {
    /// A provider with random ids, the system clock and no processors.
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// let provider = TraceProvider::new();
    /// assert!(!provider.is_disabled());
    /// ```
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder to choose the id generator, clock and processors.
    ///
    /// ```
    /// use codex_telemetry::{SequentialIdGenerator, TraceProvider};
    ///
    /// let provider = TraceProvider::builder().with_id_generator(SequentialIdGenerator::new()).build();
    /// assert_eq!(provider.trace("wf").id(), "trace_00000000000000000000000000000001");
    /// ```
    pub fn builder() -> TraceProviderBuilder {
        TraceProviderBuilder::default()
    }

    /// Adds a processor after the existing ones.
    ///
    /// ```
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let memory = InMemoryProcessor::new();
    /// provider.register_processor(memory.clone());
    /// provider.trace("wf").start();
    /// assert_eq!(memory.events().len(), 1);
    /// ```
    pub fn register_processor(&self, processor: impl TracingProcessor + 'static) {
        self.shared.processors.add(Arc::new(processor));
    }

    /// Replaces all processors.
    ///
    /// ```
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    /// use std::sync::Arc;
    ///
    /// let old = InMemoryProcessor::new();
    /// let new = InMemoryProcessor::new();
    /// let provider = TraceProvider::builder().with_processor(old.clone()).build();
    /// provider.set_processors(vec![Arc::new(new.clone())]);
    /// provider.trace("wf").start();
    /// assert!(old.events().is_empty());
    /// assert_eq!(new.events().len(), 1);
    /// ```
    pub fn set_processors(&self, processors: Vec<Arc<dyn TracingProcessor>>) {
        self.shared.processors.set(processors);
    }

    /// Turns tracing off (or on again) for everything created from now on: traces and
    /// spans become no-ops. Python's `set_tracing_disabled`.
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// let provider = TraceProvider::new();
    /// provider.set_disabled(true);
    /// assert!(provider.trace("wf").is_noop());
    /// provider.set_disabled(false);
    /// assert!(!provider.trace("wf").is_noop());
    /// ```
    pub fn set_disabled(&self, disabled: bool) {
        self.shared.set_disabled(disabled);
    }

    /// Whether tracing is disabled.
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// assert!(TraceProvider::builder().with_disabled(true).build().is_disabled());
    /// ```
    pub fn is_disabled(&self) -> bool {
        self.shared.is_disabled()
    }

    /// A new group id (`group_` + 24 hex) from the provider's id generator.
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// assert!(TraceProvider::new().gen_group_id().starts_with("group_"));
    /// ```
    pub fn gen_group_id(&self) -> String {
        self.shared.ids.group_id()
    }
}

/// # Traces
impl TraceProvider {
    /// Creates a trace, warning if one is already current: Python's `trace()`.
    ///
    /// Logs WARNING `Trace already exists. Creating a new trace, but this is probably a
    /// mistake.` when this thread has a current trace (even a no-op one); the new trace is
    /// independent of it.
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// let provider = TraceProvider::new();
    /// let _outer = provider.trace("one").start_as_current();
    /// let inner = provider.trace("two"); // WARNING, but a second trace all the same
    /// assert_eq!(inner.workflow_name(), "two");
    /// ```
    pub fn trace(&self, options: impl Into<TraceOptions>) -> Trace {
        if context::with_current(|cx| cx.trace().is_some()) {
            agents_warn!(
                "Trace already exists. Creating a new trace, but this is probably a mistake."
            );
        }
        self.create_trace(options)
    }

    /// Creates a trace without looking at the current one: Python's
    /// `TraceProvider.create_trace`. Logs DEBUG `Creating trace`, or
    /// `Tracing is disabled. Not creating trace` and returns a no-op trace.
    ///
    /// ```
    /// use codex_telemetry::{TraceOptions, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let trace = provider.create_trace(TraceOptions::new("wf").with_trace_id("trace_1"));
    /// assert_eq!(trace.id(), "trace_1");
    /// ```
    pub fn create_trace(&self, options: impl Into<TraceOptions>) -> Trace {
        let mut options = options.into();
        if self.is_disabled() || options.disabled {
            agents_debug!("Tracing is disabled. Not creating trace");
            return Trace::noop();
        }
        // Python: `trace_id = trace_id or self.gen_trace_id()`: an empty id is no id.
        let id = options
            .trace_id
            .take()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| self.shared.ids.trace_id());
        agents_debug!("Creating trace");
        Trace::recording(self.shared.clone(), id, options)
    }

    /// The provider's clock (timestamps and durations).
    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.shared.clock
    }

    /// A fresh trace id from the provider's id generator (for ids of other kinds).
    pub(crate) fn new_trace_id(&self) -> String {
        self.shared.ids.trace_id()
    }

    /// A fresh span id from the provider's id generator (for tokens of other kinds).
    pub(crate) fn new_span_id(&self) -> String {
        self.shared.ids.span_id()
    }

    /// Whether a trace with `id` was started through this provider and is still
    /// remembered (the 4096 most recent; Python keeps them per process).
    ///
    /// ```
    /// use codex_telemetry::{TraceOptions, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// assert!(!provider.trace_was_started("trace_1"));
    /// provider.create_trace(TraceOptions::new("wf").with_trace_id("trace_1")).start();
    /// assert!(provider.trace_was_started("trace_1"));
    /// ```
    pub fn trace_was_started(&self, id: &str) -> bool {
        self.shared.started_traces.contains(id)
    }

    /// Python's `ReattachedTrace`: the trace `options.trace_id` again, for a run resumed
    /// in the process that started it. Starting and finishing it (and making it current)
    /// logs as a trace does, but processors get no `on_trace_start` / `on_trace_end`: they
    /// already saw them. No `Creating trace` line. A no-op trace when tracing is disabled
    /// or no id is given.
    ///
    /// ```
    /// use codex_telemetry::{InMemoryProcessor, TraceOptions, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
    /// let options = TraceOptions::new("wf").with_trace_id("trace_1");
    /// drop(provider.create_trace(options.clone()).start_as_current());
    /// drop(provider.reattach_trace(options).start_as_current());
    /// assert_eq!(memory.events().len(), 2); // one trace_start, one trace_end
    /// ```
    pub fn reattach_trace(&self, options: impl Into<TraceOptions>) -> Trace {
        let mut options = options.into();
        match options.trace_id.take() {
            Some(id) if !self.is_disabled() && !options.disabled => {
                Trace::reattached(self.shared.clone(), id, options)
            }
            _ => Trace::noop(),
        }
    }
}

/// # Spans
impl TraceProvider {
    /// Creates a span under the current span, or directly under the current trace: the
    /// Python `*_span()` helpers with no `parent`.
    ///
    /// Returns a no-op span when tracing is disabled, no trace is current, or the current
    /// trace or span is a no-op (see the module docs for the log lines).
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// assert!(provider.span(CustomSpanData::new("x")).is_noop()); // no trace yet
    /// let trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(CustomSpanData::new("x"));
    /// assert_eq!((span.trace_id(), span.parent_id()), (trace.trace().id(), None));
    /// ```
    pub fn span<D: SpanDataKind>(&self, data: D) -> TypedSpan<D> {
        self.create_span(data, SpanOptions::new())
    }

    /// Creates a span with explicit options: Python's
    /// `TraceProvider.create_span(span_data, span_id, parent, disabled)`.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, SpanOptions, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let trace = provider.trace("wf");
    /// let span = provider.create_span(CustomSpanData::new("x"), SpanOptions::new().with_parent_trace(&trace));
    /// assert_eq!(span.trace_id(), trace.id());
    /// ```
    pub fn create_span<D: SpanDataKind>(&self, data: D, options: SpanOptions) -> TypedSpan<D> {
        self.create_span_with(|| data, options)
    }

    /// [`span`](Self::span) with the data built only when the span records. When tracing
    /// is disabled, no trace is current or the parent is a no-op, `data` is not called:
    /// making, entering and finishing such a span allocates nothing and costs a few
    /// nanoseconds, as a disabled `tracing` span does not evaluate its fields. For spans
    /// on hot paths whose data allocates (a name is a `String`).
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::builder().with_disabled(true).build();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span_with(|| -> CustomSpanData { unreachable!("not built") });
    /// assert!(span.is_noop());
    /// ```
    pub fn span_with<D: SpanDataKind>(&self, data: impl FnOnce() -> D) -> TypedSpan<D> {
        self.create_span_with(data, SpanOptions::new())
    }

    fn create_span_with<D: SpanDataKind>(
        &self,
        data: impl FnOnce() -> D,
        options: SpanOptions,
    ) -> TypedSpan<D> {
        let logs_data = self.shared.logs_span_data;
        let placement = match self.place(&options, logs_data) {
            Ok(placement) => placement,
            Err(reason) => {
                // Only a client that logs span data builds it for a no-op span.
                let class = logs_data.then(|| data().into().python_class());
                reason.log(class);
                return TypedSpan::new(Span::noop());
            }
        };
        let data: SpanData = data().into();
        let id_text = options.span_id.as_deref().unwrap_or("None");
        if logs_data {
            let repr = python_object_repr(SPAN_DATA_MODULE, data.python_class(), &data);
            agents_debug!("Creating span {repr} with id {id_text}");
        } else {
            agents_debug!("Creating span with id {id_text}");
        }
        // Python: `span_id=span_id or self.gen_span_id()`: an empty id is no id (the line
        // above still names it as given).
        let id = options
            .span_id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| self.shared.ids.span_id());
        TypedSpan::new(Span::recording(self.shared.clone(), id, placement, data))
    }

    /// Where a span with these options hangs, or why it must be a no-op (the caller logs
    /// it; with `logs_data`, the reason names the no-op parents as Python's reprs). The
    /// checks run in Python's order.
    fn place(&self, options: &SpanOptions, logs_data: bool) -> Result<SpanPlacement, NoOpReason> {
        if self.is_disabled() || options.disabled {
            return Err(NoOpReason::Disabled);
        }
        if options.span_id.as_deref() == Some(NO_OP_ID) {
            return Err(NoOpReason::NoOpId);
        }
        // Decided inside `with_current`, logged outside it, so that a subscriber may look at
        // the current context.
        match &options.parent {
            SpanParent::Current => context::with_current(|cx| {
                let trace = cx.trace().ok_or(NoOpReason::NoActiveTrace)?;
                let span = cx.span();
                match span {
                    Some(span) if span.is_noop() => None,
                    parent => trace.child_placement(parent),
                }
                .ok_or_else(|| NoOpReason::CurrentParentNoOp {
                    reprs: logs_data.then(|| (span.map(Span::python_repr), trace.python_repr())),
                })
            }),
            SpanParent::Trace(trace) => trace
                .child_placement(None)
                .ok_or_else(|| NoOpReason::ParentTraceNoOp(logs_data.then(|| trace.python_repr()))),
            SpanParent::Span(span) => span
                .child_placement()
                .ok_or_else(|| NoOpReason::ParentSpanNoOp(logs_data.then(|| span.python_repr()))),
        }
    }
}

/// # Continuing another process's trace
impl TraceProvider {
    /// The context to enter (`.attach()`, `.run(…)`) to continue a trace propagated from
    /// another process ([`crate::propagation`]): its trace, and the parent's current span as
    /// the current span. Neither emits events here (the parent starts and ends them); spans
    /// created inside join the trace under that span. Disabled tracing gives the empty
    /// context.
    ///
    /// ```
    /// use codex_telemetry::propagation::PropagatedContext;
    /// use codex_telemetry::{current_trace, TraceProvider};
    ///
    /// let header = r#"{"trace_id":"trace_0123456789abcdef0123456789abcdef","workflow_name":"wf"}"#;
    /// let remote = PropagatedContext::from_header(header).unwrap();
    /// TraceProvider::new().resume(&remote).run(|| {
    ///     assert_eq!(current_trace().unwrap().id(), remote.trace_id());
    /// });
    /// ```
    pub fn resume(&self, remote: &PropagatedContext) -> Context {
        if self.is_disabled() {
            return Context::default();
        }
        let mut options =
            TraceOptions::new(remote.workflow_name().to_owned()).with_trace_id(remote.trace_id());
        if let Some(group_id) = remote.group_id() {
            options = options.with_group_id(group_id.to_owned());
        }
        if let Some(metadata) = remote.metadata() {
            options = options.with_metadata(metadata.clone());
        }
        let trace = Trace::recording(self.shared.clone(), remote.trace_id().to_owned(), options);
        let span = remote.span_id().and_then(|id| {
            let placement = trace.child_placement(None)?;
            Some(Span::recording(
                self.shared.clone(),
                id.to_owned(),
                placement,
                CustomSpanData::new("parent in another process").into(),
            ))
        });
        let context = Context::default().with_trace(trace);
        match span {
            Some(span) => context.with_span(span),
            None => context,
        }
    }
}

/// # Shutdown
impl TraceProvider {
    /// Asks every processor to process what it has queued. A panicking processor logs
    /// ERROR `Error flushing trace processor`.
    ///
    /// ```
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    ///
    /// let provider = TraceProvider::builder().with_processor(InMemoryProcessor::new()).build();
    /// provider.force_flush();
    /// ```
    pub fn force_flush(&self) {
        self.shared.processors.force_flush();
    }

    /// Shuts every processor down: DEBUG `Shutting down trace provider`, then per processor
    /// DEBUG `Shutting down trace processor` and its `shutdown` (a panic logs ERROR
    /// `Error shutting down trace processor`).
    ///
    /// ```
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    ///
    /// let provider = TraceProvider::builder().with_processor(InMemoryProcessor::new()).build();
    /// provider.shutdown();
    /// ```
    pub fn shutdown(&self) {
        agents_debug!("Shutting down trace provider");
        self.shared.processors.shutdown();
    }
}

impl Default for TraceProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TraceProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceProvider")
            .field("processors", &self.shared.processors)
            .field("ids", &self.shared.ids)
            .field("clock", &self.shared.clock)
            .field("disabled", &self.is_disabled())
            .finish()
    }
}

/// Why a span came out as a no-op.
#[derive(Debug, Clone)]
enum NoOpReason {
    Disabled,
    NoOpId,
    NoActiveTrace,
    /// The current span (if any) and trace as Python's reprs, when they are logged.
    CurrentParentNoOp {
        reprs: Option<(Option<String>, String)>,
    },
    /// The parent's repr, when it is logged.
    ParentTraceNoOp(Option<String>),
    ParentSpanNoOp(Option<String>),
}

impl NoOpReason {
    /// Logs why the span is a no-op; `class`: the span data's Python class when the client
    /// logs span data (neither `OPENAI_AGENTS_DONT_LOG_*` switch set), which then names the
    /// objects involved.
    fn log(self, class: Option<&'static str>) {
        match self {
            Self::Disabled => match class {
                Some(class) => {
                    let repr = python_object_repr(SPAN_DATA_MODULE, class, &class);
                    agents_debug!("Tracing is disabled. Not creating span {repr}");
                }
                None => agents_debug!("Tracing is disabled. Not creating span"),
            },
            Self::NoOpId => agents_debug!("Span id is no-op, returning NoOpSpan"),
            Self::NoActiveTrace => agents_debug!(
                "No active trace. Make sure to start a trace with `trace()` first Returning NoOpSpan."
            ),
            Self::CurrentParentNoOp {
                reprs: Some((span, trace)),
            } => {
                let span = span.as_deref().unwrap_or("None");
                agents_debug!("Parent {span} or {trace} is no-op, returning NoOpSpan");
            }
            Self::CurrentParentNoOp { reprs: None } => {
                agents_debug!("Current trace parent is no-op, returning NoOpSpan");
            }
            Self::ParentTraceNoOp(Some(trace)) => {
                agents_debug!("Parent {trace} is no-op, returning NoOpSpan");
            }
            Self::ParentTraceNoOp(None) => {
                agents_debug!("Parent trace is no-op, returning NoOpSpan");
            }
            Self::ParentSpanNoOp(Some(span)) => {
                agents_debug!("Parent {span} is no-op, returning NoOpSpan");
            }
            Self::ParentSpanNoOp(None) => {
                agents_debug!("Parent span is no-op, returning NoOpSpan");
            }
        }
    }
}

/// Where the Python client's span data classes live.
const SPAN_DATA_MODULE: &str = "agents.tracing.span_data";

/// Builds a [`TraceProvider`]; consuming `with_*` methods.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{InMemoryProcessor, ManualClock, SequentialIdGenerator, Timestamp, TraceProvider};
///
/// let provider = TraceProvider::builder()
///     .with_id_generator(SequentialIdGenerator::new())
///     .with_clock(ManualClock::new(Timestamp::from_unix(0, 0)?))
///     .with_processor(InMemoryProcessor::new())
///     .build();
/// assert!(!provider.is_disabled());
/// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
/// ```
#[derive(Default)]
pub struct TraceProviderBuilder {
    ids: Option<Box<dyn IdGenerator>>,
    clock: Option<Box<dyn Clock>>,
    processors: Vec<Arc<dyn TracingProcessor>>,
    disabled: bool,
    logs_span_data: bool,
}

impl TraceProviderBuilder {
    /// Uses `ids` instead of [`RandomIdGenerator`].
    ///
    /// ```
    /// use codex_telemetry::{SequentialIdGenerator, TraceProvider};
    ///
    /// let provider = TraceProvider::builder().with_id_generator(SequentialIdGenerator::new()).build();
    /// assert_eq!(provider.gen_group_id(), "group_000000000000000000000001");
    /// ```
    pub fn with_id_generator(mut self, ids: impl IdGenerator + 'static) -> Self {
        self.ids = Some(Box::new(ids));
        self
    }

    /// Uses `clock` instead of [`SystemClock`].
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, ManualClock, Timestamp, TraceProvider};
    ///
    /// let provider = TraceProvider::builder().with_clock(ManualClock::new(Timestamp::from_unix(0, 0)?)).build();
    /// let _trace = provider.trace("wf").start_as_current();
    /// let span = provider.span(CustomSpanData::new("x"));
    /// span.start();
    /// assert_eq!(span.started_at().unwrap().to_isoformat(), "1970-01-01T00:00:00+00:00");
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// Adds a processor after the ones added before.
    ///
    /// ```
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
    /// provider.trace("wf").start();
    /// assert_eq!(memory.events().len(), 1);
    /// ```
    pub fn with_processor(mut self, processor: impl TracingProcessor + 'static) -> Self {
        self.processors.push(Arc::new(processor));
        self
    }

    /// Starts disabled (see [`TraceProvider::set_disabled`]).
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// assert!(TraceProvider::builder().with_disabled(true).build().trace("wf").is_noop());
    /// ```
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }

    /// Logs each created span's data as Python prints it when neither
    /// `OPENAI_AGENTS_DONT_LOG_MODEL_DATA` nor `OPENAI_AGENTS_DONT_LOG_TOOL_DATA` is set
    /// ([`EnvConfig::logs_span_data`](crate::config::EnvConfig::logs_span_data)): `Creating
    /// span <agents.tracing.span_data.AgentSpanData object at 0x…> with id None`, the address
    /// being the data's (as Python's default repr shows its object's).
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// let _provider = TraceProvider::builder().with_span_data_logged(true).build();
    /// ```
    pub fn with_span_data_logged(mut self, logged: bool) -> Self {
        self.logs_span_data = logged;
        self
    }

    /// The provider.
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// let provider = TraceProvider::builder().build();
    /// assert!(provider.trace("wf").id().starts_with("trace_"));
    /// ```
    pub fn build(self) -> TraceProvider {
        let processors = ProcessorSet::new();
        processors.set(self.processors);
        TraceProvider {
            shared: Arc::new(Shared::new(
                processors,
                self.ids.unwrap_or_else(|| Box::new(RandomIdGenerator)),
                self.clock.unwrap_or_else(|| Box::new(SystemClock)),
                self.disabled,
                self.logs_span_data,
            )),
        }
    }
}

impl fmt::Debug for TraceProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceProviderBuilder")
            .field("ids", &self.ids)
            .field("clock", &self.clock)
            .field("processors", &self.processors.len())
            .field("disabled", &self.disabled)
            .field("logs_span_data", &self.logs_span_data)
            .finish()
    }
}

fn global() -> &'static RwLock<TraceProvider> {
    static GLOBAL: OnceLock<RwLock<TraceProvider>> = OnceLock::new();
    GLOBAL.get_or_init(|| RwLock::new(TraceProvider::new()))
}

/// The process-wide provider (Python's `get_trace_provider()`). Until
/// [`set_global_provider`] is called it is a default provider without processors.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{global_provider, InMemoryProcessor};
///
/// let memory = InMemoryProcessor::new();
/// global_provider().register_processor(memory.clone());
/// global_provider().trace("wf").start();
/// assert_eq!(memory.events().len(), 1);
/// ```
pub fn global_provider() -> TraceProvider {
    global()
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Replaces the process-wide provider and returns the previous one (Python's
/// `set_trace_provider`). Traces and spans already created keep their provider.
///
/// # Examples
///
/// ```standalone_crate
/// use codex_telemetry::{global_provider, set_global_provider, TraceProvider};
///
/// let previous = set_global_provider(TraceProvider::builder().with_disabled(true).build());
/// assert!(global_provider().is_disabled());
/// set_global_provider(previous);
/// ```
pub fn set_global_provider(provider: TraceProvider) -> TraceProvider {
    std::mem::replace(
        &mut *global().write().unwrap_or_else(PoisonError::into_inner),
        provider,
    )
}

/// [`TraceProvider::trace`] on the [`global_provider`]: Python's `agents.trace()`.
///
/// # Examples
///
/// ```
/// let guard = codex_telemetry::trace("wf").start_as_current();
/// assert_eq!(codex_telemetry::current_trace().unwrap().id(), guard.trace().id());
/// ```
pub fn trace(options: impl Into<TraceOptions>) -> Trace {
    global_provider().trace(options)
}

/// [`TraceProvider::span`] on the [`global_provider`]: Python's `custom_span()`,
/// `agent_span()`, ... with no explicit parent.
///
/// # Examples
///
/// ```
/// use codex_telemetry::CustomSpanData;
///
/// let _trace = codex_telemetry::trace("wf").start_as_current();
/// let span = codex_telemetry::span(CustomSpanData::new("x"));
/// assert!(!span.is_noop());
/// ```
pub fn span<D: SpanDataKind>(data: D) -> TypedSpan<D> {
    global_provider().span(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::span_data::CustomSpanData;
    use crate::processors::memory::InMemoryProcessor;
    use crate::sdk::processor::EventKind;

    #[test]
    fn explicit_parents_ignore_the_current_context() {
        let provider = TraceProvider::new();
        let one = provider.trace("one");
        let _two = provider.trace("two").start_as_current();
        let under_one = provider.create_span(
            CustomSpanData::new("a"),
            SpanOptions::new().with_parent_trace(&one),
        );
        assert_eq!(
            (under_one.trace_id(), under_one.parent_id()),
            (one.id(), None)
        );
        let child = provider.create_span(
            CustomSpanData::new("b"),
            SpanOptions::new().with_parent_span(&under_one),
        );
        assert_eq!(
            (child.trace_id(), child.parent_id()),
            (one.id(), Some(under_one.id()))
        );
    }

    #[test]
    fn noop_parents_give_noop_spans() {
        let provider = TraceProvider::new();
        let by_trace = provider.create_span(
            CustomSpanData::new("a"),
            SpanOptions::new().with_parent_trace(&Trace::noop()),
        );
        let by_span = provider.create_span(
            CustomSpanData::new("b"),
            SpanOptions::new().with_parent_span(&Span::noop()),
        );
        assert!(by_trace.is_noop() && by_span.is_noop());
        // A recording trace whose id is literally "no-op" counts as a no-op parent.
        let odd = provider.trace(TraceOptions::new("wf").with_trace_id("no-op"));
        assert!(
            provider
                .create_span(
                    CustomSpanData::new("c"),
                    SpanOptions::new().with_parent_trace(&odd)
                )
                .is_noop()
        );
    }

    #[test]
    fn disabled_span_masks_children_until_it_ends() {
        let memory = InMemoryProcessor::new();
        let provider = TraceProvider::builder()
            .with_processor(memory.clone())
            .build();
        {
            let _trace = provider.trace("m").start_as_current();
            {
                let masked = provider.create_span(
                    CustomSpanData::new("d"),
                    SpanOptions::new().with_disabled(true),
                );
                let _masked = masked.start_as_current();
                assert!(provider.span(CustomSpanData::new("child")).is_noop());
            }
            drop(
                provider
                    .span(CustomSpanData::new("after"))
                    .start_as_current(),
            );
        }
        let names: Vec<_> = memory
            .events()
            .iter()
            .filter(|e| e.kind == EventKind::SpanStart)
            .map(|e| e.data["span_data"]["name"].clone())
            .collect();
        assert_eq!(names, ["after"]);
    }

    #[test]
    fn empty_ids_are_no_ids_as_python_s_or_says() {
        let provider = TraceProvider::new();
        let trace = provider
            .trace(TraceOptions::new("wf").with_trace_id(""))
            .start_as_current();
        assert!(
            trace.trace().id().starts_with("trace_"),
            "{}",
            trace.trace().id()
        );
        let span = provider.create_span(
            CustomSpanData::new("x"),
            SpanOptions::new().with_span_id(""),
        );
        assert!(span.id().starts_with("span_"), "{}", span.id());
    }

    #[test]
    fn explicit_ids_are_used_verbatim() {
        let provider = TraceProvider::new();
        let _trace = provider
            .trace(TraceOptions::new("wf").with_trace_id("not-a-valid-id"))
            .start_as_current();
        let span = provider.create_span(
            CustomSpanData::new("x"),
            SpanOptions::new().with_span_id("span_bbbb"),
        );
        assert_eq!(
            (span.id(), span.trace_id()),
            ("span_bbbb", "not-a-valid-id")
        );
    }

    #[test]
    fn disabling_affects_only_later_creations() {
        let provider = TraceProvider::new();
        let trace = provider.trace("wf");
        provider.set_disabled(true);
        assert!(!trace.is_noop());
        let _guard = trace.start_as_current();
        assert!(provider.span(CustomSpanData::new("x")).is_noop());
    }
}
