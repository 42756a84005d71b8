//! Function tool calls: function spans, tool hooks, invocation logs and the default
//! failure handler.

use std::fmt;
use std::future::Future;

use serde_json::{Value, json};

use super::errors::{CallToolError, RunAgentError};
use super::items::{Item, ToolApproval, ToolCallRequest};
use super::state::RunCore;
use super::tool_info::{FailureHandler, ToolGuardrailDecision, ToolInfo, first_objection};
use super::usage::Usage;
use crate::events::{EventFields, EventTimer, Namespace};
use crate::model::pyjson::json_decode_error;
use crate::model::pyrepr::{pydantic_missing_fields_error, python_repr, python_str};
use crate::model::span_data::{FunctionSpanData, JsonMap};
use crate::model::span_error::SpanError;
use crate::sdk::context::{Context, InContextExt};
use crate::sdk::log::{agents_debug, agents_error, agents_warn};
use crate::sdk::span::TypedSpan;

/// A result an output guardrail objected to: its message as the result (`reject_content`),
/// or the tripwire that ends the run (`raise_exception`).
fn output_objected(
    call: &PendingCall,
    policy: Policy,
    objection: &ToolGuardrailDecision,
) -> Result<CallResult, RunAgentError> {
    match objection {
        ToolGuardrailDecision::RejectContent(message) => Ok(CallResult {
            text: message.clone(),
            is_none: false,
            outcome: "rejected_by_guardrail",
        }),
        _ => Err(guardrail_tripwire(call, true, policy.sensitive)),
    }
}

/// A tool guardrail's tripwire (on the call's `output` or input), with `Error running tool` on
/// the call's span.
fn guardrail_tripwire(call: &PendingCall, output: bool, sensitive: bool) -> RunAgentError {
    let error = RunAgentError::tool_guardrail_tripwire(output);
    call.span
        .set_error(SpanError::new("Error running tool").with_data(tool_error(
            call.request.tool().name(),
            sensitive.then_some(error.message()),
        )));
    error
}

/// The tool's output guardrails on a result (Python runs them on what the tool, or its
/// failure handler, returned).
fn guard_output(
    call: &PendingCall,
    policy: Policy,
    result: Result<CallResult, RunAgentError>,
) -> Result<CallResult, RunAgentError> {
    let result = result?;
    match first_objection(call.request.tool().output_guardrails(), &result.text) {
        Some(objection) => output_objected(call, policy, &objection),
        None => Ok(result),
    }
}

/// The error detail function spans carry for a failed tool: the default failure handler
/// always redacts, even with sensitive data on.
pub(crate) const REDACTED_TOOL_ERROR: &str = "Tool execution failed. Error details are redacted.";

/// What an MCP server's tool returned ([`ToolBatch::invoke_mcp`]): the value the model and
/// the hooks get (its `str()`), and the Python repr of the server's result object, which the
/// client logs when tool data is logged.
#[derive(Debug, Clone, PartialEq)]
pub struct McpToolResult {
    value: Value,
    repr: String,
}

impl McpToolResult {
    /// `value`, whose server result object prints as `repr`.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::McpToolResult;
    ///
    /// let _result = McpToolResult::new(serde_json::json!([]), "content=[] is_error=False");
    /// ```
    pub fn new(value: Value, repr: impl Into<String>) -> Self {
        Self {
            value,
            repr: repr.into(),
        }
    }

    /// The value the model and the hooks get.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

/// The tool calls of one model response, run the way the Python client runs them.
///
/// The Python client runs a response's tool calls as concurrent tasks, and the events come
/// in phases; a batch reproduces them:
///
/// 1. [`Turn::start_tools`](super::Turn::start_tools): one `function` span per call, in
///    call order (children of the turn span, `input`/`output` `null` at start), then for
///    each call `run.on_tool_start`, `agent.on_tool_start`.
/// 2. [`invoke`](ToolBatch::invoke) each call: `Invoking tool X`, the tool runs with its
///    function span current, `Tool X completed.` — or, when it fails or its arguments are
///    not a JSON object, the default failure handler: `Tool X failed`, the span error
///    `Error running tool (non-fatal)` `{"tool_name", "error": "Tool execution failed. Error
///    details are redacted."}`, and [`DEFAULT_TOOL_ERROR_OUTPUT`](super::DEFAULT_TOOL_ERROR_OUTPUT) as the result.
/// 3. [`finish`](ToolBatch::finish): for each call `run.on_tool_end`, `agent.on_tool_end`
///    with Python's `str()` of the result, then the spans end with `input` (the raw
///    arguments) and `output` (`str()` of the result) when sensitive data is on, and the
///    results join the conversation.
///
/// With tool data logging on (`OPENAI_AGENTS_DONT_LOG_TOOL_DATA=0`) the lines carry data:
/// `Invoking tool X with input {…}`, `Tool call args: [...], kwargs: {}`, `Tool X returned
/// …`, and an ERROR `Tool X failed: {input} {error}`.
///
/// A tool runs in its call's [`context`](ToolBatch::context) (its function span current):
/// [`invoke`](ToolBatch::invoke) for a synchronous tool, [`invoke_async`](ToolBatch::invoke_async)
/// for a future, polled in that context wherever it runs. A batch is `Send` and `Sync`.
///
/// ```
/// use codex_telemetry::config::EnvConfig;
/// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner, ToolCallRequest, ToolInfo};
/// use codex_telemetry::{InMemoryProcessor, CallToolError, TraceProvider};
/// use serde_json::json;
///
/// let memory = InMemoryProcessor::new();
/// let runner = Runner::new(TraceProvider::builder().with_processor(memory.clone()).build(), EnvConfig::default());
/// let weather = ToolInfo::new("get_weather").with_parameters(["city"]);
/// let time = ToolInfo::new("get_time").with_parameters(["city"]);
/// let mut run = runner.start_run(RunOptions::new());
/// run.start_agent(&AgentInfo::new("travel").with_tool(weather.clone()).with_tool(time.clone()));
/// let mut turn = run.start_turn().unwrap();
/// let calls = [
///     ToolCallRequest::new(weather, "call_1", r#"{"city":"Tokyo"}"#),
///     ToolCallRequest::new(time, "call_2", r#"{"city":"Tokyo"}"#),
/// ];
/// let mut batch = turn.start_tools(&calls);
/// batch.invoke(0, |_| Ok(json!("rain in Tokyo"))).unwrap();
/// batch.invoke(1, |_| Err(CallToolError::new("clock down"))).unwrap(); // handled: the default handler
/// batch.finish();
/// let ends: Vec<_> = memory.events().into_iter().filter(|e| e.data["span_data"]["type"] == "function").skip(2).collect();
/// assert_eq!(ends[0].data["span_data"]["output"], "rain in Tokyo");
/// assert_eq!(ends[1].data["error"]["message"], "Error running tool (non-fatal)");
/// ```
pub struct ToolBatch<'turn> {
    run: &'turn mut RunCore,
    /// Emptied when the batch closes.
    calls: Vec<PendingCall>,
    /// A call whose input guardrail raised as the batch started, and its error: the other
    /// calls were cancelled before they ran (Python's tasks).
    cancelled: Option<(usize, RunAgentError)>,
}

