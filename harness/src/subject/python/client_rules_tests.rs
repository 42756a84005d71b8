//! The loader's rules checked against the installed client, so they cannot drift from it: every
//! exception class of the client, of `openai` and of Python's builtins, and every name rule, goes
//! through both the loader and the real client (DESIGN: bad input is refused before a subject
//! runs, and the python subject never fails on a scenario the loader accepted).

use std::collections::BTreeSet;

use serde_json::Value;

use super::{PythonSubject, embed};
use crate::scenario::exceptions::{ExceptionOrigin, known_exception_names, resolve_exception};
use crate::scenario::names::{field_name_problem, parameter_name_problem};
use crate::scenario::parse_scenario;
use crate::workspace::Workspace;

fn embedded() -> &'static embed::Embedded {
    embed::embedded(&Workspace::current()).expect("the python subject starts")
}

/// Exception class names defined by the installed packages: `{"agents": [...], ...}`.
fn installed_exception_classes() -> Value {
    embedded().eval_json(
        c"
import builtins, inspect, openai
import agents.exceptions, agents.testing.model

def classes(module, own_module=None):
    # dir() and getattr(): openai loads some attributes lazily, changing vars() while read.
    found = []
    for name in dir(module):
        value = getattr(module, name, None)
        if (inspect.isclass(value) and issubclass(value, BaseException) and not name.startswith('_')
                and (own_module is None or value.__module__ == own_module)):
            found.append(name)
    return sorted(found)

result = json.dumps({
    'agents': classes(agents.exceptions, 'agents.exceptions'),
    'agents.testing': classes(agents.testing.model, 'agents.testing.model'),
    'openai': classes(openai),
    'builtins': classes(builtins),
})
",
    )
}

fn scenario_raising(name: &str, message: &str) -> String {
    format!(
        "# The model raises {name}.\n[run]\nagent = \"a\"\ninput = \"Hi.\"\n\n[[agents]]\nname = \"a\"\n\n[[model.steps]]\nerror = {{ name = {name:?}, message = {message:?} }}\n"
    )
}

#[test]
fn every_exception_name_resolves_as_the_loader_says() {
    let installed = installed_exception_classes();
    let mut all = BTreeSet::new();
    for names in installed.as_object().unwrap().values() {
        all.extend(
            names
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_owned()),
        );
    }
    // Every name the catalogue knows is a class of the installed packages (no stale entry).
    for known in known_exception_names() {
        assert!(
            all.contains(known),
            "{known} is in the catalogue but not installed"
        );
    }
    let subject = PythonSubject::new(Workspace::current());
    let mut problems = Vec::new();
    for name in all.iter().chain([&"ModelUnavailable".to_owned()]) {
        let resolved = resolve_exception(name);
        let fixed = resolved.as_ref().ok().and_then(|r| r.fixed_message);
        let message = fixed.unwrap_or("scripted failure");
        match (
            parse_scenario("raises", &scenario_raising(name, message)),
            &resolved,
        ) {
            (Err(error), Err(reason)) => {
                // A real class is refused with its reason, never as a look-alike.
                if !reason.starts_with(&format!("{name} is ")) || reason.contains("looks like") {
                    problems.push(format!(
                        "{name}: refused without naming it as a real class: {error}"
                    ));
                }
            }
            (Ok(scenario), Ok(resolved)) => {
                if resolved.origin == ExceptionOrigin::Scripted && name != "ModelUnavailable" {
                    problems.push(format!(
                        "{name} is installed but the catalogue treats it as generic"
                    ));
                    continue;
                }
                match subject.run(&scenario) {
                    Err(e) => {
                        problems.push(format!("{name}: accepted, but the client failed: {e}"))
                    }
                    Ok(log) => {
                        let outcome = log.records.last().map(|r| r.data.clone());
                        let expected = serde_json::json!({"status": "raised", "error": name, "message": message});
                        if outcome.as_ref() != Some(&expected) {
                            problems
                                .push(format!("{name}: outcome {outcome:?}, expected {expected}"));
                        }
                    }
                }
            }
            (loaded, resolved) => problems.push(format!(
                "{name}: the loader and the catalogue disagree: {:?} vs {resolved:?}",
                loaded.map(|_| ())
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn name_rules_match_the_client() {
    let mut probes: Vec<String> = [
        "my-param",
        "1x",
        "x y",
        "",
        "a.b",
        "_x",
        "__x",
        "__class__",
        "json",
        "schema",
        "copy",
        "é",
        "ünïcode",
        "self",
        "args",
        "kwargs",
        "city",
        "match",
        "case",
        "model_x",
        "fields",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let python_names = embedded().eval_json(
        c"
import keyword, pydantic
result = json.dumps(keyword.kwlist + [m for m in dir(pydantic.BaseModel) if m.startswith('model_')])
",
    );
    probes.extend(
        python_names
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_owned()),
    );

    // What the client makes of each name: a tool parameter (the driver's signature, read by the
    // client's function_schema) and a structured-output field (pydantic.create_model).
    let code = format!(
        "
import warnings
probes = json.loads({probes:?})
verdicts = {{}}
for name in probes:
    verdict = {{}}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            parity_driver._make_tool({{'name': 't', 'returns': 'x', 'parameters': {{name: 'string'}}}}, 's')
            verdict['parameter'] = True
        except Exception:
            verdict['parameter'] = False
        try:
            model = parity_driver._make_output_type({{'name': 'O', 'fields': {{name: 'string'}}}}, 's')
            verdict['field'] = name in model.model_fields
        except Exception:
            verdict['field'] = False
    verdicts[name] = verdict
result = json.dumps(verdicts)
",
        probes = serde_json::to_string(&probes).unwrap()
    );
    let code = std::ffi::CString::new(code).unwrap();
    let verdicts = embedded().eval_json(&code);
    let mut problems = Vec::new();
    for name in &probes {
        let client = &verdicts[name.as_str()];
        let loader_parameter = parameter_name_problem(name).is_none();
        let loader_field = field_name_problem(name).is_none();
        if client["parameter"] != loader_parameter {
            problems.push(format!(
                "parameter {name:?}: the client builds it: {}, the loader accepts it: {loader_parameter}",
                client["parameter"]
            ));
        }
        if client["field"] != loader_field {
            problems.push(format!(
                "output field {name:?}: the client makes it a field: {}, the loader accepts it: {loader_field}",
                client["field"]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
