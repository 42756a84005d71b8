//! Semantic validation of a parsed scenario: everything serde cannot check. References,
//! exclusive alternatives, names the client can build, scripted exceptions, resource limits, and
//! (through `walk.rs`) a script whose every step can be consumed. Each problem names its field.
//!
//! [`validate`] runs the field checks section by section, in file order (names, `[run]`,
//! `[env]`, `[[agents]]`, `[[guardrails]]`, `[[tools]]`, `[[model.steps]]`, repeats, the user
//! trace's actions), then the approval rules, then, once every reference is valid, the walk.

use std::collections::BTreeSet;

use crate::errors::Problem;

use super::approvals::check_rules as check_approval_rules;
use super::exceptions::resolve_exception;
use super::limits::{MAX_COPIES, MAX_REPEAT, MAX_STEPS, check_values};
use super::mcp;
use super::names::{field_name_problem, parameter_name_problem};
use super::quoted;
use super::schema::{
    ActionSpec, GuardrailKind, OnError, OutputItemSpec, ScenarioFile, ToolGuardrailBehavior,
};
use super::walk::check_script_is_consumable;

/// Checks everything serde cannot: references, exclusive alternatives, and a consumable script.
pub(crate) fn validate(spec: &ScenarioFile) -> Vec<Problem> {
    let mut problems = Vec::new();
    // Limits first: the checks below may quote values, which must then be short.
    check_values(
        &serde_json::to_value(spec).expect("a scenario serializes to JSON"),
        &mut problems,
    );
    if !problems.is_empty() {
        return problems;
    }
    let mut problem = |field: String, message: String| problems.push(Problem { field, message });
    let names = Names::check(spec, &mut problem);
    mcp::check_rules(spec, &mut problem);
    check_run(spec, &names, &mut problem);
    check_env(spec, &mut problem);
    check_agents(spec, &names, &mut problem);
    check_guardrails(spec, &mut problem);
    check_tools(spec, &mut problem);
    check_steps(spec, &names, &mut problem);
    check_sync_tools(spec, &mut problem);
    check_repeat(spec, &mut problem);
    let runs = runs(spec, &mut problem);
    check_approval_rules(spec, runs.len(), &mut problem);
    // The walk follows references, so it only means something once they are all valid.
    let broken = !problems.is_empty();
    if !broken {
        check_script_is_consumable(spec, &runs, &mut |field, message| {
            problems.push(Problem { field, message })
        });
    }
    problems
}

/// The names a scenario defines, each unique.
struct Names<'a> {
    agents: BTreeSet<&'a str>,
    tools: BTreeSet<&'a str>,
    /// What a `tool_call` may name: a function tool or a tool of an MCP server.
    callable: BTreeSet<&'a str>,
}

impl<'a> Names<'a> {
    /// The defined names; a name defined twice (or empty) is a problem.
    fn check(spec: &'a ScenarioFile, problem: &mut impl FnMut(String, String)) -> Self {
        let agents = unique_names(
            spec.agents.iter().map(|a| a.name.as_str()),
            "agents",
            problem,
        );
        let tools = unique_names(spec.tools.iter().map(|t| t.name.as_str()), "tools", problem);
        unique_names(
            spec.guardrails.iter().map(|g| g.name.as_str()),
            "guardrails",
            problem,
        );
        let callable: BTreeSet<&str> = tools
            .iter()
            .copied()
            .chain(mcp::all_tool_names(spec))
            .collect();
        Names {
            agents,
            tools,
            callable,
        }
    }
}

