//! `parity drift`: one client version against the goldens (recorded with the pinned version) and
//! the rust subject against the same goldens, classified per scenario.

use serde::Serialize;

use super::client::MovedPin;
use super::versions::Version;
use crate::result::{CellResult, Status};

/// What changed for one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// The client and rust both equal the golden.
    Clean,
    /// The client differs from the golden: Python changed.
    UpstreamDrift,
    /// Rust differs from the golden (and the matrix does not declare it).
    ParityBreak,
    /// Both.
    Both,
    /// No verdict: a subject could not run the scenario.
    Error,
}

impl Classification {
    /// As written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Clean => "clean",
            Classification::UpstreamDrift => "upstream drift",
            Classification::ParityBreak => "parity break",
            Classification::Both => "both",
            Classification::Error => "error",
        }
    }
}

/// One scenario's drift.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioDrift {
    /// The scenario.
    pub scenario: String,
    /// The classification.
    pub classification: Classification,
    /// The python cell's status against the golden.
    pub python: Status,
    /// The rust cell's status against the golden.
    pub rust: Status,
    /// Where the first difference is (python's, else rust's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<String>,
    /// The release that introduced it, when bisected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_release: Option<String>,
    /// Why, for errors and failures.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The diff of the first difference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// A drift run's report (`docs/drift.md`).
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    /// The package.
    pub package: String,
    /// The version the goldens were recorded with.
    pub pinned_version: String,
    /// The version run.
    pub client_version: String,
    /// Project pins that had to move for that version.
    pub moved_pins: Vec<MovedPin>,
    /// The normalizer version.
    pub normalizer_version: u32,
    /// One entry per scenario, by name.
    pub scenarios: Vec<ScenarioDrift>,
    /// Counts per classification.
    pub summary: std::collections::BTreeMap<&'static str, usize>,
}

impl DriftReport {
    /// Classifies `results` (python and rust cells of one child run).
    pub fn new(
        pinned: &Version,
        client: &Version,
        moved_pins: Vec<MovedPin>,
        results: &[CellResult],
    ) -> DriftReport {
        let mut scenarios: Vec<String> = results.iter().map(|r| r.scenario.clone()).collect();
        scenarios.sort();
        scenarios.dedup();
        let cell = |scenario: &str, subject: &str| {
            results
                .iter()
                .find(|r| r.scenario == scenario && r.subject == subject)
        };
        let drift: Vec<ScenarioDrift> = scenarios
            .iter()
            .map(|scenario| {
                let python = cell(scenario, "python");
                let rust = cell(scenario, "rust");
                let status = |c: Option<&CellResult>| c.map_or(Status::Error, |c| c.status);
                let (p, r) = (status(python), status(rust));
                let drifted = p == Status::Fail;
                let broken = matches!(r, Status::Fail | Status::Error);
                let classification = match (p, drifted, broken) {
                    (Status::Error | Status::New, _, _) => Classification::Error,
                    (_, true, true) => Classification::Both,
                    (_, true, false) => Classification::UpstreamDrift,
                    (_, false, true) => Classification::ParityBreak,
                    _ => Classification::Clean,
                };
                let shown = if drifted || p == Status::Error {
                    python
                } else {
                    rust
                };
                let (first_difference, message, diff) = match (classification, shown) {
                    (Classification::Clean, _) | (_, None) => (None, String::new(), None),
                    (_, Some(c)) => (
                        c.first_difference.clone(),
                        c.message.clone(),
                        c.diff.clone(),
                    ),
                };
                ScenarioDrift {
                    scenario: scenario.clone(),
                    classification,
                    python: p,
                    rust: r,
                    first_difference,
                    first_release: None,
                    message,
                    diff,
                }
            })
            .collect();
        let mut summary = std::collections::BTreeMap::new();
        for class in [
            Classification::Clean,
            Classification::UpstreamDrift,
            Classification::ParityBreak,
            Classification::Both,
            Classification::Error,
        ] {
            summary.insert(
                class.as_str(),
                drift.iter().filter(|d| d.classification == class).count(),
            );
        }
        DriftReport {
            package: crate::subject::python::CLIENT_PACKAGE.into(),
            pinned_version: pinned.to_string(),
            client_version: client.to_string(),
            moved_pins,
            normalizer_version: crate::normalize::NORMALIZER_VERSION,
            scenarios: drift,
            summary,
        }
    }

    /// Whether every scenario is clean.
    pub fn is_clean(&self) -> bool {
        self.scenarios
            .iter()
            .all(|s| s.classification == Classification::Clean)
    }

    /// Whether rust broke parity anywhere.
    pub fn has_parity_break(&self) -> bool {
        self.scenarios.iter().any(|s| {
            matches!(
                s.classification,
                Classification::ParityBreak | Classification::Both
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(scenario: &str, subject: &str, status: Status) -> CellResult {
        CellResult {
            scenario: scenario.into(),
            subject: subject.into(),
            status,
            golden: None,
            message: String::new(),
            first_difference: (status == Status::Fail).then(|| format!("{subject} path")),
            fingerprint: None,
            diff: None,
        }
    }

    #[test]
    fn each_scenario_is_classified_from_both_subjects() {
        let v = |s| Version::parse(s).unwrap();
        let results = vec![
            cell("a", "python", Status::Pass),
            cell("a", "rust", Status::Pass),
            cell("b", "python", Status::Fail),
            cell("b", "rust", Status::Pass),
            cell("c", "python", Status::Pass),
            cell("c", "rust", Status::Fail),
            cell("d", "python", Status::Fail),
            cell("d", "rust", Status::Fail),
            cell("e", "python", Status::Error),
            cell("e", "rust", Status::Deviation),
        ];
        let report = DriftReport::new(&v("0.24.0"), &v("0.22.0"), vec![], &results);
        let classes: Vec<(&str, &str)> = report
            .scenarios
            .iter()
            .map(|s| (s.scenario.as_str(), s.classification.as_str()))
            .collect();
        assert_eq!(
            classes,
            [
                ("a", "clean"),
                ("b", "upstream drift"),
                ("c", "parity break"),
                ("d", "both"),
                ("e", "error")
            ]
        );
        assert_eq!(
            report.scenarios[1].first_difference.as_deref(),
            Some("python path")
        );
        assert_eq!(
            report.scenarios[2].first_difference.as_deref(),
            Some("rust path")
        );
        assert!(!report.is_clean() && report.has_parity_break());
    }
}
