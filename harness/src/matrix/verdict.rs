//! Checking results against the matrix, like the protobuf conformance suite's failure lists.
//!
//! Per (scenario, subject) cell, as it finishes ([`judge_cell`]):
//! * a failure whose difference is pinned by a `deviates`/`unsupported` entry of a feature of
//!   that scenario becomes a `deviation`;
//! * a failure pinned with another fingerprint stays a failure, saying so: a second, new
//!   divergence cannot hide behind a known one;
//! * a pass that an entry still pins is a failure: the entry is stale and must go.
//!
//! Per (feature, subject), after the run ([`feature_verdicts`]): what the feature's scenarios
//! say, against what the file declares.

use serde::Serialize;

use super::model::{Declared, Matrix};
use crate::result::{CellResult, Status};

/// The fingerprint of a cell's difference: FNV-1a (64 bit, stable across Rust versions and
/// platforms, unlike `std`'s hasher) over the diff's changed lines, or over an error's message.
/// Hunk positions are left out, so an unrelated change elsewhere in the golden keeps it.
pub fn fingerprint(result: &CellResult) -> Option<String> {
    let text = match (&result.status, &result.diff) {
        (Status::Fail, Some(diff)) => diff
            .lines()
            .filter(|l| {
                (l.starts_with('-') || l.starts_with('+'))
                    && !l.starts_with("---")
                    && !l.starts_with("+++")
            })
            .collect::<Vec<_>>()
            .join("\n"),
        (Status::Fail | Status::Error, _) => result.message.clone(),
        _ => return None,
    };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    Some(format!("{hash:016x}"))
}

/// Applies the matrix to one finished cell (see the module docs).
pub fn judge_cell(matrix: &Matrix, result: &mut CellResult) {
    let file = matrix.path.display().to_string();
    // The entries that pin this (scenario, subject).
    let pinned: Vec<(&str, Declared, Option<&str>, &str, usize)> = matrix
        .features_of(&result.scenario)
        .filter_map(|feature| {
            let cell = feature.cells.get(&result.subject)?;
            let fp = cell.fingerprints.get(&result.scenario)?;
            Some((
                feature.id.as_str(),
                cell.declared,
                cell.reason.as_deref(),
                fp.as_str(),
                cell.line,
            ))
        })
        .collect();
    if pinned.is_empty() {
        return;
    }
    match result.status {
        Status::Pass => {
            let entries: Vec<String> = pinned
                .iter()
                .map(|(feature, declared, _, _, line)| {
                    format!(
                        "{file}:{line} ({feature}: {} {})",
                        result.subject,
                        declared.as_str()
                    )
                })
                .collect();
            result.status = Status::Fail;
            result.message = format!(
                "stale matrix entry: {} now matches, but {} still pins a deviation on {}; remove the entry (or run `parity matrix fix`)",
                result.subject,
                entries.join(", "),
                result.scenario
            );
        }
        Status::Fail | Status::Error => {
            let Some(actual) = fingerprint(result) else {
                return;
            };
            if let Some((feature, declared, reason, _, _)) =
                pinned.iter().find(|(_, _, _, fp, _)| *fp == actual)
            {
                result.status = Status::Deviation;
                result.message = format!(
                    "declared in {file}: {feature}: {} {} ({}); {}",
                    result.subject,
                    declared.as_str(),
                    reason.unwrap_or_default(),
                    result.message
                );
            } else {
                let (feature, _, _, expected, line) = pinned[0];
                result.message = format!(
                    "{}; {file}:{line} pins a deviation of {feature} here with fingerprint {expected}, but this difference has fingerprint {actual}: a new divergence, not the known one",
                    result.message
                );
            }
        }
        Status::Deviation | Status::New | Status::Skipped => {}
    }
}

/// What a (feature, subject) cell's scenarios showed in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every scenario passed.
    Match,
    /// Every scenario passed or deviates as declared.
    Deviation,
    /// A scenario failed or errored.
    Fail,
    /// A scenario has no golden yet.
    New,
    /// None of the feature's scenarios ran (a filtered run).
    NotRun,
    /// The subject was skipped on this machine (its cells say why).
    Skipped,
    /// A feature of this subject only.
    Extension,
}

/// The verdict of one (feature, subject) cell.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureVerdict {
    /// The feature id.
    pub feature: String,
    /// The subject.
    pub subject: String,
    /// What the file declares.
    pub declared: &'static str,
    /// What the run showed.
    pub verdict: Verdict,
    /// Whether the two agree.
    pub ok: bool,
    /// Why not, when they disagree.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Every (feature, subject) cell of the matrix against the results of a run.
pub fn feature_verdicts(matrix: &Matrix, results: &[CellResult]) -> Vec<FeatureVerdict> {
    let mut verdicts = Vec::new();
    for feature in &matrix.features {
        for (subject, cell) in &feature.cells {
            let (skipped, cells): (Vec<&CellResult>, Vec<&CellResult>) = results
                .iter()
                .filter(|r| &r.subject == subject && feature.scenarios.contains(&r.scenario))
                .partition(|r| r.status == Status::Skipped);
            let status_of = |status: Status| cells.iter().filter(move |r| r.status == status);
            let verdict = if cell.declared == Declared::Extension {
                Verdict::Extension
            } else if cells.is_empty() && !skipped.is_empty() {
                Verdict::Skipped
            } else if cells.is_empty() {
                Verdict::NotRun
            } else if status_of(Status::Fail).count() + status_of(Status::Error).count() > 0 {
                Verdict::Fail
            } else if status_of(Status::Deviation).count() > 0 {
                Verdict::Deviation
            } else if status_of(Status::New).count() > 0 {
                Verdict::New
            } else {
                Verdict::Match
            };
            let mut message = String::new();
            let ok = match (cell.declared, verdict) {
                (_, Verdict::NotRun | Verdict::Skipped | Verdict::Extension | Verdict::New) => true,
                (_, Verdict::Fail) => {
                    let failed: Vec<&str> = cells
                        .iter()
                        .filter(|r| matches!(r.status, Status::Fail | Status::Error))
                        .map(|r| r.scenario.as_str())
                        .collect();
                    message = format!("failing: {}", failed.join(", "));
                    false
                }
                (Declared::Match, Verdict::Match) => true,
                (Declared::Match, _) => {
                    let deviating: Vec<&str> = status_of(Status::Deviation)
                        .map(|r| r.scenario.as_str())
                        .collect();
                    message = format!(
                        "declared match, but {} deviate(s) as another feature declares; declare this feature's deviation too (`parity matrix fix`)",
                        deviating.join(", ")
                    );
                    false
                }
                (Declared::Deviates | Declared::Unsupported, Verdict::Deviation) => true,
                (Declared::Deviates | Declared::Unsupported, _) => {
                    message = format!(
                        "declared {}, but every scenario matches: set it to \"match\"",
                        cell.declared.as_str()
                    );
                    false
                }
                (Declared::Extension, _) => true,
            };
            verdicts.push(FeatureVerdict {
                feature: feature.id.clone(),
                subject: subject.clone(),
                declared: cell.declared.as_str(),
                verdict,
                ok,
                message,
            });
        }
    }
    verdicts
}
