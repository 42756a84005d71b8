//! The lifecycle API reproduces the Python client's runs: event order, start/end payloads,
//! error placement, usage attachment, log lines with the ids current at emission, and hook
//! order. Expected sequences are transcribed from the Python client's transcripts
//! (`golden/*.snap` of the harness, and the reference notes), written compactly:
//! `+label`/`-label` for span start/end, `log LEVEL message @context`, `hook scope.name(args)
//! @context`.

use std::collections::HashMap;
use std::sync::Arc;

use codex_telemetry::config::{EnvConfig, RunConfig};
use codex_telemetry::hooks::{AgentHooks, RunContext, RunHooks};
use codex_telemetry::lifecycle::{
    AgentInfo, FailureHandler, HandoffInfo, Item, ModelCallOptions, ModelResponse, RunOptions,
    Runner, ToolInfo,
};
use codex_telemetry::usage::Usage;
use codex_telemetry::{
    CallModelError, CallToolError, CustomSpanData, RunAgentError, TraceOptions, TraceProvider,
    current_span, current_trace,
};
use serde_json::{Value, json};

use crate::support::Timeline;

// === harness ===

/// Records hook calls into the timeline with the ids current at the call.
struct Hooks {
    timeline: Timeline,
    scope: &'static str,
}

impl Hooks {
    fn add(&self, hook: &str, args: String) {
        let trace_id = current_trace()
            .filter(|t| !t.is_noop())
            .map(|t| t.id().to_owned());
        let span_id = current_span()
            .filter(|s| !s.is_noop())
            .map(|s| s.id().to_owned());
        self.timeline.record(json!([
            "hook",
            format!("{}.{hook}({args})", self.scope),
            trace_id,
            span_id
        ]));
    }
}

fn types(items: &[Item]) -> String {
    items
        .iter()
        .map(Item::item_type)
        .collect::<Vec<_>>()
        .join(",")
}

impl RunHooks for Hooks {
    fn on_agent_start(&self, _: &RunContext, agent: &AgentInfo) {
        self.add("on_agent_start", agent.name().into());
    }
    fn on_agent_end(&self, _: &RunContext, agent: &AgentInfo, output: &Value) {
        self.add("on_agent_end", format!("{}, {output}", agent.name()));
    }
    fn on_llm_start(&self, _: &RunContext, agent: &AgentInfo, p: Option<&str>, items: &[Item]) {
        self.add(
            "on_llm_start",
            format!("{}, {p:?}, [{}]", agent.name(), types(items)),
        );
    }
    fn on_llm_end(&self, _: &RunContext, agent: &AgentInfo, response: &ModelResponse) {
        self.add(
            "on_llm_end",
            format!("{}, [{}]", agent.name(), types(response.output())),
        );
    }
    fn on_handoff(&self, _: &RunContext, from_agent: &AgentInfo, to_agent: &AgentInfo) {
        self.add(
            "on_handoff",
            format!("{} -> {}", from_agent.name(), to_agent.name()),
        );
    }
    fn on_tool_start(&self, _: &RunContext, agent: &AgentInfo, tool: &ToolInfo) {
        self.add(
            "on_tool_start",
            format!("{}, {}", agent.name(), tool.name()),
        );
    }
    fn on_tool_end(&self, _: &RunContext, agent: &AgentInfo, tool: &ToolInfo, result: &str) {
        self.add(
            "on_tool_end",
            format!("{}, {}, {result}", agent.name(), tool.name()),
        );
    }
}

impl AgentHooks for Hooks {
    fn on_start(&self, _: &RunContext, agent: &AgentInfo) {
        self.add("on_start", agent.name().into());
    }
    fn on_end(&self, _: &RunContext, agent: &AgentInfo, output: &Value) {
        self.add("on_end", format!("{}, {output}", agent.name()));
    }
    fn on_handoff(&self, _: &RunContext, agent: &AgentInfo, source: &AgentInfo) {
        self.add(
            "on_handoff",
            format!("agent={}, source={}", agent.name(), source.name()),
        );
    }
    fn on_tool_start(&self, _: &RunContext, agent: &AgentInfo, tool: &ToolInfo) {
        self.add(
            "on_tool_start",
            format!("{}, {}", agent.name(), tool.name()),
        );
    }
    fn on_tool_end(&self, _: &RunContext, agent: &AgentInfo, tool: &ToolInfo, result: &str) {
        self.add(
            "on_tool_end",
            format!("{}, {}, {result}", agent.name(), tool.name()),
        );
    }
    fn on_llm_start(&self, _: &RunContext, agent: &AgentInfo, p: Option<&str>, items: &[Item]) {
        RunHooks::on_llm_start(self, &RunContext::default(), agent, p, items);
    }
    fn on_llm_end(&self, _: &RunContext, agent: &AgentInfo, response: &ModelResponse) {
        RunHooks::on_llm_end(self, &RunContext::default(), agent, response);
    }
}

