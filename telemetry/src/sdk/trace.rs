//! Traces: one end-to-end workflow holding related spans.
//!
//! A [`Trace`] is created by [`TraceProvider::trace`](crate::TraceProvider::trace) (or
//! [`create_trace`](crate::TraceProvider::create_trace)) and is not started
//! automatically. Either call [`start`](Trace::start) and [`finish`](Trace::finish), or use
//! [`start_as_current`](Trace::start_as_current), Python's `with trace(...):`, which also
//! makes it the current trace until the returned guard drops.
//!
//! The order of events and log lines is Python's:
//!
//! ```text
//! DEBUG "Creating trace"            provider.trace(..)
//! trace_start                       start_as_current()
//! DEBUG "Setting current trace"     (logged while the previous trace is still current)
//! …
//! trace_end                         guard dropped
//! DEBUG "Resetting current trace"   (logged while the trace is still current)
//! ```
//!
//! ```
//! use codex_telemetry::{current_trace, TraceOptions, TraceProvider};
//!
//! let provider = TraceProvider::new();
//! let trace = provider.trace(TraceOptions::new("Order processing").with_group_id("chat_123"));
//! {
//!     let _guard = trace.start_as_current();
//!     assert_eq!(current_trace().unwrap().id(), trace.id());
//! }
//! assert!(current_trace().is_none());
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use crate::model::export::TraceEnvelope;
use crate::model::pyrepr::python_object_repr;
use crate::model::span_data::JsonMap;
use crate::sdk::context::{self, ContextGuard};
use crate::sdk::log::{agents_debug, agents_error};
use crate::sdk::shared::Shared;
use crate::sdk::span::{Span, SpanPlacement};

/// The id that marks no-op traces and spans, as in Python.
pub(crate) const NO_OP_ID: &str = "no-op";

/// What to create a trace with: Python's `trace(workflow_name, trace_id, group_id,
/// metadata, disabled)`.
///
/// `&str` and `String` convert into options with just a workflow name.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{JsonMap, TraceOptions, TraceProvider};
/// use serde_json::json;
///
/// let mut metadata = JsonMap::new();
/// metadata.insert("customer".into(), json!("user_456"));
/// let options = TraceOptions::new("Customer service")
///     .with_trace_id("trace_0123456789abcdef0123456789abcdef")
///     .with_group_id("chat_123")
///     .with_metadata(metadata);
/// let trace = TraceProvider::new().trace(options);
/// assert_eq!(trace.id(), "trace_0123456789abcdef0123456789abcdef");
/// assert_eq!(trace.group_id(), Some("chat_123"));
/// ```
#[derive(Debug, Clone)]
pub struct TraceOptions {
    // A `Cow` so that a disabled provider never allocates for a static name.
    pub(crate) workflow_name: Cow<'static, str>,
    pub(crate) trace_id: Option<String>,
    pub(crate) group_id: Option<String>,
    pub(crate) metadata: Option<JsonMap>,
    pub(crate) disabled: bool,
}

impl TraceOptions {
    /// Options for a trace of workflow `workflow_name` (Python's default for runs is
    /// `"Agent workflow"`).
    ///
    /// ```
    /// use codex_telemetry::{TraceOptions, TraceProvider};
    ///
    /// let trace = TraceProvider::new().trace(TraceOptions::new("Agent workflow"));
    /// assert_eq!(trace.workflow_name(), "Agent workflow");
    /// ```
    pub fn new(workflow_name: impl Into<Cow<'static, str>>) -> Self {
        Self {
            workflow_name: workflow_name.into(),
            trace_id: None,
            group_id: None,
            metadata: None,
            disabled: false,
        }
    }

