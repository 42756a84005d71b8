//! Guardrail spans, shared by input and output guardrails.

use serde_json::json;

use super::errors::RunAgentError;
use super::state::RunCore;
use crate::model::span_data::{GuardrailSpanData, JsonMap};
use crate::model::span_error::SpanError;
use crate::sdk::provider::TraceProvider;

/// Runs each guardrail inside its own `guardrail` span, current and under the current
/// span, in order (Python starts them as concurrent tasks that, not suspending, run one
/// after the other), and returns the first one that tripped.
pub(super) fn run_all<I, S>(
    provider: &TraceProvider,
    guardrails: I,
    mut check: impl FnMut(&str) -> bool,
) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut tripped = None;
    for name in guardrails {
        let name = name.as_ref();
        let span = provider.span(GuardrailSpanData::new(name));
        let _guard = span.start_as_current();
        let triggered = check(name);
        span.update(|data| data.triggered = triggered);
        if triggered && tripped.is_none() {
            tripped = Some(name.to_owned());
        }
    }
    tripped
}

/// [`run_all`] under the run's current span (the caller attaches the run's context). The
/// first tripped guardrail puts its tripwire error on the current span (Python's
/// `attach_error_to_current_span`) and returns the error `tripwire` makes of its name.
pub(super) fn run_under_current_span<I, S>(
    run: &RunCore,
    guardrails: I,
    check: impl FnMut(&str) -> bool,
    tripwire: fn(String) -> RunAgentError,
) -> Result<(), RunAgentError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    match run_all(run.provider(), guardrails, check) {
        Some(name) => {
            run.attach_error_to_current_span(tripwire_error(&name, None));
            Err(tripwire(name))
        }
        None => Ok(()),
    }
}

/// [`run_all`] as children of the current agent's span (a streamed run's input guardrails,
/// which Python runs in a task started outside the turn). The first tripped guardrail puts
/// its tripwire error, typed `input_guardrail`, on the agent span; its name is returned.
pub(super) fn run_under_agent_span<I, S>(
    run: &RunCore,
    guardrails: I,
    check: impl FnMut(&str) -> bool,
) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let agent_span = run.stint().span().clone();
    let under_agent = run.context().with_span(agent_span.clone().into_span());
    let tripped = under_agent.run(|| run_all(run.provider(), guardrails, check));
    if let Some(name) = &tripped {
        agent_span.set_error(tripwire_error(name, Some("input_guardrail")));
    }
    tripped
}

/// `Guardrail tripwire triggered` with `{"guardrail": name[, "type": kind]}`.
pub(super) fn tripwire_error(name: &str, kind: Option<&str>) -> SpanError {
    let mut data = JsonMap::new();
    data.insert("guardrail".into(), json!(name));
    if let Some(kind) = kind {
        data.insert("type".into(), json!(kind));
    }
    SpanError::new("Guardrail tripwire triggered").with_data(data)
}
