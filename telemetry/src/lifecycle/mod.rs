//! The agent-run lifecycle: the calls an agent SDK makes while it runs agents, and the
//! Python client's telemetry conventions they carry.
//!
//! The SDK keeps doing the work (calling the model, running tools, deciding what an output
//! means for its types); at each step it tells the lifecycle API, which produces what the
//! Python client (`openai-agents` 0.24.0) produces at that step: the spans with their start
//! and end payloads, error placement and redaction, usage on task and turn spans, the
//! `openai.agents` log lines at the same positions, and the [hooks] in the same
//! order.
//!
//! | SDK step | call | what it emits |
//! |---|---|---|
//! | run starts | [`Runner::start_run`] | trace (unless one is current; a no-op one when disabled), task span |
//! | agent takes over | [`Run::start_agent`] | agent span (`tools`/`handoffs` `[]` until its model call) |
//! | turn starts | [`Run::start_turn`] | max-turns check, `Running agent X (turn N)`, turn span, agent-start hooks |
//! | input guardrails | [`Turn::run_input_guardrails`] | guardrail spans; tripwire error on the turn (streamed: the agent) |
//! | model call | [`Turn::start_model_call`], [`ModelCall::finish`] / [`ModelCall::fail`] | LLM hooks, generation span, usage, `Processing output item …`, `Tool not found` |
//! | tool calls | [`Turn::start_tools`], [`ToolBatch::invoke`], [`ToolBatch::finish`] | function spans, tool hooks, tool log lines, default failure handler |
//! | handoff | [`Turn::handoff`] | handoff span, handoff hooks, `Multiple handoffs requested` |
//! | final output | [`Turn::final_output`], [`Turn::invalid_final_output`] | agent-end hooks / `Invalid JSON provided` |
//! | turn ends | [`Turn::end`] | turn usage, streamed `Turn N complete, next_step type=…` |
//! | output guardrails | [`Run::run_output_guardrails`] | guardrail spans; tripwire error on the agent |
//! | run ends | [`Run::finish`] | `Error in agent run`, agent/task/trace ends, task usage |
//! | calls wait for approval | [`ToolCallRequest::awaiting_approval`], [`Run::interrupt`], [`Runner::resume_run`] | see [`RunState`]: pending function spans, the interrupted end, the reattached trace of the resumed run |
//!
//! A whole run, as an SDK's loop would drive it (the scripted "model" answers with a tool
//! call, then with text):
//!
//! ```
//! use codex_telemetry::config::{EnvConfig, RunConfig};
//! use codex_telemetry::lifecycle::{AgentInfo, Item, ModelCallOptions, ModelResponse, RunOptions, Runner, ToolInfo};
//! use codex_telemetry::usage::Usage;
//! use codex_telemetry::{InMemoryProcessor, RunAgentError, TraceProvider};
//! use serde_json::{json, Value};
//!
//! let memory = InMemoryProcessor::new();
//! let env = EnvConfig::from_process_env();
//! let provider = TraceProvider::builder()
//!     .with_processor(memory.clone())
//!     .with_disabled(env.tracing_disabled())
//!     .build();
//! let runner = Runner::new(provider, env.clone());
//!
//! let agent = AgentInfo::new("weather").with_tool(ToolInfo::new("get_weather").with_parameters(["city"]));
//! let mut script = vec![
//!     vec![Item::function_call("get_weather", "call_1", r#"{"city":"Paris"}"#)],
//!     vec![Item::assistant_message("It is sunny in Paris.")],
//! ]
//! .into_iter();
//!
//! let mut run = runner.start_run(
//!     RunOptions::new()
//!         .with_config(RunConfig::from_env(&env))
//!         .with_input(vec![Item::user_message("What is the weather in Paris?")]),
//! );
//! run.start_agent(&agent);
//! let outcome = (|| -> Result<Value, RunAgentError> {
//!     loop {
//!         let mut turn = run.start_turn()?;
//!         let call = turn.start_model_call(ModelCallOptions::new());
//!         let response = ModelResponse::new(script.next().unwrap())
//!             .with_usage(Usage { requests: 1, ..Usage::default() });
//!         let processed = call.finish(response)?;
//!         if processed.has_tools_or_handoffs() {
//!             let mut tools = turn.start_tools(processed.tool_calls());
//!             for i in 0..tools.len() {
//!                 tools.invoke(i, |args| Ok(json!(format!("sunny in {}", args["city"].as_str().unwrap()))))?;
//!             }
//!             tools.finish();
//!             turn.end();
//!             continue;
//!         }
//!         let output = json!(processed.final_text().unwrap_or(""));
//!         turn.final_output(&output);
//!         turn.end();
//!         return Ok(output);
//!     }
//! })();
//! assert_eq!(run.finish(outcome).unwrap(), "It is sunny in Paris.");
//!
//! let task_end = memory.events().into_iter().rev().nth(1).unwrap();
//! assert_eq!(task_end.data["span_data"]["data"]["usage"]["requests"], 2);
//! ```
//!
//! # Threads and async
//!
//! A [`Run`] keeps its own [`Context`](crate::context::Context) (its trace and open spans
//! over the caller's context; Python keeps them in the run task's context variables) and
//! makes it current on the calling thread only for the duration of each lifecycle call. So
//! the handles ([`Run`], [`Turn`], [`ModelCall`], [`ToolBatch`]) are `Send` and `Sync`: an
//! async SDK holds them across `.await`s inside `tokio::spawn`, and a run may move between
//! worker threads between calls. The caller's own context is never changed.
//!
//! How context reaches the SDK's work:
//!
//! * **Lifecycle calls**: spans they create, log lines and hooks see the run's current trace
//!   and span, whatever thread makes the call.
//! * **Tools**: [`ToolBatch::invoke`] runs a synchronous tool, and
//!   [`ToolBatch::invoke_async`] polls a tool's future, with its function span current. A
//!   tool that runs while the others settle (Python's concurrent tasks: an agent called as a
//!   tool beside plain calls) takes [`ToolBatch::begin_invocation`] /
//!   [`ToolBatch::end_invocation`], the others [`ToolBatch::complete`] and
//!   [`ToolBatch::end_span`] at the points the client's tasks reach them.
//! * **Everything else** (the model request, nested spans, work on other threads or tasks):
//!   take the context from [`Run::context`], [`Turn::context`], [`ModelCall::context`] or
//!   [`ToolBatch::context`], and [`attach`](crate::context::Context::attach) /
//!   [`run`](crate::context::Context::run) it, or give it to a future with
//!   [`in_context`](crate::context::InContextExt::in_context). Between calls the thread's
//!   current context is the caller's, not the run's.
//!
//! ```
//! use codex_telemetry::config::EnvConfig;
//! use codex_telemetry::context::InContextExt;
//! use codex_telemetry::lifecycle::{AgentInfo, Item, ModelCallOptions, ModelResponse, RunOptions, Runner};
//! use codex_telemetry::{current_span, InMemoryProcessor, TraceProvider};
//! use serde_json::json;
//!
//! let memory = InMemoryProcessor::new();
//! let runner = Runner::new(TraceProvider::builder().with_processor(memory.clone()).build(), EnvConfig::default());
//! let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
//!
//! let output = runtime.block_on(async move {
//!     tokio::spawn(async move {
//!         let mut run = runner.start_run(RunOptions::new());
//!         run.start_agent(&AgentInfo::new("assistant"));
//!         let mut turn = run.start_turn().unwrap();
//!         let call = turn.start_model_call(ModelCallOptions::new());
//!         // The model request runs in the call's context, across awaits and threads.
//!         let response = async {
//!             tokio::task::yield_now().await;
//!             assert_eq!(current_span().unwrap().data().unwrap().span_type(), "generation");
//!             ModelResponse::new(vec![Item::assistant_message("Hello.")])
//!         }
//!         .in_context(call.context())
//!         .await;
//!         let processed = call.finish(response).unwrap();
//!         let output = json!(processed.final_text().unwrap_or(""));
//!         turn.final_output(&output);
//!         turn.end();
//!         run.finish(Ok(output))
//!     })
//!     .await
//!     .unwrap()
//! });
//! assert_eq!(output.unwrap(), "Hello.");
//! assert_eq!(memory.events().len(), 10);
//! ```
//!
//! # What the SDK decides
//!
//! The lifecycle does not parse tool arguments against schemas or validate structured
//! output: the SDK does, and reports the outcome ([`ToolBatch::invoke`]'s closure result,
//! [`Turn::invalid_final_output`]). It also renders values the way Python would where the
//! Python client shows them (`str()` of tool results, see [`crate::pyrepr`]).

mod agent;
mod approvals;
mod decisions;
pub(crate) mod errors;
mod guardrails;
pub mod hooks;
mod items;
mod run;
mod run_context;
mod state;
mod tool_info;
mod tools;
mod turn;
pub mod usage;

pub use agent::{AgentInfo, HandoffInfo, TEXT_OUTPUT_TYPE, default_handoff_tool_name};
pub use approvals::RunState;
pub use decisions::{Approval, DEFAULT_REJECTION_MESSAGE};
pub use items::{
    HandoffRequest, Item, ModelResponse, ProcessedResponse, ToolApproval, ToolCallRequest,
};
pub use run::{DEFAULT_MAX_TURNS, Run, RunOptions, Runner};
pub use tool_info::{
    DEFAULT_TOOL_ERROR_OUTPUT, FailureHandler, McpListing, ToolGuardrail, ToolGuardrailDecision,
    ToolInfo,
};
pub use tools::{Invocation, McpToolResult, ToolBatch};
pub use turn::{ModelCall, ModelCallOptions, Turn};
