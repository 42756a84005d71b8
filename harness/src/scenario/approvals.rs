//! Human-in-the-loop approvals in a scenario: which tool calls wait for a decision
//! (`[[tools]] needs_approval`), and the `[[run.resume]]` entries that decide and resume.
//!
//! The script walk (`walk.rs`) asks [`Approvals`] at every step that calls tools: which
//! calls interrupt the run, and what the next resume entries do with them. Call ids named by
//! an entry must be pending at that interruption, so a typo is an error rather than a call
//! silently left undecided.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;
use serde_json::Value;

use super::limits::MAX_RESUMES;
use super::schema::{FieldType, ModelStepSpec, NeedsApproval, ResumeSpec, ScenarioFile, ToolSpec};

/// Rules of `needs_approval` and `[[run.resume]]` that do not need the walk.
pub(crate) fn check_rules(
    spec: &ScenarioFile,
    runs: usize,
    problem: &mut impl FnMut(String, String),
) {
    let resumes = &spec.run.resume;
    if resumes.len() > MAX_RESUMES {
        problem(
            "run.resume".into(),
            format!(
                "{} resume entries is over the limit of {MAX_RESUMES}",
                resumes.len()
            ),
        );
    }
    if !resumes.is_empty() {
        let why = if spec.run.copies > 1 {
            Some("run.copies")
        } else if spec.run.repeat > 1 {
            Some("run.repeat")
        } else if spec.run.session {
            Some("run.session")
        } else if runs > 1 {
            Some("trace.body")
        } else {
            None
        };
        if let Some(field) = why {
            problem(
                field.into(),
                "with [[run.resume]] the scenario performs its run once (no copies, repeat, session or second `{ run = true }`): every resume belongs to that run".into(),
            );
        }
    }
    for (k, resume) in resumes.iter().enumerate() {
        let field = format!("run.resume[{k}]");
        for id in resume
            .approve
            .iter()
            .filter(|id| resume.reject.contains(id))
        {
            problem(
                format!("{field}.reject"),
                format!("call {id:?} is both approved and rejected; keep one"),
            );
        }
        for id in &resume.always {
            if !resume.approve.contains(id) && !resume.reject.contains(id) {
                problem(
                    format!("{field}.always"),
                    format!(
                        "call {id:?} is neither approved nor rejected here; `always` extends a decision of this entry to the tool's later calls"
                    ),
                );
            }
        }
        check_order(resume, &field, problem);
        if resume.rejection_message.is_some() && resume.reject.is_empty() {
            problem(
                format!("{field}.rejection_message"),
                "nothing is rejected in this entry, so the message is never used; remove it".into(),
            );
        }
    }
    // A nested run (an agent called as a tool, and every agent it can reach) cannot be
    // resumed from the scenario.
    let mut reported = BTreeSet::new();
    for agent in &spec.agents {
        for target in &agent.agent_tools {
            for nested in reachable_agents(spec, target) {
                for tool in nested_approval_tools(spec, &nested.tools) {
                    if reported.insert((target.as_str(), tool)) {
                        problem(
                            format!("tools.{tool}.needs_approval"),
                            format!(
                                "agent {target:?} is called as a tool and can reach the tool {tool:?} (of agent {:?}), which needs approval: the interruption of a nested run cannot be resumed from a scenario",
                                nested.name
                            ),
                        );
                    }
                }
            }
        }
    }
    let call_ids = spec.model.call_ids();
    for (i, step) in spec.model.steps.iter().enumerate() {
        for (j, item) in step.output.iter().enumerate() {
            let Some(tool) = item
                .tool_call
                .as_ref()
                .and_then(|name| spec.tools.iter().find(|t| &t.name == name))
            else {
                continue;
            };
            if !matches!(tool.needs_approval, Some(NeedsApproval::CallIds(_))) {
                continue;
            }
            if let Some(arguments) = &item.arguments
                && !arguments_are_exact(tool, arguments)
            {
                let id = call_ids[i][j].clone().unwrap_or_default();
                problem(
                    format!("model.steps[{i}].output[{j}].arguments"),
                    format!(
                        "call {id:?} of {:?}, whose needs_approval is a per-call policy, must pass exactly the tool's parameters with their types: the client skips the policy (and asks for approval) when validation would change the arguments",
                        tool.name
                    ),
                );
            }
        }
    }
}

