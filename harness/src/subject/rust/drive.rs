//! Walking a scenario: the python driver's `_execute` / `_run_once`, mapped onto
//! `codex-telemetry` lifecycle calls.
//!
//! This is an agent loop of the simplest kind (model → tools/handoff → again, or a final
//! output); every telemetry decision (span structure and payloads, error placement, usage,
//! log lines, hook order) is made by the library.
//!
//! The run itself (`Driver::run_once`) is async, as in an async agent SDK: the `Run` and
//! its `Turn`, `ModelCall` and `ToolBatch` are held across `.await`s. A concurrent copy
//! (`Driver::run_copy`) runs as a task on a multi-thread runtime and yields between
//! lifecycle steps, so the copies interleave and move between worker threads; a single
//! run never yields.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::watch;
use tracing::instrument::WithSubscriber;

use codex_telemetry::config::RunConfig;
use codex_telemetry::context::{Context, InContextExt};
use codex_telemetry::hooks::RunHooks;
use codex_telemetry::lifecycle::{
    AgentInfo, Approval, DEFAULT_MAX_TURNS, DEFAULT_REJECTION_MESSAGE, FailureHandler, HandoffInfo,
    Invocation, Item, McpListing, McpToolResult, ModelCallOptions, ProcessedResponse, Run,
    RunOptions, RunState, Runner, ToolBatch, ToolCallRequest, ToolInfo, Turn,
};
use codex_telemetry::pyrepr::{pydantic_str, python_repr};
use codex_telemetry::usage::Usage;
use codex_telemetry::{CustomSpanData, JsonMap, RunAgentError, TraceOptions, TraceProvider};
use serde_json::{Value, json};

use super::capabilities::Unsupported;
use super::record::{HookRecorder, Recorder, RecordingProcessor};
use super::script::{ScriptedModel, ScriptedTool, agent_tool_name, validate_output};
use crate::scenario::Scenario;
use crate::scenario::mcp;
use crate::scenario::schema::{
    ActionSpec, AgentSpec, FailureErrorFunction, GuardrailKind, NeedsApproval, OnError, ResumeFrom,
    ResumeSpec, RunSpec, ToolGuardrailBehavior, ToolSpec, UserTraceSpec,
};

/// The built scenario: agents, tools, guardrails and the scripted model.
pub(crate) struct Driver<'a> {
    /// The scenario (copies inside a user trace start drivers of their own from it).
    full: &'a Scenario,
    scenario: &'a crate::scenario::schema::ScenarioFile,
    run_spec: &'a RunSpec,
    runner: Runner,
    recorder: Recorder,
    agent_specs: BTreeMap<&'a str, &'a AgentSpec>,
    agents: BTreeMap<String, AgentInfo>,
    tools: BTreeMap<String, ScriptedTool>,
    tool_specs: BTreeMap<&'a str, &'a ToolSpec>,
    tripwires: BTreeMap<&'a str, bool>,
    /// Input guardrails with `run_in_parallel = false`.
    blocking: BTreeSet<&'a str>,
    model: ScriptedModel,
    run_hooks: Arc<dyn RunHooks>,
    /// The user trace around the run, if any.
    user_trace: Option<&'a UserTraceSpec>,
    /// Concurrent copies wait here once their run has started, so that every copy's trace
    /// is open before any ends (their records interleave, as with Python's `gather`). Only
    /// copies have a gate, and only they yield between lifecycle steps.
    start_gate: Option<Arc<StartGate>>,
    arrived: bool,
    /// The session's conversation (`run.session`): what earlier runs left, input of the next.
    session: Vec<Item>,
    /// Inside the run of an agent called as a tool.
    nesting: bool,
    unsupported: Option<Unsupported>,
}

/// Where a nested run (an agent called as a tool) lets the response's other calls go on:
/// the client runs each call as a task, and these are the nested run's first awaits that
/// suspend (`scripts/asyncio_timeline.py` shows the loop iterations).
#[derive(Debug, Clone, Copy)]
enum NestedPoint {
    /// Its first turn span has started.
    TurnStarted,
    /// Its agent's start hooks ran.
    AgentStarted,
}

/// A call's outcome: the result's text and, when the tool returned one, its value; or the
/// error that ends the run.
type CallOutcome = Result<(String, Option<Value>), RunAgentError>;

/// What an agent tool's nested run came to.
struct NestedOutcome {
    outcome: Result<Value, codex_telemetry::CallToolError>,
    usage: Usage,
    final_output: Option<Value>,
}