struct PendingCall {
    request: ToolCallRequest,
    span: TypedSpan<FunctionSpanData>,
    /// The tool's result (the failure handler's output after a failure); `None` until
    /// invoked.
    result: Option<CallResult>,
    /// The call failed without a failure handler: its span has ended and the run ends.
    raised: bool,
    /// What the tool's input guardrails decided, when not `Allow`: the tool does not run and
    /// no tool hooks are called for it.
    /// Rejected before it ran (a human decision), or waiting for one: its span has ended,
    /// no hooks; a rejected call's result is the rejection text.
    held: bool,
    /// `codex.tool.start`'s timer.
    event: Option<EventTimer>,
    /// Its end hooks were called ahead of the batch's end ([`ToolBatch::complete`]).
    completed: bool,
    /// Its span ended ahead of the batch's end ([`ToolBatch::end_span`]).
    ended: bool,
}

/// What shapes a call's logs and span errors.
#[derive(Clone, Copy)]
struct Policy {
    dont_log_tool_data: bool,
    sensitive: bool,
}

/// A tool's result, rendered once.
struct CallResult {
    /// Python's `str()` of the result: what the model, the end hooks, the log line and
    /// (with sensitive data) the span's `output` get.
    text: String,
    /// Whether the result is `None`, which leaves the span's `output` `null`.
    is_none: bool,
    /// What the call came to, for `codex.tool.stop`'s `outcome`.
    outcome: &'static str,
}

impl CallResult {
    fn new(result: &Value) -> Self {
        Self {
            text: python_str(result),
            is_none: result.is_null(),
            outcome: "success",
        }
    }
}

impl<'turn> ToolBatch<'turn> {
    pub(super) fn start(run: &'turn mut RunCore, calls: &[ToolCallRequest]) -> Self {
        let provider = run.provider().clone();
        let sensitive = run.config().trace_include_sensitive_data;
        let agent = run.stint().agent().name().to_owned();
        let requests = calls;
        let mut calls: Vec<PendingCall> = Vec::with_capacity(requests.len());
        let mut cancelled = None;
        for request in requests {
            let span = provider.span(FunctionSpanData::new(request.tool().name()));
            span.start();
            let event = tool_event(run, &agent, request, &span);
            let mut call = PendingCall {
                request: request.clone(),
                span,
                result: None,
                raised: false,
                held: false,
                event,
                completed: false,
                ended: false,
            };
            // A call rejected by a human decision, or waiting for one, ends at once, before
            // the next call's span starts: Python settles it without suspending, while the
            // others wait on their start hooks.
            if let Some(message) = request.rejection() {
                let (tool, call_id) = (request.tool().name(), request.call_id());
                call.span
                    .set_error(rejection_error(tool, call_id, message, sensitive));
                end_call_event(run, &mut call, "rejected");
                end_held_span(&call.span, request, Some(message), sensitive);
                call.result = Some(CallResult::new(&Value::String(message.to_owned())));
                call.held = true;
            } else if request.is_awaiting_approval() {
                end_call_event(run, &mut call, "awaiting_approval");
                let approval = call_context(run, &call).run(|| {
                    let fields = EventFields::new()
                        .agent(agent.clone())
                        .call(request.tool().name(), request.call_id());
                    run.events().start(Namespace::Approval, fields).into_token()
                });
                end_held_span(&call.span, request, None, sensitive);
                let requested_at = run.events().now();
                run.push_pending_approval(ToolApproval::new(
                    agent.clone(),
                    request,
                    approval,
                    requested_at,
                ));
                call.held = true;
            } else if let Some(objection) = call_context(run, &call)
                .run(|| first_objection(request.tool().input_guardrails(), request.arguments()))
            {
                // Python checks a call's input guardrails as its task starts: an objection
                // settles the call before the next call's span starts.
                if let Some(error) = settle_input_objection(run, &mut call, &objection, sensitive) {
                    cancelled.get_or_insert((calls.len(), error));
                }
                call.held = true;
            }
            calls.push(call);
        }
        for call in calls.iter_mut().filter(|call| !call.held) {
            let tool = call.request.tool();
            call_context(run, call).run(|| {
                run.run_then_agent_hooks(
                    |hooks, context, agent| hooks.on_tool_start(context, agent, tool),
                    |hooks, context, agent| hooks.on_tool_start(context, agent, tool),
                );
            });
        }
        Self {
            run,
            calls,
            cancelled,
        }
    }

