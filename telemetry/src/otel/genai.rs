//! The OpenTelemetry GenAI mapping of the library's spans: span names, kinds, attributes and
//! status, exactly as the Python ecosystem's instrumentation of the Agents SDK writes them
//! (`opentelemetry-instrumentation-openai-agents-v2`, the OpenTelemetry contrib package, with
//! message content capture off). Pure: span data in, OTel values out; the bridge
//! ([`super::bridge`]) applies them. The table is in docs/otlp.md.

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, KeyValue, StringValue, Value as OtelValue};
use serde_json::Value;

use crate::model::pyrepr::python_str;
use crate::model::span_data::{GenerationSpanData, JsonMap, SpanData};
use crate::model::span_error::SpanError;

/// The instrumentation scope the Python instrumentation reports (its module name).
pub const SCOPE_NAME: &str = "opentelemetry.instrumentation.openai_agents";
/// The semantic-convention schema the Python instrumentation's tracer declares.
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.28.0";

/// `gen_ai.provider.name` and `gen_ai.system`.
const PROVIDER: &str = "openai";
/// The instrumentor's defaults, written on every span (its `*_default` arguments).
const AGENT_NAME_DEFAULT: &str = "OpenAI Agent";
const AGENT_ID_DEFAULT: &str = "agent";
const AGENT_DESCRIPTION_DEFAULT: &str = "OpenAI Agents instrumentation";
const SERVER_ADDRESS_DEFAULT: &str = "api.openai.com";
const SERVER_PORT_DEFAULT: i64 = 443;

/// `gen_ai.operation.name` values.
mod operation {
    pub(super) const CHAT: &str = "chat";
    pub(super) const TEXT_COMPLETION: &str = "text_completion";
    pub(super) const INVOKE_AGENT: &str = "invoke_agent";
    pub(super) const EXECUTE_TOOL: &str = "execute_tool";
    pub(super) const GUARDRAIL: &str = "guardrail_check";
    pub(super) const HANDOFF: &str = "agent_handoff";
    pub(super) const UNKNOWN: &str = "unknown";
}

/// What a span looks like when it starts: its name, kind and first attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct StartShape {
    /// The OTel span name.
    pub name: String,
    /// The OTel span kind.
    pub kind: SpanKind,
    /// The attributes set at start.
    pub attributes: Vec<KeyValue>,
}

/// What a span gains when it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct EndShape {
    /// Attributes set at end; a key set twice (here, or at start) keeps its last value, as in
    /// Python's dict (the bridge merges them before export).
    pub attributes: Vec<KeyValue>,
    /// A new name, when the end data names the model (generation spans).
    pub rename: Option<String>,
    /// `Ok`, or `Error` with the Agents error as `"{message}: {data}"`.
    pub status: Status,
}

/// The root span the instrumentation opens for a trace: named after the workflow.
pub fn trace_root(workflow_name: &str) -> StartShape {
    let mut attributes = provider_attributes(operation::INVOKE_AGENT);
    attributes.extend(server_attributes());
    StartShape {
        name: workflow_name.to_owned(),
        kind: SpanKind::Server,
        attributes,
    }
}

/// The shape of a span at its start, from its data at that moment.
pub fn span_start(data: &SpanData) -> StartShape {
    let operation = operation_name(data);
    let name = match data {
        SpanData::Generation(generation) => span_name(
            operation,
            generation.model.as_deref().filter(|m| !m.is_empty()),
        ),
        SpanData::Agent(agent) => span_name(
            operation,
            Some(non_empty(&agent.name).unwrap_or(AGENT_NAME_DEFAULT)),
        ),
        SpanData::Function(function) => span_name(operation, non_empty(&function.name)),
        SpanData::Handoff(_) => span_name(operation, Some(AGENT_NAME_DEFAULT)),
        _ => operation.to_owned(),
    };
    let mut attributes = provider_attributes(operation);
    attributes.extend(default_agent_attributes());
    attributes.extend(server_attributes());
    StartShape {
        name,
        kind: span_kind(data),
        attributes,
    }
}

