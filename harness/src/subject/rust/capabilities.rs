//! What the rust subject can express, declared once, from the scenario alone.
//!
//! [`check`] is the subject's declaration of its capabilities: a scenario that uses something
//! the subject knows it cannot reproduce faithfully is refused before anything runs, with the
//! reason ([`Unsupported`]). The runner asks once per cell, when it plans the run
//! (`SubjectKind::supports`); the subject's own entry points ask once before they run. Nothing
//! inside a run re-validates the scenario: the driver reports only what depends on how the run
//! went (`drive.rs`).

use std::collections::BTreeMap;

use codex_telemetry::JsonMap;
use codex_telemetry::config::EnvConfig;
use serde_json::Value;

use super::script::ScriptedTool;
use crate::scenario::Scenario;
use crate::scenario::mcp;
use crate::scenario::schema::{NeedsApproval, ScenarioFile};

/// Something the scenario does that this subject cannot reproduce faithfully.
#[derive(Debug)]
pub(crate) struct Unsupported(pub(crate) String);

/// Rejects, before running, what the subject knows it cannot reproduce; `env` is the
/// scenario's environment (its `[env]` over the process environment).
pub(crate) fn check(scenario: &Scenario, env: &EnvConfig) -> Result<(), Unsupported> {
    let spec = &scenario.spec;
    check_mcp_arguments(spec)?;
    check_approval_guardrails(spec)?;
    check_copies(spec, env)?;
    check_call_ids(spec)?;
    check_agent_tools(spec)?;
    check_tool_calls(scenario, env)
}

/// Raw arguments go to function tools only.
fn check_mcp_arguments(spec: &ScenarioFile) -> Result<(), Unsupported> {
    let mcp_names = mcp::all_tool_names(spec);
    if let Some((i, _)) = spec.model.steps.iter().enumerate().find(|(_, step)| {
        step.output.iter().any(|item| {
            item.raw_arguments.is_some()
                && item
                    .tool_call
                    .as_deref()
                    .is_some_and(|t| mcp_names.contains(t))
        })
    }) {
        return Err(Unsupported(format!(
            "model.steps[{i}]: raw arguments for an MCP tool: how the client's MCP invoker reports them is not modelled"
        )));
    }
    Ok(())
}

/// A tool that needs approval may not have tool guardrails.
fn check_approval_guardrails(spec: &ScenarioFile) -> Result<(), Unsupported> {
    if let Some(tool) = spec.tools.iter().find(|tool| {
        tool.needs_approval.as_ref().is_some_and(|n| n.may_ask())
            && !(tool.input_guardrails.is_empty() && tool.output_guardrails.is_empty())
    }) {
        return Err(Unsupported(format!(
            "tool {:?} needs approval and has tool guardrails: where the client checks them around the approval is not modelled",
            tool.name
        )));
    }
    Ok(())
}

/// Concurrent copies need traces.
fn check_copies(spec: &ScenarioFile, env: &EnvConfig) -> Result<(), Unsupported> {
    if spec.run.copies > 1 && (spec.run.tracing_disabled == Some(true) || env.tracing_disabled()) {
        // Without traces the normalizer cannot group the copies' records, and the order in
        // which concurrent threads log is not Python's asyncio interleaving.
        return Err(Unsupported(
            "concurrent copies of a run with tracing disabled: their untraced log lines interleave by thread scheduling".into(),
        ));
    }
    Ok(())
}

/// Call ids as the python driver numbers them ([`ModelSpec::call_ids`]); one reused in a later
/// step meets Python's record of completed invocations, which the library does not model.
///
/// [`ModelSpec::call_ids`]: crate::scenario::schema::ModelSpec::call_ids
fn check_call_ids(spec: &ScenarioFile) -> Result<(), Unsupported> {
    let mut step_of_id: BTreeMap<&str, usize> = BTreeMap::new();
    let call_ids = spec.model.call_ids();
    for (i, ids) in call_ids.iter().enumerate() {
        for id in ids.iter().flatten() {
            if let Some(first) = step_of_id.insert(id, i)
                && first != i
            {
                return Err(Unsupported(format!(
                    "model.steps[{i}]: call id {id:?} was already used in model.steps[{first}]; a call id reused across turns meets Python's record of completed tool calls, which the library does not model"
                )));
            }
        }
    }
    Ok(())
}

