//! The serde model of a scenario file (format v1), documented in `docs/scenarios.md`.
//!
//! Keys are snake_case so that run settings read like the Python client's `RunConfig` fields they
//! map to (`workflow_name`, `trace_include_sensitive_data`). Every struct denies unknown keys, and
//! nothing is deserialized `untagged` or `flatten`, so a typo is reported with the key and the line
//! by the TOML parser.
//! Choices between alternatives (a step's output item is a message, a tool call or a handoff) are
//! optional fields checked by `validate`, which names the field that is wrong.
//!
//! The same types serialize to the JSON that the python driver receives, so what the driver reads is
//! exactly what was validated.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A scenario file as written on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// The run to perform (`[run]`).
    pub run: RunSpec,
    /// Environment variables set for the client while the scenario runs (`[env]`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The agents (`[[agents]]`).
    pub agents: Vec<AgentSpec>,
    /// Function tools (`[[tools]]`).
    #[serde(default)]
    pub tools: Vec<ToolSpec>,
    /// Input and output guardrails (`[[guardrails]]`).
    #[serde(default)]
    pub guardrails: Vec<GuardrailSpec>,
    /// Scripted MCP servers (stdio) that agents list in `mcp_servers`.
    #[serde(default)]
    pub mcp_servers: Vec<McpServerSpec>,
    /// The scripted model (`[model]` and `[[model.steps]]`).
    pub model: ModelSpec,
    /// An outer user trace around the run (`[trace]`); without it the run makes its own trace.
    #[serde(default)]
    pub trace: Option<UserTraceSpec>,
}

impl ScenarioFile {
    /// Whether a call of `tool` raises through its guardrails: the first input guardrail that
    /// does not allow decides (rejecting skips the tool and its output guardrails), then the
    /// first output guardrail that does not allow.
    pub fn tool_guardrails_raise(&self, tool: &ToolSpec) -> bool {
        let decision = |names: &[String]| {
            names
                .iter()
                .filter_map(|name| self.guardrails.iter().find(|g| &g.name == name))
                .filter_map(|g| g.behavior)
                .find(|b| *b != ToolGuardrailBehavior::Allow)
        };
        match decision(&tool.input_guardrails) {
            Some(behavior) => behavior == ToolGuardrailBehavior::RaiseException,
            None => {
                decision(&tool.output_guardrails) == Some(ToolGuardrailBehavior::RaiseException)
            }
        }
    }
}

/// `[run]`: which agent starts, with what input, and the RunConfig fields that shape telemetry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Name of the starting agent.
    pub agent: String,
    /// The user input (a single user message).
    pub input: String,
    /// Run streamed (`Runner.run_streamed`, events drained) instead of `Runner.run`.
    #[serde(default)]
    pub streamed: bool,
    /// A streamed run's events are read to the end (`true`, the default), or never read
    /// (`false`): the caller then awaits the run's background task (`result.run_loop_task`).
    #[serde(default = "default_true")]
    pub drain: bool,
    /// How many copies of the run start at once (concurrently), each with its own trace, agents
    /// and copy of the model script. Default 1.
    #[serde(default = "one")]
    pub copies: u32,
    /// How many times the run is performed one after another (without a user trace, each
    /// makes its own trace); the runs share the model script and stop at the first that
    /// raises. Default 1. With `[trace]`, list several `{ run = true }` actions instead.
    #[serde(default = "one")]
    pub repeat: u32,
    /// `RunConfig.trace_id`: the id of the trace the run makes.
    #[serde(default)]
    pub trace_id: Option<String>,
    /// Give every run of the scenario one in-memory `SQLiteSession`: each run starts from
    /// the conversation of the runs before it.
    #[serde(default)]
    pub session: bool,
    /// `max_turns`; the client's default when absent.
    #[serde(default)]
    pub max_turns: Option<u32>,
    /// `RunConfig.workflow_name`.
    #[serde(default)]
    pub workflow_name: Option<String>,
    /// `RunConfig.group_id`.
    #[serde(default)]
    pub group_id: Option<String>,
    /// `RunConfig.trace_metadata`.
    #[serde(default)]
    pub trace_metadata: Option<BTreeMap<String, Value>>,
    /// `RunConfig.trace_include_sensitive_data`; when absent the client's default (from the
    /// environment) applies.
    #[serde(default)]
    pub trace_include_sensitive_data: Option<bool>,
    /// `RunConfig.tracing_disabled`.
    #[serde(default)]
    pub tracing_disabled: Option<bool>,
    /// `RunConfig.tracing = {"include_task_and_turn_spans": …}`.
    #[serde(default)]
    pub include_task_and_turn_spans: Option<bool>,
    /// What happens each time the run is interrupted by tool calls that need approval, in
    /// order: the decisions, then a resumed run. A run interrupted with no entry left ends
    /// with the `interrupted` outcome.
    #[serde(default)]
    pub resume: Vec<ResumeSpec>,
}

