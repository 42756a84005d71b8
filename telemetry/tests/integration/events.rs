//! Codex lifecycle events emitted by the lifecycle API: their fields, sequence, pairing and
//! durations, through `codex_telemetry::testing::Capture`.

use std::time::Duration;

use codex_telemetry::config::{EnvConfig, RunConfig};
use codex_telemetry::events::{Events, Originator};
use codex_telemetry::lifecycle::{
    AgentInfo, Item, ModelCallOptions, ModelResponse, RunOptions, Runner, ToolInfo,
};
use codex_telemetry::testing::{Capture, CapturedEvent};
use codex_telemetry::usage::Usage;
use codex_telemetry::{CallToolError, RunAgentError, TraceProvider};
use serde_json::{Value, json};

/// A tool call, then a text answer; `tool` runs the tool (after `before_tool` with the clock).
pub(crate) fn tool_call_run(
    runner: &Runner,
    options: RunOptions,
    tool: impl FnOnce() -> Result<Value, CallToolError>,
) -> Result<Value, RunAgentError> {
    let agent =
        AgentInfo::new("weather").with_tool(ToolInfo::new("get_weather").with_parameters(["city"]));
    let mut run = runner.start_run(options.with_input(vec![Item::user_message("Weather?")]));
    run.start_agent(&agent);
    let outcome = (|| {
        let mut turn = run.start_turn()?;
        let call = turn.start_model_call(ModelCallOptions::new());
        let processed = call.finish(
            ModelResponse::new(vec![Item::function_call(
                "get_weather",
                "call_1",
                r#"{"city":"Paris"}"#,
            )])
            .with_usage(Usage {
                requests: 1,
                ..Usage::default()
            }),
        )?;
        let mut tools = turn.start_tools(processed.tool_calls());
        tools.invoke(0, |_| tool())?;
        tools.finish();
        turn.end();
        let mut turn = run.start_turn()?;
        let call = turn.start_model_call(ModelCallOptions::new());
        call.finish(ModelResponse::new(vec![Item::assistant_message("Sunny.")]))?;
        turn.final_output(&json!("Sunny."));
        turn.end();
        Ok(json!("Sunny."))
    })();
    run.finish(outcome)
}

fn names(events: &[CapturedEvent]) -> Vec<&str> {
    events.iter().filter_map(CapturedEvent::name).collect()
}

#[test]
fn thread_start_carries_the_run_metadata() {
    let capture = Capture::new();
    let runner = Runner::new(capture.provider(), EnvConfig::default());
    capture
        .run(|| {
            tool_call_run(
                &runner,
                RunOptions::new()
                    .with_config(RunConfig::new().with_workflow_name("Forecasts"))
                    .with_thread_id("thread_support_42")
                    .with_originator(Originator::Cli),
                || Ok(json!("sunny")),
            )
        })
        .unwrap();
    let events = capture.events();
    let start = &events[0];
    assert_eq!(start.name(), Some("codex.thread.start"));
    let trace_id = capture.spans()[0].data["id"].clone();
    let task_id = capture.spans()[1].data["id"].clone();
    for (field, expected) in [
        ("originator", json!("cli")),
        ("thread.id", json!("thread_support_42")),
        ("workflow.name", json!("Forecasts")),
        ("streamed", json!(false)),
        ("resumed", json!(false)),
        ("trace.id", trace_id),
        ("span.id", task_id),
        ("event.timestamp", json!("1970-01-01T00:00:00+00:00")),
    ] {
        assert_eq!(start.field(field), Some(&expected), "{field}");
    }
    assert!(
        start
            .field("span.token")
            .and_then(Value::as_str)
            .unwrap()
            .starts_with("tok_")
    );
    assert_eq!(start.field("duration_ms"), None);
    // Every event of the run carries the thread and the originator.
    for event in &events {
        assert_eq!(event.field("thread.id"), Some(&json!("thread_support_42")));
        assert_eq!(event.field("originator"), Some(&json!("cli")));
    }
    capture.assert_events_paired();
}

