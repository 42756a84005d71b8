//! A [`Shape`] to a [`ScenarioFile`]: everything but the model script ([`super::script`]).
//!
//! Combinations the language forbids are resolved here, by dropping the later of two clashing
//! settings (copies before repeat, an agent tool that can reach a tool needing approval, …), so
//! every generated file is one the loader accepts.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use parity::scenario::schema::{
    ActionSpec, AgentSpec, FailureErrorFunction, FieldType, GuardrailKind, GuardrailSpec,
    McpServerSpec, McpToolSpec, ModelSpec, NeedsApproval, OnError, OutputTypeSpec, RunSpec,
    ScenarioFile, ToolGuardrailBehavior, ToolSpec, ToolUseBehavior, UserTraceSpec,
};
use serde_json::{Value, json};

use super::script;
use super::shape::{Action, Approval, Behavior, GuardBehavior, Handler, Shape, TraceShape};

pub fn agent_name(i: usize) -> String {
    ["triage", "billing", "Support Agent", "weather"][i].to_owned()
}

pub fn tool_name(i: usize) -> String {
    ["get_weather", "lookup_order", "send_mail"][i].to_owned()
}

fn server_name(i: usize) -> String {
    ["files", "web"][i].to_owned()
}

fn mcp_tool_name(server: usize, tool: usize) -> String {
    [["read_file", "list_dir"], ["search_docs", "fetch_page"]][server][tool].to_owned()
}

/// The indices below `n` whose bit is set in `mask`.
pub fn picked(mask: u8, n: usize) -> Vec<usize> {
    (0..n.min(8)).filter(|i| mask & (1 << i) != 0).collect()
}

/// The scenario a shape describes.
pub fn scenario(shape: &Shape) -> ScenarioFile {
    let mut spec = ScenarioFile {
        run: run(shape),
        env: env(shape),
        agents: agents(shape),
        tools: tools(shape),
        guardrails: guardrails(shape),
        mcp_servers: mcp_servers(shape),
        model: ModelSpec {
            generation_spans: shape.generation_spans,
            steps: Vec::new(),
        },
        trace: shape.trace.as_ref().map(user_trace),
    };
    resolve_run_clashes(&mut spec);
    drop_nested_approvals(&mut spec, shape.keep_agent_tools);
    let runs = runs(&spec);
    let (steps, resume) = script::script(&spec, shape, &runs);
    spec.model.steps = steps;
    spec.run.resume = resume;
    spec
}

fn run(shape: &Shape) -> RunSpec {
    let r = &shape.run;
    let (workflow_name, group_id, trace_metadata) = match &r.workflow {
        Some((name, group, metadata)) => (
            Some(name.clone()),
            group.clone(),
            metadata.then(|| BTreeMap::from([("tenant".to_owned(), json!("acme"))])),
        ),
        None => (None, None, None),
    };
    RunSpec {
        agent: agent_name(r.start % shape.agents.len()),
        input: [
            "Hello there.",
            "What is the weather in Paris?",
            "Zürich, bitte.",
        ][r.input]
            .into(),
        streamed: r.streamed,
        // Only a streamed run has events to leave unread.
        drain: r.drain || !r.streamed,
        copies: r.copies,
        repeat: r.repeat,
        trace_id: r.trace_id.clone(),
        // Concurrent copies do not share a session: the loader refuses it (thread timing).
        session: r.session && r.copies == 1,
        max_turns: r.max_turns,
        workflow_name,
        group_id,
        trace_metadata,
        trace_include_sensitive_data: r.sensitive,
        tracing_disabled: r.tracing_disabled,
        include_task_and_turn_spans: r.task_and_turn_spans,
        resume: Vec::new(),
    }
}

fn env(shape: &Shape) -> BTreeMap<String, String> {
    let e = &shape.env;
    let flag = |on: bool| if on { "1" } else { "0" }.to_owned();
    let mut env = BTreeMap::new();
    let switches = [
        ("OPENAI_AGENTS_DONT_LOG_TOOL_DATA", e.dont_log_tool_data),
        ("OPENAI_AGENTS_DONT_LOG_MODEL_DATA", e.dont_log_model_data),
        ("OPENAI_AGENTS_DISABLE_TRACING", e.disable_tracing),
        ("OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA", e.sensitive),
    ];
    for (name, value) in switches {
        if let Some(on) = value {
            env.insert(name.to_owned(), flag(on));
        }
    }
    if e.harness_id {
        env.insert("OPENAI_AGENT_HARNESS_ID".to_owned(), "generated".to_owned());
    }
    env
}

