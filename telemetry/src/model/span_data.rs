//! Typed span data, exported exactly as the Python client's `SpanData.export()`.
//!
//! Each type mirrors one class of `agents/tracing/span_data.py` (openai-agents 0.25.0):
//! same fields, same JSON keys, same key order (`serde_json` is built with
//! `preserve_order`, so the order survives into [`Value`]s).
//!
//! | type | `span_data` export |
//! |---|---|
//! | [`AgentSpanData`] | `{"type":"agent","name","handoffs","tools","output_type"}` |
//! | [`FunctionSpanData`] | `{"type":"function","name","input","output","mcp_data"}` |
//! | [`GenerationSpanData`] | `{"type":"generation","input","output","model","model_config","usage"}`, then `"tools"` when set |
//! | [`ResponseSpanData`] | `{"type":"response","response_id","usage"}` |
//! | [`HandoffSpanData`] | `{"type":"handoff","from_agent","to_agent"}` |
//! | [`GuardrailSpanData`] | `{"type":"guardrail","name","triggered"}` |
//! | [`CustomSpanData`] | `{"type":"custom","name","data":{…}}` |
//! | [`McpListToolsSpanData`] | `{"type":"mcp_tools","server","result"}` |
//! | [`TaskSpanData`] | `{"type":"custom","name":"task","data":{"sdk_span_type":"task","name"[,"usage"]}}` |
//! | [`TurnSpanData`] | `{"type":"custom","name":"turn","data":{"sdk_span_type":"turn","turn","agent_name"[,"usage"]}}` |
//!
//! The fields are public and meant to be mutated while a span runs (the Python runner
//! fills in an agent's `tools` or a function's `output` between start and end); see
//! [`TypedSpan::update`](crate::TypedSpan::update). The structs are `#[non_exhaustive]`:
//! build them with their `new`/`default` constructors.
//!
//! The `metadata` fields of [`AgentSpanData`], [`TaskSpanData`] and [`TurnSpanData`] are
//! not part of `span_data`: like Python's, they are merged into the span's top-level
//! `metadata` (see [`Span::export`](crate::Span::export)).
//!
//! ```
//! use codex_telemetry::{AgentSpanData, SpanData};
//! use serde_json::json;
//!
//! let mut agent = AgentSpanData::new("weather");
//! agent.tools = Some(vec!["get_weather".into()]);
//! assert_eq!(
//!     serde_json::to_string(&SpanData::from(agent).export())?,
//!     r#"{"type":"agent","name":"weather","handoffs":null,"tools":["get_weather"],"output_type":null}"#,
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

/// A JSON object, in insertion order: the type of every free-form payload (custom span
/// data, usage, model configuration, metadata).
///
/// # Examples
///
/// ```
/// use codex_telemetry::JsonMap;
/// use serde_json::json;
///
/// let mut data = JsonMap::new();
/// data.insert("z".into(), json!(1));
/// data.insert("a".into(), json!(2));
/// assert_eq!(serde_json::to_string(&data)?, r#"{"z":1,"a":2}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub type JsonMap = serde_json::Map<String, Value>;

/// Data of an `agent` span: one stint of one agent in a run.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{AgentSpanData, SpanData};
/// use serde_json::json;
///
/// let mut data = AgentSpanData::new("A");
/// data.handoffs = Some(vec!["B".into()]);
/// data.output_type = Some("str".into());
/// assert_eq!(
///     SpanData::from(data).export(),
///     json!({"type": "agent", "name": "A", "handoffs": ["B"], "tools": null, "output_type": "str"}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct AgentSpanData {
    /// The agent's name.
    pub name: String,
    /// Names of the agents this agent can hand off to (`null` until set).
    pub handoffs: Option<Vec<String>>,
    /// Names of the agent's tools (`null` until set).
    pub tools: Option<Vec<String>>,
    /// Name of the agent's output type, e.g. `"str"` (`null` until set).
    pub output_type: Option<String>,
    /// Merged into the span's top-level `metadata`; not part of `span_data`.
    pub metadata: Option<JsonMap>,
}

