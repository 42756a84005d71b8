//! The rust subject's entry points: every one declares what it cannot express first
//! ([`RustSubject::supports`]), then performs one isolated recording run.

use std::sync::Arc;

use codex_telemetry::TraceProvider;
use codex_telemetry::config::EnvConfig;
use codex_telemetry::context::Context;
use codex_telemetry::lifecycle::Runner;
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

use super::capabilities::{self, Unsupported};
use super::drive::{Driver, run_copies};
use super::record::{CodexEvents, LogLayer, Recorder, RecordingProcessor};
use crate::errors::RunSubjectError;
use crate::record::RawLog;
use crate::scenario::Scenario;

/// The Rust implementation under test.
#[derive(Debug, Clone, Default)]
pub struct RustSubject {}

impl RustSubject {
    /// A rust subject.
    pub fn new() -> RustSubject {
        RustSubject {}
    }

    /// What the subject declares it cannot express, from the scenario alone (its `[env]`
    /// over the process environment): `Err` says what, before anything runs. The runner asks
    /// once per cell when it plans; every entry point below asks once before it runs.
    pub fn supports(&self, scenario: &Scenario) -> Result<(), RunSubjectError> {
        capabilities::check(scenario, &scenario_env(scenario)).map_err(|e| unsupported(scenario, e))
    }

    /// Runs `scenario` through `codex-telemetry` and returns its raw records.
    pub fn run(&self, scenario: &Scenario) -> Result<RawLog, RunSubjectError> {
        self.supports(scenario)?;
        self.run_supported(scenario)
    }

    /// [`RustSubject::run`] for a scenario whose capabilities were already decided (the
    /// runner's plan).
    pub(crate) fn run_supported(&self, scenario: &Scenario) -> Result<RawLog, RunSubjectError> {
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
        self.supports(scenario)?;
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
        self.supports(scenario)?;
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
        self.supports(scenario)?;
        let sink = CodexEvents::default();
        self.run_recording(scenario, Some(sink.clone()), None, None)?;
        let events = std::mem::take(
            &mut *sink
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        Ok(events)
    }

    /// One isolated run (see the module docs of `subject/rust`) with the recorders, and what a
    /// caller adds beside them; the scenario's capabilities are decided by the caller.
    fn run_recording(
        &self,
        scenario: &Scenario,
        codex_events: Option<CodexEvents>,
        extra: Option<ExtraLayer>,
        extra_processor: Option<Arc<dyn codex_telemetry::TracingProcessor>>,
    ) -> Result<RawLog, RunSubjectError> {
        let env = scenario_env(scenario);
        let recorder = Recorder::default();
        // Python reads OPENAI_AGENTS_DISABLE_TRACING once, at the provider's first use.
        let mut provider =
            TraceProvider::builder().with_processor(RecordingProcessor(recorder.clone()));
        if let Some(processor) = extra_processor {
            provider = provider.with_processor(processor);
        }
        let provider = provider
            .with_disabled(env.tracing_disabled())
            .with_span_data_logged(env.logs_span_data())
            .build();
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
        self.supports(scenario)?;
        let env = scenario_env(scenario);
        let provider = TraceProvider::builder()
            .with_processor(processor)
            .with_disabled(env.tracing_disabled())
            .with_span_data_logged(env.logs_span_data())
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