fn agents(shape: &Shape) -> Vec<AgentSpec> {
    let n = shape.agents.len();
    let start = shape.run.start % n;
    let others = |me: usize, mask: u8| -> Vec<String> {
        picked(mask, n)
            .into_iter()
            .filter(|a| *a != me)
            .map(agent_name)
            .collect()
    };
    shape
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let tools: Vec<String> = picked(a.tools, shape.tools.len())
                .into_iter()
                .map(tool_name)
                .collect();
            let (tool_use_behavior, stop_at_tool_names, tools_final_output) = match a.behavior {
                Behavior::Default => (None, None, None),
                Behavior::RunLlmAgain => (Some(ToolUseBehavior::RunLlmAgain), None, None),
                Behavior::StopOnFirstTool => (Some(ToolUseBehavior::StopOnFirstTool), None, None),
                Behavior::StopAt(mask) => (
                    None,
                    Some(
                        picked(mask, tools.len())
                            .into_iter()
                            .map(|t| tools[t].clone())
                            .collect(),
                    ),
                    None,
                ),
                Behavior::ToolsFinalOutput => (None, None, Some("Stopped after the tools.".into())),
            };
            AgentSpec {
                name: agent_name(i),
                instructions: a
                    .instructions
                    .then(|| format!("You are {}.", agent_name(i))),
                tools,
                handoffs: others(i, a.handoffs),
                output_type: a.structured.map(|wide| OutputTypeSpec {
                    name: if wide { "Forecast" } else { "Answer" }.into(),
                    fields: structured_fields(wide),
                }),
                // Input guardrails run for the starting agent only.
                input_guardrails: if shape.guardrails.input.is_some() && i == start {
                    vec!["input_check".into()]
                } else {
                    vec![]
                },
                output_guardrails: if shape.guardrails.output.is_some() && a.output_guardrail {
                    vec!["output_check".into()]
                } else {
                    vec![]
                },
                agent_tools: others(i, a.agent_tools),
                mcp_servers: picked(a.mcp_servers, shape.mcp.len())
                    .into_iter()
                    .map(server_name)
                    .collect(),
                tool_use_behavior,
                stop_at_tool_names,
                tools_final_output,
            }
        })
        .collect()
}

pub fn structured_fields(wide: bool) -> IndexMap<String, FieldType> {
    let mut fields = IndexMap::from([
        ("city".into(), FieldType::String),
        ("ok".into(), FieldType::Boolean),
    ]);
    if wide {
        fields.insert("degrees".into(), FieldType::Number);
        fields.insert("days".into(), FieldType::Integer);
    }
    fields
}

fn tools(shape: &Shape) -> Vec<ToolSpec> {
    shape
        .tools
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let name = tool_name(i);
            let needs_approval = match t.approval {
                Approval::Unset => None,
                Approval::Always(on) => Some(NeedsApproval::Always(on)),
                Approval::PerCall(mask) => Some(NeedsApproval::CallIds(
                    picked(mask, 8)
                        .into_iter()
                        .map(|n| {
                            // Default ids and the explicit ones of `custom_call_ids`.
                            if n % 4 == 3 {
                                format!("fc_{}", n + 1)
                            } else {
                                format!("call_{}", n + 1)
                            }
                        })
                        .collect(),
                )),
            };
            // A tool that needs approval gets no tool guardrails: the rust subject refuses the
            // combination (capabilities.rs), so generating it would only add refusals.
            let asks = needs_approval.as_ref().is_some_and(NeedsApproval::may_ask);
            let guard = |g: Option<GuardBehavior>, prefix: &str| {
                g.filter(|_| !asks)
                    .map(|_| vec![format!("{prefix}_{name}")])
                    .unwrap_or_default()
            };
            ToolSpec {
                name: name.clone(),
                description: t.description.then(|| format!("Calls {name}.")),
                parameters: t
                    .parameter
                    .map(|f| IndexMap::from([("x".to_owned(), f)]))
                    .unwrap_or_default(),
                returns: (!t.raises).then(|| returned_value(&name, t.returns)),
                raises: t.raises.then(|| format!("{name} is down")),
                failure_error_function: match t.handler {
                    Handler::Named(f) => Some(f),
                    _ => None,
                },
                failure_message: matches!(t.handler, Handler::Message)
                    .then(|| "The tool failed: {error}".into()),
                input_guardrails: guard(t.input_guardrail, "tin"),
                output_guardrails: guard(t.output_guardrail, "tout"),
                needs_approval,
                sync: t.sync,
            }
        })
        .collect()
}

