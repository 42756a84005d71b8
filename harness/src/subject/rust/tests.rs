//! The rust subject against the goldens, with every scenario running at the same time on
//! its own thread, several rounds: runs must not see each other's provider, subscriber,
//! context or environment.

use crate::golden::{check_against_golden, golden_path};
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

#[test]
fn every_scenario_matches_its_golden_when_run_in_parallel() {
    let workspace = Workspace::current();
    let scenarios = scenarios(&workspace);
    assert!(!scenarios.is_empty());
    for _round in 0..3 {
        let failures: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = scenarios
                .iter()
                .map(|scenario| {
                    let workspace = &workspace;
                    scope.spawn(move || {
                        let path = golden_path(&workspace.golden_dir(), &scenario.name);
                        let transcript = RustSubject::new()
                            .run(scenario)
                            .map(|log| normalize(&log).to_string())
                            .map_err(|e| e.to_string())?;
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
