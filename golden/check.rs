//! Golden tests: every scenario in `scenarios/` runs through the python subject, and its
//! normalized transcript is compared with `golden/<scenario>.snap` through insta.
//!
//! This file is the `golden` test target of `parity-harness` and lives beside the goldens on
//! purpose: `cargo insta review` looks for pending snapshots only in package directories and in
//! the directories of a target's source, so this is what lets it find `golden/*.snap.new`.
//!
//! One libtest-mimic trial per scenario and subject (`python::<scenario>`, `rust::<scenario>`,
//! `js::<scenario>`), so `cargo test -- tool_call` runs one scenario and a failure names its
//! scenario and subject. The rust and js subjects are compared with the same golden, read-only:
//! goldens hold the python transcript. The js trials need Node.js; without it they are ignored
//! (listed as such, with the reason on stderr), never passed.
//!
//! For the python subject insta does the storing and reviewing: a mismatch writes
//! `golden/<scenario>.snap.new` for `cargo insta review` (never the golden itself), and with
//! `CI=true` nothing is written and a missing golden fails. Two more trials keep the store honest:
//! every golden belongs to a scenario, and in CI no pending snapshot is left in `golden/`.
//!
//! The rust and js trials apply `parity-matrix.toml` as `parity run` does (a pinned deviation passes, a
//! stale one fails), and `matrix::well_formed_and_rendered` checks the matrix against the
//! scenarios and that `docs/parity.md` is its fresh rendering.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use parity::golden::{GoldenInfo, check_against_golden, golden_path, is_ci};
use parity::matrix::{Declared, Matrix, rendered_docs};
use parity::normalize::{
    CODEX_EVENTS_VERSION, NORMALIZER_VERSION, OTLP_TRANSCRIPT_VERSION, normalize_codex_events,
};
use parity::otlp::{OtlpScenarios, otlp_transcript};
use parity::runner::{Status, verdict_against_golden};
use parity::scenario::{Scenario, ScenarioPaths, load_scenario};
use parity::subject::SubjectKind;
use parity::subject::exec::ExecSubject;
use parity::subject::python::{CLIENT_PACKAGE, PythonSubject};
use parity::subject::rust::RustSubject;
use parity::workspace::Workspace;