    /// The number of calls.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// let mut turn = run.start_turn().unwrap();
    /// assert!(turn.start_tools(&[]).is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether the batch has no calls.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// let mut turn = run.start_turn().unwrap();
    /// assert_eq!(turn.start_tools(&[]).len(), 0);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The context of call `index`: its function span current (over the turn's context).
    /// [`invoke`](ToolBatch::invoke) runs the tool in it; attach it, or give it to futures
    /// with [`in_context`](crate::context::InContextExt::in_context), for work the tool
    /// hands to other threads or tasks, to parent their spans and log lines to the call.
    ///
    /// # Panics
    ///
    /// If `index` is out of range.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner, ToolCallRequest, ToolInfo};
    /// use codex_telemetry::{current_span, TraceProvider};
    ///
    /// let tool = ToolInfo::new("t");
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a").with_tool(tool.clone()));
    /// let mut turn = run.start_turn().unwrap();
    /// let batch = turn.start_tools(&[ToolCallRequest::new(tool, "c", "{}")]);
    /// let kind = batch.context(0).run(|| current_span().unwrap().data().unwrap().span_type());
    /// assert_eq!(kind, "function");
    /// ```
    pub fn context(&self, index: usize) -> Context {
        call_context(self.run, &self.calls[index])
    }

    /// Invokes call `index` with its function span current: parses the arguments (a JSON
    /// object; an empty string counts as `{}`), logs, runs `tool` on them, and records the
    /// result or applies the tool's [`FailureHandler`] (see the type docs). Returns the text
    /// the model receives.
    ///
    /// # Errors
    ///
    /// When the call fails and the tool has no failure handler ([`FailureHandler::None`]):
    /// its span gets `Error running tool` `{"tool_name", "error"}` (the detail redacted
    /// unless sensitive data is on) and gets no end hooks, and the returned error
    /// (`UserError: Error running tool X: …`, or the `ModelBehaviorError` of arguments that
    /// are not JSON) is the run's: invoke the response's other calls still (Python's other
    /// tasks run on), [`finish`](ToolBatch::finish) the batch (the failed call's span ends
    /// before the others'), then pass the error to [`Run::finish`](super::Run::finish).
    ///
    /// # Panics
    ///
    /// If `index` is out of range.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner, ToolCallRequest, ToolInfo, DEFAULT_TOOL_ERROR_OUTPUT};
    /// use codex_telemetry::TraceProvider;
    /// use serde_json::json;
    ///
    /// let tool = ToolInfo::new("get_time");
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a").with_tool(tool.clone()));
    /// let mut turn = run.start_turn().unwrap();
    /// let mut batch = turn.start_tools(&[
    ///     ToolCallRequest::new(tool.clone(), "c1", "{}"),
    ///     ToolCallRequest::new(tool, "c2", "{not json"),
    /// ]);
    /// assert_eq!(batch.invoke(0, |_| Ok(json!({"hour": 9, "minute": 30}))).unwrap(), "{'hour': 9, 'minute': 30}");
    /// assert_eq!(batch.invoke(1, |_| unreachable!()).unwrap(), DEFAULT_TOOL_ERROR_OUTPUT);
    /// ```
    pub fn invoke(
        &mut self,
        index: usize,
        tool: impl FnOnce(&JsonMap) -> Result<Value, CallToolError>,
    ) -> Result<String, RunAgentError> {
        self.invoke_with(index, |arguments| {
            tool(arguments).map(|value| (value, None))
        })
    }

    /// [`invoke`](ToolBatch::invoke) for a call of an MCP server's tool
    /// ([`ToolInfo::with_mcp_server`](super::ToolInfo::with_mcp_server)): `tool` returns the
    /// server's result with its Python repr, which the data-bearing line `MCP tool X returned
    /// …` shows when tool data is logged.
    ///
    /// # Errors
    ///
    /// As [`invoke`](ToolBatch::invoke).
    ///
    /// # Panics
    ///
    /// If `index` is out of range.
    pub fn invoke_mcp(
        &mut self,
        index: usize,
        tool: impl FnOnce(&JsonMap) -> Result<McpToolResult, CallToolError>,
    ) -> Result<String, RunAgentError> {
        self.invoke_with(index, |arguments| {
            tool(arguments).map(|result| (result.value, Some(result.repr)))
        })
    }

    /// [`invoke`](ToolBatch::invoke) with the result's repr for the data log line, if the
    /// tool has one of its own.
    fn invoke_with(
        &mut self,
        index: usize,
        tool: impl FnOnce(&JsonMap) -> Result<(Value, Option<String>), CallToolError>,
    ) -> Result<String, RunAgentError> {
        if let Some(outcome) = self.cancellation(index) {
            return outcome;
        }
        let context = self.context(index);
        let policy = self.policy();
        let call = &self.calls[index];
        if let Some(text) = rejected_text(call) {
            return Ok(text);
        }
        let result = context.run(|| match begin_call(&call.request, &call.span, policy) {
            Ok(arguments) => {
                let outcome = tool(&arguments);
                end_call(&call.request, &call.span, policy, outcome)
            }
            Err(failure) => failure,
        });
        let result = context.run(|| guard_output(call, policy, result));
        self.record(index, result)
    }

