//! Reading one scenario file: description line, TOML parse, then semantic validation.

use std::collections::BTreeSet;
use std::path::Path;

use crate::errors::{LoadScenarioError, LoadScenarioErrorKind, Problem};

use super::schema::{ActionSpec, GuardrailKind, OutputItemSpec, Scenario, ScenarioFile};

/// Loads and validates the scenario at `path`; its name is the file stem.
pub fn load_scenario(path: &Path) -> Result<Scenario, LoadScenarioError> {
    let fail = |kind| LoadScenarioError {
        path: path.to_path_buf(),
        kind,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(LoadScenarioErrorKind::Read(e)))?;
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned();
    parse_scenario(&name, &text).map_err(fail)
}

/// Parses and validates scenario text; `name` is used for the scenario's identity only.
pub fn parse_scenario(name: &str, text: &str) -> Result<Scenario, LoadScenarioErrorKind> {
    let description = description_line(text).ok_or(LoadScenarioErrorKind::MissingDescription)?;
    let spec: ScenarioFile =
        toml::from_str(text).map_err(|e| LoadScenarioErrorKind::Parse(Box::new(e)))?;
    let problems = validate(&spec);
    if !problems.is_empty() {
        return Err(LoadScenarioErrorKind::Invalid(problems));
    }
    Ok(Scenario {
        name: name.to_owned(),
        description,
        spec,
    })
}

/// The text of the first line when it is a `# …` comment.
fn description_line(text: &str) -> Option<String> {
    let first = text.lines().next()?.trim();
    let description = first.strip_prefix('#')?.trim();
    (!description.is_empty()).then(|| description.to_owned())
}