/// A recording setup: provider, runner, hooks, timeline.
struct Setup {
    timeline: Timeline,
    runner: Runner,
    run_hooks: Arc<Hooks>,
    agent_hooks: Arc<Hooks>,
}

impl Setup {
    fn new(env: EnvConfig) -> Self {
        let timeline = Timeline::with_ids();
        let provider = TraceProvider::builder()
            .with_processor(timeline.processor())
            .with_disabled(env.tracing_disabled())
            .build();
        Self {
            run_hooks: Arc::new(Hooks {
                timeline: timeline.clone(),
                scope: "run",
            }),
            agent_hooks: Arc::new(Hooks {
                timeline: timeline.clone(),
                scope: "agent",
            }),
            runner: Runner::new(provider, env),
            timeline,
        }
    }

    fn agent(&self, name: &str) -> AgentInfo {
        AgentInfo::new(name).with_hooks(self.agent_hooks.clone())
    }

    fn options(&self, config: RunConfig) -> RunOptions {
        RunOptions::new()
            .with_config(config)
            .with_input(vec![Item::user_message("Hi")])
            .with_hooks(self.run_hooks.clone())
    }

    /// Runs `f` with this thread's log events recorded, then renders the timeline.
    fn capture(&self, f: impl FnOnce(&Runner)) -> Vec<String> {
        self.timeline.capture_logs(|| f(&self.runner));
        render(&self.timeline.entries())
    }

    fn exports(&self) -> Vec<Value> {
        self.timeline.entries()
    }
}

/// The compact rendering described in the module docs.
fn render(entries: &[Value]) -> Vec<String> {
    let mut labels: HashMap<String, String> = HashMap::new();
    let mut traces = 0;
    let label_of = |labels: &HashMap<String, String>, trace: &Value, span: &Value| -> String {
        match (span.as_str(), trace.as_str()) {
            (Some(span), _) => labels.get(span).cloned().unwrap_or_else(|| "?".into()),
            (None, Some(trace)) => labels.get(trace).cloned().unwrap_or_else(|| "?".into()),
            (None, None) => "-".into(),
        }
    };
    let mut lines = Vec::new();
    for entry in entries {
        let kind = entry[0].as_str().unwrap();
        match kind {
            "trace_start" => {
                traces += 1;
                labels.insert(
                    entry[1]["id"].as_str().unwrap().to_owned(),
                    format!("T{traces}"),
                );
                lines.push("trace_start".to_owned());
            }
            "trace_end" => lines.push("trace_end".to_owned()),
            "span_start" | "span_end" => {
                let export = &entry[1];
                let id = export["id"].as_str().unwrap().to_owned();
                let data = &export["span_data"];
                let label = labels.entry(id).or_insert_with(|| span_label(data)).clone();
                let sign = if kind == "span_start" { '+' } else { '-' };
                let error = match &export["error"] {
                    Value::Null => String::new(),
                    error => format!(" !{}", error),
                };
                lines.push(format!("{sign}{label}{error}"));
            }
            "log" => {
                let at = label_of(&labels, &entry[3], &entry[4]);
                lines.push(format!(
                    "log {} {} @{at}",
                    entry[1].as_str().unwrap(),
                    entry[2].as_str().unwrap()
                ));
            }
            "hook" => {
                let at = label_of(&labels, &entry[2], &entry[3]);
                lines.push(format!("hook {} @{at}", entry[1].as_str().unwrap()));
            }
            other => panic!("unknown entry {other}"),
        }
    }
    lines
}

fn span_label(data: &Value) -> String {
    let name = data["name"].as_str().unwrap_or_default();
    match data["type"].as_str().unwrap() {
        "custom" => match data["data"]["sdk_span_type"].as_str() {
            Some("task") => "task".into(),
            Some("turn") => format!("turn#{}", data["data"]["turn"]),
            _ => format!("custom({name})"),
        },
        "agent" => format!("agent({name})"),
        "generation" => "gen".into(),
        "function" => format!("fn({name})"),
        "handoff" => "handoff".into(),
        "guardrail" => format!("guardrail({name})"),
        other => other.into(),
    }
}

/// The span ends (exports) of spans whose label starts with `prefix`.
fn ends(exports: &[Value], prefix: &str) -> Vec<Value> {
    exports
        .iter()
        .filter(|e| e[0] == "span_end" && span_label(&e[1]["span_data"]).starts_with(prefix))
        .map(|e| e[1].clone())
        .collect()
}

fn usage(requests: u128, input: u128, output: u128, total: u128) -> Usage {
    Usage {
        requests,
        input_tokens: input,
        output_tokens: output,
        total_tokens: total,
        ..Usage::default()
    }
}

// === tests ===