/// `[run]`: the starting agent, streaming, copies, max turns.
fn check_run(spec: &ScenarioFile, names: &Names<'_>, problem: &mut impl FnMut(String, String)) {
    let agent_names = &names.agents;
    if spec.agents.is_empty() {
        problem(
            "agents".into(),
            "define at least one [[agents]] table".into(),
        );
    }
    if !agent_names.contains(spec.run.agent.as_str()) {
        problem(
            "run.agent".into(),
            format!(
                "agent {:?} is not defined in [[agents]] (defined: {})",
                spec.run.agent,
                list(agent_names)
            ),
        );
    }
    if !spec.run.drain && !spec.run.streamed {
        problem(
            "run.drain".into(),
            "only a streamed run has events to leave unread: set `streamed = true` or remove `drain`".into(),
        );
    }
    if spec.run.copies == 0 {
        problem("run.copies".into(), "must be at least 1".into());
    }
    if spec.run.copies > MAX_COPIES {
        problem(
            "run.copies".into(),
            format!(
                "{} copies is over the limit of {MAX_COPIES} concurrent copies",
                spec.run.copies
            ),
        );
    }
    if spec.run.copies > 1 && spec.run.session {
        problem(
            "run.session".into(),
            "concurrent copies with a session: the client's SQLiteSession reads and writes in worker threads (asyncio.to_thread), so whether the copies' runs interleave follows thread timing and no transcript can be reproduced; use copies = 1, or repeat = N for runs one after another".into(),
        );
    }
    if spec.run.copies > 1
        && let Some(trace) = &spec.trace
    {
        // The normalizer tells concurrent runs in one trace apart by their task spans.
        let untraceable = if trace.disabled {
            Some("trace.disabled")
        } else if spec.run.tracing_disabled == Some(true) {
            Some("run.tracing_disabled")
        } else if spec.run.include_task_and_turn_spans == Some(false) {
            Some("run.include_task_and_turn_spans")
        } else {
            None
        };
        if let Some(field) = untraceable {
            problem(
                field.into(),
                "concurrent copies inside a user [trace] need traced runs with task spans: the normalizer orders concurrent runs of one trace by their task spans".into(),
            );
        }
    }
    if spec.run.max_turns == Some(0) {
        problem("run.max_turns".into(), "must be at least 1".into());
    }
}

/// `[env]`: variable names.
fn check_env(spec: &ScenarioFile, problem: &mut impl FnMut(String, String)) {
    for key in spec.env.keys() {
        let valid = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            problem(
                format!("env.{key}"),
                "environment variable names use letters, digits and '_' only".into(),
            );
        }
    }
}

/// `[[agents]]`: references to tools, agents and guardrails; tool-use behaviour; output types.
fn check_agents(spec: &ScenarioFile, names: &Names<'_>, problem: &mut impl FnMut(String, String)) {
    let (agent_names, tool_names) = (&names.agents, &names.tools);
    for (i, agent) in spec.agents.iter().enumerate() {
        for (j, tool) in agent.tools.iter().enumerate() {
            if !tool_names.contains(tool.as_str()) {
                problem(
                    format!("agents[{i}].tools[{j}]"),
                    format!(
                        "tool {tool:?} is not defined in [[tools]] (defined: {})",
                        list(tool_names)
                    ),
                );
            }
        }
        if agent.tools_final_output.is_some()
            && (agent.tool_use_behavior.is_some() || agent.stop_at_tool_names.is_some())
        {
            problem(
                format!("agents[{i}].tools_final_output"),
                "`tools_final_output` is a `tool_use_behavior` of its own (a function): remove `tool_use_behavior` / `stop_at_tool_names` or this field".into(),
            );
        }
        if let Some(stop_at) = &agent.stop_at_tool_names {
            if agent.tool_use_behavior.is_some() {
                problem(
                    format!("agents[{i}].stop_at_tool_names"),
                    "`stop_at_tool_names` is a `tool_use_behavior` of its own: remove `tool_use_behavior` or this field".into(),
                );
            }
            for (j, tool) in stop_at.iter().enumerate() {
                if !agent.tools.contains(tool) {
                    problem(
                        format!("agents[{i}].stop_at_tool_names[{j}]"),
                        format!(
                            "tool {tool:?} is not one of agent {:?}'s tools (the client would never stop at it); list it in `tools` or remove it",
                            agent.name
                        ),
                    );
                }
            }
        }
        let agent_lists = [
            ("agent_tools", &agent.agent_tools),
            ("handoffs", &agent.handoffs),
        ];
        for (key, targets) in agent_lists {
            for (j, target) in targets.iter().enumerate() {
                if !agent_names.contains(target.as_str()) {
                    problem(
                        format!("agents[{i}].{key}[{j}]"),
                        format!(
                            "agent {target:?} is not defined in [[agents]] (defined: {})",
                            list(agent_names)
                        ),
                    );
                }
            }
        }
        let guardrail_lists = [
            (
                "input_guardrails",
                &agent.input_guardrails,
                GuardrailKind::Input,
            ),
            (
                "output_guardrails",
                &agent.output_guardrails,
                GuardrailKind::Output,
            ),
        ];
        for (field, names, kind) in guardrail_lists {
            check_guardrail_list(spec, &format!("agents[{i}].{field}"), names, kind, problem);
        }
        if let Some(output_type) = &agent.output_type {
            if output_type.fields.is_empty() {
                problem(
                    format!("agents[{i}].output_type.fields"),
                    "define at least one field".into(),
                );
            }
            for field in output_type.fields.keys() {
                if let Some(message) = field_name_problem(field) {
                    problem(format!("agents[{i}].output_type.fields.{field}"), message);
                }
            }
        }
    }
}

