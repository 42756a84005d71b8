//! The run's shared state ([`RunCore`]): what a [`Run`](super::Run) and the handles it lends
//! out ([`Turn`](super::Turn), [`ModelCall`](super::ModelCall),
//! [`ToolBatch`](super::ToolBatch), the guardrails) work on: the run's settings, its own
//! context, the conversation, the usage, the turn counter, the current agent's stint, the
//! calls waiting for approval and the decisions it was resumed with, and its Codex events.
//!
//! One struct below all of them: a handle borrows it from the run and goes through its
//! methods, so no module reaches into another's fields, and none of them imports the run.

use std::sync::Arc;

use serde_json::json;

use super::agent::{AgentHooks, AgentInfo, Routing};
use super::decisions::{Approval, Decisions};
use super::errors::RunAgentError;
use super::hooks::RunHooks;
use super::items::{Item, ToolApproval};
use super::run_context::RunContext;
use super::usage::Usage;
use crate::events::{EventTimer, Events};
use crate::model::config::{EnvConfig, RunConfig};
use crate::model::pyrepr::python_repr;
use crate::model::span_data::{AgentSpanData, JsonMap};
use crate::model::span_error::SpanError;
use crate::sdk::context::{Attached, Context, FrameId, OwnedContext, current_span};
use crate::sdk::log::agents_warn;
use crate::sdk::provider::TraceProvider;
use crate::sdk::span::{Span, TypedSpan};
use crate::sdk::trace::Trace;

/// The error detail exported instead of an error's text when sensitive data is off.
const REDACTED_ERROR: &str = "Error details are redacted.";

/// One agent's stint: its span, current in the run while the stint lasts.
pub(crate) struct Stint {
    info: AgentInfo,
    span: TypedSpan<AgentSpanData>,
    frame: Option<FrameId>,
    /// Python's `should_run_agent_start_hooks`.
    start_hooks_pending: bool,
}

impl Stint {
    /// The agent.
    pub(crate) fn agent(&self) -> &AgentInfo {
        &self.info
    }

    /// The agent span.
    pub(crate) fn span(&self) -> &TypedSpan<AgentSpanData> {
        &self.span
    }

    /// The agent span's `handoffs` and `tools`: what the agent offers the model, as routed.
    pub(crate) fn show_routing(&self, routing: &Routing<'_>) {
        self.span.update(|data| {
            data.handoffs = Some(
                routing
                    .handoffs
                    .iter()
                    .map(|h| h.agent_name().to_owned())
                    .collect(),
            );
            data.tools = Some(routing.tools.iter().map(|t| t.name().to_owned()).collect());
        });
    }
}

/// What a run's state starts with: its settings, the context built so far (the caller's, with
/// the run's trace and task span on top), its input and its Codex events.
pub(crate) struct RunSetup {
    pub(crate) provider: TraceProvider,
    pub(crate) env: EnvConfig,
    pub(crate) config: RunConfig,
    pub(crate) streamed: bool,
    /// Whether turns persist their items to a session.
    pub(crate) session: bool,
    /// Whether a consumer reads the streamed run's events.
    pub(crate) drained: bool,
    pub(crate) hooks: Option<Arc<dyn RunHooks>>,
    pub(crate) scope: OwnedContext,
    pub(crate) input: Vec<Item>,
    pub(crate) events: Events,
}

/// The state a run shares with its handles; see the module docs.
pub(crate) struct RunCore {
    provider: TraceProvider,
    env: EnvConfig,
    config: RunConfig,
    streamed: bool,
    session: bool,
    drained: bool,
    hooks: Option<Arc<dyn RunHooks>>,
    /// The run's context: over the caller's (where a streamed run's consumer logs), the
    /// run's trace and open spans.
    scope: OwnedContext,
    items: Vec<Item>,
    /// What the session holds (a run with a session only): the input, then the items of
    /// each turn as Python saves them when the turn ends.
    persisted: Vec<Item>,
    usage: Usage,
    /// The usage of the runs this one resumes: the task span shows only this run's.
    usage_start: Usage,
    current_turn: u32,
    /// Calls waiting for a decision: the run ends interrupted.
    pending_approvals: Vec<ToolApproval>,
    /// The decisions on the calls of the interrupted run this one resumes, and the standing
    /// decisions carried from run to run.
    decisions: Decisions,
    agent: Option<Stint>,
    /// A streamed run's input-guardrail tripwire, raised once the turn's model call
    /// returns.
    stored_error: Option<RunAgentError>,
    /// A streamed run raised while planning its tool calls: Python's consumer finds the
    /// run's task failed and logs `Breaking due to stored exception` once the run is over.
    breaks_after_close: bool,
    /// The run's Codex events (its thread id and originator).
    events: Events,
    /// A turn that ended by an error propagating: its `codex.turn.exception` waits for
    /// `Run::finish`, which knows the error.
    failed_turn: Option<EventTimer>,
}

