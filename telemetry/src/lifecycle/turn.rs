//! A turn: the turn span, input guardrails, the model call, handoffs and the final output.

use std::fmt;

use serde_json::{Value, json};

use super::agent::{AgentInfo, HandoffInfo};
use super::errors::{CallModelError, RunAgentError};
use super::guardrails;
use super::items::{HandoffRequest, Item, ModelResponse, ProcessedResponse, ToolCallRequest};
use super::state::RunCore;
use super::tool_info::McpListing;
use super::tools::ToolBatch;
use super::usage::Usage;
use crate::events::{EventFields, EventTimer, Namespace};
use crate::model::span_data::{GenerationSpanData, HandoffSpanData, JsonMap, TurnSpanData};
use crate::model::span_error::SpanError;
use crate::sdk::context::{Context, FrameId};
use crate::sdk::log::{agents_debug, agents_warn};
use crate::sdk::span::{SpanOptions, TypedSpan};

/// What the run does after a turn; streamed runs log it as `next_step type=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NextStep {
    RunAgain,
    Handoff,
    FinalOutput,
    Interruption,
}

impl NextStep {
    fn python_name(self) -> &'static str {
        match self {
            Self::RunAgain => "NextStepRunAgain",
            Self::Handoff => "NextStepHandoff",
            Self::FinalOutput => "NextStepFinalOutput",
            Self::Interruption => "NextStepInterruption",
        }
    }

    /// The `next_step` of `codex.turn.stop`.
    fn event_name(self) -> &'static str {
        match self {
            Self::RunAgain => "run_again",
            Self::Handoff => "handoff",
            Self::FinalOutput => "final_output",
            Self::Interruption => "interruption",
        }
    }
}

/// One turn of the agent loop: at most one model call, then its tools, handoff or final
/// output. Returned by [`Run::start_turn`](super::Run::start_turn); its turn span (unless
/// task and turn spans are off) is the run's current span while it lives.
///
/// End it with [`end`](Turn::end): the turn span ends with the turn's usage (when
/// non-zero), and a streamed run logs `Turn N complete, next_step type=…`. A turn dropped
/// without `end` (an error is propagating) ends its span the same way but logs nothing.
///
/// Like the [`Run`](super::Run) it borrows, a turn is `Send` and `Sync` (it may be held across
/// `.await`s in a spawned task); [`context`](Turn::context) is the context to run the
/// SDK's own work of the turn in.
pub struct Turn<'run> {
    run: &'run mut RunCore,
    number: u32,
    span: Option<(TypedSpan<TurnSpanData>, Option<FrameId>)>,
    usage_start: Usage,
    /// Where the turn's items start in the run's conversation.
    items_start: usize,
    next_step: NextStep,
    /// `codex.turn.start`'s timer.
    event: Option<EventTimer>,
}

// === impl Turn ===

impl<'run> Turn<'run> {
    /// The state of the run this turn belongs to.
    pub(super) fn run(&self) -> &RunCore {
        self.run
    }

    pub(super) fn start(run: &'run mut RunCore) -> Self {
        let number = run.current_turn();
        let name = run.stint().agent().name();
        if run.is_streamed() {
            agents_debug!("Starting turn {number}, current_agent={name}");
        } else {
            agents_debug!("Running agent {name} (turn {number})");
        }
        let fields = EventFields {
            turn: Some(number),
            ..EventFields::new().agent(name)
        };
        let data = run
            .config()
            .include_task_and_turn_spans
            .then(|| TurnSpanData::new(number.into(), name));
        let span = data.map(|data| {
            let span = run.provider().span(data);
            let frame = run.start_span(&span);
            (span, frame)
        });
        // `on_agent_start` waits for the turn's first call other than blocking input
        // guardrails, which Python runs before it (see `RunCore::agent_started`).
        let usage_start = *run.usage();
        let items_start = run.items().len();
        let event = Some(run.events().start(Namespace::Turn, fields));
        Self {
            run,
            number,
            span,
            usage_start,
            items_start,
            next_step: NextStep::RunAgain,
            event,
        }
    }