/// The golden `tool_call`: one function call, then a text answer.
#[test]
fn a_tool_call_run_reproduces_the_python_sequence() {
    let setup = Setup::new(EnvConfig::default());
    let tool = ToolInfo::new("get_weather").with_parameters(["city"]);
    let agent = setup.agent("weather").with_tool(tool);
    let lines = setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new()));
        run.start_agent(&agent);
        let outcome = (|| -> Result<Value, RunAgentError> {
            let mut turn = run.start_turn()?;
            let call =
                turn.start_model_call(ModelCallOptions::new().with_system_prompt("Be nice."));
            let processed = call.finish(
                ModelResponse::new(vec![Item::function_call(
                    "get_weather",
                    "call_1",
                    r#"{"city":"Paris"}"#,
                )])
                .with_usage(usage(1, 20, 8, 28)),
            )?;
            let mut tools = turn.start_tools(processed.tool_calls());
            tools.invoke(0, |args| {
                assert_eq!(args["city"], "Paris");
                Ok(json!("sunny in Paris"))
            })?;
            tools.finish();
            turn.end();
            let mut turn = run.start_turn()?;
            let call =
                turn.start_model_call(ModelCallOptions::new().with_system_prompt("Be nice."));
            let processed = call.finish(
                ModelResponse::new(vec![Item::assistant_message("It is sunny in Paris.")])
                    .with_usage(usage(1, 35, 7, 42)),
            )?;
            let output = json!(processed.final_text().unwrap());
            turn.final_output(&output);
            turn.end();
            Ok(output)
        })();
        assert_eq!(run.finish(outcome).unwrap(), "It is sunny in Paris.");
    });
    let expected = [
        "log DEBUG Creating trace @-",
        "trace_start",
        "log DEBUG Setting current trace @-",
        "log DEBUG Creating span with id None @T1",
        "+task",
        "log DEBUG Creating span with id None @task",
        "+agent(weather)",
        "log DEBUG Running agent weather (turn 1) @agent(weather)",
        "log DEBUG Creating span with id None @agent(weather)",
        "+turn#1",
        "hook run.on_agent_start(weather) @turn#1",
        "hook agent.on_start(weather) @turn#1",
        "hook run.on_llm_start(weather, Some(\"Be nice.\"), [message]) @turn#1",
        "hook agent.on_llm_start(weather, Some(\"Be nice.\"), [message]) @turn#1",
        "log DEBUG No conversation_id available for request @turn#1",
        "log DEBUG Creating span with id None @turn#1",
        "+gen",
        "-gen",
        "log DEBUG Processing output item type=function_call class=ResponseFunctionToolCall @turn#1",
        "hook agent.on_llm_end(weather, [function_call]) @turn#1",
        "hook run.on_llm_end(weather, [function_call]) @turn#1",
        "log DEBUG Creating span with id None @turn#1",
        "+fn(get_weather)",
        "hook run.on_tool_start(weather, get_weather) @fn(get_weather)",
        "hook agent.on_tool_start(weather, get_weather) @fn(get_weather)",
        "log DEBUG Invoking tool get_weather @fn(get_weather)",
        "log DEBUG Tool get_weather completed. @fn(get_weather)",
        "hook run.on_tool_end(weather, get_weather, sunny in Paris) @fn(get_weather)",
        "hook agent.on_tool_end(weather, get_weather, sunny in Paris) @fn(get_weather)",
        "-fn(get_weather)",
        "-turn#1",
        "log DEBUG Running agent weather (turn 2) @agent(weather)",
        "log DEBUG Creating span with id None @agent(weather)",
        "+turn#2",
        "hook run.on_llm_start(weather, Some(\"Be nice.\"), [message,function_call,function_call_output]) @turn#2",
        "hook agent.on_llm_start(weather, Some(\"Be nice.\"), [message,function_call,function_call_output]) @turn#2",
        "log DEBUG No conversation_id available for request @turn#2",
        "log DEBUG Creating span with id None @turn#2",
        "+gen",
        "-gen",
        "log DEBUG Processing output item type=message class=ResponseOutputMessage @turn#2",
        "hook agent.on_llm_end(weather, [message]) @turn#2",
        "hook run.on_llm_end(weather, [message]) @turn#2",
        "hook run.on_agent_end(weather, \"It is sunny in Paris.\") @turn#2",
        "hook agent.on_end(weather, \"It is sunny in Paris.\") @turn#2",
        "-turn#2",
        "-agent(weather)",
        "-task",
        "trace_end",
        "log DEBUG Resetting current trace @T1",
    ];
    assert_eq!(lines, expected);

    // End payloads: agent tools filled in, function input/output, usage on turns and task.
    let exports = setup.exports();
    let agent_end = &ends(&exports, "agent")[0];
    assert_eq!(agent_end["span_data"]["tools"], json!(["get_weather"]));
    assert_eq!(agent_end["span_data"]["handoffs"], json!([]));
    let function = &ends(&exports, "fn")[0];
    assert_eq!(function["span_data"]["input"], r#"{"city":"Paris"}"#);
    assert_eq!(function["span_data"]["output"], "sunny in Paris");
    let turns = ends(&exports, "turn");
    assert_eq!(
        serde_json::to_string(&turns[0]["span_data"]["data"]["usage"]).unwrap(),
        r#"{"input_tokens":20,"output_tokens":8,"cached_input_tokens":0,"cache_write_input_tokens":0}"#
    );
    assert_eq!(
        serde_json::to_string(&ends(&exports, "task")[0]["span_data"]["data"]["usage"]).unwrap(),
        r#"{"input_tokens":55,"output_tokens":15,"cached_input_tokens":0,"cache_write_input_tokens":0,"requests":2,"total_tokens":70}"#
    );
    // Start payloads: agent lists empty, function input/output null.
    let starts: Vec<&Value> = exports.iter().filter(|e| e[0] == "span_start").collect();
    assert_eq!(starts[1][1]["span_data"]["tools"], json!([]));
    assert_eq!(starts[4][1]["span_data"]["input"], Value::Null);
}

