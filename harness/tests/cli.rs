//! The `parity` command line as users see it: exit codes, error messages, reports and diffs.
//!
//! Most tests run the command line in this process (`parity::cli::run_in`, what the binary's
//! `main` calls), so they share one embedded CPython instead of starting one each; a few
//! run the built binary itself, for what only a process shows (its exit status, clap's
//! usage errors). Tests that need different files work on a scratch copy of the workspace
//! sharing the real venv, so nothing is installed twice.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser;
use parity::cli::{Cli, Environment, run_in};
use parity::golden::is_ci;
use parity::workspace::Workspace;
use serde_json::Value;

fn root() -> PathBuf {
    Workspace::current().root().to_path_buf()
}

/// The pinned client's version (`harness/python/requirements.txt`), which reports name.
fn pinned() -> String {
    parity::drift::pinned_version(&Workspace::current())
        .unwrap()
        .to_string()
}

/// One `parity` command line and the environment it runs in.
struct Invocation {
    args: Vec<OsString>,
    env: Environment,
}

impl Invocation {
    fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    fn args(self, args: &[&str]) -> Self {
        args.iter()
            .fold(self, |invocation, arg| invocation.arg(*arg))
    }

    /// As if `CI` were set (or not) for this run.
    fn ci(mut self, ci: bool) -> Self {
        self.env.ci = ci;
        self
    }
}

/// `parity ARGS` in the checkout, with this test process's `CI` (as a child would inherit).
fn parity(args: &[&str]) -> Invocation {
    in_workspace(Workspace::current(), args)
}

fn in_workspace(workspace: Workspace, args: &[&str]) -> Invocation {
    Invocation {
        args: vec![OsString::from("parity")],
        env: Environment {
            workspace,
            ci: is_ci(),
            progress: false,
        },
    }
    .args(args)
}

/// The built binary, for the checks only a process shows.
fn binary(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_parity"));
    command.args(args);
    command
}

/// Sets up the Python environment once, with its progress shown (the tests below capture the
/// output of the runs they check, which would hide a first-use install). In this process and
/// without starting the interpreter: a binary run of `parity setup` would import the client.
fn python_ready() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| {
        if let Err(e) = parity::subject::python::venv::ensure(&Workspace::current(), false) {
            panic!("the Python environment cannot be set up: {e}");
        }
    });
}