/// `[[run.resume]]`: decisions on pending approvals, then `Runner.run(agent, state)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeSpec {
    /// Where the resumed run's `RunState` comes from.
    #[serde(default)]
    pub from: ResumeFrom,
    /// Call ids to approve (`state.approve(item)`).
    #[serde(default)]
    pub approve: Vec<String>,
    /// Call ids to reject (`state.reject(item)`).
    #[serde(default)]
    pub reject: Vec<String>,
    /// Call ids (among `approve` / `reject`) whose decision also covers the tool's later calls
    /// (`always_approve=True` / `always_reject=True`).
    #[serde(default)]
    pub always: Vec<String>,
    /// `rejection_message` of every rejection here; the client's default message when absent.
    #[serde(default)]
    pub rejection_message: Option<String>,
    /// The order the decisions are taken in: every call id of `approve` and `reject`, each
    /// once. Absent: the order of the pending calls. It matters because a standing decision
    /// (`always`) resets the tool's record: a later `always_reject` cancels an earlier approval
    /// of another call of the tool, an earlier one does not.
    #[serde(default)]
    pub order: Vec<String>,
}

impl ResumeSpec {
    /// The call ids this entry decides, in the order the decisions are taken: `order`, or
    /// else the order of the pending calls (`pending`, ids the entry does not decide skipped).
    pub fn decision_order<'a>(
        &'a self,
        pending: impl IntoIterator<Item = &'a str>,
    ) -> Vec<&'a str> {
        if !self.order.is_empty() {
            return self.order.iter().map(String::as_str).collect();
        }
        pending
            .into_iter()
            .filter(|id| self.approve.iter().chain(&self.reject).any(|d| d == id))
            .collect()
    }
}

/// Where a resumed run's state comes from.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResumeFrom {
    /// The interrupted result's live `to_state()`.
    #[default]
    State,
    /// `RunState.from_json(agent, state.to_json())` in the same process.
    Json,
    /// The state's JSON loaded as by a new process: the trace ids this process started are
    /// forgotten, so the resumed run starts a new trace with the saved id.
    JsonNewProcess,
}

/// `[[agents]]`: one agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    /// Unique agent name.
    pub name: String,
    /// Instructions (system prompt); none when absent.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Names of `[[tools]]` this agent may call.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Names of agents this agent may hand off to.
    #[serde(default)]
    pub handoffs: Vec<String>,
    /// Structured output type; plain text when absent.
    #[serde(default)]
    pub output_type: Option<OutputTypeSpec>,
    /// Names of input `[[guardrails]]`.
    #[serde(default)]
    pub input_guardrails: Vec<String>,
    /// Names of output `[[guardrails]]`.
    #[serde(default)]
    pub output_guardrails: Vec<String>,
    /// Agents this agent can call as tools (`Agent.as_tool(tool_name=None, …)`: the tool's
    /// name is the agent's name made a function name, as for handoffs).
    #[serde(default)]
    pub agent_tools: Vec<String>,
    /// Names of `[[mcp_servers]]` whose tools this agent may call (`Agent(mcp_servers=…)`).
    #[serde(default)]
    pub mcp_servers: Vec<String>,
    /// What the agent does after its tools ran (Python's `tool_use_behavior`); the client's
    /// default (`run_llm_again`) when absent.
    #[serde(default)]
    pub tool_use_behavior: Option<ToolUseBehavior>,
    /// Python's `tool_use_behavior={"stop_at_tool_names": [...]}`: the first result of one of
    /// these tools (in call order) is the final output. Not with `tool_use_behavior`.
    #[serde(default)]
    pub stop_at_tool_names: Option<Vec<String>>,
    /// `tool_use_behavior` as a custom function that, once tools ran, returns
    /// `ToolsToFinalOutputResult(is_final_output=True, final_output=<this text>)`. Not with
    /// the other two.
    #[serde(default)]
    pub tools_final_output: Option<String>,
}

