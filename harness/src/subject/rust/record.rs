//! Recording what `codex-telemetry` emits as raw records (DESIGN §4): processor events, the
//! `openai.agents` log events, hook callbacks and the outcome, in one ordered list.
//!
//! Each source is the Rust twin of a recorder in `python/parity_driver.py`: a
//! [`TracingProcessor`] snapshotting exports at each event, a `tracing` [`Layer`] for the log
//! events (ids taken from the event's `trace_id`/`span_id` fields, which the library fills
//! with the context current at emission), and hook objects that record their arguments by
//! their Python names plus the current ids.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use codex_telemetry::events::EVENT_TARGET;
use codex_telemetry::hooks::{AgentHooks, RunContext, RunHooks};
use codex_telemetry::lifecycle::{AgentInfo, Item, ModelResponse, ToolInfo};
use codex_telemetry::logging::{JsonFields, SPAN_ID_FIELD, TRACE_ID_FIELD};
use codex_telemetry::{LOG_TARGET, Span, Trace, TracingProcessor, current_span, current_trace};
use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::record::{RawLog, RawRecord, RecordKind};

/// The records of one run, shared by every recording source.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder {
    records: Arc<Mutex<Vec<RawRecord>>>,
}

impl Recorder {
    pub(crate) fn add(&self, kind: RecordKind, data: Value) {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = records.len() as u64;
        records.push(RawRecord { seq, kind, data });
    }

    pub(crate) fn into_log(self) -> RawLog {
        let records =
            std::mem::take(&mut *self.records.lock().unwrap_or_else(PoisonError::into_inner));
        RawLog { records }
    }

    /// The `outcome` record of a run.
    pub(crate) fn outcome(&self, outcome: &Result<Value, codex_telemetry::RunAgentError>) {
        let data = match outcome {
            Ok(output) => json!({"status": "completed", "final_output": output}),
            Err(error) => {
                json!({"status": "raised", "error": error.name(), "message": error.message()})
            }
        };
        self.add(RecordKind::Outcome, data);
    }

    /// The outcome of a run interrupted by calls waiting for approval, as the python driver
    /// records `result.interruptions`.
    pub(crate) fn interrupted(&self, pending: &[codex_telemetry::lifecycle::ToolApproval]) {
        let interruptions: Vec<Value> = pending
            .iter()
            .map(|call| {
                json!({
                    "agent": call.agent(),
                    "tool": call.tool(),
                    "call_id": call.call_id(),
                    "arguments": call.arguments(),
                })
            })
            .collect();
        self.add(
            RecordKind::Outcome,
            json!({"status": "interrupted", "interruptions": interruptions}),
        );
    }
}

// === processor ===

/// Records trace and span events with the export taken during the callback.
#[derive(Debug)]
pub(crate) struct RecordingProcessor(pub(crate) Recorder);

impl TracingProcessor for RecordingProcessor {
    fn on_trace_start(&self, trace: &Trace) {
        if let Some(export) = trace.export() {
            self.0.add(RecordKind::TraceStart, export);
        }
    }

    fn on_trace_end(&self, trace: &Trace) {
        if let Some(export) = trace.export() {
            self.0.add(RecordKind::TraceEnd, export);
        }
    }

    fn on_span_start(&self, span: &Span) {
        if let Some(export) = span.export() {
            self.0.add(RecordKind::SpanStart, export);
        }
    }

    fn on_span_end(&self, span: &Span) {
        if let Some(export) = span.export() {
            self.0.add(RecordKind::SpanEnd, export);
        }
    }
}

// === log layer ===

/// Records `openai.agents` events as `log` records, and (when given a sink) the Codex
/// lifecycle events, which are never part of the parity transcript.
pub(crate) struct LogLayer {
    recorder: Recorder,
    codex_events: Option<CodexEvents>,
}

/// The Codex lifecycle events of a run, each as `{"level": …, <field>: <value>, …}`.
pub(crate) type CodexEvents = Arc<Mutex<Vec<Value>>>;

