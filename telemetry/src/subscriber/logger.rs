//! The default logger: one line per `openai.agents` log line and per Codex event, as plain
//! text or JSON, on stdout (or any writer).
//!
//! * **Text** (the default): an `openai.agents` line is its message alone, the layout of the
//!   Python client's own handler (`enable_verbose_stdout_logging()`: a `StreamHandler` on
//!   stdout with logging's default `%(message)s` format). A Codex event is its name and its
//!   fields, `codex.turn.stop turn.number=1 duration_ms=12 …`. With
//!   [`with_ids`](DefaultLogger::with_ids), `openai.agents` lines end with ` trace_id=… span_id=…`.
//! * **JSON**: one object per line with `level`, `target`, the message or the event's fields,
//!   and the current `trace_id` / `span_id`.
//!
//! The format comes from `CODEX_LOG_FORMAT` (`json` or `text`) unless set in code; the level
//! (default DEBUG, as Python's verbose logging) from [`with_level`](DefaultLogger::with_level).
//!
//! ```
//! use codex_telemetry::logger::{DefaultLogger, LogFormat};
//!
//! let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
//! let logger = DefaultLogger::new().with_format(LogFormat::Json).with_writer(SharedLines(lines.clone()));
//! tracing::subscriber::with_default(logger.subscriber(), || {
//!     let _trace = codex_telemetry::TraceProvider::new().trace("wf").start_as_current();
//! });
//! let text = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
//! assert!(text.starts_with(r#"{"level":"DEBUG","target":"openai.agents","message":"Creating trace""#));
//! # #[derive(Clone)] struct SharedLines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
//! # impl std::io::Write for SharedLines {
//! #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().extend_from_slice(b); Ok(b.len()) }
//! #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
//! # }
//! ```

use std::fmt;
use std::io::Write;
use std::sync::{Mutex, PoisonError};

use serde_json::{Map, Value, json};
use tracing::subscriber::{Interest, SetGlobalDefaultError};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::LOG_TARGET;
use crate::events::EVENT_TARGET;
use crate::sdk::log::{JsonFields, SPAN_ID_FIELD, TRACE_ID_FIELD};

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Plain text (the Python client's layout for its lines).
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `CODEX_LOG_FORMAT`: `json` or `text` (ASCII case ignored); text when unset or other.
    pub fn from_env() -> Self {
        match std::env::var("CODEX_LOG_FORMAT") {
            Ok(value) if value.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// The default logger's settings; [`attach`](DefaultLogger::attach) installs it.
pub struct DefaultLogger {
    format: LogFormat,
    level: Level,
    ids: bool,
    codex_events: bool,
    writer: Box<dyn Write + Send>,
}

impl Default for DefaultLogger {
    fn default() -> Self {
        Self::new()
    }
}

impl DefaultLogger {
    /// The format from `CODEX_LOG_FORMAT`, DEBUG and above, on stdout.
    pub fn new() -> Self {
        Self {
            format: LogFormat::from_env(),
            level: Level::DEBUG,
            ids: false,
            codex_events: true,
            writer: Box::new(std::io::stdout()),
        }
    }

    /// Writes in `format`.
    pub fn with_format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }

    /// Writes lines of `level` and above (Codex events are INFO and WARN).
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// In text, ends `openai.agents` lines with ` trace_id=… span_id=…` (when set).
    pub fn with_ids(mut self, ids: bool) -> Self {
        self.ids = ids;
        self
    }

    /// Whether Codex events get lines too (the default); without them the output is the
    /// Python client's alone.
    pub fn with_codex_events(mut self, codex_events: bool) -> Self {
        self.codex_events = codex_events;
        self
    }

    /// Writes to `writer` instead of stdout.
    pub fn with_writer(mut self, writer: impl Write + Send + 'static) -> Self {
        self.writer = Box::new(writer);
        self
    }

    /// The logger as a `tracing` layer, to compose with others.
    pub fn layer<S: Subscriber>(self) -> impl Layer<S> + Send + Sync {
        LoggerLayer {
            format: self.format,
            level: self.level,
            ids: self.ids,
            codex_events: self.codex_events,
            writer: Mutex::new(self.writer),
        }
    }

    /// The logger as a `tracing` subscriber (for `with_default` in tests and tools).
    pub fn subscriber(self) -> impl Subscriber + Send + Sync {
        tracing_subscriber::registry().with(self.layer())
    }

    /// Installs the logger as the process's global `tracing` subscriber.
    ///
    /// # Errors
    ///
    /// When a global subscriber is already installed.
    pub fn attach(self) -> Result<(), SetGlobalDefaultError> {
        tracing::subscriber::set_global_default(self.subscriber())
    }
}

impl fmt::Debug for DefaultLogger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultLogger")
            .field("format", &self.format)
            .field("level", &self.level)
            .field("ids", &self.ids)
            .finish_non_exhaustive()
    }
}

