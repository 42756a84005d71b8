//! The scripted parts of a scenario, as the python driver builds them: the model (Python's
//! `agents.testing.ScriptedModel`), the tools and the structured output types.
//!
//! These are the runtime a Rust agent SDK would provide; none of it is telemetry. What the
//! Python client reports about them (spans, logs, hooks, `str()` of results) comes from
//! `codex-telemetry`.

use std::collections::VecDeque;

use codex_telemetry::lifecycle::{
    FailureHandler, Item, ModelResponse, ToolGuardrail, ToolGuardrailDecision, ToolInfo,
    default_handoff_tool_name,
};
use codex_telemetry::pyrepr::python_repr;
use codex_telemetry::usage::Usage;
use codex_telemetry::{CallModelError, CallToolError, JsonMap};
use indexmap::IndexMap;
use serde_json::Value;

use crate::scenario::exceptions::ScriptedException;
use crate::scenario::schema::{
    FailureErrorFunction, FieldType, GuardrailSpec, ModelSpec, OutputItemSpec, OutputTypeSpec,
    ToolGuardrailBehavior, ToolSpec, UsageSpec, json_type,
};

/// One scripted model call.
#[derive(Debug, Clone)]
enum Step {
    Respond(ModelResponse),
    Fail(CallModelError),
}

/// Python's `ScriptedModel`: one model shared by every agent of the scenario, consuming
/// one step per call, across runs.
#[derive(Debug)]
pub(crate) struct ScriptedModel {
    steps: VecDeque<Step>,
    calls: usize,
    generation_spans: bool,
}

impl ScriptedModel {
    pub(crate) fn new(spec: &ModelSpec) -> Self {
        // Default call ids number every call item of the script, from 1 (one numbering, the
        // scenario's).
        let call_ids = spec.call_ids();
        let steps = spec
            .steps
            .iter()
            .zip(&call_ids)
            .map(|(step, call_ids)| {
                if let Some(error) = &step.error {
                    // The real classes the python driver raises behave alike except for the
                    // client's ModelBehaviorError (scenario/exceptions.rs).
                    return Step::Fail(if ScriptedException::is_model_behavior(&error.name) {
                        CallModelError::model_behavior(error.message.clone())
                    } else {
                        CallModelError::new(error.name.clone(), error.message.clone())
                    });
                }
                let output = step
                    .output
                    .iter()
                    .zip(call_ids)
                    .map(|(item, call_id)| output_item(item, call_id.as_deref()))
                    .collect();
                Step::Respond(
                    ModelResponse::new(output).with_usage(step_usage(step.usage.as_ref())),
                )
            })
            .collect();
        Self {
            steps,
            calls: 0,
            generation_spans: spec.generation_spans,
        }
    }

    /// Whether calls record generation spans (`emit_traces`).
    pub(crate) fn generation_spans(&self) -> bool {
        self.generation_spans
    }

    /// The next step's response, or its error; `UnexpectedModelCall` once the script is
    /// exhausted.
    pub(crate) fn call(&mut self, streamed: bool) -> Result<ModelResponse, CallModelError> {
        self.calls += 1;
        match self.steps.pop_front() {
            Some(Step::Respond(response)) => Ok(response),
            Some(Step::Fail(error)) => Err(error),
            None => {
                let mode = if streamed {
                    "streaming"
                } else {
                    "non-streaming"
                };
                Err(CallModelError::new(
                    "UnexpectedModelCall",
                    format!(
                        "Unexpected {mode} model call #{}: no scripted steps remain.",
                        self.calls
                    ),
                ))
            }
        }
    }
}

/// `ScriptedModel`'s usage: the step's, or `Usage(requests=1)` when it has none or it equals
/// `Usage()`.
fn step_usage(spec: Option<&UsageSpec>) -> Usage {
    let usage = spec.map_or_else(Usage::default, |spec| Usage {
        requests: spec.requests.into(),
        input_tokens: spec.input_tokens.into(),
        output_tokens: spec.output_tokens.into(),
        total_tokens: spec.total_tokens.into(),
        cached_input_tokens: spec.cached_input_tokens.into(),
        cache_write_input_tokens: spec.cache_write_input_tokens.into(),
        reasoning_tokens: spec.reasoning_tokens.into(),
    });
    if usage.is_zero() {
        Usage {
            requests: 1,
            ..Usage::default()
        }
    } else {
        usage
    }
}