impl<'a> Driver<'a> {
    pub(crate) fn new(scenario: &'a Scenario, runner: Runner, recorder: Recorder) -> Self {
        let spec = &scenario.spec;
        let tools: BTreeMap<String, ScriptedTool> = spec
            .tools
            .iter()
            .map(|tool| (tool.name.clone(), ScriptedTool::new(tool, &spec.guardrails)))
            .collect();
        let agent_hooks = Arc::new(HookRecorder::agent_hooks(recorder.clone()));
        let agents = spec
            .agents
            .iter()
            .map(|agent| {
                let mut info = AgentInfo::new(agent.name.clone()).with_hooks(agent_hooks.clone());
                // Python lists the MCP servers' tools before the function tools.
                for (server, tool) in mcp::visible_tools(spec, agent) {
                    let handler = match server.failure_error_function {
                        Some(FailureErrorFunction::None) => FailureHandler::None,
                        _ => FailureHandler::Default,
                    };
                    info = info.with_tool(
                        ToolInfo::new(tool.name.clone())
                            .with_parameters(tool.parameters.keys().cloned())
                            .with_mcp_server(server.name.clone())
                            .with_failure_handler(handler),
                    );
                }
                for tool in &agent.tools {
                    if let Some(tool) = tools.get(tool) {
                        info = info.with_tool(tool.info().clone());
                    }
                }
                // Agents as tools come after the function tools, named as Python names them.
                for target in &agent.agent_tools {
                    info = info.with_tool(
                        ToolInfo::new(agent_tool_name(target))
                            .with_parameters(["input"])
                            .as_agent_tool(),
                    );
                }
                for target in &agent.handoffs {
                    info = info.with_handoff(HandoffInfo::to_agent(target.clone()));
                }
                if let Some(output_type) = &agent.output_type {
                    info = info.with_output_type(output_type.name.clone());
                }
                (agent.name.clone(), info)
            })
            .collect();
        Self {
            full: scenario,
            scenario: spec,
            run_spec: &spec.run,
            runner,
            agent_specs: spec.agents.iter().map(|a| (a.name.as_str(), a)).collect(),
            agents,
            tools,
            tool_specs: spec.tools.iter().map(|t| (t.name.as_str(), t)).collect(),
            tripwires: spec
                .guardrails
                .iter()
                .map(|g| (g.name.as_str(), g.tripwire))
                .collect(),
            blocking: spec
                .guardrails
                .iter()
                .filter(|g| g.run_in_parallel == Some(false))
                .map(|g| g.name.as_str())
                .collect(),
            model: ScriptedModel::new(&spec.model),
            run_hooks: Arc::new(HookRecorder::run_hooks(recorder.clone())),
            recorder,
            start_gate: None,
            user_trace: spec.trace.as_ref(),
            arrived: false,
            session: Vec::new(),
            nesting: false,
            unsupported: None,
        }
    }

    /// Makes the run wait at `gate` right after it started.
    pub(crate) fn with_start_gate(mut self, gate: Arc<StartGate>) -> Self {
        self.start_gate = Some(gate);
        self
    }

