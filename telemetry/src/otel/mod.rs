//! OpenTelemetry export (crate feature `otlp`, off by default; the default build pulls in no
//! OpenTelemetry crate). Being built (issue 12): today the settings read from the environment
//! ([`OtlpSettings`]); the exporter that sends the crate's traces and spans over OTLP, and
//! `opentelemetry-stdout` for `CODEX_OTLP_ENDPOINT=stdout`, come next. Nothing on the default
//! path depends on it.

mod config;

pub use config::{Endpoint, OtlpSettings, Protocol};