#[test]
fn a_failed_model_call_has_no_usage_and_errors_on_generation_and_agent() {
    for (sensitive, detail) in [
        (true, "upstream returned 503"),
        (false, "Error details are redacted."),
    ] {
        let setup = Setup::new(EnvConfig::default());
        let agent = setup.agent("assistant");
        setup.capture(|runner| {
            let config = RunConfig::new().with_trace_include_sensitive_data(sensitive);
            let mut run = runner.start_run(setup.options(config));
            run.start_agent(&agent);
            let outcome = (|| -> Result<Value, RunAgentError> {
                let mut turn = run.start_turn()?;
                let call = turn.start_model_call(ModelCallOptions::new());
                Err(call.fail(CallModelError::new(
                    "ModelUnavailable",
                    "upstream returned 503",
                )))
            })();
            let error = run.finish(outcome).unwrap_err();
            assert_eq!(
                (error.name(), error.message()),
                ("ModelUnavailable", "upstream returned 503")
            );
        });
        let exports = setup.exports();
        assert_eq!(
            ends(&exports, "gen")[0]["error"],
            json!({"message": "Error", "data": {"name": "ModelUnavailable", "message": detail}})
        );
        assert_eq!(
            ends(&exports, "agent")[0]["error"],
            json!({"message": "Error in agent run", "data": {"error": detail}})
        );
        // No request completed: neither turn nor task carries usage.
        assert_eq!(
            ends(&exports, "turn")[0]["span_data"]["data"].get("usage"),
            None
        );
        assert_eq!(
            ends(&exports, "task")[0]["span_data"]["data"].get("usage"),
            None
        );
    }
}

#[test]
fn max_turns_puts_the_error_on_the_agent_and_starts_no_turn() {
    let setup = Setup::new(EnvConfig::default());
    let agent = setup.agent("looper");
    let lines = setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new()).with_max_turns(Some(1)));
        run.start_agent(&agent);
        let outcome = (|| -> Result<Value, RunAgentError> {
            let mut turn = run.start_turn()?;
            turn.start_model_call(ModelCallOptions::new())
                .finish(ModelResponse::new(vec![]).with_usage(usage(1, 0, 0, 0)))?;
            turn.end();
            run.start_turn()?;
            unreachable!("the second turn exceeds the limit")
        })();
        let error = run.finish(outcome).unwrap_err();
        assert_eq!(error.message(), "Max turns (1) exceeded");
    });
    assert!(!lines.iter().any(|l| l.contains("turn 2")));
    assert_eq!(lines.iter().filter(|l| l.starts_with("+turn")).count(), 1);
    assert_eq!(
        ends(&setup.exports(), "agent")[0]["error"],
        json!({"message": "Max turns exceeded", "data": {"max_turns": 1}})
    );
}