impl AgentSpec {
    /// Whether a result of `tool` is this agent's final output (its `tool_use_behavior`).
    pub fn stops_at(&self, tool: &str) -> bool {
        self.tool_use_behavior == Some(ToolUseBehavior::StopOnFirstTool)
            || self.tools_final_output.is_some()
            || self
                .stop_at_tool_names
                .as_ref()
                .is_some_and(|names| names.iter().any(|name| name == tool))
    }
}

/// The named values of `Agent.tool_use_behavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolUseBehavior {
    /// Tool results go back to the model (the client's default).
    RunLlmAgain,
    /// The first tool result is the final output; the model is not called again.
    StopOnFirstTool,
}

/// A structured output type: an object with named, typed fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputTypeSpec {
    /// The type's name (it appears as the agent span's `output_type`).
    pub name: String,
    /// Field name to field type, in the file's order (the class's declared order).
    pub fields: IndexMap<String, FieldType>,
}

/// A JSON-schema scalar type for tool parameters and output fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// A string.
    String,
    /// An integer.
    Integer,
    /// A floating-point number.
    Number,
    /// A boolean.
    Boolean,
}

/// `[[tools]]`: a function tool with scripted behaviour. Exactly one of `returns` / `raises`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    /// Unique tool name, as the model calls it.
    pub name: String,
    /// Description shown to the model.
    #[serde(default)]
    pub description: Option<String>,
    /// Parameter name to type, in the file's order (the signature's); all are required.
    #[serde(default)]
    pub parameters: IndexMap<String, FieldType>,
    /// The value the tool returns.
    #[serde(default)]
    pub returns: Option<Value>,
    /// The tool raises an error with this message (handled by its failure handler).
    #[serde(default)]
    pub raises: Option<String>,
    /// `function_tool(failure_error_function=…)`: `"default"` (the client's message) or
    /// `"none"` (no handler: the error ends the run).
    #[serde(default)]
    pub failure_error_function: Option<FailureErrorFunction>,
    /// A custom `failure_error_function` that returns this text, with `{error}` replaced by
    /// the error's `str()`. Not with `failure_error_function`.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// Names of `tool_input` `[[guardrails]]` (`tool_input_guardrails`).
    #[serde(default)]
    pub input_guardrails: Vec<String>,
    /// Names of `tool_output` `[[guardrails]]` (`tool_output_guardrails`).
    #[serde(default)]
    pub output_guardrails: Vec<String>,
    /// `function_tool(needs_approval=…)`: whether a call waits for a human decision.
    #[serde(default)]
    pub needs_approval: Option<NeedsApproval>,
    /// A plain `def` instead of an `async def`: the client runs it in a worker thread
    /// (`asyncio.to_thread`). Such a call must be its step's only tool call: beside others,
    /// the order of their completions follows thread scheduling.
    #[serde(default)]
    pub sync: bool,
}

impl ToolSpec {
    /// Whether a failure of the tool ends the run: it raises, and has no failure handler
    /// (`failure_error_function = "none"`).
    pub fn raises_unhandled(&self) -> bool {
        self.raises.is_some() && self.failure_error_function == Some(FailureErrorFunction::None)
    }
}

