//! Differential property test: generated scenarios through the python subject (the real client,
//! embedded once for the whole run) and the rust subject must give equal transcripts.
//!
//! Scenarios are generated over the whole scenario language through the scenario *types*
//! (`parity::scenario::schema`), serialized to TOML and loaded like any file, so every case is a
//! file a person can read, and the loader is the judge of what is valid: a case it refuses fails
//! the test (a generator bug or a loader bug). The generator (`differential/shape.rs`,
//! `build.rs`, `script.rs`) walks a model script the way the client consumes it: agents calling
//! their function tools, MCP tools and agents as tools, handing off, answering or failing, runs
//! interrupted for approval and resumed (`[[run.resume]]`), several runs (repeat, copies, a user
//! trace with custom spans and `on_error`, sessions), guardrails of agents and tools, failure
//! handlers, `tool_use_behavior`, RunConfig switches and `[env]`.
//!
//! `every_schema_field_is_generated` fails naming each field of the schema (read from the types
//! with `schemars`, `differential/fields.rs`) that no generated case sets to two different
//! values (absence counts), and each enum variant no case takes.
//!
//! Each run prints its coverage to stderr and writes `target/parity-differential/coverage.json`
//! (`differential/coverage.rs`): features and pairs of features generated, the rust subject's
//! refusals by the feature they name (not failures; a refusal that names nothing is), and the
//! differences of known classes under repair (`differential/known.rs`), which are counted instead
//! of failing unless `PARITY_DIFFERENTIAL_KNOWN=1`.
//!
//! On any other difference proptest shrinks the case; the failure prints the minimal scenario as
//! a file and writes it to `target/parity-regressions/differential_counterexample.toml`: move it
//! into `scenarios/` (and record its golden with `parity run --scenario <name> --accept-new`) to
//! keep it as a regression scenario (docs/runbook.md). Seeds of failures are persisted by
//! proptest in `harness/tests/differential.proptest-regressions` and replayed first.
//!
//! Case count: `PARITY_DIFFERENTIAL_CASES`, else `PROPTEST_CASES`, else 64 (the nightly job
//! raises it). `PARITY_DIFFERENTIAL_DUMP=DIR` writes every generated case into DIR.
//! `PARITY_DIFFERENTIAL_JS=1` (the nightly) also runs each case python ran through the js
//! subject and classifies its differences against the matrix's declared ones
//! (`differential/js.rs`): new kinds are reported first in the js section of the coverage and
//! of `summary.md`, each with an example in `target/parity-regressions/js_new_difference_N.toml`
//! (the first line names the kind), for a person to declare in the matrix or report upstream.

#[path = "differential/build.rs"]
mod build;
#[path = "differential/coverage.rs"]
mod coverage;
#[path = "differential/fields.rs"]
mod fields;
#[path = "differential/js.rs"]
mod js;
#[path = "differential/known.rs"]
mod known;
#[path = "differential/script.rs"]
mod script;
#[path = "differential/shape.rs"]
mod shape;

use std::cell::RefCell;

use parity::compare::{diff, first_difference};
use parity::scenario::parse_scenario;
use parity::subject::SubjectKind;
use parity::workspace::Workspace;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRng, TestRunner};
use serde_json::Value;

use coverage::Coverage;

/// The scenario as a file, as it would be saved (fields at their default left out).
/// serde_json's exact numbers (`arbitrary_precision`) serialize as a private one-key table that
/// only serde_json reads: in TOML they must be numbers again (`21.5`, not a table).
fn restore_numbers(value: &mut toml::Value) {
    const NUMBER: &str = "$serde_json::private::Number";
    match value {
        toml::Value::Table(table) => {
            if let (1, Some(toml::Value::String(text))) = (table.len(), table.get(NUMBER)) {
                *value = match text.parse::<i64>() {
                    Ok(integer) => toml::Value::Integer(integer),
                    Err(_) => toml::Value::Float(text.parse().expect("a JSON number")),
                };
                return;
            }
            table.iter_mut().for_each(|(_, item)| restore_numbers(item));
        }
        toml::Value::Array(items) => items.iter_mut().for_each(restore_numbers),
        _ => {}
    }
}

