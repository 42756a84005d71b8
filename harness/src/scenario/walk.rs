//! The script walk: the model steps consumed as the client consumes them, run after run, to
//! find steps that can never be used.
//!
//! A simulation, not a check of fields: [`check_script_is_consumable`] follows each run from
//! its starting agent through handoffs, agents called as tools (nested runs that take steps of
//! their own) and interruptions for approval (through [`Approvals`], which decides what each
//! `[[run.resume]]` entry does), until the run completes or raises. It runs only once every
//! reference of the scenario is valid (`validate.rs`).

use std::collections::BTreeSet;

use super::approvals::{AfterInterruption, Approvals};
use super::mcp;
use super::schema::{AgentSpec, ModelStepSpec, OnError, ScenarioFile};

/// Steps after the point where the last run has certainly ended can never be used: the script
/// is walked as the client consumes it (see [`step_effect`]), run after run. A run that raises
/// ends the scenario (later actions of a user trace are skipped), and a run that runs out of
/// steps raises. Runs can also end earlier than this walk assumes (max turns, tripwires), but
/// only ever by raising, which consumes fewer steps: a step reported here is never used.
pub(crate) fn check_script_is_consumable(
    spec: &ScenarioFile,
    runs: &[OnError],
    problem: &mut impl FnMut(String, String),
) {
    let steps = &spec.model.steps;
    let mut approvals = Approvals::new(spec);
    let mut next = 0;
    let mut last_end = None;
    'runs: for on_error in runs {
        let mut agent = spec.run.agent.as_str();
        loop {
            let Some(step) = steps.get(next) else {
                // The scripted model raises UnexpectedModelCall: the scenario ends here.
                return;
            };
            next += 1;
            let (pending, held) = approvals.held(next - 1, agent, step);
            let mut effect = step_effect(spec, agent, step, &held);
            if !pending.is_empty() {
                // The calls that need approval interrupt the run once the others ran; each
                // resume entry decides some and resumes (the model is not called for that).
                if !matches!(effect, StepEffect::Continues { ref nested, .. } if nested.is_empty())
                    || step.output.iter().any(|item| item.handoff.is_some())
                {
                    problem(
                        format!("model.steps[{}]", next - 1),
                        "a step with calls that need approval may not also hand off, call an agent as a tool, stop at a tool, or end the run: only a step of plain tool calls can be interrupted and resumed in a scenario".into(),
                    );
                    return;
                }
                match approvals.resume(agent, pending, problem) {
                    AfterInterruption::Resumed => {}
                    AfterInterruption::Raises => effect = StepEffect::Raises,
                    AfterInterruption::EndsInterrupted => {
                        effect = StepEffect::Completes { nested: Vec::new() }
                    }
                }
            }
            match effect {
                StepEffect::Continues {
                    agent: next_agent,
                    nested,
                } => {
                    for nested_agent in nested {
                        if !consume_nested_run(spec, nested_agent, &mut next) {
                            return;
                        }
                    }
                    agent = next_agent;
                }
                StepEffect::Completes { nested } => {
                    for nested_agent in nested {
                        if !consume_nested_run(spec, nested_agent, &mut next) {
                            return;
                        }
                    }
                    last_end = Some(next - 1);
                    continue 'runs;
                }
                StepEffect::Raises => {
                    last_end = Some(next - 1);
                    match on_error {
                        OnError::Continue => continue 'runs,
                        OnError::Stop => break 'runs,
                    }
                }
            }
        }
    }
    approvals.check_all_used(problem);
    if let Some(end) = last_end
        && next < steps.len()
    {
        problem(
            format!("model.steps[{next}]"),
            format!(
                "this step can never be used: the last run already ended at model.steps[{end}] (a final answer, an error, or a call the agent cannot make); remove it"
            ),
        );
    }
}

/// Whether one of `agent`'s input guardrails trips: a run starting with it raises at once.
fn trips_input_guardrail(spec: &ScenarioFile, agent: &str) -> bool {
    spec.agents
        .iter()
        .filter(|a| a.name == agent)
        .flat_map(|a| &a.input_guardrails)
        .any(|name| {
            spec.guardrails
                .iter()
                .any(|g| &g.name == name && g.tripwire)
        })
}