impl AgentSpanData {
    /// Data for agent `name`, everything else `null`.
    ///
    /// ```
    /// use codex_telemetry::AgentSpanData;
    ///
    /// assert_eq!(AgentSpanData::new("A").tools, None);
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// Data of a `function` span: one tool call.
///
/// `output` holds the text the span exports; Python exports `str(output)`, so a caller
/// reproducing Python converts its result with Python's rules first.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{FunctionSpanData, SpanData};
/// use serde_json::json;
///
/// let mut data = FunctionSpanData::new("get_weather");
/// data.input = Some(r#"{"city":"Paris"}"#.into());
/// data.output = Some("sunny".into());
/// assert_eq!(
///     SpanData::from(data).export(),
///     json!({"type": "function", "name": "get_weather", "input": "{\"city\":\"Paris\"}",
///            "output": "sunny", "mcp_data": null}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct FunctionSpanData {
    /// The tool's name.
    pub name: String,
    /// The raw arguments string the model sent.
    pub input: Option<String>,
    /// The tool's result as text.
    pub output: Option<String>,
    /// `{"server": name}` for MCP tools.
    pub mcp_data: Option<JsonMap>,
}

impl FunctionSpanData {
    /// Data for tool `name`, everything else `null`.
    ///
    /// ```
    /// use codex_telemetry::FunctionSpanData;
    ///
    /// assert_eq!(FunctionSpanData::new("f").output, None);
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// Data of a `generation` span: one model call.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{GenerationSpanData, SpanData};
/// use serde_json::json;
///
/// assert_eq!(
///     SpanData::from(GenerationSpanData::new()).export(),
///     json!({"type": "generation", "input": null, "output": null, "model": null,
///            "model_config": null, "usage": null}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct GenerationSpanData {
    /// The input messages.
    pub input: Option<Vec<JsonMap>>,
    /// The output messages.
    pub output: Option<Vec<JsonMap>>,
    /// The model name.
    pub model: Option<String>,
    /// The model settings.
    pub model_config: Option<JsonMap>,
    /// Token usage.
    pub usage: Option<JsonMap>,
    /// The tool definitions offered to the model (handoffs included), as the SDK converted
    /// them; exported as `tools` only when set (the Python client since 0.25.0, whose models
    /// record them only when the run includes sensitive data).
    pub tools: Option<Vec<JsonMap>>,
}

impl GenerationSpanData {
    /// Data with every field `null`.
    ///
    /// ```
    /// use codex_telemetry::GenerationSpanData;
    ///
    /// assert_eq!(GenerationSpanData::new(), GenerationSpanData::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The same data with the tool definitions offered to the model: exported last, as
    /// `tools` (Python 0.25.0's `GenerationSpanData(tools=…)`).
    ///
    /// ```
    /// use codex_telemetry::{GenerationSpanData, JsonMap, SpanData};
    /// use serde_json::json;
    ///
    /// let tool: JsonMap = serde_json::from_value(json!({"type": "function", "name": "get_weather"})).unwrap();
    /// let data = GenerationSpanData::new().with_tools(vec![tool]);
    /// let export = SpanData::from(data).export();
    /// assert_eq!(export["tools"], json!([{"type": "function", "name": "get_weather"}]));
    /// assert_eq!(export.as_object().unwrap().keys().last().unwrap(), "tools");
    /// ```
    pub fn with_tools(mut self, tools: Vec<JsonMap>) -> Self {
        self.tools = Some(tools);
        self
    }
}

/// Data of a `response` span: one call to the Responses API.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{ResponseSpanData, SpanData};
/// use serde_json::json;
///
/// let mut data = ResponseSpanData::new();
/// data.response_id = Some("resp_1".into());
/// assert_eq!(
///     SpanData::from(data).export(),
///     json!({"type": "response", "response_id": "resp_1", "usage": null}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ResponseSpanData {
    /// The response's id.
    pub response_id: Option<String>,
    /// Token usage.
    pub usage: Option<JsonMap>,
}