#[test]
fn input_guardrail_trips_on_the_turn_and_streamed_on_the_agent() {
    // Not streamed: the error is on the turn span, the model is never called.
    let setup = Setup::new(EnvConfig::default());
    let agent = setup.agent("assistant");
    let lines = setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new()));
        run.start_agent(&agent);
        let outcome = (|| -> Result<Value, RunAgentError> {
            let mut turn = run.start_turn()?;
            turn.run_input_guardrails(["ok", "no_homework"], |name| name == "no_homework")?;
            unreachable!()
        })();
        let error = run.finish(outcome).unwrap_err();
        assert_eq!(error.name(), "InputGuardrailTripwireTriggered");
    });
    assert!(lines.contains(&"+guardrail(no_homework)".to_owned()));
    assert!(!lines.iter().any(|l| l.contains("on_llm_start")));
    let exports = setup.exports();
    assert_eq!(
        ends(&exports, "turn")[0]["error"],
        json!({"message": "Guardrail tripwire triggered", "data": {"guardrail": "no_homework"}})
    );
    assert_eq!(ends(&exports, "agent")[0]["error"], Value::Null);
    assert_eq!(
        ends(&exports, "guardrail")
            .iter()
            .map(|g| g["span_data"]["triggered"].clone())
            .collect::<Vec<_>>(),
        [json!(false), json!(true)]
    );

    // Streamed: the golden `streamed_input_guardrail_tripwire`. Since 0.25.0 the tripwire,
    // found before the model is asked, skips the request: no generation span, no response.
    let setup = Setup::new(EnvConfig::default());
    let agent = setup.agent("assistant");
    let lines = setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new()).with_streamed(true));
        run.start_agent(&agent);
        let outcome = (|| -> Result<Value, RunAgentError> {
            let mut turn = run.start_turn()?;
            turn.run_input_guardrails(["no_homework"], |_| true)?;
            let call = turn.start_model_call(ModelCallOptions::new());
            assert!(call.is_skipped());
            call.finish(ModelResponse::new(vec![Item::assistant_message("x = 2.")]))?;
            unreachable!("the stored tripwire is raised instead of the model call")
        })();
        assert_eq!(
            run.finish(outcome).unwrap_err().name(),
            "InputGuardrailTripwireTriggered"
        );
    });
    let tail: Vec<&str> = lines[7..].iter().map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "log DEBUG Starting turn 1, current_agent=assistant @agent(assistant)",
            "log DEBUG Creating span with id None @agent(assistant)",
            "+turn#1",
            "hook run.on_agent_start(assistant) @turn#1",
            "hook agent.on_start(assistant) @turn#1",
            "log DEBUG Creating span with id None @agent(assistant)",
            "+guardrail(no_homework)",
            "-guardrail(no_homework)",
            "hook run.on_llm_start(assistant, None, [message]) @turn#1",
            "hook agent.on_llm_start(assistant, None, [message]) @turn#1",
            "log DEBUG No conversation_id available for request @turn#1",
            "-turn#1",
            "log DEBUG Error finalizing streamed result @agent(assistant)",
            "-agent(assistant) !{\"message\":\"Guardrail tripwire triggered\",\"data\":{\"guardrail\":\"no_homework\",\"type\":\"input_guardrail\"}}",
            "-task",
            "trace_end",
            "log DEBUG Resetting current trace @T1",
        ]
    );
}

#[test]
fn response_problems_land_on_turn_function_and_handoff_spans() {
    let setup = Setup::new(EnvConfig::default());
    let billing = setup.agent("billing");
    let tool = ToolInfo::new("delete_file").with_parameters(["path"]);
    let triage = setup
        .agent("triage")
        .with_tool(tool)
        .with_handoff(HandoffInfo::to_agent("billing"))
        .with_handoff(HandoffInfo::to_agent("support"));
    setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new()));
        run.start_agent(&triage);
        let outcome = (|| -> Result<Value, RunAgentError> {
            let mut turn = run.start_turn()?;
            let processed =
                turn.start_model_call(ModelCallOptions::new())
                    .finish(ModelResponse::new(vec![
                        Item::function_call("delete_file", "c1", r#"{"path":"a.txt"}"#),
                        Item::function_call("transfer_to_billing", "c2", "{}"),
                        Item::function_call("transfer_to_support", "c3", "{}"),
                    ]))?;
            assert_eq!(processed.handoffs().len(), 2);
            let mut tools = turn.start_tools(processed.tool_calls());
            let result = tools.invoke(0, |_| Err(CallToolError::new("permission denied")))?;
            assert_eq!(
                result,
                codex_telemetry::lifecycle::DEFAULT_TOOL_ERROR_OUTPUT
            );
            tools.finish();
            turn.handoff(processed.handoffs(), &billing);
            turn.end();
            run.start_agent(&billing);
            let mut turn = run.start_turn()?;
            turn.start_model_call(ModelCallOptions::new())
                .finish(ModelResponse::new(vec![Item::function_call(
                    "book_flight",
                    "c4",
                    "{}",
                )]))?;
            unreachable!("book_flight is not a tool of billing")
        })();
        let error = run.finish(outcome).unwrap_err();
        assert_eq!(
            (error.name(), error.message()),
            (
                "ModelBehaviorError",
                "Tool book_flight not found in agent billing"
            )
        );
    });
    let exports = setup.exports();
    // The default failure handler redacts even with sensitive data on.
    let function = &ends(&exports, "fn")[0];
    assert_eq!(
        function["error"],
        json!({"message": "Error running tool (non-fatal)", "data": {"tool_name": "delete_file", "error": "Tool execution failed. Error details are redacted."}})
    );
    assert_eq!(
        function["span_data"]["output"],
        "An error occurred while running the tool."
    );
    let handoff = &ends(&exports, "handoff")[0];
    assert_eq!(handoff["span_data"]["to_agent"], "billing");
    assert_eq!(
        handoff["error"],
        json!({"message": "Multiple handoffs requested", "data": {"requested_agents": ["billing", "support"]}})
    );
    let turns = ends(&exports, "turn");
    assert_eq!(
        turns[1]["error"],
        json!({"message": "Tool not found", "data": {"tool_name": "book_flight"}})
    );
    // Model misbehaviour is not a generic agent error.
    let agents = ends(&exports, "agent");
    assert_eq!(agents.len(), 2, "triage and billing");
    assert!(agents.iter().all(|a| a["error"].is_null()));
}

