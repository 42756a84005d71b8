//! The js subject in the differential run (`PARITY_DIFFERENTIAL_JS=1`; the nightly sets it).
//!
//! Each generated case that python ran also runs through the JS SDK. The JS SDK differs from the
//! Python client in many known ways, which `parity-matrix.toml` declares per feature (js cells
//! that deviate, with each project scenario's pinned diff). A generated case's js-vs-python diff
//! is read as the kinds of lines it changes (`parity::compare::change_kinds`: `~hook
//! run.on_tool_end`, `-span_start generation`, …) and checked against the kinds the declared js
//! differences change on the project's scenarios: a kind none of them has is **new**, counted
//! with an example case and reported first (the run does not fail on it: declaring a difference
//! is a person's call). Cases the js driver refuses are counted by what it says it cannot build.
//!
//! The kinds are coarse (a kind says which record changed, not how): a new difference inside a
//! record that already differs in a declared way is not seen here; the matrix's pinned
//! fingerprints on the project's scenarios are what catch those.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use parity::compare::golden::{golden_path, read_golden};
use parity::compare::{change_kinds, diff};
use parity::matrix::{Declared, Matrix};
use parity::scenario::schema::ActionSpec;
use parity::scenario::{Scenario, ScenarioPaths};
use parity::subject::SubjectKind;
use parity::subject::exec::ExecSubject;
use parity::workspace::Workspace;

/// Whether this run includes the js subject.
pub fn enabled() -> bool {
    std::env::var("PARITY_DIFFERENTIAL_JS").is_ok_and(|v| v == "1")
}

/// The js subject, and the kinds of difference the matrix declares for it.
pub struct JsCheck {
    subject: SubjectKind,
    declared: BTreeSet<String>,
}

/// How one case went on the js subject.
pub enum JsOutcome {
    /// The same transcript as python.
    Same,
    /// Only kinds of difference the matrix declares.
    Declared,
    /// Kinds no declared difference has.
    New(Vec<String>),
    /// The js driver cannot build the scenario: what it names.
    Refused(String),
    /// The js subject failed otherwise (a crash, a timeout): the message's first line.
    Failed(String),
}

impl JsCheck {
    /// The js subject, and the kinds its declared differences change: each project scenario of
    /// a feature whose js cell deviates, run through js and diffed with its golden. Panics
    /// when the js subject cannot run here (the run asked for it).
    pub fn new(workspace: &Workspace) -> Self {
        let subject = SubjectKind::Exec(ExecSubject::js());
        if let Some(why) = subject.unavailable() {
            panic!("PARITY_DIFFERENTIAL_JS=1, but the js subject cannot run here: {why}");
        }
        let scenarios: Vec<Scenario> = ScenarioPaths::discover(&workspace.scenarios_dir())
            .expect("the scenarios are listed")
            .load_all()
            .unwrap_or_else(|errors| panic!("the scenarios load: {errors:?}"));
        let names: BTreeSet<String> = scenarios.iter().map(|s| s.name.clone()).collect();
        let subjects = SubjectKind::matrix_subjects();
        let known: Vec<&str> = subjects.iter().map(String::as_str).collect();
        let matrix = Matrix::load(&workspace.matrix_path(), &names, &known)
            .unwrap_or_else(|e| panic!("the matrix loads: {e}"));
        let deviating: BTreeSet<&str> = matrix
            .features
            .iter()
            .filter(|f| {
                f.cells
                    .get("js")
                    .is_some_and(|c| c.declared == Declared::Deviates)
            })
            .flat_map(|f| f.cells["js"].fingerprints.keys().map(String::as_str))
            .collect();
        let mut declared = BTreeSet::new();
        for scenario in scenarios
            .iter()
            .filter(|s| deviating.contains(s.name.as_str()))
        {
            let golden = read_golden(&golden_path(&workspace.golden_dir(), &scenario.name))
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("{}: no readable golden", scenario.name));
            // A scenario the js driver cannot build (declared unsupported in another feature)
            // has no diff to learn from; any other failure is the harness's problem.
            let js = match subject.transcript(workspace, scenario) {
                Ok(js) => js,
                Err(e) if e.to_string().contains("unsupported: ") => continue,
                Err(e) => panic!("the js subject failed on {}: {e}", scenario.name),
            };
            if let Some(diff) = diff(&golden.contents(), "python", &js, "js") {
                let kinds = Kinds::of(scenario);
                declared.extend(change_kinds(&diff).iter().map(|k| kinds.canonical(k)));
            }
        }
        Self { subject, declared }
    }

    /// Runs `scenario` through js and classifies its difference from `python`.
    pub fn case(&self, workspace: &Workspace, scenario: &Scenario, python: &str) -> JsOutcome {
        let js = match self.subject.transcript(workspace, scenario) {
            Ok(js) => js,
            Err(e) => {
                let message = e.to_string();
                return match message.split_once("unsupported: ") {
                    Some((_, what)) => JsOutcome::Refused(format!(
                        "unsupported: {}",
                        what.lines().next().unwrap_or_default().trim()
                    )),
                    None => JsOutcome::Failed(message.lines().next().unwrap_or_default().into()),
                };
            }
        };
        let Some(diff) = diff(python, "python", &js, "js") else {
            return JsOutcome::Same;
        };
        let kinds = Kinds::of(scenario);
        let new: Vec<String> = change_kinds(&diff)
            .iter()
            .map(|kind| kinds.canonical(kind))
            .filter(|kind| !self.declared.contains(kind))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if new.is_empty() {
            JsOutcome::Declared
        } else {
            JsOutcome::New(new)
        }
    }
}

