//! Serve mode of the exec protocol (docs/exec-protocol.md, "Serve mode"): one long-lived driver
//! process answers scenario after scenario, so a run pays a driver's start-up (Node.js loading
//! the JS SDK: about half a second) once per worker instead of once per scenario.
//!
//! The command is started with `PARITY_EXEC_MODE=serve` and first prints the hello line
//! `{"serve": "parity-exec/1"}`. Then, per scenario, the harness writes the usual protocol
//! document on one line, and the driver answers with the scenario's raw records, one per line,
//! then one end line `{"end": {"status": S, "stderr": "…"}}`: `status` means what a one-shot
//! command's exit status means (0 complete, 3 unsupported, other failed), `stderr` is what it
//! would have written there.
//!
//! Each scenario is still isolated: a driver that crashes, hangs past the timeout or overflows
//! the output bound is killed, that scenario gets the error, and the next scenario starts a
//! fresh driver. Idle drivers wait in a process-wide pool, one per thread that used one; they
//! exit by themselves when this process exits (their stdin closes).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Child;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::workspace::Workspace;

use super::process::{Ending, Finished, SpawnError, keep_stderr_tail, kill_group, spawn, tail_of};
use super::protocol::{EXEC_PROTOCOL, MAX_STDOUT_BYTES};

/// The value of `PARITY_EXEC_MODE` that asks a driver to serve.
const SERVE_MODE: &str = "serve";
/// How long a driver that stopped answering may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Drivers between two scenarios, each with the command and workspace it serves.
static IDLE: Mutex<Vec<Server>> = Mutex::new(Vec::new());

/// Runs one scenario `document` (a protocol document, without its newline) through a serving
/// driver of `command`: an idle one, or a new one.
pub(super) fn run_served(
    command: &str,
    workspace: &Workspace,
    document: &str,
    timeout: Duration,
) -> Result<Finished, SpawnError> {
    let deadline = Instant::now() + timeout;
    let key = format!("{}\n{command}", workspace.root().display());
    let idle = {
        let mut pool = IDLE.lock().unwrap_or_else(|p| p.into_inner());
        pool.iter()
            .position(|server| server.key == key)
            .map(|index| pool.swap_remove(index))
    };
    let mut server = match idle {
        Some(server) => server,
        None => match Server::start(command, workspace, key, deadline)? {
            Ok(server) => server,
            Err(finished) => return Ok(finished),
        },
    };
    let finished = server.answer(document, deadline);
    if server.alive {
        IDLE.lock().unwrap_or_else(|p| p.into_inner()).push(server);
    }
    Ok(finished)
}