/// The shape a span gains at its end, from its data then. `request_model` is the model the
/// instrumentation collected for an agent span from its descendants (the first one to end).
pub fn span_end(
    data: &SpanData,
    error: Option<&SpanError>,
    request_model: Option<&str>,
) -> EndShape {
    let mut attributes = vec![
        KeyValue::new("gen_ai.provider.name", PROVIDER),
        KeyValue::new("gen_ai.system", PROVIDER),
    ];
    attributes.extend(default_agent_attributes());
    attributes.extend(server_attributes());
    let mut rename = None;
    match data {
        SpanData::Generation(generation) => {
            let operation = operation_name(data);
            attributes.extend(generation_attributes(generation, operation));
            if let Some(model) = generation.model.as_deref().filter(|m| !m.is_empty()) {
                rename = Some(span_name(operation, Some(model)));
            }
        }
        SpanData::Agent(agent) => {
            attributes.push(KeyValue::new(
                "gen_ai.operation.name",
                operation::INVOKE_AGENT,
            ));
            attributes.push(KeyValue::new(
                "gen_ai.agent.name",
                non_empty(&agent.name)
                    .unwrap_or(AGENT_NAME_DEFAULT)
                    .to_owned(),
            ));
            attributes.push(KeyValue::new("gen_ai.agent.id", AGENT_ID_DEFAULT));
            attributes.push(KeyValue::new(
                "gen_ai.agent.description",
                AGENT_DESCRIPTION_DEFAULT,
            ));
            if let Some(model) = request_model.filter(|m| !m.is_empty()) {
                attributes.push(KeyValue::new("gen_ai.request.model", model.to_owned()));
            }
            attributes.push(output_type("text"));
        }
        SpanData::Function(function) => {
            attributes.push(KeyValue::new(
                "gen_ai.operation.name",
                operation::EXECUTE_TOOL,
            ));
            if let Some(name) = non_empty(&function.name) {
                attributes.push(KeyValue::new("gen_ai.tool.name", name.to_owned()));
            }
            attributes.push(KeyValue::new("gen_ai.tool.type", "function"));
            attributes.push(output_type("json"));
        }
        SpanData::Response(_) => {
            // Python reads only the span's `response` object (id, model, usage, output); this
            // crate's response spans carry no such object, as in Python when it is absent.
            attributes.push(KeyValue::new("gen_ai.operation.name", operation::CHAT));
            attributes.push(output_type("text"));
        }
        SpanData::Guardrail(guardrail) => {
            attributes.push(KeyValue::new("gen_ai.operation.name", operation::GUARDRAIL));
            if let Some(name) = non_empty(&guardrail.name) {
                attributes.push(KeyValue::new("gen_ai.guardrail.name", name.to_owned()));
            }
            attributes.push(KeyValue::new(
                "gen_ai.guardrail.triggered",
                guardrail.triggered,
            ));
            attributes.push(output_type("text"));
        }
        SpanData::Handoff(handoff) => {
            attributes.push(KeyValue::new("gen_ai.operation.name", operation::HANDOFF));
            if let Some(from) = handoff.from_agent.as_deref().filter(|a| !a.is_empty()) {
                attributes.push(KeyValue::new("gen_ai.handoff.from_agent", from.to_owned()));
            }
            if let Some(to) = handoff.to_agent.as_deref().filter(|a| !a.is_empty()) {
                attributes.push(KeyValue::new("gen_ai.handoff.to_agent", to.to_owned()));
            }
            attributes.push(output_type("text"));
        }
        // Custom, task, turn and mcp_tools spans: the instrumentation knows no operation for
        // them and adds nothing at end.
        _ => {}
    }
    EndShape {
        attributes,
        rename,
        status: status(error),
    }
}

