//! The model script of a generated scenario: the shape's moves, made for whichever agent is
//! current, run after run, as the loader's walk (`harness/src/scenario/walk.rs`) consumes
//! them, so that no step is unusable and every `[[run.resume]]` entry written is used.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use parity::scenario::schema::{
    AgentSpec, FieldType, ModelErrorSpec, ModelStepSpec, NeedsApproval, OnError, OutputItemSpec,
    ResumeSpec, ScenarioFile, ToolSpec, UsageSpec,
};
use serde_json::{Value, json};

use super::build::{ends_run, mcp_ends_run};
use super::shape::{Move, ResumeShape, Shape};

/// How a step leaves its run.
enum Next {
    /// The run goes on with this agent.
    Agent(String),
    /// The run ended: raised (`true`) or completed.
    Ended(bool),
}

/// What an agent can call: function tools, visible MCP tools, agents as tools.
#[derive(Clone)]
enum Callable {
    Function(String),
    Mcp(String, bool),
    AgentTool(String),
}

struct Walk<'a> {
    spec: &'a ScenarioFile,
    shape: &'a Shape,
    steps: Vec<ModelStepSpec>,
    resume: Vec<ResumeSpec>,
    /// Whether interruptions may be resumed (the scenario performs its run once).
    resumable: bool,
    calls: usize,
    /// The client's approval record of each agent's tool (its decisions so far).
    records: BTreeMap<(String, String), Record>,
}

/// The steps and resume entries for `runs` (what each run does when it raises).
pub fn script(
    spec: &ScenarioFile,
    shape: &Shape,
    runs: &[OnError],
) -> (Vec<ModelStepSpec>, Vec<ResumeSpec>) {
    let mut walk = Walk {
        spec,
        shape,
        steps: Vec::new(),
        resume: Vec::new(),
        resumable: runs.len() == 1
            && spec.run.copies == 1
            && spec.run.repeat == 1
            && !spec.run.session,
        calls: 0,
        records: BTreeMap::new(),
    };
    let mut moves = shape.moves.iter();
    'runs: for on_error in runs {
        let mut agent = spec.run.agent.clone();
        loop {
            let Some(mv) = moves.next() else {
                // Out of moves: this run answers; later runs find no step and raise.
                let answer = answer(walk.agent(&agent));
                walk.push(vec![answer], None);
                break 'runs;
            };
            match walk.step(&agent, mv) {
                Next::Agent(next) => agent = next,
                Next::Ended(true) if *on_error == OnError::Stop => break 'runs,
                Next::Ended(_) => continue 'runs,
            }
        }
    }
    (walk.steps, walk.resume)
}