impl LogLayer {
    /// Records `openai.agents` log lines only: the library then computes no Codex event.
    pub(crate) fn new(recorder: Recorder) -> Self {
        Self {
            recorder,
            codex_events: None,
        }
    }

    /// Also records the Codex lifecycle events into `sink`.
    pub(crate) fn with_codex_events(mut self, sink: CodexEvents) -> Self {
        self.codex_events = Some(sink);
        self
    }

    fn wants(&self, target: &str) -> bool {
        is_sdk_target(target) || (self.codex_events.is_some() && target == EVENT_TARGET)
    }
}

impl<S: Subscriber> Layer<S> for LogLayer {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        // `always` rather than `sometimes` for the SDK's lines: callsite interest is cached
        // process-wide, and every run's scoped subscriber wants them. Codex events are wanted
        // by some subscribers only.
        if is_sdk_target(metadata.target()) {
            Interest::always()
        } else if metadata.target() == EVENT_TARGET {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        self.wants(metadata.target())
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        if metadata.target() == EVENT_TARGET {
            if let Some(sink) = &self.codex_events {
                let mut fields = JsonFields::default();
                event.record(&mut fields);
                let mut record = serde_json::Map::new();
                record.insert("level".into(), json!(metadata.level().as_str()));
                record.extend(fields.into_map());
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Value::Object(record));
            }
            return;
        }
        if !is_sdk_target(metadata.target()) {
            return;
        }
        let level = match *metadata.level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARNING",
            Level::INFO => "INFO",
            Level::DEBUG | Level::TRACE => "DEBUG",
        };
        let mut fields = LogFields::default();
        event.record(&mut fields);
        self.recorder.add(
            RecordKind::Log,
            json!({
                "logger": metadata.target(),
                "level": level,
                "message": fields.message,
                "trace_id": fields.trace_id,
                "span_id": fields.span_id,
            }),
        );
    }
}