#[test]
fn a_tool_without_a_failure_handler_ends_the_run_from_its_span() {
    let setup = Setup::new(EnvConfig::default());
    let tool = ToolInfo::new("get_weather")
        .with_parameters(["city"])
        .with_failure_handler(FailureHandler::None);
    let agent = setup.agent("weather").with_tool(tool.clone());
    let lines = setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new()));
        run.start_agent(&agent);
        let outcome = (|| -> Result<Value, RunAgentError> {
            let mut turn = run.start_turn()?;
            let processed =
                turn.start_model_call(ModelCallOptions::new())
                    .finish(ModelResponse::new(vec![Item::function_call(
                        "get_weather",
                        "c1",
                        r#"{"city":"Paris"}"#,
                    )]))?;
            let mut tools = turn.start_tools(processed.tool_calls());
            tools.invoke(0, |_| Err(CallToolError::new("service down")))?;
            unreachable!("the failure ends the run");
        })();
        let error = run.finish(outcome).unwrap_err();
        assert_eq!(
            (error.name(), error.message()),
            ("UserError", "Error running tool get_weather: service down")
        );
    });
    // No end hooks: the span ends as the error leaves it.
    assert!(
        !lines.iter().any(|l| l.contains("on_tool_end")),
        "{lines:#?}"
    );
    let exports = setup.exports();
    let (functions, agents) = (ends(&exports, "fn("), ends(&exports, "agent"));
    assert_eq!(
        functions[0]["error"],
        json!({"message": "Error running tool", "data": {"tool_name": "get_weather", "error": "service down"}})
    );
    assert_eq!(
        functions[0]["span_data"]["input"],
        json!(r#"{"city":"Paris"}"#)
    );
    assert_eq!(
        agents[0]["error"],
        json!({"message": "Error in agent run", "data": {"error": "Error running tool get_weather: service down"}})
    );
}

#[test]
fn output_guardrails_run_after_the_turn_under_the_agent() {
    let setup = Setup::new(EnvConfig::default());
    let agent = setup.agent("assistant");
    let lines = setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new()));
        run.start_agent(&agent);
        let outcome = (|| -> Result<Value, RunAgentError> {
            let mut turn = run.start_turn()?;
            let processed = turn
                .start_model_call(ModelCallOptions::new())
                .finish(ModelResponse::new(vec![Item::assistant_message("0000")]))?;
            let output = json!(processed.final_text().unwrap());
            turn.final_output(&output);
            turn.end();
            run.run_output_guardrails(["no_secrets"], |_| true)?;
            Ok(output)
        })();
        let error = run.finish(outcome).unwrap_err();
        assert_eq!(
            error.message(),
            "Guardrail OutputGuardrail triggered tripwire"
        );
    });
    let at = |needle: &str| lines.iter().position(|l| l == needle).unwrap();
    assert!(at("hook agent.on_end(assistant, \"0000\") @turn#1") < at("-turn#1"));
    assert!(at("-turn#1") < at("+guardrail(no_secrets)"));
    // The guardrail span is created, and hangs, under the agent span.
    assert_eq!(
        lines[at("+guardrail(no_secrets)") - 1],
        "log DEBUG Creating span with id None @agent(assistant)"
    );
    let exports = setup.exports();
    let (agents, guardrails) = (ends(&exports, "agent"), ends(&exports, "guardrail"));
    assert_eq!((agents.len(), guardrails.len()), (1, 1));
    assert_eq!(guardrails[0]["parent_id"], agents[0]["id"]);
    assert_eq!(
        agents[0]["error"],
        json!({"message": "Guardrail tripwire triggered", "data": {"guardrail": "no_secrets"}})
    );
}