    /// Performs the scenario synchronously on this thread: the run, or the user trace
    /// around its actions. The user trace and custom spans are entered with guards, as
    /// Python's `with` blocks; each run is driven to completion inside them, on this thread,
    /// by a current-thread runtime (it never yields).
    pub(crate) fn execute(mut self) -> Result<(), Unsupported> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| Unsupported(format!("cannot start a tokio runtime: {e}")))?;
        match self.user_trace {
            None => {
                // `repeat`: runs one after another, each making its own trace, until one
                // raises.
                for _ in 0..self.run_spec.repeat {
                    if !runtime.block_on(self.run_once()) {
                        break;
                    }
                }
            }
            Some(user) => {
                let mut options =
                    TraceOptions::new(user.workflow_name.clone()).with_disabled(user.disabled);
                if let Some(group_id) = &user.group_id {
                    options = options.with_group_id(group_id.clone());
                }
                if let Some(metadata) = &user.metadata {
                    options = options.with_metadata(to_map(metadata));
                }
                // Python's `with trace(...)`: `trace()` warns if a trace is already current.
                let _trace = self.runner.provider().trace(options).start_as_current();
                self.run_actions(&runtime, &user.body);
            }
        }
        self.result()
    }

    /// Performs the run as one of several concurrent copies: a task on a multi-thread
    /// runtime (started in an empty context, like an asyncio task started from a context
    /// without a trace), yielding between lifecycle steps and waiting at the start gate once
    /// its trace is open.
    pub(crate) async fn run_copy(mut self) -> Result<bool, Unsupported> {
        let completed = self.run_once().await;
        self.result().map(|()| completed)
    }

    /// A `{ run = true }` action with concurrent copies inside the user trace: each copy is a
    /// driver of its own (its own agents and script), run as a task on a multi-thread runtime
    /// in the current context (the user trace and its custom spans), as Python's
    /// `asyncio.gather` runs each in a copy of the context. True when every run completed.
    fn run_copies_here(&mut self) -> bool {
        let copies = self.run_spec.copies as usize;
        let context = Context::current();
        let dispatch = tracing::dispatcher::get_default(|dispatch| dispatch.clone());
        let results = run_copies(
            self.full,
            copies,
            &self.runner,
            &self.recorder,
            &dispatch,
            &context,
        );
        match results {
            Ok(completed) => completed,
            Err(unsupported) => {
                self.unsupported = Some(unsupported);
                false
            }
        }
    }

    fn result(&mut self) -> Result<(), Unsupported> {
        match self.unsupported.take() {
            Some(unsupported) => Err(unsupported),
            None => Ok(()),
        }
    }

    /// Between lifecycle steps: a concurrent copy lets the others run (and may resume on
    /// another worker thread).
    async fn step(&self) {
        if self.start_gate.is_some() {
            tokio::task::yield_now().await;
        }
    }

    /// Performs actions in order; false once a run raised, so that later actions are skipped
    /// while the enclosing spans still end normally (the python driver's `_run_actions`).
    fn run_actions(&mut self, runtime: &tokio::runtime::Runtime, actions: &[ActionSpec]) -> bool {
        for action in actions {
            if action.run == Some(true) {
                let completed = if self.run_spec.copies > 1 {
                    self.run_copies_here()
                } else {
                    runtime.block_on(self.run_once())
                };
                // `on_error = "continue"`: the user's code catches the run's error.
                if !completed && action.on_error != Some(OnError::Continue) {
                    return false;
                }
            } else if let Some(name) = &action.custom_span {
                let data = action.data.as_ref().map(to_map).unwrap_or_default();
                let span = self
                    .runner
                    .provider()
                    .span(CustomSpanData::with_data(name.clone(), data));
                let _span = span.start_as_current();
                if !self.run_actions(runtime, &action.body) {
                    return false;
                }
            }
        }
        true
    }

    /// The run's `RunConfig`, as the scenario's `[run]` sets it. An agent called as a tool
    /// runs with the same one (Python's `as_tool` passes the caller's `context.run_config`).
    fn run_config(&self) -> RunConfig {
        let spec = self.run_spec;
        let mut config = RunConfig::from_env(self.runner.env());
        if let Some(workflow_name) = &spec.workflow_name {
            config = config.with_workflow_name(workflow_name.clone());
        }
        if let Some(group_id) = &spec.group_id {
            config = config.with_group_id(group_id.clone());
        }
        if let Some(trace_id) = &spec.trace_id {
            config = config.with_trace_id(trace_id.clone());
        }
        if let Some(metadata) = &spec.trace_metadata {
            config = config.with_trace_metadata(to_map(metadata));
        }
        if let Some(include) = spec.trace_include_sensitive_data {
            config = config.with_trace_include_sensitive_data(include);
        }
        if let Some(disabled) = spec.tracing_disabled {
            config = config.with_tracing_disabled(disabled);
        }
        if let Some(include) = spec.include_task_and_turn_spans {
            config = config.with_include_task_and_turn_spans(include);
        }
        config
    }

    /// One run and its outcome record; true when it completed.
    async fn run_once(&mut self) -> bool {
        let spec = self.run_spec;
        let options = RunOptions::new()
            .with_config(self.run_config())
            .with_input(
                self.session
                    .iter()
                    .cloned()
                    .chain([Item::user_message(spec.input.clone())])
                    .collect(),
            )
            .with_session(spec.session)
            .with_max_turns(Some(spec.max_turns.unwrap_or(DEFAULT_MAX_TURNS)))
            .with_streamed(spec.streamed)
            .with_events_drained(spec.drain)
            .with_hooks(self.run_hooks.clone());
        let mut run = self.runner.start_run(options.clone());
        if let Some(gate) = &self.start_gate
            && !self.arrived
        {
            self.arrived = true;
            gate.arrive().await;
        }
        self.step().await;
        run.start_agent(&self.agents[&spec.agent]);
        self.step().await;
        let mut outcome = self.drive(&mut run).await;
        self.step().await;
        // Interrupted by calls that need approval: each `[[run.resume]]` decides and resumes.
        let mut resumes = spec.resume.iter();
        while outcome.is_ok() && run.is_interrupted() {
            if spec.session {
                // The interrupted turn is not saved (the loader allows no resume here).
                self.session = run.session_items().to_vec();
            }
            let state = run.interrupt();
            self.recorder.interrupted(state.interruptions());
            let Some(resume) = resumes.next() else {
                return true;
            };
            let agent = state.current_agent().to_owned();
            run = self.resume(state, resume, options.clone());
            outcome = self.drive_resumed(&mut run, agent).await;
        }
        if spec.session {
            // A completed run's whole conversation; a failed run's turns before the failing one.
            self.session = if outcome.is_ok() {
                run.items().to_vec()
            } else {
                run.session_items().to_vec()
            };
        }
        let outcome = run.finish(outcome);
        self.recorder.outcome(&outcome);
        outcome.is_ok()
    }

    /// The agent loop.
    async fn drive(&mut self, run: &mut Run) -> Result<Value, RunAgentError> {
        let start = self.run_spec.agent.clone();
        self.drive_agent(run, &start, false, None).await
    }

    /// The resumed run of an interrupted one: the state's decisions, given from `resume`,
    /// and the state loaded as `resume.from` says (a new process has a provider of its own,
    /// which has started no trace).
    fn resume(&mut self, mut state: RunState, resume: &ResumeSpec, options: RunOptions) -> Run {
        let pending: Vec<String> = state
            .interruptions()
            .iter()
            .map(|call| call.call_id().to_owned())
            .collect();
        for id in resume.decision_order(pending.iter().map(String::as_str)) {
            let always = resume.always.iter().any(|a| a == id);
            if resume.approve.iter().any(|a| a == id) {
                state.approve(id, always);
            } else if resume.reject.iter().any(|r| r == id) {
                state.reject(id, always, resume.rejection_message.clone());
            }
        }
        if resume.from != ResumeFrom::State {
            // Validated JSON of a state this subject just serialized.
            state = RunState::from_json(&state.to_json()).expect("a run state reads back");
            // Python's `RunState.from_json` lists the current agent's MCP tools while it
            // rebuilds the interrupted response, in the caller's context.
            for listing in self.mcp_listings(self.agent_specs[state.current_agent()]) {
                self.runner.list_mcp_tools(&listing);
            }
        }
        if resume.from == ResumeFrom::JsonNewProcess {
            let env = self.runner.env().clone();
            let provider = TraceProvider::builder()
                .with_processor(RecordingProcessor(self.recorder.clone()))
                .with_disabled(env.tracing_disabled())
                .with_span_data_logged(env.logs_span_data())
                .build();
            self.runner = Runner::new(provider, env);
        }
        self.runner.resume_run(state, options)
    }

    /// A resumed run: the agent again, the approved calls (under the agent span), then the
    /// agent loop, unless calls are still undecided.
    async fn drive_resumed(
        &mut self,
        run: &mut Run,
        agent_name: String,
    ) -> Result<Value, RunAgentError> {
        run.start_agent(&self.agents[&agent_name]);
        let listings = self.mcp_listings(self.agent_specs[agent_name.as_str()]);
        let approved = run.continue_from_interruption(&listings);
        if !approved.is_empty() {
            let mut raised = None;
            let mut tools = run.start_resumed_tools(&approved);
            for (index, call) in approved.iter().enumerate() {
                let tool = &self.tools[call.tool().name()];
                if let Err(error) = tools.invoke(index, |_| tool.call()) {
                    Self::keep_first_error(&mut raised, error);
                }
            }
            tools.finish();
            if let Some(error) = raised {
                return Err(error);
            }
        }
        if run.is_interrupted() {
            return Ok(Value::Null);
        }
        self.drive_agent(run, &agent_name, true, None).await
    }

    /// The agent loop from `start` (the scenario's run, or an agent called as a tool);
    /// `resumed`: a run resumed after an interruption, past its first turn.
    async fn drive_agent(
        &mut self,
        run: &mut Run,
        start: &str,
        resumed: bool,
        mut beside: Option<&mut (dyn FnMut(NestedPoint) + Send)>,
    ) -> Result<Value, RunAgentError> {
        // Agent tools run plain (`Runner.run`), whatever the outer run.
        let streamed = self.run_spec.streamed && start == self.run_spec.agent && !self.nesting;
        // Python runs the starting agent's blocking input guardrails first (streamed: before
        // the first turn; otherwise first thing in it), then the others beside the model.
        let (blocking, parallel): (Vec<String>, Vec<String>) = self
            .guardrails(start, GuardrailKind::Input)
            .into_iter()
            .partition(|name| self.blocking.contains(name.as_str()));
        let blocking = if resumed { Vec::new() } else { blocking };
        if streamed && !blocking.is_empty() {
            run.run_blocking_input_guardrails(&blocking, |name| self.tripwires[name])?;
            self.step().await;
        }
        loop {
            let agent_name = run
                .current_agent()
                .map(|agent| agent.name().to_owned())
                .unwrap_or_default();
            let agent_spec = self.agent_specs[agent_name.as_str()];
            let mut turn = run.start_turn()?;
            if let Some(beside) = beside.as_mut() {
                beside(NestedPoint::TurnStarted);
            }
            self.step().await;
            if !streamed && !blocking.is_empty() {
                turn.run_blocking_input_guardrails(&blocking, |name| self.tripwires[name])?;
                self.step().await;
            }
            let guardrails = turn.run_input_guardrails(&parallel, |name| self.tripwires[name]);
            // The calls beside an agent tool go on once its nested run's agent started.
            if let Some(beside) = beside.take() {
                beside(NestedPoint::AgentStarted);
            }
            if guardrails.is_err() && !streamed {
                // Python's model task ran beside the guardrails: it had started listing the
                // first MCP server's tools when the tripwire cancelled it (no result, and no
                // listing of the others).
                if let Some(listing) = self.mcp_listings(agent_spec).first() {
                    turn.list_mcp_tools(listing.server(), None);
                }
            }
            guardrails?;
            self.step().await;
            let processed = self.call_model(&mut turn, agent_spec, streamed).await?;

            // The output of the first tool (in call order) the agent's `tool_use_behavior`
            // stops at: what Python's `check_for_final_output_from_tools` returns.
            let (tool_final_output, interrupted) = if processed.tool_calls().is_empty() {
                (None, false)
            } else {
                self.run_tools(&mut turn, agent_spec, processed.tool_calls())
                    .await?
            };
            if interrupted {
                // The run ends with the interruption (no final output); the caller resumes it.
                turn.end();
                self.step().await;
                return Ok(Value::Null);
            }
            if let Some(first) = processed.handoffs().first() {
                let target = self.agents[first.agent_name()].clone();
                turn.handoff(processed.handoffs(), &target);
                self.step().await;
                turn.end();
                self.step().await;
                run.start_agent(&target);
                self.step().await;
                continue;
            }
            if let Some(output) = tool_final_output {
                self.end_with_final_output(turn, &output).await;
                return self.check_output(run, &agent_name, output);
            }
            if processed.has_tools_or_handoffs() {
                turn.end();
                self.step().await;
                continue;
            }
            let output = match self.final_output(agent_spec, &processed) {
                // Python: no final output for a structured type runs the agent again.
                None => {
                    turn.end();
                    continue;
                }
                Some(Err(problem)) => return Err(turn.invalid_final_output(problem)),
                Some(Ok(output)) => output,
            };
            self.end_with_final_output(turn, &output).await;
            return self.check_output(run, &agent_name, output);
        }
    }

    /// What listing each of the agent's MCP servers returns, in the agent's order.
    fn mcp_listings(&self, agent_spec: &AgentSpec) -> Vec<McpListing> {
        mcp::servers_of(self.scenario, agent_spec)
            .into_iter()
            .map(|server| {
                let listed = mcp::listed_tools(server).map(|t| t.name.clone()).collect();
                McpListing::new(&server.name, Some(listed))
            })
            .collect()
    }

    /// One model call of a turn: the agent's instructions and MCP tool listings, then the
    /// scripted model's response, processed by the library.
    async fn call_model(
        &mut self,
        turn: &mut Turn<'_>,
        agent_spec: &AgentSpec,
        streamed: bool,
    ) -> Result<ProcessedResponse, RunAgentError> {
        let mut call_options =
            ModelCallOptions::new().with_generation_span(self.model.generation_spans());
        if let Some(instructions) = &agent_spec.instructions {
            call_options = call_options.with_system_prompt(instructions.clone());
        }
        // Each of the agent's MCP servers lists its tools for the model call.
        for listing in self.mcp_listings(agent_spec) {
            turn.list_mcp_tools(listing.server(), listing.tools().map(<[String]>::to_vec));
        }
        let call = turn.start_model_call(call_options);
        // The model request, in the call's context (the scripted model records nothing).
        self.step().in_context(call.context()).await;
        let response = match self.model.call(streamed) {
            Ok(response) => response,
            Err(error) => return Err(call.fail(error)),
        };
        let processed = call.finish(response)?;
        self.step().await;
        Ok(processed)
    }

    /// A response's tool calls, as one batch. Calls that need approval wait (their spans come
    /// first); a standing decision of a resumed run runs or rejects a call without asking.
    /// Returns the output of the first tool (in call order) the agent's `tool_use_behavior`
    /// stops at, and whether a call waits for approval.
    async fn run_tools(
        &mut self,
        turn: &mut Turn<'_>,
        agent_spec: &AgentSpec,
        requested: &[ToolCallRequest],
    ) -> Result<(Option<Value>, bool), RunAgentError> {
        let calls = self.plan_approvals(turn, requested);
        let interrupted = calls.iter().any(ToolCallRequest::is_awaiting_approval);
        let mut tools = turn.start_tools(&calls);
        self.step().await;
        // Each call's outcome, in call order: an agent tool beside plain calls runs them
        // while its nested run goes (Python's tasks), the others one after the other.
        let mut outcomes: Vec<Option<CallOutcome>> = calls.iter().map(|_| None).collect();
        let agent_tool = calls.iter().position(|call| call.tool().is_agent_tool());
        for (index, call) in calls.iter().enumerate() {
            if call.is_awaiting_approval() || outcomes[index].is_some() {
                // Waiting: its span has ended, the tool runs only once approved. Settled:
                // it ran beside the agent tool.
                continue;
            }
            let outcome = match agent_tool {
                Some(at) if at == index && calls.len() > 1 => {
                    self.invoke_agent_tool_beside(&mut tools, at, &calls, agent_spec, &mut outcomes)
                        .await
                }
                _ => self.invoke(&mut tools, index, call, agent_spec).await,
            };
            outcomes[index] = Some(outcome);
            self.step().await;
        }
        let mut tool_final_output = None;
        // The first error that ends the run: the other calls still run (Python's tasks).
        let mut raised = None;
        for (call, outcome) in calls.iter().zip(outcomes) {
            let Some(outcome) = outcome else {
                continue;
            };
            let (text, returned) = match outcome {
                Ok(invoked) => invoked,
                Err(error) => {
                    Self::keep_first_error(&mut raised, error);
                    continue;
                }
            };
            if tool_final_output.is_none() && agent_spec.stops_at(call.tool().name()) {
                // Python: `str(output)` for a text agent; the returned value itself (or the
                // failure message) for a structured one; a custom function's own output.
                tool_final_output = Some(
                    match (
                        &agent_spec.tools_final_output,
                        &agent_spec.output_type,
                        returned,
                    ) {
                        (Some(output), _, _) => json!(output),
                        (None, Some(_), Some(value)) => value,
                        _ => json!(text),
                    },
                );
            }
        }
        tools.finish();
        self.step().await;
        if let Some(error) = raised {
            return Err(error);
        }
        Ok((tool_final_output, interrupted))
    }

    /// Keeps the first error (in call order) of a response's calls, which ends the run once
    /// the other calls ran: Python's tasks all run, and the client raises the first call's
    /// error; each failed call's span carries its own.
    fn keep_first_error(raised: &mut Option<RunAgentError>, error: RunAgentError) {
        raised.get_or_insert(error);
    }

    /// Runs call `index` of the batch: an agent as a tool (a nested run), an MCP tool or a
    /// function tool. Returns the result's text and, for a function tool that returned, its
    /// value.
    async fn invoke(
        &mut self,
        tools: &mut ToolBatch<'_>,
        index: usize,
        call: &ToolCallRequest,
        agent_spec: &AgentSpec,
    ) -> CallOutcome {
        if call.tool().is_agent_tool() {
            // An agent as a tool: its own run, nested in the call's context.
            return self.invoke_agent_tool(tools, call, index, agent_spec).await;
        }
        if call.tool().mcp_server().is_some() {
            let result = self.mcp_call(agent_spec, call.tool().name());
            // The result object (a content item, or a list of them) is what a structured
            // agent that stops at the tool ends with.
            let returned = result.as_ref().ok().map(|result| result.value().clone());
            return Ok((tools.invoke_mcp(index, |_| result)?, returned));
        }
        let tool = &self.tools[call.tool().name()];
        let mut returned = None;
        // A tool without a failure handler that fails ends the run here.
        let text = tools.invoke(index, |_| {
            let result = tool.call();
            returned = result.as_ref().ok().cloned();
            result
        })?;
        if self.output_rejected(call.tool().name()) {
            // An output guardrail replaced the result with its message: that is the value.
            returned = Some(json!(text));
        }
        Ok((text, returned))
    }

    /// Calls `index` of the batch, an agent as a tool, with the plain function calls beside it
    /// (the capabilities allow no other kind): as in Python's tasks, the calls after it run
    /// once its nested run's first turn has started, then every plain call's end hooks come,
    /// its nested agent starts, and the plain calls' spans end; the nested run goes on alone.
    /// Their outcomes go into `outcomes`; returns the agent tool's.
    async fn invoke_agent_tool_beside(
        &mut self,
        tools: &mut ToolBatch<'_>,
        index: usize,
        calls: &[ToolCallRequest],
        agent_spec: &AgentSpec,
        outcomes: &mut [Option<CallOutcome>],
    ) -> CallOutcome {
        let plain: Vec<(usize, ScriptedTool)> = calls
            .iter()
            .enumerate()
            .filter(|(i, call)| *i != index && !call.is_awaiting_approval())
            .map(|(i, call)| (i, self.tools[call.tool().name()].clone()))
            .collect();
        let invocation = match tools.begin_invocation(index) {
            Ok(invocation) => invocation,
            Err(settled) => return settled.map(|text| (text, None)),
        };
        let mut settled: Vec<(usize, CallOutcome)> = Vec::new();
        let nested = {
            let mut beside = |point: NestedPoint| match point {
                NestedPoint::TurnStarted => {
                    for (i, tool) in plain.iter().filter(|(i, _)| *i > index) {
                        let mut returned = None;
                        let text = tools.invoke(*i, |_| {
                            let result = tool.call();
                            returned = result.as_ref().ok().cloned();
                            result
                        });
                        settled.push((*i, text.map(|text| (text, returned))));
                    }
                    for (i, _) in &plain {
                        tools.complete(*i);
                    }
                }
                NestedPoint::AgentStarted => {
                    for (i, _) in &plain {
                        tools.end_span(*i);
                    }
                }
            };
            self.nested_call(&calls[index], &invocation, agent_spec, Some(&mut beside))
                .await
        };
        for (i, outcome) in settled {
            outcomes[i] = Some(outcome);
        }
        Self::end_agent_tool(tools, invocation, nested)
    }

    /// Calls `index` of the batch, an agent as a tool: its nested run, in the call's context.
    async fn invoke_agent_tool(
        &mut self,
        tools: &mut ToolBatch<'_>,
        call: &ToolCallRequest,
        index: usize,
        agent_spec: &AgentSpec,
    ) -> CallOutcome {
        let invocation = match tools.begin_invocation(index) {
            Ok(invocation) => invocation,
            Err(settled) => return settled.map(|text| (text, None)),
        };
        let nested = self.nested_call(call, &invocation, agent_spec, None).await;
        Self::end_agent_tool(tools, invocation, nested)
    }

    /// The nested run of an agent tool's call, in the call's context (`beside`: what the
    /// response's other calls do at the nested run's points): its outcome, usage and final
    /// output.
    async fn nested_call(
        &mut self,
        call: &ToolCallRequest,
        invocation: &Invocation,
        agent_spec: &AgentSpec,
        beside: Option<&mut (dyn FnMut(NestedPoint) + Send)>,
    ) -> NestedOutcome {
        let target = agent_spec
            .agent_tools
            .iter()
            .find(|t| agent_tool_name(t) == call.tool().name())
            .cloned()
            .unwrap_or_default();
        let input = invocation
            .arguments()
            .get("input")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut usage = Usage::default();
        let mut final_output = None;
        let outcome =
            Box::pin(self.nested_run(target, input, &mut usage, &mut final_output, beside))
                .in_context(invocation.context().clone())
                .await;
        NestedOutcome {
            outcome,
            usage,
            final_output,
        }
    }

    /// An agent tool's call ends with its nested run's outcome: the tool returned the nested
    /// run's final output (a structured one is the pydantic model, which a structured caller
    /// that stops here ends with).
    fn end_agent_tool(
        tools: &mut ToolBatch<'_>,
        invocation: Invocation,
        nested: NestedOutcome,
    ) -> CallOutcome {
        let text = tools.end_invocation(invocation, nested.outcome)?;
        tools.add_usage(&nested.usage);
        Ok((text, nested.final_output))
    }

    /// Whether one of `tool`'s output guardrails replaces its result (`reject_content`).
    fn output_rejected(&self, tool: &str) -> bool {
        self.tool_specs.get(tool).is_some_and(|spec| {
            spec.output_guardrails.iter().any(|name| {
                self.scenario.guardrails.iter().any(|g| {
                    &g.name == name && g.behavior == Some(ToolGuardrailBehavior::RejectContent)
                })
            })
        })
    }

    /// The final output of a response of messages only: the text, or for a structured
    /// output type the validated value (`Err`: the problem), or `None` when a structured
    /// agent's last message is empty (Python runs it again).
    fn final_output(
        &mut self,
        agent_spec: &AgentSpec,
        processed: &ProcessedResponse,
    ) -> Option<Result<Value, String>> {
        let Some(output_type) = &agent_spec.output_type else {
            return Some(Ok(json!(processed.final_text().unwrap_or_default())));
        };
        let text = processed.final_text().filter(|t| !t.is_empty())?;
        Some(validate_output(output_type, text).inspect_err(|problem| {
            if !self.runner.env().dont_log_model_data() {
                self.unsupported = Some(Unsupported(format!(
                    "a final output that fails validation ({problem}) while model data is logged: the error message would be pydantic's"
                )));
            }
        }))
    }

    /// The run of `agent` called as a tool with `input`: Python's `Agent.as_tool` runs it
    /// with the caller's `RunConfig` (so sensitive data off reaches its spans) and no run
    /// hooks, in the current context (the call's function span), so it makes no trace of
    /// its own. Its usage goes to `usage`, its final output (the value itself) to
    /// `final_output`; the tool's result is that output's `str()`.
    async fn nested_run(
        &mut self,
        agent: String,
        input: String,
        usage: &mut Usage,
        final_output: &mut Option<Value>,
        beside: Option<&mut (dyn FnMut(NestedPoint) + Send)>,
    ) -> Result<Value, codex_telemetry::CallToolError> {
        let options = RunOptions::new()
            .with_config(self.run_config())
            .with_input(vec![Item::user_message(input)])
            .with_max_turns(Some(DEFAULT_MAX_TURNS))
            .with_streamed(false);
        let mut run = self.runner.start_run(options);
        run.start_agent(&self.agents[&agent]);
        let outer = std::mem::replace(&mut self.nesting, true);
        let outcome = Box::pin(self.drive_agent(&mut run, &agent, false, beside)).await;
        self.nesting = outer;
        *usage = *run.usage();
        *final_output = outcome.as_ref().ok().cloned();
        // A structured final output is a pydantic model: the tool's result is its str().
        let last_agent = run.current_agent().map(|agent| agent.name().to_owned());
        let output_type =
            last_agent.and_then(|name| self.agent_specs[name.as_str()].output_type.as_ref());
        let outcome = match (outcome, output_type) {
            (Ok(Value::Object(values)), Some(output_type)) => Ok(Value::String(pydantic_str(
                output_type
                    .fields
                    .keys()
                    .filter_map(|name| Some((name.as_str(), values.get(name)?))),
            ))),
            (outcome, _) => outcome,
        };
        let outcome = run.finish(outcome);
        outcome.map_err(|error| codex_telemetry::CallToolError::new(error.message()))
    }

    /// A response's tool calls as the batch takes them: to run, rejected by a standing
    /// decision of a resumed run, or waiting for approval (a tool with `needs_approval`
    /// asks unless a decision covers the call; a per-call policy is not consulted on
    /// arguments that are not a JSON object: the client then asks).
    fn plan_approvals(&self, turn: &Turn<'_>, calls: &[ToolCallRequest]) -> Vec<ToolCallRequest> {
        let mut batch = Vec::new();
        for call in calls {
            let (tool, id) = (call.tool().name(), call.call_id());
            match turn.approval(tool, id) {
                Some(Approval::Approved) => batch.push(call.clone()),
                Some(Approval::Rejected { message }) => {
                    batch.push(call.clone().with_rejection(
                        message.unwrap_or_else(|| DEFAULT_REJECTION_MESSAGE.into()),
                    ))
                }
                None => {
                    let asks = match self
                        .tool_specs
                        .get(tool)
                        .and_then(|t| t.needs_approval.as_ref())
                    {
                        None | Some(NeedsApproval::Always(false)) => false,
                        Some(NeedsApproval::Always(true)) => true,
                        Some(NeedsApproval::CallIds(ids)) => {
                            ids.iter().any(|i| i == id)
                                || !matches!(
                                    serde_json::from_str::<Value>(call.arguments()),
                                    Ok(Value::Object(_))
                                )
                        }
                    };
                    batch.push(if asks {
                        call.clone().awaiting_approval()
                    } else {
                        call.clone()
                    });
                }
            }
        }
        batch
    }

    /// The scripted MCP server's answer to a call of `tool`: the `str()`-able result (one
    /// text item as a dict, several as a list, as the client converts them), or its error.
    fn mcp_call(
        &self,
        agent: &AgentSpec,
        tool: &str,
    ) -> Result<McpToolResult, codex_telemetry::CallToolError> {
        let Some((server, spec)) = mcp::visible_tool(self.scenario, agent, tool) else {
            return Err(codex_telemetry::CallToolError::new(format!(
                "Unknown tool: {tool}"
            )));
        };
        if let Some(error) = &spec.error {
            return Err(codex_telemetry::CallToolError::new(error.clone()));
        }
        let items: Vec<Value> = spec
            .content
            .iter()
            .map(|text| json!({"type": "text", "text": text}))
            .collect();
        let value = match <[Value; 1]>::try_from(items) {
            Ok([single]) => single,
            Err(items) => Value::Array(items),
        };
        Ok(McpToolResult::new(
            value,
            mcp_result_repr(&server.name, spec),
        ))
    }

    /// A turn that produced the final output: the agent's end hooks, then the turn's end.
    async fn end_with_final_output(&mut self, mut turn: Turn<'_>, output: &Value) {
        turn.final_output(output);
        self.step().await;
        turn.end();
        self.step().await;
    }

    /// The agent's output guardrails on the final output, after its last turn.
    fn check_output(
        &self,
        run: &mut Run,
        agent_name: &str,
        output: Value,
    ) -> Result<Value, RunAgentError> {
        let output_guardrails = self.guardrails(agent_name, GuardrailKind::Output);
        run.run_output_guardrails(&output_guardrails, |name| self.tripwires[name])?;
        Ok(output)
    }

    /// The names of an agent's guardrails of one kind.
    fn guardrails(&self, agent: &str, kind: GuardrailKind) -> Vec<String> {
        let spec = self.agent_specs[agent];
        match kind {
            GuardrailKind::Input => spec.input_guardrails.clone(),
            GuardrailKind::Output => spec.output_guardrails.clone(),
            // Tool guardrails belong to tools, not agents.
            GuardrailKind::ToolInput | GuardrailKind::ToolOutput => Vec::new(),
        }
    }
}