fn returned_value(name: &str, kind: u8) -> Value {
    match kind % 4 {
        0 => json!(format!("result of {name}")),
        1 => json!(21.5),
        2 => json!({"status": "ok", "items": [1, 2]}),
        _ => json!(true),
    }
}

fn guardrails(shape: &Shape) -> Vec<GuardrailSpec> {
    let plain = |name: &str, kind, tripwire, run_in_parallel| GuardrailSpec {
        name: name.into(),
        kind,
        tripwire,
        run_in_parallel,
        behavior: None,
        message: None,
    };
    let mut guardrails = Vec::new();
    if let Some((trips, parallel)) = shape.guardrails.input {
        guardrails.push(plain("input_check", GuardrailKind::Input, trips, parallel));
    }
    if let Some(trips) = shape.guardrails.output {
        guardrails.push(plain("output_check", GuardrailKind::Output, trips, None));
    }
    for (i, t) in shape.tools.iter().enumerate() {
        let kinds = [
            (t.input_guardrail, "tin", GuardrailKind::ToolInput),
            (t.output_guardrail, "tout", GuardrailKind::ToolOutput),
        ];
        for (behavior, prefix, kind) in kinds {
            let Some(behavior) = behavior else { continue };
            let behavior = match behavior {
                GuardBehavior::Allow => ToolGuardrailBehavior::Allow,
                GuardBehavior::RejectContent => ToolGuardrailBehavior::RejectContent,
                GuardBehavior::RaiseException => ToolGuardrailBehavior::RaiseException,
            };
            guardrails.push(GuardrailSpec {
                message: (behavior == ToolGuardrailBehavior::RejectContent)
                    .then(|| "Blocked by policy.".into()),
                behavior: Some(behavior),
                ..plain(&format!("{prefix}_{}", tool_name(i)), kind, false, None)
            });
        }
    }
    // Guardrails of tools that lost them (approval) are unused, which the loader allows.
    guardrails
}

fn mcp_servers(shape: &Shape) -> Vec<McpServerSpec> {
    shape
        .mcp
        .iter()
        .enumerate()
        .map(|(s, server)| {
            let tools: Vec<McpToolSpec> = server
                .tools
                .iter()
                .enumerate()
                .map(|(t, tool)| McpToolSpec {
                    name: mcp_tool_name(s, t),
                    description: tool.description.then(|| "A scripted MCP tool.".into()),
                    parameters: tool
                        .parameter
                        .map(|f| IndexMap::from([("x".to_owned(), f)]))
                        .unwrap_or_default(),
                    content: if tool.error {
                        Vec::new()
                    } else {
                        (0..tool.content).map(|k| format!("line {k}")).collect()
                    },
                    is_error: tool.is_error && !tool.error,
                    error: tool.error.then(|| "the server failed".into()),
                })
                .collect();
            McpServerSpec {
                name: server_name(s),
                allowed_tools: server.allowed.map(|mask| {
                    picked(mask, tools.len())
                        .into_iter()
                        .map(|t| tools[t].name.clone())
                        .collect()
                }),
                failure_error_function: server.handler,
                tools,
            }
        })
        .collect()
}

fn user_trace(trace: &TraceShape) -> UserTraceSpec {
    UserTraceSpec {
        workflow_name: if trace.group {
            "Generated workflow"
        } else {
            "Nightly job"
        }
        .into(),
        group_id: trace.group.then(|| "group-1".into()),
        metadata: trace
            .metadata
            .then(|| BTreeMap::from([("case".to_owned(), json!("generated"))])),
        disabled: trace.disabled,
        body: actions(&trace.body, 0),
    }
}