#[test]
fn parallel_tool_calls_run_in_python_phases_with_data_logs() {
    let env = EnvConfig::from_lookup(|name| {
        (name == "OPENAI_AGENTS_DONT_LOG_TOOL_DATA").then(|| "0".to_owned())
    });
    let setup = Setup::new(env);
    let weather = ToolInfo::new("get_weather").with_parameters(["city"]);
    let time = ToolInfo::new("get_time").with_parameters(["city"]);
    let agent = setup.agent("travel").with_tool(weather).with_tool(time);
    let lines = setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new()));
        run.start_agent(&agent);
        let mut turn = run.start_turn().unwrap();
        let processed = turn
            .start_model_call(ModelCallOptions::new())
            .finish(ModelResponse::new(vec![
                Item::function_call("get_weather", "c1", r#"{"city":"Tokyo"}"#),
                Item::function_call("get_time", "c2", r#"{"city":"Tokyo"}"#),
            ]))
            .unwrap();
        let mut tools = turn.start_tools(processed.tool_calls());
        tools.invoke(0, |_| Ok(json!("rain in Tokyo"))).unwrap();
        tools
            .invoke(1, |_| Err(CallToolError::new("clock down")))
            .unwrap();
        tools.finish();
    });
    let start = lines.iter().position(|l| l == "+fn(get_weather)").unwrap();
    assert_eq!(
        &lines[start..start + 17],
        [
            "+fn(get_weather)",
            "log DEBUG Creating span with id None @turn#1",
            "+fn(get_time)",
            "hook run.on_tool_start(travel, get_weather) @fn(get_weather)",
            "hook agent.on_tool_start(travel, get_weather) @fn(get_weather)",
            "hook run.on_tool_start(travel, get_time) @fn(get_time)",
            "hook agent.on_tool_start(travel, get_time) @fn(get_time)",
            "log DEBUG Invoking tool get_weather with input {\"city\":\"Tokyo\"} @fn(get_weather)",
            "log DEBUG Tool call args: ['Tokyo'], kwargs: {} @fn(get_weather)",
            "log DEBUG Tool get_weather returned rain in Tokyo @fn(get_weather)",
            "log DEBUG Invoking tool get_time with input {\"city\":\"Tokyo\"} @fn(get_time)",
            "log DEBUG Tool call args: ['Tokyo'], kwargs: {} @fn(get_time)",
            "log ERROR Tool get_time failed: {\"city\":\"Tokyo\"} clock down @fn(get_time)",
            "hook run.on_tool_end(travel, get_weather, rain in Tokyo) @fn(get_weather)",
            "hook agent.on_tool_end(travel, get_weather, rain in Tokyo) @fn(get_weather)",
            "hook run.on_tool_end(travel, get_time, An error occurred while running the tool.) @fn(get_time)",
            "hook agent.on_tool_end(travel, get_time, An error occurred while running the tool.) @fn(get_time)",
        ]
    );
    assert_eq!(lines[start + 17], "-fn(get_weather)");
    assert!(lines[start + 18].starts_with("-fn(get_time) !"));
}

#[test]
fn sensitive_data_off_keeps_function_input_and_output_null() {
    let env = EnvConfig::from_lookup(|name| {
        (name == "OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA").then(|| "no".to_owned())
    });
    let setup = Setup::new(env.clone());
    let tool = ToolInfo::new("get_weather");
    let agent = setup.agent("weather").with_tool(tool);
    setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::from_env(&env)));
        run.start_agent(&agent);
        let mut turn = run.start_turn().unwrap();
        let processed = turn
            .start_model_call(ModelCallOptions::new())
            .finish(ModelResponse::new(vec![Item::function_call(
                "get_weather",
                "c1",
                "{}",
            )]))
            .unwrap();
        let mut tools = turn.start_tools(processed.tool_calls());
        tools.invoke(0, |_| Ok(json!({"temp": 9}))).unwrap();
        tools.finish();
    });
    let function = &ends(&setup.exports(), "fn")[0];
    assert_eq!(function["span_data"]["input"], Value::Null);
    assert_eq!(function["span_data"]["output"], Value::Null);
}

#[test]
fn disabled_tracing_logs_pythons_no_op_lines() {
    // RunConfig.tracing_disabled: a masking span makes every span a no-op of a no-op parent.
    let setup = Setup::new(EnvConfig::default());
    let agent = setup.agent("assistant");
    let lines = setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new().with_tracing_disabled(true)));
        run.start_agent(&agent);
        let mut turn = run.start_turn().unwrap();
        turn.start_model_call(ModelCallOptions::new())
            .finish(ModelResponse::new(vec![Item::assistant_message("Hello.")]))
            .unwrap();
        turn.end();
        run.finish(Ok(json!("Hello."))).unwrap();
    });
    let logs: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("log"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        logs,
        [
            "log DEBUG Tracing is disabled. Not creating trace @-",
            "log DEBUG Setting current trace @-",
            "log DEBUG Tracing is disabled. Not creating span @-",
            "log DEBUG Current trace parent is no-op, returning NoOpSpan @-",
            "log DEBUG Current trace parent is no-op, returning NoOpSpan @-",
            "log DEBUG Running agent assistant (turn 1) @-",
            "log DEBUG Current trace parent is no-op, returning NoOpSpan @-",
            "log DEBUG No conversation_id available for request @-",
            "log DEBUG Current trace parent is no-op, returning NoOpSpan @-",
            "log DEBUG Processing output item type=message class=ResponseOutputMessage @-",
            "log DEBUG Resetting current trace @-",
        ]
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with('+') || l.starts_with("trace"))
    );

    // OPENAI_AGENTS_DISABLE_TRACING: the provider is disabled; no masking span.
    let env = EnvConfig::from_lookup(|name| {
        (name == "OPENAI_AGENTS_DISABLE_TRACING").then(|| "1".to_owned())
    });
    let setup = Setup::new(env);
    let agent = setup.agent("assistant");
    let lines = setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new()));
        run.start_agent(&agent);
    });
    assert_eq!(
        lines,
        [
            "log DEBUG Tracing is disabled. Not creating trace @-",
            "log DEBUG Setting current trace @-",
            "log DEBUG Tracing is disabled. Not creating span @-",
            "log DEBUG Tracing is disabled. Not creating span @-",
            "log DEBUG Resetting current trace @-",
        ]
    );
}

