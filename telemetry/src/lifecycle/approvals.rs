//! Human-in-the-loop approvals: a run interrupted by tool calls that wait for a decision,
//! the [`RunState`] it leaves, and the run resumed from it (Python's `needs_approval`,
//! `result.interruptions`, `state.approve` / `state.reject` and `Runner.run(agent, state)`).
//!
//! The SDK decides which calls need approval; the lifecycle gives them the client's
//! telemetry:
//!
//! | SDK step | call | what it emits |
//! |---|---|---|
//! | calls wait for approval | [`ToolCallRequest::awaiting_approval`] in the turn's batch | a function span per call, started and ended at once in call order (input only, no hooks) |
//! | the run stops | [`Run::interrupt`] | the turn, agent, task and trace end normally, no agent-end hooks; returns the [`RunState`] |
//! | decisions | [`RunState::approve`], [`RunState::reject`] | nothing (the state records them) |
//! | resumed run | [`Runner::resume_run`] | the saved trace again: reattached (no `trace_start`/`trace_end`) when this provider started it and the settings match, else a new trace with the saved id; a new task span |
//! | agent again | [`Run::start_agent`], then [`Run::continue_from_interruption`] | `Continuing from interruption` (not streamed), an `mcp_tools` span per MCP server, `Processing output item …` per item of the interrupted response; rejected calls answer the model silently |
//! | approved calls | [`Run::start_resumed_tools`] | function spans under the agent span (no turn), with hooks and tool log lines |
//! | a call rejected by a standing decision | [`ToolCallRequest::with_rejection`] in a later batch | a function span with the message as output and the rejection error, no hooks |
//!
//! The turn counter, the conversation and the usage carry over; the resumed run's task span
//! shows only its own usage, and the next turn calls the agent-start hooks again.

use serde::{Deserialize, Serialize};

use super::decisions::{Approval, Decisions};
use super::items::{Item, ToolApproval, ToolCallRequest};
use super::run::{Run, RunOptions, Runner};
use super::state::RunCore;
use super::tool_info::McpListing;
use super::tools::ToolBatch;
use super::turn::Turn;
use super::usage::Usage;
use crate::events::{EventFields, Namespace, Phase};
use crate::model::config::DEFAULT_WORKFLOW_NAME;
use crate::model::span_data::JsonMap;
use crate::sdk::log::agents_debug;

/// The trace a state belongs to (Python's `RunState._trace_state`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedTrace {
    id: String,
    workflow_name: String,
    group_id: Option<String>,
    metadata: Option<JsonMap>,
}

/// What an interrupted run leaves to resume from (Python's `RunState`): the trace, the turn
/// counter, the conversation, the usage so far and the calls waiting for a decision. Serializable, to resume in another process
/// ([`to_json`](RunState::to_json) / [`from_json`](RunState::from_json)).
///
/// # Examples
///
/// ```
/// use codex_telemetry::config::EnvConfig;
/// use codex_telemetry::lifecycle::{AgentInfo, Item, ModelCallOptions, ModelResponse, RunOptions, Runner, ToolInfo};
/// use codex_telemetry::{InMemoryProcessor, TraceProvider};
/// use serde_json::json;
///
/// let memory = InMemoryProcessor::new();
/// let runner = Runner::new(TraceProvider::builder().with_processor(memory.clone()).build(), EnvConfig::default());
/// let agent = AgentInfo::new("ops").with_tool(ToolInfo::new("restart"));
///
/// // The model asks for a call that needs approval: the run stops.
/// let mut run = runner.start_run(RunOptions::new().with_input(vec![Item::user_message("Restart web-1")]));
/// run.start_agent(&agent);
/// let mut turn = run.start_turn().unwrap();
/// let call = turn.start_model_call(ModelCallOptions::new());
/// let processed = call.finish(ModelResponse::new(vec![Item::function_call("restart", "call_1", "{}")])).unwrap();
/// let waiting: Vec<_> = processed.tool_calls().iter().map(|c| c.clone().awaiting_approval()).collect();
/// turn.start_tools(&waiting).finish();
/// turn.end();
/// let mut state = run.interrupt();
/// assert_eq!(state.interruptions()[0].call_id(), "call_1");
///
/// // Approved, the run resumes in the same trace (reattached: no second trace_start).
/// state.approve("call_1", false);
/// let mut run = runner.resume_run(state, RunOptions::new());
/// run.start_agent(&agent);
/// let approved = run.continue_from_interruption(&[]);
/// let mut tools = run.start_resumed_tools(&approved);
/// tools.invoke(0, |_| Ok(json!("restarted"))).unwrap();
/// tools.finish();
/// let mut turn = run.start_turn().unwrap();
/// assert_eq!(turn.number(), 2);
/// let call = turn.start_model_call(ModelCallOptions::new());
/// call.finish(ModelResponse::new(vec![Item::assistant_message("Done.")])).unwrap();
/// turn.final_output(&json!("Done."));
/// turn.end();
/// run.finish(Ok(json!("Done."))).unwrap();
///
/// let trace_starts = memory.events().iter().filter(|e| e.kind == codex_telemetry::EventKind::TraceStart).count();
/// assert_eq!(trace_starts, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    trace: Option<SavedTrace>,
    /// The thread id of the runs' Codex events.
    thread_id: Option<String>,
    current_turn: u32,
    agent: String,
    usage: Usage,
    items: Vec<Item>,
    pending: Vec<ToolApproval>,
    /// Every decision taken so far, in the client's records (they carry from run to run).
    decisions: Decisions,
}

