//! A single interleaved timeline of processor events and `openai.agents` log events, the
//! Rust twin of the recorder in `python-checks/timelines.py`.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, Once};

use codex_telemetry::{LOG_TARGET, Span, Trace, TracingProcessor};
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Entries in emission order: `["log", LEVEL, message]` (plus the event's `trace_id` and
/// `span_id` fields for a timeline made [`with_ids`](Timeline::with_ids)) or
/// `[event, export]`.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    entries: Arc<Mutex<Vec<Value>>>,
    with_ids: bool,
}

impl Timeline {
    /// A timeline whose log entries also carry the events' `trace_id` and `span_id`.
    pub fn with_ids() -> Self {
        Self {
            with_ids: true,
            ..Self::default()
        }
    }

    /// Appends an entry of the test's own (e.g. a hook call).
    pub fn record(&self, entry: Value) {
        self.push(entry);
    }

    pub fn entries(&self) -> Vec<Value> {
        self.entries.lock().unwrap().clone()
    }

    fn push(&self, entry: Value) {
        self.entries.lock().unwrap().push(entry);
    }

    /// A processor that appends every event, with the export taken during the callback.
    pub fn processor(&self) -> Recorder {
        Recorder(self.clone())
    }

    /// A layer that appends every `openai.agents` event it sees, whatever the thread: for a
    /// dispatcher attached to futures (`WithSubscriber::with_subscriber`), which follows
    /// tasks across worker threads. Install the global subscriber first
    /// ([`capture_logs`](Timeline::capture_logs)), so that callsite interest never
    /// depends on which dispatchers exist when a callsite is first hit.
    pub fn layer(&self) -> TimelineLayer {
        TimelineLayer(self.clone())
    }

    /// Runs `f` with every `openai.agents` event of this thread appended to the timeline.
    ///
    /// One global subscriber routes events to the capturing thread's timeline. (Scoped
    /// subscribers on parallel test threads race with `tracing`'s callsite-interest cache
    /// and can lose the first event of a callsite.)
    pub fn capture_logs<R>(&self, f: impl FnOnce() -> R) -> R {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::registry().with(LogLayer);
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in this binary");
        });
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                CAPTURE.with_borrow_mut(|capture| *capture = None);
            }
        }
        CAPTURE.with_borrow_mut(|capture| *capture = Some(self.clone()));
        let _reset = Reset;
        f()
    }
}

thread_local! {
    static CAPTURE: RefCell<Option<Timeline>> = const { RefCell::new(None) };
}

pub struct Recorder(Timeline);

impl TracingProcessor for Recorder {
    fn on_trace_start(&self, trace: &Trace) {
        self.0.push(json!(["trace_start", trace.export()]));
    }
    fn on_trace_end(&self, trace: &Trace) {
        self.0.push(json!(["trace_end", trace.export()]));
    }
    fn on_span_start(&self, span: &Span) {
        self.0.push(json!(["span_start", span.export()]));
    }
    fn on_span_end(&self, span: &Span) {
        self.0.push(json!(["span_end", span.export()]));
    }
}

struct LogLayer;

impl<S: Subscriber> Layer<S> for LogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != LOG_TARGET {
            return;
        }
        let Some(timeline) = CAPTURE.with_borrow(Clone::clone) else {
            return;
        };
        timeline.push_log(event);
    }
}

/// See [`Timeline::layer`].
pub struct TimelineLayer(Timeline);

impl<S: Subscriber> Layer<S> for TimelineLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() == LOG_TARGET {
            self.0.push_log(event);
        }
    }
}

impl Timeline {
    fn push_log(&self, event: &Event<'_>) {
        let timeline = self;
        let level = match *event.metadata().level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARNING",
            Level::INFO => "INFO",
            Level::DEBUG => "DEBUG",
            Level::TRACE => "TRACE",
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        if timeline.with_ids {
            timeline.push(json!([
                "log",
                level,
                fields.message,
                fields.trace_id,
                fields.span_id
            ]));
        } else {
            timeline.push(json!(["log", level, fields.message]));
        }
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    trace_id: Option<String>,
    span_id: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "trace_id" => self.trace_id = Some(value.to_owned()),
            "span_id" => self.span_id = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        }
    }
}

/// Python's `normalize` in `python-checks/timelines.py`: ids become `trace#N`/`span#N` by
/// first appearance, timestamps become `<ts>` once their shape is checked.
pub fn normalize(timeline: &[Value]) -> Vec<Value> {
    let mut names: Vec<(String, String)> = Vec::new();
    timeline
        .iter()
        .map(|entry| walk(entry, &mut names))
        .collect()
}

fn rename(value: &Value, prefix: &str, names: &mut Vec<(String, String)>) -> Value {
    let Some(raw) = value.as_str() else {
        return value.clone();
    };
    if let Some((_, name)) = names.iter().find(|(seen, _)| seen == raw) {
        return json!(name);
    }
    let count = names
        .iter()
        .filter(|(_, name)| name.starts_with(&format!("{prefix}#")))
        .count();
    let name = format!("{prefix}#{}", count + 1);
    names.push((raw.to_owned(), name.clone()));
    json!(name)
}

fn walk(value: &Value, names: &mut Vec<(String, String)>) -> Value {
    match value {
        Value::Object(map) => {
            let object = map.get("object").and_then(Value::as_str);
            let mut out = serde_json::Map::new();
            for (key, value) in map {
                let normalized = match (key.as_str(), object) {
                    ("id", Some("trace")) | ("trace_id", _) => rename(value, "trace", names),
                    ("id", Some("trace.span")) | ("parent_id", _) => rename(value, "span", names),
                    ("started_at" | "ended_at", _) if !value.is_null() => {
                        let text = value.as_str().expect("timestamps are strings");
                        assert!(is_python_isoformat(text), "{text}");
                        json!("<ts>")
                    }
                    _ => walk(value, names),
                };
                out.insert(key.clone(), normalized);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, names)).collect()),
        other => other.clone(),
    }
}

/// `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$`
pub fn is_python_isoformat(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some(rest) = text.strip_suffix("+00:00") else {
        return false;
    };
    let (main, fraction) = match rest.split_once('.') {
        Some((main, fraction)) => (main, Some(fraction)),
        None => (rest, None),
    };
    let b = main.as_bytes();
    main.len() == 19
        && digits(&main[0..4])
        && b[4] == b'-'
        && digits(&main[5..7])
        && b[7] == b'-'
        && digits(&main[8..10])
        && b[10] == b'T'
        && digits(&main[11..13])
        && b[13] == b':'
        && digits(&main[14..16])
        && b[16] == b':'
        && digits(&main[17..19])
        && fraction.is_none_or(|f| f.len() == 6 && digits(f))
}