/// The span's status: Python's `f"{error.get('message', '')}: {error.get('data', '')}"`.
pub fn status(error: Option<&SpanError>) -> Status {
    match error {
        None => Status::Ok,
        Some(error) => {
            let data = error.data.as_ref().map_or_else(
                || "None".to_owned(),
                |d| python_str(&Value::Object(d.clone())),
            );
            Status::error(format!("{}: {}", error.message, data))
        }
    }
}

/// The model a finished span contributes to its agent's `gen_ai.request.model`.
pub fn model_of(data: &SpanData) -> Option<&str> {
    match data {
        SpanData::Generation(generation) => generation.model.as_deref().filter(|m| !m.is_empty()),
        _ => None,
    }
}

fn operation_name(data: &SpanData) -> &'static str {
    match data {
        SpanData::Generation(generation) => {
            // Chat when the first input item is a message (has a role).
            let chat = generation
                .input
                .as_ref()
                .and_then(|input| input.first())
                .is_some_and(|first| first.contains_key("role"));
            if chat {
                operation::CHAT
            } else {
                operation::TEXT_COMPLETION
            }
        }
        SpanData::Agent(_) => operation::INVOKE_AGENT,
        SpanData::Function(_) => operation::EXECUTE_TOOL,
        SpanData::Response(_) => operation::CHAT,
        SpanData::Guardrail(_) => operation::GUARDRAIL,
        SpanData::Handoff(_) => operation::HANDOFF,
        _ => operation::UNKNOWN,
    }
}

/// Python's `get_span_name`: the operation, then the model, agent or tool it acts on.
fn span_name(operation: &str, subject: Option<&str>) -> String {
    match subject {
        Some(subject) if !subject.is_empty() => format!("{operation} {subject}"),
        _ => operation.to_owned(),
    }
}

fn span_kind(data: &SpanData) -> SpanKind {
    match data {
        SpanData::Generation(_) | SpanData::Response(_) | SpanData::Agent(_) => SpanKind::Client,
        _ => SpanKind::Internal,
    }
}

fn provider_attributes(operation: &'static str) -> Vec<KeyValue> {
    vec![
        KeyValue::new("gen_ai.provider.name", PROVIDER),
        KeyValue::new("gen_ai.system", PROVIDER),
        KeyValue::new("gen_ai.operation.name", operation),
    ]
}

fn default_agent_attributes() -> [KeyValue; 3] {
    [
        KeyValue::new("gen_ai.agent.name", AGENT_NAME_DEFAULT),
        KeyValue::new("gen_ai.agent.id", AGENT_ID_DEFAULT),
        KeyValue::new("gen_ai.agent.description", AGENT_DESCRIPTION_DEFAULT),
    ]
}

fn server_attributes() -> [KeyValue; 2] {
    [
        KeyValue::new("server.address", SERVER_ADDRESS_DEFAULT),
        KeyValue::new("server.port", SERVER_PORT_DEFAULT),
    ]
}

