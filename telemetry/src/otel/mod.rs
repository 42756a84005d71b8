//! OpenTelemetry export (crate feature `otlp`, off by default; the default build pulls in no
//! OpenTelemetry crate), configured at run time from the environment (docs/otlp.md).
//!
//! Layers, lowest first: `config` reads the settings ([`OtlpSettings`]) and names what is
//! wrong with them ([`OtlpBuildError`]); [`ids`] and [`genai`] map the library's ids and span
//! data onto OTel (pure); [`bridge`] is the processor applying them; `transport` builds the
//! exporters, `watch` counts and warns, `pipeline` assembles the SDK providers (batched spans,
//! periodic metrics); [`events`] puts the Codex lifecycle events on the exported spans;
//! `setup` ([`configure`]) registers an export with a provider. Each imports only the ones
//! before it.
//!
//! ```no_run
//! // At startup: export when CODEX_OTLP_ENABLE says so (one warning if it cannot).
//! let export = codex_telemetry::otel::configure();
//! // ... run agents ...
//! if let Some(export) = export {
//!     let stats = export.shutdown(); // sends what is queued, waits a bounded time
//!     eprintln!("{} spans not delivered", stats.not_delivered());
//! }
//! ```

pub mod bridge;
mod config;
pub mod events;
pub mod genai;
pub mod ids;
mod pipeline;
#[cfg(feature = "otlp-receiver")]
pub mod receiver;
mod setup;
mod transport;
mod warning;
mod watch;

pub use bridge::OtelBridge;
pub use config::{Endpoint, OtlpBuildError, OtlpSettings, Protocol};
pub use pipeline::{
    DEFAULT_EXPORT_TIMEOUT, DEFAULT_MAX_QUEUE_SIZE, DEFAULT_SHUTDOWN_TIMEOUT, OtlpExport,
    OtlpExportBuilder,
};
pub use setup::{configure, configure_provider};
pub use warning::{WARNING_TARGET, WarningSink};
pub use watch::ExportStats;
