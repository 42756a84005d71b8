//! What the lifecycle needs to know about a function tool: its name and parameters, its
//! failure handler, its guardrails, and whether it is an agent or an MCP server's tool.

use std::fmt;
use std::sync::Arc;

use crate::model::span_data::McpListToolsSpanData;
use crate::sdk::provider::TraceProvider;

/// What the default failure handler tells the model when a tool fails (the Python client's
/// `default_tool_error_function`; until 0.24.0 it added " Please try again.").
pub const DEFAULT_TOOL_ERROR_OUTPUT: &str = "An error occurred while running the tool.";

/// A function tool: its name and the names of its parameters, in signature order.
///
/// The parameter order matters only for the data-bearing log line `Tool call args: […]`,
/// where Python lists the arguments positionally.
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::ToolInfo;
///
/// let tool = ToolInfo::new("get_weather").with_parameters(["city"]);
/// assert_eq!(tool.parameters(), ["city"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolInfo {
    name: String,
    parameters: Vec<String>,
    failure: FailureHandler,
    input_guardrails: Vec<ToolGuardrail>,
    output_guardrails: Vec<ToolGuardrail>,
    agent_tool: bool,
    /// The MCP server whose tool this is (Python's MCP tools are function tools that call
    /// the server).
    mcp_server: Option<String>,
}

/// What a tool guardrail decides (Python's `ToolGuardrailFunctionOutput`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolGuardrailDecision {
    /// `allow()`: the call goes on.
    Allow,
    /// `reject_content(message)`: the model gets the message instead (an input guardrail:
    /// the tool does not run and no tool hooks are called; an output guardrail: the result
    /// is replaced).
    RejectContent(String),
    /// `raise_exception()`: the run ends with `ToolInputGuardrailTripwireTriggered` or
    /// `ToolOutputGuardrailTripwireTriggered`.
    RaiseException,
}

/// A tool input or output guardrail: a decision from the call's raw arguments (input) or
/// from Python's `str()` of the tool's result (output).
///
/// ```
/// use codex_telemetry::lifecycle::{ToolGuardrail, ToolGuardrailDecision, ToolInfo};
///
/// let tool = ToolInfo::new("delete_file")
///     .with_input_guardrail(ToolGuardrail::new(|_| ToolGuardrailDecision::RejectContent("not allowed".into())));
/// assert_eq!(tool.input_guardrails().len(), 1);
/// ```
#[derive(Clone)]
pub struct ToolGuardrail(Arc<dyn Fn(&str) -> ToolGuardrailDecision + Send + Sync>);

impl ToolGuardrail {
    /// A guardrail deciding with `decide`.
    pub fn new(decide: impl Fn(&str) -> ToolGuardrailDecision + Send + Sync + 'static) -> Self {
        Self(Arc::new(decide))
    }

    pub(crate) fn decide(&self, checked: &str) -> ToolGuardrailDecision {
        (self.0)(checked)
    }
}

impl fmt::Debug for ToolGuardrail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ToolGuardrail(..)")
    }
}

impl PartialEq for ToolGuardrail {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ToolGuardrail {}

/// The first decision of `guardrails` that is not `Allow` (Python stops there).
pub(crate) fn first_objection(
    guardrails: &[ToolGuardrail],
    checked: &str,
) -> Option<ToolGuardrailDecision> {
    guardrails
        .iter()
        .map(|guardrail| guardrail.decide(checked))
        .find(|decision| *decision != ToolGuardrailDecision::Allow)
}

/// What happens when a tool fails: Python's `function_tool(failure_error_function=…)`.
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::{FailureHandler, ToolInfo};
///
/// let tool = ToolInfo::new("t").with_failure_handler(FailureHandler::custom(|error| format!("t failed: {error}")));
/// assert_eq!(tool.failure_handler().output("down").as_deref(), Some("t failed: down"));
/// assert_eq!(ToolInfo::new("t").with_failure_handler(FailureHandler::None).failure_handler().output("down"), None);
/// ```
#[derive(Clone, Default)]
pub enum FailureHandler {
    /// The client's `default_tool_error_function`: the model gets
    /// [`DEFAULT_TOOL_ERROR_OUTPUT`] and the span's error
    /// detail is always redacted.
    #[default]
    Default,
    /// A function of the error's message (Python's `str(error)`) whose result the model gets;
    /// the span's error detail is the message when sensitive data is on.
    Custom(Arc<dyn Fn(&str) -> String + Send + Sync>),
    /// `None`: the failure ends the run (`UserError: Error running tool X: …`).
    None,
}

impl FailureHandler {
    /// A custom handler.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::FailureHandler;
    ///
    /// assert_eq!(FailureHandler::custom(|e| e.to_uppercase()).output("x").as_deref(), Some("X"));
    /// ```
    pub fn custom(handler: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(handler))
    }

