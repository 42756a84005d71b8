//! [`ExecSubject`]: what the harness knows of an exec subject (its command, timeout and mode),
//! and how a finished command becomes the scenario's raw records or its error.

use std::time::Duration;

use crate::errors::{ParseSubjectError, RunSubjectError};
use crate::record::RawLog;
use crate::scenario::Scenario;
use crate::workspace::Workspace;

use super::process::{Ending, Finished, run_once};
use super::protocol::{DEFAULT_EXEC_TIMEOUT, EXEC_PROTOCOL, MAX_STDOUT_BYTES};
use super::serve::run_served;

/// An `exec:CMD` subject.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExecSubject {
    /// `exec:CMD`, as given (or a built-in driver's name): the subject's name in reports.
    name: String,
    /// What runs under `sh -c`.
    command: String,
    timeout: Duration,
    /// A built-in driver whose environment is installed on first use.
    builtin: Option<Builtin>,
    /// One process per scenario, or one serving many.
    mode: Mode,
}

/// How the command is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    /// `exec:CMD`: one process per scenario.
    OneShot,
    /// `exec-serve:CMD` and the js subject: a long-lived process answers scenario after
    /// scenario (docs/exec-protocol.md, "Serve mode").
    Serve,
}

/// Drivers that ship with the harness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Builtin {
    /// OpenAI's JS Agents SDK (`harness/js/parity_driver.mjs`).
    Js,
}

impl ExecSubject {
    /// The subject of `spec` (`exec:CMD`, or `exec-serve:CMD` for a driver that speaks the
    /// serve mode), or why it is not one.
    pub fn parse(spec: &str) -> Result<Self, ParseSubjectError> {
        let (prefix, mode, command) = if let Some(command) = spec.strip_prefix("exec:") {
            ("exec:", Mode::OneShot, command)
        } else if let Some(command) = spec.strip_prefix("exec-serve:") {
            ("exec-serve:", Mode::Serve, command)
        } else {
            return Err(ParseSubjectError::NotExec {
                spec: spec.to_owned(),
            });
        };
        if command.trim().is_empty() {
            return Err(ParseSubjectError::NoCommand { prefix });
        }
        Ok(Self {
            name: spec.to_owned(),
            command: command.to_owned(),
            timeout: DEFAULT_EXEC_TIMEOUT,
            builtin: None,
            mode,
        })
    }

    /// The js subject: the JS Agents SDK's driver over this protocol (`--subject js`).
    pub fn js() -> Self {
        Self {
            name: "js".into(),
            command:
                "PARITY_JS_MODULES=.parity/js/node_modules exec node harness/js/parity_driver.mjs"
                    .into(),
            timeout: DEFAULT_EXEC_TIMEOUT,
            builtin: Some(Builtin::Js),
            mode: Mode::Serve,
        }
    }

    /// Why this machine cannot run the subject at all (a built-in driver whose runtime is
    /// missing, e.g. the js subject without Node.js 20+), or `None`. Installs nothing.
    pub fn unavailable(&self) -> Option<String> {
        match self.builtin? {
            Builtin::Js => super::js_env::node().err().map(|e| e.to_string()),
        }
    }

    /// The same subject with a per-scenario timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `exec:CMD`, or the built-in driver's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command run under `sh -c`.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Runs `scenario` through the command and returns its raw records.
    pub fn run(
        &self,
        workspace: &Workspace,
        scenario: &Scenario,
    ) -> Result<RawLog, RunSubjectError> {
        let fail = |message: String| RunSubjectError {
            subject: self.name.clone(),
            scenario: scenario.name.clone(),
            message,
        };
        if self.builtin == Some(Builtin::Js) {
            prepare_js(workspace).map_err(fail)?;
        }
        let input = serde_json::json!({"protocol": EXEC_PROTOCOL, "scenario": scenario});
        let finished = match self.mode {
            Mode::OneShot => run_once(
                self.command(),
                workspace,
                input.to_string().into_bytes(),
                self.timeout,
            ),
            Mode::Serve => run_served(self.command(), workspace, &input.to_string(), self.timeout),
        }
        .map_err(|e| fail(e.to_string()))?;
        self.records(finished).map_err(fail)
    }