    /// After an input guardrail raised as the batch started: that call's error, and nothing
    /// for the others (cancelled before they ran: their spans end without output).
    fn cancellation(&self, index: usize) -> Option<Result<String, RunAgentError>> {
        let (raising, error) = self.cancelled.as_ref()?;
        Some(if *raising == index {
            Err(error.clone())
        } else {
            Ok(String::new())
        })
    }

    fn policy(&self) -> Policy {
        Policy {
            dont_log_tool_data: self.run.env().dont_log_tool_data(),
            sensitive: self.run.config().trace_include_sensitive_data,
        }
    }

    /// [`invoke`](ToolBatch::invoke) for an asynchronous tool: `tool` gets the parsed
    /// arguments and its future is polled with the call's function span current (on
    /// whatever thread polls it), between the same log lines. Executor-agnostic.
    ///
    /// The batch is borrowed until the tool completes, so calls run one after the other;
    /// their log lines and hooks come in call order, as with `invoke`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner, ToolCallRequest, ToolInfo};
    /// use codex_telemetry::{current_span, TraceProvider};
    /// use serde_json::json;
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context as Cx, Poll, Waker};
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut Cx::from_waker(Waker::noop())) { return v } }
    /// # }
    ///
    /// let tool = ToolInfo::new("lookup").with_parameters(["q"]);
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a").with_tool(tool.clone()));
    /// let mut turn = run.start_turn().unwrap();
    /// let mut batch = turn.start_tools(&[ToolCallRequest::new(tool, "c1", r#"{"q":"x"}"#)]);
    /// let function_id = batch.context(0).span().unwrap().id().to_owned();
    /// let text = block_on(batch.invoke_async(0, |args| async move {
    ///     // (an `.await` on the SDK's I/O would go here)
    ///     let seen = current_span().unwrap().id().to_owned();
    ///     Ok(json!(format!("{} from {seen}", args["q"].as_str().unwrap())))
    /// }))
    /// .unwrap();
    /// assert_eq!(text, format!("x from {function_id}"));
    /// batch.finish();
    /// ```
    pub async fn invoke_async<F, Fut>(
        &mut self,
        index: usize,
        tool: F,
    ) -> Result<String, RunAgentError>
    where
        F: FnOnce(JsonMap) -> Fut,
        Fut: Future<Output = Result<Value, CallToolError>>,
    {
        let invocation = match self.begin_invocation(index) {
            Ok(invocation) => invocation,
            Err(settled) => return settled,
        };
        let context = invocation.context.clone();
        let outcome = context
            .run(|| tool(invocation.arguments.clone()))
            .in_context(context.clone())
            .await;
        self.end_invocation(invocation, outcome)
    }

    /// The first half of [`invoke_async`](ToolBatch::invoke_async), for a tool that runs
    /// while the batch serves the response's other calls (Python runs each call as a task of
    /// its own; see [`complete`](ToolBatch::complete)): logs `Invoking tool X` and returns the
    /// parsed arguments and the call's context to run the tool in, or, when the call does not
    /// run (arguments it cannot take, a rejection, a cancelled batch), what `invoke_async`
    /// returns for it. Pass the tool's outcome to [`end_invocation`](ToolBatch::end_invocation).
    ///
    /// # Errors
    ///
    /// `Err` holds the settled call's result, as [`invoke`](ToolBatch::invoke) returns it.
    ///
    /// # Panics
    ///
    /// If `index` is out of range.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner, ToolCallRequest, ToolInfo};
    /// use codex_telemetry::TraceProvider;
    /// use serde_json::json;
    ///
    /// let (slow, quick) = (ToolInfo::new("slow"), ToolInfo::new("quick"));
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a").with_tool(slow.clone()).with_tool(quick.clone()));
    /// let mut turn = run.start_turn().unwrap();
    /// let mut batch = turn.start_tools(&[
    ///     ToolCallRequest::new(slow, "c1", "{}"),
    ///     ToolCallRequest::new(quick, "c2", "{}"),
    /// ]);
    /// let slow_call = batch.begin_invocation(0).unwrap();
    /// // While the slow tool works, the quick call runs and settles.
    /// batch.invoke(1, |_| Ok(json!("done"))).unwrap();
    /// batch.complete(1);
    /// batch.end_span(1);
    /// assert_eq!(batch.end_invocation(slow_call, Ok(json!("late"))).unwrap(), "late");
    /// batch.finish();
    /// ```
    pub fn begin_invocation(
        &mut self,
        index: usize,
    ) -> Result<Invocation, Result<String, RunAgentError>> {
        if let Some(outcome) = self.cancellation(index) {
            return Err(outcome);
        }
        let context = self.context(index);
        let policy = self.policy();
        let call = &self.calls[index];
        if let Some(text) = rejected_text(call) {
            return Err(Ok(text));
        }
        match context.run(|| begin_call(&call.request, &call.span, policy)) {
            Ok(arguments) => Ok(Invocation {
                index,
                arguments,
                context,
            }),
            Err(failure) => {
                let result = context.run(|| guard_output(call, policy, failure));
                Err(self.record(index, result))
            }
        }
    }

    /// The second half of [`begin_invocation`](ToolBatch::begin_invocation): the tool's
    /// outcome logged and recorded as [`invoke_async`](ToolBatch::invoke_async) records it.
    ///
    /// # Errors
    ///
    /// As [`invoke`](ToolBatch::invoke).
    pub fn end_invocation(
        &mut self,
        invocation: Invocation,
        outcome: Result<Value, CallToolError>,
    ) -> Result<String, RunAgentError> {
        let Invocation { index, context, .. } = invocation;
        let policy = self.policy();
        let call = &self.calls[index];
        let result = context.run(|| {
            end_call(
                &call.request,
                &call.span,
                policy,
                outcome.map(|value| (value, None)),
            )
        });
        let result = context.run(|| guard_output(call, policy, result));
        self.record(index, result)
    }

    /// Calls call `index`'s end hooks now (`run.on_tool_end`, `agent.on_tool_end`), ahead of
    /// [`finish`](ToolBatch::finish), which then skips them: Python's task of that call goes
    /// on while another call of the response (an agent called as a tool) still runs. A call
    /// without a result, or one that raised, has no end hooks.
    ///
    /// # Panics
    ///
    /// If `index` is out of range.
    pub fn complete(&mut self, index: usize) {
        let _attached = self.run.attach();
        let run = &*self.run;
        let call = &mut self.calls[index];
        if call.held || call.raised || call.completed || call.result.is_none() {
            return;
        }
        call_end_hooks(run, call);
        call.completed = true;
    }

    /// Ends call `index`'s function span now, as [`finish`](ToolBatch::finish) would (the
    /// result joins the conversation at `finish`, in call order). For a call whose end hooks
    /// ran ([`complete`](ToolBatch::complete)); others are left to `finish`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range.
    pub fn end_span(&mut self, index: usize) {
        let _attached = self.run.attach();
        let run = &*self.run;
        let sensitive = run.config().trace_include_sensitive_data;
        let call = &mut self.calls[index];
        if !call.completed || call.ended {
            return;
        }
        finish_call_span(run, call, sensitive);
        call.ended = true;
    }

    /// Counts `usage` of work a call did (the nested run of an agent tool) in the calling
    /// run, as Python's nested run shares its context's usage: it shows in the current turn's
    /// and the task's usage.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::usage::Usage;
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// let mut turn = run.start_turn().unwrap();
    /// let mut batch = turn.start_tools(&[]);
    /// batch.add_usage(&Usage { requests: 1, ..Usage::default() });
    /// batch.finish();
    /// turn.end();
    /// assert_eq!(run.usage().requests, 1);
    /// ```
    pub fn add_usage(&mut self, usage: &Usage) {
        self.run.add_usage(usage);
    }

    /// The tail of [`invoke`](ToolBatch::invoke) and
    /// [`invoke_async`](ToolBatch::invoke_async): keeps call `index`'s result for
    /// [`finish`](ToolBatch::finish) and returns its text, or ends the call's span and
    /// returns the error that ends the run.
    fn record(
        &mut self,
        index: usize,
        result: Result<CallResult, RunAgentError>,
    ) -> Result<String, RunAgentError> {
        match result {
            Ok(result) => {
                let text = result.text.clone();
                self.calls[index].result = Some(result);
                Ok(text)
            }
            Err(error) => {
                // Python leaves the function span as the error propagates: no end hooks,
                // `input` only (with sensitive data on).
                let _attached = self.run.attach();
                if let Some(event) = self.calls[index].event.take() {
                    let message = self.run.error_detail(error.message());
                    call_context(self.run, &self.calls[index])
                        .run(|| event.exception(error.name(), message, EventFields::new()));
                }
                let call = &self.calls[index];
                if self.run.config().trace_include_sensitive_data {
                    let input = call.request.arguments().to_owned();
                    call.span.update(|data| data.input = Some(input));
                }
                // The span ends when the batch closes: the response's other calls still run
                // (Python's other tasks), and their end hooks come first.
                self.calls[index].raised = true;
                Err(error)
            }
        }
    }

    /// Calls the end hooks, ends the function spans and adds the results to the
    /// conversation (see the type docs). A call never invoked ends with no output.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// let mut turn = run.start_turn().unwrap();
    /// turn.start_tools(&[]).finish();
    /// ```
    pub fn finish(mut self) {
        let _attached = self.run.attach();
        self.close();
    }

    /// Ends the batch, once: the calls are taken.
    fn close(&mut self) {
        let calls = std::mem::take(&mut self.calls);
        let run = &mut *self.run;
        // A batch that raises: the session keeps the calls that completed, with their results
        // (Python's partial tool results, saved before the error propagates).
        let failed = self.cancelled.is_some() || calls.iter().any(|call| call.raised);
        let completed: Vec<(String, String)> = calls
            .iter()
            .filter(|call| !call.raised && !call.held)
            .filter_map(|call| {
                let result = call.result.as_ref()?;
                Some((call.request.call_id().to_owned(), result.text.clone()))
            })
            .collect();
        for call in calls.iter().filter(|call| !call.held && !call.completed) {
            call_end_hooks(run, call);
        }
        // A call that raised ends first (the error leaves its task), then the others.
        for call in calls.iter().filter(|call| call.raised) {
            call.span.finish();
        }
        let sensitive = run.config().trace_include_sensitive_data;
        for mut call in calls {
            if call.raised {
                continue;
            }
            if call.held {
                // Its span ended when the batch started. The model gets a rejection's text;
                // a call waiting for approval has no output yet.
                if let Some(result) = call.result {
                    run.push_item(Item::function_call_output(
                        call.request.call_id(),
                        result.text,
                    ));
                }
                continue;
            }
            if !call.ended {
                finish_call_span(run, &mut call, sensitive);
            }
            let output = call.result.map(|result| result.text).unwrap_or_default();
            run.push_item(Item::function_call_output(call.request.call_id(), output));
        }
        if failed && run.has_session() {
            run.persist_completed_calls(&completed);
        }
    }
}

