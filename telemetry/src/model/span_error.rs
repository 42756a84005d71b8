//! The error a span carries: part of the span's data, exported as its `error` key (see
//! [`crate::export`]).

use super::span_data::JsonMap;

/// An error attached to a span: exported as `{"message": …, "data": {…}|null}`.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{JsonMap, SpanError};
/// use serde_json::json;
///
/// let error = SpanError::new("Max turns exceeded")
///     .with_data(JsonMap::from_iter([("max_turns".to_string(), json!(2))]));
/// assert_eq!(error.message, "Max turns exceeded");
/// assert_eq!(error.data.unwrap()["max_turns"], json!(2));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpanError {
    /// A human-readable description.
    pub message: String,
    /// Additional context.
    pub data: Option<JsonMap>,
}

impl SpanError {
    /// An error with `message` and no data.
    ///
    /// ```
    /// use codex_telemetry::SpanError;
    ///
    /// assert_eq!(SpanError::new("Tool not found").data, None);
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
        }
    }

    /// The same error carrying `data`.
    ///
    /// ```
    /// use codex_telemetry::{JsonMap, SpanError};
    ///
    /// assert_eq!(SpanError::new("Invalid JSON provided").with_data(JsonMap::new()).data, Some(JsonMap::new()));
    /// ```
    pub fn with_data(mut self, data: JsonMap) -> Self {
        self.data = Some(data);
        self
    }
}