/// `start` and every agent a run of it can hand off to or call as a tool, transitively.
fn reachable_agents<'a>(spec: &'a ScenarioFile, start: &str) -> Vec<&'a super::schema::AgentSpec> {
    let mut seen: Vec<&super::schema::AgentSpec> = Vec::new();
    let mut queue = vec![start.to_owned()];
    while let Some(name) = queue.pop() {
        let Some(agent) = spec.agents.iter().find(|a| a.name == name) else {
            continue;
        };
        if seen.iter().any(|a| a.name == agent.name) {
            continue;
        }
        seen.push(agent);
        queue.extend(agent.handoffs.iter().cloned());
        queue.extend(agent.agent_tools.iter().cloned());
    }
    seen
}

fn nested_approval_tools<'a>(spec: &'a ScenarioFile, tools: &'a [String]) -> Vec<&'a str> {
    tools
        .iter()
        .filter(|name| {
            spec.tools.iter().any(|t| {
                &&t.name == name
                    && t.needs_approval
                        .as_ref()
                        .is_some_and(NeedsApproval::may_ask)
            })
        })
        .map(String::as_str)
        .collect()
}

/// Whether `arguments` are exactly the tool's parameters, each of its declared type, so the
/// client's validation leaves them unchanged.
fn arguments_are_exact(tool: &ToolSpec, arguments: &IndexMap<String, Value>) -> bool {
    arguments.len() == tool.parameters.len()
        && tool.parameters.iter().all(|(name, field)| {
            arguments.get(name).is_some_and(|value| match field {
                FieldType::String => value.is_string(),
                FieldType::Integer => value.is_i64() || value.is_u64(),
                // An integer for a float field is converted by pydantic.
                FieldType::Number => value.is_f64(),
                FieldType::Boolean => value.is_boolean(),
            })
        })
}

/// A pending call: its id and tool.
pub(crate) struct Pending<'a> {
    pub(crate) call_id: String,
    pub(crate) tool: &'a ToolSpec,
}

/// `order`, when given, lists each decided call once and nothing else.
fn check_order(resume: &ResumeSpec, field: &str, problem: &mut impl FnMut(String, String)) {
    if resume.order.is_empty() {
        return;
    }
    let decided: Vec<&String> = resume.approve.iter().chain(&resume.reject).collect();
    let mut seen = BTreeSet::new();
    for id in &resume.order {
        if !decided.contains(&id) {
            problem(
                format!("{field}.order"),
                format!(
                    "call {id:?} is neither approved nor rejected in this entry; `order` lists the entry's decisions only"
                ),
            );
        } else if !seen.insert(id) {
            problem(
                format!("{field}.order"),
                format!("call {id:?} is listed twice; each decision is taken once"),
            );
        }
    }
    for id in decided.into_iter().filter(|id| !resume.order.contains(id)) {
        problem(
            format!("{field}.order"),
            format!(
                "call {id:?} is decided here but missing from `order`; list every decision of the entry, or remove `order` to take them in the order of the pending calls"
            ),
        );
    }
}

/// What the resume entries made of an interruption.
pub(crate) enum AfterInterruption {
    /// Every pending call was decided, and an approved call's failure does not end the run.
    Resumed,
    /// An approved tool fails without a failure handler: the resumed run raises.
    Raises,
    /// No entry was left: the run ends interrupted.
    EndsInterrupted,
}

/// The walk's view of approvals: the resume entries not used yet, and the client's approval
/// record of each agent's tool.
pub(crate) struct Approvals<'a> {
    spec: &'a ScenarioFile,
    call_ids: Vec<Vec<Option<String>>>,
    next_resume: usize,
    records: BTreeMap<(&'a str, &'a str), Record>,
}

/// Python's `_ApprovalRecord` as far as the walk needs it (which calls run): decisions apply in
/// the order they are taken, and a standing one (`always`) replaces the record, so a later
/// `always_reject` also cancels an earlier approval of another call of the tool.
#[derive(Debug, Default)]
struct Record {
    /// `None`: the listed calls only; `Some(approved)`: a standing decision on every call.
    standing: Option<bool>,
    approved: BTreeSet<String>,
    rejected: BTreeSet<String>,
}