    /// Uses `trace_id` verbatim instead of generating one (it is not validated, as in
    /// Python).
    ///
    /// ```
    /// use codex_telemetry::{TraceOptions, TraceProvider};
    ///
    /// let trace = TraceProvider::new().trace(TraceOptions::new("wf").with_trace_id("not-a-valid-id"));
    /// assert_eq!(trace.id(), "not-a-valid-id");
    /// ```
    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }

    /// Links traces of one conversation or process (exported as `group_id`).
    ///
    /// ```
    /// use codex_telemetry::{TraceOptions, TraceProvider};
    ///
    /// let trace = TraceProvider::new().trace(TraceOptions::new("wf").with_group_id("grp"));
    /// assert_eq!(trace.export().unwrap()["group_id"], "grp");
    /// ```
    pub fn with_group_id(mut self, group_id: impl Into<String>) -> Self {
        self.group_id = Some(group_id.into());
        self
    }

    /// Attaches free-form metadata. Its `agent_harness_id` key, if present, is also copied
    /// into every span's top-level `metadata` (see [`crate::export`]).
    ///
    /// ```
    /// use codex_telemetry::{JsonMap, TraceOptions, TraceProvider};
    /// use serde_json::json;
    ///
    /// let metadata = JsonMap::from_iter([("k".to_string(), json!("v"))]);
    /// let trace = TraceProvider::new().trace(TraceOptions::new("wf").with_metadata(metadata));
    /// assert_eq!(trace.export().unwrap()["metadata"], json!({"k": "v"}));
    /// ```
    pub fn with_metadata(mut self, metadata: JsonMap) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// When `true`, the trace is a no-op (Python's `trace(..., disabled=True)`).
    ///
    /// ```
    /// use codex_telemetry::{TraceOptions, TraceProvider};
    ///
    /// let trace = TraceProvider::new().trace(TraceOptions::new("wf").with_disabled(true));
    /// assert!(trace.is_noop());
    /// ```
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }
}

impl From<&'static str> for TraceOptions {
    fn from(workflow_name: &'static str) -> Self {
        Self::new(workflow_name)
    }
}

impl From<String> for TraceOptions {
    fn from(workflow_name: String) -> Self {
        Self::new(workflow_name)
    }
}

/// A handle to a trace. Cloning is cheap and clones refer to the same trace.
///
/// A no-op trace ([`Trace::noop`], or any trace made while tracing is disabled) records
/// nothing, reports the id and name `"no-op"`, exports `None`, and makes every span
/// created under it a no-op too; it can still be made current, which is how a disabled
/// run masks an enclosing trace.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{InMemoryProcessor, TraceProvider};
///
/// let memory = InMemoryProcessor::new();
/// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
/// let trace = provider.trace("wf");
/// trace.start();
/// trace.finish();
/// assert_eq!(memory.events().len(), 2);
/// assert!(trace.id().starts_with("trace_"));
/// ```
#[derive(Clone, Default)]
pub struct Trace {
    inner: Option<Arc<TraceInner>>,
}

pub(crate) struct TraceInner {
    pub(crate) id: Arc<str>,
    workflow_name: String,
    group_id: Option<String>,
    pub(crate) metadata: Option<Arc<JsonMap>>,
    shared: Arc<Shared>,
    /// Python's `ReattachedTrace`: a trace this provider already started, current again
    /// for a resumed run. Processors hear nothing of it (they saw its start and end).
    reattached: bool,
    state: Mutex<TraceState>,
}

#[derive(Debug, Default)]
struct TraceState {
    started: bool,
    finished: bool,
    /// Whether a [`TraceGuard`] currently holds this trace current (Python: the context
    /// token is set).
    current: bool,
}

// === impl Trace ===

/// # Constructors
impl Trace {
    /// The no-op trace (Python's `NoOpTrace`). Costs nothing.
    ///
    /// ```
    /// use codex_telemetry::Trace;
    ///
    /// let trace = Trace::noop();
    /// assert!(trace.is_noop());
    /// assert_eq!((trace.id(), trace.workflow_name()), ("no-op", "no-op"));
    /// assert_eq!(trace.export(), None);
    /// ```
    pub const fn noop() -> Self {
        Self { inner: None }
    }

    pub(crate) fn recording(shared: Arc<Shared>, id: String, options: TraceOptions) -> Self {
        Self::with_inner(shared, id, options, false)
    }

    /// Python's `ReattachedTrace`: the trace `id` again, started and finished without
    /// processor events.
    pub(crate) fn reattached(shared: Arc<Shared>, id: String, options: TraceOptions) -> Self {
        Self::with_inner(shared, id, options, true)
    }

    fn with_inner(
        shared: Arc<Shared>,
        id: String,
        options: TraceOptions,
        reattached: bool,
    ) -> Self {
        Self {
            inner: Some(Arc::new(TraceInner {
                id: id.into(),
                workflow_name: options.workflow_name.into_owned(),
                group_id: options.group_id,
                metadata: options.metadata.map(Arc::new),
                shared,
                reattached,
                state: Mutex::new(TraceState::default()),
            })),
        }
    }

    /// Python's repr of the trace: its default repr, of a `NoOpTrace`, a `ReattachedTrace`
    /// or a `TraceImpl`.
    pub(crate) fn python_repr(&self) -> String {
        let class = match &self.inner {
            _ if self.is_noop() => "NoOpTrace",
            Some(inner) if inner.reattached => "ReattachedTrace",
            _ => "TraceImpl",
        };
        python_object_repr("agents.tracing.traces", class, self)
    }
}