/// One line of a driver's stdout.
enum Line {
    Text(Vec<u8>),
    /// A line longer than [`MAX_STDOUT_BYTES`]: the reader stopped.
    TooLong,
    /// End of the stream: the driver exited.
    Eof,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Hello {
    serve: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndLine {
    end: End,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct End {
    status: i32,
    #[serde(default)]
    stderr: String,
}

/// A serving driver process.
struct Server {
    key: String,
    child: Child,
    requests: mpsc::Sender<Vec<u8>>,
    lines: mpsc::Receiver<Line>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// False once the driver was killed or exited: it goes back to no pool.
    alive: bool,
}

impl Server {
    /// Starts the driver and waits for its hello line. `Ok(Err(finished))`: it ended (or did
    /// not say hello) before serving; `finished` says how, for the scenario's error.
    fn start(
        command: &str,
        workspace: &Workspace,
        key: String,
        deadline: Instant,
    ) -> Result<Result<Server, Finished>, SpawnError> {
        let mut child = spawn(command, workspace, Some(SERVE_MODE))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (stderr, _ended) = keep_stderr_tail(child.stderr.take().expect("piped"));
        let mut server = Server {
            key,
            child,
            requests: write_requests(stdin),
            lines: read_lines(stdout),
            stderr,
            alive: true,
        };
        match server.next_line(deadline) {
            Ok(line) => match serde_json::from_slice::<Hello>(&line) {
                Ok(hello) if hello.serve == EXEC_PROTOCOL => Ok(Ok(server)),
                Ok(hello) => {
                    server.stop();
                    Err(SpawnError(format!(
                        "the command serves {:?}; the harness speaks {EXEC_PROTOCOL:?}",
                        hello.serve
                    )))
                }
                Err(_) => {
                    server.stop();
                    Err(SpawnError(format!(
                        "the command does not speak the serve mode: its first line should be {{\"serve\": \"{EXEC_PROTOCOL}\"}}, not {:?}",
                        String::from_utf8_lossy(&line[..line.len().min(200)])
                    )))
                }
            },
            Err(finished) => Ok(Err(finished)),
        }
    }

    /// Sends `document` and collects the scenario's records up to its end line.
    fn answer(&mut self, document: &str, deadline: Instant) -> Finished {
        let mut request = document.as_bytes().to_vec();
        request.push(b'\n');
        // A driver that is gone shows as the end of its stdout below.
        let _ = self.requests.send(request);
        let mut stdout = Vec::new();
        loop {
            let line = match self.next_line(deadline) {
                Ok(line) => line,
                Err(mut finished) => {
                    finished.stdout = stdout;
                    return finished;
                }
            };
            if let Ok(EndLine { end }) = serde_json::from_slice::<EndLine>(&line) {
                return Finished {
                    ending: Ending::Code(end.status),
                    stdout,
                    stderr_tail: end.stderr.into_bytes(),
                };
            }
            if stdout.len() + line.len() + 1 > MAX_STDOUT_BYTES {
                self.stop();
                return self.finished(Ending::Overflow);
            }
            stdout.extend_from_slice(&line);
            stdout.push(b'\n');
        }
    }

    /// The driver's next stdout line, or how it ended (killed past the deadline, exited,
    /// overflowed), with an empty stdout.
    fn next_line(&mut self, deadline: Instant) -> Result<Vec<u8>, Finished> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(wait) {
            Ok(Line::Text(line)) => Ok(line),
            Ok(Line::TooLong) => {
                self.stop();
                Err(self.finished(Ending::Overflow))
            }
            Ok(Line::Eof) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let ending = self.exit_status();
                Err(self.finished(ending))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.stop();
                Err(self.finished(Ending::TimedOut))
            }
        }
    }

    /// How the driver ended once its stdout closed (killed if it lingers).
    fn exit_status(&mut self) -> Ending {
        self.alive = false;
        let deadline = Instant::now() + EXIT_GRACE;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ending::of(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => {
                    self.stop();
                    return Ending::TimedOut;
                }
            }
        }
    }

    fn finished(&self, ending: Ending) -> Finished {
        Finished {
            ending,
            stdout: Vec::new(),
            stderr_tail: tail_of(&self.stderr),
        }
    }

    /// Kills the driver and everything it started.
    fn stop(&mut self) {
        self.alive = false;
        kill_group(&self.child);
        let _ = self.child.wait();
    }
}

/// Writes requests to the driver's stdin from a thread of their own: a driver that stops
/// reading must not block the harness (the deadline still applies).
fn write_requests(mut stdin: std::process::ChildStdin) -> mpsc::Sender<Vec<u8>> {
    let (send, requests) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        for request in requests {
            if stdin
                .write_all(&request)
                .and_then(|()| stdin.flush())
                .is_err()
            {
                break;
            }
        }
    });
    send
}

/// Reads the driver's stdout line by line, each bounded by [`MAX_STDOUT_BYTES`].
fn read_lines(stdout: std::process::ChildStdout) -> mpsc::Receiver<Line> {
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(64 * 1024, stdout);
        loop {
            let mut line = Vec::new();
            let limit = MAX_STDOUT_BYTES as u64 + 1;
            let message = match (&mut reader).take(limit).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => Line::Eof,
                Ok(_) if line.len() > MAX_STDOUT_BYTES => Line::TooLong,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    Line::Text(line)
                }
            };
            let last = !matches!(message, Line::Text(_));
            if send.send(message).is_err() || last {
                break;
            }
        }
    });
    lines
}
