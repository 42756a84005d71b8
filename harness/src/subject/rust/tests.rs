//! The rust subject against the goldens, with every scenario running at the same time on
//! its own thread, several rounds: runs must not see each other's provider, subscriber,
//! context or environment.

use std::collections::{BTreeMap, BTreeSet};

use crate::compare::golden::{check_against_golden, golden_path};
use crate::matrix::{Declared, Matrix};
use crate::normalize::normalize;
use crate::scenario::{ScenarioPaths, schema::Scenario};
use crate::workspace::Workspace;

use super::RustSubject;

fn scenarios(workspace: &Workspace) -> Vec<Scenario> {
    ScenarioPaths::discover(&workspace.scenarios_dir())
        .expect("scenarios are listed")
        .load_all()
        .unwrap_or_else(|errors| panic!("scenarios load: {errors:?}"))
}

/// Scenarios the matrix pins a rust deviation for: their golden is the Python client's, so
/// they are compared with their own sequential run instead (the golden trials check the
/// pinned difference).
fn pinned_deviations(workspace: &Workspace, scenarios: &[Scenario]) -> BTreeMap<String, String> {
    let names: BTreeSet<String> = scenarios.iter().map(|s| s.name.clone()).collect();
    let subjects = crate::subject::SubjectKind::matrix_subjects();
    let known: Vec<&str> = subjects.iter().map(String::as_str).collect();
    let matrix = Matrix::load(&workspace.matrix_path(), &names, &known)
        .unwrap_or_else(|e| panic!("the matrix loads: {e}"));
    let mut pinned = BTreeMap::new();
    for scenario in scenarios {
        let deviates = matrix.features_of(&scenario.name).any(|feature| {
            feature
                .cells
                .get("rust")
                .is_some_and(|cell| cell.declared != Declared::Match)
        });
        if deviates {
            let alone = RustSubject::new()
                .run(scenario)
                .map(|log| normalize(&log).to_string())
                .unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
            pinned.insert(scenario.name.clone(), alone);
        }
    }
    pinned
}

#[test]
fn every_scenario_matches_its_golden_when_run_in_parallel() {
    let workspace = Workspace::current();
    let scenarios = scenarios(&workspace);
    assert!(!scenarios.is_empty());
    let pinned = pinned_deviations(&workspace, &scenarios);
    for _round in 0..3 {
        let failures: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = scenarios
                .iter()
                .map(|scenario| {
                    let (workspace, pinned) = (&workspace, &pinned);
                    scope.spawn(move || {
                        let path = golden_path(&workspace.golden_dir(), &scenario.name);
                        let transcript = RustSubject::new()
                            .run(scenario)
                            .map(|log| normalize(&log).to_string())
                            .map_err(|e| e.to_string())?;
                        if let Some(alone) = pinned.get(&scenario.name) {
                            return if &transcript == alone {
                                Ok(())
                            } else {
                                Err(format!("{}: differs from its run alone", scenario.name))
                            };
                        }
                        check_against_golden(&path, &workspace.display(&path), &transcript, "rust")
                            .map_err(|e| format!("{}: {e}", scenario.name))
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|handle| handle.join().expect("no panic").err())
                .collect()
        });
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }
}

#[test]
fn unexpressible_arguments_are_an_error_not_a_pass() {
    let text = r#"# A tool called with an argument of the wrong type.
[run]
agent = "a"
input = "Hi."

[[agents]]
name = "a"
tools = ["t"]

[[tools]]
name = "t"
parameters = { n = "integer" }
returns = "ok"

[[model.steps]]
output = [{ tool_call = "t", arguments = { n = "seven" } }]

[[model.steps]]
output = [{ message = "done" }]
"#;
    let scenario = crate::scenario::parse_scenario("wrong_type", text).expect("valid scenario");
    let error = RustSubject::new().run(&scenario).unwrap_err();
    assert!(
        error.message.contains("pydantic coercion is not modelled"),
        "{}",
        error.message
    );
}

#[test]
fn concurrent_streamed_tripwires_give_one_transcript_whatever_the_thread_timing() {
    // The copies' untraced `Creating trace` lines land before or after another copy's trace
    // started depending on the worker threads; the transcript must not.
    let workspace = Workspace::current();
    let scenario = crate::scenario::load_scenario(
        &workspace
            .scenarios_dir()
            .join("copies_streamed_guardrail_trip.toml"),
    )
    .expect("the scenario loads");
    let path = golden_path(&workspace.golden_dir(), &scenario.name);
    for round in 0..40 {
        let transcript = normalize(&RustSubject::new().run(&scenario).expect("runs")).to_string();
        if let Err(e) = check_against_golden(&path, &workspace.display(&path), &transcript, "rust")
        {
            panic!("round {round}: {e}");
        }
    }
}