/// # Accessors
impl Trace {
    /// Whether this is a no-op trace (including a recording trace whose id is literally
    /// `"no-op"`, which Python treats the same way).
    ///
    /// ```
    /// use codex_telemetry::{TraceOptions, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// assert!(!provider.trace("wf").is_noop());
    /// assert!(provider.trace(TraceOptions::new("wf").with_trace_id("no-op")).is_noop());
    /// ```
    pub fn is_noop(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|inner| &*inner.id == NO_OP_ID)
    }

    /// The trace id (`"no-op"` for a no-op trace).
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// assert_eq!(TraceProvider::new().trace("wf").id().len(), "trace_".len() + 32);
    /// ```
    pub fn id(&self) -> &str {
        self.inner.as_ref().map_or(NO_OP_ID, |inner| &inner.id)
    }

    /// The workflow name (`"no-op"` for a no-op trace).
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// assert_eq!(TraceProvider::new().trace("wf").workflow_name(), "wf");
    /// ```
    pub fn workflow_name(&self) -> &str {
        self.inner
            .as_ref()
            .map_or(NO_OP_ID, |inner| &inner.workflow_name)
    }

    /// The group id, if one was given.
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// assert_eq!(TraceProvider::new().trace("wf").group_id(), None);
    /// ```
    pub fn group_id(&self) -> Option<&str> {
        self.inner.as_ref()?.group_id.as_deref()
    }

    /// The metadata, if any was given.
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// assert!(TraceProvider::new().trace("wf").metadata().is_none());
    /// ```
    pub fn metadata(&self) -> Option<&JsonMap> {
        self.inner.as_ref()?.metadata.as_deref()
    }

    /// The export `{"object":"trace","id","workflow_name","group_id","metadata"}`, or
    /// `None` for a no-op trace.
    ///
    /// ```
    /// use codex_telemetry::{TraceOptions, TraceProvider};
    ///
    /// let trace = TraceProvider::new().trace(TraceOptions::new("wf").with_trace_id("trace_1"));
    /// assert_eq!(
    ///     serde_json::to_string(&trace.export())?,
    ///     r#"{"object":"trace","id":"trace_1","workflow_name":"wf","group_id":null,"metadata":null}"#,
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn export(&self) -> Option<Value> {
        // Strings and JSON maps always serialize.
        serde_json::to_value(self.envelope()?)
            .ok()
            .map(crate::model::scrub::scrubbed_value)
    }

    /// Writes the export as JSON without building a [`Value`] first (the same bytes as
    /// `serde_json::to_writer(writer, &trace.export())`); `Ok(false)` for a no-op trace.
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// let trace = TraceProvider::new().trace("wf");
    /// let mut bytes = Vec::new();
    /// assert!(trace.write_export(&mut bytes)?);
    /// assert_eq!(bytes, serde_json::to_vec(&trace.export())?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_export(&self, mut writer: impl std::io::Write) -> std::io::Result<bool> {
        match self.envelope() {
            Some(envelope) => envelope.write_json(&mut writer).map(|()| true),
            None => Ok(false),
        }
    }

    fn envelope(&self) -> Option<TraceEnvelope<'_>> {
        let inner = self.inner.as_ref()?;
        Some(TraceEnvelope {
            id: &inner.id,
            workflow_name: &inner.workflow_name,
            group_id: inner.group_id.as_deref(),
            metadata: inner.metadata.as_deref(),
        })
    }

    /// Where a span created in this trace hangs: under `parent` (one of the trace's
    /// spans), or at the root without one. `None` for a no-op trace.
    pub(crate) fn child_placement(&self, parent: Option<&Span>) -> Option<SpanPlacement> {
        let inner = self.inner.as_ref().filter(|_| !self.is_noop())?;
        Some(SpanPlacement {
            trace_id: inner.id.clone(),
            parent_id: parent.map(|span| span.id().to_owned()),
            trace_metadata: inner.metadata.clone(),
        })
    }
}

/// # Lifecycle
impl Trace {
    /// Starts the trace: processors get `on_trace_start`. Starting again does nothing.
    /// Does not make the trace current.
    ///
    /// ```
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
    /// let trace = provider.trace("wf");
    /// trace.start();
    /// trace.start();
    /// assert_eq!(memory.events().len(), 1);
    /// ```
    pub fn start(&self) {
        let Some(inner) = &self.inner else { return };
        {
            let mut state = inner.lock();
            if state.started {
                return;
            }
            state.started = true;
        }
        inner.announce_start(self);
    }