/// # Settings
impl RunCore {
    pub(crate) fn new(setup: RunSetup) -> Self {
        let RunSetup {
            provider,
            env,
            config,
            streamed,
            session,
            drained,
            hooks,
            scope,
            input,
            events,
        } = setup;
        Self {
            provider,
            env,
            config,
            streamed,
            session,
            drained,
            hooks,
            scope,
            persisted: if session { input.clone() } else { Vec::new() },
            items: input,
            usage: Usage::default(),
            usage_start: Usage::default(),
            current_turn: 0,
            pending_approvals: Vec::new(),
            decisions: Decisions::default(),
            agent: None,
            stored_error: None,
            breaks_after_close: false,
            events,
            failed_turn: None,
        }
    }

    /// The provider the run records to.
    pub(crate) fn provider(&self) -> &TraceProvider {
        &self.provider
    }

    /// The environment snapshot of the runner.
    pub(crate) fn env(&self) -> &EnvConfig {
        &self.env
    }

    /// The run's configuration.
    pub(crate) fn config(&self) -> &RunConfig {
        &self.config
    }

    /// Whether the run is streamed.
    pub(crate) fn is_streamed(&self) -> bool {
        self.streamed
    }

    /// Whether turns persist their items to a session.
    pub(crate) fn has_session(&self) -> bool {
        self.session
    }

    /// Whether a consumer reads the streamed run's events (and logs what it finds).
    pub(crate) fn is_drained(&self) -> bool {
        self.drained
    }

    /// The run's Codex events.
    pub(crate) fn events(&self) -> &Events {
        &self.events
    }

    /// The run hooks, if any.
    pub(crate) fn run_hooks(&self) -> Option<&dyn RunHooks> {
        self.hooks.as_deref()
    }
}

/// # The run's context
impl RunCore {
    /// Makes the run's context current on this thread for the duration of a call.
    pub(crate) fn attach(&mut self) -> Attached {
        self.scope.attach()
    }

    /// The run's current context (a snapshot).
    pub(crate) fn context(&self) -> Context {
        self.scope.current().clone()
    }

    /// Starts `span` and makes it the run's current span (`None` when it was already
    /// started: it is not made current then).
    pub(crate) fn start_span(&mut self, span: &Span) -> Option<FrameId> {
        self.scope.start_span(span)
    }

    /// Finishes `span` and removes its frame from the run's context.
    pub(crate) fn end_span(&mut self, span: &Span, frame: Option<FrameId>) {
        self.scope.end_span(span, frame);
    }

    /// Finishes `trace` and removes its frame from the run's context.
    pub(crate) fn end_trace(&mut self, trace: &Trace, frame: Option<FrameId>) {
        self.scope.end_trace(trace, frame);
    }

    /// Logs in the caller's context, where Python's stream consumer runs.
    pub(crate) fn log_in_caller_context(&self, log: impl FnOnce()) {
        self.scope.base().run(log);
    }
}

/// # Conversation, usage and turns
impl RunCore {
    /// The conversation so far.
    pub(crate) fn items(&self) -> &[Item] {
        &self.items
    }

    /// What the session holds of the conversation.
    pub(crate) fn persisted_items(&self) -> &[Item] {
        &self.persisted
    }

    /// Saves the items from `start` on (a turn's) to the session. A turn interrupted for
    /// approvals saves what ran but not the calls waiting ("approval placeholders"); the
    /// final output's turn (`answer`) saves all but its messages.
    pub(crate) fn persist_items(&mut self, start: usize, answer: bool) {
        let pending = &self.pending_approvals;
        let left_out = |item: &Item| match item {
            Item::FunctionCall { call_id, .. } => {
                pending.iter().any(|call| call.call_id() == call_id)
            }
            Item::Message { .. } => answer,
            _ => false,
        };
        let saved = self.items[start..]
            .iter()
            .filter(|item| !left_out(item))
            .cloned();
        self.persisted.extend(saved);
    }

