//! The default logger's exact lines, in text and in JSON, for a run with a deterministic
//! provider (sequential ids, the epoch clock).

use std::sync::{Arc, Mutex};

use codex_telemetry::config::EnvConfig;
use codex_telemetry::lifecycle::{
    AgentInfo, Item, ModelCallOptions, ModelResponse, RunOptions, Runner,
};
use codex_telemetry::logger::{DefaultLogger, LogFormat};
use codex_telemetry::testing::Capture;
use serde_json::json;

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A one-turn run under `logger`; what it printed.
fn printed(logger: DefaultLogger) -> String {
    let lines = Lines::default();
    let capture = Capture::new();
    let runner = Runner::new(capture.provider(), EnvConfig::default());
    tracing::subscriber::with_default(logger.with_writer(lines.clone()).subscriber(), || {
        let mut run = runner.start_run(RunOptions::new().with_thread_id("thread_1"));
        run.start_agent(&AgentInfo::new("assistant"));
        let mut turn = run.start_turn().unwrap();
        let call = turn.start_model_call(ModelCallOptions::new());
        call.finish(ModelResponse::new(vec![Item::assistant_message("Hi.")]))
            .unwrap();
        turn.final_output(&json!("Hi."));
        turn.end();
        run.finish(Ok(json!("Hi."))).unwrap();
    });
    String::from_utf8(lines.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn text_lines_are_the_messages_and_the_events_fields() {
    let text = printed(DefaultLogger::new().with_format(LogFormat::Text));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "Creating trace",
            "Setting current trace",
            "Creating span with id None",
            "codex.thread.start event.timestamp=1970-01-01T00:00:00+00:00 originator=sdk span.token=tok_000000000000000000000002 trace.id=trace_00000000000000000000000000000001 span.id=span_000000000000000000000001 thread.id=thread_1 resumed=false streamed=false workflow.name=Agent workflow",
            "Creating span with id None",
            "Running agent assistant (turn 1)",
            "Creating span with id None",
            "codex.turn.start event.timestamp=1970-01-01T00:00:00+00:00 originator=sdk span.token=tok_000000000000000000000005 trace.id=trace_00000000000000000000000000000001 span.id=span_000000000000000000000004 thread.id=thread_1 agent.name=assistant turn.number=1",
            "No conversation_id available for request",
            "Creating span with id None",
            "Processing output item type=message class=ResponseOutputMessage",
            "codex.turn.stop event.timestamp=1970-01-01T00:00:00+00:00 originator=sdk span.token=tok_000000000000000000000005 trace.id=trace_00000000000000000000000000000001 span.id=span_000000000000000000000004 thread.id=thread_1 duration_ms=0 agent.name=assistant next_step=final_output turn.number=1",
            "codex.thread.stop event.timestamp=1970-01-01T00:00:00+00:00 originator=sdk span.token=tok_000000000000000000000002 trace.id=trace_00000000000000000000000000000001 span.id=span_000000000000000000000003 thread.id=thread_1 duration_ms=0 outcome=completed resumed=false streamed=false workflow.name=Agent workflow",
            "Resetting current trace",
        ]
    );
}

#[test]
fn json_lines_carry_level_target_and_ids() {
    // Without Codex events no span tokens are drawn: the agent span is the second span.
    let text = printed(
        DefaultLogger::new()
            .with_format(LogFormat::Json)
            .with_codex_events(false),
    );
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10);
    let running = text.lines().find(|l| l.contains("Running agent")).unwrap();
    assert_eq!(
        running,
        r#"{"level":"DEBUG","target":"openai.agents","message":"Running agent assistant (turn 1)","trace_id":"trace_00000000000000000000000000000001","span_id":"span_000000000000000000000002"}"#
    );
    assert_eq!(
        lines[0],
        json!({"level": "DEBUG", "target": "openai.agents", "message": "Creating trace"})
    );
}

#[test]
fn text_lines_can_end_with_the_ids() {
    let text = printed(
        DefaultLogger::new()
            .with_format(LogFormat::Text)
            .with_ids(true)
            .with_codex_events(false),
    );
    assert_eq!(
        text.lines()
            .find(|l| l.starts_with("Running agent"))
            .unwrap(),
        "Running agent assistant (turn 1) trace_id=trace_00000000000000000000000000000001 span_id=span_000000000000000000000002"
    );
}
