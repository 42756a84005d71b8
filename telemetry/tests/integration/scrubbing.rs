//! Secret scrubbing, as properties: generated secrets placed in every field that can carry
//! user data never leave the process — not in exported spans (as values or as bytes), not in
//! `openai.agents` log lines, not in Codex events.

use codex_telemetry::config::{EnvConfig, RunConfig};
use codex_telemetry::lifecycle::{
    AgentInfo, FailureHandler, Item, ModelCallOptions, ModelResponse, RunOptions, Runner, ToolInfo,
};
use codex_telemetry::testing::Capture;
use codex_telemetry::{
    CallToolError, CustomSpanData, JsonLinesProcessor, TraceOptions, TraceProvider,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A secret of one of the built-in shapes, and the part of it that must never be seen.
fn secret() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        "[A-Za-z0-9]{24,40}".prop_map(|core| (format!("sk-proj-{core}"), core)),
        "[A-Za-z0-9]{24,40}".prop_map(|core| (format!("sk-{core}"), core)),
        "[A-Za-z0-9]{36,40}".prop_map(|core| (format!("ghp_{core}"), core)),
        "[A-Z0-9]{16}".prop_map(|core| (format!("AKIA{core}"), core)),
        "[A-Za-z0-9]{24,40}".prop_map(|core| (format!("Bearer {core}"), core)),
        "[A-Za-z0-9+/]{16,32}".prop_map(|core| (format!("Authorization: Basic {core}"), core)),
    ]
}

/// Everything a run handed out, as text: span exports (values and bytes), log lines, events.
fn handed_out(secret: &str, place: usize) -> Vec<String> {
    let env = EnvConfig::from_lookup(|name| match name {
        // Data-bearing log lines, so that logs carry what they can.
        "OPENAI_AGENTS_DONT_LOG_TOOL_DATA" | "OPENAI_AGENTS_DONT_LOG_MODEL_DATA" => {
            Some("0".into())
        }
        _ => None,
    });
    let capture = Capture::new();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let provider = TraceProvider::builder()
        .with_processor(JsonLinesProcessor::new(SharedBuffer(lines.clone())))
        .build();
    let in_memory = capture.provider();
    let with = |text: &str, at: usize| {
        if place == at {
            format!("x {secret} y")
        } else {
            text.to_owned()
        }
    };
    let mut exports = Vec::new();
    for provider in [provider, in_memory] {
        let runner = Runner::new(provider.clone(), env.clone());
        let tool = ToolInfo::new("lookup").with_parameters(["q"]);
        let failing = ToolInfo::new("deploy").with_failure_handler(FailureHandler::None);
        let agent = AgentInfo::new(with("agent", 0))
            .with_tool(tool.clone())
            .with_tool(failing);
        let config = RunConfig::new()
            .with_workflow_name(with("wf", 1))
            .with_group_id(with("group", 2))
            .with_trace_metadata(
                json!({"note": with("meta", 3)})
                    .as_object()
                    .unwrap()
                    .clone(),
            );
        capture.run(|| {
            let mut run = runner.start_run(
                RunOptions::new()
                    .with_config(config)
                    .with_input(vec![Item::user_message(with("hello", 4))]),
            );
            run.start_agent(&agent);
            let outcome = (|| {
                let mut turn = run.start_turn()?;
                let call = turn.start_model_call(
                    ModelCallOptions::new().with_system_prompt(with("prompt", 5)),
                );
                let arguments = json!({"q": with("query", 6)}).to_string();
                let processed = call.finish(ModelResponse::new(vec![
                    Item::function_call("lookup", "call_1", arguments),
                    Item::assistant_message(with("answer", 7)),
                ]))?;
                let mut tools = turn.start_tools(processed.tool_calls());
                let output = with("result", 8);
                tools.invoke(0, |_| Ok(json!(output)))?;
                tools.finish();
                turn.end();
                let mut turn = run.start_turn()?;
                let call = turn.start_model_call(ModelCallOptions::new());
                let processed = call.finish(ModelResponse::new(vec![Item::function_call(
                    "deploy", "call_2", "{}",
                )]))?;
                let mut tools = turn.start_tools(processed.tool_calls());
                let message = with("boom", 9);
                tools.invoke(0, |_| Err(CallToolError::new(message)))?;
                Ok(json!(null))
            })();
            let _ = run.finish(outcome);
            // A user's own trace and span, with data.
            let trace = provider
                .trace(TraceOptions::new(with("user trace", 10)))
                .start_as_current();
            let span = provider.span(CustomSpanData::with_data(
                with("custom", 11),
                json!({"headers": {"Authorization": with("none", 12)}})
                    .as_object()
                    .unwrap()
                    .clone(),
            ));
            drop(span.start_as_current());
            drop(trace);
        });
    }
    exports.extend(capture.spans().iter().map(|event| event.data.to_string()));
    exports.push(String::from_utf8_lossy(&lines.lock().unwrap()).into_owned());
    exports.extend(
        capture
            .all()
            .iter()
            .map(|event| Value::Object(event.fields.clone()).to_string()),
    );
    exports
}

#[derive(Clone)]
struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn no_secret_leaves_the_process((secret, core) in secret(), place in 0usize..13) {
        for text in handed_out(&secret, place) {
            prop_assert!(!text.contains(&core), "{secret} (field {place}) survived in: {text}");
        }
    }
}

#[test]
fn the_planted_data_does_reach_the_outputs() {
    // The property would hold trivially if the fields never reached the outputs. Only the
    // conversation's messages (4, 5, 7) stay inside: no export or log line carries them.
    let reached: Vec<usize> = (0..13)
        .filter(|&place| {
            handed_out("PLAINMARKER", place)
                .join("\n")
                .contains("PLAINMARKER")
        })
        .collect();
    assert_eq!(reached, [0, 1, 2, 3, 6, 8, 9, 10, 11, 12]);
}
