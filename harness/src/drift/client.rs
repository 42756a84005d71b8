//! The environment of one client version: its requirements (the version, plus the project's
//! constraints wherever that version allows them) and its own venv under `.parity/clients/`.
//!
//! Log lines name classes of the `openai` package, so a dependency bump must not pass for a
//! client change: the project's pins are kept where the client allows them, and every pin that
//! had to move is reported. Which pins conflict is learnt from pip's resolver (`--dry-run`), one
//! conflict at a time; the result is cached beside the venv.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::versions::Version;
use crate::errors::PythonEnvError;
use crate::subject::python::CLIENT_PACKAGE;
use crate::subject::python::venv::BUILD_PYTHON;
use crate::workspace::Workspace;

/// Most resolver rounds before giving up (each drops the pins pip names as conflicting).
const MAX_ROUNDS: usize = 12;

/// A project pin that a client version does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedPin {
    /// The package.
    pub package: String,
    /// The version `constraints.txt` pins.
    pub pinned: String,
    /// The version the resolver chose instead.
    pub installed: Option<String>,
}

impl std::fmt::Display for MovedPin {
    /// `certifi 2026.10.18 -> 2026.10.19.post1`, as reports print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} -> {}",
            self.package,
            self.pinned,
            self.installed.as_deref().unwrap_or("?")
        )
    }
}

/// A client version ready to be run by a child `parity` process.
#[derive(Debug, Clone)]
pub(super) struct ClientEnv {
    /// The client version.
    pub(super) version: Version,
    /// Its requirements file (`PARITY_REQUIREMENTS` of the child).
    pub(super) requirements: PathBuf,
    /// Its venv (`PARITY_VENV` of the child); created by the child on first use.
    pub(super) venv: PathBuf,
    /// Pins that had to move for this version.
    pub(super) moved_pins: Vec<MovedPin>,
}

/// Prepares (or reuses) the environment of `version`. The pinned version is the project's own
/// venv and requirements.
pub(super) fn prepare(
    workspace: &Workspace,
    version: &Version,
    pinned: &Version,
) -> Result<ClientEnv, PythonEnvError> {
    if version == pinned {
        return Ok(ClientEnv {
            version: version.clone(),
            requirements: workspace.pinned_requirements(),
            venv: workspace.venv_dir(),
            moved_pins: Vec::new(),
        });
    }
    let dir = workspace
        .state_dir()
        .join("clients")
        .join(format!("{CLIENT_PACKAGE}-{version}"));
    fs::create_dir_all(&dir)
        .map_err(|e| PythonEnvError::new(format!("cannot create {}: {e}", dir.display())))?;
    // One preparation at a time per version (two nightly jobs may share the cache).
    let lock = File::create(dir.join("prepare.lock"))
        .and_then(|file| file.lock().map(|()| file))
        .map_err(|e| PythonEnvError::new(format!("cannot lock {}: {e}", dir.display())))?;
    let requirements = dir.join("requirements.txt");
    let moved_path = dir.join("moved-pins.json");
    let moved_pins = match fs::read_to_string(&moved_path)
        .ok()
        .and_then(|text| serde_json::from_str::<Vec<MovedPin>>(&text).ok())
    {
        Some(moved) if requirements.is_file() => moved,
        _ => {
            let moved = resolve(workspace, version, &dir)?;
            let text = serde_json::to_string_pretty(&moved).expect("pins serialize");
            fs::write(&moved_path, text).map_err(|e| {
                PythonEnvError::new(format!("cannot write {}: {e}", moved_path.display()))
            })?;
            moved
        }
    };
    drop(lock);
    Ok(ClientEnv {
        version: version.clone(),
        requirements,
        venv: dir.join("venv"),
        moved_pins,
    })
}