impl RunState {
    /// The calls waiting for a decision, in call order (Python's `result.interruptions`).
    pub fn interruptions(&self) -> &[ToolApproval] {
        &self.pending
    }

    /// The agent the run resumes with.
    pub fn current_agent(&self) -> &str {
        &self.agent
    }

    /// The usage of the runs so far.
    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// Approves the pending call `call_id` (with `always`, the tool's later calls by the same
    /// agent too). Returns false when no such call is pending.
    pub fn approve(&mut self, call_id: &str, always: bool) -> bool {
        self.decide(call_id, always, Approval::Approved)
    }

    /// Rejects the pending call `call_id` with `message` (the client's default message when
    /// `None`); with `always`, the tool's later calls by the same agent too. Returns false
    /// when no such call is pending.
    pub fn reject(&mut self, call_id: &str, always: bool, message: Option<String>) -> bool {
        self.decide(call_id, always, Approval::Rejected { message })
    }

    fn decide(&mut self, call_id: &str, always: bool, approval: Approval) -> bool {
        let Some(call) = self.pending.iter().find(|call| call.call_id() == call_id) else {
            return false;
        };
        self.decisions
            .decide(call.agent(), call.tool(), call_id, always, &approval);
        true
    }

    /// The state as JSON text (Python's `state.to_json()`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a run state serializes to JSON")
    }

    /// A state from [`to_json`](RunState::to_json)'s text (Python's `RunState.from_json`).
    ///
    /// # Errors
    ///
    /// When `json` is not a run state.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// # Approvals
impl Turn<'_> {
    /// [`Run::approval`] of the turn's run: the decision a resumed run has for a call.
    pub fn approval(&self, tool: &str, call_id: &str) -> Option<Approval> {
        self.run().approval(tool, call_id)
    }
}

/// # Interruptions and resuming
impl Run {
    /// Whether calls are waiting for a decision ([`ToolCallRequest::awaiting_approval`], or
    /// calls left undecided when resumed): end the run with [`interrupt`](Run::interrupt).
    pub fn is_interrupted(&self) -> bool {
        self.core().is_interrupted()
    }

    /// The decision on a call of `tool` with `call_id`, when this run was resumed with one:
    /// the call's own, or a standing decision of the current agent for the tool. The SDK
    /// runs an approved call, hands a rejected one to the batch
    /// ([`ToolCallRequest::with_rejection`]), and otherwise asks for approval if the tool
    /// needs it.
    pub fn approval(&self, tool: &str, call_id: &str) -> Option<Approval> {
        self.core().approval(tool, call_id)
    }

    /// Ends the run at an interruption: the agent span (without agent-end hooks), the task
    /// span (with the run's usage) and the run's trace end normally, and the state to
    /// resume from is returned.
    ///
    /// # Panics
    ///
    /// If no agent was started.
    pub fn interrupt(mut self) -> RunState {
        let _attached = self.core_mut().attach();
        // The trace the state belongs to: the run's, or the user's trace around it.
        let trace = self
            .context()
            .trace()
            .filter(|trace| !trace.is_noop())
            .map(|trace| SavedTrace {
                id: trace.id().to_owned(),
                workflow_name: trace.workflow_name().to_owned(),
                group_id: trace.group_id().map(str::to_owned),
                metadata: trace.metadata().cloned(),
            });
        self.end_thread_interrupted();
        let core = self.core_mut();
        let state = RunState {
            trace,
            thread_id: core.events().thread_id().map(str::to_owned),
            current_turn: core.current_turn(),
            agent: core.stint().agent().name().to_owned(),
            usage: *core.usage(),
            items: core.take_items(),
            pending: core.take_pending_approvals(),
            decisions: core.take_decisions(),
        };
        self.close();
        state
    }

