//! What the lifecycle needs to know about agents, tools and handoffs.

use std::fmt;
use std::sync::Arc;

use crate::hooks::AgentHooks;

/// The name of the output type of an agent that answers with plain text.
pub const TEXT_OUTPUT_TYPE: &str = "str";

/// An agent as telemetry sees it: its name, tools, handoff targets, output type and hooks.
///
/// The agent span exports `tools` (tool names) and `handoffs` (target agent names) as `[]`
/// at start and fills them in at the agent's model call, as Python does.
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::{AgentInfo, HandoffInfo, ToolInfo};
///
/// let triage = AgentInfo::new("triage")
///     .with_tool(ToolInfo::new("lookup"))
///     .with_handoff(HandoffInfo::to_agent("Billing Agent"));
/// assert_eq!(triage.handoffs()[0].tool_name(), "transfer_to_billing_agent");
/// assert_eq!(triage.output_type(), "str");
/// ```
#[derive(Clone)]
pub struct AgentInfo {
    name: String,
    tools: Vec<ToolInfo>,
    handoffs: Vec<HandoffInfo>,
    output_type: String,
    hooks: Option<Arc<dyn AgentHooks>>,
}

impl AgentInfo {
    /// An agent named `name` with no tools, no handoffs, text output and no hooks.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::AgentInfo;
    ///
    /// let agent = AgentInfo::new("assistant");
    /// assert!(agent.tools().is_empty() && agent.handoffs().is_empty() && agent.hooks().is_none());
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            tools: Vec::new(),
            handoffs: Vec::new(),
            output_type: TEXT_OUTPUT_TYPE.into(),
            hooks: None,
        }
    }

    /// Adds a tool.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{AgentInfo, ToolInfo};
    ///
    /// assert_eq!(AgentInfo::new("a").with_tool(ToolInfo::new("t")).tools()[0].name(), "t");
    /// ```
    pub fn with_tool(mut self, tool: ToolInfo) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds a handoff.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{AgentInfo, HandoffInfo};
    ///
    /// assert_eq!(AgentInfo::new("a").with_handoff(HandoffInfo::to_agent("b")).handoffs()[0].agent_name(), "b");
    /// ```
    pub fn with_handoff(mut self, handoff: HandoffInfo) -> Self {
        self.handoffs.push(handoff);
        self
    }

    /// Sets the name of the structured output type (`"str"`, the default, for text).
    ///
    /// ```
    /// use codex_telemetry::lifecycle::AgentInfo;
    ///
    /// assert_eq!(AgentInfo::new("a").with_output_type("Weather").output_type(), "Weather");
    /// ```
    pub fn with_output_type(mut self, output_type: impl Into<String>) -> Self {
        self.output_type = output_type.into();
        self
    }

    /// Attaches the agent's hooks.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use codex_telemetry::hooks::AgentHooks;
    /// use codex_telemetry::lifecycle::AgentInfo;
    ///
    /// struct Quiet;
    /// impl AgentHooks for Quiet {}
    /// assert!(AgentInfo::new("a").with_hooks(Arc::new(Quiet)).hooks().is_some());
    /// ```
    pub fn with_hooks(mut self, hooks: Arc<dyn AgentHooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// The agent's name.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::AgentInfo;
    ///
    /// assert_eq!(AgentInfo::new("a").name(), "a");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The agent's tools.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::AgentInfo;
    ///
    /// assert!(AgentInfo::new("a").tools().is_empty());
    /// ```
    pub fn tools(&self) -> &[ToolInfo] {
        &self.tools
    }

    /// The agent's handoffs.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::AgentInfo;
    ///
    /// assert!(AgentInfo::new("a").handoffs().is_empty());
    /// ```
    pub fn handoffs(&self) -> &[HandoffInfo] {
        &self.handoffs
    }

    /// The output type's name (`"str"` for text).
    ///
    /// ```
    /// use codex_telemetry::lifecycle::AgentInfo;
    ///
    /// assert_eq!(AgentInfo::new("a").output_type(), "str");
    /// ```
    pub fn output_type(&self) -> &str {
        &self.output_type
    }

    /// The agent's hooks, if any.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::AgentInfo;
    ///
    /// assert!(AgentInfo::new("a").hooks().is_none());
    /// ```
    pub fn hooks(&self) -> Option<&Arc<dyn AgentHooks>> {
        self.hooks.as_ref()
    }

    /// The tool the model calls by `name`, if the agent has it.
    pub(crate) fn tool(&self, name: &str) -> Option<&ToolInfo> {
        self.tools.iter().find(|tool| tool.name == name)
    }

    /// The handoff whose tool the model calls by `name`, if the agent has it.
    pub(crate) fn handoff(&self, tool_name: &str) -> Option<&HandoffInfo> {
        self.handoffs
            .iter()
            .find(|handoff| handoff.tool_name == tool_name)
    }
}