    /// The turn's number (1-based, counted across the run's agents).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// assert_eq!(run.start_turn().unwrap().number(), 1);
    /// ```
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The agent taking the turn.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// assert_eq!(run.start_turn().unwrap().agent().name(), "a");
    /// ```
    pub fn agent(&self) -> &AgentInfo {
        self.run.stint().agent()
    }

    /// The turn's context: the run's, with the turn span current (the agent span without
    /// task and turn spans). Attach it for the SDK's own work during the turn. A snapshot,
    /// like [`Run::context`](super::Run::context).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::{current_span, TraceProvider};
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// let turn = run.start_turn().unwrap();
    /// let name = turn.context().run(|| current_span().unwrap().export().unwrap()["span_data"]["name"].clone());
    /// assert_eq!(name, "turn");
    /// ```
    pub fn context(&self) -> Context {
        self.run.context()
    }

    /// Runs the run's input guardrails, on the run's first turn only (later turns ignore
    /// the call, as Python does): one `guardrail` span each, `triggered` from `check`.
    ///
    /// * Not streamed: the spans are children of the turn span; the first tripped
    ///   guardrail puts `Guardrail tripwire triggered` `{"guardrail": name}` on the turn span
    ///   and this returns `InputGuardrailTripwireTriggered` (the model is never called).
    /// * Streamed: the spans are children of the agent span (Python runs them in a task
    ///   started before the turn span); a tripwire puts the error, with
    ///   `"type": "input_guardrail"`, on the agent span and is raised when the turn's model
    ///   call returns ([`ModelCall::finish`]), after the model call has happened.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("assistant"));
    /// let mut turn = run.start_turn().unwrap();
    /// let error = turn.run_input_guardrails(["no_homework"], |_| true).unwrap_err();
    /// assert_eq!(error.message(), "Guardrail InputGuardrail triggered tripwire");
    /// ```
    pub fn run_input_guardrails<I, S>(
        &mut self,
        guardrails: I,
        check: impl FnMut(&str) -> bool,
    ) -> Result<(), RunAgentError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let _attached = self.run.attach();
        self.run.agent_started();
        if self.number > 1 {
            return Ok(());
        }
        if !self.run.is_streamed() {
            return guardrails::run_under_current_span(
                self.run,
                guardrails,
                check,
                RunAgentError::input_guardrail_tripwire,
            );
        }
        if let Some(name) = guardrails::run_under_agent_span(self.run, guardrails, check) {
            self.run
                .store_error(RunAgentError::input_guardrail_tripwire(name));
        }
        Ok(())
    }

    /// Runs blocking input guardrails (Python's `run_in_parallel=False`) of a run that is
    /// not streamed, on its first turn only: before anything else of the turn, even before
    /// `on_agent_start`, one `guardrail` span each under the turn span. The first tripped one
    /// puts `Guardrail tripwire triggered` `{"guardrail": name}` on the turn span and this
    /// returns `InputGuardrailTripwireTriggered`: the agent's start hooks never run and the
    /// model is never called. Call it right after
    /// [`Run::start_turn`](super::Run::start_turn), before
    /// [`run_input_guardrails`](Turn::run_input_guardrails) for the parallel ones.
    ///
    /// # Panics
    ///
    /// In a streamed run, where Python runs them before the turn: call
    /// [`Run::run_blocking_input_guardrails`](super::Run::run_blocking_input_guardrails)
    /// before [`Run::start_turn`](super::Run::start_turn) instead.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("assistant"));
    /// let mut turn = run.start_turn().unwrap();
    /// let error = turn.run_blocking_input_guardrails(["no_homework"], |_| true).unwrap_err();
    /// assert_eq!(error.name(), "InputGuardrailTripwireTriggered");
    /// ```
    pub fn run_blocking_input_guardrails<I, S>(
        &mut self,
        guardrails: I,
        check: impl FnMut(&str) -> bool,
    ) -> Result<(), RunAgentError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        assert!(
            !self.run.is_streamed(),
            "Turn::run_blocking_input_guardrails in a streamed run: call Run::run_blocking_input_guardrails before the turn"
        );
        if self.number > 1 {
            return Ok(());
        }
        let _attached = self.run.attach();
        guardrails::run_under_current_span(
            self.run,
            guardrails,
            check,
            RunAgentError::input_guardrail_tripwire,
        )
    }

    /// Starts the turn's model call: fills in the agent span's `tools` and `handoffs`,
    /// calls `on_llm_start` (run hooks, then agent hooks) with the run's items as
    /// `input_items`, logs `No conversation_id available for request` and starts the
    /// `generation` span (a disabled one when the model emits no traces, which logs
    /// `Tracing is disabled. Not creating span`).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, Item, ModelCallOptions, ModelResponse, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// let mut turn = run.start_turn().unwrap();
    /// let call = turn.start_model_call(ModelCallOptions::new().with_system_prompt("Be brief."));
    /// let processed = call.finish(ModelResponse::new(vec![Item::assistant_message("Ok.")])).unwrap();
    /// assert_eq!(processed.final_text(), Some("Ok."));
    /// ```
    pub fn start_model_call(&mut self, options: ModelCallOptions) -> ModelCall<'_> {
        let run = &mut *self.run;
        let _attached = run.attach();
        run.agent_started();
        let stint = run.stint();
        let agent = stint.agent();
        // Python builds the agent's handoff tools for each model call (warning about
        // rewritten default names each time), then resolves name collisions.
        for warning in agent
            .handoffs()
            .iter()
            .filter_map(HandoffInfo::tool_name_warning)
        {
            agents_warn!("{warning}");
        }
        let routing = agent.routing(run.env().dont_log_tool_data());
        for warning in &routing.warnings {
            agents_warn!("{warning}");
        }
        stint.show_routing(&routing);
        let system_prompt = options.system_prompt.as_deref();
        let input_items = run.items();
        run.run_then_agent_hooks(
            |hooks, context, agent| hooks.on_llm_start(context, agent, system_prompt, input_items),
            |hooks, context, agent| hooks.on_llm_start(context, agent, system_prompt, input_items),
        );
        agents_debug!("No conversation_id available for request");
        // A streamed run whose input guardrail has already tripped skips the model request:
        // no generation span, no response (the Python client since 0.25.0).
        if run.is_streamed() && run.stored_error().is_some() {
            return ModelCall {
                run,
                generation: None,
                skipped: true,
            };
        }
        let span = run.provider().create_span(
            GenerationSpanData::new(),
            SpanOptions::new().with_disabled(!options.generation_span),
        );
        // A streamed model starts its generation span without making it current.
        let frame = if run.is_streamed() {
            span.start();
            None
        } else {
            run.start_span(&span)
        };
        ModelCall {
            run,
            generation: Some((span, frame)),
            skipped: false,
        }
    }

    /// Lists the tools of the MCP server `server` for the coming model call (Python lists
    /// each of the agent's servers on every turn, cached or not): an `mcp_tools` span under
    /// the turn span, `result` `null` at its start and the listed names (after the server's
    /// tool filter) at its end, or `null` when listing failed. Call it before
    /// [`start_model_call`](Turn::start_model_call), once per server in the agent's order;
    /// the agent-start hooks come first.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let mut run = Runner::new(TraceProvider::builder().with_processor(memory.clone()).build(), EnvConfig::default())
    ///     .start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("librarian"));
    /// let mut turn = run.start_turn().unwrap();
    /// turn.list_mcp_tools("files", Some(vec!["read_file".into()]));
    /// let end = memory.events().pop().unwrap();
    /// assert_eq!(end.data["span_data"], serde_json::json!({"type": "mcp_tools", "server": "files", "result": ["read_file"]}));
    /// ```
    pub fn list_mcp_tools(&mut self, server: &str, listed: Option<Vec<String>>) {
        let run = &mut *self.run;
        let _attached = run.attach();
        run.agent_started();
        McpListing::new(server, listed).emit(run.provider());
    }

    /// Starts the response's tool calls (see [`ToolBatch`]).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner, ToolCallRequest, ToolInfo};
    /// use codex_telemetry::TraceProvider;
    /// use serde_json::json;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a").with_tool(ToolInfo::new("check")));
    /// let mut turn = run.start_turn().unwrap();
    /// let mut batch = turn.start_tools(&[ToolCallRequest::new(ToolInfo::new("check"), "call_1", "{}")]);
    /// batch.invoke(0, |_| Ok(json!("not yet"))).unwrap();
    /// batch.finish();
    /// ```
    pub fn start_tools(&mut self, calls: &[ToolCallRequest]) -> ToolBatch<'_> {
        let _attached = self.run.attach();
        self.run.agent_started();
        if calls.iter().any(ToolCallRequest::is_awaiting_approval) {
            self.next_step = NextStep::Interruption;
        }
        ToolBatch::start(self.run, calls)
    }

    /// Performs the first requested handoff to `target`: a `handoff` span (current, under
    /// the turn span) from the current agent, `to_agent` `null` at start and `target` at the
    /// end; with several requests it carries `Multiple handoffs requested`
    /// `{"requested_agents": […]}` and the others get `Multiple handoffs detected, ignoring
    /// this one.` as their outputs. Inside the span: `run.on_handoff(from_agent, to_agent)`,
    /// then the **source** agent's `on_handoff(agent = target, source = source)`.
    ///
    /// Then end the turn and [`start_agent`](super::Run::start_agent) the target.
    ///
    /// # Panics
    ///
    /// If `requests` is empty.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, HandoffInfo, HandoffRequest, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let billing = AgentInfo::new("billing");
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("triage").with_handoff(HandoffInfo::to_agent("billing")));
    /// let mut turn = run.start_turn().unwrap();
    /// turn.handoff(&[HandoffRequest::new("billing", "call_1")], &billing);
    /// turn.end();
    /// run.start_agent(&billing);
    /// ```
    pub fn handoff(&mut self, requests: &[HandoffRequest], target: &AgentInfo) {
        let (first, ignored) = requests
            .split_first()
            .expect("a handoff needs at least one request");
        let run = &mut *self.run;
        let _attached = run.attach();
        for request in ignored {
            run.push_item(Item::function_call_output(
                request.call_id(),
                "Multiple handoffs detected, ignoring this one.",
            ));
        }
        let source = run.stint().agent().name().to_owned();
        let span = run
            .provider()
            .span(HandoffSpanData::new(Some(source), None));
        let guard = span.start_as_current();
        span.update(|data| data.to_agent = Some(target.name().to_owned()));
        if !ignored.is_empty() {
            let requested: Vec<&str> = requests.iter().map(HandoffRequest::agent_name).collect();
            span.set_error(SpanError::new("Multiple handoffs requested").with_data(
                JsonMap::from_iter([("requested_agents".into(), json!(requested))]),
            ));
        }
        run.push_item(Item::function_call_output(
            first.call_id(),
            json!({"assistant": target.name()}).to_string(),
        ));
        // The source agent's hooks, with the target as `agent`.
        run.run_then_agent_hooks(
            |hooks, context, source| hooks.on_handoff(context, source, target),
            |hooks, context, source| hooks.on_handoff(context, target, source),
        );
        drop(guard);
        self.next_step = NextStep::Handoff;
    }

    /// Reports the run's final output: `run.on_agent_end(agent, output)` then
    /// `agent.on_end(agent, output)`, inside the turn span. Then end the turn, run the
    /// output guardrails and finish the run.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    /// use serde_json::json;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// let mut turn = run.start_turn().unwrap();
    /// turn.final_output(&json!("done"));
    /// turn.end();
    /// assert_eq!(run.finish(Ok(json!("done"))).unwrap(), "done");
    /// ```
    pub fn final_output(&mut self, output: &Value) {
        let _attached = self.run.attach();
        self.run.agent_started();
        self.run.run_then_agent_hooks(
            |hooks, context, agent| hooks.on_agent_end(context, agent, output),
            |hooks, context, agent| hooks.on_end(context, agent, output),
        );
        self.next_step = NextStep::FinalOutput;
    }

    /// Reports that the final output does not validate against the agent's output type:
    /// puts `Invalid JSON provided` `{}` on the current span (the turn span) and returns the
    /// `ModelBehaviorError` to raise. Its message is `Invalid JSON when parsing model
    /// output` while model data stays out of logs (the default), else `detailed_message`
    /// (Python's `Invalid JSON when parsing {text} for {type}; {error}`).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a").with_output_type("Weather"));
    /// let mut turn = run.start_turn().unwrap();
    /// let error = turn.invalid_final_output("Invalid JSON when parsing {} for Weather");
    /// assert_eq!((error.name(), error.message()), ("ModelBehaviorError", "Invalid JSON when parsing model output"));
    /// ```
    pub fn invalid_final_output(&mut self, detailed_message: impl Into<String>) -> RunAgentError {
        let _attached = self.run.attach();
        self.run.agent_started();
        self.run.attach_error_to_current_span(
            SpanError::new("Invalid JSON provided").with_data(JsonMap::new()),
        );
        if self.run.env().dont_log_model_data() {
            RunAgentError::model_behavior("Invalid JSON when parsing model output")
        } else {
            RunAgentError::model_behavior(detailed_message)
        }
    }

    /// Ends the turn (see the type docs).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// run.start_turn().unwrap().end();
    /// assert_eq!(run.current_turn(), 1);
    /// ```
    pub fn end(mut self) {
        let _attached = self.run.attach();
        if let Some(event) = self.event.take() {
            let next_step = self.next_step.event_name();
            event.stop(EventFields {
                next_step: Some(next_step),
                ..EventFields::new()
            });
        }
        self.close();
        if self.run.has_session() {
            // Only the non-streamed loop logs it (a streamed run persists without a line),
            // not for a turn that stops for approvals (saved without its waiting calls), nor
            // for the final output's turn.
            if !self.run.is_streamed()
                && !matches!(
                    self.next_step,
                    NextStep::Interruption | NextStep::FinalOutput
                )
            {
                self.log_persisted_items();
            }
            // The final answer is saved with the completed run, after the output guardrails
            // (a tripwire leaves it out); the turn's tool calls and results are saved now.
            let answer = self.next_step == NextStep::FinalOutput;
            self.run.persist_items(self.items_start, answer);
        }
        if self.run.is_streamed() {
            let (number, next_step) = (self.number, self.next_step.python_name());
            agents_debug!("Turn {number} complete, next_step type={next_step}");
        }
    }

    /// Python's `Persisting turn items (types=[…])`: the item types of what the turn added
    /// to the conversation (a handoff's call and output have types of their own; the output
    /// of a handoff ignored beside the first is a plain tool output).
    fn log_persisted_items(&self) {
        let agent = self.run.stint().agent();
        let new_items = &self.run.items()[self.items_start..];
        let handoff_calls: Vec<&str> = new_items
            .iter()
            .filter_map(|item| match item {
                Item::FunctionCall { name, call_id, .. } if agent.handoff(name).is_some() => {
                    Some(call_id.as_str())
                }
                _ => None,
            })
            .collect();
        let types: Vec<Value> = new_items
            .iter()
            .filter_map(|item| {
                let handoff = |id: &str| handoff_calls.contains(&id);
                Some(match item {
                    Item::FunctionCall { call_id, .. } if handoff(call_id) => "handoff_call_item",
                    Item::FunctionCall { .. } => "tool_call_item",
                    Item::FunctionCallOutput { call_id, .. }
                        if handoff_calls.first() == Some(&call_id.as_str()) =>
                    {
                        "handoff_output_item"
                    }
                    Item::FunctionCallOutput { .. } => "tool_call_output_item",
                    Item::Message { .. } => "message_output_item",
                    _ => return None,
                })
            })
            .map(|t| Value::String(t.to_owned()))
            .collect();
        if !types.is_empty() {
            let types = crate::model::pyrepr::python_repr(&Value::Array(types));
            agents_debug!("Persisting turn items (types={types})");
        }
    }

    /// Ends the turn span, once: it is taken.
    fn close(&mut self) {
        if let Some((span, frame)) = self.span.take() {
            if let Some(usage) = self
                .run
                .usage()
                .delta_since(&self.usage_start)
                .turn_span_data()
            {
                span.update(|turn| turn.usage = Some(usage));
            }
            self.run.end_span(&span, frame);
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        // An error is propagating: `Run::finish` ends the turn's event with it.
        if let Some(event) = self.event.take() {
            self.run.set_failed_turn(event);
        }
        if self.span.is_some() {
            let _attached = self.run.attach();
            self.close();
        }
    }
}

