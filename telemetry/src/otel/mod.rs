//! OpenTelemetry export (crate feature `otlp`, off by default; the default build pulls in no
//! OpenTelemetry crate), configured at run time from the environment (docs/otlp.md).
//!
//! Layers, lowest first: [`config`] reads the settings; [`ids`] and [`genai`] map the
//! library's ids and span data onto OTel (pure); [`bridge`] is the processor applying them;
//! `transport` builds the exporters, `watch` counts and warns, `pipeline` assembles the SDK
//! providers (batched spans, periodic metrics); [`events`] puts the Codex lifecycle events on
//! the exported spans.
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
mod transport;
mod warning;
mod watch;

pub use bridge::OtelBridge;
pub use config::{Endpoint, OtlpSettings, Protocol};
pub use pipeline::{
    DEFAULT_EXPORT_TIMEOUT, DEFAULT_MAX_QUEUE_SIZE, DEFAULT_SHUTDOWN_TIMEOUT, OtlpBuildError,
    OtlpExport, OtlpExportBuilder,
};
pub use warning::{WARNING_TARGET, WarningSink};
pub use watch::ExportStats;

use crate::sdk::provider::{TraceProvider, global_provider};

/// Exports the global provider's traces when the environment enables it
/// (`CODEX_OTLP_ENABLE`); `None` when it does not, or when the settings cannot be used (then
/// after one warning naming the variable). Keep the export until the program ends: dropping it
/// shuts it down.
#[must_use = "dropping the export shuts it down: keep it until the program ends"]
pub fn configure() -> Option<OtlpExport> {
    configure_provider(&global_provider(), OtlpSettings::from_env())
}

/// [`configure`] for `provider` and explicit `settings`.
#[must_use = "dropping the export shuts it down: keep it until the program ends"]
pub fn configure_provider(provider: &TraceProvider, settings: OtlpSettings) -> Option<OtlpExport> {
    if !settings.enabled {
        return None;
    }
    match OtlpExportBuilder::new(settings).build() {
        Ok(export) => {
            provider.register_processor(export.processor());
            Some(export)
        }
        Err(error) => {
            WarningSink::application().warn(&format!(
                "{error}. Traces are still recorded; fix the variable to export them."
            ));
            None
        }
    }
}