/// `[[guardrails]]`: what belongs to agent guardrails and what to tool guardrails.
fn check_guardrails(spec: &ScenarioFile, problem: &mut impl FnMut(String, String)) {
    for (i, guardrail) in spec.guardrails.iter().enumerate() {
        if guardrail.run_in_parallel.is_some() && guardrail.kind != GuardrailKind::Input {
            problem(
                format!("guardrails[{i}].run_in_parallel"),
                "only input guardrails run in parallel with the model (or not); remove it".into(),
            );
        }
        let for_tools = matches!(
            guardrail.kind,
            GuardrailKind::ToolInput | GuardrailKind::ToolOutput
        );
        match (for_tools, guardrail.behavior) {
            (true, None) => problem(
                format!("guardrails[{i}]"),
                "a tool guardrail needs `behavior = \"allow\"`, `\"reject_content\"` (with `message`) or `\"raise_exception\"`".into(),
            ),
            (false, Some(_)) => problem(
                format!("guardrails[{i}].behavior"),
                "`behavior` belongs to tool guardrails; an agent guardrail trips with `tripwire = true`".into(),
            ),
            _ => {}
        }
        if for_tools && guardrail.tripwire {
            problem(
                format!("guardrails[{i}].tripwire"),
                "a tool guardrail raises with `behavior = \"raise_exception\"`, not `tripwire`"
                    .into(),
            );
        }
        let rejects = guardrail.behavior == Some(ToolGuardrailBehavior::RejectContent);
        if rejects != guardrail.message.is_some() {
            problem(
                format!("guardrails[{i}].message"),
                "`message` goes with `behavior = \"reject_content\"`, and only with it".into(),
            );
        }
    }
}

/// `[[tools]]`: guardrail lists, failure handlers, parameter names, `returns` or `raises`.
fn check_tools(spec: &ScenarioFile, problem: &mut impl FnMut(String, String)) {
    for (i, tool) in spec.tools.iter().enumerate() {
        let lists = [
            (
                "input_guardrails",
                &tool.input_guardrails,
                GuardrailKind::ToolInput,
            ),
            (
                "output_guardrails",
                &tool.output_guardrails,
                GuardrailKind::ToolOutput,
            ),
        ];
        for (field, names, kind) in lists {
            check_guardrail_list(spec, &format!("tools[{i}].{field}"), names, kind, problem);
        }
        if tool.failure_message.is_some() && tool.failure_error_function.is_some() {
            problem(
                format!("tools[{i}].failure_message"),
                "`failure_message` is a `failure_error_function` of its own: remove `failure_error_function` or this field".into(),
            );
        }
        for parameter in tool.parameters.keys() {
            if let Some(message) = parameter_name_problem(parameter) {
                problem(format!("tools[{i}].parameters.{parameter}"), message);
            }
        }
        match (&tool.returns, &tool.raises) {
            (Some(_), Some(_)) => problem(
                format!("tools[{i}]"),
                "set either `returns` or `raises`, not both".into(),
            ),
            (None, None) => problem(
                format!("tools[{i}]"),
                "set `returns = <value>` or `raises = \"<error message>\"`".into(),
            ),
            _ => {}
        }
    }
}