impl Record {
    fn decide(&mut self, call_id: &str, approved: bool, always: bool) {
        let (granted, denied) = if approved {
            (&mut self.approved, &mut self.rejected)
        } else {
            (&mut self.rejected, &mut self.approved)
        };
        if always {
            // Python: approved = True, rejected = [] (or approved = False, rejected = True).
            granted.clear();
            denied.clear();
            self.standing = Some(approved);
        } else {
            denied.remove(call_id);
            if self.standing != Some(approved) {
                granted.insert(call_id.to_owned());
            }
        }
    }

    /// Whether the call runs (`Some(true)`), is rejected, or is undecided.
    fn status(&self, call_id: &str) -> Option<bool> {
        if self.approved.contains(call_id) {
            Some(true)
        } else if self.rejected.contains(call_id) {
            Some(false)
        } else {
            self.standing
        }
    }
}

impl<'a> Approvals<'a> {
    pub(crate) fn new(spec: &'a ScenarioFile) -> Self {
        Self {
            spec,
            call_ids: spec.model.call_ids(),
            next_resume: 0,
            records: BTreeMap::new(),
        }
    }

    /// The calls of step `index` (made by `agent`) that interrupt the run, and the output
    /// items that do not run in this turn (those, and the calls a standing decision rejects).
    pub(crate) fn held(
        &self,
        index: usize,
        agent: &str,
        step: &'a ModelStepSpec,
    ) -> (Vec<Pending<'a>>, BTreeSet<usize>) {
        let mut pending = Vec::new();
        let mut held = BTreeSet::new();
        for (j, item) in step.output.iter().enumerate() {
            let Some(tool) = item
                .tool_call
                .as_ref()
                .and_then(|name| self.spec.tools.iter().find(|t| &t.name == name))
            else {
                continue;
            };
            let call_id = self.call_ids[index][j].clone().unwrap_or_default();
            let asks = match &tool.needs_approval {
                None | Some(NeedsApproval::Always(false)) => false,
                Some(NeedsApproval::Always(true)) => true,
                // The policy is not asked about arguments that are not a JSON object: the
                // client then asks for approval.
                Some(NeedsApproval::CallIds(ids)) => {
                    ids.contains(&call_id)
                        || item.raw_arguments.as_deref().is_some_and(|raw| {
                            !matches!(serde_json::from_str::<Value>(raw), Ok(Value::Object(_)))
                        })
                }
            };
            let record = self.records.get(&(agent, tool.name.as_str()));
            match record.and_then(|r| r.status(&call_id)) {
                Some(true) => {}
                Some(false) => {
                    held.insert(j);
                }
                None if asks => {
                    held.insert(j);
                    pending.push(Pending { call_id, tool });
                }
                None => {}
            }
        }
        (pending, held)
    }