    /// Finishes a started trace: processors get `on_trace_end`. Finishing an unstarted or
    /// an already finished trace does nothing.
    ///
    /// (Python 0.24.0 emits `trace_end` again on a second `finish()`; this crate emits it
    /// once.)
    ///
    /// ```
    /// use codex_telemetry::{EventKind, InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
    /// let trace = provider.trace("wf");
    /// trace.finish(); // not started: nothing
    /// trace.start();
    /// trace.finish();
    /// trace.finish(); // already finished: nothing
    /// let kinds: Vec<_> = memory.events().iter().map(|e| e.kind).collect();
    /// assert_eq!(kinds, [EventKind::TraceStart, EventKind::TraceEnd]);
    /// ```
    pub fn finish(&self) {
        let Some(inner) = &self.inner else { return };
        {
            let mut state = inner.lock();
            if !state.started || state.finished {
                return;
            }
            state.finished = true;
        }
        if !inner.reattached {
            inner.shared.processors.on_trace_end(self);
        }
    }

    /// Starts the trace and makes it the current trace of this thread until the returned
    /// guard drops; dropping the guard finishes the trace (Python's `with trace(...):`).
    ///
    /// Logs DEBUG `Setting current trace` after `trace_start`, and `Resetting current trace`
    /// after `trace_end`. A no-op trace still becomes current (and logs both lines).
    ///
    /// Like Python, a trace that was already started is not made current again: if no
    /// guard holds it current, ERROR `Trace already started but no context token set` is
    /// logged; either way the returned guard still finishes the trace when dropped.
    ///
    /// The guard cannot leave its thread. To carry the trace into other threads or async
    /// tasks, see [`crate::context`].
    ///
    /// ```
    /// use codex_telemetry::{current_trace, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let guard = provider.trace("wf").start_as_current();
    /// assert_eq!(current_trace().unwrap().workflow_name(), "wf");
    /// assert_eq!(guard.trace().workflow_name(), "wf");
    /// drop(guard);
    /// assert!(current_trace().is_none());
    /// ```
    pub fn start_as_current(&self) -> TraceGuard {
        let context = self
            .start_for_current()
            .then(|| context::enter_trace(self.clone()));
        TraceGuard {
            trace: self.clone(),
            context,
        }
    }

    /// What [`start_as_current`](Trace::start_as_current) does before making the trace
    /// current: starts it and logs `Setting current trace`, or logs why not. Returns
    /// whether it is to be made current.
    pub(crate) fn start_for_current(&self) -> bool {
        if let Some(inner) = &self.inner {
            // Checked and set under one lock: of two threads starting the trace, one
            // starts it and makes it current, the other sees it started.
            let already_current = {
                let mut state = inner.lock();
                if state.started {
                    Some(state.current)
                } else {
                    state.started = true;
                    state.current = true;
                    None
                }
            };
            if let Some(current) = already_current {
                if !current {
                    agents_error!("Trace already started but no context token set");
                }
                return false;
            }
            inner.announce_start(self);
        }
        agents_debug!("Setting current trace");
        true
    }

    /// What dropping a [`TraceGuard`] does before the trace stops being current: finishes
    /// the trace and, if it was made current (`current`), logs `Resetting current trace`
    /// (while it is still current).
    pub(crate) fn finish_current(&self, current: bool) {
        self.finish();
        if current {
            if let Some(inner) = &self.inner {
                inner.lock().current = false;
            }
            agents_debug!("Resetting current trace");
        }
    }
}

impl TraceInner {
    /// A trace has started: its id is remembered, and processors hear of it unless it is a
    /// reattached trace (Python's `_mark_trace_id_started`, then `on_trace_start`).
    fn announce_start(&self, trace: &Trace) {
        self.shared.started_traces.mark(&self.id);
        if !self.reattached {
            self.shared.processors.on_trace_start(trace);
        }
    }

    fn lock(&self) -> MutexGuard<'_, TraceState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => f.write_str("Trace(no-op)"),
            Some(inner) => f
                .debug_struct("Trace")
                .field("id", &inner.id)
                .field("workflow_name", &inner.workflow_name)
                .finish_non_exhaustive(),
        }
    }
}