/// `openai.agents` or one of its child loggers (`openai.agents.…`).
fn is_sdk_target(target: &str) -> bool {
    target
        .strip_prefix(LOG_TARGET)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

#[derive(Default)]
struct LogFields {
    message: String,
    trace_id: Option<String>,
    span_id: Option<String>,
}

impl Visit for LogFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            TRACE_ID_FIELD => self.trace_id = Some(value.to_owned()),
            SPAN_ID_FIELD => self.span_id = Some(value.to_owned()),
            "message" => self.message = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

// === hooks ===

/// The trace and span current at a hook call, no-op ones counting as none (the python
/// driver's `_current_ids`).
fn current_ids() -> (Option<String>, Option<String>) {
    let trace_id = current_trace()
        .filter(|trace| !trace.is_noop())
        .map(|trace| trace.id().to_owned());
    let span_id = current_span()
        .filter(|span| !span.is_noop())
        .map(|span| span.id().to_owned());
    (trace_id, span_id)
}

fn item_types(items: &[Item]) -> Value {
    items.iter().map(|item| json!(item.item_type())).collect()
}

/// Records RunHooks (`scope: "run"`) or AgentHooks (`scope: "agent"`) callbacks.
#[derive(Debug, Clone)]
pub(crate) struct HookRecorder {
    recorder: Recorder,
    scope: &'static str,
}

impl HookRecorder {
    pub(crate) fn run_hooks(recorder: Recorder) -> Self {
        Self {
            recorder,
            scope: "run",
        }
    }

    pub(crate) fn agent_hooks(recorder: Recorder) -> Self {
        Self {
            recorder,
            scope: "agent",
        }
    }

    fn add(&self, hook: &str, args: Value) {
        let mut data = Map::new();
        data.insert("hook".into(), json!(hook));
        data.insert("scope".into(), json!(self.scope));
        if let Value::Object(args) = args {
            data.extend(args);
        }
        let (trace_id, span_id) = current_ids();
        data.insert("trace_id".into(), json!(trace_id));
        data.insert("span_id".into(), json!(span_id));
        self.recorder.add(RecordKind::Hook, Value::Object(data));
    }

    fn llm_start(&self, hook: &str, agent: &AgentInfo, prompt: Option<&str>, items: &[Item]) {
        self.add(
            hook,
            json!({"agent": agent.name(), "system_prompt": prompt, "input_items": item_types(items)}),
        );
    }

    fn llm_end(&self, hook: &str, agent: &AgentInfo, response: &ModelResponse) {
        self.add(
            hook,
            json!({"agent": agent.name(), "response": item_types(response.output())}),
        );
    }
}

// Argument names are the Python client's (agents/lifecycle.py), as in the python driver.
impl RunHooks for HookRecorder {
    fn on_agent_start(&self, _: &RunContext, agent: &AgentInfo) {
        self.add("on_agent_start", json!({"agent": agent.name()}));
    }

    fn on_agent_end(&self, _: &RunContext, agent: &AgentInfo, output: &Value) {
        self.add(
            "on_agent_end",
            json!({"agent": agent.name(), "output": output}),
        );
    }

    fn on_llm_start(
        &self,
        _: &RunContext,
        agent: &AgentInfo,
        prompt: Option<&str>,
        items: &[Item],
    ) {
        self.llm_start("on_llm_start", agent, prompt, items);
    }

    fn on_llm_end(&self, _: &RunContext, agent: &AgentInfo, response: &ModelResponse) {
        self.llm_end("on_llm_end", agent, response);
    }

    fn on_handoff(&self, _: &RunContext, from_agent: &AgentInfo, to_agent: &AgentInfo) {
        self.add(
            "on_handoff",
            json!({"from_agent": from_agent.name(), "to_agent": to_agent.name()}),
        );
    }

    fn on_tool_start(&self, _: &RunContext, agent: &AgentInfo, tool: &ToolInfo) {
        self.add(
            "on_tool_start",
            json!({"agent": agent.name(), "tool": tool.name()}),
        );
    }

    fn on_tool_end(&self, _: &RunContext, agent: &AgentInfo, tool: &ToolInfo, result: &str) {
        self.add(
            "on_tool_end",
            json!({"agent": agent.name(), "tool": tool.name(), "result": result}),
        );
    }
}

impl AgentHooks for HookRecorder {
    fn on_start(&self, _: &RunContext, agent: &AgentInfo) {
        self.add("on_start", json!({"agent": agent.name()}));
    }

    fn on_end(&self, _: &RunContext, agent: &AgentInfo, output: &Value) {
        self.add("on_end", json!({"agent": agent.name(), "output": output}));
    }

    fn on_handoff(&self, _: &RunContext, agent: &AgentInfo, source: &AgentInfo) {
        self.add(
            "on_handoff",
            json!({"agent": agent.name(), "source": source.name()}),
        );
    }

    fn on_tool_start(&self, _: &RunContext, agent: &AgentInfo, tool: &ToolInfo) {
        self.add(
            "on_tool_start",
            json!({"agent": agent.name(), "tool": tool.name()}),
        );
    }

    fn on_tool_end(&self, _: &RunContext, agent: &AgentInfo, tool: &ToolInfo, result: &str) {
        self.add(
            "on_tool_end",
            json!({"agent": agent.name(), "tool": tool.name(), "result": result}),
        );
    }

    fn on_llm_start(
        &self,
        _: &RunContext,
        agent: &AgentInfo,
        prompt: Option<&str>,
        items: &[Item],
    ) {
        self.llm_start("on_llm_start", agent, prompt, items);
    }

    fn on_llm_end(&self, _: &RunContext, agent: &AgentInfo, response: &ModelResponse) {
        self.llm_end("on_llm_end", agent, response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_targets_are_the_logger_and_its_children() {
        assert!(is_sdk_target("openai.agents"));
        assert!(is_sdk_target("openai.agents.tracing"));
        assert!(!is_sdk_target("openai.agentsx"));
        assert!(!is_sdk_target("openai"));
    }
}
