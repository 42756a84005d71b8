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
    /// The file name is not valid UTF-8, so it cannot name a scenario.
    #[error("the file name is not valid UTF-8; rename the file (scenario names are UTF-8 text)")]
    NonUtf8Name,
    /// The file is larger than the limit.
    #[error(
        "the file is larger than the limit of {max_bytes} bytes for scenario files; split it into several scenarios"
    )]
    TooLarge {
        /// The limit (`scenario::limits::MAX_FILE_BYTES`).
        max_bytes: u64,
    },
    /// The file is not UTF-8 text.
    #[error("the file is not UTF-8 text (invalid byte at offset {offset}); save it as UTF-8")]
    NotUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The file is empty, or only whitespace.
    #[error(
        "the file is empty: a scenario starts with a `# description` line (e.g. `# One agent answers with text.`), then its tables `[run]`, `[[agents]]` and `[[model.steps]]` (see docs/scenarios.md)"
    )]
    Empty,
    /// The first line is not a `# description` comment.
    #[error(
        "the first line must be a comment saying what the scenario exercises, e.g. `# One agent answers with text.`"
    )]
    MissingDescription,
    /// Arrays or tables are nested deeper than the limit.
    #[error(
        "line {line}: arrays and tables are nested deeper than the limit of {max_depth} levels; flatten them"
    )]
    TooDeep {
        /// The 1-based line where the limit is exceeded.
        line: usize,
        /// The limit (`scenario::limits::MAX_DEPTH`).
        max_depth: usize,
    },
    /// The TOML did not parse into the scenario schema (with the line and the key).
    #[error("{0}")]
    Parse(ParseProblem),
    /// The scenario parsed but is inconsistent.
    #[error("{}", DisplayProblems(.0))]
    Invalid(Vec<Problem>),
}

/// Where and why the TOML parser stopped, with a bounded excerpt of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseProblem {
    /// `(line, column, excerpt, caret column in the excerpt, caret width)`, 1-based.
    pub location: Option<(usize, usize, String, usize, usize)>,
    /// The parser's message, long lines cut.
    pub message: String,
}

impl fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The layout of toml's own errors, which the scenario docs show.
        if let Some((line, column, excerpt, caret, width)) = &self.location {
            let gutter = " ".repeat(line.to_string().len());
            writeln!(f, "TOML parse error at line {line}, column {column}")?;
            writeln!(f, "{gutter} |")?;
            writeln!(f, "{line} | {excerpt}")?;
            writeln!(
                f,
                "{gutter} | {}{}",
                " ".repeat(caret - 1),
                "^".repeat(*width)
            )?;
        }
        write!(f, "{}", self.message)
    }
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
    /// A scenario file's name is not UTF-8.
    #[error("scenario file name is not valid UTF-8: {}; rename the file", path.display())]
    NonUtf8Name {
        /// The file (shown with replacement characters).
        path: PathBuf,
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

/// The OTLP layer's scenario list (`otlp-scenarios.toml`) cannot be used.
#[derive(Debug, Error)]
#[error("{shown}: {kind}")]
pub struct LoadOtlpScenariosError {
    /// The list's file, as shown in messages.
    pub shown: String,
    /// What is wrong with it.
    #[source]
    pub kind: LoadOtlpScenariosErrorKind,
}

/// What is wrong with the OTLP layer's scenario list.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoadOtlpScenariosErrorKind {
    /// The file could not be read.
    #[error("cannot read the OTLP scenario list: {0}")]
    Read(#[source] std::io::Error),
    /// The file is not `scenarios = ["name", …]`.
    #[error("not a scenario list (`scenarios = [\"name\", …]`): {0}")]
    Parse(#[source] toml::de::Error),
    /// A listed name is not a scenario.
    #[error("{0:?} is not a scenario in scenarios/: fix the name or remove it")]
    Unknown(String),
    /// A name is listed twice.
    #[error("{0:?} is listed twice: remove one")]
    Twice(String),
}

/// A `--subject` value names no subject.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseSubjectError {
    /// Not one of the built-in names, nor an exec subject.
    #[error(
        "unknown subject {name:?}; expected `python`, `rust`, `js`, `all`, `exec:CMD` or `exec-serve:CMD`"
    )]
    Unknown {
        /// The value as given.
        name: String,
    },
    /// Not `exec:CMD` nor `exec-serve:CMD`.
    #[error("{spec:?} is not exec:CMD or exec-serve:CMD")]
    NotExec {
        /// The value as given.
        spec: String,
    },
    /// `exec:` or `exec-serve:` without a command.
    #[error("{prefix} needs a command, e.g. {prefix}'node driver.js'")]
    NoCommand {
        /// `exec:` or `exec-serve:`.
        prefix: &'static str,
    },
}