    /// What the model gets for a failure with `message`, or `None` when the failure ends
    /// the run.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{FailureHandler, DEFAULT_TOOL_ERROR_OUTPUT};
    ///
    /// assert_eq!(FailureHandler::Default.output("x").as_deref(), Some(DEFAULT_TOOL_ERROR_OUTPUT));
    /// ```
    pub fn output(&self, message: &str) -> Option<String> {
        match self {
            Self::Default => Some(DEFAULT_TOOL_ERROR_OUTPUT.to_owned()),
            Self::Custom(handler) => Some(handler(message)),
            Self::None => None,
        }
    }
}

impl fmt::Debug for FailureHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Default => "Default",
            Self::Custom(_) => "Custom(..)",
            Self::None => "None",
        })
    }
}

impl PartialEq for FailureHandler {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Custom(a), Self::Custom(b)) => Arc::ptr_eq(a, b),
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Eq for FailureHandler {}

impl ToolInfo {
    /// A tool named `name` without parameters.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ToolInfo;
    ///
    /// assert!(ToolInfo::new("check").parameters().is_empty());
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            parameters: Vec::new(),
            failure: FailureHandler::Default,
            input_guardrails: Vec::new(),
            output_guardrails: Vec::new(),
            agent_tool: false,
            mcp_server: None,
        }
    }

    /// The tool is an agent run as a tool (Python's `Agent.as_tool`): its call logs
    /// `Invoking tool X` but not the `Tool X completed.` line of function tools, and the
    /// agent's nested run goes inside the call's context (its function span current), with
    /// its usage counted in the calling run ([`ToolBatch::add_usage`](super::ToolBatch::add_usage)).
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ToolInfo;
    ///
    /// assert!(ToolInfo::new("translator").as_agent_tool().is_agent_tool());
    /// ```
    pub fn as_agent_tool(mut self) -> Self {
        self.agent_tool = true;
        self
    }

    /// Whether the tool is an agent run as a tool.
    pub fn is_agent_tool(&self) -> bool {
        self.agent_tool
    }

    /// The tool, as a tool of the MCP server `server` (Python's MCP tools): its calls log
    /// `Invoking MCP tool` / `MCP tool completed.`, an error answer logs the WARNING `MCP tool
    /// returned an error.` before the failure handler (whose line says `MCP tool X failed`),
    /// and a successful call's function span gets `mcp_data` `{"server": server}`, whatever
    /// the sensitive-data setting. Invoke its calls with
    /// [`ToolBatch::invoke_mcp`](super::ToolBatch::invoke_mcp), which takes the result
    /// object's repr for the data-bearing line. The agent lists its servers' tools before its function
    /// tools (add them first); [`Turn::list_mcp_tools`](super::Turn::list_mcp_tools) emits
    /// the listing span of each turn.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ToolInfo;
    ///
    /// assert_eq!(ToolInfo::new("read_file").with_mcp_server("files").mcp_server(), Some("files"));
    /// ```
    pub fn with_mcp_server(mut self, server: impl Into<String>) -> Self {
        self.mcp_server = Some(server.into());
        self
    }

    /// The MCP server of an MCP tool.
    pub fn mcp_server(&self) -> Option<&str> {
        self.mcp_server.as_deref()
    }

    /// Adds an input guardrail (Python's `tool_input_guardrails`): run in order before the
    /// tool's start hooks.
    pub fn with_input_guardrail(mut self, guardrail: ToolGuardrail) -> Self {
        self.input_guardrails.push(guardrail);
        self
    }

    /// Adds an output guardrail (Python's `tool_output_guardrails`): run in order on the
    /// tool's result.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{ToolGuardrail, ToolGuardrailDecision, ToolInfo};
    ///
    /// let tool = ToolInfo::new("t").with_output_guardrail(ToolGuardrail::new(|_| ToolGuardrailDecision::Allow));
    /// assert_eq!(tool.output_guardrails().len(), 1);
    /// ```
    pub fn with_output_guardrail(mut self, guardrail: ToolGuardrail) -> Self {
        self.output_guardrails.push(guardrail);
        self
    }

    /// The input guardrails, in order.
    pub fn input_guardrails(&self) -> &[ToolGuardrail] {
        &self.input_guardrails
    }

    /// The output guardrails, in order.
    pub fn output_guardrails(&self) -> &[ToolGuardrail] {
        &self.output_guardrails
    }

    /// Sets what happens when the tool fails (the default handler when not set).
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{FailureHandler, ToolInfo};
    ///
    /// let tool = ToolInfo::new("t").with_failure_handler(FailureHandler::None);
    /// assert_eq!(tool.failure_handler(), &FailureHandler::None);
    /// ```
    pub fn with_failure_handler(mut self, handler: FailureHandler) -> Self {
        self.failure = handler;
        self
    }

    /// What happens when the tool fails.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{FailureHandler, ToolInfo};
    ///
    /// assert_eq!(ToolInfo::new("t").failure_handler(), &FailureHandler::Default);
    /// ```
    pub fn failure_handler(&self) -> &FailureHandler {
        &self.failure
    }

    /// Sets the parameter names, in signature order.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ToolInfo;
    ///
    /// assert_eq!(ToolInfo::new("t").with_parameters(["a", "b"]).parameters(), ["a", "b"]);
    /// ```
    pub fn with_parameters<I, S>(mut self, parameters: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.parameters = parameters.into_iter().map(Into::into).collect();
        self
    }

    /// The tool's name, as the model calls it.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ToolInfo;
    ///
    /// assert_eq!(ToolInfo::new("t").name(), "t");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameter names, in signature order.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::ToolInfo;
    ///
    /// assert!(ToolInfo::new("t").parameters().is_empty());
    /// ```
    pub fn parameters(&self) -> &[String] {
        &self.parameters
    }
}