impl ResponseSpanData {
    /// Data with every field `null`.
    ///
    /// ```
    /// use codex_telemetry::ResponseSpanData;
    ///
    /// assert_eq!(ResponseSpanData::new().response_id, None);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

/// Data of a `handoff` span: control passing from one agent to another.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{HandoffSpanData, SpanData};
/// use serde_json::json;
///
/// // At span start the target is still unknown.
/// let data = HandoffSpanData::new(Some("A".into()), None);
/// assert_eq!(
///     SpanData::from(data).export(),
///     json!({"type": "handoff", "from_agent": "A", "to_agent": null}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct HandoffSpanData {
    /// The agent handing off.
    pub from_agent: Option<String>,
    /// The agent receiving control.
    pub to_agent: Option<String>,
}

impl HandoffSpanData {
    /// Data for a handoff between the two agents.
    ///
    /// ```
    /// use codex_telemetry::HandoffSpanData;
    ///
    /// let data = HandoffSpanData::new(Some("A".into()), Some("B".into()));
    /// assert_eq!(data.to_agent.as_deref(), Some("B"));
    /// ```
    pub fn new(from_agent: Option<String>, to_agent: Option<String>) -> Self {
        Self {
            from_agent,
            to_agent,
        }
    }
}

/// Data of a `guardrail` span: one input or output guardrail check.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{GuardrailSpanData, SpanData};
/// use serde_json::json;
///
/// assert_eq!(
///     SpanData::from(GuardrailSpanData::new("no_pii")).export(),
///     json!({"type": "guardrail", "name": "no_pii", "triggered": false}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct GuardrailSpanData {
    /// The guardrail's name.
    pub name: String,
    /// Whether the tripwire fired.
    pub triggered: bool,
}

impl GuardrailSpanData {
    /// Data for guardrail `name`, not triggered.
    ///
    /// ```
    /// use codex_telemetry::GuardrailSpanData;
    ///
    /// assert!(!GuardrailSpanData::new("g").triggered);
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            triggered: false,
        }
    }
}

/// Data of a `custom` span: a name and a free-form object.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{CustomSpanData, SpanData};
/// use serde_json::json;
///
/// let mut data = CustomSpanData::new("db_query");
/// data.data.insert("table".into(), json!("users"));
/// assert_eq!(
///     SpanData::from(data).export(),
///     json!({"type": "custom", "name": "db_query", "data": {"table": "users"}}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct CustomSpanData {
    /// The span's name.
    pub name: String,
    /// The free-form payload, exported as is.
    pub data: JsonMap,
}

impl CustomSpanData {
    /// Data named `name` with an empty `data` object.
    ///
    /// ```
    /// use codex_telemetry::CustomSpanData;
    ///
    /// assert!(CustomSpanData::new("x").data.is_empty());
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            data: JsonMap::new(),
        }
    }

    /// Data named `name` carrying `data`.
    ///
    /// ```
    /// use codex_telemetry::{CustomSpanData, JsonMap};
    /// use serde_json::json;
    ///
    /// let mut payload = JsonMap::new();
    /// payload.insert("rows".into(), json!(3));
    /// assert_eq!(CustomSpanData::with_data("q", payload).data["rows"], json!(3));
    /// ```
    pub fn with_data(name: impl Into<String>, data: JsonMap) -> Self {
        Self {
            name: name.into(),
            data,
        }
    }
}

/// Data of an `mcp_tools` span: listing the tools of one MCP server.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{McpListToolsSpanData, SpanData};
/// use serde_json::json;
///
/// let mut data = McpListToolsSpanData::new(Some("files".into()));
/// data.result = Some(vec!["read".into()]);
/// assert_eq!(
///     SpanData::from(data).export(),
///     json!({"type": "mcp_tools", "server": "files", "result": ["read"]}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct McpListToolsSpanData {
    /// The server's name.
    pub server: Option<String>,
    /// Names of the tools it listed.
    pub result: Option<Vec<String>>,
}

impl McpListToolsSpanData {
    /// Data for `server`, no result yet.
    ///
    /// ```
    /// use codex_telemetry::McpListToolsSpanData;
    ///
    /// assert_eq!(McpListToolsSpanData::new(None).server, None);
    /// ```
    pub fn new(server: Option<String>) -> Self {
        Self {
            server,
            result: None,
        }
    }
}