/// A call's end hooks (`run.on_tool_end`, then `agent.on_tool_end`) with its result's text, in
/// its context; none for a call without a result.
fn call_end_hooks(run: &RunCore, call: &PendingCall) {
    let Some(result) = &call.result else {
        return;
    };
    let (tool, text) = (call.request.tool(), result.text.as_str());
    call_context(run, call).run(|| {
        run.run_then_agent_hooks(
            |hooks, context, agent| hooks.on_tool_end(context, agent, tool, text),
            |hooks, context, agent| hooks.on_tool_end(context, agent, tool, text),
        );
    });
}

/// Ends a call's function span: `input` and `output` with sensitive data on, then
/// `codex.tool.stop`.
fn finish_call_span(run: &RunCore, call: &mut PendingCall, sensitive: bool) {
    if sensitive {
        let (input, output) = (
            call.request.arguments().to_owned(),
            call.result
                .as_ref()
                .filter(|result| !result.is_none)
                .map(|result| result.text.clone()),
        );
        call.span.update(|data| {
            data.input = Some(input);
            data.output = output;
        });
    }
    if let Some(event) = call.event.take() {
        let outcome = match &call.result {
            Some(result) => result.outcome,
            None => "not_invoked",
        };
        run.context()
            .with_span(call.span.clone().into_span())
            .run(|| event.stop(EventFields::new().outcome(outcome)));
    }
    call.span.finish();
}

