//! Which exception a scripted model error raises: the catalogue behind
//! `error = { name = …, message = … }` in `[[model.steps]]`.
//!
//! The Python client treats some of its own exception classes differently (a `ModelBehaviorError`
//! does not mark the agent span with `Error in agent run`), so a scenario that names a class of
//! the client, of `openai` or of Python's builtins gets *that* class, never a look-alike. Names
//! that exist nowhere get a generic exception class of that name (the driver's
//! `ScriptedError` subclass), which the client treats like any unknown exception. Real classes
//! that cannot be built from a message alone are rejected with the reason.
//!
//! `harness/python/parity_driver.py` (`_scripted_exception`) resolves names the same way; the
//! test `python_subject::every_exception_name_resolves_as_the_loader_says` runs every class of
//! the installed client, of `openai` and of Python's builtins through both, so the lists here
//! cannot drift from the installed packages.

/// Where a scripted exception's class comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionOrigin {
    /// A class of `agents.exceptions` (the Python client's own).
    Agents,
    /// An API error class of the `openai` package.
    OpenAi,
    /// A Python builtin exception class.
    Builtin,
    /// No such class exists: a generic exception class with that name.
    Scripted,
}

/// A scriptable exception name, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptedException {
    /// Where the class comes from.
    pub origin: ExceptionOrigin,
    /// The message the class always has (`str(e)`), when it does not take one.
    pub fixed_message: Option<&'static str>,
}

impl ScriptedException {
    /// Whether the client treats the exception as model misbehaviour (no generic agent error).
    pub fn is_model_behavior(name: &str) -> bool {
        name == "ModelBehaviorError"
    }
}

/// `agents.exceptions` classes whose constructor takes the message.
const AGENTS_SCRIPTABLE: &[&str] = &[
    "AgentsException",
    "MaxTurnsExceeded",
    "ModelBehaviorError",
    "UserError",
    "MCPToolCancellationError",
];

/// Real classes of the client that a scripted model step cannot raise, with the reason.
const AGENTS_REJECTED: &[(&str, &str)] = &[
    (
        "ModelRefusalError",
        "it is built from a refusal text and its message is `Model refused to produce output: …`",
    ),
    (
        "ModelTimeoutError",
        "it is built from a number of seconds, not a message",
    ),
    (
        "ToolTimeoutError",
        "it is built from a tool name and a number of seconds, not a message",
    ),
    (
        "InputGuardrailTripwireTriggered",
        "it carries a guardrail result; script a tripping guardrail instead ([[guardrails]] with `tripwire = true`)",
    ),
    (
        "OutputGuardrailTripwireTriggered",
        "it carries a guardrail result; script a tripping guardrail instead ([[guardrails]] with `tripwire = true`)",
    ),
    (
        "ToolInputGuardrailTripwireTriggered",
        "it carries a tool guardrail and its output, not a message",
    ),
    (
        "ToolOutputGuardrailTripwireTriggered",
        "it carries a tool guardrail and its output, not a message",
    ),
    (
        "ModelScriptError",
        "it is the scripted model's own error (agents.testing)",
    ),
    (
        "InvalidModelStep",
        "it is the scripted model's own error (agents.testing)",
    ),
    (
        "UnexpectedModelCall",
        "the scripted model raises it by itself when no step is left: script fewer steps",
    ),
    (
        "UnconsumedModelSteps",
        "it is the scripted model's own error (agents.testing)",
    ),
];

/// `openai` API errors that carry an HTTP status: built with the message and a response of
/// that status.
const OPENAI_STATUS: &[(&str, u16)] = &[
    ("BadRequestError", 400),
    ("AuthenticationError", 401),
    ("PermissionDeniedError", 403),
    ("NotFoundError", 404),
    ("ConflictError", 409),
    ("UnprocessableEntityError", 422),
    ("RateLimitError", 429),
    ("InternalServerError", 500),
];

/// `openai` errors built from a message alone (`APIConnectionError(message=…, request=…)`,
/// `OpenAIError(message)`).
const OPENAI_MESSAGE: &[&str] = &["APIConnectionError", "OpenAIError"];

/// `openai` errors whose message is fixed.
const OPENAI_FIXED: &[(&str, &str)] = &[("APITimeoutError", "Request timed out.")];

const OPENAI_REJECTED: &[(&str, &str)] = &[
    (
        "APIError",
        "it needs a request and a body; use a status error such as InternalServerError",
    ),
    (
        "APIStatusError",
        "its status is not a message; use the class of the status, e.g. RateLimitError (429)",
    ),
    (
        "APIResponseValidationError",
        "it is built from a response and a body, not a message",
    ),
    (
        "ContentFilterFinishReasonError",
        "it takes no message (its text is fixed by the openai package)",
    ),
    (
        "LengthFinishReasonError",
        "it is built from a completion, not a message",
    ),
    (
        "InvalidWebhookSignatureError",
        "it is raised by webhook verification, never by a model call",
    ),
    (
        "OAuthError",
        "it is raised by OAuth flows, never by a model call",
    ),
    (
        "WebSocketConnectionClosedError",
        "it is built from a close code, not a message",
    ),
    (
        "WebSocketQueueFullError",
        "it is raised by the websocket transport, never by a model call",
    ),
];

/// Python 3.11's builtin exception classes (`BaseException` subclasses in `builtins`).
const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "NotADirectoryError",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
];