fn main() {
    let args = Arguments::from_args();
    let workspace = Workspace::current();
    let paths = ScenarioPaths::discover(&workspace.scenarios_dir())
        .unwrap_or_else(|e| panic!("cannot list scenarios: {e}"));
    let names: BTreeSet<String> = paths.names().map(str::to_owned).collect();
    let matrix = Arc::new(
        Matrix::load(
            &workspace.matrix_path(),
            &names,
            &SubjectKind::matrix_subjects()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .map_err(|e| e.to_string()),
    );
    let mut trials = scenario_trials(&workspace, &paths, &matrix);
    if let Ok(matrix) = matrix.as_ref() {
        trials.extend(extension_trials(&workspace, &paths, matrix));
    }
    trials.extend(otlp_trials(&workspace, &paths, &names));
    trials.extend(store_trials(&workspace, &paths, &matrix));
    libtest_mimic::run(&args, trials).exit();
}

/// One trial per scenario and subject: python against its golden (insta), rust and js against
/// the same golden, read-only, with the matrix applied.
fn scenario_trials(
    workspace: &Workspace,
    paths: &ScenarioPaths,
    matrix: &Arc<Result<Matrix, String>>,
) -> Vec<Trial> {
    let mut trials = Vec::new();
    // The js subject runs where Node.js does; elsewhere its trials are ignored, saying why.
    let js = SubjectKind::Exec(ExecSubject::js());
    let js_unavailable = js.unavailable();
    if let Some(reason) = &js_unavailable {
        eprintln!("js::* trials ignored: {reason}");
    }
    for name in paths.names() {
        let path = paths.get(name).expect("listed").to_path_buf();
        let workspace = workspace.clone();
        trials.push(Trial::test(format!("python::{name}"), {
            let path = path.clone();
            let workspace = workspace.clone();
            move || {
                let scenario = load_scenario(&path).map_err(|e| e.to_string())?;
                check_python_golden(&workspace, &scenario)
            }
        }));
        for subject in [SubjectKind::Rust, js.clone()] {
            let matrix = matrix.clone();
            let (path, workspace) = (path.clone(), workspace.clone());
            let ignored = subject != SubjectKind::Rust && js_unavailable.is_some();
            let trial = Trial::test(format!("{subject}::{name}"), move || {
                let scenario = load_scenario(&path).map_err(|e| e.to_string())?;
                check_subject_against_golden(&workspace, &subject, &scenario, &matrix)
            });
            trials.push(trial.with_ignored_flag(ignored));
        }
    }
    trials
}

/// Extension transcripts: the rust subject's Codex events, for the scenarios of the features
/// whose rust cell is `extension`; every extension golden belongs to one.
fn extension_trials(workspace: &Workspace, paths: &ScenarioPaths, matrix: &Matrix) -> Vec<Trial> {
    let mut trials = Vec::new();
    let extension_scenarios: BTreeSet<String> = matrix
        .features
        .iter()
        .filter(|f| {
            f.cells
                .get("rust")
                .is_some_and(|c| c.declared == Declared::Extension)
        })
        .flat_map(|f| f.scenarios.iter().cloned())
        .collect();
    let store = workspace.clone();
    let listed: Vec<String> = extension_scenarios.iter().cloned().collect();
    trials.push(Trial::test(
        "golden_store::every_extension_golden_has_an_extension_scenario",
        move || {
            every_golden_has_a_scenario(
                &store.golden_dir().join("extensions"),
                "golden/extensions",
                &listed,
            )
        },
    ));
    for name in extension_scenarios {
        let Some(path) = paths.get(&name).map(Path::to_path_buf) else {
            continue;
        };
        let workspace = workspace.clone();
        trials.push(Trial::test(format!("codex_events::{name}"), move || {
            let scenario = load_scenario(&path).map_err(|e| e.to_string())?;
            check_codex_events_golden(&workspace, &scenario)
        }));
    }
    trials
}

/// The OTLP layer: the python subject's OTLP transcript is the golden (insta), the rust
/// subject's is compared with it read-only.
fn otlp_trials(
    workspace: &Workspace,
    paths: &ScenarioPaths,
    names: &BTreeSet<String>,
) -> Vec<Trial> {
    let mut trials = Vec::new();
    let otlp_list = workspace.root().join("otlp-scenarios.toml");
    let otlp = OtlpScenarios::load(&otlp_list, "otlp-scenarios.toml", names);
    let otlp_names: Vec<String> = otlp
        .as_ref()
        .map(|o| o.names.iter().cloned().collect())
        .unwrap_or_default();
    let store = workspace.clone();
    let listed = otlp_names.clone();
    trials.push(Trial::test(
        "golden_store::every_otlp_golden_has_an_otlp_scenario",
        move || {
            otlp.as_ref().map_err(|e| e.to_string())?;
            every_golden_has_a_scenario(&store.golden_dir().join("otlp"), "golden/otlp", &listed)
        },
    ));
    for name in otlp_names {
        let Some(path) = paths.get(&name).map(Path::to_path_buf) else {
            continue;
        };
        let workspace_for_python = workspace.clone();
        let python_path = path.clone();
        trials.push(Trial::test(format!("otlp::python::{name}"), move || {
            let scenario = load_scenario(&python_path).map_err(|e| e.to_string())?;
            check_python_otlp_golden(&workspace_for_python, &scenario)
        }));
        let workspace = workspace.clone();
        trials.push(Trial::test(format!("otlp::rust::{name}"), move || {
            let scenario = load_scenario(&path).map_err(|e| e.to_string())?;
            let transcript = otlp_transcript(&SubjectKind::Rust, &workspace, &scenario)
                .map_err(|e| e.to_string())?;
            let golden = workspace
                .golden_dir()
                .join("otlp")
                .join(format!("{name}.snap"));
            check_against_golden(&golden, &workspace.display(&golden), &transcript, "rust")
                .map_err(Failed::from)
        }));
    }
    trials
}

/// The store itself: every golden belongs to a scenario, the matrix is well formed and
/// rendered, no secret is recorded, and in CI no pending snapshot is left.
fn store_trials(
    workspace: &Workspace,
    paths: &ScenarioPaths,
    matrix: &Arc<Result<Matrix, String>>,
) -> Vec<Trial> {
    let mut trials = Vec::new();
    let store = workspace.clone();
    let names: Vec<String> = paths.names().map(str::to_owned).collect();
    trials.push(Trial::test(
        "golden_store::every_golden_has_a_scenario",
        move || every_golden_has_a_scenario(&store.golden_dir(), "golden", &names),
    ));
    let store = workspace.clone();
    let matrix = matrix.clone();
    trials.push(Trial::test("matrix::well_formed_and_rendered", move || {
        matrix_is_well_formed_and_rendered(&store, &matrix)
    }));
    let store = workspace.clone();
    trials.push(Trial::test(
        "golden_store::no_secret_outside_planted_test_values",
        move || no_secret_outside_planted_values(&store),
    ));
    let store = workspace.clone();
    trials.push(Trial::test(
        "golden_store::no_pending_snapshots_in_ci",
        move || no_pending_snapshots_in_ci(&store.golden_dir()),
    ));
    trials
}

fn check_python_golden(workspace: &Workspace, scenario: &Scenario) -> Result<(), Failed> {
    let transcript = SubjectKind::Python
        .transcript(workspace, scenario)
        .map_err(|e| e.to_string())?;
    let info = GoldenInfo {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        client: CLIENT_PACKAGE.into(),
        client_version: PythonSubject::new(workspace.clone())
            .client_version()
            .map_err(|e| e.to_string())?,
        normalizer_version: NORMALIZER_VERSION,
    };
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace.golden_dir());
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_info(&info);
    // insta panics on a mismatch; libtest-mimic turns the panic into this trial's failure.
    settings.bind(|| insta::assert_snapshot!(scenario.name.as_str(), transcript));
    Ok(())
}

