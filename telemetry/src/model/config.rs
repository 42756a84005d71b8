//! Configuration: the environment variables the Python client reads, parsed by its rules,
//! and the `RunConfig` fields that shape telemetry.
//!
//! # Environment variables
//!
//! The five variables use **different** parsing rules, copied from `openai-agents` 0.24.0
//! (values are compared after Python's `str.lower()`; `strip()` only where noted):
//!
//! | variable | default | rule | effect |
//! |---|---|---|---|
//! | `OPENAI_AGENTS_DISABLE_TRACING` | tracing on | disabled iff the value is `true` or `1` (`yes`/`on` do **not** disable) | no trace or span events (see [`EnvConfig::tracing_disabled`]) |
//! | `OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA` | `true` | true iff the stripped value is `1`, `true`, `yes` or `on`; anything else, including `""`, is **false** | default of [`RunConfig::trace_include_sensitive_data`] |
//! | `OPENAI_AGENTS_DONT_LOG_MODEL_DATA` | suppress | suppress iff unset, `1`, or `true`; `0`, `false`, `no`, `yes`, `on`, `""` all **enable** data logging | model payload log lines |
//! | `OPENAI_AGENTS_DONT_LOG_TOOL_DATA` | suppress | same as above | tool input/result/failure log lines |
//! | `OPENAI_AGENT_HARNESS_ID` | unset | stripped, used when non-empty | `agent_harness_id` in the trace metadata and every span's `metadata` |
//!
//! # When they are read
//!
//! [`EnvConfig`] is a snapshot: the values are read once, when it is built
//! ([`EnvConfig::from_lookup`] or [`EnvConfig::from_process_env`]), never behind the
//! caller's back. Python reads them at different times, which a host reproduces by choosing
//! when to take the snapshot:
//!
//! * `OPENAI_AGENTS_DONT_LOG_*`: Python reads them at import. Take one snapshot at start-up
//!   and give it to the lifecycle's `Runner`.
//! * `OPENAI_AGENTS_DISABLE_TRACING`: Python reads it once, at the provider's first trace or
//!   span. Build the provider with
//!   [`with_disabled(env.tracing_disabled())`](crate::TraceProviderBuilder::with_disabled).
//! * `OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA`: Python reads it whenever a `RunConfig()`
//!   is constructed; [`RunConfig::from_env`] is that constructor.
//! * `OPENAI_AGENT_HARNESS_ID`: Python reads it at every run; the runner applies the
//!   snapshot it holds at every `Runner::start_run`.
//!
//! The lookup function makes it possible to use a scenario's variables without touching the
//! process environment:
//!
//! ```
//! use codex_telemetry::config::EnvConfig;
//!
//! let env = EnvConfig::from_lookup(|name| match name {
//!     "OPENAI_AGENTS_DISABLE_TRACING" => Some("yes".into()),
//!     "OPENAI_AGENTS_DONT_LOG_TOOL_DATA" => Some("0".into()),
//!     "OPENAI_AGENT_HARNESS_ID" => Some("  h-1 ".into()),
//!     _ => None,
//! });
//! assert!(!env.tracing_disabled()); // "yes" does not disable tracing
//! assert!(env.trace_include_sensitive_data()); // unset: true
//! assert!(env.dont_log_model_data()); // unset: suppress
//! assert!(!env.dont_log_tool_data()); // "0": log tool data
//! assert_eq!(env.agent_harness_id(), Some("h-1"));
//! ```

use crate::model::span_data::JsonMap;

/// `OPENAI_AGENTS_DISABLE_TRACING`.
pub const DISABLE_TRACING_VAR: &str = "OPENAI_AGENTS_DISABLE_TRACING";
/// `OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA`.
pub const TRACE_INCLUDE_SENSITIVE_DATA_VAR: &str = "OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA";
/// `OPENAI_AGENTS_DONT_LOG_MODEL_DATA`.
pub const DONT_LOG_MODEL_DATA_VAR: &str = "OPENAI_AGENTS_DONT_LOG_MODEL_DATA";
/// `OPENAI_AGENTS_DONT_LOG_TOOL_DATA`.
pub const DONT_LOG_TOOL_DATA_VAR: &str = "OPENAI_AGENTS_DONT_LOG_TOOL_DATA";
/// `OPENAI_AGENT_HARNESS_ID`.
pub const AGENT_HARNESS_ID_VAR: &str = "OPENAI_AGENT_HARNESS_ID";

