//! Running one client version in a child `parity` process.
//!
//! The embedded interpreter is one per process and imports one client, so each version runs in
//! a child `parity run` with that version's venv and requirements (`PARITY_VENV`,
//! `PARITY_REQUIREMENTS`) and `CI=true` (nothing is written to the goldens). The child sets its
//! venv up on first use, with its progress on this process's stderr.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::client::ClientEnv;
use crate::result::CellResult;
use crate::workspace::Workspace;

/// The part of a child's JSON report that drift and bisect read.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ChildReport {
    /// The client the child ran.
    pub(super) python_client: ChildClient,
    /// Its cells.
    pub(super) results: Vec<CellResult>,
}

/// The client of a child report.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ChildClient {
    /// The installed version, or null when Python did not start.
    pub(super) version: Option<String>,
}

/// Runs `parity run` for `env`'s client over the selected scenarios and subjects; `Err` when
/// the child could not run at all (its environment could not be built, bad input).
pub(super) fn run_version(
    workspace: &Workspace,
    env: &ClientEnv,
    subjects: &[&str],
    filters: &[String],
    transcripts: Option<&Path>,
) -> Result<ChildReport, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the parity binary: {e}"))?;
    let mut command = Command::new(exe);
    command.args(["run", "--format", "json"]);
    for subject in subjects {
        command.args(["--subject", subject]);
    }
    for filter in filters {
        command.args(["--scenario", filter]);
    }
    if let Some(dir) = transcripts {
        command.arg("--transcripts").arg(dir);
    }
    let output = command
        .env("PARITY_ROOT", workspace.root())
        .env("PARITY_VENV", &env.venv)
        .env("PARITY_REQUIREMENTS", &env.requirements)
        .env("CI", "true")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start a child parity: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: ChildReport = serde_json::from_str(&stdout).map_err(|_| {
        format!(
            "the child parity for {} exited with {} without a report (its errors are above)",
            env.version, output.status
        )
    })?;
    match report.python_client.version.as_deref() {
        Some(version) if version == env.version.as_str() => Ok(report),
        Some(version) => Err(format!(
            "asked for {} {}, but the child ran {version}",
            crate::subject::python::CLIENT_PACKAGE,
            env.version
        )),
        None => Err(format!(
            "the python subject did not start for {}: {}",
            env.version,
            report
                .results
                .first()
                .map(|r| r.message.as_str())
                .unwrap_or("no result")
        )),
    }
}
