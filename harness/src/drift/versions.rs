//! Released versions of the Python client, from the package index (`pip index versions`), and
//! the version the goldens were recorded with.

use std::cmp::Ordering;
use std::process::Command;

use crate::errors::PythonEnvError;
use crate::subject::python::CLIENT_PACKAGE;
use crate::subject::python::venv::BUILD_PYTHON;
use crate::workspace::Workspace;

/// A release version such as `0.22.3`, compared numerically part by part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    text: String,
    parts: Vec<u64>,
}

impl Version {
    /// Parses `1.2.3` (digits and dots only: the index lists final releases by default).
    pub fn parse(text: &str) -> Option<Version> {
        let parts: Option<Vec<u64>> = text.trim().split('.').map(|p| p.parse().ok()).collect();
        let parts = parts.filter(|p| !p.is_empty())?;
        Some(Version {
            text: text.trim().to_owned(),
            parts,
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.parts.len().max(other.parts.len());
        let part = |v: &Version, i: usize| v.parts.get(i).copied().unwrap_or(0);
        (0..len)
            .map(|i| part(self, i).cmp(&part(other, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The client version the goldens were recorded with: the `openai-agents==X` pin.
pub fn pinned_version(workspace: &Workspace) -> Result<Version, PythonEnvError> {
    let path = workspace.pinned_requirements();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        PythonEnvError::new(format!("cannot read {}: {e}", workspace.display(&path)))
    })?;
    text.lines()
        .find_map(|line| {
            line.split('#')
                .next()?
                .trim()
                .strip_prefix(&format!("{CLIENT_PACKAGE}=="))
                .and_then(Version::parse)
        })
        .ok_or_else(|| {
            PythonEnvError::new(format!(
                "{} does not pin {CLIENT_PACKAGE}==<version>",
                workspace.display(&path)
            ))
        })
}

/// Every final release of the client on the package index, oldest first.
pub fn released_versions() -> Result<Vec<Version>, PythonEnvError> {
    let output = Command::new(BUILD_PYTHON)
        .args([
            "-m",
            "pip",
            "index",
            "versions",
            CLIENT_PACKAGE,
            "--disable-pip-version-check",
        ])
        .output()
        .map_err(|e| PythonEnvError::new(format!("cannot run pip index versions: {e}")))?;
    if !output.status.success() {
        return Err(PythonEnvError::new(format!(
            "pip index versions {CLIENT_PACKAGE} failed (is PyPI reachable?): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    parse_index_versions(&String::from_utf8_lossy(&output.stdout)).ok_or_else(|| {
        PythonEnvError::new(format!(
            "pip index versions {CLIENT_PACKAGE} printed no `Available versions:` line"
        ))
    })
}

/// The `Available versions: a, b, …` line of `pip index versions`, sorted oldest first.
pub(crate) fn parse_index_versions(output: &str) -> Option<Vec<Version>> {
    let line = output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Available versions:"))?;
    let mut versions: Vec<Version> = line.split(',').filter_map(Version::parse).collect();
    versions.sort();
    versions.dedup();
    Some(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codex_telemetry_follows_the_pinned_client() {
        // The library says which release its output follows; the goldens are recorded with the
        // harness's pin. Moving one without the other (an upgrade half done) fails here.
        let pinned = pinned_version(&Workspace::current()).unwrap();
        assert_eq!(
            codex_telemetry::PYTHON_CLIENT_VERSION,
            pinned.as_str(),
            "codex_telemetry::PYTHON_CLIENT_VERSION and harness/python/requirements.txt disagree: after `parity upgrade`, bring the library along and move the constant (docs/drift.md, \"Upgrading the reference client\")"
        );
    }

    #[test]
    fn versions_compare_numerically() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("0.10.0") > v("0.9.3"));
        assert!(v("0.22.3") < v("0.23.1"));
        assert_eq!(v("1.0").cmp(&v("1.0.0")), Ordering::Equal);
        assert!(Version::parse("1.0rc1").is_none());
    }

    #[test]
    fn index_output_is_sorted_oldest_first() {
        let out = "openai-agents (0.24.0)\nAvailable versions: 0.24.0, 0.23.1, 0.22.3, 0.9.0\n  INSTALLED: 0.24.0\n";
        let versions: Vec<String> = parse_index_versions(out)
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(versions, ["0.9.0", "0.22.3", "0.23.1", "0.24.0"]);
    }
}