/// Data of a task span: one top-level run invocation. Exported as a `custom` span named
/// `task` whose data carries `"sdk_span_type": "task"`.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{SpanData, TaskSpanData};
/// use serde_json::json;
///
/// let data = SpanData::from(TaskSpanData::new("Agent workflow"));
/// assert_eq!(data.span_type(), "task");
/// assert_eq!(
///     data.export(),
///     json!({"type": "custom", "name": "task",
///            "data": {"sdk_span_type": "task", "name": "Agent workflow"}}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct TaskSpanData {
    /// The workflow name of the run.
    pub name: String,
    /// Usage over the invocation; exported under `data.usage` only when set.
    pub usage: Option<JsonMap>,
    /// Merged into the span's top-level `metadata`; not part of `span_data`.
    pub metadata: Option<JsonMap>,
}

impl TaskSpanData {
    /// Data for a run of workflow `name`.
    ///
    /// ```
    /// use codex_telemetry::TaskSpanData;
    ///
    /// assert_eq!(TaskSpanData::new("wf").usage, None);
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// Data of a turn span: one model turn of the agent loop. Exported as a `custom` span
/// named `turn` whose data carries `"sdk_span_type": "turn"`.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{SpanData, TurnSpanData};
/// use serde_json::json;
///
/// let mut turn = TurnSpanData::new(1, "A");
/// let mut usage = codex_telemetry::JsonMap::new();
/// usage.insert("input_tokens".into(), json!(10));
/// turn.usage = Some(usage);
/// assert_eq!(
///     SpanData::from(turn).export(),
///     json!({"type": "custom", "name": "turn",
///            "data": {"sdk_span_type": "turn", "turn": 1, "agent_name": "A",
///                     "usage": {"input_tokens": 10}}}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct TurnSpanData {
    /// The turn number, 1-based and global to the run.
    pub turn: u64,
    /// The agent taking the turn.
    pub agent_name: String,
    /// Usage over the turn; exported under `data.usage` only when set.
    pub usage: Option<JsonMap>,
    /// Merged into the span's top-level `metadata`; not part of `span_data`.
    pub metadata: Option<JsonMap>,
}

impl TurnSpanData {
    /// Data for turn `turn` of agent `agent_name`.
    ///
    /// ```
    /// use codex_telemetry::TurnSpanData;
    ///
    /// assert_eq!(TurnSpanData::new(2, "B").turn, 2);
    /// ```
    pub fn new(turn: u64, agent_name: impl Into<String>) -> Self {
        Self {
            turn,
            agent_name: agent_name.into(),
            ..Self::default()
        }
    }
}

/// The data of any span: one variant per span data type.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{CustomSpanData, SpanData};
///
/// let data: SpanData = CustomSpanData::new("x").into();
/// assert!(matches!(data, SpanData::Custom(_)));
/// assert_eq!(data.span_type(), "custom");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SpanData {
    /// An `agent` span.
    Agent(AgentSpanData),
    /// A `function` span.
    Function(FunctionSpanData),
    /// A `generation` span.
    Generation(GenerationSpanData),
    /// A `response` span.
    Response(ResponseSpanData),
    /// A `handoff` span.
    Handoff(HandoffSpanData),
    /// A `guardrail` span.
    Guardrail(GuardrailSpanData),
    /// A `custom` span.
    Custom(CustomSpanData),
    /// An `mcp_tools` span.
    McpListTools(McpListToolsSpanData),
    /// A task span (exported as `custom`).
    Task(TaskSpanData),
    /// A turn span (exported as `custom`).
    Turn(TurnSpanData),
}