/// The metadata of an OTLP golden.
#[derive(serde::Serialize)]
struct OtlpInfo<'a> {
    scenario: &'a str,
    description: &'a str,
    client: &'static str,
    client_version: String,
    instrumentation: &'static str,
    otlp_transcript_version: u32,
}

/// The python subject's OTLP transcript against `golden/otlp/<scenario>.snap` (insta).
fn check_python_otlp_golden(workspace: &Workspace, scenario: &Scenario) -> Result<(), Failed> {
    let transcript =
        otlp_transcript(&SubjectKind::Python, workspace, scenario).map_err(|e| e.to_string())?;
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace.golden_dir().join("otlp"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_info(&OtlpInfo {
        scenario: &scenario.name,
        description: &scenario.description,
        client: CLIENT_PACKAGE,
        client_version: PythonSubject::new(workspace.clone())
            .client_version()
            .map_err(|e| e.to_string())?,
        instrumentation: "opentelemetry-instrumentation-openai-agents-v2 0.1.0",
        otlp_transcript_version: OTLP_TRANSCRIPT_VERSION,
    });
    settings.bind(|| insta::assert_snapshot!(scenario.name.as_str(), transcript));
    Ok(())
}

/// The metadata of an extension golden.
#[derive(serde::Serialize)]
struct CodexEventsInfo<'a> {
    scenario: &'a str,
    description: &'a str,
    subject: &'static str,
    codex_events_version: u32,
}