/// The metadata key `OPENAI_AGENT_HARNESS_ID` is stored under.
pub const AGENT_HARNESS_ID_KEY: &str = "agent_harness_id";

/// The workflow name of a run when none is configured.
pub const DEFAULT_WORKFLOW_NAME: &str = "Agent workflow";

/// A snapshot of the environment variables that shape the Python client's telemetry,
/// parsed by its rules (see the [module docs](self)).
///
/// # Examples
///
/// ```
/// use codex_telemetry::config::EnvConfig;
///
/// let defaults = EnvConfig::from_lookup(|_| None);
/// assert_eq!(defaults, EnvConfig::default());
/// assert!(!defaults.tracing_disabled());
/// assert!(defaults.trace_include_sensitive_data());
/// assert!(defaults.dont_log_model_data() && defaults.dont_log_tool_data());
/// assert_eq!(defaults.agent_harness_id(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvConfig {
    tracing_disabled: bool,
    trace_include_sensitive_data: bool,
    dont_log_model_data: bool,
    dont_log_tool_data: bool,
    agent_harness_id: Option<String>,
}

impl Default for EnvConfig {
    /// The values of an empty environment.
    fn default() -> Self {
        Self::from_lookup(|_| None)
    }
}

impl EnvConfig {
    /// Reads the variables through `lookup` (`None` = unset).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    ///
    /// let env = EnvConfig::from_lookup(|name| (name == "OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA").then(|| " On ".to_owned()));
    /// assert!(env.trace_include_sensitive_data());
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            tracing_disabled: parse_disable_tracing(lookup(DISABLE_TRACING_VAR).as_deref()),
            trace_include_sensitive_data: parse_include_sensitive_data(
                lookup(TRACE_INCLUDE_SENSITIVE_DATA_VAR).as_deref(),
            ),
            dont_log_model_data: parse_dont_log(lookup(DONT_LOG_MODEL_DATA_VAR).as_deref()),
            dont_log_tool_data: parse_dont_log(lookup(DONT_LOG_TOOL_DATA_VAR).as_deref()),
            agent_harness_id: parse_harness_id(lookup(AGENT_HARNESS_ID_VAR).as_deref()),
        }
    }

    /// Reads the variables from the process environment, now. A value that is not valid
    /// Unicode counts as unset.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    ///
    /// let env = EnvConfig::from_process_env();
    /// # let _ = env;
    /// ```
    pub fn from_process_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// `OPENAI_AGENTS_DISABLE_TRACING`: whether tracing is disabled for the process.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    ///
    /// let env = EnvConfig::from_lookup(|_| Some("TRUE".into()));
    /// assert!(env.tracing_disabled());
    /// ```
    pub fn tracing_disabled(&self) -> bool {
        self.tracing_disabled
    }

    /// `OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA`: the default of
    /// [`RunConfig::trace_include_sensitive_data`].
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    ///
    /// assert!(!EnvConfig::from_lookup(|_| Some(String::new())).trace_include_sensitive_data());
    /// ```
    pub fn trace_include_sensitive_data(&self) -> bool {
        self.trace_include_sensitive_data
    }

    /// `OPENAI_AGENTS_DONT_LOG_MODEL_DATA`: whether model payloads stay out of log lines.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    ///
    /// assert!(!EnvConfig::from_lookup(|_| Some("false".into())).dont_log_model_data());
    /// ```
    pub fn dont_log_model_data(&self) -> bool {
        self.dont_log_model_data
    }

    /// `OPENAI_AGENTS_DONT_LOG_TOOL_DATA`: whether tool inputs, results and failures stay
    /// out of log lines.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    ///
    /// assert!(EnvConfig::from_lookup(|_| Some("1".into())).dont_log_tool_data());
    /// ```
    pub fn dont_log_tool_data(&self) -> bool {
        self.dont_log_tool_data
    }

    /// Whether the client logs created spans' data (neither `OPENAI_AGENTS_DONT_LOG_*`
    /// switch set): see [`TraceProviderBuilder::with_span_data_logged`](crate::TraceProviderBuilder::with_span_data_logged).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    ///
    /// assert!(!EnvConfig::default().logs_span_data());
    /// assert!(EnvConfig::from_lookup(|_| Some("0".into())).logs_span_data());
    /// ```
    pub fn logs_span_data(&self) -> bool {
        !self.dont_log_model_data && !self.dont_log_tool_data
    }

    /// `OPENAI_AGENT_HARNESS_ID`, stripped; `None` when unset or blank.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    ///
    /// assert_eq!(EnvConfig::from_lookup(|_| Some("   ".into())).agent_harness_id(), None);
    /// ```
    pub fn agent_harness_id(&self) -> Option<&str> {
        self.agent_harness_id.as_deref()
    }

    /// The same snapshot with `OPENAI_AGENTS_DISABLE_TRACING` replaced (Python's
    /// `set_tracing_disabled`).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    ///
    /// assert!(EnvConfig::default().with_tracing_disabled(true).tracing_disabled());
    /// ```
    pub fn with_tracing_disabled(mut self, disabled: bool) -> Self {
        self.tracing_disabled = disabled;
        self
    }

    /// `metadata` with `agent_harness_id` added when a harness id is configured and the key
    /// is not there yet (Python's `add_openai_harness_id_to_metadata`).
    pub(crate) fn metadata_with_harness_id(&self, metadata: Option<JsonMap>) -> Option<JsonMap> {
        let Some(harness_id) = &self.agent_harness_id else {
            return metadata;
        };
        if metadata
            .as_ref()
            .is_some_and(|m| m.contains_key(AGENT_HARNESS_ID_KEY))
        {
            return metadata;
        }
        let mut metadata = metadata.unwrap_or_default();
        metadata.insert(AGENT_HARNESS_ID_KEY.into(), harness_id.clone().into());
        Some(metadata)
    }
}

