//! `exec:CMD` subjects: any implementation that reads a scenario and writes raw records
//! (docs/exec-protocol.md). The command runs under `sh -c` in the workspace root, in a process
//! group of its own; it gets one JSON document on stdin (`{"protocol": "parity-exec/1",
//! "scenario": …}`) and writes DESIGN §4 raw records as JSON lines on stdout; stderr is kept
//! (its tail) for the report. A crash, a non-zero exit, a hang past the timeout, output that is
//! not raw records, or more output than the bounds allow is an error for that scenario, quoting
//! the offending line and the stderr tail.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::errors::RunSubjectError;
use crate::record::RawLog;
use crate::scenario::Scenario;
use crate::workspace::Workspace;

/// The protocol version the command is given (and documented in docs/exec-protocol.md).
pub const EXEC_PROTOCOL: &str = "parity-exec/1";
/// How long one scenario may take by default (`--exec-timeout` changes it).
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(60);
/// The most stdout a scenario may produce.
pub const MAX_STDOUT_BYTES: usize = 64 * 1024 * 1024;
/// How much of stderr the report keeps (the end of it).
pub const STDERR_TAIL_BYTES: usize = 4096;
/// How long the pipes may stay open after the command exited or was killed.
const PIPE_GRACE: Duration = Duration::from_secs(2);

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
}

/// Drivers that ship with the harness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Builtin {
    /// OpenAI's JS Agents SDK (`harness/js/parity_driver.mjs`).
    Js,
}

impl ExecSubject {
    /// The subject of `spec` (`exec:CMD`), or why it is not one.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let command = spec
            .strip_prefix("exec:")
            .ok_or_else(|| format!("{spec:?} is not exec:CMD"))?;
        if command.trim().is_empty() {
            return Err("exec: needs a command, e.g. exec:'node driver.js'".into());
        }
        Ok(Self {
            name: spec.to_owned(),
            command: command.to_owned(),
            timeout: DEFAULT_EXEC_TIMEOUT,
            builtin: None,
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
        let output = run_command(
            self.command(),
            workspace,
            input.to_string().into_bytes(),
            self.timeout,
        )
        .map_err(|e| fail(e.to_string()))?;
        let stderr_note = output.stderr_note();
        match output.status {
            Ended::Exited(status) if status.success() => {}
            Ended::Exited(status) => {
                let how = match status.code() {
                    Some(code) => format!("exited with status {code}"),
                    None => format!("was killed by signal {}", signal_of(status)),
                };
                return Err(fail(format!("the command {how}{stderr_note}")));
            }
            Ended::TimedOut => {
                return Err(fail(format!(
                    "the command did not finish within {} s and was killed (raise --exec-timeout if it is only slow){stderr_note}",
                    self.timeout.as_secs_f64()
                )));
            }
        }
        if output.stdout_overflow {
            return Err(fail(format!(
                "the command wrote more than {} MiB on stdout{stderr_note}",
                MAX_STDOUT_BYTES / (1024 * 1024)
            )));
        }
        let text = String::from_utf8(output.stdout).map_err(|e| {
            fail(format!(
                "stdout is not UTF-8 (at byte {}){stderr_note}",
                e.utf8_error().valid_up_to()
            ))
        })?;
        RawLog::from_json_lines(&text).map_err(|(line, error)| {
            let offending = text.lines().nth(line - 1).unwrap_or_default();
            fail(format!(
                "stdout line {line} is not a raw record ({{\"seq\", \"kind\", \"data\"}}, DESIGN §4): {error}: {}{stderr_note}",
                quote(offending)
            ))
        })
    }
}

/// The scenario of a protocol document (what an adapter reads on stdin), or why it is not one.
pub fn read_request(text: &str) -> Result<Scenario, String> {
    let mut request: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("the scenario document is not JSON: {e}"))?;
    let protocol = request.get("protocol").and_then(serde_json::Value::as_str);
    if protocol != Some(EXEC_PROTOCOL) {
        return Err(format!(
            "the document's protocol is {protocol:?}; this adapter speaks {EXEC_PROTOCOL:?}"
        ));
    }
    let Some(serde_json::Value::Object(mut fields)) =
        request.get_mut("scenario").map(serde_json::Value::take)
    else {
        return Err("the document has no `scenario` object".into());
    };
    let mut text_field = |key: &str| match fields.remove(key) {
        Some(serde_json::Value::String(text)) => Ok(text),
        _ => Err(format!("the scenario has no `{key}` string")),
    };
    let name = text_field("name")?;
    let description = text_field("description")?;
    let spec = serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| format!("the scenario {name:?} does not match the scenario schema: {e}"))?;
    Ok(Scenario {
        name,
        description,
        spec,
    })
}