/// The rust subject's Codex events, normalized, against `golden/extensions/<scenario>.snap`
/// (insta: a mismatch writes a pending snapshot beside it for `cargo insta review`).
fn check_codex_events_golden(workspace: &Workspace, scenario: &Scenario) -> Result<(), Failed> {
    let events = RustSubject::new()
        .codex_events(scenario)
        .map_err(|e| e.to_string())?;
    let transcript = normalize_codex_events(&events);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace.golden_dir().join("extensions"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_info(&CodexEventsInfo {
        scenario: &scenario.name,
        description: &scenario.description,
        subject: "rust",
        codex_events_version: CODEX_EVENTS_VERSION,
    });
    settings.bind(|| insta::assert_snapshot!(scenario.name.as_str(), transcript));
    Ok(())
}

/// A subject other than python against the golden, read-only, with the matrix applied.
fn check_subject_against_golden(
    workspace: &Workspace,
    subject: &SubjectKind,
    scenario: &Scenario,
    matrix: &Result<Matrix, String>,
) -> Result<(), Failed> {
    let matrix = matrix
        .as_ref()
        .map_err(|e| format!("the parity matrix is unusable: {e}"))?;
    let transcript = subject
        .transcript(workspace, scenario)
        .map_err(|e| e.to_string());
    let path = golden_path(&workspace.golden_dir(), &scenario.name);
    // The same verdict as `parity run`: a deviation the matrix pins passes, a stale one fails.
    let result = verdict_against_golden(
        scenario,
        subject,
        transcript,
        &path,
        &workspace.display(&path),
        Some(matrix),
    );
    match result.status {
        Status::Pass | Status::Deviation => Ok(()),
        _ => Err(format!(
            "{}{}{}",
            result.message,
            result
                .first_difference
                .map(|p| format!("\nfirst difference: {p}"))
                .unwrap_or_default(),
            result.diff.map(|d| format!(":\n{d}")).unwrap_or_default()
        )
        .into()),
    }
}

fn matrix_is_well_formed_and_rendered(
    workspace: &Workspace,
    matrix: &Result<Matrix, String>,
) -> Result<(), Failed> {
    let matrix = matrix.as_ref().map_err(|e| e.clone())?;
    for (path, rendered) in rendered_docs(workspace, matrix)? {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != rendered {
            return Err(format!(
                "{} is stale: run `cargo run --release -p parity-harness --bin parity -- matrix render` and commit it",
                workspace.display(&path)
            )
            .into());
        }
    }
    Ok(())
}

fn every_golden_has_a_scenario(
    golden_dir: &Path,
    shown: &str,
    names: &[String],
) -> Result<(), Failed> {
    let mut orphans = Vec::new();
    for entry in std::fs::read_dir(golden_dir).map_err(|e| format!("cannot read {shown}/: {e}"))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "snap") {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if !names.iter().any(|n| n == stem) {
                orphans.push(format!("{shown}/{stem}.snap"));
            }
        }
    }
    if orphans.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "goldens without a scenario (delete them, or restore their scenarios/*.toml): {}",
            orphans.join(", ")
        )
        .into())
    }
}

/// No golden or scenario holds a key-shaped string (the scrubber's shapes), except test values
/// planted on purpose, which say `PLANTED` in the secret itself.
fn no_secret_outside_planted_values(workspace: &Workspace) -> Result<(), Failed> {
    let scrubber = codex_telemetry::scrub::Scrubber::new();
    let mut found = Vec::new();
    let dirs = [
        workspace.golden_dir(),
        workspace.golden_dir().join("extensions"),
        workspace.golden_dir().join("otlp"),
        workspace.scenarios_dir(),
    ];
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (number, line) in text.lines().enumerate() {
                // A planted value's secret part carries the marker; drop those words first.
                // JSON escapes end in a letter (`\n`): a word boundary for the shapes.
                let line = line
                    .replace("\\n", " ")
                    .replace("\\t", " ")
                    .replace("\\r", " ");
                let unplanted: Vec<&str> = line
                    .split(|c: char| c.is_whitespace() || c == '"' || c == '\\' || c == '=')
                    .filter(|word| !word.contains("PLANTED"))
                    .collect();
                let unplanted = unplanted.join(" ");
                if scrubber.scrub(&unplanted) != unplanted {
                    found.push(format!("{}:{}", workspace.display(&path), number + 1));
                }
            }
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "key-shaped strings (API keys, tokens) in: {}; use a planted test value that says PLANTED in the secret, or remove it",
            found.join(", ")
        )
        .into())
    }
}

fn no_pending_snapshots_in_ci(golden_dir: &Path) -> Result<(), Failed> {
    // Locally, a failing golden trial writes `.snap.new` for review while this runs, so the check
    // is meaningful only where insta writes nothing: in CI every pending file came with the commit.
    if !is_ci() {
        return Ok(());
    }
    let mut pending = Vec::new();
    for (dir, shown) in [
        (golden_dir.to_path_buf(), "golden"),
        (golden_dir.join("extensions"), "golden/extensions"),
        (golden_dir.join("otlp"), "golden/otlp"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let name = entry.map_err(|e| e.to_string())?.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
                pending.push(format!("{shown}/{name}"));
            }
        }
    }
    if pending.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "pending snapshots were committed; review them with `cargo insta review` or delete them: {}",
            pending.join(", ")
        )
        .into())
    }
}