/// A tool's `needs_approval`: a constant, or a per-call policy.
///
/// Serialized untagged (`true`, or `["call_1"]`: what the python driver reads); deserialized by
/// hand, so a wrong value is reported where it is, with what to write instead of serde's
/// "did not match any variant".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum NeedsApproval {
    /// `needs_approval=True` / `False`.
    Always(bool),
    /// A policy function that asks for approval of the calls with these ids.
    CallIds(Vec<String>),
}

impl NeedsApproval {
    /// Whether the policy may ask for approval at all.
    pub fn may_ask(&self) -> bool {
        match self {
            NeedsApproval::Always(always) => *always,
            NeedsApproval::CallIds(_) => true,
        }
    }
}

/// What `needs_approval` accepts, as the error says it.
const NEEDS_APPROVAL_EXPECTED: &str = "`needs_approval = true|false`, or a list of call ids (non-empty strings) such as `needs_approval = [\"call_1\"]`";

impl<'de> Deserialize<'de> for NeedsApproval {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NeedsApprovalVisitor)
    }
}

struct NeedsApprovalVisitor;

impl<'de> serde::de::Visitor<'de> for NeedsApprovalVisitor {
    type Value = NeedsApproval;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(NEEDS_APPROVAL_EXPECTED)
    }

    fn visit_bool<E: serde::de::Error>(self, always: bool) -> Result<NeedsApproval, E> {
        Ok(NeedsApproval::Always(always))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut items: A,
    ) -> Result<NeedsApproval, A::Error> {
        let mut ids = Vec::new();
        // Each id is read on its own, so a bad one is reported at its own position.
        while let Some(CallId(id)) = items.next_element()? {
            ids.push(id);
        }
        Ok(NeedsApproval::CallIds(ids))
    }
}

/// One call id of a `needs_approval` list: a non-empty string.
struct CallId(String);

impl<'de> Deserialize<'de> for CallId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CallIdVisitor)
    }
}

struct CallIdVisitor;

impl serde::de::Visitor<'_> for CallIdVisitor {
    type Value = CallId;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a call id (a non-empty string); write {NEEDS_APPROVAL_EXPECTED}"
        )
    }

    fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<CallId, E> {
        if id.is_empty() {
            return Err(E::invalid_value(serde::de::Unexpected::Str(id), &self));
        }
        Ok(CallId(id.to_owned()))
    }
}

/// `[[mcp_servers]]`: a stdio MCP server with scripted tools (`MCPServerStdio`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpServerSpec {
    /// Unique server name (`MCPServerStdio(name=…)`): the `mcp_tools` span's `server` and the
    /// function spans' `mcp_data`.
    pub name: String,
    /// `tool_filter={"allowed_tool_names": […]}`: only these tools are listed to agents.
    #[serde(default)]
    pub allowed_tools: Option<Vec<String>>,
    /// The server's `failure_error_function`: `"default"` or `"none"` (an error answer ends
    /// the run).
    #[serde(default)]
    pub failure_error_function: Option<FailureErrorFunction>,
    /// The tools it lists, in order.
    #[serde(default)]
    pub tools: Vec<McpToolSpec>,
}

/// `[[mcp_servers.tools]]`: a tool of a scripted MCP server. Either its result's text
/// `content` (and `is_error`), or an MCP `error` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpToolSpec {
    /// Tool name, as the model calls it.
    pub name: String,
    /// Description listed to the model.
    #[serde(default)]
    pub description: Option<String>,
    /// Parameter name to type (the tool's input schema; all required).
    #[serde(default)]
    pub parameters: IndexMap<String, FieldType>,
    /// The result's text content items, in order.
    #[serde(default)]
    pub content: Vec<String>,
    /// The result's `isError` flag (the client does not treat it as a failure).
    #[serde(default)]
    pub is_error: bool,
    /// The server answers the call with an MCP error with this message.
    #[serde(default)]
    pub error: Option<String>,
}

/// The named values of a tool's `failure_error_function`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureErrorFunction {
    /// The client's `default_tool_error_function`.
    Default,
    /// `None`: the tool's error is not handled and ends the run.
    None,
}