/// A call whose tool runs while the batch serves the others
/// ([`ToolBatch::begin_invocation`]): its parsed arguments and its context (its function
/// span current), to run the tool in.
#[derive(Debug)]
pub struct Invocation {
    index: usize,
    arguments: JsonMap,
    context: Context,
}

impl Invocation {
    /// The parsed arguments.
    pub fn arguments(&self) -> &JsonMap {
        &self.arguments
    }

    /// The call's context: its function span current.
    pub fn context(&self) -> &Context {
        &self.context
    }
}

/// `codex.tool.start` for `request`, with its function span current.
fn tool_event(
    run: &RunCore,
    agent: &str,
    request: &ToolCallRequest,
    span: &TypedSpan<FunctionSpanData>,
) -> Option<EventTimer> {
    if !run.events().is_recording() {
        return None;
    }
    let tool = request.tool();
    let kind = if tool.is_agent_tool() {
        "agent"
    } else if tool.mcp_server().is_some() {
        "mcp"
    } else {
        "function"
    };
    let fields = EventFields {
        tool_kind: Some(kind),
        ..EventFields::new()
            .agent(agent)
            .call(tool.name(), request.call_id())
    };
    let context = run.context().with_span(span.clone().into_span());
    Some(context.run(|| run.events().start(Namespace::Tool, fields)))
}

/// `codex.tool.stop` of a call that does not run, with its span current.
fn end_call_event(run: &RunCore, call: &mut PendingCall, outcome: &'static str) {
    if let Some(event) = call.event.take() {
        call_context(run, call).run(|| event.stop(EventFields::new().outcome(outcome)));
    }
}

/// The span error of a call rejected before it ran (Python's rejection of a call a human
/// decision covers): the rejection text, or a fixed message without sensitive data.
fn rejection_error(tool: &str, call_id: &str, message: &str, sensitive: bool) -> SpanError {
    let mut data = JsonMap::new();
    data.insert("tool_name".into(), json!(tool));
    data.insert(
        "error".into(),
        json!(format!(
            "Tool execution for {call_id} was manually rejected by user."
        )),
    );
    SpanError::new(if sensitive {
        message
    } else {
        "Tool execution rejected"
    })
    .with_data(data)
}

/// Ends the span of a call that does not run: with its input (and a rejection's text as
/// output) when sensitive data is on.
fn end_held_span(
    span: &TypedSpan<FunctionSpanData>,
    request: &ToolCallRequest,
    output: Option<&str>,
    sensitive: bool,
) {
    if sensitive {
        let input = request.arguments().to_owned();
        let output = output.map(str::to_owned);
        span.update(|data| {
            data.input = Some(input);
            data.output = output;
        });
    }
    span.finish();
}

/// Settles a call whose input guardrail objected as the batch started: its span ends at
/// once, with the guardrail's message as the result (`reject_content`), or with the error the
/// run then raises (returned).
fn settle_input_objection(
    run: &RunCore,
    call: &mut PendingCall,
    objection: &ToolGuardrailDecision,
    sensitive: bool,
) -> Option<RunAgentError> {
    let request = call.request.clone();
    match objection {
        ToolGuardrailDecision::RejectContent(message) => {
            end_call_event(run, call, "rejected_by_guardrail");
            end_held_span(&call.span, &request, Some(message), sensitive);
            call.result = Some(CallResult {
                text: message.clone(),
                is_none: false,
                outcome: "rejected_by_guardrail",
            });
            None
        }
        _ => {
            let error = guardrail_tripwire(call, false, sensitive);
            if let Some(event) = call.event.take() {
                let message = run.error_detail(error.message());
                call_context(run, call)
                    .run(|| event.exception(error.name(), message, EventFields::new()));
            }
            end_held_span(&call.span, &request, None, sensitive);
            Some(error)
        }
    }
}