/// A scratch workspace with the real scenarios, goldens and python driver, using the real venv.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["scenarios", "golden", "harness/python", "docs"] {
            copy_dir(&root().join(sub), &dir.path().join(sub));
        }
        for file in [
            "parity-matrix.toml",
            "coverage.toml",
            "differential-coverage.json",
        ] {
            std::fs::copy(root().join(file), dir.path().join(file)).unwrap();
        }
        Scratch { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn parity(&self, args: &[&str]) -> Invocation {
        let workspace =
            Workspace::at(self.dir.path().to_path_buf()).with_venv(Workspace::current().venv_dir());
        in_workspace(workspace, args)
    }

    /// The built binary on this scratch copy: for runs that must load its own python
    /// driver (an interpreter already started in this process keeps the checkout's).
    fn binary(&self, args: &[&str]) -> Command {
        let mut command = binary(args);
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

/// Runs the command line as the binary would (clap's usage errors exit 2); returns the exit
/// code, stdout and stderr.
fn run(invocation: Invocation) -> (i32, String, String) {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = match Cli::try_parse_from(&invocation.args) {
        Ok(cli) => run_in(&invocation.env, cli, &mut stdout, &mut stderr),
        Err(usage) => {
            let out = if usage.use_stderr() {
                &mut stderr
            } else {
                &mut stdout
            };
            out.extend_from_slice(usage.to_string().as_bytes());
            usage.exit_code()
        }
    };
    (
        code,
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// Runs the built binary; returns the exit code, stdout and stderr.
fn run_binary(mut command: Command) -> (i32, String, String) {
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
fn run_json(invocation: Invocation) -> (i32, Value) {
    json_report(run(invocation.args(&["--format", "json"])))
}

/// [`run_json`] with the built binary.
fn run_binary_json(mut command: Command) -> (i32, Value) {
    command.args(["--format", "json"]);
    json_report(run_binary(command))
}

fn json_report((code, stdout, stderr): (i32, String, String)) -> (i32, Value) {
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
    // The process's exit status, from the binary itself.
    let (code, stdout, stderr) = run_binary(binary(&[
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
    // A usage error from clap, as the binary reports it.
    let (code, _, stderr) = run_binary(binary(&["run", "--subject", "perl"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "unknown subject \"perl\"; expected `python`, `rust`, `js`, `all`, `exec:CMD` or `exec-serve:CMD`"
        ),
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
    assert_eq!(report["python_client"]["version"], pinned());
    assert_eq!(
        report["normalizer_version"],
        parity::normalize::NORMALIZER_VERSION
    );
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
    // The path of the first difference comes before the diff.
    assert!(
        stdout.contains(
            "    first difference: hook run.on_tool_end at trace#1 > span#1 (task) > span#2 (agent) > span#3 (turn)"
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
fn driver_failure_is_an_error_for_that_scenario_only() {
    python_ready();
    // The loader refuses everything the client cannot build, so a driver failure is injected
    // into a scratch copy of the driver: it is a subject error, not a run outcome.
    let scratch = Scratch::new();
    let driver = scratch.path("harness/python/parity_driver.py");
    let source = std::fs::read_to_string(&driver).unwrap().replacen(
        ") -> Any:\n    name = spec[\"name\"]\n",
        ") -> Any:\n    raise RuntimeError(\"injected driver failure\")\n    name = spec[\"name\"]\n",
        1,
    );
    assert!(source.contains("injected driver failure"));
    std::fs::write(&driver, source).unwrap();
    let (code, report) = run_binary_json(scratch.binary(&[
        "run",
        "--subject",
        "python",
        "--scenario",
        "tool_call",
        "--scenario",
        "one_turn_text",
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
    assert!(message.contains("injected driver failure"), "{message}");
    assert!(
        message.contains("Traceback (most recent call last)"),
        "{message}"
    );
}

/// `parity run` on an outside folder, with `CI` set or not.
fn run_outside(dir: &Path, ci: bool, extra: &[&str]) -> (i32, Value) {
    run_json(
        parity(&["run", "--scenarios", dir.to_str().unwrap()])
            .args(extra)
            .ci(ci),
    )
}

#[test]
fn outside_folders_keep_their_own_goldens_and_new_ones_wait_for_review() {
    python_ready();
    // Named like a project scenario but with other content: never compared with
    // golden/handoff.snap.
    let dir = scenario_dir(&[("handoff.toml", &real_scenario("one_turn_text"))]);
    let golden = dir.path().join("golden/handoff.snap");
    let pending = dir.path().join("golden/handoff.snap.new");

    // In CI: reported as new, nothing written, exit 1 (as insta fails on new snapshots).
    let (code, report) = run_outside(dir.path(), true, &[]);
    assert_eq!(code, 1, "{report}");
    let python = &report["results"][0];
    assert_eq!(python["subject"], "python");
    assert_eq!(python["status"], "new", "{python}");
    assert_eq!(python["golden"], golden.to_str().unwrap());
    assert_eq!(
        report["results"][1]["status"], "pass",
        "rust is compared with python"
    );
    assert_eq!(report["summary"]["new"], 1);
    assert!(!pending.exists() && !golden.exists());

    // Locally: a pending snapshot for `cargo insta review`, exit 0.
    let (code, report) = run_outside(dir.path(), false, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["results"][0]["status"], "new");
    let text = std::fs::read_to_string(&pending).expect("a pending .snap.new is written");
    assert!(text.starts_with("---\n"), "{text}");
    assert!(
        text.contains(&format!("  client_version: \"{}\"\n", pinned())),
        "{text}"
    );
    assert!(!golden.exists(), "nothing is accepted without a request");

    // On request: recorded as the golden, the pending file gone; then the folder passes, in CI.
    let (code, report) = run_outside(dir.path(), true, &["--accept-new"]);
    assert_eq!(code, 0, "{report}");
    assert!(golden.exists() && !pending.exists());
    let (code, report) = run_outside(dir.path(), true, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["summary"]["pass"], 2, "{report}");

    // A golden that exists is never rewritten, even with --accept-new.
    let recorded = std::fs::read_to_string(&golden).unwrap();
    let changed = real_scenario("one_turn_text").replace("Hello!", "Goodbye!");
    std::fs::write(dir.path().join("handoff.toml"), changed).unwrap();
    let (code, report) = run_outside(dir.path(), false, &["--accept-new"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["results"][0]["status"], "fail", "{report}");
    assert_eq!(std::fs::read_to_string(&golden).unwrap(), recorded);
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
    // A fresh process: doctor loads libpython itself. Run from the package folder, as cargo
    // runs tests, it finds the checkout above it and says so first.
    let (code, stdout, _) = run_binary(binary(&["doctor"]));
    assert_eq!(code, 0, "{stdout}");
    let root = root().canonicalize().unwrap().display().to_string();
    assert!(
        stdout.starts_with(&format!(
            "workspace  {root} (found from the current directory {root}/harness (parity-matrix.toml above it))\n"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("openai-agents"), "{stdout}");
    assert!(stdout.contains("loaded libpython"), "{stdout}");
    assert!(stdout.contains("no problems found"), "{stdout}");
}

fn node_present() -> bool {
    Command::new("node").arg("--version").output().is_ok()
}

#[test]
fn the_default_run_has_every_subject_and_passes_or_deviates_as_declared() {
    // A slice of the scenarios: every cell of every scenario is checked the same way by the
    // golden tests (python::, rust::, js::) and by `.ci/run`'s full run of the README's first
    // command; this checks what the command line adds (the default subjects, the report).
    python_ready();
    let (code, report) = run_json(parity(&["run", "--partition", "1/8"]));
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["subjects"],
        serde_json::json!(["python", "rust", "js"])
    );
    let scenarios = parity::scenario::ScenarioPaths::discover(&root().join("scenarios"))
        .unwrap()
        .partition(1, 8)
        .names()
        .count();
    assert!(scenarios > 10, "{scenarios}");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 3 * scenarios);
    // Every cell passes, except rust and js cells the matrix pins as deviations (each with its
    // reason), which the run reports as such; without Node.js every js cell is skipped.
    let matrix = std::fs::read_to_string(root().join("parity-matrix.toml")).unwrap();
    for result in results {
        match result["status"].as_str() {
            Some("pass") => assert_ne!(result["subject"], "js", "{result}"),
            Some("skipped") => {
                assert!(!node_present(), "{result}");
                assert_eq!(result["subject"], "js", "{result}");
                assert!(
                    result["message"].as_str().unwrap().contains("Node.js"),
                    "{result}"
                );
                continue;
            }
            Some("deviation") => {
                let scenario = result["scenario"].as_str().unwrap();
                assert_ne!(result["subject"], "python", "{result}");
                assert!(
                    matrix.contains(&format!(
                        "{scenario} = \"{}\"",
                        result["fingerprint"].as_str().unwrap()
                    )),
                    "a deviation not pinned in parity-matrix.toml: {result}"
                );
                assert!(
                    result["message"]
                        .as_str()
                        .unwrap()
                        .starts_with("declared in parity-matrix.toml"),
                    "{result}"
                );
            }
            _ => panic!("{result}"),
        }
        // Every cell was compared with its golden, except those whose subject said it cannot
        // run the scenario (declared unsupported).
        match result["golden"].as_str() {
            Some(golden) => assert!(golden.starts_with("golden/"), "{result}"),
            None => assert!(
                result["message"]
                    .as_str()
                    .unwrap()
                    .contains("unsupported: "),
                "{result}"
            ),
        }
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

#[test]
fn every_loader_rule_is_bad_input_naming_file_field_and_fix() {
    let tool_call = real_scenario("tool_call");
    let one_turn = real_scenario("one_turn_text");
    let keyword = tool_call
        .replace("{ city = \"string\" }", "{ class = \"string\" }")
        .replace("{ city = \"Paris\" }", "{ class = \"Paris\" }");
    let copies = one_turn.replace("[run]\n", "[run]\ncopies = 65\n");
    let misspelled =
        real_scenario("model_error").replace("ModelUnavailable", "ModelBehaviourError");
    let tripwire =
        real_scenario("model_error").replace("ModelUnavailable", "InputGuardrailTripwireTriggered");
    let private = real_scenario("structured_output").replace("city =", "_city =");
    let deep = format!(
        "{one_turn}\n[env]\nX = {}\"x\"{}\n",
        "[".repeat(50),
        "]".repeat(50)
    );
    let long_line = format!("{one_turn}\noops = \"{}\" trailing\n", "y".repeat(900_000));
    let too_large = format!("{one_turn}\n# {}\n", "z".repeat(1_100_000));
    let stop_at = real_scenario("stop_at_tool_names").replace(
        "stop_at_tool_names = [\"get_time\"]",
        "stop_at_tool_names = [\"get_time\", \"get_clock\"]\ntool_use_behavior = \"stop_on_first_tool\"",
    );
    let behavior =
        real_scenario("stop_on_first_tool").replace("stop_on_first_tool\"", "stop_on_last_tool\"");
    let repeat = real_scenario("sequential_runs").replace(
        "repeat = 2",
        "repeat = 2\ncopies = 2\ntrace_id = \"trace_0123456789abcdef0123456789abcdef\"",
    );
    let on_error = real_scenario("runs_in_trace_continue_after_error").replace(
        "custom_span = \"retry\"",
        "custom_span = \"retry\"\non_error = \"continue\"",
    );
    let parallel_output = real_scenario("guardrails_on_handed_off_agent").replace(
        "kind = \"output\"",
        "kind = \"output\"\nrun_in_parallel = false",
    );
    let final_function = real_scenario("tools_final_output_function").replace(
        "tools_final_output = ",
        "tool_use_behavior = \"stop_on_first_tool\"\ntools_final_output = ",
    );
    let tool_guardrail = real_scenario("tool_input_guardrail_reject_content").replace(
        "behavior = \"reject_content\"",
        "behavior = \"allow\"\ntripwire = true",
    );
    let failure = real_scenario("tool_failure_message").replace(
        "failure_message =",
        "failure_error_function = \"none\"\nfailure_message =",
    );
    let approval = real_scenario("approval_approve")
        .replace("needs_approval = true", "needs_approval = \"yes\"");
    let dir = scenario_dir(&[
        ("empty.toml", " \n"),
        ("approval.toml", &approval),
        ("stop_at.toml", &stop_at),
        ("behavior.toml", &behavior),
        ("failure.toml", &failure),
        ("tool_guardrail.toml", &tool_guardrail),
        ("final_function.toml", &final_function),
        ("parallel_output.toml", &parallel_output),
        ("repeat.toml", &repeat),
        ("on_error.toml", &on_error),
        ("keyword.toml", &keyword),
        ("copies.toml", &copies),
        ("misspelled.toml", &misspelled),
        ("tripwire.toml", &tripwire),
        ("private.toml", &private),
        ("deep.toml", &deep),
        ("long_line.toml", &long_line),
        ("too_large.toml", &too_large),
    ]);
    std::fs::write(dir.path().join("latin1.toml"), b"# caf\xe9\n[run]\n").unwrap();
    let (code, stdout, stderr) = run(parity(&[
        "run",
        "--scenarios",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(code, 2, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.is_empty(), "no subject ran: {stdout}");
    // A 900 kB line and a 1.1 MB file are quoted as short excerpts, never whole.
    assert!(stderr.len() < 8_000, "{} bytes of errors", stderr.len());
    for expected in [
        "keyword.toml: field `tools[0].parameters.class`: \"class\" is a Python keyword",
        "copies.toml: field `run.copies`: 65 copies is over the limit of 64 concurrent copies",
        "misspelled.toml: field `model.steps[0].error.name`: ModelBehaviourError is not a class of the client, of openai or of Python, but looks like ModelBehaviorError",
        "tripwire.toml: field `model.steps[0].error.name`: InputGuardrailTripwireTriggered is the Python client's class, but a scripted model step cannot raise it",
        "private.toml: field `agents[0].output_type.fields._city`: \"_city\" starts with `_`",
        "deep.toml: line 15: arrays and tables are nested deeper than the limit of 32 levels",
        "long_line.toml: TOML parse error at line 14",
        "too_large.toml: the file is larger than the limit of 1048576 bytes",
        "latin1.toml: the file is not UTF-8 text (invalid byte at offset 5)",
        "stop_at.toml: field `agents[0].stop_at_tool_names`: `stop_at_tool_names` is a `tool_use_behavior` of its own",
        "field `agents[0].stop_at_tool_names[1]`: tool \"get_clock\" is not one of agent \"assistant\"'s tools",
        "behavior.toml: TOML parse error at line 11",
        "unknown variant `stop_on_last_tool`, did you mean `stop_on_first_tool`? expected `run_llm_again` or `stop_on_first_tool`",
        "empty.toml: the file is empty: a scenario starts with a `# description` line",
        "approval.toml: TOML parse error at line 18",
        "invalid type: string \"yes\", expected `needs_approval = true|false`, or a list of call ids (non-empty strings)",
        "failure.toml: field `tools[0].failure_message`: `failure_message` is a `failure_error_function` of its own",
        "field `run.repeat`: `repeat` (runs one after another) and `copies` (runs at once) do not combine",
        "field `run.trace_id`: every repeated run would make a trace with this id",
        "on_error.toml: field `trace.body[1].on_error`: `on_error` belongs to a `run = true` action",
        "parallel_output.toml: field `guardrails[1].run_in_parallel`: only input guardrails run in parallel",
        "final_function.toml: field `agents[0].tools_final_output`: `tools_final_output` is a `tool_use_behavior` of its own",
        "tool_guardrail.toml: field `guardrails[0].tripwire`: a tool guardrail raises with `behavior = \"raise_exception\"`, not `tripwire`",
        "field `guardrails[0].message`: `message` goes with `behavior = \"reject_content\"`, and only with it",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_reported_not_skipped() {
    use std::os::unix::ffi::OsStrExt;
    let dir = scenario_dir(&[("one_turn_text.toml", &real_scenario("one_turn_text"))]);
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.toml");
    std::fs::write(dir.path().join(name), real_scenario("one_turn_text")).unwrap();
    let (code, _, stderr) = run(parity(&[
        "run",
        "--scenarios",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("scenario file name is not valid UTF-8")
            && stderr.contains("caf\u{fffd}.toml"),
        "{stderr}"
    );
}

#[test]
fn a_literal_name_wins_over_a_glob_and_a_byte_order_mark_is_accepted() {
    python_ready();
    let with_bom = format!("\u{feff}{}", real_scenario("one_turn_text"));
    let dir = scenario_dir(&[
        ("a[1].toml", &with_bom),
        ("a1.toml", &real_scenario("one_turn_text")),
    ]);
    let (code, report) = run_json(
        parity(&[
            "run",
            "--scenarios",
            dir.path().to_str().unwrap(),
            "--scenario",
            "a[1]",
        ])
        .ci(false),
    );
    assert_eq!(code, 0, "{report}");
    let scenarios: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(scenarios, ["a[1]", "a[1]"]);
    assert_eq!(report["results"][0]["status"], "new");
    assert_eq!(report["results"][1]["status"], "pass");
}

#[test]
fn a_scripted_model_behavior_error_leaves_the_agent_span_as_the_client_does() {
    python_ready();
    for subject in ["python", "rust"] {
        let (code, stdout, stderr) = run(parity(&[
            "show",
            "model_behavior_error",
            "--subject",
            subject,
        ]));
        assert_eq!(code, 0, "{stderr}");
        let spans = stdout.split("--- spans\n").nth(1).unwrap();
        let agent = spans
            .lines()
            .find(|l| l.contains("\"type\":\"agent\""))
            .unwrap();
        assert!(
            !agent.contains("error="),
            "{subject}: the agent span has no error: {agent}"
        );
        let generation = spans
            .lines()
            .find(|l| l.contains("\"type\":\"generation\""))
            .unwrap();
        assert!(
            generation.contains(r#"error={"data":{"message":"the model returned malformed output","name":"ModelBehaviorError"},"message":"Error"}"#),
            "{subject}: {generation}"
        );
        assert!(
            stdout.contains(r#""error":"ModelBehaviorError""#),
            "{subject}: {stdout}"
        );
    }
    // Any other class, e.g. openai's RateLimitError, gets the generic agent error.
    let (_, stdout, _) = run(parity(&["show", "provider_rate_limit"]));
    assert!(stdout.contains(r#"error={"data":{"error":"Rate limit reached for gpt-4o"},"message":"Error in agent run"}"#), "{stdout}");
}

#[test]
fn show_prints_the_rust_subjects_codex_events() {
    let (code, stdout, _) = run(parity(&[
        "show",
        "tool_call",
        "--subject",
        "rust",
        "--codex-events",
    ]));
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("codex-events: v1\n--- events\nINFO codex.thread.start tok#1 "),
        "{stdout}"
    );
    assert!(stdout.ends_with("--- findings\nnone\n"), "{stdout}");
    let (code, _, stderr) = run(parity(&["show", "tool_call", "--codex-events"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("only the rust subject has Codex events; add --subject rust"),
        "{stderr}"
    );
}

#[test]
fn show_prints_what_each_subjects_otlp_export_delivered() {
    let (code, python, stderr) = run(parity(&["show", "handoff", "--otlp"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(python.starts_with("otlp: v1\nresource: "), "{python}");
    assert!(
        python.contains("\n        agent_handoff OpenAI Agent [internal] ok\n"),
        "{python}"
    );
    let (code, rust, _) = run(parity(&["show", "handoff", "--subject", "rust", "--otlp"]));
    assert_eq!(code, 0);
    assert_eq!(
        rust, python,
        "the rust export delivers what the python instrumentation does"
    );
    let (code, _, stderr) = run(parity(&["show", "handoff", "--otlp", "--raw"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

/// Replaces the `rust` cell of `feature` in the scratch matrix.
fn set_rust_cell(scratch: &Scratch, feature: &str, cell: &str) {
    let path = scratch.path("parity-matrix.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let header = format!("[features.\"{feature}\"]");
    let start = text.find(&header).unwrap();
    let at = start + text[start..].find("\nrust = ").unwrap() + 1;
    let end = at + text[at..].find('\n').unwrap();
    std::fs::write(
        &path,
        format!("{}rust = {cell}{}", &text[..at], &text[end..]),
    )
    .unwrap();
}

#[test]
fn the_matrix_is_checked_on_every_run() {
    python_ready();
    let scratch = Scratch::new();
    let run_one = |scenario: &str| {
        run_json(scratch.parity(&["run", "--subject", "rust", "--scenario", scenario]))
    };

    // A deviation declared where rust matches is stale: the cell fails, naming the entry.
    set_rust_cell(
        &scratch,
        "error.exhausted-script",
        r#"{ status = "deviates", reason = "r", fingerprints = { exhausted_streamed = "0123456789abcdef" } }"#,
    );
    let (code, report) = run_one("exhausted_streamed");
    assert_eq!(code, 1, "{report}");
    let result = &report["results"][0];
    assert_eq!(result["status"], "fail");
    let message = result["message"].as_str().unwrap();
    assert!(
        message.starts_with("stale matrix entry: rust now matches, but parity-matrix.toml:"),
        "{message}"
    );
    assert!(message.contains("remove the entry"), "{message}");
    let cell = report["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["feature"] == "error.exhausted-script" && v["subject"] == "rust")
        .unwrap();
    assert_eq!(cell["ok"], false, "{cell}");

    // A golden edited by hand makes rust differ: unpinned it fails, with its fingerprint;
    // pinned with another fingerprint it still fails; pinned with its own it is a deviation.
    let golden = scratch.path("golden/exhausted_streamed.snap");
    let text = std::fs::read_to_string(&golden).unwrap();
    std::fs::write(
        &golden,
        text.replacen(
            "Unexpected streaming model call",
            "Unexpected model call",
            1,
        ),
    )
    .unwrap();
    let (code, report) = run_one("exhausted_streamed");
    assert_eq!(code, 1);
    let result = &report["results"][0];
    assert_eq!(result["status"], "fail");
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .contains("a new divergence, not the known one"),
        "{result}"
    );
    let fingerprint = result["fingerprint"].as_str().unwrap().to_owned();
    set_rust_cell(
        &scratch,
        "error.exhausted-script",
        &format!(
            r#"{{ status = "deviates", reason = "the golden was edited", fingerprints = {{ exhausted_streamed = "{fingerprint}" }} }}"#
        ),
    );
    let (code, report) = run_one("exhausted_streamed");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["results"][0]["status"], "deviation");
    assert_eq!(report["summary"]["deviation"], 1);

    // A matrix that names an unknown subject is bad input, with its line.
    set_rust_cell(&scratch, "span.trace", "\"match\"\ngo = \"match\"");
    let (code, stdout, stderr) = run(scratch.parity(&["run", "--scenario", "one_turn_text"]));
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("parity-matrix.toml:"), "{stderr}");
    assert!(stderr.contains("unknown key \"go\""), "{stderr}");
}

/// A differential summary that is not one stops the render, naming the file and the fix.
#[test]
fn a_broken_differential_summary_is_named() {
    let scratch = Scratch::new();
    std::fs::write(
        scratch.path("differential-coverage.json"),
        "{\"cases\": 1}\n",
    )
    .unwrap();
    let (code, _, stderr) = run(scratch.parity(&["matrix", "render", "--check"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("differential-coverage.json")
            && stderr.contains("copy target/parity-differential/summary.json"),
        "{stderr}"
    );
}

#[test]
fn matrix_render_check_says_whether_docs_are_fresh() {
    let scratch = Scratch::new();
    let (code, stdout, _) = run(scratch.parity(&["matrix", "render", "--check"]));
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        stdout,
        "docs/parity.md is fresh\ndocs/coverage.md is fresh\n"
    );
    std::fs::write(scratch.path("docs/coverage.md"), "old\n").unwrap();
    let (code, stdout, _) = run(scratch.parity(&["matrix", "render", "--check"]));
    assert_eq!(code, 1);
    assert!(stdout.contains("docs/coverage.md is stale"), "{stdout}");
    let (code, _, _) = run(scratch.parity(&["matrix", "render"]));
    assert_eq!(code, 0);
    let (code, _, _) = run(scratch.parity(&["matrix", "render", "--check"]));
    assert_eq!(code, 0);
    // A coverage map naming a feature the matrix does not have is bad input, with the fix.
    let coverage = std::fs::read_to_string(scratch.path("coverage.toml"))
        .unwrap()
        .replace(
            "features = [\"behavior.guardrail-modes\"]",
            "features = [\"behavior.guardrail-mode\"]",
        );
    std::fs::write(scratch.path("coverage.toml"), coverage).unwrap();
    let (code, _, stderr) = run(scratch.parity(&["matrix", "render", "--check"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("coverage.toml")
            && stderr.contains("`coverage.guardrail-modes`: \"behavior.guardrail-mode\" is not a feature of parity-matrix.toml; add it there or fix the name"),
        "{stderr}"
    );
}

#[test]
fn partitions_split_the_scenarios_between_jobs() {
    let listed = |partition: &str| -> Vec<String> {
        let (code, report) = run_json(parity(&[
            "run",
            "--subject",
            "rust",
            "--scenario",
            "tool_*",
            "--partition",
            partition,
        ]));
        assert_eq!(code, 0, "{report}");
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["scenario"].as_str().unwrap().to_owned())
            .collect()
    };
    let (first, second) = (listed("1/2"), listed("2/2"));
    assert!(!first.is_empty() && !second.is_empty());
    assert!(first.iter().all(|s| !second.contains(s)));
    let mut all = [first, second].concat();
    all.sort();
    let expected: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let stem = name.strip_suffix(".toml")?.to_owned();
            stem.starts_with("tool_").then_some(stem)
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(all, expected);
    let (code, _, stderr) = run(parity(&["run", "--partition", "3/2"]));
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn a_second_python_driver_in_one_process_is_refused_not_replaced() {
    python_ready();
    // This process's CPython starts with the checkout's driver ...
    let (code, report) = run_json(parity(&[
        "run",
        "--subject",
        "python",
        "--scenario",
        "one_turn_text",
    ]));
    assert_eq!(code, 0, "{report}");
    // ... so a workspace with another driver cannot run in it.
    let scratch = Scratch::new();
    let driver = scratch.path("harness/python/parity_driver.py");
    let source = std::fs::read_to_string(&driver).unwrap();
    std::fs::write(&driver, format!("{source}\n# changed\n")).unwrap();
    let (code, stdout, stderr) =
        run(scratch.parity(&["run", "--subject", "python", "--scenario", "one_turn_text"]));
    assert_ne!(code, 0, "{stdout}");
    assert!(
        format!("{stdout}{stderr}").contains(
            "this process already loaded another harness/python/parity_driver.py; run this workspace in a process of its own"
        ),
        "stdout: {stdout}\nstderr: {stderr}"
    );
}

/// `exec:` with the parity binary's own adapter (`exec-subject rust`): the protocol end to end.
fn rust_over_exec() -> String {
    format!("exec:'{}' exec-subject rust", env!("CARGO_BIN_EXE_parity"))
}

#[test]
fn an_exec_subject_speaking_the_protocol_is_judged_like_any_subject() {
    let subject = rust_over_exec();
    let (code, stdout, stderr) = run(parity(&[
        "run",
        "--subject",
        &subject,
        "--scenario",
        "tool_call",
        "--scenario",
        "handoff",
        "--scenario",
        "approval_approve",
        "--format",
        "json",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for result in results {
        assert_eq!(result["subject"], subject.as_str());
        assert_eq!(result["status"], "pass", "{result}");
    }
}

#[test]
fn broken_exec_commands_are_errors_of_their_scenario_and_the_run_finishes() {
    for (command, expected) in [
        (
            "exec:echo oops >&2; exit 3",
            "the command exited with status 3; stderr ends with:\noops",
        ),
        (
            "exec:echo '{\"seq\": 0, \"kind\": \"outcome\", \"data\": {}}'; echo garbage",
            "stdout line 2 is not a raw record",
        ),
        (
            "exec:sleep 30",
            "the command did not finish within 1 s and was killed",
        ),
        ("exec:kill -9 $$", "the command was killed by signal 9"),
    ] {
        let (code, stdout, stderr) = run(parity(&[
            "run",
            "--subject",
            command,
            "--scenario",
            "tool_call",
            "--scenario",
            "handoff",
            "--exec-timeout",
            "1",
            "--format",
            "json",
        ]));
        assert_eq!(code, 1, "{command}: {stderr}");
        let report: Value = serde_json::from_str(&stdout).unwrap();
        let results = report["results"].as_array().unwrap();
        assert_eq!(results.len(), 2, "{command}: every scenario is reported");
        for result in results {
            assert_eq!(result["status"], "error", "{command}: {result}");
            let message = result["message"].as_str().unwrap();
            assert!(message.contains(expected), "{command}: {message}");
        }
    }
    let (_, stdout, _) = run(parity(&[
        "run",
        "--subject",
        "exec:echo garbage",
        "--scenario",
        "tool_call",
        "--format",
        "json",
    ]));
    assert!(
        stdout.contains(r#"\"garbage\""#),
        "the offending line is quoted: {stdout}"
    );
    let (code, _, stderr) = run(parity(&[
        "run",
        "--subject",
        "exec:",
        "--scenario",
        "tool_call",
    ]));
    assert_eq!(code, 2);
    assert!(stderr.contains("exec: needs a command"), "{stderr}");
}

#[test]
fn setup_js_installs_the_pinned_sdk_and_doctor_reports_node_and_it() {
    let node = Command::new("node").arg("--version").output();
    // In this process: the commands' output is what is checked (the binary's own behaviour is
    // the front-door and doctor tests').
    python_ready();
    let (code, stdout, stderr) = run(parity(&["setup", "--js"]));
    match node {
        Ok(output) if output.status.success() => {
            assert_eq!(code, 0, "{stderr}");
            assert!(
                stdout.contains("JS environment ready: .parity/js with @openai/agents 0.20.0"),
                "{stdout}"
            );
            let (_, doctor, _) = run(parity(&["doctor"]));
            let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            assert!(doctor.contains(&format!("node: {version}\n")), "{doctor}");
            assert!(
                doctor.contains("js subject: @openai/agents 0.20.0 in .parity/js"),
                "{doctor}"
            );
        }
        // Without Node the install says what is missing instead of failing obscurely.
        _ => {
            assert_eq!(code, 1);
            assert!(stderr.contains("Node.js was not found on PATH"), "{stderr}");
        }
    }
}

#[test]
fn the_js_subject_runs_scenarios_through_the_js_sdk_when_node_is_present() {
    if !node_present() {
        // Without Node the subject says so when asked for by name.
        let (code, _, stderr) = run(parity(&["show", "one_turn_text", "--subject", "js"]));
        assert_eq!(code, 1);
        assert!(stderr.contains("Node.js was not found on PATH"), "{stderr}");
        return;
    }
    let (code, stdout, stderr) = run(parity(&["show", "one_turn_text", "--subject", "js"]));
    assert_eq!(code, 0, "{stderr}");
    // The JS SDK's own records, normalized like any subject's: its task, agent and turn spans,
    // and its log lines (debug namespace openai-agents:*) as `openai.agents` lines.
    assert!(
        stdout.starts_with(
            "normalizer: v5\n--- events\nlog DEBUG \"Creating trace. Trace data is redacted.\"\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("span_start span#2 parent=span#1 {\"handoffs\":[],\"name\":\"assistant\",\"output_type\":\"text\""), "{stdout}");
    assert!(
        stdout.contains("outcome {\"final_output\":\"Hello!\",\"status\":\"completed\"}"),
        "{stdout}"
    );
    assert!(stdout.ends_with("--- findings\nnone\n"), "{stdout}");
    // Scripted tool calls reach the tool (the protocol document spells absent output items as
    // null, which the driver once took for an empty message).
    let (code, stdout, stderr) = run(parity(&["show", "tool_call", "--subject", "js"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("span#5 {\"input\":\"{\\\"city\\\":\\\"Paris\\\"}\",\"name\":\"get_weather\",\"output\":\"sunny in Paris\",\"type\":\"function\"}"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "outcome {\"final_output\":\"It is sunny in Paris.\",\"status\":\"completed\"}"
        ),
        "{stdout}"
    );
    // With tracing disabled the SDK's no-op trace is no context (no finding about a trace that
    // never starts).
    let (_, stdout, _) = run(parity(&["show", "tracing_disabled", "--subject", "js"]));
    assert!(
        stdout.ends_with("--- spans\nnone\n--- findings\nnone\n"),
        "{stdout}"
    );
    // What the driver cannot build is the driver saying so, declared `unsupported` in the matrix.
    let (code, report) = run_json(parity(&[
        "run",
        "--subject",
        "js",
        "--scenario",
        "mcp_tool_call",
    ]));
    assert_eq!(code, 0, "{report}");
    let result = &report["results"][0];
    assert_eq!(result["status"], "deviation", "{result}");
    let message = result["message"].as_str().unwrap();
    assert!(
        message.contains("behavior.mcp: js unsupported"),
        "{message}"
    );
    assert!(
        message.contains("unsupported: [[mcp_servers]]"),
        "{message}"
    );
}

#[test]
fn the_js_subject_is_skipped_with_the_reason_where_node_cannot_run_it() {
    // A `node` that is too old stands in for a machine without a usable Node.js.
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("node");
    std::fs::write(&node, "#!/bin/sh\necho v18.19.0\n").unwrap();
    std::fs::set_permissions(&node, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = binary(&[
        "run",
        "--scenario",
        "one_turn_text",
        "--subject",
        "rust",
        "--subject",
        "all",
    ]);
    command.env("PATH", &path).current_dir(root());
    let (code, stdout, stderr) = run_binary(command);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("SKIPPED  js       one_turn_text: Node.js v18.19.0 is too old: the js subject needs Node.js 20 or newer"),
        "{stdout}"
    );
    assert!(stdout.contains("1 skipped"), "{stdout}");
    // Asked for by name, it is an error, not a skip.
    let mut command = binary(&["run", "--scenario", "one_turn_text", "--subject", "js"]);
    command.env("PATH", &path).current_dir(root());
    let (code, stdout, _) = run_binary(command);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("ERROR    js       one_turn_text"),
        "{stdout}"
    );
}

/// The README's first command, as scripts and CI run it: the built binary with stdout and
/// stderr sent to files, in a workspace whose `.parity/` is empty, so the js subject installs
/// its SDK on first use (from an exec worker thread) while the run goes on. It must finish:
/// `main` once held stderr's lock for the whole run, and the install's progress line waited for
/// it forever (issue 20). Two stand-ins keep it fast: the Python venv is shared with the
/// checkout (a pip install takes a minute), and `npm` is a shim that links the checkout's
/// installed SDK (`npm ci` copies 85 MB); `.ci/run` runs the same command on a clean checkout
/// with the real installs.
#[test]
fn the_first_run_finishes_with_its_output_sent_to_files_and_an_empty_state_dir() {
    python_ready();
    let scratch = Scratch::new();
    copy_dir(&root().join("harness/js"), &scratch.path("harness/js"));
    std::fs::create_dir_all(scratch.path(".parity")).unwrap();
    if node_present() {
        // What the shim links: the checkout's own install (made here if this is its first use).
        parity::subject::js_env::ensure(&Workspace::current(), false).unwrap();
    }
    let shims = scratch.path("shims");
    std::fs::create_dir_all(&shims).unwrap();
    let installed = root().join(".parity/js/node_modules");
    std::fs::write(
        shims.join("npm"),
        format!(
            "#!/bin/sh\n# `npm ci` in .parity/js: hard links to the checkout's installed SDK.\necho 'npm (shim): linking {0}' >&2\nexec cp -al '{0}' node_modules\n",
            installed.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        shims.join("npm"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        shims.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = scratch.path("run.stdout");
    let err = scratch.path("run.stderr");
    let mut child = scratch
        .binary(&["run", "--scenario", "tool_call", "--scenario", "handoff"])
        .env_remove("CI")
        .env("PATH", &path)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    // Generous: a cold `npm ci` on a slow network; a hang never ends.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "`parity run` with its output sent to files did not finish in 300 s (a hang?); its stderr:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out).unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "6 cells (openai-agents client {}): 4 pass, 0 fail, 2 deviation",
            pinned()
        )),
        "{stdout}"
    );
    if node_present() {
        // The install's progress reached the file, from the worker thread that did it.
        assert!(
            stderr.contains("parity: installing the JS Agents SDK into .parity/js with npm ci"),
            "{stderr}"
        );
        assert!(stderr.contains("npm (shim): linking"), "{stderr}");
        assert!(stderr.contains("parity: JS Agents SDK ready"), "{stderr}");
    }
}

/// `parity` finds its workspace from the current directory, as cargo finds a package, so an
/// installed binary works in any checkout and any folder of it; outside one it says so.
#[test]
fn the_workspace_is_found_from_any_folder_inside_it() {
    let scratch = Scratch::new();
    // A command that needs the workspace's files but no interpreter, from a folder inside it.
    let (code, stdout, stderr) = run_binary({
        let mut command = binary(&["matrix", "render", "--check"]);
        command
            .current_dir(scratch.path("golden"))
            .env_remove("PARITY_ROOT");
        command
    });
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("docs/parity.md is fresh"), "{stdout}");

    let outside = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_binary({
        let mut command = binary(&["run", "--subject", "rust"]);
        command
            .current_dir(outside.path())
            .env_remove("PARITY_ROOT");
        command
    });
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("is not inside a parity workspace: neither it nor any folder above it has parity-matrix.toml; cd into a checkout of the project, or set PARITY_ROOT to one"),
        "{stderr}"
    );
    let (code, _, stderr) = run_binary({
        let mut command = binary(&["doctor"]);
        command.env("PARITY_ROOT", outside.path());
        command
    });
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("is not a parity workspace: it has no parity-matrix.toml"),
        "{stderr}"
    );
}

/// How a documented command is checked when it is not simply run and expected to exit 0.
struct DocumentedRule {
    /// The command's first words (after `parity` or `cargo`), as documented.
    prefix: &'static str,
    /// The exit code it is documented to give here, or why it is only parsed, not run.
    check: DocumentedCheck,
}

enum DocumentedCheck {
    /// Parsed by the command line (a renamed flag fails), not run, for this reason.
    ParseOnly(&'static str),
}

/// The documented commands that are only parsed, each with why. A rule no command uses fails
/// the test, so this list cannot outlive the docs.
const DOCUMENTED_RULES: &[DocumentedRule] = &[
    DocumentedRule {
        prefix: "cargo test",
        check: DocumentedCheck::ParseOnly("the test command itself: this test runs inside it"),
    },
    DocumentedRule {
        prefix: "cargo insta review",
        check: DocumentedCheck::ParseOnly(
            "interactive; the goldens' insta format is tested by the golden tests",
        ),
    },
    DocumentedRule {
        prefix: "parity matrix check",
        check: DocumentedCheck::ParseOnly(
            "a full run of every cell; the golden tests and .ci/run's front door check the same matrix",
        ),
    },
    DocumentedRule {
        prefix: "parity matrix fix",
        check: DocumentedCheck::ParseOnly(
            "a full run of every cell; `the_matrix_is_checked_on_every_run` covers fix on a scratch copy",
        ),
    },
    DocumentedRule {
        prefix: "parity drift",
        check: DocumentedCheck::ParseOnly(
            "installs another client release from PyPI; the nightly job runs it",
        ),
    },
    DocumentedRule {
        prefix: "parity bisect",
        check: DocumentedCheck::ParseOnly(
            "installs every release of a range from PyPI; the nightly job runs it",
        ),
    },
    DocumentedRule {
        prefix: "parity upgrade",
        check: DocumentedCheck::ParseOnly(
            "asks the package index for the latest release; `upgrade_writes_pending_goldens_and_pins_never_an_accepted_golden` runs the command offline",
        ),
    },
    DocumentedRule {
        prefix: "parity setup --force",
        check: DocumentedCheck::ParseOnly("rebuilds the venv from PyPI (minutes)"),
    },
    DocumentedRule {
        prefix: ".parity/venv/bin/python scripts/asyncio_timeline.py",
        check: DocumentedCheck::ParseOnly(
            "not a parity command: `asyncio_timeline_shows_each_record_with_its_loop_iteration` runs it",
        ),
    },
    DocumentedRule {
        prefix: "PARITY_VENV=",
        check: DocumentedCheck::ParseOnly(
            "needs the 0.23.1 environment that `parity drift --python-client 0.23.1` installs",
        ),
    },
];

/// The shell commands of a markdown file's ```sh blocks: comments dropped, `\` continuations
/// joined, one entry per command.
fn documented_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block && line.trim() == "```sh";
            continue;
        }
        if !in_block {
            continue;
        }
        let (text, continued) = match line.trim_end().strip_suffix('\\') {
            Some(text) => (text, true),
            None => (line, false),
        };
        pending.push_str(text);
        pending.push(' ');
        if !continued {
            let words =
                shlex::split(&pending).unwrap_or_else(|| panic!("cannot split {pending:?}"));
            if !words.is_empty() {
                commands.push(shlex::try_join(words.iter().map(String::as_str)).unwrap());
            }
            pending.clear();
        }
    }
    commands
}

/// A command's leading `VAR=value` assignments.
type Assignments = Vec<(String, String)>;

/// The `parity` arguments of a documented command (`parity …` or the README's `cargo run …
/// --bin parity -- …`), with its leading `VAR=value` assignments; `None` for other programs.
fn parity_arguments(words: &[String]) -> Option<(Assignments, Vec<String>)> {
    let assignments = words
        .iter()
        .take_while(|w| w.contains('=') && !w.starts_with('-'))
        .map(|w| {
            let (name, value) = w.split_once('=').unwrap();
            (name.to_owned(), value.to_owned())
        })
        .collect::<Vec<_>>();
    let rest = &words[assignments.len()..];
    let cargo_run = [
        "cargo",
        "run",
        "--release",
        "-p",
        "parity-harness",
        "--bin",
        "parity",
        "--",
    ];
    let args = if rest.first().is_some_and(|w| w == "parity") {
        rest[1..].to_vec()
    } else if rest.starts_with(&cargo_run.map(String::from)) {
        rest[cargo_run.len()..].to_vec()
    } else {
        return None;
    };
    Some((assignments, args))
}

/// A reader that went away (`parity … | head -1`) stops the command quietly: no `error:`
/// line, the shell's status for SIGPIPE (it used to print "error: cannot write: Broken pipe"
/// and exit 1).
#[test]
fn a_closed_stdout_stops_quietly() {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = binary(&["show", "tool_call", "--input"])
        .stdout(writer)
        .output()
        .expect("parity runs");
    assert_eq!(output.status.code(), Some(141), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

/// `show --input` prints what a subject is given: the loaded scenario as JSON, defaults filled
/// in; it runs nothing.
#[test]
fn show_input_prints_the_scenario_document_subjects_get() {
    let (code, stdout, stderr) = run(parity(&["show", "tool_call", "--input"]));
    assert_eq!(code, 0, "{stderr}");
    let document: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(document["name"], "tool_call");
    assert_eq!(document["run"]["copies"], 1, "a default is filled in");
    assert_eq!(document["tools"][0]["name"], "get_weather");
}

/// The runbook's timeline script: every record of a scenario, with the event-loop iteration and
/// the asyncio task it came from, in emission order.
#[test]
fn asyncio_timeline_shows_each_record_with_its_loop_iteration() {
    python_ready();
    let output = Command::new(root().join(".parity/venv/bin/python"))
        .arg(root().join("scripts/asyncio_timeline.py"))
        .arg("parallel_tool_calls")
        .env("PARITY_BIN", env!("CARGO_BIN_EXE_parity"))
        .current_dir(root())
        .output()
        .expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<(u64, &str)> = stdout
        .lines()
        .map(|line| {
            let (iteration, rest) = line
                .trim_start()
                .split_once(' ')
                .expect("iteration, then the record");
            (iteration.parse().expect("an iteration number"), rest)
        })
        .collect();
    assert!(
        lines.windows(2).all(|w| w[0].0 <= w[1].0),
        "iterations never go back:\n{stdout}"
    );
    let first_start = lines
        .iter()
        .position(|(_, l)| l.contains("run.on_tool_start"))
        .unwrap();
    let first_end = lines
        .iter()
        .position(|(_, l)| l.contains("run.on_tool_end"))
        .unwrap();
    assert!(lines[first_start].0 < lines[first_end].0, "{stdout}");
    assert!(
        lines
            .iter()
            .any(|(_, l)| l.contains("span_start function get_weather")),
        "{stdout}"
    );
}

/// The README's and the runbook's command blocks, run as documented: every `parity` command is
/// parsed by the command line, and run (in a scratch copy of the workspace, so what it writes
/// lands there) unless a rule above says why not; it must exit 0. A `run` of the project's
/// scenarios that selects none is narrowed to `--scenario 'handoff*'` (its flags and exit code are what is checked;
/// every cell is run by the golden tests). Other programs must have a rule.
#[test]
fn documented_commands_run_as_documented() {
    python_ready();
    let scratch = Scratch::new();
    copy_dir(&root().join("harness/js"), &scratch.path("harness/js"));
    // The checkout's installed JS SDK, so `setup --js` finds it ready instead of installing.
    std::fs::create_dir_all(scratch.path(".parity")).unwrap();
    if root().join(".parity/js").is_dir() {
        std::os::unix::fs::symlink(root().join(".parity/js"), scratch.path(".parity/js")).unwrap();
    }
    // `--scenarios path/to/dir`: a folder from elsewhere, with one scenario.
    std::fs::create_dir_all(scratch.path("path/to/dir")).unwrap();
    std::fs::write(
        scratch.path("path/to/dir/greeting.toml"),
        real_scenario("one_turn_text"),
    )
    .unwrap();
    // `exec:parity …` finds the built binary on PATH, as it finds an installed one.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_parity")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut used_rules = std::collections::BTreeSet::new();
    let mut checked = 0;
    for doc in ["README.md", "docs/runbook.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        for command in documented_commands(&text) {
            let words = shlex::split(&command).unwrap();
            let rule = DOCUMENTED_RULES.iter().find(|rule| {
                let shown = parity_arguments(&words)
                    .filter(|(env, _)| env.is_empty())
                    .map(|(_, args)| format!("parity {}", args.join(" ")))
                    .unwrap_or_else(|| words.join(" "));
                shown.starts_with(rule.prefix)
            });
            let parsed = parity_arguments(&words);
            match (rule, &parsed) {
                (Some(rule), _) => {
                    used_rules.insert(rule.prefix);
                    let DocumentedCheck::ParseOnly(_why) = rule.check;
                    if let Some((_, args)) = &parsed {
                        let argv = std::iter::once("parity".to_owned()).chain(args.iter().cloned());
                        Cli::try_parse_from(argv)
                            .unwrap_or_else(|e| panic!("{doc}: `{command}` does not parse:\n{e}"));
                    }
                    continue;
                }
                (None, None) => panic!(
                    "{doc}: `{command}` is neither a parity command nor covered by a rule in DOCUMENTED_RULES"
                ),
                (None, Some(_)) => {}
            }
            let (env, mut args) = parsed.unwrap();
            assert!(
                env.is_empty(),
                "{doc}: `{command}`: add a rule for its environment"
            );
            if args.first().is_some_and(|a| a == "run")
                && !args.iter().any(|a| a == "--scenario" || a == "--scenarios")
            {
                args.extend(["--scenario".to_owned(), "handoff*".to_owned()]);
            }
            // Paths in the commands are relative to the checkout's root: here, the scratch copy.
            for i in 1..args.len() {
                if ["--out", "--transcripts", "--scenarios"].contains(&args[i - 1].as_str()) {
                    args[i] = scratch.path(&args[i]).display().to_string();
                }
            }
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, stdout, stderr) = if args.iter().any(|a| a.starts_with("exec:")) {
                // The exec command runs from PATH: the binary, with PATH set for it alone.
                let mut command = scratch.binary(&argv);
                command
                    .current_dir(scratch.dir.path())
                    .env("PATH", &path)
                    .env_remove("CI");
                run_binary(command)
            } else {
                run(scratch.parity(&argv).ci(false))
            };
            assert_eq!(
                code, 0,
                "{doc}: `{command}` exited {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} documented commands ran");
    for rule in DOCUMENTED_RULES {
        assert!(
            used_rules.contains(rule.prefix),
            "DOCUMENTED_RULES has `{}`, which no documented command uses: remove it",
            rule.prefix
        );
    }
    // What the commands wrote landed in the scratch copy.
    assert!(scratch.path("parity.xml").is_file());
    assert!(scratch.path("report.json").is_file());
    assert!(scratch.path("out/python").is_dir());
    assert!(scratch.path("path/to/dir/golden/greeting.snap").is_file());
}

/// A scratch workspace of two scenarios, their goldens and a matrix of one feature: small
/// enough for commands that always run every scenario (`parity upgrade`).
fn small_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &root().join("harness/python"),
        &dir.path().join("harness/python"),
    );
    std::fs::create_dir_all(dir.path().join("scenarios")).unwrap();
    std::fs::create_dir_all(dir.path().join("golden")).unwrap();
    for name in ["tool_call", "handoff"] {
        for (folder, ext) in [("scenarios", "toml"), ("golden", "snap")] {
            std::fs::copy(
                root().join(folder).join(format!("{name}.{ext}")),
                dir.path().join(folder).join(format!("{name}.{ext}")),
            )
            .unwrap();
        }
    }
    std::fs::write(
        dir.path().join("parity-matrix.toml"),
        "[subjects]\npython = \"reference\"\nrust = \"library\"\njs = \"JS SDK\"\n\n[features.\"span.agent\"]\ntitle = \"Agent spans\"\nscenarios = [\"tool_call\", \"handoff\"]\npython = \"match\"\nrust = \"match\"\njs = \"match\"\n",
    )
    .unwrap();
    dir
}

/// `parity upgrade` re-records goldens only as pending snapshots and moves only the pins, and
/// running it again changes nothing. Offline: it upgrades to the release already installed
/// (the pin), in a workspace where one golden's transcript and another's header are stale.
#[test]
fn upgrade_writes_pending_goldens_and_pins_never_an_accepted_golden() {
    python_ready();
    let dir = small_workspace();
    let golden = |name: &str| dir.path().join(format!("golden/{name}.snap"));
    // A stale transcript (a line the release no longer logs) and a stale header.
    let stale_body = std::fs::read_to_string(golden("tool_call"))
        .unwrap()
        .replacen(
            "log DEBUG \"Creating trace\"",
            "log DEBUG \"Creating the trace\"",
            1,
        );
    std::fs::write(golden("tool_call"), &stale_body).unwrap();
    let stale_header = std::fs::read_to_string(golden("handoff"))
        .unwrap()
        .replacen(
            &format!("client_version: {}", pinned()),
            "client_version: 0.0.1",
            1,
        );
    std::fs::write(golden("handoff"), &stale_header).unwrap();
    let upgrade = |extra: &[&str]| {
        let mut args = vec!["upgrade", "--python-client"];
        let version = pinned();
        args.push(&version);
        args.extend(extra);
        let mut command = binary(&args);
        command
            .env("PARITY_ROOT", dir.path())
            .env("PARITY_VENV", Workspace::current().venv_dir());
        run_binary(command)
    };
    let pins = || {
        ["requirements.txt", "constraints.txt"]
            .map(|f| std::fs::read_to_string(dir.path().join("harness/python").join(f)).unwrap())
    };
    let before = pins();

    // --check: says what it would write, writes nothing.
    let (code, stdout, stderr) = upgrade(&["--check"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 of 2 transcripts change, 1 unchanged"),
        "{stdout}"
    );
    assert!(
        stdout.contains("would write 2 pending golden(s)"),
        "{stdout}"
    );
    assert!(!dir.path().join("golden/tool_call.snap.new").exists());

    let (code, stdout, stderr) = upgrade(&[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "CHANGE 1: 1 scenario(s) change -log \"Creating the trace\", +log \"Creating trace\"\n  tool_call\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("wrote 2 pending golden(s)"), "{stdout}");
    // The goldens are as they were; the release's transcripts wait for review beside them.
    assert_eq!(
        std::fs::read_to_string(golden("tool_call")).unwrap(),
        stale_body
    );
    assert_eq!(
        std::fs::read_to_string(golden("handoff")).unwrap(),
        stale_header
    );
    let pending = std::fs::read_to_string(dir.path().join("golden/tool_call.snap.new")).unwrap();
    assert_eq!(
        pending,
        std::fs::read_to_string(root().join("golden/tool_call.snap")).unwrap()
    );
    let pending = std::fs::read_to_string(dir.path().join("golden/handoff.snap.new")).unwrap();
    assert_eq!(
        pending,
        std::fs::read_to_string(root().join("golden/handoff.snap")).unwrap()
    );
    // The pins were already this release's (and the shared venv stays as it is).
    assert_eq!(pins(), before);

    // Again: the same files with the same contents, so nothing to write.
    let (code, stdout, _) = upgrade(&[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("nothing new to write"), "{stdout}");
}