impl Drop for Driver<'_> {
    fn drop(&mut self) {
        // A copy that ends without arriving (it panicked) must not leave the others waiting.
        if let Some(gate) = &self.start_gate
            && !self.arrived
        {
            gate.leave();
        }
    }
}

/// Runs `copies` copies of the scenario's run at once, each a task on a multi-thread runtime
/// started in `context` (empty: each makes its own trace; a user trace's: all run inside it).
/// All record into the same log through the same subscriber. Returns whether every run
/// completed.
pub(crate) fn run_copies(
    scenario: &Scenario,
    copies: usize,
    runner: &Runner,
    recorder: &Recorder,
    dispatch: &tracing::Dispatch,
    context: &Context,
) -> Result<bool, Unsupported> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(copies.clamp(2, 4))
        .thread_name("rust-subject-copy")
        .build()
        .map_err(|e| Unsupported(format!("cannot start a tokio runtime: {e}")))?;
    // Tasks are `'static`: each owns the scenario (its driver borrows from it).
    let scenario = Arc::new(scenario.clone());
    let gate = StartGate::new(copies);
    let tasks: Vec<_> = (0..copies)
        .map(|_| {
            let (scenario, runner, recorder) = (scenario.clone(), runner.clone(), recorder.clone());
            let gate = gate.clone();
            let copy = async move {
                Driver::new(&scenario, runner, recorder)
                    .with_start_gate(gate)
                    .run_copy()
                    .await
            };
            runtime.spawn(
                copy.in_context(context.clone())
                    .with_subscriber(dispatch.clone()),
            )
        })
        .collect();
    runtime.block_on(async {
        let mut results = Vec::with_capacity(copies);
        for task in tasks {
            results.push(task.await.unwrap_or_else(|_| {
                Err(Unsupported(
                    "a concurrent copy of the run panicked (a bug of the rust subject or codex-telemetry)".into(),
                ))
            }));
        }
        results
            .into_iter()
            .try_fold(true, |all, completed| completed.map(|c| all && c))
    })
}

