//! Subjects: implementations that run a scenario and produce a [`RawLog`](crate::record::RawLog).
//!
//! The set is closed, so dispatch is an enum ([`SubjectKind`]). A subject's only job is to produce
//! raw records in the common schema; the normalizer does everything else.

pub mod python;

use std::fmt;
use std::str::FromStr;

/// Which implementation runs a scenario.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SubjectKind {
    /// The Python client, embedded: the reference.
    Python,
}

impl SubjectKind {
    /// Every subject this workspace provides (what runs without `--subject`).
    pub fn all() -> Vec<SubjectKind> {
        vec![SubjectKind::Python]
    }

    /// The subject's name as written on the command line and in reports.
    pub fn name(&self) -> &str {
        match self {
            SubjectKind::Python => "python",
        }
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SubjectKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "python" => Ok(SubjectKind::Python),
            "rust" => Err("the rust subject is not available yet (it arrives with the codex-telemetry crate); use `python`".into()),
            other if other.starts_with("exec:") => Err("exec:CMD subjects are not available yet; use `python`".into()),
            other => Err(format!("unknown subject {other:?}; expected `python`")),
        }
    }
}