    /// The raw records a finished command wrote, or why there are none.
    fn records(&self, finished: Finished) -> Result<RawLog, String> {
        let stderr_note = stderr_note(&finished.stderr_tail);
        match finished.ending {
            Ending::Code(0) => {}
            Ending::Code(code) => {
                return Err(format!(
                    "the command exited with status {code}{stderr_note}"
                ));
            }
            Ending::Signal(signal) => {
                return Err(format!(
                    "the command was killed by signal {signal}{stderr_note}"
                ));
            }
            Ending::TimedOut => {
                return Err(format!(
                    "the command did not finish within {} s and was killed (raise --exec-timeout if it is only slow){stderr_note}",
                    self.timeout.as_secs_f64()
                ));
            }
            Ending::Overflow => {
                return Err(format!(
                    "the command wrote more than {} MiB on stdout and was killed{stderr_note}",
                    MAX_STDOUT_BYTES / (1024 * 1024)
                ));
            }
        }
        let text = String::from_utf8(finished.stdout).map_err(|e| {
            format!(
                "stdout is not UTF-8 (at byte {}){stderr_note}",
                e.utf8_error().valid_up_to()
            )
        })?;
        RawLog::from_json_lines(&text).map_err(|(line, error)| {
            let offending = text.lines().nth(line - 1).unwrap_or_default();
            format!(
                "stdout line {line} is not a raw record ({{\"seq\", \"kind\", \"data\"}}, DESIGN §4): {error}: {}{stderr_note}",
                quote(offending)
            )
        })
    }
}

/// The stderr tail as the end of an error message.
fn stderr_note(tail: &[u8]) -> String {
    let tail = String::from_utf8_lossy(tail);
    let tail = tail.trim_end();
    if tail.is_empty() {
        "; stderr was empty".into()
    } else {
        format!("; stderr ends with:\n{tail}")
    }
}

/// Installs the JS SDK on first use, once per process and workspace.
fn prepare_js(workspace: &Workspace) -> Result<(), String> {
    static READY: Ready = Ready::new();
    READY.once_for(workspace.root(), || {
        super::js_env::ensure(workspace, false)
            .map(drop)
            .map_err(|e| e.to_string())
    })
}

/// The workspaces whose environment is known ready in this process. Keyed by workspace: one
/// process may run several (the CLI tests run scratch copies beside the checkout), and a
/// copy's install says nothing about the checkout's (a shared flag once let the js driver
/// start on a checkout whose `npm ci` was still running).
struct Ready(std::sync::Mutex<std::collections::BTreeSet<std::path::PathBuf>>);

impl Ready {
    const fn new() -> Self {
        Self(std::sync::Mutex::new(std::collections::BTreeSet::new()))
    }

    /// Runs `prepare` unless it already succeeded for `root`; one preparation at a time.
    fn once_for(
        &self,
        root: &std::path::Path,
        prepare: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        let mut ready = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !ready.contains(root) {
            prepare()?;
            ready.insert(root.to_path_buf());
        }
        Ok(())
    }
}

/// A line as quoted in a message: at most 200 characters.
fn quote(line: &str) -> String {
    let mut quoted: String = line.chars().take(200).collect();
    if quoted.len() < line.len() {
        quoted.push('…');
    }
    format!("{quoted:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_a_command() {
        let exec = ExecSubject::parse("exec:node driver.js").unwrap();
        assert_eq!(ExecSubject::js().name(), "js");
        assert_eq!(
            (exec.name(), exec.command()),
            ("exec:node driver.js", "node driver.js")
        );
        assert!(
            ExecSubject::parse("exec:  ")
                .unwrap_err()
                .to_string()
                .contains("needs a command")
        );
        assert!(ExecSubject::parse("node").is_err());
    }

    #[test]
    fn an_environment_is_prepared_once_per_workspace() {
        let ready = Ready::new();
        let calls = std::cell::Cell::new(0);
        let prepare = || {
            calls.set(calls.get() + 1);
            Ok(())
        };
        for root in ["/a", "/b", "/a", "/b"] {
            ready.once_for(std::path::Path::new(root), prepare).unwrap();
        }
        assert_eq!(calls.get(), 2, "one preparation for each workspace");
        // A failed preparation is tried again.
        let failing = Ready::new();
        let root = std::path::Path::new("/c");
        assert!(failing.once_for(root, || Err("npm failed".into())).is_err());
        assert!(failing.once_for(root, prepare).is_ok());
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn quoted_lines_are_bounded() {
        assert_eq!(quote("garbage"), "\"garbage\"");
        let long = "x".repeat(500);
        assert_eq!(quote(&long).chars().count(), 200 + 3);
    }
}