/// A document on an exec adapter's stdin is not a scenario request of the protocol
/// (docs/exec-protocol.md).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReadRequestError {
    /// Not JSON at all.
    #[error("the scenario document is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// Another protocol (or none).
    #[error("the document's protocol is {found:?}; this adapter speaks {expected:?}")]
    Protocol {
        /// The document's `protocol`, if it has one.
        found: Option<String>,
        /// The protocol this adapter speaks.
        expected: &'static str,
    },
    /// No `scenario` object.
    #[error("the document has no `scenario` object")]
    NoScenario,
    /// The scenario lacks one of its text fields (`name`, `description`).
    #[error("the scenario has no `{0}` string")]
    MissingText(String),
    /// The scenario does not match the scenario schema.
    #[error("the scenario {name:?} does not match the scenario schema: {source}")]
    Schema {
        /// The scenario's name.
        name: String,
        /// The schema's complaint.
        #[source]
        source: serde_json::Error,
    },
}

/// A transcript checked against a golden, read-only, is not equal to it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CheckGoldenError {
    /// The golden exists but cannot be used.
    #[error(transparent)]
    Unreadable(#[from] ReadGoldenError),
    /// There is no golden.
    #[error("no golden at {shown}: record the python transcript first")]
    Missing {
        /// The golden, as shown in messages.
        shown: String,
    },
    /// The transcript differs from the golden.
    #[error("the {subject} transcript differs from {shown}{version_hint}:\n{diff}")]
    Differs {
        /// The subject whose transcript it is.
        subject: String,
        /// The golden, as shown in messages.
        shown: String,
        /// What the golden's metadata says about its versions (may be empty).
        version_hint: String,
        /// Unified diff from the golden to the transcript.
        diff: String,
    },
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

/// `parity matrix fix` cannot use the results of the run, or the matrix file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FixMatrixError {
    /// A scenario has no golden: its cells have no verdict.
    #[error("{scenario} has no golden yet: record the goldens first, then fix the matrix")]
    NoGolden {
        /// The scenario.
        scenario: String,
    },
    /// The python subject differs from its golden: the reference itself moved.
    #[error(
        "the python subject differs from its golden on {scenario}: the goldens are the reference, so re-record them (docs/runbook.md) before fixing the matrix"
    )]
    PythonDiffers {
        /// The first such scenario.
        scenario: String,
    },
    /// The matrix file is not TOML.
    #[error("{}: not valid TOML: {source}", path.display())]
    Toml {
        /// The matrix file.
        path: PathBuf,
        /// The parser's complaint.
        #[source]
        source: toml_edit::TomlError,
    },
    /// A cell of the matrix has no result: the run was filtered.
    #[error("no result for {scenario} / {subject}: fix needs a full run")]
    MissingResult {
        /// The scenario.
        scenario: String,
        /// The subject.
        subject: String,
    },
}

/// `coverage.toml` cannot be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoadCoverageError {
    /// The file could not be read.
    #[error("{}: cannot read the file: {source}", path.display())]
    Read {
        /// The file, as shown in messages.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("{}: {line}not valid TOML: {message}", path.display())]
    Toml {
        /// The file, as shown in messages.
        path: PathBuf,
        /// `line N: `, or empty when the parser does not say.
        line: String,
        /// The parser's message.
        message: String,
    },
    /// The file parsed, and these are its problems (each naming its line, behaviour and fix).
    #[error("{}:\n  {}", path.display(), problems.join("\n  "))]
    Problems {
        /// The file, as shown in messages.
        path: PathBuf,
        /// The problems, in file order.
        problems: Vec<String>,
    },
}

/// `parity-matrix.toml` cannot be used: every problem, each with its line and entry.
#[derive(Debug, Error)]
#[error("{}", DisplayMatrixProblems(self))]
pub struct LoadMatrixError {
    /// The matrix file.
    pub path: PathBuf,
    /// What is wrong, in file order.
    pub problems: Vec<MatrixProblem>,
}

/// One problem of the matrix file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixProblem {
    /// The 1-based line, where known.
    pub line: Option<usize>,
    /// The entry, e.g. `features."span.agent".rust`.
    pub entry: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

struct DisplayMatrixProblems<'a>(&'a LoadMatrixError);

impl fmt::Display for DisplayMatrixProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.0.path.display();
        for (i, problem) in self.0.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match problem.line {
                Some(line) => write!(f, "{path}:{line}: ")?,
                None => write!(f, "{path}: ")?,
            }
            if !problem.entry.is_empty() {
                write!(f, "`{}`: ", problem.entry)?;
            }
            write!(f, "{}", problem.message)?;
        }
        Ok(())
    }
}