/// `[[model.steps]]`: their number, and each step's output items or error.
fn check_steps(spec: &ScenarioFile, names: &Names<'_>, problem: &mut impl FnMut(String, String)) {
    if spec.model.steps.len() > MAX_STEPS {
        problem(
            "model.steps".into(),
            format!(
                "{} steps is over the limit of {MAX_STEPS} model steps",
                spec.model.steps.len()
            ),
        );
    }
    // Only a user trace that never runs the scenario needs no step.
    let performs_a_run = spec
        .trace
        .as_ref()
        .is_none_or(|trace| contains_run(&trace.body));
    if spec.model.steps.is_empty() && performs_a_run {
        problem(
            "model.steps".into(),
            "define at least one [[model.steps]] table".into(),
        );
    }
    for (i, step) in spec.model.steps.iter().enumerate() {
        let field = format!("model.steps[{i}]");
        match (step.output.is_empty(), &step.error) {
            (true, None) => problem(
                field.clone(),
                "set `output = [...]` items or `error = { name = ..., message = ... }`".into(),
            ),
            (false, Some(_)) => problem(
                field.clone(),
                "set either `output` or `error`, not both".into(),
            ),
            _ => {}
        }
        if let Some(error) = &step.error {
            let field = format!("{field}.error");
            if !is_identifier(&error.name) {
                problem(
                    format!("{field}.name"),
                    format!(
                        "{} is not an identifier (an exception class name such as ModelBehaviorError, RateLimitError or ModelUnavailable)",
                        quoted(&error.name)
                    ),
                );
            } else {
                match resolve_exception(&error.name) {
                    Err(reason) => problem(format!("{field}.name"), reason),
                    Ok(resolved) => {
                        if let Some(fixed) = resolved.fixed_message
                            && error.message != fixed
                        {
                            problem(
                                format!("{field}.message"),
                                format!(
                                    "{} always has the message {fixed:?}; write `message = {fixed:?}`",
                                    error.name
                                ),
                            );
                        }
                    }
                }
            }
        }
        for (j, item) in step.output.iter().enumerate() {
            validate_item(
                item,
                &format!("{field}.output[{j}]"),
                &names.callable,
                &names.agents,
                problem,
            );
        }
    }
}

/// A sync tool (`sync = true`) is its step's only tool call: the client runs it in a worker
/// thread, and beside other calls their completions would follow thread scheduling.
fn check_sync_tools(spec: &ScenarioFile, problem: &mut impl FnMut(String, String)) {
    let sync: Vec<&str> = spec
        .tools
        .iter()
        .filter(|tool| tool.sync)
        .map(|tool| tool.name.as_str())
        .collect();
    if sync.is_empty() {
        return;
    }
    for (i, step) in spec.model.steps.iter().enumerate() {
        let calls = step
            .output
            .iter()
            .filter(|item| item.tool_call.is_some() || item.agent_tool_call.is_some())
            .count();
        if let Some((j, tool)) = step.output.iter().enumerate().find_map(|(j, item)| {
            item.tool_call
                .as_deref()
                .filter(|t| sync.contains(t))
                .map(|t| (j, t))
        }) && calls > 1
        {
            problem(
                format!("model.steps[{i}].output[{j}]"),
                format!(
                    "tool {tool:?} is sync (`sync = true`) and is called beside other tool calls: the client runs it in a worker thread, so the order of their completions follows thread scheduling and no transcript can be reproduced; call it alone in its step, or make it async"
                ),
            );
        }
    }
}

/// `run.repeat`, and what does not combine with it (or with copies).
fn check_repeat(spec: &ScenarioFile, problem: &mut impl FnMut(String, String)) {
    if spec.run.repeat == 0 || spec.run.repeat > MAX_REPEAT {
        problem(
            "run.repeat".into(),
            format!("repeat must be between 1 and {MAX_REPEAT}"),
        );
    }
    if spec.run.repeat > 1 {
        if spec.trace.is_some() {
            problem(
                "run.repeat".into(),
                "inside a user [trace], list several `{ run = true }` actions instead".into(),
            );
        }
        if spec.run.copies > 1 {
            problem(
                "run.repeat".into(),
                "`repeat` (runs one after another) and `copies` (runs at once) do not combine"
                    .into(),
            );
        }
        if spec.run.trace_id.is_some() {
            problem(
                "run.trace_id".into(),
                "every repeated run would make a trace with this id, and a transcript cannot tell them apart; use repeat = 1".into(),
            );
        }
    }
    // Inside a user [trace] the runs make no trace of their own: the id is not used (the
    // client ignores it), so copies may share it.
    if spec.run.copies > 1 && spec.run.trace_id.is_some() && spec.trace.is_none() {
        problem(
            "run.trace_id".into(),
            "every concurrent copy would make a trace with this id, and a transcript cannot tell them apart; use copies = 1".into(),
        );
    }
}