/// An async barrier for concurrent copies that a copy can also leave without waiting.
#[derive(Debug)]
pub(crate) struct StartGate {
    /// Copies that have neither arrived nor left.
    pending: watch::Sender<usize>,
}

impl StartGate {
    pub(crate) fn new(copies: usize) -> Arc<Self> {
        Arc::new(Self {
            pending: watch::Sender::new(copies),
        })
    }

    /// Waits until every copy has arrived or left.
    async fn arrive(&self) {
        let mut pending = self.pending.subscribe();
        self.leave();
        // `wait_for` looks at the current value first: no wake-up is missed.
        let _ = pending.wait_for(|pending| *pending == 0).await;
    }

    fn leave(&self) {
        self.pending
            .send_modify(|pending| *pending = pending.saturating_sub(1));
    }
}

fn to_map(map: &BTreeMap<String, Value>) -> JsonMap {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The repr of the `mcp` package's `CallToolResult` that the scripted server answers with, as
/// the client logs it when tool data is logged (the fork server names itself after the
/// scenario's server, with no version).
fn mcp_result_repr(server: &str, tool: &crate::scenario::schema::McpToolSpec) -> String {
    let content: Vec<String> = tool
        .content
        .iter()
        .map(|text| {
            format!(
                "TextContent(type='text', text={}, annotations=None, meta=None)",
                python_repr(&json!(text))
            )
        })
        .collect();
    format!(
        "meta={{'io.modelcontextprotocol/serverInfo': {{'name': {}, 'version': ''}}}} content=[{}] structured_content=None is_error={} result_type='complete'",
        python_repr(&json!(server)),
        content.join(", "),
        if tool.is_error { "True" } else { "False" }
    )
}