fn to_file(shape: &shape::Shape) -> String {
    let full = toml::to_string(&build::scenario(shape)).expect("a scenario serializes to TOML");
    let mut file: toml::Value = toml::from_str(&full).expect("TOML reads back");
    restore_numbers(&mut file);
    let schema = fields::scenario_schema();
    fields::strip_defaults(&schema, &schema, &mut file);
    // Sections in the order of the documentation (a table's keys come out sorted).
    let mut body = String::new();
    for key in [
        "run",
        "env",
        "agents",
        "tools",
        "guardrails",
        "mcp_servers",
        "model",
        "trace",
    ] {
        if let Some(section) = file.get(key) {
            let one = toml::Table::from_iter([(key.to_owned(), section.clone())]);
            body += &toml::to_string(&one).expect("a scenario serializes to TOML");
            body += "\n";
        }
    }
    format!(
        "# Generated by the differential property test (harness/tests/differential.rs).\n{body}"
    )
}

/// The file's content as JSON, as the field walk reads it.
fn as_json(text: &str) -> Value {
    toml::from_str(text).expect("a generated file is TOML")
}

fn dump(text: &str) {
    // `PARITY_DIFFERENTIAL_DUMP=DIR` keeps every generated case as a file, to read what runs.
    if let Some(dir) = std::env::var_os("PARITY_DIFFERENTIAL_DUMP") {
        let dir = std::path::PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        let _ = std::fs::write(dir.join(format!("case_{n:04}.toml")), text);
    }
}

/// How one case compares `reference` with rust: `perturb` changes rust's transcript (the test
/// that shows the property can fail), `save` keeps counterexamples, `coverage` counts.
struct Check<'a> {
    workspace: &'a Workspace,
    reference: SubjectKind,
    perturb: fn(String) -> String,
    save: bool,
    coverage: &'a RefCell<Coverage>,
    /// The js subject too (`PARITY_DIFFERENTIAL_JS=1`), on the cases python ran.
    js: Option<&'a js::JsCheck>,
}

impl Check<'_> {
    fn case(&self, text: &str) -> Result<(), TestCaseError> {
        dump(text);
        let scenario = parse_scenario("generated", text).map_err(|e| {
            self.coverage.borrow_mut().loader_refusals += 1;
            TestCaseError::fail(format!(
                "the generator made a scenario the loader refuses: {e}\n{text}"
            ))
        })?;
        let rust = SubjectKind::Rust
            .supports(&scenario)
            .and_then(|()| SubjectKind::Rust.transcript(self.workspace, &scenario));
        let rust = match rust {
            Ok(rust) => (self.perturb)(rust),
            Err(e) => return self.refused(&e.to_string(), text),
        };
        let expected = self
            .reference
            .transcript(self.workspace, &scenario)
            .map_err(|e| TestCaseError::fail(format!("{} failed: {e}\n{text}", self.reference)))?;
        if let Some(js) = self.js {
            let outcome = js.case(self.workspace, &scenario, &expected);
            self.coverage.borrow_mut().js.record(outcome, text);
        }
        let classes = known::classes(&scenario.spec);
        self.coverage.borrow_mut().compared += 1;
        self.coverage.borrow_mut().in_known_classes(&classes);
        let Some(diff) = diff(&expected, self.reference.name(), &rust, "rust") else {
            return Ok(());
        };
        if !classes.is_empty() && !known::enforced() {
            self.coverage.borrow_mut().known_difference(&classes);
            return Ok(());
        }
        let path = first_difference(&expected, &rust).unwrap_or_default();
        let saved = if self.save {
            save_counterexample(self.workspace, text)
        } else {
            "not saved".into()
        };
        Err(TestCaseError::fail(format!(
            "rust differs from {} at {path}\n--- scenario ({saved}) ---\n{text}\n--- diff ---\n{diff}",
            self.reference
        )))
    }

    /// A rust refusal: counted under the feature it names, a failure when it names none.
    fn refused(&self, message: &str, text: &str) -> Result<(), TestCaseError> {
        match coverage::refusal_reason(message) {
            Some(reason) => {
                self.coverage.borrow_mut().refused(reason, text);
                Ok(())
            }
            None => Err(TestCaseError::fail(format!(
                "rust failed without naming a feature it cannot express: {message}\n{text}"
            ))),
        }
    }
}

/// Writes the case to `target/parity-regressions/` (a shrinking run overwrites it with ever
/// smaller cases; the last one written is the minimal one).
fn save_counterexample(workspace: &Workspace, text: &str) -> String {
    let dir = workspace.root().join("target/parity-regressions");
    let path = dir.join("differential_counterexample.toml");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text)) {
        Ok(()) => format!("saved as {}", workspace.display(&path)),
        Err(e) => format!("not saved: {e}"),
    }
}