/// The run of an agent called as a tool (`agent_tool_call`): it takes the next steps until it
/// ends (a raise becomes the tool's failure output; the calling run goes on). `false` when the
/// script runs out first.
fn consume_nested_run(spec: &ScenarioFile, agent: &str, next: &mut usize) -> bool {
    if trips_input_guardrail(spec, agent) {
        // It raises before its first model call (a blocking guardrail runs first; a parallel
        // one cancels the call): no step is taken, and the caller goes on with the next.
        return true;
    }
    let mut agent = agent;
    loop {
        let Some(step) = spec.model.steps.get(*next) else {
            return false;
        };
        *next += 1;
        match step_effect(spec, agent, step, &BTreeSet::new()) {
            StepEffect::Continues {
                agent: next_agent,
                nested,
            } => {
                for nested_agent in nested {
                    if !consume_nested_run(spec, nested_agent, next) {
                        return false;
                    }
                }
                agent = next_agent;
            }
            StepEffect::Completes { nested } => {
                return nested
                    .into_iter()
                    .all(|nested_agent| consume_nested_run(spec, nested_agent, next));
            }
            StepEffect::Raises => return true,
        }
    }
}

/// What one model step does to its run, as the client processes the response.
enum StepEffect<'a> {
    /// The run goes on, with this agent (after a handoff, the first one's target), once the
    /// agents this step calls as tools (`nested`) have run.
    Continues {
        agent: &'a str,
        nested: Vec<&'a str>,
    },
    /// The run ends with a final output, once the agents this step calls as tools (`nested`)
    /// have run (a tool result the agent's `tool_use_behavior` stops at).
    Completes { nested: Vec<&'a str> },
    /// The run raises (the step's error, or a call the current agent has no tool or handoff for).
    Raises,
}

fn step_effect<'a>(
    spec: &'a ScenarioFile,
    agent: &'a str,
    step: &'a ModelStepSpec,
    held: &BTreeSet<usize>,
) -> StepEffect<'a> {
    if step.error.is_some() {
        return StepEffect::Raises;
    }
    let Some(current) = spec.agents.iter().find(|a| a.name == agent) else {
        return StepEffect::Raises;
    };
    let mut handoff = None;
    let mut calls_tools = false;
    let mut stops = false;
    let mut nested = Vec::new();
    for (j, item) in step.output.iter().enumerate() {
        if let Some(target) = &item.handoff {
            // The handoff tool exists only if the current agent lists the target.
            if !current.handoffs.contains(target) {
                return StepEffect::Raises;
            }
            handoff.get_or_insert(target.as_str());
        } else if let Some(tool) = &item.tool_call {
            if let Some((server, mcp_tool)) = mcp::visible_tool(spec, current, tool) {
                // An MCP tool: it fails only by an error answer, and the agent's
                // `tool_use_behavior` applies to it as to any tool.
                calls_tools = true;
                stops |= current.stops_at(tool);
                if mcp::call_raises(server, mcp_tool) {
                    return StepEffect::Raises;
                }
                continue;
            }
            if !current.tools.contains(tool) {
                return StepEffect::Raises;
            }
            calls_tools = true;
            stops |= current.stops_at(tool);
            // A call waiting for approval (or rejected by a standing decision) does not run.
            if held.contains(&j) {
                continue;
            }
            // A tool guardrail that raises ends the run.
            if let Some(t) = spec.tools.iter().find(|t| &t.name == tool)
                && spec.tool_guardrails_raise(t)
            {
                return StepEffect::Raises;
            }
            // A failing tool without a failure handler ends the run.
            if spec
                .tools
                .iter()
                .any(|t| &t.name == tool && t.raises_unhandled())
            {
                return StepEffect::Raises;
            }
        } else if let Some(target) = &item.agent_tool_call {
            if !current.agent_tools.contains(target) {
                return StepEffect::Raises;
            }
            calls_tools = true;
            // An agent tool is a tool: the agent's `tool_use_behavior` applies to it too.
            stops |= current.stops_at(target);
            nested.push(target.as_str());
        } else if item.missing_tool_call.is_some() {
            return StepEffect::Raises;
        }
    }
    if let Some(target) = handoff {
        return StepEffect::Continues {
            agent: target,
            nested,
        };
    }
    if calls_tools {
        // The agent's `tool_use_behavior` may make a tool result the final output.
        return if stops {
            StepEffect::Completes { nested }
        } else {
            StepEffect::Continues { agent, nested }
        };
    }
    // Only messages: a final output, except that a structured-output agent whose last message
    // is empty has none, and the client runs it again.
    let last_text = step.output.last().and_then(|item| item.message.as_deref());
    if is_structured(current) && last_text.is_none_or(str::is_empty) {
        return StepEffect::Continues { agent, nested };
    }
    StepEffect::Completes { nested }
}

fn is_structured(agent: &AgentSpec) -> bool {
    agent.output_type.is_some()
}