/// Checks everything serde cannot: references, exclusive alternatives, and a consumable script.
fn validate(spec: &ScenarioFile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |field: String, message: String| problems.push(Problem { field, message });

    let agent_names = unique_names(
        spec.agents.iter().map(|a| a.name.as_str()),
        "agents",
        &mut problem,
    );
    let tool_names = unique_names(
        spec.tools.iter().map(|t| t.name.as_str()),
        "tools",
        &mut problem,
    );
    unique_names(
        spec.guardrails.iter().map(|g| g.name.as_str()),
        "guardrails",
        &mut problem,
    );

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
                list(&agent_names)
            ),
        );
    }
    if spec.run.copies == 0 {
        problem("run.copies".into(), "must be at least 1".into());
    }
    if spec.run.copies > 1 && spec.trace.is_some() {
        problem(
            "run.copies".into(),
            "concurrent copies inside a user [trace] would interleave within one trace, which the normalizer does not make canonical; use copies = 1 with [trace]".into(),
        );
    }
    if spec.run.max_turns == Some(0) {
        problem("run.max_turns".into(), "must be at least 1".into());
    }
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

    for (i, agent) in spec.agents.iter().enumerate() {
        for (j, tool) in agent.tools.iter().enumerate() {
            if !tool_names.contains(tool.as_str()) {
                problem(
                    format!("agents[{i}].tools[{j}]"),
                    format!(
                        "tool {tool:?} is not defined in [[tools]] (defined: {})",
                        list(&tool_names)
                    ),
                );
            }
        }
        for (j, target) in agent.handoffs.iter().enumerate() {
            if !agent_names.contains(target.as_str()) {
                problem(
                    format!("agents[{i}].handoffs[{j}]"),
                    format!(
                        "agent {target:?} is not defined in [[agents]] (defined: {})",
                        list(&agent_names)
                    ),
                );
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
            for (j, name) in names.iter().enumerate() {
                match spec.guardrails.iter().find(|g| &g.name == name) {
                    None => problem(
                        format!("agents[{i}].{field}[{j}]"),
                        format!("guardrail {name:?} is not defined in [[guardrails]]"),
                    ),
                    Some(g) if g.kind != kind => problem(
                        format!("agents[{i}].{field}[{j}]"),
                        format!(
                            "guardrail {name:?} has kind = {:?}; use it in {}",
                            g.kind,
                            if g.kind == GuardrailKind::Input {
                                "input_guardrails"
                            } else {
                                "output_guardrails"
                            }
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
        if let Some(output_type) = &agent.output_type
            && output_type.fields.is_empty()
        {
            problem(
                format!("agents[{i}].output_type.fields"),
                "define at least one field".into(),
            );
        }
    }

    for (i, tool) in spec.tools.iter().enumerate() {
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

    if spec.model.steps.is_empty() {
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
        if let Some(error) = &step.error
            && !is_identifier(&error.name)
        {
            problem(
                format!("{field}.error.name"),
                format!(
                    "{:?} is not an identifier (an error type name such as ModelUnavailable)",
                    error.name
                ),
            );
        }
        for (j, item) in step.output.iter().enumerate() {
            validate_item(
                item,
                &format!("{field}.output[{j}]"),
                &tool_names,
                &agent_names,
                &mut problem,
            );
        }
    }

    let runs = match &spec.trace {
        None => 1,
        Some(trace) => {
            let runs = validate_actions(&trace.body, "trace.body", &mut problem);
            if runs == 0 {
                problem(
                    "trace.body".into(),
                    "no action runs the scenario: add `{ run = true }` where the run happens"
                        .into(),
                );
            }
            runs
        }
    };
    check_script_is_consumable(spec, runs, &mut problem);
    problems
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
        item.missing_tool_call.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        problem(
            field.to_owned(),
            "set exactly one of `message`, `tool_call`, `handoff`, `missing_tool_call`".into(),
        );
        return;
    }
    let is_call = item.tool_call.is_some() || item.missing_tool_call.is_some();
    if !is_call && (item.arguments.is_some() || item.raw_arguments.is_some()) {
        problem(
            field.to_owned(),
            "`arguments`/`raw_arguments` apply to `tool_call` and `missing_tool_call` only".into(),
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
                "tool {tool:?} is not defined in [[tools]] (to script a call of a tool that does not exist, use `missing_tool_call`)"
            ),
        );
    }
    if let Some(target) = &item.handoff
        && !agent_names.contains(target.as_str())
    {
        problem(
            format!("{field}.handoff"),
            format!(
                "agent {target:?} is not defined in [[agents]] (defined: {})",
                list(agent_names)
            ),
        );
    }
    if let Some(tool) = &item.missing_tool_call
        && tool_names.contains(tool.as_str())
    {
        problem(
            format!("{field}.missing_tool_call"),
            format!("tool {tool:?} is defined in [[tools]]; use `tool_call` to call it"),
        );
    }
}

/// Validates user-trace actions and returns how many `run` actions they contain.
fn validate_actions(
    actions: &[ActionSpec],
    field: &str,
    problem: &mut impl FnMut(String, String),
) -> usize {
    let mut runs = 0;
    for (i, action) in actions.iter().enumerate() {
        let field = format!("{field}[{i}]");
        match (action.run, &action.custom_span) {
            (Some(true), None) => {
                runs += 1;
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
                runs += validate_actions(&action.body, &format!("{field}.body"), problem)
            }
            _ => problem(
                field,
                "set exactly one of `run = true` or `custom_span = \"<name>\"`".into(),
            ),
        }
    }
    runs
}

/// A step that answers with text only (or fails) ends its run; with `runs` runs, steps after the
/// last such step can never be consumed.
fn check_script_is_consumable(
    spec: &ScenarioFile,
    runs: usize,
    problem: &mut impl FnMut(String, String),
) {
    if runs == 0 {
        return;
    }
    let mut runs_ended = 0;
    for (i, step) in spec.model.steps.iter().enumerate() {
        if runs_ended == runs {
            problem(
                format!("model.steps[{i}]"),
                format!(
                    "this step can never be used: the last run already ended at model.steps[{}] (a final answer, an error or a missing tool call); remove it",
                    i - 1
                ),
            );
            return;
        }
        let ends_run = step.error.is_some()
            || step
                .output
                .iter()
                .any(|item| item.missing_tool_call.is_some())
            || step.output.iter().all(|item| item.message.is_some());
        if ends_run {
            runs_ended += 1;
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
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOOL_CALL: &str = r#"# One function call, then a text answer.
[run]
agent = "weather"
input = "Weather in Paris?"

[[agents]]
name = "weather"
tools = ["get_weather"]

[[tools]]
name = "get_weather"
parameters = { city = "string" }
returns = "sunny"

[[model.steps]]
output = [{ tool_call = "get_weather", arguments = { city = "Paris" } }]

[[model.steps]]
output = [{ message = "It is sunny." }]
"#;

    fn problems(text: &str) -> Vec<String> {
        match parse_scenario("t", text) {
            Err(LoadScenarioErrorKind::Invalid(problems)) => problems
                .into_iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect(),
            other => panic!("expected validation problems, got {other:?}"),
        }
    }

    #[test]
    fn valid_scenario_loads_with_its_description() {
        let scenario = parse_scenario("tool_call", TOOL_CALL).unwrap();
        assert_eq!(
            scenario.description,
            "One function call, then a text answer."
        );
        assert!(scenario.spec.model.generation_spans);
    }

    #[test]
    fn misspelled_key_is_a_parse_error_with_line_and_key() {
        let text = TOOL_CALL.replace("input =", "inptu =");
        let err = parse_scenario("t", &text).unwrap_err().to_string();
        assert!(err.contains("inptu"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn missing_description_is_reported() {
        let text = TOOL_CALL.lines().skip(1).collect::<Vec<_>>().join("\n");
        assert!(matches!(
            parse_scenario("t", &text),
            Err(LoadScenarioErrorKind::MissingDescription)
        ));
    }

    #[test]
    fn undefined_tool_is_named_with_its_field() {
        let text = TOOL_CALL.replace("tools = [\"get_weather\"]", "tools = [\"get_wether\"]");
        assert_eq!(
            problems(&text),
            vec![
                r#"agents[0].tools[0]: tool "get_wether" is not defined in [[tools]] (defined: "get_weather")"#
            ]
        );
    }

    #[test]
    fn unreachable_step_is_reported() {
        let text = format!("{TOOL_CALL}\n[[model.steps]]\noutput = [{{ message = \"again\" }}]\n");
        assert_eq!(
            problems(&text),
            vec![
                "model.steps[2]: this step can never be used: the last run already ended at model.steps[1] (a final answer, an error or a missing tool call); remove it"
            ]
        );
    }

    #[test]
    fn item_with_two_kinds_is_reported() {
        let text = TOOL_CALL.replace(
            "{ message = \"It is sunny.\" }",
            "{ message = \"x\", handoff = \"weather\" }",
        );
        assert_eq!(
            problems(&text),
            vec![
                "model.steps[1].output[0]: set exactly one of `message`, `tool_call`, `handoff`, `missing_tool_call`"
            ]
        );
    }

    #[test]
    fn concurrent_copies_inside_a_user_trace_are_rejected() {
        let text = TOOL_CALL.replace("[run]\n", "[run]\ncopies = 2\n")
            + "\n[trace]\nworkflow_name = \"w\"\nbody = [{ run = true }]\n";
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("run.copies: concurrent copies inside a user [trace]"),
            "{found:?}"
        );
    }

    #[test]
    fn trace_without_run_action_is_reported() {
        let text = format!(
            "{TOOL_CALL}\n[trace]\nworkflow_name = \"w\"\nbody = [{{ custom_span = \"outer\" }}]\n"
        );
        let found = problems(&text);
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("trace.body: no action runs")),
            "{found:?}"
        );
    }
}