    /// Uses resume entries until every call in `pending` is decided; `field` names the step.
    pub(crate) fn resume(
        &mut self,
        agent: &'a str,
        mut pending: Vec<Pending<'a>>,
        problem: &mut impl FnMut(String, String),
    ) -> AfterInterruption {
        let spec = self.spec;
        let mut raises = false;
        while !pending.is_empty() {
            let Some(resume) = spec.run.resume.get(self.next_resume) else {
                return AfterInterruption::EndsInterrupted;
            };
            let field = format!("run.resume[{}]", self.next_resume);
            self.next_resume += 1;
            let pending_ids: BTreeSet<&str> = pending.iter().map(|p| p.call_id.as_str()).collect();
            for (key, ids) in [("approve", &resume.approve), ("reject", &resume.reject)] {
                for id in ids.iter().filter(|id| !pending_ids.contains(id.as_str())) {
                    problem(
                        format!("{field}.{key}"),
                        format!(
                            "call {id:?} is not pending at this interruption (pending: {})",
                            pending_ids
                                .iter()
                                .map(|id| format!("{id:?}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
            // The driver takes the entry's decisions in its `order`, else the pending calls'.
            for id in resume.decision_order(pending.iter().map(|p| p.call_id.as_str())) {
                let (Some(call), Some(approved)) = (
                    pending.iter().find(|p| p.call_id == id),
                    decision(resume, id),
                ) else {
                    continue;
                };
                let always = resume.always.iter().any(|a| a == id);
                self.records
                    .entry((agent, call.tool.name.as_str()))
                    .or_default()
                    .decide(id, approved, always);
            }
            let records = &self.records;
            let decided = |call: &Pending<'_>| {
                records
                    .get(&(agent, call.tool.name.as_str()))
                    .and_then(|record| record.status(&call.call_id))
            };
            for call in &pending {
                if decided(call) == Some(true)
                    && (call.tool.raises_unhandled() || spec.tool_guardrails_raise(call.tool))
                {
                    raises = true;
                }
            }
            pending.retain(|call| decided(call).is_none());
        }
        if raises {
            AfterInterruption::Raises
        } else {
            AfterInterruption::Resumed
        }
    }

    /// Entries never reached by the walk.
    pub(crate) fn check_all_used(&self, problem: &mut impl FnMut(String, String)) {
        if self.next_resume < self.spec.run.resume.len() {
            problem(
                format!("run.resume[{}]", self.next_resume),
                "this resume is never used: the run is not interrupted again (a tool with `needs_approval` must be called first); remove it".into(),
            );
        }
    }
}

/// `Some(true)` approved, `Some(false)` rejected, `None` undecided.
fn decision(resume: &ResumeSpec, call_id: &str) -> Option<bool> {
    if resume.approve.iter().any(|id| id == call_id) {
        Some(true)
    } else if resume.reject.iter().any(|id| id == call_id) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::{parse_scenario, problems};

    const APPROVAL: &str = r#"# A call that needs approval, approved and resumed.
[run]
agent = "ops"
input = "Restart web-1."

[[run.resume]]
approve = ["call_1"]

[[agents]]
name = "ops"
tools = ["restart"]

[[tools]]
name = "restart"
parameters = { host = "string" }
returns = "restarted"
needs_approval = true

[[model.steps]]
output = [{ tool_call = "restart", arguments = { host = "web-1" } }]

[[model.steps]]
output = [{ message = "Done." }]
"#;

    #[test]
    fn a_valid_approval_scenario_loads() {
        let scenario = parse_scenario("t", APPROVAL).unwrap();
        assert_eq!(scenario.spec.run.resume.len(), 1);
    }

    #[test]
    fn a_decision_on_a_call_that_is_not_pending_is_named() {
        let text = APPROVAL.replace(r#"approve = ["call_1"]"#, r#"approve = ["call_9"]"#);
        // call_1 stays undecided, so the run also ends interrupted before the last step.
        let problems = problems(&text);
        assert_eq!(
            problems[0],
            r#"run.resume[0].approve: call "call_9" is not pending at this interruption (pending: "call_1")"#
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn a_resume_that_is_never_reached_is_an_error() {
        let text = APPROVAL.replace("needs_approval = true", "needs_approval = false");
        assert_eq!(
            problems(&text),
            [
                "run.resume[0]: this resume is never used: the run is not interrupted again (a tool with `needs_approval` must be called first); remove it"
            ]
        );
    }

    #[test]
    fn steps_after_an_interruption_without_resume_are_unusable() {
        let text = APPROVAL.replace("[[run.resume]]\napprove = [\"call_1\"]\n", "");
        let problems = problems(&text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("model.steps[1]: this step can never be used"),
            "{problems:?}"
        );
    }

    #[test]
    fn resume_rules_name_their_field() {
        let text = APPROVAL
            .replace(
                "input = \"Restart web-1.\"",
                "input = \"Restart web-1.\"\nrepeat = 2",
            )
            .replace(
                r#"approve = ["call_1"]"#,
                "approve = [\"call_1\"]\nalways = [\"call_2\"]\nrejection_message = \"No.\"",
            );
        assert_eq!(
            problems(&text),
            [
                "run.repeat: with [[run.resume]] the scenario performs its run once (no copies, repeat, session or second `{ run = true }`): every resume belongs to that run",
                r#"run.resume[0].always: call "call_2" is neither approved nor rejected here; `always` extends a decision of this entry to the tool's later calls"#,
                "run.resume[0].rejection_message: nothing is rejected in this entry, so the message is never used; remove it",
            ]
        );
    }

    #[test]
    fn an_order_lists_each_decision_of_its_entry_once() {
        let text = APPROVAL.replace(
            r#"approve = ["call_1"]"#,
            "approve = [\"call_1\"]\norder = [\"call_3\", \"call_3\"]",
        );
        assert_eq!(
            problems(&text),
            [
                r#"run.resume[0].order: call "call_3" is neither approved nor rejected in this entry; `order` lists the entry's decisions only"#,
                r#"run.resume[0].order: call "call_3" is neither approved nor rejected in this entry; `order` lists the entry's decisions only"#,
                r#"run.resume[0].order: call "call_1" is decided here but missing from `order`; list every decision of the entry, or remove `order` to take them in the order of the pending calls"#,
            ]
        );
    }

    /// Two pending calls of a tool that fails without a handler: approving the first and then
    /// rejecting the second for good cancels the approval (the run goes on to its answer);
    /// in the other order the approval stands and the run raises (no answer is used).
    #[test]
    fn the_order_of_decisions_decides_which_calls_run() {
        let text = r#"# Two calls that would fail.
[run]
agent = "ops"
input = "Restart both."

[[run.resume]]
approve = ["call_1"]
reject = ["call_2"]
always = ["call_2"]

[[agents]]
name = "ops"
tools = ["restart"]

[[tools]]
name = "restart"
raises = "boom"
failure_error_function = "none"
needs_approval = true

[[model.steps]]
output = [{ tool_call = "restart" }, { tool_call = "restart" }]

[[model.steps]]
output = [{ message = "Neither ran." }]
"#;
        parse_scenario("t", text).expect("in the pending order the approval is cancelled");
        let reordered = text.replace(
            "always = [\"call_2\"]",
            "always = [\"call_2\"]\norder = [\"call_2\", \"call_1\"]",
        );
        let problems = problems(&reordered);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("model.steps[1]: this step can never be used"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_per_call_policy_needs_exact_arguments() {
        let text = APPROVAL
            .replace("needs_approval = true", r#"needs_approval = ["call_1"]"#)
            .replace(
                r#"arguments = { host = "web-1" }"#,
                r#"arguments = { host = "web-1", force = true }"#,
            );
        let problems = problems(&text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("model.steps[0].output[0].arguments: call \"call_1\" of \"restart\", whose needs_approval is a per-call policy"),
            "{problems:?}"
        );
    }

    #[test]
    fn an_interrupting_step_that_also_hands_off_is_refused() {
        let text = APPROVAL
            .replace("tools = [\"restart\"]", "tools = [\"restart\"]\nhandoffs = [\"oncall\"]\n\n[[agents]]\nname = \"oncall\"")
            .replace(
                r#"output = [{ tool_call = "restart", arguments = { host = "web-1" } }]"#,
                r#"output = [{ tool_call = "restart", arguments = { host = "web-1" } }, { handoff = "oncall" }]"#,
            );
        let problems = problems(&text);
        assert!(
            problems.iter().any(|p| p.starts_with(
                "model.steps[0]: a step with calls that need approval may not also hand off"
            )),
            "{problems:?}"
        );
    }

    #[test]
    fn an_always_decision_covers_the_tools_other_pending_calls() {
        // Two calls of `restart` wait; `always` on the first decides the second too, so the
        // run resumes and uses the last step (it was reported unusable before).
        let text = APPROVAL.replace(
            r#"output = [{ tool_call = "restart", arguments = { host = "web-1" } }]"#,
            r#"output = [{ tool_call = "restart", arguments = { host = "web-1" } }, { tool_call = "restart", arguments = { host = "web-2" } }]"#,
        )
        .replace(r#"approve = ["call_1"]"#, "approve = [\"call_1\"]\nalways = [\"call_1\"]");
        assert!(
            parse_scenario("t", &text).is_ok(),
            "{:?}",
            parse_scenario("t", &text).err()
        );
    }

    #[test]
    fn an_approved_call_whose_guardrail_raises_ends_the_run() {
        let text = APPROVAL
            .replace("needs_approval = true", "needs_approval = true\ninput_guardrails = [\"block\"]")
            .replacen("[[model.steps]]", "[[guardrails]]\nname = \"block\"\nkind = \"tool_input\"\nbehavior = \"raise_exception\"\n\n[[model.steps]]", 1);
        let problems = problems(&text);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("model.steps[1]: this step can never be used")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_later_standing_rejection_cancels_an_approval_the_walk_then_does_not_run() {
        // Approved, the first call would end the run (its tool raises, unhandled); the
        // standing rejection of the second call of the tool, taken after, cancels it.
        let text = std::fs::read_to_string(
            crate::workspace::Workspace::current()
                .scenarios_dir()
                .join("approval_cancelled_call_would_raise.toml"),
        )
        .unwrap();
        parse_scenario("t", &text).unwrap();
        let reversed = text.replace(
            "approve = [\"call_1\"]\nreject = [\"call_2\"]\nalways = [\"call_2\"]",
            "approve = [\"call_2\"]\nreject = [\"call_1\"]\nalways = [\"call_1\"]",
        );
        assert_ne!(reversed, text);
        // Reject-then-approve (in the pending calls' order): the approved call runs and raises.
        assert!(
            problems(&reversed)
                .iter()
                .any(|p| p.starts_with("model.steps[1]: this step can never be used")),
            "{:?}",
            problems(&reversed)
        );
    }

    #[test]
    fn tools_that_need_approval_are_refused_anywhere_an_agent_tool_reaches() {
        let text = APPROVAL
            .replace("[[run.resume]]\napprove = [\"call_1\"]\n", "")
            .replace(
                "[[agents]]\nname = \"ops\"",
                "[[agents]]\nname = \"boss\"\nagent_tools = [\"helper\"]\n\n[[agents]]\nname = \"helper\"\nhandoffs = [\"ops\"]\n\n[[agents]]\nname = \"ops\"",
            );
        let problems = problems(&text);
        assert!(
            problems.iter().any(|p| p.contains(
                "agent \"helper\" is called as a tool and can reach the tool \"restart\""
            )),
            "{problems:?}"
        );
    }

    #[test]
    fn a_malformed_needs_approval_says_what_to_write_at_its_value() {
        let fix = r#"`needs_approval = true|false`, or a list of call ids (non-empty strings) such as `needs_approval = ["call_1"]`"#;
        let cases = [
            // The first wrong item is pointed at.
            (
                r#"[1, "", {x=1}]"#,
                19,
                "invalid type: integer `1`, expected a call id (a non-empty string); write ",
            ),
            (
                r#"["call_1", ""]"#,
                29,
                "invalid value: string \"\", expected a call id (a non-empty string); write ",
            ),
            (r#""yes""#, 18, "invalid type: string \"yes\", expected "),
            ("{ x = 1 }", 18, "invalid type: a table, expected "),
        ];
        for (value, column, found) in cases {
            let text = APPROVAL.replace(
                "needs_approval = true",
                &format!("needs_approval = {value}"),
            );
            let err = parse_scenario("t", &text).unwrap_err().to_string();
            assert!(
                err.contains(&format!("at line 17, column {column}\n")),
                "{err}"
            );
            assert!(err.ends_with(&format!("{found}{fix}")), "{err}");
        }
    }

    #[test]
    fn call_ids_are_names_with_their_limit() {
        let long = "c".repeat(257);
        let policy = APPROVAL.replace(
            "needs_approval = true",
            &format!("needs_approval = [\"{long}\"]"),
        );
        assert_eq!(
            problems(&policy),
            [
                "tools[0].needs_approval[0]: the name is 257 bytes long, over the limit of 256 bytes for names"
            ]
        );
        let decision = APPROVAL.replace(
            r#"approve = ["call_1"]"#,
            &format!("approve = [\"{long}\"]"),
        );
        assert_eq!(
            problems(&decision),
            [
                "run.resume[0].approve[0]: the name is 257 bytes long, over the limit of 256 bytes for names"
            ]
        );
        let at_limit = APPROVAL.replace(
            "needs_approval = true",
            &format!("needs_approval = [\"{}\"]", &long[1..]),
        );
        assert!(!problems(&at_limit).iter().any(|p| p.contains("limit")));
    }
}