fn output_type(value: &'static str) -> KeyValue {
    KeyValue::new("gen_ai.output.type", value)
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

fn generation_attributes(data: &GenerationSpanData, operation: &'static str) -> Vec<KeyValue> {
    let mut attributes = vec![KeyValue::new("gen_ai.operation.name", operation)];
    if let Some(model) = data.model.as_deref().filter(|m| !m.is_empty()) {
        attributes.push(KeyValue::new("gen_ai.request.model", model.to_owned()));
    }
    let finish_reasons: Vec<StringValue> = data
        .output
        .iter()
        .flatten()
        .filter_map(|part| {
            let reason = part
                .get("finish_reason")
                .filter(|v| truthy(v))
                .or_else(|| part.get("stop_reason"))
                .filter(|v| truthy(v))?;
            Some(StringValue::from(python_str(reason)))
        })
        .collect();
    if !finish_reasons.is_empty() {
        attributes.push(KeyValue::new(
            "gen_ai.response.finish_reasons",
            OtelValue::Array(Array::String(finish_reasons)),
        ));
    }
    if let Some(usage) = data.usage.as_ref().filter(|u| !u.is_empty()) {
        for (key, (first, second)) in [
            (
                "gen_ai.usage.input_tokens",
                ("prompt_tokens", "input_tokens"),
            ),
            (
                "gen_ai.usage.output_tokens",
                ("completion_tokens", "output_tokens"),
            ),
        ] {
            if usage.contains_key(first) || usage.contains_key(second) {
                // `usage.get(first) or usage.get(second)`: a falsy first falls through.
                let tokens = usage
                    .get(first)
                    .filter(|v| truthy(v))
                    .or_else(|| usage.get(second));
                if let Some(value) = tokens.and_then(attribute_value) {
                    attributes.push(KeyValue::new(key, value));
                }
            }
        }
    }
    if let Some(config) = data.model_config.as_ref().filter(|c| !c.is_empty()) {
        attributes.extend(model_config_attributes(config));
    }
    attributes.push(output_type(generation_output_type(data)));
    attributes
}

fn model_config_attributes(config: &JsonMap) -> Vec<KeyValue> {
    let mut attributes = Vec::new();
    for (setting, key) in [
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("top_k", "gen_ai.request.top_k"),
        ("max_tokens", "gen_ai.request.max_tokens"),
        ("presence_penalty", "gen_ai.request.presence_penalty"),
        ("frequency_penalty", "gen_ai.request.frequency_penalty"),
        ("seed", "gen_ai.request.seed"),
        ("n", "gen_ai.request.choice.count"),
        ("stop", "gen_ai.request.stop_sequences"),
        ("encoding_formats", "gen_ai.request.encoding_formats"),
    ] {
        if let Some(value) = config
            .get(setting)
            .filter(|v| !v.is_null())
            .and_then(attribute_value)
        {
            attributes.push(KeyValue::new(key, value));
        }
    }
    let base_url = ["base_url", "baseUrl", "endpoint"]
        .iter()
        .find_map(|k| config.get(*k).filter(|v| truthy(v)).and_then(Value::as_str));
    if let Some((host, port)) = base_url.and_then(host_and_port) {
        attributes.push(KeyValue::new("server.address", host));
        // `if parsed.port:` — port 0 is falsy.
        if let Some(port) = port.filter(|p| *p != 0) {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
    attributes
}

/// `urlparse(url).hostname` and `.port` (explicit ports only), lowercased like Python;
/// bracketed IPv6 hosts lose their brackets.
fn host_and_port(url: &str) -> Option<(String, Option<u16>)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = port.and_then(|p| p.parse::<u16>().ok());
    (!host.is_empty()).then(|| (host.to_lowercase(), port))
}

/// `_infer_output_type` for generation spans: from the first output item.
fn generation_output_type(data: &GenerationSpanData) -> &'static str {
    let Some(first) = data.output.as_ref().and_then(|o| o.first()) else {
        return "text";
    };
    if let Some(item_type) = first.get("type").and_then(Value::as_str) {
        match item_type.trim().to_lowercase().as_str() {
            "image" | "image_url" => return "image",
            "audio" | "speech" | "audio_url" => return "speech",
            "json" | "json_object" | "jsonschema" | "function_call" | "tool_call"
            | "tool_result" => return "json",
            "text" | "output_text" | "message" | "assistant" => return "text",
            _ => {}
        }
    }
    if first.contains_key("role") {
        if let Some(parts) = first
            .get("parts")
            .and_then(Value::as_array)
            .filter(|p| !p.is_empty())
        {
            let mut textual = true;
            for part in parts {
                match part {
                    Value::Object(part) => {
                        let part_type = part
                            .get("type")
                            .map(python_str)
                            .unwrap_or_default()
                            .to_lowercase();
                        match part_type.as_str() {
                            "image" | "image_url" => return "image",
                            "audio" | "speech" | "audio_url" => return "speech",
                            "" | "text" | "output_text" | "assistant" => {}
                            _ => textual = false,
                        }
                    }
                    Value::String(_) => {}
                    _ => textual = false,
                }
            }
            if textual {
                return "text";
            }
        }
        if first.get("content").is_some_and(Value::is_string) {
            return "text";
        }
    }
    const JSON_LIKE: [&str; 7] = [
        "schema",
        "properties",
        "arguments",
        "result",
        "data",
        "json",
        "output_json",
    ];
    if JSON_LIKE.iter().any(|k| first.contains_key(*k)) {
        return "json";
    }
    "text"
}

/// Python truthiness of a decoded JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A JSON value as an OTel attribute value, as Python's SDK accepts it (`None`, mixed lists
/// and maps are rejected there, so here too).
fn attribute_value(value: &Value) -> Option<OtelValue> {
    match value {
        Value::Bool(b) => Some(OtelValue::Bool(*b)),
        Value::Number(n) => n.as_i64().map(OtelValue::I64).or_else(|| {
            (n.as_u64().is_none())
                .then(|| n.as_f64().map(OtelValue::F64))
                .flatten()
        }),
        Value::String(s) => Some(OtelValue::String(s.clone().into())),
        Value::Array(items) => array_value(items),
        _ => None,
    }
}

fn array_value(items: &[Value]) -> Option<OtelValue> {
    if items.iter().all(Value::is_string) {
        let strings = items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| StringValue::from(s.to_owned()));
        return Some(OtelValue::Array(Array::String(strings.collect())));
    }
    if items.iter().all(Value::is_boolean) {
        return Some(OtelValue::Array(Array::Bool(
            items.iter().filter_map(Value::as_bool).collect(),
        )));
    }
    if items.iter().all(|v| v.as_i64().is_some()) {
        return Some(OtelValue::Array(Array::I64(
            items.iter().filter_map(Value::as_i64).collect(),
        )));
    }
    if items.iter().all(Value::is_f64) {
        return Some(OtelValue::Array(Array::F64(
            items.iter().filter_map(Value::as_f64).collect(),
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::span_data::{
        AgentSpanData, FunctionSpanData, GuardrailSpanData, HandoffSpanData,
    };
    use serde_json::json;

    fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a OtelValue> {
        attributes
            .iter()
            .rev()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    fn map(value: Value) -> JsonMap {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn names_follow_the_operation_and_its_subject() {
        assert_eq!(
            span_start(&AgentSpanData::new("Triage").into()).name,
            "invoke_agent Triage"
        );
        assert_eq!(
            span_start(&AgentSpanData::new("").into()).name,
            "invoke_agent OpenAI Agent"
        );
        assert_eq!(
            span_start(&FunctionSpanData::new("lookup").into()).name,
            "execute_tool lookup"
        );
        let handoff = HandoffSpanData::new(Some("A".into()), Some("B".into()));
        assert_eq!(
            span_start(&handoff.into()).name,
            "agent_handoff OpenAI Agent"
        );
        assert_eq!(
            span_start(&GuardrailSpanData::new("g").into()).name,
            "guardrail_check"
        );
        assert_eq!(
            span_start(&GenerationSpanData::new().into()).name,
            "text_completion"
        );
        assert_eq!(trace_root("Agent workflow").kind, SpanKind::Server);
    }

    #[test]
    fn generations_are_chats_when_their_input_has_roles_and_rename_to_their_model() {
        let mut data = GenerationSpanData::new();
        data.input = Some(vec![map(json!({"role": "user", "content": "hi"}))]);
        data.model = Some("gpt-4o".into());
        data.usage = Some(map(
            json!({"input_tokens": 0, "output_tokens": 7, "total_tokens": 7}),
        ));
        data.output = Some(vec![map(
            json!({"type": "message", "finish_reason": "stop"}),
        )]);
        let data = SpanData::from(data);
        assert_eq!(span_start(&data).name, "chat gpt-4o");
        let end = span_end(&data, None, None);
        assert_eq!(end.rename.as_deref(), Some("chat gpt-4o"));
        let attrs = &end.attributes;
        assert_eq!(
            attribute(attrs, "gen_ai.usage.input_tokens"),
            Some(&OtelValue::I64(0))
        );
        assert_eq!(
            attribute(attrs, "gen_ai.usage.output_tokens"),
            Some(&OtelValue::I64(7))
        );
        assert_eq!(attribute(attrs, "gen_ai.usage.total_tokens"), None);
        assert_eq!(
            attribute(attrs, "gen_ai.response.finish_reasons"),
            Some(&OtelValue::Array(Array::String(vec!["stop".into()])))
        );
        assert_eq!(
            attribute(attrs, "gen_ai.output.type"),
            Some(&OtelValue::from("text"))
        );
    }

    #[test]
    fn a_falsy_prompt_count_falls_through_like_pythons_or() {
        let mut data = GenerationSpanData::new();
        data.usage = Some(map(json!({"prompt_tokens": 0})));
        let end = span_end(&data.into(), None, None);
        assert_eq!(
            attribute(&end.attributes, "gen_ai.usage.input_tokens"),
            None
        );
    }

    #[test]
    fn errors_become_error_statuses_with_pythons_rendering_of_the_data() {
        let error = SpanError::new("Max turns exceeded").with_data(map(json!({"max_turns": 2})));
        assert_eq!(
            status(Some(&error)),
            Status::error("Max turns exceeded: {'max_turns': 2}")
        );
        assert_eq!(
            status(Some(&SpanError::new("boom"))),
            Status::error("boom: None")
        );
        assert_eq!(status(None), Status::Ok);
    }

    #[test]
    fn model_settings_and_base_urls_become_request_and_server_attributes() {
        let mut data = GenerationSpanData::new();
        data.model_config = Some(map(json!({
            "temperature": 0.5, "max_tokens": 10, "top_p": null,
            "base_url": "https://Example.com:8443/v1"
        })));
        let attrs = span_end(&data.into(), None, None).attributes;
        assert_eq!(
            attribute(&attrs, "gen_ai.request.temperature"),
            Some(&OtelValue::F64(0.5))
        );
        assert_eq!(
            attribute(&attrs, "gen_ai.request.max_tokens"),
            Some(&OtelValue::I64(10))
        );
        assert_eq!(attribute(&attrs, "gen_ai.request.top_p"), None);
        assert_eq!(
            attribute(&attrs, "server.address"),
            Some(&OtelValue::from("example.com"))
        );
        assert_eq!(
            attribute(&attrs, "server.port"),
            Some(&OtelValue::I64(8443))
        );
    }

    #[test]
    fn base_urls_parse_like_urllib() {
        assert_eq!(host_and_port("http://[::1]/v1"), Some(("::1".into(), None)));
        assert_eq!(
            host_and_port("http://[::1]:8080/v1"),
            Some(("::1".into(), Some(8080)))
        );
        assert_eq!(
            host_and_port("https://user@Host.example:443"),
            Some(("host.example".into(), Some(443)))
        );
        let mut data = GenerationSpanData::new();
        data.model_config = Some(map(json!({"base_url": "http://localhost:0"})));
        let attrs = span_end(&data.into(), None, None).attributes;
        // `if parsed.port:` skips port 0: the default port stays.
        assert_eq!(attribute(&attrs, "server.port"), Some(&OtelValue::I64(443)));
    }

    #[test]
    fn agents_carry_the_model_their_generations_reported() {
        let attrs = span_end(&AgentSpanData::new("A").into(), None, Some("gpt-x")).attributes;
        assert_eq!(
            attribute(&attrs, "gen_ai.request.model"),
            Some(&OtelValue::from("gpt-x"))
        );
        assert_eq!(
            attribute(&attrs, "gen_ai.agent.name"),
            Some(&OtelValue::from("A"))
        );
    }
}