const BUILTINS_REJECTED: &[(&str, &str)] = &[
    (
        "BaseException",
        "it is not an `Exception`: it would escape the run instead of failing it",
    ),
    (
        "GeneratorExit",
        "it is not an `Exception`: it would escape the run instead of failing it",
    ),
    (
        "KeyboardInterrupt",
        "it is not an `Exception`: it would escape the run instead of failing it",
    ),
    (
        "SystemExit",
        "it is not an `Exception`: it would escape the run instead of failing it",
    ),
    (
        "BaseExceptionGroup",
        "it is built from a list of exceptions, not a message",
    ),
    (
        "ExceptionGroup",
        "it is built from a list of exceptions, not a message",
    ),
    (
        "EnvironmentError",
        "it is an alias of OSError, which is what the client reports; write `OSError`",
    ),
    (
        "IOError",
        "it is an alias of OSError, which is what the client reports; write `OSError`",
    ),
    (
        "KeyError",
        "its `str()` quotes the message, so the reported message would not be the scripted one",
    ),
    (
        "StopIteration",
        "a coroutine that raises it raises RuntimeError instead",
    ),
    (
        "StopAsyncIteration",
        "it ends async iteration instead of failing the model call",
    ),
    (
        "UnicodeDecodeError",
        "it is built from five arguments, not a message",
    ),
    (
        "UnicodeEncodeError",
        "it is built from five arguments, not a message",
    ),
    (
        "UnicodeTranslateError",
        "it is built from four arguments, not a message",
    ),
];

/// Resolves a scripted error name; `Err` says why the name cannot be scripted and what to do.
pub fn resolve_exception(name: &str) -> Result<ScriptedException, String> {
    let found = |origin, fixed_message| {
        Ok(ScriptedException {
            origin,
            fixed_message,
        })
    };
    let rejected = |reason: &str, package: &str| {
        Err(format!(
            "{name} is {package}'s class, but a scripted model step cannot raise it: {reason}"
        ))
    };
    if AGENTS_SCRIPTABLE.contains(&name) {
        return found(ExceptionOrigin::Agents, None);
    }
    if let Some((_, reason)) = AGENTS_REJECTED.iter().find(|(n, _)| *n == name) {
        return rejected(reason, "the Python client");
    }
    if OPENAI_STATUS.iter().any(|(n, _)| *n == name) || OPENAI_MESSAGE.contains(&name) {
        return found(ExceptionOrigin::OpenAi, None);
    }
    if let Some((_, message)) = OPENAI_FIXED.iter().find(|(n, _)| *n == name) {
        return found(ExceptionOrigin::OpenAi, Some(message));
    }
    if let Some((_, reason)) = OPENAI_REJECTED.iter().find(|(n, _)| *n == name) {
        return rejected(reason, "openai");
    }
    if let Some((_, reason)) = BUILTINS_REJECTED.iter().find(|(n, _)| *n == name) {
        return rejected(reason, "Python's builtin");
    }
    if BUILTINS.contains(&name) {
        return found(ExceptionOrigin::Builtin, None);
    }
    if let Some(real) = near_miss(name) {
        return Err(format!(
            "{name} is not a class of the client, of openai or of Python, but looks like {real}: use `{real}` for the real class, or a clearly different name for a generic exception"
        ));
    }
    found(ExceptionOrigin::Scripted, None)
}

/// Every real class name the catalogue knows, scriptable or not.
pub fn known_exception_names() -> impl Iterator<Item = &'static str> {
    AGENTS_SCRIPTABLE
        .iter()
        .copied()
        .chain(AGENTS_REJECTED.iter().map(|(n, _)| *n))
        .chain(OPENAI_STATUS.iter().map(|(n, _)| *n))
        .chain(OPENAI_MESSAGE.iter().copied())
        .chain(OPENAI_FIXED.iter().map(|(n, _)| *n))
        .chain(OPENAI_REJECTED.iter().map(|(n, _)| *n))
        .chain(BUILTINS.iter().copied())
}

/// A real class name that `name` is probably a misspelling of (same letters ignoring case and
/// `_`, British spelling, or one or two edits away).
fn near_miss(name: &str) -> Option<&'static str> {
    let folded = fold(name);
    known_exception_names().find(|real| {
        let real_folded = fold(real);
        real_folded == folded
            || real_folded == folded.replace("behaviour", "behavior")
            || (folded.len() > 6 && edit_distance(&folded, &real_folded) <= 2)
    })
}

fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_classes_resolve_to_their_origin() {
        let origin = |name| resolve_exception(name).unwrap().origin;
        assert_eq!(origin("ModelBehaviorError"), ExceptionOrigin::Agents);
        assert_eq!(origin("RateLimitError"), ExceptionOrigin::OpenAi);
        assert_eq!(origin("TimeoutError"), ExceptionOrigin::Builtin);
        assert_eq!(origin("ModelUnavailable"), ExceptionOrigin::Scripted);
        assert_eq!(
            resolve_exception("APITimeoutError").unwrap().fixed_message,
            Some("Request timed out.")
        );
    }

    #[test]
    fn unscriptable_real_classes_say_why() {
        let err = resolve_exception("InputGuardrailTripwireTriggered").unwrap_err();
        assert!(err.contains("tripwire = true"), "{err}");
        assert!(
            resolve_exception("KeyError")
                .unwrap_err()
                .contains("quotes")
        );
    }

    #[test]
    fn misspellings_of_real_classes_are_not_generic() {
        for name in [
            "ModelBehaviourError",
            "modelbehaviorerror",
            "RateLimitErorr",
        ] {
            let err = resolve_exception(name).unwrap_err();
            assert!(err.contains("looks like"), "{name}: {err}");
        }
        assert!(resolve_exception("Boom").is_ok());
        assert!(resolve_exception("UpstreamFlaky").is_ok());
    }
}
