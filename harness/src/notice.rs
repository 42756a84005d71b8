//! Setup progress for the person waiting (`parity: installing …`), from any thread.
//!
//! First-use installs (the Python venv, the JS SDK) happen wherever a subject first needs them:
//! on the main thread for python, on an exec worker thread for js. Their messages all go through
//! [`notice`], which writes one line to the process's stderr taking the stream's lock only for
//! that line (never a lock someone else holds for the whole run: that deadlocked the README's
//! first command, issue 20), and hides the progress bar while it does, when one is drawn.

use std::io::Write;
use std::sync::Mutex;

use indicatif::ProgressBar;

/// The progress bar on the terminal, if a run draws one.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Prints `parity: {message}` on stderr, above the progress bar if there is one.
///
/// Written to the stderr handle rather than with `eprintln!`, which the test harness captures:
/// the first use is often inside a test, and the person running it should see the install.
pub fn notice(message: &str) {
    let line = format!("parity: {message}\n");
    let write = || {
        let _ = std::io::stderr().write_all(line.as_bytes());
    };
    // Clone the bar out of the lock: a notice never waits on another thread's drawing.
    let bar = BAR.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Makes `bar` the one notices are printed above (`None`: no bar any more).
pub(crate) fn set_bar(bar: Option<ProgressBar>) {
    *BAR.lock().unwrap_or_else(|p| p.into_inner()) = bar;
}
