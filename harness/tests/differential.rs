//! Differential property test: generated scenarios through the python subject (the real client,
//! embedded once for the whole run) and the rust subject must give equal transcripts.
//!
//! Scenarios are generated through the scenario *types* (`parity::scenario::schema`), serialized
//! to TOML and loaded like any file, so every case is a file a person can read. The generator
//! walks a model script the way the client consumes it (agents calling their own tools, handing
//! off to the agents they list, answering or failing), with guardrails, usage, structured output,
//! streaming, RunConfig switches, an outer user trace with custom spans, and environment
//! variables.
//!
//! On a difference proptest shrinks the case; the failure prints the minimal scenario as a file
//! and writes it to `target/parity-regressions/<name>.toml`: move it into `scenarios/` (and record
//! its golden with `parity run --scenario <name> --accept-new`) to keep it as a regression
//! scenario (docs/runbook.md). Seeds of failures are persisted by proptest in
//! `harness/tests/differential.proptest-regressions` and replayed first.
//!
//! Case count: `PROPTEST_CASES` (default 64 here; the nightly job raises it).
//! `PARITY_DIFFERENTIAL_DUMP=DIR` writes every generated case into DIR.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use parity::compare::{diff, first_difference};
use parity::scenario::parse_scenario;
use parity::scenario::schema::{
    ActionSpec, AgentSpec, FieldType, GuardrailKind, GuardrailSpec, ModelErrorSpec, ModelSpec,
    ModelStepSpec, OutputItemSpec, OutputTypeSpec, RunSpec, ScenarioFile, ToolSpec, UsageSpec,
    UserTraceSpec,
};
use parity::subject::SubjectKind;
use parity::workspace::Workspace;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError};
use serde_json::{Value, json};