/// What each run, in order, does when it raises: `repeat` runs, or the user trace's
/// `{ run = true }` actions (checked here).
fn runs(spec: &ScenarioFile, problem: &mut impl FnMut(String, String)) -> Vec<OnError> {
    let runs: Vec<OnError> = match &spec.trace {
        None => vec![OnError::Stop; spec.run.repeat as usize],
        Some(trace) => {
            let mut runs = Vec::new();
            validate_actions(&trace.body, "trace.body", &mut runs, problem);
            if runs.is_empty() && !spec.model.steps.is_empty() {
                problem(
                    "model.steps".into(),
                    "no action of the trace runs the scenario, so no step is used: add `{ run = true }` where the run happens, or remove the steps".into(),
                );
            }
            runs
        }
    };
    if spec.run.copies > 1 && spec.trace.is_some() && runs.len() > 1 {
        problem(
            "trace.body".into(),
            "with concurrent copies, the trace's body performs the run once (one `{ run = true }` action): each copy keeps its own script".into(),
        );
    }
    runs
}

fn validate_item(
    item: &OutputItemSpec,
    field: &str,
    tool_names: &BTreeSet<&str>,
    agent_names: &BTreeSet<&str>,
    problem: &mut impl FnMut(String, String),
) {
    let kinds = [
        item.message.is_some(),
        item.tool_call.is_some(),
        item.handoff.is_some(),
        item.agent_tool_call.is_some(),
        item.missing_tool_call.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        problem(
            field.to_owned(),
            "set exactly one of `message`, `tool_call`, `handoff`, `agent_tool_call`, `missing_tool_call`".into(),
        );
        return;
    }
    let is_call = item.tool_call.is_some()
        || item.missing_tool_call.is_some()
        || item.agent_tool_call.is_some();
    if !is_call && (item.arguments.is_some() || item.raw_arguments.is_some()) {
        problem(
            field.to_owned(),
            "`arguments`/`raw_arguments` apply to `tool_call`, `agent_tool_call` and `missing_tool_call` only".into(),
        );
    }
    if item.arguments.is_some() && item.raw_arguments.is_some() {
        problem(
            field.to_owned(),
            "set either `arguments` or `raw_arguments`, not both".into(),
        );
    }
    if item.message.is_some() && item.call_id.is_some() {
        problem(
            format!("{field}.call_id"),
            "a message has no call id".into(),
        );
    }
    if let Some(tool) = &item.tool_call
        && !tool_names.contains(tool.as_str())
    {
        problem(
            format!("{field}.tool_call"),
            format!(
                "tool {tool:?} is not defined in [[tools]] or by an MCP server (to script a call of a tool that does not exist, use `missing_tool_call`)"
            ),
        );
    }
    // Handoffs and agent tools name their target agent.
    for (key, target) in [
        ("handoff", &item.handoff),
        ("agent_tool_call", &item.agent_tool_call),
    ] {
        if let Some(target) = target
            && !agent_names.contains(target.as_str())
        {
            problem(
                format!("{field}.{key}"),
                format!(
                    "agent {target:?} is not defined in [[agents]] (defined: {})",
                    list(agent_names)
                ),
            );
        }
    }
    if let Some(tool) = &item.missing_tool_call
        && tool_names.contains(tool.as_str())
    {
        problem(
            format!("{field}.missing_tool_call"),
            format!(
                "tool {tool:?} is defined (in [[tools]] or by an MCP server); use `tool_call` to call it"
            ),
        );
    }
}

/// Each name of a guardrail list (`field`) must be a defined guardrail of `kind`.
fn check_guardrail_list(
    spec: &ScenarioFile,
    field: &str,
    names: &[String],
    kind: GuardrailKind,
    problem: &mut impl FnMut(String, String),
) {
    for (j, name) in names.iter().enumerate() {
        match spec.guardrails.iter().find(|g| &g.name == name) {
            None => problem(
                format!("{field}[{j}]"),
                format!("guardrail {name:?} is not defined in [[guardrails]]"),
            ),
            Some(g) if g.kind != kind => problem(
                format!("{field}[{j}]"),
                format!(
                    "guardrail {name:?} has kind = \"{}\"; use it in {}",
                    g.kind,
                    guardrail_home(g.kind)
                ),
            ),
            Some(_) => {}
        }
    }
}

