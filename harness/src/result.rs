//! The result model: the verdict of one (scenario, subject) cell ([`Status`]) and everything a
//! report says about it ([`CellResult`]).
//!
//! Plain data, below the runner that produces results and the matrix and drift checks that read
//! them; the runner re-exports both, so `parity::runner::{CellResult, Status}` keeps working.

use serde::{Deserialize, Serialize};

/// The verdict of one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The transcript equals the reference.
    Pass,
    /// The transcript differs from the reference.
    Fail,
    /// The transcript differs in a way the parity matrix declares.
    Deviation,
    /// No verdict: the subject crashed, or the golden is unreadable.
    Error,
    /// No golden yet: the python transcript is a new golden candidate.
    New,
    /// Not run: a subject of the default set that this machine cannot run (the js subject
    /// without Node.js); the message says why. Never counted as a pass.
    Skipped,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 6] = [
        Status::Pass,
        Status::Fail,
        Status::Deviation,
        Status::Error,
        Status::New,
        Status::Skipped,
    ];

    /// Lowercase name, as in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Deviation => "deviation",
            Status::Error => "error",
            Status::New => "new",
            Status::Skipped => "skipped",
        }
    }
}

/// The result of one (scenario, subject) cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellResult {
    /// Scenario name.
    pub scenario: String,
    /// Subject name.
    pub subject: String,
    /// Verdict.
    pub status: Status,
    /// The golden compared with (workspace-relative), or, for `new`, where it goes; null when
    /// there is none.
    #[serde(default)]
    pub golden: Option<String>,
    /// One-paragraph explanation (empty for a pass).
    pub message: String,
    /// For failures: the path of the first differing span, field or log line, e.g.
    /// `trace#1 > span#3 (turn) > span#5 (function) > output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<String>,
    /// For failures and errors: the fingerprint that pins this difference in
    /// `parity-matrix.toml` (`fingerprints = { <scenario> = "…" }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Unified diff from the reference to this subject's transcript, for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}
