//! A scripted agent run exported over OTLP as the environment says (docs/otlp.md, runbook):
//!
//! ```sh
//! CODEX_OTLP_ENABLE=1 cargo run -p codex-telemetry --features otlp --example otlp_export
//! CODEX_OTLP_ENABLE=1 CODEX_OTLP_ENDPOINT=stdout cargo run -p codex-telemetry --features otlp --example otlp_export
//! ```
//!
//! With a collector on localhost:4318 the trace appears there; with none, the run still
//! completes and prints one warning; it ends by printing the export's counts.

use codex_telemetry::config::EnvConfig;
use codex_telemetry::events::Events;
use codex_telemetry::lifecycle::{
    AgentInfo, Item, ModelCallOptions, ModelResponse, RunOptions, Runner, ToolInfo,
};
use codex_telemetry::{RunAgentError, global_provider};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

fn main() {
    let export = codex_telemetry::otel::configure();
    let provider = global_provider();
    let mut events = Events::new(provider.clone());
    if let Some(export) = &export {
        events = events.with_meter(&export.meter());
    }
    let runner = Runner::new(provider, EnvConfig::from_process_env()).with_events(events);
    // The Codex events ride along as span events when a subscriber with the export's layer is
    // installed.
    let subscriber =
        tracing_subscriber::registry().with(export.as_ref().map(|e| e.codex_events_layer()));
    let outcome = tracing::subscriber::with_default(subscriber, || scripted_run(&runner));
    println!("run: {outcome:?}");
    if let Some(export) = export {
        let stats = export.shutdown();
        println!(
            "OTLP: {} spans ended, {} exported, {} not delivered",
            stats.ended,
            stats.exported,
            stats.not_delivered()
        );
    }
}

/// One agent that calls a tool, then answers.
fn scripted_run(runner: &Runner) -> Result<serde_json::Value, RunAgentError> {
    let agent =
        AgentInfo::new("weather").with_tool(ToolInfo::new("get_weather").with_parameters(["city"]));
    let mut run = runner
        .start_run(RunOptions::new().with_input(vec![Item::user_message("Weather in Paris?")]));
    run.start_agent(&agent);
    let outcome = (|| {
        let mut turn = run.start_turn()?;
        let processed =
            turn.start_model_call(ModelCallOptions::new())
                .finish(ModelResponse::new(vec![Item::function_call(
                    "get_weather",
                    "call_1",
                    r#"{"city":"Paris"}"#,
                )]))?;
        let mut tools = turn.start_tools(processed.tool_calls());
        tools.invoke(0, |_| Ok(json!("sunny")))?;
        tools.finish();
        turn.end();
        let mut turn = run.start_turn()?;
        turn.start_model_call(ModelCallOptions::new())
            .finish(ModelResponse::new(vec![Item::assistant_message(
                "Sunny in Paris.",
            )]))?;
        turn.final_output(&json!("Sunny in Paris."));
        turn.end();
        Ok(json!("Sunny in Paris."))
    })();
    run.finish(outcome)
}