/// `[[guardrails]]`: a guardrail that passes or trips.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardrailSpec {
    /// Unique guardrail name (it names the guardrail span).
    pub name: String,
    /// Whether it checks the run's input or an agent's final output.
    pub kind: GuardrailKind,
    /// Whether the tripwire triggers.
    #[serde(default)]
    pub tripwire: bool,
    /// Input guardrails: `run_in_parallel` (default true, the client's). `false` runs the
    /// guardrail to completion before the model is called.
    #[serde(default)]
    pub run_in_parallel: Option<bool>,
    /// Tool guardrails: what the guardrail decides (instead of `tripwire`).
    #[serde(default)]
    pub behavior: Option<ToolGuardrailBehavior>,
    /// The message of `behavior = "reject_content"`.
    #[serde(default)]
    pub message: Option<String>,
}

/// What a guardrail checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GuardrailKind {
    /// Checks the run's input before the first turn.
    Input,
    /// Checks an agent's final output.
    Output,
    /// Checks a tool call's arguments before the tool runs (a tool's `input_guardrails`).
    #[serde(rename = "tool_input")]
    ToolInput,
    /// Checks a tool's result (a tool's `output_guardrails`).
    #[serde(rename = "tool_output")]
    ToolOutput,
}

impl std::fmt::Display for GuardrailKind {
    /// The kind as the file spells it (its serde name), for messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GuardrailKind::Input => "input",
            GuardrailKind::Output => "output",
            GuardrailKind::ToolInput => "tool_input",
            GuardrailKind::ToolOutput => "tool_output",
        })
    }
}

/// What a tool guardrail decides (`ToolGuardrailFunctionOutput`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolGuardrailBehavior {
    /// `allow()`: the call goes on.
    Allow,
    /// `reject_content(message)`: the model gets `message` instead (input: the tool does not
    /// run; output: its result is replaced).
    RejectContent,
    /// `raise_exception()`: the run ends with the tripwire exception.
    RaiseException,
}

/// `[model]`: one scripted model shared by all agents; steps are consumed in call order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Whether each model call emits a generation span (as real models do). Default true.
    #[serde(default = "default_true")]
    pub generation_spans: bool,
    /// The responses, one per model call.
    pub steps: Vec<ModelStepSpec>,
}

impl ModelSpec {
    /// The call id of every item, step by step: `None` for a message, the item's `call_id`,
    /// or `call_<N>` where N counts the call items of the whole script from 1 (what the
    /// python driver gives `function_call`).
    pub fn call_ids(&self) -> Vec<Vec<Option<String>>> {
        let mut number = 0;
        self.steps
            .iter()
            .map(|step| {
                step.output
                    .iter()
                    .map(|item| {
                        if item.message.is_some() {
                            return None;
                        }
                        number += 1;
                        Some(
                            item.call_id
                                .clone()
                                .unwrap_or_else(|| format!("call_{number}")),
                        )
                    })
                    .collect()
            })
            .collect()
    }
}

fn default_true() -> bool {
    true
}

fn one() -> u32 {
    1
}

/// `[[model.steps]]`: one model call's response. Either `output` items or an `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelStepSpec {
    /// Output items, in order.
    #[serde(default)]
    pub output: Vec<OutputItemSpec>,
    /// Usage reported for this call; the client's default when absent.
    #[serde(default)]
    pub usage: Option<UsageSpec>,
    /// The model call fails with this error instead of responding.
    #[serde(default)]
    pub error: Option<ModelErrorSpec>,
}

/// One output item. Exactly one of `message`, `tool_call`, `handoff`, `missing_tool_call`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputItemSpec {
    /// An assistant text message.
    #[serde(default)]
    pub message: Option<String>,
    /// A call of a defined tool.
    #[serde(default)]
    pub tool_call: Option<String>,
    /// A handoff to a defined agent (written as the target agent, not as a tool name).
    #[serde(default)]
    pub handoff: Option<String>,
    /// A call of an agent tool, written as the agent's name (see `agent_tools`); its
    /// `arguments` are `{ input = "…" }`.
    #[serde(default)]
    pub agent_tool_call: Option<String>,
    /// A call of a tool that no agent has: the model misbehaves.
    #[serde(default)]
    pub missing_tool_call: Option<String>,
    /// Arguments of a tool call, as a JSON object (default `{}`).
    #[serde(default)]
    pub arguments: Option<IndexMap<String, Value>>,
    /// Raw argument text of a tool call instead of `arguments` (e.g. invalid JSON).
    #[serde(default)]
    pub raw_arguments: Option<String>,
    /// Call id of a tool call or handoff; `call_<N>` (N counts calls in the script) when absent.
    #[serde(default)]
    pub call_id: Option<String>,
}

