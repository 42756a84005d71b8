//! What the lifecycle needs to know about an agent: its name, tools, handoffs and output
//! type, and its own callbacks ([`AgentHooks`]). The hooks trait lives beside [`AgentInfo`]
//! because each names the other: an agent holds its hooks, and every hook receives the agent.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::items::{Item, ModelResponse};
use super::run_context::RunContext;
use super::tool_info::ToolInfo;
use crate::model::pyrepr::python_repr;

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
        // Last wins, as in Python's lookup map (a name listed twice is one tool).
        self.tools.iter().rfind(|tool| tool.name() == name)
    }

    /// The handoff whose tool the model calls by `name`, if the agent has it: the last one,
    /// which wins a collision (see [`AgentInfo::routing`]).
    pub(crate) fn handoff(&self, tool_name: &str) -> Option<&HandoffInfo> {
        self.handoffs
            .iter()
            .rfind(|handoff| handoff.tool_name == tool_name)
    }

    /// What the model is offered, as Python's `resolve_tool_name_collisions` decides for each
    /// model call: names shared by several tools and handoffs keep one owner (the last
    /// handoff, else the last tool) and each collision logs a WARNING (with details only when
    /// tool data is logged).
    pub(crate) fn routing(&self, dont_log_tool_data: bool) -> Routing<'_> {
        // Owners per name, in order of first appearance: tools, then handoffs.
        let mut owners: Vec<(&str, Vec<Owner>)> = Vec::new();
        let entries = (self
            .tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name(), Owner::Tool(i))))
        .chain(
            self.handoffs
                .iter()
                .enumerate()
                .map(|(i, h)| (h.tool_name.as_str(), Owner::Handoff(i))),
        );
        for (name, owner) in entries {
            match owners.iter_mut().find(|(key, _)| *key == name) {
                Some((_, list)) => list.push(owner),
                None => owners.push((name, vec![owner])),
            }
        }
        let mut routing = Routing {
            tools: self.tools.iter().collect(),
            handoffs: self.handoffs.iter().collect(),
            warnings: Vec::new(),
        };
        let (mut dropped_tools, mut dropped_handoffs) = (Vec::new(), Vec::new());
        for (name, list) in owners.iter().filter(|(_, list)| list.len() > 1) {
            routing.warnings.push(if dont_log_tool_data {
                "Tool name collision detected. Assign unique routed tool names or enable tool data logging for details.".to_owned()
            } else {
                self.collision_message(name, list)
            });
            let winner = list
                .iter()
                .rfind(|owner| matches!(owner, Owner::Handoff(_)))
                .or(list.last())
                .copied();
            for owner in list.iter().copied().filter(|owner| Some(*owner) != winner) {
                match owner {
                    Owner::Tool(i) => dropped_tools.push(i),
                    Owner::Handoff(i) => dropped_handoffs.push(i),
                }
            }
        }
        routing.tools = (self.tools.iter().enumerate())
            .filter(|(i, _)| !dropped_tools.contains(i))
            .map(|(_, tool)| tool)
            .collect();
        routing.handoffs = (self.handoffs.iter().enumerate())
            .filter(|(i, _)| !dropped_handoffs.contains(i))
            .map(|(_, handoff)| handoff)
            .collect();
        routing
    }

    /// Python's `_format_tool_name_collision_message`.
    fn collision_message(&self, name: &str, owners: &[Owner]) -> String {
        // Agents whose handoffs derive this name by default, in order (agent tools, which
        // also derive names, are not modelled here).
        let mut derived: Vec<&str> = Vec::new();
        for owner in owners {
            if let Owner::Handoff(i) = owner {
                let handoff = &self.handoffs[*i];
                if handoff.default_name && !derived.contains(&handoff.agent_name.as_str()) {
                    derived.push(&handoff.agent_name);
                }
            }
        }
        if let [first, second] = derived[..]
            && owners.len() == 2
        {
            return format!(
                "Ambiguous handoff configuration: agents {} and {} both derive the handoff tool name `{name}`. Pass an explicit `tool_name_override=` to one of them.",
                python_repr(&Value::String(first.to_owned())),
                python_repr(&Value::String(second.to_owned())),
            );
        }
        let tools = owners.iter().any(|o| matches!(o, Owner::Tool(_)));
        let handoffs = owners.iter().any(|o| matches!(o, Owner::Handoff(_)));
        match (tools, handoffs) {
            (true, false) => format!(
                "Ambiguous function tool configuration: the tool name `{name}` is used by multiple tools. Assign a unique routed name to every colliding function tool with `name_override=`, `tool_name=`, or a namespace."
            ),
            (false, true) => format!(
                "Ambiguous handoff configuration: the handoff tool name `{name}` is used by multiple handoffs. Pass a unique `tool_name_override=` to each handoff."
            ),
            _ => format!(
                "Ambiguous tool routing configuration: the tool name `{name}` is used by both a function tool and a handoff. Assign a unique routed name to every colliding function tool and handoff with `name_override=`, `tool_name=`, `tool_name_override=`, or a namespace."
            ),
        }
    }
}

