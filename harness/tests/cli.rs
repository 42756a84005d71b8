//! The `parity` command line as users see it: exit codes, error messages, reports and diffs.
//!
//! Tests that need different files run the binary on a scratch copy of the workspace
//! (`PARITY_ROOT`), sharing the real venv (`PARITY_VENV`) so nothing is installed twice.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use parity::workspace::Workspace;
use serde_json::Value;

fn root() -> PathBuf {
    Workspace::current().root().to_path_buf()
}

fn parity(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_parity"));
    command.args(args);
    command
}

/// Sets up the Python environment once, with its progress shown (the tests below capture the
/// output of the processes they check, which would hide a first-use install).
fn python_ready() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| {
        let status = parity(&["setup"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("parity setup runs");
        assert!(
            status.success(),
            "parity setup failed (its output is above)"
        );
    });
}

/// A scratch workspace with the real scenarios, goldens and python driver, using the real venv.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["scenarios", "golden", "harness/python"] {
            copy_dir(&root().join(sub), &dir.path().join(sub));
        }
        Scratch { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn parity(&self, args: &[&str]) -> Command {
        let mut command = parity(args);
        command.env("PARITY_ROOT", self.dir.path());
        command.env("PARITY_VENV", Workspace::current().venv_dir());
        command
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.path().is_file() && !name.ends_with(".snap.new") {
            std::fs::copy(entry.path(), to.join(&*name)).unwrap();
        }
    }
}

fn run(mut command: Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("parity runs");
    (
        status.code().expect("exited normally"),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// Runs `parity` with `--format json` added; returns the exit code and the parsed report.
fn run_json(mut command: Command) -> (i32, Value) {
    command.args(["--format", "json"]);
    let (code, stdout, stderr) = run(command);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("stdout is not one JSON object ({e}):\n{stdout}\nstderr: {stderr}")
    });
    (code, report)
}

fn scenario_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn real_scenario(name: &str) -> String {
    std::fs::read_to_string(root().join("scenarios").join(format!("{name}.toml"))).unwrap()
}