    /// Saves the calls of a failing batch that completed (`(call id, result text)`, in call
    /// order) to the session: their function calls, then their outputs (Python's
    /// `_completed_tool_step_items`).
    pub(crate) fn persist_completed_calls(&mut self, completed: &[(String, String)]) {
        // Each call's latest function call item (this turn's, not an earlier one that used
        // the same id), in conversation order.
        let mut positions: Vec<usize> = completed
            .iter()
            .filter_map(|(id, _)| {
                self.items.iter().rposition(
                    |item| matches!(item, Item::FunctionCall { call_id, .. } if call_id == id),
                )
            })
            .collect();
        positions.sort_unstable();
        let calls: Vec<Item> = positions.iter().map(|&i| self.items[i].clone()).collect();
        self.persisted.extend(calls);
        self.persisted.extend(
            completed
                .iter()
                .map(|(id, text)| Item::function_call_output(id, text.clone())),
        );
    }

    /// Appends an item to the conversation.
    pub(crate) fn push_item(&mut self, item: Item) {
        self.items.push(item);
    }

    /// Appends items to the conversation.
    pub(crate) fn extend_items(&mut self, items: impl IntoIterator<Item = Item>) {
        self.items.extend(items);
    }

    /// The usage of the run's model calls so far (the runs it resumes included).
    pub(crate) fn usage(&self) -> &Usage {
        &self.usage
    }

    /// Adds a model call's (or nested run's) usage.
    pub(crate) fn add_usage(&mut self, usage: &Usage) {
        self.usage.add(usage);
    }

    /// The usage of this run alone, without that of the runs it resumes.
    pub(crate) fn own_usage(&self) -> Usage {
        self.usage.delta_since(&self.usage_start)
    }

    /// The number of the last turn started (0 before the first).
    pub(crate) fn current_turn(&self) -> u32 {
        self.current_turn
    }

    /// Counts a new turn and returns its number.
    pub(crate) fn next_turn(&mut self) -> u32 {
        self.current_turn += 1;
        self.current_turn
    }

    /// The state of the interrupted run(s) this one resumes: turn counter, usage,
    /// conversation, calls still waiting and the decisions taken on them.
    pub(crate) fn restore(
        &mut self,
        current_turn: u32,
        usage: Usage,
        items: Vec<Item>,
        pending_approvals: Vec<ToolApproval>,
        decisions: Decisions,
    ) {
        self.current_turn = current_turn;
        self.usage = usage;
        self.usage_start = usage;
        self.items = items;
        self.pending_approvals = pending_approvals;
        self.decisions = decisions;
    }

    /// The conversation, taken (the run is being interrupted).
    pub(crate) fn take_items(&mut self) -> Vec<Item> {
        std::mem::take(&mut self.items)
    }
}

/// # The current agent
impl RunCore {
    /// Ends the current agent's stint, if any, and starts one of `agent`: its span is the
    /// run's current span, with `handoffs`/`tools` `[]` (filled in at its model call) and its
    /// output type. Its first turn calls the agent-start hooks.
    pub(crate) fn start_stint(&mut self, agent: &AgentInfo) {
        self.end_stint();
        let mut data = AgentSpanData::new(agent.name());
        data.handoffs = Some(Vec::new());
        data.tools = Some(Vec::new());
        data.output_type = Some(agent.output_type().to_owned());
        let span = self.provider.span(data);
        let frame = self.scope.start_span(&span);
        self.agent = Some(Stint {
            info: agent.clone(),
            span,
            frame,
            start_hooks_pending: true,
        });
    }

    /// Ends the current agent's span, if any.
    pub(crate) fn end_stint(&mut self) {
        if let Some(stint) = self.agent.take() {
            self.scope.end_span(&stint.span, stint.frame);
        }
    }

    /// The current agent's stint, if one was started.
    pub(crate) fn current_stint(&self) -> Option<&Stint> {
        self.agent.as_ref()
    }

    /// The current agent's stint.
    ///
    /// # Panics
    ///
    /// If no agent was started.
    pub(crate) fn stint(&self) -> &Stint {
        self.agent
            .as_ref()
            .expect("no agent started: call Run::start_agent first")
    }

    /// Calls the stint's `on_agent_start` hooks (run hooks, then agent hooks) unless they
    /// were called: on its first turn, at the turn's first call other than blocking input
    /// guardrails (Python runs those before the hooks).
    ///
    /// # Panics
    ///
    /// If no agent was started.
    pub(crate) fn agent_started(&mut self) {
        let stint = self
            .agent
            .as_mut()
            .expect("no agent started: call Run::start_agent first");
        if std::mem::take(&mut stint.start_hooks_pending) {
            self.run_then_agent_hooks(
                |hooks, context, agent| hooks.on_agent_start(context, agent),
                |hooks, context, agent| hooks.on_start(context, agent),
            );
        }
    }

