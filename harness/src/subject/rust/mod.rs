//! The rust subject: scenarios driven through `codex-telemetry`, in process.
//!
//! It maps scenario steps onto the library's lifecycle calls and records what the library emits
//! (processor events, `openai.agents` log events, hook callbacks) as raw records. A scenario that
//! uses something the subject cannot express yet is an error for that scenario, never a pass.
//!
//! Each run is isolated: its own `TraceProvider` (never the global one) with a recording
//! processor, its own scoped `tracing` subscriber, and the scenario's `[env]` read through a
//! lookup function (falling back to the process environment, as the python driver's overlay
//! does) without touching the process environment. So parallel trials do not interfere.
//!
//! * `record.rs`: the recorders (processor, log layer, hooks, outcome).
//! * `script.rs`: the scripted model, tools and output types (the runtime, not telemetry).
//! * `drive.rs`: the agent loop over lifecycle calls.

mod drive;
mod record;
mod script;

use codex_telemetry::config::EnvConfig;
use codex_telemetry::lifecycle::Runner;
use codex_telemetry::{JsonMap, TraceProvider};
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

use crate::errors::RunSubjectError;
use crate::record::RawLog;
use crate::scenario::Scenario;
use drive::{Driver, StartGate, Unsupported};
use record::{LogLayer, Recorder, RecordingProcessor};
use script::{ScriptedTool, call_arguments};

/// The Rust implementation under test.
#[derive(Debug, Clone, Default)]
pub struct RustSubject {}

impl RustSubject {
    /// A rust subject.
    pub fn new() -> RustSubject {
        RustSubject {}
    }

    /// Runs `scenario` through `codex-telemetry` and returns its raw records.
    pub fn run(&self, scenario: &Scenario) -> Result<RawLog, RunSubjectError> {
        let error = |Unsupported(message)| RunSubjectError {
            subject: "rust".into(),
            scenario: scenario.name.clone(),
            message: format!("the rust subject cannot express this scenario: {message}"),
        };
        // The scenario's variables over the process environment, like the python driver.
        let env = EnvConfig::from_lookup(|name| {
            scenario
                .spec
                .env
                .get(name)
                .cloned()
                .or_else(|| std::env::var(name).ok())
        });
        check_supported(scenario, &env).map_err(error)?;

        let recorder = Recorder::default();
        // Python reads OPENAI_AGENTS_DISABLE_TRACING once, at the provider's first use.
        let provider = TraceProvider::builder()
            .with_processor(RecordingProcessor(recorder.clone()))
            .with_disabled(env.tracing_disabled())
            .build();
        let runner = Runner::new(provider, env);
        let dispatch =
            tracing::Dispatch::new(tracing_subscriber::registry().with(LogLayer(recorder.clone())));
        let copies = scenario.spec.run.copies.max(1) as usize;
        if copies == 1 {
            tracing::dispatcher::with_default(&dispatch, || {
                Driver::new(scenario, runner, recorder.clone()).execute(scenario)
            })
            .map_err(error)?;
        } else {
            // Concurrent copies: one thread each (a fresh, empty context, like an asyncio task
            // started from a context without a trace), each with its own agents and model
            // script, all recording into the same log through the same subscriber.
            let gate = StartGate::new(copies);
            let results: Vec<Result<(), Unsupported>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..copies)
                    .map(|_| {
                        let driver = Driver::new(scenario, runner.clone(), recorder.clone())
                            .with_start_gate(gate.clone());
                        let dispatch = dispatch.clone();
                        scope.spawn(move || {
                            tracing::dispatcher::with_default(&dispatch, || {
                                driver.execute(scenario)
                            })
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| {
                        handle.join().unwrap_or_else(|_| {
                            Err(Unsupported(
                                "a concurrent copy of the run panicked (a bug of the rust subject or codex-telemetry)".into(),
                            ))
                        })
                    })
                    .collect()
            });
            results
                .into_iter()
                .collect::<Result<(), _>>()
                .map_err(error)?;
        }
        Ok(recorder.into_log())
    }
}

/// Rejects, before running, what the subject knows it cannot reproduce.
fn check_supported(scenario: &Scenario, env: &EnvConfig) -> Result<(), Unsupported> {
    let spec = &scenario.spec;
    if !env.dont_log_model_data() && !env.dont_log_tool_data() {
        // With both switches off, Python's tracing layer logs `Creating span <…SpanData object
        // at 0x7f…> with id None` and similar reprs of live objects.
        return Err(Unsupported(
            "OPENAI_AGENTS_DONT_LOG_MODEL_DATA and OPENAI_AGENTS_DONT_LOG_TOOL_DATA both off: Python then logs reprs of its objects, with memory addresses".into(),
        ));
    }
    if spec.run.copies > 1 && (spec.run.tracing_disabled == Some(true) || env.tracing_disabled()) {
        // Without traces the normalizer cannot group the copies' records, and the order in
        // which concurrent threads log is not Python's asyncio interleaving.
        return Err(Unsupported(
            "concurrent copies of a run with tracing disabled: their untraced log lines interleave by thread scheduling".into(),
        ));
    }
    if spec.run.copies > 1 && spec.trace.is_some() {
        return Err(Unsupported(
            "concurrent copies of a run inside a user trace".into(),
        ));
    }
    for (i, step) in spec.model.steps.iter().enumerate() {
        for (j, item) in step.output.iter().enumerate() {
            let Some(tool_name) = &item.tool_call else {
                continue;
            };
            let Some(tool) = spec.tools.iter().find(|tool| &tool.name == tool_name) else {
                continue;
            };
            // Arguments that are not a JSON object take the library's invalid-input path; an
            // empty text counts as `{}`, as in Python.
            let text = call_arguments(item);
            let parsed = if text.is_empty() {
                Ok(Value::Object(JsonMap::new()))
            } else {
                serde_json::from_str::<Value>(&text)
            };
            let Ok(Value::Object(arguments)) = parsed else {
                continue;
            };
            if let Some(problem) =
                ScriptedTool::new(tool).unsupported_arguments(&arguments, !env.dont_log_tool_data())
            {
                return Err(Unsupported(format!(
                    "model.steps[{i}].output[{j}]: {problem}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