impl fmt::Debug for AgentInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentInfo")
            .field("name", &self.name)
            .field("tools", &self.tools)
            .field("handoffs", &self.handoffs)
            .field("output_type", &self.output_type)
            .field("hooks", &self.hooks.is_some())
            .finish()
    }
}

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
    /// [`DEFAULT_TOOL_ERROR_OUTPUT`](super::DEFAULT_TOOL_ERROR_OUTPUT) and the span's error
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
            Self::Default => Some(super::DEFAULT_TOOL_ERROR_OUTPUT.to_owned()),
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
        }
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

/// A handoff: the target agent and the name of the tool the model calls to hand off.
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::HandoffInfo;
///
/// let handoff = HandoffInfo::to_agent("billing");
/// assert_eq!((handoff.agent_name(), handoff.tool_name()), ("billing", "transfer_to_billing"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffInfo {
    agent_name: String,
    tool_name: String,
}

impl HandoffInfo {
    /// A handoff to `agent_name` through Python's default tool name
    /// ([`default_handoff_tool_name`]).
    ///
    /// ```
    /// use codex_telemetry::lifecycle::HandoffInfo;
    ///
    /// assert_eq!(HandoffInfo::to_agent("B").tool_name(), "transfer_to_b");
    /// ```
    pub fn to_agent(agent_name: impl Into<String>) -> Self {
        let agent_name = agent_name.into();
        let tool_name = default_handoff_tool_name(&agent_name);
        Self {
            agent_name,
            tool_name,
        }
    }

    /// The same handoff called through `tool_name`.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::HandoffInfo;
    ///
    /// assert_eq!(HandoffInfo::to_agent("b").with_tool_name("escalate").tool_name(), "escalate");
    /// ```
    pub fn with_tool_name(mut self, tool_name: impl Into<String>) -> Self {
        self.tool_name = tool_name.into();
        self
    }

    /// The target agent's name.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::HandoffInfo;
    ///
    /// assert_eq!(HandoffInfo::to_agent("b").agent_name(), "b");
    /// ```
    pub fn agent_name(&self) -> &str {
        &self.agent_name
    }

    /// The tool name the model calls.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::HandoffInfo;
    ///
    /// assert_eq!(HandoffInfo::to_agent("b").tool_name(), "transfer_to_b");
    /// ```
    pub fn tool_name(&self) -> &str {
        &self.tool_name
    }
}

/// Python's `Handoff.default_tool_name`: `transfer_to_` + the agent name, every whitespace
/// and every character outside `[A-Za-z0-9_]` replaced by `_`, lower-cased.
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::default_handoff_tool_name;
///
/// assert_eq!(default_handoff_tool_name("Billing Agent"), "transfer_to_billing_agent");
/// assert_eq!(default_handoff_tool_name("Café-2"), "transfer_to_caf__2");
/// ```
pub fn default_handoff_tool_name(agent_name: &str) -> String {
    format!("transfer_to_{agent_name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}
