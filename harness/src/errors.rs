//! Every error type of the harness, in one place.
//!
//! A divergence between transcripts is a verdict, never an `Err`: the types here are for things
//! that stop a scenario or the whole run (bad input files, a broken Python environment, a subject
//! that crashed). Messages are lowercase fragments that name the file, the field and the fix.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// A scenario file could not be loaded.
#[derive(Debug, Error)]
#[error("{}: {kind}", path.display())]
pub struct LoadScenarioError {
    /// The scenario file.
    pub path: PathBuf,
    /// What was wrong with it.
    #[source]
    pub kind: LoadScenarioErrorKind,
}

/// What was wrong with a scenario file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoadScenarioErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Read(#[source] std::io::Error),
    /// The first line is not a `# description` comment.
    #[error(
        "the first line must be a comment saying what the scenario exercises, e.g. `# One agent answers with text.`"
    )]
    MissingDescription,
    /// The TOML did not parse into the scenario schema (the message has the line and the key).
    #[error("{0}")]
    Parse(#[source] Box<toml::de::Error>),
    /// The scenario parsed but is inconsistent.
    #[error("{}", DisplayProblems(.0))]
    Invalid(Vec<Problem>),
}

/// One validation problem: the field path and what is expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted field path, e.g. `agents[0].tools[1]`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

struct DisplayProblems<'a>(&'a [Problem]);

impl fmt::Display for DisplayProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "field `{}`: {}", problem.field, problem.message)?;
        }
        Ok(())
    }
}

/// Scenario files could not be found or selected.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DiscoverScenariosError {
    /// The scenario directory could not be read.
    #[error("cannot read scenario directory {}: {source}", dir.display())]
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The directory has no `*.toml` files.
    #[error("no scenario files (*.toml) in {}", dir.display())]
    Empty {
        /// The directory.
        dir: PathBuf,
    },
    /// A `--scenario` filter is not a valid glob.
    #[error("--scenario {filter:?} is not a valid name or glob: {message}")]
    BadFilter {
        /// The filter as given.
        filter: String,
        /// The glob parser's message.
        message: String,
    },
    /// A `--scenario` filter matched no scenario.
    #[error("--scenario {filter:?} matches no scenario (known: {})", known.join(", "))]
    NoMatch {
        /// The filter as given.
        filter: String,
        /// The scenario names that exist.
        known: Vec<String>,
    },
}

/// The Python environment (virtualenv with the pinned client) could not be prepared or used.
#[derive(Debug, Error)]
#[error("python environment: {message}")]
pub struct PythonEnvError {
    /// What failed and how to fix it.
    pub message: String,
}

impl PythonEnvError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        PythonEnvError {
            message: message.into(),
        }
    }
}

/// A subject failed to produce a raw log for a scenario (not a divergence: a crash).
#[derive(Debug, Error)]
#[error("{subject} subject failed on scenario {scenario}: {message}")]
pub struct RunSubjectError {
    /// The subject's name, e.g. `python`.
    pub subject: String,
    /// The scenario's name.
    pub scenario: String,
    /// What failed, with the Python traceback where there is one.
    pub message: String,
}

/// A golden snapshot file exists but cannot be used.
#[derive(Debug, Error)]
#[error("{}: {message}", path.display())]
pub struct ReadGoldenError {
    /// The golden file.
    pub path: PathBuf,
    /// What is wrong and how to fix it.
    pub message: String,
}
