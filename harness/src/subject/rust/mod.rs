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
//! The agent loop is async, as in a tokio-based agent SDK: the lifecycle handles are held
//! across `.await`s.
//!
//! * A single run (`run.copies = 1`, with or without a user `[trace]`) runs synchronously
//!   on the calling thread: a current-thread runtime drives it, inside the user trace's and
//!   custom spans' guards, and it never yields. Its records are in program order.
//! * Concurrent copies (`run.copies > 1`) run as tasks on a multi-thread tokio runtime
//!   (several worker threads), each with its own agents and model script, the subscriber
//!   attached to the task, and an empty context at its start (like Python's
//!   `asyncio.gather` tasks). A copy yields to the runtime between lifecycle steps, so the
//!   copies interleave and move between worker threads; an async start gate holds each copy
//!   once its run has started until every copy's trace is open, so their records overlap as
//!   in Python.
//!
//! * `record.rs`: the recorders (processor, log layer, hooks, outcome).
//! * `script.rs`: the scripted model, tools and output types (the runtime, not telemetry).
//! * `drive.rs`: the agent loop over lifecycle calls.

mod drive;
mod record;
mod script;

use std::collections::BTreeMap;
use std::sync::Arc;

use codex_telemetry::config::EnvConfig;
use codex_telemetry::context::{Context, InContextExt};
use codex_telemetry::lifecycle::Runner;
use codex_telemetry::{JsonMap, TraceProvider};
use serde_json::Value;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::SubscriberExt;

