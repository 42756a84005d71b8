//! The OTLP parity layer (docs/otlp.md): for a scenario, each subject exports its spans over
//! OTLP/HTTP to a loopback receiver of its own — the python subject through the contrib
//! instrumentation of the client, the rust subject through codex-telemetry's `otlp` feature —
//! and what arrived is normalized into an OTLP transcript
//! ([`normalize_otlp`](crate::normalize::normalize_otlp)), compared with
//! `golden/otlp/<scenario>.snap` and across subjects.
//!
//! The scenarios of the layer are listed in `otlp-scenarios.toml` ([`OtlpScenarios`]).
//!
//! A stage of the runner, beside the transcript stage (`stages.rs`): the subject's own OTLP
//! export runs through [`SubjectKind::run_otlp`] (the one dispatch over subjects), and the
//! stage owns only the receiver and the normalization. Re-exported as `parity::otlp`.

use std::collections::BTreeSet;
use std::path::Path;

use codex_telemetry::otel::receiver::{Behaviour, LoopbackReceiver};

use crate::errors::{LoadOtlpScenariosError, LoadOtlpScenariosErrorKind, RunSubjectError};
use crate::normalize::normalize_otlp;
use crate::scenario::Scenario;
use crate::subject::SubjectKind;
use crate::workspace::Workspace;

/// The scenarios of the OTLP layer, from `otlp-scenarios.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpScenarios {
    /// Scenario names, sorted.
    pub names: BTreeSet<String>,
}

impl OtlpScenarios {
    /// Reads `path`, checking every name against `known` scenarios. Errors name the file, the
    /// entry and the fix.
    pub fn load(
        path: &Path,
        shown_as: &str,
        known: &BTreeSet<String>,
    ) -> Result<Self, LoadOtlpScenariosError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            scenarios: Vec<String>,
        }
        let fail = |kind| LoadOtlpScenariosError {
            shown: shown_as.to_owned(),
            kind,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| fail(LoadOtlpScenariosErrorKind::Read(e)))?;
        let file: File =
            toml::from_str(&text).map_err(|e| fail(LoadOtlpScenariosErrorKind::Parse(e)))?;
        let mut names = BTreeSet::new();
        for name in file.scenarios {
            if !known.contains(&name) {
                return Err(fail(LoadOtlpScenariosErrorKind::Unknown(name)));
            }
            if !names.insert(name.clone()) {
                return Err(fail(LoadOtlpScenariosErrorKind::Twice(name)));
            }
        }
        Ok(Self { names })
    }
}

/// Runs `scenario` on `subject` with its OTLP export and returns the OTLP transcript.
pub fn otlp_transcript(
    subject: &SubjectKind,
    workspace: &Workspace,
    scenario: &Scenario,
) -> Result<String, RunSubjectError> {
    let fail = |message: String| RunSubjectError {
        subject: subject.name().to_owned(),
        scenario: scenario.name.clone(),
        message,
    };
    let receiver = LoopbackReceiver::http(Behaviour::Accept)
        .map_err(|e| fail(format!("cannot start the loopback OTLP receiver: {e}")))?;
    subject.run_otlp(workspace, scenario, &receiver.endpoint())?;
    if receiver.overflow() > 0 {
        return Err(fail(format!(
            "the scenario sent more than {} OTLP requests",
            codex_telemetry::otel::receiver::MAX_REQUESTS
        )));
    }
    // Both subjects return once their export is done (python exports each span as it ends;
    // rust shuts its export down), so everything has arrived.
    Ok(normalize_otlp(&receiver.requests()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<OtlpScenarios, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otlp-scenarios.toml");
        std::fs::write(&path, text).unwrap();
        let known = BTreeSet::from(["tool_call".to_owned(), "handoff".to_owned()]);
        OtlpScenarios::load(&path, "otlp-scenarios.toml", &known).map_err(|e| e.to_string())
    }

    #[test]
    fn lists_name_known_scenarios_once() {
        let list = load("scenarios = [\"tool_call\", \"handoff\"]").unwrap();
        assert_eq!(list.names.len(), 2);
        let error = load("scenarios = [\"tool_cal\"]").unwrap_err();
        assert!(
            error.contains("otlp-scenarios.toml: \"tool_cal\" is not a scenario in scenarios/"),
            "{error}"
        );
        let error = load("scenarios = [\"handoff\", \"handoff\"]").unwrap_err();
        assert!(error.contains("\"handoff\" is listed twice"), "{error}");
        let error = load("scenario = []").unwrap_err();
        assert!(error.contains("not a scenario list"), "{error}");
    }
}