fn case_count() -> u32 {
    ["PARITY_DIFFERENTIAL_CASES", "PROPTEST_CASES"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.parse().ok())
        .unwrap_or(64)
}

/// What the generator leaves out on purpose, and why (printed with the coverage).
const AVOIDED: &[(&str, &str)] = &[
    (
        "tool guardrails on a tool that needs approval",
        "the rust subject refuses the combination (capabilities.rs); every such case would be a refusal",
    ),
    (
        "agent tools in a step that raises (a failing tool without a handler, an MCP error that ends the run)",
        "the loader's walk gives the nested run no steps there, while the client would run it",
    ),
    (
        "raw_arguments for MCP tools",
        "the rust subject refuses them (how the client's MCP invoker reports them is not modelled)",
    ),
    (
        "raw_arguments for tools with needs_approval, and calls that need approval beside a handoff, an agent tool, a raise or a tool the agent stops at",
        "the loader allows interrupting only steps of plain calls; raw text would make a per-call policy ask regardless of the call id",
    ),
    (
        "nested runs of agent tools that hand off, fail, or call a tool that could end them",
        "a nested run that ends early leaves its later steps to the caller: the nested run calls at most one plain tool, then answers (or takes no step when its input guardrail trips)",
    ),
];

#[test]
fn python_and_rust_agree_on_generated_scenarios() {
    let workspace = Workspace::current();
    // The embedded interpreter starts (and the venv is set up) once, before any case.
    SubjectKind::Python
        .transcript(
            &workspace,
            &parse_scenario("warmup", "# Warm-up.\n[run]\nagent = \"a\"\ninput = \"Hi.\"\n\n[[agents]]\nname = \"a\"\n\n[[model.steps]]\noutput = [{ message = \"Hi!\" }]\n").unwrap(),
        )
        .expect("the python subject starts");
    let config = Config {
        cases: case_count(),
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        max_shrink_iters: 1024,
        ..Config::default()
    };
    let coverage = RefCell::new(Coverage::default());
    coverage.borrow_mut().avoided = AVOIDED.to_vec();
    let schema = fields::scenario_schema();
    let js = js::enabled().then(|| js::JsCheck::new(&workspace));
    coverage.borrow_mut().js_enabled = js.is_some();
    let check = Check {
        workspace: &workspace,
        reference: SubjectKind::Python,
        perturb: |rust| rust,
        save: true,
        coverage: &coverage,
        js: js.as_ref(),
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&shape::shape(), |shape| {
        let text = to_file(&shape);
        coverage.borrow_mut().case(&schema, &as_json(&text));
        check.case(&text)
    });
    coverage
        .borrow()
        .report(&workspace.root().join("target/parity-differential"));
    if let Err(e) = result {
        panic!("{e}");
    }
    // New kinds of js difference are reported (coverage, summary.md), with an example case
    // each in target/parity-regressions/, not failed on: declaring them is a person's call.
    let regressions = workspace.root().join("target/parity-regressions");
    // The examples of an earlier run would read as this run's.
    for old in std::fs::read_dir(&regressions)
        .into_iter()
        .flatten()
        .flatten()
    {
        if old
            .file_name()
            .to_string_lossy()
            .starts_with("js_new_difference_")
        {
            let _ = std::fs::remove_file(old.path());
        }
    }
    for (i, (kind, (count, example))) in coverage.borrow().js.new.iter().enumerate() {
        let path = regressions.join(format!("js_new_difference_{i}.toml"));
        let _ = std::fs::create_dir_all(&regressions);
        let _ = std::fs::write(
            &path,
            format!("# New js difference: {kind} ({count} cases)\n{example}"),
        );
    }
}

/// Enough for the injected difference to shrink to one call from the fixed seed below.
const SHRINK_ITERS_FOR_INJECTED: u32 = 1024;

