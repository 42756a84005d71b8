//! Classes of python-vs-rust differences that are known and under repair (issue 22). A case of
//! such a class that differs is counted under the class's name in the coverage report instead of
//! failing the property; `PARITY_DIFFERENTIAL_KNOWN=1` makes them fail like any other
//! difference (to check a repair). Each class says which cases it covers as narrowly as the
//! scenario lets us say it, so that it hides no other difference in unrelated cases.

use parity::scenario::schema::{ScenarioFile, ToolGuardrailBehavior, ToolUseBehavior};

pub struct Known {
    /// The class's name in issue 22 and in the coverage report.
    pub name: &'static str,
    /// Whether a scenario belongs to the class.
    pub covers: fn(&ScenarioFile) -> bool,
}

pub const KNOWN: &[Known] = &[
    // Found by this generator (not yet in issue 22): counterexamples in
    // target/parity-regressions/, listed in docs/differential-coverage.md.
    Known {
        name: "found-A: an undrained stream whose run exceeds max_turns (python: completed without output; rust: MaxTurnsExceeded)",
        covers: |spec| spec.run.streamed && !spec.run.drain && spec.run.max_turns.is_some(),
    },
    Known {
        name: "found-B: a structured agent that stops at an MCP tool (python: the result object is the final output; rust: its text)",
        covers: |spec| {
            spec.agents.iter().any(|a| {
                a.output_type.is_some()
                    && !a.mcp_servers.is_empty()
                    && (a.tool_use_behavior == Some(ToolUseBehavior::StopOnFirstTool)
                        || a.stop_at_tool_names.is_some()
                        || a.tools_final_output.is_some())
            })
        },
    },
    Known {
        name: "found-C: a session and two handoffs in one response (the ignored handoff's output is persisted as a tool_call_output_item by python, a handoff_output_item by rust)",
        covers: |spec| {
            spec.run.session
                && spec
                    .model
                    .steps
                    .iter()
                    .any(|step| step.output.iter().filter(|i| i.handoff.is_some()).count() > 1)
        },
    },
    Known {
        name: "found-D: a streamed run resumed with tracing disabled (python logs 'Resuming from RunState in run_streaming()' after the disabled trace and span, rust before)",
        covers: |spec| {
            spec.run.streamed
                && !spec.run.resume.is_empty()
                && (spec.run.tracing_disabled == Some(true)
                    || spec
                        .env
                        .get("OPENAI_AGENTS_DISABLE_TRACING")
                        .is_some_and(|v| v == "1"))
        },
    },
    Known {
        name: "found-E: an agent that stops at a tool whose output guardrail rejects content (python: the final output is the guardrail's message; rust: the tool's result)",
        covers: |spec| {
            spec.agents.iter().any(|a| {
                (a.tool_use_behavior == Some(ToolUseBehavior::StopOnFirstTool)
                    || a.stop_at_tool_names.is_some())
                    && a.tools.iter().any(|t| output_rejected(spec, t))
            })
        },
    },
];

/// Whether a tool's output guardrails replace its result (`reject_content`).
fn output_rejected(spec: &ScenarioFile, tool: &str) -> bool {
    spec.tools.iter().filter(|t| t.name == tool).any(|t| {
        t.output_guardrails.iter().any(|g| {
            spec.guardrails.iter().any(|spec_g| {
                &spec_g.name == g && spec_g.behavior == Some(ToolGuardrailBehavior::RejectContent)
            })
        })
    })
}

/// Whether `PARITY_DIFFERENTIAL_KNOWN=1` asks known classes to fail.
pub fn enforced() -> bool {
    std::env::var("PARITY_DIFFERENTIAL_KNOWN").is_ok_and(|v| v == "1")
}

/// The known classes a scenario belongs to.
pub fn classes(spec: &ScenarioFile) -> Vec<&'static str> {
    KNOWN
        .iter()
        .filter(|k| (k.covers)(spec))
        .map(|k| k.name)
        .collect()
}