impl fmt::Debug for Turn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Turn")
            .field("number", &self.number)
            .field("next_step", &self.next_step)
            .finish_non_exhaustive()
    }
}

/// How a model call is made: the system prompt the hooks see, and whether the model
/// records a `generation` span (real models do; Python's `ScriptedModel` only with
/// `emit_traces=True`).
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::ModelCallOptions;
///
/// let options = ModelCallOptions::new().with_system_prompt("Be brief.").with_generation_span(false);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct ModelCallOptions {
    system_prompt: Option<String>,
    generation_span: bool,
}

impl Default for ModelCallOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ModelCallOptions {
    /// No system prompt, with a generation span.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ModelCallOptions;
    ///
    /// let _options = ModelCallOptions::new();
    /// ```
    pub fn new() -> Self {
        Self {
            system_prompt: None,
            generation_span: true,
        }
    }

    /// The agent's instructions, as given to the model (`None` without instructions).
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ModelCallOptions;
    ///
    /// let _options = ModelCallOptions::new().with_system_prompt("Be brief.");
    /// ```
    pub fn with_system_prompt(mut self, system_prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(system_prompt.into());
        self
    }

    /// Whether the call records a `generation` span.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ModelCallOptions;
    ///
    /// let _options = ModelCallOptions::new().with_generation_span(false);
    /// ```
    pub fn with_generation_span(mut self, generation_span: bool) -> Self {
        self.generation_span = generation_span;
        self
    }
}