/// What the model does in one step, for the agent that is current at that step.
#[derive(Debug, Clone)]
enum Move {
    /// Calls these tools of the current agent (indices into its tool list), in parallel.
    Tools(Vec<usize>),
    /// Hands off to one of the current agent's handoff targets (index), optionally after
    /// calling one of its tools in the same response.
    Handoff(usize, Option<usize>),
    /// A second handoff in the same response (the client takes the first).
    TwoHandoffs(usize, usize),
    /// Final answer.
    Answer,
    /// The model call fails with this error class.
    Fail(&'static str),
    /// Calls a tool no agent has.
    MissingTool,
}

#[derive(Debug, Clone)]
struct Shape {
    agents: usize,
    tools: Vec<ToolShape>,
    /// Per agent: tools (indices), handoff targets (indices), structured output.
    agent_tools: Vec<Vec<usize>>,
    agent_handoffs: Vec<Vec<usize>>,
    structured: Vec<bool>,
    input_guardrail: Option<bool>,
    output_guardrail: Option<bool>,
    moves: Vec<Move>,
    usage: Vec<Option<(u64, u64, u64)>>,
    streamed: bool,
    sensitive: Option<bool>,
    task_and_turn_spans: Option<bool>,
    workflow: Option<(String, Option<String>, bool)>,
    user_trace: Option<(bool, bool)>,
    log_tool_data: bool,
    tracing_disabled: Option<bool>,
    max_turns: Option<u32>,
    harness_id: bool,
}

#[derive(Debug, Clone)]
struct ToolShape {
    parameter: Option<FieldType>,
    raises: bool,
    returns_number: bool,
}

fn tool_shape() -> impl Strategy<Value = ToolShape> {
    (
        prop_oneof![
            Just(None),
            Just(Some(FieldType::String)),
            Just(Some(FieldType::Integer)),
            Just(Some(FieldType::Boolean))
        ],
        prop::bool::weighted(0.25),
        any::<bool>(),
    )
        .prop_map(|(parameter, raises, returns_number)| ToolShape {
            parameter,
            raises,
            returns_number,
        })
}

fn shape() -> impl Strategy<Value = Shape> {
    (1usize..=4, prop::collection::vec(tool_shape(), 0..=3)).prop_flat_map(|(agents, tools)| {
        let n_tools = tools.len();
        let tools_of = prop::collection::vec(
            prop::sample::subsequence((0..n_tools).collect::<Vec<_>>(), 0..=n_tools),
            agents,
        );
        let handoffs_of = (0..agents)
            .map(|me| {
                let others: Vec<usize> = (0..agents).filter(|a| *a != me).collect();
                let n = others.len();
                prop::sample::subsequence(others, 0..=n).boxed()
            })
            .collect::<Vec<_>>();
        let structure = (
            Just(agents),
            Just(tools),
            tools_of,
            handoffs_of,
            prop::collection::vec(prop::bool::weighted(0.15), agents),
            prop::option::weighted(0.3, any::<bool>()),
            prop::option::weighted(0.2, any::<bool>()),
        );
        let script = (
            prop::collection::vec(any::<(u8, u8, u8)>(), 1..=6),
            prop::collection::vec(
                prop::option::weighted(0.4, (0u64..50, 0u64..50, 0u64..10)),
                6,
            ),
        );
        let settings = (
            any::<bool>(),
            prop::option::weighted(0.3, any::<bool>()),
            prop::option::weighted(0.2, any::<bool>()),
            prop::option::weighted(
                0.3,
                (
                    "[A-Z][a-z]{2,8}",
                    prop::option::of("[a-z]{3}-[0-9]{2}"),
                    any::<bool>(),
                ),
            ),
            prop::option::weighted(0.3, (any::<bool>(), any::<bool>())),
            prop::bool::weighted(0.25),
            prop::option::weighted(0.1, any::<bool>()),
            prop::option::weighted(0.15, 1u32..=3),
            prop::bool::weighted(0.15),
        );
        (structure, script, settings).prop_map(
            |(
                (
                    agents,
                    tools,
                    agent_tools,
                    agent_handoffs,
                    structured,
                    input_guardrail,
                    output_guardrail,
                ),
                (raw_moves, usage),
                (
                    streamed,
                    sensitive,
                    task_and_turn_spans,
                    workflow,
                    user_trace,
                    log_tool_data,
                    tracing_disabled,
                    max_turns,
                    harness_id,
                ),
            )| Shape {
                agents,
                tools,
                agent_tools,
                agent_handoffs,
                structured,
                input_guardrail,
                output_guardrail,
                moves: raw_moves.into_iter().map(to_move).collect(),
                usage,
                streamed,
                sensitive,
                task_and_turn_spans,
                workflow,
                user_trace,
                log_tool_data,
                tracing_disabled,
                max_turns,
                harness_id,
            },
        )
    })
}

/// Raw bytes to a move, weighted towards tool calls and handoffs, with failures in between.
fn to_move((kind, a, b): (u8, u8, u8)) -> Move {
    let (a, b) = (a as usize, b as usize);
    match kind % 20 {
        0..=5 | 17..=19 => Move::Tools(if b % 3 == 1 { vec![a, b] } else { vec![a] }),
        6..=9 => Move::Handoff(a, (b % 2 == 0).then_some(b)),
        10 => Move::TwoHandoffs(a, b),
        11..=13 => Move::Answer,
        14 | 15 => Move::Fail(["ModelUnavailable", "ModelBehaviorError", "RateLimitError"][a % 3]),
        _ => Move::MissingTool,
    }
}

/// The move itself when the current agent can make it, otherwise the first it can make of a
/// tool call and a handoff, otherwise an answer: generated scripts keep going.
fn feasible(mv: &Move, tools: &[usize], handoffs: &[usize]) -> Move {
    let possible = match mv {
        Move::Tools(_) => !tools.is_empty(),
        Move::Handoff(..) => !handoffs.is_empty(),
        Move::TwoHandoffs(..) => handoffs.len() >= 2,
        _ => true,
    };
    if possible {
        mv.clone()
    } else if !tools.is_empty() {
        Move::Tools(vec![0])
    } else if !handoffs.is_empty() {
        Move::Handoff(0, None)
    } else {
        Move::Answer
    }
}

fn agent_name(i: usize) -> String {
    ["triage", "billing", "Support Agent", "weather"][i].to_owned()
}

fn tool_name(i: usize) -> String {
    ["get_weather", "lookup_order", "send_mail"][i].to_owned()
}

fn argument(field: FieldType, seed: usize) -> Value {
    match field {
        FieldType::String => json!(["Paris", "Zürich", "id-42"][seed % 3]),
        FieldType::Integer => json!(seed as i64 - 3),
        FieldType::Number => json!(seed as f64 + 0.5),
        FieldType::Boolean => json!(seed.is_multiple_of(2)),
    }
}

/// The scenario a shape describes: the script follows the moves for whichever agent is
/// current, so that every step is one the client consumes.
fn scenario(shape: &Shape) -> ScenarioFile {
    let tools = tools(shape);
    let guardrails = guardrails(shape);
    let agents = agents(shape);
    let steps = steps(shape);
    let trace = user_trace(shape);
    let (workflow_name, group_id, trace_metadata) = match &shape.workflow {
        Some((name, group, metadata)) => (
            Some(name.clone()),
            group.clone(),
            metadata.then(|| BTreeMap::from([("tenant".to_owned(), json!("acme"))])),
        ),
        None => (None, None, None),
    };
    ScenarioFile {
        run: RunSpec {
            agent: agent_name(0),
            input: "Hello there.".into(),
            streamed: shape.streamed,
            drain: true,
            copies: 1,
            repeat: 1,
            trace_id: None,
            session: false,
            max_turns: shape.max_turns,
            workflow_name,
            group_id,
            trace_metadata,
            trace_include_sensitive_data: shape.sensitive,
            tracing_disabled: shape.tracing_disabled,
            include_task_and_turn_spans: shape.task_and_turn_spans,
            resume: Vec::new(),
        },
        env: {
            let mut env = BTreeMap::new();
            if shape.log_tool_data {
                env.insert(
                    "OPENAI_AGENTS_DONT_LOG_TOOL_DATA".to_owned(),
                    "0".to_owned(),
                );
            }
            if shape.harness_id {
                env.insert("OPENAI_AGENT_HARNESS_ID".to_owned(), "generated".to_owned());
            }
            env
        },
        agents,
        tools,
        guardrails,
        mcp_servers: Vec::new(),
        model: ModelSpec {
            generation_spans: true,
            steps,
        },
        trace,
    }
}

/// The shape's function tools, `tool_0`….
fn tools(shape: &Shape) -> Vec<ToolSpec> {
    shape
        .tools
        .iter()
        .enumerate()
        .map(|(i, t)| ToolSpec {
            name: tool_name(i),
            description: None,
            parameters: t
                .parameter
                .map(|f| IndexMap::from([("x".to_owned(), f)]))
                .unwrap_or_default(),
            returns: (!t.raises).then(|| {
                if t.returns_number {
                    json!(21.5)
                } else {
                    json!(format!("result of {}", tool_name(i)))
                }
            }),
            raises: t.raises.then(|| format!("{} is down", tool_name(i))),
            failure_error_function: None,
            failure_message: None,
            input_guardrails: Vec::new(),
            output_guardrails: Vec::new(),
            needs_approval: None,
        })
        .collect()
}

/// The input and output guardrails the shape asks for.
fn guardrails(shape: &Shape) -> Vec<GuardrailSpec> {
    let mut guardrails = Vec::new();
    if let Some(trips) = shape.input_guardrail {
        guardrails.push(GuardrailSpec {
            name: "input_check".into(),
            kind: GuardrailKind::Input,
            tripwire: trips,
            run_in_parallel: None,
            behavior: None,
            message: None,
        });
    }
    if let Some(trips) = shape.output_guardrail {
        guardrails.push(GuardrailSpec {
            name: "output_check".into(),
            kind: GuardrailKind::Output,
            tripwire: trips,
            run_in_parallel: None,
            behavior: None,
            message: None,
        });
    }
    guardrails
}

/// The shape's agents, `agent_0`… (the first starts the run).
fn agents(shape: &Shape) -> Vec<AgentSpec> {
    (0..shape.agents)
        .map(|i| AgentSpec {
            name: agent_name(i),
            instructions: (i % 2 == 0).then(|| format!("You are {}.", agent_name(i))),
            tools: shape.agent_tools[i].iter().map(|t| tool_name(*t)).collect(),
            handoffs: shape.agent_handoffs[i]
                .iter()
                .map(|a| agent_name(*a))
                .collect(),
            output_type: shape.structured[i].then(|| OutputTypeSpec {
                name: "Answer".into(),
                fields: IndexMap::from([
                    ("city".into(), FieldType::String),
                    ("ok".into(), FieldType::Boolean),
                ]),
            }),
            // Input guardrails run for the starting agent, output guardrails for the last.
            input_guardrails: if shape.input_guardrail.is_some() && i == 0 {
                vec!["input_check".into()]
            } else {
                vec![]
            },
            output_guardrails: if shape.output_guardrail.is_some() {
                vec!["output_check".into()]
            } else {
                vec![]
            },
            agent_tools: Vec::new(),
            mcp_servers: Vec::new(),
            tool_use_behavior: None,
            stop_at_tool_names: None,
            tools_final_output: None,
        })
        .collect()
}

/// The model script: the moves, each made feasible for the agent current at that point.
fn steps(shape: &Shape) -> Vec<ModelStepSpec> {
    let mut steps = Vec::new();
    let mut current = 0usize;
    let mut call = 0usize;
    let mut call_tool = |tool: usize, steps_len: usize| {
        call += 1;
        let parameter = shape.tools[tool].parameter;
        OutputItemSpec {
            tool_call: Some(tool_name(tool)),
            arguments: Some(
                parameter
                    .map(|f| IndexMap::from([("x".to_owned(), argument(f, call + steps_len))]))
                    .unwrap_or_default(),
            ),
            ..item()
        }
    };
    for (n, mv) in shape.moves.iter().enumerate() {
        let own_tools = &shape.agent_tools[current];
        let own_handoffs = &shape.agent_handoffs[current];
        let output = match feasible(mv, own_tools, own_handoffs) {
            Move::Tools(picks) => picks
                .iter()
                .map(|p| call_tool(own_tools[p % own_tools.len()], n))
                .collect(),
            Move::Handoff(target, with_tool) => {
                let mut items = Vec::new();
                if let (Some(t), false) = (with_tool, own_tools.is_empty()) {
                    items.push(call_tool(own_tools[t % own_tools.len()], n));
                }
                let to = own_handoffs[target % own_handoffs.len()];
                items.push(OutputItemSpec {
                    handoff: Some(agent_name(to)),
                    ..item()
                });
                current = to;
                items
            }
            Move::TwoHandoffs(first, second) => {
                let a = own_handoffs[first % own_handoffs.len()];
                let b = own_handoffs
                    [(first + 1 + second % (own_handoffs.len() - 1)) % own_handoffs.len()];
                current = a;
                vec![
                    OutputItemSpec {
                        handoff: Some(agent_name(a)),
                        ..item()
                    },
                    OutputItemSpec {
                        handoff: Some(agent_name(b)),
                        ..item()
                    },
                ]
            }
            Move::Fail(name) => {
                steps.push(step(Vec::new(), None, Some(name)));
                break;
            }
            Move::MissingTool => {
                steps.push(step(
                    vec![OutputItemSpec {
                        missing_tool_call: Some("no_such_tool".into()),
                        ..item()
                    }],
                    None,
                    None,
                ));
                break;
            }
            Move::Answer => {
                steps.push(step(
                    vec![answer(shape.structured[current])],
                    shape.usage[n % 6],
                    None,
                ));
                break;
            }
        };
        steps.push(step(output, shape.usage[n % 6], None));
        if n + 1 == shape.moves.len() {
            steps.push(step(vec![answer(shape.structured[current])], None, None));
        }
    }
    steps
}

/// The user trace around the run, if the shape has one.
fn user_trace(shape: &Shape) -> Option<UserTraceSpec> {
    shape.user_trace.map(|(around, after)| UserTraceSpec {
        workflow_name: "Generated workflow".into(),
        group_id: Some("group-1".into()),
        metadata: Some(BTreeMap::from([("case".to_owned(), json!("generated"))])),
        disabled: false,
        body: {
            let run = ActionSpec {
                run: Some(true),
                ..action()
            };
            let mut body = vec![if around {
                ActionSpec {
                    custom_span: Some("outer".into()),
                    data: Some(BTreeMap::from([("step".to_owned(), json!(1))])),
                    body: vec![run],
                    ..action()
                }
            } else {
                run
            }];
            if after {
                body.push(ActionSpec {
                    custom_span: Some("after".into()),
                    ..action()
                });
            }
            body
        },
    })
}

fn item() -> OutputItemSpec {
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

fn action() -> ActionSpec {
    ActionSpec {
        run: None,
        custom_span: None,
        data: None,
        body: Vec::new(),
        on_error: None,
    }
}

fn answer(structured: bool) -> OutputItemSpec {
    OutputItemSpec {
        message: Some(if structured {
            r#"{"city": "Paris", "ok": true}"#.into()
        } else {
            "Here you go.".into()
        }),
        ..item()
    }
}

fn step(
    output: Vec<OutputItemSpec>,
    usage: Option<(u64, u64, u64)>,
    error: Option<&str>,
) -> ModelStepSpec {
    ModelStepSpec {
        output,
        usage: usage.map(|(input, output, cached)| UsageSpec {
            requests: 1,
            input_tokens: input,
            output_tokens: output,
            total_tokens: input + output,
            cached_input_tokens: cached,
            ..UsageSpec::default()
        }),
        error: error.map(|name| ModelErrorSpec {
            name: name.into(),
            message: "the model call failed".into(),
        }),
    }
}

/// The scenario as a file, as it would be saved.
fn to_file(scenario: &ScenarioFile) -> String {
    let body = toml::to_string(scenario).expect("a scenario serializes to TOML");
    format!(
        "# Generated by the differential property test (harness/tests/differential.rs).\n{body}"
    )
}

fn check(workspace: &Workspace, text: &str) -> Result<(), TestCaseError> {
    check_with(workspace, text, &SubjectKind::Python, |rust| rust, true)
}

/// [`check`] against `reference` (python; the rust subject itself in the test that shows the
/// property can fail, which injects a difference through `perturb` and must not pay for the
/// python subject on every shrinking step); `save` keeps counterexamples.
fn check_with(
    workspace: &Workspace,
    text: &str,
    reference: &SubjectKind,
    perturb: impl Fn(String) -> String,
    save: bool,
) -> Result<(), TestCaseError> {
    // `PARITY_DIFFERENTIAL_DUMP=DIR` keeps every generated case as a file, to read what runs.
    if let Some(dir) = std::env::var_os("PARITY_DIFFERENTIAL_DUMP") {
        let dir = std::path::PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        let _ = std::fs::write(dir.join(format!("case_{n:04}.toml")), text);
    }
    let scenario = parse_scenario("generated", text).map_err(|e| {
        TestCaseError::fail(format!(
            "the generator made a scenario the loader refuses: {e}\n{text}"
        ))
    })?;
    let expected = reference
        .transcript(workspace, &scenario)
        .map_err(|e| TestCaseError::fail(format!("{reference} failed: {e}\n{text}")))?;
    let rust = SubjectKind::Rust
        .transcript(workspace, &scenario)
        .map(perturb)
        .map_err(|e| TestCaseError::fail(format!("rust failed: {e}\n{text}")))?;
    if let Some(diff) = diff(&expected, reference.name(), &rust, "rust") {
        let path = first_difference(&expected, &rust).unwrap_or_default();
        let saved = if save {
            save_counterexample(workspace, text)
        } else {
            "not saved".into()
        };
        return Err(TestCaseError::fail(format!(
            "rust differs from {reference} at {path}\n--- scenario ({saved}) ---\n{text}\n--- diff ---\n{diff}"
        )));
    }
    Ok(())
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
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let config = Config {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        max_shrink_iters: 1024,
        ..Config::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&shape(), |shape| {
        check(&workspace, &to_file(&scenario(&shape)))
    });
    if let Err(e) = result {
        panic!("{e}");
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
    let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(config, rng);
    let result = runner.run(&shape(), |shape| {
        let text = to_file(&scenario(&shape));
        check_with(
            &workspace,
            &text,
            &SubjectKind::Rust,
            |rust| rust.replace(r#""type":"function""#, r#""type":"functi0n""#),
            false,
        )
    });
    let Err(proptest::test_runner::TestError::Fail(reason, minimal)) = result else {
        panic!("the injected difference was not found: {result:?}");
    };
    assert!(
        reason.message().contains("(function)"),
        "{}",
        reason.message()
    );
    let file = to_file(&scenario(&minimal));
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