/// Where a guardrail of `kind` is listed.
fn guardrail_home(kind: GuardrailKind) -> &'static str {
    match kind {
        GuardrailKind::Input => "an agent's input_guardrails",
        GuardrailKind::Output => "an agent's output_guardrails",
        GuardrailKind::ToolInput => "a tool's input_guardrails",
        GuardrailKind::ToolOutput => "a tool's output_guardrails",
    }
}

/// Whether any of `actions`, at any depth, is a run.
fn contains_run(actions: &[ActionSpec]) -> bool {
    actions
        .iter()
        .any(|action| action.run == Some(true) || contains_run(&action.body))
}

/// Validates user-trace actions; adds to `runs` what each `run` action does when its run
/// raises, in order.
fn validate_actions(
    actions: &[ActionSpec],
    field: &str,
    runs: &mut Vec<OnError>,
    problem: &mut impl FnMut(String, String),
) {
    for (i, action) in actions.iter().enumerate() {
        let field = format!("{field}[{i}]");
        if action.on_error.is_some() && action.run != Some(true) {
            problem(
                format!("{field}.on_error"),
                "`on_error` belongs to a `run = true` action".into(),
            );
        }
        match (action.run, &action.custom_span) {
            (Some(true), None) => {
                runs.push(action.on_error.unwrap_or(OnError::Stop));
                if action.data.is_some() || !action.body.is_empty() {
                    problem(
                        field,
                        "`data` and `body` belong to a `custom_span` action, not to `run`".into(),
                    );
                }
            }
            (Some(false), None) => problem(
                format!("{field}.run"),
                "`run = false` does nothing; remove the action".into(),
            ),
            (None, Some(_)) => {
                validate_actions(&action.body, &format!("{field}.body"), runs, problem)
            }
            _ => problem(
                field,
                "set exactly one of `run = true` or `custom_span = \"<name>\"`".into(),
            ),
        }
    }
}

fn unique_names<'a>(
    names: impl Iterator<Item = &'a str>,
    table: &str,
    problem: &mut impl FnMut(String, String),
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    for (i, name) in names.enumerate() {
        if name.trim().is_empty() {
            problem(format!("{table}[{i}].name"), "must not be empty".into());
        } else if !seen.insert(name) {
            problem(
                format!("{table}[{i}].name"),
                format!("{name:?} is defined twice in [[{table}]]"),
            );
        }
    }
    seen
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn list(names: &BTreeSet<&str>) -> String {
    if names.is_empty() {
        return "none".into();
    }
    const SHOWN: usize = 20;
    let mut shown = names
        .iter()
        .take(SHOWN)
        .map(|n| quoted(n))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        shown.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    shown
}

#[cfg(test)]
mod tests {
    use crate::scenario::{parse_scenario, problems};

    const SYNC: &str = r#"# A sync tool.
[run]
agent = "a"
input = "Hi."

[[agents]]
name = "a"
tools = ["get_weather", "get_time"]

[[tools]]
name = "get_weather"
returns = "sunny"
sync = true

[[tools]]
name = "get_time"
returns = "noon"

[[model.steps]]
output = [{ tool_call = "get_weather" }]

[[model.steps]]
output = [{ message = "Done." }]
"#;

    #[test]
    fn concurrent_copies_with_a_session_are_refused_with_the_reason() {
        let text = SYNC.replace(
            "input = \"Hi.\"",
            "input = \"Hi.\"\ncopies = 2\nsession = true",
        );
        let problems = problems(&text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("run.session: concurrent copies with a session: the client's SQLiteSession reads and writes in worker threads"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_sync_tool_alone_in_its_step_loads() {
        let scenario = parse_scenario("t", SYNC).unwrap();
        assert!(scenario.spec.tools[0].sync);
    }

    #[test]
    fn a_sync_tool_beside_another_call_is_refused_with_the_reason() {
        let text = SYNC.replace(
            r#"output = [{ tool_call = "get_weather" }]"#,
            r#"output = [{ tool_call = "get_time" }, { tool_call = "get_weather" }]"#,
        );
        let problems = problems(&text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(r#"model.steps[0].output[1]: tool "get_weather" is sync (`sync = true`) and is called beside other tool calls"#)
                && problems[0].ends_with("call it alone in its step, or make it async"),
            "{problems:?}"
        );
    }
}
