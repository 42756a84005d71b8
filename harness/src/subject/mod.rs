//! Subjects: implementations that run a scenario and produce a [`RawLog`](crate::record::RawLog).
//!
//! The set is closed, so dispatch is an enum ([`SubjectKind`]). A subject's only job is to produce
//! raw records in the common schema; the normalizer does everything else, and the runner joins
//! the two (`runner/stages.rs`: a subject's transcript, and its OTLP transcript).
//!
//! What a subject can run is declared, per scenario, before it runs ([`SubjectKind::supports`]):
//! the runner decides every cell once, when it plans.

pub mod exec;
pub mod python;
pub mod rust;

/// The js subject's environment, which lives with the exec subjects (kept at its old path).
pub use exec::js_env;

use std::fmt;
use std::str::FromStr;

use crate::errors::{ParseSubjectError, RunSubjectError};
use crate::record::RawLog;
use crate::scenario::Scenario;
use crate::workspace::Workspace;

/// Which implementation runs a scenario.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SubjectKind {
    /// The Python client, embedded: the reference.
    Python,
    /// `codex-telemetry`, in process: the implementation under test.
    Rust,
    /// Any other implementation, as a command speaking the exec protocol
    /// (docs/exec-protocol.md).
    Exec(exec::ExecSubject),
}

impl SubjectKind {
    /// Every subject that runs without `--subject` (and with `--subject all`), and every
    /// subject the parity matrix has a column for. The js subject among them runs only where
    /// Node.js does ([`SubjectKind::unavailable`]); elsewhere its cells are skipped.
    pub fn all() -> Vec<SubjectKind> {
        vec![
            SubjectKind::Python,
            SubjectKind::Rust,
            SubjectKind::Exec(exec::ExecSubject::js()),
        ]
    }

    /// The names of [`SubjectKind::all`]: the subjects `parity-matrix.toml` may name.
    pub fn matrix_subjects() -> Vec<String> {
        Self::all().iter().map(|s| s.name().to_owned()).collect()
    }

    /// Why this machine cannot run the subject at all (the js subject without a usable
    /// Node.js), or `None`. Cheap: it does not install anything.
    pub fn unavailable(&self) -> Option<String> {
        match self {
            SubjectKind::Exec(exec) => exec.unavailable(),
            SubjectKind::Python | SubjectKind::Rust => None,
        }
    }

    /// What this subject declares it cannot run, from the scenario alone: `Err` says what (the
    /// rust subject's capabilities); the python and exec subjects take every valid scenario
    /// (an exec driver says itself what it cannot build, when it runs).
    pub fn supports(&self, scenario: &Scenario) -> Result<(), RunSubjectError> {
        match self {
            SubjectKind::Rust => rust::RustSubject::new().supports(scenario),
            SubjectKind::Python | SubjectKind::Exec(_) => Ok(()),
        }
    }

    /// Runs `scenario` on this subject and returns its raw records, if the subject supports it
    /// ([`SubjectKind::supports`]).
    pub fn run(
        &self,
        workspace: &Workspace,
        scenario: &Scenario,
    ) -> Result<RawLog, RunSubjectError> {
        self.supports(scenario)?;
        self.run_supported(workspace, scenario)
    }

    /// [`SubjectKind::run`] for a scenario the subject was found to support (the runner's plan).
    pub(crate) fn run_supported(
        &self,
        workspace: &Workspace,
        scenario: &Scenario,
    ) -> Result<RawLog, RunSubjectError> {
        match self {
            SubjectKind::Python => python::PythonSubject::new(workspace.clone()).run(scenario),
            SubjectKind::Rust => rust::RustSubject::new().run_supported(scenario),
            SubjectKind::Exec(exec) => exec.run(workspace, scenario),
        }
    }

    /// Runs `scenario` with the subject's OTLP export sending to the OTLP/HTTP receiver at
    /// `endpoint`, and returns once the export is done. Only the python subject (the client's
    /// contrib instrumentation) and the rust subject (codex-telemetry's `otlp` feature) have
    /// one.
    pub fn run_otlp(
        &self,
        workspace: &Workspace,
        scenario: &Scenario,
        endpoint: &str,
    ) -> Result<(), RunSubjectError> {
        match self {
            SubjectKind::Python => python::PythonSubject::new(workspace.clone())
                .run_otlp(scenario, endpoint)
                .map(drop),
            SubjectKind::Rust => rust::RustSubject::new().run_otlp(scenario, endpoint),
            SubjectKind::Exec(_) => Err(RunSubjectError {
                subject: self.name().to_owned(),
                scenario: scenario.name.clone(),
                message: "the OTLP layer runs the python and rust subjects only (an exec subject has no OTLP export to compare)".into(),
            }),
        }
    }

    /// The subject's name as written on the command line and in reports.
    pub fn name(&self) -> &str {
        match self {
            SubjectKind::Python => "python",
            SubjectKind::Rust => "rust",
            SubjectKind::Exec(exec) => exec.name(),
        }
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SubjectKind {
    type Err = ParseSubjectError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "python" => Ok(SubjectKind::Python),
            "rust" => Ok(SubjectKind::Rust),
            "js" => Ok(SubjectKind::Exec(exec::ExecSubject::js())),
            other if other.starts_with("exec:") || other.starts_with("exec-serve:") => {
                exec::ExecSubject::parse(other).map(SubjectKind::Exec)
            }
            other => Err(ParseSubjectError::Unknown {
                name: other.to_owned(),
            }),
        }
    }
}