#[test]
fn a_streamed_run_emits_its_events_in_order() {
    let capture = Capture::new();
    let runner = Runner::new(capture.provider(), EnvConfig::default());
    capture
        .run(|| {
            tool_call_run(&runner, RunOptions::new().with_streamed(true), || {
                Ok(json!("sunny"))
            })
        })
        .unwrap();
    capture.assert_event_names(&[
        "codex.thread.start",
        "codex.turn.start",
        "codex.tool.start",
        "codex.tool.stop",
        "codex.turn.stop",
        "codex.turn.start",
        "codex.turn.stop",
        "codex.thread.stop",
    ]);
    capture.assert_events_paired();
    let events = capture.events();
    assert_eq!(events[1].field("turn.number"), Some(&json!(1)));
    assert_eq!(events[2].field("tool.name"), Some(&json!("get_weather")));
    assert_eq!(events[2].field("tool.kind"), Some(&json!("function")));
    assert_eq!(events[3].field("outcome"), Some(&json!("success")));
    assert_eq!(events[4].field("next_step"), Some(&json!("run_again")));
    assert_eq!(events[6].field("next_step"), Some(&json!("final_output")));
    assert_eq!(events[7].field("outcome"), Some(&json!("completed")));
    // The tool's events carry its function span; the turn's, the turn span.
    let function_span = capture
        .spans()
        .iter()
        .find(|e| e.data["span_data"]["type"] == "function")
        .unwrap()
        .data["id"]
        .clone();
    assert_eq!(events[2].field("span.id"), Some(&function_span));
}

#[test]
fn durations_come_from_the_clock() {
    let capture = Capture::new();
    let runner = Runner::new(capture.provider(), EnvConfig::default());
    capture
        .run(|| {
            tool_call_run(&runner, RunOptions::new(), || {
                capture.advance(Duration::from_millis(1250));
                Ok(json!("sunny"))
            })
        })
        .unwrap();
    let events = capture.events();
    let duration = |name: &str| {
        events
            .iter()
            .find(|e| e.name() == Some(name))
            .and_then(|e| e.field("duration_ms"))
            .cloned()
    };
    assert_eq!(duration("codex.tool.stop"), Some(json!(1250)));
    assert_eq!(duration("codex.thread.stop"), Some(json!(1250)));
    // The second turn started after the tool ran: no time passed in it.
    let turn_stops: Vec<_> = events
        .iter()
        .filter(|e| e.name() == Some("codex.turn.stop"))
        .collect();
    assert_eq!(turn_stops[0].field("duration_ms"), Some(&json!(1250)));
    assert_eq!(turn_stops[1].field("duration_ms"), Some(&json!(0)));
}

#[test]
fn durations_with_the_real_clock_cover_the_work() {
    let capture = Capture::new();
    // The system clock: the provider of a real application.
    let runner = Runner::new(TraceProvider::new(), EnvConfig::default());
    capture
        .run(|| {
            tool_call_run(&runner, RunOptions::new(), || {
                std::thread::sleep(Duration::from_millis(20));
                Ok(json!("sunny"))
            })
        })
        .unwrap();
    let events = capture.events();
    let tool_stop = events
        .iter()
        .find(|e| e.name() == Some("codex.tool.stop"))
        .unwrap();
    let millis = tool_stop
        .field("duration_ms")
        .and_then(Value::as_u64)
        .unwrap();
    // At least the sleep; an hour would mean a unit error, not a slow machine.
    assert!((20..3_600_000).contains(&millis), "{millis} ms");
}

#[test]
fn a_failing_tool_ends_tool_turn_and_thread_with_exceptions() {
    let capture = Capture::new();
    let runner = Runner::new(capture.provider(), EnvConfig::default());
    let agent = AgentInfo::new("ops").with_tool(
        ToolInfo::new("deploy")
            .with_failure_handler(codex_telemetry::lifecycle::FailureHandler::None),
    );
    let error = capture
        .run(|| {
            let mut run = runner.start_run(RunOptions::new());
            run.start_agent(&agent);
            let outcome = (|| {
                let mut turn = run.start_turn()?;
                let call = turn.start_model_call(ModelCallOptions::new());
                let processed = call.finish(ModelResponse::new(vec![Item::function_call(
                    "deploy", "call_1", "{}",
                )]))?;
                let mut tools = turn.start_tools(processed.tool_calls());
                tools.invoke(0, |_| Err(CallToolError::new("cluster unreachable")))?;
                unreachable!("the tool's error ends the run");
            })();
            run.finish(outcome)
        })
        .unwrap_err();
    assert_eq!(error.name(), "UserError");
    let events = capture.events();
    assert_eq!(
        names(&events),
        [
            "codex.thread.start",
            "codex.turn.start",
            "codex.tool.start",
            "codex.tool.exception",
            "codex.turn.exception",
            "codex.thread.exception"
        ]
    );
    capture.assert_events_paired();
    for event in &events[3..] {
        assert_eq!(
            event.field("error.type"),
            Some(&json!("UserError")),
            "{event:?}"
        );
        assert_eq!(
            event.field("error.message"),
            Some(&json!("Error running tool deploy: cluster unreachable"))
        );
        assert_eq!(event.level, tracing::Level::WARN);
    }
}