impl<'a> Walk<'a> {
    fn agent(&self, name: &str) -> &'a AgentSpec {
        self.spec
            .agents
            .iter()
            .find(|a| a.name == name)
            .expect("a defined agent")
    }

    fn tool(&self, name: &str) -> &'a ToolSpec {
        self.spec
            .tools
            .iter()
            .find(|t| t.name == name)
            .expect("a defined tool")
    }

    fn callables(&self, agent: &AgentSpec) -> Vec<Callable> {
        let mut out: Vec<Callable> = agent
            .tools
            .iter()
            .cloned()
            .map(Callable::Function)
            .collect();
        for server in agent
            .mcp_servers
            .iter()
            .filter_map(|s| self.spec.mcp_servers.iter().find(|m| &m.name == s))
        {
            for tool in server.tools.iter().filter(|t| {
                server
                    .allowed_tools
                    .as_ref()
                    .is_none_or(|a| a.contains(&t.name))
            }) {
                out.push(Callable::Mcp(tool.name.clone(), mcp_ends_run(server, tool)));
            }
        }
        out.extend(agent.agent_tools.iter().cloned().map(Callable::AgentTool));
        out
    }

    fn push(&mut self, output: Vec<OutputItemSpec>, error: Option<&str>) {
        let n = self.steps.len();
        let usage = self.shape.usage[n % self.shape.usage.len()];
        self.steps.push(ModelStepSpec {
            usage: usage
                .filter(|_| error.is_none())
                .map(|(input, output, cached, two)| UsageSpec {
                    requests: if two { 2 } else { 1 },
                    input_tokens: input,
                    output_tokens: output,
                    total_tokens: input + output,
                    cached_input_tokens: cached,
                    cache_write_input_tokens: cached / 2,
                    reasoning_tokens: output / 3,
                }),
            error: error.map(|name| ModelErrorSpec {
                name: name.into(),
                // The loader requires `APITimeoutError`'s fixed message.
                message: if name == "APITimeoutError" {
                    "Request timed out.".into()
                } else {
                    format!("the model call failed ({name})")
                },
            }),
            output,
        });
    }

    /// The next call item: its id is `call_<n>`, or `fc_<n>` for every fourth call of a shape
    /// with explicit ids.
    fn call_item(&mut self) -> (OutputItemSpec, String) {
        self.calls += 1;
        let n = self.calls;
        let custom = self.shape.custom_call_ids && n.is_multiple_of(4);
        let id = if custom {
            format!("fc_{n}")
        } else {
            format!("call_{n}")
        };
        (
            OutputItemSpec {
                call_id: custom.then(|| id.clone()),
                ..item()
            },
            id,
        )
    }

    fn function_call(&mut self, tool: &str, raw: Option<u8>) -> (OutputItemSpec, String) {
        let (mut out, id) = self.call_item();
        let parameter = self.tool(tool).parameters.get("x").copied();
        out.tool_call = Some(tool.to_owned());
        out.arguments = Some(arguments(parameter, self.calls));
        // Raw text only for tools without an approval policy (the policy is not asked about
        // arguments that are not an object).
        if let Some(kind) = raw.filter(|_| self.tool(tool).needs_approval.is_none()) {
            // Invalid JSON, empty text, JSON that is not an object, or the arguments as text.
            let text = match kind % 4 {
                0 => "{\"x\": ".to_owned(),
                1 => String::new(),
                2 => "[1, 2]".to_owned(),
                _ => serde_json::to_string(&out.arguments).expect("arguments are JSON"),
            };
            out.arguments = None;
            out.raw_arguments = Some(text);
        }
        (out, id)
    }

    /// Whether a call (made by `agent`) waits for a decision, and whether a standing
    /// rejection holds it.
    fn asks(&self, agent: &str, tool: &ToolSpec, id: &str) -> (bool, bool) {
        let record = self.records.get(&(agent.to_owned(), tool.name.clone()));
        match record.and_then(|r| r.status(id)) {
            Some(approved) => (false, !approved),
            None => (
                match &tool.needs_approval {
                    Some(NeedsApproval::Always(on)) => *on,
                    Some(NeedsApproval::CallIds(ids)) => ids.iter().any(|i| i == id),
                    None => false,
                },
                false,
            ),
        }
    }

    fn step(&mut self, agent: &str, mv: &Move) -> Next {
        let current = self.agent(agent);
        let callables = self.callables(current);
        match feasible(mv, &callables, &current.handoffs) {
            Move::Tools(picks, raw) => self.tools_step(current, &callables, &picks, raw),
            Move::Handoff(target, with_tool) => {
                let mut items = Vec::new();
                let mut raises = false;
                if let Some(t) = with_tool.filter(|_| !current.tools.is_empty()) {
                    let tool = self.tool(&current.tools[t % current.tools.len()]);
                    let (call, id) = self.function_call(&tool.name.clone(), None);
                    // A call that would interrupt may not go with a handoff.
                    let (asks, held) = self.asks(agent, tool, &id);
                    if asks {
                        self.calls -= 1;
                    } else {
                        raises = !held && ends_run(self.spec, tool);
                        items.push(call);
                    }
                }
                let to = current.handoffs[target % current.handoffs.len()].clone();
                let (mut handoff, _) = self.call_item();
                handoff.handoff = Some(to.clone());
                items.push(handoff);
                self.push(items, None);
                if raises {
                    Next::Ended(true)
                } else {
                    Next::Agent(to)
                }
            }
            Move::TwoHandoffs(first, second) => {
                let h = &current.handoffs;
                let a = h[first % h.len()].clone();
                let b = h[(first + 1 + second % (h.len() - 1)) % h.len()].clone();
                let mut items = Vec::new();
                for to in [&a, &b] {
                    let (mut handoff, _) = self.call_item();
                    handoff.handoff = Some(to.clone());
                    items.push(handoff);
                }
                self.push(items, None);
                Next::Agent(a)
            }
            Move::Fail(name) => {
                self.push(Vec::new(), Some(name));
                Next::Ended(true)
            }
            Move::MissingTool => {
                let (mut missing, _) = self.call_item();
                missing.missing_tool_call = Some("no_such_tool".into());
                self.push(vec![missing], None);
                Next::Ended(true)
            }
            Move::Answer(two) => {
                let message = |text: &str| OutputItemSpec {
                    message: Some(text.into()),
                    ..item()
                };
                if two && current.output_type.is_some() {
                    // No final output (the last message is empty): the agent runs again.
                    self.push(vec![message("Let me think."), message("")], None);
                    return Next::Agent(current.name.clone());
                }
                let mut items = Vec::new();
                if two {
                    items.push(message("Let me think."));
                }
                items.push(answer(current));
                self.push(items, None);
                Next::Ended(false)
            }
        }
    }

    /// A step of parallel calls. An MCP call goes alone; calls that need approval go only with
    /// plain calls (no agent tool, nothing that ends the run, no tool the agent stops at), as
    /// the loader requires of a step that can be interrupted and resumed.
    fn tools_step(
        &mut self,
        current: &'a AgentSpec,
        callables: &[Callable],
        picks: &[usize],
        raw: Option<u8>,
    ) -> Next {
        let mut chosen: Vec<Callable> = picks
            .iter()
            .map(|p| callables[p % callables.len()].clone())
            .collect();
        if let Some(mcp) = chosen
            .iter()
            .find(|c| matches!(c, Callable::Mcp(..)))
            .cloned()
        {
            chosen = vec![mcp];
        }
        // A sync tool is its step's only tool call (the loader's rule: beside others their
        // completions follow thread scheduling).
        if chosen.len() > 1
            && let Some(sync) = chosen
                .iter()
                .find(|c| matches!(c, Callable::Function(n) if self.tool(n).sync))
                .cloned()
        {
            chosen = vec![sync];
        }
        // A step that raises runs no agent tool: the walk does not give the nested run steps
        // then, so it must not need any. (A step the agent stops at runs them first.)
        let raising = chosen.iter().any(|c| match c {
            Callable::Function(n) => ends_run(self.spec, self.tool(n)),
            Callable::Mcp(_, ends) => *ends,
            Callable::AgentTool(_) => false,
        });
        if raising {
            chosen.retain(|c| !matches!(c, Callable::AgentTool(_)));
        }
        let first_call = self.calls;
        let mut items = Vec::new();
        let (mut pending, mut raises, mut stops, mut nested) =
            (Vec::new(), false, false, Vec::new());
        for callable in &chosen {
            match callable {
                Callable::Function(name) => {
                    let (call, id) = self.function_call(name, raw);
                    let tool = self.tool(name);
                    let (asks, held) = self.asks(&current.name, tool, &id);
                    stops |= current.stops_at(name);
                    if asks {
                        pending.push((id, tool));
                    } else if !held {
                        raises |= ends_run(self.spec, tool);
                    }
                    items.push(call);
                }
                Callable::Mcp(name, ends) => {
                    let (mut call, _) = self.call_item();
                    let parameter = self
                        .spec
                        .mcp_servers
                        .iter()
                        .flat_map(|s| &s.tools)
                        .find(|t| &t.name == name)
                        .and_then(|t| t.parameters.get("x").copied());
                    call.tool_call = Some(name.clone());
                    call.arguments = Some(arguments(parameter, self.calls));
                    stops |= current.stops_at(name);
                    raises |= ends;
                    items.push(call);
                }
                Callable::AgentTool(target) => {
                    let (mut call, _) = self.call_item();
                    call.agent_tool_call = Some(target.clone());
                    call.arguments =
                        Some(IndexMap::from([("input".to_owned(), json!("Check this."))]));
                    // An agent tool is a tool: the agent may stop at its result.
                    stops |= current.stops_at(target);
                    nested.push(target.clone());
                    items.push(call);
                }
            }
        }
        let interrupts = !pending.is_empty();
        if interrupts && (stops || raises || !nested.is_empty()) {
            // Not a step the loader lets interrupt: make it plain calls only, again.
            self.calls = first_call;
            let plain: Vec<usize> = callables
                .iter()
                .enumerate()
                .filter(|(_, c)| matches!(c, Callable::Function(n) if !current.stops_at(n) && !ends_run(self.spec, self.tool(n))))
                .map(|(i, _)| i)
                .filter(|i| picks.iter().any(|p| p % callables.len() == *i))
                .collect();
            if plain.is_empty() {
                return self.step(&current.name, &Move::Answer(false));
            }
            return self.tools_step(current, callables, &plain, raw);
        }
        if raises || stops {
            self.push(items, None);
            // A run that stops at a tool result ends once the agent tools it called ran.
            if !raises {
                for target in nested {
                    self.nested_run(&target);
                }
            }
            return Next::Ended(raises);
        }
        self.push(items, None);
        for target in nested {
            self.nested_run(&target);
        }
        if interrupts {
            return self.interrupt(&current.name, pending);
        }
        Next::Agent(current.name.clone())
    }

    /// The run of an agent called as a tool: one call of a tool that cannot end it (when the
    /// shape asks and the agent has one), then its answer.
    fn nested_run(&mut self, target: &str) {
        let agent = self.agent(target);
        let trips = agent.input_guardrails.iter().any(|name| {
            self.spec
                .guardrails
                .iter()
                .any(|g| &g.name == name && g.tripwire)
        });
        if trips {
            // It raises before its first model call: it takes no step.
            return;
        }
        let plain = agent
            .tools
            .iter()
            .find(|t| !agent.stops_at(t) && !ends_run(self.spec, self.tool(t)));
        if let Some(tool) = plain.filter(|_| self.shape.nested_tool_calls) {
            let (call, _) = self.function_call(tool, None);
            self.push(vec![call], None);
        }
        self.push(vec![answer(agent)], None);
    }

    /// Resume entries for an interruption, until every pending call is decided or no
    /// decision is left (the run then ends interrupted).
    fn interrupt(&mut self, agent: &str, mut pending: Vec<(String, &'a ToolSpec)>) -> Next {
        let mut raises = false;
        while !pending.is_empty() {
            let choice: Option<&ResumeShape> = self
                .resumable
                .then(|| self.shape.resumes.get(self.resume.len()))
                .flatten();
            let Some(choice) = choice else {
                return Next::Ended(false);
            };
            let mut entry = ResumeSpec {
                from: choice.from,
                approve: Vec::new(),
                reject: Vec::new(),
                always: Vec::new(),
                rejection_message: None,
                order: Vec::new(),
            };
            let mut decided_ids = Vec::new();
            for (k, (id, _)) in pending.iter().enumerate() {
                let d = choice.decisions[k % choice.decisions.len()];
                let list = match d % 5 {
                    0 | 1 => &mut entry.approve,
                    2 | 3 => &mut entry.reject,
                    _ => continue,
                };
                list.push(id.clone());
                decided_ids.push(id.clone());
                if (d / 5) % 3 == 0 {
                    entry.always.push(id.clone());
                }
            }
            if choice.message && !entry.reject.is_empty() {
                entry.rejection_message = Some("Not now.".into());
            }
            match choice.order {
                1 => entry.order = decided_ids.clone(),
                2 => entry.order = decided_ids.iter().rev().cloned().collect(),
                _ => {}
            }
            // The decisions go into the tools' records in the entry's order, as the client
            // takes them; a call then runs, is rejected, or still waits, as its record says.
            let order: Vec<String> = if entry.order.is_empty() {
                decided_ids
            } else {
                entry.order.clone()
            };
            for id in &order {
                let tool = pending.iter().find(|(p, _)| p == id).map(|(_, t)| t);
                let record = self
                    .records
                    .entry((agent.to_owned(), tool.expect("a pending call").name.clone()))
                    .or_default();
                record.decide(id, entry.approve.contains(id), entry.always.contains(id));
            }
            let records = &self.records;
            let status = |id: &String, tool: &ToolSpec| {
                records
                    .get(&(agent.to_owned(), tool.name.clone()))
                    .and_then(|r| r.status(id))
            };
            for (id, tool) in &pending {
                if status(id, tool) == Some(true) && ends_run(self.spec, tool) {
                    raises = true;
                }
            }
            pending.retain(|(id, tool)| status(id, tool).is_none());
            self.resume.push(entry);
        }
        if raises {
            Next::Ended(true)
        } else {
            Next::Agent(agent.to_owned())
        }
    }
}

