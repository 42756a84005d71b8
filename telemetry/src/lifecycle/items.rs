//! Conversation items, model responses and what a response asks the runner to do.

use super::tool_info::ToolInfo;
use super::usage::Usage;
use crate::model::clock::Timestamp;

/// One conversation item, as the Responses API types it: the model's input (the user
/// message, earlier outputs, tool results) and output (messages, function calls, …).
///
/// Hooks receive them ([`RunHooks::on_llm_start`](crate::hooks::RunHooks::on_llm_start)'s
/// `input_items`, [`ModelResponse::output`]), and each output item is logged as
/// `Processing output item type={item_type} class={class_name}`.
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::Item;
///
/// let call = Item::function_call("get_weather", "call_1", r#"{"city":"Paris"}"#);
/// assert_eq!((call.item_type(), call.class_name()), ("function_call", "ResponseFunctionToolCall"));
/// assert_eq!(Item::assistant_message("Hi").class_name(), "ResponseOutputMessage");
/// assert_eq!(Item::user_message("Hello").item_type(), "message");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Item {
    /// A text message (`type: "message"`).
    Message {
        /// `user`, `assistant`, `system` or `developer`.
        role: String,
        /// The text content.
        text: String,
    },
    /// A call of a function tool or handoff (`type: "function_call"`).
    FunctionCall {
        /// The tool name the model called.
        name: String,
        /// The call id, echoed by the output.
        call_id: String,
        /// The raw arguments text, normally a JSON object.
        arguments: String,
    },
    /// A tool's or handoff's result (`type: "function_call_output"`).
    FunctionCallOutput {
        /// The call it answers.
        call_id: String,
        /// The output text.
        output: String,
    },
    /// Any other item (reasoning, hosted tool calls, …), carried by type only.
    Other {
        /// The item's `type`.
        item_type: String,
    },
}

impl Item {
    /// A user message.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::Item;
    ///
    /// assert!(matches!(Item::user_message("hi"), Item::Message { role, .. } if role == "user"));
    /// ```
    pub fn user_message(text: impl Into<String>) -> Self {
        Self::Message {
            role: "user".into(),
            text: text.into(),
        }
    }

    /// An assistant message (what a model answers with).
    ///
    /// ```
    /// use codex_telemetry::lifecycle::Item;
    ///
    /// assert_eq!(Item::assistant_message("hi").text(), Some("hi"));
    /// ```
    pub fn assistant_message(text: impl Into<String>) -> Self {
        Self::Message {
            role: "assistant".into(),
            text: text.into(),
        }
    }

    /// A function call.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::Item;
    ///
    /// assert_eq!(Item::function_call("f", "call_1", "{}").item_type(), "function_call");
    /// ```
    pub fn function_call(
        name: impl Into<String>,
        call_id: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Self::FunctionCall {
            name: name.into(),
            call_id: call_id.into(),
            arguments: arguments.into(),
        }
    }

    /// A function call's output.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::Item;
    ///
    /// assert_eq!(Item::function_call_output("call_1", "ok").item_type(), "function_call_output");
    /// ```
    pub fn function_call_output(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        Self::FunctionCallOutput {
            call_id: call_id.into(),
            output: output.into(),
        }
    }

    /// Any other item, by type.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::Item;
    ///
    /// assert_eq!(Item::other("reasoning").class_name(), "ResponseReasoningItem");
    /// ```
    pub fn other(item_type: impl Into<String>) -> Self {
        Self::Other {
            item_type: item_type.into(),
        }
    }

    /// The item's `type`.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::Item;
    ///
    /// assert_eq!(Item::other("web_search_call").item_type(), "web_search_call");
    /// ```
    pub fn item_type(&self) -> &str {
        match self {
            Self::Message { .. } => "message",
            Self::FunctionCall { .. } => "function_call",
            Self::FunctionCallOutput { .. } => "function_call_output",
            Self::Other { item_type } => item_type,
        }
    }

    /// The class the Python client (the `openai` package) uses for this item as a model
    /// output, as logged by `Processing output item type=… class=…`. Unknown types log as
    /// `dict`, the class of an untyped item.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::Item;
    ///
    /// assert_eq!(Item::other("something_new").class_name(), "dict");
    /// ```
    pub fn class_name(&self) -> &'static str {
        match self.item_type() {
            "message" => "ResponseOutputMessage",
            "function_call" => "ResponseFunctionToolCall",
            "function_call_output" => "FunctionCallOutput",
            "reasoning" => "ResponseReasoningItem",
            "file_search_call" => "ResponseFileSearchToolCall",
            "web_search_call" => "ResponseFunctionWebSearch",
            "computer_call" => "ResponseComputerToolCall",
            "code_interpreter_call" => "ResponseCodeInterpreterToolCall",
            "image_generation_call" => "ImageGenerationCall",
            "local_shell_call" => "LocalShellCall",
            "mcp_call" => "McpCall",
            "mcp_list_tools" => "McpListTools",
            "mcp_approval_request" => "McpApprovalRequest",
            "custom_tool_call" => "ResponseCustomToolCall",
            _ => "dict",
        }
    }

    /// The text of a message item.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::Item;
    ///
    /// assert_eq!(Item::function_call("f", "c", "{}").text(), None);
    /// ```
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Message { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// A model call's response: its output items and usage (Python's `ModelResponse`).
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::{Item, ModelResponse};
/// use codex_telemetry::usage::Usage;
///
/// let response = ModelResponse::new(vec![Item::assistant_message("Hello!")])
///     .with_usage(Usage { requests: 1, input_tokens: 12, output_tokens: 3, total_tokens: 15, ..Usage::default() });
/// assert_eq!(response.output()[0].text(), Some("Hello!"));
/// assert_eq!(response.usage().total_tokens, 15);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelResponse {
    output: Vec<Item>,
    usage: Usage,
}

