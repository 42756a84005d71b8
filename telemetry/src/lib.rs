//! Agent telemetry that reproduces the tracing output of the OpenAI Agents SDK for Python
//! (`openai-agents` 0.25.0, [`PYTHON_CLIENT_VERSION`]): the same traces and spans, exported with the same JSON keys in
//! the same order, the same event order, and the same `openai.agents` log lines.
//!
//! # The model
//!
//! * A [`TraceProvider`] creates [`Trace`]s and spans ([`TypedSpan`], untyped [`Span`]) and
//!   dispatches their start and end events, synchronously and in registration order, to
//!   [`TracingProcessor`]s. Ids come from an [`IdGenerator`] and timestamps from a
//!   [`Clock`], both replaceable for tests.
//! * Span data is typed ([`AgentSpanData`], [`FunctionSpanData`], [`CustomSpanData`], …, see
//!   [`span_data`]) and mutable until the span ends; exports follow [`export`].
//! * The current trace and span live in a thread-local [`context::Context`] that follows
//!   work into threads and async tasks only through explicit helpers (see [`context`]).
//!   Guards that make a trace or span current are tied to their thread; the [`lifecycle`]
//!   handles are not: a run keeps its own context, so it can live in an async task.
//! * Disabled tracing, a missing trace or a no-op parent give no-op handles that allocate
//!   nothing, generate no id and read no clock.
//!
//! ```
//! use codex_telemetry::{
//!     AgentSpanData, EventKind, FunctionSpanData, InMemoryProcessor, SpanError, TraceOptions,
//!     TraceProvider,
//! };
//! use serde_json::json;
//!
//! let memory = InMemoryProcessor::new();
//! let provider = TraceProvider::builder().with_processor(memory.clone()).build();
//!
//! {
//!     let _trace = provider.trace(TraceOptions::new("Agent workflow").with_group_id("chat_1")).start_as_current();
//!     let agent = provider.span(AgentSpanData::new("weather"));
//!     let _agent = agent.start_as_current();
//!     agent.update(|a| a.tools = Some(vec!["get_weather".into()]));
//!
//!     let tool = provider.span(FunctionSpanData::new("get_weather"));
//!     let _tool = tool.start_as_current();
//!     tool.update(|f| f.input = Some(r#"{"city":"Paris"}"#.into()));
//!     tool.set_error(SpanError::new("Error running tool (non-fatal)"));
//! } // guards drop: tool ends, agent ends, trace ends
//!
//! let events = memory.events();
//! let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
//! assert_eq!(kinds, ["trace_start", "span_start", "span_start", "span_end", "span_end", "trace_end"]);
//! let tool_end = &events[3].data;
//! assert_eq!(tool_end["parent_id"], events[1].data["id"]);
//! assert_eq!(tool_end["error"], json!({"message": "Error running tool (non-fatal)", "data": null}));
//! assert_eq!(events[4].data["span_data"]["tools"], json!(["get_weather"]));
//! ```
//!
//! # Agent runs
//!
//! On top of this core, the [`lifecycle`] API is what an agent SDK calls while it runs
//! agents ([`lifecycle::Runner`], [`lifecycle::Run`], [`lifecycle::Turn`],
//! [`lifecycle::ModelCall`], [`lifecycle::ToolBatch`]): it carries the Python client's
//! conventions (task and turn spans, start vs end payloads, error placement and redaction,
//! usage, log lines, [`hooks`] in Python's order), configured by [`config`] with the Python
//! client's environment variables. The handles are `Send` and `Sync`, for async SDKs (see
//! [Threads and async](lifecycle#threads-and-async)).
//!
//! # Logging
//!
//! Log lines are [`tracing`] events with target [`LOG_TARGET`] (`openai.agents`, the
//! Python logger's name), at Python's levels, with Python's exact messages, emitted at the
//! same points relative to the processor events, each carrying the current trace and span
//! ids as fields (see [`logging`]). Nothing is printed unless the host installs a
//! subscriber.
//!
//! # Features
//!
//! * `tokio`: `context::spawn_task` and `context::spawn_blocking`, which carry the current
//!   context into tokio tasks. Without it, [`context::InContextExt`] works with any
//!   executor.

#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

// The layers of `src/`, lowest first (README, "Layers"): a folder imports only from the
// folders of the groups before its own. Below them, every public path, re-exported where users
// have always imported it.

// 0, 1: the model, which depends on nothing, and the SDK core over it.
mod model;
mod sdk;

// 2: the Codex events and the concrete processors.
pub mod events;
mod processors;

// 3: the agent-run API, the OTLP export, the subscribers.
pub mod lifecycle;
#[cfg(feature = "otlp")]
pub mod otel;
mod subscriber;

pub use lifecycle::{hooks, usage};
pub use model::{config, export, pyjson, pyrepr, scrub, span_data};
pub use processors::batch;
pub use sdk::log as logging;
pub use sdk::{context, propagation};
pub use subscriber::capture as testing;
pub use subscriber::logger;

pub use lifecycle::errors::{CallModelError, CallToolError, RunAgentError};
pub use model::clock::{Clock, ConvertTimestampError, ManualClock, SystemClock, Timestamp};
pub use model::ids::{IdGenerator, RandomIdGenerator, SequentialIdGenerator};
pub use model::span_data::{
    AgentSpanData, CustomSpanData, FunctionSpanData, GenerationSpanData, GuardrailSpanData,
    HandoffSpanData, JsonMap, McpListToolsSpanData, ResponseSpanData, SpanData, SpanDataKind,
    TaskSpanData, TurnSpanData,
};
pub use model::span_error::SpanError;
pub use processors::json_lines::JsonLinesProcessor;
pub use processors::memory::{InMemoryProcessor, RecordedEvent};
pub use sdk::context::{current_span, current_trace};
pub use sdk::processor::{EventKind, TracingProcessor};
pub use sdk::provider::{
    TraceProvider, TraceProviderBuilder, global_provider, set_global_provider, span, trace,
};
pub use sdk::span::{Span, SpanGuard, SpanOptions, TypedSpan};
pub use sdk::trace::{Trace, TraceGuard, TraceOptions};

/// The release of the Python client (`openai-agents`) whose observable output this crate
/// follows: its traces, spans, log lines and hooks are held to that release's by the parity
/// harness, whose pinned client a test ties to this constant.
///
/// # Examples
///
/// ```
/// assert_eq!(codex_telemetry::PYTHON_CLIENT_VERSION, "0.25.0");
/// ```
pub const PYTHON_CLIENT_VERSION: &str = "0.25.0";

/// The target of every log event of this crate: the Python client's logger name.
///
/// # Examples
///
/// ```
/// assert_eq!(codex_telemetry::LOG_TARGET, "openai.agents");
/// ```
pub const LOG_TARGET: &str = "openai.agents";

/// Runs the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