/// Installs the default logger ([`DefaultLogger::new`]: format from `CODEX_LOG_FORMAT`, DEBUG,
/// stdout) as the process's global `tracing` subscriber.
///
/// # Errors
///
/// When a global subscriber is already installed.
pub fn attach_default_logger() -> Result<(), SetGlobalDefaultError> {
    DefaultLogger::new().attach()
}

/// The fields every Codex event has, in the order a text line shows them.
const COMMON_FIELDS: &[&str] = &[
    "event.timestamp",
    "originator",
    "span.token",
    "trace.id",
    "span.id",
    "thread.id",
    "duration_ms",
];

struct LoggerLayer {
    format: LogFormat,
    level: Level,
    ids: bool,
    codex_events: bool,
    writer: Mutex<Box<dyn Write + Send>>,
}

impl LoggerLayer {
    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        let target = metadata.target();
        let ours = (self.codex_events && target == EVENT_TARGET)
            || target
                .strip_prefix(LOG_TARGET)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'));
        ours && *metadata.level() <= self.level
    }

    fn line(&self, metadata: &Metadata<'_>, fields: Map<String, Value>) -> String {
        let is_event = metadata.target() == EVENT_TARGET;
        match self.format {
            LogFormat::Json => {
                let mut fields = fields;
                let mut line = Map::new();
                line.insert("level".into(), json!(metadata.level().as_str()));
                line.insert("target".into(), json!(metadata.target()));
                if let Some(message) = fields.shift_remove("message") {
                    line.insert("message".into(), message);
                }
                line.extend(fields);
                Value::Object(line).to_string()
            }
            LogFormat::Text if is_event => {
                let mut fields = fields;
                let name = fields
                    .shift_remove("event.name")
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let mut line = name;
                // The fields every event has first, in a fixed order; then the event's own, by
                // name: the same event always prints the same way.
                let mut ordered: Vec<(String, Value)> = Vec::with_capacity(fields.len());
                for key in COMMON_FIELDS {
                    if let Some(value) = fields.shift_remove(*key) {
                        ordered.push(((*key).to_owned(), value));
                    }
                }
                let mut own: Vec<(String, Value)> = fields.into_iter().collect();
                own.sort_by(|a, b| a.0.cmp(&b.0));
                ordered.extend(own);
                for (key, value) in ordered {
                    line.push(' ');
                    line.push_str(&key);
                    line.push('=');
                    match value {
                        Value::String(text) => line.push_str(&text),
                        other => line.push_str(&other.to_string()),
                    }
                }
                line
            }
            LogFormat::Text => {
                let mut line = fields
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if self.ids {
                    for key in [TRACE_ID_FIELD, SPAN_ID_FIELD] {
                        if let Some(Value::String(id)) = fields.get(key) {
                            line.push_str(&format!(" {key}={id}"));
                        }
                    }
                }
                line
            }
        }
    }
}

impl<S: Subscriber> Layer<S> for LoggerLayer {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        // `sometimes`: another subscriber of the process may want what this one does not.
        if self.wants(metadata) {
            Interest::always()
        } else {
            Interest::sometimes()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        self.wants(metadata)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        if !self.wants(metadata) {
            return;
        }
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        let mut line = self.line(metadata, fields.into_map());
        line.push('\n');
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        // A logger that cannot write has nowhere to report it: the line is lost.
        let _ = writer.write_all(line.as_bytes());
    }
}