/// The move itself when the current agent can make it, otherwise the first it can make of a
/// call and a handoff, otherwise an answer: generated scripts keep going.
fn feasible(mv: &Move, callables: &[Callable], handoffs: &[String]) -> Move {
    let possible = match mv {
        Move::Tools(..) => !callables.is_empty(),
        Move::Handoff(..) => !handoffs.is_empty(),
        Move::TwoHandoffs(..) => handoffs.len() >= 2,
        _ => true,
    };
    if possible {
        mv.clone()
    } else if !callables.is_empty() {
        Move::Tools(vec![0], None)
    } else if !handoffs.is_empty() {
        Move::Handoff(0, None)
    } else {
        Move::Answer(false)
    }
}

fn arguments(parameter: Option<FieldType>, seed: usize) -> IndexMap<String, Value> {
    let Some(field) = parameter else {
        return IndexMap::new();
    };
    let value = match field {
        FieldType::String => json!(["Paris", "Zürich", "id-42"][seed % 3]),
        FieldType::Integer => json!(seed as i64 - 3),
        FieldType::Number => json!(seed as f64 + 0.5),
        FieldType::Boolean => json!(seed.is_multiple_of(2)),
    };
    IndexMap::from([("x".to_owned(), value)])
}

pub fn item() -> OutputItemSpec {
    OutputItemSpec {
        message: None,
        tool_call: None,
        handoff: None,
        agent_tool_call: None,
        missing_tool_call: None,
        arguments: None,
        raw_arguments: None,
        call_id: None,
    }
}