/// How kinds of difference of one scenario are compared with another's: the scenario's own
/// names (agents, tools, guardrails, MCP servers, workflow and custom span names; an agent's
/// tool name too) written `@name`, numbers `N`, and a log line's message cut to its first words
/// before the data it carries (`+log "Running agent @name"`, `-log "Tool @name returned"`).
struct Kinds {
    /// The scenario's names, longest first, each whole; `None` when it has none.
    names: Option<regex::Regex>,
}

impl Kinds {
    /// The masks of `scenario`'s names, built once for all its kinds.
    fn of(scenario: &Scenario) -> Self {
        let spec = &scenario.spec;
        let mut names: Vec<String> = spec
            .agents
            .iter()
            .flat_map(|a| {
                [
                    a.name.clone(),
                    agent_tool_name(&a.name),
                    js_tool_name(&a.name),
                ]
            })
            .chain(spec.tools.iter().map(|t| t.name.clone()))
            .chain(spec.guardrails.iter().map(|g| g.name.clone()))
            .chain(spec.mcp_servers.iter().flat_map(|s| {
                std::iter::once(s.name.clone()).chain(s.tools.iter().map(|t| t.name.clone()))
            }))
            .chain(spec.run.workflow_name.clone())
            .chain(custom_span_names(
                spec.trace.as_ref().map_or(&[][..], |t| &t.body),
            ))
            .chain(spec.trace.as_ref().map(|t| t.workflow_name.clone()))
            .filter(|name| !name.is_empty())
            .collect();
        // One pass, longest first, each name whole (not inside a longer word, nor inside a
        // mask already made).
        names.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        names.dedup();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        let alternatives: Vec<String> = names
            .iter()
            .map(|name| {
                let (start, end) = (
                    if word(name.chars().next()) { r"\b" } else { "" },
                    if word(name.chars().last()) { r"\b" } else { "" },
                );
                format!("{start}{}{end}", regex::escape(name))
            })
            .collect();
        let names = (!alternatives.is_empty())
            .then(|| regex::Regex::new(&alternatives.join("|")).expect("escaped names"));
        Self { names }
    }

    /// `kind` with the names made `@name`, numbers `N`, and a log line cut to its first words
    /// (see [`Kinds`]).
    fn canonical(&self, kind: &str) -> String {
        static DIGITS: LazyLock<regex::Regex> =
            LazyLock::new(|| regex::Regex::new(r"\d+").expect("the regex is valid"));
        let out = match &self.names {
            Some(names) => names.replace_all(kind, "@name").into_owned(),
            None => kind.to_owned(),
        };
        let out = DIGITS.replace_all(&out, "N").into_owned();
        // A log line's kind is at most its message's first three words, before the first
        // data it carries (a repr, JSON, a list, a quoted value, an id): `+log "Tool @name
        // returned"`.
        match out.split_once("log \"") {
            Some((sign, message)) => {
                let head = message
                    .split(['{', '[', '(', ':', '\'', '"', '<', '#'])
                    .next()
                    .unwrap_or_default();
                let words: Vec<&str> = head.split_whitespace().take(3).collect();
                format!("{sign}log \"{}\"", words.join(" "))
            }
            None => out,
        }
    }
}

/// The names of a user trace's custom spans, at any depth.
fn custom_span_names(actions: &[ActionSpec]) -> Vec<String> {
    actions
        .iter()
        .flat_map(|action| {
            action
                .custom_span
                .clone()
                .into_iter()
                .chain(custom_span_names(&action.body))
        })
        .collect()
}

/// The tool name of an agent called as a tool: its handoff tool name without the prefix.
fn agent_tool_name(agent: &str) -> String {
    let name = codex_telemetry::lifecycle::default_handoff_tool_name(agent);
    name.strip_prefix("transfer_to_")
        .unwrap_or(&name)
        .to_owned()
}

/// The JS SDK's tool name of an agent called as a tool: non-alphanumerics as `_`, case kept.
fn js_tool_name(agent: &str) -> String {
    agent
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect()
}

/// The js side of a run's coverage.
#[derive(Default)]
pub struct JsCoverage {
    pub same: usize,
    pub declared: usize,
    pub refused: BTreeMap<String, usize>,
    /// Failures other than a refusal, by first line.
    pub failed: BTreeMap<String, usize>,
    /// New kind → how many cases, and the first case's file.
    pub new: BTreeMap<String, (usize, String)>,
}

impl JsCoverage {
    pub fn record(&mut self, outcome: JsOutcome, text: &str) {
        match outcome {
            JsOutcome::Same => self.same += 1,
            JsOutcome::Declared => self.declared += 1,
            JsOutcome::Refused(reason) => *self.refused.entry(reason).or_default() += 1,
            JsOutcome::Failed(message) => *self.failed.entry(message).or_default() += 1,
            JsOutcome::New(kinds) => {
                for kind in kinds {
                    self.new.entry(kind).or_insert((0, text.to_owned())).0 += 1;
                }
            }
        }
    }
}