    /// After [`start_agent`](Run::start_agent) in a resumed run: logs `Continuing from
    /// interruption` (not in a streamed run), lists the agent's MCP servers' tools
    /// (`mcp_tools`: one listing per server, in the agent's order) and logs
    /// `Processing output item …` for each call
    /// that was waiting, fills the agent span's tools and handoffs, answers the model for each rejected call (no span, no
    /// hooks), and returns the approved calls, to run with
    /// [`start_resumed_tools`](Run::start_resumed_tools). Undecided calls stay pending
    /// ([`is_interrupted`](Run::is_interrupted)).
    ///
    /// # Panics
    ///
    /// If no agent was started.
    pub fn continue_from_interruption(&mut self, mcp_tools: &[McpListing]) -> Vec<ToolCallRequest> {
        let core = self.core_mut();
        let _attached = core.attach();
        if !core.is_streamed() {
            agents_debug!("Continuing from interruption");
        }
        // Python gets the agent's tools again before it resolves the interrupted turn:
        // each MCP server is listed under the agent span.
        for listing in mcp_tools {
            listing.emit(core.provider());
        }
        // Python rebuilds the interrupted turn from its pending calls: it processes each
        // call again, and the agent span gets the agent's tools and handoffs.
        let pending = core.take_pending_approvals();
        for _ in &pending {
            agents_debug!(
                "Processing output item type=function_call class=ResponseFunctionToolCall"
            );
        }
        let stint = core.stint();
        stint.show_routing(&stint.agent().routing(true));
        let mut approved = Vec::new();
        for call in pending {
            // What the tool's record says of the call, after every decision taken so far
            // (a later standing one may have cancelled the call's own).
            let decision = core
                .decisions()
                .for_call(call.agent(), call.tool(), call.call_id());
            if let Some(decision) = &decision {
                end_approval_event(core, &call, decision);
            }
            match decision {
                Some(Approval::Approved) => {
                    let tool = core.stint().agent().tool(call.tool()).cloned();
                    if let Some(tool) = tool {
                        approved.push(ToolCallRequest::new(tool, call.call_id(), call.arguments()));
                    }
                }
                Some(rejected @ Approval::Rejected { .. }) => {
                    let text = rejected.rejection_text().unwrap_or_default().to_owned();
                    core.push_item(Item::function_call_output(call.call_id(), text));
                }
                None => core.push_pending_approval(call),
            }
        }
        approved
    }

    /// Runs the approved calls of a resumed run (see [`ToolBatch`]): their function spans
    /// are children of the agent span, as no turn is open, and the agent-start hooks wait
    /// for the next turn.
    pub fn start_resumed_tools(&mut self, calls: &[ToolCallRequest]) -> ToolBatch<'_> {
        let core = self.core_mut();
        let _attached = core.attach();
        ToolBatch::start(core, calls)
    }
}

/// `codex.approval.stop` of a decided call, with the token of its start (possibly emitted by
/// another process: the wait is measured on the wall clock).
fn end_approval_event(core: &RunCore, call: &ToolApproval, decision: &Approval) {
    let Some(token) = call.event_token() else {
        return;
    };
    let waited = call
        .requested_at()
        .map(|at| core.events().now().duration_since(at));
    let fields = EventFields {
        decision: Some(match decision {
            Approval::Approved => "approved",
            Approval::Rejected { .. } => "rejected",
        }),
        ..EventFields::new()
            .agent(call.agent())
            .call(call.tool(), call.call_id())
    };
    core.events()
        .emit(Namespace::Approval, Phase::Stop, token, waited, &fields);
}