/// Installs the JS SDK on first use, once per process.
fn prepare_js(workspace: &Workspace) -> Result<(), String> {
    static READY: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut ready = READY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !*ready {
        super::js_env::ensure(workspace, false).map_err(|e| e.to_string())?;
        *ready = true;
    }
    Ok(())
}

enum Ended {
    Exited(ExitStatus),
    TimedOut,
}

struct Output {
    status: Ended,
    stdout: Vec<u8>,
    stdout_overflow: bool,
    stderr_tail: Vec<u8>,
}

impl Output {
    fn stderr_note(&self) -> String {
        let tail = String::from_utf8_lossy(&self.stderr_tail);
        let tail = tail.trim_end();
        if tail.is_empty() {
            "; stderr was empty".into()
        } else {
            format!("; stderr ends with:\n{tail}")
        }
    }
}

/// Why the command could not be run at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot run the command: {0}")]
struct SpawnError(String);

fn run_command(
    command: &str,
    workspace: &Workspace,
    input: Vec<u8>,
    timeout: Duration,
) -> Result<Output, SpawnError> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(workspace.root())
        .env("PARITY_EXEC_PROTOCOL", EXEC_PROTOCOL)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills whatever it started too.
        .process_group(0)
        .spawn()
        .map_err(|e| SpawnError(format!("sh -c {command:?}: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    // A command that does not read its input must not block us: write from a thread.
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let (out_tx, out_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut overflow = false;
        let mut buffer = [0u8; 64 * 1024];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 {
                break;
            }
            if kept.len() + n > MAX_STDOUT_BYTES {
                overflow = true;
            } else {
                kept.extend_from_slice(&buffer[..n]);
            }
        }
        let _ = out_tx.send((kept, overflow));
    });
    let (err_tx, err_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tail = Vec::new();
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n) = stderr.read(&mut buffer) {
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&buffer[..n]);
            if tail.len() > STDERR_TAIL_BYTES {
                tail.drain(..tail.len() - STDERR_TAIL_BYTES);
            }
        }
        let _ = err_tx.send(tail);
    });

    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ended::Exited(status),
            Ok(None) if Instant::now() >= deadline => {
                kill_group(&child);
                let _ = child.wait();
                break Ended::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                kill_group(&child);
                return Err(SpawnError(format!("waiting for {command:?}: {e}")));
            }
        }
    };
    // Whatever the command left running still holds the pipes: give it a moment, then stop it.
    let (stdout, stdout_overflow) = match out_rx.recv_timeout(PIPE_GRACE) {
        Ok(result) => result,
        Err(_) => {
            kill_group(&child);
            out_rx.recv_timeout(PIPE_GRACE).unwrap_or_default()
        }
    };
    let stderr_tail = err_rx.recv_timeout(PIPE_GRACE).unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stdout_overflow,
        stderr_tail,
    })
}

fn kill_group(child: &std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: killpg only sends a signal; the group is the one the child leads.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
}

fn signal_of(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    status.signal().unwrap_or(0)
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
    use crate::scenario::load_scenario;

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
                .contains("needs a command")
        );
        assert!(ExecSubject::parse("node").is_err());
    }

    #[test]
    fn a_request_round_trips_the_scenario_and_checks_the_protocol() {
        // A scenario with handoffs, tools and an approval resume: much of the schema.
        let path = Workspace::current()
            .scenarios_dir()
            .join("approval_approve.toml");
        let scenario = load_scenario(&path).unwrap();
        let request =
            serde_json::json!({"protocol": EXEC_PROTOCOL, "scenario": scenario}).to_string();
        assert_eq!(read_request(&request).unwrap(), scenario);
        let other = request.replace(EXEC_PROTOCOL, "parity-exec/9");
        assert!(
            read_request(&other)
                .unwrap_err()
                .contains("this adapter speaks")
        );
        assert!(read_request("{}").unwrap_err().contains("protocol"));
        assert!(read_request("not json").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn quoted_lines_are_bounded() {
        assert_eq!(quote("garbage"), "\"garbage\"");
        let long = "x".repeat(500);
        assert_eq!(quote(&long).chars().count(), 200 + 3);
    }
}