/// The text of a call that does not run (rejected: its message; waiting for approval:
/// empty): the batch does not run the tool.
fn rejected_text(call: &PendingCall) -> Option<String> {
    call.held.then(|| {
        call.result
            .as_ref()
            .map(|result| result.text.clone())
            .unwrap_or_default()
    })
}

/// The context of `call`: `run`'s, with the call's function span current.
fn call_context(run: &RunCore, call: &PendingCall) -> Context {
    run.context().with_span(call.span.clone().into_span())
}

impl Drop for ToolBatch<'_> {
    fn drop(&mut self) {
        if !self.calls.is_empty() {
            let _attached = self.run.attach();
            self.close();
        }
    }
}

impl fmt::Debug for ToolBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolBatch")
            .field(
                "calls",
                &self
                    .calls
                    .iter()
                    .map(|call| call.request.tool().name())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The first half of an invocation, in the call's context: Python's
/// `_on_invoke_tool_impl` up to the tool's call, wrapped in the default failure handler.
/// The arguments to call the tool with, or the failure handler's output.
fn begin_call(
    request: &ToolCallRequest,
    span: &TypedSpan<FunctionSpanData>,
    policy: Policy,
) -> Result<JsonMap, Result<CallResult, RunAgentError>> {
    let name = request.tool().name();
    let input = request.arguments();
    let dont_log_tool_data = policy.dont_log_tool_data;
    let arguments = match parse_arguments(name, input, dont_log_tool_data)
        .and_then(|arguments| validate_arguments(request.tool(), arguments, dont_log_tool_data))
    {
        Ok(arguments) => arguments,
        Err(failure) => return Err(failed(request, span, policy, failure.as_failure())),
    };
    if request.tool().mcp_server().is_some() {
        // MCP tools log from their own invoker, without the arguments line.
        if dont_log_tool_data {
            agents_debug!("Invoking MCP tool");
        } else {
            agents_debug!("Invoking MCP tool {name} with input {input}");
        }
    } else if dont_log_tool_data {
        agents_debug!("Invoking tool {name}");
    } else {
        agents_debug!("Invoking tool {name} with input {input}");
        // The arguments line is a function tool's invoker's; an agent tool has its own.
        if !request.tool().is_agent_tool() {
            agents_debug!(
                "Tool call args: {}, kwargs: {{}}",
                positional_args_repr(request, &arguments)
            );
        }
    }
    Ok(arguments)
}

/// Python's `repr()` of the positional arguments a tool is called with: the values of its
/// parameters, in order.
fn positional_args_repr(request: &ToolCallRequest, arguments: &JsonMap) -> String {
    let args: Vec<Value> = request
        .tool()
        .parameters()
        .iter()
        .filter_map(|parameter| arguments.get(parameter).cloned())
        .collect();
    python_repr(&Value::Array(args))
}

/// The second half of an invocation, in the call's context: the tool's outcome logged, or
/// the default failure handler. The result the model gets.
fn end_call(
    request: &ToolCallRequest,
    span: &TypedSpan<FunctionSpanData>,
    policy: Policy,
    outcome: Result<(Value, Option<String>), CallToolError>,
) -> Result<CallResult, RunAgentError> {
    let name = request.tool().name();
    match outcome {
        Ok((result, repr)) => {
            let result = CallResult::new(&result);
            // An agent tool's invoker is not a function tool's: it logs no completion line.
            // An MCP tool's logs the server's result object when tool data is logged, which
            // only an SDK holding it can print ([`ToolBatch::invoke_mcp`]).
            if request.tool().is_agent_tool() {
            } else if request.tool().mcp_server().is_some() {
                if policy.dont_log_tool_data {
                    agents_debug!("MCP tool completed.");
                } else if let Some(repr) = repr {
                    agents_debug!("MCP tool {name} returned {repr}");
                }
                if let Some(server) = request.tool().mcp_server() {
                    let mut data = JsonMap::new();
                    data.insert("server".into(), json!(server));
                    span.update(|function| function.mcp_data = Some(data));
                }
            } else if policy.dont_log_tool_data {
                agents_debug!("Tool {name} completed.");
            } else {
                agents_debug!("Tool {name} returned {}", result.text);
            }
            Ok(result)
        }
        Err(error) => {
            if let Some(server) = request.tool().mcp_server() {
                if policy.dont_log_tool_data {
                    agents_warn!("MCP tool returned an error.");
                } else {
                    let message = error.message();
                    agents_warn!(
                        "MCP tool {name} on server '{server}' returned an error: {message}"
                    );
                }
            }
            failed(request, span, policy, Failure::Tool(error.message()))
        }
    }
}

/// Why a call failed, with Python's `str()` of the exception.
#[derive(Clone, Copy)]
enum Failure<'a> {
    /// The arguments are not JSON (a `ModelBehaviorError` caused by `json`'s decode error).
    UndecodableArguments(&'a str),
    /// The arguments are JSON the tool does not take: not an object, or an object pydantic's
    /// validation of the parameters rejects (a `ModelBehaviorError`).
    InvalidArguments(&'a str),
    /// The tool raised.
    Tool(&'a str),
}

/// Arguments the tool cannot be called with: the `ModelBehaviorError`'s message.
struct ArgumentsError {
    message: String,
    undecodable: bool,
}

impl ArgumentsError {
    fn as_failure(&self) -> Failure<'_> {
        if self.undecodable {
            Failure::UndecodableArguments(&self.message)
        } else {
            Failure::InvalidArguments(&self.message)
        }
    }
}

/// Python's `_parse_function_tool_json_input`: the error is the message of the
/// `ModelBehaviorError` it raises.
fn parse_arguments(
    name: &str,
    input: &str,
    dont_log_tool_data: bool,
) -> Result<JsonMap, ArgumentsError> {
    let parsed = if input.is_empty() {
        Ok(Value::Object(JsonMap::new()))
    } else {
        serde_json::from_str::<Value>(input)
    };
    match parsed {
        Ok(Value::Object(arguments)) => Ok(arguments),
        Ok(_) => Err(ArgumentsError {
            message: format!("Invalid JSON input for tool {name}: expected a JSON object"),
            undecodable: false,
        }),
        Err(_) => {
            let message = format!("Invalid JSON input for tool {name}");
            let message = if dont_log_tool_data {
                message
            } else {
                format!("{message}: {input}")
            };
            agents_debug!("{message}");
            Err(ArgumentsError {
                message,
                undecodable: true,
            })
        }
    }
}

/// Python's validation of a function tool's arguments by its parameters' pydantic model
/// (`<tool>_args`): every declared parameter is required. The pydantic error is in the
/// message only when tool data is logged. Agent tools (their `input` string) and MCP tools
/// are validated by invokers of their own, which this does not model.
fn validate_arguments(
    tool: &ToolInfo,
    arguments: JsonMap,
    dont_log_tool_data: bool,
) -> Result<JsonMap, ArgumentsError> {
    if tool.is_agent_tool() || tool.mcp_server().is_some() {
        return Ok(arguments);
    }
    let missing: Vec<&str> = tool
        .parameters()
        .iter()
        .map(String::as_str)
        .filter(|parameter| !arguments.contains_key(*parameter))
        .collect();
    if missing.is_empty() {
        return Ok(arguments);
    }
    let name = tool.name();
    let message = format!("Invalid JSON input for tool {name}");
    let message = if dont_log_tool_data {
        message
    } else {
        let error = pydantic_missing_fields_error(&format!("{name}_args"), &missing, &arguments);
        format!("{message}: {error}")
    };
    Err(ArgumentsError {
        message,
        undecodable: false,
    })
}

/// The default failure handler: span error, failure log, and the output the model sees.
/// A failed call, handled as the tool's [`FailureHandler`] says (Python's
/// `_FailureHandlingFunctionToolInvoker` and the tool execution's `except`): the handler's
/// output as the result, or the error that ends the run.
fn failed(
    request: &ToolCallRequest,
    span: &TypedSpan<FunctionSpanData>,
    policy: Policy,
    failure: Failure<'_>,
) -> Result<CallResult, RunAgentError> {
    let tool = request.tool();
    let (name, input) = (tool.name(), request.arguments());
    let error = match failure {
        Failure::UndecodableArguments(message)
        | Failure::InvalidArguments(message)
        | Failure::Tool(message) => message,
    };
    let handler = tool.failure_handler();
    let Some(output) = handler.output(error) else {
        // No handler: the error propagates. `get_trace_tool_error` keeps the detail only
        // with sensitive data on.
        span.set_error(
            SpanError::new("Error running tool")
                .with_data(tool_error(name, policy.sensitive.then_some(error))),
        );
        return Err(match failure {
            // An `AgentsException` is raised as it is; anything else becomes a `UserError`.
            Failure::UndecodableArguments(message) | Failure::InvalidArguments(message) => {
                RunAgentError::model_behavior(message)
            }
            Failure::Tool(message) => {
                RunAgentError::user_error(format!("Error running tool {name}: {message}"))
            }
        });
    };
    // The default handler always redacts; a custom one shows the error with sensitive data
    // on: for arguments that are not JSON, the `json` module's decode error under a span
    // message of its own (Python's `_extract_tool_argument_json_error`), but only when tool
    // data is logged: otherwise the client raises its redacted error without the decode error
    // attached.
    let custom_sensitive = matches!(handler, FailureHandler::Custom(_)) && policy.sensitive;
    let decode_error = match failure {
        Failure::UndecodableArguments(_) if custom_sensitive && !policy.dont_log_tool_data => {
            json_decode_error(input)
        }
        _ => None,
    };
    let (span_message, detail) = match &decode_error {
        Some(decode_error) => ("Error running tool", Some(decode_error.as_str())),
        None if custom_sensitive => ("Error running tool (non-fatal)", Some(error)),
        None => ("Error running tool (non-fatal)", None),
    };
    span.set_error(SpanError::new(span_message).with_data(tool_error(name, detail)));
    let label = if tool.mcp_server().is_some() {
        "MCP tool"
    } else {
        "Tool"
    };
    if policy.dont_log_tool_data {
        agents_debug!("{label} {name} failed");
    } else {
        agents_error!("{label} {name} failed: {input} {error}");
    }
    Ok(CallResult {
        text: output,
        is_none: false,
        outcome: "failure_handled",
    })
}

/// The `data` of a failed call's span error: the tool's name and the error's detail, or the
/// redacted placeholder.
fn tool_error(name: &str, detail: Option<&str>) -> JsonMap {
    let mut data = JsonMap::new();
    data.insert("tool_name".into(), json!(name));
    data.insert("error".into(), json!(detail.unwrap_or(REDACTED_TOOL_ERROR)));
    data
}
