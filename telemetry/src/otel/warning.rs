//! The export's one warning. It goes where the application's logs go (a `tracing` event, target
//! [`WARNING_TARGET`], level WARN) or, when nothing listens there, to standard error: a broken
//! collector must be visible without flooding either.

use std::io::Write as _;

/// The `tracing` target of the export's warning.
pub const WARNING_TARGET: &str = "codex_telemetry::otel";

/// Where the export's warning goes: by default [`WarningSink::application`]; tests and
/// applications with their own reporting pass a function.
#[derive(Clone)]
pub struct WarningSink(std::sync::Arc<dyn Fn(&str) + Send + Sync>);

impl WarningSink {
    /// The application's `tracing` subscriber when one listens, else standard error.
    pub fn application() -> Self {
        Self(std::sync::Arc::new(to_application))
    }

    /// `sink` receives each warning's text.
    pub fn to(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(sink))
    }

    pub(crate) fn warn(&self, message: &str) {
        (self.0)(message);
    }
}

impl std::fmt::Debug for WarningSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WarningSink")
    }
}

/// Emits `message` where the application will see it (callers make sure it is once).
fn to_application(message: &str) {
    if tracing::enabled!(target: WARNING_TARGET, tracing::Level::WARN) {
        tracing::warn!(target: WARNING_TARGET, "{message}");
    } else {
        // Standard error on purpose: nothing else would show the warning.
        let _ = writeln!(std::io::stderr(), "codex-telemetry: warning: {message}");
    }
}