/// What listing one MCP server's tools returned (Python's `MCPUtil.get_function_tools`,
/// which wraps the listing in an `mcp_tools` span): the names after the server's tool
/// filter, or `None` when the listing failed or was cancelled.
///
/// ```
/// use codex_telemetry::lifecycle::McpListing;
///
/// let listing = McpListing::new("files", Some(vec!["read_file".into()]));
/// assert_eq!(listing.server(), "files");
/// assert_eq!(McpListing::new("files", None).tools(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpListing {
    server: String,
    tools: Option<Vec<String>>,
}

impl McpListing {
    /// The listing of `server`: its tools' names, or `None` when it did not finish.
    pub fn new(server: impl Into<String>, tools: Option<Vec<String>>) -> Self {
        McpListing {
            server: server.into(),
            tools,
        }
    }

    /// The server's name.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The listed names, if the listing finished.
    pub fn tools(&self) -> Option<&[String]> {
        self.tools.as_deref()
    }

    /// Emits the listing's `mcp_tools` span in the current context: `result` `null` at its
    /// start, the listed names at its end. Outside any trace the provider logs that it
    /// returns a no-op span, as Python's `mcp_tools_span` does.
    pub(crate) fn emit(&self, provider: &TraceProvider) {
        let span = provider.span(McpListToolsSpanData::new(Some(self.server.clone())));
        span.start();
        span.update(|data| data.result = self.tools.clone());
        span.finish();
    }
}