impl SpanData {
    /// The Python `SpanData.type`: `agent`, `function`, `generation`, `response`,
    /// `handoff`, `guardrail`, `custom`, `mcp_tools`, `task` or `turn`.
    ///
    /// Task and turn spans answer `task`/`turn` here although their export says
    /// `"type": "custom"`, exactly as in Python.
    ///
    /// ```
    /// use codex_telemetry::{SpanData, TurnSpanData};
    ///
    /// let turn = SpanData::from(TurnSpanData::new(1, "A"));
    /// assert_eq!(turn.span_type(), "turn");
    /// assert_eq!(turn.export()["type"], "custom");
    /// ```
    pub fn span_type(&self) -> &'static str {
        match self {
            Self::Agent(_) => "agent",
            Self::Function(_) => "function",
            Self::Generation(_) => "generation",
            Self::Response(_) => "response",
            Self::Handoff(_) => "handoff",
            Self::Guardrail(_) => "guardrail",
            Self::Custom(_) => "custom",
            Self::McpListTools(_) => "mcp_tools",
            Self::Task(_) => "task",
            Self::Turn(_) => "turn",
        }
    }

    /// The name of the Python client's class for this data (`agents.tracing.span_data`).
    ///
    /// ```
    /// use codex_telemetry::{McpListToolsSpanData, SpanData};
    ///
    /// assert_eq!(SpanData::from(McpListToolsSpanData::new(None)).python_class(), "MCPListToolsSpanData");
    /// ```
    pub fn python_class(&self) -> &'static str {
        match self {
            Self::Agent(_) => "AgentSpanData",
            Self::Function(_) => "FunctionSpanData",
            Self::Generation(_) => "GenerationSpanData",
            Self::Response(_) => "ResponseSpanData",
            Self::Handoff(_) => "HandoffSpanData",
            Self::Guardrail(_) => "GuardrailSpanData",
            Self::Custom(_) => "CustomSpanData",
            Self::McpListTools(_) => "MCPListToolsSpanData",
            Self::Task(_) => "TaskSpanData",
            Self::Turn(_) => "TurnSpanData",
        }
    }

    /// The `span_data` JSON object, with Python's keys in Python's order.
    ///
    /// ```
    /// use codex_telemetry::{HandoffSpanData, SpanData};
    ///
    /// let exported = SpanData::from(HandoffSpanData::default()).export();
    /// let keys: Vec<&str> = exported.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    /// assert_eq!(keys, ["type", "from_agent", "to_agent"]);
    /// ```
    pub fn export(&self) -> Value {
        // Serializing plain strings, maps and numbers into a `Value` cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The metadata that Python merges into the span's top-level `metadata`.
    pub(crate) fn metadata(&self) -> Option<&JsonMap> {
        match self {
            Self::Agent(data) => data.metadata.as_ref(),
            Self::Task(data) => data.metadata.as_ref(),
            Self::Turn(data) => data.metadata.as_ref(),
            _ => None,
        }
    }
}

impl Serialize for SpanData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Agent(data) => data.serialize(serializer),
            Self::Function(data) => data.serialize(serializer),
            Self::Generation(data) => data.serialize(serializer),
            Self::Response(data) => data.serialize(serializer),
            Self::Handoff(data) => data.serialize(serializer),
            Self::Guardrail(data) => data.serialize(serializer),
            Self::Custom(data) => data.serialize(serializer),
            Self::McpListTools(data) => data.serialize(serializer),
            Self::Task(data) => data.serialize(serializer),
            Self::Turn(data) => data.serialize(serializer),
        }
    }
}

// === Serialize impls: one per Python `export()` ===

impl Serialize for AgentSpanData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("type", "agent")?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("handoffs", &self.handoffs)?;
        map.serialize_entry("tools", &self.tools)?;
        map.serialize_entry("output_type", &self.output_type)?;
        map.end()
    }
}

impl Serialize for FunctionSpanData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("type", "function")?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("input", &self.input)?;
        map.serialize_entry("output", &self.output)?;
        map.serialize_entry("mcp_data", &self.mcp_data)?;
        map.end()
    }
}

impl Serialize for GenerationSpanData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(6 + usize::from(self.tools.is_some())))?;
        map.serialize_entry("type", "generation")?;
        map.serialize_entry("input", &self.input)?;
        map.serialize_entry("output", &self.output)?;
        map.serialize_entry("model", &self.model)?;
        map.serialize_entry("model_config", &self.model_config)?;
        map.serialize_entry("usage", &self.usage)?;
        // Python: `**({"tools": self.tools} if self.tools is not None else {})`.
        if let Some(tools) = &self.tools {
            map.serialize_entry("tools", tools)?;
        }
        map.end()
    }
}