#[test]
fn runs_inside_a_user_trace_make_no_trace_and_name_their_task() {
    let env = EnvConfig::from_lookup(|name| {
        (name == "OPENAI_AGENT_HARNESS_ID").then(|| "h-1".to_owned())
    });
    let setup = Setup::new(env);
    let agent = setup.agent("assistant");
    let lines = setup.capture(|runner| {
        let _trace = runner
            .provider()
            .trace(TraceOptions::new("My workflow"))
            .start_as_current();
        let outer = runner.provider().span(CustomSpanData::new("outer"));
        let _outer = outer.start_as_current();
        let mut run =
            runner.start_run(setup.options(RunConfig::new().with_workflow_name("Inner run")));
        run.start_agent(&agent);
    });
    assert_eq!(lines.iter().filter(|l| *l == "trace_start").count(), 1);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("Creating trace"))
            .count(),
        1
    );
    let exports = setup.exports();
    let task = &ends(&exports, "task")[0];
    assert_eq!(task["span_data"]["data"]["name"], "Inner run");
    let outer = &ends(&exports, "custom(outer)")[0];
    assert_eq!(task["parent_id"], outer["id"]);
    // The user trace has no harness id: only run-made traces get it.
    assert!(task.get("metadata").is_none());

    // A run-made trace carries agent_harness_id in its metadata and every span's.
    let setup = Setup::new(EnvConfig::from_lookup(|name| {
        (name == "OPENAI_AGENT_HARNESS_ID").then(|| "  h-1 ".to_owned())
    }));
    let agent = setup.agent("assistant");
    setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new()));
        run.start_agent(&agent);
    });
    let exports = setup.exports();
    let trace_start = exports.iter().find(|e| e[0] == "trace_start").unwrap();
    assert_eq!(
        trace_start[1]["metadata"],
        json!({"agent_harness_id": "h-1"})
    );
    let span_ends: Vec<_> = exports.iter().filter(|e| e[0] == "span_end").collect();
    assert_eq!(span_ends.len(), 2, "task and agent");
    for span in span_ends {
        assert_eq!(span[1]["metadata"], json!({"agent_harness_id": "h-1"}));
    }
}

#[test]
fn without_task_and_turn_spans_the_agent_is_the_root() {
    let setup = Setup::new(EnvConfig::default());
    let agent = setup.agent("weather");
    let lines = setup.capture(|runner| {
        let mut run = runner
            .start_run(setup.options(RunConfig::new().with_include_task_and_turn_spans(false)));
        run.start_agent(&agent);
        let mut turn = run.start_turn().unwrap();
        turn.start_model_call(ModelCallOptions::new())
            .finish(
                ModelResponse::new(vec![Item::assistant_message("ok")])
                    .with_usage(usage(1, 1, 1, 2)),
            )
            .unwrap();
        turn.end();
    });
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("task") || l.contains("turn#"))
    );
    assert!(lines.contains(&"log DEBUG Running agent weather (turn 1) @agent(weather)".to_owned()));
    let exports = setup.exports();
    assert_eq!(ends(&exports, "agent")[0]["parent_id"], Value::Null);
    assert_eq!(
        ends(&exports, "gen")[0]["parent_id"],
        ends(&exports, "agent")[0]["id"]
    );
}

#[test]
fn handoff_hooks_and_streamed_turn_lines() {
    let setup = Setup::new(EnvConfig::default());
    let billing = setup.agent("billing");
    let triage = setup
        .agent("triage")
        .with_handoff(HandoffInfo::to_agent("billing"));
    let lines = setup.capture(|runner| {
        let mut run = runner.start_run(setup.options(RunConfig::new()).with_streamed(true));
        run.start_agent(&triage);
        let mut turn = run.start_turn().unwrap();
        let processed = turn
            .start_model_call(ModelCallOptions::new())
            .finish(ModelResponse::new(vec![Item::function_call(
                "transfer_to_billing",
                "c1",
                "{}",
            )]))
            .unwrap();
        turn.handoff(processed.handoffs(), &billing);
        turn.end();
        run.start_agent(&billing);
        let mut turn = run.start_turn().unwrap();
        turn.final_output(&json!("done"));
        turn.end();
        run.finish(Ok(json!("done"))).unwrap();
    });
    let start = lines.iter().position(|l| l == "+handoff").unwrap();
    assert_eq!(
        &lines[start..start + 10],
        [
            "+handoff",
            "hook run.on_handoff(triage -> billing) @handoff",
            "hook agent.on_handoff(agent=billing, source=triage) @handoff",
            "-handoff",
            "-turn#1",
            "log DEBUG Turn 1 complete, next_step type=NextStepHandoff @agent(triage)",
            "-agent(triage)",
            "log DEBUG Creating span with id None @task",
            "+agent(billing)",
            "log DEBUG Starting turn 2, current_agent=billing @agent(billing)",
        ]
    );
    assert!(lines.contains(
        &"log DEBUG Turn 2 complete, next_step type=NextStepFinalOutput @agent(billing)".to_owned()
    ));
}