/// A model call in progress; its `generation` span is open. End it with
/// [`finish`](ModelCall::finish) or [`fail`](ModelCall::fail).
///
/// It is `Send` and `Sync`: an async SDK holds it across the model request's `.await`,
/// which it runs in [`context`](ModelCall::context).
pub struct ModelCall<'turn> {
    run: &'turn mut RunCore,
    generation: Option<(TypedSpan<GenerationSpanData>, Option<FrameId>)>,
    /// The request is not made: a streamed run's input guardrail tripped first.
    skipped: bool,
}

impl ModelCall<'_> {
    /// Whether the model request is skipped: in a streamed run whose input guardrail has
    /// already tripped, Python (since 0.25.0) does not request the model at all. Such a call
    /// has no generation span, and [`finish`](ModelCall::finish) and
    /// [`fail`](ModelCall::fail) only return the tripwire: no usage, items, log lines or
    /// `on_llm_end` hooks.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, ModelResponse, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default())
    ///     .start_run(RunOptions::new().with_streamed(true));
    /// run.start_agent(&AgentInfo::new("assistant"));
    /// let mut turn = run.start_turn().unwrap();
    /// turn.run_input_guardrails(["no_homework"], |_| true).unwrap();
    /// let call = turn.start_model_call(Default::default());
    /// assert!(call.is_skipped());
    /// let error = call.finish(ModelResponse::new(vec![])).unwrap_err();
    /// assert_eq!(error.name(), "InputGuardrailTripwireTriggered");
    /// ```
    pub fn is_skipped(&self) -> bool {
        self.skipped
    }

    /// The context to run the model request in (its generation span current). For an
    /// async request, give it to the future with
    /// [`in_context`](crate::context::InContextExt::in_context).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::{current_span, TraceProvider};
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// let mut turn = run.start_turn().unwrap();
    /// let call = turn.start_model_call(Default::default());
    /// let span_type = call.context().run(|| current_span().unwrap().data().unwrap().span_type());
    /// assert_eq!(span_type, "generation");
    /// ```
    pub fn context(&self) -> Context {
        let context = self.run.context();
        match &self.generation {
            Some((span, _)) => context.with_span(span.clone().into_span()),
            None => context,
        }
    }

    /// The model answered: ends the generation span, adds the response's usage to the run,
    /// appends its items to the conversation, and processes it as Python does: one
    /// `Processing output item type=… class=…` line per item, each function call sorted
    /// into a handoff or a tool call. A call of a tool the agent does not have puts `Tool
    /// not found` `{"tool_name": …}` on the turn span and stops processing. Then
    /// `on_llm_end` (agent hooks **first**, then run hooks), and the error, if any:
    /// `ModelBehaviorError` `Tool X not found in agent Y`, or a streamed run's stored
    /// input-guardrail tripwire (logged first as `Breaking due to stored exception`, in the
    /// caller's context).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, Item, ModelResponse, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("assistant"));
    /// let mut turn = run.start_turn().unwrap();
    /// let call = turn.start_model_call(Default::default());
    /// let response = ModelResponse::new(vec![Item::function_call("book_flight", "call_1", "{}")]);
    /// let error = call.finish(response).unwrap_err();
    /// assert_eq!(error.message(), "Tool book_flight not found in agent assistant");
    /// ```
    pub fn finish(mut self, response: ModelResponse) -> Result<ProcessedResponse, RunAgentError> {
        if let Some(tripwire) = self.skipped_error() {
            return Err(tripwire);
        }
        let _attached = self.run.attach();
        self.end_span();
        let run = &mut *self.run;
        run.add_usage(response.usage());
        // A call repeated with the same id, name and arguments (compared as JSON, as Python
        // normalizes them) is one invocation: Python keeps the first. The same id for another
        // invocation is the model's error, whatever else the response holds.
        let repeats = |index: usize| {
            let Some(Item::FunctionCall {
                call_id,
                name,
                arguments,
            }) = response.output().get(index)
            else {
                return None;
            };
            let earlier = response.output()[..index]
                .iter()
                .find_map(|item| match item {
                    Item::FunctionCall {
                        call_id: id,
                        name,
                        arguments,
                    } if id == call_id => Some((name, arguments)),
                    _ => None,
                })?;
            Some(earlier.0 == name && same_arguments(earlier.1, arguments))
        };
        let reused_call_id = (0..response.output().len()).any(|i| repeats(i) == Some(false));
        run.extend_items(
            (response.output().iter().enumerate())
                .filter(|(i, _)| repeats(*i) != Some(true))
                .map(|(_, item)| item.clone()),
        );
        let agent = run.stint().agent();
        let mut processed = ProcessedResponse::default();
        let mut error = None;
        for (index, item) in response.output().iter().enumerate() {
            agents_debug!(
                "Processing output item type={} class={}",
                item.item_type(),
                item.class_name()
            );
            if repeats(index).is_some() {
                continue;
            }
            match item {
                Item::FunctionCall {
                    name,
                    call_id,
                    arguments,
                } => {
                    if let Some(handoff) = agent.handoff(name) {
                        processed
                            .handoffs
                            .push(HandoffRequest::new(handoff.agent_name(), call_id.clone()));
                    } else if let Some(tool) = agent.tool(name) {
                        processed.tool_calls.push(ToolCallRequest::new(
                            tool.clone(),
                            call_id.clone(),
                            arguments.clone(),
                        ));
                    } else {
                        run.attach_error_to_current_span(
                            SpanError::new("Tool not found")
                                .with_data(JsonMap::from_iter([("tool_name".into(), json!(name))])),
                        );
                        error = Some(RunAgentError::model_behavior(format!(
                            "Tool {name} not found in agent {}",
                            agent.name()
                        )));
                        break;
                    }
                }
                Item::Message { text, .. } => processed.final_text = Some(text.clone()),
                _ => {}
            }
        }
        if reused_call_id {
            // Raised while planning the tool calls, before the `on_llm_end` hooks; a streamed
            // run's consumer then finds the run's task failed (see `Run::finish`).
            let breaks = run.is_streamed() && run.is_drained();
            run.set_breaks_after_close(breaks);
            return Err(RunAgentError::model_behavior(
                "Model reused a tool call ID for a different invocation in one response. Use a unique call ID for each tool invocation.",
            ));
        }
        if run.is_streamed() && run.is_drained() && run.stored_error().is_some() {
            run.log_in_caller_context(|| agents_debug!("Breaking due to stored exception"));
        }
        let context = run.hook_context();
        if let Some(hooks) = agent.hooks() {
            hooks.on_llm_end(&context, agent, &response);
        }
        if let Some(hooks) = run.run_hooks() {
            hooks.on_llm_end(&context, agent, &response);
        }
        match (error, run.stored_error().cloned()) {
            (Some(error), _) | (None, Some(error)) => Err(error),
            (None, None) => Ok(processed),
        }
    }

    /// The model call failed: the generation span gets `Error` `{"name": …, "message": …}`
    /// (the message redacted without sensitive data) and ends. Returns the error to end
    /// the run with ([`Run::finish`](super::Run::finish) then adds `Error in agent run` to the
    /// agent span).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::{CallModelError, TraceProvider};
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// let mut turn = run.start_turn().unwrap();
    /// let error = turn.start_model_call(Default::default()).fail(CallModelError::new("ModelUnavailable", "503"));
    /// assert_eq!(error.name(), "ModelUnavailable");
    /// ```
    pub fn fail(mut self, error: CallModelError) -> RunAgentError {
        if let Some(tripwire) = self.skipped_error() {
            return tripwire;
        }
        let _attached = self.run.attach();
        if let Some((span, _)) = &self.generation {
            let message = self.run.error_detail(error.message());
            let mut data = JsonMap::new();
            data.insert("name".into(), json!(error.name()));
            data.insert("message".into(), json!(message));
            span.set_error(SpanError::new("Error").with_data(data));
        }
        self.end_span();
        error.into()
    }

    fn end_span(&mut self) {
        if let Some((span, frame)) = self.generation.take() {
            self.run.end_span(&span, frame);
        }
    }

    /// For a skipped call, the stored tripwire it ends the run with.
    fn skipped_error(&self) -> Option<RunAgentError> {
        if self.skipped {
            self.run.stored_error().cloned()
        } else {
            None
        }
    }
}

/// Whether two calls' argument texts are the same arguments: equal as JSON (key order
/// aside), or equal as text when either is not JSON.
fn same_arguments(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

impl Drop for ModelCall<'_> {
    fn drop(&mut self) {
        if self.generation.is_some() {
            let _attached = self.run.attach();
            self.end_span();
        }
    }
}

impl fmt::Debug for ModelCall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelCall")
            .field("open", &self.generation.is_some())
            .finish_non_exhaustive()
    }
}