use crate::errors::RunSubjectError;
use crate::record::RawLog;
use crate::scenario::Scenario;
use crate::scenario::schema::FailureErrorFunction;
use drive::{Driver, StartGate, Unsupported};
use record::{CodexEvents, LogLayer, Recorder, RecordingProcessor};
use script::ScriptedTool;

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
        self.run_recording(scenario, None, None, None)
    }

    /// Runs `scenario` with codex-telemetry's OTLP export (feature `otlp`) beside the
    /// recording, sending to the OTLP/HTTP receiver at `endpoint`; returns once every span was
    /// delivered (or says what was not).
    pub fn run_otlp(&self, scenario: &Scenario, endpoint: &str) -> Result<(), RunSubjectError> {
        use codex_telemetry::otel::{Endpoint, OtlpExportBuilder, OtlpSettings, Protocol};
        let mut settings = OtlpSettings::from_lookup(|_| None);
        settings.enabled = true;
        settings.endpoint = Endpoint::Url(endpoint.to_owned());
        settings.protocol = Protocol::HttpProtobuf;
        let export = OtlpExportBuilder::new(settings)
            .with_scheduled_delay(std::time::Duration::from_millis(20))
            .build()
            .map_err(|e| otlp_failure(scenario, e.to_string()))?;
        self.run_recording(scenario, None, None, Some(Arc::new(export.processor())))?;
        let stats = export.shutdown();
        if stats.not_delivered() > 0 || stats.refused > 0 {
            return Err(otlp_failure(
                scenario,
                format!("the OTLP export did not deliver every span: {stats:?}"),
            ));
        }
        Ok(())
    }

    /// Runs `scenario` with `logger` (codex-telemetry's default logger) beside the recording,
    /// and returns what it wrote: the lines a user of the library would see.
    pub fn default_logger_output(
        &self,
        scenario: &Scenario,
        logger: codex_telemetry::logger::DefaultLogger,
    ) -> Result<String, RunSubjectError> {
        let lines = SharedLines::default();
        let layer: ExtraLayer = Box::new(logger.with_writer(lines.clone()).layer());
        self.run_recording(scenario, None, Some(layer), None)?;
        let bytes = std::mem::take(
            &mut *lines
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Runs `scenario` through `codex-telemetry` with the Codex lifecycle events recorded, and
    /// returns them in emission order, each as `{"level": …, <field>: <value>, …}` (an
    /// extension of the rust subject: the python client has none).
    pub fn codex_events(&self, scenario: &Scenario) -> Result<Vec<Value>, RunSubjectError> {
        let sink = CodexEvents::default();
        self.run_recording(scenario, Some(sink.clone()), None, None)?;
        let events = std::mem::take(
            &mut *sink
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        Ok(events)
    }

    fn run_recording(
        &self,
        scenario: &Scenario,
        codex_events: Option<CodexEvents>,
        extra: Option<ExtraLayer>,
        extra_processor: Option<Arc<dyn codex_telemetry::TracingProcessor>>,
    ) -> Result<RawLog, RunSubjectError> {
        let env = scenario_env(scenario);
        check_supported(scenario, &env).map_err(|e| unsupported(scenario, e))?;
        let recorder = Recorder::default();
        // Python reads OPENAI_AGENTS_DISABLE_TRACING once, at the provider's first use.
        let mut provider =
            TraceProvider::builder().with_processor(RecordingProcessor(recorder.clone()));
        if let Some(processor) = extra_processor {
            provider = provider.with_processor(processor);
        }
        let provider = provider.with_disabled(env.tracing_disabled()).build();
        let runner = Runner::new(provider, env);
        let mut layer = LogLayer::new(recorder.clone());
        if let Some(sink) = codex_events {
            layer = layer.with_codex_events(sink);
        }
        let dispatch =
            tracing::Dispatch::new(tracing_subscriber::registry().with(layer).with(extra));
        let copies = scenario.spec.run.copies as usize;
        if copies == 1 {
            tracing::dispatcher::with_default(&dispatch, || {
                Driver::new(scenario, runner, recorder.clone()).execute()
            })
            .map_err(|e| unsupported(scenario, e))?;
        } else {
            // Copies in a user trace run from its `{ run = true }` action, inside the trace.
            if scenario.spec.trace.is_some() {
                tracing::dispatcher::with_default(&dispatch, || {
                    Driver::new(scenario, runner, recorder.clone()).execute()
                })
                .map_err(|e| unsupported(scenario, e))?;
            } else {
                run_copies(
                    scenario,
                    copies,
                    &runner,
                    &recorder,
                    &dispatch,
                    &Context::default(),
                )
                .map_err(|e| unsupported(scenario, e))?;
            }
        }
        Ok(recorder.into_log())
    }

    /// Runs one copy of `scenario` with `processor` as the only processor and no log
    /// capture: the telemetry an application would pay for, for benchmarks beside the Python
    /// client's run with the same kind of processor.
    pub fn run_with_processor(
        &self,
        scenario: &Scenario,
        processor: impl codex_telemetry::TracingProcessor + 'static,
    ) -> Result<(), RunSubjectError> {
        let env = scenario_env(scenario);
        check_supported(scenario, &env).map_err(|e| unsupported(scenario, e))?;
        let provider = TraceProvider::builder()
            .with_processor(processor)
            .with_disabled(env.tracing_disabled())
            .build();
        Driver::new(scenario, Runner::new(provider, env), Recorder::default())
            .execute()
            .map_err(|e| unsupported(scenario, e))
    }
}

fn otlp_failure(scenario: &Scenario, message: String) -> RunSubjectError {
    RunSubjectError {
        subject: "rust".into(),
        scenario: scenario.name.clone(),
        message,
    }
}

/// A layer a caller adds beside the recording (the default logger).
type ExtraLayer = Box<
    dyn tracing_subscriber::Layer<
            tracing_subscriber::layer::Layered<LogLayer, tracing_subscriber::Registry>,
        > + Send
        + Sync,
>;

/// Lines written by a logger, shared with the caller.
#[derive(Clone, Default)]
struct SharedLines(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedLines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The scenario's variables over the process environment, like the python driver.
fn scenario_env(scenario: &Scenario) -> EnvConfig {
    EnvConfig::from_lookup(|name| {
        scenario
            .spec
            .env
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    })
}

fn unsupported(scenario: &Scenario, Unsupported(message): Unsupported) -> RunSubjectError {
    RunSubjectError {
        subject: "rust".into(),
        scenario: scenario.name.clone(),
        message: format!("the rust subject cannot express this scenario: {message}"),
    }
}

/// Runs `copies` copies of the scenario's run as tasks on a multi-thread runtime (see the
/// module docs), all recording into the same log through the same subscriber.
/// Runs `copies` copies of the scenario's run at once, each a task on a multi-thread runtime
/// started in `context` (empty: each makes its own trace; a user trace's: all run inside it).
/// Returns whether every run completed.
pub(crate) fn run_copies(
    scenario: &Scenario,
    copies: usize,
    runner: &Runner,
    recorder: &Recorder,
    dispatch: &tracing::Dispatch,
    context: &Context,
) -> Result<bool, Unsupported> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(copies.clamp(2, 4))
        .thread_name("rust-subject-copy")
        .build()
        .map_err(|e| Unsupported(format!("cannot start a tokio runtime: {e}")))?;
    // Tasks are `'static`: each owns the scenario (its driver borrows from it).
    let scenario = Arc::new(scenario.clone());
    let gate = StartGate::new(copies);
    let tasks: Vec<_> = (0..copies)
        .map(|_| {
            let (scenario, runner, recorder) = (scenario.clone(), runner.clone(), recorder.clone());
            let gate = gate.clone();
            let copy = async move {
                Driver::new(&scenario, runner, recorder)
                    .with_start_gate(gate)
                    .run_copy()
                    .await
            };
            runtime.spawn(
                copy.in_context(context.clone())
                    .with_subscriber(dispatch.clone()),
            )
        })
        .collect();
    runtime.block_on(async {
        let mut results = Vec::with_capacity(copies);
        for task in tasks {
            results.push(task.await.unwrap_or_else(|_| {
                Err(Unsupported(
                    "a concurrent copy of the run panicked (a bug of the rust subject or codex-telemetry)".into(),
                ))
            }));
        }
        results
            .into_iter()
            .try_fold(true, |all, completed| completed.map(|c| all && c))
    })
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
    if !spec.mcp_servers.is_empty() && !env.dont_log_tool_data() {
        return Err(Unsupported(
            "MCP servers with tool data logged: the client logs the server's result object (an `mcp` pydantic repr with the server's info), which the scripted server has no counterpart of".into(),
        ));
    }
    let mcp_names = crate::scenario::mcp::all_tool_names(spec);
    if let Some((i, _)) = spec.model.steps.iter().enumerate().find(|(_, step)| {
        step.output.iter().any(|item| {
            item.raw_arguments.is_some()
                && item
                    .tool_call
                    .as_deref()
                    .is_some_and(|t| mcp_names.contains(t))
        })
    }) {
        return Err(Unsupported(format!(
            "model.steps[{i}]: raw arguments for an MCP tool: how the client's MCP invoker reports them is not modelled"
        )));
    }
    if let Some(tool) = spec.tools.iter().find(|tool| {
        tool.needs_approval.as_ref().is_some_and(|n| n.may_ask())
            && !(tool.input_guardrails.is_empty() && tool.output_guardrails.is_empty())
    }) {
        return Err(Unsupported(format!(
            "tool {:?} needs approval and has tool guardrails: where the client checks them around the approval is not modelled",
            tool.name
        )));
    }
    if spec.run.copies > 1 && (spec.run.tracing_disabled == Some(true) || env.tracing_disabled()) {
        // Without traces the normalizer cannot group the copies' records, and the order in
        // which concurrent threads log is not Python's asyncio interleaving.
        return Err(Unsupported(
            "concurrent copies of a run with tracing disabled: their untraced log lines interleave by thread scheduling".into(),
        ));
    }
    // Call ids as the python driver numbers them (`call_<N>` over every call item of the
    // script); one reused in a later step meets Python's record of completed invocations,
    // which the library does not model.
    let mut step_of_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut call_number = 0;
    for (i, step) in spec.model.steps.iter().enumerate() {
        for item in step.output.iter().filter(|item| item.message.is_none()) {
            call_number += 1;
            let id = item
                .call_id
                .clone()
                .unwrap_or_else(|| format!("call_{call_number}"));
            if let Some(first) = step_of_id.insert(id.clone(), i)
                && first != i
            {
                return Err(Unsupported(format!(
                    "model.steps[{i}]: call id {id:?} was already used in model.steps[{first}]; a call id reused across turns meets Python's record of completed tool calls, which the library does not model"
                )));
            }
        }
    }
    for (i, step) in spec.model.steps.iter().enumerate() {
        let agent_tool_calls = step
            .output
            .iter()
            .filter(|item| item.agent_tool_call.is_some())
            .count();
        if agent_tool_calls > 0 && step.output.len() > 1 {
            // Python runs a response's calls as concurrent tasks: nested runs would interleave.
            return Err(Unsupported(format!(
                "model.steps[{i}]: an agent tool called beside other output items"
            )));
        }
        if agent_tool_calls > 0 && !env.dont_log_tool_data() {
            return Err(Unsupported(format!(
                "model.steps[{i}]: an agent tool with tool data logging on: its data log lines are not mapped"
            )));
        }
    }
    let tools: BTreeMap<&str, ScriptedTool> = spec
        .tools
        .iter()
        .map(|tool| {
            (
                tool.name.as_str(),
                ScriptedTool::new(tool, &spec.guardrails),
            )
        })
        .collect();
    for (i, step) in spec.model.steps.iter().enumerate() {
        for (j, item) in step.output.iter().enumerate() {
            let Some(tool) = item.tool_call.as_deref().and_then(|name| tools.get(name)) else {
                continue;
            };
            let tool_spec = spec
                .tools
                .iter()
                .find(|t| Some(&t.name) == item.tool_call.as_ref());
            let handler = tool_spec.map(|t| (&t.failure_error_function, &t.failure_message));
            let guarded = tool_spec
                .is_some_and(|t| !t.input_guardrails.is_empty() || !t.output_guardrails.is_empty());
            if step.output.len() > 1 && guarded {
                // Python checks each concurrent call's guardrails inside its own task; how
                // their hooks interleave with the other calls' is not modelled here.
                return Err(Unsupported(format!(
                    "model.steps[{i}].output[{j}]: a tool with tool guardrails called beside other output items"
                )));
            }
            if step.output.len() > 1
                && matches!(handler, Some((Some(FailureErrorFunction::None), _)))
            {
                // Python runs a response's calls as concurrent tasks; how the others end
                // when one raises is asyncio's cancellation, not modelled here.
                return Err(Unsupported(format!(
                    "model.steps[{i}].output[{j}]: a tool without a failure handler called beside other output items"
                )));
            }
            // Raw arguments that are not a JSON object take the library's invalid-input path;
            // an empty text counts as `{}`, as in Python.
            let arguments = match (&item.raw_arguments, &item.arguments) {
                (Some(raw), _) if raw.is_empty() => JsonMap::new(),
                (Some(raw), _) => match serde_json::from_str::<Value>(raw) {
                    Ok(Value::Object(arguments)) => arguments,
                    _ if matches!(handler, Some((None, Some(_))))
                        && spec_sensitive(scenario, env) =>
                    {
                        // The span's error detail would be the text of Python's `json`
                        // decode error, which the library does not reproduce.
                        return Err(Unsupported(format!(
                            "model.steps[{i}].output[{j}]: arguments that are not JSON for a tool with a custom failure handler, with sensitive data on: the span shows Python's json decode error text"
                        )));
                    }
                    _ => continue,
                },
                (None, arguments) => arguments.clone().unwrap_or_default().into_iter().collect(),
            };
            if let Some(problem) = tool.unsupported_arguments(&arguments, !env.dont_log_tool_data())
            {
                return Err(Unsupported(format!(
                    "model.steps[{i}].output[{j}]: {problem}"
                )));
            }
        }
    }
    Ok(())
}

/// Whether the run traces sensitive data (its setting, else the environment's).
fn spec_sensitive(scenario: &Scenario, env: &EnvConfig) -> bool {
    scenario
        .spec
        .run
        .trace_include_sensitive_data
        .unwrap_or_else(|| env.trace_include_sensitive_data())
}

#[cfg(test)]
mod tests;