/// Python's default name of an agent as a tool: its name made a function name (the rule of
/// handoff tool names, without their prefix).
pub(crate) fn agent_tool_name(agent: &str) -> String {
    let name = default_handoff_tool_name(agent);
    name.strip_prefix("transfer_to_")
        .unwrap_or(&name)
        .to_owned()
}

/// `assistant_message(text)` or `function_call(name, arguments, call_id=…)`; a handoff is a
/// call of the SDK's handoff tool for the target. `call_id` is the item's, from
/// [`ModelSpec::call_ids`] (`None` for a message).
fn output_item(item: &OutputItemSpec, call_id: Option<&str>) -> Item {
    if let Some(text) = &item.message {
        return Item::assistant_message(text.clone());
    }
    let call_id = call_id.unwrap_or_default().to_owned();
    let name = if let Some(target) = &item.handoff {
        default_handoff_tool_name(target)
    } else if let Some(target) = &item.agent_tool_call {
        agent_tool_name(target)
    } else {
        // Validation guarantees exactly one kind per item.
        item.tool_call
            .clone()
            .or_else(|| item.missing_tool_call.clone())
            .unwrap_or_default()
    };
    Item::function_call(name, call_id, call_arguments(item))
}

/// The raw arguments text: `raw_arguments`, or `arguments` as Python's
/// `json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))`.
fn call_arguments(item: &OutputItemSpec) -> String {
    if let Some(raw) = &item.raw_arguments {
        return raw.clone();
    }
    let arguments: JsonMap = item
        .arguments
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    python_json_dumps(&Value::Object(arguments))
}

/// Python's compact `json.dumps(value, ensure_ascii=False, separators=(",", ":"))`: like
/// `serde_json`, except that floats are written with Python's `repr` (`1e+16`).
fn python_json_dumps(value: &Value) -> String {
    match value {
        Value::Number(number) if number.is_f64() => python_repr(value),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_json_dumps).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .map(|(key, value)| {
                    format!(
                        "{}:{}",
                        Value::String(key.clone()),
                        python_json_dumps(value)
                    )
                })
                .collect();
            format!("{{{}}}", members.join(","))
        }
        other => other.to_string(),
    }
}

// === tools ===

/// The tool's `failure_error_function`, as the python driver builds it.
fn failure_handler(spec: &ToolSpec) -> FailureHandler {
    match (&spec.failure_error_function, &spec.failure_message) {
        (Some(FailureErrorFunction::None), _) => FailureHandler::None,
        (_, Some(template)) => {
            let template = template.clone();
            FailureHandler::custom(move |error| template.replace("{error}", error))
        }
        _ => FailureHandler::Default,
    }
}

/// A scenario tool: returns its value or fails with its message.
#[derive(Debug, Clone)]
pub(crate) struct ScriptedTool {
    info: ToolInfo,
    parameters: IndexMap<String, FieldType>,
    returns: Option<Value>,
    raises: Option<String>,
}

impl ScriptedTool {
    pub(crate) fn new(spec: &ToolSpec, guardrails: &[GuardrailSpec]) -> Self {
        let guardrail = |name: &String| {
            let decision = guardrails.iter().find(|g| &g.name == name).map_or(
                ToolGuardrailDecision::Allow,
                |g| match g.behavior {
                    Some(ToolGuardrailBehavior::RejectContent) => {
                        ToolGuardrailDecision::RejectContent(g.message.clone().unwrap_or_default())
                    }
                    Some(ToolGuardrailBehavior::RaiseException) => {
                        ToolGuardrailDecision::RaiseException
                    }
                    _ => ToolGuardrailDecision::Allow,
                },
            );
            ToolGuardrail::new(move |_| decision.clone())
        };
        let mut info = ToolInfo::new(spec.name.clone())
            // The python driver's signature lists the parameters in the scenario's order.
            .with_parameters(spec.parameters.keys().cloned())
            .with_failure_handler(failure_handler(spec));
        for name in &spec.input_guardrails {
            info = info.with_input_guardrail(guardrail(name));
        }
        for name in &spec.output_guardrails {
            info = info.with_output_guardrail(guardrail(name));
        }
        Self {
            info,
            parameters: spec.parameters.clone(),
            returns: spec.returns.clone(),
            raises: spec.raises.clone(),
        }
    }

    pub(crate) fn info(&self) -> &ToolInfo {
        &self.info
    }

    pub(crate) fn call(&self) -> Result<Value, CallToolError> {
        match (&self.raises, &self.returns) {
            (Some(message), _) => Err(CallToolError::new(message.clone())),
            (None, Some(value)) => Ok(value.clone()),
            (None, None) => Ok(Value::Null),
        }
    }