fn actions(body: &[Action], depth: usize) -> Vec<ActionSpec> {
    body.iter()
        .enumerate()
        .map(|(i, action)| match action {
            Action::Run(on_error) => ActionSpec {
                run: Some(true),
                on_error: *on_error,
                ..empty_action()
            },
            Action::Span(data, inner) => ActionSpec {
                custom_span: Some(format!("span_{depth}_{i}")),
                data: data.then(|| BTreeMap::from([("step".to_owned(), json!(depth + i))])),
                body: actions(inner, depth + 1),
                ..empty_action()
            },
        })
        .collect()
}

pub fn empty_action() -> ActionSpec {
    ActionSpec {
        run: None,
        custom_span: None,
        data: None,
        body: Vec::new(),
        on_error: None,
    }
}

/// What each run does when it raises, in order: the user trace's `{ run = true }` actions, or
/// `repeat` runs.
pub fn runs(spec: &ScenarioFile) -> Vec<OnError> {
    fn collect(actions: &[ActionSpec], out: &mut Vec<OnError>) {
        for action in actions {
            if action.run == Some(true) {
                out.push(action.on_error.unwrap_or(OnError::Stop));
            }
            collect(&action.body, out);
        }
    }
    match &spec.trace {
        Some(trace) => {
            let mut out = Vec::new();
            collect(&trace.body, &mut out);
            out
        }
        None => vec![OnError::Stop; spec.run.repeat as usize],
    }
}

/// `copies`, `repeat` and `trace_id` rules of the loader (validate.rs `check_run`,
/// `check_repeat`): the clashing setting is dropped.
fn resolve_run_clashes(spec: &mut ScenarioFile) {
    let run_actions = runs(spec).len();
    let run = &mut spec.run;
    if let Some(trace) = &spec.trace
        && run.copies > 1
        && (trace.disabled
            || run.tracing_disabled == Some(true)
            || run.include_task_and_turn_spans == Some(false)
            || run_actions != 1)
    {
        run.copies = 1;
    }
    if run.repeat > 1 && (spec.trace.is_some() || run.copies > 1) {
        run.repeat = 1;
    }
    if run.repeat > 1 || (run.copies > 1 && spec.trace.is_none()) {
        run.trace_id = None;
    }
}

/// An agent called as a tool may not reach a tool that needs approval (the nested run's
/// interruption cannot be resumed): such agent tools are dropped, or (`keep_agent_tools`) the
/// approval of the tools they reach.
fn drop_nested_approvals(spec: &mut ScenarioFile, keep_agent_tools: bool) {
    let asks: Vec<String> = spec
        .tools
        .iter()
        .filter(|t| {
            t.needs_approval
                .as_ref()
                .is_some_and(NeedsApproval::may_ask)
        })
        .map(|t| t.name.clone())
        .collect();
    // The approval tools an agent tool's run can reach.
    let reached = |start: &str| -> Vec<String> {
        let mut found = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        let mut queue = vec![start];
        while let Some(name) = queue.pop() {
            let Some(agent) = spec.agents.iter().find(|a| a.name == name) else {
                continue;
            };
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            found.extend(agent.tools.iter().filter(|t| asks.contains(t)).cloned());
            queue.extend(agent.handoffs.iter().map(String::as_str));
            queue.extend(agent.agent_tools.iter().map(String::as_str));
        }
        found
    };
    if keep_agent_tools {
        let reached: Vec<String> = spec
            .agents
            .iter()
            .flat_map(|a| a.agent_tools.iter().flat_map(|t| reached(t)))
            .collect();
        for tool in spec.tools.iter_mut().filter(|t| reached.contains(&t.name)) {
            tool.needs_approval = None;
        }
        return;
    }
    let keep: Vec<Vec<String>> = spec
        .agents
        .iter()
        .map(|a| {
            a.agent_tools
                .iter()
                .filter(|t| reached(t).is_empty())
                .cloned()
                .collect()
        })
        .collect();
    for (agent, kept) in spec.agents.iter_mut().zip(keep) {
        agent.agent_tools = kept;
    }
}

/// Whether a call of this tool can end the run when it runs: it raises without a handler, or
/// one of its guardrails raises.
pub fn ends_run(spec: &ScenarioFile, tool: &ToolSpec) -> bool {
    tool.raises_unhandled() || spec.tool_guardrails_raise(tool)
}

/// `FailureErrorFunction::None` on an MCP server makes an error answer end the run.
pub fn mcp_ends_run(server: &McpServerSpec, tool: &McpToolSpec) -> bool {
    tool.error.is_some() && server.failure_error_function == Some(FailureErrorFunction::None)
}