impl Serialize for ResponseSpanData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("type", "response")?;
        map.serialize_entry("response_id", &self.response_id)?;
        map.serialize_entry("usage", &self.usage)?;
        map.end()
    }
}

impl Serialize for HandoffSpanData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("type", "handoff")?;
        map.serialize_entry("from_agent", &self.from_agent)?;
        map.serialize_entry("to_agent", &self.to_agent)?;
        map.end()
    }
}

impl Serialize for GuardrailSpanData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("type", "guardrail")?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("triggered", &self.triggered)?;
        map.end()
    }
}

impl Serialize for CustomSpanData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("type", "custom")?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("data", &self.data)?;
        map.end()
    }
}

impl Serialize for McpListToolsSpanData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("type", "mcp_tools")?;
        map.serialize_entry("server", &self.server)?;
        map.serialize_entry("result", &self.result)?;
        map.end()
    }
}

/// The `data` object of a task span.
struct TaskData<'a>(&'a TaskSpanData);

impl Serialize for TaskData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let task = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("sdk_span_type", "task")?;
        map.serialize_entry("name", &task.name)?;
        if let Some(usage) = &task.usage {
            map.serialize_entry("usage", usage)?;
        }
        map.end()
    }
}

impl Serialize for TaskSpanData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("type", "custom")?;
        map.serialize_entry("name", "task")?;
        map.serialize_entry("data", &TaskData(self))?;
        map.end()
    }
}

/// The `data` object of a turn span.
struct TurnData<'a>(&'a TurnSpanData);

impl Serialize for TurnData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let turn = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("sdk_span_type", "turn")?;
        map.serialize_entry("turn", &turn.turn)?;
        map.serialize_entry("agent_name", &turn.agent_name)?;
        if let Some(usage) = &turn.usage {
            map.serialize_entry("usage", usage)?;
        }
        map.end()
    }
}

impl Serialize for TurnSpanData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("type", "custom")?;
        map.serialize_entry("name", "turn")?;
        map.serialize_entry("data", &TurnData(self))?;
        map.end()
    }
}

// === typed access ===

mod sealed {
    /// Conversions between one span data type and [`SpanData`](super::SpanData); private
    /// so that the set of span data types stays closed.
    pub trait Sealed: Sized {
        fn downcast_mut(data: &mut super::SpanData) -> Option<&mut Self>;
    }
}

/// A type that can be the data of a [`TypedSpan`](crate::TypedSpan): each span data
/// struct, and [`SpanData`] itself (for spans whose type is only known at run time).
///
/// The trait is sealed; it exists so that
/// [`TraceProvider::span`](crate::TraceProvider::span) can return a span whose
/// [`update`](crate::TypedSpan::update) hands out the right type.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{AgentSpanData, SpanData, SpanDataKind};
///
/// fn kind_of<D: SpanDataKind>(data: D) -> &'static str {
///     let data: SpanData = data.into();
///     data.span_type()
/// }
/// assert_eq!(kind_of(AgentSpanData::new("A")), "agent");
/// ```
pub trait SpanDataKind: sealed::Sealed + Into<SpanData> {}

macro_rules! span_data_kind {
    ($($variant:ident($ty:ty)),* $(,)?) => {$(
        impl From<$ty> for SpanData {
            fn from(data: $ty) -> Self {
                Self::$variant(data)
            }
        }

        impl sealed::Sealed for $ty {
            fn downcast_mut(data: &mut SpanData) -> Option<&mut Self> {
                match data {
                    SpanData::$variant(inner) => Some(inner),
                    _ => None,
                }
            }
        }

        impl SpanDataKind for $ty {}
    )*};
}

span_data_kind! {
    Agent(AgentSpanData),
    Function(FunctionSpanData),
    Generation(GenerationSpanData),
    Response(ResponseSpanData),
    Handoff(HandoffSpanData),
    Guardrail(GuardrailSpanData),
    Custom(CustomSpanData),
    McpListTools(McpListToolsSpanData),
    Task(TaskSpanData),
    Turn(TurnSpanData),
}

impl sealed::Sealed for SpanData {
    fn downcast_mut(data: &mut SpanData) -> Option<&mut Self> {
        Some(data)
    }
}

