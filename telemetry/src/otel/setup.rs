//! Setting up an export from the environment: the settings, the pipeline built from them
//! and registered with a provider, or one warning naming what is wrong.

use super::config::OtlpSettings;
use super::pipeline::{OtlpExport, OtlpExportBuilder};
use super::warning::WarningSink;
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