/// A final answer: text, or an object with exactly the agent's output fields.
fn answer(agent: &AgentSpec) -> OutputItemSpec {
    let message = match &agent.output_type {
        None => "Here you go.".to_owned(),
        Some(output) => {
            let object: serde_json::Map<String, Value> = output
                .fields
                .iter()
                .map(|(name, field)| {
                    let value = match field {
                        FieldType::String => json!("Paris"),
                        FieldType::Integer => json!(3),
                        FieldType::Number => json!(21.5),
                        FieldType::Boolean => json!(true),
                    };
                    (name.clone(), value)
                })
                .collect();
            Value::Object(object).to_string()
        }
    };
    OutputItemSpec {
        message: Some(message),
        ..item()
    }
}

/// The client's `_ApprovalRecord` of one agent's tool, as far as the generator needs it (which
/// calls run): a standing decision (`always`) resets the record, a per-call one after it stands.
#[derive(Debug, Default)]
struct Record {
    standing: Option<bool>,
    approved: Vec<String>,
    rejected: Vec<String>,
}

impl Record {
    fn decide(&mut self, id: &str, approved: bool, always: bool) {
        if always {
            self.approved.clear();
            self.rejected.clear();
            self.standing = Some(approved);
            return;
        }
        let (granted, denied) = if approved {
            (&mut self.approved, &mut self.rejected)
        } else {
            (&mut self.rejected, &mut self.approved)
        };
        denied.retain(|d| d != id);
        if self.standing != Some(approved) && !granted.iter().any(|g| g == id) {
            granted.push(id.to_owned());
        }
    }

    fn status(&self, id: &str) -> Option<bool> {
        if self.approved.iter().any(|a| a == id) {
            Some(true)
        } else if self.rejected.iter().any(|r| r == id) {
            Some(false)
        } else {
            self.standing
        }
    }
}