/// One owner of a tool name offered to the model: a tool or a handoff, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Tool(usize),
    Handoff(usize),
}

/// The tools and handoffs a model call offers after name collisions are resolved, and the
/// warnings the resolution logs.
pub(crate) struct Routing<'a> {
    pub(crate) tools: Vec<&'a ToolInfo>,
    pub(crate) handoffs: Vec<&'a HandoffInfo>,
    pub(crate) warnings: Vec<String>,
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

/// Callbacks for one agent (Python's `AgentHooks`; parameter names as in Python).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use codex_telemetry::hooks::{AgentHooks, RunContext};
/// use codex_telemetry::lifecycle::AgentInfo;
///
/// struct Greeter;
/// impl AgentHooks for Greeter {
///     fn on_start(&self, _: &RunContext, agent: &AgentInfo) {
///         assert_eq!(agent.name(), "assistant");
///     }
/// }
/// let agent = AgentInfo::new("assistant").with_hooks(Arc::new(Greeter));
/// agent.hooks().unwrap().on_start(&RunContext::default(), &agent);
/// ```
pub trait AgentHooks: Send + Sync {
    /// The agent starts its first turn of a stint.
    fn on_start(&self, context: &RunContext, agent: &AgentInfo) {
        let _ = (context, agent);
    }

    /// The agent produced the run's final output.
    fn on_end(&self, context: &RunContext, agent: &AgentInfo, output: &Value) {
        let _ = (context, agent, output);
    }

    /// This agent hands off: `agent` is the **target**, `source` this agent.
    fn on_handoff(&self, context: &RunContext, agent: &AgentInfo, source: &AgentInfo) {
        let _ = (context, agent, source);
    }

    /// One of the agent's tools is about to run.
    fn on_tool_start(&self, context: &RunContext, agent: &AgentInfo, tool: &ToolInfo) {
        let _ = (context, agent, tool);
    }

    /// One of the agent's tools finished; `result` as in
    /// [`RunHooks::on_tool_end`](crate::hooks::RunHooks::on_tool_end).
    fn on_tool_end(&self, context: &RunContext, agent: &AgentInfo, tool: &ToolInfo, result: &str) {
        let _ = (context, agent, tool, result);
    }

    /// The agent is about to call the model.
    fn on_llm_start(
        &self,
        context: &RunContext,
        agent: &AgentInfo,
        system_prompt: Option<&str>,
        input_items: &[Item],
    ) {
        let _ = (context, agent, system_prompt, input_items);
    }

    /// The agent's model call returned.
    fn on_llm_end(&self, context: &RunContext, agent: &AgentInfo, response: &ModelResponse) {
        let _ = (context, agent, response);
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
    /// The default tool name's rewrite warning, when Python logs one (see
    /// [`HandoffInfo::tool_name_warning`]).
    tool_name_warning: Option<String>,
    /// Whether `tool_name` is the default one derived from the agent's name.
    default_name: bool,
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
        let tool_name_warning = default_tool_name_warning(&agent_name, &tool_name);
        Self {
            agent_name,
            tool_name,
            tool_name_warning,
            default_name: true,
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
        self.tool_name_warning = None;
        self.default_name = false;
        self
    }

    /// The WARNING Python logs each time it builds the handoff's default tool (once per
    /// model call of the agent that can hand off) when the agent's name has characters other
    /// than letters, digits, `_` and whitespace: `Tool name 'transfer_to_…' contains invalid
    /// characters for function calling and has been transformed to '…'. …`. `None` for a
    /// name that only needed whitespace replaced, and for a custom tool name.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::HandoffInfo;
    ///
    /// assert!(HandoffInfo::to_agent("Billing Agent").tool_name_warning().is_none());
    /// assert!(HandoffInfo::to_agent("Café").tool_name_warning().unwrap().contains("'transfer_to_caf_'"));
    /// assert!(HandoffInfo::to_agent("Café").with_tool_name("cafe").tool_name_warning().is_none());
    /// ```
    pub fn tool_name_warning(&self) -> Option<&str> {
        self.tool_name_warning.as_deref()
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

/// Python's `transform_string_function_style(f"transfer_to_{name}", warn_on_whitespace=False)`
/// warning: only when the name had characters other than whitespace to replace.
fn default_tool_name_warning(agent_name: &str, tool_name: &str) -> Option<String> {
    let raw = format!("transfer_to_{agent_name}");
    let whitespace_normalized: String = raw
        .chars()
        .map(|c| if is_python_space(c) { '_' } else { c })
        .collect();
    let transformed: String = whitespace_normalized
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (transformed != raw && transformed != whitespace_normalized).then(|| {
        format!(
            "Tool name {} contains invalid characters for function calling and has been transformed to {}. Please use only letters, digits, and underscores to avoid potential naming conflicts.",
            python_repr(&Value::String(raw)),
            python_repr(&Value::String(tool_name.to_owned())),
        )
    })
}

/// Python's `\s` in a `str` pattern (`str.isspace()`): Unicode whitespace and the ASCII
/// separators U+001C to U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
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
