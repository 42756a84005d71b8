//! Running an exec command: spawning it in its own process group, keeping the tail of its
//! stderr, killing it, and the one-scenario-per-process mode (`exec:CMD`).

use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::workspace::Workspace;

use super::protocol::{EXEC_PROTOCOL, MAX_STDOUT_BYTES, STDERR_TAIL_BYTES};

/// How long the pipes may stay open after the command exited or was killed.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// How a scenario's command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// It finished with this status (serve mode: the status its `end` line gave).
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
    /// It ran past the timeout and was killed.
    TimedOut,
    /// It wrote more than [`MAX_STDOUT_BYTES`] on stdout and was killed at once.
    Overflow,
}

/// What one scenario's command left: how it ended, its stdout, the end of its stderr.
#[derive(Debug)]
pub(super) struct Finished {
    pub(super) ending: Ending,
    pub(super) stdout: Vec<u8>,
    pub(super) stderr_tail: Vec<u8>,
}

impl Ending {
    pub(super) fn of(status: ExitStatus) -> Ending {
        use std::os::unix::process::ExitStatusExt as _;
        match status.code() {
            Some(code) => Ending::Code(code),
            None => Ending::Signal(status.signal().unwrap_or(0)),
        }
    }
}

/// Why the command could not be run at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot run the command: {0}")]
pub(super) struct SpawnError(pub(super) String);

/// Starts `sh -c command` in the workspace root, in a process group of its own (so a timeout
/// kills whatever it started too), with piped stdio; `mode` goes to `PARITY_EXEC_MODE`.
pub(super) fn spawn(
    command: &str,
    workspace: &Workspace,
    mode: Option<&str>,
) -> Result<Child, SpawnError> {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(command)
        .current_dir(workspace.root())
        .env("PARITY_EXEC_PROTOCOL", EXEC_PROTOCOL)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(mode) = mode {
        sh.env("PARITY_EXEC_MODE", mode);
    }
    sh.spawn()
        .map_err(|e| SpawnError(format!("sh -c {command:?}: {e}")))
}

/// Keeps the last [`STDERR_TAIL_BYTES`] of `stderr` as it is written; the receiver says when
/// the stream ended.
pub(super) fn keep_stderr_tail(
    mut stderr: ChildStderr,
) -> (Arc<Mutex<Vec<u8>>>, mpsc::Receiver<()>) {
    let tail = Arc::new(Mutex::new(Vec::new()));
    let (done, ended) = mpsc::channel();
    let kept = tail.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n) = stderr.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let mut tail = kept.lock().unwrap_or_else(|p| p.into_inner());
            tail.extend_from_slice(&buffer[..n]);
            if tail.len() > STDERR_TAIL_BYTES {
                let excess = tail.len() - STDERR_TAIL_BYTES;
                tail.drain(..excess);
            }
        }
        let _ = done.send(());
    });
    (tail, ended)
}

/// A copy of the stderr tail kept so far.
pub(super) fn tail_of(tail: &Mutex<Vec<u8>>) -> Vec<u8> {
    tail.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Kills the process group that `child` leads.
pub(super) fn kill_group(child: &Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        kill_group_of(pid);
    }
}

fn kill_group_of(pid: i32) {
    // SAFETY: killpg only sends a signal; the group is the one the child leads.
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
}

/// Runs `command` for one scenario: `input` on its stdin, its stdout kept (the command is
/// killed as soon as it passes [`MAX_STDOUT_BYTES`], not at the timeout), its stderr's tail.
pub(super) fn run_once(
    command: &str,
    workspace: &Workspace,
    input: Vec<u8>,
    timeout: Duration,
) -> Result<Finished, SpawnError> {
    let mut child = spawn(command, workspace, None)?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let (stderr_tail, stderr_ended) = keep_stderr_tail(child.stderr.take().expect("piped"));
    // A command that does not read its input must not block us: write from a thread.
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let group = i32::try_from(child.id()).ok();
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
                // A command that never stops printing is stopped now, not at the timeout.
                overflow = true;
                if let Some(pid) = group {
                    kill_group_of(pid);
                }
                break;
            }
            kept.extend_from_slice(&buffer[..n]);
        }
        let _ = out_tx.send((kept, overflow));
    });

    let deadline = Instant::now() + timeout;
    let mut ending = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ending::of(status),
            Ok(None) if Instant::now() >= deadline => {
                kill_group(&child);
                let _ = child.wait();
                break Ending::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                kill_group(&child);
                return Err(SpawnError(format!("waiting for {command:?}: {e}")));
            }
        }
    };
    // Whatever the command left running still holds the pipes: give it a moment, then stop it.
    let (stdout, overflow) = match out_rx.recv_timeout(PIPE_GRACE) {
        Ok(result) => result,
        Err(_) => {
            kill_group(&child);
            out_rx.recv_timeout(PIPE_GRACE).unwrap_or_default()
        }
    };
    if overflow {
        ending = Ending::Overflow;
    }
    let _ = stderr_ended.recv_timeout(PIPE_GRACE);
    Ok(Finished {
        ending,
        stdout,
        stderr_tail: tail_of(&stderr_tail),
    })
}