/// Token usage of one model call; absent counts are 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageSpec {
    /// Number of requests.
    #[serde(default)]
    pub requests: u64,
    /// Input tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Total tokens (not computed from the others, as in the client).
    #[serde(default)]
    pub total_tokens: u64,
    /// Cached input tokens.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Input tokens written to the cache.
    #[serde(default)]
    pub cache_write_input_tokens: u64,
    /// Reasoning tokens.
    #[serde(default)]
    pub reasoning_tokens: u64,
}

/// A model call failure: an error of type `name` with `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelErrorSpec {
    /// The error's type name (e.g. `ModelUnavailable`).
    pub name: String,
    /// The error's message.
    pub message: String,
}

/// `[trace]`: a user trace around the run, with custom spans around or beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserTraceSpec {
    /// The trace's workflow name.
    pub workflow_name: String,
    /// The trace's group id.
    #[serde(default)]
    pub group_id: Option<String>,
    /// The trace's metadata.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, Value>>,
    /// `trace(..., disabled=True)`: a no-op trace (runs inside record nothing).
    #[serde(default)]
    pub disabled: bool,
    /// What happens inside the trace, in order.
    pub body: Vec<ActionSpec>,
}

/// One action inside a user trace or custom span: exactly one of `run` or `custom_span`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// `run = true`: perform the scenario's `[run]` here.
    #[serde(default)]
    pub run: Option<bool>,
    /// Open a custom span with this name around `body`.
    #[serde(default)]
    pub custom_span: Option<String>,
    /// The custom span's data.
    #[serde(default)]
    pub data: Option<BTreeMap<String, Value>>,
    /// Actions inside the custom span.
    #[serde(default)]
    pub body: Vec<ActionSpec>,
    /// For a `run` action: what happens when the run raises (default `stop`: the remaining
    /// actions are skipped; `continue`: the user's code catches it and goes on).
    #[serde(default)]
    pub on_error: Option<OnError>,
}

/// What a run action does when its run raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Skip the remaining actions (the enclosing spans and trace still end).
    Stop,
    /// Catch the error and perform the next actions.
    Continue,
}

/// A validated scenario: the file's content plus its name and description.
///
/// This is what every subject receives (the python driver as JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// File stem, e.g. `tool_call`.
    pub name: String,
    /// The one-line description from the file's first comment.
    pub description: String,
    /// The validated content.
    #[serde(flatten)]
    pub spec: ScenarioFile,
}

/// The JSON Schema type name of a value (`string`, `number`, …): how schemars names a field's
/// alternatives, and how refusals and the differential test's field walk name a value's kind.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guardrail_kinds_display_as_the_file_spells_them() {
        use GuardrailKind::*;
        for kind in [Input, Output, ToolInput, ToolOutput] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                Value::String(kind.to_string())
            );
        }
    }

    #[test]
    fn needs_approval_serializes_as_the_driver_reads_it() {
        // The python driver receives `true`/`false`, or the list of ids.
        let cases = [
            (NeedsApproval::Always(true), "true"),
            (NeedsApproval::Always(false), "false"),
            (
                NeedsApproval::CallIds(vec!["call_1".into(), "c2".into()]),
                r#"["call_1","c2"]"#,
            ),
            (NeedsApproval::CallIds(Vec::new()), "[]"),
        ];
        for (value, json) in cases {
            assert_eq!(serde_json::to_string(&value).unwrap(), json);
            assert_eq!(serde_json::from_str::<NeedsApproval>(json).unwrap(), value);
        }
    }
}