    /// The hook context: the usage so far.
    pub(crate) fn hook_context(&self) -> RunContext {
        RunContext::new(self.usage)
    }

    /// Calls a callback of the run hooks, then of the current agent's hooks (Python's order
    /// for every callback but `on_llm_end`), each with the hook context and the agent.
    pub(crate) fn run_then_agent_hooks(
        &self,
        run_hook: impl FnOnce(&dyn RunHooks, &RunContext, &AgentInfo),
        agent_hook: impl FnOnce(&dyn AgentHooks, &RunContext, &AgentInfo),
    ) {
        let agent = &self.stint().info;
        let context = self.hook_context();
        if let Some(hooks) = &self.hooks {
            run_hook(&**hooks, &context, agent);
        }
        if let Some(hooks) = agent.hooks() {
            agent_hook(&**hooks, &context, agent);
        }
    }
}

/// # Errors
impl RunCore {
    /// The error detail spans export for `message`: the message itself with sensitive data
    /// on, [`REDACTED_ERROR`] otherwise.
    pub(crate) fn error_detail(&self, message: &str) -> String {
        if self.config.trace_include_sensitive_data {
            message.to_owned()
        } else {
            REDACTED_ERROR.to_owned()
        }
    }

    /// Python's `attach_error_to_current_span`.
    pub(crate) fn attach_error_to_current_span(&self, error: SpanError) {
        match current_span() {
            Some(span) => span.set_error(error),
            None if self.env.dont_log_model_data() || self.env.dont_log_tool_data() => {
                agents_warn!("No active span; trace error was not attached");
            }
            None => agents_warn!(
                "No span to add error {} to",
                python_repr(&json!({"message": error.message, "data": error.data}))
            ),
        }
    }

    /// Puts `Max turns exceeded` `{"max_turns": N}` on the agent span.
    pub(crate) fn max_turns_exceeded(&self, max_turns: u32) {
        self.stint().span.set_error(
            SpanError::new("Max turns exceeded")
                .with_data(JsonMap::from_iter([("max_turns".into(), json!(max_turns))])),
        );
    }

    /// The error a streamed run stored (its input-guardrail tripwire), if any.
    pub(crate) fn stored_error(&self) -> Option<&RunAgentError> {
        self.stored_error.as_ref()
    }

    /// Stores the error a streamed run raises when its model call returns.
    pub(crate) fn store_error(&mut self, error: RunAgentError) {
        self.stored_error = Some(error);
    }

    /// The stored error, taken (the run is finishing).
    pub(crate) fn take_stored_error(&mut self) -> Option<RunAgentError> {
        self.stored_error.take()
    }

    /// Whether the consumer of a streamed run logs `Breaking due to stored exception` once
    /// the run is over.
    pub(crate) fn breaks_after_close(&self) -> bool {
        self.breaks_after_close
    }

    /// Sets [`breaks_after_close`](RunCore::breaks_after_close).
    pub(crate) fn set_breaks_after_close(&mut self, breaks: bool) {
        self.breaks_after_close = breaks;
    }

    /// Keeps the `codex.turn` timer of a turn an error ended, for `Run::finish`.
    pub(crate) fn set_failed_turn(&mut self, event: EventTimer) {
        self.failed_turn = Some(event);
    }

    /// The failed turn's timer, taken.
    pub(crate) fn take_failed_turn(&mut self) -> Option<EventTimer> {
        self.failed_turn.take()
    }
}

/// # Approvals
impl RunCore {
    /// Whether calls are waiting for a decision.
    pub(crate) fn is_interrupted(&self) -> bool {
        !self.pending_approvals.is_empty()
    }

    /// Adds a call waiting for a decision.
    pub(crate) fn push_pending_approval(&mut self, approval: ToolApproval) {
        self.pending_approvals.push(approval);
    }

    /// The calls waiting for a decision, taken.
    pub(crate) fn take_pending_approvals(&mut self) -> Vec<ToolApproval> {
        std::mem::take(&mut self.pending_approvals)
    }

    /// The decisions the run was resumed with.
    pub(crate) fn decisions(&self) -> &Decisions {
        &self.decisions
    }

    /// The decisions, taken to carry to the next run.
    pub(crate) fn take_decisions(&mut self) -> Decisions {
        std::mem::take(&mut self.decisions)
    }

    /// The decision on a call of `tool` with `call_id`: the call's own, or a standing
    /// decision of the current agent for the tool (none without an agent).
    pub(crate) fn approval(&self, tool: &str, call_id: &str) -> Option<Approval> {
        let agent = self.agent.as_ref()?.info.name();
        self.decisions.for_call(agent, tool, call_id)
    }
}
