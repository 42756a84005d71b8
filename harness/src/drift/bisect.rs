//! `parity bisect`: the release at which each scenario's transcript changed.
//!
//! Every released version from `--from` to `--to` runs (the python subject only, each in a child
//! process with its own venv), keeping its transcripts; then, per scenario, consecutive releases
//! are compared. The answer is the first release whose transcript differs from the release
//! before it (with every later change listed too). It comes from running the releases, and it
//! does not depend on which end the goldens were recorded at: goldens are not consulted.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::versions::Version;
use crate::compare::{diff, first_difference};

/// One version's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct VersionOutcome {
    /// The version.
    pub version: String,
    /// Whether it ran; when not, why (failed to install, Python did not start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Pins that had to move for it.
    pub moved_pins: Vec<String>,
}

/// A change of one scenario's transcript between two consecutive releases that ran.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The release before.
    pub from: String,
    /// The release whose transcript differs: where the change happened.
    pub to: String,
    /// The path of the first difference.
    pub first_difference: String,
    /// The unified diff from `from` to `to`.
    pub diff: String,
}

/// One scenario's history over the range.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioHistory {
    /// The scenario.
    pub scenario: String,
    /// The first release whose transcript differs from the one before, if any.
    pub first_release: Option<String>,
    /// Every change, oldest first.
    pub changes: Vec<Change>,
}

/// The bisect report (`docs/drift.md`).
#[derive(Debug, Clone, Serialize)]
pub struct BisectReport {
    /// The package.
    pub package: String,
    /// The range, inclusive.
    pub from: String,
    /// The range, inclusive.
    pub to: String,
    /// The versions in the range, oldest first.
    pub versions: Vec<VersionOutcome>,
    /// Per scenario, by name.
    pub scenarios: Vec<ScenarioHistory>,
}

impl BisectReport {
    /// Whether any scenario changed in the range.
    pub fn changed(&self) -> bool {
        self.scenarios.iter().any(|s| s.first_release.is_some())
    }
}

/// The versions of `released` from `from` to `to`, inclusive, oldest first; `Err` names a bound
/// that is not a release.
pub(super) fn versions_between(
    released: &[Version],
    from: &Version,
    to: &Version,
) -> Result<Vec<Version>, String> {
    for bound in [from, to] {
        if !released.contains(bound) {
            return Err(format!(
                "{bound} is not a released version of {}",
                crate::subject::python::CLIENT_PACKAGE
            ));
        }
    }
    let (low, high) = if from <= to { (from, to) } else { (to, from) };
    Ok(released
        .iter()
        .filter(|v| *v >= low && *v <= high)
        .cloned()
        .collect())
}

/// Per scenario, its transcript for each version that ran, in version order: the contents of
/// `<dir>/python/<scenario>.txt` (or `.error`, a subject error, as `subject error: …`).
pub(super) fn read_transcripts(dir: &Path) -> BTreeMap<String, String> {
    let mut transcripts = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir.join("python")) else {
        return transcripts;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let (Some(stem), Some(ext)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let text = match ext {
            "txt" => text,
            "error" => format!("subject error: {text}"),
            _ => continue,
        };
        transcripts.insert(stem.to_owned(), text);
    }
    transcripts
}

/// The history of every scenario over `runs` (version, its transcripts), oldest first.
pub(super) fn histories(runs: &[(String, BTreeMap<String, String>)]) -> Vec<ScenarioHistory> {
    let mut scenarios: Vec<&String> = runs.iter().flat_map(|(_, t)| t.keys()).collect();
    scenarios.sort();
    scenarios.dedup();
    scenarios
        .into_iter()
        .map(|scenario| {
            let mut changes = Vec::new();
            let mut previous: Option<(&str, &str)> = None;
            for (version, transcripts) in runs {
                let Some(text) = transcripts.get(scenario) else {
                    continue;
                };
                if let Some((before_version, before)) = previous
                    && let Some(diff) = diff(before, before_version, text, version)
                {
                    changes.push(Change {
                        from: before_version.to_owned(),
                        to: version.clone(),
                        first_difference: first_difference(before, text)
                            .unwrap_or_else(|| "trailing whitespace".into()),
                        diff,
                    });
                }
                previous = Some((version.as_str(), text.as_str()));
            }
            ScenarioHistory {
                scenario: scenario.clone(),
                first_release: changes.first().map(|c| c.to.clone()),
                changes,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(version: &str, transcripts: &[(&str, &str)]) -> (String, BTreeMap<String, String>) {
        (
            version.to_owned(),
            transcripts
                .iter()
                .map(|(s, t)| (s.to_string(), t.to_string()))
                .collect(),
        )
    }

    #[test]
    fn the_first_changing_release_is_named_per_scenario() {
        let runs = vec![
            run(
                "0.22.0",
                &[("a", "normalizer: v3\nx\n"), ("b", "normalizer: v3\ny\n")],
            ),
            run(
                "0.22.1",
                &[("a", "normalizer: v3\nx\n"), ("b", "normalizer: v3\nY\n")],
            ),
            run(
                "0.23.1",
                &[("a", "normalizer: v3\nX\n"), ("b", "normalizer: v3\nY\n")],
            ),
            run(
                "0.24.0",
                &[("a", "normalizer: v3\nX\n"), ("b", "normalizer: v3\nZ\n")],
            ),
        ];
        let histories = histories(&runs);
        assert_eq!(histories[0].first_release.as_deref(), Some("0.23.1"));
        assert_eq!(histories[0].changes.len(), 1);
        assert_eq!(histories[1].first_release.as_deref(), Some("0.22.1"));
        assert_eq!(
            histories[1]
                .changes
                .iter()
                .map(|c| c.to.as_str())
                .collect::<Vec<_>>(),
            ["0.22.1", "0.24.0"]
        );
        assert!(histories[1].changes[0].diff.contains("-y\n+Y"));
        // The answer is the same whichever end would hold the goldens: it reads no golden.
        let again = super::histories(&runs);
        assert_eq!(
            again
                .iter()
                .map(|h| h.first_release.clone())
                .collect::<Vec<_>>(),
            histories
                .iter()
                .map(|h| h.first_release.clone())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_version_without_a_transcript_is_passed_over() {
        let runs = vec![
            run("0.22.0", &[("a", "x\n")]),
            run("0.22.1", &[]),
            run("0.22.2", &[("a", "x\n")]),
        ];
        assert_eq!(histories(&runs)[0].first_release, None);
    }

    #[test]
    fn the_range_is_inclusive_and_checked() {
        let released: Vec<Version> = ["0.21.1", "0.22.0", "0.22.3", "0.23.1", "0.24.0"]
            .iter()
            .map(|s| Version::parse(s).unwrap())
            .collect();
        let v = |s| Version::parse(s).unwrap();
        let between = versions_between(&released, &v("0.22.0"), &v("0.24.0")).unwrap();
        assert_eq!(
            between.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            ["0.22.0", "0.22.3", "0.23.1", "0.24.0"]
        );
        assert!(versions_between(&released, &v("0.22.5"), &v("0.24.0")).is_err());
    }
}