/// Keeps a trace current on this thread; finishes it when dropped.
///
/// Returned by [`Trace::start_as_current`]. Guards may be dropped in any order: each
/// removes only its own entry from the thread's context stack (see [`crate::context`]).
///
/// # Examples
///
/// ```
/// use codex_telemetry::{current_trace, TraceProvider};
///
/// let guard = TraceProvider::new().trace("wf").start_as_current();
/// assert_eq!(guard.trace().id(), current_trace().unwrap().id());
/// ```
///
/// A guard is an entry on this thread's context stack, so it is not `Send`: it cannot be
/// held across an `.await` in a spawned task or moved to another thread. Async code attaches
/// contexts to futures instead ([`InContextExt`](crate::context::InContextExt)), and a
/// lifecycle `Run` (module `lifecycle`) keeps its trace without a guard.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<codex_telemetry::TraceGuard>();
/// ```
#[must_use = "the trace stops being current, and finishes, when the guard is dropped"]
#[derive(Debug)]
pub struct TraceGuard {
    trace: Trace,
    context: Option<ContextGuard>,
}

impl TraceGuard {
    /// The trace this guard keeps current.
    ///
    /// ```
    /// use codex_telemetry::TraceProvider;
    ///
    /// let guard = TraceProvider::new().trace("wf").start_as_current();
    /// assert_eq!(guard.trace().workflow_name(), "wf");
    /// ```
    pub fn trace(&self) -> &Trace {
        &self.trace
    }
}

impl Drop for TraceGuard {
    fn drop(&mut self) {
        self.trace.finish_current(self.context.is_some());
        drop(self.context.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::memory::InMemoryProcessor;
    use crate::sdk::context::current_trace;
    use crate::sdk::processor::EventKind;
    use crate::sdk::provider::TraceProvider;

    fn recording() -> (TraceProvider, InMemoryProcessor) {
        let memory = InMemoryProcessor::new();
        (
            TraceProvider::builder()
                .with_processor(memory.clone())
                .build(),
            memory,
        )
    }

    fn kinds(memory: &InMemoryProcessor) -> Vec<EventKind> {
        memory.events().iter().map(|e| e.kind).collect()
    }

    #[test]
    fn racing_starts_make_the_trace_current_once() {
        const THREADS: usize = 8;
        let (provider, memory) = recording();
        let trace = provider.trace("wf");
        let barrier = std::sync::Barrier::new(THREADS);
        let made_current = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        trace.start_for_current()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .filter(|&current| current)
                .count()
        });
        assert_eq!(made_current, 1);
        assert_eq!(kinds(&memory), [EventKind::TraceStart]);
    }

    #[test]
    fn export_is_identical_at_start_and_end() {
        let (provider, memory) = recording();
        let metadata = JsonMap::from_iter([("k".to_string(), serde_json::json!("v"))]);
        drop(
            provider
                .trace(
                    TraceOptions::new("wf")
                        .with_group_id("g")
                        .with_metadata(metadata),
                )
                .start_as_current(),
        );
        let events = memory.events();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].data, events[1].data);
        let keys: Vec<&str> = events[0]
            .data
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            ["object", "id", "workflow_name", "group_id", "metadata"]
        );
    }

    #[test]
    fn noop_trace_is_current_but_silent() {
        let (provider, memory) = recording();
        let trace = provider.trace(TraceOptions::new("wf").with_disabled(true));
        {
            let _guard = trace.start_as_current();
            assert!(current_trace().unwrap().is_noop());
        }
        assert!(current_trace().is_none());
        assert!(memory.events().is_empty());
    }

    #[test]
    fn restarting_a_started_trace_does_not_make_it_current() {
        let (provider, memory) = recording();
        let trace = provider.trace("wf");
        trace.start();
        {
            let _guard = trace.start_as_current();
            assert!(current_trace().is_none());
        }
        assert_eq!(kinds(&memory), [EventKind::TraceStart, EventKind::TraceEnd]);
    }

    #[test]
    fn entering_a_current_trace_twice_keeps_the_first_guard_in_charge() {
        let (provider, memory) = recording();
        let trace = provider.trace("wf");
        let outer = trace.start_as_current();
        let inner = trace.start_as_current();
        assert_eq!(current_trace().unwrap().id(), trace.id());
        drop(inner); // finishes the trace (as Python's second `__exit__` would)
        assert_eq!(current_trace().unwrap().id(), trace.id());
        drop(outer);
        assert!(current_trace().is_none());
        assert_eq!(kinds(&memory), [EventKind::TraceStart, EventKind::TraceEnd]);
    }

    #[test]
    fn debug_shows_id_and_name() {
        assert_eq!(format!("{:?}", Trace::noop()), "Trace(no-op)");
        let trace = TraceProvider::new().trace(TraceOptions::new("wf").with_trace_id("trace_1"));
        assert_eq!(
            format!("{trace:?}"),
            r#"Trace { id: "trace_1", workflow_name: "wf", .. }"#
        );
    }
}