impl SpanDataKind for SpanData {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The `span_data` exports of openai-agents 0.24.0 (in compact JSON) for spans made by
    /// `agents.tracing.create` with the same arguments (scenario `span_types` of
    /// `python-checks/timelines.py`).
    #[test]
    fn exports_match_python_text() {
        let cases: Vec<(SpanData, &str)> = vec![
            (
                AgentSpanData::new("A").into(),
                r#"{"type":"agent","name":"A","handoffs":null,"tools":null,"output_type":null}"#,
            ),
            (
                FunctionSpanData::new("f").into(),
                r#"{"type":"function","name":"f","input":null,"output":null,"mcp_data":null}"#,
            ),
            (
                GenerationSpanData::new().into(),
                r#"{"type":"generation","input":null,"output":null,"model":null,"model_config":null,"usage":null}"#,
            ),
            (
                ResponseSpanData::new().into(),
                r#"{"type":"response","response_id":null,"usage":null}"#,
            ),
            (
                HandoffSpanData::new(Some("A".into()), None).into(),
                r#"{"type":"handoff","from_agent":"A","to_agent":null}"#,
            ),
            (
                GuardrailSpanData::new("g").into(),
                r#"{"type":"guardrail","name":"g","triggered":false}"#,
            ),
            (
                McpListToolsSpanData::new(Some("srv".into())).into(),
                r#"{"type":"mcp_tools","server":"srv","result":null}"#,
            ),
            (
                TaskSpanData::new("Agent workflow").into(),
                r#"{"type":"custom","name":"task","data":{"sdk_span_type":"task","name":"Agent workflow"}}"#,
            ),
            (
                TurnSpanData::new(1, "A").into(),
                r#"{"type":"custom","name":"turn","data":{"sdk_span_type":"turn","turn":1,"agent_name":"A"}}"#,
            ),
            (
                CustomSpanData::new("c").into(),
                r#"{"type":"custom","name":"c","data":{}}"#,
            ),
        ];
        for (data, python) in cases {
            assert_eq!(serde_json::to_string(&data).unwrap(), python);
            assert_eq!(serde_json::to_string(&data.export()).unwrap(), python);
        }
    }

    #[test]
    fn task_usage_follows_name() {
        let mut task = TaskSpanData::new("wf");
        let mut usage = JsonMap::new();
        usage.insert("input_tokens".into(), json!(37));
        usage.insert("requests".into(), json!(3));
        task.usage = Some(usage);
        assert_eq!(
            serde_json::to_string(&SpanData::from(task)).unwrap(),
            r#"{"type":"custom","name":"task","data":{"sdk_span_type":"task","name":"wf","usage":{"input_tokens":37,"requests":3}}}"#
        );
    }

    #[test]
    fn custom_data_keeps_insertion_order() {
        let mut data = CustomSpanData::new("c");
        for key in ["z", "a", "m"] {
            data.data.insert(key.into(), json!(key));
        }
        assert_eq!(
            serde_json::to_string(&SpanData::from(data)).unwrap(),
            r#"{"type":"custom","name":"c","data":{"z":"z","a":"a","m":"m"}}"#
        );
    }

    #[test]
    fn metadata_is_not_exported_in_span_data() {
        let mut agent = AgentSpanData::new("A");
        agent.metadata = Some(JsonMap::from_iter([("usage".to_string(), json!({}))]));
        let data = SpanData::from(agent);
        assert!(data.metadata().is_some());
        assert!(data.export().get("metadata").is_none());
        assert!(
            SpanData::from(CustomSpanData::new("c"))
                .metadata()
                .is_none()
        );
    }

    #[test]
    fn downcast_matches_variant_only() {
        use sealed::Sealed;
        let mut data = SpanData::from(GuardrailSpanData::new("g"));
        GuardrailSpanData::downcast_mut(&mut data)
            .unwrap()
            .triggered = true;
        assert!(AgentSpanData::downcast_mut(&mut data).is_none());
        assert!(SpanData::downcast_mut(&mut data).is_some());
        assert_eq!(data.export()["triggered"], json!(true));
    }
}