impl ModelResponse {
    /// A response with `output` and zero usage.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ModelResponse;
    ///
    /// assert!(ModelResponse::new(vec![]).usage().is_zero());
    /// ```
    pub fn new(output: Vec<Item>) -> Self {
        Self {
            output,
            usage: Usage::default(),
        }
    }

    /// The same response reporting `usage`.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ModelResponse;
    /// use codex_telemetry::usage::Usage;
    ///
    /// let usage = Usage { requests: 1, ..Usage::default() };
    /// assert_eq!(ModelResponse::new(vec![]).with_usage(usage).usage(), &usage);
    /// ```
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }

    /// The output items, in order.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ModelResponse;
    ///
    /// assert!(ModelResponse::new(vec![]).output().is_empty());
    /// ```
    pub fn output(&self) -> &[Item] {
        &self.output
    }

    /// The usage the model reported.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ModelResponse;
    ///
    /// assert_eq!(ModelResponse::default().usage().requests, 0);
    /// ```
    pub fn usage(&self) -> &Usage {
        &self.usage
    }
}

/// A call of one of the agent's tools, found in a model response.
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::{ToolCallRequest, ToolInfo};
///
/// let call = ToolCallRequest::new(ToolInfo::new("check"), "call_1", "{}");
/// assert_eq!((call.tool().name(), call.call_id(), call.arguments()), ("check", "call_1", "{}"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallRequest {
    tool: ToolInfo,
    call_id: String,
    arguments: String,
    plan: CallPlan,
}

/// What the SDK decided for a call before the batch runs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum CallPlan {
    /// The tool runs.
    #[default]
    Run,
    /// The call needs a human decision: the run is interrupted.
    AwaitApproval,
    /// Rejected by a human decision, with the text the model gets.
    Reject(String),
}

impl ToolCallRequest {
    /// A call of `tool` with raw `arguments`.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{ToolCallRequest, ToolInfo};
    ///
    /// assert_eq!(ToolCallRequest::new(ToolInfo::new("t"), "c", "{}").call_id(), "c");
    /// ```
    pub fn new(tool: ToolInfo, call_id: impl Into<String>, arguments: impl Into<String>) -> Self {
        Self {
            tool,
            call_id: call_id.into(),
            arguments: arguments.into(),
            plan: CallPlan::Run,
        }
    }

    /// The call, rejected before it runs with the text the model gets (a standing human
    /// decision, see [`Run::approval`](super::Run::approval)): in its batch it gets a
    /// function span with that output and the rejection error, and no hooks.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{ToolCallRequest, ToolInfo};
    ///
    /// let call = ToolCallRequest::new(ToolInfo::new("purge"), "c", "{}").with_rejection("Frozen.");
    /// assert_eq!(call.rejection(), Some("Frozen."));
    /// ```
    pub fn with_rejection(mut self, message: impl Into<String>) -> Self {
        self.plan = CallPlan::Reject(message.into());
        self
    }

    /// The call, waiting for a human decision (the SDK found that it needs approval): in
    /// its batch it gets a function span that starts and ends at once (input only, no
    /// hooks), the tool does not run, and the turn and run end with the interruption
    /// ([`Run::interrupt`](super::Run::interrupt)).
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{ToolCallRequest, ToolInfo};
    ///
    /// assert!(ToolCallRequest::new(ToolInfo::new("restart"), "c", "{}").awaiting_approval().is_awaiting_approval());
    /// ```
    pub fn awaiting_approval(mut self) -> Self {
        self.plan = CallPlan::AwaitApproval;
        self
    }

    /// The rejection text of a call rejected before it runs.
    pub fn rejection(&self) -> Option<&str> {
        match &self.plan {
            CallPlan::Reject(message) => Some(message),
            _ => None,
        }
    }

    /// Whether the call waits for a human decision.
    pub fn is_awaiting_approval(&self) -> bool {
        self.plan == CallPlan::AwaitApproval
    }

    /// The tool called.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{ToolCallRequest, ToolInfo};
    ///
    /// assert_eq!(ToolCallRequest::new(ToolInfo::new("t"), "c", "{}").tool().name(), "t");
    /// ```
    pub fn tool(&self) -> &ToolInfo {
        &self.tool
    }

