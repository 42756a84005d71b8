//! What every hook receives first: the run's state as the hooks see it.

use super::usage::Usage;

/// What every callback receives first: Python's `RunContextWrapper`, reduced to what the
/// telemetry knows (the run's accumulated usage at the call).
///
/// # Examples
///
/// ```
/// use codex_telemetry::hooks::RunContext;
/// use codex_telemetry::usage::Usage;
///
/// let context = RunContext::new(Usage { requests: 1, ..Usage::default() });
/// assert_eq!(context.usage().requests, 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunContext {
    usage: Usage,
}

impl RunContext {
    /// A context carrying `usage`.
    ///
    /// ```
    /// use codex_telemetry::hooks::RunContext;
    ///
    /// assert!(RunContext::new(Default::default()).usage().is_zero());
    /// ```
    pub fn new(usage: Usage) -> Self {
        Self { usage }
    }

    /// The run's usage so far.
    ///
    /// ```
    /// use codex_telemetry::hooks::RunContext;
    ///
    /// assert!(RunContext::default().usage().is_zero());
    /// ```
    pub fn usage(&self) -> &Usage {
        &self.usage
    }
}