    /// Why arguments that parse as a JSON object cannot be reproduced here, if they
    /// cannot: Python validates them with pydantic, whose coercions and type errors this
    /// subject does not model (missing parameters it does: the library's validation).
    pub(crate) fn unsupported_arguments(
        &self,
        arguments: &JsonMap,
        logs_tool_data: bool,
    ) -> Option<String> {
        for (name, field) in &self.parameters {
            if let Some(value) = arguments.get(name)
                && !field_matches(*field, value)
            {
                return Some(format!(
                    "tool `{}` called with a {} for parameter `{name}` of type {field:?} (pydantic coercion is not modelled)",
                    self.info.name(),
                    json_type(value)
                ));
            }
        }
        if self.missing_parameter(arguments).is_some() {
            // Validation fails before the tool is called: no argument is logged.
            return None;
        }
        for (name, field) in &self.parameters {
            if logs_tool_data && *field == FieldType::Number && !arguments[name].is_f64() {
                return Some(format!(
                    "tool `{}` called with an integer for number parameter `{name}` while tool data is logged (Python logs it as a float)",
                    self.info.name()
                ));
            }
        }
        // Keys the tool does not declare are ignored, as pydantic ignores extra arguments.
        None
    }

    /// The first declared parameter `arguments` lacks.
    pub(crate) fn missing_parameter(&self, arguments: &JsonMap) -> Option<&str> {
        self.parameters
            .keys()
            .map(String::as_str)
            .find(|name| !arguments.contains_key(*name))
    }
}

fn field_matches(field: FieldType, value: &Value) -> bool {
    match field {
        FieldType::String => value.is_string(),
        FieldType::Integer => value.is_i64() || value.is_u64(),
        FieldType::Number => value.is_number(),
        FieldType::Boolean => value.is_boolean(),
    }
}

// === structured output ===

/// Validates a final answer against a structured output type as the python driver's
/// pydantic model does in strict JSON mode, and returns `model_dump(mode="json")`: the
/// declared fields in declaration order (numbers as floats), extra keys dropped.
pub(crate) fn validate_output(spec: &OutputTypeSpec, text: &str) -> Result<Value, String> {
    let parsed: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(object) = parsed else {
        return Err("not a JSON object".into());
    };
    let mut output = JsonMap::new();
    for (name, field) in &spec.fields {
        let value = object
            .get(name)
            .ok_or_else(|| format!("field `{name}` missing"))?;
        if !field_matches(*field, value) {
            return Err(format!("field `{name}` is not a {field:?}"));
        }
        // pydantic dumps a `float` field as a float even when the JSON had an integer.
        let value = match (field, value) {
            (FieldType::Number, Value::Number(n)) => n
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("field `{name}` is not a finite number"))?,
            _ => value.clone(),
        };
        output.insert(name.clone(), value);
    }
    Ok(Value::Object(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_defaults_to_one_request() {
        assert_eq!(step_usage(None).requests, 1);
        assert_eq!(step_usage(Some(&UsageSpec::default())).requests, 1);
        let usage = step_usage(Some(&UsageSpec {
            input_tokens: 3,
            ..UsageSpec::default()
        }));
        assert_eq!((usage.requests, usage.input_tokens), (0, 3));
    }

    #[test]
    fn arguments_are_dumped_like_python() {
        assert_eq!(
            python_json_dumps(&json!({"b": [1, 1.5, 1e16], "a": "é\n", "c": null})),
            r#"{"b":[1,1.5,1e+16],"a":"é\n","c":null}"#
        );
    }

    #[test]
    fn structured_output_is_strict() {
        let spec = OutputTypeSpec {
            name: "Weather".into(),
            fields: IndexMap::from([
                ("city".into(), FieldType::String),
                ("temp".into(), FieldType::Number),
                ("n".into(), FieldType::Integer),
            ]),
        };
        assert_eq!(
            validate_output(&spec, r#"{"n": 1, "temp": 21, "city": "Paris", "x": true}"#).unwrap(),
            json!({"city": "Paris", "n": 1, "temp": 21.0})
        );
        assert!(validate_output(&spec, r#"{"n": 1.0, "temp": 21, "city": "Paris"}"#).is_err());
        assert!(validate_output(&spec, r#"{"n": "1", "temp": 21, "city": "Paris"}"#).is_err());
        assert!(validate_output(&spec, "not json").is_err());
    }
}