    /// The call id.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{ToolCallRequest, ToolInfo};
    ///
    /// assert_eq!(ToolCallRequest::new(ToolInfo::new("t"), "c", "{}").call_id(), "c");
    /// ```
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The raw arguments text, as the model sent it.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{ToolCallRequest, ToolInfo};
    ///
    /// assert_eq!(ToolCallRequest::new(ToolInfo::new("t"), "c", "{}").arguments(), "{}");
    /// ```
    pub fn arguments(&self) -> &str {
        &self.arguments
    }
}

/// A tool call waiting for a decision (Python's `ToolApprovalItem`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolApproval {
    agent: String,
    tool: String,
    call_id: String,
    arguments: String,
    /// The span token of its `codex.approval.start`.
    event: Option<String>,
    /// Unix seconds and nanoseconds when it began to wait.
    requested_at: (i64, u32),
}

impl ToolApproval {
    /// `request`, made by `agent`, waiting for a decision since `requested_at`; `event` is
    /// the span token of its `codex.approval.start`, if one was emitted.
    pub(crate) fn new(
        agent: String,
        request: &ToolCallRequest,
        event: Option<String>,
        requested_at: Timestamp,
    ) -> Self {
        Self {
            agent,
            tool: request.tool().name().to_owned(),
            call_id: request.call_id().to_owned(),
            arguments: request.arguments().to_owned(),
            event,
            requested_at: (requested_at.unix_seconds(), requested_at.subsec_nanos()),
        }
    }

    /// The span token of the call's `codex.approval.start`, if one was emitted.
    pub(crate) fn event_token(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// When the call began to wait (wall clock: the decision may come in another process).
    pub(crate) fn requested_at(&self) -> Option<Timestamp> {
        Timestamp::from_unix(self.requested_at.0, self.requested_at.1).ok()
    }

    /// The agent that made the call.
    pub fn agent(&self) -> &str {
        &self.agent
    }

    /// The tool called.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// The call id.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The raw arguments, as the model sent them.
    pub fn arguments(&self) -> &str {
        &self.arguments
    }
}

/// A call of one of the agent's handoff tools, found in a model response.
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::HandoffRequest;
///
/// let request = HandoffRequest::new("billing", "call_1");
/// assert_eq!((request.agent_name(), request.call_id()), ("billing", "call_1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffRequest {
    agent_name: String,
    call_id: String,
}

impl HandoffRequest {
    /// A request to hand off to `agent_name`.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::HandoffRequest;
    ///
    /// assert_eq!(HandoffRequest::new("b", "c").agent_name(), "b");
    /// ```
    pub fn new(agent_name: impl Into<String>, call_id: impl Into<String>) -> Self {
        Self {
            agent_name: agent_name.into(),
            call_id: call_id.into(),
        }
    }

    /// The target agent's name.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::HandoffRequest;
    ///
    /// assert_eq!(HandoffRequest::new("b", "c").agent_name(), "b");
    /// ```
    pub fn agent_name(&self) -> &str {
        &self.agent_name
    }

    /// The call id.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::HandoffRequest;
    ///
    /// assert_eq!(HandoffRequest::new("b", "c").call_id(), "c");
    /// ```
    pub fn call_id(&self) -> &str {
        &self.call_id
    }
}

/// What a model response asks for, sorted the way the Python runner sorts it: tool calls
/// and handoffs (in response order), and the text of the last message.
///
/// The runner runs the tools first, then the handoff (the first one wins); without either,
/// the last message's text (`""` when there is none) is the final output.
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::ProcessedResponse;
///
/// let processed = ProcessedResponse::default();
/// assert!(!processed.has_tools_or_handoffs());
/// assert_eq!(processed.final_text(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProcessedResponse {
    pub(crate) tool_calls: Vec<ToolCallRequest>,
    pub(crate) handoffs: Vec<HandoffRequest>,
    pub(crate) final_text: Option<String>,
}

impl ProcessedResponse {
    /// The tool calls, in response order.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ProcessedResponse;
    ///
    /// assert!(ProcessedResponse::default().tool_calls().is_empty());
    /// ```
    pub fn tool_calls(&self) -> &[ToolCallRequest] {
        &self.tool_calls
    }

    /// The handoff requests, in response order.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ProcessedResponse;
    ///
    /// assert!(ProcessedResponse::default().handoffs().is_empty());
    /// ```
    pub fn handoffs(&self) -> &[HandoffRequest] {
        &self.handoffs
    }

    /// The text of the response's last message, if it has one.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ProcessedResponse;
    ///
    /// assert_eq!(ProcessedResponse::default().final_text(), None);
    /// ```
    pub fn final_text(&self) -> Option<&str> {
        self.final_text.as_deref()
    }

    /// Whether the runner has tools or a handoff to run (then there is no final output
    /// yet).
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ProcessedResponse;
    ///
    /// assert!(!ProcessedResponse::default().has_tools_or_handoffs());
    /// ```
    pub fn has_tools_or_handoffs(&self) -> bool {
        !self.tool_calls.is_empty() || !self.handoffs.is_empty()
    }
}