/// Writes `requirements.txt` and `constraints.txt` for `version` into `dir`, dropping the pins
/// pip's resolver names as conflicting, and returns those.
fn resolve(
    workspace: &Workspace,
    version: &Version,
    dir: &Path,
) -> Result<Vec<MovedPin>, PythonEnvError> {
    let constraints_path = workspace.pinned_constraints();
    let text = fs::read_to_string(&constraints_path).map_err(|e| {
        PythonEnvError::new(format!(
            "cannot read {}: {e}",
            workspace.display(&constraints_path)
        ))
    })?;
    let mut pins: BTreeMap<String, String> = parse_pins(&text);
    let mut dropped: BTreeMap<String, String> = BTreeMap::new();
    let requirements = dir.join("requirements.txt");
    let report = dir.join("resolution.json");
    fs::write(
        &requirements,
        format!(
            "# Written by `parity drift`/`parity bisect`: the client version under test, with the\n# project's constraints wherever it allows them.\n{CLIENT_PACKAGE}=={version}\n-c constraints.txt\n"
        ),
    )
    .map_err(|e| PythonEnvError::new(format!("cannot write {}: {e}", requirements.display())))?;
    for _ in 0..MAX_ROUNDS {
        let constraints: String = pins.iter().map(|(p, v)| format!("{p}=={v}\n")).collect();
        fs::write(dir.join("constraints.txt"), constraints)
            .map_err(|e| PythonEnvError::new(format!("cannot write constraints: {e}")))?;
        let output = Command::new(BUILD_PYTHON)
            .args([
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--disable-pip-version-check",
                "--report",
            ])
            .arg(&report)
            .arg("-r")
            .arg(&requirements)
            .output()
            .map_err(|e| PythonEnvError::new(format!("cannot run pip: {e}")))?;
        if output.status.success() {
            let installed = installed_versions(&report);
            return Ok(dropped
                .into_iter()
                .map(|(package, pinned)| MovedPin {
                    installed: installed.get(&normalize_name(&package)).cloned(),
                    package,
                    pinned,
                })
                .collect());
        }
        // pip explains a conflict on stdout (`The conflict is caused by: …`), not on stderr.
        let stderr = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let conflicting = conflicting_pins(&stderr);
        let mut progressed = false;
        for package in conflicting {
            if let Some(version) = pins.remove(&package) {
                dropped.insert(package, version);
                progressed = true;
            }
        }
        if !progressed {
            let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
            return Err(PythonEnvError::new(format!(
                "cannot resolve {CLIENT_PACKAGE}=={version} (does the release exist, is PyPI reachable?): {}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )));
        }
    }
    Err(PythonEnvError::new(format!(
        "cannot resolve {CLIENT_PACKAGE}=={version}: still conflicting after dropping pins {MAX_ROUNDS} times"
    )))
}

/// `name==version` lines of a constraints file, keyed by the name as written.
fn parse_pins(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next()?.trim();
            let (name, version) = line.split_once("==")?;
            Some((name.trim().to_owned(), version.trim().to_owned()))
        })
        .collect()
}

/// The packages pip names in `The user requested (constraint) NAME==VERSION` lines of a
/// resolution conflict.
fn conflicting_pins(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| {
            let rest = line
                .trim()
                .strip_prefix("The user requested (constraint) ")?;
            let name = rest.split(['=', '<', '>', '!', '~', ' ']).next()?;
            Some(name.to_owned())
        })
        .collect()
}

/// Package (normalized name) → version from pip's installation report.
fn installed_versions(report: &Path) -> BTreeMap<String, String> {
    let Ok(text) = fs::read_to_string(report) else {
        return BTreeMap::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return BTreeMap::new();
    };
    json["install"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let name = item["metadata"]["name"].as_str()?;
            let version = item["metadata"]["version"].as_str()?;
            Some((normalize_name(name), version.to_owned()))
        })
        .collect()
}

/// PEP 503 name normalization.
fn normalize_name(name: &str) -> String {
    name.to_lowercase().replace(['_', '.'], "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicting_pins_are_read_from_pip() {
        let stderr = "ERROR: Cannot install openai-agents==0.22.0 because these package versions have conflicting dependencies.\n\nThe conflict is caused by:\n    The user requested (constraint) openai==3.52.0\n    openai-agents 0.22.0 depends on openai<3,>=2.9.0\n    The user requested (constraint) websockets==16.0\n";
        assert_eq!(conflicting_pins(stderr), ["openai", "websockets"]);
    }

    #[test]
    fn pins_skip_comments() {
        let pins = parse_pins("# frozen\nopenai==3.52.0\npydantic_core==2.41.4  # why\n");
        assert_eq!(pins.get("openai").map(String::as_str), Some("3.52.0"));
        assert_eq!(
            pins.get("pydantic_core").map(String::as_str),
            Some("2.41.4")
        );
        assert_eq!(normalize_name("Pydantic_Core"), "pydantic-core");
    }
}
