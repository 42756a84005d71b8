//! The `openai.agents` log lines: [`tracing`] events that carry the current trace and span.
//!
//! Every log line of this crate is a `tracing` event with target
//! [`LOG_TARGET`](crate::LOG_TARGET) (`openai.agents`, the Python logger's name), at the
//! Python level (`DEBUG` → [`Level::DEBUG`](tracing::Level::DEBUG), `WARNING` →
//! [`Level::WARN`](tracing::Level::WARN), `ERROR` → [`Level::ERROR`](tracing::Level::ERROR)),
//! with Python's exact text as its `message`. Each event also carries the context current at
//! emission, the way a Python log handler would read it with `get_current_trace()` /
//! `get_current_span()`:
//!
//! | field | value |
//! |---|---|
//! | [`TRACE_ID_FIELD`] (`trace_id`) | the current trace's id; absent when no trace is current or it is a no-op |
//! | [`SPAN_ID_FIELD`] (`span_id`) | the current span's id; absent when no span is current or it is a no-op |
//!
//! So `Setting current trace`, logged just before the trace becomes current, carries the ids
//! of the context it is entered in (none at top level, as in the example below), and
//! `Resetting current trace`, logged just before it stops being current, has the trace id.
//!
//! The ids are read only when a subscriber wants the event: with no subscriber (or one that
//! filters `openai.agents` DEBUG out) a log line costs one callsite-interest check and
//! allocates nothing.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use codex_telemetry::logging::{SPAN_ID_FIELD, TRACE_ID_FIELD};
//! use codex_telemetry::{CustomSpanData, TraceProvider, LOG_TARGET};
//! use tracing::field::{Field, Visit};
//! use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
//!
//! #[derive(Default, Clone)]
//! struct Lines(Arc<Mutex<Vec<(String, Option<String>)>>>);
//! struct Fields(String, Option<String>);
//! impl Visit for Fields {
//!     fn record_str(&mut self, field: &Field, value: &str) {
//!         if field.name() == TRACE_ID_FIELD {
//!             self.1 = Some(value.to_owned());
//!         }
//!     }
//!     fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
//!         if field.name() == "message" {
//!             self.0 = format!("{value:?}");
//!         }
//!     }
//! }
//! impl<S: tracing::Subscriber> Layer<S> for Lines {
//!     fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
//!         if event.metadata().target() == LOG_TARGET {
//!             let mut fields = Fields(String::new(), None);
//!             event.record(&mut fields);
//!             self.0.lock().unwrap().push((fields.0, fields.1));
//!         }
//!     }
//! }
//!
//! let lines = Lines::default();
//! let subscriber = tracing_subscriber::registry().with(lines.clone());
//! let trace_id = tracing::subscriber::with_default(subscriber, || {
//!     let provider = TraceProvider::new();
//!     let trace = provider.trace("wf").start_as_current();
//!     trace.trace().id().to_owned()
//! });
//! let lines = lines.0.lock().unwrap();
//! assert_eq!(lines[0], ("Creating trace".to_owned(), None));
//! assert_eq!(lines[1], ("Setting current trace".to_owned(), None));
//! assert_eq!(lines[2], ("Resetting current trace".to_owned(), Some(trace_id)));
//! ```

use crate::model::span_data::JsonMap;

/// The name of the field holding the current trace's id on every `openai.agents` event.
///
/// # Examples
///
/// ```
/// assert_eq!(codex_telemetry::logging::TRACE_ID_FIELD, "trace_id");
/// ```
pub const TRACE_ID_FIELD: &str = "trace_id";

/// The name of the field holding the current span's id on every `openai.agents` event.
///
/// # Examples
///
/// ```
/// assert_eq!(codex_telemetry::logging::SPAN_ID_FIELD, "span_id");
/// ```
pub const SPAN_ID_FIELD: &str = "span_id";

/// Collects a `tracing` event's fields as JSON values: integers and booleans as such,
/// strings as strings, anything else (the message) as its `Debug` text. For subscribers that
/// record the crate's events (the default logger, test captures).
///
/// ```
/// use codex_telemetry::logging::JsonFields;
///
/// let fields = JsonFields::default();
/// assert!(fields.into_map().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct JsonFields(JsonMap);

impl JsonFields {
    /// The fields, in the order they were recorded.
    pub fn into_map(self) -> JsonMap {
        self.0
    }
}

impl tracing::field::Visit for JsonFields {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0
            .insert(field.name().to_owned(), serde_json::json!(value));
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0
            .insert(field.name().to_owned(), serde_json::json!(value));
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0
            .insert(field.name().to_owned(), serde_json::json!(value));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), serde_json::json!(value));
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            serde_json::json!(format!("{value:?}")),
        );
    }
}

/// Emits an `openai.agents` event at `$level` with the current trace and span ids.
macro_rules! agents_event {
    ($level:expr, $($arg:tt)+) => {{
        if ::tracing::enabled!(target: $crate::LOG_TARGET, $level) {
            // The ids come from the context, which the calling code already depends on: this
            // module itself imports nothing of the SDK, so it sits below span and trace.
            let (trace, span) = $crate::sdk::context::log_handles();
            let trace_id = $crate::sdk::context::log_trace_id(trace.as_ref());
            let span_id = $crate::sdk::context::log_span_id(span.as_ref());
            // Scrubbed before it leaves: a log line may quote user data. A constant line is
            // checked where it is (no allocation on the no-op paths).
            let message: ::std::borrow::Cow<'_, str> = match ::std::format_args!($($arg)+) {
                args => match args.as_str() {
                    ::std::option::Option::Some(text) => $crate::model::scrub::scrub_str(text),
                    ::std::option::Option::None => ::std::borrow::Cow::Owned(
                        $crate::model::scrub::scrub_text(::std::fmt::format(args)),
                    ),
                },
            };
            ::tracing::event!(
                target: $crate::LOG_TARGET,
                $level,
                trace_id,
                span_id,
                "{}",
                message
            );
        }
    }};
}

/// A DEBUG line on `openai.agents` (Python `logger.debug`).
macro_rules! agents_debug {
    ($($arg:tt)+) => { $crate::sdk::log::agents_event!(::tracing::Level::DEBUG, $($arg)+) };
}

/// A WARNING line on `openai.agents` (Python `logger.warning`).
macro_rules! agents_warn {
    ($($arg:tt)+) => { $crate::sdk::log::agents_event!(::tracing::Level::WARN, $($arg)+) };
}

/// An ERROR line on `openai.agents` (Python `logger.error`).
macro_rules! agents_error {
    ($($arg:tt)+) => { $crate::sdk::log::agents_event!(::tracing::Level::ERROR, $($arg)+) };
}

pub(crate) use {agents_debug, agents_error, agents_event, agents_warn};