impl Runner {
    /// Resumes an interrupted run from `state` with `options` (whose input is ignored: the
    /// state's conversation goes on). A streamed run first logs `Resuming from RunState in
    /// run_streaming()`.
    ///
    /// The trace: inside a current trace, none of its own. Otherwise the state's trace
    /// settings fill in what `options`' config leaves at its defaults (workflow name, trace
    /// id, group, metadata); when the result is the saved trace and this provider started
    /// it, the run reattaches to it (current, but no `trace_start`/`trace_end`), else it
    /// starts a new trace with those settings (the saved id). Then a task span named after
    /// the workflow, with this run's usage only. Continue with
    /// [`Run::start_agent`] (the state's [`current_agent`](RunState::current_agent)) and
    /// [`Run::continue_from_interruption`].
    pub fn resume_run(&self, state: RunState, options: RunOptions) -> Run {
        let mut options = options;
        // With tracing disabled it comes inside the masked setup (`Run::start_with`).
        if options.streamed() && !options.config().tracing_disabled {
            agents_debug!("Resuming from RunState in run_streaming()");
        }
        let mut reattach = false;
        if let Some(saved) = &state.trace {
            let config = options.config_mut();
            if config.workflow_name == DEFAULT_WORKFLOW_NAME {
                config.workflow_name = saved.workflow_name.clone();
            }
            config.trace_id.get_or_insert_with(|| saved.id.clone());
            if config.group_id.is_none() {
                config.group_id = saved.group_id.clone();
            }
            if config.trace_metadata.is_none() {
                config.trace_metadata = saved.metadata.clone();
            }
            reattach = self.provider().trace_was_started(&saved.id)
                && config.trace_id.as_deref() == Some(saved.id.as_str())
                && config.workflow_name == saved.workflow_name
                && config.group_id == saved.group_id
                // The saved metadata has the harness id in it, as the new trace's would.
                && self.env().metadata_with_harness_id(config.trace_metadata.clone())
                    == saved.metadata;
        }
        if let Some(thread_id) = &state.thread_id {
            options
                .thread_id_mut()
                .get_or_insert_with(|| thread_id.clone());
        }
        let mut run = Run::start_with(self.clone(), options, reattach, true);
        run.core_mut().restore(
            state.current_turn,
            state.usage,
            state.items,
            state.pending,
            state.decisions,
        );
        run
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::lifecycle::{AgentInfo, ModelCallOptions, ModelResponse, ToolInfo};
    use crate::model::config::{EnvConfig, RunConfig};
    use crate::processors::memory::InMemoryProcessor;
    use crate::sdk::processor::EventKind;
    use crate::sdk::provider::TraceProvider;

    fn runner(memory: &InMemoryProcessor) -> Runner {
        let provider = TraceProvider::builder()
            .with_processor(memory.clone())
            .build();
        Runner::new(provider, EnvConfig::default())
    }

    fn agent() -> AgentInfo {
        AgentInfo::new("ops")
            .with_tool(ToolInfo::new("rotate"))
            .with_tool(ToolInfo::new("purge"))
    }

    /// A run whose one response calls `rotate` and `purge`, both waiting for approval.
    fn interrupted(runner: &Runner, config: RunConfig) -> RunState {
        let mut run = runner.start_run(RunOptions::new().with_config(config));
        run.start_agent(&agent());
        let mut turn = run.start_turn().unwrap();
        let call = turn.start_model_call(ModelCallOptions::new());
        let processed = call
            .finish(ModelResponse::new(vec![
                Item::function_call("rotate", "c1", r#"{"key":"a"}"#),
                Item::function_call("purge", "c2", r#"{"cache":"b"}"#),
            ]))
            .unwrap();
        let calls: Vec<_> = processed
            .tool_calls()
            .iter()
            .map(|c| c.clone().awaiting_approval())
            .collect();
        turn.start_tools(&calls).finish();
        turn.end();
        assert!(run.is_interrupted());
        run.interrupt()
    }

    #[test]
    fn the_interruption_lists_the_waiting_calls_and_ends_every_span() {
        let memory = InMemoryProcessor::new();
        let state = interrupted(&runner(&memory), RunConfig::new());
        let pending: Vec<_> = state
            .interruptions()
            .iter()
            .map(|c| (c.tool(), c.call_id(), c.arguments()))
            .collect();
        assert_eq!(
            pending,
            [
                ("rotate", "c1", r#"{"key":"a"}"#),
                ("purge", "c2", r#"{"cache":"b"}"#)
            ]
        );
        let events = memory.events();
        let starts = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::SpanStart | EventKind::TraceStart))
            .count();
        let ends = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::SpanEnd | EventKind::TraceEnd))
            .count();
        assert_eq!((starts, ends), (7, 7));
        let waiting = &events
            .iter()
            .rev()
            .find(|e| e.data["span_data"]["name"] == "purge")
            .unwrap()
            .data;
        assert_eq!(waiting["span_data"]["input"], r#"{"cache":"b"}"#);
        assert_eq!(
            (&waiting["span_data"]["output"], &waiting["error"]),
            (&json!(null), &json!(null))
        );
    }

    #[test]
    fn a_provider_that_never_started_the_trace_starts_it_again_with_the_saved_settings() {
        let first = InMemoryProcessor::new();
        let state = interrupted(
            &runner(&first),
            RunConfig::new()
                .with_workflow_name("Maintenance")
                .with_group_id("t-7"),
        );
        let trace_id = first.events()[0].data["id"].clone();
        // The state as another process reads it.
        let mut state = RunState::from_json(&state.to_json()).unwrap();
        assert!(state.approve("c1", false) && state.reject("c2", false, None));
        let second = InMemoryProcessor::new();
        let mut run = runner(&second).resume_run(state, RunOptions::new());
        run.start_agent(&agent());
        let approved = run.continue_from_interruption(&[]);
        assert_eq!(approved.len(), 1);
        run.start_resumed_tools(&approved).finish();
        run.finish(Ok(json!(null))).unwrap();
        let events = second.events();
        assert_eq!(events[0].kind, EventKind::TraceStart);
        assert_eq!(
            (
                &events[0].data["id"],
                &events[0].data["workflow_name"],
                &events[0].data["group_id"]
            ),
            (&trace_id, &json!("Maintenance"), &json!("t-7"))
        );
        assert_eq!(events[1].data["span_data"]["data"]["name"], "Maintenance");
        assert_eq!(events.last().unwrap().kind, EventKind::TraceEnd);
        // The rejected call answers the model without a span.
        let functions = events
            .iter()
            .filter(|e| e.data["span_data"]["type"] == "function" && e.kind == EventKind::SpanEnd)
            .count();
        assert_eq!(functions, 1);
    }

    #[test]
    fn a_standing_rejection_rejects_the_next_call_with_the_rejection_error() {
        let memory = InMemoryProcessor::new();
        let runner = runner(&memory);
        let mut state = interrupted(&runner, RunConfig::new());
        state.approve("c1", true);
        state.reject("c2", true, Some("Purges are frozen.".into()));
        let mut run = runner.resume_run(state, RunOptions::new());
        run.start_agent(&agent());
        let approved = run.continue_from_interruption(&[]);
        run.start_resumed_tools(&approved).finish();
        assert_eq!(run.approval("rotate", "c3"), Some(Approval::Approved));
        let rejection = run.approval("purge", "c4");
        assert_eq!(
            rejection,
            Some(Approval::Rejected {
                message: Some("Purges are frozen.".into())
            })
        );
        let mut turn = run.start_turn().unwrap();
        let call = ToolCallRequest::new(ToolInfo::new("purge"), "c4", "{}")
            .with_rejection("Purges are frozen.");
        turn.start_tools(&[call]).finish();
        turn.end();
        let end = memory
            .events()
            .into_iter()
            .rev()
            .find(|e| e.data["span_data"]["name"] == "purge")
            .unwrap();
        assert_eq!(end.data["span_data"]["output"], "Purges are frozen.");
        assert_eq!(
            end.data["error"],
            json!({"message": "Purges are frozen.", "data": {"tool_name": "purge", "error": "Tool execution for c4 was manually rejected by user."}})
        );
        assert_eq!(
            run.items().last(),
            Some(&Item::function_call_output("c4", "Purges are frozen."))
        );
    }

    #[test]
    fn decisions_apply_only_to_pending_calls() {
        let memory = InMemoryProcessor::new();
        let mut state = interrupted(&runner(&memory), RunConfig::new());
        assert!(!state.approve("c9", false));
        assert!(!state.reject("c9", true, None));
        assert_eq!(RunState::from_json(&state.to_json()).unwrap(), state);
    }

    #[test]
    fn an_always_decision_covers_the_tools_other_pending_calls() {
        let memory = InMemoryProcessor::new();
        let runner = runner(&memory);
        let mut run = runner.start_run(RunOptions::new());
        run.start_agent(&agent());
        let mut turn = run.start_turn().unwrap();
        let call = turn.start_model_call(ModelCallOptions::new());
        let processed = call
            .finish(ModelResponse::new(vec![
                Item::function_call("rotate", "c1", "{}"),
                Item::function_call("rotate", "c2", "{}"),
            ]))
            .unwrap();
        let waiting: Vec<_> = processed
            .tool_calls()
            .iter()
            .map(|c| c.clone().awaiting_approval())
            .collect();
        turn.start_tools(&waiting).finish();
        turn.end();
        let mut state = run.interrupt();
        state.approve("c1", true);
        let mut run = runner.resume_run(state, RunOptions::new());
        run.start_agent(&agent());
        let approved: Vec<String> = run
            .continue_from_interruption(&[])
            .iter()
            .map(|c| c.call_id().to_owned())
            .collect();
        assert_eq!(approved, ["c1", "c2"]);
        assert!(!run.is_interrupted());
    }
}
