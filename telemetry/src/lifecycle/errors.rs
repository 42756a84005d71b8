//! The lifecycle's errors.
//!
//! Recording telemetry never fails (a misbehaving processor is contained and logged). The
//! errors here are:
//!
//! * [`RunAgentError`]: why an agent run stopped, named as the Python client names the
//!   exception (`MaxTurnsExceeded`, `InputGuardrailTripwireTriggered`, …), produced by the
//!   [lifecycle](crate::lifecycle) API.
//! * [`CallModelError`] and [`CallToolError`]: failures an SDK reports *to* the lifecycle API.
//!
//! All are opaque structs: their accessors and messages are the contract. Unlike this
//! crate's own messages (lowercase fragments), a [`RunAgentError`]'s message is the Python
//! client's exception text, reproduced verbatim.

use std::borrow::Cow;

use thiserror::Error;

/// Why an agent run stopped, as the Python client would raise it.
///
/// [`name`](RunAgentError::name) is the Python exception's class name and
/// [`message`](RunAgentError::message) its `str()`; `Display` prints the message.
///
/// | name | message | raised by |
/// |---|---|---|
/// | `MaxTurnsExceeded` | `Max turns (N) exceeded` | [`Run::start_turn`](crate::lifecycle::Run::start_turn) |
/// | `InputGuardrailTripwireTriggered` | `Guardrail InputGuardrail triggered tripwire` | [`Turn::run_input_guardrails`](crate::lifecycle::Turn::run_input_guardrails) |
/// | `OutputGuardrailTripwireTriggered` | `Guardrail OutputGuardrail triggered tripwire` | [`Run::run_output_guardrails`](crate::lifecycle::Run::run_output_guardrails) |
/// | `ModelBehaviorError` | e.g. `Tool X not found in agent Y` | [`ModelCall::finish`](crate::lifecycle::ModelCall::finish), [`Turn::invalid_final_output`](crate::lifecycle::Turn::invalid_final_output) |
/// | the model error's own name | its message | [`ModelCall::fail`](crate::lifecycle::ModelCall::fail) |
/// | `UserError` | `Error running tool X: …` | [`ToolBatch::invoke`](crate::lifecycle::ToolBatch::invoke) of a tool without a failure handler |
///
/// # Examples
///
/// ```
/// use codex_telemetry::{CallModelError, RunAgentError};
///
/// let error = RunAgentError::from(CallModelError::new("ModelUnavailable", "upstream returned 503"));
/// assert_eq!(error.name(), "ModelUnavailable");
/// assert_eq!(error.to_string(), "upstream returned 503");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct RunAgentError {
    kind: RunAgentErrorKind,
    message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RunAgentErrorKind {
    MaxTurnsExceeded,
    InputGuardrailTripwire { guardrail: String },
    OutputGuardrailTripwire { guardrail: String },
    ModelBehavior,
    User,
    ToolInputGuardrailTripwire,
    ToolOutputGuardrailTripwire,
    Model { name: Cow<'static, str> },
}

impl RunAgentError {
    pub(crate) fn max_turns_exceeded(max_turns: u32) -> Self {
        Self {
            kind: RunAgentErrorKind::MaxTurnsExceeded,
            message: format!("Max turns ({max_turns}) exceeded"),
        }
    }

    /// Whether this is the run's turn limit (not a model error that happens to share the name).
    pub(crate) fn is_max_turns_exceeded(&self) -> bool {
        self.kind == RunAgentErrorKind::MaxTurnsExceeded
    }

    pub(crate) fn input_guardrail_tripwire(guardrail: impl Into<String>) -> Self {
        Self {
            kind: RunAgentErrorKind::InputGuardrailTripwire {
                guardrail: guardrail.into(),
            },
            // Python formats the guardrail object's class name, not the guardrail's name.
            message: "Guardrail InputGuardrail triggered tripwire".into(),
        }
    }

    pub(crate) fn output_guardrail_tripwire(guardrail: impl Into<String>) -> Self {
        Self {
            kind: RunAgentErrorKind::OutputGuardrailTripwire {
                guardrail: guardrail.into(),
            },
            message: "Guardrail OutputGuardrail triggered tripwire".into(),
        }
    }

    pub(crate) fn model_behavior(message: impl Into<String>) -> Self {
        Self {
            kind: RunAgentErrorKind::ModelBehavior,
            message: message.into(),
        }
    }

    pub(crate) fn user_error(message: impl Into<String>) -> Self {
        Self {
            kind: RunAgentErrorKind::User,
            message: message.into(),
        }
    }

    /// A tool guardrail's `raise_exception()`; Python names the guardrail's class in the
    /// message, not the guardrail.
    pub(crate) fn tool_guardrail_tripwire(output: bool) -> Self {
        let (kind, message) = if output {
            (
                RunAgentErrorKind::ToolOutputGuardrailTripwire,
                "Tool output guardrail ToolOutputGuardrail triggered tripwire",
            )
        } else {
            (
                RunAgentErrorKind::ToolInputGuardrailTripwire,
                "Tool input guardrail ToolInputGuardrail triggered tripwire",
            )
        };
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The Python exception class name, e.g. `MaxTurnsExceeded`.
    ///
    /// ```
    /// use codex_telemetry::{CallModelError, RunAgentError};
    ///
    /// assert_eq!(RunAgentError::from(CallModelError::new("Timeout", "slow")).name(), "Timeout");
    /// ```
    pub fn name(&self) -> &str {
        match &self.kind {
            RunAgentErrorKind::MaxTurnsExceeded => "MaxTurnsExceeded",
            RunAgentErrorKind::InputGuardrailTripwire { .. } => "InputGuardrailTripwireTriggered",
            RunAgentErrorKind::OutputGuardrailTripwire { .. } => "OutputGuardrailTripwireTriggered",
            RunAgentErrorKind::ModelBehavior => "ModelBehaviorError",
            RunAgentErrorKind::User => "UserError",
            RunAgentErrorKind::ToolInputGuardrailTripwire => "ToolInputGuardrailTripwireTriggered",
            RunAgentErrorKind::ToolOutputGuardrailTripwire => {
                "ToolOutputGuardrailTripwireTriggered"
            }
            RunAgentErrorKind::Model { name } => name,
        }
    }

    /// The exception's message (Python's `str(e)`).
    ///
    /// ```
    /// use codex_telemetry::{CallModelError, RunAgentError};
    ///
    /// assert_eq!(RunAgentError::from(CallModelError::new("Timeout", "slow")).message(), "slow");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The name of the guardrail whose tripwire stopped the run, if one did.
    ///
    /// ```
    /// use codex_telemetry::{CallModelError, RunAgentError};
    ///
    /// assert_eq!(RunAgentError::from(CallModelError::new("Timeout", "slow")).guardrail(), None);
    /// ```
    pub fn guardrail(&self) -> Option<&str> {
        match &self.kind {
            RunAgentErrorKind::InputGuardrailTripwire { guardrail }
            | RunAgentErrorKind::OutputGuardrailTripwire { guardrail } => Some(guardrail),
            _ => None,
        }
    }

    /// Python's `_is_generic_agent_error`: whether the agent span gets the generic
    /// `Error in agent run` error (not for model misbehaviour or tripwires, which report
    /// themselves).
    pub(crate) fn is_generic_agent_error(&self) -> bool {
        matches!(
            self.kind,
            RunAgentErrorKind::MaxTurnsExceeded
                | RunAgentErrorKind::User
                | RunAgentErrorKind::ToolInputGuardrailTripwire
                | RunAgentErrorKind::ToolOutputGuardrailTripwire
                | RunAgentErrorKind::Model { .. }
        )
    }
}

impl From<CallModelError> for RunAgentError {
    fn from(error: CallModelError) -> Self {
        let kind = if error.model_behavior {
            RunAgentErrorKind::ModelBehavior
        } else {
            RunAgentErrorKind::Model { name: error.name }
        };
        Self {
            kind,
            message: error.message,
        }
    }
}

/// A failed model call, reported to [`ModelCall::fail`](crate::lifecycle::ModelCall::fail):
/// the error's type name (what the Python client reports as the exception class) and its
/// message.
///
/// # Examples
///
/// ```
/// use codex_telemetry::CallModelError;
///
/// let error = CallModelError::new("ModelUnavailable", "upstream returned 503");
/// assert_eq!((error.name(), error.message()), ("ModelUnavailable", "upstream returned 503"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{name}: {message}")]
pub struct CallModelError {
    name: Cow<'static, str>,
    message: String,
    /// Python's `ModelBehaviorError`: the run reports it as model misbehaviour.
    model_behavior: bool,
}

impl CallModelError {
    /// An error of type `name` with `message`.
    ///
    /// ```
    /// use codex_telemetry::CallModelError;
    ///
    /// assert_eq!(CallModelError::new("E", "m").to_string(), "E: m");
    /// ```
    pub fn new(name: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            message: message.into(),
            model_behavior: false,
        }
    }

    /// The model misbehaved (Python's `ModelBehaviorError`, e.g. a provider that answered with
    /// malformed output): the generation span gets the error like any other, but the run does
    /// not add the generic `Error in agent run` to the agent span, as the Python client does not.
    ///
    /// ```
    /// use codex_telemetry::{CallModelError, RunAgentError};
    ///
    /// let error = CallModelError::model_behavior("malformed tool call");
    /// assert_eq!(error.name(), "ModelBehaviorError");
    /// assert_eq!(RunAgentError::from(error).name(), "ModelBehaviorError");
    /// ```
    pub fn model_behavior(message: impl Into<String>) -> Self {
        Self {
            name: Cow::Borrowed("ModelBehaviorError"),
            message: message.into(),
            model_behavior: true,
        }
    }

    /// The error's type name.
    ///
    /// ```
    /// use codex_telemetry::CallModelError;
    ///
    /// assert_eq!(CallModelError::new("E", "m").name(), "E");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The error's message.
    ///
    /// ```
    /// use codex_telemetry::CallModelError;
    ///
    /// assert_eq!(CallModelError::new("E", "m").message(), "m");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A failed tool call, reported by the tool function given to
/// [`ToolBatch::invoke`](crate::lifecycle::ToolBatch::invoke). The default failure handler
/// turns it into the output the model sees; its message appears only in data-bearing logs.
///
/// # Examples
///
/// ```
/// use codex_telemetry::CallToolError;
///
/// assert_eq!(CallToolError::new("permission denied").to_string(), "permission denied");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct CallToolError {
    message: String,
}

impl CallToolError {
    /// A tool failure with `message` (Python's `str(e)`).
    ///
    /// ```
    /// use codex_telemetry::CallToolError;
    ///
    /// assert_eq!(CallToolError::new("down").message(), "down");
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The failure's message.
    ///
    /// ```
    /// use codex_telemetry::CallToolError;
    ///
    /// assert_eq!(CallToolError::new("down").message(), "down");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_errors_carry_python_names_and_messages() {
        let max = RunAgentError::max_turns_exceeded(2);
        assert_eq!(
            (max.name(), max.message()),
            ("MaxTurnsExceeded", "Max turns (2) exceeded")
        );
        assert!(max.is_generic_agent_error());
        let input = RunAgentError::input_guardrail_tripwire("no_homework");
        assert_eq!(input.name(), "InputGuardrailTripwireTriggered");
        assert_eq!(
            input.message(),
            "Guardrail InputGuardrail triggered tripwire"
        );
        assert_eq!(input.guardrail(), Some("no_homework"));
        assert!(!input.is_generic_agent_error());
        let output = RunAgentError::output_guardrail_tripwire("no_secrets");
        assert_eq!(output.name(), "OutputGuardrailTripwireTriggered");
        assert!(!output.is_generic_agent_error());
        let behavior = RunAgentError::model_behavior("Tool x not found in agent a");
        assert_eq!(behavior.name(), "ModelBehaviorError");
        assert!(!behavior.is_generic_agent_error());
        let model = RunAgentError::from(CallModelError::new("ModelUnavailable", "503"));
        assert_eq!(
            (model.name(), model.to_string().as_str()),
            ("ModelUnavailable", "503")
        );
        assert!(model.is_generic_agent_error());
        let scripted = RunAgentError::from(CallModelError::model_behavior("bad output"));
        assert_eq!(scripted.name(), "ModelBehaviorError");
        assert!(!scripted.is_generic_agent_error());
    }
}
