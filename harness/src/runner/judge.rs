//! The verdict of one cell: its transcript against the golden, or, without a golden, against the
//! python subject's; a new golden candidate recorded as the plan's [`GoldenStore`] says (a
//! pending `.snap.new`, the golden itself on `--accept-new`, or nothing in CI).

use std::cell::OnceCell;

use crate::compare::golden::{Golden, GoldenInfo, GoldenStore, NewGoldens, read_golden};
use crate::compare::{diff, first_difference};
use crate::errors::ReadGoldenError;
use crate::matrix::{Matrix, fingerprint, judge_cell};
use crate::result::{CellResult, Status};
use crate::scenario::Scenario;
use crate::subject::SubjectKind;
use crate::subject::python::{CLIENT_PACKAGE, PythonSubject};
use crate::workspace::Workspace;

/// The verdict of one cell whose transcript is already known, against its golden only (never
/// the python subject), with the matrix applied: what the golden tests check per trial.
pub fn verdict_against_golden(
    scenario: &Scenario,
    subject: &SubjectKind,
    transcript: Result<String, String>,
    golden_path: &std::path::Path,
    golden_shown: &str,
    matrix: Option<&Matrix>,
) -> CellResult {
    let golden = read_golden(golden_path);
    let no_reference = || Err("no golden: record the python transcript first".to_owned());
    let mut result = judge(
        scenario,
        subject,
        transcript,
        &golden,
        golden_shown,
        &no_reference,
    );
    if let Some(matrix) = matrix {
        judge_cell(matrix, &mut result);
    }
    result
}

/// The verdict of one cell: the subject's transcript against the golden or, when there is none
/// and the subject is not python, against the python transcript (computed only then).
pub(super) fn judge(
    scenario: &Scenario,
    subject: &SubjectKind,
    transcript: Result<String, String>,
    golden: &Result<Option<Golden>, ReadGoldenError>,
    golden_shown: &str,
    python_transcript: &dyn Fn() -> Result<String, String>,
) -> CellResult {
    let cell = |status, golden: Option<&str>, message: String, difference: Option<Difference>| {
        let (first_difference, diff) = match difference {
            Some(d) => (Some(d.path), Some(d.diff)),
            None => (None, None),
        };
        let mut result = CellResult {
            scenario: scenario.name.clone(),
            subject: subject.name().to_owned(),
            status,
            golden: golden.map(str::to_owned),
            message,
            first_difference,
            fingerprint: None,
            diff,
        };
        result.fingerprint = fingerprint(&result);
        result
    };
    let transcript = match transcript {
        Ok(transcript) => transcript,
        Err(message) => return cell(Status::Error, None, message, None),
    };
    match golden {
        Err(error) => cell(Status::Error, Some(golden_shown), error.to_string(), None),
        Ok(Some(golden)) => match compare(&golden.body, golden_shown, &transcript, subject) {
            None => cell(Status::Pass, Some(golden_shown), String::new(), None),
            Some(diff) => cell(
                Status::Fail,
                Some(golden_shown),
                format!(
                    "the {subject} transcript differs from {golden_shown}{}",
                    golden.version_hint()
                ),
                Some(diff),
            ),
        },
        Ok(None) if *subject == SubjectKind::Python => cell(
            Status::New,
            Some(golden_shown),
            format!("no golden yet: the python transcript is a new golden for {golden_shown}"),
            None,
        ),
        Ok(None) => match python_transcript() {
            Err(message) => cell(
                Status::Error,
                None,
                format!(
                    "no golden yet at {golden_shown}, and the python subject (the reference without one) failed: {message}"
                ),
                None,
            ),
            Ok(python) => match compare(&python, "python", &transcript, subject) {
                None => cell(
                    Status::Pass,
                    None,
                    format!("no golden yet at {golden_shown}: compared with the python subject"),
                    None,
                ),
                Some(diff) => cell(
                    Status::Fail,
                    None,
                    format!(
                        "no golden yet at {golden_shown}: the {subject} transcript differs from the python subject's"
                    ),
                    Some(diff),
                ),
            },
        },
    }
}

/// Writes a cell's transcript (or why there is none) under `dir`.
pub(super) fn keep_transcript(
    dir: &std::path::Path,
    subject: &SubjectKind,
    scenario: &Scenario,
    transcript: &Result<String, String>,
) -> std::io::Result<()> {
    let dir = dir.join(subject.name());
    std::fs::create_dir_all(&dir)?;
    match transcript {
        Ok(text) => std::fs::write(dir.join(format!("{}.txt", scenario.name)), text),
        Err(reason) => std::fs::write(dir.join(format!("{}.error", scenario.name)), reason),
    }
}

/// How a transcript differs from its reference.
struct Difference {
    diff: String,
    path: String,
}

fn compare(
    reference: &str,
    reference_label: &str,
    transcript: &str,
    subject: &SubjectKind,
) -> Option<Difference> {
    let diff = diff(reference, reference_label, transcript, subject.name())?;
    let path =
        first_difference(reference, transcript).unwrap_or_else(|| "trailing whitespace".into());
    Some(Difference { diff, path })
}

/// Records a new golden candidate (`result` is the python cell's `new` verdict) and says in its
/// message what was written and how to accept it.
pub(super) fn record_new(
    workspace: &Workspace,
    goldens: &GoldenStore,
    scenario: &Scenario,
    mut result: CellResult,
    python: &OnceCell<Result<String, String>>,
) -> CellResult {
    let Some(Ok(transcript)) = python.get() else {
        return result;
    };
    let info = GoldenInfo {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        client: CLIENT_PACKAGE.into(),
        client_version: PythonSubject::started_client_version().unwrap_or_default(),
        normalizer_version: crate::normalize::NORMALIZER_VERSION,
    };
    let shown = result.golden.clone().unwrap_or_default();
    match goldens.record_new(&info, transcript) {
        Ok(Some(_)) if goldens.new_goldens() == NewGoldens::Accept => {
            result.message = format!("no golden yet: recorded the python transcript as {shown}");
        }
        Ok(Some(path)) => {
            // cargo-insta finds pending snapshots only inside the workspace's packages.
            let review = if goldens.dir() == workspace.golden_dir() {
                "review it with `cargo insta review`, or run again with --accept-new"
            } else {
                "read it, then record it with --accept-new"
            };
            result.message = format!(
                "no golden yet: the python transcript is pending in {}; {review}",
                workspace.display(&path)
            );
        }
        Ok(None) => {
            result.message = format!(
                "no golden yet at {shown} (CI is set, so nothing was written); record it locally with --accept-new, review it and commit it"
            );
        }
        Err(e) => {
            result.status = Status::Error;
            result.message = format!("no golden yet at {shown}, and recording it failed: {e}");
        }
    }
    result
}