/// The property can fail: a difference injected into the rust transcripts of tool calls is
/// found, and shrunk to a scenario with a single tool call. The reference here is the rust
/// subject's own, unperturbed transcript: what is checked is finding, shrinking and reporting.
#[test]
fn an_injected_difference_is_found_and_shrunk() {
    let workspace = Workspace::current();
    let config = Config {
        cases: 256,
        failure_persistence: None,
        max_shrink_iters: SHRINK_ITERS_FOR_INJECTED,
        ..Config::default()
    };
    // A fixed seed: this checks the machinery (find, shrink, report), so it must not depend on
    // the luck of one run's draw.
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let coverage = RefCell::new(Coverage::default());
    let check = Check {
        workspace: &workspace,
        reference: SubjectKind::Rust,
        perturb: |rust| rust.replace(r#""type":"function""#, r#""type":"functi0n""#),
        save: false,
        coverage: &coverage,
        js: None,
    };
    let result = runner.run(&shape::shape(), |shape| check.case(&to_file(&shape)));
    let Err(proptest::test_runner::TestError::Fail(reason, minimal)) = result else {
        panic!("the injected difference was not found: {result:?}");
    };
    assert!(
        reason.message().contains("(function)"),
        "{}",
        reason.message()
    );
    let file = to_file(&minimal);
    assert_eq!(
        file.matches("tool_call = ").count(),
        1,
        "not shrunk to one call:\n{file}"
    );
    assert!(
        file.matches("[[model.steps]]").count() <= 2,
        "not shrunk:\n{file}"
    );
}

/// A refusal is counted under the feature it names, without where it is or the scenario's
/// names; one that names nothing is not a refusal (the test fails on it).
#[test]
fn refusals_are_named_by_their_feature() {
    let prefix = "rust: generated: the rust subject cannot express this scenario: ";
    assert_eq!(
        coverage::refusal_reason(&format!(
            "{prefix}model.steps[3].output[1]: tool `get_weather` called with a string for parameter `x` of type Integer (pydantic coercion is not modelled)"
        ))
        .as_deref(),
        Some("tool `…` called with a string for parameter `…` of type Integer (pydantic coercion is not modelled)")
    );
    assert_eq!(
        coverage::refusal_reason(&format!(
            "{prefix}tool \"send_mail\" needs approval and has tool guardrails: where the client checks them is not modelled"
        ))
        .as_deref(),
        Some("tool \"…\" needs approval and has tool guardrails")
    );
    assert_eq!(coverage::refusal_reason(prefix), None);
    assert_eq!(
        coverage::refusal_reason("python: generated: Traceback …"),
        None
    );
}

/// Cases drawn from a fixed seed, the generator only (no subject): fast.
fn generated_files(n: usize) -> Vec<String> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(Config::default().rng_algorithm),
    );
    let strategy = shape::shape();
    (0..n)
        .map(|_| to_file(&strategy.new_tree(&mut runner).unwrap().current()))
        .collect()
}

/// What `files` use of the language.
fn observed(schema: &Value, files: &[String]) -> fields::Observed {
    let mut observed = fields::Observed::default();
    for text in files {
        observed.observe(schema, &as_json(text));
    }
    observed
}

/// Every field of the scenario schema (derived from the types, not listed here) is produced by
/// the generator, and every generated case is one the loader accepts.
#[test]
fn every_schema_field_is_generated() {
    let files = generated_files(512);
    for text in &files {
        if let Err(e) = parse_scenario("generated", text) {
            panic!("the generator made a scenario the loader refuses: {e}\n{text}");
        }
    }
    let schema = fields::scenario_schema();
    let all = fields::schema_fields(&schema);
    let obs = observed(&schema, &files);
    let unused = obs.unused(&all);
    assert!(
        unused.is_empty(),
        "fields of the scenario schema no generated case uses (add them to the generator, harness/tests/differential/): {unused:#?}"
    );
}

/// The field check finds a field the generator does not know: a property injected into the
/// schema of `[run]`, and a variant injected into an enum, are reported; nothing else is.
#[test]
fn the_field_check_names_an_unknown_field() {
    let mut schema = fields::scenario_schema();
    let defs = schema["$defs"].as_object_mut().expect("definitions");
    defs["RunSpec"]["properties"]
        .as_object_mut()
        .expect("properties of RunSpec")
        .insert("unheard_of".into(), serde_json::json!({"type": "string"}));
    // schemars writes documented variants as a `oneOf` of `const`s, others as an `enum`.
    let from = &mut defs["ResumeFrom"];
    match from.get_mut("oneOf").and_then(Value::as_array_mut) {
        Some(variants) => {
            variants.push(serde_json::json!({"type": "string", "const": "carrier_pigeon"}))
        }
        None => from["enum"]
            .as_array_mut()
            .expect("the variants of ResumeFrom")
            .push("carrier_pigeon".into()),
    }
    let files = generated_files(512);
    let all = fields::schema_fields(&schema);
    assert!(all.contains("run.unheard_of"), "{all:#?}");
    let unused = observed(&schema, &files).unused(&all);
    assert_eq!(
        unused,
        ["run.resume.from=carrier_pigeon", "run.unheard_of"],
        "the injected field and variant, and only them"
    );
}