#[test]
fn misspelled_field_exits_2_naming_file_and_field() {
    let text = real_scenario("tool_call").replace("input = ", "inptu = ");
    let dir = scenario_dir(&[("typo.toml", &text)]);
    let (code, stdout, stderr) = run(parity(&[
        "run",
        "--scenarios",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(code, 2, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("typo.toml"), "{stderr}");
    assert!(stderr.contains("unknown field `inptu`"), "{stderr}");
    assert!(stderr.contains("line 4"), "{stderr}");
    assert!(stdout.is_empty(), "no subject may run: {stdout}");
}

#[test]
fn every_broken_file_is_reported_at_once() {
    let undefined_tool =
        real_scenario("tool_call").replace("tools = [\"get_weather\"]", "tools = [\"get_wether\"]");
    let no_description = real_scenario("one_turn_text")
        .lines()
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n");
    let dir = scenario_dir(&[("a.toml", &undefined_tool), ("b.toml", &no_description)]);
    let (code, _, stderr) = run(parity(&[
        "run",
        "--scenarios",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("a.toml: field `agents[0].tools[0]`: tool \"get_wether\" is not defined"),
        "{stderr}"
    );
    assert!(
        stderr.contains("b.toml: the first line must be a comment"),
        "{stderr}"
    );
}

#[test]
fn unknown_subject_and_unmatched_filter_exit_2() {
    let (code, _, stderr) = run(parity(&["run", "--subject", "perl"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown subject \"perl\"; expected `python`, `rust` or `all`"),
        "{stderr}"
    );

    let (code, _, stderr) = run(parity(&["run", "--scenario", "no_such_*"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--scenario \"no_such_*\" matches no scenario"),
        "{stderr}"
    );
}

#[test]
fn json_report_of_a_passing_subset() {
    python_ready();
    let (code, report) = run_json(parity(&[
        "run",
        "--subject",
        "python",
        "--scenario",
        "tool_call",
        "--scenario",
        "handoff",
    ]));
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["python_client"]["package"], "openai-agents");
    assert_eq!(report["python_client"]["version"], "0.24.0");
    assert_eq!(report["normalizer_version"], 1);
    assert_eq!(report["subjects"], serde_json::json!(["python"]));
    let results = report["results"].as_array().unwrap();
    let cells: Vec<(&str, &str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["scenario"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["golden"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        vec![
            ("handoff", "pass", "golden/handoff.snap"),
            ("tool_call", "pass", "golden/tool_call.snap")
        ]
    );
    assert_eq!(report["summary"]["pass"], 2);
    assert_eq!(report["summary"]["fail"], 0);
}

#[test]
fn raw_records_are_json_lines_in_the_record_schema() {
    python_ready();
    let (code, stdout, stderr) = run(parity(&[
        "show",
        "tool_call",
        "--subject",
        "python",
        "--raw",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let records: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a JSON object"))
        .collect();
    for (i, record) in records.iter().enumerate() {
        let keys: Vec<&str> = record
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["seq", "kind", "data"]);
        assert_eq!(record["seq"], i as u64);
    }
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "trace_start").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "span_start").count(), 7);
    assert_eq!(kinds.last(), Some(&"outcome"));
    let function_end = records
        .iter()
        .find(|r| r["kind"] == "span_end" && r["data"]["span_data"]["type"] == "function")
        .unwrap();
    assert_eq!(
        function_end["data"]["span_data"]["output"],
        "sunny in Paris"
    );
}

#[test]
fn hand_edited_golden_fails_with_a_diff() {
    python_ready();
    let scratch = Scratch::new();
    let golden = scratch.path("golden/tool_call.snap");
    let text = std::fs::read_to_string(&golden).unwrap();
    assert!(text.contains("sunny in Paris"));
    std::fs::write(
        &golden,
        text.replacen("\"sunny in Paris\"", "\"rainy in Paris\"", 1),
    )
    .unwrap();
    let (code, stdout, stderr) = run(scratch.parity(&["run", "--scenario", "tool_call"]));
    assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains(
            "FAIL     python   tool_call: the python transcript differs from golden/tool_call.snap"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("--- golden/tool_call.snap"), "{stdout}");
    assert!(stdout.contains("+++ python"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with('-') && l.contains("rainy in Paris")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with('+') && l.contains("sunny in Paris")),
        "{stdout}"
    );
}

#[test]
fn corrupt_golden_is_an_error_naming_the_file() {
    python_ready();
    let scratch = Scratch::new();
    std::fs::write(scratch.path("golden/handoff.snap"), "not a snapshot\n").unwrap();
    let (code, report) = run_json(scratch.parity(&["run", "--scenario", "handoff"]));
    assert_eq!(code, 1);
    let result = &report["results"][0];
    assert_eq!(result["status"], "error");
    let message = result["message"].as_str().unwrap();
    assert!(message.contains("golden/handoff.snap"), "{message}");
    assert!(message.contains("not a valid insta snapshot"), "{message}");
}

#[test]
fn scenario_without_golden_is_reported_not_passed() {
    python_ready();
    let dir = scenario_dir(&[("brand_new_scenario.toml", &real_scenario("one_turn_text"))]);
    let (code, report) = run_json(parity(&[
        "run",
        "--subject",
        "python",
        "--scenarios",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(code, 1);
    let result = &report["results"][0];
    assert_eq!(result["status"], "error");
    assert_eq!(result["golden"], Value::Null);
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .starts_with("no golden at golden/brand_new_scenario.snap"),
        "{result}"
    );
}

#[test]
fn driver_failure_is_an_error_for_that_scenario_only() {
    python_ready();
    // `class` is a valid TOML key but not a valid Python parameter name: building the tool fails
    // inside the python driver, which is a subject error, not a run outcome.
    let broken = real_scenario("tool_call")
        .replace("{ city = \"string\" }", "{ class = \"string\" }")
        .replace(
            "arguments = { city = \"Paris\" }",
            "arguments = { class = \"Paris\" }",
        );
    let dir = scenario_dir(&[
        ("tool_call.toml", &broken),
        ("one_turn_text.toml", &real_scenario("one_turn_text")),
    ]);
    let (code, report) = run_json(parity(&[
        "run",
        "--subject",
        "python",
        "--scenarios",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(code, 1);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results[0]["scenario"], "one_turn_text");
    assert_eq!(results[0]["status"], "pass");
    assert_eq!(results[1]["scenario"], "tool_call");
    assert_eq!(results[1]["status"], "error");
    let message = results[1]["message"].as_str().unwrap();
    assert!(
        message.starts_with("python subject failed on scenario tool_call"),
        "{message}"
    );
    assert!(
        message.contains("Traceback (most recent call last)"),
        "{message}"
    );
}

#[test]
fn expected_exceptions_are_outcomes_in_the_transcript() {
    python_ready();
    for (scenario, error) in [
        ("max_turns_exceeded", "MaxTurnsExceeded"),
        (
            "input_guardrail_tripwire",
            "InputGuardrailTripwireTriggered",
        ),
        (
            "output_guardrail_tripwire",
            "OutputGuardrailTripwireTriggered",
        ),
        ("model_error", "ModelUnavailable"),
        ("missing_tool_call", "ModelBehaviorError"),
    ] {
        let (code, stdout, stderr) = run(parity(&["show", scenario]));
        assert_eq!(code, 0, "{scenario}: {stderr}");
        let outcome = stdout
            .lines()
            .find(|l| l.starts_with("outcome "))
            .unwrap_or_else(|| panic!("{scenario} has an outcome line:\n{stdout}"));
        assert!(
            outcome.contains("\"status\":\"raised\""),
            "{scenario}: {outcome}"
        );
        assert!(
            outcome.contains(&format!("\"error\":\"{error}\"")),
            "{scenario}: {outcome}"
        );
    }
}

#[test]
fn doctor_reports_a_consistent_setup() {
    python_ready();
    let (code, stdout, _) = run(parity(&["doctor"]));
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("openai-agents"), "{stdout}");
    assert!(stdout.contains("loaded libpython"), "{stdout}");
    assert!(stdout.contains("no problems found"), "{stdout}");
}

#[test]
fn both_subjects_pass_every_scenario_by_default() {
    python_ready();
    let (code, report) = run_json(parity(&["run"]));
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["subjects"], serde_json::json!(["python", "rust"]));
    let scenarios = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2 * scenarios);
    for result in results {
        assert_eq!(result["status"], "pass", "{result}");
        assert!(
            result["golden"].as_str().unwrap().starts_with("golden/"),
            "{result}"
        );
    }
}

#[test]
fn scenario_the_rust_subject_cannot_express_is_an_error_not_a_pass() {
    // A structured output that fails validation while model data is logged: Python's log line
    // would carry pydantic's message, which the rust subject does not imitate.
    let text = r#"# Structured output fails validation while model data is logged.
[run]
agent = "weather"
input = "Weather?"

[env]
OPENAI_AGENTS_DONT_LOG_MODEL_DATA = "0"

[[agents]]
name = "weather"

[agents.output_type]
name = "Weather"
fields = { city = "string" }

[[model.steps]]
output = [{ message = '{"city": 1}' }]
"#;
    let dir = scenario_dir(&[("pydantic_message.toml", text)]);
    let (code, report) = run_json(parity(&[
        "run",
        "--subject",
        "rust",
        "--scenarios",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(code, 1);
    let result = &report["results"][0];
    assert_eq!(result["subject"], "rust");
    assert_eq!(result["status"], "error");
    let message = result["message"].as_str().unwrap();
    assert!(
        message.contains("the rust subject cannot express this scenario"),
        "{message}"
    );
}
