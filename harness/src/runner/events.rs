//! What the runner hands to the reporters: a [`ParityEvent`] for each cell as it starts and
//! finishes, and the [`RunReport`] of the finished run.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::matrix::FeatureVerdict;
use crate::result::{CellResult, Status};

/// What the runner reports while it works.
#[derive(Debug)]
pub enum ParityEvent<'a> {
    /// A cell is about to run.
    CellStarted {
        /// Scenario name.
        scenario: &'a str,
        /// Subject name.
        subject: &'a str,
    },
    /// A cell finished.
    CellFinished(&'a CellResult),
}

/// Everything a finished run knows, for the reports.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The reference client (`openai-agents` and its version, if the python subject started).
    pub python_client: ClientInfo,
    /// The normalizer version used.
    pub normalizer_version: u32,
    /// The subjects that ran.
    pub subjects: Vec<String>,
    /// One result per cell, in plan order.
    pub results: Vec<CellResult>,
    /// Counts per status.
    pub summary: BTreeMap<&'static str, usize>,
    /// Every (feature, subject) cell of the parity matrix against this run, when it was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matrix: Option<Vec<FeatureVerdict>>,
}

/// The Python client package and version.
#[derive(Debug, Clone, Serialize)]
pub struct ClientInfo {
    /// Package name.
    pub package: String,
    /// Installed version, or null when the Python environment could not start.
    pub version: Option<String>,
}

impl RunReport {
    /// How many cells ended with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.summary.get(status.as_str()).copied().unwrap_or(0)
    }

    /// The client version for display, `not started` when the python subject did not start.
    pub fn client_version_label(&self) -> &str {
        self.python_client
            .version
            .as_deref()
            .unwrap_or("not started")
    }

    /// Whether every cell passed (or deviates as declared, is a new golden candidate, or was
    /// skipped with a reason) and the matrix, if checked, agrees with the run.
    pub fn all_passed(&self) -> bool {
        self.results.iter().all(|r| {
            matches!(
                r.status,
                Status::Pass | Status::Deviation | Status::New | Status::Skipped
            )
        }) && self.matrix_problems().next().is_none()
    }

    /// The matrix cells that disagree with the run.
    pub fn matrix_problems(&self) -> impl Iterator<Item = &FeatureVerdict> {
        self.matrix.iter().flatten().filter(|v| !v.ok)
    }

    /// The counts as one phrase: `3 pass, 0 fail, 0 deviation, 0 error, 1 new`, with
    /// `, N skipped` when a subject was skipped.
    pub fn summary_counts(&self) -> String {
        Status::ALL
            .iter()
            .filter(|status| **status != Status::Skipped || self.count(**status) > 0)
            .map(|status| format!("{} {}", self.count(*status), status.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
