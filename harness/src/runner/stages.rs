//! The stages of one cell, after the plan: the subject runs the scenario into raw records, the
//! normalizer turns them into a transcript, rendered as text (then `judge.rs` compares it). The
//! OTLP layer is one more stage of the same kind (`otlp.rs`): the subject's OTLP export,
//! normalized into an OTLP transcript.
//!
//! This is where the subjects meet the normalizer: `subject/` never imports `normalize/`.

use crate::errors::RunSubjectError;
use crate::normalize::normalize;
use crate::scenario::Scenario;
use crate::subject::SubjectKind;
use crate::workspace::Workspace;

impl SubjectKind {
    /// Runs `scenario` on this subject and renders its normalized transcript, if the subject
    /// supports the scenario ([`SubjectKind::supports`]).
    pub fn transcript(
        &self,
        workspace: &Workspace,
        scenario: &Scenario,
    ) -> Result<String, RunSubjectError> {
        self.supports(scenario)?;
        render(self, workspace, scenario)
    }
}

/// The transcript of a planned cell (the plan found the subject supports the scenario), or
/// the subject's error as its message.
pub(super) fn cell_transcript(
    subject: &SubjectKind,
    workspace: &Workspace,
    scenario: &Scenario,
) -> Result<String, String> {
    render(subject, workspace, scenario).map_err(|e| e.to_string())
}

fn render(
    subject: &SubjectKind,
    workspace: &Workspace,
    scenario: &Scenario,
) -> Result<String, RunSubjectError> {
    subject
        .run_supported(workspace, scenario)
        .map(|log| normalize(&log).to_string())
}
