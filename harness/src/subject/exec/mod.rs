//! `exec:CMD` subjects: any implementation that reads a scenario and writes raw records
//! (docs/exec-protocol.md), and the js subject, the built-in driver that speaks it.
//!
//! [`ExecSubject`] is the subject. A command runs under `sh -c` in the workspace root, in a
//! process group of its own, either once per scenario ([`process`], `exec:CMD`) or as a
//! long-lived driver that answers scenario after scenario ([`serve`], `exec-serve:CMD` and the
//! js subject). Either way a crash, a non-zero exit, a hang past the timeout, output that is not
//! raw records, or more output than the bounds allow is an error of that scenario only.

pub mod js_env;
mod process;
mod protocol;
mod serve;
mod subject;

pub use protocol::{
    DEFAULT_EXEC_TIMEOUT, EXEC_PROTOCOL, MAX_STDOUT_BYTES, STDERR_TAIL_BYTES, read_request,
};
pub use subject::{Builtin, ExecSubject};