#[test]
fn nothing_is_emitted_when_events_are_disabled_or_unwanted() {
    let capture = Capture::new();
    let quiet =
        Runner::new(capture.provider(), EnvConfig::default()).with_events(Events::disabled());
    capture
        .run(|| tool_call_run(&quiet, RunOptions::new(), || Ok(json!("sunny"))))
        .unwrap();
    assert!(capture.events().is_empty());
    // Without a subscriber for the target, no id is spent on tokens or thread ids either:
    // the spans are those of a run without events.
    let plain = Capture::new();
    let runner = Runner::new(plain.provider(), EnvConfig::default());
    tool_call_run(&runner, RunOptions::new(), || Ok(json!("sunny"))).unwrap();
    let ids: Vec<Value> = plain.spans().iter().map(|e| e.data["id"].clone()).collect();
    assert_eq!(ids[0], json!("trace_00000000000000000000000000000001"));
    assert_eq!(ids[1], json!("span_000000000000000000000001"));
}

#[test]
fn an_approval_spans_the_interruption_and_the_decision_with_one_token() {
    use codex_telemetry::lifecycle::RunState;

    let capture = Capture::new();
    let runner = Runner::new(capture.provider(), EnvConfig::default());
    let agent = AgentInfo::new("ops").with_tool(ToolInfo::new("restart"));
    let state = capture.run(|| {
        let mut run = runner.start_run(RunOptions::new().with_thread_id("thread_ops"));
        run.start_agent(&agent);
        let mut turn = run.start_turn().unwrap();
        let call = turn.start_model_call(ModelCallOptions::new());
        let processed = call
            .finish(ModelResponse::new(vec![Item::function_call(
                "restart", "call_1", "{}",
            )]))
            .unwrap();
        let waiting: Vec<_> = processed
            .tool_calls()
            .iter()
            .map(|c| c.clone().awaiting_approval())
            .collect();
        turn.start_tools(&waiting).finish();
        turn.end();
        run.interrupt()
    });
    capture.advance(Duration::from_secs(90));
    // The decision comes in "another process": the state's JSON.
    let mut state = RunState::from_json(&state.to_json()).unwrap();
    state.approve("call_1", false);
    capture.run(|| {
        let mut run = runner.resume_run(state, RunOptions::new());
        run.start_agent(&agent);
        let approved = run.continue_from_interruption(&[]);
        let mut tools = run.start_resumed_tools(&approved);
        tools.invoke(0, |_| Ok(json!("restarted"))).unwrap();
        tools.finish();
        run.finish(Ok(json!(null))).unwrap();
    });
    let events = capture.events();
    assert_eq!(
        names(&events),
        [
            "codex.thread.start",
            "codex.turn.start",
            "codex.tool.start",
            "codex.tool.stop",
            "codex.approval.start",
            "codex.turn.stop",
            "codex.thread.stop",
            "codex.thread.start",
            "codex.approval.stop",
            "codex.tool.start",
            "codex.tool.stop",
            "codex.thread.stop",
        ]
    );
    capture.assert_events_paired();
    assert_eq!(
        events[3].field("outcome"),
        Some(&json!("awaiting_approval"))
    );
    assert_eq!(events[6].field("outcome"), Some(&json!("interrupted")));
    assert_eq!(events[7].field("resumed"), Some(&json!(true)));
    assert_eq!(events[7].field("thread.id"), Some(&json!("thread_ops")));
    assert_eq!(events[4].field("span.token"), events[8].field("span.token"));
    assert_eq!(events[8].field("decision"), Some(&json!("approved")));
    assert_eq!(events[8].field("duration_ms"), Some(&json!(90_000)));
}