/// Python: `os.environ.get(name, "false").lower() in ("true", "1")`.
fn parse_disable_tracing(value: Option<&str>) -> bool {
    value.is_some_and(|v| matches!(v.to_lowercase().as_str(), "true" | "1"))
}

/// Python: `os.getenv(name, "true").strip().lower() in ("1", "true", "yes", "on")`.
fn parse_include_sensitive_data(value: Option<&str>) -> bool {
    value.is_none_or(|v| {
        matches!(
            python_strip(v).to_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// Python's `str.strip()`: Unicode whitespace plus the four ASCII separators
/// (`\x1c`–`\x1f`) that Python's `str.isspace` also counts.
fn python_strip(value: &str) -> &str {
    value.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// Python `_debug_flag_enabled(name, default=True)`: unset → true, else
/// `value == "1" or value.lower() == "true"`.
fn parse_dont_log(value: Option<&str>) -> bool {
    value.is_none_or(|v| v == "1" || v.to_lowercase() == "true")
}

/// Python `_resolve_str`: stripped, non-empty.
fn parse_harness_id(value: Option<&str>) -> Option<String> {
    value
        .map(python_strip)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The `RunConfig` fields that shape telemetry (Python's `agents.RunConfig`, the tracing
/// part).
///
/// [`RunConfig::new`] has Python's defaults with sensitive data on;
/// [`RunConfig::from_env`] takes the sensitive-data default from the environment, as
/// Python's `RunConfig()` does.
///
/// | field | effect |
/// |---|---|
/// | `workflow_name` | the trace's `workflow_name` and the task span's `data.name` (default `"Agent workflow"`) |
/// | `trace_id`, `group_id`, `trace_metadata` | the run's trace (ignored when the run happens inside a current trace) |
/// | `tracing_disabled` | no trace or span events; the run masks any current trace |
/// | `trace_include_sensitive_data` | function span `input`/`output`, error details |
/// | `include_task_and_turn_spans` | task and turn spans (default true); without them the agent span is the root |
///
/// # Examples
///
/// ```
/// use codex_telemetry::config::{EnvConfig, RunConfig};
///
/// let env = EnvConfig::from_lookup(|_| Some("no".into()));
/// let config = RunConfig::from_env(&env).with_workflow_name("Support chat");
/// assert!(!config.trace_include_sensitive_data);
/// assert_eq!(config.workflow_name, "Support chat");
/// assert!(config.include_task_and_turn_spans);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RunConfig {
    /// Names the trace and the task span.
    pub workflow_name: String,
    /// The trace id to use instead of a generated one (not validated).
    pub trace_id: Option<String>,
    /// The trace's `group_id`.
    pub group_id: Option<String>,
    /// The trace's `metadata`.
    pub trace_metadata: Option<JsonMap>,
    /// Disables tracing for this run.
    pub tracing_disabled: bool,
    /// Whether function spans carry inputs and outputs and errors carry details.
    pub trace_include_sensitive_data: bool,
    /// Whether runs get task and turn spans.
    pub include_task_and_turn_spans: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl RunConfig {
    /// Python's defaults, with sensitive data included.
    ///
    /// ```
    /// use codex_telemetry::config::RunConfig;
    ///
    /// let config = RunConfig::new();
    /// assert_eq!(config.workflow_name, "Agent workflow");
    /// assert!(config.trace_include_sensitive_data && !config.tracing_disabled);
    /// ```
    pub fn new() -> Self {
        Self {
            workflow_name: DEFAULT_WORKFLOW_NAME.into(),
            trace_id: None,
            group_id: None,
            trace_metadata: None,
            tracing_disabled: false,
            trace_include_sensitive_data: true,
            include_task_and_turn_spans: true,
        }
    }

    /// Python's `RunConfig()`: the defaults, with `trace_include_sensitive_data` from
    /// `OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA`.
    ///
    /// ```
    /// use codex_telemetry::config::{EnvConfig, RunConfig};
    ///
    /// assert!(RunConfig::from_env(&EnvConfig::default()).trace_include_sensitive_data);
    /// ```
    pub fn from_env(env: &EnvConfig) -> Self {
        Self {
            trace_include_sensitive_data: env.trace_include_sensitive_data(),
            ..Self::new()
        }
    }

    /// Sets the workflow name.
    ///
    /// ```
    /// use codex_telemetry::config::RunConfig;
    ///
    /// assert_eq!(RunConfig::new().with_workflow_name("WF").workflow_name, "WF");
    /// ```
    pub fn with_workflow_name(mut self, workflow_name: impl Into<String>) -> Self {
        self.workflow_name = workflow_name.into();
        self
    }

    /// Sets the trace id.
    ///
    /// ```
    /// use codex_telemetry::config::RunConfig;
    ///
    /// assert_eq!(RunConfig::new().with_trace_id("trace_1").trace_id.as_deref(), Some("trace_1"));
    /// ```
    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }

    /// Sets the group id.
    ///
    /// ```
    /// use codex_telemetry::config::RunConfig;
    ///
    /// assert_eq!(RunConfig::new().with_group_id("g").group_id.as_deref(), Some("g"));
    /// ```
    pub fn with_group_id(mut self, group_id: impl Into<String>) -> Self {
        self.group_id = Some(group_id.into());
        self
    }

    /// Sets the trace metadata.
    ///
    /// ```
    /// use codex_telemetry::config::RunConfig;
    /// use codex_telemetry::JsonMap;
    ///
    /// assert_eq!(RunConfig::new().with_trace_metadata(JsonMap::new()).trace_metadata, Some(JsonMap::new()));
    /// ```
    pub fn with_trace_metadata(mut self, metadata: JsonMap) -> Self {
        self.trace_metadata = Some(metadata);
        self
    }

    /// Disables (or enables) tracing for the run.
    ///
    /// ```
    /// use codex_telemetry::config::RunConfig;
    ///
    /// assert!(RunConfig::new().with_tracing_disabled(true).tracing_disabled);
    /// ```
    pub fn with_tracing_disabled(mut self, disabled: bool) -> Self {
        self.tracing_disabled = disabled;
        self
    }

    /// Includes (or redacts) sensitive data.
    ///
    /// ```
    /// use codex_telemetry::config::RunConfig;
    ///
    /// assert!(!RunConfig::new().with_trace_include_sensitive_data(false).trace_include_sensitive_data);
    /// ```
    pub fn with_trace_include_sensitive_data(mut self, include: bool) -> Self {
        self.trace_include_sensitive_data = include;
        self
    }

    /// Turns task and turn spans on or off (Python's
    /// `tracing={"include_task_and_turn_spans": …}`).
    ///
    /// ```
    /// use codex_telemetry::config::RunConfig;
    ///
    /// assert!(!RunConfig::new().with_include_task_and_turn_spans(false).include_task_and_turn_spans);
    /// ```
    pub fn with_include_task_and_turn_spans(mut self, include: bool) -> Self {
        self.include_task_and_turn_spans = include;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn disable_tracing_only_true_or_one() {
        for value in ["true", "TRUE", "True", "1"] {
            assert!(parse_disable_tracing(Some(value)), "{value}");
        }
        for value in ["yes", "on", "0", "false", "", " true", "true ", "2", "y"] {
            assert!(!parse_disable_tracing(Some(value)), "{value:?}");
        }
        assert!(!parse_disable_tracing(None));
    }

    #[test]
    fn include_sensitive_data_after_strip() {
        for value in [
            "1",
            "true",
            "yes",
            "on",
            " ON ",
            "\tYes\n",
            "True",
            "\x1con\x1f",
        ] {
            assert!(parse_include_sensitive_data(Some(value)), "{value:?}");
        }
        for value in ["", " ", "0", "false", "no", "off", "2", "y", "enabled"] {
            assert!(!parse_include_sensitive_data(Some(value)), "{value:?}");
        }
        assert!(parse_include_sensitive_data(None));
    }

    #[test]
    fn dont_log_suppresses_iff_unset_one_or_true() {
        assert!(parse_dont_log(None));
        for value in ["1", "true", "TRUE", "tRuE"] {
            assert!(parse_dont_log(Some(value)), "{value:?}");
        }
        // No strip: " 1" and "true " enable data logging, like Python.
        for value in ["0", "false", "no", "yes", "on", "", " 1", "true "] {
            assert!(!parse_dont_log(Some(value)), "{value:?}");
        }
    }

    #[test]
    fn harness_id_is_stripped_and_non_empty() {
        assert_eq!(parse_harness_id(Some("  h-1  ")).as_deref(), Some("h-1"));
        assert_eq!(parse_harness_id(Some(" \t ")), None);
        assert_eq!(parse_harness_id(None), None);
    }

    #[test]
    fn harness_id_joins_metadata_unless_present() {
        let env = EnvConfig::from_lookup(|name| (name == AGENT_HARNESS_ID_VAR).then(|| "h".into()));
        assert_eq!(
            env.metadata_with_harness_id(None),
            Some(JsonMap::from_iter([(
                AGENT_HARNESS_ID_KEY.into(),
                json!("h")
            )]))
        );
        let mut mine = JsonMap::new();
        mine.insert("tenant".into(), json!("acme"));
        let merged = env.metadata_with_harness_id(Some(mine)).unwrap();
        assert_eq!(
            serde_json::to_string(&merged).unwrap(),
            r#"{"tenant":"acme","agent_harness_id":"h"}"#
        );
        let mut explicit = JsonMap::new();
        explicit.insert(AGENT_HARNESS_ID_KEY.into(), json!("mine"));
        assert_eq!(
            env.metadata_with_harness_id(Some(explicit.clone())),
            Some(explicit)
        );
        assert_eq!(EnvConfig::default().metadata_with_harness_id(None), None);
    }

    #[test]
    fn lookup_reads_each_variable_by_name() {
        let env = EnvConfig::from_lookup(|name| {
            Some(
                match name {
                    DISABLE_TRACING_VAR => "1",
                    TRACE_INCLUDE_SENSITIVE_DATA_VAR => "off",
                    DONT_LOG_MODEL_DATA_VAR => "0",
                    DONT_LOG_TOOL_DATA_VAR => "true",
                    AGENT_HARNESS_ID_VAR => "x",
                    _ => return None,
                }
                .to_owned(),
            )
        });
        assert!(env.tracing_disabled());
        assert!(!env.trace_include_sensitive_data());
        assert!(!env.dont_log_model_data());
        assert!(env.dont_log_tool_data());
        assert_eq!(env.agent_harness_id(), Some("x"));
        assert!(!RunConfig::from_env(&env).trace_include_sensitive_data);
    }
}