/// An agent called as a tool beside other tool calls: one agent tool, beside plain function
/// calls only, whose tasks' timing next to a nested run is modelled (`NestedPoint` in
/// drive.rs): they settle during the nested run's first turn.
fn check_agent_tools(spec: &ScenarioFile) -> Result<(), Unsupported> {
    let mcp_names = mcp::all_tool_names(spec);
    for (i, step) in spec.model.steps.iter().enumerate() {
        let agent_tools: Vec<&str> = step
            .output
            .iter()
            .filter_map(|item| item.agent_tool_call.as_deref())
            .collect();
        let calls: Vec<&str> = step
            .output
            .iter()
            .filter_map(|item| item.tool_call.as_deref())
            .collect();
        if let Some(j) = step.output.iter().position(|item| {
            item.agent_tool_call.is_some()
                && (item.raw_arguments.is_some()
                    || !item
                        .arguments
                        .as_ref()
                        .is_some_and(|a| a.get("input").is_some_and(serde_json::Value::is_string)))
        }) {
            // The client validates `input: str` of the agent's tool function.
            return Err(Unsupported(format!(
                "model.steps[{i}].output[{j}]: an agent tool called without a string `input`: the client's validation of its arguments is not modelled"
            )));
        }
        let Some(target) = agent_tools.first() else {
            continue;
        };
        if calls.is_empty() && agent_tools.len() == 1 {
            // Messages and handoffs beside it are no tasks: a handoff runs once it is done.
            continue;
        }
        let refuse = |feature: &str, why: &str| {
            Err(Unsupported(format!("model.steps[{i}]: {feature}: {why}")))
        };
        if agent_tools.len() > 1 {
            return refuse(
                "two agent tools called in one response",
                "two nested runs interleave at every await, which is not modelled",
            );
        }
        let nested = spec.agents.iter().find(|a| &a.name == target);
        if nested.is_some_and(|a| !a.input_guardrails.is_empty() || !a.mcp_servers.is_empty()) {
            return refuse(
                "an agent tool whose agent has input guardrails or MCP servers, beside other tool calls",
                "they move the nested run's first awaits, which is not modelled",
            );
        }
        for (item, name) in step
            .output
            .iter()
            .filter_map(|item| Some((item, item.tool_call.as_deref()?)))
        {
            let plain = !mcp_names.contains(name)
                && item.raw_arguments.is_none()
                && spec.tools.iter().find(|t| t.name == name).is_some_and(|t| {
                    t.raises.is_none()
                        && t.input_guardrails.is_empty()
                        && t.output_guardrails.is_empty()
                        && !t
                            .needs_approval
                            .as_ref()
                            .is_some_and(NeedsApproval::may_ask)
                        && t.parameters
                            .keys()
                            .all(|p| item.arguments.as_ref().is_some_and(|a| a.contains_key(p)))
                });
            if !plain {
                return refuse(
                    "an agent tool beside an MCP call, or beside a function call that may fail, has guardrails, needs approval or gets arguments it cannot take",
                    "that task's timing beside a nested run is not modelled",
                );
            }
        }
    }
    Ok(())
}

/// Each call of a function tool: what runs beside it, and arguments the library's tools can
/// take as pydantic would.
fn check_tool_calls(scenario: &Scenario, env: &EnvConfig) -> Result<(), Unsupported> {
    let spec = &scenario.spec;
    let tools: BTreeMap<&str, ScriptedTool> = spec
        .tools
        .iter()
        .map(|tool| {
            (
                tool.name.as_str(),
                ScriptedTool::new(tool, &spec.guardrails),
            )
        })
        .collect();
    for (i, step) in spec.model.steps.iter().enumerate() {
        for (j, item) in step.output.iter().enumerate() {
            let Some(tool) = item.tool_call.as_deref().and_then(|name| tools.get(name)) else {
                continue;
            };
            let tool_spec = spec
                .tools
                .iter()
                .find(|t| Some(&t.name) == item.tool_call.as_ref());
            // Raw arguments that are not a JSON object take the library's invalid-input path;
            // an empty text counts as `{}`, as in Python.
            let arguments = match (&item.raw_arguments, &item.arguments) {
                (Some(raw), _) if raw.is_empty() => JsonMap::new(),
                (Some(raw), _) => match serde_json::from_str::<Value>(raw) {
                    Ok(Value::Object(arguments)) => arguments,
                    // JSON that is not an object: the library's invalid-input path.
                    Ok(_) => continue,
                    // Text Python reads that serde_json does not (`NaN`, `Infinity`, lone
                    // surrogates), or nests past Python's recursion limit: the client calls
                    // the tool, or fails another way.
                    Err(_) if codex_telemetry::pyjson::json_decode_error(raw).is_none() => {
                        return Err(Unsupported(format!(
                            "model.steps[{i}].output[{j}]: arguments Python's json reads but serde_json does not (NaN, Infinity, lone surrogates, or nesting past Python's recursion limit): the library parses them with serde_json"
                        )));
                    }
                    Err(_) => continue,
                },
                (None, arguments) => arguments.clone().unwrap_or_default().into_iter().collect(),
            };
            if let Some(parameter) = tool.missing_parameter(&arguments)
                && tool_spec
                    .is_some_and(|t| matches!(t.needs_approval, Some(NeedsApproval::CallIds(_))))
            {
                // The client validates them while it evaluates the policy, outside the
                // tool's failure handling.
                return Err(Unsupported(format!(
                    "model.steps[{i}].output[{j}]: tool `{}` with a per-call approval policy called without its parameter `{parameter}`: the client validates the arguments while evaluating the policy, which is not modelled",
                    tool.info().name()
                )));
            }
            if let Some(problem) = tool.unsupported_arguments(&arguments, !env.dont_log_tool_data())
            {
                return Err(Unsupported(format!(
                    "model.steps[{i}].output[{j}]: {problem}"
                )));
            }
        }
    }
    Ok(())
}
